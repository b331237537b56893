"""Fixed-point log-likelihood ratios: rounding rule, clamp, overflow bound."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigilnet.errors import LocalProtocolError
from vigilnet.evidence import EvidenceStats
from vigilnet.fixedpoint import (
    DEFAULT_LAMBDA_MAX,
    INT64_MAX,
    LAMBDA_MAX_LIMIT,
    MAX_EVIDENCE_COUNT,
    SCALE,
    accumulate,
    clamp,
    to_fixed,
    to_float,
)


def test_ties_round_to_even() -> None:
    half_unit = 1 / (2 * SCALE)  # exactly representable
    assert to_fixed(half_unit) == 0
    assert to_fixed(3 * half_unit) == 2
    assert to_fixed(-half_unit) == 0
    assert to_fixed(-3 * half_unit) == -2
    assert to_fixed(Fraction(5, 2 * SCALE)) == 2


def test_clamp() -> None:
    assert to_fixed(1e300) == DEFAULT_LAMBDA_MAX
    assert to_fixed(-1e300) == -DEFAULT_LAMBDA_MAX
    assert clamp(10, lambda_max=5) == 5


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_rejected(bad: float) -> None:
    with pytest.raises(LocalProtocolError, match="not finite"):
        to_fixed(bad)


@pytest.mark.parametrize("lambda_max", [0, -1, LAMBDA_MAX_LIMIT + 1])
def test_lambda_max_bounds(lambda_max: int) -> None:
    with pytest.raises(LocalProtocolError, match="lambda_max"):
        clamp(0, lambda_max)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-7.9, max_value=7.9))
def test_within_half_unit(x: float) -> None:
    fp = to_fixed(x)
    assert abs(Fraction(fp, SCALE) - Fraction(x)) <= Fraction(1, 2 * SCALE)
    assert abs(to_float(fp) - x) <= 1 / SCALE


def test_overflow_bound_documented() -> None:
    worst = LAMBDA_MAX_LIMIT * MAX_EVIDENCE_COUNT
    assert worst <= INT64_MAX
    # ... but only one accumulator's worth: two full ones would overflow, which
    # is why merged counts are bounded too.
    assert 2 * worst > INT64_MAX
    full = EvidenceStats(count=MAX_EVIDENCE_COUNT, llr_sum=worst)
    with pytest.raises(LocalProtocolError, match="out of range"):
        full + EvidenceStats(count=1, llr_sum=0)


def test_accumulate_refuses_out_of_range() -> None:
    assert accumulate(0, 0, 5) == (5, 1)
    with pytest.raises(LocalProtocolError, match="outside"):
        accumulate(0, 0, DEFAULT_LAMBDA_MAX + 1)
    with pytest.raises(LocalProtocolError, match="already holds"):
        accumulate(0, MAX_EVIDENCE_COUNT, 1)
