"""The evidence core: exact SPRT thresholds, vectorised analysis equal to the
scalar rule, statistics that add exactly, Beta reputation."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilnet.errors import LocalProtocolError, RemoteProtocolError
from vigilnet.evidence import (
    DEFAULT_BEHAVIOUR_MODEL,
    BehaviourModel,
    Distribution,
    EvidenceStats,
    FeatureModel,
    ReputationPolicy,
    SprtThresholds,
    Verdict,
    fixed_log,
)
from vigilnet.fixedpoint import DEFAULT_LAMBDA_MAX, SCALE, to_fixed


def test_fixed_log_known_values() -> None:
    assert fixed_log(Fraction(1)) == 0
    assert fixed_log(Fraction(2)) == 45426  # ln 2 * 65536 = 45426.09...
    assert fixed_log(Fraction(1, 2)) == -45426
    assert fixed_log(Fraction(99)) == 301146  # ln 99 * 65536 = 301145.77...
    with pytest.raises(LocalProtocolError):
        fixed_log(Fraction(0))


@given(st.fractions(min_value=Fraction(1, 10**6), max_value=10**6))
def test_fixed_log_agrees_with_float_log(ratio: Fraction) -> None:
    assert abs(fixed_log(ratio) - math.log(ratio) * SCALE) <= 0.5 + 1e-6


def test_sprt_thresholds_and_verdicts() -> None:
    sprt = SprtThresholds(alpha=Fraction(1, 100), beta=Fraction(1, 100))
    assert sprt.upper == 301146
    assert sprt.lower == -301146
    assert sprt.verdict(sprt.upper) is Verdict.FLAGGED
    assert sprt.verdict(sprt.upper - 1) is Verdict.UNDECIDED
    assert sprt.verdict(sprt.lower) is Verdict.CLEARED
    assert sprt.verdict(sprt.lower + 1) is Verdict.UNDECIDED
    asymmetric = SprtThresholds(alpha=Fraction(1, 1000), beta=Fraction(1, 20))
    assert asymmetric.upper == round(math.log(0.95 / 0.001) * SCALE)
    assert asymmetric.lower == round(math.log(0.05 / 0.999) * SCALE)


@pytest.mark.parametrize("rate", [Fraction(0), Fraction(1, 2), Fraction(3, 4)])
def test_sprt_refuses_bad_error_rates(rate: Fraction) -> None:
    with pytest.raises(LocalProtocolError, match="must lie in"):
        SprtThresholds(alpha=rate, beta=Fraction(1, 100))


stats = st.builds(
    EvidenceStats, count=st.integers(0, 10**6), llr_sum=st.integers(-(10**12), 10**12)
)


@given(stats, stats, stats)
def test_statistics_add_exactly(a: EvidenceStats, b: EvidenceStats, c: EvidenceStats) -> None:
    assert a + b == b + a
    assert (a + b) + c == a + (b + c)
    assert a + EvidenceStats() == a
    assert (a + b).log_odds(prior=7) == 7 + a.llr_sum + b.llr_sum


def test_statistics_bound_refuses_impossible_summaries() -> None:
    EvidenceStats(count=2, llr_sum=2 * DEFAULT_LAMBDA_MAX).check_bound()
    with pytest.raises(RemoteProtocolError, match="exceeds"):
        EvidenceStats(count=2, llr_sum=2 * DEFAULT_LAMBDA_MAX + 1).check_bound()
    with pytest.raises(LocalProtocolError):
        EvidenceStats(count=-1, llr_sum=0)


def _scalar_llr(model: BehaviourModel, row: list[float]) -> list[int]:
    out = []
    for feature, x in zip(model.features, row, strict=True):
        logs = []
        for dist in (feature.misbehaving, feature.benign):
            frozen = dist.frozen()
            logs.append(float(frozen.logpmf(x) if hasattr(frozen, "logpmf") else frozen.logpdf(x)))
        llr = logs[0] - logs[1]
        if math.isinf(llr):
            out.append(int(math.copysign(model.lambda_max, llr)))
        else:
            out.append(to_fixed(llr, model.lambda_max))
    return out


observation_rows = st.tuples(
    st.floats(0.01, 20.0),
    st.floats(0.0, 0.99),
    st.floats(0.01, 5.0),
    st.integers(0, 6).map(float),
)


@settings(max_examples=40)
@given(st.lists(observation_rows, min_size=1, max_size=8))
def test_vectorised_analysis_equals_scalar_rule(
    rows: list[tuple[float, float, float, float]],
) -> None:
    """numpy's rint(x * 2**16) is exactly the documented ties-to-even rule."""
    llr = DEFAULT_BEHAVIOUR_MODEL.llr_fixed(rows)
    assert llr.dtype == np.int64
    for row, got in zip(rows, llr.tolist(), strict=True):
        assert got == _scalar_llr(DEFAULT_BEHAVIOUR_MODEL, list(row))
    counts, sums = DEFAULT_BEHAVIOUR_MODEL.evidence(rows)
    assert counts.tolist() == [4] * len(rows)
    assert sums.tolist() == [sum(r) for r in llr.tolist()]


def test_misbehaving_profile_is_flagged_and_benign_cleared() -> None:
    rng = np.random.default_rng(7)
    n = 2000
    benign = np.column_stack(
        [
            scipy.stats.gamma(a=4.0, scale=0.5).rvs(n, random_state=rng),
            scipy.stats.beta(a=1.0, b=30.0).rvs(n, random_state=rng),
            scipy.stats.lognorm(s=0.4, scale=0.3).rvs(n, random_state=rng),
            scipy.stats.poisson(mu=0.05).rvs(n, random_state=rng),
        ]
    )
    bad = np.column_stack(
        [
            scipy.stats.gamma(a=3.0, scale=2.0).rvs(n, random_state=rng),
            scipy.stats.beta(a=2.0, b=8.0).rvs(n, random_state=rng),
            scipy.stats.lognorm(s=0.6, scale=0.9).rvs(n, random_state=rng),
            scipy.stats.poisson(mu=1.5).rvs(n, random_state=rng),
        ]
    )
    sprt = SprtThresholds(alpha=Fraction(1, 100), beta=Fraction(1, 100))
    _, benign_sums = DEFAULT_BEHAVIOUR_MODEL.evidence(benign)
    _, bad_sums = DEFAULT_BEHAVIOUR_MODEL.evidence(bad)
    flagged_benign = sum(sprt.verdict(int(s)) is Verdict.FLAGGED for s in benign_sums)
    flagged_bad = sum(sprt.verdict(int(s)) is Verdict.FLAGGED for s in bad_sums)
    # One epoch of four features separates the two profiles well.
    assert flagged_benign < n // 100
    assert flagged_bad > n * 8 // 10


def test_impossible_and_one_sided_observations() -> None:
    with pytest.raises(LocalProtocolError, match="impossible under both"):
        DEFAULT_BEHAVIOUR_MODEL.llr_fixed([[1.0, 2.0, 1.0, 0.0]])  # error rate 2.0
    with pytest.raises(LocalProtocolError, match="shape"):
        DEFAULT_BEHAVIOUR_MODEL.llr_fixed([[1.0, 0.1]])
    one_sided = BehaviourModel(
        features=(
            FeatureModel(
                name="x",
                benign=Distribution.of("uniform", loc=0.0, scale=1.0),
                misbehaving=Distribution.of("uniform", loc=0.0, scale=2.0),
            ),
        ),
    )
    assert one_sided.llr_fixed([[1.5], [0.5]])[:, 0].tolist() == [
        DEFAULT_LAMBDA_MAX,
        to_fixed(math.log(0.5)),
    ]


def test_config_round_trip_and_errors() -> None:
    config = {
        "lambda_max": 4 * SCALE,
        "features": [
            {
                "name": "rate",
                "benign": {"family": "expon", "params": {"scale": 1.0}},
                "misbehaving": {"family": "expon", "params": {"scale": 3.0}},
            },
        ],
    }
    model = BehaviourModel.from_config(config)
    assert model.feature_names == ("rate",)
    assert model.lambda_max == 4 * SCALE
    with pytest.raises(LocalProtocolError, match="unknown distribution"):
        Distribution.of("no_such_distribution")
    with pytest.raises(LocalProtocolError, match="configuration"):
        BehaviourModel.from_config({"features": [{"name": "x"}]})


def test_reputation_gate_and_penalty() -> None:
    policy = ReputationPolicy()
    fresh = policy.new()
    assert fresh.score(0) == Fraction(5, 6)
    assert fresh.admitted(0, policy)
    # Three inconsistent epochs push it under 4/5.
    worse = fresh
    for _ in range(3):
        worse = worse.observe(consistent=0, inconsistent=1, policy=policy)
    assert worse.score(0) < Fraction(4, 5)
    assert not worse.admitted(0, policy)
    # Consistent behaviour and forgetting bring it back.
    better = worse
    epochs = 0
    while not better.admitted(0, policy):
        better = better.observe(consistent=1, inconsistent=0, policy=policy)
        epochs += 1
    assert 1 <= epochs <= 20
    # Proof of misbehaviour: zero, excluded for ban_epochs, then must re-earn.
    banned = better.penalise(epoch=100, policy=policy)
    assert banned.score(100) == 0
    assert not banned.admitted(100 + policy.ban_epochs, policy)
    assert banned.score(101 + policy.ban_epochs) == Fraction(1, 2)
    assert not banned.admitted(101 + policy.ban_epochs, policy)


@given(st.integers(0, 50), st.integers(0, 50))
def test_admission_is_exactly_the_threshold(s: int, u: int) -> None:
    policy = ReputationPolicy(forgetting=Fraction(1), prior_consistent=0)
    rep = policy.new().observe(consistent=s, inconsistent=u, policy=policy)
    assert rep.score(0) == Fraction(s + 1, s + u + 2)
    assert rep.admitted(0, policy) == (Fraction(s + 1, s + u + 2) >= Fraction(4, 5))
