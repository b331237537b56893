"""Length-prefixed frames with per-type size limits.

Theory of operation
-------------------
A frame on the wire is ``length (4 bytes, big-endian) || type (1 byte) ||
payload``, where ``length`` counts the type byte and the payload.  Each
frame type has its own size limit (:data:`FRAME_LIMITS`): a vote is small,
a catch-up batch may be larger, and nothing is larger than
:data:`MAX_FRAME_BYTES`.  The limit is checked on the 4-byte header, before
the payload is read, so a peer cannot make a node buffer more than the
largest limit.

Every field is hostile.  :class:`FrameDecoder` is fed raw bytes in any
split and yields whole frames; the first bad frame raises
:class:`FrameError`, whose :attr:`FrameError.reason` is a fixed word
(:data:`REASONS`) the transport logs and counts before it drops the peer.
The decoder never allocates more than one frame's declared length, and it
is never resumed after an error (the stream has lost its framing).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

from vigilnet.errors import LocalProtocolError, RemoteProtocolError

HEADER_BYTES = 4
MAX_FRAME_BYTES = 1 << 20


class FrameType(enum.IntEnum):
    """The frame types of the runtime's wire protocol."""

    HELLO = 1
    SDBC = 2
    CATCH_UP = 3
    PING = 4
    ATTEST_CHALLENGE = 5  # accepting side -> dialler: a fresh nonce (runtime/_admit.py)
    ATTEST_QUOTE = 6  # dialler -> accepting side: the quote over it


#: the largest ``type || payload`` each frame type may declare
FRAME_LIMITS: dict[FrameType, int] = {
    FrameType.HELLO: 1 + 256,
    FrameType.SDBC: 1 + 64 * 1024,
    FrameType.CATCH_UP: MAX_FRAME_BYTES,
    FrameType.PING: 1 + 16,
    FrameType.ATTEST_CHALLENGE: 1 + 64,
    FrameType.ATTEST_QUOTE: 1 + 4096,
}

#: the reasons a frame is refused (metric label values, log words)
REASONS = ("empty_frame", "unknown_frame_type", "frame_too_large")


class FrameError(RemoteProtocolError):
    """A peer sent a frame that breaks the framing rules."""

    def __init__(self, reason: str, detail: str) -> None:
        assert reason in REASONS
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Frame:
    type: FrameType
    payload: bytes


def encode(frame_type: FrameType, payload: bytes) -> bytes:
    """The wire form of one frame; a payload over its type's limit is our
    bug (:class:`~vigilnet.errors.LocalProtocolError`)."""
    length = 1 + len(payload)
    if length > FRAME_LIMITS[frame_type]:
        raise LocalProtocolError(
            f"{frame_type.name} payload of {len(payload)} bytes is over its limit"
        )
    return length.to_bytes(HEADER_BYTES, "big") + bytes([frame_type]) + payload


def check_header(length: int, type_byte: int) -> FrameType:
    """The frame type of a header, or :class:`FrameError`."""
    if length == 0:
        raise FrameError("empty_frame", "length 0")
    try:
        frame_type = FrameType(type_byte)
    except ValueError:
        raise FrameError("unknown_frame_type", f"type {type_byte}") from None
    if length > FRAME_LIMITS[frame_type]:
        raise FrameError(
            "frame_too_large",
            f"{frame_type.name} declares {length} bytes, limit {FRAME_LIMITS[frame_type]}",
        )
    return frame_type


class FrameDecoder:
    """Incremental decoder: :meth:`feed` bytes, get whole frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._failed = False

    def feed(self, data: bytes) -> Iterator[Frame]:
        if self._failed:
            raise FrameError("empty_frame", "decoder used after a framing error")
        self._buffer += data
        while len(self._buffer) >= HEADER_BYTES + 1:
            length = int.from_bytes(self._buffer[:HEADER_BYTES], "big")
            try:
                frame_type = check_header(length, self._buffer[HEADER_BYTES])
            except FrameError:
                self._failed = True
                raise
            end = HEADER_BYTES + length
            if len(self._buffer) < end:
                return
            payload = bytes(self._buffer[HEADER_BYTES + 1 : end])
            del self._buffer[:end]
            yield Frame(frame_type, payload)
        if len(self._buffer) == HEADER_BYTES and int.from_bytes(self._buffer, "big") == 0:
            self._failed = True
            raise FrameError("empty_frame", "length 0")
