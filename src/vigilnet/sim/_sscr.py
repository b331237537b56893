"""The timing attack on SSCR's partition detector, jittered deadlines against
a fixed-deadline baseline.

Theory of operation
===================

One observer watches one peer with the protocol's own detector
(:class:`vigilnet.protocols.sscr.PeerWatch` and
:func:`~vigilnet.protocols.sscr._detector.staleness_deadline`, unmodified).
The peer sends a heartbeat every ``heartbeat`` ticks; the link adds a delay
uniform on ``[0, jitter]``.  The observer checks the peer at staleness
deadlines: the next check is ``staleness_deadline(base, r)`` after the
previous one, ``r`` a 64-bit draw from the run's :class:`SeedTree` (the
explicit CSPRNG input).

The **adversary** controls the link.  From ``cut_at`` on it drops every
heartbeat (a partition it wants hidden) except one it *leaks* shortly
before each check it predicts, so that ``phi`` is low whenever the observer
looks.  It knows ``base`` and every past check time (it sees the observer's
traffic) but not the draws.  Its prediction of the next check is the
previous check plus the mean deadline ``base``; it leaks ``lead`` ticks
before that.

* **Jittered** (the protocol as built): the next check falls anywhere in
  ``[base/2, 3 base/2)`` after the last one, so the leak often lands long
  before the check (``phi`` high, suspected) or just after it (the check
  sees the previous leak, older still).
* **Fixed-deadline baseline** (*not* the protocol; a labelled comparison
  that lives here, outside ``vigilnet.protocols``): the same detector with
  the draw fixed at ``2**63`` so every deadline is exactly ``base``.  The
  leak always lands ``lead`` ticks before the check and the cut is never
  declared.

A run reports whether the partition was **declared** (detection), the
simulated time from the cut to the declaration (delay), and, on an honest
run with the same seed and no adversary, whether a declaration happened at
all (a false alarm).  Pooling over seeds gives rates with Wilson intervals.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass

from vigilnet.errors import ensure
from vigilnet.protocols.sscr._detector import (
    DRAW_BITS,
    HeartbeatWindow,
    PeerWatch,
    staleness_deadline,
)
from vigilnet.sim._scenario import ScenarioError
from vigilnet.sim._seeds import SeedTree
from vigilnet.sim._stats import wilson

__all__ = ["DetectorRun", "TimingConfig", "TimingSummary", "arrivals", "run_detector", "summarise"]

#: The draw that makes :func:`staleness_deadline` return exactly ``base``.
FIXED_DRAW = 1 << (DRAW_BITS - 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class TimingConfig:
    """Ticks are the simulator's (1 tick = 1 ms)."""

    heartbeat: int = 100
    jitter: int = 20
    base: int = 600
    #: ``phi`` threshold in fixed point (``2**-16``); the default is ``phi``
    #: after 2.5 mean intervals: ``2.5 * log10(e) * 2**16``.
    phi_threshold: int = 71_154
    sensitivity: int = 3
    window: int = 16
    cut_at: int = 5_000
    horizon: int = 40_000
    lead: int = 5
    #: heartbeats the honest link loses, per thousand (0: none; the
    #: detection study uses some so that false alarms can happen)
    loss_permille: int = 0

    def __post_init__(self) -> None:
        for name in ("heartbeat", "base", "window", "horizon", "sensitivity", "phi_threshold"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ScenarioError(f"timing.{name} must be a positive integer, got {value!r}")
        if self.base < 2:
            raise ScenarioError("timing.base must be >= 2")
        if not 0 <= self.cut_at < self.horizon:
            raise ScenarioError("timing.cut_at must lie in [0, horizon)")
        if self.jitter < 0 or self.lead < 0:
            raise ScenarioError("timing.jitter and timing.lead must be >= 0")
        if not 0 <= self.loss_permille < 1000:
            raise ScenarioError("timing.loss_permille must lie in [0, 1000)")


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectorRun:
    declared_at: int | None
    checks: int
    suspected_checks: int
    leaked: int

    def delay(self, cut_at: int) -> int | None:
        return None if self.declared_at is None else self.declared_at - cut_at


def arrivals(config: TimingConfig, seeds: SeedTree, *, attacked: bool) -> list[int]:
    """The heartbeats that reach the observer (sorted ticks), leaks aside:
    all of them before ``cut_at`` (less the honest link's losses), none
    after it on an attacked run."""
    out: list[int] = []
    sent = 0
    while sent < config.horizon:
        delay = seeds.below(config.jitter + 1, "link")
        lost = config.loss_permille and seeds.below(1000, "loss") < config.loss_permille
        if (not attacked or sent < config.cut_at) and not lost:
            out.append(sent + delay)
        sent += config.heartbeat
    out.sort()
    return out


def run_detector(
    config: TimingConfig, seed: int, *, jittered: bool, attacked: bool, leak: bool = True
) -> DetectorRun:
    """One observer, one peer, ``horizon`` ticks.  Deterministic in
    ``seed``: the link delays and the deadline draws come from separate
    streams, so the honest and attacked runs see the same draws.
    ``leak=False``: a plain partition (nothing leaked after the cut)."""
    seeds = SeedTree(seed)
    watch = PeerWatch(
        window=HeartbeatWindow(
            capacity=config.window,
            bootstrap_interval=config.heartbeat,
            max_interval=2 * config.heartbeat,
        )
    )
    heard = arrivals(config, seeds, attacked=attacked)
    last_check = 0
    checks = suspected = leaked = 0
    index = 0
    while True:
        draw = (
            int.from_bytes(seeds.random_bytes(DRAW_BITS // 8, "deadline"), "big")
            if jittered
            else FIXED_DRAW
        )
        now = last_check + staleness_deadline(config.base, draw)
        if now > config.horizon:
            return DetectorRun(
                declared_at=None, checks=checks, suspected_checks=suspected, leaked=leaked
            )
        if attacked and leak and last_check >= config.cut_at:
            # one leaked heartbeat, timed to the check it predicts; if the
            # check comes earlier the leak is heard at a later one
            insort(heard, last_check + config.base - config.lead, lo=index)
            leaked += 1
        while index < len(heard) and heard[index] <= now:
            watch = watch.heard(heard[index])
            index += 1
        watch = watch.check(now, config.phi_threshold, config.sensitivity)
        checks += 1
        suspected += watch.consecutive > 0
        if watch.declared:
            return DetectorRun(
                declared_at=now, checks=checks, suspected_checks=suspected, leaked=leaked
            )
        last_check = now


@dataclass(frozen=True, slots=True, kw_only=True)
class TimingSummary:
    label: str
    seeds: int
    detected: int
    false_alarms: int
    mean_delay: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "detector": self.label,
            "seeds": self.seeds,
            "detection_rate": self.detected / self.seeds,
            "detection_ci95": list(wilson(self.detected, self.seeds)),
            "false_alarm_rate": self.false_alarms / self.seeds,
            "false_alarm_ci95": list(wilson(self.false_alarms, self.seeds)),
            "mean_detection_delay_ticks": self.mean_delay,
        }


def summarise(config: TimingConfig, seeds: range, *, jittered: bool) -> TimingSummary:
    """Attacked and honest runs over ``seeds``, pooled."""
    ensure(len(seeds) >= 1, "at least one seed", ScenarioError)
    detected = false_alarms = 0
    delays: list[int] = []
    for seed in seeds:
        attacked = run_detector(config, seed, jittered=jittered, attacked=True)
        delay = attacked.delay(config.cut_at)
        if delay is not None:
            detected += 1
            delays.append(delay)
        honest = run_detector(config, seed, jittered=jittered, attacked=False)
        false_alarms += honest.declared_at is not None
    return TimingSummary(
        label="jittered (protocol)" if jittered else "fixed-deadline baseline",
        seeds=len(seeds),
        detected=detected,
        false_alarms=false_alarms,
        mean_delay=sum(delays) / len(delays) if delays else None,
    )
