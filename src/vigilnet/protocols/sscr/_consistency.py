"""Statistical consistency: when may a verdict be final during a partition?

Derivation
==========

Let ``L`` be an agent's log-odds computed from the evidence a replica holds
(``L = L0 + sum of the latest cumulative llr_sum of every source``), and let
``L*`` be the log-odds over all the evidence that exists at that moment,
including what sources behind a partition have produced but the replica has
not seen.  Write ``U`` for the set of *unreachable* sources (those whose
latest entry at the replica is not known to be current) and, for ``s`` in
``U``, ``d_s`` for its staleness: the number of ticks from the send time
``p`` of the sync request whose answer the replica last merged to now, both
included (``now - p + 1``; the replica's own clock, so no clock
synchronisation is assumed; the answer was built at or after ``p``, so terms
of tick ``p`` itself may be missing).  In the implementation every remote
source is in ``U``; a recent sync only makes its window short.

1. Each clamped term satisfies ``|lambda_i| <= lambda_max``.
2. The rate bound: a source (honest or Byzantine: the node refuses entries
   that exceed it) contributes at most ``ceil(rate * w)`` terms in any window
   of ``w`` ticks, so at most ``ceil(rate * d_s)`` terms the replica has not
   seen.
3. Hence ``|L* - L| <= sum over s in U of lambda_max * ceil(rate * d_s)
   <= lambda_max * ceil(rate * d) * |U| =: B`` with ``d = max d_s``.
   This is :func:`consistency_bound`: ``lambda_max x rate bound x staleness x
   unreachable sources``, rounded up (only ever conservative).
4. The SPRT verdict is monotone in ``L``.  If ``L - B >= A`` (upper
   threshold) then ``L* >= A`` and the verdict on all the evidence is FLAGGED
   too; if ``L + B <= B_lo`` (lower threshold) then ``L* <= B_lo`` and it is
   CLEARED.  In those two cases, and only those, the verdict is **final**:
   no evidence hidden behind the partition (within the rate bound) can move
   ``L`` back across the threshold, so after heal and merge the converged
   replicas reach the same verdict on the same evidence (``FinalNeverFlips``).
   Otherwise a verdict against the plain thresholds is **provisional**: it is
   answered (the side stays available) but may be reversed on heal.
5. In DEGRADED mode the margin used is ``max(B, raised)`` where ``raised`` is
   the running maximum of ``B`` since the partition was declared: the
   finality thresholds ``A + raised`` and ``B_lo - raised`` only move outward
   while degraded (``ThresholdOnlyRisesInDegraded``), even when a source's
   staleness drops because one of its deltas slipped through; they return to
   the plain thresholds only through HEALING to NORMAL.
6. **Byzantine sources.**  Steps 2-4 hold for a source whose later entries
   *extend* the held one (``_crdt.extends``) within the rate bound in every
   window.  A Byzantine source need not: it can rewrite its history (a higher
   sequence number with fewer terms or a sum of the other sign), or report
   few terms and then burst up to its cumulative rate bound.  Neither is
   bounded by ``B``.  A rewrite, once two of its entries meet, convicts the
   source and its entries stop counting (``_crdt.Conviction``, rule SSCR-5),
   but excluding a source whose evidence a final verdict relied on can
   itself move ``L`` by its whole contribution.  So finality tolerates up to
   ``f`` (``SscrConfig.byzantine_sources``) Byzantine sources by ignoring,
   *in the finality test only*, the ``f`` largest contributions that push
   toward the verdict (:func:`byzantine_margin`, ``E``): with ``S`` the
   sources counted, ``Z`` the Byzantine ones among them (``|Z| <= f``) and
   ``H = S - Z``,

   ``L*_H = sum over H of l*_s >= L - sum over Z of l_s - B >= L - E - B``

   for FLAGGED (symmetrically for CLEARED): if ``L - B - E >= A`` the verdict
   on the *honest sources'* evidence is FLAGGED, whatever the Byzantine ones
   did, do later, or are convicted of.  Sources convicted before the
   verdict count in neither ``L`` nor ``L*`` (a conviction is never undone).
   With ``f = 0`` (the default) finality assumes every source honest: a
   Byzantine source is still convicted when caught and stops counting for
   verdicts not yet final, but a final verdict that relied on it has no
   statistical guarantee (it is still never re-judged).

Every quantity is an integer in the fixed-point scale of
:mod:`vigilnet.fixedpoint`; ``rate`` is an exact :class:`~fractions.Fraction`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from vigilnet.errors import LocalProtocolError, ensure
from vigilnet.evidence import Verdict

__all__ = ["Judgement", "byzantine_margin", "consistency_bound", "judge", "max_unseen_terms"]


def max_unseen_terms(rate: Fraction | int, staleness: int) -> int:
    """``ceil(rate * staleness)``: the most terms one source can have produced
    in ``staleness`` ticks under its rate bound."""
    rate = Fraction(rate)
    ensure(rate >= 0, f"rate bound {rate} is negative", LocalProtocolError)
    ensure(staleness >= 0, f"staleness {staleness} is negative", LocalProtocolError)
    product = rate * staleness
    return -(-product.numerator // product.denominator)


def consistency_bound(
    lambda_max: int, rate: Fraction | int, staleness: int, unreachable: int
) -> int:
    """``B = lambda_max * ceil(rate * staleness) * unreachable``: the most
    that evidence the replica has not seen can move ``L`` (derivation step 3)."""
    ensure(lambda_max > 0, "lambda_max must be positive", LocalProtocolError)
    ensure(unreachable >= 0, "unreachable count is negative", LocalProtocolError)
    return lambda_max * max_unseen_terms(rate, staleness) * unreachable


def byzantine_margin(contributions: Iterable[int], tolerated: int, *, toward: Verdict) -> int:
    """``E``: the sum of the ``tolerated`` largest contributions (per-source
    ``llr_sum``) that push toward ``toward`` (positive ones for FLAGGED, the
    magnitudes of negative ones for CLEARED; 0 for UNDECIDED): what up to
    ``tolerated`` Byzantine sources among them can have added (derivation
    step 6)."""
    ensure(tolerated >= 0, f"tolerated {tolerated} is negative", LocalProtocolError)
    if toward is Verdict.FLAGGED:
        pushing = [c for c in contributions if c > 0]
    elif toward is Verdict.CLEARED:
        pushing = [-c for c in contributions if c < 0]
    else:
        return 0
    return sum(sorted(pushing, reverse=True)[:tolerated])


@dataclass(frozen=True, slots=True, kw_only=True)
class Judgement:
    """A verdict and whether it is final (derivation step 4)."""

    verdict: Verdict
    final: bool


def judge(log_odds: int, *, upper: int, lower: int, margin: int) -> Judgement:
    """Judge ``L`` against the SPRT thresholds ``upper`` (> 0) and ``lower``
    (< 0) with the hidden-evidence margin ``margin`` (``B``, or ``max(B,
    raised)`` in DEGRADED).  The verdict is the plain SPRT verdict; it is
    final only when ``L - margin`` (FLAGGED) or ``L + margin`` (CLEARED)
    still clears the threshold."""
    ensure(lower < 0 < upper, "thresholds must satisfy lower < 0 < upper", LocalProtocolError)
    ensure(margin >= 0, f"margin {margin} is negative", LocalProtocolError)
    if log_odds >= upper:
        return Judgement(verdict=Verdict.FLAGGED, final=log_odds - margin >= upper)
    if log_odds <= lower:
        return Judgement(verdict=Verdict.CLEARED, final=log_odds + margin <= lower)
    return Judgement(verdict=Verdict.UNDECIDED, final=False)
