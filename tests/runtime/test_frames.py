"""Frames: round trips in any split, and every refusal with its reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigilnet.errors import LocalProtocolError, RemoteProtocolError
from vigilnet.runtime._frames import (
    FRAME_LIMITS,
    FrameDecoder,
    FrameError,
    FrameType,
    encode,
)


@given(
    st.lists(st.tuples(st.sampled_from(list(FrameType)), st.binary(max_size=16)), max_size=8),
    st.integers(min_value=1, max_value=7),
)
def test_round_trip_in_any_split(frames: list[tuple[FrameType, bytes]], chunk: int) -> None:
    wire = b"".join(encode(t, p) for t, p in frames)
    decoder = FrameDecoder()
    out = []
    for i in range(0, len(wire), chunk):
        out.extend(decoder.feed(wire[i : i + chunk]))
    assert [(f.type, f.payload) for f in out] == frames


def test_oversized_frame_is_refused_from_its_header() -> None:
    limit = FRAME_LIMITS[FrameType.SDBC]
    header = (limit + 1).to_bytes(4, "big") + bytes([FrameType.SDBC])
    with pytest.raises(FrameError) as info:
        list(FrameDecoder().feed(header))
    assert info.value.reason == "frame_too_large"
    assert isinstance(info.value, RemoteProtocolError)


def test_unknown_type_and_empty_frame() -> None:
    with pytest.raises(FrameError) as info:
        list(FrameDecoder().feed(b"\x00\x00\x00\x01\xee"))
    assert info.value.reason == "unknown_frame_type"
    with pytest.raises(FrameError) as info:
        list(FrameDecoder().feed(b"\x00\x00\x00\x00"))
    assert info.value.reason == "empty_frame"


def test_decoder_refuses_to_resume_after_an_error() -> None:
    decoder = FrameDecoder()
    with pytest.raises(FrameError):
        list(decoder.feed(b"\x00\x00\x00\x01\xee"))
    with pytest.raises(FrameError):
        list(decoder.feed(encode(FrameType.PING, b"")))


def test_encode_refuses_a_payload_over_the_limit() -> None:
    with pytest.raises(LocalProtocolError):
        encode(FrameType.PING, b"x" * FRAME_LIMITS[FrameType.PING])


@given(st.binary(max_size=64))
def test_garbage_either_decodes_or_raises_frame_error(data: bytes) -> None:
    try:
        frames = list(FrameDecoder().feed(data))
    except FrameError as error:
        assert error.reason in ("empty_frame", "unknown_frame_type", "frame_too_large")
    else:
        assert all(len(f.payload) + 1 <= FRAME_LIMITS[f.type] for f in frames)
