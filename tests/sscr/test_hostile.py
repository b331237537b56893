"""Hostile input through the whole receive path (issue 10, "Must show"):
mutated valid encodings of every SSCR message type, and random bytes, go
through :func:`decode_message` and :func:`arrival` into :func:`step`.  Only
:class:`~vigilnet.errors.RemoteProtocolError` subclasses may escape, and a
refused input leaves the node's state exactly as it was (compared by value
and by ``repr``, which shows every field)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sscr.wire_fixtures import LIMITS, A, messages, node_state
from vigilnet.errors import RemoteProtocolError
from vigilnet.protocols.sscr import MESSAGE_TYPES, arrival, decode_message, encode_message, step

STATE = node_state()
SNAPSHOT = repr(STATE)
VALID = {kind: encode_message(message) for kind, message in messages().items()}


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID[draw(st.sampled_from(MESSAGE_TYPES))])
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, max(0, len(data) - 1)))
        how = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "splice"]))
        if how == "flip" and data:
            data[where] ^= 1 << draw(st.integers(0, 7))
        elif how == "set" and data:
            data[where] = draw(st.integers(0, 255))
        elif how == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=8))
        elif how == "delete" and data:
            del data[where : where + draw(st.integers(1, 8))]
        elif how == "truncate":
            del data[where:]
        elif how == "splice":
            other = VALID[draw(st.sampled_from(MESSAGE_TYPES))]
            start = draw(st.integers(0, len(other)))
            data[where:] = other[start:]
    return bytes(data)


def receive(data: bytes, peer: str, at: int) -> None:
    try:
        message = decode_message(data, LIMITS)
        after, _ = step(A, STATE, arrival(message, peer=peer, at=at))
    except RemoteProtocolError:
        assert repr(STATE) == SNAPSHOT
        assert node_state() == STATE
        return
    assert after is not STATE or repr(after) == SNAPSHOT


PEERS = st.sampled_from(["b", "c", "a", "z"])
TIMES = st.integers(-5, 1 << 40)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), PEERS, TIMES)
def test_mutated_messages_are_refused_cleanly_or_accepted(data: bytes, peer: str, at: int) -> None:
    receive(data, peer, at)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512), PEERS, TIMES)
def test_random_bytes_are_refused_cleanly(data: bytes, peer: str, at: int) -> None:
    receive(data, peer, at)


def test_the_unmutated_messages_are_accepted() -> None:
    """The mutations start from messages the node takes (so the test above
    exercises the checks behind the decoder, not only the decoder)."""
    for data in VALID.values():
        step(A, STATE, arrival(decode_message(data, LIMITS), peer="b", at=5))
