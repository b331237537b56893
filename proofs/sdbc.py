"""SDBC agreement for every number of hubs: the Tendermint core over abstract sorts.

Theory of operation
-------------------

This is a self-contained model of the consensus core of SDBC (DESIGN.md
section 4.1: Tendermint, arXiv 1807.04938, with quorums of ``q = ceil(t*N)``).
Nothing is counted.  There are four uninterpreted sorts:

* ``Node`` (hubs), ``Value`` (proposals), ``Round`` and ``Quorum`` (sets of
  hubs, with ``member(N, Q)``);
* rounds carry a strict total order ``lt``, given by three axioms;
* ``honest(N)`` marks the correct hubs and ``valid(V)`` the externally valid
  values;
* the **only** fact about quorums is the axiom "any two quorums share an
  honest member".  ``proofs/thresholds.py`` proves it from the numbers
  (``thresholds.agreement_safe.if``: it holds exactly when
  ``f <= 2q - N - 1``).

The state is five relations.  Following the abstract Tendermint
specifications, a hub's current round is represented by the rounds it has
*left*, and its lock is not a variable: a hub's lock is its highest
precommit, so the lock rule is stated over ``precommitted``.

Actions (honest hub ``n``; line numbers of the arXiv paper's pseudocode):

1. ``start_round(n, r)`` (l. 11, also every timeout and round skip): leave
   every round below ``r``.
2. ``prevote(n, r, v)`` (l. 22): not left ``r``, no prevote yet in ``r``,
   ``valid(v)``, and every precommit of ``n`` so far is for ``v`` (not locked,
   or locked on ``v``).
3. ``prevote_pol(n, r, v, vr, Q)`` (l. 28): as 2, but the proposal carries a
   valid round ``vr < r`` in which every honest member of ``Q`` prevoted
   ``v``; every precommit of ``n`` after ``vr`` is for ``v``
   (``lockedRound <= vr`` or ``lockedValue = v``).
4. ``precommit(n, r, v, Q)`` (l. 36): not left ``r``, no precommit yet in
   ``r``, every honest member of ``Q`` prevoted ``v`` in ``r``.
5. ``decide(n, r, v, Q)`` (l. 49): every honest member of ``Q`` precommitted
   ``v`` in ``r``.
6. ``byzantine``: the votes of the Byzantine hubs change arbitrarily; honest
   hubs' relations do not change (signatures cannot be forged).

Byzantine votes never enter a guard: "every honest member of ``Q`` voted" is
the abstraction of "I hold ``q`` signatures"; the Byzantine members of ``Q``
may or may not have signed.  Nil votes are not modelled: a nil vote only
restricts what an honest hub may do later in the round, so dropping it adds
behaviours and the proof covers them.

The inductive invariant ``Inv`` is the conjunction of :data:`INVARIANT`
(decision implies a quorum of precommits, a precommit implies a quorum of
prevotes, one prevote and one precommit per honest hub per round, prevotes
are valid, voting leaves earlier rounds, and the locking lemma).  The
obligations are ``Init => Inv``, ``Inv & action => Inv'`` for each action,
``Inv => Agreement`` and ``Inv => Validity``.

Every verification condition is in EPR: relations over uninterpreted sorts,
universal quantifiers, and existentials only where their Skolem functions go
from ``Round``/``Value``/``Quorum`` to ``Node`` or ``Quorum`` (the quorum axiom
``Quorum x Quorum -> Node``, "a quorum of precommits" ``Round x Value ->
Quorum``, the locking lemma's "choosable" ``Round x Value x Quorum -> Node``),
never back from ``Node``: the sort graph is acyclic, so Z3 decides each
condition by finite model search.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import z3

from ._obligation import Check, Kind, register

__all__ = ["ACTIONS", "INVARIANT", "MUTATIONS", "SdbcModel", "State"]

PREFIX = "sdbc"

Node = z3.DeclareSort("Node")
Value = z3.DeclareSort("Value")
Round = z3.DeclareSort("Round")
Quorum = z3.DeclareSort("Quorum")
B = z3.BoolSort()

lt = z3.Function("lt", Round, Round, B)
member = z3.Function("member", Node, Quorum, B)
honest = z3.Function("honest", Node, B)
valid = z3.Function("valid", Value, B)


def _nodes(*names: str) -> list[z3.ExprRef]:
    return [z3.Const(n, Node) for n in names]


def _rounds(*names: str) -> list[z3.ExprRef]:
    return [z3.Const(n, Round) for n in names]


def _values(*names: str) -> list[z3.ExprRef]:
    return [z3.Const(n, Value) for n in names]


def _quorums(*names: str) -> list[z3.ExprRef]:
    return [z3.Const(n, Quorum) for n in names]


def every_honest_member(q: z3.ExprRef, holds: Callable[[z3.ExprRef], z3.BoolRef]) -> z3.BoolRef:
    """Every honest member of quorum ``q`` satisfies ``holds``."""
    (m,) = _nodes("M")
    return z3.ForAll([m], z3.Implies(z3.And(member(m, q), honest(m)), holds(m)))


@dataclass(frozen=True, slots=True)
class State:
    """The five state relations, primed or not."""

    left: z3.FuncDeclRef
    prevoted: z3.FuncDeclRef
    precommitted: z3.FuncDeclRef
    decided: z3.FuncDeclRef

    @classmethod
    def named(cls, suffix: str) -> State:
        return cls(
            left=z3.Function(f"left{suffix}", Node, Round, B),
            prevoted=z3.Function(f"prevoted{suffix}", Node, Round, Value, B),
            precommitted=z3.Function(f"precommitted{suffix}", Node, Round, Value, B),
            decided=z3.Function(f"decided{suffix}", Node, Round, Value, B),
        )


NOW = State.named("")
NEXT = State.named("'")

# --- axioms -----------------------------------------------------------------


def round_order() -> list[z3.BoolRef]:
    r1, r2, r3 = _rounds("R1", "R2", "R3")
    return [
        z3.ForAll([r1], z3.Not(lt(r1, r1))),
        z3.ForAll([r1, r2, r3], z3.Implies(z3.And(lt(r1, r2), lt(r2, r3)), lt(r1, r3))),
        z3.ForAll([r1, r2], z3.Or(r1 == r2, lt(r1, r2), lt(r2, r1))),
    ]


def quorum_intersection(*, honest_member: bool = True) -> z3.BoolRef:
    """Any two quorums share an honest member (``honest_member=False``: share
    some member, the crash-fault axiom)."""
    q1, q2 = _quorums("Q1", "Q2")
    (n,) = _nodes("N")
    shared = z3.And(member(n, q1), member(n, q2))
    if honest_member:
        shared = z3.And(honest(n), shared)
    return z3.ForAll([q1, q2], z3.Exists([n], shared))


# --- invariant ----------------------------------------------------------------


def choosable(s: State, r: z3.ExprRef, v: z3.ExprRef) -> z3.BoolRef:
    """Some quorum could still complete precommits for ``v`` in ``r``: each of
    its honest members either precommitted ``v`` in ``r`` or has not left
    ``r``."""
    (q,) = _quorums("Qc")
    return z3.Exists(
        [q], every_honest_member(q, lambda m: z3.Or(z3.Not(s.left(m, r)), s.precommitted(m, r, v)))
    )


def _left_downward(s: State) -> z3.BoolRef:
    (n,) = _nodes("N")
    r1, r2 = _rounds("R1", "R2")
    return z3.ForAll(
        [n, r1, r2], z3.Implies(z3.And(honest(n), s.left(n, r2), lt(r1, r2)), s.left(n, r1))
    )


def _votes_leave_earlier_rounds(
    vote: Callable[[State], z3.FuncDeclRef],
) -> Callable[[State], z3.BoolRef]:
    def conjunct(s: State) -> z3.BoolRef:
        (n,) = _nodes("N")
        r1, r2 = _rounds("R1", "R2")
        (v,) = _values("V")
        return z3.ForAll(
            [n, r1, r2, v],
            z3.Implies(z3.And(honest(n), vote(s)(n, r2, v), lt(r1, r2)), s.left(n, r1)),
        )

    return conjunct


def _one_vote_per_round(vote: Callable[[State], z3.FuncDeclRef]) -> Callable[[State], z3.BoolRef]:
    def conjunct(s: State) -> z3.BoolRef:
        (n,) = _nodes("N")
        (r,) = _rounds("R")
        v1, v2 = _values("V1", "V2")
        return z3.ForAll(
            [n, r, v1, v2],
            z3.Implies(z3.And(honest(n), vote(s)(n, r, v1), vote(s)(n, r, v2)), v1 == v2),
        )

    return conjunct


def _prevotes_are_valid(s: State) -> z3.BoolRef:
    (n,) = _nodes("N")
    (r,) = _rounds("R")
    (v,) = _values("V")
    return z3.ForAll([n, r, v], z3.Implies(z3.And(honest(n), s.prevoted(n, r, v)), valid(v)))


def _precommit_has_polka(s: State) -> z3.BoolRef:
    (n,) = _nodes("N")
    (r,) = _rounds("R")
    (v,) = _values("V")
    (q,) = _quorums("Qp")
    return z3.ForAll(
        [r, v],
        z3.Implies(
            z3.Exists([n], z3.And(honest(n), s.precommitted(n, r, v))),
            z3.Exists([q], every_honest_member(q, lambda m: s.prevoted(m, r, v))),
        ),
    )


def _decision_has_commit(s: State) -> z3.BoolRef:
    (n,) = _nodes("N")
    (r,) = _rounds("R")
    (v,) = _values("V")
    (q,) = _quorums("Qd")
    return z3.ForAll(
        [r, v],
        z3.Implies(
            z3.Exists([n], s.decided(n, r, v)),
            z3.Exists([q], every_honest_member(q, lambda m: s.precommitted(m, r, v))),
        ),
    )


def _locks(s: State) -> z3.BoolRef:
    (n,) = _nodes("N")
    r, r2 = _rounds("R", "R2")
    v, v2 = _values("V", "V2")
    return z3.ForAll(
        [r, v],
        z3.Implies(
            choosable(s, r, v),
            z3.ForAll(
                [n, r2, v2],
                z3.Implies(
                    z3.And(honest(n), s.precommitted(n, r, v), lt(r, r2), s.prevoted(n, r2, v2)),
                    v2 == v,
                ),
            ),
        ),
    )


#: The conjuncts of the inductive invariant, by name (TLA+ style).
INVARIANT: dict[str, Callable[[State], z3.BoolRef]] = {
    "LeftRoundsDownwardClosed": _left_downward,
    "PrevoteLeavesEarlierRounds": _votes_leave_earlier_rounds(lambda s: s.prevoted),
    "PrecommitLeavesEarlierRounds": _votes_leave_earlier_rounds(lambda s: s.precommitted),
    "NoEquivocationByCorrectPrevote": _one_vote_per_round(lambda s: s.prevoted),
    "NoEquivocationByCorrectPrecommit": _one_vote_per_round(lambda s: s.precommitted),
    "PrevotesAreValid": _prevotes_are_valid,
    "PrecommitNeedsPolka": _precommit_has_polka,
    "DecisionNeedsCommit": _decision_has_commit,
    "PrecommitsLockValue": _locks,
}


def inv(s: State) -> z3.BoolRef:
    return z3.And(*(conjunct(s) for conjunct in INVARIANT.values()))


def agreement(s: State) -> z3.BoolRef:
    n1, n2 = _nodes("N1", "N2")
    r1, r2 = _rounds("R1", "R2")
    v1, v2 = _values("V1", "V2")
    return z3.ForAll(
        [n1, n2, r1, r2, v1, v2],
        z3.Implies(
            z3.And(honest(n1), honest(n2), s.decided(n1, r1, v1), s.decided(n2, r2, v2)),
            v1 == v2,
        ),
    )


def validity(s: State) -> z3.BoolRef:
    (n,) = _nodes("N")
    (r,) = _rounds("R")
    (v,) = _values("V")
    return z3.ForAll([n, r, v], z3.Implies(z3.And(honest(n), s.decided(n, r, v)), valid(v)))


def init(s: State) -> z3.BoolRef:
    (n,) = _nodes("N")
    (r,) = _rounds("R")
    (v,) = _values("V")
    return z3.ForAll(
        [n, r, v],
        z3.And(
            z3.Implies(
                honest(n),
                z3.And(
                    z3.Not(s.left(n, r)),
                    z3.Not(s.prevoted(n, r, v)),
                    z3.Not(s.precommitted(n, r, v)),
                ),
            ),
            z3.Not(s.decided(n, r, v)),
        ),
    )


# --- transitions ----------------------------------------------------------------

#: Known-bad variants of the model; each must break one verification condition.
MUTATIONS: dict[str, str] = {
    "crash_only_intersection": "two quorums are only assumed to share some member, "
    "not an honest one (the crash-fault quorum axiom)",
    "no_lock_check": "l. 22 prevotes a proposal without checking the lock",
    "wrong_unlock_rule": "l. 28 unlocks on a polka from any earlier round, even one "
    "before the hub's lock",
    "double_prevote": "an honest hub may prevote twice in one round (equivocation)",
    "decide_without_valid": "prevote without valid(v) (so decide without valid(v))",
    "precommit_on_other_round_polka": "precommit on a polka from another round",
    "decide_on_prevotes": "decide on a quorum of prevotes instead of precommits",
}


@dataclass(frozen=True, slots=True)
class SdbcModel:
    """The transition system, optionally with one mutation from :data:`MUTATIONS`."""

    mutation: str | None = None

    def __post_init__(self) -> None:
        if self.mutation is not None and self.mutation not in MUTATIONS:
            raise ValueError(f"unknown SDBC mutation {self.mutation!r}")

    def axioms(self) -> list[z3.BoolRef]:
        return [
            *round_order(),
            quorum_intersection(honest_member=self.mutation != "crash_only_intersection"),
        ]

    def _frame(
        self,
        *,
        left: Callable[[z3.ExprRef, z3.ExprRef], z3.BoolRef] | None = None,
        prevoted: Callable[[z3.ExprRef, z3.ExprRef, z3.ExprRef], z3.BoolRef] | None = None,
        precommitted: Callable[[z3.ExprRef, z3.ExprRef, z3.ExprRef], z3.BoolRef] | None = None,
        decided: Callable[[z3.ExprRef, z3.ExprRef, z3.ExprRef], z3.BoolRef] | None = None,
    ) -> list[z3.BoolRef]:
        """Updates ``rel' = old or extra``, one per relation (``None``: unchanged)."""
        (n,) = _nodes("N")
        (r,) = _rounds("R")
        (v,) = _values("V")
        updates: list[z3.BoolRef] = [
            z3.ForAll(
                [n, r],
                NEXT.left(n, r) == (z3.Or(NOW.left(n, r), left(n, r)) if left else NOW.left(n, r)),
            )
        ]
        for rel_now, rel_next, extra in (
            (NOW.prevoted, NEXT.prevoted, prevoted),
            (NOW.precommitted, NEXT.precommitted, precommitted),
            (NOW.decided, NEXT.decided, decided),
        ):
            new = z3.Or(rel_now(n, r, v), extra(n, r, v)) if extra else rel_now(n, r, v)
            updates.append(z3.ForAll([n, r, v], rel_next(n, r, v) == new))
        return updates

    @staticmethod
    def _leave_below(
        a_node: z3.ExprRef, a_round: z3.ExprRef
    ) -> Callable[[z3.ExprRef, z3.ExprRef], z3.BoolRef]:
        return lambda n, r: z3.And(n == a_node, lt(r, a_round))

    @staticmethod
    def _add(
        a_node: z3.ExprRef, a_round: z3.ExprRef, a_value: z3.ExprRef
    ) -> Callable[[z3.ExprRef, z3.ExprRef, z3.ExprRef], z3.BoolRef]:
        return lambda n, r, v: z3.And(n == a_node, r == a_round, v == a_value)

    @staticmethod
    def _no_vote_yet(rel: z3.FuncDeclRef, n: z3.ExprRef, r: z3.ExprRef) -> z3.BoolRef:
        (v,) = _values("Vx")
        return z3.ForAll([v], z3.Not(rel(n, r, v)))

    # Each action returns its guard and updates over action parameters that are
    # free constants (existentially quantified by the solver).

    def start_round(self) -> list[z3.BoolRef]:
        (n,) = _nodes("n")
        (r,) = _rounds("r")
        return [honest(n), z3.Not(NOW.left(n, r)), *self._frame(left=self._leave_below(n, r))]

    def _prevote_common(self, n: z3.ExprRef, r: z3.ExprRef, v: z3.ExprRef) -> list[z3.BoolRef]:
        guard = [honest(n), z3.Not(NOW.left(n, r))]
        if self.mutation != "double_prevote":
            guard.append(self._no_vote_yet(NOW.prevoted, n, r))
        if self.mutation != "decide_without_valid":
            guard.append(valid(v))
        return [
            *guard,
            *self._frame(left=self._leave_below(n, r), prevoted=self._add(n, r, v)),
        ]

    def prevote(self) -> list[z3.BoolRef]:
        (n,) = _nodes("n")
        (r,) = _rounds("r")
        (v,) = _values("v")
        (lr,) = _rounds("LR")
        (lv,) = _values("LV")
        lock_ok = z3.ForAll([lr, lv], z3.Implies(NOW.precommitted(n, lr, lv), lv == v))
        guard = [] if self.mutation == "no_lock_check" else [lock_ok]
        return [*guard, *self._prevote_common(n, r, v)]

    def prevote_pol(self) -> list[z3.BoolRef]:
        (n,) = _nodes("n")
        r, vr = _rounds("r", "vr")
        (v,) = _values("v")
        (q,) = _quorums("q")
        (lr,) = _rounds("LR")
        (lv,) = _values("LV")
        if self.mutation == "wrong_unlock_rule":
            lock_ok = z3.BoolVal(True)
        else:
            lock_ok = z3.ForAll(
                [lr, lv], z3.Implies(z3.And(NOW.precommitted(n, lr, lv), lt(vr, lr)), lv == v)
            )
        return [
            lt(vr, r),
            every_honest_member(q, lambda m: NOW.prevoted(m, vr, v)),
            lock_ok,
            *self._prevote_common(n, r, v),
        ]

    def precommit(self) -> list[z3.BoolRef]:
        (n,) = _nodes("n")
        r, pr = _rounds("r", "pr")
        (v,) = _values("v")
        (q,) = _quorums("q")
        polka_round = pr if self.mutation == "precommit_on_other_round_polka" else r
        guard = [
            honest(n),
            z3.Not(NOW.left(n, r)),
            every_honest_member(q, lambda m: NOW.prevoted(m, polka_round, v)),
            self._no_vote_yet(NOW.precommitted, n, r),
        ]
        return [*guard, *self._frame(left=self._leave_below(n, r), precommitted=self._add(n, r, v))]

    def decide(self) -> list[z3.BoolRef]:
        (n,) = _nodes("n")
        (r,) = _rounds("r")
        (v,) = _values("v")
        (q,) = _quorums("q")
        votes = NOW.prevoted if self.mutation == "decide_on_prevotes" else NOW.precommitted
        return [
            honest(n),
            every_honest_member(q, lambda m: votes(m, r, v)),
            *self._frame(decided=self._add(n, r, v)),
        ]

    def byzantine(self) -> list[z3.BoolRef]:
        (n,) = _nodes("N")
        (r,) = _rounds("R")
        (v,) = _values("V")
        return [
            z3.ForAll(
                [n, r],
                z3.Implies(honest(n), NEXT.left(n, r) == NOW.left(n, r)),
            ),
            z3.ForAll(
                [n, r, v],
                z3.And(
                    z3.Implies(honest(n), NEXT.prevoted(n, r, v) == NOW.prevoted(n, r, v)),
                    z3.Implies(honest(n), NEXT.precommitted(n, r, v) == NOW.precommitted(n, r, v)),
                    NEXT.decided(n, r, v) == NOW.decided(n, r, v),
                ),
            ),
        ]

    def action(self, name: str) -> list[z3.BoolRef]:
        method: Callable[[], list[z3.BoolRef]] = getattr(self, name)
        return method()


#: The actions of :class:`SdbcModel`, in the order of the theory of operation.
ACTIONS: tuple[str, ...] = (
    "start_round",
    "prevote",
    "prevote_pol",
    "precommit",
    "decide",
    "byzantine",
)


# --- verification conditions --------------------------------------------------


def vc_init(model: SdbcModel) -> z3.BoolRef:
    return z3.Implies(z3.And(*model.axioms(), init(NOW)), inv(NOW))


def vc_consecution(model: SdbcModel, action: str) -> z3.BoolRef:
    return z3.Implies(z3.And(*model.axioms(), inv(NOW), *model.action(action)), inv(NEXT))


def vc_agreement(model: SdbcModel) -> z3.BoolRef:
    return z3.Implies(z3.And(*model.axioms(), inv(NOW)), agreement(NOW))


def vc_validity(model: SdbcModel) -> z3.BoolRef:
    return z3.Implies(z3.And(*model.axioms(), inv(NOW)), validity(NOW))


def _byzantine_exists() -> z3.BoolRef:
    (n,) = _nodes("Byz")
    return z3.Exists([n], z3.Not(honest(n)))


SOUND = SdbcModel()

register(
    Check(
        name=f"{PREFIX}.axioms.nonvacuous",
        kind=Kind.NON_VACUITY,
        statement="The axioms (round order, honest quorum intersection) hold in a model with a "
        "Byzantine hub, two rounds, two values and a valid value.",
        formula=lambda: z3.And(
            *SOUND.axioms(),
            _byzantine_exists(),
            z3.Exists(
                _rounds("Ra", "Rb"), z3.Not(_rounds("Ra", "Rb")[0] == _rounds("Ra", "Rb")[1])
            ),
            z3.Exists(
                _values("Va", "Vb"), z3.Not(_values("Va", "Vb")[0] == _values("Va", "Vb")[1])
            ),
            z3.Exists(_values("Vv"), valid(_values("Vv")[0])),
        ),
    )
)

register(
    Check(
        name=f"{PREFIX}.init_implies_inv",
        kind=Kind.OBLIGATION,
        statement="Init => Inv: the initial state satisfies every invariant conjunct.",
        formula=lambda: vc_init(SOUND),
    )
)
register(
    Check(
        name=f"{PREFIX}.init_implies_inv.nonvacuous",
        kind=Kind.NON_VACUITY,
        statement="The axioms and Init are satisfiable together, with a Byzantine hub.",
        formula=lambda: z3.And(*SOUND.axioms(), init(NOW), _byzantine_exists()),
    )
)

for _action in ACTIONS:
    register(
        Check(
            name=f"{PREFIX}.consecution.{_action}",
            kind=Kind.OBLIGATION,
            statement=f"Inv & {_action} => Inv': the action preserves every invariant conjunct.",
            formula=lambda a=_action: vc_consecution(SOUND, a),  # type: ignore[misc]
        )
    )
    register(
        Check(
            name=f"{PREFIX}.consecution.{_action}.nonvacuous",
            kind=Kind.NON_VACUITY,
            statement=f"{_action} is enabled in some state satisfying Inv (with a Byzantine hub).",
            formula=lambda a=_action: z3.And(  # type: ignore[misc]
                *SOUND.axioms(), inv(NOW), *SOUND.action(a), _byzantine_exists()
            ),
        )
    )

register(
    Check(
        name=f"{PREFIX}.agreement",
        kind=Kind.OBLIGATION,
        statement="Inv => Agreement: no two honest hubs decide different values, in any rounds.",
        formula=lambda: vc_agreement(SOUND),
    )
)
register(
    Check(
        name=f"{PREFIX}.validity",
        kind=Kind.OBLIGATION,
        statement="Inv => Validity: an honest hub decides only valid values.",
        formula=lambda: vc_validity(SOUND),
    )
)


def _agreement_witness() -> z3.BoolRef:
    n1, n2 = _nodes("Na", "Nb")
    r1, r2 = _rounds("Ra", "Rb")
    (v,) = _values("Va")
    return z3.And(
        *SOUND.axioms(),
        inv(NOW),
        honest(n1),
        honest(n2),
        n1 != n2,
        lt(r1, r2),
        NOW.decided(n1, r1, v),
        NOW.decided(n2, r2, v),
        _byzantine_exists(),
    )


register(
    Check(
        name=f"{PREFIX}.agreement.nonvacuous",
        kind=Kind.NON_VACUITY,
        statement="Inv allows two honest hubs to decide (the same value) in different rounds "
        "with a Byzantine hub present, so Agreement is not vacuous.",
        formula=_agreement_witness,
    )
)


def _decided_witness() -> z3.BoolRef:
    (n,) = _nodes("n")
    (r,) = _rounds("r")
    (v,) = _values("v")
    return z3.And(
        *SOUND.axioms(),
        inv(NOW),
        *SOUND.decide(),
        z3.Not(NOW.decided(n, r, v)),
        _byzantine_exists(),
    )


register(
    Check(
        name=f"{PREFIX}.decide_enabled.nonvacuous",
        kind=Kind.NON_VACUITY,
        statement="A decision step is enabled: some state satisfying Inv lets an honest hub decide "
        "a value it had not decided, with a Byzantine hub present.",
        formula=_decided_witness,
    )
)


def _unlock_witness() -> z3.BoolRef:
    (n,) = _nodes("Nu")
    r1, r2 = _rounds("Ru1", "Ru2")
    v1, v2 = _values("Vu1", "Vu2")
    return z3.And(
        *SOUND.axioms(),
        inv(NOW),
        honest(n),
        NOW.precommitted(n, r1, v1),
        lt(r1, r2),
        NOW.prevoted(n, r2, v2),
        v1 != v2,
    )


register(
    Check(
        name=f"{PREFIX}.unlock_allowed.nonvacuous",
        kind=Kind.NON_VACUITY,
        statement="Inv does not forbid unlocking: an honest hub may precommit v1 and later "
        "prevote v2 != v1 (after a polka for v2), so the locking lemma is not stronger than "
        "Tendermint.",
        formula=_unlock_witness,
    )
)


def small_universes(bound: int) -> list[z3.BoolRef]:
    """Every sort has at most ``bound`` elements.  Added to a mutant's
    hypotheses it keeps the countermodel small and readable; a countermodel
    within the bound is a countermodel outright."""
    facts = []
    for sort in (Node, Value, Round, Quorum):
        elements = [z3.Const(f"{sort.name()}#{i}", sort) for i in range(bound)]
        (x,) = [z3.Const(f"{sort.name()}_any", sort)]
        facts.append(z3.ForAll([x], z3.Or(*(x == e for e in elements))))
    return facts


def vc_preserves(model: SdbcModel, action: str, conjunct: str) -> z3.BoolRef:
    return z3.Implies(
        z3.And(*model.axioms(), inv(NOW), *model.action(action)), INVARIANT[conjunct](NEXT)
    )


#: mutation -> (the verification condition it must break, in words; its builder).
MUTANT_TARGETS: dict[str, tuple[str, Callable[[SdbcModel], z3.BoolRef]]] = {
    "crash_only_intersection": ("Inv => Agreement", vc_agreement),
    "no_lock_check": (
        "prevote preserves PrecommitsLockValue",
        lambda m: vc_preserves(m, "prevote", "PrecommitsLockValue"),
    ),
    "wrong_unlock_rule": (
        "prevote_pol preserves PrecommitsLockValue",
        lambda m: vc_preserves(m, "prevote_pol", "PrecommitsLockValue"),
    ),
    "double_prevote": (
        "prevote preserves NoEquivocationByCorrectPrevote",
        lambda m: vc_preserves(m, "prevote", "NoEquivocationByCorrectPrevote"),
    ),
    "decide_without_valid": (
        "prevote preserves PrevotesAreValid",
        lambda m: vc_preserves(m, "prevote", "PrevotesAreValid"),
    ),
    "precommit_on_other_round_polka": (
        "precommit preserves PrecommitNeedsPolka",
        lambda m: vc_preserves(m, "precommit", "PrecommitNeedsPolka"),
    ),
    "decide_on_prevotes": (
        "decide preserves DecisionNeedsCommit",
        lambda m: vc_preserves(m, "decide", "DecisionNeedsCommit"),
    ),
}

#: Universe bound for mutant countermodels (see :func:`small_universes`).
MUTANT_BOUND = 4

for _mutation, (_target, _build) in MUTANT_TARGETS.items():
    register(
        Check(
            name=f"{PREFIX}.mutant.{_mutation}",
            kind=Kind.MUTANT,
            statement=f"Mutant: {MUTATIONS[_mutation]}; must break '{_target}' with a "
            "countermodel.",
            formula=lambda m=_mutation, b=_build: z3.Implies(  # type: ignore[misc]
                z3.And(*small_universes(MUTANT_BOUND)), b(SdbcModel(m))
            ),
        )
    )
