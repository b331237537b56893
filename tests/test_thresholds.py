"""Quorum arithmetic against brute force and against exact rationals."""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigilnet.errors import LocalProtocolError
from vigilnet.thresholds import (
    QuorumConfig,
    blocking,
    intersection,
    max_live_faults,
    max_safe_faults,
    parse_threshold,
    quorum,
)

THRESHOLDS = [
    Fraction(a, b)
    for a, b in [
        (51, 100),
        (14, 25),
        (3, 5),
        (5, 8),
        (2, 3),
        (7, 10),
        (3, 4),
        (4, 5),
        (9, 10),
        (1, 1),
    ]
]


def _masks(n: int, size: int) -> np.ndarray:
    return np.array([sum(1 << i for i in c) for c in combinations(range(n), size)], dtype=np.uint64)


def _popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x)


@pytest.mark.parametrize("n", range(1, 13))
def test_against_brute_force_over_member_subsets(n: int) -> None:
    """Every function agrees with its definition, checked over every pair of
    member subsets of a group of n <= 12."""
    for q in sorted({quorum(t, n) for t in THRESHOLDS}):
        quorums = _masks(n, q)
        meet = _popcount(quorums[:, None] & quorums[None, :])
        smallest_meet = int(meet.min())
        assert intersection(n, q) == smallest_meet
        # f faulty members can hide in every common part of size <= f.
        assert max_safe_faults(n, q) == smallest_meet - 1
        # blocking: the smallest k such that every k-set meets every quorum.
        brute_blocking = next(
            k
            for k in range(n + 1)
            if k > 0 and bool((_popcount(_masks(n, k)[:, None] & quorums[None, :]) > 0).all())
        )
        assert blocking(n, q) == brute_blocking
        # live: the largest f such that the n - f honest members hold a quorum.
        assert max_live_faults(n, q) == max(f for f in range(n + 1) if n - f >= q)
    for t in THRESHOLDS:
        assert quorum(t, n) == min(k for k in range(n + 1) if Fraction(k, n) >= t)


def test_exact_for_large_groups() -> None:
    ts = [*THRESHOLDS, Fraction(2, 3) + Fraction(1, 10**9), Fraction(99, 100), Fraction(501, 1000)]
    for t in ts:
        for n in range(1, 10_001):
            q = quorum(t, n)
            assert q == math.ceil(t * n)  # Fraction.__ceil__ is exact
            assert Fraction(q, n) >= t > Fraction(q - 1, n)


def test_float_trap() -> None:
    # The reason we never use floats: ceil(0.56 * 25) is 15 in binary floating point.
    assert math.ceil(0.56 * 25) == 15
    assert quorum(parse_threshold("0.56"), 25) == 14
    assert quorum(Fraction(3, 4), 5) == 4
    assert blocking(5, 4) == 2
    assert max_safe_faults(5, 4) == 2
    assert max_live_faults(5, 4) == 1


@given(
    st.fractions(min_value=Fraction(1, 2), max_value=1, max_denominator=10**6),
    st.integers(1, 10**6),
)
def test_quorum_is_the_exact_ceiling(t: Fraction, n: int) -> None:
    if t <= Fraction(1, 2):
        with pytest.raises(LocalProtocolError, match="greater than 1/2"):
            quorum(t, n)
        return
    q = quorum(t, n)
    assert q * t.denominator >= t.numerator * n > (q - 1) * t.denominator


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"n": 5, "threshold": Fraction(1, 2), "members": tuple(bytes([i]) for i in range(5))},
            "greater than 1/2",
        ),
        (
            {"n": 5, "threshold": Fraction(2, 5), "members": tuple(bytes([i]) for i in range(5))},
            "greater than 1/2",
        ),
        (
            {"n": 5, "threshold": Fraction(6, 5), "members": tuple(bytes([i]) for i in range(5))},
            "at most 1",
        ),
        (
            {"n": 5, "threshold": Fraction(3, 4), "members": tuple(bytes([i]) for i in range(4))},
            "4 entries but n = 5",
        ),
        ({"n": 3, "threshold": Fraction(3, 4), "members": (b"a", b"a", b"b")}, "duplicates"),
        ({"n": 0, "threshold": Fraction(3, 4), "members": ()}, "positive integer"),
    ],
)
def test_config_validation_rejects(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(LocalProtocolError, match=message):
        QuorumConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("n", "q"), [(5, 6), (5, 0), (0, 0)])
def test_quorum_larger_than_group_rejected(n: int, q: int) -> None:
    with pytest.raises(LocalProtocolError):
        blocking(n, q)


def test_config_counts_distinct_members_only() -> None:
    members = tuple(bytes([i]) for i in range(5))
    config = QuorumConfig.build(threshold="3/4", members=members)
    assert (config.quorum, config.blocking, config.max_safe_faults, config.max_live_faults) == (
        4,
        2,
        2,
        1,
    )
    assert config.is_quorum(frozenset(members[:4]))
    assert not config.is_quorum(frozenset(members[:3]) | {b"outsider"})
    assert config.is_blocking(frozenset(members[:2]))


def test_parse_threshold_rejects_garbage() -> None:
    with pytest.raises(LocalProtocolError, match="not a fraction"):
        parse_threshold("three quarters")


@given(
    st.integers(min_value=1, max_value=9),
    st.sampled_from(["51/100", "2/3", "3/4", "1"]),
    st.data(),
)
def test_is_quorum_and_is_blocking_count_distinct_members_only(
    n: int, threshold: str, data: st.DataObject
) -> None:
    """Both predicates are exactly "at least so many members among the
    signers", whatever outsiders sign too (kills ``&`` -> ``|`` and ``>=`` ->
    ``>``: sets of exactly ``quorum - 1``, ``quorum``, ``blocking - 1`` and
    ``blocking`` members are drawn)."""
    members = tuple(bytes([i]) for i in range(n))
    config = QuorumConfig.build(threshold=threshold, members=members)
    size = data.draw(st.integers(min_value=0, max_value=n))
    chosen = data.draw(st.permutations(members))[:size]
    outsiders = data.draw(st.sets(st.binary(min_size=2, max_size=2), max_size=3))
    signers = frozenset(chosen) | outsiders
    assert config.is_quorum(signers) is (size >= config.quorum)
    assert config.is_blocking(signers) is (size >= config.blocking)
    for edge in {config.quorum - 1, config.quorum, config.blocking - 1, config.blocking}:
        if 0 <= edge <= n:
            exact = frozenset(members[:edge]) | outsiders
            assert config.is_quorum(exact) is (edge >= config.quorum)
            assert config.is_blocking(exact) is (edge >= config.blocking)


def test_parse_threshold_reads_each_form_exactly() -> None:
    """Kills the mutants that return the wrong value for ``int`` or
    padded text input (mutation run, `docs/assurance.md`)."""
    assert parse_threshold(" 3/4 ") == Fraction(3, 4)
    assert parse_threshold("0.56") == Fraction(14, 25)
    assert parse_threshold(1) == Fraction(1)
    half = Fraction(2, 3)
    assert parse_threshold(half) is half


def test_a_float_threshold_is_refused_by_name() -> None:
    with pytest.raises(LocalProtocolError, match=r"^threshold must be a Fraction, got 0\.75$"):
        quorum(0.75, 4)  # type: ignore[arg-type]


def test_a_quorum_outside_the_group_is_refused_by_name() -> None:
    with pytest.raises(LocalProtocolError, match=r"^quorum 6 must lie in 1\.\.5$"):
        blocking(5, 6)


def test_duplicate_members_are_refused_by_name() -> None:
    with pytest.raises(LocalProtocolError, match=r"^member list contains duplicates$"):
        QuorumConfig(n=2, threshold=Fraction(3, 4), members=(b"a", b"a"))


@pytest.mark.parametrize(
    ("n", "q", "shared"), [(4, 1, 0), (4, 2, 0), (5, 2, 0), (5, 3, 1), (4, 4, 4)]
)
def test_intersection_is_zero_when_quorums_can_be_disjoint(n: int, q: int, shared: int) -> None:
    """``intersection`` is public and defined for any ``1 <= q <= n``, not
    only for thresholds above 1/2 (kills ``max(0, ...)`` -> ``max(1, ...)``)."""
    assert intersection(n, q) == shared
