"""SDBC catch-up in the simulator's hub driver (``CatchUp``): a hub cut off
during an epoch decides it after the heal, by SDBC's own rule 3f on the
original signed messages its peers re-send, and rejoins the later epochs;
the decisions agree, the trace refines the model, and catch-up costs
nothing on a run without faults."""

from __future__ import annotations

from dataclasses import replace

from tests.sim._small import partitioned, small
from vigilnet.protocols import sdbc
from vigilnet.sim._deployment import (
    CATCHUP_INTERVAL_US,
    RunResult,
    _Aggregator,
    run_deployment,
)
from vigilnet.sim._report import make_report, report_json
from vigilnet.sim._trace import validate_run


def _cut_in_epoch_2() -> RunResult:
    """Hub 1 and its subtree cut off for all of epoch 2, healed at the
    start of epoch 3."""
    return run_deployment(partitioned(hubs=(1,), start=2, heal=3))


def test_a_hub_cut_off_during_an_epoch_decides_it_after_the_heal() -> None:
    result = _cut_in_epoch_2()
    d = result.deployment
    late = d.decisions[(2, 1)]
    # the same value as the hubs that decided it during the cut (agreement)
    assert {d.decisions[(2, h)].value for h in range(5)} == {late.value}
    late.certificate.verify(d.hub_config)
    # ... decided after epoch 2's end, so only by catch-up, and counted apart
    assert d.counts["consensus_decided_late"] == 1
    assert d.counts["consensus_not_started"] == 1  # epoch 3's start found it in epoch 2
    assert d.counts["consensus_started_late"] == 1  # ... and it started 3 once it decided 2
    assert d.counts["catchup_messages"] > 0
    # it rejoins: every later epoch is decided by every hub, in agreement
    for epoch in (3, 4):
        assert len({d.decisions[(epoch, h)].value for h in range(5)}) == 1
    c = make_report(result)["consensus"]
    assert (c["epochs_decided"], c["hub_epochs_decided"], c["agreement"]) == (4, 20, True)


def test_the_late_decision_is_an_ordinary_receive_of_a_signed_precommit_or_proposal() -> None:
    """The step that decided epoch 2 at hub 1 is ``sdbc.step`` on a
    ``Receive`` of a message signed by another hub, and the decision's
    precommits were all signed by hubs that decided during the cut."""
    d = _cut_in_epoch_2().deployment
    deciding = [
        (event, outputs)
        for hub, event, outputs, state in d.sdbc_steps
        if hub == 1 and state.epoch == 2 and any(isinstance(o, sdbc.Decide) for o in outputs)
    ]
    assert len(deciding) == 1
    event, _ = deciding[0]
    assert isinstance(event, sdbc.Receive) and event.message.hub != 1
    signers = {v.hub for v in d.decisions[(2, 1)].certificate.precommits}
    assert signers <= {0, 2, 3, 4} and len(signers) >= d.hub_config.quorum


def test_the_catch_up_run_refines_the_model() -> None:
    report = validate_run(_cut_in_epoch_2())
    assert (report.epochs, report.decisions) == (4, 20)


def test_catch_up_runs_are_deterministic() -> None:
    scenario = partitioned(hubs=(1,), start=2, heal=3)
    first = report_json(make_report(run_deployment(scenario)))
    assert first == report_json(make_report(run_deployment(scenario)))


def test_a_run_without_faults_sends_no_catch_up() -> None:
    d = run_deployment(small()).deployment
    assert d.counts["catchup_messages"] == 0
    assert d.counts["consensus_decided_late"] == 0


def test_answers_are_rate_limited_and_never_answer_catch_up_itself() -> None:
    """A decided hub answers a lagging peer's summary with its certificate
    (q precommits, then the proposal), at most once per interval, and never
    answers a precommit for the decided value or its proposal (what
    catch-up carries), so two decided hubs do not answer each other."""
    result = _cut_in_epoch_2()
    driver = result.simulator.drivers["hub-0"]
    assert isinstance(driver, _Aggregator) and driver.hub is not None
    catchup, node = driver.catchup, driver.hub
    catchup.sent.clear()
    round_, value_hash, messages = catchup.certificates[2]
    precommits, proposal = messages[:-1], messages[-1]
    assert all(isinstance(v, sdbc.Vote) and v.kind == sdbc.PRECOMMIT for v in precommits)
    assert isinstance(proposal, sdbc.Proposal) and proposal.value.value_hash == value_hash
    assert len(precommits) >= result.deployment.hub_config.quorum and proposal.round == round_
    steps = [s for h, e, _, s in result.deployment.sdbc_steps if h == 1 and s.epoch == 2]
    own_summary = next(x for x in steps[0].summaries if x.hub == 1)
    t = 10**9
    assert catchup.answer(node, own_summary, 1, t) == messages
    assert catchup.answer(node, own_summary, 1, t + CATCHUP_INTERVAL_US - 1) == ()
    assert catchup.answer(node, own_summary, 3, t + 1) == messages  # another peer
    assert catchup.answer(node, own_summary, 1, t + CATCHUP_INTERVAL_US) == messages
    catchup.sent.clear()
    for message in messages:
        assert catchup.answer(node, message, 1, t) == ()
    # an epoch this hub never decided gets no answer
    assert catchup.answer(node, replace(own_summary, epoch=99), 1, t) == ()


def test_only_an_undecided_hub_probes() -> None:
    result = _cut_in_epoch_2()
    driver = result.simulator.drivers["hub-0"]
    assert isinstance(driver, _Aggregator) and driver.hub is not None
    assert driver.hub.step is sdbc.Step.DECIDED
    assert driver.catchup.probe(driver.hub, 1, 10**12) == ()
    d = result.deployment
    stuck = next(s for h, _, _, s in d.sdbc_steps if h == 1 and s.epoch == 2 and s.votes)
    sent = driver.catchup.probe(stuck, 0, 10**12)
    assert sent and all(m.hub == 1 and m.epoch == 2 for m in sent)
    assert isinstance(sent[0], sdbc.EpochSummary)
    assert driver.catchup.probe(stuck, 0, 10**12 + CATCHUP_INTERVAL_US - 1) == ()


def test_everything_seed_4_decides_every_epoch_with_the_polka_relayed() -> None:
    # Seed 4 of `everything` stayed in epoch 2 for good before re-proposals
    # carried their polka and rule 3c counted the equivocator's prevote in
    # it (docs/simulation.md): now every epoch is decided by a quorum.
    from vigilnet.sim._scenario import load_scenario

    scenario = load_scenario("everything").with_overrides(seed=4, epochs=5)
    report = make_report(run_deployment(scenario))
    assert report["consensus"]["epochs_decided_by_quorum"] == 5
    assert report["consensus"]["agreement"]
