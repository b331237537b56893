"""Fixed-point log-likelihood ratios.

Evidence is summed across nodes and compared against thresholds by every
replica, so it must be bit-identical everywhere: a log-likelihood ratio
(natural-log units, "nats") is carried as a signed integer

    lam_fp = round_half_even(lam * SCALE),   SCALE = 2**FRACTION_BITS = 65536,

and clamped to ``[-lambda_max, +lambda_max]``.  One unit is ``2**-16`` nat
(about 1.5e-5).

**Rounding rule.** Floats enter only here, at the analysis boundary
(:func:`to_fixed`).  The float is first turned into the exact rational it
denotes (``Fraction(x)``, no rounding), multiplied by ``SCALE`` exactly, and
rounded to the nearest integer, ties to even.  NaN and infinities are
rejected, never clamped: they mean the analysis is broken.  Inside the
protocol everything is integer.

**Overflow bounds.** A configured clamp is at most :data:`LAMBDA_MAX_LIMIT`
(``2**23`` units, 128 nats) and an accumulator holds at most
:data:`MAX_EVIDENCE_COUNT` (``2**39``) clamped terms, so the magnitude of any
sum is at most ``2**23 * 2**39 = 2**62 < 2**63``: every accumulator fits a
signed 64-bit integer (the C kernels' ``int64_t``).  The count bound applies
to every accumulator, merged ones included: two accumulators may be added
only while their combined count stays within ``MAX_EVIDENCE_COUNT``
(:func:`accumulate` and :class:`vigilnet.evidence.EvidenceStats` refuse
anything else), because two full ones would reach ``2**63``, one past
``INT64_MAX``.  ``proofs/fixedpoint.py`` proves these bounds with
bit-vectors over the constants below.
"""

from __future__ import annotations

import math
from fractions import Fraction

from vigilnet.errors import LocalProtocolError, ensure

__all__ = [
    "DEFAULT_LAMBDA_MAX",
    "FRACTION_BITS",
    "INT64_MAX",
    "LAMBDA_MAX_LIMIT",
    "MAX_EVIDENCE_COUNT",
    "SCALE",
    "accumulate",
    "clamp",
    "from_fraction",
    "to_fixed",
    "to_float",
]

FRACTION_BITS = 16
SCALE = 1 << FRACTION_BITS
#: Default clamp: 8 nats (a single observation moves the odds by at most e**8).
DEFAULT_LAMBDA_MAX = 8 * SCALE
#: The largest clamp a configuration may choose (128 nats).
LAMBDA_MAX_LIMIT = 1 << 23
#: The most clamped terms one accumulator may hold.
MAX_EVIDENCE_COUNT = 1 << 39
INT64_MAX = (1 << 63) - 1


def _check_lambda_max(lambda_max: int) -> None:
    ensure(
        isinstance(lambda_max, int) and 0 < lambda_max <= LAMBDA_MAX_LIMIT,
        f"lambda_max must be an integer in 1..{LAMBDA_MAX_LIMIT}, got {lambda_max!r}",
        LocalProtocolError,
    )


def clamp(value: int, lambda_max: int = DEFAULT_LAMBDA_MAX) -> int:
    """Clamp a fixed-point value to ``[-lambda_max, +lambda_max]``.

    pre: 0 < lambda_max <= LAMBDA_MAX_LIMIT
    post: -lambda_max <= __return__ <= lambda_max
    post: __return__ == value or abs(value) > lambda_max
    """
    _check_lambda_max(lambda_max)
    return max(-lambda_max, min(lambda_max, value))


def from_fraction(value: Fraction | int, lambda_max: int = DEFAULT_LAMBDA_MAX) -> int:
    """Exact rational (nats) -> clamped fixed point, rounding ties to even.

    pre: 0 < lambda_max <= LAMBDA_MAX_LIMIT
    post: -lambda_max <= __return__ <= lambda_max
    post: abs(Fraction(value) * SCALE - __return__) <= Fraction(1, 2) or abs(__return__) == lambda_max
    """
    return clamp(round(Fraction(value) * SCALE), lambda_max)


def to_fixed(value: float | Fraction | int, lambda_max: int = DEFAULT_LAMBDA_MAX) -> int:
    """Convert an analysis result (nats) to clamped fixed point.

    The only place a float may enter.  See the module docstring for the
    rounding rule.
    """
    if isinstance(value, float):
        ensure(
            math.isfinite(value),
            f"log-likelihood ratio {value!r} is not finite",
            LocalProtocolError,
        )
    return from_fraction(Fraction(value), lambda_max)


def to_float(value: int) -> float:
    """Fixed point -> float, for reports only."""
    return value / SCALE


def accumulate(
    total: int, count: int, value: int, lambda_max: int = DEFAULT_LAMBDA_MAX
) -> tuple[int, int]:
    """Add one clamped term to a ``(total, count)`` accumulator.

    Refuses a term outside the clamp and a count beyond
    :data:`MAX_EVIDENCE_COUNT`, which together keep ``total`` inside int64.
    """
    _check_lambda_max(lambda_max)
    ensure(
        -lambda_max <= value <= lambda_max,
        f"term {value} outside +-{lambda_max}",
        LocalProtocolError,
    )
    ensure(
        count < MAX_EVIDENCE_COUNT, f"accumulator already holds {count} terms", LocalProtocolError
    )
    return total + value, count + 1
