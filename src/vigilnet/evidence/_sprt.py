"""Wald's sequential probability ratio test on fixed-point evidence.

With error rates ``alpha`` (flagging a benign agent) and ``beta`` (clearing a
misbehaving one), the posterior log-odds ``L`` of an agent is judged

* FLAGGED   when ``L >= A = ln((1 - beta) / alpha)``,
* CLEARED   when ``L <= B = ln(beta / (1 - alpha))``,
* UNDECIDED otherwise.

The thresholds are computed once per configuration, exactly: ``alpha`` and
``beta`` are fractions, the logarithm is taken with :mod:`decimal` at 60
significant digits (``Decimal.ln`` is correctly rounded), and the result is
rounded to fixed point ties-to-even.  No node depends on its platform's
``libm``: every node derives the same integers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Context, Decimal
from fractions import Fraction

from vigilnet.errors import LocalProtocolError, ensure
from vigilnet.fixedpoint import SCALE

__all__ = ["SprtThresholds", "Verdict", "fixed_log"]

_CONTEXT = Context(prec=60)


class Verdict(enum.Enum):
    FLAGGED = "flagged"
    CLEARED = "cleared"
    UNDECIDED = "undecided"


def fixed_log(ratio: Fraction) -> int:
    """``round_half_even(ln(ratio) * SCALE)`` exactly, for ``ratio > 0``."""
    ensure(ratio > 0, f"logarithm of {ratio} is undefined", LocalProtocolError)
    numerator = Decimal(ratio.numerator)
    denominator = Decimal(ratio.denominator)
    logarithm = _CONTEXT.subtract(_CONTEXT.ln(numerator), _CONTEXT.ln(denominator))
    scaled = _CONTEXT.multiply(logarithm, Decimal(SCALE))
    return int(scaled.to_integral_value(rounding="ROUND_HALF_EVEN"))


@dataclass(frozen=True, slots=True, kw_only=True)
class SprtThresholds:
    """The two SPRT thresholds in fixed point, from exact error rates."""

    alpha: Fraction
    beta: Fraction

    def __post_init__(self) -> None:
        for name, rate in (("alpha", self.alpha), ("beta", self.beta)):
            ensure(isinstance(rate, Fraction), f"{name} must be a Fraction", LocalProtocolError)
            ensure(
                0 < rate < Fraction(1, 2),
                f"{name} = {rate} must lie in (0, 1/2)",
                LocalProtocolError,
            )

    @property
    def upper(self) -> int:
        """``A = ln((1 - beta) / alpha)`` in fixed point (positive)."""
        return fixed_log((1 - self.beta) / self.alpha)

    @property
    def lower(self) -> int:
        """``B = ln(beta / (1 - alpha))`` in fixed point (negative)."""
        return fixed_log(self.beta / (1 - self.alpha))

    def verdict(self, log_odds: int) -> Verdict:
        """Judge fixed-point log-odds ``L``."""
        if log_odds >= self.upper:
            return Verdict.FLAGGED
        if log_odds <= self.lower:
            return Verdict.CLEARED
        return Verdict.UNDECIDED
