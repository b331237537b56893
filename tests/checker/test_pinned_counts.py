"""Pinned distinct-state counts of the reference models.

A change to one of these numbers is a change to the model and must be
explained.  Where they come from:

* DieHard: 16 states, the 6-step solution of the puzzle (TLC agrees).
* TwoPhase without symmetry: 288 (RM = 3, Stateright's example), 8,832
  (RM = 5), 296,448 (RM = 7), 1,745,408 (RM = 8): the counts TLC and SPIN
  report for Lamport's TwoPhase.tla (DESIGN.md section 7).
* TwoPhase with RM symmetry: 80 / 314 / 920 / 1,461 for RM = 3 / 5 / 7 / 8.
  These are our own numbers; ``test_symmetry_counts_are_orbit_counts`` checks
  them independently, as the number of orbits (distinct canonical forms) of
  the full reachable set, and ``test_canonical_form_is_an_orbit_invariant``
  checks the canonical form against every permutation of the RMs.
* Peterson: 58 states (every reachable combination of the two program
  counters, flags and turn); the same with or without fairness.
"""

from __future__ import annotations

import itertools

import pytest
from vigilnet.models import diehard, peterson, twophase
from vigilnet.models.twophase import Message, TPState

from vigilnet.checker import Options
from vigilnet.checker._bfs import explore
from vigilnet.checker._run import check


def test_diehard_16_states_and_six_step_witness() -> None:
    result = check(diehard.FAMILY.instantiate())
    assert result.ok
    assert result.distinct_states == 16
    witness = {p.name: p for p in result.properties}["BigIsGoal"]
    assert witness.trace is not None
    assert len(witness.trace) == 6
    assert witness.trace.steps[-1].state.big == 4
    # Shortest: no state with big = 4 within 5 steps.
    bounded = check(diehard.FAMILY.instantiate(), Options(max_depth=5))
    assert {p.name: p.status.value for p in bounded.properties}["BigIsGoal"] == "unwitnessed"


@pytest.mark.parametrize(
    ("rm", "engine", "expected"),
    [(3, "generic", 288), (3, "vector", 288), (5, "generic", 8_832), (7, "vector", 296_448)],
)
def test_twophase_counts(rm: int, engine: str, expected: int) -> None:
    model = twophase.FAMILY.instantiate(overrides={"RM": rm})
    result = check(model, Options(symmetry=False), engine=engine)  # type: ignore[arg-type]
    assert result.ok
    assert result.complete
    assert result.distinct_states == expected


@pytest.mark.slow
def test_twophase_rm8() -> None:
    model = twophase.FAMILY.instantiate(overrides={"RM": 8})
    result = check(model, Options(symmetry=False), engine="vector")
    assert result.ok
    assert result.distinct_states == 1_745_408


@pytest.mark.parametrize(("rm", "expected"), [(3, 80), (5, 314), (7, 920), (8, 1_461)])
def test_twophase_symmetry_counts(rm: int, expected: int) -> None:
    model = twophase.FAMILY.instantiate(overrides={"RM": rm})
    result = check(model, Options(symmetry=True))
    assert result.ok
    assert result.symmetry
    assert result.distinct_states == expected


@pytest.mark.parametrize("rm", [3, 4, 5])
def test_symmetry_counts_are_orbit_counts(rm: int) -> None:
    model = twophase.FAMILY.instantiate(overrides={"RM": rm})
    full = explore(model, Options(symmetry=False), record_graph=True)
    assert full.graph is not None
    assert model.symmetry is not None
    orbits = {model.symmetry(state) for state in full.graph.states}
    reduced = check(model, Options(symmetry=True), engine="generic")
    assert reduced.distinct_states == len(orbits)


def _permute(state: TPState, perm: tuple[int, ...]) -> TPState:
    """Rename RM i to RM perm[i]."""
    n = len(state.rmState)
    rm_state = [""] * n
    for i in range(n):
        rm_state[perm[i]] = state.rmState[i]
    msgs = set()
    for m in state.msgs:
        if m.rm is None:
            msgs.add(m)
        else:
            msgs.add(Message(type=m.type, rm=f"r{perm[int(m.rm[1:]) - 1] + 1}"))
    return TPState(
        rmState=tuple(rm_state),
        tmState=state.tmState,
        tmPrepared=frozenset(perm[i] for i in state.tmPrepared),
        msgs=frozenset(msgs),
    )


def test_canonical_form_is_an_orbit_invariant() -> None:
    model = twophase.FAMILY.instantiate(overrides={"RM": 3})
    full = explore(model, Options(symmetry=False), record_graph=True)
    assert full.graph is not None and model.symmetry is not None
    reachable = set(full.graph.states)
    for state in full.graph.states:
        canonical = model.symmetry(state)
        assert canonical in reachable
        orbit = {_permute(state, perm) for perm in itertools.permutations(range(3))}
        assert canonical in orbit
        assert {model.symmetry(other) for other in orbit} == {canonical}


def test_peterson_58_states() -> None:
    for mutant in (None, "no_fairness"):
        result = check(peterson.FAMILY.instantiate(mutant=mutant))
        assert result.distinct_states == 58
