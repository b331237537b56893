"""Fixed-point evidence accumulators cannot overflow (64-bit bit-vectors).

Theory of operation
-------------------

The numbers are imported from :mod:`vigilnet.fixedpoint`, so the proof checks
the configured constants, not copies: a clamp ``lambda_max`` in
``1..LAMBDA_MAX_LIMIT`` and at most ``MAX_EVIDENCE_COUNT`` terms per
accumulator.

An accumulator is ``(total, count)``: two 64-bit machine words, ``total``
signed (the C kernels' ``int64_t``) and ``count`` unsigned.  The invariant
``Acc`` is stated in 128-bit arithmetic, where it cannot itself overflow:

    count <= MAX_EVIDENCE_COUNT  and  |total| <= count * LAMBDA_MAX_LIMIT.

The obligations: the empty accumulator satisfies ``Acc``; one
:func:`~vigilnet.fixedpoint.accumulate` step under its guards (term within the
clamp, ``count < MAX_EVIDENCE_COUNT``) neither overflows the 64-bit addition
nor leaves ``Acc``; ``Acc`` bounds ``|total|`` by ``2**62``; merging two
accumulators whose combined count respects the bound does not overflow; and
:func:`~vigilnet.fixedpoint.clamp` lands in ``[-lambda_max, lambda_max]`` for
every 64-bit input.

Mutants: a clamp limit one bit larger, no count check, and merging two full
accumulators (the module docstring's "factor two to spare", which is one
short: ``2**62 + 2**62 = 2**63`` does not fit).
"""

from __future__ import annotations

import z3

from vigilnet.errors import InvariantViolation, ensure
from vigilnet.fixedpoint import (
    DEFAULT_LAMBDA_MAX,
    INT64_MAX,
    LAMBDA_MAX_LIMIT,
    MAX_EVIDENCE_COUNT,
    accumulate,
    clamp,
)

from ._obligation import Check, Kind, implication, int_of, register

__all__ = ["WIDTH", "accumulator_invariant"]

PREFIX = "fixedpoint"
WIDTH = 64

ensure(INT64_MAX == (1 << (WIDTH - 1)) - 1, "INT64_MAX is not a 64-bit bound", InvariantViolation)


def _word(name: str) -> z3.BitVecRef:
    return z3.BitVec(name, WIDTH)


def _wide_signed(x: z3.BitVecRef) -> z3.BitVecRef:
    return z3.SignExt(WIDTH, x)


def _wide_unsigned(x: z3.BitVecRef) -> z3.BitVecRef:
    return z3.ZeroExt(WIDTH, x)


def _wide(value: int) -> z3.BitVecRef:
    return z3.BitVecVal(value, 2 * WIDTH)


def clamp_ok(lam: z3.BitVecRef, limit: int = LAMBDA_MAX_LIMIT) -> list[z3.BoolRef]:
    """``0 < lambda_max <= limit`` (signed)."""
    return [lam > 0, lam <= limit]


def accumulator_invariant(
    total: z3.BitVecRef,
    count: z3.BitVecRef,
    max_count: int = MAX_EVIDENCE_COUNT,
    limit: int = LAMBDA_MAX_LIMIT,
) -> z3.BoolRef:
    """``count <= max_count`` and ``|total| <= count * limit``, in 128 bits.

    The bound uses the clamp *limit*, a constant, rather than the configured
    ``lambda_max``: every allowed clamp is below it, and a product by a
    constant keeps the bit-vector problem easy for Z3.
    """
    if limit & (limit - 1) == 0:  # a power of two: a shift, which Z3 wires rather than multiplies
        bound = _wide_unsigned(count) << (limit.bit_length() - 1)
    else:
        bound = _wide_unsigned(count) * _wide(limit)
    return z3.And(
        z3.ULE(count, max_count),
        _wide_signed(total) <= bound,
        -bound <= _wide_signed(total),
    )


def _no_overflow(a: z3.BitVecRef, b: z3.BitVecRef) -> z3.BoolRef:
    """``a + b`` computed in 64 bits equals the true sum."""
    return _wide_signed(a + b) == _wide_signed(a) + _wide_signed(b)


def _step_hypotheses(
    limit: int = LAMBDA_MAX_LIMIT, max_count: int | None = MAX_EVIDENCE_COUNT
) -> list[z3.BoolRef]:
    total, count, lam, term = _word("total"), _word("count"), _word("lambda_max"), _word("term")
    hypotheses = [
        *clamp_ok(lam, limit),
        -lam <= term,
        term <= lam,
        accumulator_invariant(total, count, max_count if max_count else (1 << WIDTH) - 1, limit),
    ]
    if max_count is not None:
        hypotheses.append(z3.ULT(count, max_count))
    return hypotheses


def _step_conclusion() -> z3.BoolRef:
    total, count, term = _word("total"), _word("count"), _word("term")
    return z3.And(
        _no_overflow(total, term),
        z3.ULT(count, count + 1),
        accumulator_invariant(total + term, count + 1),
    )


def _replay_extreme_step(model: z3.ModelRef) -> None:
    total, count = int_of(model, "total"), int_of(model, "count")
    lam, term = int_of(model, "lambda_max"), int_of(model, "term")
    total = total - (1 << WIDTH) if total > INT64_MAX else total
    term = term - (1 << WIDTH) if term > INT64_MAX else term
    new_total, new_count = accumulate(total, count, term, lam)
    ensure(
        abs(new_total) <= INT64_MAX and new_count <= MAX_EVIDENCE_COUNT,
        f"accumulate({total}, {count}, {term}, {lam}) = {(new_total, new_count)} overflows",
        InvariantViolation,
    )


implication(
    f"{PREFIX}.accumulate.step",
    "One accumulate() step (term within +-lambda_max <= LAMBDA_MAX_LIMIT, count < "
    "MAX_EVIDENCE_COUNT) on an accumulator satisfying Acc does not overflow the 64-bit total "
    "or count and yields an accumulator satisfying Acc.",
    _step_hypotheses,
    _step_conclusion,
    witness=lambda: [
        _word("count") == MAX_EVIDENCE_COUNT - 1,
        _word("lambda_max") == LAMBDA_MAX_LIMIT,
        _word("term") == LAMBDA_MAX_LIMIT,
        _word("total") == (MAX_EVIDENCE_COUNT - 1) * LAMBDA_MAX_LIMIT,
    ],
    replay_witness=_replay_extreme_step,
)

implication(
    f"{PREFIX}.accumulate.empty",
    "The empty accumulator (0, 0) satisfies Acc for every allowed clamp.",
    lambda: clamp_ok(_word("lambda_max")),
    lambda: accumulator_invariant(z3.BitVecVal(0, WIDTH), z3.BitVecVal(0, WIDTH)),
)

implication(
    f"{PREFIX}.accumulate.bound",
    "Acc bounds every accumulator total by 2**62 = LAMBDA_MAX_LIMIT * MAX_EVIDENCE_COUNT in "
    "magnitude, inside int64.",
    lambda: [
        *clamp_ok(_word("lambda_max")),
        accumulator_invariant(_word("total"), _word("count")),
    ],
    lambda: z3.And(
        _wide_signed(_word("total")) <= _wide(LAMBDA_MAX_LIMIT * MAX_EVIDENCE_COUNT),
        _wide_signed(_word("total")) >= -_wide(LAMBDA_MAX_LIMIT * MAX_EVIDENCE_COUNT),
        _wide(LAMBDA_MAX_LIMIT * MAX_EVIDENCE_COUNT) <= _wide(INT64_MAX),
    ),
    witness=lambda: [_word("total") == LAMBDA_MAX_LIMIT * MAX_EVIDENCE_COUNT],
)


def _merge_hypotheses(bounded: bool) -> list[z3.BoolRef]:
    lam = _word("lambda_max")
    t1, c1, t2, c2 = _word("total1"), _word("count1"), _word("total2"), _word("count2")
    hypotheses = [
        *clamp_ok(lam),
        accumulator_invariant(t1, c1),
        accumulator_invariant(t2, c2),
    ]
    if bounded:
        hypotheses.append(
            z3.ULE(_wide_unsigned(c1) + _wide_unsigned(c2), _wide(MAX_EVIDENCE_COUNT))
        )
    return hypotheses


def _merge_conclusion() -> z3.BoolRef:
    t1, c1, t2, c2 = _word("total1"), _word("count1"), _word("total2"), _word("count2")
    return z3.And(_no_overflow(t1, t2), accumulator_invariant(t1 + t2, c1 + c2))


implication(
    f"{PREFIX}.merge.bounded_count",
    "Adding two accumulators whose combined count is at most MAX_EVIDENCE_COUNT does not "
    "overflow and yields an accumulator satisfying Acc.",
    lambda: _merge_hypotheses(bounded=True),
    _merge_conclusion,
    witness=lambda: [
        _word("count1") == MAX_EVIDENCE_COUNT // 2,
        _word("count2") == MAX_EVIDENCE_COUNT // 2,
    ],
)


def _replay_full_merge(model: z3.ModelRef) -> None:
    t1, t2 = int_of(model, "total1"), int_of(model, "total2")
    t1 = t1 - (1 << WIDTH) if t1 > INT64_MAX else t1
    t2 = t2 - (1 << WIDTH) if t2 > INT64_MAX else t2
    ensure(
        not -INT64_MAX - 1 <= t1 + t2 <= INT64_MAX,
        f"{t1} + {t2} fits int64",
        InvariantViolation,
    )


register(
    Check(
        name=f"{PREFIX}.merge.two_full_accumulators",
        kind=Kind.MUTANT,
        statement="Mutant (the fixedpoint module docstring's claim): the sum of any two "
        "accumulators fits int64.  Countermodel: 2**62 + 2**62 = 2**63 > INT64_MAX; a merge "
        "must respect MAX_EVIDENCE_COUNT for the combined count.",
        formula=lambda: z3.Implies(
            z3.And(*_merge_hypotheses(bounded=False)),
            _no_overflow(_word("total1"), _word("total2")),
        ),
        replay=_replay_full_merge,
    )
)

register(
    Check(
        name=f"{PREFIX}.accumulate.mutant.limit_one_bit_larger",
        kind=Kind.MUTANT,
        statement="Mutant: LAMBDA_MAX_LIMIT doubled (2**24 units): one accumulate() step can "
        "overflow int64.",
        formula=lambda: z3.Implies(
            z3.And(*_step_hypotheses(limit=2 * LAMBDA_MAX_LIMIT)),
            _no_overflow(_word("total"), _word("term")),
        ),
    )
)

register(
    Check(
        name=f"{PREFIX}.accumulate.mutant.no_count_check",
        kind=Kind.MUTANT,
        statement="Mutant: accumulate() without the count < MAX_EVIDENCE_COUNT guard can overflow.",
        formula=lambda: z3.Implies(
            z3.And(*_step_hypotheses(max_count=None)),
            _no_overflow(_word("total"), _word("term")),
        ),
    )
)


# --- clamp --------------------------------------------------------------------


def _bv_clamp(value: z3.BitVecRef, lam: z3.BitVecRef) -> z3.BitVecRef:
    """``max(-lam, min(lam, value))`` on signed 64-bit words, as clamp() computes it."""
    low = -lam
    capped = z3.If(value < lam, value, lam)
    return z3.If(capped > low, capped, low)


def _replay_clamp(model: z3.ModelRef) -> None:
    value, lam = int_of(model, "value"), int_of(model, "lambda_max")
    value = value - (1 << WIDTH) if value > INT64_MAX else value
    ensure(-lam <= clamp(value, lam) <= lam, "clamp() out of range", InvariantViolation)


implication(
    f"{PREFIX}.clamp.in_range",
    "clamp(value, lambda_max) lies in [-lambda_max, lambda_max] for every int64 value and every "
    "allowed clamp (and -lambda_max itself does not overflow).",
    lambda: clamp_ok(_word("lambda_max")),
    lambda: z3.And(
        _bv_clamp(_word("value"), _word("lambda_max")) >= -_word("lambda_max"),
        _bv_clamp(_word("value"), _word("lambda_max")) <= _word("lambda_max"),
        -_word("lambda_max") < 0,
    ),
    witness=lambda: [
        _word("lambda_max") == DEFAULT_LAMBDA_MAX,
        _word("value") < -DEFAULT_LAMBDA_MAX,
    ],
    replay_witness=_replay_clamp,
)
