"""Scenario files: the embedded ones load, every key is checked."""

from __future__ import annotations

import tomllib
from fractions import Fraction
from pathlib import Path

import pytest

from vigilnet.sim._scenario import Scenario, ScenarioError, embedded_scenarios, load_scenario

EXPECTED = {
    "availability",
    "baseline",
    "byzantine",
    "partition",
    "timing",
    "everything",
    "key-rotation",
}


def test_the_embedded_scenarios_load() -> None:
    assert set(embedded_scenarios()) == EXPECTED
    for name in EXPECTED:
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.description
    baseline = load_scenario("baseline")
    assert baseline.topology.agents == 20_000
    assert (baseline.topology.sites, baseline.topology.regionals) == (10, 1)
    assert baseline.agents.misbehaving == Fraction(1, 100)
    byz = load_scenario("byzantine")
    assert byz.faults.byzantine_hubs == (4,) and byz.faults.byzantine_regionals == (0,)
    part = load_scenario("partition")
    assert [p.name for p in part.partitions] == ["continent", "flapping"]


def test_full_scale_topology() -> None:
    full = load_scenario("baseline").with_overrides(agents=1_000_000)
    assert (full.topology.sites, full.topology.regionals) == (500, 50)
    with pytest.raises(ScenarioError, match="regionals"):
        load_scenario("baseline").with_overrides(agents=1_000_001)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[scenario]\nname='x'\nspeed=3\n", "unknown key"),
        ("[scenario]\ndescription='no name'\n", "name is required"),
        ("[scenario]\nname='x'\nepochs=0\n", "scenario.epochs"),
        ("[scenario]\nname='x'\nepochs=true\n", "scenario.epochs"),
        ("[scenario]\nname='x'\n[agents]\nmisbehaving=0.01\n", "agents.misbehaving"),
        ("[scenario]\nname='x'\n[agents]\nmisbehaving='1/0'\n", "agents.misbehaving"),
        ("[scenario]\nname='x'\n[agents]\nmisbehaving='3/4'\ndrifting='1/2'\n", "[agents]"),
        ("[scenario]\nname='x'\n[faults]\nbyzantine_hubs=[5]\n", "byzantine_hubs"),
        ("[scenario]\nname='x'\n[faults]\nbyzantine_hubs=[1,1]\n", "duplicate"),
        ("[scenario]\nname='x'\n[faults]\nhub_attack='nice'\n", "hub_attack"),
        ("[scenario]\nname='x'\n[network.hub_hub]\nloss='1'\n", "network.hub_hub.loss"),
        ("[scenario]\nname='x'\n[network.moon]\nbase_ms=1\n", "unknown key"),
        ("[scenario]\nname='x'\n[sprt]\nalpha='1/2'\n", "sprt.alpha"),
        (
            "[scenario]\nname='x'\n[[partition]]\nname='p'\nhubs=[0]\nstart_epoch=3\nheal_epoch=3\n",
            "before heal_epoch",
        ),
        ("[scenario]\nname='x'\n[[partition]]\nname='p'\nhubs=[0]\n", "start_epoch is required"),
        ("[scenario]\nname='x'\n[timing_attack]\nenabled=1\n", "timing_attack.enabled"),
        ("[scenario]\nname='x'\n[topology]\nagents=0\n", "topology.agents"),
        ("[scenario]\nname='x'\n[topology]\nagents=300000\nhubs=1\n", "regionals"),
        ("not toml at all [", "not TOML"),
    ],
)
def test_bad_files_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace(".", r"\.")):
        load_scenario(path=_write(tmp_path, text))


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(path=tmp_path)
    bad = tmp_path / "b.toml"
    bad.write_bytes(b"\xff\xfe[scenario]")
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(path=bad)
    with pytest.raises(ScenarioError, match="no scenario"):
        load_scenario("nope")
    with pytest.raises(ScenarioError, match="exactly one"):
        load_scenario()


def test_a_copied_file_round_trips(tmp_path: Path) -> None:
    source = embedded_scenarios()["everything"]
    copy = _write(tmp_path, source.read_text())
    assert load_scenario(path=copy) == load_scenario("everything")
    data = tomllib.loads(source.read_text())
    assert Scenario.from_toml(data) == load_scenario("everything")
