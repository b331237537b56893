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
:class:`~vigilnet.errors.RemoteProtocolError`) naming the rule broken at the
first item that breaks one.  The list names the rules; it is not the order
of the checks.  Within one item's head they run: ``too many items``,
``indefinite length`` / ``reserved additional information``, ``map key not
a text string``, ``float``, ``simple value``, ``tag``, ``truncated``
argument, ``non-canonical integer`` / ``length``; then the item's contents
(length against ``max_size``, UTF-8, key order, nesting depth):

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

The value is built in the same single pass that checks the rules (our own
iterative decoder; cbor2 only encodes).  Because every rule above is the
canonical form, an accepted input is exactly the bytes :func:`encode` would
produce for the value (a property test checks ``encode(decode(b)) == b``).

Cost
----

Time is linear in ``len(data)``: each byte is read once (a run of
canonical integers inside an array, a bounded number of times: one regular
expression matches it, then numpy splits it into items in ``log2`` of the
run's items rounds of indexing, at most ``_INT_CHUNK`` items a chunk),
map-key order is checked against the previous key only, and no input makes
:func:`decode` recurse (nesting costs one saved frame per level, at most
``max_depth``).  The integer runs only speed up what the item-by-item path
would build: whatever ends a run (another kind of item, a non-canonical
integer, truncation, the item budget) is left to that path, so every
refusal, its reason and its offset are the same (a differential test
checks it).
Memory is the result plus those frames.  The result can be larger than the
input because a one-byte item becomes a Python object: measured with
tracemalloc on the worst shapes the default limits admit (``bench/encoding``,
about 1 MiB each), peak allocation is at most about 100 times the input size
(one-key maps, the worst, 72 to 91 times; empty arrays and small integers
8.5 times); an integer run's temporary arrays add a constant (a few
hundred KiB, one chunk's; 60,000-integer arrays measured 5 to 28 times
their size).  ``max_total_items`` caps the number of objects whatever the
shape; a regression test pins the bound at 100 times the input plus a
constant.

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
import numpy as np
import numpy.typing as npt

from vigilnet.errors import LocalProtocolError, RemoteProtocolError, ensure

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_ITEMS",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_MAX_TOTAL_ITEMS",
    "TAGS",
    "CborValue",
    "MalformedEncoding",
    "MessageTag",
    "decode",
    "encode",
    "encode_raw_map",
    "register_tag",
    "sign_bytes",
]

CborValue: TypeAlias = "int | bytes | str | bool | tuple[CborValue, ...] | list[CborValue] | dict[str, CborValue] | None"

DEFAULT_MAX_SIZE: Final = 1 << 20
DEFAULT_MAX_DEPTH: Final = 16
DEFAULT_MAX_ITEMS: Final = 1 << 16
DEFAULT_MAX_TOTAL_ITEMS: Final = 1 << 20

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


_SCALARS: Final = frozenset({type(None), bool, bytes, str})
_INTEGERS: Final = frozenset({int, bool})


def _check_value(value: object, containers: int, max_depth: int, max_items: int) -> int:
    """Refuse what :func:`decode` would refuse and return how many items
    ``value`` encodes to (map keys included, as :func:`decode` counts them).
    ``containers`` counts the arrays and maps around ``value``; recursion
    stops at ``max_depth``."""
    kind = type(value)
    if kind in _SCALARS or isinstance(value, (bool, bytes, str)):
        return 1
    if isinstance(value, int):
        ensure(
            -_UINT64_LIMIT <= value < _UINT64_LIMIT,
            f"integer {value} outside the CBOR range [-2**64, 2**64)",
            LocalProtocolError,
        )
        return 1
    if isinstance(value, (list, tuple, dict)):
        ensure(
            containers < max_depth,
            f"value nested too deeply to encode (more than {max_depth} containers)",
            LocalProtocolError,
        )
        ensure(
            len(value) <= max_items,
            f"container of {len(value)} items to encode (more than {max_items})",
            LocalProtocolError,
        )
        count = 1
        inner = containers + 1
        if isinstance(value, dict):
            for key, item in value.items():
                ensure(isinstance(key, str), f"map key {key!r} is not a str", LocalProtocolError)
                count += 1 + (
                    1
                    if type(item) is int and -24 <= item < 24
                    else _check_value(item, inner, max_depth, max_items)
                )
        else:
            if (kind is list or kind is tuple) and value:
                # Fast path for a flat array (the monitor bodies' columns):
                # exact scalar types only, integers range-checked by min and
                # max in C.  Anything else, or an integer out of range, takes
                # the loop below, which finds and reports the first bad item.
                kinds = set(map(type, value))
                if kinds <= _SCALARS:
                    return count + len(value)
                if (
                    kinds <= _INTEGERS
                    and min(value) >= -_UINT64_LIMIT
                    and max(value) < _UINT64_LIMIT
                ):
                    return count + len(value)
            for item in value:
                count += (
                    1
                    if type(item) is int and -24 <= item < 24
                    else _check_value(item, inner, max_depth, max_items)
                )
        return count
    raise LocalProtocolError(
        f"cannot encode {type(value).__name__} (floats, sets and tags are not part of the encoding)"
    )


def encode(
    value: CborValue,
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_items: int = DEFAULT_MAX_ITEMS,
    max_total_items: int = DEFAULT_MAX_TOTAL_ITEMS,
) -> bytes:
    """The canonical encoding of ``value``.

    Raises LocalProtocolError for a value outside the data model, and for one
    that :func:`decode` would refuse under the same limits (nesting, items
    per container, items in all, size): we never produce bytes that we (or
    a peer with the same limits) would reject.  Both are bugs in the caller.
    """
    items = _check_value(value, 0, max_depth, max_items)
    ensure(
        items <= max_total_items,
        f"value of {items} items in all to encode (more than {max_total_items})",
        LocalProtocolError,
    )
    try:
        encoded = bytes(cbor2.dumps(value, canonical=True))
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"text is not valid UTF-8 (a lone surrogate): {exc}") from None
    ensure(
        len(encoded) <= max_size,
        f"encoding of {len(encoded)} bytes to encode (more than {max_size})",
        LocalProtocolError,
    )
    return encoded


def _head(major: int, argument: int) -> bytes:
    """The shortest head of a major type and its argument (RFC 8949 4.2.1)."""
    if argument < 24:
        return bytes([major << 5 | argument])
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * width):
            return bytes([major << 5 | info]) + argument.to_bytes(width, "big")
    raise LocalProtocolError(f"argument {argument} beyond 64 bits")


def encode_raw_map(items: Mapping[str, bytes]) -> bytes:
    """The canonical map of text keys to values given as their canonical
    encodings (each an output of :func:`encode`), keys in the order of
    their encodings as :func:`encode` orders them: the bytes
    :func:`encode` gives for the map of the decoded values.  It lets a
    caller splice an encoding it already holds instead of encoding it
    again; the limits of the whole (size, items, depth) are the caller's to
    keep."""
    parts = sorted((encode(key), value) for key, value in items.items())
    return _head(5, len(parts)) + b"".join(key + value for key, value in parts)


# --------------------------------------------------------------------------
# Decoding: one strict, iterative pass that builds the value


#: The value of every one-byte item that is a scalar: integers -24..23,
#: b"", "", false, true, null.  Each is an immutable shared object, so a run
#: of them costs one pointer per item in its array.
_IMMEDIATE: Final[dict[int, CborValue]] = {
    **{i: i for i in range(24)},
    **{0x20 | i: -1 - i for i in range(24)},
    0x40: b"",
    0x60: "",
    0xF4: False,
    0xF5: True,
    0xF6: None,
}
_IMMEDIATE_RUN: Final = re.compile(
    b"[" + b"".join(re.escape(bytes([b])) for b in _IMMEDIATE) + b"]+"
)
_IMMEDIATE_TABLE: Final = tuple(_IMMEDIATE.get(byte) for byte in range(256))
_SIMPLE: Final[dict[int, CborValue]] = {20: False, 21: True, 22: None}

#: One canonical integer item (major 0 or 1, its argument in shortest form:
#: a one-byte argument >= 24, a two-byte one >= 2**8, four bytes >= 2**16,
#: eight bytes >= 2**32).  Each head byte admits one width, so a run of
#: these splits into items one way only.
_INT_ITEM_PATTERN: Final = (
    rb"[\x00-\x17\x20-\x37]"
    rb"|[\x18\x38][\x18-\xff]"
    rb"|[\x19\x39][\x01-\xff][\x00-\xff]"
    rb"|[\x1a\x3a](?:[\x01-\xff][\x00-\xff]|\x00[\x01-\xff])[\x00-\xff]{2}"
    rb"|[\x1b\x3b](?:[\x01-\xff][\x00-\xff]{3}|\x00[\x01-\xff][\x00-\xff]{2}"
    rb"|\x00\x00[\x01-\xff][\x00-\xff]|\x00\x00\x00[\x01-\xff])[\x00-\xff]{4}"
)
_INT_RUN: Final = re.compile(b"(?:" + _INT_ITEM_PATTERN + b")+")
_INT_HEADS: Final = frozenset(range(0x1C)) | frozenset(range(0x20, 0x3C))

#: A run of canonical integers shorter than this is decoded item by item
#: (numpy's fixed cost is not worth it); a longer one in chunks of at most
#: ``_INT_CHUNK`` items, which bounds the temporary arrays.
_INT_RUN_MIN: Final = 32
_INT_CHUNK: Final = 2048
#: The item length each integer head byte gives, and, per length, the head
#: bytes of that length (deleted by ``bytes.translate`` to test a run).
_INT_LENGTH: Final = {
    head: 1 + (0 if head & 0x1F < 24 else 1 << (head & 0x1F) - 24) for head in _INT_HEADS
}
_HEADS_OF_LENGTH: Final = {
    length: bytes(h for h, n in sorted(_INT_LENGTH.items()) if n == length)
    for length in (1, 2, 3, 5, 9)
}
_INT_LENGTHS: Final = np.array([_INT_LENGTH.get(byte, 1) for byte in range(256)], dtype=np.intp)
_INT_SHIFTS: Final = np.array([0] + [8 * (8 - width) for width in range(1, 9)], dtype=np.uint64)


def _item_starts(run: npt.NDArray[np.uint8]) -> npt.NDArray[np.intp]:
    """Where each item of ``run`` (a run of canonical integer items, as
    :data:`_INT_RUN` matched it) starts, without a Python loop: ``jump[j]``
    is where an item starting at ``j`` would end; doubling it (``jump =
    jump[jump]``) takes the first ``2 ** t`` starts to the next ``2 ** t``,
    so ``log2(items)`` rounds of array indexing find them all, in order."""
    size = len(run)
    jump = np.arange(size + 1, dtype=np.intp)
    jump[:size] += _INT_LENGTHS[run]
    np.minimum(jump, size, out=jump)
    starts = np.zeros(1, dtype=np.intp)
    while True:
        after = jump[starts]
        if after[-1] >= size:
            return np.concatenate([starts, after[after < size]])
        starts = np.concatenate([starts, after])
        jump = jump[jump]


def _int_run_values(run: npt.NDArray[np.uint8], starts: npt.NDArray[np.intp]) -> list[int]:
    """The values of the canonical integer items starting at ``starts`` in
    ``run`` (its bytes, the last item ending at its end), with numpy: each
    item's head and the 8 bytes after it, read big-endian and shifted down
    to the item's argument width.  Exact: the arguments are uint64, and a
    negative item's ``-1 - argument`` is taken in int64 only when every
    argument is below ``2**63`` (else in Python integers)."""
    size = len(run)
    padded = np.zeros(size + 8, dtype=np.uint8)
    padded[:size] = run
    heads = padded[starts]
    words = np.lib.stride_tricks.sliding_window_view(padded, 8)[starts + 1].view(">u8").ravel()
    widths = _INT_LENGTHS[heads] - 1
    arguments = np.where(widths == 0, heads & 0x1F, words >> _INT_SHIFTS[widths])
    negative = heads >= 0x20
    if int(arguments.max()) < 1 << 63:
        signed = arguments.astype(np.int64)
        signed[negative] = -1 - signed[negative]
        values: list[int] = signed.tolist()
        return values
    return [
        -1 - argument if minus else argument
        for argument, minus in zip(arguments.tolist(), negative.tolist(), strict=True)
    ]


def _decode_item(data: bytes, max_depth: int, max_items: int, max_total_items: int) -> CborValue:
    """Check that ``data`` is one well-formed, canonical item and build it,
    in one pass over the bytes (the rules of the module docstring, checked
    in the order it gives within an item's head).  Iterative: nesting costs one saved frame on a
    list, never a Python stack frame.

    The open container lives in locals: ``items`` (a list for an array, a
    dict for a map, None at top level), ``remaining`` (items, or pairs, it
    still expects), ``key`` (a map's pending key; None when a key is due)
    and ``previous_key`` (the encoding of the map's last key).  Opening a
    container saves them on ``stack``; closing one restores them.
    """
    size = len(data)
    offset = 0
    total = 0
    depth = 0
    stack: list[tuple[list[CborValue] | dict[str, CborValue] | None, int, str | None, bytes]] = []
    items: list[CborValue] | dict[str, CborValue] | None = None
    remaining = 0
    key: str | None = None
    previous_key = b""
    int_run_checked = 0  # no integer run is tried again before this offset
    value: CborValue
    while True:
        if offset >= size:
            raise MalformedEncoding("truncated", offset, "input ends inside an item")
        if type(items) is list and data[offset] in _IMMEDIATE:
            # A run of one-byte scalars inside an array: take as many as the
            # array still expects (and the item budget allows) at once.
            end = offset + min(remaining, max_total_items - total)
            run = _IMMEDIATE_RUN.match(data, offset, end)
            if run is not None and run.end() - offset > 1:
                count = run.end() - offset
                items.extend(map(_IMMEDIATE_TABLE.__getitem__, data[offset : run.end()]))
                offset += count
                total += count
                remaining -= count
                if remaining:
                    continue
                # The run completed the array: count its last item below.
                offset -= 1
                total -= 1
                remaining += 1
                items.pop()
        if (
            type(items) is list
            and remaining >= _INT_RUN_MIN
            and offset >= int_run_checked
            and data[offset] in _INT_HEADS
        ):
            # A run of canonical integers inside an array (a monitor body's
            # columns): matched by one regular expression, split into
            # items and their values computed with numpy.  Whatever ends the run (another
            # kind of item, a non-canonical integer, the end of the input)
            # is left to the item-by-item path below, so every refusal is
            # the same.
            budget = min(remaining, max_total_items - total, _INT_CHUNK)
            run = _INT_RUN.match(data, offset, min(size, offset + 9 * budget))
            span = 0 if run is None else run.end() - offset
            length = _INT_LENGTH[data[offset]]
            run_bytes = np.frombuffer(data, dtype=np.uint8, count=span, offset=offset)
            if span % length == 0 and not data[offset : offset + span : length].translate(
                None, _HEADS_OF_LENGTH[length]
            ):
                # Every byte at the first item's stride is a head of its
                # length: every item has that length.
                starts = np.arange(0, span, length, dtype=np.intp)
            else:
                starts = _item_starts(run_bytes) if span else np.zeros(0, dtype=np.intp)
            if len(starts) > budget:
                span = int(starts[budget])
                starts = starts[:budget]
                run_bytes = run_bytes[:span]
            if len(starts) < _INT_RUN_MIN:
                int_run_checked = offset + span + 1
            else:
                values = _int_run_values(run_bytes, starts)
                items.extend(values)
                count = len(values)
                offset += span
                total += count
                remaining -= count
                if remaining:
                    continue
                # The run completed the array: count its last item below.
                offset -= span - int(starts[-1])
                total -= 1
                remaining += 1
                items.pop()
        start = offset
        initial = data[offset]
        offset += 1
        total += 1
        if total > max_total_items:
            raise MalformedEncoding(
                "too many items", start, f"more than {max_total_items} items in all"
            )
        major, info = initial >> 5, initial & 0x1F
        if info >= 28:
            if info == 31:
                raise MalformedEncoding("indefinite length", start)
            raise MalformedEncoding("reserved additional information", start)
        is_key = key is None and type(items) is dict
        if is_key and major != 3:
            raise MalformedEncoding("map key not a text string", start)
        if major == 7:
            if info in (25, 26, 27):
                raise MalformedEncoding("float", start)
            if info not in _SIMPLE:
                detail = f"simple value {info} is not false/true/null"
                if info == 24 and offset < size:
                    # the two-byte form 0xf8 NN: name the value NN, not 24
                    detail = f"simple value {data[offset]} in two bytes (only f4, f5, f6)"
                raise MalformedEncoding("simple value", start, detail)
            value = _SIMPLE[info]
        elif major == 6:
            raise MalformedEncoding("tag", start, "vigilnet uses no CBOR tags")
        else:
            if info < 24:
                argument = info
            else:
                width = 1 << (info - 24)
                end = offset + width
                if end > size:
                    raise MalformedEncoding("truncated", offset, "argument runs past the end")
                argument = int.from_bytes(data[offset:end], "big")
                if argument < (24 if width == 1 else 1 << (4 * width)):
                    raise MalformedEncoding(
                        "non-canonical integer" if major < 2 else "non-canonical length",
                        start,
                        f"{argument} encoded in {width} bytes",
                    )
                offset = end
            if major == 0:
                value = argument
            elif major == 1:
                value = -1 - argument
            elif major <= 3:
                end = offset + argument
                if end > size:
                    raise MalformedEncoding(
                        "truncated", start, f"string of {argument} bytes runs past the end"
                    )
                if major == 2:
                    value = data[offset:end]
                else:
                    try:
                        value = data[offset:end].decode("utf-8")
                    except UnicodeDecodeError:
                        raise MalformedEncoding("invalid UTF-8", start) from None
                    if is_key:
                        encoded_key = data[start:end]
                        if encoded_key <= previous_key:
                            if encoded_key == previous_key:
                                raise MalformedEncoding("duplicate map key", start)
                            raise MalformedEncoding("map keys not in canonical order", start)
                        previous_key = encoded_key
                        key = value
                        offset = end
                        continue
                offset = end
            else:
                if argument > max_items:
                    raise MalformedEncoding("too many items", start, f"{argument} > {max_items}")
                if depth >= max_depth:
                    raise MalformedEncoding("too deep", start, f"nesting beyond {max_depth}")
                if argument:
                    stack.append((items, remaining, key, previous_key))
                    depth += 1
                    items, remaining, key, previous_key = (
                        ({}, argument, None, b"") if major == 5 else ([], argument, None, b"")
                    )
                    continue
                value = () if major == 4 else {}
        # One item is complete: store it in the open container, closing every
        # container it completes.
        while items is not None:
            if type(items) is dict:
                items[key] = value  # type: ignore[index]
                key = None
            else:
                items.append(value)  # type: ignore[union-attr]
            remaining -= 1
            if remaining:
                break
            value = items if type(items) is dict else tuple(items)
            items, remaining, key, previous_key = stack.pop()
            depth -= 1
        if items is None:
            break
    if offset != size:
        raise MalformedEncoding("trailing bytes", offset, f"{size - offset} bytes after the item")
    return value


def decode(
    data: bytes,
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_items: int = DEFAULT_MAX_ITEMS,
    max_total_items: int = DEFAULT_MAX_TOTAL_ITEMS,
) -> CborValue:
    """Decode untrusted canonical CBOR.

    Raises :class:`MalformedEncoding` (a RemoteProtocolError) naming the first
    rule broken; see the module docstring.  Arrays come back as tuples.  One
    pass over the bytes: time linear in ``len(data)``, memory the result plus
    one open container per nesting level (module docstring, "Cost").
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise MalformedEncoding("not bytes", 0, f"got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_size:
        raise MalformedEncoding("too large", 0, f"{len(data)} bytes > {max_size}")
    return _decode_item(data, max_depth, max_items, max_total_items)


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
