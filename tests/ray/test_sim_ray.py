"""``vigilnet simulate --backend ray`` (issue 17, item 1): the same seed gives
the same JSON bytes as the local backend, for one run and for a sweep."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from vigilnet.cli import main

SCENARIO = (
    '[scenario]\nname = "r"\nseed = 5\nepochs = 2\n'
    "[topology]\nagents = 600\nagents_per_site = 200\nsites_per_regional = 3\n"
    '[faults]\nbyzantine_hubs = [2]\nhub_attack = "equivocate"\n'
)


def _json(path: Path, *extra: str) -> str:
    out = CliRunner().invoke(
        main, ["simulate", "--scenario-file", str(path), *extra, "--json", "-"]
    )
    assert out.exit_code == 0, out.output
    return out.output


def test_one_seed_same_bytes_as_local(ray_instance: Any, tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    local = _json(path)
    remote = _json(path, "--backend", "ray")
    assert remote == local
    assert json.loads(remote)["scenario"]["seed"] == 5
    # a different seed is a different run: the comparison can tell them apart
    assert _json(path, "--backend", "ray", "--seed", "6") != local


def test_seeds_same_bytes_as_local(ray_instance: Any, tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    local = _json(path, "--seeds", "2")
    remote = _json(path, "--seeds", "2", "--backend", "ray")
    assert remote == local
    data = json.loads(remote)
    assert data["seeds"] == [5, 6] and [r["seed"] for r in data["per_seed"]] == [5, 6]


def test_local_only_options_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    for extra in (
        ["--backend", "ray", "--html", str(tmp_path / "h")],
        ["--address", "auto"],
    ):
        out = CliRunner().invoke(main, ["simulate", "--scenario-file", str(path), *extra])
        assert out.exit_code != 0 and "--" in out.output, out.output
    assert not (tmp_path / "h").exists()
