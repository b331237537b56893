"""Regression tests for the SHAP attacks of issue 10 (items 5 to 8), each
run against the real implementation: a forger framing an honest monitor or
an honest parent, overflowing sums, hostile audit openings, and agent ids at
or above ``2**63``.  Each test performs the attack and asserts the guarantee
the docs state."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from tests.shap._world import World, key, make_world
from vigilnet.errors import RemoteProtocolError
from vigilnet.fixedpoint import LAMBDA_MAX_LIMIT, MAX_EVIDENCE_COUNT
from vigilnet.merkle import SumInclusionProof, SumNode
from vigilnet.protocols.shap import (
    AggregatorSetup,
    AggregatorState,
    AuditFailure,
    ChildPhase,
    ChildState,
    CloseEpoch,
    Committed,
    MonitorBody,
    Output,
    Reason,
    Receipt,
    ReceiveReceipt,
    ReceiveReport,
    Rejected,
    Report,
    SendReceipt,
    SendReport,
    ShapConfig,
    StartEpoch,
    Tier,
    audit_entry,
    child_step,
    children_tree,
    commitment_hash,
    initial_state,
    monitor_report,
    sign_receipt,
    sign_report,
    step,
)

REGION = 100
HUB = 1000
INT64_MAX = (1 << 63) - 1


def _values() -> dict[int, tuple[int, int]]:
    return {a: (4, 1000 * a - 2000) for a in range(6)}


def _deliver(
    world: World, setup: AggregatorSetup, state: AggregatorState, monitor: int, epoch: int = 1
) -> tuple[AggregatorState, tuple[Output, ...]]:
    body = world.honest_body(monitor, _values())
    report = world.report(monitor, body, epoch=epoch)
    return step(setup, state, ReceiveReport(report=report, body=body))


def _only_rejection(out: tuple[Output, ...]) -> Rejected:
    assert len(out) == 1 and isinstance(out[0], Rejected), out
    return out[0]


def _closed_region(world: World, region: int = REGION) -> tuple[Report, dict[int, Receipt]]:
    setup = world.regionals[region]
    state = initial_state(setup, 1)
    for monitor, home in world.monitor_region.items():
        if home == region:
            state, out = _deliver(world, setup, state, monitor)
            assert out == ()
    _, out = step(setup, state, CloseEpoch())
    assert isinstance(out[1], SendReport)
    receipts = {o.child: o.receipt for o in out if isinstance(o, SendReceipt)}
    return out[1].report, receipts


# --------------------------------------------------------------------------
# Item 5: nobody but the signer can make a report or a receipt count against it


GARBAGE_BODIES = {
    "altered sum": lambda b: dataclasses.replace(b, llr_sums=(b.llr_sums[0] + 1, *b.llr_sums[1:])),
    "wrong agents": lambda b: MonitorBody(agent_ids=(7, 8), counts=(1, 1), llr_sums=(0, 0)),
    "out of range": lambda b: dataclasses.replace(b, counts=(0, *b.counts[1:])),
    "empty": lambda b: MonitorBody(agent_ids=(), counts=(), llr_sums=()),
}


@pytest.mark.parametrize("garbage", sorted(GARBAGE_BODIES))
def test_a_forger_pairing_an_honest_report_with_garbage_cannot_lower_its_reputation(
    garbage: str,
) -> None:
    """The forger holds monitor 0's genuine signed report and sends it with
    another body.  No strike, no change of state, and next epoch the
    monitor's genuine report is accepted with its reputation intact."""
    world = make_world()
    setup = world.regionals[REGION]
    state = initial_state(setup, 1)
    honest = world.honest_body(0, _values())
    report = world.report(0, honest)
    body = GARBAGE_BODIES[garbage](honest)
    after, out = step(setup, state, ReceiveReport(report=report, body=body))
    rejection = _only_rejection(out)
    assert not rejection.struck
    assert after == state
    # The genuine pair still gets in, and the epoch ends with no strike.
    after, out = step(setup, after, ReceiveReport(report=report, body=honest))
    assert out == ()
    for monitor in (1, 2):
        after, _ = _deliver(world, setup, after, monitor)
    closed, _ = step(setup, after, CloseEpoch())
    assert closed.reputation(0) == closed.reputation(1)
    started, _ = step(setup, closed, StartEpoch(epoch=2))
    world.epoch = 2
    _, out = _deliver(world, setup, started, 0, epoch=2)
    assert out == (), out  # not BELOW_REPUTATION


def test_a_forger_alone_cannot_exclude_an_honest_monitor_before_it_reports() -> None:
    """The forger's pairing arrives first and the epoch closes without the
    monitor's genuine report: the monitor is not struck, its reputation is
    not lowered, and it is admitted next epoch."""
    world = make_world()
    setup = world.regionals[REGION]
    state = initial_state(setup, 1)
    honest = world.honest_body(0, _values())
    garbage = dataclasses.replace(honest, counts=(honest.counts[0] + 1, *honest.counts[1:]))
    state, out = step(setup, state, ReceiveReport(report=world.report(0, honest), body=garbage))
    assert not _only_rejection(out).struck
    closed, _ = step(setup, state, CloseEpoch())
    assert closed.reputation(0) == initial_state(setup, 1).reputation(0)
    started, _ = step(setup, closed, StartEpoch(epoch=2))
    world.epoch = 2
    _, out = _deliver(world, setup, started, 0, epoch=2)
    assert out == ()


def test_a_monitor_is_still_struck_for_a_body_it_signed() -> None:
    """The other side of the rule: a body that matches the signed digest and
    is out of range is the signer's own doing, and costs it."""
    world = make_world()
    setup = world.regionals[REGION]
    state = initial_state(setup, 1)
    honest = world.honest_body(0, _values())
    bad = dataclasses.replace(honest, counts=(0, *honest.counts[1:]))  # |sum| > 0 * lambda_max
    signed = sign_report(
        key(0),
        epoch=1,
        config_hash=world.config.config_hash,
        node_id=0,
        tier=Tier.MONITOR,
        root=world.report(0, honest).root,
        totals=world.report(0, honest).totals,
        body_digest=bad.digest,
    )
    after, out = step(setup, state, ReceiveReport(report=signed, body=bad))
    rejection = _only_rejection(out)
    assert rejection.reason is Reason.OUT_OF_RANGE and rejection.struck
    assert after.strikes == ((0, 1),)


def _garbage_proof(receipt: Receipt) -> SumInclusionProof:
    return SumInclusionProof(
        leaf_index=receipt.proof.leaf_index,
        tree_size=receipt.proof.tree_size,
        siblings=tuple(
            SumNode(hash=bytes(32), sums=(0, 0, 0)) for _ in range(len(receipt.proof.siblings) + 1)
        ),
    )


@pytest.mark.parametrize("forgery", ["garbage proof", "garbage leaves", "other child's receipt"])
def test_a_forged_receipt_does_not_alarm_an_honest_child(forgery: str) -> None:
    """The forger holds the honest parent's signed report (every child gets
    it) and builds a receipt around it.  The child does not alarm; its
    genuine receipt, arriving later, confirms it."""
    world = make_world()
    _, receipts = _closed_region(world)
    own = world.report(0, world.honest_body(0, _values()))
    genuine = receipts[0]
    if forgery == "garbage proof":
        forged = dataclasses.replace(genuine, proof=_garbage_proof(genuine))
    elif forgery == "garbage leaves":
        forged = dataclasses.replace(genuine, leaves=genuine.leaves[::-1])
    else:
        forged = receipts[1]
    child = ChildState(own=own, parent_key=world.keys[REGION])
    after, out = child_step(child, ReceiveReceipt(receipt=forged))
    assert after.phase is not ChildPhase.ALARMED, out
    assert after == child
    after, out = child_step(after, ReceiveReceipt(receipt=genuine))
    assert after.phase is ChildPhase.CONFIRMED


def test_a_receipt_the_parent_signed_with_a_garbage_proof_alarms() -> None:
    """Detectability still holds: the parent's own signature over a receipt
    that fails the check is the parent's doing."""
    world = make_world()
    _, receipts = _closed_region(world)
    own = world.report(0, world.honest_body(0, _values()))
    genuine = receipts[0]
    lying = sign_receipt(
        key(REGION),
        child=0,
        parent=genuine.parent,
        inputs=genuine.inputs,
        entries=genuine.entries,
        proof=_garbage_proof(genuine),
        leaves=genuine.leaves,
    )
    after, _ = child_step(
        ChildState(own=own, parent_key=world.keys[REGION]), ReceiveReceipt(receipt=lying)
    )
    assert after.phase is ChildPhase.ALARMED


# --------------------------------------------------------------------------
# Item 6: no sum a peer contributes can overflow at close


@pytest.mark.parametrize(
    "totals",
    [
        ((1 << 64) - 2, 0, 0),  # agents: fits alone, overflows with the honest regional's
        (1, (1 << 64) - 2, 0),
        (1, 1, INT64_MAX),
        (1, 1, -INT64_MAX - 1),
    ],
)
def test_a_byzantine_regionals_totals_cannot_stop_the_hub(totals: tuple[int, int, int]) -> None:
    world = make_world()
    # Region 100's llr total is negative (-3000), region 101's positive (6000):
    # the liar is the other one, so that the two signed llr totals overflow.
    honest_region, lying_region = (100, 101) if totals[2] < 0 else (101, 100)
    honest_report, _ = _closed_region(world, honest_region)
    assert (honest_report.totals[2] < 0) == (totals[2] < 0)
    state = initial_state(world.hub, 1)
    lying = sign_report(
        key(lying_region),
        epoch=1,
        config_hash=world.config.config_hash,
        node_id=lying_region,
        tier=Tier.REGIONAL,
        root=bytes(range(32)),
        totals=totals,
    )
    state, out = step(world.hub, state, ReceiveReport(report=lying))
    rejection = _only_rejection(out)
    assert rejection.reason is Reason.OUT_OF_RANGE and rejection.struck
    state, out = step(world.hub, state, ReceiveReport(report=honest_report))
    assert out == ()
    closed, out = step(world.hub, state, CloseEpoch())  # must not raise
    assert isinstance(out[1], SendReport)
    assert out[1].report.totals == honest_report.totals
    step(world.hub, closed, StartEpoch(epoch=2))


def test_shares_of_every_child_always_fit_together() -> None:
    """The admission bound is what makes close safe: ``max_aggregation_ratio``
    children at the full share sum to at most ``2**63 - 1``."""
    for ratio in (1, 2, 3, 6, 10, 1000):
        config = ShapConfig(max_aggregation_ratio=ratio)
        assert ratio * config.child_share <= INT64_MAX
        assert (ratio + 1) * (config.child_share + 1) > INT64_MAX


def _wide_world() -> World:
    return make_world(config=ShapConfig(max_aggregation_ratio=6, lambda_max=LAMBDA_MAX_LIMIT))


def test_a_monitor_body_summing_past_the_layout_is_rejected_at_admission() -> None:
    """Each entry is within its own bound (``|sum| <= count * lambda_max``
    with the largest count and clamp), but the column sums past ``2**63``."""
    world = _wide_world()
    setup = world.regionals[REGION]
    state = initial_state(setup, 1)
    most = MAX_EVIDENCE_COUNT * LAMBDA_MAX_LIMIT  # 2**62
    body = MonitorBody(
        agent_ids=world.placement[0],
        counts=(MAX_EVIDENCE_COUNT,) * 3,
        llr_sums=(most, most, most),
    )
    report = sign_report(
        key(0),
        epoch=1,
        config_hash=world.config.config_hash,
        node_id=0,
        tier=Tier.MONITOR,
        root=bytes(32),
        totals=(3, 3 * MAX_EVIDENCE_COUNT, INT64_MAX),
        body_digest=body.digest,
    )
    after, out = step(setup, state, ReceiveReport(report=report, body=body))  # must not raise
    rejection = _only_rejection(out)
    assert rejection.reason is Reason.OUT_OF_RANGE and rejection.struck
    assert after.accepted == ()


def test_medians_of_bodies_within_the_share_never_overflow_at_close() -> None:
    """Three replicas each at the largest per-entry sums the share allows:
    admitted, and the regional closes (the combination stays in range)."""
    world = _wide_world()
    setup = world.regionals[REGION]
    share = world.config.child_share
    state = initial_state(setup, 1)
    for monitor in (0, 1, 2):
        per_entry = share // 3
        count = -(-per_entry // LAMBDA_MAX_LIMIT)
        body = MonitorBody(
            agent_ids=world.placement[monitor], counts=(count,) * 3, llr_sums=(per_entry,) * 3
        )
        report = monitor_report(
            signing_key=key(monitor), node_id=monitor, epoch=1, config=world.config, body=body
        )
        state, out = step(setup, state, ReceiveReport(report=report, body=body))
        assert out == ()
    _, out = step(setup, state, CloseEpoch())
    assert isinstance(out[0], Committed)


# --------------------------------------------------------------------------
# Item 7: a hostile opening or receipt fails as AuditFailure / an alarm


def _audited(world: World) -> tuple[dict[str, Any], Any]:
    setup = world.regionals[REGION]
    state = initial_state(setup, 1)
    for monitor in (0, 1, 2):
        state, _ = _deliver(world, setup, state, monitor)
    _, out = step(setup, state, CloseEpoch())
    committed, send = out[0], out[1]
    assert isinstance(committed, Committed) and isinstance(send, SendReport)
    commitment = committed.commitment
    assert commitment.entries_root is not None
    arguments: dict[str, Any] = dict(
        regional=send.report,
        regional_key=world.keys[REGION],
        inputs=commitment.inputs_root,
        entries=commitment.entries_root,
        monitor_keys=world.keys,
        replicas=3,
    )
    return arguments, commitment.opening(1)


HOSTILE_OPENINGS = {
    "agent 2**64": {"agent_id": 1 << 64},
    "agent -1": {"agent_id": -1},
    "agent True": {"agent_id": True},
    "bool count": {"count": True},
    "huge llr": {"llr_sum": 1 << 70},
    "short next entry": {"next_entry": (2, 4)},
    "text next entry": {"next_entry": ("2", 4, 0)},
    "next agent 2**64": {"next_entry": (1 << 64, 4, 0)},
    "next entry not a tuple": {"next_entry": 7},
    "next proof not a proof": {"next_proof": b"proof"},
    "entry proof not a proof": {"entry_proof": None},
    "replicas not a tuple": {"replicas": None},
    "replica not an opening": {"replicas": (1, 2, 3)},
}


@pytest.mark.parametrize("hostile", sorted(HOSTILE_OPENINGS))
def test_a_hostile_opening_fails_as_audit_failure(hostile: str) -> None:
    world = make_world()
    arguments, honest = _audited(world)
    audit_entry(opening=honest, **arguments)
    opening = dataclasses.replace(honest, **HOSTILE_OPENINGS[hostile])
    with pytest.raises(AuditFailure):
        audit_entry(opening=opening, **arguments)


def test_a_hostile_replica_fails_as_audit_failure() -> None:
    world = make_world()
    arguments, honest = _audited(world)
    for changes in ({"count": True}, {"llr_sum": -(1 << 64)}, {"monitor": None}):
        replicas = (dataclasses.replace(honest.replicas[0], **changes), *honest.replicas[1:])
        with pytest.raises(AuditFailure):
            audit_entry(opening=dataclasses.replace(honest, replicas=replicas), **arguments)


def test_a_receipt_with_overflowing_leaves_alarms_and_raises_nothing_else() -> None:
    """A Byzantine parent signs leaves that each fit the layout but whose
    sums overflow: the child alarms (a forger's copy is refused)."""
    world = make_world()
    _, receipts = _closed_region(world)
    own = world.report(0, world.honest_body(0, _values()))
    genuine = receipts[0]
    big = (own.node_id + 1, bytes(32), ((1 << 64) - 1, 0, 0))
    leaves = (*genuine.leaves, big)
    child = ChildState(own=own, parent_key=world.keys[REGION])
    forged = dataclasses.replace(genuine, leaves=leaves)
    after, _ = child_step(child, ReceiveReceipt(receipt=forged))
    assert after == child
    signed = sign_receipt(
        key(REGION),
        child=0,
        parent=genuine.parent,
        inputs=genuine.inputs,
        entries=genuine.entries,
        proof=genuine.proof,
        leaves=leaves,
    )
    after, out = child_step(child, ReceiveReceipt(receipt=signed))
    assert after.phase is ChildPhase.ALARMED, out


# --------------------------------------------------------------------------
# Item 8: agent ids at or above 2**63


HIGH = (
    (1 << 63) - 2,
    (1 << 63) - 1,
    1 << 63,
    (1 << 63) + 5,
    (1 << 64) - 1,
)


def test_an_honest_regional_answers_audits_for_ids_at_and_above_2_63() -> None:
    world = make_world()
    placement = {m: HIGH for m in (0, 1, 2)}
    setup = AggregatorSetup(
        node_id=REGION,
        tier=Tier.REGIONAL,
        config=world.config,
        signing_key=key(REGION),
        children={m: world.keys[m] for m in placement},
        placement=placement,
    )
    state = initial_state(setup, 1)
    for monitor in (0, 1, 2):
        body = MonitorBody(agent_ids=HIGH, counts=(3,) * len(HIGH), llr_sums=tuple(range(-2, 3)))
        report = monitor_report(
            signing_key=key(monitor), node_id=monitor, epoch=1, config=world.config, body=body
        )
        state, out = step(setup, state, ReceiveReport(report=report, body=body))
        assert out == ()
    _, out = step(setup, state, CloseEpoch())
    committed, send = out[0], out[1]
    assert isinstance(committed, Committed) and isinstance(send, SendReport)
    commitment = committed.commitment
    assert commitment.combined is not None and commitment.entries_root is not None
    assert [int(a) for a in commitment.combined.agent_ids] == list(HIGH)  # unsigned order
    for position, agent in enumerate(HIGH):
        opening = commitment.opening(agent)
        assert opening.agent_id == agent
        audit_entry(
            regional=send.report,
            regional_key=world.keys[REGION],
            inputs=commitment.inputs_root,
            entries=commitment.entries_root,
            monitor_keys=world.keys,
            replicas=3,
            opening=opening,
            index=position,
        )


def test_ids_outside_uint64_are_refused_at_the_boundary() -> None:
    for agent_ids in ((-1,), (1 << 64,), (True,)):
        with pytest.raises(RemoteProtocolError):
            MonitorBody(agent_ids=agent_ids, counts=(1,), llr_sums=(0,))


def test_children_tree_of_uint64_ids_sorts_unsigned() -> None:
    """The inputs tree reads node ids as uint64 too (a leaf payload)."""
    ids = [5, (1 << 63) + 1]
    tree = children_tree(ids, [bytes(32)] * 2, [(0, 0, 0)] * 2)
    assert tree.size == 2
    assert commitment_hash(tree.root, None) != commitment_hash(None, tree.root)
    assert np.array(ids, dtype=np.uint64)[1] > np.array(ids, dtype=np.uint64)[0]
