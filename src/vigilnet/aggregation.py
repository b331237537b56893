"""Robust combination of values reported by possibly Byzantine nodes.

Two exact, pure functions every protocol imports:

* :func:`trimmed_combination` (SDBC's ``Agg(S)``, per coordinate): sort the
  ``m`` values, drop the ``f`` lowest and the ``f`` highest, and return the
  exact mean of the ``m - 2f`` that remain, as a :class:`fractions.Fraction`.
  With ``m >= 2f + 1`` values of which at most ``f`` are Byzantine, the
  result lies within the range of the honest values ("box validity"); the
  plain mean (no trim) does not.  ``proofs/aggregation.py`` proves both for
  every ``m`` up to a bound and symbolically.
* :func:`replica_median` (the ``r`` replicas of one agent): the **lower**
  median, ``sorted(values)[(m - 1) // 2]``.  The lower median is always one of
  the inputs, so it stays an integer (no halving, no rounding rule to agree
  on) and every node computes the same value; it lies within the honest range
  while at most ``(m - 1) // 2`` values are Byzantine (one of three replicas).

Both refuse, with :class:`~vigilnet.errors.LocalProtocolError`, inputs for
which the guarantee cannot hold: too few values, a negative ``f``, or
non-integer values (``bool`` included).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from vigilnet.errors import LocalProtocolError, ensure

__all__ = ["replica_median", "trimmed_combination"]


def _check_integers(values: Sequence[int]) -> None:
    ensure(
        all(isinstance(v, int) and not isinstance(v, bool) for v in values),
        "values must be integers",
        LocalProtocolError,
    )


def trimmed_combination(values: Sequence[int], f: int) -> Fraction:
    """The ``f``-trimmed mean of ``values``, exactly.

    pre: f >= 0
    pre: len(values) >= 2 * f + 1
    post: min(values) <= __return__ <= max(values)
    post: sorted(values)[f] <= __return__ <= sorted(values)[len(values) - 1 - f]
    """
    ensure(
        isinstance(f, int) and not isinstance(f, bool) and f >= 0,
        f"f must be a non-negative integer, got {f!r}",
        LocalProtocolError,
    )
    ensure(
        len(values) >= 2 * f + 1,
        f"an {f}-trimmed combination needs at least {2 * f + 1} values, got {len(values)}",
        LocalProtocolError,
    )
    _check_integers(values)
    kept = sorted(values)[f : len(values) - f]
    return Fraction(sum(kept), len(kept))


def replica_median(values: Sequence[int]) -> int:
    """The lower median of one or more integers.

    pre: len(values) >= 1
    post: __return__ in values
    post: sum(1 for v in values if v <= __return__) >= (len(values) + 1) // 2
    post: sum(1 for v in values if v >= __return__) >= len(values) // 2 + 1
    """
    ensure(len(values) >= 1, "the median of no values is undefined", LocalProtocolError)
    _check_integers(values)
    return sorted(values)[(len(values) - 1) // 2]
