"""The SDBC hub implementation: epochs in sequence, certificates, evidence,
thresholds, the wire format, and rejection of every bad message."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilnet.errors import LocalProtocolError, RemoteProtocolError
from vigilnet.protocols import sdbc
from vigilnet.protocols.sdbc import (
    PRECOMMIT,
    PREVOTE,
    BadMessage,
    Cluster,
    DecisionCertificate,
    EquivocationEvidence,
    RaiseThreshold,
    Receive,
    ReportEvidence,
    Start,
    Step,
    Timeout,
    Value,
    decode_message,
    encode_message,
    make_config,
    sign_proposal,
    sign_summary,
    sign_vote,
    step,
)

SEEDS = [hashlib.sha256(b"vigilnet sdbc test hub %d" % i).digest() for i in range(5)]
CONFIG, KEYS = make_config(SEEDS)
SUMMARIES = {h: (10 + h, 3 * h, -h) for h in range(5)}


def decided_cluster(epochs: int = 1) -> Cluster:
    c = Cluster(config=CONFIG, keys=KEYS, correct=tuple(range(5)))
    for e in range(1, epochs + 1):
        c.run_epoch(e, SUMMARIES)
    return c


def test_epochs_in_sequence_agree_with_verifiable_certificates() -> None:
    c = decided_cluster(epochs=4)
    for h in range(5):
        assert [d.epoch for d in c.decisions[h]] == [1, 2, 3, 4]
    for e in range(4):
        hashes = {c.decisions[h][e].value.value_hash for h in range(5)}
        assert len(hashes) == 1
        d = c.decisions[0][e]
        d.certificate.verify(CONFIG)
        d.value.check_valid(CONFIG, d.epoch)
        # the aggregate: per coordinate, the 1-trimmed mean of the included summaries
        assert all(isinstance(x, Fraction) for x in d.value.aggregate)


def test_box_validity_with_one_extreme_summary() -> None:
    summaries = dict(SUMMARIES)
    summaries[0] = (10**9, -(10**9), 10**9)
    c = Cluster(config=CONFIG, keys=KEYS, correct=tuple(range(5)))
    c.run_epoch(1, summaries)
    agg = c.decisions[1][0].value.aggregate
    honest = [SUMMARIES[h] for h in range(1, 5)]
    for k, a in enumerate(agg):
        assert min(x[k] for x in honest) <= a <= max(x[k] for x in honest)


def _fresh_node(hub: int = 1, epoch: int = 1) -> sdbc.NodeState:
    s = sdbc.initial_state(KEYS[hub], hub, CONFIG)
    s, _ = step(s, Start(epoch=epoch, summary=SUMMARIES[hub]))
    return s


def _bad_messages() -> list[tuple[str, object]]:
    good = sign_vote(KEYS[2], CONFIG, PREVOTE, 1, 0, 2, None)
    other_cfg, _ = make_config(SEEDS, threshold=Fraction(4, 5))
    summaries = tuple(sign_summary(KEYS[h], CONFIG, 1, h, SUMMARIES[h]) for h in range(4))
    value = Value.build(CONFIG, 1, summaries)
    proposer = CONFIG.proposer(1, 0)
    not_proposer = (proposer + 1) % 5
    return [
        ("stale epoch", sign_vote(KEYS[2], CONFIG, PREVOTE, 0, 0, 2, None)),
        ("future epoch", sign_vote(KEYS[2], CONFIG, PREVOTE, 2, 0, 2, None)),
        ("wrong configuration", sign_vote(KEYS[2], other_cfg, PREVOTE, 1, 0, 2, None)),
        ("bad signature", replace(good, signature=bytes(64))),
        ("bad signature", sign_vote(KEYS[3], CONFIG, PREVOTE, 1, 0, 2, None)),  # wrong key
        ("bad signature", replace(good, value_hash=bytes(32))),
        ("unknown signer", replace(good, hub=7)),
        ("round out of range", sign_vote(KEYS[2], CONFIG, PREVOTE, 1, 10_000, 2, None)),
        (
            "not the round's proposer",
            sign_proposal(KEYS[not_proposer], CONFIG, 1, 0, not_proposer, value, -1),
        ),
        (
            "valid round out of range",
            sign_proposal(KEYS[proposer], CONFIG, 1, 0, proposer, value, 0),
        ),
        ("replayed summary", sign_summary(KEYS[1], CONFIG, 1, 1, SUMMARIES[1])),
        ("second summary", sign_summary(KEYS[2], CONFIG, 1, 2, (0, 0, 0))),
    ]


@pytest.mark.parametrize(("reason", "message"), _bad_messages(), ids=lambda x: str(x)[:30])
def test_bad_message_is_rejected_and_changes_nothing(reason: str, message: object) -> None:
    s = _fresh_node()
    s, _ = step(s, Receive(message=sign_summary(KEYS[2], CONFIG, 1, 2, SUMMARIES[2])))
    with pytest.raises(RemoteProtocolError, match=reason.split()[0]):
        _t, _ = step(s, Receive(message=message))  # type: ignore[arg-type]
    # immutable: the caller keeps s; a fresh copy equals it field for field
    assert s == replace(s)


def test_replayed_vote_rejected_equivocation_becomes_evidence() -> None:
    s = _fresh_node()
    a = sign_vote(KEYS[0], CONFIG, PREVOTE, 1, 0, 0, hashlib.sha256(b"a").digest())
    b = sign_vote(KEYS[0], CONFIG, PREVOTE, 1, 0, 0, hashlib.sha256(b"b").digest())
    s, _ = step(s, Receive(message=a))
    with pytest.raises(BadMessage, match="replayed vote"):
        step(s, Receive(message=a))
    s2, out = step(s, Receive(message=b))
    reports = [o for o in out if isinstance(o, ReportEvidence)]
    assert len(reports) == 1 and reports[0].evidence.hub == 0
    reports[0].evidence.verify(CONFIG)
    assert s2.votes == s.votes  # the second vote is never counted
    with pytest.raises(BadMessage, match="equivocation already proved"):
        step(s2, Receive(message=b))


def test_invalid_evidence_rejected() -> None:
    a = sign_vote(KEYS[0], CONFIG, PREVOTE, 1, 0, 0, None)
    with pytest.raises(BadMessage, match="do not conflict"):
        EquivocationEvidence(first=a, second=a).verify(CONFIG)
    b = sign_vote(KEYS[0], CONFIG, PREVOTE, 1, 1, 0, bytes(32))
    with pytest.raises(BadMessage, match="different slots"):
        EquivocationEvidence(first=a, second=b).verify(CONFIG)
    forged = replace(sign_vote(KEYS[1], CONFIG, PREVOTE, 1, 0, 1, bytes(32)), hub=0)
    with pytest.raises(BadMessage, match="bad signature"):
        EquivocationEvidence(first=a, second=forged).verify(CONFIG)


def test_certificate_rejections() -> None:
    cert = decided_cluster().decisions[0][0].certificate
    cert.verify(CONFIG)
    with pytest.raises(BadMessage, match="below quorum"):
        replace(cert, precommits=cert.precommits[:3]).verify(CONFIG)
    with pytest.raises(BadMessage, match="duplicate signer"):
        replace(cert, precommits=(cert.precommits[0], *cert.precommits[:3])).verify(CONFIG)
    with pytest.raises(BadMessage, match="something else"):
        replace(cert, epoch=cert.epoch + 1).verify(CONFIG)
    bad = replace(cert.precommits[0], signature=bytes(64))
    with pytest.raises(BadMessage, match="bad signature"):
        replace(cert, precommits=(bad, *cert.precommits[1:])).verify(CONFIG)
    other, _ = make_config(SEEDS, threshold=Fraction(4, 5))
    with pytest.raises(BadMessage, match="another configuration"):
        cert.verify(other)


def test_invalid_value_is_prevoted_nil() -> None:
    s = _fresh_node(hub=2)
    summaries = tuple(sign_summary(KEYS[h], CONFIG, 1, h, SUMMARIES[h]) for h in range(4))
    value = Value.build(CONFIG, 1, summaries)
    bogus = replace(value, aggregate=tuple(a + 1 for a in value.aggregate))
    with pytest.raises(BadMessage, match="does not recompute"):
        bogus.check_valid(CONFIG, 1)
    proposer = CONFIG.proposer(1, 0)
    prop = sign_proposal(KEYS[proposer], CONFIG, 1, 0, proposer, bogus, -1)
    s, out = step(s, Receive(message=prop))
    votes = [o.message for o in out if isinstance(o, sdbc.Broadcast)]
    assert len(votes) == 1 and votes[0].value_hash is None and s.step is Step.PREVOTE


def test_timeouts_grow_with_the_round_and_stale_ones_change_nothing() -> None:
    s = _fresh_node()
    s1, _out = step(s, Timeout(epoch=1, round=0, step="propose"))
    assert s1.step is Step.PREVOTE
    stale, out2 = step(s1, Timeout(epoch=1, round=0, step="propose"))
    assert stale == s1 and out2 == ()
    d = [sdbc.TIMEOUT_BASE["propose"] + r * sdbc.TIMEOUT_DELTA["propose"] for r in range(3)]
    assert d == sorted(set(d))


def test_thresholds_rise_only_within_cap_and_lower_only_through_a_decision() -> None:
    s = _fresh_node()
    with pytest.raises(LocalProtocolError, match="stall"):
        step(s, RaiseThreshold(threshold=Fraction(1)))  # q = 5 > N - f_live = 4
    with pytest.raises(LocalProtocolError, match="fall"):
        step(s, RaiseThreshold(threshold=Fraction(3, 5)))  # q = 3 < 4
    t, _ = step(s, RaiseThreshold(threshold=Fraction(4, 5)))  # q = 4: allowed, unchanged
    assert t.quorum == 4
    # a decided configuration lowers the threshold at the next epoch
    c = Cluster(config=CONFIG, keys=KEYS, correct=tuple(range(5)))
    for h in range(5):
        c.nodes[h] = replace(c.nodes[h], proposed_threshold=Fraction(2, 3))
    c.run_epoch(1, SUMMARIES)
    assert c.nodes[0].next_threshold == Fraction(2, 3)
    assert c.nodes[0].quorum == 4
    c.start(2, SUMMARIES)
    assert c.nodes[0].config.threshold == Fraction(2, 3) and c.nodes[0].quorum == 4


def test_illegal_inputs() -> None:
    s = sdbc.initial_state(KEYS[1], 1, CONFIG)
    with pytest.raises(BadMessage, match="not running"):
        step(s, Receive(message=sign_vote(KEYS[2], CONFIG, PREVOTE, 0, 0, 2, None)))
    with pytest.raises(LocalProtocolError):
        step(s, Timeout(epoch=0, round=0, step="propose"))
    s, _ = step(s, Start(epoch=3, summary=(1, 2, 3)))
    with pytest.raises(LocalProtocolError, match="not after"):
        step(replace(s, step=Step.DECIDED), Start(epoch=3, summary=(1, 2, 3)))
    with pytest.raises(LocalProtocolError, match="member key"):
        sdbc.initial_state(KEYS[2], 1, CONFIG)


def test_wire_round_trip_and_malformed() -> None:
    c = decided_cluster()
    for m in c.sent[:40]:
        assert decode_message(encode_message(m)) == m
    from vigilnet.encoding import encode

    for junk in (
        b"",
        b"\xff",
        encode({"type": "prevote"}),
        encode({"type": "nonsense", "body": {}}),
        encode({"type": PRECOMMIT, "body": {"epoch": 1}}),
    ):
        with pytest.raises(RemoteProtocolError):
            decode_message(junk)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_decoder_never_crashes(data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        decode_message(data)


@pytest.mark.parametrize("state_step", list(Step), ids=lambda x: x.name)
@pytest.mark.parametrize("kind", ["start", "receive", "timeout", "raise"])
def test_every_step_input_pair_is_a_rule_or_a_clear_error(state_step: Step, kind: str) -> None:
    """As in h2: every (step, input) pair either runs its table entry or
    raises a LocalProtocolError / BadMessage, never anything else."""
    s = replace(_fresh_node(), step=state_step)
    event = {
        "start": Start(epoch=9, summary=(1, 2, 3)),
        "receive": Receive(message=sign_vote(KEYS[2], CONFIG, PREVOTE, 1, 0, 2, None)),
        "timeout": Timeout(epoch=1, round=0, step="propose"),
        "raise": RaiseThreshold(threshold=Fraction(3, 4)),
    }[kind]
    if (state_step, type(event)) in sdbc.TRANSITIONS:
        try:
            step(s, event)  # type: ignore[arg-type]
        except BadMessage as error:
            assert state_step is Step.DECIDED and "decided" in str(error)
    else:
        with pytest.raises((LocalProtocolError, BadMessage)):
            step(s, event)  # type: ignore[arg-type]
    assert isinstance(DecisionCertificate, type)


def test_protocol_code_is_pure() -> None:
    """Nothing under protocols/sdbc imports socket, asyncio, time, random or os."""
    import ast

    from tests.conftest import REPO_ROOT

    forbidden = {"socket", "asyncio", "time", "random", "os"}
    for path in sorted((REPO_ROOT / "src" / "vigilnet" / "protocols" / "sdbc").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"
