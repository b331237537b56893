"""Quorum thresholds (docs/thresholds.md), the replica median and the SPRT
verdicts of SHAP (docs/protocols/shap.md), with a switch per bug."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

__all__ = ["median", "quorum_row", "sprt_thresholds", "sprt_verdict"]


def quorum_row(t: Fraction, n: int, bugs: Collection[str]) -> tuple[int, int, int, int] | None:
    """(quorum, blocking, maxSafeFaults, maxLiveFaults), or None when refused."""
    low_ok = t > Fraction(1, 2) or ("quorum_accepts_half" in bugs and t == Fraction(1, 2))
    if not low_ok or (t > 1 and "quorum_accepts_above_one" not in bugs):
        return None
    if n < 1 and "quorum_accepts_empty_group" not in bugs:
        return None
    if "quorum_float_ceil" in bugs:
        q = math.ceil(float(t) * n)
    elif "quorum_floor_plus_one" in bugs:
        q = t.numerator * n // t.denominator + 1
    elif "quorum_rounds_to_nearest" in bugs:
        q = round(t * n)
    else:
        q = -(-t.numerator * n // t.denominator)
    blocking = n - q if "quorum_blocking_off_by_one" in bugs else n - q + 1
    safe = 2 * q - n if "quorum_safe_faults_off_by_one" in bugs else 2 * q - n - 1
    live = n - q + 1 if "quorum_live_faults_off_by_one" in bugs else n - q
    return q, blocking, safe, live


def median(values: Sequence[int], bugs: Collection[str]) -> int:
    if "median_mean" in bugs:
        return sum(values) // len(values)
    ordered = list(values) if "median_unsorted" in bugs else sorted(values)
    if "median_upper" in bugs:
        return ordered[len(ordered) // 2]
    return ordered[(len(ordered) - 1) // 2]


def sprt_thresholds(
    alpha: Fraction, beta: Fraction, scale: int, bugs: Collection[str]
) -> tuple[int, int]:
    with localcontext() as ctx:
        ctx.prec = 60

        def fixed(x: Fraction) -> int:
            value = (Decimal(x.numerator) / Decimal(x.denominator)).ln() * scale
            if "sprt_truncates" in bugs:
                return int(value)
            return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))

        return fixed((1 - beta) / alpha), fixed(beta / (1 - alpha))


def sprt_verdict(log_odds: int, upper: int, lower: int, bugs: Collection[str]) -> str:
    strict = "sprt_strict_boundaries" in bugs
    if log_odds > upper or (log_odds == upper and not strict):
        return "flagged"
    if log_odds < lower or (log_odds == lower and not strict):
        return "cleared"
    return "undecided"
