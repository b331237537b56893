"""Vector family ``canonical_cbor``: what a strict vigilnet decoder accepts.

Valid cases give the bytes and the value (diagnostic notation); a conforming
implementation decodes the bytes to that value and encodes the value back to
the same bytes.  Invalid cases give bytes that must be refused; the flag
names the rule broken (module docstring of :mod:`vigilnet.encoding`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from vigilnet.encoding import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_ITEMS,
    DEFAULT_MAX_SIZE,
    CborValue,
    MalformedEncoding,
    decode,
    encode,
)
from vigilnet.errors import RemoteProtocolError
from vigilnet.vectors._diagnostic import diagnostic, parse_diagnostic
from vigilnet.vectors._envelope import Case, Family, Group, Note, hex_string

__all__ = ["CBOR_FAMILY"]

#: flag -> (decoder reason, note)
_INVALID: dict[str, tuple[str, str]] = {
    "Truncated": ("truncated", "The input ends inside an item."),
    "TrailingBytes": ("trailing bytes", "Bytes follow the one top-level item."),
    "NonCanonicalInteger": ("non-canonical integer", "An integer is not in its shortest form."),
    "NonCanonicalLength": ("non-canonical length", "A length is not in its shortest form."),
    "IndefiniteLength": ("indefinite length", "Indefinite-length items are not deterministic."),
    "ReservedAdditionalInfo": (
        "reserved additional information",
        "Additional information 28-30 is reserved.",
    ),
    "Float": ("float", "Floats are not part of the encoding: exact integers only."),
    "Tag": ("tag", "vigilnet uses no CBOR tags (no bignums, no dates)."),
    "SimpleValue": ("simple value", "Only false, true and null are allowed simple values."),
    "InvalidUtf8": ("invalid UTF-8", "A text string is not valid UTF-8."),
    "NonTextMapKey": ("map key not a text string", "Map keys are text strings only."),
    "DuplicateMapKey": ("duplicate map key", "A map repeats a key."),
    "UnsortedMapKeys": (
        "map keys not in canonical order",
        "Map keys are not in bytewise order of their encodings.",
    ),
    "TooDeep": ("too deep", f"Nesting beyond {DEFAULT_MAX_DEPTH} containers."),
    "TooManyItems": ("too many items", "A container claims more than the group's maxItems items."),
    "TooLarge": ("too large", "The input is longer than the group's maxSize bytes."),
    "ByteOrderMark": (
        "simple value",
        "The input begins with a UTF-8 byte-order mark (ef bb bf); 0xef is simple value 15.",
    ),
}

_NOTES: dict[str, Note] = {
    flag: Note(
        bug_type="MALFORMED_INPUT"
        if flag in ("Truncated", "TrailingBytes", "TooLarge", "ByteOrderMark")
        else "NON_CANONICAL",
        description=text,
        effect="Accepting it lets two nodes disagree on the bytes of one message, so on its hash and its signature.",
    )
    for flag, (_reason, text) in _INVALID.items()
}
_NOTES["Canonical"] = Note(
    bug_type="BASIC",
    description="A canonical encoding that must decode to the given value and re-encode to the same bytes.",
)
_NOTES["EdgeValue"] = Note(
    bug_type="EDGE_CASE", description="A value at the boundary of an argument width."
)

_VALID: list[tuple[str, tuple[str, ...], CborValue]] = [
    ("zero", ("Canonical",), 0),
    ("largest one-byte integer", ("EdgeValue",), 23),
    ("smallest integer with a 1-byte argument", ("EdgeValue",), 24),
    ("largest integer with a 1-byte argument", ("EdgeValue",), 255),
    ("smallest integer with a 2-byte argument", ("EdgeValue",), 256),
    ("largest integer with a 2-byte argument", ("EdgeValue",), 65535),
    ("smallest integer with a 4-byte argument", ("EdgeValue",), 65536),
    ("largest integer with a 4-byte argument", ("EdgeValue",), 2**32 - 1),
    ("smallest integer with an 8-byte argument", ("EdgeValue",), 2**32),
    ("largest unsigned integer", ("EdgeValue",), 2**64 - 1),
    ("minus one", ("Canonical",), -1),
    ("smallest negative one-byte integer", ("EdgeValue",), -24),
    ("negative integer with a 1-byte argument", ("EdgeValue",), -25),
    ("most negative integer", ("EdgeValue",), -(2**64)),
    ("empty byte string", ("Canonical",), b""),
    ("byte string", ("Canonical",), bytes(range(8))),
    ("24-byte string (1-byte length)", ("EdgeValue",), b"\xab" * 24),
    ("256-byte string (2-byte length)", ("EdgeValue",), bytes(range(256))),
    ("empty text", ("Canonical",), ""),
    ("text", ("Canonical",), "vigilnet"),
    ("non-ASCII text", ("Canonical",), "\u00fc\u6c34\U00010151"),
    ("false", ("Canonical",), False),
    ("true", ("Canonical",), True),
    ("null", ("Canonical",), None),
    ("empty array", ("Canonical",), ()),
    ("array", ("Canonical",), (1, (2, 3), (4, 5))),
    ("25-element array (1-byte length)", ("EdgeValue",), tuple(range(25))),
    ("empty map", ("Canonical",), {}),
    (
        "map with keys of different lengths, shorter first",
        ("Canonical",),
        {"b": 1, "aa": 2, "ccc": 3},
    ),
    ("map with keys of one length, bytewise order", ("Canonical",), {"a": 1, "b": 2, "z": 3}),
    (
        "nested message-like map",
        ("Canonical",),
        {"epoch": 7, "round": 0, "config_hash": bytes(32), "totals": (3, -5), "note": None},
    ),
    (
        f"nesting of exactly {DEFAULT_MAX_DEPTH} containers",
        ("EdgeValue",),
        _nested := ((((((((((((((((0,),),),),),),),),),),),),),),),),
    ),
]
assert len(repr(_nested)) > 0

#: limits small enough that a vector can sit on both sides of each of them
_SMALL_LIMITS = {"maxDepth": 3, "maxItems": 4, "maxSize": 64}

_SMALL_VALID: list[tuple[str, tuple[str, ...], CborValue]] = [
    ("an array of maxItems items", ("EdgeValue",), (1, 2, 3, 4)),
    (
        "a map of maxItems entries (8 keys and values)",
        ("EdgeValue",),
        {"a": 1, "b": 2, "c": 3, "d": 4},
    ),
    ("a byte string making the input exactly maxSize bytes", ("EdgeValue",), bytes(62)),
    ("nesting of exactly maxDepth containers", ("EdgeValue",), (((0,),),)),
]

_SMALL_INVALID: list[tuple[str, str, str]] = [
    ("TooManyItems", "850102030405", "an array of maxItems + 1 items, all present"),
    (
        "TooManyItems",
        "a5616101616202616303616404616505",
        "a map of maxItems + 1 entries, all present",
    ),
    ("TooLarge", "583f" + "00" * 63, "a byte string making the input maxSize + 1 bytes"),
    ("TooDeep", "8181818100", "maxDepth + 1 nested arrays"),
]

_INVALID_CASES: list[tuple[str, str, str]] = [
    ("Truncated", "", "empty input"),
    ("Truncated", "18", "1-byte argument missing"),
    ("Truncated", "1a0001", "4-byte argument cut short"),
    ("Truncated", "43aabb", "byte string shorter than its length"),
    ("Truncated", "5bffffffffffffffff", "byte string claiming 2**64-1 bytes"),
    ("Truncated", "8201", "array missing its second item"),
    ("Truncated", "a16161", "map missing a value"),
    ("TrailingBytes", "0000", "a second top-level item"),
    ("TrailingBytes", "820102ff", "a break code after a definite array"),
    ("NonCanonicalInteger", "1817", "23 in a 1-byte argument"),
    ("NonCanonicalInteger", "1900ff", "255 in a 2-byte argument"),
    ("NonCanonicalInteger", "1a0000ffff", "65535 in a 4-byte argument"),
    ("NonCanonicalInteger", "1b00000000ffffffff", "2**32-1 in an 8-byte argument"),
    ("NonCanonicalInteger", "3817", "-24 in a 1-byte argument"),
    ("NonCanonicalLength", "5801aa", "1-byte string with a 1-byte length"),
    ("NonCanonicalLength", "780161", "1-character text with a 1-byte length"),
    ("NonCanonicalLength", "980101", "1-item array with a 1-byte length"),
    ("NonCanonicalLength", "b801616101", "1-entry map with a 1-byte length"),
    ("IndefiniteLength", "5f4101ff", "indefinite byte string"),
    ("IndefiniteLength", "7f6161ff", "indefinite text"),
    ("IndefiniteLength", "9f01ff", "indefinite array"),
    ("IndefiniteLength", "bf616101ff", "indefinite map"),
    ("ReservedAdditionalInfo", "1c", "additional information 28"),
    ("ReservedAdditionalInfo", "3d", "additional information 29, negative"),
    ("ReservedAdditionalInfo", "5e", "additional information 30, byte string"),
    ("ReservedAdditionalInfo", "1c0000000000000001", "additional information 28, then eight bytes"),
    ("Float", "f93c00", "half-precision 1.0"),
    ("Float", "fa3f800000", "single-precision 1.0"),
    ("Float", "fb3ff0000000000000", "double-precision 1.0"),
    ("Float", "a16161f90000", "a float inside a map"),
    ("Tag", "c11a514b67b0", "tag 1 (epoch time)"),
    ("Tag", "c249010000000000000000", "tag 2 (bignum 2**64)"),
    ("Tag", "d9010283010203", "tag 258 (set)"),
    ("SimpleValue", "f7", "undefined"),
    ("SimpleValue", "f0", "simple value 16"),
    ("SimpleValue", "f820", "simple value 32"),
    ("SimpleValue", "f800", "simple value 0 in two bytes (f8 00)"),
    ("SimpleValue", "f814", "false in two bytes (f8 14)"),
    ("SimpleValue", "f815", "true in two bytes (f8 15)"),
    ("SimpleValue", "f816", "null in two bytes (f8 16)"),
    ("SimpleValue", "f81f", "simple value 31 in two bytes (f8 1f)"),
    ("ByteOrderMark", "efbbbf00", "zero after a UTF-8 byte-order mark"),
    ("ByteOrderMark", "efbbbfa0", "empty map after a UTF-8 byte-order mark"),
    ("InvalidUtf8", "62c328", "invalid continuation byte"),
    ("InvalidUtf8", "63eda080", "encoded surrogate"),
    ("NonTextMapKey", "a10101", "integer key"),
    ("NonTextMapKey", "a1410101", "byte-string key"),
    ("DuplicateMapKey", "a2616101616101", "key 'a' twice"),
    ("UnsortedMapKeys", "a2616201616101", "'b' before 'a'"),
    ("UnsortedMapKeys", "a262616101616102", "longer key first"),
    ("TooDeep", "81" * (DEFAULT_MAX_DEPTH + 1) + "00", f"{DEFAULT_MAX_DEPTH + 1} nested arrays"),
    (
        "TooManyItems",
        "9a" + (DEFAULT_MAX_ITEMS + 1).to_bytes(4, "big").hex(),
        "array claiming one item too many",
    ),
]


def _build() -> Iterator[Group]:
    valid = tuple(
        Case(
            comment=comment,
            result="valid",
            flags=flags,
            fields={"cbor": encode(value).hex(), "diagnostic": diagnostic(value)},
        )
        for comment, flags, value in _VALID
    )
    invalid = tuple(
        Case(comment=comment, result="invalid", flags=(flag,), fields={"cbor": hex_input})
        for flag, hex_input, comment in _INVALID_CASES
    )
    limits = {
        "maxDepth": DEFAULT_MAX_DEPTH,
        "maxItems": DEFAULT_MAX_ITEMS,
        "maxSize": DEFAULT_MAX_SIZE,
    }
    yield Group(type="CborDecode", fields=limits, cases=valid + invalid)
    yield Group(
        type="CborDecode",
        fields=_SMALL_LIMITS,
        cases=tuple(
            Case(
                comment=comment,
                result="valid",
                flags=flags,
                fields={"cbor": encode(value).hex(), "diagnostic": diagnostic(value)},
            )
            for comment, flags, value in _SMALL_VALID
        )
        + tuple(
            Case(comment=comment, result="invalid", flags=(flag,), fields={"cbor": hex_input})
            for flag, hex_input, comment in _SMALL_INVALID
        ),
    )


def _verify(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    data = bytes.fromhex(test["cbor"])
    limits = {
        "max_depth": group["maxDepth"],
        "max_items": group["maxItems"],
        "max_size": group["maxSize"],
    }
    try:
        value = decode(data, **limits)
    except MalformedEncoding as exc:
        if test["result"] == "valid":
            return f"valid encoding rejected: {exc}"
        expected = {_INVALID[flag][0] for flag in test["flags"] if flag in _INVALID}
        if exc.reason not in expected:
            return f"rejected for {exc.reason!r}, expected {sorted(expected)}"
        return None
    if test["result"] == "invalid":
        return f"invalid encoding accepted as {diagnostic(value)}"
    try:
        expected_value = parse_diagnostic(test["diagnostic"])
    except RemoteProtocolError as exc:
        return str(exc)
    if value != expected_value:
        return f"decoded {diagnostic(value)}, expected {test['diagnostic']}"
    if encode(expected_value) != data:
        return "re-encoding the value gives different bytes"
    return None


CBOR_FAMILY = Family(
    name="canonical_cbor",
    algorithm="vigilnet canonical CBOR (RFC 8949 section 4.2.1, restricted data model)",
    header=(
        "Deterministic CBOR as vigilnet encodes and strictly decodes it.",
        "Data model: integers in [-2**64, 2**64), byte and text strings, arrays, maps with text keys, false, true, null.",
        "Valid: decode 'cbor' to the value in 'diagnostic' (RFC 8949 section 8 notation) and re-encode to the same bytes.",
        "Invalid: the decoder must refuse 'cbor'; the flag names the rule broken.",
        "Group limits (maxDepth, maxItems, maxSize) are part of the encoding.",
    ),
    notes=_NOTES,
    group_schema={
        "type": {"enum": ["CborDecode"]},
        "properties": {
            "maxDepth": {"type": "integer"},
            "maxItems": {"type": "integer"},
            "maxSize": {"type": "integer"},
        },
    },
    test_schema={
        "properties": {"cbor": hex_string("the encoded bytes"), "diagnostic": {"type": "string"}},
        "required": ["cbor"],
    },
    build=_build,
    verify_case=_verify,
)
