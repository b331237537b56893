"""The CUSUM change-point detector on heartbeat gaps, and its study against
the fixed-threshold phi detector (``sim/_changepoint.py``)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vigilnet.sim._changepoint import (
    CUSUM_THRESHOLDS,
    PHI_THRESHOLDS,
    STUDY,
    Cusum,
    roc,
    run_cusum,
)
from vigilnet.sim._html import render_html
from vigilnet.sim._scenario import ScenarioError
from vigilnet.sim._sscr import TimingConfig

SEEDS = range(12)


def test_cusum_accumulates_excess_gaps_and_forgets_short_ones() -> None:
    c = Cusum(reference=100, slack=10, threshold=250)
    c = c.observe(90)  # below reference + slack: stays at 0
    assert c.score == 0
    c = c.observe(300).observe(200)  # +190, +90
    assert c.score == 280 and c.alarm()
    assert not Cusum(100, 10, 250).observe(300).alarm()  # 190 < 250
    # the open gap counts at a check, without an arrival
    assert Cusum(100, 10, 250).observe(300).alarm(open_gap=170)  # 190 + 60
    assert not Cusum(100, 10, 250).observe(300).alarm(open_gap=169)


@pytest.mark.parametrize("args", [(0, 0, 1), (100, -1, 1), (100, 0, 0)])
def test_cusum_refuses_bad_parameters(args: tuple[int, int, int]) -> None:
    with pytest.raises(ScenarioError):
        Cusum(*args)


def test_a_perfect_link_never_alarms_whatever_the_threshold() -> None:
    config = TimingConfig(jitter=0)
    for seed in SEEDS:
        assert run_cusum(config, seed, min(CUSUM_THRESHOLDS), attack=None) is None


def test_a_plain_cut_alarms_once_the_open_gap_exceeds_the_threshold() -> None:
    config = TimingConfig(jitter=0)
    for seed in SEEDS:
        at = run_cusum(config, seed, 400, attack="partition")
        assert at is not None and at >= config.cut_at
        # the last heartbeat heard was sent before the cut; by the alarm the
        # gap since then exceeds reference + slack + threshold
        last = (config.cut_at - 1) // config.heartbeat * config.heartbeat
        assert at - last >= config.heartbeat + 400


def test_runs_are_deterministic_in_the_seed() -> None:
    assert run_cusum(STUDY, 3, 400, attack="timing") == run_cusum(STUDY, 3, 400, attack="timing")
    assert [p.as_dict() for p in roc(seeds=range(3))] == [p.as_dict() for p in roc(seeds=range(3))]


def test_cusum_sees_the_leaks_sooner_than_the_protocols_phi_threshold() -> None:
    """Against the timing attack: CUSUM at 400 ticks detects every seed with
    no false alarm, sooner on average than phi at the protocol's default
    threshold (2.5 intervals) with its false alarms no lower."""
    points = {(p.detector, p.attack, p.threshold): p for p in roc(seeds=SEEDS)}
    cusum = points[("cusum", "timing", 400)]
    phi = points[("phi", "timing", TimingConfig().phi_threshold)]
    assert cusum.detected == len(SEEDS) and cusum.false_alarms == 0
    assert cusum.false_alarms <= phi.false_alarms or phi.detected < len(SEEDS)
    assert cusum.mean_delay is not None and phi.mean_delay is not None
    assert cusum.mean_delay < phi.mean_delay


def test_a_low_threshold_raises_false_alarms_on_the_lossy_link() -> None:
    """The study's link loses 2% of heartbeats, so the ROC has a false-alarm
    side: the lowest thresholds alarm on honest runs, the default ones not."""
    points = {(p.detector, p.attack, p.threshold): p for p in roc(seeds=SEEDS)}
    assert points[("cusum", "timing", CUSUM_THRESHOLDS[0])].false_alarms > 0
    assert points[("phi", "timing", PHI_THRESHOLDS[0])].false_alarms > 0
    no_loss = [p for p in roc(replace(STUDY, loss_permille=0), SEEDS) if p.detector == "cusum"]
    assert all(p.false_alarms == 0 for p in no_loss)


def test_the_html_report_carries_the_roc_figure() -> None:
    import json

    from vigilnet.sim._deployment import run_deployment
    from vigilnet.sim._report import make_report
    from vigilnet.sim._scenario import load_scenario

    scenario = load_scenario("timing").with_overrides(agents=2_000, epochs=1)
    report = json.loads(json.dumps(make_report(run_deployment(scenario))))
    points = [p.as_dict() for p in roc(seeds=range(2))]
    page = render_html(report, detection=points)
    assert "CUSUM against the fixed-threshold detector" in page
    assert page.count("<figure>") == render_html(report).count("<figure>") + 1
    assert "Attack-pattern detection" not in render_html(report)
