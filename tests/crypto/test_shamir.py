"""k-of-n sharing over GF(2^8): the field, recovery, integrity, secrecy."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from vigilnet.crypto import (
    Share,
    ShareError,
    SigningKey,
    recover,
    recover_signing_key,
    split,
    split_signing_key,
)
from vigilnet.crypto._shamir import gf_inverse, gf_mul
from vigilnet.errors import LocalProtocolError

DEALER = SigningKey(bytes(range(32)))
OTHER = SigningKey(bytes(range(1, 33)))


def _table_mul(a: int, b: int) -> int:
    """Reference: carry-less multiplication then reduction, with branches
    (test only)."""
    product = 0
    for i in range(8):
        if (b >> i) & 1:
            product ^= a << i
    for bit in range(14, 7, -1):
        if (product >> bit) & 1:
            product ^= 0x11B << (bit - 8)
    return product


def test_field_multiplication_matches_the_reference_everywhere() -> None:
    for a in range(256):
        for b in range(256):
            assert gf_mul(a, b) == _table_mul(a, b)
    # Known AES values (FIPS-197 section 4.2): {57} * {83} = {c1}, {57} * {13} = {fe}.
    assert gf_mul(0x57, 0x83) == 0xC1 and gf_mul(0x57, 0x13) == 0xFE


def test_every_nonzero_element_has_its_inverse() -> None:
    assert gf_inverse(0) == 0
    for a in range(1, 256):
        assert gf_mul(a, gf_inverse(a)) == 1


def _seeded(seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    return lambda n: rng.bytes(n)


@settings(max_examples=60)
@given(
    st.binary(min_size=1, max_size=40),
    st.integers(min_value=1, max_value=6).flatmap(
        lambda k: st.tuples(st.just(k), st.integers(min_value=k, max_value=8))
    ),
    st.randoms(use_true_random=False),
)
def test_any_k_shares_recover(secret: bytes, kn: tuple[int, int], rnd) -> None:  # type: ignore[no-untyped-def]
    k, n = kn
    shares = split(secret, k, n, DEALER, random=lambda m: rnd.randbytes(m))
    assert len(shares) == n and {s.x for s in shares} == set(range(1, n + 1))
    subset = rnd.sample(list(shares), k)
    assert recover(subset, DEALER.verify_key) == secret
    assert recover(shares, DEALER.verify_key) == secret  # extras are cross-checked


def test_3_of_5_signing_key_recovery_from_every_triple() -> None:
    key = SigningKey(bytes(range(100, 132)))
    shares = split_signing_key(key, 3, 5, random=_seeded(1))
    for triple in itertools.combinations(shares, 3):
        assert recover_signing_key(triple, key.verify_key) == key
    for pair in itertools.combinations(shares, 2):
        with pytest.raises(ShareError, match="3 needed"):
            recover_signing_key(pair, key.verify_key)


def test_corrupted_foreign_and_mixed_shares_are_refused_before_recovery() -> None:
    shares = split(b"root key material!", 3, 5, DEALER, random=_seeded(2))
    flipped = replace(shares[1], y=bytes([shares[1].y[0] ^ 1]) + shares[1].y[1:])
    with pytest.raises(ShareError, match=r"x=2 .* not signed by the dealer"):
        recover([shares[0], flipped, shares[2]], DEALER.verify_key)
    moved = replace(shares[1], x=4)
    with pytest.raises(ShareError, match="not signed"):
        recover([shares[0], moved, shares[2]], DEALER.verify_key)
    # Another split of the same secret by the same dealer: a foreign set.
    other_split = split(b"root key material!", 3, 5, DEALER, random=_seeded(3))
    with pytest.raises(ShareError, match="belongs to set"):
        recover([shares[0], shares[1], other_split[2]], DEALER.verify_key)
    # Another dealer's shares, or the right shares checked against another dealer.
    foreign = split(b"root key material!", 3, 5, OTHER, random=_seeded(2))
    with pytest.raises(ShareError, match="not signed"):
        recover([shares[0], shares[1], foreign[2]], DEALER.verify_key)
    with pytest.raises(ShareError, match="not signed"):
        recover(shares[:3], OTHER.verify_key)
    with pytest.raises(ShareError, match="duplicate"):
        recover([shares[0], shares[0], shares[1]], DEALER.verify_key)
    with pytest.raises(ShareError, match="no shares"):
        recover([], DEALER.verify_key)


def test_a_dealers_inconsistent_extra_share_is_refused() -> None:
    shares = split(b"abc", 2, 4, DEALER, random=_seeded(4))
    # The dealer signs a share that is not on the polynomial.
    bad_y = bytes(b ^ 0x55 for b in shares[3].y)
    forged = Share(set_id=shares[3].set_id, threshold=2, total=4, x=4, y=bad_y,
                   tag=DEALER.sign(replace(shares[3], y=bad_y).sign_bytes()))  # fmt: skip
    assert recover([shares[0], shares[1]], DEALER.verify_key) == b"abc"
    with pytest.raises(ShareError, match="x=4 is inconsistent"):
        recover([shares[0], shares[1], forged], DEALER.verify_key)


@pytest.mark.parametrize(
    "changes",
    [
        {"set_id": b"short"},
        {"threshold": 0},
        {"threshold": 6},
        {"x": 0},
        {"x": 256},
        {"total": True},
        {"y": b""},
        {"tag": b"x" * 63},
    ],
)
def test_malformed_shares_are_refused(changes: dict[str, object]) -> None:
    share = split(b"s", 2, 5, DEALER, random=_seeded(5))[0]
    with pytest.raises(ShareError, match="malformed"):
        replace(share, **changes)


@pytest.mark.parametrize(("k", "n"), [(0, 3), (4, 3), (2, 256), (1.0, 2)])
def test_bad_parameters_are_local_errors(k: object, n: int) -> None:
    with pytest.raises(LocalProtocolError):
        split(b"s", k, n, DEALER)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        split(b"", 1, 1, DEALER)


def test_k_minus_1_shares_have_the_same_uniform_distribution_for_any_secret() -> None:
    """Two shares of a 3-of-5 split, for the secret byte 0x00 and for 0xff:
    each pair (y_1, y_2) should be uniform on 65,536 values, the same for
    both secrets.  8,192 splits per secret; bins are the 256 values of y_1
    and of y_2 (a chi-square goodness of fit each) and a chi-square test of
    homogeneity of the pair hashed into 64 bins, between the two secrets.
    Seeded, so the p-values are fixed; the threshold 1e-3 leaves room."""
    runs = 4_096
    rng = np.random.default_rng(7)

    def pairs(secret: int) -> list[tuple[int, int]]:
        out = []
        for _ in range(runs):
            shares = split(bytes([secret]), 3, 5, DEALER, random=lambda n: rng.bytes(n))
            out.append((shares[0].y[0], shares[1].y[0]))
        return out

    zero, full = pairs(0x00), pairs(0xFF)
    for sample in (zero, full):
        for index in (0, 1):
            counts = Counter(pair[index] for pair in sample)
            observed = [counts.get(v, 0) for v in range(256)]
            assert stats.chisquare(observed).pvalue > 1e-3
    bins = 64
    table = np.zeros((2, bins), dtype=np.int64)
    for row, sample in enumerate((zero, full)):
        for y1, y2 in sample:
            table[row, (y1 * 256 + y2) % bins] += 1
    assert stats.chi2_contingency(table).pvalue > 1e-3
    # Non-vacuity: the same test tells two distributions apart when one
    # share *does* depend on the secret (threshold 1: y = secret).
    leaky = np.zeros((2, bins), dtype=np.int64)
    for row, secret in enumerate((0x00, 0xFF)):
        for _ in range(512):
            y = split(bytes([secret]), 1, 2, DEALER, random=lambda n: rng.bytes(n))[0].y[0]
            leaky[row, y % bins] += 1
    assert stats.chi2_contingency(leaky + 1).pvalue < 1e-6
