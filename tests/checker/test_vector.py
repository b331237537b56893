"""The vectorised TwoPhase kernel gives exactly the generic engine's counts,
coverage and traces."""

from __future__ import annotations

import numpy as np
import pytest
from vigilnet.models import twophase

from vigilnet.checker import CheckResult, Options
from vigilnet.checker._bfs import explore
from vigilnet.checker._run import check
from vigilnet.checker._trace import successors
from vigilnet.checker._vector import kernel_supports


def _summary(result: CheckResult) -> tuple[object, ...]:
    return (
        result.distinct_states,
        result.generated_states,
        result.depth,
        dict(result.coverage),
        [(p.name, p.status, p.trace) for p in result.properties],
    )


@pytest.mark.parametrize("rm", [3, 4, 5])
@pytest.mark.parametrize("symmetry", [False, True])
def test_vector_equals_generic(rm: int, symmetry: bool) -> None:
    model = twophase.FAMILY.instantiate(overrides={"RM": rm})
    generic = check(model, Options(symmetry=symmetry), engine="generic")
    vector = check(model, Options(symmetry=symmetry), engine="vector")
    assert vector.engine == "vector" and generic.engine == "generic"
    assert _summary(vector) == _summary(generic)


@pytest.mark.parametrize("rm", [3, 4])
def test_vector_equals_generic_when_cut_by_depth(rm: int) -> None:
    model = twophase.FAMILY.instantiate(overrides={"RM": rm})
    for depth in (0, 1, 4):
        options = Options(symmetry=False, max_depth=depth)
        assert _summary(check(model, options, engine="vector")) == _summary(
            check(model, options, engine="generic")
        )


@pytest.mark.parametrize("rm", [3, 4])
def test_kernel_agrees_with_model_on_every_reachable_state(rm: int) -> None:
    model = twophase.FAMILY.instantiate(overrides={"RM": rm})
    kernel = model.kernel
    assert kernel is not None and model.symmetry is not None
    run = explore(model, Options(symmetry=False), record_graph=True)
    assert run.graph is not None
    states = run.graph.states
    values = np.array([kernel.encode(s) for s in states], dtype=np.uint64)
    succ, ok = kernel.expand(values)
    canonical = kernel.canonical(values)
    verdicts = kernel.check(values)
    for row, state in enumerate(states):
        assert kernel.decode(int(values[row])) == state
        expected = [
            (model.actions[ai].name, args, kernel.encode(nxt))
            for ai, args, nxt in successors(model, state)
        ]
        got = [
            (kernel.instances[col][0], kernel.instances[col][1], int(succ[col, row]))
            for col in np.flatnonzero(ok[:, row])
        ]
        assert got == expected
        assert int(canonical[row]) == kernel.encode(model.symmetry(state))
        for prop in model.properties:
            assert bool(verdicts[prop.name][row]) == prop.holds(state)


def test_auto_engine_picks_the_kernel_and_mutants_stay_generic() -> None:
    model = twophase.FAMILY.instantiate()
    assert kernel_supports(model) is None
    assert check(model).engine == "vector"
    mutant = twophase.FAMILY.instantiate(mutant="abort_after_prepare")
    assert kernel_supports(mutant) is not None
    assert check(mutant).engine == "generic"
