"""SSCR failure detection: phi-accrual in fixed point, jittered staleness
deadlines, and partition confirmation.

Theory of operation
===================

**Phi accrual** (Hayashibara et al. 2004, as in Cassandra).  The detector
keeps the last ``window`` inter-arrival times of a peer's heartbeats.  With
the exponential model of arrivals (Cassandra's), the probability that the
next heartbeat comes later than ``t`` after the last one is ``exp(-t / mean)``
and the suspicion level is

    phi(t) = -log10(exp(-t / mean)) = (t / mean) * log10(e).

All inputs are integers (arrival times in ticks of the runtime's clock,
passed in; this module never reads a clock).  ``phi`` is returned in fixed
point with the evidence scale (``SCALE = 2**16``)::

    phi_fp = floor(t * n * LOG10_E_Q32 / (interval_sum * 2**16))

where ``n`` intervals sum to ``interval_sum`` (so ``mean = interval_sum /
n``) and ``LOG10_E_Q32 = round_half_even(log10(e) * 2**32) = 1865280597`` is
pinned (computed at 60 significant digits with :mod:`decimal`).  **Rounding
rule**: the constant is rounded once, ties to even; the quotient is floored.
Every node computes the same integer; the vectors pin it.  Before the first
interval is known the configured ``bootstrap_interval`` stands in as one
interval.

**Staleness deadlines** (DESIGN.md 4.3, temporal attack prevention).  The
next check of a peer happens ``T * U`` ticks after the previous one with
``U`` uniform on ``[1/2, 3/2)``, drawn afresh per interval.  The draw is an
input: a 64-bit integer ``r`` from the runtime's or simulator's CSPRNG, mapped
exactly::

    deadline(T, r) = floor(T * (2**63 + r) / 2**64) = T//2 + ... in [T/2, 3T/2)

(:func:`staleness_deadline`).  An adversary who does not know ``r`` cannot
place its behaviour just before or after a check.

**Confirmation.**  At each deadline the peer is *suspected* when
``phi >= phi_threshold``.  A partition from a peer is *declared* only after
``sensitivity`` (3) independent confirmations: that many consecutive suspected
checks, or that many distinct observers reporting suspicion
(:class:`PeerWatch`).  Only a check that does *not* suspect the peer clears
the consecutive count: a heartbeat in between does not, or an adversary
leaking one heartbeat per interval would keep a partition undeclared for
ever.  A heartbeat clears the observers' reports.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Context, Decimal

from vigilnet.errors import LocalProtocolError, RemoteProtocolError, ensure
from vigilnet.fixedpoint import FRACTION_BITS

__all__ = [
    "DRAW_BITS",
    "LOG10_E_Q32",
    "HeartbeatWindow",
    "PeerWatch",
    "phi",
    "staleness_deadline",
]

#: Width of the CSPRNG draw behind each deadline.
DRAW_BITS = 64


def _log10_e_q32() -> int:
    context = Context(prec=60)
    value = context.divide(Decimal(1), context.ln(Decimal(10)))
    return int(
        context.multiply(value, Decimal(1 << 32)).to_integral_value(rounding="ROUND_HALF_EVEN")
    )


#: ``round_half_even(log10(e) * 2**32)``.
LOG10_E_Q32 = _log10_e_q32()


def phi(elapsed: int, interval_count: int, interval_sum: int) -> int:
    """Suspicion level in fixed point (``2**-16``) after ``elapsed`` ticks
    without a heartbeat, given ``interval_count`` intervals summing to
    ``interval_sum``.  See the module docstring for the formula and rounding."""
    ensure(elapsed >= 0, f"elapsed time {elapsed} is negative", LocalProtocolError)
    ensure(
        interval_count >= 1 and interval_sum >= 1,
        "phi needs at least one interval of positive total length",
        LocalProtocolError,
    )
    return (elapsed * interval_count * LOG10_E_Q32) // (interval_sum << FRACTION_BITS)


def staleness_deadline(base: int, draw: int) -> int:
    """``floor(base * (1/2 + draw / 2**64))``: ``base * U(0.5, 1.5)`` from a
    64-bit draw, exactly.  The result lies in ``[base // 2, 3 * base / 2)``
    and is at least 1."""
    ensure(isinstance(base, int) and base >= 2, f"base {base!r} must be >= 2", LocalProtocolError)
    ensure(
        isinstance(draw, int) and 0 <= draw < (1 << DRAW_BITS),
        f"draw must be a {DRAW_BITS}-bit unsigned integer",
        LocalProtocolError,
    )
    return (base * ((1 << (DRAW_BITS - 1)) + draw)) >> DRAW_BITS


@dataclass(frozen=True, slots=True, kw_only=True)
class HeartbeatWindow:
    """The last ``capacity`` inter-arrival times of one peer (bounded memory)
    and the time of its last heartbeat (``None`` before the first).
    Intervals longer than ``max_interval`` are gaps, not samples: they move
    ``last_arrival`` but are not recorded."""

    capacity: int
    bootstrap_interval: int
    max_interval: int | None = None
    intervals: tuple[int, ...] = ()
    last_arrival: int | None = None

    def __post_init__(self) -> None:
        ensure(self.capacity >= 1, "window capacity must be >= 1", LocalProtocolError)
        ensure(self.bootstrap_interval >= 1, "bootstrap interval must be >= 1", LocalProtocolError)
        ensure(len(self.intervals) <= self.capacity, "window over capacity", LocalProtocolError)

    def arrive(self, at: int) -> HeartbeatWindow:
        """Record a heartbeat arriving at ``at``.  An arrival before the last
        one is a reordered (late) heartbeat: it carries no timing information
        and is refused."""
        if self.last_arrival is None:
            return replace(self, last_arrival=at)
        ensure(
            at >= self.last_arrival,
            f"heartbeat at {at} before the last one at {self.last_arrival}",
            RemoteProtocolError,
        )
        interval = at - self.last_arrival
        if interval == 0:
            return self
        if self.max_interval is not None and interval > self.max_interval:
            # a gap, not a sample of the arrival process (as Cassandra does):
            # an adversary that leaks rare heartbeats cannot stretch the mean
            return replace(self, last_arrival=at)
        kept = (*self.intervals, interval)[-self.capacity :]
        return replace(self, intervals=kept, last_arrival=at)

    def phi_at(self, now: int, since: int = 0) -> int:
        """``phi`` at ``now``; with no heartbeat yet, time is counted from
        ``since`` (when watching started)."""
        last = self.last_arrival if self.last_arrival is not None else since
        ensure(now >= last, f"time {now} before the last heartbeat {last}", LocalProtocolError)
        if self.intervals:
            return phi(now - last, len(self.intervals), sum(self.intervals))
        return phi(now - last, 1, self.bootstrap_interval)


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerWatch:
    """Suspicion bookkeeping for one peer.

    ``consecutive``: suspected checks in a row; ``observers``: distinct nodes
    that reported suspecting the peer since it was last heard;
    ``declared``: a partition from this peer has been declared.
    """

    window: HeartbeatWindow
    watching_since: int = 0
    consecutive: int = 0
    observers: frozenset[str] = frozenset()
    declared: bool = False

    def heard(self, at: int) -> PeerWatch:
        """A heartbeat arrived: record it and clear the observers' reports.
        The consecutive count is the checks' business; ``declared`` stays
        until the node's mode machine heals it."""
        return replace(self, window=self.window.arrive(at), observers=frozenset())

    def check(self, now: int, phi_threshold: int, sensitivity: int) -> PeerWatch:
        """A staleness deadline fired: suspect the peer when
        ``phi >= phi_threshold`` and declare after ``sensitivity``
        confirmations."""
        suspected = self.window.phi_at(now, self.watching_since) >= phi_threshold
        consecutive = self.consecutive + 1 if suspected else 0
        return replace(
            self,
            consecutive=min(consecutive, sensitivity),
            declared=self.declared or consecutive >= sensitivity,
        )

    def report(self, observer: str, sensitivity: int) -> PeerWatch:
        """Another node reports that it suspects this peer."""
        observers = self.observers | {observer}
        return replace(
            self, observers=observers, declared=self.declared or len(observers) >= sensitivity
        )

    def healed(self) -> PeerWatch:
        return replace(self, declared=False, consecutive=0, observers=frozenset())

    @property
    def confirmations(self) -> int:
        return max(self.consecutive, len(self.observers))
