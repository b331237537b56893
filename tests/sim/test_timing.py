"""The timing attack on SSCR's partition detector: jittered deadlines (the
protocol) against the fixed-deadline baseline."""

from __future__ import annotations

import pytest

from vigilnet.protocols.sscr._detector import staleness_deadline
from vigilnet.sim._scenario import ScenarioError
from vigilnet.sim._sscr import FIXED_DRAW, TimingConfig, run_detector, summarise

SEEDS = range(12)


def test_fixed_draw_gives_exactly_the_base_deadline() -> None:
    assert staleness_deadline(600, FIXED_DRAW) == 600


def test_same_seed_same_run() -> None:
    config = TimingConfig()
    first = run_detector(config, 7, jittered=True, attacked=True)
    assert run_detector(config, 7, jittered=True, attacked=True) == first


def test_attack_hides_the_cut_from_the_fixed_baseline_not_from_the_protocol() -> None:
    config = TimingConfig()
    fixed = summarise(config, SEEDS, jittered=False)
    jittered = summarise(config, SEEDS, jittered=True)
    print(fixed.as_dict(), jittered.as_dict())
    assert fixed.detected == 0
    assert jittered.detected >= len(SEEDS) * 3 // 4
    assert jittered.mean_delay is not None and jittered.mean_delay > 0


def test_no_false_alarm_on_an_honest_link() -> None:
    config = TimingConfig()
    for seed in SEEDS:
        for jittered in (True, False):
            run = run_detector(config, seed, jittered=jittered, attacked=False)
            assert run.declared_at is None
            assert run.leaked == 0


def test_a_real_cut_without_leaks_is_declared_by_both() -> None:
    # lead so large that every leak lands before the cut's first check: the
    # adversary leaks nothing useful, so the plain cut is declared
    config = TimingConfig(lead=590)
    for jittered in (True, False):
        run = run_detector(config, 3, jittered=jittered, attacked=True)
        assert run.declared_at is not None and run.declared_at > config.cut_at


def test_summary_counts_match_direct_runs() -> None:
    config = TimingConfig()
    summary = summarise(config, range(4), jittered=True)
    direct = [run_detector(config, s, jittered=True, attacked=True) for s in range(4)]
    assert summary.detected == sum(r.declared_at is not None for r in direct)
    delays = [r.delay(config.cut_at) for r in direct if r.declared_at is not None]
    if delays:
        assert summary.mean_delay == sum(d for d in delays if d is not None) / len(delays)
    assert summary.as_dict()["detection_rate"] == summary.detected / 4


@pytest.mark.parametrize(
    "kwargs", [{"base": 1}, {"cut_at": 50_000}, {"jitter": -1}, {"heartbeat": 0}]
)
def test_bad_config_is_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ScenarioError):
        TimingConfig(**kwargs)
