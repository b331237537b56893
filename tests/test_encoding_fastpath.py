"""The encoding's fast paths against the slow paths they shortcut.

Each fast path must give the same result as the code it replaced, or the
same exception with the same message: the originals are kept here, frozen,
as the oracles (they are the code as it was before the fast path)."""

from __future__ import annotations

import enum
from typing import Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilnet.encoding import _check_value, encode, encode_raw_map
from vigilnet.errors import LocalProtocolError, ensure

_UINT64_LIMIT: Final = 1 << 64
_SCALARS: Final = frozenset({type(None), bool, bytes, str})


def reference_check_value(value: object, containers: int, max_depth: int, max_items: int) -> int:
    """``vigilnet.encoding._check_value`` before the flat-array fast path."""
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
                    else reference_check_value(item, inner, max_depth, max_items)
                )
        else:
            for item in value:
                count += (
                    1
                    if type(item) is int and -24 <= item < 24
                    else reference_check_value(item, inner, max_depth, max_items)
                )
        return count
    raise LocalProtocolError(
        f"cannot encode {type(value).__name__} (floats, sets and tags are not part of the encoding)"
    )


class _Small(enum.IntEnum):
    ONE = 1
    BIG = 1 << 70


class _MyInt(int):
    pass


class _MyStr(str):
    pass


class _MyList(list[object]):
    pass


def _outcome(check: object, value: object, max_depth: int, max_items: int) -> object:
    try:
        return ("ok", check(value, 0, max_depth, max_items))  # type: ignore[operator]
    except Exception as exc:  # the class and message are the result
        return (type(exc), str(exc))


_EDGES = [
    -(1 << 64) - 1,
    -(1 << 64),
    -(1 << 63),
    -25,
    -24,
    -1,
    0,
    23,
    24,
    (1 << 63) - 1,
    (1 << 64) - 1,
    1 << 64,
    1 << 80,
]

integers = st.one_of(
    st.sampled_from(_EDGES),
    st.integers(min_value=-(1 << 64), max_value=(1 << 64) - 1),
    st.integers(min_value=-(1 << 66), max_value=1 << 66),
)
scalars = st.one_of(
    integers,
    st.booleans(),
    st.none(),
    st.binary(max_size=4),
    st.text(max_size=3),
    st.just("\ud800"),  # a lone surrogate: cbor2 refuses it later, the check does not
    st.floats(allow_nan=False),
    st.just(_Small.ONE),
    st.just(_Small.BIG),
    st.builds(_MyInt, integers),
    st.builds(_MyStr, st.text(max_size=2)),
    st.just(frozenset({1})),
    st.just(object()),
)


def _containers(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(
        st.lists(children, max_size=6),
        st.lists(children, max_size=6).map(tuple),
        st.lists(children, max_size=4).map(_MyList),
        st.dictionaries(st.text(max_size=2), children, max_size=3),
        st.dictionaries(st.integers(0, 3), children, max_size=2),
    )


values = st.recursive(scalars, _containers, max_leaves=30)
flat_arrays = st.one_of(
    st.lists(integers, max_size=40),
    st.lists(st.one_of(integers, st.booleans()), max_size=40).map(tuple),
    st.lists(st.one_of(st.booleans(), st.none(), st.binary(max_size=2)), max_size=20),
    st.lists(scalars, max_size=20),
)


@settings(max_examples=1500, deadline=None)
@given(
    value=st.one_of(values, flat_arrays), max_depth=st.integers(0, 5), max_items=st.integers(0, 45)
)
def test_check_value_fast_path_matches_the_loop(
    value: object, max_depth: int, max_items: int
) -> None:
    assert _outcome(_check_value, value, max_depth, max_items) == _outcome(
        reference_check_value, value, max_depth, max_items
    )


@pytest.mark.parametrize(
    "value",
    [
        [0, 1, 1 << 64, -(1 << 64) - 1],  # the first bad integer is the one reported
        (5, -(1 << 64) - 1, 1 << 64),
        [True, False, 1 << 64],
        [1 << 63, 2.5, 1 << 64],  # a float after a valid integer
        [b"", None, 3.0],
        [[1 << 64], [1]],
        [*range(1000), 1 << 64],
        [0] * 7,
    ],
)
def test_check_value_examples(value: object) -> None:
    for max_items in (2, 10_000):
        assert _outcome(_check_value, value, 4, max_items) == _outcome(
            reference_check_value, value, 4, max_items
        )


# --------------------------------------------------------------------------
# decode: runs of canonical integers inside arrays


def _head(major: int, argument: int) -> bytes:
    """A CBOR head, canonical unless ``argument`` is given a wider form."""
    if argument < 24:
        return bytes([major << 5 | argument])
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * width):
            return bytes([major << 5 | info]) + argument.to_bytes(width, "big")
    raise AssertionError(argument)


def _wide_head(major: int, argument: int, width: int) -> bytes:
    """A non-canonical (too wide) integer head."""
    info = {1: 24, 2: 25, 4: 26, 8: 27}[width]
    return bytes([major << 5 | info]) + argument.to_bytes(width, "big")


_INT_EDGES: Final = [0, 23, 24, 255, 256, 65535, 65536, (1 << 32) - 1, 1 << 32, (1 << 63) - 1]
_INT_EDGES_ALL: Final = [*_INT_EDGES, 1 << 63, (1 << 64) - 1]

arguments = st.one_of(
    st.sampled_from(_INT_EDGES_ALL),
    st.integers(0, 40),
    st.integers(0, (1 << 64) - 1),
    st.integers(0, 1 << 20),
)
int_items = st.builds(_head, st.integers(0, 1), arguments)
bad_items = st.one_of(
    st.builds(_wide_head, st.integers(0, 1), st.integers(0, 255), st.sampled_from([1, 2, 4, 8])),
    st.sampled_from(
        [
            b"\x1c",
            b"\x1f",
            b"\xf9\x3c\x00",
            b"\xc1\x01",
            b"\x40",
            b"\x61a",
            b"\x80",
            b"\xf4",
            b"\xf7",
        ]
    ),
)


@st.composite
def arrays_of_integers(draw: st.DrawFn) -> bytes:
    """An array (or a map or array of arrays) of mostly canonical integers,
    sometimes with a bad item, a wrong count, truncation or trailing bytes."""
    parts = draw(st.lists(st.one_of(int_items, int_items, int_items, bad_items), max_size=120))
    if draw(st.booleans()):
        parts = draw(st.lists(int_items, min_size=30, max_size=120)) + parts
    claimed = len(parts) + draw(st.sampled_from([0, 0, 0, 0, -1, 1, 2]))
    body = _head(4, max(claimed, 0)) + b"".join(parts)
    shape = draw(st.sampled_from(["array", "nested", "map"]))
    if shape == "nested":
        body = _head(4, 2) + body + _head(4, 1) + b"\x01"
    elif shape == "map":
        body = b"\xa2\x61a" + body + b"\x61b" + body
    cut = draw(st.sampled_from([None, None, None, 1, 2, 5]))
    if cut is not None:
        body = body[: max(len(body) - cut, 0)]
    if draw(st.integers(0, 9)) == 0:
        body += b"\x00"
    return body


def _decode_outcome(data: bytes, limits: dict[str, int]) -> object:
    from vigilnet.encoding import MalformedEncoding, decode

    try:
        return ("ok", decode(data, **limits))
    except MalformedEncoding as exc:
        return (type(exc), exc.reason, exc.offset, str(exc))


limits_strategy = st.fixed_dictionaries(
    {
        "max_items": st.sampled_from([3, 40, 1 << 16]),
        "max_total_items": st.sampled_from([5, 50, 200, 1 << 20]),
        "max_depth": st.sampled_from([1, 2, 16]),
    }
)


@settings(max_examples=1500, deadline=None)
@given(
    data=st.one_of(arrays_of_integers(), st.binary(max_size=80).map(lambda b: b"\x98\x40" + b)),
    limits=limits_strategy,
    run_min=st.sampled_from([1, 2, 32]),
    chunk=st.sampled_from([1, 3, 2048]),
)
def test_integer_runs_decode_as_item_by_item(
    data: bytes, limits: dict[str, int], run_min: int, chunk: int
) -> None:
    """The run fast path (with small thresholds and chunks, to reach its
    edges) against the item-by-item decoder (the fast path switched off):
    the same value, or the same refusal at the same offset."""
    import vigilnet.encoding as encoding

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(encoding, "_INT_RUN_MIN", 1 << 62)
        slow = _decode_outcome(data, limits)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(encoding, "_INT_RUN_MIN", run_min)
        patch.setattr(encoding, "_INT_CHUNK", chunk)
        fast = _decode_outcome(data, limits)
    assert fast == slow


@pytest.mark.parametrize("width", [1, 2, 3, 5, 9])
def test_uniform_and_mixed_runs_decode_exactly(width: int) -> None:
    """Long runs of one item length, and mixed ones, at every boundary value."""
    from vigilnet.encoding import decode, encode

    firsts = {1: 0, 2: 24, 3: 256, 5: 65536, 9: 1 << 32}
    base = firsts[width]
    uniform = [base + i for i in range(3000)] + [-1 - base - i for i in range(100)]
    mixed = [v * s for v in _INT_EDGES_ALL for s in (1, -1)] * 50
    mixed += [-(1 << 64), (1 << 64) - 1]
    for column in (uniform, mixed, uniform[::-1] + mixed):
        assert decode(encode(column)) == tuple(column)


_values = st.recursive(
    st.one_of(
        st.integers(-(1 << 64), (1 << 64) - 1),
        st.binary(max_size=4),
        st.text(max_size=4),
        st.booleans(),
        st.none(),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=500, deadline=None)
@given(items=st.dictionaries(st.text(max_size=30), _values, max_size=6))
def test_a_map_of_spliced_encodings_is_the_maps_encoding(items: dict[str, object]) -> None:
    # keys of every length class (0..23 and 24+ bytes) sort as encode sorts them
    spliced = encode_raw_map({key: encode(value) for key, value in items.items()})  # type: ignore[arg-type]
    assert spliced == encode(items)  # type: ignore[arg-type]
