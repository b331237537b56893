"""A strict decoder for vigilnet's canonical CBOR, written from
docs/encoding.md (RFC 8949 section 4.2.1 over a restricted data model),
with a switch per decoder bug."""

from __future__ import annotations

from collections.abc import Collection

__all__ = ["Reject", "decode", "diagnostic", "encode"]

_BOM = b"\xef\xbb\xbf"


class Reject(Exception):
    """The input is refused."""


def decode(
    data: bytes,
    *,
    max_depth: int = 16,
    max_items: int = 65536,
    max_size: int = 1 << 20,
    bugs: Collection[str] = frozenset(),
) -> object:
    if "cbor_strips_utf8_bom" in bugs and data.startswith(_BOM):
        data = data[3:]
    if len(data) > max_size and "cbor_no_size_limit" not in bugs:
        raise Reject("too large")
    reader = _Reader(data, max_depth, max_items, bugs)
    value = reader.item(0)
    if reader.pos != len(data) and "cbor_ignores_trailing_bytes" not in bugs:
        raise Reject("trailing bytes")
    return value


class _Reader:
    def __init__(self, data: bytes, max_depth: int, max_items: int, bugs: Collection[str]) -> None:
        self.data = data
        self.pos = 0
        self.max_depth = max_depth
        self.max_items = max_items
        self.bugs = bugs

    def take(self, n: int) -> bytes:
        if n > len(self.data) - self.pos:
            raise Reject("truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def head(self) -> tuple[int, int, int | None]:
        initial = self.take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if info < 24:
            return major, info, info
        if info in (28, 29, 30):
            if "cbor_reserved_info_as_8_byte" in self.bugs:
                return major, info, int.from_bytes(self.take(8), "big")
            raise Reject("reserved additional information")
        if info == 31:
            return major, info, None
        width = 1 << (info - 24)
        argument = int.from_bytes(self.take(width), "big")
        shortest = 24 if width == 1 else 1 << (4 * width)
        if argument < shortest and major != 7:
            if major in (0, 1) and "cbor_accepts_long_integers" not in self.bugs:
                raise Reject("non-canonical integer")
            if major > 1 and "cbor_accepts_long_lengths" not in self.bugs:
                raise Reject("non-canonical length")
        return major, info, argument

    def item(self, depth: int) -> object:
        major, info, argument = self.head()
        if argument is None:
            if major == 7:
                raise Reject("break")
            if "cbor_accepts_indefinite_lengths" not in self.bugs or major in (0, 1, 6):
                raise Reject("indefinite length")
            return self.indefinite(major, depth)
        if major == 0:
            if "cbor_uint64_as_signed" in self.bugs and argument >= 1 << 63:
                return argument - (1 << 64)
            return argument
        if major == 1:
            return -argument if "cbor_negative_off_by_one" in self.bugs else -1 - argument
        if major == 2:
            return self.take(argument)
        if major == 3:
            return self.text(self.take(argument))
        if major == 6:
            if "cbor_ignores_tags" not in self.bugs:
                raise Reject("tag")
            return self.item(depth)
        if major == 7:
            return self.simple(info, argument)
        depth += 1
        if depth > self.max_depth and "cbor_no_depth_limit" not in self.bugs:
            raise Reject("too deep")
        if "cbor_depth_limit_off_by_one" in self.bugs and depth >= self.max_depth:
            raise Reject("too deep")
        claimed = (
            argument * 2
            if major == 5 and "cbor_counts_map_keys_and_values" in self.bugs
            else argument
        )
        if claimed > self.max_items and "cbor_no_item_limit" not in self.bugs:
            raise Reject("too many items")
        if argument > len(self.data) - self.pos:
            raise Reject("truncated")
        if major == 4:
            return [self.item(depth) for _ in range(argument)]
        return self.map(argument, depth)

    def indefinite(self, major: int, depth: int) -> object:
        parts: list[object] = []
        while True:
            if self.data[self.pos : self.pos + 1] == b"\xff":
                self.pos += 1
                break
            parts.append(self.item(depth + 1))
        if major == 2:
            return b"".join(p for p in parts if isinstance(p, bytes))
        if major == 3:
            return "".join(p for p in parts if isinstance(p, str))
        if major == 4:
            return parts
        return dict(zip(parts[::2], parts[1::2], strict=False))

    def text(self, raw: bytes) -> str:
        if "cbor_no_utf8_check" in self.bugs:
            return raw.decode("utf-8", "replace")
        errors = "surrogatepass" if "cbor_accepts_utf8_surrogates" in self.bugs else "strict"
        try:
            return raw.decode("utf-8", errors)
        except UnicodeDecodeError:
            raise Reject("invalid UTF-8") from None

    def simple(self, info: int, argument: int) -> object:
        if info == 24 and argument < 32 and "cbor_accepts_two_byte_simple" in self.bugs:
            info = argument
        if info in (25, 26, 27) and "cbor_accepts_floats" in self.bugs:
            return float(argument)
        if info == 20:
            return False
        if info == 21:
            return True
        if info == 22:
            return None
        if info == 23 and "cbor_accepts_undefined" in self.bugs:
            return None
        raise Reject("float" if info in (25, 26, 27) else "simple value")

    def map(self, count: int, depth: int) -> dict[str, object]:
        result: dict[str, object] = {}
        previous: bytes | None = None
        for _ in range(count):
            start = self.pos
            key = self.item(depth)
            encoded = self.data[start : self.pos]
            if not isinstance(key, str) and "cbor_accepts_non_text_keys" not in self.bugs:
                raise Reject("map key not a text string")
            if previous is not None:
                if encoded == previous:
                    if "cbor_accepts_duplicate_keys" not in self.bugs:
                        raise Reject("duplicate map key")
                elif "cbor_no_key_order_check" not in self.bugs:
                    if "cbor_keys_sorted_as_strings" in self.bugs:
                        in_order = str(_text_of(previous)) < str(key)
                    else:
                        in_order = previous < encoded
                    if not in_order:
                        raise Reject("map keys not in canonical order")
            previous = encoded
            result[key] = self.item(depth)  # type: ignore[index]
        return result


def _text_of(encoded: bytes) -> object:
    return decode(encoded, bugs=("cbor_accepts_non_text_keys",))


def diagnostic(value: object) -> str:
    """RFC 8949 section 8 notation, in the form the vector files print."""
    import json

    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        return f"h'{value.hex()}'"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(diagnostic(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{diagnostic(k)}: {diagnostic(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value).__name__)


def _head(major: int, argument: int) -> bytes:
    if argument < 24:
        return bytes([major << 5 | argument])
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * width):
            return bytes([major << 5 | info]) + argument.to_bytes(width, "big")
    raise ValueError("argument too large")


def encode(value: object) -> bytes:
    """Canonical CBOR (shortest heads, map keys in bytewise order of their
    encodings) for the data model of docs/encoding.md."""
    if value is False:
        return b"\xf4"
    if value is True:
        return b"\xf5"
    if value is None:
        return b"\xf6"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode()
        return _head(3, len(raw)) + raw
    if isinstance(value, (list, tuple)):
        return _head(4, len(value)) + b"".join(encode(v) for v in value)
    if isinstance(value, dict):
        items = sorted((encode(k), encode(v)) for k, v in value.items())
        return _head(5, len(items)) + b"".join(k + v for k, v in items)
    raise TypeError(type(value).__name__)
