"""The composed deployment (`vigilnet simulate`) at small scale."""

from __future__ import annotations

import json
import math
from pathlib import Path

import nacl.bindings
import pytest
from click.testing import CliRunner

from vigilnet.cli import main
from vigilnet.protocols import shap
from vigilnet.sim._deployment import RunResult, run_deployment, words_root
from vigilnet.sim._report import make_report, report_json
from vigilnet.sim._scenario import Scenario, ScenarioError, embedded_scenarios, load_scenario

# 1,000 agents in 10 sites of 100, two sites per regional: 5 regionals, one
# under each of the 5 hubs, so every hub commits a non-empty tree.
SMALL = """
[scenario]
name = "small"
seed = 7
epochs = 3
epoch_ms = 60000

[topology]
agents = 1000
replicas = 3
agents_per_site = 100
sites_per_regional = 2
regionals_per_hub = 10
hubs = 5

[agents]
misbehaving = "{misbehaving}"
drifting = "{drifting}"
intermittent = "{intermittent}"
drift_first_epoch = 1
drift_last_epoch = 2
"""


def _scenario(
    tmp_path: Path, misbehaving: str = "1/20", drifting: str = "1/50", intermittent: str = "1/50"
) -> Scenario:
    path = tmp_path / "small.toml"
    path.write_text(
        SMALL.format(misbehaving=misbehaving, drifting=drifting, intermittent=intermittent),
        encoding="utf-8",
    )
    return load_scenario(path=path)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, RunResult]:
    scenario = _scenario(tmp_path_factory.mktemp("small"))
    return scenario, run_deployment(scenario)


def test_same_seed_same_bytes_other_seed_differs(
    small_run: tuple[Scenario, RunResult],
) -> None:
    scenario, first = small_run
    again = report_json(make_report(run_deployment(scenario)))
    assert report_json(make_report(first)) == again
    other = report_json(make_report(run_deployment(scenario.with_overrides(seed=8))))
    assert other != again

    # Only integers, strings, booleans, lists, mappings and null.
    def plain(value: object) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, (int, str, bool))

    assert plain(json.loads(again))


def test_every_epoch_decided_with_agreement(small_run: tuple[Scenario, RunResult]) -> None:
    scenario, result = small_run
    report = make_report(result)
    consensus = report["consensus"]
    assert consensus["epochs_decided"] == scenario.epochs
    assert consensus["agreement"] is True
    assert consensus["roots_mismatched"] == 0
    assert consensus["roots_bound"] >= scenario.epochs * consensus["quorum"]
    for row in report["per_epoch"]:
        assert row["hubs_decided"] == scenario.topology.hubs
        assert row["certificates_verified"] == scenario.topology.hubs
    assert report["receipts"]["monitor_alarms"] == 0
    assert report["receipts"]["regional_alarms"] == 0
    assert report["receipts"]["monitor_confirmed"] == (
        scenario.epochs * scenario.topology.sites * scenario.topology.replicas
    )


def test_decided_value_binds_the_hubs_own_signed_roots(
    small_run: tuple[Scenario, RunResult],
) -> None:
    """Checked here from the hubs' own SHAP state (their signed reports of
    the last epoch), not from what the report module recorded."""
    scenario, result = small_run
    d, sim = result.deployment, result.simulator
    last = scenario.epochs
    hub_reports: dict[int, shap.Report] = {}
    for h in range(scenario.topology.hubs):
        state = sim.drivers[f"hub-{h}"].state  # type: ignore[attr-defined]
        assert state.epoch == last and state.report is not None
        report = state.report
        report.verify(d.key(report.node_id).verify_key)
        hub_reports[h] = report
        assert report.totals[0] > 0  # every hub has a regional under it here
    values = {d.decisions[(last, h)].value.value_hash for h in range(scenario.topology.hubs)}
    assert len(values) == 1
    decision = d.decisions[(last, 0)]
    decision.certificate.verify(d.hub_config)
    assert decision.certificate.value_hash == decision.value.value_hash
    summaries = decision.value.summaries
    assert len({s.hub for s in summaries}) >= d.hub_config.quorum
    for summary in summaries:
        own = hub_reports[summary.hub]
        assert words_root(tuple(summary.values[3:])) == own.root
        assert tuple(summary.values[:3]) == own.totals


def test_misbehaving_agents_are_caught(small_run: tuple[Scenario, RunResult]) -> None:
    _, result = small_run
    report = make_report(result)
    k = report["classification"]
    assert k["misbehaved_in_run"] > 0
    assert k["true_positives"] > 0
    assert k["recall"] is not None
    assert k["true_positives"] + k["false_negatives"] == k["misbehaved_in_run"]
    assert report["flagged_agents"] == k["true_positives"] + k["false_positives"]
    # Every always-misbehaving agent gives evidence every epoch: all flagged.
    assert k["by_profile"]["misbehaving"]["flagged"] == k["by_profile"]["misbehaving"]["agents"]


def test_benign_population_false_positives_within_sprt_bound(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, misbehaving="0", drifting="0", intermittent="0")
    result = run_deployment(scenario)
    k = make_report(result)["classification"]
    n = scenario.topology.agents
    assert k["misbehaved_in_run"] == 0 and k["true_positives"] == 0
    # Ville's inequality: a benign agent's likelihood ratio ever reaching
    # (1 - beta) / alpha has probability at most alpha / (1 - beta); allow
    # three binomial standard deviations above that mean.
    p = scenario.sprt.alpha / (1 - scenario.sprt.beta)
    mean = float(p) * n
    assert k["false_positives"] <= mean + 3 * math.sqrt(mean) + 1


def test_signature_meter_counts_real_verifications(
    small_run: tuple[Scenario, RunResult],
) -> None:
    _, result = small_run
    report = make_report(result)
    verifications = report["signature_verifications"]
    # A monitor's receipt check verifies the receipt and its parent's report.
    assert verifications["monitor"] == 2 * report["receipts"]["monitor_confirmed"]
    assert verifications["consensus"] > 0 and verifications["regional"] > 0
    assert nacl.bindings.crypto_sign_open.__name__ == "crypto_sign_open"  # restored


def test_compute_is_charged_to_the_tier_that_ran(
    small_run: tuple[Scenario, RunResult],
) -> None:
    _, result = small_run
    split = result.deployment.meter.cpu_seconds()
    # every tier that stepped got CPU time; the largest costs come first
    assert {"monitor", "regional", "hub", "consensus", "invariants", "judge"} <= set(split)
    assert all(v >= 0 for v in split.values())
    assert list(split.values()) == sorted(split.values(), reverse=True)
    assert split["monitor"] > 0 and split["regional"] > 0
    # a switch charges the time since the last one to the tier that ran
    meter = type(result.deployment.meter)()
    meter.tier = "a"
    sum(i * i for i in range(200_000))
    meter.tier = "b"
    before = dict(meter.cpu_ns)
    assert before["a"] > 0
    meter.tier = "b"
    assert meter.cpu_ns["a"] == before["a"]  # only the running tier grows


def test_bad_input_is_refused_clearly(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path)
    with pytest.raises(ScenarioError, match="agents"):
        run_deployment(scenario.with_overrides(agents=0))
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "x"\n[topology]\nagentz = 3\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="agentz"):
        load_scenario(path=bad)


def test_cli_list_names_the_seven_scenarios() -> None:
    out = CliRunner().invoke(main, ["simulate", "--list"])
    assert out.exit_code == 0, out.output
    names = set(embedded_scenarios())
    assert names == {
        "availability",
        "baseline",
        "byzantine",
        "everything",
        "key-rotation",
        "partition",
        "timing",
    }
    listed = {line.split()[0] for line in out.output.splitlines() if line.strip()}
    assert listed == names


def test_cli_runs_a_tiny_topology(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path)
    path = tmp_path / "small.toml"
    out_file = tmp_path / "report.json"
    runner = CliRunner()
    out = runner.invoke(
        main, ["simulate", "--scenario-file", str(path), "--epochs", "2", "--json", str(out_file)]
    )
    assert out.exit_code == 0, out.output
    assert "epochs decided" in out.output
    assert "compute per tier" in out.output and "consensus" in out.output
    written = out_file.read_text(encoding="utf-8")
    expected = report_json(make_report(run_deployment(scenario.with_overrides(epochs=2))))
    assert written == expected
    stdout = runner.invoke(
        main, ["simulate", "--scenario-file", str(path), "--epochs", "2", "--json", "-"]
    )
    assert stdout.exit_code == 0 and stdout.output == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agents", "-5"], "--agents"),
        (["--scenario", "nonesuch"], "no scenario 'nonesuch'"),
        (["--seed", "-1"], "--seed"),
        (
            ["--scenario", "baseline", "--scenario-file", str(embedded_scenarios()["baseline"])],
            "not both",
        ),
    ],
)
def test_cli_refuses_bad_options(args: list[str], message: str) -> None:
    out = CliRunner().invoke(main, ["simulate", *args])
    assert out.exit_code != 0
    assert message in out.output
