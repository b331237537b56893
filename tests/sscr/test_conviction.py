"""History rewrites and equivocations convict the source (rules SSCR-CRDT-6
and -7, SSCR-5): extension, conflicts, the conviction CRDT's laws, and the
proof's countermodel (``sscr.final_never_flips.mutant.per_entry_checks_only``,
``docs/proofs.md`` section 6) replayed through the real node."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.sscr.keys import signed, source_keys
from tests.sscr.strategies import states
from vigilnet.errors import LocalProtocolError, RemoteProtocolError
from vigilnet.evidence import EvidenceStats, Verdict
from vigilnet.protocols.sscr import (
    Conviction,
    ConvictionSet,
    Decide,
    Evaluate,
    EvidenceState,
    LocalReport,
    NodeState,
    Send,
    SourceConvicted,
    SourceEntry,
    SscrConfig,
    StartSync,
    SyncRequest,
    SyncRequestArrived,
    SyncResponse,
    SyncResponseArrived,
    byzantine_margin,
    conflicts,
    entry_key,
    extends,
    initial_state,
    judgement,
    merge,
    merge_convictions,
    step,
)

LAMBDA = 4  # the strategies' clamp


def entry(sequence: int, count: int, llr_sum: int) -> SourceEntry:
    return SourceEntry(sequence=sequence, stats=EvidenceStats(count=count, llr_sum=llr_sum))


# -- extension and conflicts ------------------------------------------------------


def test_extension_is_growth_by_clamped_terms() -> None:
    held = entry(4, 15, -5)
    assert extends(held, entry(5, 16, -5 + 3), 3)
    assert extends(held, entry(9, 17, -11), 3)  # two terms of -3
    assert not extends(held, entry(5, 3, 6), 3)  # the proof's rewrite: fewer terms
    assert not extends(held, entry(5, 16, 0), 3)  # one new term cannot move the sum by 5
    assert not extends(held, entry(4, 16, -5), 3)  # same sequence number: never an extension
    assert not extends(held, entry(3, 16, -5), 3)  # lower sequence number


def test_republishing_with_no_new_terms_is_an_extension_not_a_rewrite() -> None:
    """Issue 11, item 2: an honest source may report again before it has seen
    a new term (a higher sequence number, the same count and sum).  That is an
    extension, so no peer convicts it; the mutant ``grown > 0`` convicts."""
    held = entry(4, 15, -5)
    again = entry(5, 15, -5)
    assert extends(held, again, 3)
    assert not extends(held, entry(5, 15, -4), 3)  # no new term, yet the sum moved
    key = ("agent-0", "m0")
    mine = EvidenceState.of([(key, held)])
    theirs = EvidenceState.of([(key, again)])
    assert conflicts(mine, theirs, LAMBDA) == conflicts(theirs, mine, LAMBDA)
    assert not conflicts(mine, theirs, LAMBDA)


@given(states(), states())
def test_conflicts_are_symmetric_and_exactly_the_non_extending_pairs(
    a: EvidenceState, b: EvidenceState
) -> None:
    found = conflicts(a, b, LAMBDA)
    assert {(c.agent, c.source, c.lower, c.higher) for c in found} == {
        (c.agent, c.source, c.lower, c.higher) for c in conflicts(b, a, LAMBDA)
    }
    mine, theirs = a.as_dict(), b.as_dict()
    for key in set(mine) & set(theirs):
        x, y = sorted((mine[key], theirs[key]), key=entry_key)
        convicted = any((c.agent, c.source) == key for c in found)
        assert convicted == (x != y and not extends(x, y, LAMBDA))
    for conviction in found:
        assert conviction.holds(LAMBDA)


@st.composite
def conviction_sets(draw: st.DrawFn) -> ConvictionSet:
    pairs = draw(st.lists(st.tuples(states(), states()), max_size=3))
    return ConvictionSet.of(c for a, b in pairs for c in conflicts(a, b, LAMBDA))


@given(conviction_sets(), conviction_sets(), conviction_sets())
def test_conviction_merge_is_a_join(a: ConvictionSet, b: ConvictionSet, c: ConvictionSet) -> None:
    assert merge_convictions(a, b) == merge_convictions(b, a)
    assert merge_convictions(a, merge_convictions(b, c)) == merge_convictions(
        merge_convictions(a, b), c
    )
    assert merge_convictions(a, a) == a
    # grow-only: every source convicted on either side stays convicted
    assert merge_convictions(a, b).sources() == a.sources() | b.sources()


@given(conviction_sets(), conviction_sets())
def test_conviction_delta_against_digest_gives_the_same_join(
    a: ConvictionSet, b: ConvictionSet
) -> None:
    """What a sync answer carries (``newer_than`` the requester's digest) is
    as good as the whole set, and nothing once the two agree."""
    sent = a.newer_than(b.digest())
    assert merge_convictions(b, sent) == merge_convictions(b, a)
    assert set(sent.sources()) <= set(a.sources())
    joined = merge_convictions(a, b)
    assert len(joined.newer_than(joined.digest())) == 0


@given(states(), states())
def test_detection_commutes_with_the_merge(a: EvidenceState, b: EvidenceState) -> None:
    """Two replicas that merge the same pair of states in either order
    convict the same sources with the same evidence and hold the same
    evidence: conviction does not break convergence."""
    left = ConvictionSet.of(conflicts(a, b, LAMBDA))
    right = ConvictionSet.of(conflicts(b, a, LAMBDA))
    assert left == right
    assert merge(a, b) == merge(b, a)


def test_conviction_validation() -> None:
    with pytest.raises(LocalProtocolError):  # lower after higher
        Conviction(agent="x", source="m", lower=entry(2, 3, 6), higher=entry(1, 15, -5))
    with pytest.raises(LocalProtocolError):  # filed under another source
        ConvictionSet(
            convictions=(
                (
                    "n",
                    Conviction(agent="x", source="m", lower=entry(1, 1, 1), higher=entry(1, 1, 2)),
                ),
            )
        )
    same = Conviction(agent="x", source="m", lower=entry(1, 1, 1), higher=entry(1, 1, 2))
    assert same.kind == "equivocation" and same.holds(1)
    rewrite = Conviction(agent="x", source="m", lower=entry(15, 15, -5), higher=entry(16, 3, 6))
    assert rewrite.kind == "history_rewrite" and rewrite.holds(3)
    honest = Conviction(agent="x", source="m", lower=entry(1, 1, 1), higher=entry(2, 2, 0))
    assert not honest.holds(1)


def test_byzantine_margin_takes_the_largest_contributions_toward_the_verdict() -> None:
    contributions = [7, -5, 3, 9, -12]
    assert byzantine_margin(contributions, 0, toward=Verdict.FLAGGED) == 0
    assert byzantine_margin(contributions, 1, toward=Verdict.FLAGGED) == 9
    assert byzantine_margin(contributions, 2, toward=Verdict.FLAGGED) == 16
    assert byzantine_margin(contributions, 2, toward=Verdict.CLEARED) == 17
    assert byzantine_margin(contributions, 9, toward=Verdict.CLEARED) == 17
    assert byzantine_margin(contributions, 3, toward=Verdict.UNDECIDED) == 0


# -- the proof's countermodel through the node ------------------------------------------
#
# lambda_max 3, rate 1, thresholds 16 / -6.  Source mb, hosted at b, is held
# at a as (count 15, llr_sum -5); later it publishes (count 3, llr_sum 6)
# under a higher sequence number.  Each entry passes the clamp and the rate
# bound on its own, and no sequence number repeats.


def config(node: str, sources: tuple[tuple[str, str], ...], byzantine: int) -> SscrConfig:
    return SscrConfig(
        node=node,
        peers=("b",) if node == "a" else ("a",),
        sources=sources,
        source_keys=source_keys(sources),
        lambda_max=3,
        rate=Fraction(1),
        upper=16,
        lower=-6,
        deadline_base=10,
        phi_threshold=1 << 20,
        byzantine_sources=byzantine,
    )


def held(cfg: SscrConfig) -> SourceEntry:
    """mb's entry (15 terms, -5), signed by mb."""
    return signed(cfg, "x", "mb", 15, 15, -5)


def rewritten(cfg: SscrConfig) -> SourceEntry:
    """mb's rewrite (3 terms, 6) under a higher sequence number, signed by mb."""
    return signed(cfg, "x", "mb", 16, 3, 6)


def local(cfg: SscrConfig, source: str, count: int, llr_sum: int) -> SourceEntry:
    return signed(cfg, "x", source, count, count, llr_sum)


def synced_with_held(cfg_a: SscrConfig, cfg_b: SscrConfig, at: int) -> tuple[NodeState, NodeState]:
    """b's mb reports (15, -5); a syncs from b at ``at`` (fresh as of ``at``)."""
    a, _ = initial_state(cfg_a, at=0)
    b, _ = initial_state(cfg_b, at=0)
    b, _ = step(cfg_b, b, LocalReport(at=at, agent="x", source="mb", entry=held(cfg_b)))
    a, (request,) = step(cfg_a, a, StartSync(peer="b", at=at))
    assert isinstance(request, Send) and isinstance(request.message, SyncRequest)
    _, (reply,) = step(cfg_b, b, SyncRequestArrived(request=request.message))
    assert isinstance(reply, Send) and isinstance(reply.message, SyncResponse)
    a, _ = step(cfg_a, a, SyncResponseArrived(response=reply.message, at=at))
    return a, b


def rewrite_arrives(cfg: SscrConfig, a: NodeState, at: int) -> tuple[NodeState, tuple[object, ...]]:
    """The rewritten entry reaches a alone, in an answer to no request (so it
    refreshes nothing) and with no conviction attached: a must find it."""
    forged = SyncResponse(
        sender="b", request_time=-1, delta=EvidenceState.of({("x", "mb"): rewritten(cfg)})
    )
    return step(cfg, a, SyncResponseArrived(response=forged, at=at))


def test_countermodel_is_convicted_and_the_final_verdict_stays_final() -> None:
    """The proof's countermodel exactly (byzantine_sources = 0): a final
    CLEARED verdict on L = -4 - 5 = -9 with B = 3.  The rewrite is merged (so
    replicas still converge), convicts mb (history_rewrite, reported), and the
    final verdict is kept; mb's entries no longer count."""
    sources = (("ma", "a"), ("mb", "b"))
    cfg_a, cfg_b = config("a", sources, 0), config("b", sources, 0)
    a, _ = synced_with_held(cfg_a, cfg_b, at=20)
    a, _ = step(
        cfg_a, a, LocalReport(at=20, agent="x", source="ma", entry=local(cfg_a, "ma", 4, -4))
    )
    a, (decision,) = step(cfg_a, a, Evaluate(agent="x", at=20))
    assert decision == Decide(agent="x", verdict=Verdict.CLEARED, final=True, mode=decision.mode)

    a, outputs = rewrite_arrives(cfg_a, a, at=21)
    (found,) = [o for o in outputs if isinstance(o, SourceConvicted)]
    assert found.peer == "b"
    assert found.conviction == Conviction(
        agent="x", source="mb", lower=held(cfg_a), higher=rewritten(cfg_a)
    )
    assert found.conviction.kind == "history_rewrite"
    assert a.convicted.sources() == {"mb"}
    assert a.evidence.get("x", "mb") == rewritten(cfg_a)  # merged all the same: convergence
    assert a.evidence.agent_stats("x", excluding=a.convicted.sources()).llr_sum == -4
    a, (again,) = step(cfg_a, a, Evaluate(agent="x", at=21))
    assert again == decision
    # With f = 0 finality assumes honest sources: on the honest evidence
    # alone (-4) a fresh judgement is undecided.  This is what
    # byzantine_sources is for (next test).
    assert judgement(cfg_a, a, "x", 21).verdict is Verdict.UNDECIDED


def test_tolerating_one_byzantine_source_withholds_finality_in_the_countermodel() -> None:
    """With byzantine_sources = 1 the same held state is not final: E = 5
    (mb's -5 pushes toward CLEARED), -9 + 3 + 5 > -6."""
    sources = (("ma", "a"), ("mb", "b"))
    cfg_a, cfg_b = config("a", sources, 1), config("b", sources, 1)
    a, _ = synced_with_held(cfg_a, cfg_b, at=20)
    a, _ = step(
        cfg_a, a, LocalReport(at=20, agent="x", source="ma", entry=local(cfg_a, "ma", 4, -4))
    )
    _, (decision,) = step(cfg_a, a, Evaluate(agent="x", at=20))
    assert isinstance(decision, Decide)
    assert decision.verdict is Verdict.CLEARED and not decision.final


def test_a_final_verdict_that_tolerates_the_rewriter_never_flips() -> None:
    """byzantine_sources = 1, two honest local sources (-12 each) and the
    Byzantine mb (-5): L = -29, B = 3, E = 12: final CLEARED.  mb rewrites;
    a convicts it; the verdict on the honest evidence (-24) and on
    everything counted now is still CLEARED, final and unchanged; b, which
    hosts mb, convicts it from the local report itself, and a replica that
    never held the old entry learns of the conviction by sync."""
    sources = (("ma", "a"), ("mc", "a"), ("mb", "b"))
    cfg_a, cfg_b = config("a", sources, 1), config("b", sources, 1)
    a, b = synced_with_held(cfg_a, cfg_b, at=20)
    for source in ("ma", "mc"):
        a, _ = step(
            cfg_a,
            a,
            LocalReport(at=20, agent="x", source=source, entry=local(cfg_a, source, 4, -12)),
        )
    a, (decision,) = step(cfg_a, a, Evaluate(agent="x", at=20))
    assert decision == Decide(agent="x", verdict=Verdict.CLEARED, final=True, mode=decision.mode)

    a, outputs = rewrite_arrives(cfg_a, a, at=21)
    assert [o.conviction.source for o in outputs if isinstance(o, SourceConvicted)] == ["mb"]
    a, (again,) = step(cfg_a, a, Evaluate(agent="x", at=21))
    assert again == decision
    fresh = judgement(cfg_a, a, "x", 21)
    assert fresh.verdict is Verdict.CLEARED  # honest evidence alone: -24

    # at b, the home, the rewrite is a local report: convicted on the spot
    b, outputs = step(cfg_b, b, LocalReport(at=21, agent="x", source="mb", entry=rewritten(cfg_b)))
    assert [type(o) for o in outputs] == [SourceConvicted]
    assert b.convicted.sources() == {"mb"}

    # a replica that never held (15, -5) receives the rewrite and b's conviction
    late, _ = initial_state(cfg_a, at=21, fresh_since=0)
    late, (request,) = step(cfg_a, late, StartSync(peer="b", at=21))
    assert isinstance(request, Send) and isinstance(request.message, SyncRequest)
    _, (reply,) = step(cfg_b, b, SyncRequestArrived(request=request.message))
    assert isinstance(reply, Send) and isinstance(reply.message, SyncResponse)
    assert reply.message.convictions.sources() == {"mb"}
    late, outputs = step(cfg_a, late, SyncResponseArrived(response=reply.message, at=21))
    assert late.evidence.get("x", "mb") == rewritten(cfg_a)
    assert late.convicted.sources() == {"mb"}
    assert [o.peer for o in outputs if isinstance(o, SourceConvicted)] == ["b"]
    # a asks b and names mb as convicted already: b sends no conviction again
    a, (request,) = step(cfg_a, a, StartSync(peer="b", at=22))
    assert isinstance(request, Send) and isinstance(request.message, SyncRequest)
    assert [source for source, _ in request.message.convicted] == ["mb"]
    _, (reply,) = step(cfg_b, b, SyncRequestArrived(request=request.message))
    assert isinstance(reply, Send) and isinstance(reply.message, SyncResponse)
    assert len(reply.message.convictions) == 0


def test_a_forwarded_conviction_must_be_evidence() -> None:
    """A peer cannot frame a source: a forwarded conviction whose entries are
    consistent, or break the clamp, is refused and changes nothing."""
    sources = (("ma", "a"), ("mb", "b"))
    cfg_a = config("a", sources, 1)
    a, _ = initial_state(cfg_a, at=0)

    def mb(sequence: int, count: int, llr_sum: int) -> SourceEntry:
        return signed(cfg_a, "x", "mb", sequence, count, llr_sum)

    consistent = Conviction(agent="x", source="mb", lower=mb(1, 1, 3), higher=mb(2, 2, 0))
    over_clamp = Conviction(agent="x", source="mb", lower=mb(1, 1, 3), higher=mb(2, 1, 4))
    for framing in (consistent, over_clamp):
        response = SyncResponse(
            sender="b",
            request_time=-1,
            delta=EvidenceState(),
            convictions=ConvictionSet.of([framing]),
        )
        with pytest.raises(RemoteProtocolError):
            step(cfg_a, a, SyncResponseArrived(response=response, at=10))
    genuine = Conviction(agent="x", source="mb", lower=mb(1, 1, 3), higher=mb(2, 1, -3))
    response = SyncResponse(
        sender="b", request_time=-1, delta=EvidenceState(), convictions=ConvictionSet.of([genuine])
    )
    after, outputs = step(cfg_a, a, SyncResponseArrived(response=response, at=10))
    assert after.convicted.get("mb") == genuine
    assert outputs == (SourceConvicted(peer="b", conviction=genuine),)
