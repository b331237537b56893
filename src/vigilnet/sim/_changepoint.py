"""A CUSUM change-point detector on heartbeat inter-arrival times, measured
against the fixed-threshold ``phi`` detector it would replace.

Theory of operation
===================

The setting is :mod:`vigilnet.sim._sscr`'s: one observer checks one peer at
SSCR's jittered staleness deadlines (the same draws), the peer heartbeats
every ``heartbeat`` ticks over a link with jitter and, for this study, some
honest loss (``loss_permille``), so that a detector *can* raise a false
alarm.  Two attacks start at ``cut_at``:

* ``timing``: the adversary drops every heartbeat but one leaked just
  before each check it predicts (the timing attack);
* ``partition``: it drops every heartbeat (a plain cut).

**The fixed-threshold detector** is the protocol's: ``phi`` over the
heartbeat window against a fixed threshold, declared after ``sensitivity``
suspected checks in a row (:func:`~vigilnet.sim._sscr.run_detector`).

**CUSUM** (Page 1954) accumulates how much each inter-arrival gap exceeds
what is expected: ``S = max(0, S + gap - reference - slack)``, integers in
ticks, with ``reference`` the heartbeat period and ``slack`` the allowance
(half the jitter by default).  At each check the gap still open (the time
since the last heartbeat heard) is added provisionally, so a total cut
raises ``S`` without any arrival.  It alarms once ``S >= threshold``.  A
leak every ``base`` ticks leaves gaps of about ``base`` where the honest link
gives ``heartbeat``: each one adds ``base - heartbeat - slack`` to ``S``, so
the leaks that hide the cut from ``phi`` at the check are what CUSUM sees.

For each detector, attack and threshold, over seeds: the detection rate
(attacked runs that alarm after the cut), the false-alarm rate (honest
runs with the same seeds that alarm at all), each with its 95% Wilson
interval, and the mean detection delay.  Sweeping the threshold gives the
ROC curve (:func:`roc`; the figure is in the HTML report of a run whose
scenario enables ``[timing_attack]``, over 20 seeds from the scenario's).
Rates are analysis (floats allowed); the detector itself is integer.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass, replace
from typing import Any

from vigilnet.errors import ensure
from vigilnet.protocols.sscr._detector import DRAW_BITS, staleness_deadline
from vigilnet.sim._scenario import ScenarioError
from vigilnet.sim._seeds import SeedTree
from vigilnet.sim._sscr import TimingConfig, arrivals, run_detector
from vigilnet.sim._stats import wilson

__all__ = [
    "ATTACKS",
    "CUSUM_THRESHOLDS",
    "PHI_THRESHOLDS",
    "STUDY",
    "Cusum",
    "RocPoint",
    "roc",
    "run_cusum",
]

ATTACKS = ("timing", "partition")

#: the study's link: 2% of honest heartbeats lost, so false alarms can occur
STUDY = TimingConfig(loss_permille=20)

#: ticks of accumulated excess gap
CUSUM_THRESHOLDS = (100, 200, 400, 600, 800, 1_200, 1_600, 2_400, 3_200, 4_800)

#: ``phi`` in fixed point (2**-16): 0.5 to 8 mean intervals times log10(e)
PHI_THRESHOLDS = tuple(int(k * 0.4342944819 * 65_536) for k in (0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8))


@dataclass(frozen=True, slots=True)
class Cusum:
    """One-sided CUSUM over integer gaps (ticks)."""

    reference: int
    slack: int
    threshold: int
    score: int = 0

    def __post_init__(self) -> None:
        ensure(self.reference >= 1 and self.slack >= 0 and self.threshold >= 1,
               "cusum: reference >= 1, slack >= 0, threshold >= 1", ScenarioError)  # fmt: skip

    def observe(self, gap: int) -> Cusum:
        return replace(self, score=max(0, self.score + gap - self.reference - self.slack))

    def alarm(self, open_gap: int = 0) -> bool:
        pending = max(0, open_gap - self.reference - self.slack)
        return self.score + pending >= self.threshold


def run_cusum(
    config: TimingConfig, seed: int, threshold: int, *, attack: str | None, slack: int | None = None
) -> int | None:
    """The tick of the first alarm (``None``: none), checked at the protocol's
    jittered deadlines; ``attack`` one of :data:`ATTACKS`, or ``None`` for
    the honest link with the same seed."""
    ensure(attack is None or attack in ATTACKS, f"attack: one of {ATTACKS}", ScenarioError)
    seeds = SeedTree(seed)
    heard = arrivals(config, seeds, attacked=attack is not None)
    detector = Cusum(config.heartbeat, config.jitter // 2 if slack is None else slack, threshold)
    last_check = 0
    last_heard: int | None = None
    index = 0
    while True:
        draw = int.from_bytes(seeds.random_bytes(DRAW_BITS // 8, "deadline"), "big")
        now = last_check + staleness_deadline(config.base, draw)
        if now > config.horizon:
            return None
        if attack == "timing" and last_check >= config.cut_at:
            insort(heard, last_check + config.base - config.lead, lo=index)
        while index < len(heard) and heard[index] <= now:
            if last_heard is not None:
                detector = detector.observe(heard[index] - last_heard)
            last_heard = heard[index]
            index += 1
        if detector.alarm(now - (last_heard if last_heard is not None else 0)):
            return now
        last_check = now


@dataclass(frozen=True, slots=True, kw_only=True)
class RocPoint:
    detector: str
    attack: str
    threshold: int
    seeds: int
    detected: int
    false_alarms: int
    mean_delay: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "attack": self.attack,
            "threshold": self.threshold,
            "seeds": self.seeds,
            "detected": self.detected,
            "detection_ci95": list(wilson(self.detected, self.seeds)),
            "false_alarms": self.false_alarms,
            "false_alarm_ci95": list(wilson(self.false_alarms, self.seeds)),
            "mean_delay_ticks": self.mean_delay,
        }


def _point(
    config: TimingConfig, seeds: range, detector: str, attack: str, threshold: int
) -> RocPoint:
    detected = false_alarms = 0
    delays: list[int] = []
    for seed in seeds:
        if detector == "cusum":
            hit = run_cusum(config, seed, threshold, attack=attack)
            honest = run_cusum(config, seed, threshold, attack=None)
        else:
            cfg = replace(config, phi_threshold=threshold)
            hit = run_detector(cfg, seed, jittered=True, attacked=True,
                               leak=attack == "timing").declared_at  # fmt: skip
            honest = run_detector(cfg, seed, jittered=True, attacked=False).declared_at
        false_alarms += honest is not None
        # an alarm before the cut is a false alarm of the attacked run, not a detection
        if hit is not None and hit >= config.cut_at:
            detected += 1
            delays.append(hit - config.cut_at)
    return RocPoint(
        detector=detector, attack=attack, threshold=threshold, seeds=len(seeds),
        detected=detected, false_alarms=false_alarms,
        mean_delay=sum(delays) / len(delays) if delays else None,
    )  # fmt: skip


def roc(config: TimingConfig = STUDY, seeds: range = range(40)) -> list[RocPoint]:
    """Every (detector, attack, threshold) point over ``seeds``."""
    ensure(len(seeds) >= 1, "at least one seed", ScenarioError)
    points = []
    for attack in ATTACKS:
        points += [_point(config, seeds, "cusum", attack, h) for h in CUSUM_THRESHOLDS]
        points += [_point(config, seeds, "phi", attack, t) for t in PHI_THRESHOLDS]
    return points
