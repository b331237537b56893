"""Every proof obligation is proved, every non-vacuity check satisfiable, every
mutant refuted; and the runner reports a wrong obligation as a failure."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import z3
from click.testing import CliRunner
from vigilnet.proofs import cli as prove_cli
from vigilnet.proofs import sdbc
from vigilnet.proofs._obligation import (
    PASSING,
    PROOF_MODULES,
    Check,
    Kind,
    Status,
    all_checks,
    run_check,
    select,
)

from vigilnet.cli import main
from vigilnet.errors import InvariantViolation

CHECKS = all_checks()


@pytest.mark.parametrize("check", CHECKS, ids=[c.name for c in CHECKS])
def test_check_passes(check: Check) -> None:
    result = run_check(check)
    assert result.status is PASSING[check.kind], (result.status, result.detail, result.model)
    if check.kind in (Kind.NON_VACUITY, Kind.MUTANT):
        assert result.model is not None


def test_every_proof_module_has_obligations_nonvacuity_and_mutants() -> None:
    modules = {c.name.split(".")[0] for c in CHECKS}
    assert modules == set(PROOF_MODULES)
    for module in modules:
        kinds = {c.kind for c in CHECKS if c.name.split(".")[0] == module}
        assert kinds == set(Kind), module


def test_names_are_unique() -> None:
    assert len({c.name for c in CHECKS}) == len(CHECKS)


def _x() -> z3.ArithRef:
    return z3.Int("x")


def test_wrong_obligation_is_reported_failed_with_countermodel() -> None:
    wrong = Check(
        name="wrong.obligation",
        kind=Kind.OBLIGATION,
        statement="x != 3",
        formula=lambda: _x() != 3,
    )
    result = run_check(wrong)
    assert result.status is Status.FAILED
    assert not result.ok
    assert result.model is not None and result.model["x"] == "3"


def test_contradictory_hypotheses_are_reported_vacuous() -> None:
    vacuous = Check(
        name="wrong.nonvacuous",
        kind=Kind.NON_VACUITY,
        statement="x > x",
        formula=lambda: _x() > _x(),
    )
    result = run_check(vacuous)
    assert result.status is Status.VACUOUS and not result.ok


def test_true_mutant_is_reported_survived() -> None:
    harmless = Check(
        name="wrong.mutant",
        kind=Kind.MUTANT,
        statement="x <= x + 1",
        formula=lambda: _x() <= _x() + 1,
    )
    result = run_check(harmless)
    assert result.status is Status.SURVIVED and not result.ok


def test_replay_mismatch_is_an_error() -> None:
    def replay(model: z3.ModelRef) -> None:
        raise InvariantViolation("python disagrees")

    check = Check(
        name="wrong.replay",
        kind=Kind.NON_VACUITY,
        statement="x == 3",
        formula=lambda: _x() == 3,
        replay=replay,
    )
    result = run_check(check)
    assert result.status is Status.ERROR and "python disagrees" in result.detail


def test_select_by_prefix_and_glob() -> None:
    assert {c.name for c in select(CHECKS, ["sdbc.consecution"])} == {
        c.name for c in CHECKS if c.name.startswith("sdbc.consecution.")
    }
    mutants = select(CHECKS, ["*.mutant.*"])
    assert mutants and all(".mutant." in c.name for c in mutants)
    assert select(CHECKS, []) == CHECKS


def test_crash_only_quorum_axiom_breaks_agreement_with_countermodel() -> None:
    """Weakening "two quorums share an honest member" to "share a member"
    (crash faults) makes Inv => Agreement fail, without any universe bound."""
    solver = z3.Solver()
    solver.add(z3.Not(sdbc.vc_agreement(sdbc.SdbcModel("crash_only_intersection"))))
    assert solver.check() == z3.sat
    model = solver.model()
    nodes = model.get_universe(sdbc.Node)
    assert any(z3.is_false(model.eval(sdbc.honest(n), model_completion=True)) for n in nodes)
    sound = z3.Solver()
    sound.add(z3.Not(sdbc.vc_agreement(sdbc.SdbcModel())))
    assert sound.check() == z3.unsat


def test_unknown_mutation_is_rejected() -> None:
    with pytest.raises(ValueError):
        sdbc.SdbcModel("no_such_mutation")


def test_cli_json_reports_every_check() -> None:
    outcome = CliRunner().invoke(main, ["prove", "thresholds", "merkle_sum", "--json"])
    assert outcome.exit_code == 0, outcome.output
    document = json.loads(outcome.output)
    assert document["summary"]["ok"] is True
    names = [r["name"] for r in document["results"]]
    assert names == [c.name for c in select(CHECKS, ["thresholds", "merkle_sum"])]
    for entry in document["results"]:
        assert entry["ok"] is True
        assert entry["seconds"] >= 0
        assert entry["status"] in {"proved", "sat", "refuted"}
    refuted = [r for r in document["results"] if r["kind"] == "mutant"]
    assert refuted and all(r["model"] for r in refuted)


def test_cli_fails_when_an_obligation_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = Check(
        name="wrong.obligation",
        kind=Kind.OBLIGATION,
        statement="x + 1 <= x",
        formula=lambda: _x() + 1 <= _x(),
    )
    monkeypatch.setattr(prove_cli, "all_checks", lambda: [*CHECKS[:3], wrong])
    outcome = CliRunner().invoke(main, ["prove", "--json"])
    assert outcome.exit_code == 1
    document = json.loads(outcome.output)
    assert document["summary"]["ok"] is False
    assert document["summary"]["failing"] == ["wrong.obligation"]
    plain = CliRunner().invoke(main, ["prove"])
    assert plain.exit_code == 1 and "FAILED" in plain.output


def test_cli_rejects_a_name_that_selects_nothing() -> None:
    outcome = CliRunner().invoke(main, ["prove", "no.such.check"])
    assert outcome.exit_code == 2


def test_docs_list_every_check() -> None:
    """docs/proofs.md ends with the table of every check; keep it equal to the registry."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "proofs.md").read_text()
    table = docs[docs.index("## Every check") :]
    listed = re.findall(r"^\| `([^`]+)` \|", table, flags=re.MULTILINE)
    assert listed == [c.name for c in CHECKS]
