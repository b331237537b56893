"""``vigilnet check --backend ray`` (issue 17, item 3): the fingerprint set and
frontier sharded over Ray actors give the same distinct counts, verdicts,
coverage and shortest traces as one worker."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from vigilnet.models import sdbc, twophase

from vigilnet.checker import CheckResult, Options
from vigilnet.checker._registry import load_family, registered
from vigilnet.checker._run import check
from vigilnet.cli import main


def _summary(result: CheckResult) -> tuple[object, ...]:
    return (
        result.ok,
        result.distinct_states,
        result.generated_states,
        result.depth,
        dict(result.coverage),
        [(p.name, p.status, p.trace) for p in result.properties],
    )


@pytest.mark.parametrize("symmetry", [False, True])
def test_twophase_rm7_ray_equals_one_worker(ray_instance: Any, symmetry: bool) -> None:
    model = twophase.FAMILY.instantiate(config="rm7")
    options = Options(symmetry=symmetry)
    one = check(model, options, engine="vector")
    two = check(model, options, engine="vector", workers=2, backend="ray")
    assert two.workers == 2 and one.workers == 1
    assert _summary(two) == _summary(one)
    assert two.ok and two.distinct_states > 100
    # the sometimes-properties' witnesses are shortest traces: the same steps
    assert all(p.trace is not None for p in two.properties if p.kind == "sometimes")


@pytest.mark.parametrize(
    ("family", "config", "symmetry", "pinned"),
    [
        (twophase, "rm7", True, 920),
        (sdbc, "n5f1", False, 3_580),
        (sdbc, "n4f1", True, 68_458),
    ],
    ids=["twophase-rm7-sym", "sdbc-n5f1-nosym", "sdbc-n4f1-sym"],
)
def test_generic_engine_on_ray_equals_one_worker(
    ray_instance: Any, family: Any, config: str, symmetry: bool, pinned: int
) -> None:
    """The generic engine (fingerprints are salted ``hash()``) on 2 Ray
    actors: the same counts, coverage, verdicts and witness traces as one
    worker in this process, whose salt is not the actors'; the distinct
    count is the one pinned for the model (tests/sdbc, tests/checker)."""
    model = family.FAMILY.instantiate(config=config)
    options = Options(symmetry=symmetry)
    one = check(model, options, engine="generic")
    two = check(model, options, engine="generic", workers=2, backend="ray")
    assert two.engine == one.engine == "generic" and two.workers == 2
    assert _summary(two) == _summary(one)
    assert two.ok and two.complete and two.distinct_states == pinned
    assert all(p.trace is not None for p in two.properties if p.kind == "sometimes")


@pytest.mark.parametrize(
    ("mutant", "depth"), [("no_lock_check", 9), ("votes_not_bound", 9), ("double_precommit", 5)]
)
def test_generic_counterexamples_on_ray_equal_one_worker(
    ray_instance: Any, mutant: str, depth: int
) -> None:
    """A killed SDBC mutant: the same violated properties and the same
    shortest counterexamples on Ray as on one worker."""
    model = sdbc.FAMILY.instantiate(config="n4f1", mutant=mutant)
    # Every state up to the counterexamples' depth, on both sides (with
    # stop_on_violation the parallel search ends its level, the sequential
    # one stops at once: the counts would differ).
    options = Options(stop_on_violation=False, max_depth=depth)
    one = check(model, options, engine="generic")
    two = check(model, options, engine="generic", workers=2, backend="ray")
    assert not one.ok
    assert _summary(two) == _summary(one)
    failed = [p for p in two.properties if p.status.failed]
    assert failed and all(p.trace is not None and len(p.trace.steps) > 2 for p in failed)


@pytest.mark.slow
def test_every_configuration_agrees_on_ray_bounded(ray_instance: Any) -> None:
    """Every registered model and configuration, generic engine, to depth 7
    (exact on both sides: breadth-first levels): 2 Ray actors, each with
    its own string-hash salt, equal one worker.  About a minute."""
    checked = 0
    for name in registered():
        family = load_family(name)
        for config in family.configs:
            model = family.instantiate(config=config)
            options = Options(max_depth=7)
            one = check(model, options, engine="generic")
            two = check(model, options, engine="generic", workers=2, backend="ray")
            assert _summary(two) == _summary(one), (name, config)
            checked += 1
    assert checked >= 20


def test_ray_actors_fingerprint_as_the_driver(ray_instance: Any) -> None:
    """Every actor's fingerprint of a state equals the driver's, for a state
    holding strings (salted ``hash()``) and ``None`` (an address in ``hash()``
    before Python 3.12): TwoPhase's ``Commit`` message has ``rm=None``."""
    from vigilnet.checker._fingerprint import stable_fingerprint
    from vigilnet.checker._ray import RayPool

    model = twophase.FAMILY.instantiate(overrides={"RM": 3})
    (init,) = model.init_states()
    abort = next(a for a in model.actions if a.name == "TMAbort")
    state = next(nxt for _, nxt in abort.step(init))  # msgs holds Abort (rm=None)
    assert any(m.rm is None for m in state.msgs)
    pool = RayPool(model, 2, vector=False, symmetry=False)
    try:
        got = ray_instance.get([a.fingerprint.remote(state) for a in pool.actors])
    finally:
        pool.close()
    assert got == [stable_fingerprint(state)] * 2


def test_cli_backend_ray(ray_instance: Any) -> None:
    args = ["check", "twophase", "--const", "RM=4", "--json", "--no-progress"]
    local = CliRunner().invoke(main, args)
    address = ray_instance.get_runtime_context().gcs_address
    remote = CliRunner().invoke(
        main, [*args, "--backend", "ray", "--workers", "2", "--address", address]
    )
    assert local.exit_code == 0 and remote.exit_code == 0, remote.output
    a, b = json.loads(local.output), json.loads(remote.output)
    assert a["distinct_states"] == b["distinct_states"] and b["workers"] == 2
    bad = CliRunner().invoke(main, [*args, "--address", "auto"])
    assert bad.exit_code == 2 and "--backend ray" in bad.output
