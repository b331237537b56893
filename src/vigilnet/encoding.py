"""Canonical CBOR and domain-separated sign bytes.

Theory of operation
===================

Every message vigilnet signs, hashes or sends is encoded as deterministic
CBOR (RFC 8949 section 4.2.1, "core deterministic encoding") restricted to a
small data model, so that every implementation, in any language, produces
the same bytes for the same message and accepts exactly the same bytes.

The data model (what :func:`encode` accepts and :func:`decode` returns):

=================  ==============================  ===========================
CBOR               Python on encode                Python on decode
=================  ==============================  ===========================
unsigned/negative  ``int`` in ``[-2**64, 2**64)``  ``int``
byte string        ``bytes``                       ``bytes``
text string        ``str`` (valid UTF-8)           ``str``
array              ``tuple`` or ``list``           ``tuple``
map                ``dict`` with ``str`` keys      ``dict``
simple             ``False``, ``True``, ``None``   the same
=================  ==============================  ===========================

Anything else (floats, tags, sets, bignums, undefined, other simple values)
is refused on both sides.  Map keys are text strings only; with one key type,
RFC 8949's bytewise order of encoded keys and the older length-first order
coincide, so there is no ambiguity about which order is canonical.

Decoding rules
--------------

:func:`decode` takes untrusted bytes.  Before anything is built, one bounded,
iterative pass over the bytes (:func:`_scan`) checks that they are
well-formed and canonical, and raises :class:`MalformedEncoding` (a
:class:`~vigilnet.errors.RemoteProtocolError`) naming the first rule broken:

1. ``truncated``: the input ends inside an item;
2. ``trailing bytes``: bytes remain after the top-level item;
3. ``non-canonical integer`` / ``non-canonical length``: an argument not in
   its shortest form (RFC 8949 section 4.2.1, "preferred serialization");
4. ``indefinite length``: additional information 31;
5. ``reserved additional information``: 28, 29, 30;
6. ``float``: major type 7 with a half, single or double float;
7. ``tag``: major type 6 (vigilnet uses no tags);
8. ``simple value``: any simple value but false, true, null;
9. ``invalid UTF-8`` in a text string;
10. ``map key not a text string``; ``duplicate map key``; ``map keys not in
    canonical order``;
11. ``too deep`` (nesting beyond ``max_depth``), ``too large`` (input beyond
    ``max_size``), ``too many items`` (a container beyond ``max_items``).

Only then is the value built (by cbor2), and as a last guard it is
re-encoded and compared with the input, so what we accept is exactly what we
would produce.  No input makes :func:`decode` recurse without bound, allocate
more than the input's size, or loop.

Sign bytes
----------

A signature is never over a bare encoding.  It is over

    sign_bytes = tag || canonical_cbor(fields)

where ``tag`` is the ASCII string ``vigilnet/<protocol>/<message>/v<version>``
followed by one zero byte.  Names use ``[a-z0-9-]`` only, so the zero byte
ends every tag and no tag is a prefix of another: two message types can never
share sign bytes.  Every tag is registered once, with the exact set of field
names its messages carry (:func:`register_tag`); the registry refuses a second
registration of the same (protocol, message, version).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias

import cbor2

from vigilnet.errors import LocalProtocolError, RemoteProtocolError, ensure

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_ITEMS",
    "DEFAULT_MAX_SIZE",
    "TAGS",
    "CborValue",
    "MalformedEncoding",
    "MessageTag",
    "decode",
    "encode",
    "register_tag",
    "sign_bytes",
]

CborValue: TypeAlias = "int | bytes | str | bool | tuple[CborValue, ...] | list[CborValue] | dict[str, CborValue] | None"

DEFAULT_MAX_SIZE: Final = 1 << 20
DEFAULT_MAX_DEPTH: Final = 16
DEFAULT_MAX_ITEMS: Final = 1 << 16

_UINT64_LIMIT: Final = 1 << 64


class MalformedEncoding(RemoteProtocolError):
    """Bytes that are not canonical vigilnet CBOR.  ``reason`` is the short
    name of the rule broken (see the module docstring); ``offset`` is where."""

    def __init__(self, reason: str, offset: int, detail: str = "") -> None:
        self.reason = reason
        self.offset = offset
        text = f"{reason} at byte {offset}"
        super().__init__(f"{text}: {detail}" if detail else text)


# --------------------------------------------------------------------------
# Encoding


def _check_value(value: object, depth: int) -> None:
    ensure(depth <= DEFAULT_MAX_DEPTH, "value nested too deeply to encode", LocalProtocolError)
    if value is None or isinstance(value, (bool, bytes, str)):
        return
    if isinstance(value, int):
        ensure(
            -_UINT64_LIMIT <= value < _UINT64_LIMIT,
            f"integer {value} outside the CBOR range [-2**64, 2**64)",
            LocalProtocolError,
        )
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_value(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            ensure(isinstance(key, str), f"map key {key!r} is not a str", LocalProtocolError)
            _check_value(item, depth + 1)
        return
    raise LocalProtocolError(
        f"cannot encode {type(value).__name__} (floats, sets and tags are not part of the encoding)"
    )


def encode(value: CborValue) -> bytes:
    """The canonical encoding of ``value``.  Raises LocalProtocolError for a
    value outside the data model (a bug in the caller)."""
    _check_value(value, 0)
    return bytes(cbor2.dumps(value, canonical=True))


# --------------------------------------------------------------------------
# Decoding: the strict scanner


def _read_argument(data: bytes, offset: int, info: int) -> tuple[int, int]:
    """Read the argument of a head whose additional information is ``info``
    (< 28); return (argument, offset after it).  Enforces shortest form."""
    if info < 24:
        return info, offset
    width = 1 << (info - 24)
    end = offset + width
    if end > len(data):
        raise MalformedEncoding("truncated", offset, "argument runs past the end")
    argument = int.from_bytes(data[offset:end], "big")
    smallest = 24 if width == 1 else 1 << (8 * width // 2)
    if argument < smallest:
        raise MalformedEncoding(
            "non-canonical integer", offset - 1, f"{argument} encoded in {width} bytes"
        )
    return argument, end


class _Frame:
    """An open array or map: how many items it still expects and, for a map,
    the encoding of the last key seen."""

    __slots__ = ("is_map", "position", "previous_key", "remaining")

    def __init__(self, remaining: int, is_map: bool) -> None:
        self.remaining = remaining
        self.is_map = is_map
        self.position = 0
        self.previous_key: bytes | None = None


def _scan(data: bytes, max_depth: int, max_items: int) -> None:
    """Check that ``data`` is one well-formed, canonical item, building
    nothing.  Iterative, so nesting costs a bounded stack, not recursion."""
    offset = 0
    stack: list[_Frame] = []
    while True:
        if offset >= len(data):
            raise MalformedEncoding("truncated", offset, "input ends inside an item")
        start = offset
        major, info = data[offset] >> 5, data[offset] & 0x1F
        offset += 1
        frame = stack[-1] if stack else None
        is_key = frame is not None and frame.is_map and frame.position % 2 == 0
        if info == 31:
            raise MalformedEncoding("indefinite length", start)
        if info in (28, 29, 30):
            raise MalformedEncoding("reserved additional information", start)
        if is_key and major != 3:
            raise MalformedEncoding("map key not a text string", start)
        if major == 6:
            raise MalformedEncoding("tag", start, "vigilnet uses no CBOR tags")
        if major == 7:
            if info in (25, 26, 27):
                raise MalformedEncoding("float", start)
            if info not in (20, 21, 22):
                raise MalformedEncoding(
                    "simple value", start, f"simple value {info} is not false/true/null"
                )
            argument = 0
        else:
            try:
                argument, offset = _read_argument(data, offset, info)
            except MalformedEncoding as exc:
                if major >= 2 and exc.reason == "non-canonical integer":
                    raise MalformedEncoding("non-canonical length", start, str(exc)) from None
                raise
        if major in (2, 3):
            end = offset + argument
            if end > len(data):
                raise MalformedEncoding(
                    "truncated", start, f"string of {argument} bytes runs past the end"
                )
            if major == 3:
                try:
                    data[offset:end].decode("utf-8")
                except UnicodeDecodeError:
                    raise MalformedEncoding("invalid UTF-8", start) from None
            offset = end
        if is_key and frame is not None:
            key = data[start:offset]
            if frame.previous_key is not None:
                if key == frame.previous_key:
                    raise MalformedEncoding("duplicate map key", start)
                if key < frame.previous_key:
                    raise MalformedEncoding("map keys not in canonical order", start)
            frame.previous_key = key
        if major in (4, 5):
            if argument > max_items:
                raise MalformedEncoding("too many items", start, f"{argument} > {max_items}")
            if len(stack) >= max_depth:
                raise MalformedEncoding("too deep", start, f"nesting beyond {max_depth}")
            if argument:
                stack.append(_Frame(argument * 2 if major == 5 else argument, major == 5))
                continue
        # One item is complete: count it against the open containers, closing
        # every container it completes.
        while stack:
            top = stack[-1]
            top.position += 1
            top.remaining -= 1
            if top.remaining:
                break
            stack.pop()
        if not stack:
            break
    if offset != len(data):
        raise MalformedEncoding(
            "trailing bytes", offset, f"{len(data) - offset} bytes after the item"
        )


def _freeze(value: object) -> CborValue:
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    if isinstance(value, dict):
        return {key: _freeze(item) for key, item in value.items()}
    return value  # type: ignore[return-value]


def decode(
    data: bytes,
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> CborValue:
    """Decode untrusted canonical CBOR.

    Raises :class:`MalformedEncoding` (a RemoteProtocolError) naming the first
    rule broken; see the module docstring.  Arrays come back as tuples.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise MalformedEncoding("not bytes", 0, f"got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_size:
        raise MalformedEncoding("too large", 0, f"{len(data)} bytes > {max_size}")
    _scan(data, max_depth, max_items)
    try:
        value = cbor2.loads(data)
    except (
        cbor2.CBORDecodeError,
        ValueError,
        RecursionError,
    ) as exc:  # pragma: no cover - scan admits only what cbor2 reads
        raise MalformedEncoding("undecodable", 0, str(exc)) from exc
    frozen = _freeze(value)
    if encode(frozen) != data:  # pragma: no cover - the scan enforces every rule re-encoding would
        raise MalformedEncoding("non-canonical", 0, "re-encoding differs from the input")
    return frozen


# --------------------------------------------------------------------------
# Tags and sign bytes

_NAME = re.compile(r"[a-z0-9][a-z0-9-]*\Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageTag:
    """The domain of one signed message type: protocol, message and version,
    and the exact field names its sign bytes carry."""

    protocol: str
    message: str
    version: int
    fields: frozenset[str]

    def __post_init__(self) -> None:
        for name in (self.protocol, self.message):
            ensure(
                _NAME.match(name) is not None,
                f"tag name {name!r} must match [a-z0-9-]+",
                LocalProtocolError,
            )
        ensure(
            isinstance(self.version, int) and self.version >= 1,
            "tag version must be >= 1",
            LocalProtocolError,
        )
        for field in self.fields:
            ensure(
                isinstance(field, str) and field != "",
                "field names must be non-empty str",
                LocalProtocolError,
            )

    @property
    def prefix(self) -> bytes:
        """``vigilnet/<protocol>/<message>/v<version>`` and a zero byte."""
        return f"vigilnet/{self.protocol}/{self.message}/v{self.version}".encode("ascii") + b"\x00"


#: Every registered tag, by its prefix bytes.
TAGS: dict[bytes, MessageTag] = {}


def register_tag(
    protocol: str, message: str, version: int, fields: frozenset[str] | set[str]
) -> MessageTag:
    """Register a message type once and return its tag."""
    tag = MessageTag(protocol=protocol, message=message, version=version, fields=frozenset(fields))
    ensure(
        tag.prefix not in TAGS,
        f"tag {tag.prefix[:-1].decode()} is already registered",
        LocalProtocolError,
    )
    TAGS[tag.prefix] = tag
    return tag


def sign_bytes(tag: MessageTag, fields: Mapping[str, CborValue]) -> bytes:
    """``tag || canonical_cbor(fields)``: the only bytes vigilnet signs.

    ``fields`` must carry exactly the tag's field names.
    """
    ensure(
        TAGS.get(tag.prefix) == tag,
        f"tag {tag.prefix[:-1].decode()} is not registered",
        LocalProtocolError,
    )
    missing = tag.fields - fields.keys()
    extra = fields.keys() - tag.fields
    ensure(
        not missing and not extra,
        f"fields for {tag.prefix[:-1].decode()}: missing {sorted(missing)}, unexpected {sorted(extra)}",
        LocalProtocolError,
    )
    return tag.prefix + encode(dict(fields))
