"""The SSCR evidence CRDT (``vigilnet.protocols.sscr.merge``) is a join-semilattice.

Theory of operation
-------------------

A replica's evidence state maps each ``(agent, source)`` key to nothing or to
one entry ``(sequence, count, llr_sum)`` (a :class:`SourceEntry` and its
:class:`EvidenceStats`).  Here a state is a Z3 array from an uninterpreted
sort ``Key`` (a key is an ``(agent, source)`` pair; nothing is assumed about
how many there are) to the datatype ``Entry = absent | entry(sequence, count,
llr_sum)``.  Two states are equal when they are equal as arrays, which is the
Python equality of :class:`EvidenceState` (its entries are kept sorted by key,
one per key, so equal maps give equal tuples).

The definitions mirror ``vigilnet/protocols/sscr/_crdt.py`` line by line:

* the order (rule SSCR-CRDT-1, :func:`entry_key`): entries compare
  lexicographically on ``(sequence, count, llr_sum)``; this is the tie rule
  for equal sequence numbers (an equivocating source): the larger statistics
  win;
* the join of two entries of one key (rule SSCR-CRDT-2): the side that has an
  entry if only one has; otherwise ``left if entry_key(left) >=
  entry_key(right) else right``;
* :func:`merge` applies the join at every key (a Z3 lambda), so the result
  has exactly the keys of both sides;
* :func:`delta` (rule SSCR-CRDT-5) keeps the entries whose key the peer's
  digest lacks or holds with a smaller ``entry_key``, a missing key reading
  as ``(0, 0, 0)`` exactly as ``peer_digest.get(key, (0, 0, 0))`` does.

Obligations: ``merge`` is commutative, associative and idempotent for *any*
integer entries (no well-formedness needed), so replicas that receive the
same entries in any order, any grouping and any number of times converge
(``Convergence``); every merged entry is one of the inputs' entries, never a
combination (``NoDoubleCount`` at the CRDT level); the merge keeps, per key,
an entry at least as large as each input's (latest wins: evidence is never
lost or rolled back); and for well-formed states (``sequence >= 1``,
``0 <= count <= MAX_EVIDENCE_COUNT``, what :class:`SourceEntry` and
:class:`EvidenceStats` validate) merging the delta against a peer's digest
gives the peer exactly what merging the whole state would.

Witnesses and countermodels are **replayed**: the model's states are rebuilt
as real :class:`EvidenceState` objects (one ``(agent, source)`` per element of
the ``Key`` universe), run through the real ``merge``/``delta``/``digest``,
and compared with what Z3 computed; a disagreement is an error.  A mutant's
countermodel must show the law failing for the mutant in Z3 *and* holding for
the real merge on the same states.

``FinalNeverFlips`` (derivation of ``_consistency.py``): if every remote
source's entry after heal extends the held one by at most ``M = ceil(rate *
d)`` clamped terms, a verdict :func:`judge` calls final with the margin
:func:`consistency_bound` is the verdict on all the evidence (unrolled for
1 to :data:`MAX_REMOTE_SOURCES` remote sources); and a mutant shows that
the node's per-entry checks alone do not give that premise.

Mutants: adding statistics instead of keeping the larger entry (idempotence
fails: the state merged with itself counts everything twice); comparing
sequence numbers only, the left side winning ties (commutativity fails on an
equivocation); keeping the *smaller* entry (still commutative, associative
and idempotent, so the lattice laws alone do not pin the rule down: latest
wins fails); a delta that compares sequence numbers only (a peer holding the
losing copy of an equivocation is never sent the winning one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import z3

from vigilnet.errors import InvariantViolation, ensure
from vigilnet.evidence import EvidenceStats, Verdict
from vigilnet.fixedpoint import MAX_EVIDENCE_COUNT
from vigilnet.protocols.sscr import (
    EvidenceState,
    SourceEntry,
    consistency_bound,
    delta,
    digest,
    entry_key,
    equivocations,
    judge,
    max_unseen_terms,
    merge,
)

from ._obligation import Check, Kind, implication, register

__all__ = [
    "JOINS",
    "LAWS",
    "Entry",
    "Key",
    "Merge",
    "broken_at",
    "decode_state",
    "delta_of",
    "law",
    "well_formed",
]

PREFIX = "sscr"

#: An ``(agent, source)`` pair.
Key = z3.DeclareSort("Key")

_entry = z3.Datatype("Entry")
_entry.declare("absent")
_entry.declare(
    "entry", ("sequence", z3.IntSort()), ("count", z3.IntSort()), ("llr_sum", z3.IntSort())
)
Entry = _entry.create()
StateSort = z3.ArraySort(Key, Entry)

Join = Callable[[z3.DatatypeRef, z3.DatatypeRef], z3.DatatypeRef]


def _state(name: str) -> z3.ArrayRef:
    return z3.Array(name, Key, Entry)


def _key(name: str) -> z3.ExprRef:
    return z3.Const(name, Key)


def present(x: z3.DatatypeRef) -> z3.BoolRef:
    return Entry.is_entry(x)


def key_at_least(x: z3.DatatypeRef, y: z3.DatatypeRef) -> z3.BoolRef:
    """``entry_key(x) >= entry_key(y)``: lexicographic on ``(sequence, count, llr_sum)``."""
    sx, cx, lx = Entry.sequence(x), Entry.count(x), Entry.llr_sum(x)
    sy, cy, ly = Entry.sequence(y), Entry.count(y), Entry.llr_sum(y)
    return z3.Or(sx > sy, z3.And(sx == sy, z3.Or(cx > cy, z3.And(cx == cy, lx >= ly))))


def _one_side_or(rule: Join) -> Join:
    """A key on one side only keeps that side's entry; on both, ``rule``."""

    def join(x: z3.DatatypeRef, y: z3.DatatypeRef) -> z3.DatatypeRef:
        return z3.If(z3.Not(present(x)), y, z3.If(z3.Not(present(y)), x, rule(x, y)))

    return join


def _larger(x: z3.DatatypeRef, y: z3.DatatypeRef) -> z3.DatatypeRef:
    # _crdt.merge: ``ea if entry_key(ea) >= entry_key(eb) else eb``
    return z3.If(key_at_least(x, y), x, y)


def _added(x: z3.DatatypeRef, y: z3.DatatypeRef) -> z3.DatatypeRef:
    sx, sy = Entry.sequence(x), Entry.sequence(y)
    return Entry.entry(
        z3.If(sx >= sy, sx, sy),
        Entry.count(x) + Entry.count(y),
        Entry.llr_sum(x) + Entry.llr_sum(y),
    )


def _sequence_only_left_wins(x: z3.DatatypeRef, y: z3.DatatypeRef) -> z3.DatatypeRef:
    return z3.If(Entry.sequence(x) >= Entry.sequence(y), x, y)


def _smaller(x: z3.DatatypeRef, y: z3.DatatypeRef) -> z3.DatatypeRef:
    return z3.If(key_at_least(x, y), y, x)


#: The join of two entries of one key: the real rule and the mutants.
JOINS: dict[str, Join] = {
    "max": _one_side_or(_larger),
    "add_instead_of_max": _one_side_or(_added),
    "sequence_only_left_wins": _one_side_or(_sequence_only_left_wins),
    "min_instead_of_max": _one_side_or(_smaller),
}


@dataclass(frozen=True, slots=True)
class Merge:
    """``merge`` with one of :data:`JOINS` applied at every key."""

    join: str = "max"

    def __call__(self, a: z3.ArrayRef, b: z3.ArrayRef) -> z3.ArrayRef:
        k = _key("k")
        return z3.Lambda([k], JOINS[self.join](a[k], b[k]))


MERGE = Merge()


def digest_key(peer: z3.ArrayRef, k: z3.ExprRef) -> z3.DatatypeRef:
    """``peer_digest.get(key, (0, 0, 0))`` as an entry."""
    return z3.If(present(peer[k]), peer[k], Entry.entry(0, 0, 0))


def delta_of(state: z3.ArrayRef, peer: z3.ArrayRef, *, sequence_only: bool = False) -> z3.ArrayRef:
    """``delta(state, digest(peer))``: the entries of ``state`` the peer lacks."""
    k = _key("k")
    mine, theirs = state[k], digest_key(peer, k)
    if sequence_only:
        newer = Entry.sequence(theirs) < Entry.sequence(mine)
    else:
        newer = z3.Not(key_at_least(theirs, mine))
    return z3.Lambda([k], z3.If(z3.And(present(mine), newer), mine, Entry.absent))


def well_formed(s: z3.ArrayRef) -> z3.BoolRef:
    """What :class:`SourceEntry` and :class:`EvidenceStats` validate."""
    k = _key("kw")
    e = s[k]
    return z3.ForAll(
        [k],
        z3.Implies(
            present(e),
            z3.And(
                Entry.sequence(e) >= 1,
                Entry.count(e) >= 0,
                Entry.count(e) <= MAX_EVIDENCE_COUNT,
            ),
        ),
    )


# --- replay ---------------------------------------------------------------------


def _key_universe(model: z3.ModelRef) -> list[z3.ExprRef]:
    universe = model.get_universe(Key)
    return list(universe) if universe is not None else []


def _names(index: int) -> tuple[str, str]:
    return ("agent", f"source{index}")


def _decode_entry(value: z3.ExprRef) -> SourceEntry | None:
    if z3.is_true(z3.simplify(Entry.is_absent(value))):
        return None
    sequence, count, llr_sum = (
        z3.simplify(accessor(value)).as_long()
        for accessor in (Entry.sequence, Entry.count, Entry.llr_sum)
    )
    return SourceEntry(sequence=sequence, stats=EvidenceStats(count=count, llr_sum=llr_sum))


def decode_state(model: z3.ModelRef, state: z3.ArrayRef) -> dict[tuple[str, str], SourceEntry]:
    """The state ``state`` (any array term) in ``model``, one ``(agent, source)``
    per element of the ``Key`` universe."""
    decoded = {}
    for index, k in enumerate(_key_universe(model)):
        entry = _decode_entry(model.eval(state[k], model_completion=True))
        if entry is not None:
            decoded[_names(index)] = entry
    return decoded


def _real(model: z3.ModelRef, name: str) -> EvidenceState:
    return EvidenceState.of(decode_state(model, _state(name)))


def _agrees(model: z3.ModelRef, term: z3.ArrayRef, real: EvidenceState, what: str) -> None:
    ensure(
        EvidenceState.of(decode_state(model, term)) == real,
        f"Z3's {what} differs from the Python implementation's: "
        f"{decode_state(model, term)!r} != {real.as_dict()!r}",
        InvariantViolation,
    )


def _replay_laws(model: z3.ModelRef) -> None:
    """The Z3 merges of the model's states equal the real merges, and the real
    merge satisfies the three laws on them."""
    a, b, c = (_real(model, n) for n in "abc")
    _agrees(model, MERGE(_state("a"), _state("b")), merge(a, b), "merge(a, b)")
    _agrees(model, MERGE(_state("b"), _state("c")), merge(b, c), "merge(b, c)")
    ensure(merge(a, b) == merge(b, a), "merge not commutative", InvariantViolation)
    ensure(
        merge(a, merge(b, c)) == merge(merge(a, b), c), "merge not associative", InvariantViolation
    )
    ensure(merge(a, a) == a, "merge not idempotent", InvariantViolation)


def _replay_mutant(join: str, name: str) -> Callable[[z3.ModelRef], None]:
    """The countermodel breaks law ``name`` for the mutant join (in Z3) while the real
    merge keeps it on the same states."""

    def replay(model: z3.ModelRef) -> None:
        ensure(
            bool(broken_at(model, name, Merge(join))),
            f"the countermodel does not break {name} for {join}",
            InvariantViolation,
        )
        _replay_laws(model)
        a, b = _real(model, "a"), _real(model, "b")
        ensure(
            EvidenceState.of(decode_state(model, MERGE(_state("a"), _state("b")))) == merge(a, b),
            "Z3's merge(a, b) differs from the Python implementation's",
            InvariantViolation,
        )
        for key, chosen in merge(a, b).entries:
            inputs = [e for e in (a.as_dict().get(key), b.as_dict().get(key)) if e is not None]
            ensure(chosen in inputs, "real merge combined entries", InvariantViolation)
            ensure(
                all(entry_key(chosen) >= entry_key(e) for e in inputs),
                "real merge lost the latest entry",
                InvariantViolation,
            )

    return replay


def _replay_delta(model: z3.ModelRef) -> None:
    """Z3's delta equals the real ``delta(state, digest(peer))`` and the real
    merges agree."""
    mine, peer = _real(model, "s"), _real(model, "p")
    sent = delta(mine, digest(peer))
    _agrees(model, delta_of(_state("s"), _state("p")), sent, "delta(s, digest(p))")
    ensure(merge(peer, sent) == merge(peer, mine), "real delta is not enough", InvariantViolation)


# --- laws -------------------------------------------------------------------------
#
# Each law is stated at one key ``k`` and quantified over every key (array
# equality is the same statement); the replay evaluates it key by key.

Pointwise = Callable[[Merge, z3.ExprRef], z3.BoolRef]


def _commutative(m: Merge, k: z3.ExprRef) -> z3.BoolRef:
    a, b = _state("a"), _state("b")
    return m(a, b)[k] == m(b, a)[k]


def _associative(m: Merge, k: z3.ExprRef) -> z3.BoolRef:
    a, b, c = _state("a"), _state("b"), _state("c")
    return m(a, m(b, c))[k] == m(m(a, b), c)[k]


def _idempotent(m: Merge, k: z3.ExprRef) -> z3.BoolRef:
    a = _state("a")
    return m(a, a)[k] == a[k]


def _no_double_count(m: Merge, k: z3.ExprRef) -> z3.BoolRef:
    """The merged entry is one of the inputs' entries."""
    a, b = _state("a"), _state("b")
    merged = m(a, b)[k]
    return z3.Or(merged == a[k], merged == b[k])


def _latest_wins(m: Merge, k: z3.ExprRef) -> z3.BoolRef:
    """The merged entry is present if either input's is, and at least as large
    as each input's."""
    a, b = _state("a"), _state("b")
    merged = m(a, b)[k]

    def covers(x: z3.DatatypeRef) -> z3.BoolRef:
        return z3.Implies(present(x), z3.And(present(merged), key_at_least(merged, x)))

    return z3.And(covers(a[k]), covers(b[k]))


LAWS: dict[str, Pointwise] = {
    "commutative": _commutative,
    "associative": _associative,
    "idempotent": _idempotent,
    "no_double_count": _no_double_count,
    "latest_wins": _latest_wins,
}


def law(name: str, m: Merge) -> z3.BoolRef:
    """``LAWS[name]`` at every key."""
    k = _key("k_law")
    return z3.ForAll([k], LAWS[name](m, k))


def broken_at(model: z3.ModelRef, name: str, m: Merge) -> list[int]:
    """The indices of the keys of ``model`` where law ``name`` fails for ``m``."""
    return [
        index
        for index, k in enumerate(_key_universe(model))
        if z3.is_false(model.eval(LAWS[name](m, k), model_completion=True))
    ]


def _interesting() -> list[z3.BoolRef]:
    """A witness worth replaying: well-formed states; on one key both sides hold
    entries with the same sequence number and different statistics (an
    equivocation), on another a newer entry meets an older one, on a third only
    one side holds an entry."""
    a, b, c = _state("a"), _state("b"), _state("c")
    k1, k2, k3 = _key("k_equivocated"), _key("k_newer"), _key("k_one_side")
    return [
        well_formed(a),
        well_formed(b),
        well_formed(c),
        present(a[k1]),
        present(b[k1]),
        Entry.sequence(a[k1]) == Entry.sequence(b[k1]),
        a[k1] != b[k1],
        present(a[k2]),
        present(b[k2]),
        Entry.sequence(b[k2]) > Entry.sequence(a[k2]),
        Entry.count(b[k2]) > Entry.count(a[k2]),
        present(a[k3]),
        z3.Not(present(b[k3])),
        present(c[k3]),
        c[k3] != a[k3],
    ]


_STATEMENTS = {
    "commutative": "merge(a, b) == merge(b, a) for all states a, b of any integer entries "
    "(SSCR-CRDT-2 over the order of SSCR-CRDT-1).",
    "associative": "merge(a, merge(b, c)) == merge(merge(a, b), c) for all states a, b, c.",
    "idempotent": "merge(a, a) == a for every state a: receiving an entry again changes nothing.",
    "no_double_count": "At every key, merge(a, b) holds a's entry or b's entry, never a "
    "combination: statistics are never added across sequence numbers (NoDoubleCount).",
    "latest_wins": "At every key present on either side, merge(a, b) holds an entry whose "
    "entry_key is at least each input's: evidence is never lost or rolled back.",
}

for _law, _statement in _STATEMENTS.items():
    implication(
        f"{PREFIX}.merge.{_law}",
        _statement,
        lambda: [],
        lambda name=_law: law(name, MERGE),  # type: ignore[misc]
        witness=_interesting,
        replay_witness=_replay_laws,
    )


def _delta_hypotheses() -> list[z3.BoolRef]:
    return [well_formed(_state("s")), well_formed(_state("p"))]


def _delta_at(k: z3.ExprRef, *, sequence_only: bool = False) -> z3.BoolRef:
    s, p = _state("s"), _state("p")
    return MERGE(p, delta_of(s, p, sequence_only=sequence_only))[k] == MERGE(p, s)[k]


def _delta_claim(*, sequence_only: bool = False) -> z3.BoolRef:
    k = _key("k_delta")
    return z3.ForAll([k], _delta_at(k, sequence_only=sequence_only))


def _delta_witness() -> list[z3.BoolRef]:
    """The peer holds the losing copy of an equivocation, an older entry, and
    lacks a key; the state lacks a key the peer holds."""
    s, p = _state("s"), _state("p")
    k1, k2, k3, k4 = (_key(f"kd{i}") for i in range(1, 5))
    return [
        present(s[k1]),
        present(p[k1]),
        Entry.sequence(s[k1]) == Entry.sequence(p[k1]),
        z3.Not(key_at_least(p[k1], s[k1])),
        present(s[k2]),
        present(p[k2]),
        Entry.sequence(p[k2]) < Entry.sequence(s[k2]),
        present(s[k3]),
        z3.Not(present(p[k3])),
        z3.Not(present(s[k4])),
        present(p[k4]),
    ]


implication(
    f"{PREFIX}.delta.sufficient",
    "For well-formed states (sequence >= 1, 0 <= count <= MAX_EVIDENCE_COUNT), "
    "merge(p, delta(s, digest(p))) == merge(p, s): after a heal only the missing or newer "
    "entries need to travel (SSCR-CRDT-5).",
    _delta_hypotheses,
    _delta_claim,
    witness=_delta_witness,
    replay_witness=_replay_delta,
)


# --- mutants ------------------------------------------------------------------------

#: mutation -> (what it does, the law it must break).
MUTANTS: dict[str, tuple[str, str]] = {
    "add_instead_of_max": (
        "a key on both sides gets the sum of the two statistics (and the larger sequence "
        "number) instead of the larger entry",
        "idempotent",
    ),
    "sequence_only_left_wins": (
        "entries are compared by sequence number only and the left side wins ties",
        "commutative",
    ),
    "min_instead_of_max": (
        "the smaller entry is kept (this join is still commutative, associative and "
        "idempotent; only latest wins tells it apart)",
        "latest_wins",
    ),
}

for _mutation, (_what, _law) in MUTANTS.items():
    register(
        Check(
            name=f"{PREFIX}.merge.mutant.{_mutation}",
            kind=Kind.MUTANT,
            statement=f"Mutant: {_what}; must break '{_law}' with a countermodel of "
            "well-formed states (replayed: the real merge keeps the law on them).",
            formula=lambda m=_mutation, name=_law: z3.Implies(  # type: ignore[misc]
                z3.And(*(well_formed(_state(n)) for n in "abc")), law(name, Merge(m))
            ),
            replay=_replay_mutant(_mutation, _law),
        )
    )


def _replay_delta_mutant(model: z3.ModelRef) -> None:
    ensure(
        any(
            z3.is_false(model.eval(_delta_at(k, sequence_only=True), model_completion=True))
            for k in _key_universe(model)
        ),
        "the countermodel does not break the sequence-only delta",
        InvariantViolation,
    )
    _replay_delta(model)


register(
    Check(
        name=f"{PREFIX}.delta.mutant.sequence_only",
        kind=Kind.MUTANT,
        statement="Mutant: delta() compares sequence numbers only; must break "
        "'merge(p, delta(s, digest(p))) == merge(p, s)' (a peer holding the losing copy of an "
        "equivocation is never sent the winning one; replayed: the real delta converges).",
        formula=lambda: z3.Implies(z3.And(*_delta_hypotheses()), _delta_claim(sequence_only=True)),
        replay=_replay_delta_mutant,
    )
)


# --- FinalNeverFlips (derivation of _consistency.py) -------------------------------
#
# One agent.  A local source the replica sees in full contributes ``local``;
# each of ``u`` remote sources is held at an entry ``(count, llr_sum)`` and,
# behind the partition, has moved on to a later entry ``(count', llr_sum')``.
# ``L`` is the held log-odds, ``L*`` the log-odds on all the evidence.  The
# node's margin is ``consistency_bound(lambda_max, rate, d, u) = lambda_max *
# M * u`` with ``M = ceil(rate * d)``.  A verdict ``judge`` calls final must
# be the verdict on ``L*``.

#: Remote sources, unrolled: every count from 1 to this.
MAX_REMOTE_SOURCES = 16


def _flip_constants(u: int) -> dict[str, z3.ArithRef]:
    names = ["lambda_max", "M", "K", "margin", "upper", "lower", "local"]
    consts = {n: z3.Int(f"u{u}.{n}") for n in names}
    for s in range(u):
        for part in ("count", "llr", "count'", "llr'"):
            consts[f"{part}{s}"] = z3.Int(f"u{u}.{part}{s}")
    return consts


def _log_odds(c: dict[str, z3.ArithRef], u: int, *, after: bool) -> z3.ArithRef:
    mark = "'" if after else ""
    return c["local"] + z3.Sum(*(c[f"llr{mark}{s}"] for s in range(u)))


def _judged_final(c: dict[str, z3.ArithRef], u: int) -> tuple[z3.BoolRef, z3.BoolRef]:
    """``judge(L, upper, lower, margin)`` is final FLAGGED / final CLEARED."""
    held = _log_odds(c, u, after=False)
    return (
        z3.And(held >= c["upper"], held - c["margin"] >= c["upper"]),
        z3.And(held <= c["lower"], held + c["margin"] <= c["lower"]),
    )


def _entry_checks(c: dict[str, z3.ArithRef], u: int) -> list[z3.BoolRef]:
    """What the node checks of each entry on its own (rule SSCR-1):
    ``count >= 0`` and the clamp ``|llr_sum| <= count * lambda_max``.  A
    product of two unknowns: these facts only enter satisfiability queries
    (the witness and the mutant), where Z3 finds small models at once."""
    facts = []
    for s in range(u):
        for mark in ("", "'"):
            count, llr = c[f"count{mark}{s}"], c[f"llr{mark}{s}"]
            facts += [count >= 0, llr <= c["lambda_max"] * count, -llr <= c["lambda_max"] * count]
    return facts


def _extends(c: dict[str, z3.ArithRef], u: int) -> list[z3.BoolRef]:
    """Each later entry extends the held one by at most ``M`` new clamped
    terms: stated with ``K = lambda_max * M`` (``sscr.final_never_flips.per_source``
    proves ``|llr' - llr| <= lambda_max * (count' - count)`` and
    ``count' - count <= M`` give ``|llr' - llr| <= K``)."""
    facts = []
    for s in range(u):
        moved = c[f"llr'{s}"] - c[f"llr{s}"]
        facts += [moved <= c["K"], -moved <= c["K"]]
    return facts


def _flip_setting(c: dict[str, z3.ArithRef], u: int) -> list[z3.BoolRef]:
    return [
        c["lambda_max"] >= 1,
        c["M"] >= 1,
        c["lower"] < 0,
        c["upper"] > 0,
        c["margin"] >= u * c["K"],
    ]


def _never_flips(u: int) -> tuple[list[z3.BoolRef], z3.BoolRef]:
    c = _flip_constants(u)
    flagged, cleared = _judged_final(c, u)
    everything = _log_odds(c, u, after=True)
    return (
        [*_flip_setting(c, u), *_extends(c, u)],
        z3.And(
            z3.Implies(flagged, everything >= c["upper"]),
            z3.Implies(cleared, everything <= c["lower"]),
        ),
    )


def _per_source() -> tuple[list[z3.BoolRef], z3.BoolRef]:
    lam, m, count, count2, llr, llr2 = z3.Ints("lambda_max M count count' llr llr'")
    return (
        [
            lam >= 1,
            count2 >= count,
            count2 - count <= m,
            llr2 - llr <= lam * (count2 - count),
            llr - llr2 <= lam * (count2 - count),
        ],
        z3.And(llr2 - llr <= lam * m, llr - llr2 <= lam * m),
    )


implication(
    f"{PREFIX}.final_never_flips.per_source",
    "A later entry that extends the held one by count' - count <= M = ceil(rate * d) new terms, "
    "each clamped to lambda_max, moves llr_sum by at most K = lambda_max * M (derivation "
    "steps 1-2 of _consistency.py; nonlinear, decided by Z3).",
    lambda: _per_source()[0],
    lambda: _per_source()[1],
    witness=lambda: [z3.Int("count'") - z3.Int("count") == z3.Int("M"), z3.Int("M") >= 2],
)


def _replay_flip(model: z3.ModelRef, u: int, *, must_flip: bool) -> None:
    """Rebuild the scenario with the real objects: entries (which pass
    ``check_bound`` and the rate check at a late enough time), the held and
    the healed state (``merge``), ``agent_stats``, ``consistency_bound`` and
    ``judge``; the Z3 model's verdicts must be the real ones."""
    c = _flip_constants(u)

    def val(name: str) -> int:
        return int(model.eval(c[name], model_completion=True).as_long())

    lam, m = val("lambda_max"), val("M")
    upper, lower = val("upper"), val("lower")
    local = SourceEntry(sequence=1, stats=EvidenceStats(count=0, llr_sum=val("local")))
    held = {("agent", "local"): local}
    later = {}
    for s in range(u):
        held[("agent", f"remote{s}")] = SourceEntry(
            sequence=1, stats=EvidenceStats(count=val(f"count{s}"), llr_sum=val(f"llr{s}"))
        )
        later[("agent", f"remote{s}")] = SourceEntry(
            sequence=2, stats=EvidenceStats(count=val(f"count'{s}"), llr_sum=val(f"llr'{s}"))
        )
    before, behind = EvidenceState.of(held), EvidenceState.of(later)
    for key, entry in (*before.entries, *behind.entries):
        if key[1] != "local":
            entry.stats.check_bound(lam)
            at = entry.stats.count  # the rate check passes from this time on (rate >= 1)
            ensure(entry.stats.count <= max_unseen_terms(m, at + 1), "rate", InvariantViolation)
    ensure(not equivocations(before, behind), "not an equivocation", InvariantViolation)
    after = merge(before, behind)
    margin = consistency_bound(lam, m, 1, u)
    ensure(margin <= val("margin") or must_flip, "margin below the bound", InvariantViolation)
    verdict = judge(before.agent_stats("agent").llr_sum, upper=upper, lower=lower, margin=margin)
    healed = judge(after.agent_stats("agent").llr_sum, upper=upper, lower=lower, margin=margin)
    ensure(verdict.final, f"the held verdict is not final: {verdict}", InvariantViolation)
    flipped = healed.verdict is not verdict.verdict
    ensure(
        flipped == must_flip,
        f"final {verdict.verdict} became {healed.verdict} after heal (expected flip: {must_flip})",
        InvariantViolation,
    )
    ensure(verdict.verdict in (Verdict.FLAGGED, Verdict.CLEARED), "undecided", InvariantViolation)


register(
    Check(
        name=f"{PREFIX}.final_never_flips",
        kind=Kind.OBLIGATION,
        statement=f"FinalNeverFlips for every number of remote sources u = 1..{MAX_REMOTE_SOURCES}: "
        "if each remote source's entry after heal moves its llr_sum by at most "
        "K = lambda_max * M from the held one and the margin is at least "
        "consistency_bound = K * u, a verdict judge() calls final (FLAGGED or CLEARED) is the "
        "verdict on all the evidence.",
        formula=lambda: z3.And(
            *(
                z3.Implies(z3.And(*_never_flips(u)[0]), _never_flips(u)[1])
                for u in range(1, MAX_REMOTE_SOURCES + 1)
            )
        ),
    )
)

#: The scenario the non-vacuity witness and the mutant are replayed on.
_FLIP_SOURCES = 2


def _exact_scenario(c: dict[str, z3.ArithRef], u: int) -> list[z3.BoolRef]:
    """``K`` and the margin are exactly what the node computes, every entry
    passes the node's checks, and each later entry really extends the held
    one (so the witness is a run the node allows)."""
    facts = [
        *_flip_setting(c, u),
        *_entry_checks(c, u),
        c["K"] == c["lambda_max"] * c["M"],
        c["margin"] == u * c["K"],
        c["lambda_max"] <= 4,
        c["M"] <= 3,
    ]
    return facts


def _witness() -> z3.BoolRef:
    u = _FLIP_SOURCES
    c = _flip_constants(u)
    extension = []
    for s in range(u):
        new_terms = c[f"count'{s}"] - c[f"count{s}"]
        moved = c[f"llr'{s}"] - c[f"llr{s}"]
        extension += [
            new_terms >= 1,
            new_terms <= c["M"],
            moved <= c["lambda_max"] * new_terms,
            -moved <= c["lambda_max"] * new_terms,
            moved < 0,  # the hidden evidence pushes against the verdict
        ]
    flagged, _ = _judged_final(c, u)
    return z3.And(*_exact_scenario(c, u), *extension, *_extends(c, u), flagged)


register(
    Check(
        name=f"{PREFIX}.final_never_flips.nonvacuous",
        kind=Kind.NON_VACUITY,
        statement=f"With {_FLIP_SOURCES} remote sources whose hidden evidence pushes against the "
        "verdict, a final FLAGGED verdict exists where every entry extends the held one "
        "(replayed: real entries pass check_bound and the rate check, merge, agent_stats, "
        "consistency_bound and judge agree, and the verdict does not flip).",
        formula=_witness,
        replay=lambda m: _replay_flip(m, _FLIP_SOURCES, must_flip=False),
    )
)


def _per_entry_checks_only() -> z3.BoolRef:
    """The claim with only what the node checks today: each entry on its own
    (clamp, count), no relation between a source's held entry and its
    later one."""
    u = 1
    c = _flip_constants(u)
    flagged, cleared = _judged_final(c, u)
    everything = _log_odds(c, u, after=True)
    return z3.Implies(
        z3.And(*_exact_scenario(c, u)),
        z3.And(
            z3.Implies(flagged, everything >= c["upper"]),
            z3.Implies(cleared, everything <= c["lower"]),
        ),
    )


register(
    Check(
        name=f"{PREFIX}.final_never_flips.mutant.per_entry_checks_only",
        kind=Kind.MUTANT,
        statement="Mutant (the node's current checks as the guarantee): every entry passes the "
        "clamp |llr_sum| <= count * lambda_max and the rate bound on its own, with no check "
        "that a source's later entry extends the one held; a final verdict must then flip "
        "after heal (countermodel: a Byzantine source publishes a higher sequence number "
        "whose statistics rewrite its history; replayed through the real check_bound, merge, "
        "equivocations (which does not see it), consistency_bound and judge).",
        formula=_per_entry_checks_only,
        replay=lambda m: _replay_flip(m, 1, must_flip=True),
    )
)
