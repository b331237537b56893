"""The ``vigilnet check`` / ``vigilnet replay`` contract: exit codes, JSON
fields, listings, traces on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from vigilnet.cli import main

BAD = str(Path(__file__).with_name("bad_models.py"))


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", "--no-progress", *args])
    return result.exit_code, result.output


def test_list_models_and_configs() -> None:
    code, out = run("--list")
    assert code == 0
    assert {"diehard", "twophase", "peterson"} <= set(out.split())
    code, out = run("twophase", "--list")
    assert code == 0
    lines = out.splitlines()
    assert "config rm3" in lines
    assert "mutant commit_without_all_prepared" in lines
    assert all(line.split()[0] in ("config", "mutant") for line in lines)


def test_diehard_exits_0_with_witness() -> None:
    code, out = run("diehard")
    assert code == 0
    assert "BigIsGoal is witnessed (6 steps)" in out
    assert "16 distinct states" in out


def test_json_fields() -> None:
    code, out = run("twophase", "--config", "rm3", "--no-symmetry", "--json")
    assert code == 0
    data = json.loads(out)
    for field in (
        "model",
        "config",
        "constants",
        "distinct_states",
        "generated_states",
        "depth",
        "seconds",
        "workers",
        "result",
        "properties",
        "coverage",
    ):
        assert field in data
    assert data["distinct_states"] == 288
    assert data["constants"] == {"RM": 3}
    assert data["result"] == "ok"
    assert data["properties"]["TCConsistent"] == {
        "kind": "always",
        "status": "holds",
        "trace": None,
        "trace_length": None,
        "trace_file": None,
    }
    assert data["properties"]["SomeAborted"]["trace"]["#meta"]["format"] == "ITF"
    assert set(data["coverage"]["TMCommit"]) == {"enabled", "new"}
    assert sum(c["new"] for c in data["coverage"].values()) == 288 - 1


def test_const_and_workers() -> None:
    one = json.loads(run("twophase", "--const", "RM=4", "--no-symmetry", "--json")[1])
    two = json.loads(
        run("twophase", "--const", "RM=4", "--no-symmetry", "--json", "--workers", "2")[1]
    )
    assert one["distinct_states"] == two["distinct_states"]
    assert two["workers"] == 2
    assert one["coverage"] == two["coverage"]


def test_unwitnessed_sometimes_exits_1_and_says_so() -> None:
    code, out = run(f"{BAD}:UNREACHABLE")
    assert code == 1
    assert "ReachesThree was never witnessed" in out
    data = json.loads(run(f"{BAD}:UNREACHABLE", "--json")[1])
    assert data["properties"]["ReachesThree"]["status"] == "unwitnessed"
    assert data["result"] == "violation"


def test_false_assumption_exits_2() -> None:
    result = CliRunner().invoke(main, ["check", f"{BAD}:FALSE_ASSUMPTION"])
    assert result.exit_code == 2
    assert "assumption LimitAboveFive is false" in result.output


@pytest.mark.parametrize("extra", [(), ("--dfs",), ("--workers", "2")])
def test_deadlock_exits_1_with_trace(tmp_path: Path, extra: tuple[str, ...]) -> None:
    code, out = run(f"{BAD}:DEADLOCK", "--trace-out", str(tmp_path), *extra)
    assert code == 1
    assert "Deadlock reached (3 steps)" in out
    data = json.loads(run(f"{BAD}:DEADLOCK", "--json", *extra)[1])
    assert data["result"] == "violation"
    assert [s["count"] for s in data["deadlock"]["states"]] == [0, 1, 2, 3]
    (trace,) = tmp_path.glob("*deadlock.itf.json")
    # The trace names a model file: replay loads it only when asked to.
    refused = CliRunner().invoke(main, ["replay", str(trace)])
    assert refused.exit_code == 2
    assert "not a registered model" in refused.output
    replayed = CliRunner().invoke(main, ["replay", str(trace), "--model", f"{BAD}:DEADLOCK"])
    assert replayed.exit_code == 0, replayed.output
    assert "deadlock reproduced" in replayed.output


def test_a_raising_model_exits_2() -> None:
    result = CliRunner().invoke(main, ["check", "--no-progress", f"{BAD}:RAISING"])
    assert result.exit_code == 2
    assert "the model raised KeyError" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("nope",),
        ("twophase", "--config", "nope"),
        ("twophase", "--mutant", "nope"),
        ("twophase", "--const", "NOPE=1"),
        ("twophase", "--const", "RM"),
        ("twophase", "--dfs", "--simulate"),
        ("twophase", "--const", "RM=0"),
        ("twophase", "--dfs", "--workers", "2"),
    ],
)
def test_usage_and_model_errors_exit_2(args: tuple[str, ...]) -> None:
    assert run(*args)[0] == 2


def test_mutant_trace_written_and_replayed(tmp_path: Path) -> None:
    code, out = run(
        "twophase", "--mutant", "commit_without_all_prepared", "--trace-out", str(tmp_path)
    )
    assert code == 1
    assert "shortest counterexample (3 steps)" in out
    trace = tmp_path / "twophase-rm3-commit_without_all_prepared-TCConsistent-violated.itf.json"
    document = json.loads(trace.read_text())
    assert document["vars"] == ["rmState", "tmState", "tmPrepared", "msgs"]
    assert [s["#meta"]["action"] for s in document["states"]] == [
        "<init>",
        "TMCommit",
        "RMChooseToAbort(r1)",
        "RMRcvCommitMsg(r2)",
    ]
    replayed = CliRunner().invoke(main, ["replay", str(trace)])
    assert replayed.exit_code == 0, replayed.output
    assert "TCConsistent fails in the last state" in replayed.output
    # On the correct model the same trace is not a behaviour: exit 1.
    document["#meta"]["vigilnet"]["mutant"] = None
    fixed = tmp_path / "fixed.itf.json"
    fixed.write_text(json.dumps(document))
    refused = CliRunner().invoke(main, ["replay", str(fixed)])
    assert refused.exit_code == 1
    assert "NOT reachable" in refused.output


def test_lasso_printed_and_replayed(tmp_path: Path) -> None:
    code, out = run("peterson", "--mutant", "no_fairness", "--trace-out", str(tmp_path))
    assert code == 1
    assert "lasso" in out and "Lasso: prefix = states 0.." in out
    assert "and the cycle repeats" in out
    for trace in tmp_path.glob("*StarvationFree*.itf.json"):
        document = json.loads(trace.read_text())
        assert isinstance(document["loop"], int)
        replayed = CliRunner().invoke(main, ["replay", str(trace)])
        assert replayed.exit_code == 0, replayed.output
    assert run("peterson")[0] == 0
    code, out = run("peterson", "--workers", "2")
    assert code == 0 and "checked on 1 worker" in out


def test_simulate_is_seeded() -> None:
    args = (
        "twophase",
        "--const",
        "RM=4",
        "--simulate",
        "--traces",
        "20",
        "--depth",
        "15",
        "--seed",
        "7",
        "--json",
    )
    first, second = json.loads(run(*args)[1]), json.loads(run(*args)[1])
    assert first["distinct_states"] == second["distinct_states"] > 1
    assert first["strategy"] == "simulate"
    code, _out = run(
        "twophase",
        "--mutant",
        "commit_without_all_prepared",
        "--simulate",
        "--traces",
        "200",
        "--depth",
        "10",
    )
    assert code == 1


def test_dfs_and_max_depth() -> None:
    data = json.loads(run("diehard", "--dfs", "--json")[1])
    assert data["distinct_states"] == 16 and data["result"] == "ok"
    data = json.loads(run("diehard", "--max-depth", "3", "--json")[1])
    assert data["complete"] is False
    assert data["properties"]["BigIsGoal"]["status"] == "unwitnessed"


def test_all_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--all`` over this issue's three models (the other protocols' models
    have their own tests)."""
    import vigilnet.checker.cli as cli
    from vigilnet.checker import _registry

    mine = {
        name: ref
        for name, ref in _registry.registered().items()
        if name in ("diehard", "twophase", "peterson")
    }
    monkeypatch.setattr(cli, "registered", lambda: mine)
    code, out = run("--all")
    assert code == 0, out
    assert "FAIL" not in out
    assert "8 of 8 passed" in out
    data = json.loads(run("--all", "--json")[1])
    assert data["result"] == "ok"
    assert {(r["model"], r["mutant"]) for r in data["runs"] if r["mutant"]} == {
        ("twophase", "commit_without_all_prepared"),
        ("twophase", "abort_after_prepare"),
        ("peterson", "no_fairness"),
    }


def test_all_fails_when_a_config_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    import vigilnet.checker.cli as cli

    monkeypatch.setattr(cli, "registered", lambda: {"unreachable": f"{BAD}:UNREACHABLE"})
    code, out = run("--all")
    assert code == 1
    assert "FAIL" in out
