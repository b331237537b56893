"""SDBC Accountability and NoFraming for every number of hubs (DESIGN.md 4.1).

Theory of operation
-------------------

Same sorts and round order as :mod:`.sdbc` (``Node``, ``Value``, ``Round``,
``Quorum``, ``member``, ``honest``, ``lt``), but a different reading of the
vote relations: here ``prevoted(n, r, v)`` and ``precommitted(n, r, v)`` are
the **evidence pool**, every vote anyone has signed, Byzantine hubs included.
Signed messages cannot be unsigned, so the pool only grows.  Everything is
judged on the pool alone, which is what an auditor holding the messages can
check.  A **polka** for ``v`` in ``r`` is a quorum every member of which
signed a prevote for ``v`` in ``r``; a **commit certificate** is a quorum
every member of which signed a precommit.  No quorum-intersection axiom is
assumed anywhere in this module: accountability is what is left when the
intersection is *not* honest.

Evidence against a hub ``n`` (:data:`EVIDENCE`):

1. ``equivocation``: two different prevotes, or two different precommits, in
   one round;
2. ``amnesia`` (an unlawful unlock, the name used by ``models/sdbc.py``): a
   precommit for ``v`` in ``r1`` and a prevote for ``w != v`` in a later
   round ``r2`` with no polka for ``w`` in any round ``r1 <= vr < r2``;
3. ``unjustified_precommit``: a precommit for ``v`` in ``r`` with no polka
   for ``v`` in ``r`` (a lock taken without a polka).

``guilty(n)`` is the disjunction.

**Accountability** (static, over any pool): two commit certificates for
different values (a fork) imply two quorums every common member of which is
guilty.  With ``thresholds.quorum_intersection`` (two quorums share at
least ``2q - N`` members), at least ``2q - N`` hubs are provably guilty.  The
proof is four lemmas, each proved for all its constants: two certificates
in one round (equivocation); a certificate without a polka (unjustified
precommits); two polkas in one round (equivocation); a certificate for
``v1`` in ``r1`` and a polka for ``wm != v1`` in ``rm > r1`` with no polka
for ``wm`` in ``[r1, rm)`` (amnesia).  A **glue** obligation does the case
split over an uninterpreted ``G`` of which it assumes only the lemmas'
instances at its constants: after the earlier certificate's round, take
the *least* round with a polka for another value.  Rounds are natural
numbers, so the least-element principle holds; it enters as one instance
per certificate (Skolemized: its least round, value and polka quorum are
constants), with "choice" constants naming a polka where one exists.  The
glue's conclusion for ``G`` and the lemmas give the claim for ``guilty``
by modus ponens outside Z3 (as the induction rule of the aggregation
proofs is applied outside Z3).  The one-formula version of the claim
(:func:`vc_accountability`) is not in a decidable fragment and Z3 answers
``unknown`` on it; it serves the mutant, where a countermodel is found.

**NoFraming** (inductive, over the protocol): honest hubs follow the
Tendermint rules of :mod:`.sdbc` but act only on quorums of *signatures*
(every member of the quorum signed, as a hub holding ``q`` signed votes
does), Byzantine hubs add any votes; the invariant :data:`NO_FRAMING` (no
honest hub is guilty, with the lemmas it needs) holds initially and is
preserved by every action.

**Fragment.**  The Accountability lemmas and glue are EPR (Skolem functions
``Quorum x Quorum -> Node``, ``Round x Value x Quorum -> Node``,
``Round x Value -> Quorum`` only; the amnesia lemma concludes the evidence
with its witnesses named).  The NoFraming conditions are EPR except for
the lemma ``UnlocksJustified`` ("some round between the lock and the
unlock has a polka"), whose Skolem function maps rounds to rounds: Z3
decides those conditions in well under a second, but not by the EPR
guarantee; an ``unknown`` fails, it never passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import z3

from ._obligation import Check, Kind, register
from .sdbc import MUTANT_BOUND as MUTANT_BOUND
from .sdbc import (
    NEXT,
    NOW,
    Node,
    Quorum,
    Round,
    SdbcModel,
    State,
    Value,
    honest,
    lt,
    member,
    round_order,
    small_universes,
)

__all__ = [
    "ACTIONS",
    "EVIDENCE",
    "MUTATIONS",
    "NO_FRAMING",
    "AccountableModel",
    "guilty",
    "least_conflicting_polka",
    "vc_accountability",
]

PREFIX = "sdbc_accountability"


def _node(name: str) -> z3.ExprRef:
    return z3.Const(name, Node)


def _round(name: str) -> z3.ExprRef:
    return z3.Const(name, Round)


def _value(name: str) -> z3.ExprRef:
    return z3.Const(name, Value)


def _quorum(name: str) -> z3.ExprRef:
    return z3.Const(name, Quorum)


def _le(a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
    return z3.Not(lt(b, a))


def every_member(q: z3.ExprRef, holds: Callable[[z3.ExprRef], z3.BoolRef]) -> z3.BoolRef:
    """Every member of ``q`` (Byzantine ones included) satisfies ``holds``."""
    m = _node("Mq")
    return z3.ForAll([m], z3.Implies(member(m, q), holds(m)))


def polka(s: State, r: z3.ExprRef, v: z3.ExprRef, tag: str = "") -> z3.BoolRef:
    """Some quorum all of whose members signed a prevote for ``v`` in ``r``."""
    q = _quorum(f"Qpolka{tag}")
    return z3.Exists([q], every_member(q, lambda m: s.prevoted(m, r, v)))


def certificate(s: State, q: z3.ExprRef, r: z3.ExprRef, v: z3.ExprRef) -> z3.BoolRef:
    """Every member of ``q`` signed a precommit for ``v`` in ``r``."""
    return every_member(q, lambda m: s.precommitted(m, r, v))


# --- evidence ---------------------------------------------------------------------


def equivocation(s: State, n: z3.ExprRef) -> z3.BoolRef:
    r = _round("Re")
    v1, v2 = _value("Ve1"), _value("Ve2")
    return z3.Exists(
        [r, v1, v2],
        z3.And(
            v1 != v2,
            z3.Or(
                z3.And(s.prevoted(n, r, v1), s.prevoted(n, r, v2)),
                z3.And(s.precommitted(n, r, v1), s.precommitted(n, r, v2)),
            ),
        ),
    )


def amnesia_at(
    s: State,
    n: z3.ExprRef,
    r1: z3.ExprRef,
    v: z3.ExprRef,
    r2: z3.ExprRef,
    w: z3.ExprRef,
    *,
    strict_window: bool = False,
) -> z3.BoolRef:
    """``n``'s precommit for ``v`` in ``r1`` and prevote for ``w`` in ``r2``
    are an unlawful unlock: ``r1 < r2``, ``w != v``, and no polka for ``w`` in
    any round ``r1 <= vr < r2`` (``strict_window``: ``r1 < vr < r2``, a mutant)."""
    vr = _round("Rvr")
    in_window = z3.And(lt(r1, vr) if strict_window else _le(r1, vr), lt(vr, r2))
    return z3.And(
        s.precommitted(n, r1, v),
        lt(r1, r2),
        s.prevoted(n, r2, w),
        w != v,
        z3.ForAll([vr], z3.Implies(in_window, z3.Not(polka(s, vr, w, "a")))),
    )


def _amnesia(strict_window: bool) -> Callable[[State, z3.ExprRef], z3.BoolRef]:
    def amnesia(s: State, n: z3.ExprRef) -> z3.BoolRef:
        r1, r2, v, w = _round("Ra1"), _round("Ra2"), _value("Va"), _value("Wa")
        return z3.Exists(
            [r1, v, r2, w], amnesia_at(s, n, r1, v, r2, w, strict_window=strict_window)
        )

    return amnesia


def unjustified_precommit(s: State, n: z3.ExprRef) -> z3.BoolRef:
    r, v = _round("Ru"), _value("Vu")
    return z3.Exists([r, v], z3.And(s.precommitted(n, r, v), z3.Not(polka(s, r, v, "u"))))


#: The kinds of evidence, by name.
EVIDENCE: dict[str, Callable[[State, z3.ExprRef], z3.BoolRef]] = {
    "equivocation": equivocation,
    "amnesia": _amnesia(strict_window=False),
    "unjustified_precommit": unjustified_precommit,
}


def guilty(
    s: State,
    n: z3.ExprRef,
    evidence: dict[str, Callable[[State, z3.ExprRef], z3.BoolRef]] | None = None,
) -> z3.BoolRef:
    kinds = EVIDENCE if evidence is None else evidence
    return z3.Or(*(kind(s, n) for kind in kinds.values()))


# --- Accountability (static) ------------------------------------------------------


def least_conflicting_polka(s: State, r1: z3.ExprRef, v1: z3.ExprRef, tag: str) -> z3.BoolRef:
    """The least-element principle, instantiated: if some round after ``r1``
    has a polka for a value other than ``v1``, a least such round exists."""
    r, rm = _round(f"Rany{tag}"), _round(f"Rleast{tag}")
    w, wm = _value(f"Wany{tag}"), _value(f"Wleast{tag}")
    return z3.Implies(
        z3.Exists([r, w], z3.And(lt(r1, r), w != v1, polka(s, r, w, f"x{tag}"))),
        z3.Exists(
            [rm, wm],
            z3.And(
                lt(r1, rm),
                wm != v1,
                polka(s, rm, wm, f"m{tag}"),
                z3.ForAll(
                    [r, w],
                    z3.Implies(
                        z3.And(lt(r1, r), lt(r, rm), w != v1), z3.Not(polka(s, r, w, f"y{tag}"))
                    ),
                ),
            ),
        ),
    )


def fork(s: State) -> list[z3.BoolRef]:
    """Two commit certificates for different values (in any rounds)."""
    q1, q2 = _quorum("Q1"), _quorum("Q2")
    r1, r2 = _round("r1"), _round("r2")
    v1, v2 = _value("v1"), _value("v2")
    return [v1 != v2, certificate(s, q1, r1, v1), certificate(s, q2, r2, v2)]


def accountability_hypotheses(s: State) -> list[z3.BoolRef]:
    r1, r2 = _round("r1"), _round("r2")
    v1, v2 = _value("v1"), _value("v2")
    return [
        *round_order(),
        *fork(s),
        least_conflicting_polka(s, r1, v1, "1"),
        least_conflicting_polka(s, r2, v2, "2"),
    ]


def guilty_intersection(
    s: State, evidence: dict[str, Callable[[State, z3.ExprRef], z3.BoolRef]] | None = None
) -> z3.BoolRef:
    """Two quorums every common member of which is guilty."""
    qa, qb = _quorum("Qa"), _quorum("Qb")
    n = _node("Ng")
    return z3.Exists(
        [qa, qb],
        z3.ForAll([n], z3.Implies(z3.And(member(n, qa), member(n, qb)), guilty(s, n, evidence))),
    )


def vc_accountability(
    evidence: dict[str, Callable[[State, z3.ExprRef], z3.BoolRef]] | None = None,
) -> z3.BoolRef:
    """The whole claim in one formula (used for the mutant: without the
    unjustified-precommit evidence Z3 finds a countermodel quickly; with it,
    the claim is proved through the lemmas below)."""
    return z3.Implies(z3.And(*accountability_hypotheses(NOW)), guilty_intersection(NOW, evidence))


# The proof, in lemmas.  Each lemma names its quorums as constants and
# concludes one kind of evidence for every common member; the glue states
# the case split over an uninterpreted ``G`` ("guilty") of which it assumes
# only the lemmas' instances at its constants.  Since every lemma is proved
# for all its constants with the real evidence, the glue's conclusion holds
# for ``guilty`` (modus ponens, outside Z3; the same trust as the induction
# rule of the aggregation proofs).


def _common_members(
    qa: z3.ExprRef, qb: z3.ExprRef, holds: Callable[[z3.ExprRef], z3.BoolRef]
) -> z3.BoolRef:
    n = _node("Nc")
    return z3.ForAll([n], z3.Implies(z3.And(member(n, qa), member(n, qb)), holds(n)))


def _prevote_quorum(s: State, q: z3.ExprRef, r: z3.ExprRef, v: z3.ExprRef) -> z3.BoolRef:
    return every_member(q, lambda m: s.prevoted(m, r, v))


def _no_polka_between(s: State, low: z3.ExprRef, high: z3.ExprRef, w: z3.ExprRef) -> z3.BoolRef:
    vr = _round("Rw")
    return z3.ForAll(
        [vr], z3.Implies(z3.And(_le(low, vr), lt(vr, high)), z3.Not(polka(s, vr, w, "w")))
    )


Holds = Callable[[z3.ExprRef], z3.BoolRef]


def lemma_same_round(
    q1: z3.ExprRef, q2: z3.ExprRef, r: z3.ExprRef, v1: z3.ExprRef, v2: z3.ExprRef, concl: Holds
) -> tuple[list[z3.BoolRef], z3.BoolRef]:
    return (
        [certificate(NOW, q1, r, v1), certificate(NOW, q2, r, v2), v1 != v2],
        _common_members(q1, q2, concl),
    )


def lemma_unjustified(
    q: z3.ExprRef, r: z3.ExprRef, v: z3.ExprRef, concl: Holds
) -> tuple[list[z3.BoolRef], z3.BoolRef]:
    return (
        [certificate(NOW, q, r, v), z3.Not(polka(NOW, r, v, "h"))],
        _common_members(q, q, concl),
    )


def lemma_two_polkas(
    pa: z3.ExprRef, pb: z3.ExprRef, r: z3.ExprRef, a: z3.ExprRef, b: z3.ExprRef, concl: Holds
) -> tuple[list[z3.BoolRef], z3.BoolRef]:
    return (
        [_prevote_quorum(NOW, pa, r, a), _prevote_quorum(NOW, pb, r, b), a != b],
        _common_members(pa, pb, concl),
    )


def lemma_amnesia(
    q1: z3.ExprRef,
    pm: z3.ExprRef,
    r1: z3.ExprRef,
    rm: z3.ExprRef,
    v1: z3.ExprRef,
    wm: z3.ExprRef,
    concl: Holds,
) -> tuple[list[z3.BoolRef], z3.BoolRef]:
    return (
        [
            *round_order(),
            certificate(NOW, q1, r1, v1),
            _prevote_quorum(NOW, pm, rm, wm),
            lt(r1, rm),
            wm != v1,
            _no_polka_between(NOW, r1, rm, wm),
        ],
        _common_members(q1, pm, concl),
    )


def _as_implication(parts: tuple[list[z3.BoolRef], z3.BoolRef]) -> z3.BoolRef:
    hypotheses, conclusion = parts
    return z3.Implies(z3.And(*hypotheses), conclusion)


def _lemma_same_round() -> tuple[list[z3.BoolRef], z3.BoolRef]:
    return lemma_same_round(
        _quorum("Q1"),
        _quorum("Q2"),
        _round("r"),
        _value("v1"),
        _value("v2"),
        lambda n: equivocation(NOW, n),
    )


def _lemma_unjustified() -> tuple[list[z3.BoolRef], z3.BoolRef]:
    return lemma_unjustified(
        _quorum("Q"), _round("r"), _value("v"), lambda n: unjustified_precommit(NOW, n)
    )


def _lemma_two_polkas() -> tuple[list[z3.BoolRef], z3.BoolRef]:
    return lemma_two_polkas(
        _quorum("Pa"),
        _quorum("Pb"),
        _round("r"),
        _value("a"),
        _value("b"),
        lambda n: equivocation(NOW, n),
    )


def _lemma_amnesia() -> tuple[list[z3.BoolRef], z3.BoolRef]:
    # Concludes the evidence with its witnesses named (amnesia_at), which
    # keeps the condition in EPR; amnesia(n) is its existential closure.
    q1, pm, r1, rm = _quorum("Q1"), _quorum("Pm"), _round("r1"), _round("rm")
    v1, wm = _value("v1"), _value("wm")
    return lemma_amnesia(q1, pm, r1, rm, v1, wm, lambda n: amnesia_at(NOW, n, r1, v1, rm, wm))


#: lemma name -> (statement, builder of (hypotheses, conclusion)).
LEMMAS: dict[str, tuple[str, Callable[[], tuple[list[z3.BoolRef], z3.BoolRef]]]] = {
    "same_round": (
        "Two commit certificates for different values in one round: every common member "
        "signed two different precommits in that round (equivocation).",
        _lemma_same_round,
    ),
    "unjustified": (
        "A commit certificate for v in r with no polka for v in r: every member signed an "
        "unjustified precommit.",
        _lemma_unjustified,
    ),
    "two_polkas": (
        "Two polkas for different values in one round: every common member signed two "
        "different prevotes in that round (equivocation).",
        _lemma_two_polkas,
    ),
    "amnesia": (
        "A commit certificate for v1 in r1 and a polka for wm != v1 in rm > r1, with no polka "
        "for wm in any round r1 <= vr < rm: every common member unlocked unlawfully (amnesia, "
        "concluded with its witnesses r1, v1, rm, wm named).",
        _lemma_amnesia,
    ),
}

G = z3.Function("G", Node, z3.BoolSort())


def _choice(s: State, q: z3.ExprRef, r: z3.ExprRef, v: z3.ExprRef, tag: str) -> z3.BoolRef:
    """``q`` names a polka for ``v`` in ``r`` if there is one (a choice
    constant: adding it keeps every model)."""
    return z3.Implies(polka(s, r, v, tag), _prevote_quorum(s, q, r, v))


def _glue_side(s: State, earlier: str, later: str) -> list[z3.BoolRef]:
    """The lemma instances and choices for the case ``r_earlier < r_later``."""
    q1, r1, v1 = _quorum(f"Q{earlier}"), _round(f"r{earlier}"), _value(f"v{earlier}")
    q2, r2, v2 = _quorum(f"Q{later}"), _round(f"r{later}"), _value(f"v{later}")
    p1, pm, pw = _quorum(f"P{earlier}"), _quorum(f"Pm{earlier}"), _quorum(f"Pw{earlier}")
    rm, wm = _round(f"rm{earlier}"), _value(f"wm{earlier}")
    g: Holds = G
    return [
        # the least round after r_earlier with a polka for a value other than v_earlier
        z3.Implies(
            z3.Exists(
                [r := _round(f"Rz{earlier}"), w := _value(f"Wz{earlier}")],
                z3.And(lt(r1, r), w != v1, polka(s, r, w, f"z{earlier}")),
            ),
            z3.And(
                lt(r1, rm),
                wm != v1,
                _prevote_quorum(s, pm, rm, wm),
                z3.ForAll(
                    [r, w],
                    z3.Implies(
                        z3.And(lt(r1, r), lt(r, rm), w != v1), z3.Not(polka(s, r, w, f"l{earlier}"))
                    ),
                ),
            ),
        ),
        _choice(s, p1, r1, v1, f"c{earlier}"),
        _choice(s, pw, r1, wm, f"d{earlier}"),
        # the lemmas' instances at these constants, concluding G
        _as_implication(lemma_unjustified(q2, r2, v2, g)),
        _as_implication(lemma_unjustified(q1, r1, v1, g)),
        _as_implication(lemma_two_polkas(p1, pw, r1, v1, wm, g)),
        _as_implication(lemma_amnesia(q1, pm, r1, rm, v1, wm, g)),
    ]


def _glue() -> tuple[list[z3.BoolRef], z3.BoolRef]:
    q1, q2, r1, r2 = _quorum("Q1"), _quorum("Q2"), _round("r1"), _round("r2")
    v1, v2 = _value("v1"), _value("v2")
    qa, qb = _quorum("Qa"), _quorum("Qb")
    hypotheses = [
        *round_order(),
        *fork(NOW),
        z3.Implies(r1 == r2, _as_implication(lemma_same_round(q1, q2, r1, v1, v2, G))),
        *_glue_side(NOW, "1", "2"),
        *_glue_side(NOW, "2", "1"),
    ]
    return hypotheses, z3.Exists([qa, qb], _common_members(qa, qb, lambda n: G(n)))


# --- NoFraming (inductive) ---------------------------------------------------------


def _votes_leave_earlier_rounds(
    vote: Callable[[State], z3.FuncDeclRef],
) -> Callable[[State], z3.BoolRef]:
    def conjunct(s: State) -> z3.BoolRef:
        n, r1, r2, v = _node("Nv"), _round("Rv1"), _round("Rv2"), _value("Vv")
        return z3.ForAll(
            [n, r1, r2, v],
            z3.Implies(z3.And(honest(n), vote(s)(n, r2, v), lt(r1, r2)), s.left(n, r1)),
        )

    return conjunct


def _no_equivocation(s: State) -> z3.BoolRef:
    n = _node("Nq")
    return z3.ForAll([n], z3.Implies(honest(n), z3.Not(equivocation(s, n))))


def _precommits_justified(s: State) -> z3.BoolRef:
    n, r, v = _node("Nj"), _round("Rj"), _value("Vj")
    return z3.ForAll(
        [r, v],
        z3.Implies(z3.Exists([n], z3.And(honest(n), s.precommitted(n, r, v))), polka(s, r, v, "j")),
    )


def _unlocks_justified(s: State) -> z3.BoolRef:
    n, r1, r2, vr = _node("Nu"), _round("Ru1"), _round("Ru2"), _round("Rvu")
    v, w = _value("Vu"), _value("Wu")
    return z3.ForAll(
        [n, r1, v, r2, w],
        z3.Implies(
            z3.And(honest(n), s.precommitted(n, r1, v), lt(r1, r2), s.prevoted(n, r2, w), w != v),
            z3.Exists([vr], z3.And(_le(r1, vr), lt(vr, r2), polka(s, vr, w, "k"))),
        ),
    )


#: The inductive invariant behind NoFraming, by name.
NO_FRAMING: dict[str, Callable[[State], z3.BoolRef]] = {
    "PrevoteLeavesEarlierRounds": _votes_leave_earlier_rounds(lambda s: s.prevoted),
    "NoEquivocationByCorrect": _no_equivocation,
    "PrecommitsJustified": _precommits_justified,
    "UnlocksJustified": _unlocks_justified,
}


def inv(s: State) -> z3.BoolRef:
    return z3.And(*(conjunct(s) for conjunct in NO_FRAMING.values()))


def no_framing(
    s: State, evidence: dict[str, Callable[[State, z3.ExprRef], z3.BoolRef]] | None = None
) -> z3.BoolRef:
    n = _node("Nf")
    return z3.ForAll([n], z3.Implies(honest(n), z3.Not(guilty(s, n, evidence))))


def init(s: State) -> z3.BoolRef:
    """Nothing left, nothing signed by honest hubs (Byzantine hubs may hold
    anything from the start)."""
    n, r, v = _node("Ni"), _round("Ri"), _value("Vi")
    return z3.ForAll(
        [n, r, v],
        z3.Implies(
            honest(n),
            z3.And(
                z3.Not(s.left(n, r)), z3.Not(s.prevoted(n, r, v)), z3.Not(s.precommitted(n, r, v))
            ),
        ),
    )


#: Known-bad variants; each must let an honest hub be framed.
MUTATIONS: dict[str, str] = {
    "wrong_unlock_rule": "l. 28 unlocks on a polka from any earlier round, even one before "
    "the hub's lock",
    "precommit_on_honest_prevotes": "an honest hub precommits when every *honest* member of a "
    "quorum prevoted (the agreement proof's abstraction) instead of holding a quorum of "
    "signatures",
}

Relation3 = Callable[[z3.ExprRef, z3.ExprRef, z3.ExprRef], z3.BoolRef]


@dataclass(frozen=True, slots=True)
class AccountableModel:
    """Honest hubs follow the rules of :class:`.sdbc.SdbcModel` on quorums of
    signatures; Byzantine hubs sign anything; the pool only grows."""

    mutation: str | None = None

    def __post_init__(self) -> None:
        if self.mutation is not None and self.mutation not in MUTATIONS:
            raise ValueError(f"unknown accountability mutation {self.mutation!r}")

    @staticmethod
    def _frame(
        *,
        left: Callable[[z3.ExprRef, z3.ExprRef], z3.BoolRef] | None = None,
        prevoted: Relation3 | None = None,
        precommitted: Relation3 | None = None,
    ) -> list[z3.BoolRef]:
        n, r, v = _node("Nx"), _round("Rx"), _value("Vx")
        updates = [
            z3.ForAll(
                [n, r],
                NEXT.left(n, r) == (z3.Or(NOW.left(n, r), left(n, r)) if left else NOW.left(n, r)),
            )
        ]
        for now, nxt, extra in (
            (NOW.prevoted, NEXT.prevoted, prevoted),
            (NOW.precommitted, NEXT.precommitted, precommitted),
        ):
            new = z3.Or(now(n, r, v), extra(n, r, v)) if extra else now(n, r, v)
            updates.append(z3.ForAll([n, r, v], nxt(n, r, v) == new))
        return updates

    # The same one-node updates as the core model's actions.
    _leave_below = staticmethod(SdbcModel._leave_below)
    _add = staticmethod(SdbcModel._add)

    @staticmethod
    def _no_vote_yet(rel: z3.FuncDeclRef, n: z3.ExprRef, r: z3.ExprRef) -> z3.BoolRef:
        v = _value("Vy")
        return z3.ForAll([v], z3.Not(rel(n, r, v)))

    def start_round(self) -> list[z3.BoolRef]:
        n, r = _node("n"), _round("r")
        return [honest(n), z3.Not(NOW.left(n, r)), *self._frame(left=self._leave_below(n, r))]

    def _prevote_common(self, n: z3.ExprRef, r: z3.ExprRef, v: z3.ExprRef) -> list[z3.BoolRef]:
        return [
            honest(n),
            z3.Not(NOW.left(n, r)),
            self._no_vote_yet(NOW.prevoted, n, r),
            *self._frame(left=self._leave_below(n, r), prevoted=self._add(n, r, v)),
        ]

    def prevote(self) -> list[z3.BoolRef]:
        n, r, v = _node("n"), _round("r"), _value("v")
        lr, lv = _round("LR"), _value("LV")
        lock_ok = z3.ForAll([lr, lv], z3.Implies(NOW.precommitted(n, lr, lv), lv == v))
        return [lock_ok, *self._prevote_common(n, r, v)]

    def prevote_pol(self) -> list[z3.BoolRef]:
        n, r, vr, v, q = _node("n"), _round("r"), _round("vr"), _value("v"), _quorum("q")
        lr, lv = _round("LR"), _value("LV")
        if self.mutation == "wrong_unlock_rule":
            lock_ok = z3.BoolVal(True)
        else:
            lock_ok = z3.ForAll(
                [lr, lv], z3.Implies(z3.And(NOW.precommitted(n, lr, lv), lt(vr, lr)), lv == v)
            )
        return [lt(vr, r), _prevote_quorum(NOW, q, vr, v), lock_ok, *self._prevote_common(n, r, v)]

    def precommit(self) -> list[z3.BoolRef]:
        n, r, v, q = _node("n"), _round("r"), _value("v"), _quorum("q")
        if self.mutation == "precommit_on_honest_prevotes":
            m = _node("Mh")
            polka_seen = z3.ForAll(
                [m], z3.Implies(z3.And(member(m, q), honest(m)), NOW.prevoted(m, r, v))
            )
        else:
            polka_seen = _prevote_quorum(NOW, q, r, v)
        return [
            honest(n),
            z3.Not(NOW.left(n, r)),
            polka_seen,
            self._no_vote_yet(NOW.precommitted, n, r),
            *self._frame(left=self._leave_below(n, r), precommitted=self._add(n, r, v)),
        ]

    def byzantine(self) -> list[z3.BoolRef]:
        n, r, v = _node("Nb"), _round("Rb"), _value("Vb")
        return [
            z3.ForAll([n, r], z3.Implies(honest(n), NEXT.left(n, r) == NOW.left(n, r))),
            z3.ForAll(
                [n, r, v],
                z3.And(
                    z3.Implies(NOW.prevoted(n, r, v), NEXT.prevoted(n, r, v)),
                    z3.Implies(NOW.precommitted(n, r, v), NEXT.precommitted(n, r, v)),
                    z3.Implies(honest(n), NEXT.prevoted(n, r, v) == NOW.prevoted(n, r, v)),
                    z3.Implies(honest(n), NEXT.precommitted(n, r, v) == NOW.precommitted(n, r, v)),
                ),
            ),
        ]

    def action(self, name: str) -> list[z3.BoolRef]:
        method: Callable[[], list[z3.BoolRef]] = getattr(self, name)
        return method()


ACTIONS: tuple[str, ...] = ("start_round", "prevote", "prevote_pol", "precommit", "byzantine")

SOUND = AccountableModel()


def _byzantine_exists() -> z3.BoolRef:
    n = _node("Byz")
    return z3.Exists([n], z3.Not(honest(n)))


# --- registration --------------------------------------------------------------------

for _lemma, (_statement, _build) in LEMMAS.items():
    register(
        Check(
            name=f"{PREFIX}.lemma.{_lemma}",
            kind=Kind.OBLIGATION,
            statement=f"Lemma: {_statement}",
            formula=lambda b=_build: _as_implication(b()),  # type: ignore[misc]
        )
    )
    register(
        Check(
            name=f"{PREFIX}.lemma.{_lemma}.nonvacuous",
            kind=Kind.NON_VACUITY,
            statement=f"the hypotheses of {PREFIX}.lemma.{_lemma} are satisfiable together, "
            "with a Byzantine hub",
            formula=lambda b=_build: z3.And(*b()[0], _byzantine_exists()),  # type: ignore[misc]
        )
    )

register(
    Check(
        name=f"{PREFIX}.fork_implies_guilty_intersection",
        kind=Kind.OBLIGATION,
        statement="Accountability: two commit certificates for different values (in any rounds) "
        "imply two quorums every common member of which is provably guilty (from the four "
        "lemmas' instances and the least-element principle for rounds); with "
        "thresholds.quorum_intersection, at least 2q - N hubs.",
        formula=lambda: _as_implication(_glue()),
        timeout_ms=60_000,
    )
)


def _fork_witness() -> z3.BoolRef:
    """A fork in different rounds in which some hub is not guilty (so the
    guilty set is not everyone by construction)."""
    n = _node("Innocent")
    return z3.And(
        *accountability_hypotheses(NOW),
        _round("r1") != _round("r2"),
        z3.Not(guilty(NOW, n)),
        _byzantine_exists(),
    )


register(
    Check(
        name=f"{PREFIX}.fork.nonvacuous",
        kind=Kind.NON_VACUITY,
        statement="A fork (two commit certificates for different values, in different rounds) "
        "is possible in a pool where some hub is not guilty.",
        formula=_fork_witness,
    )
)

register(
    Check(
        name=f"{PREFIX}.mutant.no_unjustified_precommit_evidence",
        kind=Kind.MUTANT,
        statement="Mutant: evidence is equivocation and amnesia only (a precommit without a "
        "polka is not evidence); a fork must then be possible with some common member of "
        "every two quorums unaccused (countermodel).",
        formula=lambda: z3.Implies(
            z3.And(*small_universes(MUTANT_BOUND)),
            vc_accountability({k: v for k, v in EVIDENCE.items() if k != "unjustified_precommit"}),
        ),
    )
)

register(
    Check(
        name=f"{PREFIX}.init_implies_inv",
        kind=Kind.OBLIGATION,
        statement="Init => Inv (NoFraming's invariant).",
        formula=lambda: z3.Implies(z3.And(*round_order(), init(NOW)), inv(NOW)),
    )
)
register(
    Check(
        name=f"{PREFIX}.init_implies_inv.nonvacuous",
        kind=Kind.NON_VACUITY,
        statement="Init is satisfiable with a Byzantine hub that has already signed "
        "conflicting votes.",
        formula=lambda: z3.And(
            *round_order(), init(NOW), z3.Exists([_node("Bz")], guilty(NOW, _node("Bz")))
        ),
    )
)

for _action in ACTIONS:
    register(
        Check(
            name=f"{PREFIX}.consecution.{_action}",
            kind=Kind.OBLIGATION,
            statement=f"Inv & {_action} => Inv' (NoFraming's invariant).",
            formula=lambda a=_action: z3.Implies(  # type: ignore[misc]
                z3.And(*round_order(), inv(NOW), *SOUND.action(a)), inv(NEXT)
            ),
        )
    )
    register(
        Check(
            name=f"{PREFIX}.consecution.{_action}.nonvacuous",
            kind=Kind.NON_VACUITY,
            statement=f"{_action} is enabled in some state satisfying Inv (with a Byzantine hub).",
            formula=lambda a=_action: z3.And(  # type: ignore[misc]
                *round_order(), inv(NOW), *SOUND.action(a), _byzantine_exists()
            ),
        )
    )

register(
    Check(
        name=f"{PREFIX}.no_framing",
        kind=Kind.OBLIGATION,
        statement="Inv => NoFraming: no honest hub is guilty (equivocation, amnesia or an "
        "unjustified precommit), whatever the Byzantine hubs signed.",
        formula=lambda: z3.Implies(z3.And(*round_order(), inv(NOW)), no_framing(NOW)),
    )
)


def _lawful_unlock_witness() -> z3.BoolRef:
    n, b = _node("Hon"), _node("Byzg")
    r1, r2 = _round("Ru1w"), _round("Ru2w")
    v, w = _value("Vuw"), _value("Wuw")
    return z3.And(
        *round_order(),
        inv(NOW),
        honest(n),
        NOW.precommitted(n, r1, v),
        lt(r1, r2),
        NOW.prevoted(n, r2, w),
        v != w,
        z3.Not(honest(b)),
        guilty(NOW, b),
    )


register(
    Check(
        name=f"{PREFIX}.no_framing.nonvacuous",
        kind=Kind.NON_VACUITY,
        statement="Inv allows an honest hub to unlock lawfully (precommit v, later prevote "
        "w != v) while a Byzantine hub is guilty: NoFraming is not vacuous and the evidence "
        "predicates are not empty.",
        formula=_lawful_unlock_witness,
    )
)

#: mutation -> (what it must break, its builder).
MUTANT_TARGETS: dict[str, tuple[str, Callable[[AccountableModel], z3.BoolRef]]] = {
    "wrong_unlock_rule": (
        "Inv & prevote_pol => NoFraming'",
        lambda m: z3.Implies(
            z3.And(*round_order(), inv(NOW), *m.action("prevote_pol")), no_framing(NEXT)
        ),
    ),
    "precommit_on_honest_prevotes": (
        "Inv & precommit => NoFraming'",
        lambda m: z3.Implies(
            z3.And(*round_order(), inv(NOW), *m.action("precommit")), no_framing(NEXT)
        ),
    ),
}

for _mutation, (_target, _builder) in MUTANT_TARGETS.items():
    register(
        Check(
            name=f"{PREFIX}.mutant.{_mutation}",
            kind=Kind.MUTANT,
            statement=f"Mutant: {MUTATIONS[_mutation]}; must break '{_target}' (an honest hub "
            "framed) with a countermodel.",
            formula=lambda m=_mutation, b=_builder: z3.Implies(  # type: ignore[misc]
                z3.And(*small_universes(MUTANT_BOUND)), b(AccountableModel(m))
            ),
        )
    )

register(
    Check(
        name=f"{PREFIX}.mutant.strict_unlock_window",
        kind=Kind.MUTANT,
        statement="Mutant: amnesia ignores a polka in the lock round itself (window "
        "r1 < vr < r2); must break 'Inv => NoFraming' (an honest hub that unlocked on a polka "
        "of its lock round, as l. 28 allows, is framed) with a countermodel.",
        formula=lambda: z3.Implies(
            z3.And(*small_universes(MUTANT_BOUND), *round_order(), inv(NOW)),
            no_framing(NOW, {**EVIDENCE, "amnesia": _amnesia(strict_window=True)}),
        ),
    )
)
