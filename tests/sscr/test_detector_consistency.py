"""Phi accrual in fixed point, jittered deadlines, confirmations, and the
consistency bound (its soundness against generated hidden evidence)."""

from __future__ import annotations

from decimal import Context, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigilnet.errors import LocalProtocolError, RemoteProtocolError
from vigilnet.evidence import Verdict
from vigilnet.fixedpoint import SCALE
from vigilnet.protocols.sscr import (
    DRAW_BITS,
    LOG10_E_Q32,
    HeartbeatWindow,
    PeerWatch,
    consistency_bound,
    judge,
    max_unseen_terms,
    phi,
    staleness_deadline,
)


def test_log10_e_constant_is_pinned() -> None:
    context = Context(prec=80)
    exact = context.divide(Decimal(1), context.ln(Decimal(10))) * (1 << 32)
    assert LOG10_E_Q32 == 1865280597
    assert abs(Decimal(LOG10_E_Q32) - exact) <= Decimal("0.5")


@given(st.integers(0, 10**6), st.integers(1, 1000), st.integers(1, 10**6))
def test_phi_is_the_floor_of_the_exact_value(elapsed: int, n: int, total: int) -> None:
    got = phi(elapsed, n, total)
    exact = Fraction(elapsed * n * LOG10_E_Q32, total * SCALE)
    assert got == exact.numerator // exact.denominator
    # close to the real phi = elapsed / mean * log10(e)
    real = elapsed * n / total / 2.302585092994046
    assert abs(got / SCALE - real) <= 1e-6 * max(1.0, real) + 1 / SCALE


def test_phi_grows_with_silence_and_window_is_bounded() -> None:
    window = HeartbeatWindow(capacity=3, bootstrap_interval=10)
    for at in (0, 10, 20, 30, 40, 50):
        window = window.arrive(at)
    assert window.intervals == (10, 10, 10)
    assert window.phi_at(50) == 0
    assert window.phi_at(60) < window.phi_at(100) < window.phi_at(200)
    # phi(elapsed = mean) = log10(e) = 0.4343 in fixed point
    assert window.phi_at(60) == (10 * 3 * LOG10_E_Q32) // (30 * SCALE) == 28461
    with pytest.raises(RemoteProtocolError):
        window.arrive(49)


@given(st.integers(2, 10**9), st.integers(0, (1 << DRAW_BITS) - 1))
def test_deadline_is_exactly_base_times_uniform_half_to_three_halves(base: int, draw: int) -> None:
    deadline = staleness_deadline(base, draw)
    exact = Fraction(base) * (Fraction(1, 2) + Fraction(draw, 1 << DRAW_BITS))
    assert deadline == exact.numerator // exact.denominator
    assert Fraction(base, 2) - 1 < deadline < Fraction(3 * base, 2)
    assert deadline >= 1


def test_deadline_extremes_and_refusals() -> None:
    assert staleness_deadline(1000, 0) == 500
    assert staleness_deadline(1000, (1 << 64) - 1) == 1499
    assert staleness_deadline(1000, 1 << 63) == 1000
    with pytest.raises(LocalProtocolError):
        staleness_deadline(1000, 1 << 64)
    with pytest.raises(LocalProtocolError):
        staleness_deadline(1, 0)


def test_partition_needs_three_consecutive_suspicions_or_three_observers() -> None:
    watch = PeerWatch(window=HeartbeatWindow(capacity=8, bootstrap_interval=1))
    threshold = 8 * SCALE
    silent = [watch]
    for at in (100, 200, 300):
        silent.append(silent[-1].check(at, threshold, 3))
    assert [w.declared for w in silent] == [False, False, False, True]
    # only an unsuspected check resets the count; a heartbeat alone does not
    flap = watch.check(100, threshold, 3).check(200, threshold, 3).heard(250)
    assert flap.consecutive == 2
    assert flap.check(300, threshold, 3).declared  # 50 ticks of silence: third suspicion
    assert flap.check(251, threshold, 3).consecutive == 0  # heard 1 tick ago
    observers = watch.report("n1", 3).report("n2", 3).report("n2", 3)
    assert not observers.declared
    assert observers.report("n3", 3).declared


@given(
    st.integers(1, 10 * SCALE),
    st.fractions(min_value=Fraction(1, 10), max_value=Fraction(5), max_denominator=20),
    st.integers(0, 50),
    st.integers(0, 4),
    st.integers(-200 * SCALE, 200 * SCALE),
    st.data(),
)
def test_final_verdicts_survive_any_hidden_evidence_within_the_bound(
    lambda_max: int,
    rate: Fraction,
    staleness: int,
    unreachable: int,
    log_odds: int,
    data: st.DataObject,
) -> None:
    """Derivation step 4: whatever the unreachable sources produced within
    their rate bound, a final verdict is the verdict on all the evidence."""
    upper, lower = 3 * SCALE, -3 * SCALE
    bound = consistency_bound(lambda_max, rate, staleness, unreachable)
    judgement = judge(log_odds, upper=upper, lower=lower, margin=bound)
    terms = max_unseen_terms(rate, staleness) * unreachable
    hidden = data.draw(st.lists(st.integers(-lambda_max, lambda_max), max_size=terms))
    if judgement.final:
        after = judge(log_odds + sum(hidden), upper=upper, lower=lower, margin=0)
        assert after.verdict is judgement.verdict
    else:
        assert judgement.verdict is Verdict.UNDECIDED or bound > 0


def test_bound_is_the_product_rounded_up() -> None:
    assert consistency_bound(SCALE, Fraction(1, 3), 10, 2) == SCALE * 4 * 2
    assert consistency_bound(SCALE, 2, 0, 5) == 0
    assert max_unseen_terms(Fraction(1, 3), 9) == 3
    j = judge(5 * SCALE, upper=3 * SCALE, lower=-3 * SCALE, margin=2 * SCALE)
    assert (j.verdict, j.final) == (Verdict.FLAGGED, True)
    j = judge(5 * SCALE, upper=3 * SCALE, lower=-3 * SCALE, margin=2 * SCALE + 1)
    assert (j.verdict, j.final) == (Verdict.FLAGGED, False)
