"""Every kernel, on both native paths, bit-identical to its pure-Python
reference: the same arrays, or the same refusal (class and message)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vigilnet.kernels as kernels
from vigilnet.aggregation import replica_median, trimmed_combination
from vigilnet.errors import LocalProtocolError
from vigilnet.evidence import SprtThresholds, Verdict
from vigilnet.fixedpoint import LAMBDA_MAX_LIMIT, MAX_EVIDENCE_COUNT

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1

int64s = st.one_of(
    st.sampled_from([INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX]),
    st.integers(INT64_MIN, INT64_MAX),
    st.integers(-1000, 1000),
)
int32s = st.one_of(
    st.sampled_from([INT32_MIN, INT32_MAX, 0, -1, 1]),
    st.integers(INT32_MIN, INT32_MAX),
    st.integers(-(1 << 20), 1 << 20),
)
lambda_maxes = st.one_of(
    st.sampled_from([1, 8 << 16, LAMBDA_MAX_LIMIT]), st.integers(1, LAMBDA_MAX_LIMIT)
)


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        result = call()
    except LocalProtocolError as exc:
        return "refused", str(exc)
    if isinstance(result, tuple):
        return "ok", tuple(a.tolist() for a in result)
    if isinstance(result, np.ndarray):
        return "ok", (str(result.dtype), result.tolist())
    return "ok", result


def on_reference(call: Callable[[], Any]) -> tuple[str, Any]:
    previous = kernels.select_backend("reference")
    try:
        return outcome(call)
    finally:
        kernels.select_backend(previous)


def same(call: Callable[[], Any]) -> tuple[str, Any]:
    native = outcome(call)
    assert native == on_reference(call)
    return native


@st.composite
def tables(draw: st.DrawFn, rows: st.SearchStrategy[int]) -> np.ndarray:
    r = draw(rows)
    n = draw(st.integers(0, 11))
    cells = draw(st.lists(int64s, min_size=r * n, max_size=r * n))
    return np.array(cells, dtype=np.int64).reshape(r, n)


@settings(max_examples=150)
@given(values=tables(st.integers(1, kernels.MAX_ROWS)))
def test_lower_median(native_backend: str, values: np.ndarray) -> None:
    status, result = same(lambda: kernels.lower_median(values))
    assert status == "ok"
    assert result[1] == [replica_median(list(column)) for column in values.T.tolist()]


@settings(max_examples=150)
@given(values=tables(st.sampled_from([1, 3, 5])), data=st.data())
def test_lower_median_of_3_and_5(
    native_backend: str, values: np.ndarray, data: st.DataObject
) -> None:
    same(lambda: kernels.lower_median(values))


@settings(max_examples=150)
@given(values=tables(st.integers(1, kernels.MAX_ROWS)), data=st.data())
def test_trimmed_sum(native_backend: str, values: np.ndarray, data: st.DataObject) -> None:
    m = values.shape[0]
    f = data.draw(st.integers(0, (m - 1) // 2))
    status, result = same(lambda: kernels.trimmed_sum(values, f))
    if status == "ok":
        for column, total in zip(values.T.tolist(), result[1], strict=True):
            assert Fraction(total, m - 2 * f) == trimmed_combination(column, f)
    else:
        assert result == "a trimmed sum leaves int64"


@settings(max_examples=150)
@given(
    data=st.data(),
    n_agents=st.integers(0, 9),
    lambda_max=lambda_maxes,
    start=st.sampled_from(["zero", "given", "near limits"]),
)
def test_llr_accumulate(
    native_backend: str, data: st.DataObject, n_agents: int, lambda_max: int, start: str
) -> None:
    n = data.draw(st.integers(0, 30))
    index = st.integers(0, max(n_agents - 1, 0)) if n_agents else st.integers(-2, 2)
    if data.draw(st.booleans()):
        index = st.integers(-2, n_agents + 2)
    agents = np.array(data.draw(st.lists(index, min_size=n, max_size=n)), dtype=np.int64)
    evidence = np.array(data.draw(st.lists(int32s, min_size=n, max_size=n)), dtype=np.int32)
    counts = sums = None
    if start == "given":
        counts = np.array(
            data.draw(
                st.lists(st.integers(0, MAX_EVIDENCE_COUNT), min_size=n_agents, max_size=n_agents)
            ),
            dtype=np.int64,
        )
        sums = np.array(
            data.draw(st.lists(int64s, min_size=n_agents, max_size=n_agents)), dtype=np.int64
        )
    elif start == "near limits":
        counts = np.full(n_agents, MAX_EVIDENCE_COUNT - 1, dtype=np.int64)
        sums = np.array(
            data.draw(
                st.lists(
                    st.sampled_from([INT64_MAX - 1, INT64_MIN + 1, INT64_MAX, INT64_MIN]),
                    min_size=n_agents,
                    max_size=n_agents,
                )
            ),
            dtype=np.int64,
        )
    same(
        lambda: kernels.llr_accumulate(
            agents, evidence, n_agents, lambda_max=lambda_max, counts=counts, sums=sums
        )
    )


@settings(max_examples=150)
@given(
    log_odds=st.lists(int64s, max_size=20),
    lower=int64s,
    upper=int64s,
    prior=st.one_of(st.just(0), int64s),
)
def test_sprt_classify(
    native_backend: str, log_odds: list[int], lower: int, upper: int, prior: int
) -> None:
    column = np.array(log_odds, dtype=np.int64)
    same(lambda: kernels.sprt_classify(column, lower=lower, upper=upper, prior=prior))


@settings(max_examples=100)
@given(
    log_odds=st.lists(st.integers(-(1 << 40), 1 << 40), max_size=20),
    prior=st.integers(-(1 << 40), 1 << 40),
)
def test_sprt_classify_matches_the_verdict(
    native_backend: str, log_odds: list[int], prior: int
) -> None:
    thresholds = SprtThresholds(alpha=Fraction(1, 100), beta=Fraction(1, 20))
    lower, upper = thresholds.lower, thresholds.upper
    log_odds += [lower, upper, lower - 1, upper - 1, lower + 1, upper + 1]
    codes = kernels.sprt_classify(
        np.array(log_odds, dtype=np.int64), lower=lower - prior, upper=upper - prior
    )
    expected = {
        Verdict.FLAGGED: kernels.FLAGGED,
        Verdict.CLEARED: kernels.CLEARED,
        Verdict.UNDECIDED: kernels.UNDECIDED,
    }
    assert codes.tolist() == [expected[thresholds.verdict(v + prior)] for v in log_odds]


@settings(max_examples=150)
@given(a=st.binary(max_size=100), data=st.data())
def test_ct_equal_and_select(native_backend: str, a: bytes, data: st.DataObject) -> None:
    b = data.draw(
        st.one_of(st.just(a), st.binary(min_size=len(a), max_size=len(a)), st.binary(max_size=100))
    )
    assert same(lambda: kernels.ct_equal(a, b)) == ("ok", a == b)
    if len(a) == len(b):
        for choice in (0, 1):
            assert same(lambda c=choice: kernels.ct_select(c, a, b)) == ("ok", a if choice else b)


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 1000, 4099])
def test_large_arrays_both_paths(native_backend: str, n: int) -> None:
    rng = np.random.default_rng(n)
    for r in (1, 3, 5, 7, 16):
        values = rng.integers(INT64_MIN, INT64_MAX, size=(r, n), dtype=np.int64, endpoint=True)
        assert (
            kernels.lower_median(values).tolist() == np.sort(values, axis=0)[(r - 1) // 2].tolist()
        )
        small = values >> 8
        for f in range((r - 1) // 2 + 1):
            expected = np.sort(small, axis=0)[f : r - f].sum(axis=0)
            assert kernels.trimmed_sum(small, f).tolist() == expected.tolist()
    agents = rng.integers(0, 97, size=n).astype(np.int64)
    evidence = rng.integers(INT32_MIN, INT32_MAX, size=n, dtype=np.int32, endpoint=True)
    counts, sums = kernels.llr_accumulate(agents, evidence, 97, lambda_max=1 << 19)
    assert counts.tolist() == np.bincount(agents, minlength=97).tolist()
    clamped = np.clip(evidence, -(1 << 19), 1 << 19).astype(np.int64)
    expected_sums = np.zeros(97, dtype=np.int64)
    np.add.at(expected_sums, agents, clamped)
    assert sums.tolist() == expected_sums.tolist()
    text = rng.bytes(n)
    assert kernels.ct_equal(text, text)
    if n:
        changed = bytearray(text)
        changed[-1] ^= 1
        assert not kernels.ct_equal(text, bytes(changed))
        assert not kernels.ct_equal(bytes(changed), text)


def test_edge_values(native_backend: str) -> None:
    full = np.array([[INT64_MAX], [INT64_MAX], [1]], dtype=np.int64)
    assert kernels.lower_median(full).tolist() == [INT64_MAX]
    with pytest.raises(LocalProtocolError, match="a trimmed sum leaves int64"):
        kernels.trimmed_sum(full, 0)
    assert kernels.trimmed_sum(full, 1).tolist() == [INT64_MAX]
    low = np.array([[INT64_MIN], [INT64_MIN], [-1], [INT64_MAX]], dtype=np.int64)
    with pytest.raises(LocalProtocolError, match="a trimmed sum leaves int64"):
        kernels.trimmed_sum(low, 1)
    # the exact sum fits although partial sums leave int64 both ways
    wide = np.array([[INT64_MAX], [INT64_MIN], [INT64_MAX], [INT64_MIN + 1]], dtype=np.int64)
    assert kernels.trimmed_sum(wide, 0).tolist() == [-1]
    assert kernels.lower_median(np.zeros((1, 0), dtype=np.int64)).tolist() == []
    assert kernels.lower_median(np.array([[7, -7]], dtype=np.int64)).tolist() == [7, -7]
    empty = np.zeros(0, dtype=np.int64)
    counts, sums = kernels.llr_accumulate(empty, np.zeros(0, dtype=np.int32), 0)
    assert counts.tolist() == sums.tolist() == []
    with pytest.raises(LocalProtocolError, match="more than"):
        kernels.llr_accumulate(
            np.array([0], dtype=np.int64),
            np.array([1], dtype=np.int32),
            1,
            counts=np.array([MAX_EVIDENCE_COUNT], dtype=np.int64),
        )
    with pytest.raises(LocalProtocolError, match="a partial sum leaves int64"):
        kernels.llr_accumulate(
            np.array([0], dtype=np.int64),
            np.array([1], dtype=np.int32),
            1,
            sums=np.array([INT64_MAX], dtype=np.int64),
        )
    with pytest.raises(LocalProtocolError, match=r"outside 0\.\.n_agents-1"):
        kernels.llr_accumulate(np.array([1], dtype=np.int64), np.array([1], dtype=np.int32), 1)
    with pytest.raises(LocalProtocolError, match="a log-odds leaves int64"):
        kernels.sprt_classify(np.array([INT64_MAX], dtype=np.int64), lower=-1, upper=1, prior=1)
    clamped, _ = kernels.llr_accumulate(
        np.array([0, 0], dtype=np.int64),
        np.array([INT32_MIN, INT32_MAX], dtype=np.int32),
        1,
        lambda_max=5,
    )
    assert clamped.tolist() == [2]
