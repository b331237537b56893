"""Issue 10, items 9 and 10: the attacks a Byzantine peer ran against SSCR,
each performed against the real node.  On the code before entries were
signed and every bound applied to every path, each of these attacks
succeeded (a forged conviction flipped the verdict, a forged entry replaced
the honest one, 40,000 agents went into a table capped at 5,000, and an
agent whose sources' counts summed past ``2**39`` made ``Evaluate`` raise).

Node ``a`` hosts the honest source ``ma``; ``b`` is a Byzantine peer hosting
``mb``; ``mc`` is an honest source hosted at ``b``.  The peer knows every
public key and every entry it has seen, but no honest source's signing key.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.sscr.keys import key_of, signed, source_keys
from vigilnet.errors import RemoteProtocolError
from vigilnet.evidence import EvidenceStats, Verdict
from vigilnet.fixedpoint import MAX_EVIDENCE_COUNT, SCALE
from vigilnet.protocols.sscr import (
    Conviction,
    ConvictionArrived,
    ConvictionSet,
    Decide,
    Evaluate,
    EvidenceState,
    LocalReport,
    NodeState,
    SourceConvicted,
    SourceEntry,
    SscrConfig,
    SyncResponse,
    SyncResponseArrived,
    initial_state,
    sign_entry,
    step,
)

SOURCES = (("ma", "a"), ("mb", "b"), ("mc", "b"))


def config(*, max_agents: int = 1 << 20, rate: Fraction = Fraction(1)) -> SscrConfig:
    return SscrConfig(
        node="a",
        peers=("b",),
        sources=SOURCES,
        source_keys=source_keys(SOURCES),
        lambda_max=SCALE,
        rate=rate,
        upper=2 * SCALE,
        lower=-2 * SCALE,
        deadline_base=10,
        phi_threshold=4 * SCALE,
        max_agents=max_agents,
    )


A = config()


def forged(sequence: int, count: int, llr_sum: int, signer: str = "mb") -> SourceEntry:
    """An entry the Byzantine peer makes up: signed with the key it has (its
    own source's), or with no signature at all (``signer=""``)."""
    stats = EvidenceStats(count=count, llr_sum=llr_sum)
    if not signer:
        return SourceEntry(sequence=sequence, stats=stats)
    entry = sign_entry(
        key_of(signer), A.config_hash, agent="x", source=signer, sequence=sequence, stats=stats
    )
    return entry


def with_honest_verdict() -> tuple[NodeState, Decide]:
    """``a`` holds ``ma``'s 3 strong terms and judges FLAGGED."""
    a, _ = initial_state(A, at=0)
    report = LocalReport(at=3, agent="x", source="ma", entry=signed(A, "x", "ma", 3, 3, 3 * SCALE))
    a, _ = step(A, a, report)
    a, (decision,) = step(A, a, Evaluate(agent="x", at=3))
    assert isinstance(decision, Decide) and decision.verdict is Verdict.FLAGGED
    return a, decision


def refused(a: NodeState, event: object, cfg: SscrConfig = A) -> RemoteProtocolError:
    """Step ``event`` and insist it is refused as a peer's fault; the caller
    keeps ``a``, which the refused step cannot have changed."""
    before = a
    with pytest.raises(RemoteProtocolError) as caught:
        step(cfg, a, event)  # type: ignore[arg-type]
    assert a == before
    return caught.value


# -- item 9: no peer can convict or rewrite an honest source -------------------------


def test_a_peer_cannot_convict_the_nodes_own_honest_source() -> None:
    """The forged conviction of ``ma`` (two conflicting entries ``ma`` never
    signed: unsigned, or signed with the peer's own key) is refused, in a
    sync answer or on its own; ``ma`` still counts and the verdict stands."""
    a, decision = with_honest_verdict()
    held = a.evidence.get("x", "ma")
    assert held is not None
    for signer in ("", "mb"):
        lower = SourceEntry(sequence=3, stats=held.stats, signature=held.signature)
        higher = forged(4, 3, -3 * SCALE, signer)  # fewer terms' worth: a rewrite
        frame = Conviction(agent="x", source="ma", lower=lower, higher=higher)
        assert frame.holds(A.lambda_max)  # it would convict, were it signed by ma
        answer = SyncResponse(
            sender="b",
            request_time=-1,
            delta=EvidenceState(),
            convictions=ConvictionSet.of([frame]),
        )
        refused(a, SyncResponseArrived(response=answer, at=4))
        refused(a, ConvictionArrived(peer="b", conviction=frame, at=4))
        # the same conflict pushed as an entry: ma's held entry meets the forgery
        push = SyncResponse(
            sender="b", request_time=-1, delta=EvidenceState.of({("x", "ma"): higher})
        )
        refused(a, SyncResponseArrived(response=push, at=4))
    assert a.convicted.sources() == frozenset()
    a, (again,) = step(A, a, Evaluate(agent="x", at=4))
    assert isinstance(again, Decide) and again.verdict is decision.verdict


def test_a_peer_cannot_replace_an_honest_entry_with_a_higher_sequence_forgery() -> None:
    """``mc``'s genuine entry, relayed by ``b``, is admitted; a consistent but
    made-up extension under a higher sequence number is refused."""
    a, _ = initial_state(A, at=0)
    genuine = signed(A, "x", "mc", 2, 2, -2 * SCALE)
    relay = SyncResponse(
        sender="b", request_time=-1, delta=EvidenceState.of({("x", "mc"): genuine})
    )
    a, _ = step(A, a, SyncResponseArrived(response=relay, at=3))
    assert a.evidence.get("x", "mc") == genuine
    for signer in ("", "mb"):
        fake = forged(3, 3, -SCALE, signer)  # extends the genuine entry: no conflict
        fake = SourceEntry(sequence=fake.sequence, stats=fake.stats, signature=fake.signature)
        push = SyncResponse(
            sender="b", request_time=-1, delta=EvidenceState.of({("x", "mc"): fake})
        )
        error = refused(a, SyncResponseArrived(response=push, at=4))
        assert "signature" in str(error)
    # a genuine signature moved to another agent does not verify either
    moved = SyncResponse(
        sender="b", request_time=-1, delta=EvidenceState.of({("y", "mc"): genuine})
    )
    refused(a, SyncResponseArrived(response=moved, at=4))
    assert a.evidence.get("x", "mc") == genuine


def test_a_peer_cannot_forge_an_equivocation() -> None:
    """A second entry under ``mc``'s sequence number, not signed by ``mc``,
    is refused: no ``EquivocationFound``, no conviction."""
    a, _ = initial_state(A, at=0)
    genuine = signed(A, "x", "mc", 2, 2, -2 * SCALE)
    relay = SyncResponse(
        sender="b", request_time=-1, delta=EvidenceState.of({("x", "mc"): genuine})
    )
    a, _ = step(A, a, SyncResponseArrived(response=relay, at=3))
    twin = SourceEntry(
        sequence=2, stats=EvidenceStats(count=2, llr_sum=2 * SCALE), signature=genuine.signature
    )
    push = SyncResponse(sender="b", request_time=-1, delta=EvidenceState.of({("x", "mc"): twin}))
    refused(a, SyncResponseArrived(response=push, at=4))
    assert a.convicted.sources() == frozenset()


def test_a_byzantine_source_that_signs_conflicting_entries_is_still_convicted() -> None:
    """What signatures keep working: ``mb`` signs two entries under one
    sequence number itself; the pair convicts it, and a third node that
    receives the forwarded conviction checks both signatures and agrees."""
    a, _ = initial_state(A, at=0)
    first, second = forged(2, 2, 2 * SCALE), forged(2, 2, -2 * SCALE)
    for entry in (first, second):
        push = SyncResponse(
            sender="b", request_time=-1, delta=EvidenceState.of({("x", "mb"): entry})
        )
        a, outputs = step(A, a, SyncResponseArrived(response=push, at=3))
    (convicted,) = [o for o in outputs if isinstance(o, SourceConvicted)]
    assert convicted.conviction.source == "mb" and convicted.conviction.kind == "equivocation"
    assert a.convicted.sources() == {"mb"}
    other, _ = initial_state(A, at=0)
    other, outputs = step(
        A, other, ConvictionArrived(peer="b", conviction=convicted.conviction, at=3)
    )
    assert outputs == (SourceConvicted(peer="b", conviction=convicted.conviction),)


# -- item 10: bounds on every path in ------------------------------------------------


def test_a_sync_answer_cannot_push_past_max_agents() -> None:
    """40,000 agents in one answer to a node capped at 5,000 are refused
    whole (before a single signature is checked), and so is the one agent
    too many once the table is full, by sync or by local report."""
    capped = config(max_agents=5_000)
    a, _ = initial_state(capped, at=0)
    flood = EvidenceState.of(
        ((f"agent-{i}", "mb"), SourceEntry(sequence=1, stats=EvidenceStats(count=1, llr_sum=0)))
        for i in range(40_000)
    )
    error = refused(
        a,
        SyncResponseArrived(response=SyncResponse(sender="b", request_time=-1, delta=flood), at=5),
        capped,
    )
    assert "max_agents" in str(error)
    assert a.evidence.agent_count() == 0
    for i in range(5_000):
        entry = signed(capped, f"agent-{i}", "ma", 1, 1, 0)
        a, _ = step(capped, a, LocalReport(at=5, agent=f"agent-{i}", source="ma", entry=entry))
    one_more = signed(capped, "agent-5000", "mc", 1, 1, 0)
    push = SyncResponse(
        sender="b", request_time=-1, delta=EvidenceState.of({("agent-5000", "mc"): one_more})
    )
    refused(a, SyncResponseArrived(response=push, at=5), capped)
    local = signed(capped, "agent-5000", "ma", 1, 1, 0)
    refused(a, LocalReport(at=5, agent="agent-5000", source="ma", entry=local), capped)
    # a known agent still takes new evidence
    known = signed(capped, "agent-7", "mc", 1, 1, 0)
    push = SyncResponse(
        sender="b", request_time=-1, delta=EvidenceState.of({("agent-7", "mc"): known})
    )
    a, _ = step(capped, a, SyncResponseArrived(response=push, at=5))
    assert a.evidence.agent_count() == 5_000 and a.evidence.get("agent-7", "mc") == known


def test_counts_past_the_evidence_range_are_refused_at_admission() -> None:
    """With a rate bound generous enough to allow them, two sources each
    claiming ``2**38 + 1`` terms would sum past ``2**39`` and make
    ``Evaluate`` raise; each entry is now capped at ``2**39 // sources`` on
    admission, so the sum always fits and ``Evaluate`` answers."""
    fast = config(rate=Fraction(1 << 40))
    assert fast.max_count == MAX_EVIDENCE_COUNT // 3
    a, _ = initial_state(fast, at=0)
    big = (1 << 38) + 1
    for source in ("mb", "mc"):
        entry = signed(fast, "x", source, 1, big, 0)
        push = SyncResponse(
            sender="b", request_time=-1, delta=EvidenceState.of({("x", source): entry})
        )
        error = refused(a, SyncResponseArrived(response=push, at=2), fast)
        assert "terms" in str(error)
    refused(
        a, LocalReport(at=2, agent="x", source="ma", entry=signed(fast, "x", "ma", 1, big, 0)), fast
    )
    # at the cap, every source together still fits and Evaluate answers
    top = fast.max_count
    for source in ("mb", "mc"):
        entry = signed(fast, "x", source, 1, top, top * SCALE)
        push = SyncResponse(
            sender="b", request_time=-1, delta=EvidenceState.of({("x", source): entry})
        )
        a, _ = step(fast, a, SyncResponseArrived(response=push, at=2))
    a, _ = step(
        fast, a, LocalReport(at=2, agent="x", source="ma", entry=signed(fast, "x", "ma", 1, top, 0))
    )
    a, (decision,) = step(fast, a, Evaluate(agent="x", at=2))
    assert isinstance(decision, Decide) and decision.verdict is Verdict.FLAGGED
    assert a.evidence.agent_stats("x").count == 3 * top <= MAX_EVIDENCE_COUNT


def test_a_request_digest_is_bounded_too() -> None:
    """A request naming more keys than any table can hold is refused before
    the node builds an answer from it."""
    from vigilnet.protocols.sscr import SyncRequest, SyncRequestArrived

    capped = config(max_agents=2)
    a, _ = initial_state(capped, at=0)
    digest = tuple(((f"agent-{i}", "mb"), (1, 1, 0)) for i in range(7))
    request = SyncRequest(sender="b", request_time=1, digest=digest)
    refused(a, SyncRequestArrived(request=request), capped)
