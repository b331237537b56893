"""Exact quorum arithmetic.

A quorum threshold ``t`` is a :class:`fractions.Fraction` in ``(1/2, 1]`` and
the quorum of ``n`` members is ``q = ceil(t * n)``, computed with integers only
(``-(-a * n // b)`` for ``t = a/b``).  Floating point is never used here:
``math.ceil(0.56 * 25)`` is 15, the right answer is 14.

From ``n`` and ``q`` follow the numbers every protocol relies on (DESIGN.md
section 4.1, proved for every ``n`` in ``proofs/``):

* two quorums share at least ``2q - n`` members;
* ``blocking(n, q) = n - q + 1``: a set this large meets every quorum, so a
  node that hears from it knows at least one honest member is ahead (round
  skip);
* ``max_safe_faults(n, q) = 2q - n - 1``: agreement holds while at most this
  many members are Byzantine (two quorums then share an honest member);
* ``max_live_faults(n, q) = n - q``: the honest members alone still form a
  quorum, so the protocol can decide after GST.

:class:`QuorumConfig` validates a peer group's configuration and rejects, with
a :class:`~vigilnet.errors.LocalProtocolError` that says why, a threshold at or
below one half, a quorum larger than the group, and a member list whose size
differs from ``n``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from vigilnet.errors import LocalProtocolError, ensure

__all__ = [
    "DEFAULT_THRESHOLD",
    "QuorumConfig",
    "blocking",
    "intersection",
    "max_live_faults",
    "max_safe_faults",
    "parse_threshold",
    "quorum",
]

#: The default supermajority of the continental hubs (q = 4 of 5).
DEFAULT_THRESHOLD = Fraction(3, 4)


def parse_threshold(text: str | int | Fraction) -> Fraction:
    """Read a threshold written as ``"3/4"`` or ``"0.56"`` exactly.

    A decimal string is read as the exact decimal it spells (``"0.56"`` is
    ``14/25``), never through a binary float.
    """
    if isinstance(text, Fraction):
        return text
    if isinstance(text, int):
        return Fraction(text)
    try:
        return Fraction(text.strip())
    except (ValueError, ZeroDivisionError) as exc:
        raise LocalProtocolError(f"threshold {text!r} is not a fraction") from exc


def _check_threshold(t: Fraction) -> None:
    ensure(isinstance(t, Fraction), f"threshold must be a Fraction, got {t!r}", LocalProtocolError)
    ensure(
        t > Fraction(1, 2),
        f"threshold t = {t} must be greater than 1/2 (two quorums must intersect)",
        LocalProtocolError,
    )
    ensure(
        t <= 1,
        f"threshold t = {t} must be at most 1 (a quorum cannot exceed the group)",
        LocalProtocolError,
    )


def _check_n(n: int) -> None:
    ensure(
        isinstance(n, int) and not isinstance(n, bool) and n >= 1,
        f"group size must be a positive integer, got {n!r}",
        LocalProtocolError,
    )


def quorum(t: Fraction, n: int) -> int:
    """``ceil(t * n)`` exactly, for ``1/2 < t <= 1`` and ``n >= 1``.

    pre: Fraction(1, 2) < t <= 1
    pre: n >= 1
    post: __return__ * t.denominator >= t.numerator * n > (__return__ - 1) * t.denominator
    post: n < 2 * __return__ <= 2 * n
    """
    _check_threshold(t)
    _check_n(n)
    return -(-t.numerator * n // t.denominator)


def _check_q(n: int, q: int) -> None:
    _check_n(n)
    ensure(1 <= q <= n, f"quorum {q} must lie in 1..{n}", LocalProtocolError)


def intersection(n: int, q: int) -> int:
    """The fewest members two quorums of size ``q`` can share: ``2q - n``
    (never below zero).

    pre: 1 <= q <= n
    post: 0 <= __return__ <= q
    post: __return__ >= 2 * q - n
    """
    _check_q(n, q)
    return max(0, 2 * q - n)


def blocking(n: int, q: int) -> int:
    """The smallest set that meets every quorum: ``n - q + 1``.

    pre: 1 <= q <= n
    post: 1 <= __return__ <= n
    post: __return__ + q > n
    """
    _check_q(n, q)
    return n - q + 1


def max_safe_faults(n: int, q: int) -> int:
    """The most Byzantine members under which two quorums still share an
    honest one: ``2q - n - 1`` (negative means never safe).

    pre: 1 <= q <= n
    post: __return__ < q
    post: 2 * q - n - __return__ == 1
    """
    _check_q(n, q)
    return 2 * q - n - 1


def max_live_faults(n: int, q: int) -> int:
    """The most faulty members under which the rest still form a quorum:
    ``n - q``.

    pre: 1 <= q <= n
    post: 0 <= __return__ < n
    post: n - __return__ >= q
    """
    _check_q(n, q)
    return n - q


@dataclass(frozen=True, slots=True, kw_only=True)
class QuorumConfig:
    """A validated peer-group configuration: members, threshold, quorum.

    ``members`` is the ordered tuple of member identifiers (key ids); its
    length must equal ``n``.  Members must be distinct.
    """

    n: int
    threshold: Fraction
    members: tuple[bytes, ...]

    def __post_init__(self) -> None:
        _check_n(self.n)
        _check_threshold(self.threshold)
        ensure(
            len(self.members) == self.n,
            f"member list has {len(self.members)} entries but n = {self.n}",
            LocalProtocolError,
        )
        ensure(
            len(set(self.members)) == len(self.members),
            "member list contains duplicates",
            LocalProtocolError,
        )

    @classmethod
    def build(cls, *, threshold: Fraction | str, members: Sequence[bytes]) -> QuorumConfig:
        return cls(n=len(members), threshold=parse_threshold(threshold), members=tuple(members))

    @property
    def quorum(self) -> int:
        return quorum(self.threshold, self.n)

    @property
    def blocking(self) -> int:
        return blocking(self.n, self.quorum)

    @property
    def max_safe_faults(self) -> int:
        return max_safe_faults(self.n, self.quorum)

    @property
    def max_live_faults(self) -> int:
        return max_live_faults(self.n, self.quorum)

    def is_quorum(self, signers: frozenset[bytes] | set[bytes]) -> bool:
        """True when ``signers`` holds at least ``quorum`` distinct members.
        Non-members are not counted."""
        return len(set(signers) & set(self.members)) >= self.quorum

    def is_blocking(self, signers: frozenset[bytes] | set[bytes]) -> bool:
        return len(set(signers) & set(self.members)) >= self.blocking
