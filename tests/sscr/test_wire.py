"""The SSCR wire codec (issue 10, item 11): every message type round-trips
through one canonical encoding; decoding refuses, with a reason, anything
else, including what exceeds the per-type limits taken from the
configuration."""

from __future__ import annotations

import pytest

from tests.sscr.keys import signed
from tests.sscr.wire_fixtures import LIMITS, A, messages, node_state
from vigilnet.encoding import MalformedEncoding, decode, encode
from vigilnet.errors import RemoteProtocolError
from vigilnet.protocols.sscr import (
    MESSAGE_TYPES,
    BadMessage,
    EvidenceState,
    HeartbeatArrived,
    SyncResponse,
    WireLimits,
    arrival,
    decode_message,
    encode_message,
    step,
)


@pytest.mark.parametrize("kind", MESSAGE_TYPES)
def test_every_message_type_round_trips(kind: str) -> None:
    message = messages()[kind]
    data = encode_message(message)
    assert decode(data) == {"type": kind, "body": decode(data)["body"]}  # type: ignore[index]
    assert decode_message(data, LIMITS) == message
    assert encode_message(decode_message(data, LIMITS)) == data
    assert len(data) <= LIMITS.max_bytes(kind)


@pytest.mark.parametrize("kind", MESSAGE_TYPES)
def test_every_message_type_steps_at_the_receiver(kind: str) -> None:
    """A valid message from ``b``, decoded, is an event ``a`` accepts."""
    message = decode_message(encode_message(messages()[kind]), LIMITS)
    step(A, node_state(), arrival(message, peer="b", at=5))


def _body(kind: str) -> dict[str, object]:
    top = decode(encode_message(messages()[kind]))
    assert isinstance(top, dict)
    body = top["body"]
    assert isinstance(body, dict)
    return dict(body)


def _refused(kind: str, body: dict[str, object], reason: str) -> None:
    data = encode({"type": kind, "body": body})  # type: ignore[dict-item]
    with pytest.raises((BadMessage, MalformedEncoding)) as caught:
        decode_message(data, LIMITS)
    assert caught.value.reason == reason, caught.value


def test_fields_types_and_ranges_are_checked() -> None:
    report = _body("report")
    _refused("report", {**report, "extra": 1}, "report fields")
    _refused("report", {**report, "sequence": 0}, "integer out of range")
    _refused("report", {**report, "count": True}, "integer out of range")
    _refused("report", {**report, "count": LIMITS.max_count + 1}, "integer out of range")
    _refused("report", {**report, "signature": b"\0" * 63}, "bad signature field")
    _refused("report", {**report, "agent": ""}, "bad name")
    _refused("report", {**report, "agent": "x" * 257}, "bad name")
    _refused("heartbeat", {"sender": 7}, "bad name")
    _refused("nonsense", {"sender": "b"}, "unknown message type")
    conviction = _body("conviction")
    _refused(
        "conviction",
        {**conviction, "lower": conviction["higher"], "higher": conviction["lower"]},
        "conviction entries not in order",
    )
    request = _body("sync_request")
    _refused("sync_request", {**request, "request_time": 1 << 63}, "integer out of range")
    _refused(
        "sync_request",
        {**request, "digest": ((1, 2),)},
        "digest key not [agent, source, sequence, count, llr_sum]",
    )


def test_lists_must_be_canonical_and_within_the_limits() -> None:
    response = _body("sync_response")
    entries = response["entries"]
    assert isinstance(entries, tuple) and len(entries) == 3
    _refused(
        "sync_response",
        {**response, "entries": tuple(reversed(entries))},
        "entries not in canonical order",
    )
    _refused(
        "sync_response",
        {**response, "entries": (entries[0], entries[0])},
        "entries not in canonical order",
    )
    # max_agents 8 x 3 sources: 25 entries is one too many for this deployment
    many = tuple(
        (f"agent-{i:02}", "mb", 1, 1, 0, b"\0" * 64) for i in range(LIMITS.max_entries + 1)
    )
    # (the shared decoder's container limit is set from the same bound)
    _refused("sync_response", {**response, "entries": many}, "too many items")
    conviction = _body("conviction")
    _refused(
        "sync_response", {**response, "convictions": (conviction,) * 4}, "too many convictions"
    )
    request = _body("sync_request")
    keys = tuple((f"agent-{i:02}", "mb", 1, 1, 0) for i in range(LIMITS.max_entries + 1))
    _refused("sync_request", {**request, "digest": keys}, "too many items")


def test_each_type_has_its_own_byte_limit() -> None:
    """A heartbeat padded past a heartbeat's size is refused, though a sync
    response of that size would be fine."""
    padded = encode({"type": "heartbeat", "body": {"sender": "b" * 256}})
    assert decode_message(padded, LIMITS) is not None
    tight = WireLimits(max_entries=0, max_convictions=0, max_count=LIMITS.max_count)
    big = encode_message(messages()["sync_response"])
    with pytest.raises(RemoteProtocolError):
        decode_message(big, tight)
    assert LIMITS.max_bytes("heartbeat") < LIMITS.max_bytes("sync_response")


def test_non_canonical_cbor_is_refused_by_the_shared_decoder() -> None:
    data = encode_message(messages()["heartbeat"])
    with pytest.raises(MalformedEncoding):
        decode_message(data + b"\0", LIMITS)
    with pytest.raises(MalformedEncoding):
        decode_message(b"\xbf" + data[1:], LIMITS)  # indefinite-length map


def test_a_message_must_come_from_the_sender_it_names() -> None:
    with pytest.raises(BadMessage):
        arrival(messages()["heartbeat"], peer="c", at=1)
    assert arrival(messages()["heartbeat"], peer="b", at=1) == HeartbeatArrived(peer="b", at=1)


def test_decoded_entries_are_checked_by_the_node() -> None:
    """The codec checks form; the node checks the source's signature: a
    well-formed answer carrying another agent's signature is refused."""
    entry = signed(A, "x", "mb", 1, 1, 0)
    forged = SyncResponse(sender="b", request_time=-1, delta=EvidenceState.of({("y", "mb"): entry}))
    message = decode_message(encode_message(forged), LIMITS)
    with pytest.raises(RemoteProtocolError):
        step(A, node_state(), arrival(message, peer="b", at=5))
