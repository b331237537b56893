"""Sufficient statistics of evidence: exact, associative, commutative.

An agent's evidence over any set of observations is summarised by
``(count, llr_sum)``: how many clamped log-likelihood ratios were added and
their fixed-point sum.  Combining two summaries is integer addition, so
aggregation in any order, at any tier, gives bit-identical results, and the
posterior log-odds is ``L = L0 + llr_sum``.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigilnet.errors import LocalProtocolError, RemoteProtocolError, ensure
from vigilnet.fixedpoint import DEFAULT_LAMBDA_MAX, MAX_EVIDENCE_COUNT

__all__ = ["EvidenceStats"]


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class EvidenceStats:
    """``count`` clamped terms summing to ``llr_sum`` (fixed point)."""

    count: int = 0
    llr_sum: int = 0

    def __post_init__(self) -> None:
        ensure(
            isinstance(self.count, int) and isinstance(self.llr_sum, int),
            "evidence statistics are integers",
            LocalProtocolError,
        )
        ensure(
            0 <= self.count <= MAX_EVIDENCE_COUNT,
            f"count {self.count} out of range",
            LocalProtocolError,
        )

    def __add__(self, other: EvidenceStats) -> EvidenceStats:
        if not isinstance(other, EvidenceStats):
            return NotImplemented
        return EvidenceStats(count=self.count + other.count, llr_sum=self.llr_sum + other.llr_sum)

    def check_bound(self, lambda_max: int = DEFAULT_LAMBDA_MAX) -> EvidenceStats:
        """Refuse (as a peer's error) a summary no honest source could send:
        a sum beyond ``count * lambda_max`` in magnitude."""
        ensure(
            abs(self.llr_sum) <= self.count * lambda_max,
            f"sum {self.llr_sum} exceeds {self.count} terms of at most {lambda_max}",
            RemoteProtocolError,
        )
        return self

    def log_odds(self, prior: int = 0) -> int:
        """``L = L0 + llr_sum``."""
        return prior + self.llr_sum
