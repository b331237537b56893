"""Threshold arithmetic for every group size N (linear integer arithmetic).

Theory of operation
-------------------

These obligations are about the definitions in :mod:`vigilnet.thresholds`,
restated over unbounded integers:

* ``q = quorum(t, N) = ceil(a*N / b)`` for ``t = a/b`` is stated as the two
  linear constraints ``q*b >= a*N > (q-1)*b`` (for a fixed ``t`` they are
  linear; for a symbolic ``t`` the first two obligations are nonlinear and Z3
  still decides them);
* ``blocking = N - q + 1``, ``max_safe_faults = 2q - N - 1``,
  ``max_live_faults = N - q``.

Sets of members are never enumerated.  Two or three sets (quorums ``Q1``,
``Q2``, the Byzantine set ``F``, a blocking set ``B``) split the ``N`` members
into ``2**k`` Venn regions; each region is a non-negative integer count, the
regions sum to ``N``, and the size of any set expression is a sum of regions.
A statement proved over those counts holds for every group of every size.

Each "iff" is two obligations (``.if`` and ``.only_if``).  An ``only_if``
direction says a bad configuration exists; it is proved for every ``N`` by
writing the configuration down (region counts as terms in ``N, q, f``) and
proving that it satisfies the hypotheses and breaks the property.  Each bound
is shown tight by a mutant that claims one more and gets a countermodel, which
is replayed through the Python functions.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction

import z3

from vigilnet.errors import InvariantViolation, ensure
from vigilnet.thresholds import blocking, intersection, max_live_faults, max_safe_faults, quorum

from ._obligation import Check, Kind, implication, int_of, register

__all__ = ["Venn", "ceiling"]

PREFIX = "thresholds"


class Venn:
    """Region counts of ``len(names)`` subsets of an ``N``-member group.

    By default each region is a fresh integer constant named after it
    (``|Q1 & ~Q2|``).  ``values`` instead gives some regions as terms (the
    others are 0): that is how a configuration is written down for every
    ``N`` at once.  ``size("Q1", "~F")`` is the number of members in ``Q1``
    and not in ``F``.
    """

    def __init__(
        self,
        names: Sequence[str],
        values: dict[tuple[str, ...], z3.ArithRef | int] | None = None,
    ) -> None:
        self.names = tuple(names)
        given = {self._bits(k): v for k, v in (values or {}).items()}
        self.regions: dict[tuple[bool, ...], z3.ArithRef] = {}
        for bits in itertools.product((True, False), repeat=len(self.names)):
            if values is None:
                label = " & ".join(
                    n if bit else f"~{n}" for n, bit in zip(self.names, bits, strict=True)
                )
                self.regions[bits] = z3.Int(f"|{label}|")
            else:
                self.regions[bits] = z3.IntVal(0) + given.get(bits, 0)

    def _bits(self, literals: Sequence[str]) -> tuple[bool, ...]:
        wanted = {lit.lstrip("~"): not lit.startswith("~") for lit in literals}
        return tuple(wanted[name] for name in self.names)

    def wellformed(self, n: z3.ArithRef) -> list[z3.BoolRef]:
        """Every region is a count and the regions partition the group."""
        return [*(r >= 0 for r in self.regions.values()), z3.Sum(*self.regions.values()) == n]

    def size(self, *literals: str) -> z3.ArithRef:
        wanted = {lit.lstrip("~"): not lit.startswith("~") for lit in literals}
        chosen = [
            region
            for bits, region in self.regions.items()
            if all(bits[self.names.index(name)] == inside for name, inside in wanted.items())
        ]
        return z3.Sum(*chosen)


def ceiling(
    q: z3.ArithRef, a: z3.ArithRef | int, n: z3.ArithRef, b: z3.ArithRef | int
) -> list[z3.BoolRef]:
    """``q = ceil(a*n/b)`` for ``b > 0`` as two constraints."""
    return [q * b >= a * n, a * n > (q - 1) * b]


# --- shared symbols ---------------------------------------------------------


def _n() -> z3.ArithRef:
    return z3.Int("N")


def _q() -> z3.ArithRef:
    return z3.Int("q")


def _f() -> z3.ArithRef:
    return z3.Int("f")


def _group() -> list[z3.BoolRef]:
    """``N >= 1`` members and a quorum size ``1 <= q <= N`` (any threshold)."""
    return [_n() >= 1, _q() >= 1, _q() <= _n()]


def _faults() -> list[z3.BoolRef]:
    return [_f() >= 0, _f() <= _n()]


def _three_quarters() -> list[z3.BoolRef]:
    return [_n() >= 1, *ceiling(_q(), 3, _n(), 4), *_faults()]


def _replay_three_quarters(model: z3.ModelRef) -> None:
    n, q = int_of(model, "N"), int_of(model, "q")
    ensure(
        quorum(Fraction(3, 4), n) == q,
        f"model has q = {q} at N = {n}, thresholds.quorum(3/4, {n}) = {quorum(Fraction(3, 4), n)}",
        InvariantViolation,
    )


# --- the quorum is a strict majority, and the ceiling is a function ---------


def _symbolic_threshold() -> list[z3.BoolRef]:
    a, b = z3.Int("a"), z3.Int("b")
    return [b >= 1, 2 * a > b, a <= b, _n() >= 1, *ceiling(_q(), a, _n(), b)]


def _replay_symbolic_threshold(model: z3.ModelRef) -> None:
    a, b, n, q = (int_of(model, x) for x in ("a", "b", "N", "q"))
    ensure(quorum(Fraction(a, b), n) == q, f"quorum({a}/{b}, {n}) != {q}", InvariantViolation)


implication(
    f"{PREFIX}.quorum_is_majority",
    "For every threshold 1/2 < t = a/b <= 1 and every N >= 1, q = ceil(t*N) "
    "satisfies N < 2q and 1 <= q <= N.",
    _symbolic_threshold,
    lambda: z3.And(2 * _q() > _n(), _q() >= 1, _q() <= _n()),
    replay_witness=_replay_symbolic_threshold,
)


def _ceiling_unique_conclusion() -> z3.BoolRef:
    a, b, q2 = z3.Int("a"), z3.Int("b"), z3.Int("q'")
    return z3.Implies(z3.And(*ceiling(q2, a, _n(), b)), q2 == _q())


implication(
    f"{PREFIX}.ceiling_is_unique",
    "The two constraints q*b >= a*N > (q-1)*b determine q: any q' meeting them equals q.",
    _symbolic_threshold,
    _ceiling_unique_conclusion,
)


# --- two quorums share 2q - N members, and no more is guaranteed ------------


def _two_quorums() -> tuple[Venn, list[z3.BoolRef]]:
    venn = Venn(("Q1", "Q2"))
    return venn, [
        *_group(),
        *venn.wellformed(_n()),
        venn.size("Q1") >= _q(),
        venn.size("Q2") >= _q(),
    ]


implication(
    f"{PREFIX}.quorum_intersection",
    "Any two quorums (at least q members each) of an N-member group share at least 2q - N members.",
    lambda: _two_quorums()[1],
    lambda: _two_quorums()[0].size("Q1", "Q2") >= 2 * _q() - _n(),
)


def _tight_intersection() -> z3.BoolRef:
    n, q = _n(), _q()
    venn = Venn(("Q1", "Q2"), {("Q1", "Q2"): 2 * q - n, ("Q1", "~Q2"): n - q, ("~Q1", "Q2"): n - q})
    return z3.And(
        *venn.wellformed(n),
        venn.size("Q1") == q,
        venn.size("Q2") == q,
        venn.size("Q1", "Q2") == 2 * q - n,
    )


implication(
    f"{PREFIX}.quorum_intersection.tight",
    "For every N and N/2 <= q <= N, two quorums of exactly q members can share exactly 2q - N "
    "(2q - N in both, N - q in each alone), so the bound is tight.",
    lambda: [*_group(), 2 * _q() >= _n()],
    _tight_intersection,
)


def _replay_intersection(model: z3.ModelRef) -> None:
    n, q = int_of(model, "N"), int_of(model, "q")
    shared = int_of(model, "|Q1 & Q2|")
    ensure(
        shared == intersection(n, q) and shared < 2 * q - n + 1,
        f"countermodel shares {shared} at N = {n}, q = {q}; intersection() = {intersection(n, q)}",
        InvariantViolation,
    )


register(
    Check(
        name=f"{PREFIX}.quorum_intersection.plus_one",
        kind=Kind.MUTANT,
        statement="Mutant: two quorums share at least 2q - N + 1 members.",
        formula=lambda: z3.Implies(
            z3.And(*_two_quorums()[1]), _two_quorums()[0].size("Q1", "Q2") >= 2 * _q() - _n() + 1
        ),
        replay=_replay_intersection,
    )
)


# --- agreement: safe iff f <= 2q - N - 1 ------------------------------------


def _quorums_and_faulty(q1: z3.ArithRef, q2: z3.ArithRef) -> tuple[Venn, list[z3.BoolRef]]:
    venn = Venn(("Q1", "Q2", "F"))
    return venn, [
        *venn.wellformed(_n()),
        venn.size("Q1") >= q1,
        venn.size("Q2") >= q2,
        venn.size("F") <= _f(),
    ]


def _honest_in_common(venn: Venn) -> z3.BoolRef:
    return venn.size("Q1", "Q2", "~F") >= 1


def _safe_hypotheses() -> list[z3.BoolRef]:
    return [*_group(), *_faults(), *_quorums_and_faulty(_q(), _q())[1], _f() <= 2 * _q() - _n() - 1]


implication(
    f"{PREFIX}.agreement_safe.if",
    "If at most f <= 2q - N - 1 members are Byzantine, any two quorums share an honest member "
    "(the quorum-intersection axiom of the SDBC proof).",
    _safe_hypotheses,
    lambda: _honest_in_common(_quorums_and_faulty(_q(), _q())[0]),
    witness=lambda: [_f() >= 1],
)


def _fork_configuration(q1: z3.ArithRef, q2: z3.ArithRef) -> Venn:
    """Two quorums of sizes q1, q2 whose whole intersection is Byzantine."""
    n = _n()
    overlap = q1 + q2 - n
    return Venn(
        ("Q1", "Q2", "F"),
        {
            ("Q1", "Q2", "F"): z3.If(overlap >= 0, overlap, 0),
            ("Q1", "~Q2", "~F"): z3.If(overlap >= 0, n - q2, q1),
            ("~Q1", "Q2", "~F"): z3.If(overlap >= 0, n - q1, q2),
            ("~Q1", "~Q2", "~F"): z3.If(overlap >= 0, 0, n - q1 - q2),
        },
    )


def _fork_exists(q1: z3.ArithRef, q2: z3.ArithRef) -> z3.BoolRef:
    venn = _fork_configuration(q1, q2)
    return z3.And(
        *venn.wellformed(_n()),
        venn.size("Q1") >= q1,
        venn.size("Q2") >= q2,
        venn.size("F") <= _f(),
        venn.size("Q1", "Q2", "~F") == 0,
    )


implication(
    f"{PREFIX}.agreement_safe.only_if",
    "If f >= 2q - N, there are two quorums whose common members are all Byzantine (written down "
    "for every N: the intersection max(0, 2q - N) is the Byzantine set).",
    lambda: [*_group(), *_faults(), _f() >= 2 * _q() - _n()],
    lambda: _fork_exists(_q(), _q()),
)


def _replay_unsafe(model: z3.ModelRef) -> None:
    n, q, f = int_of(model, "N"), int_of(model, "q"), int_of(model, "f")
    ensure(
        f > max_safe_faults(n, q),
        f"countermodel at N = {n}, q = {q}, f = {f} but max_safe_faults = {max_safe_faults(n, q)}",
        InvariantViolation,
    )


register(
    Check(
        name=f"{PREFIX}.agreement_safe.one_more_fault",
        kind=Kind.MUTANT,
        statement="Mutant: agreement is safe with f = 2q - N Byzantine members (one more than "
        "max_safe_faults).",
        formula=lambda: z3.Implies(
            z3.And(
                *_group(),
                *_faults(),
                *_quorums_and_faulty(_q(), _q())[1],
                _f() == 2 * _q() - _n(),
            ),
            _honest_in_common(_quorums_and_faulty(_q(), _q())[0]),
        ),
        replay=_replay_unsafe,
    )
)


# --- liveness: the honest members form a quorum iff N - f >= q --------------


implication(
    f"{PREFIX}.liveness.if",
    "If N - f >= q, then whichever f members are Byzantine (silent), the honest members alone "
    "form a quorum.",
    lambda: [
        *_group(),
        *_faults(),
        *Venn(("F",)).wellformed(_n()),
        Venn(("F",)).size("F") <= _f(),
        _n() - _f() >= _q(),
    ],
    lambda: Venn(("F",)).size("~F") >= _q(),
    witness=lambda: [_f() >= 1],
)

implication(
    f"{PREFIX}.liveness.only_if",
    "If N - f < q, then with f Byzantine (silent) members every set of honest members is "
    "smaller than a quorum.",
    lambda: [
        *_group(),
        *_faults(),
        *Venn(("Q", "F")).wellformed(_n()),
        Venn(("Q", "F")).size("F") == _f(),
        Venn(("Q", "F")).size("Q", "F") == 0,
        _n() - _f() < _q(),
    ],
    lambda: Venn(("Q", "F")).size("Q") < _q(),
)


def _replay_not_live(model: z3.ModelRef) -> None:
    n, q, f = int_of(model, "N"), int_of(model, "q"), int_of(model, "f")
    ensure(
        max_safe_faults(n, q) >= f > max_live_faults(n, q),
        f"N = {n}, q = {q}, f = {f} is not safe-but-stalled",
        InvariantViolation,
    )


register(
    Check(
        name=f"{PREFIX}.liveness.at_safety_bound",
        kind=Kind.MUTANT,
        statement="Mutant: the honest members form a quorum whenever agreement is safe "
        "(f <= 2q - N - 1); the countermodel is a 'safe but stalled' group.",
        formula=lambda: z3.Implies(
            z3.And(*_group(), *_faults(), 2 * _q() > _n(), _f() <= 2 * _q() - _n() - 1),
            _n() - _f() >= _q(),
        ),
        replay=_replay_not_live,
    )
)


# --- t = 3/4 ---------------------------------------------------------------


def _safe() -> z3.BoolRef:
    return _f() <= 2 * _q() - _n() - 1


def _live() -> z3.BoolRef:
    return _n() - _f() >= _q()


implication(
    f"{PREFIX}.t34.safe.if_2f_lt_n",
    "t = 3/4: if 2f < N then f <= 2q - N - 1 (agreement is safe).",
    lambda: [*_three_quarters(), 2 * _f() < _n()],
    _safe,
    witness=lambda: [_f() >= 1],
    replay_witness=_replay_three_quarters,
)


def _n_mod_4() -> tuple[z3.ArithRef, list[z3.BoolRef]]:
    k, r = z3.Int("k"), z3.Int("N mod 4")
    return r, [_n() == 4 * k + r, r >= 0, r <= 3]


implication(
    f"{PREFIX}.t34.safe.only_if_2f_lt_n_when_n_mod_4_is_0_or_1",
    "t = 3/4 and N mod 4 in {0, 1}: agreement safe implies 2f < N (so there, safe iff 2f < N).",
    lambda: [*_three_quarters(), *_n_mod_4()[1], _n_mod_4()[0] <= 1, _safe()],
    lambda: 2 * _f() < _n(),
    replay_witness=_replay_three_quarters,
)

implication(
    f"{PREFIX}.t34.safe.exact",
    "t = 3/4, every N: agreement is safe iff f <= floor((N-1)/2) + [N mod 4 in {2, 3}], that is "
    "iff 2f < N, plus one more tolerated fault when N mod 4 is 2 or 3.",
    lambda: [*_three_quarters(), *_n_mod_4()[1]],
    lambda: _safe() == (2 * _f() < _n() + z3.If(_n_mod_4()[0] >= 2, 2, 0)),
    replay_witness=_replay_three_quarters,
)


def _replay_safe_at_half(model: z3.ModelRef) -> None:
    n, f = int_of(model, "N"), int_of(model, "f")
    q = quorum(Fraction(3, 4), n)
    ensure(
        2 * f >= n and f <= max_safe_faults(n, q),
        f"N = {n}, f = {f}: expected safe with 2f >= N",
        InvariantViolation,
    )


register(
    Check(
        name=f"{PREFIX}.t34.safe.only_if_2f_lt_n",
        kind=Kind.MUTANT,
        statement="Mutant (DESIGN's 'safe iff 2f < N', converse direction, for every N): "
        "t = 3/4 safe implies 2f < N.  False at N = 6: q = 5, f = 3 is safe.",
        formula=lambda: z3.Implies(z3.And(*_three_quarters(), _safe()), 2 * _f() < _n()),
        replay=_replay_safe_at_half,
    )
)

implication(
    f"{PREFIX}.t34.live.if_4f_le_n",
    "t = 3/4: if 4f <= N then N - f >= q (the honest members form a quorum).",
    lambda: [*_three_quarters(), 4 * _f() <= _n()],
    _live,
    witness=lambda: [_f() >= 1],
    replay_witness=_replay_three_quarters,
)

implication(
    f"{PREFIX}.t34.live.only_if_4f_le_n",
    "t = 3/4: if N - f >= q then 4f <= N.",
    lambda: [*_three_quarters(), _live()],
    lambda: 4 * _f() <= _n(),
    witness=lambda: [_f() >= 1],
    replay_witness=_replay_three_quarters,
)

implication(
    f"{PREFIX}.t34.live_implies_safe",
    "t = 3/4: every f under which the group is live is also safe (N - f >= q implies "
    "f <= 2q - N - 1).",
    lambda: [*_three_quarters(), _live()],
    _safe,
    witness=lambda: [_f() >= 1],
    replay_witness=_replay_three_quarters,
)


def _replay_live_unsafe(model: z3.ModelRef) -> None:
    n, q, f = int_of(model, "N"), int_of(model, "q"), int_of(model, "f")
    ensure(
        max_live_faults(n, q) >= f > max_safe_faults(n, q),
        f"N = {n}, q = {q}, f = {f} is not live-but-unsafe",
        InvariantViolation,
    )


register(
    Check(
        name=f"{PREFIX}.any_t.live_implies_safe",
        kind=Kind.MUTANT,
        statement="Mutant: for any majority quorum (not only t = 3/4), live implies safe.  "
        "False for low thresholds (N = 5, q = 3, f = 1).",
        formula=lambda: z3.Implies(
            z3.And(*_group(), *_faults(), 2 * _q() > _n(), _live()), _safe()
        ),
        replay=_replay_live_unsafe,
    )
)


# --- blocking sets ----------------------------------------------------------


def _blocking_and_quorum() -> tuple[Venn, list[z3.BoolRef]]:
    venn = Venn(("B", "Q"))
    return venn, [
        *_group(),
        *venn.wellformed(_n()),
        venn.size("B") >= _n() - _q() + 1,
        venn.size("Q") >= _q(),
    ]


implication(
    f"{PREFIX}.blocking.meets_every_quorum",
    "A set of blocking = N - q + 1 members meets every quorum.",
    lambda: _blocking_and_quorum()[1],
    lambda: _blocking_and_quorum()[0].size("B", "Q") >= 1,
)


def _replay_blocking(model: z3.ModelRef) -> None:
    n, q = int_of(model, "N"), int_of(model, "q")
    ensure(
        int_of(model, "|B & ~Q|") + int_of(model, "|B & Q|") < blocking(n, q),
        "the countermodel's set is not below blocking()",
        InvariantViolation,
    )


register(
    Check(
        name=f"{PREFIX}.blocking.one_less",
        kind=Kind.MUTANT,
        statement="Mutant: a set of N - q members (one less than blocking) meets every quorum.",
        formula=lambda: z3.Implies(
            z3.And(
                *_group(),
                *Venn(("B", "Q")).wellformed(_n()),
                Venn(("B", "Q")).size("B") >= _n() - _q(),
                Venn(("B", "Q")).size("Q") >= _q(),
            ),
            Venn(("B", "Q")).size("B", "Q") >= 1,
        ),
        replay=_replay_blocking,
    )
)


def _blocking_and_faulty() -> tuple[Venn, list[z3.BoolRef]]:
    venn = Venn(("B", "F"))
    return venn, [
        *_group(),
        *_faults(),
        *venn.wellformed(_n()),
        venn.size("B") >= _n() - _q() + 1,
        venn.size("F") <= _f(),
    ]


implication(
    f"{PREFIX}.blocking.has_honest_member_when_live",
    "While f <= N - q (liveness), a blocking set contains an honest member, so a round skip on "
    "a blocking set of messages follows at least one honest node.",
    lambda: [*_blocking_and_faulty()[1], _f() <= _n() - _q()],
    lambda: _blocking_and_faulty()[0].size("B", "~F") >= 1,
    witness=lambda: [_f() >= 1],
)


# --- mixed thresholds -------------------------------------------------------


def _q1() -> z3.ArithRef:
    return z3.Int("q1")


def _q2() -> z3.ArithRef:
    return z3.Int("q2")


def _mixed_group() -> list[z3.BoolRef]:
    return [_n() >= 1, *_faults(), _q1() >= 1, _q1() <= _n(), _q2() >= 1, _q2() <= _n()]


implication(
    f"{PREFIX}.mixed.safe.if",
    "A quorum of q1 and a quorum of q2 (different thresholds, for example across an adaptive "
    "raise) share an honest member when q1 + q2 - N > f.",
    lambda: [*_mixed_group(), *_quorums_and_faulty(_q1(), _q2())[1], _q1() + _q2() - _n() > _f()],
    lambda: _honest_in_common(_quorums_and_faulty(_q1(), _q2())[0]),
    witness=lambda: [_f() >= 1, _q1() != _q2()],
)

implication(
    f"{PREFIX}.mixed.safe.only_if",
    "If q1 + q2 - N <= f, a q1-quorum and a q2-quorum exist whose common members are all "
    "Byzantine (written down for every N).",
    lambda: [*_mixed_group(), _q1() + _q2() - _n() <= _f()],
    lambda: _fork_exists(_q1(), _q2()),
)

implication(
    f"{PREFIX}.mixed.raising_is_safe",
    "Raising the quorum within an epoch keeps agreement: if q1 is safe against f "
    "(2*q1 - N > f) and q2 >= q1, then q1 + q2 - N > f.",
    lambda: [*_mixed_group(), 2 * _q1() - _n() > _f(), _q2() >= _q1()],
    lambda: _q1() + _q2() - _n() > _f(),
    witness=lambda: [_q2() > _q1(), _f() >= 1],
)


def _replay_lowering(model: z3.ModelRef) -> None:
    n, q1, q2, f = (int_of(model, x) for x in ("N", "q1", "q2", "f"))
    ensure(
        max_safe_faults(n, q1) >= f and q1 + q2 - n <= f,
        f"N = {n}, q1 = {q1}, q2 = {q2}, f = {f} is not a lowering fork",
        InvariantViolation,
    )


register(
    Check(
        name=f"{PREFIX}.mixed.lowering_within_epoch",
        kind=Kind.MUTANT,
        statement="Mutant: lowering the quorum within an epoch is safe: q1 safe against f, "
        "q2 < q1 still a majority, then q1 + q2 - N > f.",
        formula=lambda: z3.Implies(
            z3.And(*_mixed_group(), 2 * _q1() - _n() > _f(), _q2() < _q1(), 2 * _q2() > _n()),
            _q1() + _q2() - _n() > _f(),
        ),
        replay=_replay_lowering,
    )
)


# --- next-epoch threshold: chosen by a quorum of summaries, not a proposer ---
#
# ``agreed_threshold`` (vigilnet.protocols.sdbc) gives a value the next-epoch
# threshold that at least q of its summaries propose; a value holds at most one
# summary per hub, so each hub backs at most one threshold in it.  ``B`` is the
# set of hubs whose summary backs a threshold, ``B1``/``B2`` those of two.


def _backers_and_faulty() -> tuple[Venn, list[z3.BoolRef]]:
    venn = Venn(("B", "F"))
    return venn, [
        *_group(),
        *_faults(),
        *venn.wellformed(_n()),
        venn.size("F") <= _f(),
        _f() <= 2 * _q() - _n() - 1,
    ]


implication(
    f"{PREFIX}.next_epoch.honest_backers",
    "A next-epoch threshold backed by at least q summaries of distinct hubs, with at most "
    "f <= 2q - N - 1 Byzantine hubs, is backed by at least q - f >= N - q + 1 >= 1 honest "
    "hubs: the Byzantine hubs (a proposer among them) cannot choose it alone.",
    lambda: [*_backers_and_faulty()[1], _backers_and_faulty()[0].size("B") >= _q()],
    lambda: z3.And(
        _backers_and_faulty()[0].size("B", "~F") >= _q() - _f(),
        _q() - _f() >= _n() - _q() + 1,
        _n() - _q() + 1 >= 1,
    ),
    witness=lambda: [_f() >= 1, _backers_and_faulty()[0].size("B", "F") == _f()],
)


def _replay_lone_backer(model: z3.ModelRef) -> None:
    n, q, f = int_of(model, "N"), int_of(model, "q"), int_of(model, "f")
    backers, honest = (
        int_of(model, "|B & F|") + int_of(model, "|B & ~F|"),
        int_of(model, "|B & ~F|"),
    )
    ensure(
        honest == 0 and 1 <= backers <= f <= max_safe_faults(n, q) and backers < q,
        f"N = {n}, q = {q}, f = {f}: {backers} backers, {honest} honest; the real rule needs q",
        InvariantViolation,
    )


register(
    Check(
        name=f"{PREFIX}.next_epoch.one_backer",
        kind=Kind.MUTANT,
        statement="Mutant: a threshold backed by one summary (the proposer's own, the rule "
        "before the fix) has an honest backer.",
        formula=lambda: z3.Implies(
            z3.And(*_backers_and_faulty()[1], _backers_and_faulty()[0].size("B") >= 1),
            _backers_and_faulty()[0].size("B", "~F") >= 1,
        ),
        replay=_replay_lone_backer,
    )
)


def _two_backer_sets(least: z3.ArithRef) -> tuple[Venn, list[z3.BoolRef]]:
    venn = Venn(("B1", "B2"))
    return venn, [
        *_group(),
        *_faults(),
        *venn.wellformed(_n()),
        2 * _q() > _n(),
        _f() <= 2 * _q() - _n() - 1,
        venn.size("B1") >= least,
        venn.size("B2") >= least,
    ]


implication(
    f"{PREFIX}.next_epoch.unique",
    "For q > N/2, the backers of two thresholds, q or more each, share a hub; a hub's one "
    "summary backs one threshold, so at most one threshold has q backers and the value's "
    "next threshold is a function of its summaries (the sorted scan in agreed_threshold "
    "never has a choice to make).",
    lambda: _two_backer_sets(_q())[1],
    lambda: _two_backer_sets(_q())[0].size("B1", "B2") >= 1,
    witness=lambda: [_n() >= 4, _two_backer_sets(_q())[0].size("B1", "~B2") >= 1],
)


def _replay_ambiguous(model: z3.ModelRef) -> None:
    n, q, f = int_of(model, "N"), int_of(model, "q"), int_of(model, "f")
    b1 = int_of(model, "|B1 & B2|") + int_of(model, "|B1 & ~B2|")
    b2 = int_of(model, "|B1 & B2|") + int_of(model, "|~B1 & B2|")
    ensure(
        int_of(model, "|B1 & B2|") == 0 and min(b1, b2) >= f + 1 and min(b1, b2) < _majority(n, q),
        f"N = {n}, q = {q}, f = {f}: disjoint backer sets {b1} and {b2}",
        InvariantViolation,
    )


def _majority(n: int, q: int) -> int:
    """``q`` itself, checked to be a majority of ``n`` (the mutant's hypothesis)."""
    ensure(2 * q > n, f"q = {q} is not a majority of N = {n}", InvariantViolation)
    return q


register(
    Check(
        name=f"{PREFIX}.next_epoch.f_plus_one_backers",
        kind=Kind.MUTANT,
        statement="Mutant: f + 1 backers (enough for one honest backer) also make the "
        "threshold unique; two disjoint sets of f + 1 exist, so a proposer could pick.",
        formula=lambda: z3.Implies(
            z3.And(*_two_backer_sets(_f() + 1)[1]),
            _two_backer_sets(_f() + 1)[0].size("B1", "B2") >= 1,
        ),
        replay=_replay_ambiguous,
    )
)
