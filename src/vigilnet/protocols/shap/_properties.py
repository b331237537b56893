"""SHAP's properties as plain predicates, defined once.

The model (``models/shap.py``), the stateful Hypothesis test
(``tests/shap/test_stateful.py``) and the documentation state each property
through these functions, over plain values, so the checker property and the
test invariant cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from fractions import Fraction

__all__ = [
    "bounded_influence",
    "detectability",
    "fan_in_bound",
    "integrity",
    "no_framing",
    "reputation_gate",
]


def integrity(total: int, committed: Iterable[int]) -> bool:
    """The committed total is the exact sum of the committed leaves."""
    return total == sum(committed)


def detectability(confirmed: bool, counted_unaltered: bool) -> bool:
    """A child that confirmed its receipt is counted, unaltered."""
    return not confirmed or counted_unaltered


def bounded_influence(combined: int | Fraction, honest: Collection[int]) -> bool:
    """The combined value lies within the honest replicas' range."""
    return bool(honest) and min(honest) <= combined <= max(honest)


def fan_in_bound(accepted: int, bound: int) -> bool:
    """No more children accepted than ``max_aggregation_ratio``."""
    return accepted <= bound


def reputation_gate(accepted: Iterable[int], excluded: Collection[int]) -> bool:
    """No accepted child is below the reputation threshold or banned."""
    return not any(child in excluded for child in accepted)


def no_framing(struck: Collection[int], honest: Iterable[int]) -> bool:
    """No honest node is struck: a strike is only for what the struck
    node's own signature covers (issue 10, item 5)."""
    return not any(node in struck for node in honest)
