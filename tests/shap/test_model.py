"""The SHAP model: pinned state counts, witnesses, every mutant killed on the
property it is meant to break, and the spec's cfg files in step with it."""

from __future__ import annotations

import re

import pytest
from vigilnet.models import shap
from vigilnet.models.shap import FAMILY, MUTANT_KILLS, PINNED_COUNTS

from tests.conftest import REPO_ROOT
from vigilnet.checker import Kind
from vigilnet.checker._run import check

#: Shortest counterexample per mutant (BFS) in the default configuration:
#: sum-only hashing needs Send, Receive and a Close committing a smaller
#: total; a child without its inclusion check confirms after Send and a
#: Close that never accepted it; the mean needs two honest 1s and the
#: Byzantine 2 sent and received, then Close (7); a missing gate
#: re-accepts an equivocator (ByzSend twice, Receive twice, Receive: 5);
#: fan-in needs all four children sent and received (8); striking an
#: unsigned body (in ``forger``) needs an honest Send, its Forge with another
#: body and the Receive of the forgery (3).
TRACE_LENGTHS = {
    "strike_unsigned_body": 3,
    "sum_only_node_hash": 3,
    "no_child_inclusion_check": 3,
    "mean_not_median": 7,
    "no_reputation_gate": 5,
    "no_fan_in_check": 8,
}


@pytest.mark.parametrize("config", sorted(PINNED_COUNTS))
def test_config_holds_with_pinned_count_and_every_witness(config: str) -> None:
    result = check(FAMILY.instantiate(config=config))
    assert result.complete
    assert result.distinct_states == PINNED_COUNTS[config]
    statuses = {p.name: p.status.value for p in result.properties}
    for prop in FAMILY.instantiate(config=config).properties:
        expected = "holds" if prop.kind is Kind.ALWAYS else "witnessed"
        assert statuses[prop.name] == expected, (config, prop.name)
    assert result.ok


def test_honest_count_by_hand() -> None:
    # 3 children: before Close each is unsent/sent/accepted; after it,
    # unsent (1) or sent x {accepted, not} x {checked, not} (4).
    assert PINNED_COUNTS["honest"] == 3**3 + 5**3


def test_every_always_property_has_a_witness_in_every_config() -> None:
    pairs = {
        "Integrity": "SomeCommitted",
        "Detectability": "SomeConfirmed",
        "BoundedInfluence": "SomeCombined",
        "FanInBound": "FanInReached",
        "ReputationGate": "GateExercised",
        "NoFraming": "StrikeExercised",
    }
    for config in PINNED_COUNTS:
        names = {p.name for p in FAMILY.instantiate(config=config).properties}
        for always, witness in pairs.items():
            assert always in names
            if always == "ReputationGate" and config in ("honest", "byzantine_aggregator"):
                continue  # no gated child exists there: FanInReached etc. cover non-vacuity
            if always == "NoFraming" and config != "forger":
                continue  # no forged or bad body exists there: nobody can be struck
            assert witness in names, (config, witness)


@pytest.mark.parametrize("mutant", sorted(MUTANT_KILLS))
def test_every_mutant_is_killed_on_its_property(mutant: str) -> None:
    result = check(FAMILY.instantiate(mutant=mutant))
    assert not result.ok
    violated = {p.name: p for p in result.properties if p.status.value == "violated"}
    assert MUTANT_KILLS[mutant] in violated, violated.keys()
    trace = violated[MUTANT_KILLS[mutant]].trace
    assert trace is not None
    assert len(trace) == TRACE_LENGTHS[mutant]


def test_mutants_are_exactly_the_five_of_the_issue_and_the_unsigned_body() -> None:
    assert set(FAMILY.mutants) == set(MUTANT_KILLS) == set(shap.MUTANTS)
    assert "strike_unsigned_body" in FAMILY.mutants


def test_the_unsigned_body_mutant_lives_in_the_forger_config_only() -> None:
    """Item 5 of issue 10 is invisible without a forger: the mutant passes
    every configuration without one (the abstraction hid the attack)."""
    assert FAMILY.config_name(mutant="strike_unsigned_body") == "forger"
    for config in ("attack", "byzantine_monitor"):
        result = check(FAMILY.instantiate(config=config, mutant="strike_unsigned_body"))
        assert result.ok and result.distinct_states == PINNED_COUNTS[config]


def test_forger_witnesses_show_the_refusal_and_a_real_strike() -> None:
    result = check(FAMILY.instantiate(config="forger"))
    statuses = {p.name: p.status.value for p in result.properties}
    assert statuses["NoFraming"] == "holds"
    assert statuses["ForgeryRefused"] == "witnessed"
    assert statuses["StrikeExercised"] == "witnessed"


def test_cfg_files_match_the_python_configs() -> None:
    spec = REPO_ROOT / "spec"
    files = {"attack": spec / "SHAP.cfg"} | {
        name: spec / f"SHAP_{name}.cfg" for name in PINNED_COUNTS if name != "attack"
    }
    for name, path in files.items():
        text = path.read_text()
        constants = FAMILY.configs[name]
        assert re.search(rf"\bN = {constants['N']}\b", text)
        assert re.search(rf"\bMaxFanIn = {constants['MaxFanIn']}\b", text)
        byz = str(constants["Byz"])
        assert f"Byz = {{{byz}}}" in text
        assert f"LowRep = {{{constants['LowRep']}}}" in text
        assert f"AggMayLie = {str(constants['AggMayLie']).upper()}" in text
        assert f"Forger = {str(constants['Forger']).upper()}" in text
        assert f"Expected distinct states: {PINNED_COUNTS[name]}" in text
        truth = re.search(r"Truth <- (\w+)", text)
        assert truth is not None
        tla = (spec / "SHAP.tla").read_text()
        definition = re.search(rf"{truth.group(1)} == <<([0-9, ]+)>>", tla)
        assert definition is not None
        assert definition.group(1).replace(" ", "") == constants["Truth"]
