"""TwoPhase: TCommit refinement, the mutants and their shortest traces."""

from __future__ import annotations

import pytest
from vigilnet.models import twophase
from vigilnet.models.twophase import tc_next

from vigilnet.checker import Options, Status
from vigilnet.checker._bfs import explore
from vigilnet.checker._run import check
from vigilnet.checker._trace import successors


@pytest.mark.parametrize("rm", [2, 3, 4])
def test_twophase_refines_tcommit(rm: int) -> None:
    """Every transition of every reachable state is a TCNext step of
    TCommit on rmState, or a stutter (TPSpec => TC!TCSpec)."""
    model = twophase.FAMILY.instantiate(overrides={"RM": rm})
    run = explore(model, Options(symmetry=False), record_graph=True)
    assert run.graph is not None
    transitions = 0
    for state in run.graph.states:
        for _ai, _args, nxt in successors(model, state):
            assert tc_next(state.rmState, nxt.rmState), (state, nxt)
            transitions += 1
    assert transitions == run.generated - 1


def test_tc_next_rejects_inconsistent_steps() -> None:
    assert not tc_next(("prepared", "working"), ("committed", "working"))
    assert not tc_next(("committed", "prepared"), ("committed", "aborted"))
    assert tc_next(("prepared", "committed"), ("committed", "committed"))


@pytest.mark.parametrize(
    ("mutant", "length"),
    # commit_without_all_prepared: TMCommit, RMChooseToAbort, RMRcvCommitMsg.
    # abort_after_prepare: 3 x (RMPrepare, TMRcvPrepared), TMCommit,
    # RMChooseToAbort (from prepared), RMRcvCommitMsg.
    [("commit_without_all_prepared", 3), ("abort_after_prepare", 9)],
)
@pytest.mark.parametrize("symmetry", [False, True])
def test_mutants_break_tcconsistent_with_shortest_traces(
    mutant: str, length: int, symmetry: bool
) -> None:
    model = twophase.FAMILY.instantiate(mutant=mutant)
    result = check(model, Options(symmetry=symmetry))
    assert result.result == "violation"
    prop = {p.name: p for p in result.properties}["TCConsistent"]
    assert prop.status is Status.VIOLATED and prop.trace is not None
    assert len(prop.trace) == length
    # Every step is a real transition, and the last state is inconsistent.
    for before, after in zip(prop.trace.steps, prop.trace.steps[1:], strict=False):
        assert any(
            model.actions[ai].name == after.action and args == after.args and nxt == after.state
            for ai, args, nxt in successors(model, before.state)
        )
    final = prop.trace.steps[-1].state.rmState
    assert "aborted" in final and "committed" in final
    # Shortest: one step less and TCConsistent holds everywhere.
    bounded = check(model, Options(max_depth=length - 1, symmetry=symmetry))
    assert {p.name: p for p in bounded.properties}["TCConsistent"].status is Status.HOLDS


def test_model_is_consistent_at_rm4() -> None:
    result = check(twophase.FAMILY.instantiate(overrides={"RM": 4}), engine="generic")
    assert result.ok
    assert result.never_enabled == ()
