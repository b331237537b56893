"""Refinement: every step of a cluster of real SDBC hubs (signed messages,
faulty hubs played by the harness) is a step of the model, a stutter, or a
short sequence of one hub's model steps (an input may fire several upon-rules
of that hub at once), and every model invariant holds of the abstraction.

Checked exhaustively over the cluster's states at n5f3 (links deliver in
FIFO bursts: one step hands a hub everything one sender sent that it lacks),
breadth-first over the first states at n5f1 with every message delivered
alone in any order, and along Hypothesis-chosen executions at n4f1 (two
rounds).  The same exhaustive check at n5f2 passes too (161,013 cluster
states, 775,462 transitions) but takes about ten minutes, so it is marked
slow.  A deliberately broken
implementation (one that skips ``valid(v)``, one that forgets its lock) must fail both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from unittest import mock

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from vigilnet.models.sdbc import SDBCState

from tests.sdbc.harness import ClusterState, Scenario, refinement_bfs
from vigilnet.errors import RemoteProtocolError
from vigilnet.protocols.sdbc import (
    PREVOTE,
    Decide,
    EquivocationEvidence,
    Proposal,
    Receive,
    Timeout,
    Vote,
    _state,
    step,
)


def broken_no_validity(s: object, e: object) -> tuple[object, tuple[object, ...]]:
    with mock.patch.object(_state, "_valid", lambda _s, _v: True):
        return step(s, e)  # type: ignore[arg-type]


def broken_forgets_lock(s: object, e: object) -> tuple[object, tuple[object, ...]]:
    t, out = step(s, e)  # type: ignore[arg-type]
    return replace(t, locked_value=None, locked_round=-1), out


def test_bounded_exhaustive_refinement_n5f1() -> None:
    states, checked = refinement_bfs(Scenario("n5f1"), max_states=250)
    assert states == 250
    assert checked > 1000


def test_exhaustive_refinement_n5f3() -> None:
    """Every state of three faulty and two correct hubs (links deliver in
    FIFO bursts): 3,142 cluster states, 10,009 transitions, each a model step
    or stutter after which every claimed invariant (Accountability and
    NoFraming included) holds."""
    sc = Scenario("n5f3")
    reached: list[SDBCState] = []
    states, checked = refinement_bfs(sc, max_states=10**6, batch=True, reached=reached)
    assert (states, checked) == (3_142, 10_009)
    assert any(sc.spec.decided_values(a) for a in reached)


def test_broken_implementation_fails_exhaustive_refinement() -> None:
    with pytest.raises(AssertionError, match=r"no model step|violated"):
        refinement_bfs(Scenario("n5f1", stepper=broken_no_validity), max_states=2000)  # type: ignore[arg-type]


def _candidates(sc: Scenario, c: ClusterState) -> Iterator[tuple[object, ...]]:
    sent = sc.sent(c)
    for i, s in enumerate(c.nodes):
        for m in sent:
            if not sc.knows(s, m):
                yield ("Deliver", i, m)
        for kind in sc.enabled_timers(s):
            yield ("Fire", i, kind)
    for h in range(sc.spec.f):
        if h not in c.injected:
            yield ("Inject", h)


def walk(sc: Scenario, choices: st.DataObject, steps: int) -> int:
    """One execution of at most ``steps`` transitions; returns how many."""
    c = sc.initial()
    a = sc.abstract(c)
    assert a == sc.spec.init()
    for n in range(steps):
        options = list(_candidates(sc, c))
        if not options:
            return n
        label = choices.draw(st.sampled_from(options))
        if label[0] == "Inject":
            d = ClusterState(nodes=c.nodes, injected=c.injected | {label[1]})
            a = sc.check_step(c, ("Inject", label[1]), d, a)
            c = d
            continue
        i = label[1]
        s = c.nodes[i]
        event = (
            Receive(message=label[2])
            if label[0] == "Deliver"
            else Timeout(epoch=0, round=s.round, step=label[2])
        )
        try:
            t, _ = sc.step(s, event)
        except RemoteProtocolError:
            continue
        d = sc._with(c, i, t)
        a = sc.check_step(c, (label[0], s.hub), d, a)
        c = d
    return steps


N4F1 = Scenario("n4f1")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_refinement_along_executions_n4f1(data: st.DataObject) -> None:
    # 150 steps: most runs reach round 1, about one in six a decision
    walk(N4F1, data, 150)


@pytest.mark.parametrize("broken_step", [broken_no_validity, broken_forgets_lock])
def test_broken_implementation_fails_along_executions(broken_step: object) -> None:
    broken = Scenario("n4f1", stepper=broken_step)  # type: ignore[arg-type]

    @settings(max_examples=200, deadline=None, database=None, phases=[Phase.generate])
    @given(st.data())
    def run(data: st.DataObject) -> None:
        walk(broken, data, 60)

    with pytest.raises(AssertionError, match=r"no model step|violated"):
        run()


@pytest.mark.slow
def test_exhaustive_refinement_n5f2() -> None:
    states, checked = refinement_bfs(Scenario("n5f2"), max_states=10**6, batch=True)
    assert (states, checked) == (161_013, 775_462)


def test_fork_at_n5f3_is_a_model_behaviour_and_accountable() -> None:
    """Three faulty hubs show hub 3 the value v0 and hub 4 the value v1: both
    decide, differently.  Every step is a model step; the two decision
    certificates alone prove 2Q - N = 3 hubs guilty, and no correct one."""
    sc = Scenario("n5f3")
    c = sc.initial()
    a = sc.abstract(c)
    for f in range(3):
        d = ClusterState(nodes=c.nodes, injected=c.injected | {f})
        a = sc.check_step(c, ("Inject", f), d, a)
        c = d
    decisions = {}
    for i, (hub, name) in enumerate(((3, "v0"), (4, "v1"))):
        vh = sc.values[name].value_hash
        wanted = [
            m
            for h in range(3)
            for m in sc.faulty_messages[h]
            if (isinstance(m, Proposal) and m.value.value_hash == vh and m.valid_round == -1)
            or (isinstance(m, Vote) and m.round == 0 and m.value_hash == vh)
        ]
        outputs: list[object] = []
        for m in sorted(
            wanted, key=lambda m: 0 if isinstance(m, Proposal) else 1 if m.kind == PREVOTE else 2
        ):
            t, out = sc.step(c.nodes[i], Receive(message=m))
            outputs.extend(out)
            d = sc._with(c, i, t)
            a = sc.check_step(c, ("Deliver", hub), d, a)
            c = d
        (decide,) = [o for o in outputs if isinstance(o, Decide)]
        decide.certificate.verify(sc.config)
        decisions[hub] = decide
    assert sc.spec.fork(a)
    assert len(sc.spec.detected(a)) >= 2 * sc.spec.q0 - sc.spec.n and sc.spec.no_framing(a)
    first = {v.hub: v for v in decisions[3].certificate.precommits}
    second = {v.hub: v for v in decisions[4].certificate.precommits}
    guilty = set()
    for h in first.keys() & second.keys():
        EquivocationEvidence(first=first[h], second=second[h]).verify(sc.config)
        guilty.add(h)
    assert guilty == {0, 1, 2}
