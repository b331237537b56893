"""The security primitives' CPU time (``_Meter.counting``): what is timed,
what is counted, what the targets table makes of it, and that the patched
functions are restored after the run."""

from __future__ import annotations

import hashlib
from fractions import Fraction

import nacl.bindings
import numpy as np
import pytest

from tests.sim._small import TOPOLOGY, small
from vigilnet import kernels
from vigilnet.evidence import DEFAULT_BEHAVIOUR_MODEL
from vigilnet.sim._deployment import (
    PRIMITIVES,
    RunResult,
    SecurityCost,
    _Meter,
    run_deployment,
)
from vigilnet.sim._html import targets_table
from vigilnet.sim._report import make_report

EPOCHS = 2


@pytest.fixture(scope="module")
def run() -> RunResult:
    return run_deployment(small(epochs=EPOCHS))


def test_every_verification_is_timed_once_and_counted_per_tier(run: RunResult) -> None:
    meter = run.deployment.meter
    cost = meter.security_cost()
    assert set(cost.primitive_ns) == set(PRIMITIVES)
    assert cost.primitive_calls["ed25519_verify"] == sum(meter.verifications.values())
    # each signed SHAP report and receipt, SDBC vote and summary is one call
    assert cost.primitive_calls["ed25519_sign"] > 0
    assert all(ns > 0 for ns in cost.primitive_ns.values())
    assert 0 < cost.share < 1  # type: ignore[operator]
    assert cost.total_ns == sum(meter.cpu_ns.values())


def test_evidence_points_are_every_monitors_terms(run: RunResult) -> None:
    cost = run.deployment.meter.security_cost()
    features = len(DEFAULT_BEHAVIOUR_MODEL.features)
    expected = TOPOLOGY.agents * TOPOLOGY.replicas * features * EPOCHS
    assert cost.evidence_points == expected
    assert cost.evidence_points_per_second == Fraction(expected * 10**9, cost.monitor_ns)


def test_the_patched_primitives_are_restored() -> None:
    before = (
        nacl.bindings.crypto_sign_open,
        nacl.bindings.crypto_sign,
        hashlib.sha256,
        kernels.sha256_rows,
    )
    with pytest.raises(RuntimeError), _Meter().counting():
        assert nacl.bindings.crypto_sign is not before[1]
        raise RuntimeError("stop")
    after = (
        nacl.bindings.crypto_sign_open,
        nacl.bindings.crypto_sign,
        hashlib.sha256,
        kernels.sha256_rows,
    )
    assert after == before


def test_a_primitive_inside_another_is_timed_by_the_outer_one() -> None:
    meter = _Meter()
    with meter.counting():
        kernels.sha256_rows(np.zeros((3, 40), dtype=np.uint8))
        hashlib.sha256(b"x").digest()
    # one call each, whichever backend the row kernel has (the pure-Python
    # one calls hashlib inside and must not count twice)
    assert meter.primitive_calls["sha256"] == 2


def _cost(share: Fraction) -> SecurityCost:
    return SecurityCost(
        total_ns=share.denominator * 1000,
        primitive_ns={"sha256": share.numerator * 1000},
        primitive_calls={"sha256": 1, "ed25519_verify": 10_000},
        monitor_ns=10**9,
        evidence_points=1_000_000,
    )


@pytest.mark.parametrize(
    ("share", "verdict"), [(Fraction(5, 100), "missed"), (Fraction(499, 10_000), "met")]
)
def test_the_overhead_must_be_strictly_under_five_percent(
    run: RunResult, share: Fraction, verdict: str
) -> None:
    rows = {r.name: r for r in targets_table(make_report(run), _cost(share))}
    assert rows["security overhead"].measured == share
    assert rows["security overhead"].verdict == verdict
    # exactly 1,000,000 points in one CPU second: not "over" the target
    assert rows["evidence points per second"].measured == 1_000_000
    assert rows["evidence points per second"].verdict == "missed"
    # no CPU in verifying: the rate is not measured, never divided by zero
    assert rows["signature verifications per second per node"].measured is None
