"""SDBC Accountability and NoFraming: what the proofs rest on.  Every
invariant conjunct is needed, the Accountability glue needs its least-element
instances, the mutants' countermodels frame an honest hub."""

from __future__ import annotations

import pytest
import z3
from vigilnet.proofs import sdbc_accountability as acc
from vigilnet.proofs.sdbc import NEXT, NOW, round_order


def _check(formula: z3.BoolRef, timeout_ms: int = 30_000) -> z3.CheckSatResult:
    """``unsat`` when ``formula`` is valid."""
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(z3.Not(formula))
    return solver.check()


def _some_vc_fails(invariant: dict[str, object]) -> bool:
    def inv(s: object) -> z3.BoolRef:
        return z3.And(*(conjunct(s) for conjunct in invariant.values()))  # type: ignore[operator]

    conditions = [
        z3.Implies(z3.And(*round_order(), inv(NOW), *acc.SOUND.action(a)), inv(NEXT))
        for a in acc.ACTIONS
    ]
    conditions.append(z3.Implies(z3.And(*round_order(), inv(NOW)), acc.no_framing(NOW)))
    return any(_check(c) == z3.sat for c in conditions)


@pytest.mark.parametrize("dropped", list(acc.NO_FRAMING))
def test_every_no_framing_conjunct_is_needed(dropped: str) -> None:
    weaker = {k: v for k, v in acc.NO_FRAMING.items() if k != dropped}
    assert _some_vc_fails(weaker)


def test_accountability_glue_needs_the_least_element_instances() -> None:
    hypotheses, conclusion = acc._glue()
    assert _check(z3.Implies(z3.And(*hypotheses), conclusion)) == z3.unsat
    # the first hypothesis of each side is its least-element instance
    side = len(acc._glue_side(NOW, "1", "2"))
    first_side = len(hypotheses) - 2 * side
    for index in (first_side, first_side + side):
        weaker = hypotheses[:index] + hypotheses[index + 1 :]
        assert _check(z3.Implies(z3.And(*weaker), conclusion)) == z3.sat


def test_without_unjustified_precommit_evidence_a_fork_escapes_any_universe() -> None:
    """The mutant's countermodel, searched without the universe bound."""
    evidence = {k: v for k, v in acc.EVIDENCE.items() if k != "unjustified_precommit"}
    assert _check(acc.vc_accountability(evidence)) == z3.sat


@pytest.mark.parametrize(
    ("mutation", "action", "kind"),
    [
        ("wrong_unlock_rule", "prevote_pol", "amnesia"),
        ("precommit_on_honest_prevotes", "precommit", "unjustified_precommit"),
    ],
)
def test_mutant_frames_an_honest_hub_with_the_expected_evidence(
    mutation: str, action: str, kind: str
) -> None:
    """The mutant's step makes an honest hub guilty of exactly the kind of
    evidence its broken rule produces; the sound step never does."""
    only = {kind: acc.EVIDENCE[kind]}

    def step_keeps_no_framing(model: acc.AccountableModel) -> z3.BoolRef:
        return z3.Implies(
            z3.And(*round_order(), acc.inv(NOW), *model.action(action)),
            acc.no_framing(NEXT, only),
        )

    assert _check(step_keeps_no_framing(acc.AccountableModel(mutation))) == z3.sat
    assert _check(step_keeps_no_framing(acc.SOUND)) == z3.unsat


def test_prevote_without_the_lock_check_frames_an_honest_hub() -> None:
    """l. 22 without the lock: the honest hub prevotes against its lock with
    no polka to show (amnesia)."""
    model = acc.SOUND
    n, r, v = acc._node("n"), acc._round("r"), acc._value("v")
    without_lock = model._prevote_common(n, r, v)
    claim = z3.Implies(z3.And(*round_order(), acc.inv(NOW), *without_lock), acc.no_framing(NEXT))
    assert _check(claim) == z3.sat
    assert (
        _check(
            z3.Implies(z3.And(*round_order(), acc.inv(NOW), *model.prevote()), acc.no_framing(NEXT))
        )
        == z3.unsat
    )


def test_unknown_mutation_is_rejected() -> None:
    with pytest.raises(ValueError):
        acc.AccountableModel("no_such_mutation")
