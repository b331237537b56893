"""Rules 3f and 3c count a proven equivocator's second vote (and nothing
else does): a hub that first received the equivocator's nil precommit still
decides when the deciders hand it their precommits, and a hub that first
received its nil prevote still follows a re-proposal whose polka holds the
equivocator's prevote for the value."""

from __future__ import annotations

import hashlib

from vigilnet.protocols.sdbc import (
    PRECOMMIT,
    PREVOTE,
    Broadcast,
    Cluster,
    Decide,
    Proposal,
    Receive,
    ReportEvidence,
    Start,
    Step,
    Vote,
    initial_state,
    make_config,
    sign_proposal,
    sign_vote,
    step,
)

SEEDS = [hashlib.sha256(b"vigilnet sdbc equivocator hub %d" % i).digest() for i in range(5)]
CONFIG, KEYS = make_config(SEEDS)
SUMMARIES = {h: (10 + h, 3 * h, -h) for h in range(5)}
LAGGER, LIAR = 4, 3


def _epoch_one() -> tuple[Proposal, dict[int, Vote]]:
    """Epoch 1 of an honest cluster: its decided proposal and each hub's precommit."""
    c = Cluster(config=CONFIG, keys=KEYS, correct=tuple(range(5)))
    c.run_epoch(1, SUMMARIES)
    decided = c.decisions[0][0]
    proposal = next(
        m
        for m in c.sent
        if isinstance(m, Proposal) and m.value.value_hash == decided.value.value_hash
    )
    precommits = {
        m.hub: m
        for m in c.sent
        if isinstance(m, Vote)
        and m.kind == PRECOMMIT
        and m.round == decided.certificate.round
        and m.value_hash == decided.value.value_hash
    }
    return proposal, precommits


def _lagger_holding_the_liars_nil(proposal: Proposal):  # type: ignore[no-untyped-def]
    s = initial_state(KEYS[LAGGER], LAGGER, CONFIG)
    s, _ = step(s, Start(epoch=1, summary=SUMMARIES[LAGGER]))
    nil = sign_vote(KEYS[LIAR], CONFIG, PRECOMMIT, 1, proposal.round, LIAR, None)
    s, _ = step(s, Receive(message=nil))
    s, _ = step(s, Receive(message=proposal))
    return s


def test_a_lagger_decides_with_the_equivocators_precommit() -> None:
    proposal, precommits = _epoch_one()
    assert {0, 1, 2, 3} <= set(precommits)
    s = _lagger_holding_the_liars_nil(proposal)
    outputs = []
    for h in (0, 1, 2, LIAR):
        s, out = step(s, Receive(message=precommits[h]))
        outputs.extend(out)
    evidence = [o for o in outputs if isinstance(o, ReportEvidence)]
    assert len(evidence) == 1 and evidence[0].evidence.hub == LIAR  # still proven
    decisions = [o for o in outputs if isinstance(o, Decide)]
    assert len(decisions) == 1 and decisions[0].value == proposal.value
    cert = decisions[0].certificate
    cert.verify(CONFIG)
    assert sorted(v.hub for v in cert.precommits) == [0, 1, 2, LIAR]
    # the equivocator's precommit is not counted for anything else
    tally = s.tally.round(proposal.round)
    assert tally.count(PRECOMMIT, proposal.value.value_hash) == 3
    assert tally.count(PRECOMMIT, None) == 1


def test_below_quorum_with_the_equivocator_no_decision() -> None:
    proposal, precommits = _epoch_one()
    s = _lagger_holding_the_liars_nil(proposal)
    for h in (0, 1, LIAR):
        s, out = step(s, Receive(message=precommits[h]))
        assert not any(isinstance(o, Decide) for o in out)
    assert s.decision is None


def test_without_the_rule_the_lagger_would_be_stuck() -> None:
    # the counted precommits alone are q - 1: the case the rule exists for
    proposal, precommits = _epoch_one()
    s = _lagger_holding_the_liars_nil(proposal)
    for h in (0, 1, 2):
        s, out = step(s, Receive(message=precommits[h]))
        assert not any(isinstance(o, Decide) for o in out)
    assert s.tally.round(proposal.round).count(PRECOMMIT, proposal.value.value_hash) == 3
    assert CONFIG.quorum == 4


def _in_round_one_holding_the_liars_nil_prevote():  # type: ignore[no-untyped-def]
    s = initial_state(KEYS[LAGGER], LAGGER, CONFIG)
    s, _ = step(s, Start(epoch=1, summary=SUMMARIES[LAGGER]))
    s, _ = step(s, Receive(message=sign_vote(KEYS[LIAR], CONFIG, PREVOTE, 1, 0, LIAR, None)))
    for h in (0, 1):  # N - q + 1 signers of round 1 move the hub there (rule 3g)
        s, _ = step(s, Receive(message=sign_vote(KEYS[h], CONFIG, PRECOMMIT, 1, 1, h, None)))
    assert s.round == 1 and s.step is Step.PROPOSE
    return s


def _reproposal(value: object) -> Proposal:
    proposer = CONFIG.proposer(1, 1)
    return sign_proposal(KEYS[proposer], CONFIG, 1, 1, proposer, value, 0)  # type: ignore[arg-type]


def test_rule_3c_counts_the_equivocators_prevote_in_the_valid_round() -> None:
    proposal, _ = _epoch_one()
    vh = proposal.value.value_hash
    s = _in_round_one_holding_the_liars_nil_prevote()
    for h in (0, 1, 2, LIAR):  # the polka of round 0, relayed; the liar's is its second vote
        s, _ = step(s, Receive(message=sign_vote(KEYS[h], CONFIG, PREVOTE, 1, 0, h, vh)))
    assert s.tally.round(0).count(PREVOTE, vh) == 3
    s, out = step(s, Receive(message=_reproposal(proposal.value)))
    prevotes = [o.message for o in out if isinstance(o, Broadcast)]
    assert len(prevotes) == 1 and prevotes[0].kind == PREVOTE and prevotes[0].value_hash == vh


def test_rule_3c_without_a_polka_waits() -> None:
    proposal, _ = _epoch_one()
    vh = proposal.value.value_hash
    s = _in_round_one_holding_the_liars_nil_prevote()
    for h in (0, 1, 2):
        s, _ = step(s, Receive(message=sign_vote(KEYS[h], CONFIG, PREVOTE, 1, 0, h, vh)))
    s, out = step(s, Receive(message=_reproposal(proposal.value)))
    assert not [o for o in out if isinstance(o, Broadcast)]  # the propose timeout decides
    assert s.step is Step.PROPOSE
