"""The invariant monitors stop a run that breaks a property (issue 12,
item 6): two broken protocol variants, the implementation counterparts of
model mutants, injected with ``mock.patch`` here only, are stopped with
the seed and the epoch; the same scenarios with the real protocols run to
the end.  Then each check of :class:`InvariantMonitor` on its own."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from click.testing import CliRunner

from tests.sim._small import small
from vigilnet.cli import main
from vigilnet.protocols import shap
from vigilnet.protocols.shap import _state as shap_state
from vigilnet.sim._deployment import Detection, RunResult, run_deployment
from vigilnet.sim._invariants import INVARIANTS, InvariantMonitor, RunStopped
from vigilnet.sim._scenario import Link, Scenario

# -- mutant 1: SDBC deciding without valid(v) (models/sdbc.py mutant
# "decide_without_valid")


def _bad_value_scenario() -> Scenario:
    # hub 1 proposes round 0 of epoch 1, a value whose aggregate is not Agg(S)
    return small(faults={"byzantine_hubs": (1,), "hub_attack": "bad_value"})


def test_a_hub_that_skips_valid_is_stopped_at_validity_with_seed_and_epoch() -> None:
    scenario = _bad_value_scenario()
    with (
        mock.patch("vigilnet.protocols.sdbc._state._valid", lambda s, v: True),
        pytest.raises(RunStopped) as stopped,
    ):
        run_deployment(scenario)
    stop = stopped.value
    assert (stop.invariant, stop.seed, stop.epoch) == ("Validity", scenario.seed, 1)
    assert f"seed {scenario.seed}, epoch 1" in str(stop)
    assert stop.events and "last" in str(stop)
    assert any(e.kind == "attack" for e in stop.events)


def test_the_real_sdbc_runs_the_same_scenario_to_the_end() -> None:
    result = run_deployment(_bad_value_scenario())
    assert len(result.deployment.decisions) == 15


# -- mutant 2: a SHAP aggregator that counts a duplicated report twice (a
# replica counted twice; NoDoubleCount)


def _counts_duplicates(real: Any) -> Any:
    def mutant(
        setup: shap.AggregatorSetup,
        state: shap.AggregatorState,
        report: shap.Report,
        body: shap.MonitorBody | None,
    ) -> shap.AggregatorState:
        try:
            return real(setup, state, report, body)  # type: ignore[no-any-return]
        except shap.ReportRejected as error:
            if error.reason is not shap.Reason.DUPLICATE:
                raise
            extra = (report.node_id, report, body)
            return replace(state, accepted=tuple(sorted((*state.accepted, extra), key=_first)))

    return mutant


def _first(item: tuple[int, shap.Report, shap.MonitorBody | None]) -> int:
    return item[0]


def _duplicating_scenario() -> Scenario:
    # every monitor report is duplicated by the network half of the time
    return small(
        monitor_regional=Link(base_ms=5, jitter_ms=5, duplicate=Fraction(1, 2)),
    )


def test_a_regional_counting_a_replica_twice_is_stopped_at_no_double_count() -> None:
    scenario = _duplicating_scenario()
    mutant = _counts_duplicates(shap_state.receive_report)
    with (
        mock.patch.object(shap_state, "receive_report", mutant),
        pytest.raises(RunStopped) as stopped,
    ):
        run_deployment(scenario)
    stop = stopped.value
    assert (stop.invariant, stop.seed, stop.epoch) == ("NoDoubleCount", scenario.seed, 1)
    assert "counted children" in stop.detail


def test_the_real_shap_refuses_the_duplicates_and_runs_to_the_end() -> None:
    result = run_deployment(_duplicating_scenario())
    assert result.simulator.network.counters["duplicated"] > 0
    assert result.deployment.meter.refused["regional"] > 0  # the duplicates, refused


# -- each check on its own, on a finished honest run ------------------------------------


@pytest.fixture(scope="module")
def honest() -> RunResult:
    return run_deployment(small(epochs=2))


def _check(result: RunResult, **arrays: Any) -> None:
    d = result.deployment
    n = d.scenario.topology.agents
    hits = arrays.get("hits", np.ones(n, dtype=np.int32))
    before = arrays.get("before", np.zeros(n, dtype=bool))
    after = arrays.get("after", np.zeros(n, dtype=bool))
    InvariantMonitor(d, result.simulator).check_epoch(2, hits, before, after)


def test_the_honest_run_passes_every_check(honest: RunResult) -> None:
    _check(honest)
    assert len(INVARIANTS) == 8


def _broken(honest: RunResult, invariant: str, change: Any, **arrays: Any) -> RunStopped:
    d = honest.deployment
    saved = {k: getattr(d, k) for k in ("decisions", "hub_roots", "alarms", "detections")}
    saved = {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in saved.items()}
    try:
        change(d)
        with pytest.raises(RunStopped) as stopped:
            _check(honest, **arrays)
    finally:
        for k, v in saved.items():
            setattr(d, k, v)
    assert stopped.value.invariant == invariant and stopped.value.epoch == 2
    return stopped.value


def test_each_check_stops_what_it_names(honest: RunResult) -> None:
    d = honest.deployment
    n = d.scenario.topology.agents

    def disagree(d: Any) -> None:
        d.decisions[(2, 3)] = d.decisions[(1, 3)]

    _broken(honest, "Agreement", disagree)

    def other_root(d: Any) -> None:
        _, totals = d.hub_roots[(2, 0)]
        d.hub_roots[(2, 0)] = (bytes(32), totals)

    _broken(honest, "Integrity", other_root)

    hits = np.ones(n, dtype=np.int32)
    hits[17] = 2
    assert "agent 17" in _broken(honest, "NoDoubleCount", lambda d: None, hits=hits).detail
    before = np.zeros(n, dtype=bool)
    before[5] = True
    _broken(honest, "FinalNeverFlips", lambda d: None, before=before)

    def failed_receipt(d: Any) -> None:
        d.alarms.append((2, "monitor-0", "regional-0", "roots do not hash", True))

    _broken(honest, "InclusionChecked", failed_receipt)

    def framed(d: Any) -> None:
        d.detections["monitor-3"] = Detection(
            node="monitor-3", time_us=1, epoch=2, kind="x", by="regional-0", proof=True
        )

    _broken(honest, "NoFraming", framed)
    # a deadline alarm (no proof) against an honest parent is not a failed check
    d.alarms.append((2, "monitor-0", "regional-0", "no receipt by the deadline", False))
    try:
        _check(honest)
    finally:
        d.alarms.pop()


def test_the_cli_prints_the_stop_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[scenario]\nname = "bad"\nseed = 11\nepochs = 2\n'
        "[topology]\nagents = 600\nagents_per_site = 200\nsites_per_regional = 3\n"
        '[faults]\nbyzantine_hubs = [1]\nhub_attack = "bad_value"\n',
        encoding="utf-8",
    )
    with mock.patch("vigilnet.protocols.sdbc._state._valid", lambda s, v: True):
        out = CliRunner().invoke(main, ["simulate", "--scenario-file", str(path)])
    assert out.exit_code != 0
    assert "invariant Validity violated: seed 11, epoch 1" in out.output
    assert "recorded events" in out.output
