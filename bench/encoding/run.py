"""Decode cost of canonical CBOR: the worst single inputs under the limits.

    .venv/bin/python bench/encoding/run.py [--repeat 3] [--shape NAME ...]

Builds, for each shape, the most expensive canonical input that the default
limits admit (at most 1 MiB, nesting 16, 65,536 items per container) and
prints its size, the time :func:`vigilnet.encoding.decode` takes (best of
``--repeat``), the peak memory it allocates (tracemalloc, the result
included) and that peak divided by the input size.  The last columns time
:func:`vigilnet.encoding.encode` on the decoded value.

Only ``encode`` and ``decode`` are used, and every input is built byte by
byte here, so the same script runs on any version of the library: run it
before and after a change with the same interpreter and compare the rows.
This is a benchmark, not a test: it never fails on a time.
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc
from collections.abc import Callable

from vigilnet.encoding import decode, encode

__all__ = ["SHAPES", "main"]

LIMIT = 1 << 20  # DEFAULT_MAX_SIZE
ITEMS = 1 << 16  # DEFAULT_MAX_ITEMS, per container
DEPTH = 16  # DEFAULT_MAX_DEPTH


def _head(major: int, argument: int) -> bytes:
    """A canonical CBOR head (shortest argument form)."""
    if argument < 24:
        return bytes([major << 5 | argument])
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * width):
            return bytes([major << 5 | info]) + argument.to_bytes(width, "big")
    raise ValueError(argument)


def _fill(item: bytes, *, budget: int = LIMIT) -> bytes:
    """An array of up to 16 arrays of copies of ``item``, as many as fit in
    ``budget`` bytes with at most ITEMS per array: the most items the size,
    depth and per-container limits allow together."""
    outer = 16
    per_array = min(ITEMS, (budget - 1 - outer * 5) // (outer * len(item)))
    inner = _head(4, per_array) + item * per_array
    return _head(4, outer) + inner * outer


def _flat_small_ints() -> bytes:
    return _head(4, ITEMS) + bytes(i % 24 for i in range(ITEMS))


def _small_ints() -> bytes:
    return _fill(b"\x17")


def _empty_maps() -> bytes:
    return _fill(b"\xa0")


def _empty_arrays() -> bytes:
    return _fill(b"\x80")


def _nested_maps() -> bytes:
    # {"": {"": ... {}}}: 13 one-key maps around an empty map, 2 bytes per
    # map; with the two enclosing arrays that is nesting 16.
    return _fill(b"\xa1\x60" * 13 + b"\xa0")


def _binary_trees() -> bytes:
    # 16 complete binary trees of arrays, 15 levels deep, empty maps at the
    # leaves: every container at the depth limit is as small as it can be.
    def tree(levels: int) -> bytes:
        if levels == 0:
            return b"\xa0"
        child = tree(levels - 1)
        return b"\x82" + child + child

    return _head(4, 16) + tree(14) * 16


def _small_byte_strings() -> bytes:
    return _fill(b"\x42\xab\xcd")


def _one_byte_strings() -> bytes:
    return _fill(b"\x41\x07")


def _big_ints() -> bytes:
    return _fill(b"\x1b" + (2**64 - 1).to_bytes(8, "big"))


def _widest_map() -> bytes:
    # 65,536 distinct keys in canonical (bytewise) order, values 0.
    keys = sorted(_head(3, 5) + f"{i:05d}".encode() for i in range(ITEMS))
    return _head(5, ITEMS) + b"".join(key + b"\x00" for key in keys)


def _long_text() -> bytes:
    text = "\U0001f600" * ((LIMIT - 9) // 4)  # 4-byte UTF-8 characters
    return encode(text)


def _long_ascii_text() -> bytes:
    return encode("v" * (LIMIT - 9))


def _long_bytes() -> bytes:
    return encode(b"\x00" * (LIMIT - 9))


SHAPES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "flat-ints": ("one array of 65,536 small ints", _flat_small_ints),
    "ints": ("16 arrays of small ints (1 byte each)", _small_ints),
    "empty-maps": ("16 arrays of empty maps", _empty_maps),
    "empty-arrays": ("16 arrays of empty arrays", _empty_arrays),
    "nested-maps": ("16 arrays of 14 nested maps", _nested_maps),
    "binary-trees": ("16 binary trees of arrays to depth 16", _binary_trees),
    "bytes-2": ("16 arrays of 2-byte byte strings", _small_byte_strings),
    "bytes-1": ("16 arrays of 1-byte byte strings", _one_byte_strings),
    "uint64": ("16 arrays of 2**64 - 1", _big_ints),
    "widest-map": ("one map with 65,536 keys", _widest_map),
    "text-utf8": ("one text string of 4-byte characters", _long_text),
    "text-ascii": ("one ASCII text string", _long_ascii_text),
    "bytes-long": ("one byte string", _long_bytes),
}


def _best(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _peak(data: bytes) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        value = decode(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del value
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; each row keeps its best")
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES), help="only these")
    args = parser.parse_args()
    names = args.shape or list(SHAPES)
    print(f"python {platform.python_version()} on {platform.machine()}")
    header = (
        f"{'shape':<14} {'bytes':>9} {'decode s':>9} {'MB/s':>7} "
        f"{'peak MiB':>9} {'peak/size':>9} {'encode s':>9}"
    )
    print(header)
    print("-" * len(header))
    for name in names:
        _, build = SHAPES[name]
        data = build()
        assert len(data) <= LIMIT, (name, len(data))
        value = decode(data)
        assert encode(value) == data, name
        seconds = _best(lambda data=data: decode(data), args.repeat)
        encode_seconds = _best(lambda value=value: encode(value), args.repeat)
        peak = _peak(data)
        print(
            f"{name:<14} {len(data):>9,} {seconds:>9.3f} {len(data) / seconds / 1e6:>7.1f} "
            f"{peak / 2**20:>9.1f} {peak / len(data):>9.1f} {encode_seconds:>9.3f}"
        )
    print()
    for name in names:
        print(f"{name:<14} {SHAPES[name][0]}")


if __name__ == "__main__":
    main()
