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

from vigilnet.encoding import _check_value
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
