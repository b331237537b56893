"""Interval estimates for the report's rates (analysis only: floats allowed).

A rate measured over many seeds (attack success, detection, epochs decided)
is a proportion ``k / n``; the report gives it with a 95% interval.  Two
standard intervals:

* Wilson's score interval (Wilson 1927), good coverage at every ``n`` and
  never outside [0, 1];
* Clopper-Pearson's exact interval (1934), from the beta quantiles: wider,
  with coverage at least the nominal level; used where a claim says "under
  1%" or "over 99%" and the rate is at an end of the range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

from scipy import stats

from vigilnet.errors import LocalProtocolError, ensure

__all__ = ["Proportion", "clopper_pearson", "interval_json", "wilson", "wilson_exact"]

_Z95 = 1.959963984540054  # the 97.5% quantile of the standard normal


def _check(successes: int, trials: int) -> None:
    ensure(
        isinstance(successes, int) and isinstance(trials, int) and 0 <= successes <= trials,
        f"need 0 <= successes <= trials, got {successes}/{trials}",
        LocalProtocolError,
    )


def wilson(successes: int, trials: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson's score interval; ``(0, 1)`` when there are no trials."""
    _check(successes, trials)
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def clopper_pearson(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson's exact interval; ``(0, 1)`` when there are no trials."""
    _check(successes, trials)
    if trials == 0:
        return (0.0, 1.0)
    alpha = 1 - level
    low = (
        0.0
        if successes == 0
        else float(stats.beta.ppf(alpha / 2, successes, trials - successes + 1))
    )
    high = (
        1.0
        if successes == trials
        else float(stats.beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    )
    return (low, high)


@dataclass(frozen=True, slots=True, kw_only=True)
class Proportion:
    """``successes`` out of ``trials``, with both intervals."""

    successes: int
    trials: int

    def __post_init__(self) -> None:
        _check(self.successes, self.trials)

    @property
    def rate(self) -> float | None:
        return None if self.trials == 0 else self.successes / self.trials

    def as_json(self) -> dict[str, object]:
        """Stable keys; floats rounded to 6 places so the JSON is stable."""
        w, cp = wilson(self.successes, self.trials), clopper_pearson(self.successes, self.trials)
        rate = self.rate
        return {
            "successes": self.successes,
            "trials": self.trials,
            "rate": None if rate is None else round(rate, 6),
            "wilson95": [round(w[0], 6), round(w[1], 6)],
            "clopper_pearson95": [round(cp[0], 6), round(cp[1], 6)],
        }


def _decimal(x: Decimal, places: int = 6) -> str:
    return str(x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))


def wilson_exact(successes: int, trials: int, places: int = 6) -> tuple[str, str]:
    """Wilson's 95% interval as decimal strings, computed from the exact
    ``k/n`` in 50-digit decimal arithmetic (only ``z``, the normal quantile,
    is not exact: it is taken as the 16-digit constant), so the rendering
    does not depend on floating-point rounding; ``("0", "1")`` with no trials."""
    _check(successes, trials)
    if trials == 0:
        return ("0", "1")
    with localcontext() as ctx:
        ctx.prec = 50
        n = Decimal(trials)
        p = Decimal(successes) / n
        z = Decimal(repr(_Z95))
        z2 = z * z
        denominator = 1 + z2 / n
        centre = (p + z2 / (2 * n)) / denominator
        half = z * (p * (1 - p) / n + z2 / (4 * n * n)).sqrt() / denominator
        low, high = max(Decimal(0), centre - half), min(Decimal(1), centre + half)
        return (_decimal(low, places), _decimal(high, places))


def interval_json(successes: int, trials: int) -> dict[str, object]:
    """A rate over many runs for the JSON report: the counts, the exact
    rate ``"k/n"`` with its decimal, and both 95% intervals as decimal
    strings (Wilson from :func:`wilson_exact`; Clopper-Pearson from the
    beta quantiles, rounded to 6 places).  No floats, stable keys."""
    _check(successes, trials)
    if trials == 0:
        return {
            "successes": 0,
            "trials": 0,
            "rate": None,
            "wilson95": ["0", "1"],
            "clopper_pearson95": ["0", "1"],
        }
    exact = Fraction(successes, trials)
    low, high = clopper_pearson(successes, trials)
    return {
        "successes": successes,
        "trials": trials,
        "rate": {
            "exact": f"{exact.numerator}/{exact.denominator}",
            "decimal": _decimal(Decimal(exact.numerator) / Decimal(exact.denominator), 4),
        },
        "wilson95": list(wilson_exact(successes, trials)),
        "clopper_pearson95": [f"{low:.6f}", f"{high:.6f}"],
    }
