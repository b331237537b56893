"""Issue 10, items 1 to 4: each attack of a Byzantine hub, performed against
real hubs (real signatures, the deterministic cluster), and what must hold.

Every test here drives the attack through the public API that already
existed before the fix (``make_config``, ``sign_*``, ``Cluster``, ``step``),
so each one runs against the old code too and fails there: the narrower
summary made every honest hub decide a value that fails ``valid(v)``, the
wider one let an ``IndexError`` out of ``step()``, a single proposer chose
the next epoch's threshold, ``q`` nil precommits verified as a decision,
and one hub stored thousands of equivocations and proposals.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import replace
from fractions import Fraction

import pytest

from vigilnet.errors import LocalProtocolError, RemoteProtocolError
from vigilnet.protocols import sdbc
from vigilnet.protocols.sdbc import (
    PRECOMMIT,
    PREVOTE,
    BadMessage,
    Broadcast,
    Cluster,
    DecisionCertificate,
    Envelope,
    Proposal,
    Receive,
    ReportEvidence,
    Start,
    Timeout,
    Value,
    make_config,
    sign_proposal,
    sign_summary,
    sign_vote,
    step,
)

SEEDS = [hashlib.sha256(b"vigilnet sdbc attack hub %d" % i).digest() for i in range(5)]
CONFIG, KEYS = make_config(SEEDS)
SUMMARIES = {h: (10 + h, 3 * h, -h) for h in range(5)}


def _run_with_byzantine_summary(byzantine: int, values: tuple[int, ...]) -> Cluster:
    """Epoch 1 with hub ``byzantine`` silent but for one summary of its
    own making, delivered to every honest hub before anything else; then
    every message in order, the earliest timer when nothing is in flight,
    until every honest hub decides.  Exceptions other than a refusal are
    not caught: they are the bug."""
    correct = tuple(h for h in range(5) if h != byzantine)
    c = Cluster(config=CONFIG, keys=KEYS, correct=correct)
    c.start(1, SUMMARIES)
    bad = sign_summary(KEYS[byzantine], CONFIG, 1, byzantine, values)
    c.in_flight[:0] = [Envelope(to=h, message=bad) for h in correct]
    for _ in range(20_000):
        if all(c.nodes[h].decision is not None for h in correct):
            return c
        if c.in_flight:
            try:
                c.deliver(0)
            except RemoteProtocolError:
                continue
        else:
            waiting = [h for h in correct if c.timers[h]]
            assert waiting, "no message in flight and no timer pending"
            c.fire(min(waiting, key=lambda x: c.timers[x][0].duration_ms))
    raise AssertionError("epoch 1 undecided")


# -- item 1: summary width and ranges ------------------------------------------


@pytest.mark.parametrize(
    ("byzantine", "values"),
    [
        (0, (1,)),  # narrower, lowest hub: in every honest proposer's value
        (0, ()),
        (0, (1, 2)),
        (0, (1, 2, 3, 4, 5)),  # wider
        (1, (1,)),  # narrower, not the lowest: IndexError at the proposer
        (4, (1,)),
        (0, (10**12, 0, 0)),  # the right width, a coordinate out of range
    ],
    ids=["narrow1", "narrow0", "narrow2", "wide5", "narrow-hub1", "narrow-hub4", "range"],
)
def test_malformed_summary_is_refused_and_the_decision_is_valid(
    byzantine: int, values: tuple[int, ...]
) -> None:
    c = _run_with_byzantine_summary(byzantine, values)
    for h in c.correct:
        node = c.nodes[h]
        assert node.decision is not None
        node.decision.check_valid(CONFIG, 1)  # old code: "summaries of different widths"
        assert all(s.hub != byzantine for s in node.summaries)


def test_summary_admission_names_the_reason_and_changes_nothing() -> None:
    s = sdbc.initial_state(KEYS[2], 2, CONFIG)
    s, _ = step(s, Start(epoch=1, summary=SUMMARIES[2]))
    for values, reason in [
        ((1,), "summary width"),
        ((1, 2, 3, 4), "summary width"),
        ((1, 2**31, 3), "out of range"),
        ((1, -(2**31) - 1, 3), "out of range"),
    ]:
        bad = sign_summary(KEYS[0], CONFIG, 1, 0, values)
        with pytest.raises(BadMessage, match=reason):
            step(s, Receive(message=bad))
    with pytest.raises(LocalProtocolError, match="summary width"):
        step(sdbc.initial_state(KEYS[2], 2, CONFIG), Start(epoch=1, summary=(1,)))


def test_value_build_never_raises_index_error() -> None:
    ok = [sign_summary(KEYS[h], CONFIG, 1, h, SUMMARIES[h]) for h in range(1, 4)]
    for values in [(1,), (1, 2, 3, 4, 5)]:
        for position in (0, 3):
            odd = sign_summary(KEYS[0], CONFIG, 1, 0, values)
            summaries = tuple([*ok[:position], odd, *ok[position:]])
            with pytest.raises(BadMessage, match="width"):
                Value.build(CONFIG, 1, summaries)


def test_proposer_runs_valid_on_its_own_value() -> None:
    """A summary that got past admission (planted here) must not make the
    proposer sign a value it would refuse from anyone else: it does not
    propose, and its propose timeout prevotes nil."""
    proposer = CONFIG.proposer(1, 0)
    s = sdbc.initial_state(KEYS[proposer], proposer, CONFIG)
    s, _ = step(s, Start(epoch=1, summary=SUMMARIES[proposer]))
    planted = sign_summary(KEYS[0], CONFIG, 1, 0, (1,))
    others = [sign_summary(KEYS[h], CONFIG, 1, h, SUMMARIES[h]) for h in (2, 3)]
    s = replace(s, summaries=s.summaries | {planted, *others[:1]})
    s, out = step(s, Receive(message=others[1]))
    proposals = [o for o in out if isinstance(o, Broadcast) and isinstance(o.message, Proposal)]
    assert proposals == []
    assert s.proposals == frozenset()


# -- item 2: the next-epoch threshold --------------------------------------------


def _honest_value(next_threshold: Fraction | None) -> Value:
    summaries = tuple(sign_summary(KEYS[h], CONFIG, 1, h, SUMMARIES[h]) for h in range(4))
    return replace(Value.build(CONFIG, 1, summaries), next_threshold=next_threshold)


@pytest.mark.parametrize("chosen", [Fraction(1), Fraction(51, 100), Fraction(2, 3)])
def test_byzantine_proposer_cannot_choose_the_next_threshold(chosen: Fraction) -> None:
    """Round 0's proposer is Byzantine and attaches a next threshold of its
    own choosing to honest summaries.  1 would make every honest Start
    raise, 51/100 would leave the next epoch unable to build a value, and
    even a harmless 2/3 is one hub's choice: every honest hub prevotes nil."""
    value = _honest_value(chosen)
    with pytest.raises(BadMessage):
        value.check_valid(CONFIG, 1)
    proposer = CONFIG.proposer(1, 0)
    prop = sign_proposal(KEYS[proposer], CONFIG, 1, 0, proposer, value, -1)
    for h in range(5):
        if h == proposer:
            continue
        s = sdbc.initial_state(KEYS[h], h, CONFIG)
        s, _ = step(s, Start(epoch=1, summary=SUMMARIES[h]))
        s, out = step(s, Receive(message=prop))
        votes = [o.message for o in out if isinstance(o, Broadcast)]
        assert len(votes) == 1 and votes[0].value_hash is None, h


def test_unrunnable_or_unsafe_thresholds_are_refused_by_the_configuration() -> None:
    for t in (Fraction(1), Fraction(51, 100), Fraction(3, 5)):
        assert not CONFIG.admits_threshold(t)
        with pytest.raises(LocalProtocolError):
            CONFIG.with_threshold(t)
    for t in (Fraction(3, 4), Fraction(2, 3), Fraction(4, 5)):
        assert CONFIG.admits_threshold(t)
    with pytest.raises(LocalProtocolError, match="proposed next threshold"):
        sdbc.initial_state(KEYS[1], 1, CONFIG, proposed_threshold=Fraction(1))


def test_a_summary_proposing_a_refused_threshold_is_refused() -> None:
    s = sdbc.initial_state(KEYS[2], 2, CONFIG)
    s, _ = step(s, Start(epoch=1, summary=SUMMARIES[2]))
    bad = sign_summary(KEYS[0], CONFIG, 1, 0, SUMMARIES[0], Fraction(1))
    with pytest.raises(BadMessage, match="threshold the configuration refuses"):
        step(s, Receive(message=bad))


@pytest.mark.parametrize("backers", [5, 4, 3])
def test_threshold_changes_only_when_a_quorum_of_summaries_agrees(backers: int) -> None:
    """Hubs ``0..backers-1`` propose 2/3 for the next epoch.  With q = 4 or
    more the decided value carries 2/3 and epoch 2 runs with it; with 3 the
    threshold is unchanged."""
    c = Cluster(config=CONFIG, keys=KEYS, correct=tuple(range(5)))
    for h in range(backers):
        c.nodes[h] = replace(c.nodes[h], proposed_threshold=Fraction(2, 3))
    c.run_epoch(1, SUMMARIES)
    decided = c.nodes[0].decision
    assert decided is not None
    decided.check_valid(CONFIG, 1)
    expected = Fraction(2, 3) if backers >= CONFIG.quorum else None
    assert decided.next_threshold == expected
    c.run_epoch(2, SUMMARIES)
    assert c.nodes[0].config.threshold == (expected or CONFIG.threshold)


# -- item 3: nil certificates ------------------------------------------------------


def test_certificate_of_nil_precommits_is_refused() -> None:
    nils = tuple(sign_vote(KEYS[h], CONFIG, PRECOMMIT, 1, 0, h, None) for h in range(5))
    cert = DecisionCertificate(
        epoch=1,
        config_hash=CONFIG.config_hash,
        round=0,
        value_hash=None,  # type: ignore[arg-type]
        precommits=nils,
    )
    with pytest.raises(BadMessage, match="no value"):
        cert.verify(CONFIG)


# -- item 4: bounded stores ----------------------------------------------------------


def test_equivocation_flood_stores_and_reports_one_piece_of_evidence() -> None:
    s = sdbc.initial_state(KEYS[2], 2, CONFIG)
    s, _ = step(s, Start(epoch=1, summary=SUMMARIES[2]))
    reports = 0
    refused = 0
    for k in range(2_000):
        vh = hashlib.sha256(b"flood %d" % k).digest()
        vote = sign_vote(KEYS[0], CONFIG, PREVOTE, 1, 0, 0, vh)
        try:
            s, out = step(s, Receive(message=vote))
        except BadMessage:
            refused += 1
            continue
        reports += sum(isinstance(o, ReportEvidence) for o in out)
    assert reports == 1
    assert len(s.evidence) == 1
    assert len([v for v in s.votes if v.hub == 0]) == 1
    assert refused == 2_000 - 2


def test_proposal_flood_keeps_a_bounded_number() -> None:
    proposer = CONFIG.proposer(1, 0)
    s = sdbc.initial_state(KEYS[2], 2, CONFIG)
    s, _ = step(s, Start(epoch=1, summary=SUMMARIES[2]))
    base = _honest_value(None)
    for k in range(1_000):
        bogus = replace(base, aggregate=(Fraction(k), *base.aggregate[1:]))
        prop = sign_proposal(KEYS[proposer], CONFIG, 1, 0, proposer, bogus, -1)
        try:
            s, _ = step(s, Receive(message=prop))
        except BadMessage as error:
            assert "too many proposals" in str(error)
    assert len(s.proposals) <= sdbc.MAX_PROPOSALS_PER_ROUND
    assert len(s.valid_hashes) <= sdbc.MAX_PROPOSALS_PER_ROUND


def test_a_backed_proposal_is_kept_beyond_the_limit() -> None:
    """The limit never hides a value that correct hubs voted for: once
    ``N - q + 1`` hubs prevoted it, its proposal is admitted."""
    proposer = CONFIG.proposer(1, 0)
    s = sdbc.initial_state(KEYS[2], 2, CONFIG)
    s, _ = step(s, Start(epoch=1, summary=SUMMARIES[2]))
    base = _honest_value(None)
    for k in range(2):
        bogus = replace(base, aggregate=(Fraction(k), *base.aggregate[1:]))
        s, _ = step(
            s, Receive(message=sign_proposal(KEYS[proposer], CONFIG, 1, 0, proposer, bogus, -1))
        )
    good = sign_proposal(KEYS[proposer], CONFIG, 1, 0, proposer, base, -1)
    with pytest.raises(BadMessage, match="too many proposals"):
        step(s, Receive(message=good))
    for h in (3, 4):
        s, _ = step(
            s, Receive(message=sign_vote(KEYS[h], CONFIG, PREVOTE, 1, 0, h, base.value_hash))
        )
    s, _ = step(s, Receive(message=good))
    assert good in s.proposals and base.value_hash in s.valid_hashes


def test_state_size_stays_within_the_documented_bound() -> None:
    """A Byzantine hub floods every round it may (``MAX_ROUND_LEAD`` ahead)
    with equivocating votes and, in its own rounds, proposals; the state
    stays within the bound of the theory of operation in ``_state.py``."""
    n, q, lead = CONFIG.n, CONFIG.quorum, sdbc.MAX_ROUND_LEAD
    s = sdbc.initial_state(KEYS[2], 2, CONFIG)
    s, _ = step(s, Start(epoch=1, summary=SUMMARIES[2]))
    base = _honest_value(None)
    for r in range(lead + 3):
        for kind in (PREVOTE, PRECOMMIT):
            for k in range(4):
                vh = hashlib.sha256(b"%d %s %d" % (r, kind.encode(), k)).digest()
                for hub in (0, 1):
                    with contextlib.suppress(BadMessage):
                        s, _ = step(
                            s, Receive(message=sign_vote(KEYS[hub], CONFIG, kind, 1, r, hub, vh))
                        )
        p = CONFIG.proposer(1, r)
        if p in (0, 1):
            for k in range(4):
                bogus = replace(base, aggregate=(Fraction(k + 100), *base.aggregate[1:]))
                with contextlib.suppress(BadMessage):
                    s, _ = step(
                        s, Receive(message=sign_proposal(KEYS[p], CONFIG, 1, r, p, bogus, -1))
                    )
    rounds = s.round + lead + 1
    per_round_proposals = sdbc.MAX_PROPOSALS_PER_ROUND + 2 * (n // (n - q + 1))
    assert len(s.summaries) <= n
    assert len(s.votes) <= 2 * n * rounds
    assert len(s.evidence) <= 2 * n * rounds
    assert len(s.proposals) <= per_round_proposals * rounds
    assert len(s.timers) <= 2 * (s.round + 1)
    # and the flood reached the bound's terms: both hubs, many rounds
    assert len({v.round for v in s.votes}) >= lead
    assert len(s.evidence) >= lead


def test_tally_agrees_with_a_recount_of_the_stored_votes() -> None:
    """The incremental counts are the counts: after four epochs of a cluster
    and a flood, every per-(round, kind, value) signer set equals a fresh
    recount of ``votes``, and every round's proposals are ``proposals``."""
    c = Cluster(config=CONFIG, keys=KEYS, correct=tuple(range(5)))
    c.run_epoch(1, SUMMARIES)
    c.start(2, SUMMARIES)
    for _ in range(40):
        if not c.in_flight:
            break
        with contextlib.suppress(RemoteProtocolError):
            c.deliver(0)
    for node in c.nodes.values():
        recount: dict[tuple[int, str, bytes | None], set[int]] = {}
        for v in node.votes:
            recount.setdefault((v.round, v.kind, v.value_hash), set()).add(v.hub)
        tallied = {
            (r, kind, vh): set(hubs)
            for r, rt in node.tally.rounds.items()
            for (kind, vh), hubs in rt.signers.items()
        }
        assert tallied == recount
        assert {p for rt in node.tally.rounds.values() for p in rt.proposals} == node.proposals


# -- issue 11, item 2: a certificate's precommits all come from its round ---------


def test_certificate_of_precommits_from_several_rounds_is_refused() -> None:
    """``q`` precommits for one value, but not all of its round: a decision
    needs ``q`` in one round (the lock argument is per round).  The mutant that
    matches only the value (any rounds) accepts this certificate."""
    value_hash = hashlib.sha256(b"some value").digest()
    mixed = tuple(
        sign_vote(KEYS[h], CONFIG, PRECOMMIT, 1, 1 if h < 3 else 0, h, value_hash) for h in range(4)
    )
    assert CONFIG.quorum == 4
    cert = DecisionCertificate(
        epoch=1, config_hash=CONFIG.config_hash, round=1, value_hash=value_hash, precommits=mixed
    )
    with pytest.raises(BadMessage, match="something else"):
        cert.verify(CONFIG)
    same_round = tuple(sign_vote(KEYS[h], CONFIG, PRECOMMIT, 1, 1, h, value_hash) for h in range(4))
    replace(cert, precommits=same_round).verify(CONFIG)  # the control: one round decides


def test_a_hub_does_not_decide_on_precommits_from_several_rounds() -> None:
    """The decide rule [Decidable] needs ``q`` precommits for the proposal's
    value in the proposal's own round.  Hub 2 holds round 0's proposal of a
    valid value ``v``, two round-0 precommits for ``v`` and two round-1
    precommits for ``v`` (four signers, a quorum if rounds are ignored):
    it must not decide.  The mutant counting over any rounds decides."""
    value = _honest_value(None)
    proposer = CONFIG.proposer(1, 0)
    prop = sign_proposal(KEYS[proposer], CONFIG, 1, 0, proposer, value, -1)
    others = [h for h in range(5) if h != 2]
    precommits = [
        sign_vote(KEYS[h], CONFIG, PRECOMMIT, 1, 0 if i < 2 else 1, h, value.value_hash)
        for i, h in enumerate(others)
    ]
    s = sdbc.initial_state(KEYS[2], 2, CONFIG)
    s, _ = step(s, Start(epoch=1, summary=SUMMARIES[2]))
    s, _ = step(s, Receive(message=prop))
    for vote in precommits:
        s, out = step(s, Receive(message=vote))
        assert not any(isinstance(o, sdbc.Decide) for o in out)
    assert s.decision is None
    # the control: two more round-0 precommits (hub 2's own does not exist
    # yet, so use the round-1 signers again in round 0) make a decision.
    decided = []
    for h in others[2:]:
        vote = sign_vote(KEYS[h], CONFIG, PRECOMMIT, 1, 0, h, value.value_hash)
        s, out = step(s, Receive(message=vote))
        decided += [o for o in out if isinstance(o, sdbc.Decide)]
    assert s.decision == value
    assert [d.certificate.round for d in decided] == [0]


@pytest.mark.parametrize(
    ("n", "threshold", "f_live"), [(5, Fraction(3, 4), 0), (7, Fraction(2, 3), 1)]
)
def test_round_skip_needs_n_minus_q_plus_one_signers_not_f_plus_one(
    n: int, threshold: Fraction, f_live: int
) -> None:
    """Rule 3g [OnRoundCatchup]: a hub jumps to a later round on ``N - q + 1``
    distinct signers there (some correct hub is there), whatever ``f_live``.
    Where ``f_live + 1 < N - q + 1`` the two rules differ: ``N - q``
    signers must not move it, ``N - q + 1`` must.  The mutant computing the
    skip from ``f + 1`` moves early (at every shipped model configuration
    the two are equal, so only these configurations tell them apart)."""
    seeds = [hashlib.sha256(b"vigilnet sdbc skip hub %d" % i).digest() for i in range(n)]
    config, keys = make_config(
        seeds, threshold=threshold, f_live=f_live, f_safe=0, summary_ranges=((0, 100),)
    )
    skip = n - config.quorum + 1
    assert f_live + 1 < skip
    me = n - 1
    s = sdbc.initial_state(keys[me], me, config)
    s, _ = step(s, Start(epoch=1, summary=(1,)))
    for h in range(skip):
        assert s.round == 0, f"moved to round {s.round} on {h} signers of round 3"
        vote = sign_vote(keys[h], config, PREVOTE, 1, 3, h, None)
        s, _ = step(s, Receive(message=vote))
    assert s.round == 3


def _prevotes_sent(outputs: tuple[object, ...], round_: int) -> list[bytes | None]:
    return [
        o.message.value_hash
        for o in outputs
        if isinstance(o, Broadcast)
        and getattr(o.message, "kind", None) == PREVOTE
        and o.message.round == round_
    ]


def test_a_locked_hub_prevotes_nil_on_a_fresh_proposal_of_another_value() -> None:
    """Rule 3b [UponProposalInPropose]: a fresh proposal (``valid_round =
    -1``) is prevoted only by an unlocked hub or one locked on that value.
    The tested hub locks ``v`` in round 0; round 1's proposer (Byzantine
    here) then proposes another valid value ``w`` with ``valid_round = -1``;
    the hub must prevote nil.  The mutant ``locked_value != v`` prevotes
    ``w``, the first half of a fork, and survived every other test."""
    v = _honest_value(None)  # the summaries of hubs 0 to 3
    w = Value.build(
        CONFIG, 1, tuple(sign_summary(KEYS[h], CONFIG, 1, h, SUMMARIES[h]) for h in (0, 1, 2, 4))
    )
    assert v.value_hash != w.value_hash
    p0, p1 = CONFIG.proposer(1, 0), CONFIG.proposer(1, 1)
    me = next(h for h in range(5) if h not in (p0, p1))
    others = [h for h in range(5) if h != me]
    s = sdbc.initial_state(KEYS[me], me, CONFIG)
    s, _ = step(s, Start(epoch=1, summary=SUMMARIES[me]))
    s, out = step(s, Receive(message=sign_proposal(KEYS[p0], CONFIG, 1, 0, p0, v, -1)))
    assert _prevotes_sent(out, 0) == [v.value_hash]
    for h in others[:3]:
        s, _ = step(s, Receive(message=sign_vote(KEYS[h], CONFIG, PREVOTE, 1, 0, h, v.value_hash)))
    assert s.locked_value == v and s.locked_round == 0
    for h in others[:2]:  # N - q + 1 signers of round 1: catch up
        s, _ = step(s, Receive(message=sign_vote(KEYS[h], CONFIG, PREVOTE, 1, 1, h, None)))
    assert s.round == 1
    s, out = step(s, Receive(message=sign_proposal(KEYS[p1], CONFIG, 1, 1, p1, w, -1)))
    assert _prevotes_sent(out, 1) == [None]


def test_a_proposal_claiming_a_valid_round_without_its_polka_gets_no_prevote() -> None:
    """Rule 3c [UponProposalInProposeAndPrevote]: a proposal with
    ``valid_round = vr >= 0`` is prevoted only once ``q`` prevotes for its
    value in ``vr`` are seen.  Round 1's proposer claims ``vr = 0`` for a
    value nobody prevoted: the hub waits (no prevote until its timeout).
    The mutant that joins the two conditions with ``or`` prevotes it."""
    value = _honest_value(None)
    p1 = CONFIG.proposer(1, 1)
    me = next(h for h in range(5) if h != p1)
    others = [h for h in range(5) if h != me]
    s = sdbc.initial_state(KEYS[me], me, CONFIG)
    s, _ = step(s, Start(epoch=1, summary=SUMMARIES[me]))
    for h in others[:2]:
        s, _ = step(s, Receive(message=sign_vote(KEYS[h], CONFIG, PREVOTE, 1, 1, h, None)))
    assert s.round == 1
    s, out = step(s, Receive(message=sign_proposal(KEYS[p1], CONFIG, 1, 1, p1, value, 0)))
    assert _prevotes_sent(out, 1) == []
    sent: list[bytes | None] = []
    for h in others:  # the polka (q = 4 prevotes in round 0) arrives: now it is prevoted
        s, out = step(
            s, Receive(message=sign_vote(KEYS[h], CONFIG, PREVOTE, 1, 0, h, value.value_hash))
        )
        sent += _prevotes_sent(out, 1)
    assert sent == [value.value_hash]


def test_a_precommit_timeout_moves_the_hub_to_the_next_round() -> None:
    """Rule 4 [UponQuorumOfPrecommitsAny then OnTimeoutPrecommit]: after
    ``q`` precommits of any kind the precommit timer runs, and when it fires
    the hub enters the next round.  The mutant whose precommit timeout does
    nothing survived every other test (liveness is not model-checked)."""
    me = next(h for h in range(5) if h != CONFIG.proposer(1, 0))
    others = [h for h in range(5) if h != me]
    s = sdbc.initial_state(KEYS[me], me, CONFIG)
    s, _ = step(s, Start(epoch=1, summary=SUMMARIES[me]))
    s, _ = step(s, Timeout(epoch=1, round=0, step="propose"))
    timers: list[object] = []
    for kind in (PREVOTE, PRECOMMIT):
        for h in others:
            s, out = step(s, Receive(message=sign_vote(KEYS[h], CONFIG, kind, 1, 0, h, None)))
            timers += [o for o in out if isinstance(o, sdbc.SetTimer)]
    assert any(getattr(t, "step", None) == "precommit" for t in timers), timers
    assert s.round == 0
    s, _ = step(s, Timeout(epoch=1, round=0, step="precommit"))
    assert s.round == 1
    s, _ = step(s, Timeout(epoch=1, round=0, step="precommit"))  # stale: changes nothing
    assert s.round == 1
