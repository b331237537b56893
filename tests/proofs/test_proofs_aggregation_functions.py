"""The pure aggregation functions the proofs are about, against their
definitions and the box-validity guarantee."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigilnet.aggregation import replica_median, trimmed_combination
from vigilnet.errors import LocalProtocolError

values_st = st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=25)


@given(values_st, st.data())
def test_trimmed_combination_is_the_trimmed_mean(values: list[int], data: st.DataObject) -> None:
    f = data.draw(st.integers(0, (len(values) - 1) // 2))
    ordered = sorted(values)
    kept = ordered[f : len(values) - f]
    result = trimmed_combination(values, f)
    assert isinstance(result, Fraction)
    assert result * len(kept) == sum(kept)
    assert trimmed_combination(list(reversed(values)), f) == result


@given(st.data())
def test_trimmed_combination_stays_within_the_honest_range(data: st.DataObject) -> None:
    f = data.draw(st.integers(0, 4))
    liars = data.draw(st.lists(st.integers(-(10**9), 10**9), max_size=f))
    honest = data.draw(
        st.lists(st.integers(-1000, 1000), min_size=2 * f + 1 - len(liars), max_size=12)
    )
    reports = data.draw(st.permutations(honest + liars))
    result = trimmed_combination(reports, f)
    assert min(honest) <= result <= max(honest)


def test_plain_mean_leaves_the_honest_range() -> None:
    honest, liar = [10, 11, 12], [10**6]
    assert not min(honest) <= Fraction(sum(honest + liar), 4) <= max(honest)
    assert min(honest) <= trimmed_combination(honest + liar, 1) <= max(honest)


@given(values_st)
def test_replica_median_is_the_lower_median(values: list[int]) -> None:
    median = replica_median(values)
    assert median == sorted(values)[(len(values) - 1) // 2]
    assert median in values


@given(st.data())
def test_replica_median_stays_within_the_honest_range(data: st.DataObject) -> None:
    m = data.draw(st.integers(1, 11))
    liars_allowed = (m - 1) // 2
    liars = data.draw(st.lists(st.integers(-(10**9), 10**9), max_size=liars_allowed))
    honest = data.draw(
        st.lists(st.integers(-100, 100), min_size=m - len(liars), max_size=m - len(liars))
    )
    reports = data.draw(st.permutations(honest + liars))
    assert min(honest) <= replica_median(reports) <= max(honest)


def test_lower_median_of_an_even_count() -> None:
    assert replica_median([4, 1, 3, 2]) == 2


@pytest.mark.parametrize(
    ("values", "f"),
    [([], 0), ([1, 2], 1), ([1, 2, 3], -1), ([1, 2, 3], True), ([1.5, 2, 3], 0), ([True], 0)],
)
def test_trimmed_combination_refuses(values: list[int], f: int) -> None:
    with pytest.raises(LocalProtocolError):
        trimmed_combination(values, f)


@pytest.mark.parametrize("values", [[], [1.0], [False, 1]])
def test_replica_median_refuses(values: list[int]) -> None:
    with pytest.raises(LocalProtocolError):
        replica_median(values)
