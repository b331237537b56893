"""Trace validation: the simulator's recorded SDBC history replayed on
``models/sdbc.py`` (issue 12, item 8).

The real protocol's trace refines the model on a healthy network (every
epoch decided in round 0) and on a slow one (rounds up to 5, round changes
by timeout and by catch-up); a hub that forgets its lock, or one that
broadcasts a vote it does not keep, is caught (both through ``mock.patch``
here only, as in ``tests/sdbc/test_refinement.py``); a recorded trace with
one output removed is caught.  A run whose proposer times out without a
value (it holds fewer than ``q`` summaries) refines the model with
``ProposerMayStall`` (the constant trace validation sets; ``n4f1stall``
checks it) and not without it; a proposer that times out *after* proposing
is still caught.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest

import vigilnet.protocols.sdbc as sdbc_package
import vigilnet.protocols.sdbc._state as sdbc_state
import vigilnet.sim._trace as trace_module
from vigilnet.errors import InvariantViolation
from vigilnet.protocols import sdbc
from vigilnet.sim._deployment import RunResult, run_deployment
from vigilnet.sim._scenario import Scenario, load_scenario
from vigilnet.sim._trace import TraceScopeError, validate_run, validate_trace

# 150 agents, 5 regionals (one per hub), 3 epochs.
SMALL = """
[scenario]
name = "trace"
seed = {seed}
epochs = 3
epoch_ms = 60000

[topology]
agents = 150
replicas = 3
agents_per_site = 15
sites_per_regional = 2
regionals_per_hub = 10
hubs = 5

[agents]
misbehaving = "1/10"
drifting = "1/50"
intermittent = "1/50"
drift_first_epoch = 1
drift_last_epoch = 2
"""

#: hub links slower than the propose timeout: rounds change
SLOW = """
[network.hub_hub]
base_ms = 1500
jitter_ms = 2000
"""


def _scenario(tmp_path: Path, seed: int = 7, slow: bool = False) -> Scenario:
    path = tmp_path / f"trace-{seed}-{slow}.toml"
    path.write_text(SMALL.format(seed=seed) + (SLOW if slow else ""), encoding="utf-8")
    return load_scenario(path=path)


def _validate(result: RunResult) -> object:
    d = result.deployment
    return validate_trace(d.hub_config, d.sdbc_steps)


real_step = sdbc_package.step


def forgets_lock(
    s: sdbc.NodeState, e: sdbc.Input
) -> tuple[sdbc.NodeState, tuple[sdbc.Output, ...]]:
    t, out = real_step(s, e)
    return replace(t, locked_value=None, locked_round=-1), out


def forgets_own_precommit(
    s: sdbc.NodeState, e: sdbc.Input
) -> tuple[sdbc.NodeState, tuple[sdbc.Output, ...]]:
    """Signs and broadcasts its precommit but does not keep it (so it could
    sign another one for the same round)."""
    t, out = real_step(s, e)
    mine = frozenset(v for v in t.votes if v.hub == t.hub and v.kind == sdbc.PRECOMMIT)
    return replace(t, votes=t.votes - mine), out


def test_healthy_run_refines_the_model(tmp_path: Path) -> None:
    result = run_deployment(_scenario(tmp_path))
    report = _validate(result)
    d = result.deployment
    # every epoch decided by every hub in round 0: per epoch one proposal,
    # five prevotes and five precommits are the model steps; the rest
    # (summaries, late votes, timers) stutter.  Pinned for this seed: some
    # steps take more than one model step (a prevote and the precommit it
    # enables), so 30 steps make the 33 model steps.
    assert report == type(report)(
        epochs=3,
        steps=len(d.sdbc_steps),
        model_steps=3 * 11,
        stutters=len(d.sdbc_steps) - 30,
        decisions=3 * 5,
        max_round=0,
    )


def test_slow_run_with_round_changes_refines_the_model(tmp_path: Path) -> None:
    result = run_deployment(_scenario(tmp_path, seed=1, slow=True))
    report = _validate(result)
    assert report.max_round >= 2  # round changes happened and were checked
    assert report.decisions >= 5
    assert report.model_steps > 3 * 11


@pytest.mark.parametrize("broken", [forgets_lock, forgets_own_precommit])
def test_broken_hub_fails_trace_validation(tmp_path: Path, broken: object) -> None:
    with mock.patch.object(sdbc_package, "step", broken):
        result = run_deployment(_scenario(tmp_path))
    assert result.deployment.sdbc_steps  # the broken hubs ran and were recorded
    with pytest.raises(InvariantViolation, match=r"no model step|violated|broadcast"):
        _validate(result)


def test_a_recorded_output_removed_is_caught(tmp_path: Path) -> None:
    result = run_deployment(_scenario(tmp_path))
    steps = list(result.deployment.sdbc_steps)
    at = next(
        i
        for i, (_h, _e, outputs, _s) in enumerate(steps)
        if any(isinstance(o, sdbc.Broadcast) and isinstance(o.message, sdbc.Vote) for o in outputs)
    )
    h, e, outputs, s = steps[at]
    kept = tuple(
        o
        for o in outputs
        if not (isinstance(o, sdbc.Broadcast) and isinstance(o.message, sdbc.Vote))
    )
    steps[at] = (h, e, kept, s)
    with pytest.raises(InvariantViolation, match="broadcast"):
        validate_trace(result.deployment.hub_config, steps)


def test_byzantine_hubs_are_outside_the_mapping(tmp_path: Path) -> None:
    result = run_deployment(_scenario(tmp_path))
    d = result.deployment
    with pytest.raises(TraceScopeError, match="Byzantine"):
        validate_trace(d.hub_config, d.sdbc_steps, byzantine_hubs=frozenset({2}))


def _stalled_proposers(result: RunResult) -> list[tuple[int, int, int, int]]:
    """(hub, epoch, round, summaries held) of each propose timeout on which
    the round's own proposer prevoted nil without having proposed."""
    d = result.deployment
    out = []
    for h, event, outputs, s in d.sdbc_steps:
        if not isinstance(event, sdbc.Timeout) or event.step != "propose":
            continue
        if d.hub_config.proposer(s.epoch, event.round) != h:
            continue
        nil = any(
            isinstance(o, sdbc.Broadcast)
            and isinstance(o.message, sdbc.Vote)
            and o.message.kind == sdbc.PREVOTE
            and o.message.value_hash is None
            for o in outputs
        )
        proposed = any(p.hub == h and p.round == event.round for p in s.proposals)
        if nil and not proposed:
            out.append((h, s.epoch, event.round, len(s.summaries)))
    return out


def test_proposer_timing_out_without_a_value(tmp_path: Path) -> None:
    """Seed 3 on slow links: the proposer of epoch 1, round 0 (hub 1) holds
    3 < q = 4 summaries when its propose timeout fires and prevotes nil
    (rule 4).  The model allows the step only with ``ProposerMayStall``
    (its proposer always holds the summaries otherwise): the trace refines
    the model trace validation uses, and not the one without the constant."""
    result = run_deployment(_scenario(tmp_path, seed=3, slow=True))
    assert (1, 1, 0, 3) in _stalled_proposers(result)
    report = _validate(result)
    assert report.max_round >= 1 and report.decisions >= 5
    real_spec = trace_module.epoch_spec

    def without_stall(config: sdbc.HubConfig, max_round: int) -> object:
        spec = real_spec(config, max_round)
        spec.proposer_may_stall = False
        return spec

    with (
        mock.patch.object(trace_module, "epoch_spec", without_stall),
        pytest.raises(InvariantViolation, match=r"epoch 1, hub 1, Timeout\).* no model step"),
    ):
        _validate(result)


def _nil_on_own_proposal(s: sdbc.NodeState) -> object:
    """Rules 3b/3c, except that the proposer prevotes nil on its own
    (valid) proposal, as if its propose timeout had fired after it
    proposed."""
    mine = s.config.proposer(s.epoch, s.round) == s.hub
    if (
        s.step is sdbc_state.Step.PROPOSE
        and mine
        and any(p.hub == s.hub and p.round == s.round for p in s.proposals)
    ):
        t, out = sdbc_state._vote(s, sdbc.PREVOTE, None)
        return t, [out]
    return sdbc_state._prevote_on_proposal(s)


def test_proposer_prevoting_nil_after_proposing_is_caught(tmp_path: Path) -> None:
    """``ProposerMayStall`` lets the proposer prevote nil only while it has
    not proposed: one that proposes and then prevotes nil on its own valid
    proposal is no model step, on the healthy run and on the slow one."""
    rules = tuple(
        _nil_on_own_proposal if r is sdbc_state._prevote_on_proposal else r
        for r in sdbc_state.RULES
    )
    for seed, slow in ((7, False), (3, True)):
        with mock.patch.object(sdbc_state, "RULES", rules):
            result = run_deployment(_scenario(tmp_path, seed=seed, slow=slow))
        with pytest.raises(InvariantViolation, match="no model step"):
            _validate(result)


def test_partition_scenario_refines_and_byzantine_is_refused() -> None:
    """Hub 1 cut off in epochs 2 and 3, healed in 4 (the embedded scenario,
    small): every step is a model step, and the cut-off hub decides epochs
    2 and 3 after the heal, by catch-up (20 of 20 hub-epochs; 17 before
    catch-up); the whole scenario, whose proposer of
    epoch 5 times out without a value, refines it too.  The Byzantine scenario records its Byzantine hub's
    honest core too, so it would pass as honest: validate_run refuses it."""
    partition = load_scenario("partition").with_overrides(agents=200, epochs=4)
    report = validate_run(run_deployment(partition))
    assert (report.epochs, report.decisions) == (4, 20)
    # all 8 epochs: from epoch 5 hub 3 flaps and epoch 5's proposer times
    # out without a value, a step of the model with ProposerMayStall
    whole = validate_run(run_deployment(load_scenario("partition").with_overrides(agents=200)))
    assert (whole.epochs, whole.decisions) == (8, 40)
    byzantine = load_scenario("byzantine").with_overrides(agents=200, epochs=1)
    with pytest.raises(TraceScopeError, match=r"hubs \[4\] are Byzantine"):
        validate_run(run_deployment(byzantine))
