"""The SSCR CRDT proofs: what they rest on and that their replays bind them
to the real ``vigilnet.protocols.sscr.merge``."""

from __future__ import annotations

import pytest
import z3
from vigilnet.proofs import sscr
from vigilnet.proofs._obligation import Status, all_checks, run_check, select

from vigilnet.errors import InvariantViolation
from vigilnet.evidence import EvidenceStats
from vigilnet.protocols.sscr import EvidenceState, SourceEntry, merge

CHECKS = {c.name: c for c in select(all_checks(), ["sscr"])}


def _valid(formula: z3.BoolRef) -> bool:
    solver = z3.Solver()
    solver.add(z3.Not(formula))
    return solver.check() == z3.unsat


def test_min_is_a_lattice_too_so_latest_wins_is_needed() -> None:
    """Keeping the smaller entry is commutative, associative and idempotent:
    the lattice laws alone would not catch it; latest_wins does."""
    smaller = sscr.Merge("min_instead_of_max")
    for name in ("commutative", "associative", "idempotent", "no_double_count"):
        assert _valid(sscr.law(name, smaller)), name
    assert not _valid(sscr.law("latest_wins", smaller))


def test_adding_statistics_is_commutative_and_associative_but_not_idempotent() -> None:
    added = sscr.Merge("add_instead_of_max")
    assert _valid(sscr.law("commutative", added))
    assert _valid(sscr.law("associative", added))
    assert not _valid(sscr.law("idempotent", added))
    assert not _valid(sscr.law("no_double_count", added))


def test_delta_needs_sequence_numbers_of_at_least_one() -> None:
    """Without well-formedness an entry (0, 0, 0) equals the missing-key
    default of the digest and is never sent: the hypothesis is needed."""
    s, p = z3.Array("s", sscr.Key, sscr.Entry), z3.Array("p", sscr.Key, sscr.Entry)
    claim = z3.ForAll(
        [k := z3.Const("k", sscr.Key)],
        sscr.MERGE(p, sscr.delta_of(s, p))[k] == sscr.MERGE(p, s)[k],
    )
    assert not _valid(claim)
    assert _valid(z3.Implies(z3.And(sscr.well_formed(s), sscr.well_formed(p)), claim))


def test_replay_catches_a_z3_join_that_differs_from_the_python_merge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If the Z3 definition broke ties on llr_sum before count (still a total
    order, so every law is still proved), the witness replay must disagree
    with the real merge."""

    def llr_first(x: z3.DatatypeRef, y: z3.DatatypeRef) -> z3.DatatypeRef:
        e = sscr.Entry
        sx, sy = e.sequence(x), e.sequence(y)
        cx, cy, lx, ly = e.count(x), e.count(y), e.llr_sum(x), e.llr_sum(y)
        wins = z3.Or(sx > sy, z3.And(sx == sy, z3.Or(lx > ly, z3.And(lx == ly, cx >= cy))))
        return z3.If(
            z3.Not(sscr.present(x)), y, z3.If(z3.Not(sscr.present(y)), x, z3.If(wins, x, y))
        )

    monkeypatch.setitem(sscr.JOINS, "max", llr_first)
    assert run_check(CHECKS["sscr.merge.commutative"]).status is Status.PROVED
    a, b = z3.Array("a", sscr.Key, sscr.Entry), z3.Array("b", sscr.Key, sscr.Entry)
    k = z3.Const("k_equivocated", sscr.Key)
    witness = z3.And(
        *sscr._interesting(),
        # an equivocation on which the two tie rules disagree
        sscr.Entry.count(a[k]) > sscr.Entry.count(b[k]),
        sscr.Entry.llr_sum(a[k]) < sscr.Entry.llr_sum(b[k]),
    )
    solver = z3.Solver()
    solver.add(witness)
    assert solver.check() == z3.sat
    with pytest.raises(InvariantViolation, match="differs from the Python implementation"):
        sscr._replay_laws(solver.model())


def test_mutant_countermodels_are_states_the_real_merge_handles() -> None:
    for name in (
        "sscr.merge.mutant.add_instead_of_max",
        "sscr.merge.mutant.sequence_only_left_wins",
        "sscr.merge.mutant.min_instead_of_max",
        "sscr.delta.mutant.sequence_only",
    ):
        result = run_check(CHECKS[name])
        assert result.status is Status.REFUTED, (name, result.detail)
        assert "replayed against the Python implementation" in result.detail


def test_equivocation_tie_rule_matches_the_python_merge() -> None:
    """The concrete case the tie rule is for: same sequence, different
    statistics; the larger (count, llr_sum) wins on both sides."""
    low = SourceEntry(sequence=3, stats=EvidenceStats(count=2, llr_sum=9))
    high = SourceEntry(sequence=3, stats=EvidenceStats(count=3, llr_sum=-9))
    a = EvidenceState.of({("agent", "source0"): low})
    b = EvidenceState.of({("agent", "source0"): high})
    x, y = z3.Const("x", sscr.Entry), z3.Const("y", sscr.Entry)
    solver = z3.Solver()
    solver.add(x == sscr.Entry.entry(3, 2, 9), y == sscr.Entry.entry(3, 3, -9))
    join = sscr.JOINS["max"]
    assert solver.check() == z3.sat
    model = solver.model()
    assert z3.is_true(model.eval(join(x, y) == y))
    assert z3.is_true(model.eval(join(y, x) == y))
    assert merge(a, b) == merge(b, a) == b


@pytest.mark.parametrize("u", [1, 3])
def test_final_never_flips_needs_the_whole_consistency_bound(u: int) -> None:
    """A margin one below K * u lets a final verdict flip: the bound of
    _consistency.py is exactly what the argument needs."""
    hypotheses, claim = sscr._never_flips(u)
    c = sscr._flip_constants(u)
    assert _valid(z3.Implies(z3.And(*hypotheses), claim))
    weaker = [h for h in hypotheses if not z3.eq(h, c["margin"] >= u * c["K"])]
    assert len(weaker) == len(hypotheses) - 1
    assert not _valid(z3.Implies(z3.And(*weaker, c["margin"] == u * c["K"] - 1), claim))


def test_final_never_flips_needs_later_entries_to_extend_held_ones() -> None:
    hypotheses, claim = sscr._never_flips(2)
    extends = sscr._extends(sscr._flip_constants(2), 2)
    rest = [h for h in hypotheses if not any(z3.eq(h, e) for e in extends)]
    assert len(rest) == len(hypotheses) - len(extends)
    assert not _valid(z3.Implies(z3.And(*rest), claim))
