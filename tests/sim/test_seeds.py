"""``vigilnet simulate --seeds K`` (issue 12, item 10): K seeds pooled,
each rate with its 95% intervals, the same bytes whatever the number of
worker processes; and the exact Wilson interval beside the float one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.sim._small import small
from vigilnet.cli import main
from vigilnet.sim._report import report_json
from vigilnet.sim._scenario import Scenario
from vigilnet.sim._stats import interval_json, wilson, wilson_exact
from vigilnet.sim._sweep import run_one, run_seeds

FAULTS = {
    "byzantine_hubs": (4,),
    "hub_attack": "equivocate",
    "byzantine_monitor_share": "1/10",
    "monitor_attack": "garbage_body",
    "byzantine_regionals": (0,),
    "regional_attack": "alter_child",
}


def _scenario() -> Scenario:
    return small(epochs=2, faults=FAULTS)


@pytest.fixture(scope="module")
def sweep() -> dict[str, object]:
    return run_seeds(_scenario(), 3, workers=2)


def test_pooled_rates_are_the_sums_of_the_runs(sweep: dict[str, object]) -> None:
    rows = sweep["per_seed"]
    assert isinstance(rows, list)
    assert sweep["seeds"] == [7, 8, 9] and [r["seed"] for r in rows] == [7, 8, 9]
    assert sweep["runs_stopped_by_invariants"] == 0
    rates = sweep["rates"]
    assert isinstance(rates, dict)
    attacks = rates["attack_success"]
    assert attacks["trials"] == sum(r["attempts"] for r in rows)
    assert attacks["successes"] == sum(r["attacks_succeeded"] for r in rows)
    found = rates["byzantine_detection"]
    assert found["trials"] == sum(r["byzantine_nodes"] for r in rows) == 3 * 5
    assert found["successes"] == sum(r["detected_with_proof"] for r in rows)
    assert rates["epochs_decided"]["trials"] == 3 * 2
    # the interval is the one of the pooled counts
    assert attacks == interval_json(attacks["successes"], attacks["trials"])
    # one pooled row per seed equals that seed run on its own
    assert rows[1] == run_one(_scenario().with_overrides(seed=8))


def test_same_bytes_with_one_or_two_workers(sweep: dict[str, object]) -> None:
    assert report_json(run_seeds(_scenario(), 3, workers=1)) == report_json(sweep)
    plain = json.loads(report_json(sweep))

    def no_floats(value: object) -> bool:
        if isinstance(value, dict):
            return all(no_floats(v) for v in value.values())
        if isinstance(value, list):
            return all(no_floats(v) for v in value)
        return not isinstance(value, float)

    assert no_floats(plain)


def test_cli_seeds_writes_the_sweep(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        '[scenario]\nname = "s"\nseed = 3\nepochs = 1\n'
        "[topology]\nagents = 600\nagents_per_site = 200\nsites_per_regional = 3\n"
        '[faults]\nbyzantine_hubs = [2]\nhub_attack = "silent"\n',
        encoding="utf-8",
    )
    args = ["simulate", "--scenario-file", str(path), "--seeds", "2"]
    out = CliRunner().invoke(main, [*args, "--json", "-"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["seeds"] == [3, 4] and data["schema"] == "vigilnet-simulate-seeds/v1"
    assert data["rates"]["byzantine_detection"]["successes"] == 0  # silence proves nothing
    table = CliRunner().invoke(main, ["simulate", "--scenario-file", str(path), "--seeds", "2"])
    assert table.exit_code == 0 and "Wilson 95%" in table.output


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (3, 17), (8, 10), (0, 120), (119, 120)])
def test_exact_wilson_agrees_with_the_float_formula(k: int, n: int) -> None:
    low, high = wilson_exact(k, n)
    f_low, f_high = wilson(k, n)
    assert abs(float(low) - f_low) <= 1e-6 and abs(float(high) - f_high) <= 1e-6
    assert len(low.split(".")[1]) == 6


def test_interval_json_of_no_trials_and_a_known_value() -> None:
    assert interval_json(0, 0)["rate"] is None
    # Wilson 95% for 8/10 is [0.4902, 0.9433] (tests/sim/test_stats.py)
    value = interval_json(8, 10)
    assert value["rate"] == {"exact": "4/5", "decimal": "0.8000"}
    low, high = (float(x) for x in value["wilson95"])  # type: ignore[attr-defined]
    assert abs(low - 0.4902) < 1e-4 and abs(high - 0.9433) < 1e-4
