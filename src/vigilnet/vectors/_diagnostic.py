"""RFC 8949 section 8 diagnostic notation for the vigilnet data model.

Vector files carry CBOR values as diagnostic strings (``{"epoch": 7,
"root": h'00ff'}``) because JSON numbers cannot hold 64-bit integers
exactly in most languages.  :func:`diagnostic` prints a value;
:func:`parse_diagnostic` reads the subset it prints, so a verifier can turn
the string back into a value without trusting our encoder.
"""

from __future__ import annotations

import json
import re

from vigilnet.encoding import CborValue
from vigilnet.errors import RemoteProtocolError

__all__ = ["diagnostic", "parse_diagnostic"]


def diagnostic(value: CborValue) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return f"h'{value.hex()}'"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(diagnostic(item) for item in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(
                f"{json.dumps(k, ensure_ascii=False)}: {diagnostic(v)}" for k, v in value.items()
            )
            + "}"
        )
    raise TypeError(f"not in the data model: {type(value).__name__}")


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<int>-?[0-9]+)
      | h'(?P<hex>(?:[0-9a-f]{2})*)'
      | (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<word>true|false|null)
      | (?P<punct>[\[\]{},:])
    )""",
    re.VERBOSE,
)


def parse_diagnostic(text: str) -> CborValue:
    """Read a diagnostic string as printed by :func:`diagnostic`."""
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise RemoteProtocolError(
                f"diagnostic notation: unexpected text at {position}: {text[position : position + 10]!r}"
            )
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    try:
        value, index = _parse(tokens, 0)
    except IndexError:
        raise RemoteProtocolError("diagnostic notation: unexpected end") from None
    if index != len(tokens):
        raise RemoteProtocolError("diagnostic notation: trailing tokens")
    return value


def _parse(tokens: list[tuple[str, str]], index: int) -> tuple[CborValue, int]:
    if index >= len(tokens):
        raise RemoteProtocolError("diagnostic notation: unexpected end")
    kind, token = tokens[index]
    if kind == "int":
        return int(token), index + 1
    if kind == "hex":
        return bytes.fromhex(token), index + 1
    if kind == "str":
        decoded: str = json.loads(token)
        return decoded, index + 1
    if kind == "word":
        return {"true": True, "false": False, "null": None}[token], index + 1
    if token == "[":
        items: list[CborValue] = []
        index += 1
        while tokens[index][1] != "]":
            item, index = _parse(tokens, index)
            items.append(item)
            if tokens[index][1] == ",":
                index += 1
        return tuple(items), index + 1
    if token == "{":
        entries: dict[str, CborValue] = {}
        index += 1
        while tokens[index][1] != "}":
            key, index = _parse(tokens, index)
            if not isinstance(key, str) or tokens[index][1] != ":":
                raise RemoteProtocolError(
                    "diagnostic notation: map key must be a string followed by ':'"
                )
            entries[key], index = _parse(tokens, index + 1)
            if tokens[index][1] == ",":
                index += 1
        return entries, index + 1
    raise RemoteProtocolError(f"diagnostic notation: unexpected {token!r}")
