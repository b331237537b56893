"""The SSCR node, rule by rule: validation, freshness, the mode table."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.sscr.keys import sign_state, signed, source_keys
from vigilnet.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from vigilnet.evidence import EvidenceStats, Verdict
from vigilnet.fixedpoint import SCALE
from vigilnet.protocols.sscr import (
    MODE_TRANSITIONS,
    DeadlineFired,
    Decide,
    EquivocationFound,
    Evaluate,
    EvidenceState,
    HeartbeatArrived,
    LocalReport,
    Mode,
    ModeChanged,
    NodeState,
    Send,
    SetTimer,
    SourceConvicted,
    SourceEntry,
    SscrConfig,
    StartSync,
    SuspicionReported,
    SyncRequest,
    SyncRequestArrived,
    SyncResponse,
    SyncResponseArrived,
    initial_state,
    step,
)
from vigilnet.protocols.sscr._state import _transition


def config(node: str, peer: str) -> SscrConfig:
    return SscrConfig(
        node=node,
        peers=(peer,),
        sources=(("ma", "a"), ("mb", "b")),
        source_keys=source_keys((("ma", "a"), ("mb", "b"))),
        lambda_max=SCALE,
        rate=Fraction(1),
        upper=2 * SCALE,
        lower=-2 * SCALE,
        deadline_base=10,
        phi_threshold=4 * SCALE,
        bootstrap_interval=1,
    )


A, B = config("a", "b"), config("b", "a")


def entry(sequence: int, llr_sum: int, source: str = "ma", agent: str = "x") -> SourceEntry:
    """``source``'s signed entry on ``agent``: ``sequence`` terms summing to ``llr_sum``."""
    return signed(A, agent, source, sequence, sequence, llr_sum)


def answer(a: NodeState, b: NodeState, at: int) -> tuple[NodeState, SyncResponse]:
    a, (request,) = step(A, a, StartSync(peer="b", at=at))
    assert isinstance(request, Send) and isinstance(request.message, SyncRequest)
    _, (reply,) = step(B, b, SyncRequestArrived(request=request.message))
    assert isinstance(reply, Send) and isinstance(reply.message, SyncResponse)
    return a, reply.message


def test_bad_reports_are_refused_and_change_nothing() -> None:
    a, _ = initial_state(A, at=0)
    with pytest.raises(RemoteProtocolError):  # mb is hosted at b
        step(A, a, LocalReport(at=5, agent="x", source="mb", entry=entry(1, SCALE, "mb")))
    with pytest.raises(RemoteProtocolError):  # 7 terms by tick 5: over the rate bound
        step(A, a, LocalReport(at=5, agent="x", source="ma", entry=entry(7, 0)))
    bad = SyncResponse(
        sender="b",
        request_time=0,
        delta=EvidenceState.of({("x", "mz"): entry(1, 0, "mz")}),  # unregistered source
    )
    with pytest.raises(RemoteProtocolError):
        step(A, a, SyncResponseArrived(response=bad, at=5))
    clamp = SyncResponse(
        sender="b",
        request_time=0,
        delta=EvidenceState.of({("x", "mb"): entry(1, 2 * SCALE, "mb")}),  # one term over the clamp
    )
    with pytest.raises(RemoteProtocolError):
        step(A, a, SyncResponseArrived(response=clamp, at=5))
    assert a == initial_state(A, at=0)[0]


def test_only_an_outstanding_echo_refreshes() -> None:
    a, _ = initial_state(A, at=0)
    b, _ = initial_state(B, at=0)
    b, _ = step(B, b, LocalReport(at=3, agent="x", source="mb", entry=entry(2, 2 * SCALE, "mb")))
    a, response = answer(a, b, at=4)
    a, _ = step(A, a, SyncResponseArrived(response=response, at=6))
    assert a.fresh_as_of("b") == 4
    assert a.evidence.agent_stats("x") == EvidenceStats(count=2, llr_sum=2 * SCALE)
    # the same answer again (a duplicate) merges nothing new and refreshes nothing
    later, _ = step(A, a, SyncResponseArrived(response=response, at=30))
    assert later.fresh_as_of("b") == 4
    assert later.evidence == a.evidence


def test_verdict_is_final_only_beyond_the_bound_and_stays_final() -> None:
    a, _ = initial_state(A, at=0)
    a, _ = step(A, a, LocalReport(at=3, agent="x", source="ma", entry=entry(3, 3 * SCALE)))
    # at 3, b's window is 0..3: 4 ticks, 4 terms at most: L = 3 - 4 < 2
    a, (decision,) = step(A, a, Evaluate(agent="x", at=3))
    assert decision == Decide(agent="x", verdict=Verdict.FLAGGED, final=False, mode=Mode.NORMAL)
    b, _ = initial_state(B, at=0)
    a, response = answer(a, b, at=3)
    a, _ = step(A, a, SyncResponseArrived(response=response, at=3))
    # fresh as of 3: window 1 tick, bound 1: L - 1 = 2 >= 2
    a, (decision,) = step(A, a, Evaluate(agent="x", at=3))
    assert decision.final and decision.verdict is Verdict.FLAGGED
    a, _ = step(A, a, LocalReport(at=9, agent="x", source="ma", entry=entry(9, -3 * SCALE)))
    a, (again,) = step(A, a, Evaluate(agent="x", at=9))
    assert again == decision


def test_healing_relapses_to_degraded_when_the_sync_never_comes() -> None:
    """A heartbeat leaks through a partition (HEALING) but no sync follows:
    three more suspicions send the node back to DEGRADED."""
    a, _ = initial_state(A, at=0, draw=1 << 63)
    at = 0
    while a.mode is Mode.NORMAL:
        at = a.next_deadline
        a, _ = step(A, a, DeadlineFired(at=at, draw=1 << 63))
    assert a.mode is Mode.DEGRADED and a.raised > 0
    a, outputs = step(A, a, HeartbeatArrived(peer="b", at=at + 1))
    assert outputs == (ModeChanged(old=Mode.DEGRADED, new=Mode.HEALING),)
    raised = a.raised
    # the check at 40 is 9 ticks after the heartbeat (phi 3.9 < 4): not
    # suspected, the count restarts; 50, 60 and 70 are suspected
    modes = []
    for _ in range(4):
        at = a.next_deadline
        a, _ = step(A, a, DeadlineFired(at=at, draw=1 << 63))
        modes.append(a.mode)
    assert modes == [Mode.HEALING, Mode.HEALING, Mode.HEALING, Mode.DEGRADED]
    assert a.raised >= raised


TRIGGERS = ("partition_declared", "peers_heard", "synced")


@given(st.sampled_from(list(Mode)), st.sampled_from(TRIGGERS))
def test_every_mode_and_trigger_is_in_the_table_or_refused(mode: Mode, trigger: str) -> None:
    if (mode, trigger) in MODE_TRANSITIONS:
        assert _transition(mode, trigger) is MODE_TRANSITIONS[(mode, trigger)]
    else:
        with pytest.raises(LocalProtocolError):
            _transition(mode, trigger)


def test_mode_table_is_the_documented_cycle() -> None:
    assert MODE_TRANSITIONS[(Mode.NORMAL, "partition_declared")] is Mode.DEGRADED
    assert MODE_TRANSITIONS[(Mode.DEGRADED, "peers_heard")] is Mode.HEALING
    assert MODE_TRANSITIONS[(Mode.HEALING, "synced")] is Mode.NORMAL
    assert (Mode.NORMAL, "synced") not in MODE_TRANSITIONS
    assert (Mode.NORMAL, "peers_heard") not in MODE_TRANSITIONS


def test_a_late_joiner_counts_what_it_may_have_missed() -> None:
    genesis, _ = initial_state(A, at=100)
    joiner, _ = initial_state(A, at=100, fresh_since=0)
    report = LocalReport(at=100, agent="x", source="ma", entry=entry(5, 5 * SCALE))
    genesis, _ = step(A, genesis, report)
    joiner, _ = step(A, joiner, report)
    _, (at_genesis,) = step(A, genesis, Evaluate(agent="x", at=100))
    _, (late,) = step(A, joiner, Evaluate(agent="x", at=100))
    assert isinstance(at_genesis, Decide) and isinstance(late, Decide)
    # at genesis b's source is empty as of 100: window 1 tick, bound 1, 5 - 1 >= 2
    assert at_genesis.final
    # the joiner may have missed b's 101 ticks of evidence: not final
    assert not late.final
    with pytest.raises(LocalProtocolError):
        initial_state(A, at=10, fresh_since=11)


# -- every event in every reachable state: a protocol error or a clean step ----

_ENTRIES = st.builds(
    lambda seq, count, llr: SourceEntry(
        sequence=seq, stats=EvidenceStats(count=count, llr_sum=llr * SCALE)
    ),
    st.integers(1, 5),
    st.integers(0, 5),
    st.integers(-6, 6),
)
_SOURCES = st.sampled_from(["ma", "mb", "mz"])
_PEERS = st.sampled_from(["a", "b", "c"])
_TIMES = st.integers(0, 80)


def _events() -> st.SearchStrategy[Any]:
    delta = st.lists(st.tuples(_SOURCES, _ENTRIES), max_size=2).map(
        lambda pairs: sign_state(A, EvidenceState.of([(("x", s), e) for s, e in pairs]))
    )
    reports = st.tuples(_TIMES, _SOURCES, _ENTRIES).map(
        lambda t: LocalReport(
            at=t[0],
            agent="x",
            source=t[1],
            entry=signed(A, "x", t[1], t[2].sequence, t[2].stats.count, t[2].stats.llr_sum),
        )
    )
    return st.one_of(
        reports,
        st.builds(HeartbeatArrived, peer=_PEERS, at=_TIMES),
        st.builds(DeadlineFired, at=_TIMES, draw=st.integers(0, (1 << 64) - 1)),
        st.builds(SuspicionReported, peer=_PEERS, observer=_PEERS),
        st.builds(StartSync, peer=_PEERS, at=_TIMES),
        st.builds(
            SyncRequestArrived,
            request=st.builds(SyncRequest, sender=_PEERS, request_time=_TIMES, digest=st.just(())),
        ),
        st.builds(
            SyncResponseArrived,
            response=st.builds(SyncResponse, sender=_PEERS, request_time=_TIMES, delta=delta),
            at=_TIMES,
        ),
        st.builds(Evaluate, agent=st.just("x"), at=_TIMES),
    )


@given(st.lists(_events(), max_size=40))
def test_any_event_sequence_steps_cleanly_or_refuses_without_change(events: list[Any]) -> None:
    """Every (state, event) pair either steps or raises a protocol error, and
    a refused event leaves the state as it was (the function is pure: the
    caller keeps the old state); a final verdict never changes."""
    state, _ = initial_state(A, at=0)
    final: Verdict | None = None
    for event in events:
        try:
            after, outputs = step(A, state, event)
        except ProtocolError:
            continue
        assert isinstance(after, NodeState)
        record = after.verdict("x")
        if final is not None:
            assert record is not None and record.final and record.verdict is final
        elif record is not None and record.final:
            final = record.verdict
        if state.mode is Mode.DEGRADED and after.mode is Mode.DEGRADED:
            assert after.raised >= state.raised
        assert all(
            isinstance(
                o, Send | SetTimer | Decide | ModeChanged | EquivocationFound | SourceConvicted
            )
            for o in outputs
        )
        state = after
