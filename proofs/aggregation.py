"""Robust aggregation: the f-trimmed combination and the replica median.

Theory of operation
-------------------

The definitions are those of :mod:`vigilnet.aggregation`: sort the ``m``
values ``y[0] <= ... <= y[m-1]``; the ``f``-trimmed combination is
``T = (y[f] + ... + y[m-f-1]) / (m - 2f)`` and the lower median is
``y[(m-1)//2]``.  A Byzantine value is any value at any sorted position; a
position is marked ``byz`` and at most ``f`` positions are.  (Marking sorted
positions loses nothing: whatever the inputs, the function only sees their
sorted order.)  *Box validity*: ``T`` lies within the range of the honest
values, stated without division as ``(m-2f)*lo <= S <= (m-2f)*hi`` for every
lower bound ``lo`` and upper bound ``hi`` of the honest values.

Two layers:

1. **Bounded, exhaustive in m**: one quantifier-free obligation covers every
   ``1 <= m <= BOUND`` and every ``f`` with ``2f + 1 <= m`` (``BOUND`` = 16),
   for the trimmed combination and for the median.
2. **Symbolic, every m and f**: ``H(k)`` counts honest positions below ``k``
   and ``S(k)`` sums ``y[f..k-1]``, both uninterpreted functions given by
   their recursive definitions.  Four lemmas are proved by induction, each as
   two obligations (``.base`` and ``.step``; the induction rule itself is
   applied outside Z3):

   * ``honest_count_grows_by_one``: ``H(k) <= H(j) + (k - j)`` for ``k >= j``;
   * ``no_honest_no_count``: if every position in ``[j, k)`` is Byzantine then
     ``H(k) = H(j)``;
   * ``sum_lower``: ``S(k) >= (k - f) * y[f]`` for ``k >= f``;
   * ``sum_upper``: ``S(k) <= (k - f) * y[k-1]`` for ``k >= f + 1``;

   and two glue obligations combine instances of them (instances built by the
   same Python functions that state the lemmas) into box validity for every
   ``m >= 2f + 1``.

Mutants: the plain mean, trimming ``f - 1`` per side, ``f + 1`` liars against
an ``f``-trim, and a median of three with two liars.  Each countermodel is
replayed through :func:`vigilnet.aggregation.trimmed_combination` (or
:func:`~vigilnet.aggregation.replica_median`): the broken rule leaves the
honest range on the countermodel's values, and the real function does not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction

import z3

from vigilnet.aggregation import replica_median, trimmed_combination
from vigilnet.errors import InvariantViolation, ensure

from ._obligation import Check, Kind, implication, int_of, register

__all__ = ["BOUND", "box_valid", "sorted_values"]

PREFIX = "aggregation"

#: Every m up to this bound is covered by the bounded obligations.
BOUND = 16


def sorted_values(tag: str, m: int) -> tuple[list[z3.ArithRef], list[z3.BoolRef], list[z3.BoolRef]]:
    """``m`` sorted integer values, their Byzantine marks, and the sortedness facts."""
    ys = [z3.Int(f"{tag}.y{i}") for i in range(m)]
    byz = [z3.Bool(f"{tag}.byz{i}") for i in range(m)]
    return ys, byz, [ys[i] <= ys[i + 1] for i in range(m - 1)]


def _byzantine_count(byz: Sequence[z3.BoolRef]) -> z3.ArithRef:
    return z3.Sum(*(z3.If(b, 1, 0) for b in byz))


def box_valid(
    ys: Sequence[z3.ArithRef], byz: Sequence[z3.BoolRef], total: z3.ArithRef, weight: int
) -> z3.BoolRef:
    """``total / weight`` lies between some honest value and some honest value."""
    return z3.And(
        z3.Or(*(z3.And(z3.Not(b), weight * y <= total) for y, b in zip(ys, byz, strict=True))),
        z3.Or(*(z3.And(z3.Not(b), total <= weight * y) for y, b in zip(ys, byz, strict=True))),
    )


def _trimmed(tag: str, m: int, trim: int, liars: int) -> tuple[list[z3.BoolRef], z3.BoolRef]:
    """Hypotheses and box validity for an ``trim``-trimmed mean of ``m`` values with
    at most ``liars`` Byzantine ones."""
    ys, byz, ordered = sorted_values(tag, m)
    kept = ys[trim : m - trim]
    return (
        [*ordered, _byzantine_count(byz) <= liars],
        box_valid(ys, byz, z3.Sum(*kept), len(kept)),
    )


def _median(tag: str, m: int, liars: int) -> tuple[list[z3.BoolRef], z3.BoolRef]:
    ys, byz, ordered = sorted_values(tag, m)
    return (
        [*ordered, _byzantine_count(byz) <= liars],
        box_valid(ys, byz, ys[(m - 1) // 2], 1),
    )


def _family(
    build: Callable[[int, int], tuple[list[z3.BoolRef], z3.BoolRef]],
) -> z3.BoolRef:
    claims = []
    for m in range(1, BOUND + 1):
        for f in range((m - 1) // 2 + 1):
            hypotheses, conclusion = build(m, f)
            claims.append(z3.Implies(z3.And(*hypotheses), conclusion))
    return z3.And(*claims)


register(
    Check(
        name=f"{PREFIX}.trimmed.box_validity.bounded",
        kind=Kind.OBLIGATION,
        statement=f"For every 1 <= m <= {BOUND} and every f with 2f + 1 <= m: with at most f "
        "Byzantine values among m, the f-trimmed mean lies within the honest range.",
        formula=lambda: _family(lambda m, f: _trimmed(f"m{m}f{f}", m, f, f)),
    )
)

register(
    Check(
        name=f"{PREFIX}.median.box_validity.bounded",
        kind=Kind.OBLIGATION,
        statement=f"For every 1 <= m <= {BOUND}: with at most (m-1)//2 Byzantine values, the "
        "lower median lies within the honest range.",
        formula=lambda: _family(lambda m, f: _median(f"m{m}", m, (m - 1) // 2)),
    )
)


def _nonvacuous_trimmed() -> z3.BoolRef:
    hypotheses, _ = _trimmed("w", 5, 2, 2)
    _, byz, _ = sorted_values("w", 5)
    return z3.And(*hypotheses, _byzantine_count(byz) == 2)


register(
    Check(
        name=f"{PREFIX}.trimmed.box_validity.bounded.nonvacuous",
        kind=Kind.NON_VACUITY,
        statement="The hypotheses admit exactly f Byzantine values (m = 5, f = 2).",
        formula=_nonvacuous_trimmed,
    )
)


def _nonvacuous_median() -> z3.BoolRef:
    hypotheses, _ = _median("wm", 3, 1)
    _, byz, _ = sorted_values("wm", 3)
    return z3.And(*hypotheses, _byzantine_count(byz) == 1)


register(
    Check(
        name=f"{PREFIX}.median.box_validity.bounded.nonvacuous",
        kind=Kind.NON_VACUITY,
        statement="The hypotheses admit one Byzantine replica of three.",
        formula=_nonvacuous_median,
    )
)


# --- mutants, replayed through the real functions -----------------------------


def _values_and_honest(model: z3.ModelRef, tag: str, m: int) -> tuple[list[int], list[int]]:
    values = [int_of(model, f"{tag}.y{i}") for i in range(m)]
    liars = {
        i
        for i in range(m)
        if z3.is_true(model.eval(z3.Bool(f"{tag}.byz{i}"), model_completion=True))
    }
    return values, [v for i, v in enumerate(values) if i not in liars]


def _replay_trimmed(
    tag: str, m: int, f: int, broken: Callable[[list[int]], Fraction]
) -> Callable[[z3.ModelRef], None]:
    def replay(model: z3.ModelRef) -> None:
        values, honest = _values_and_honest(model, tag, m)
        ensure(
            len(honest) >= m - f - 1 and honest,
            "countermodel has no honest value",
            InvariantViolation,
        )
        outside = broken(values)
        ensure(
            not min(honest) <= outside <= max(honest),
            f"broken rule gives {outside} inside honest range on {values}",
            InvariantViolation,
        )
        if len(honest) >= m - f:
            real = trimmed_combination(values, f)
            ensure(
                min(honest) <= real <= max(honest),
                f"trimmed_combination({values}, {f}) = {real} outside honest {honest}",
                InvariantViolation,
            )

    return replay


def _mutant_trimmed(
    name: str,
    statement: str,
    m: int,
    trim: int,
    liars: int,
    f: int,
    broken: Callable[[list[int]], Fraction],
) -> None:
    tag = f"mut_{name}"
    register(
        Check(
            name=f"{PREFIX}.trimmed.mutant.{name}",
            kind=Kind.MUTANT,
            statement=statement,
            formula=lambda: z3.Implies(
                z3.And(*_trimmed(tag, m, trim, liars)[0]), _trimmed(tag, m, trim, liars)[1]
            ),
            replay=_replay_trimmed(tag, m, f, broken),
        )
    )


_mutant_trimmed(
    "no_trim",
    "Mutant: the plain mean of m = 5 values with f = 2 Byzantine lies within the honest range.",
    5,
    0,
    2,
    2,
    lambda vs: Fraction(sum(vs), len(vs)),
)
_mutant_trimmed(
    "under_trim",
    "Mutant: trimming f - 1 = 1 per side of m = 5 values with f = 2 Byzantine suffices.",
    5,
    1,
    2,
    2,
    lambda vs: Fraction(sum(sorted(vs)[1:4]), 3),
)
_mutant_trimmed(
    "too_many_liars",
    "Mutant: the 2-trimmed mean of m = 5 values survives f + 1 = 3 Byzantine values.",
    5,
    2,
    3,
    2,
    lambda vs: Fraction(sorted(vs)[2]),
)


def _replay_median(model: z3.ModelRef) -> None:
    values, honest = _values_and_honest(model, "mut_median", 3)
    median = replica_median(values)
    ensure(
        honest and not min(honest) <= median <= max(honest),
        f"replica_median({values}) = {median} is inside honest {honest}",
        InvariantViolation,
    )


register(
    Check(
        name=f"{PREFIX}.median.mutant.two_of_three_liars",
        kind=Kind.MUTANT,
        statement="Mutant: the median of three replicas survives two Byzantine replicas.",
        formula=lambda: z3.Implies(
            z3.And(*_median("mut_median", 3, 2)[0]), _median("mut_median", 3, 2)[1]
        ),
        replay=_replay_median,
    )
)


# --- symbolic: every m and f ----------------------------------------------------

_y = z3.Function("y", z3.IntSort(), z3.IntSort())
_byz = z3.Function("byz", z3.IntSort(), z3.BoolSort())
_H = z3.Function("H", z3.IntSort(), z3.IntSort())
_S = z3.Function("S", z3.IntSort(), z3.IntSort())
_m, _f, _j, _k, _i = z3.Ints("m f j k i")


def _honest_count_def(k: z3.ArithRef) -> z3.BoolRef:
    """H(0) = 0 and H(k+1) = H(k) + [position k is honest], instance at k."""
    return z3.And(_H(0) == 0, z3.Implies(k >= 0, _H(k + 1) == _H(k) + z3.If(_byz(k), 0, 1)))


def _sum_def(k: z3.ArithRef) -> z3.BoolRef:
    """S(f) = 0 and S(k+1) = S(k) + y[k] for k >= f, instance at k."""
    return z3.And(_S(_f) == 0, z3.Implies(k >= _f, _S(k + 1) == _S(k) + _y(k)))


def _sorted_at(a: z3.ArithRef, b: z3.ArithRef) -> z3.BoolRef:
    return z3.Implies(z3.And(a >= 0, a <= b), _y(a) <= _y(b))


def _all_byzantine(lo: z3.ArithRef, hi: z3.ArithRef) -> z3.BoolRef:
    return z3.ForAll([_i], z3.Implies(z3.And(lo <= _i, _i < hi), _byz(_i)))


#: Lemma name -> (domain of k, statement at k).  j and f are free.
LEMMAS: dict[
    str,
    tuple[Callable[[z3.ArithRef], z3.BoolRef], Callable[[z3.ArithRef], z3.BoolRef], z3.ArithRef],
] = {
    "honest_count_grows_by_one": (
        lambda k: z3.And(_j >= 0, k >= _j),
        lambda k: _H(k) <= _H(_j) + (k - _j),
        _j,
    ),
    "no_honest_no_count": (
        lambda k: z3.And(_j >= 0, k >= _j),
        lambda k: z3.Implies(_all_byzantine(_j, k), _H(k) == _H(_j)),
        _j,
    ),
    "sum_lower": (
        lambda k: z3.And(_f >= 0, k >= _f),
        lambda k: _S(k) >= (k - _f) * _y(_f),
        _f,
    ),
    "sum_upper": (
        lambda k: z3.And(_f >= 0, k >= _f + 1),
        lambda k: _S(k) <= (k - _f) * _y(k - 1),
        _f + 1,
    ),
}


def _lemma(name: str, k: z3.ArithRef) -> z3.BoolRef:
    domain, statement, _ = LEMMAS[name]
    return z3.Implies(domain(k), statement(k))


for _name, (_domain, _statement, _start) in LEMMAS.items():
    implication(
        f"{PREFIX}.symbolic.{_name}.base",
        f"Induction base of {_name}.",
        lambda d=_domain, b=_start: [  # type: ignore[misc]
            d(b),
            _honest_count_def(b - 1),
            _sum_def(b - 1),
            _sum_def(_f),
        ],
        lambda s=_statement, b=_start: s(b),  # type: ignore[misc]
    )
    implication(
        f"{PREFIX}.symbolic.{_name}.step",
        f"Induction step of {_name}: the lemma at k implies it at k + 1.",
        lambda s=_statement, d=_domain: [  # type: ignore[misc]
            d(_k),
            s(_k),
            _honest_count_def(_k),
            _sum_def(_k),
            _sorted_at(_k - 1, _k),
            _sorted_at(_f, _k),
        ],
        lambda s=_statement: s(_k + 1),  # type: ignore[misc]
        witness=lambda: [_f >= 1, _k >= _f + 2, _j >= 1],
    )


def _glue_hypotheses(byzantine_bound: z3.ArithRef) -> list[z3.BoolRef]:
    m, f = _m, _f
    return [
        f >= 0,
        m >= 2 * f + 1,
        m - _H(m) <= byzantine_bound,  # Byzantine positions among 0..m-1
        _H(0) == 0,
        z3.ForAll([_i, _j], _sorted_at(_i, _j)),
    ]


def _with_j(j: z3.ArithRef, name: str, k: z3.ArithRef) -> z3.BoolRef:
    return z3.substitute(_lemma(name, k), (_j, j))


def _lower_hypotheses(byzantine_bound: z3.ArithRef) -> list[z3.BoolRef]:
    m, f, lo = _m, _f, z3.Int("lo")
    return [
        *_glue_hypotheses(byzantine_bound),
        _with_j(f + 1, "honest_count_grows_by_one", m),
        _with_j(z3.IntVal(0), "no_honest_no_count", f + 1),
        _lemma("sum_lower", m - f),
        z3.ForAll([_i], z3.Implies(z3.And(_i >= 0, _i < m, z3.Not(_byz(_i))), lo <= _y(_i))),
    ]


def _upper_hypotheses(byzantine_bound: z3.ArithRef) -> list[z3.BoolRef]:
    m, f, hi = _m, _f, z3.Int("hi")
    return [
        *_glue_hypotheses(byzantine_bound),
        _with_j(z3.IntVal(0), "honest_count_grows_by_one", m - f - 1),
        _with_j(m - f - 1, "no_honest_no_count", m),
        _lemma("sum_upper", m - f),
        z3.ForAll([_i], z3.Implies(z3.And(_i >= 0, _i < m, z3.Not(_byz(_i))), _y(_i) <= hi)),
    ]


def _lower_conclusion() -> z3.BoolRef:
    return (_m - 2 * _f) * z3.Int("lo") <= _S(_m - _f)


def _upper_conclusion() -> z3.BoolRef:
    return _S(_m - _f) <= (_m - 2 * _f) * z3.Int("hi")


def _glue_witness() -> list[z3.BoolRef]:
    """An interesting model: f >= 1 and exactly f Byzantine positions."""
    return [_f >= 1, _m - _H(_m) == _f]


implication(
    f"{PREFIX}.symbolic.box_validity.lower",
    "Every m >= 2f + 1 with at most f Byzantine positions: (m - 2f) * lo <= "
    "y[f] + ... + y[m-f-1] for every lower bound lo of the honest values (from the "
    "lemma instances).",
    lambda: _lower_hypotheses(_f),
    _lower_conclusion,
    witness=_glue_witness,
)
implication(
    f"{PREFIX}.symbolic.box_validity.upper",
    "Every m >= 2f + 1 with at most f Byzantine positions: y[f] + ... + y[m-f-1] <= "
    "(m - 2f) * hi for every upper bound hi of the honest values.",
    lambda: _upper_hypotheses(_f),
    _upper_conclusion,
    witness=_glue_witness,
)
register(
    Check(
        name=f"{PREFIX}.symbolic.mutant.f_plus_one_liars",
        kind=Kind.MUTANT,
        statement="Mutant: the lower glue still holds with f + 1 Byzantine positions.",
        formula=lambda: z3.Implies(z3.And(*_lower_hypotheses(_f + 1)), _lower_conclusion()),
    )
)
