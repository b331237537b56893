"""Interval estimates: known values, coverage, and bounds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigilnet.errors import LocalProtocolError
from vigilnet.sim._stats import Proportion, clopper_pearson, wilson


def test_known_values() -> None:
    # Wilson 95% for 8/10 and Clopper-Pearson 95% for 0/20 and 20/20,
    # computed by hand from the formulas (and the beta quantile
    # 1 - 0.025**(1/20) for the all-failure case).
    low, high = wilson(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert clopper_pearson(0, 20) == pytest.approx((0.0, 1 - 0.025 ** (1 / 20)))
    assert clopper_pearson(20, 20) == pytest.approx((0.025 ** (1 / 20), 1.0))
    assert wilson(0, 0) == clopper_pearson(0, 0) == (0.0, 1.0)


@given(
    st.integers(min_value=1, max_value=500).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    )
)
def test_intervals_contain_the_estimate_and_stay_in_range(case: tuple[int, int]) -> None:
    k, n = case
    p = k / n
    for low, high in (wilson(k, n), clopper_pearson(k, n)):
        assert 0.0 <= low <= p + 1e-12 and p - 1e-12 <= high <= 1.0


def test_clopper_pearson_covers_at_least_95_percent() -> None:
    rng = np.random.default_rng(0)
    p, n, runs = 0.03, 60, 2_000
    hits = 0
    for k in rng.binomial(n, p, size=runs):
        low, high = clopper_pearson(int(k), n)
        hits += low <= p <= high
    assert hits / runs >= 0.95


@pytest.mark.parametrize(("k", "n"), [(-1, 3), (4, 3), (1.0, 3)])
def test_bad_counts_are_refused(k: object, n: int) -> None:
    with pytest.raises(LocalProtocolError):
        Proportion(successes=k, trials=n)  # type: ignore[arg-type]


def test_json_has_stable_keys_and_rounded_values() -> None:
    data = Proportion(successes=1, trials=3).as_json()
    assert list(data) == ["successes", "trials", "rate", "wilson95", "clopper_pearson95"]
    assert data["rate"] == 0.333333
