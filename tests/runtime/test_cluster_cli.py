"""vigilnet cluster up | status | down, through the command line."""

from __future__ import annotations

import json
import time
from pathlib import Path

from click.testing import CliRunner

from tests.runtime.ports import free_base
from vigilnet.cli import main


def _status(runner: CliRunner, folder: Path) -> list[dict[str, object]]:
    result = runner.invoke(main, ["cluster", "status", "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_up_status_down(tmp_path: Path) -> None:
    base = free_base()
    runner, folder = CliRunner(), tmp_path / "cluster"
    result = runner.invoke(main, ["cluster", "up", "--dir", str(folder), "--base-port", str(base)])
    assert result.exit_code == 0, result.output
    try:
        deadline = time.monotonic() + 30
        rows = _status(runner, folder)
        while time.monotonic() < deadline and min(int(r.get("decided") or 0) for r in rows) < 2:  # type: ignore[call-overload]
            time.sleep(0.3)
            rows = _status(runner, folder)
        assert [r["name"] for r in rows] == [f"hub-{i}" for i in range(5)]
        assert all(r["alive"] for r in rows), rows
        assert all(int(r["decided"]) >= 2 for r in rows), rows  # type: ignore[call-overload]
    finally:
        result = runner.invoke(main, ["cluster", "down", "--dir", str(folder)])
    assert result.output.count("stopped hub-") == 5
    time.sleep(1.0)
    assert not any(r["alive"] for r in _status(runner, folder))
