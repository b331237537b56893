"""Issue 10, item 11 for SDBC: per-message-type limits on the wire.

Every message an honest cluster sends decodes under its configuration's
limits; a vote padded past a vote's size, a container nested past an SDBC
message's depth, or more items than ``max(N, width)`` is refused before any
message object is built, while the general decoder (no configuration) would
have admitted the padded vote."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilnet.encoding import MalformedEncoding, decode, encode
from vigilnet.errors import RemoteProtocolError
from vigilnet.protocols.sdbc import (
    BadMessage,
    Cluster,
    decode_message,
    encode_message,
    make_config,
    wire_limits,
)


def _cluster(width: int) -> Cluster:
    config, keys = make_config(
        [hashlib.sha256(b"wire hub %d" % h).digest() for h in range(5)],
        summary_ranges=((-(1 << 40), 1 << 40),) * width,
    )
    cluster = Cluster(config=config, keys=keys, correct=tuple(range(5)))
    cluster.run_epoch(1, {h: tuple(h * 1000 + k for k in range(width)) for h in range(5)})
    return cluster


@pytest.mark.parametrize("width", [1, 7])
def test_every_honest_message_decodes_within_its_type_limit(width: int) -> None:
    cluster = _cluster(width)
    limits = wire_limits(cluster.config)
    kinds = set()
    for message in cluster.sent:
        data = encode_message(message)
        kind = decode(data)["type"]  # type: ignore[index]
        assert isinstance(kind, str)
        kinds.add(kind)
        assert len(data) <= limits[kind], (kind, len(data), limits[kind])
        assert decode_message(data, cluster.config) == message
    assert kinds == {"summary", "proposal", "prevote", "precommit"}


def test_limits_grow_with_width_and_members_only_where_they_should() -> None:
    narrow, wide = wire_limits(_cluster(1).config), wire_limits(_cluster(7).config)
    assert narrow["prevote"] == wide["prevote"] < 250
    assert narrow["summary"] < wide["summary"] < narrow["proposal"] < wide["proposal"]


def _padded_vote(cluster: Cluster, extra: int) -> bytes:
    vote = next(m for m in cluster.sent if getattr(m, "kind", None) == "prevote")
    top = decode(encode_message(vote))
    assert isinstance(top, dict) and isinstance(top["body"], dict)
    body = dict(top["body"])
    body["config_hash"] = bytes(32 + extra)  # a field a peer controls
    return encode({"type": "prevote", "body": body})


def test_a_vote_beyond_a_votes_size_is_refused_by_size() -> None:
    cluster = _cluster(3)
    limits = wire_limits(cluster.config)
    data = _padded_vote(cluster, limits["proposal"] - 400)
    assert limits["prevote"] < len(data) <= limits["proposal"]
    decode_message(data)  # the general limits admit it: it is the type limit that refuses
    with pytest.raises(BadMessage) as caught:
        decode_message(data, cluster.config)
    assert caught.value.reason == "message too large"


def test_beyond_the_largest_type_is_refused_before_building_anything() -> None:
    cluster = _cluster(3)
    data = _padded_vote(cluster, max(wire_limits(cluster.config).values()))
    with pytest.raises(MalformedEncoding) as caught:
        decode_message(data, cluster.config)
    assert caught.value.reason == "too large"


def test_depth_and_item_limits_of_an_sdbc_message() -> None:
    cluster = _cluster(3)
    deep = encode({"type": "prevote", "body": {"x": [[[[[0]]]]]}})
    with pytest.raises(MalformedEncoding) as caught:
        decode_message(deep, cluster.config)
    assert caught.value.reason == "too deep"
    wide = encode({"type": "prevote", "body": {"x": [0] * 9}})
    with pytest.raises(MalformedEncoding) as caught:
        decode_message(wide, cluster.config)
    assert caught.value.reason == "too many items"
    for data in (deep, wide):  # without a configuration: the body is refused, later
        with pytest.raises(RemoteProtocolError):
            decode_message(data)


_WORLD = _cluster(3)
_HONEST = [encode_message(m) for m in _WORLD.sent]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(_HONEST),
    st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=4),
    st.binary(max_size=64),
)
def test_hostile_bytes_under_the_limits_raise_only_remote_protocol_errors(
    honest: bytes, flips: list[tuple[int, int]], tail: bytes
) -> None:
    """Mutated honest messages, with bytes changed and appended, decode to a
    message or raise a RemoteProtocolError, never anything else; whatever
    decodes is within its type's limit."""
    config = _WORLD.config
    data = bytearray(honest)
    for where, new in flips:
        data[where % len(data)] = new
    data += tail
    try:
        message = decode_message(bytes(data), config)
    except RemoteProtocolError:
        return
    assert encode_message(message) == bytes(data)
