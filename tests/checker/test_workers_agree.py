"""``--workers 2`` agrees with one worker on every shipped configuration.

A past bug: the parallel generic worker reported every state without
successors as a deadlock without asking the model whether deadlock is
checked, so SHAP ``honest`` (14 states) and SDBC ``n4f1`` (bounded runs that
end in terminal states) failed with ``--workers 2`` and passed with one.

Every (model, configuration) pair of the registry is checked here with one
and two workers, with the generic engine and, where the model has one, the
vectorised engine.  The runs are bounded by depth so the whole sweep stays
small on every change; the depth bound is exact on both sides (breadth-first
levels), so the distinct counts, coverage and traces must be equal, and the
states at the bound are never expanded (so a deadlock there is never
reported).  The complete runs are under ``slow``.
"""

from __future__ import annotations

from typing import Any

import pytest

from vigilnet.checker import CheckResult, Options
from vigilnet.checker._registry import load_family, registered
from vigilnet.checker._run import check
from vigilnet.errors import ModelError

_DEPTH = 7


def _pairs() -> list[tuple[str, str]]:
    pairs = []
    for name in registered():
        family = load_family(name)
        pairs.extend((name, config) for config in family.configs)
    return pairs


def _summary(result: CheckResult) -> tuple[Any, ...]:
    return (
        result.ok,
        result.distinct_states,
        result.generated_states,
        result.depth,
        dict(result.coverage),
        [(p.name, p.status, p.trace) for p in result.properties],
    )


def _agree(name: str, config: str, options: Options) -> int:
    model = load_family(name).instantiate(config=config)
    engines = ["generic"]
    try:
        check(model, Options(max_depth=1, symmetry=options.symmetry), engine="vector")
        engines.append("vector")
    except ModelError:
        pass  # no vectorised kernel for this model or check
    for engine in engines:
        one = check(model, options, engine=engine)  # type: ignore[arg-type]
        two = check(model, options, engine=engine, workers=2)  # type: ignore[arg-type]
        if model.has_liveness:
            # Liveness needs the whole graph in one process: the run says so.
            assert two.workers == 1
            assert any("1 worker" in note for note in two.notes)
        else:
            assert two.workers == 2
        assert _summary(two) == _summary(one), (name, config, engine)
    return one.distinct_states


@pytest.mark.parametrize(("name", "config"), _pairs())
def test_two_workers_agree_bounded(name: str, config: str) -> None:
    distinct = _agree(name, config, Options(max_depth=_DEPTH))
    assert distinct >= 1


def test_shap_honest_complete_has_no_false_deadlock() -> None:
    model = load_family("shap").instantiate(config="honest")
    result = check(model, Options(), engine="generic", workers=2)
    assert result.ok, [p for p in result.properties if p.trace is not None]
    assert result.deadlock is None


@pytest.mark.slow
@pytest.mark.parametrize(("name", "config"), _pairs())
def test_two_workers_agree_complete(name: str, config: str) -> None:
    assert _agree(name, config, Options()) >= 1
