"""``--workers 2`` explores the same state space as one worker: the same
distinct count, and (by the rank construction) the same coverage and
traces."""

from __future__ import annotations

import pytest
from vigilnet.models import diehard, twophase

from vigilnet.checker import CheckResult, Options
from vigilnet.checker._run import check


def _summary(result: CheckResult) -> tuple[object, ...]:
    return (
        result.distinct_states,
        result.generated_states,
        result.depth,
        dict(result.coverage),
        [(p.name, p.status, p.trace) for p in result.properties],
    )


@pytest.mark.parametrize("engine", ["generic", "vector"])
@pytest.mark.parametrize("symmetry", [False, True])
def test_two_workers_equal_one(engine: str, symmetry: bool) -> None:
    model = twophase.FAMILY.instantiate(overrides={"RM": 4})
    one = check(model, Options(symmetry=symmetry), engine=engine)  # type: ignore[arg-type]
    two = check(
        model,
        Options(symmetry=symmetry),
        engine=engine,  # type: ignore[arg-type]
        workers=2,
    )
    assert two.workers == 2
    assert _summary(two) == _summary(one)


def test_three_workers_rm7_vector() -> None:
    model = twophase.FAMILY.instantiate(overrides={"RM": 7})
    result = check(model, Options(symmetry=False), workers=3)
    assert result.ok
    assert result.distinct_states == 296_448


def test_parallel_diehard_and_mutant_trace() -> None:
    assert check(diehard.FAMILY.instantiate(), workers=2).distinct_states == 16
    mutant = twophase.FAMILY.instantiate(mutant="commit_without_all_prepared")
    one = {p.name: p for p in check(mutant).properties}
    two = {p.name: p for p in check(mutant, workers=2).properties}
    assert one["TCConsistent"].trace == two["TCConsistent"].trace
    assert two["TCConsistent"].trace is not None
    assert len(two["TCConsistent"].trace) == 3
