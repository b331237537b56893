"""``vigilnet check --backend ray`` (issue 17, item 3): the fingerprint set and
frontier sharded over Ray actors give the same distinct counts, verdicts,
coverage and shortest traces as one worker."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from vigilnet.models import twophase

from vigilnet.checker import CheckResult, Options
from vigilnet.checker._run import check
from vigilnet.cli import main
from vigilnet.errors import ModelError


def _summary(result: CheckResult) -> tuple[object, ...]:
    return (
        result.ok,
        result.distinct_states,
        result.generated_states,
        result.depth,
        dict(result.coverage),
        [(p.name, p.status, p.trace) for p in result.properties],
    )


@pytest.mark.parametrize("symmetry", [False, True])
def test_twophase_rm7_ray_equals_one_worker(ray_instance: Any, symmetry: bool) -> None:
    model = twophase.FAMILY.instantiate(config="rm7")
    options = Options(symmetry=symmetry)
    one = check(model, options, engine="vector")
    two = check(model, options, engine="vector", workers=2, backend="ray")
    assert two.workers == 2 and one.workers == 1
    assert _summary(two) == _summary(one)
    assert two.ok and two.distinct_states > 100
    # the sometimes-properties' witnesses are shortest traces: the same steps
    assert all(p.trace is not None for p in two.properties if p.kind == "sometimes")


def test_generic_engine_is_refused_on_ray(ray_instance: Any) -> None:
    model = twophase.FAMILY.instantiate(overrides={"RM": 3})
    with pytest.raises(ModelError, match="vectorised engine only"):
        check(model, engine="generic", workers=2, backend="ray")


def test_cli_backend_ray(ray_instance: Any) -> None:
    args = ["check", "twophase", "--const", "RM=4", "--json", "--no-progress"]
    local = CliRunner().invoke(main, args)
    address = ray_instance.get_runtime_context().gcs_address
    remote = CliRunner().invoke(
        main, [*args, "--backend", "ray", "--workers", "2", "--address", address]
    )
    assert local.exit_code == 0 and remote.exit_code == 0, remote.output
    a, b = json.loads(local.output), json.loads(remote.output)
    assert a["distinct_states"] == b["distinct_states"] and b["workers"] == 2
    bad = CliRunner().invoke(main, [*args, "--address", "auto"])
    assert bad.exit_code == 2 and "--backend ray" in bad.output
