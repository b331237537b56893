"""Beta reputation of reporting nodes, with forgetting and a penalty.

After Josang and Ismail's Beta reputation system: a node with ``s``
consistent and ``u`` inconsistent reports has reputation
``(s + 1) / (s + u + 2)``, the mean of ``Beta(s + 1, u + 1)``.  Old behaviour
fades: before each epoch's counts are added, ``s`` and ``u`` are multiplied
by the forgetting factor ``lambda`` (``0 < lambda <= 1``).

Exactness: ``s`` and ``u`` are fixed-point integers with 16 fractional bits,
the decay rounds toward zero (``s * num // den``), and the threshold
comparison is cross-multiplied, so every node computes the same admission
decision.

* A node is **admitted** to aggregation when its reputation is at least
  ``reputation_threshold`` (4/5 by default) and it is not banned.
* A node with **cryptographic proof of misbehaviour** (two signed conflicting
  messages) is penalised: its counts drop to zero, its reputation reads 0,
  and it stays excluded for ``ban_epochs`` epochs; after that it starts again
  from ``(0, 0)`` (reputation 1/2) and must earn admission back.
* A newly registered node starts from ``prior_consistent`` consistent reports
  (4 by default: reputation 5/6, admitted), because registration already
  required an attested identity.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from vigilnet.errors import LocalProtocolError, ensure

__all__ = ["REPUTATION_SCALE", "Reputation", "ReputationPolicy"]

REPUTATION_SCALE = 1 << 16


@dataclass(frozen=True, slots=True, kw_only=True)
class ReputationPolicy:
    threshold: Fraction = Fraction(4, 5)
    forgetting: Fraction = Fraction(9, 10)
    ban_epochs: int = 10
    prior_consistent: int = 4

    def __post_init__(self) -> None:
        ensure(
            0 < self.threshold <= 1, "reputation threshold must lie in (0, 1]", LocalProtocolError
        )
        ensure(0 < self.forgetting <= 1, "forgetting factor must lie in (0, 1]", LocalProtocolError)
        ensure(
            self.ban_epochs >= 0 and self.prior_consistent >= 0,
            "counts must be >= 0",
            LocalProtocolError,
        )

    def new(self) -> Reputation:
        return Reputation(
            consistent=self.prior_consistent * REPUTATION_SCALE, inconsistent=0, banned_until=-1
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Reputation:
    """``consistent`` and ``inconsistent`` in units of ``1/REPUTATION_SCALE``
    reports; ``banned_until`` is the last epoch of a ban (-1: none)."""

    consistent: int
    inconsistent: int
    banned_until: int

    def __post_init__(self) -> None:
        ensure(
            self.consistent >= 0 and self.inconsistent >= 0,
            "report counts are non-negative",
            LocalProtocolError,
        )

    def score(self, epoch: int) -> Fraction:
        """``(s + 1) / (s + u + 2)``, or 0 while banned."""
        if epoch <= self.banned_until:
            return Fraction(0)
        return Fraction(
            self.consistent + REPUTATION_SCALE,
            self.consistent + self.inconsistent + 2 * REPUTATION_SCALE,
        )

    def admitted(self, epoch: int, policy: ReputationPolicy) -> bool:
        if epoch <= self.banned_until:
            return False
        t = policy.threshold
        return (self.consistent + REPUTATION_SCALE) * t.denominator >= t.numerator * (
            self.consistent + self.inconsistent + 2 * REPUTATION_SCALE
        )

    def observe(
        self, *, consistent: int, inconsistent: int, policy: ReputationPolicy
    ) -> Reputation:
        """Fade the old counts, then add one epoch's whole report counts."""
        ensure(
            consistent >= 0 and inconsistent >= 0,
            "report counts are non-negative",
            LocalProtocolError,
        )
        num, den = policy.forgetting.numerator, policy.forgetting.denominator
        return replace(
            self,
            consistent=self.consistent * num // den + consistent * REPUTATION_SCALE,
            inconsistent=self.inconsistent * num // den + inconsistent * REPUTATION_SCALE,
        )

    def penalise(self, epoch: int, policy: ReputationPolicy) -> Reputation:
        """Proven misbehaviour at ``epoch``: zero counts, banned through
        ``epoch + ban_epochs``."""
        return Reputation(
            consistent=0,
            inconsistent=0,
            banned_until=max(self.banned_until, epoch + policy.ban_epochs),
        )
