"""Hostile messages through the decoder into ``step()`` (issue 10, "Must show").

A hub in the middle of epoch 1 receives sequences of wire inputs built from
valid encodings of every message type: unchanged, with a bit flipped,
truncated, with one field anywhere in the CBOR tree replaced by a hostile
value (huge, negative, boolean, wrong type, wrong width, a threshold of 1 or
51/100, ...) and then re-signed with a Byzantine hub's key, so the
signature check passes and the hostile field reaches the protocol logic; or
random bytes.  Between them the hub's timers fire, so later inputs meet
later steps and rounds.

Asserted for every input: the only exceptions that leave ``decode_message``
or ``step`` are RemoteProtocolError subclasses, and an input ``step``
refuses leaves the state exactly as it was (every field, and the per-round
tally, compared against a snapshot taken before).
"""

from __future__ import annotations

import hashlib
from dataclasses import fields, replace
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigilnet.encoding import decode, encode, sign_bytes
from vigilnet.errors import LocalProtocolError, RemoteProtocolError
from vigilnet.protocols import sdbc
from vigilnet.protocols.sdbc import (
    PRECOMMIT,
    PREVOTE,
    PROPOSAL_TAG,
    SUMMARY_TAG,
    VOTE_TAGS,
    EpochSummary,
    Message,
    NodeState,
    Proposal,
    Receive,
    Start,
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

SEEDS = [hashlib.sha256(b"vigilnet sdbc hostile hub %d" % i).digest() for i in range(5)]
CONFIG, KEYS = make_config(SEEDS)
SUMMARIES = {h: (10 + h, 3 * h, -h) for h in range(5)}
BYZANTINE = (0, 3)  # their keys re-sign what the attacker changed
#: the hub under attack: round 0's proposer, holding three summaries, so the
#: fourth it admits makes it build and propose a value
ME = CONFIG.proposer(1, 0)
HONEST = tuple(h for h in range(5) if h not in (*BYZANTINE, ME))


def _start() -> NodeState:
    s = sdbc.initial_state(KEYS[ME], ME, CONFIG)
    s, _ = step(s, Start(epoch=1, summary=SUMMARIES[ME]))
    for h in HONEST:
        s, _ = step(s, Receive(message=sign_summary(KEYS[h], CONFIG, 1, h, SUMMARIES[h])))
    return s


START = _start()


def _pool() -> dict[str, list[bytes]]:
    """Valid encodings of epoch 1, by message type."""
    summaries = {h: sign_summary(KEYS[h], CONFIG, 1, h, SUMMARIES[h]) for h in range(5)}
    value = Value.build(CONFIG, 1, tuple(summaries[h] for h in range(4)))
    other = Value.build(CONFIG, 1, tuple(summaries[h] for h in range(1, 5)))
    pool: dict[str, list[Message]] = {"summary": [], "proposal": [], "vote": []}
    pool["summary"] = [summaries[h] for h in BYZANTINE]
    pool["summary"].append(sign_summary(KEYS[0], CONFIG, 1, 0, SUMMARIES[0], Fraction(2, 3)))
    for r in range(5):
        p = CONFIG.proposer(1, r)
        if p in BYZANTINE:
            pool["proposal"] += [
                sign_proposal(KEYS[p], CONFIG, 1, r, p, v, vr)
                for v in (value, other)
                for vr in range(-1, r)
            ]
        for h in (*BYZANTINE, *HONEST):
            for kind in (PREVOTE, PRECOMMIT):
                for vh in (value.value_hash, other.value_hash, None):
                    pool["vote"].append(sign_vote(KEYS[h], CONFIG, kind, 1, r, h, vh))
    return {k: [encode_message(m) for m in ms] for k, ms in pool.items()}


POOL = _pool()
ALL = [data for kind in ("summary", "proposal", "vote") for data in POOL[kind]]

HOSTILE: list[Any] = [
    -1,
    0,
    1,
    2**31,
    2**63,
    2**64 - 1,
    -(2**64),
    10**30,
    True,
    None,
    b"",
    bytes(32),
    b"\x00" * 64,
    "prevote",
    "x",
    (),
    (1,),
    (1, 1),
    (51, 100),
    (2, 3),
    (2, 4),
    (1, 0),
    (3, 2),
    (0, 1),
    (-1, 2),
    (1, 2, 3),
    (1, 2, 3, 4, 5),
    tuple(range(300)),
    {},
    {"epoch": 1},
]


def _paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(tree, dict):
        for k in sorted(tree, key=repr):
            out += _paths(tree[k], (*prefix, k))
    elif isinstance(tree, tuple | list):
        for i, x in enumerate(tree):
            out += _paths(x, (*prefix, i))
    return out


def _substitute(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(tree, dict):
        return {**tree, head: _substitute(tree[head], rest, value)}
    items = list(tree)
    items[head] = _substitute(items[head], rest, value)
    return tuple(items)


def _resign_summary(s: EpochSummary) -> EpochSummary:
    if s.hub not in BYZANTINE:
        return s
    return replace(s, signature=KEYS[s.hub].sign(sign_bytes(SUMMARY_TAG, s.fields())))


def _resign(m: Message) -> Message:
    """Re-sign what a Byzantine hub names as its own (the attacker holds
    those keys); honest hubs' messages keep their now-broken signatures."""
    if isinstance(m, EpochSummary):
        return _resign_summary(m)
    if isinstance(m, Proposal):
        v = m.value
        v = replace(v, summaries=tuple(_resign_summary(s) for s in v.summaries))
        m = replace(m, value=v)
        if m.hub in BYZANTINE:
            m = replace(m, signature=KEYS[m.hub].sign(sign_bytes(PROPOSAL_TAG, m.fields())))
        return m
    if m.hub in BYZANTINE:
        m = replace(m, signature=KEYS[m.hub].sign(sign_bytes(VOTE_TAGS[m.kind], m.fields())))
    return m


@st.composite
def hostile_input(draw: st.DrawFn) -> bytes | str:
    """Wire bytes, or the name of a timer to fire (``"timer"``)."""
    kind = draw(st.sampled_from(["valid", "flip", "truncate", "substitute", "random", "timer"]))
    if kind == "random":
        return draw(st.binary(max_size=400))
    if kind == "timer":
        return "timer"
    data = draw(st.sampled_from(POOL[draw(st.sampled_from(sorted(POOL)))]))
    if kind == "flip":
        i = draw(st.integers(0, len(data) * 8 - 1))
        return data[: i // 8] + bytes([data[i // 8] ^ (1 << (i % 8))]) + data[i // 8 + 1 :]
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data) - 1))]
    if kind == "substitute":
        tree = decode(data)
        path = draw(st.sampled_from(_paths(tree)[1:]))
        changed = _substitute(tree, path, draw(st.sampled_from(HOSTILE)))
        try:
            data = encode(changed)
        except LocalProtocolError:
            return data  # not encodable: nothing a peer could send
        try:
            message = decode_message(data)
        except RemoteProtocolError:
            return data  # the decoder's refusal is exercised as it is
        return encode_message(_resign(message))
    return data


def _snapshot(s: NodeState) -> tuple[Any, ...]:
    """Every field's value, the tally's maps copied out (a refusal that
    mutated one in place would show)."""
    plain = tuple(getattr(s, f.name) for f in fields(s) if f.name != "tally")
    tally = {
        r: (
            dict(rt.signers),
            dict(rt.voters),
            rt.senders,
            dict(rt.by_slot),
            rt.proven,
            rt.proposals,
        )
        for r, rt in s.tally.rounds.items()
    }
    return plain, tally


def _fire_a_timer(s: NodeState) -> NodeState:
    for kind in ("propose", "prevote", "precommit"):
        t, _ = step(s, Timeout(epoch=s.epoch, round=s.round, step=kind))
        if t != s:
            return t
    return s


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(hostile_input(), min_size=1, max_size=12))
def test_only_remote_errors_escape_and_refusals_change_nothing(
    inputs: list[bytes | str],
) -> None:
    s = START
    for data in inputs:
        if isinstance(data, str):
            s = _fire_a_timer(s)
            continue
        try:
            message = decode_message(data)
        except RemoteProtocolError:
            continue
        before = _snapshot(s)
        try:
            s, _ = step(s, Receive(message=message))
        except RemoteProtocolError:
            assert _snapshot(s) == before
        # anything else propagates and fails the test


def test_the_pool_reaches_the_protocol() -> None:
    """Not vacuous: unchanged pool messages are admitted (the hub's state
    moves as far as a decision), and a re-signed substitution reaches a check past the
    signature (a refusal whose reason is not a signature or decoding one)."""
    s = START
    admitted = 0
    for data in ALL:
        try:
            s, _ = step(s, Receive(message=decode_message(data)))
            admitted += 1
        except RemoteProtocolError:
            pass
    # summaries, a proposal and votes, up to a decision
    # (after which the rest is refused: "epoch already decided")
    assert admitted >= 10
    assert s.proposals and s.votes
    assert s.decision is not None
    summary = decode(POOL["summary"][0])
    assert isinstance(summary, dict)
    wide = _substitute(summary, ("body", "values"), (1, 2, 3, 4, 5))
    message = _resign(decode_message(encode(wide)))
    try:
        step(START, Receive(message=message))
    except RemoteProtocolError as error:
        assert "summary width" in str(error)
    else:
        raise AssertionError("a wider summary was admitted")
