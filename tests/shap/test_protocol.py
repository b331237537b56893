"""SHAP protocol units: admission rules with their reasons and no state
change, the combination and commitment, receipts and the child check, the
auditor, and the vectorised tree against the reference Merkle-sum tree."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.shap._world import World, key, make_world
from vigilnet.errors import LocalProtocolError, RemoteProtocolError
from vigilnet.fixedpoint import DEFAULT_LAMBDA_MAX
from vigilnet.merkle import SumLeaf, SumTree
from vigilnet.protocols.shap import (
    LAYOUT,
    AggregatorSetup,
    AggregatorState,
    Alarm,
    AuditFailure,
    ChildPhase,
    ChildState,
    CloseEpoch,
    Committed,
    Confirmed,
    EpochCommitment,
    MonitorBody,
    Output,
    Phase,
    Reason,
    Receipt,
    ReceiptTimeout,
    ReceiveReceipt,
    ReceiveReport,
    Rejected,
    Report,
    ReportRejected,
    SendReceipt,
    SendReport,
    ShapConfig,
    StartEpoch,
    Tier,
    audit_entry,
    check_receipt,
    checks_needed,
    child_step,
    children_tree,
    combine_replicas,
    combine_replicas_reference,
    commitment_hash,
    entries_tree,
    escape_probability,
    initial_state,
    receive_report,
    select_entries,
    sign_receipt,
    sign_report,
    step,
)

REGION = 100


def _values(world: World) -> dict[int, tuple[int, int]]:
    return {a: (4, 1000 * a - 2000) for a in range(6)}


def _deliver(
    world: World, state: AggregatorState, monitor: int, body: MonitorBody | None = None
) -> tuple[AggregatorState, tuple[Output, ...]]:
    body = body or world.honest_body(monitor, _values(world))
    return step(
        world.regionals[REGION],
        state,
        ReceiveReport(report=world.report(monitor, body), body=body),
    )


def _full_region(world: World) -> AggregatorState:
    state = initial_state(world.regionals[REGION], 1)
    for monitor in (0, 1, 2):
        state, out = _deliver(world, state, monitor)
        assert out == ()
    return state


# --------------------------------------------------------------------------
# Admission


def _sign_unchecked(
    monitor: int, body: MonitorBody, config: ShapConfig, *, root_of: MonitorBody | None = None
) -> Report:
    """A report a Byzantine monitor signs over any body (no bounds check):
    the body's digest, and the root and totals of ``root_of`` (default: the
    body itself)."""
    source = root_of or body
    tree = entries_tree(
        np.array(source.agent_ids, dtype=np.uint64),
        np.array(source.counts, dtype=np.int64),
        np.array(source.llr_sums, dtype=np.int64),
    )
    totals = tree.root.totals
    return sign_report(
        key(monitor),
        epoch=1,
        config_hash=config.config_hash,
        node_id=monitor,
        tier=Tier.MONITOR,
        root=commitment_hash(None, tree.root),
        totals=(totals[0], totals[1], totals[2]),
        body_digest=body.digest,
    )


def _rejected(out: tuple[object, ...]) -> Rejected:
    assert len(out) == 1 and isinstance(out[0], Rejected)
    return out[0]


def test_unregistered_and_forged_reports_are_rejected_without_a_strike() -> None:
    world = make_world()
    setup = world.regionals[REGION]
    state = initial_state(setup, 1)
    body = world.honest_body(3, _values(world))  # monitor 3 belongs to region 101
    after, out = step(setup, state, ReceiveReport(report=world.report(3, body), body=body))
    assert _rejected(out).reason is Reason.UNREGISTERED and after == state
    good = world.honest_body(0, _values(world))
    forged = dataclasses.replace(world.report(0, good), signature=key(99).sign(b"x"))
    after, out = step(setup, state, ReceiveReport(report=forged, body=good))
    rejection = _rejected(out)
    assert rejection.reason is Reason.BAD_SIGNATURE and not rejection.struck
    assert after == state


@pytest.mark.parametrize(
    ("tamper", "reason", "struck"),
    [
        ("old_epoch", Reason.WRONG_EPOCH, False),
        ("paired_body", Reason.BODY_MISMATCH, False),
        ("paired_wrong_agents", Reason.BODY_MISMATCH, False),
        ("inconsistent_body", Reason.INCONSISTENT_BODY, True),
        ("out_of_range", Reason.OUT_OF_RANGE, True),
        ("wrong_agents", Reason.WRONG_AGENTS, True),
        ("missing_body", Reason.MALFORMED, False),
    ],
)
def test_bad_monitor_reports(tamper: str, reason: Reason, struck: bool) -> None:
    world = make_world()
    setup = world.regionals[REGION]
    state = initial_state(setup, 1)
    honest = world.honest_body(0, _values(world))
    report = world.report(0, honest)
    body: MonitorBody | None = honest
    altered = dataclasses.replace(honest, llr_sums=(honest.llr_sums[0] + 1, *honest.llr_sums[1:]))
    if tamper == "old_epoch":
        report = world.report(0, honest, epoch=0)
    elif tamper == "paired_body":  # a forger: the honest signed report, another body
        body = altered
    elif tamper == "paired_wrong_agents":
        body = MonitorBody(agent_ids=(0, 1), counts=(4, 4), llr_sums=(0, 0))
    elif tamper == "inconsistent_body":  # the monitor signed a body and another root
        body = altered
        report = _sign_unchecked(0, altered, world.config, root_of=honest)
    elif tamper == "out_of_range":
        body = dataclasses.replace(
            honest, llr_sums=(4 * DEFAULT_LAMBDA_MAX + 1, *honest.llr_sums[1:])
        )
        report = _sign_unchecked(0, body, world.config)
    elif tamper == "wrong_agents":
        body = MonitorBody(agent_ids=(0, 1), counts=(4, 4), llr_sums=(0, 0))
        report = _sign_unchecked(0, body, world.config)
    elif tamper == "missing_body":
        body = None
    with pytest.raises(ReportRejected) as caught:
        receive_report(setup, state, report, body)
    assert caught.value.reason is reason
    assert isinstance(caught.value, RemoteProtocolError)
    after, out = step(setup, state, ReceiveReport(report=report, body=body))
    assert _rejected(out).reason is reason and _rejected(out).struck is struck
    assert after.accepted == state.accepted
    assert after.strikes == (((0, 1),) if struck else ())


def test_duplicate_is_idempotent_and_equivocation_bans() -> None:
    world = make_world()
    setup = world.regionals[REGION]
    state = _full_region(world)
    again, out = _deliver(world, state, 0)
    assert _rejected(out).reason is Reason.DUPLICATE and again == state
    values = _values(world)
    values[0] = (5, 7)
    other = world.honest_body(0, values)
    after, out = _deliver(world, state, 0, other)
    assert _rejected(out).reason is Reason.EQUIVOCATION and _rejected(out).struck
    assert 0 in after.equivocators and 0 not in after.accepted_ids()
    # The gate now refuses node 0 for the rest of the epoch ...
    _, out = _deliver(world, after, 0)
    assert _rejected(out).reason is Reason.BELOW_REPUTATION
    # ... and at close it is banned (reputation 0).
    closed, _ = step(setup, after, CloseEpoch())
    assert closed.reputation(0).score(1) == 0
    assert not closed.reputation(0).admitted(2, world.config.reputation)


def test_reputation_gate_excludes_a_child_after_inconsistent_reports() -> None:
    world = make_world()
    setup = world.regionals[REGION]
    state = initial_state(setup, 1)
    body = world.honest_body(0, _values(world))
    bad = dataclasses.replace(body, counts=(body.counts[0] + 1, *body.counts[1:]))
    signed_bad = _sign_unchecked(0, bad, world.config, root_of=body)  # its own doing
    state, out = step(setup, state, ReceiveReport(report=signed_bad, body=bad))
    assert _rejected(out).struck
    state, _ = step(setup, state, CloseEpoch())
    state, _ = step(setup, state, StartEpoch(epoch=2))
    world.epoch = 2
    _, out = _deliver(world, state, 0)
    assert _rejected(out).reason is Reason.BELOW_REPUTATION


@pytest.mark.parametrize(("inconsistent_units", "admitted"), [(0, True), (1, False)])
def test_reputation_gate_admits_a_score_of_exactly_the_threshold(
    inconsistent_units: int, admitted: bool
) -> None:
    """Issue 11, item 2: the gate is ``score >= threshold``.  A child whose
    score is exactly 4/5 (7 consistent and 1 inconsistent report, plus the
    prior's one of each: 8/10) is admitted; one unit of ``1/REPUTATION_SCALE``
    more inconsistency puts it just below and it is refused.  The mutant
    ``>`` refuses the first, so this kills it."""
    from vigilnet.evidence import REPUTATION_SCALE, Reputation

    world = make_world()
    setup = world.regionals[REGION]
    assert setup.config.reputation.threshold == Fraction(4, 5)
    exact = Reputation(
        consistent=7 * REPUTATION_SCALE,
        inconsistent=REPUTATION_SCALE + inconsistent_units,
        banned_until=-1,
    )
    assert (exact.score(1) == Fraction(4, 5)) is admitted
    assert exact.score(1) <= Fraction(4, 5)
    state = dataclasses.replace(
        initial_state(setup, 1),
        reputations=tuple(
            (child, exact if child == 0 else rep)
            for child, rep in initial_state(setup, 1).reputations
        ),
    )
    after, out = _deliver(world, state, 0)
    if admitted:
        assert not any(isinstance(o, Rejected) for o in out)
        assert any(child == 0 for child, _, _ in after.accepted)
    else:
        assert _rejected(out).reason is Reason.BELOW_REPUTATION and after == state


def test_fan_in_bound_at_registration() -> None:
    world = make_world()
    regional = world.regionals[REGION]
    with pytest.raises(LocalProtocolError, match="max_aggregation_ratio"):
        dataclasses.replace(regional, config=ShapConfig(max_aggregation_ratio=2))


def test_wrong_tier_config_and_closed_epoch() -> None:
    world = make_world()
    setup = world.regionals[REGION]
    state = initial_state(setup, 1)
    body = world.honest_body(0, _values(world))
    fields: dict[str, Any] = dict(
        epoch=1,
        config_hash=world.config.config_hash,
        node_id=0,
        root=world.report(0, body).root,
        totals=world.report(0, body).totals,
    )
    as_regional = sign_report(key(0), tier=Tier.REGIONAL, **fields)
    with pytest.raises(ReportRejected, match="wrong tier"):
        receive_report(setup, state, as_regional, body)
    other_config = sign_report(
        key(0),
        tier=Tier.MONITOR,
        **(fields | {"config_hash": bytes(32)}),
    )
    with pytest.raises(ReportRejected, match="wrong config hash"):
        receive_report(setup, state, other_config, body)
    closed, _ = step(setup, state, CloseEpoch())
    with pytest.raises(ReportRejected, match="epoch closed"):
        receive_report(setup, closed, world.report(0, body), body)
    with pytest.raises(LocalProtocolError):
        step(setup, closed, CloseEpoch())


def test_malformed_report_is_a_remote_error() -> None:
    with pytest.raises(ReportRejected, match="malformed"):
        Report(
            epoch=1,
            config_hash=b"short",
            node_id=0,
            tier=Tier.MONITOR,
            root=bytes(32),
            totals=(0, 0, 0),
            body_digest=bytes(32),
            signature=b"",
        )
    with pytest.raises(ReportRejected, match="malformed"):
        MonitorBody(agent_ids=(2, 1), counts=(0, 0), llr_sums=(0, 0))


# --------------------------------------------------------------------------
# Close, receipts, child check, hub


def _close(
    world: World, state: AggregatorState
) -> tuple[AggregatorState, EpochCommitment, Report, dict[int, Receipt]]:
    closed, out = step(world.regionals[REGION], state, CloseEpoch())
    committed = out[0]
    assert isinstance(committed, Committed) and isinstance(out[1], SendReport)
    receipts = {o.child: o.receipt for o in out[2:] if isinstance(o, SendReceipt)}
    return closed, committed.commitment, out[1].report, receipts


def _resign(receipt: Receipt, signer: int = REGION, **changes: Any) -> Receipt:
    """``receipt`` with ``changes``, signed as a whole by ``signer``: what a
    lying parent can send."""
    fields = {f.name: getattr(receipt, f.name) for f in dataclasses.fields(receipt)}
    fields.update(changes)
    del fields["signature"]
    return sign_receipt(key(signer), **fields)


def test_close_medians_totals_receipts_and_child_confirmation() -> None:
    world = make_world()
    state = _full_region(world)
    closed, _, report, receipts = _close(world, state)
    assert closed.phase is Phase.CLOSED and closed.report == report
    values = _values(world)
    assert report.totals == (3, 12, sum(values[a][1] for a in (0, 1, 2)))
    assert sorted(receipts) == [0, 1, 2]
    for child, receipt in receipts.items():
        body = world.honest_body(child, values)
        own = world.report(child, body)
        check_receipt(own, world.keys[REGION], receipt)
        child_state = ChildState(own=own, parent_key=world.keys[REGION])
        after, out = child_step(child_state, ReceiveReceipt(receipt=receipt))
        assert after.phase is ChildPhase.CONFIRMED
        assert out == (Confirmed(node_id=child),)
    # Reputation rises for every accepted child.
    for child in (0, 1, 2):
        assert closed.reputation(child).score(1) > state.reputation(child).score(1)


def test_child_detects_a_dropped_or_altered_report() -> None:
    world = make_world()
    state = _full_region(world)
    _, _, _, receipts = _close(world, state)
    own0 = world.report(0, world.honest_body(0, _values(world)))
    # Node 1's receipt handed to node 0 is not node 0's: refused, no alarm.
    with pytest.raises(ReportRejected) as caught:
        check_receipt(own0, world.keys[REGION], receipts[1])
    assert caught.value.reason is Reason.NOT_ADDRESSED
    # Drop: the parent signs node 0 a receipt whose proof is node 1's leaf's.
    dropped = _resign(receipts[0], proof=receipts[1].proof)
    with pytest.raises(ReportRejected) as caught:
        check_receipt(own0, world.keys[REGION], dropped)
    assert caught.value.reason is Reason.OMITTED_OR_ALTERED
    # Alter: a parent that re-signs a root over an altered leaf for node 0.
    altered = dataclasses.replace(own0, totals=(3, 12, 0))
    with pytest.raises(ReportRejected):
        check_receipt(altered, world.keys[REGION], receipts[0])
    # No receipt at all.
    child = ChildState(own=own0, parent_key=world.keys[REGION])
    after, out = child_step(child, ReceiptTimeout())
    assert after.phase is ChildPhase.ALARMED
    assert out == (Alarm(node_id=0, reason="no receipt by the deadline"),)
    with pytest.raises(LocalProtocolError):
        child_step(after, ReceiptTimeout())  # sticky


def test_child_rejects_receipt_with_unbound_totals_or_foreign_signature() -> None:
    world = make_world()
    state = _full_region(world)
    _, _, report, receipts = _close(world, state)
    own0 = world.report(0, world.honest_body(0, _values(world)))
    lying = sign_report(
        key(REGION),
        epoch=1,
        config_hash=report.config_hash,
        node_id=REGION,
        tier=Tier.REGIONAL,
        root=report.root,
        totals=(3, 12, 0),
    )
    with pytest.raises(ReportRejected, match="signed totals"):
        check_receipt(own0, world.keys[REGION], _resign(receipts[0], parent=lying))
    with pytest.raises(ReportRejected, match="bad signature"):
        check_receipt(own0, world.keys[101], receipts[0])


def test_hub_sums_regional_totals_exactly() -> None:
    world = make_world()
    values = _values(world)
    hub_state = initial_state(world.hub, 1)
    regional_reports = []
    for region, setup in world.regionals.items():
        state = initial_state(setup, 1)
        for monitor, home in world.monitor_region.items():
            if home == region:
                body = world.honest_body(monitor, values)
                state, out = step(
                    setup, state, ReceiveReport(report=world.report(monitor, body), body=body)
                )
                assert out == ()
        _, out = step(setup, state, CloseEpoch())
        report = out[1].report  # type: ignore[union-attr]
        regional_reports.append(report)
        hub_state, out = step(world.hub, hub_state, ReceiveReport(report=report))
        assert out == ()
    _, out = step(world.hub, hub_state, CloseEpoch())
    hub_report = out[1].report  # type: ignore[union-attr]
    assert hub_report.tier is Tier.HUB
    assert hub_report.totals == tuple(sum(r.totals[i] for r in regional_reports) for i in range(3))
    for receipt_out in out[2:]:
        assert isinstance(receipt_out, SendReceipt)
        own = next(r for r in regional_reports if r.node_id == receipt_out.child)
        check_receipt(own, world.keys[1000], receipt_out.receipt)


# --------------------------------------------------------------------------
# Combination


@given(
    st.lists(
        st.tuples(st.integers(0, 50), st.integers(-(10**6), 10**6)), min_size=3, max_size=3
    ).flatmap(
        lambda _: st.lists(
            st.lists(
                st.tuples(st.integers(0, 50), st.integers(-(10**6), 10**6)),
                min_size=3,
                max_size=3,
            ),
            min_size=0,
            max_size=8,
        )
    ),
    st.sets(st.integers(0, 7)),
)
def test_vectorised_median_equals_reference(
    per_agent: list[list[tuple[int, int]]], partial: set[int]
) -> None:
    bodies = []
    for replica in range(3):
        rows = [
            (agent, *values[replica])
            for agent, values in enumerate(per_agent)
            if replica == 0 or agent not in partial
        ]
        bodies.append(
            MonitorBody(
                agent_ids=tuple(r[0] for r in rows),
                counts=tuple(r[1] for r in rows),
                llr_sums=tuple(r[2] for r in rows),
            )
        )
    fast = combine_replicas(bodies, 3)
    reference = combine_replicas_reference(bodies, 3)
    assert [int(a) for a in fast.agent_ids] == list(reference)
    assert [(int(c), int(v)) for c, v in zip(fast.counts, fast.llr_sums, strict=True)] == list(
        reference.values()
    )
    assert set(fast.incomplete) == {a for a in partial if a < len(per_agent)}


@given(
    st.lists(
        st.tuples(st.integers(0, 2**40), st.integers(0, 2**39), st.integers(-(2**50), 2**50)),
        max_size=40,
        unique_by=lambda row: row[0],
    )
)
def test_fast_tree_is_bit_identical_to_the_reference(rows: list[tuple[int, int, int]]) -> None:
    rows.sort()
    agents = np.array([r[0] for r in rows], dtype=np.int64)
    counts = np.array([r[1] for r in rows], dtype=np.int64)
    llrs = np.array([r[2] for r in rows], dtype=np.int64)
    fast = entries_tree(agents, counts, llrs)
    reference = SumTree(
        layout=LAYOUT,
        leaves=[SumLeaf(payload=a.to_bytes(8, "big"), sums=(1, c, v)) for a, c, v in rows],
    )
    assert fast.root == reference.root
    for index in range(len(rows)):
        assert fast.inclusion_proof(index) == reference.inclusion_proof(index)


def test_fast_tree_falls_back_when_sums_could_overflow() -> None:
    big = np.array([2**61, 2**61, 2**61], dtype=np.int64)
    tree = entries_tree(np.arange(3, dtype=np.int64), np.ones(3, dtype=np.int64), big)
    assert tree.root.totals == (3, 3, 3 * 2**61)
    assert type(tree).__name__ == "_ReferenceTree"


# --------------------------------------------------------------------------
# Auditor


def test_audit_passes_honest_openings_and_catches_an_altered_entry() -> None:
    world = make_world()
    state = _full_region(world)
    _, commitment, report, _ = _close(world, state)
    inputs, entries = commitment.inputs_root, commitment.entries_root
    assert entries is not None
    for index in select_entries(b"beacon output 0001", 8, entries.size):
        assert commitment.combined is not None
        agent = int(commitment.combined.agent_ids[index])
        audit_entry(
            regional=report,
            regional_key=world.keys[REGION],
            inputs=inputs,
            entries=entries,
            monitor_keys=world.keys,
            replicas=3,
            opening=commitment.opening(agent),
        )
    opening = commitment.opening(1)
    forged = dataclasses.replace(opening, llr_sum=opening.llr_sum + 1)
    with pytest.raises(AuditFailure, match="output entry"):
        audit_entry(
            regional=report,
            regional_key=world.keys[REGION],
            inputs=inputs,
            entries=entries,
            monitor_keys=world.keys,
            replicas=3,
            opening=forged,
        )
    short = dataclasses.replace(opening, replicas=opening.replicas[:2])
    with pytest.raises(AuditFailure, match="replicas"):
        audit_entry(
            regional=report,
            regional_key=world.keys[REGION],
            inputs=inputs,
            entries=entries,
            monitor_keys=world.keys,
            replicas=3,
            opening=short,
        )


def test_audit_catches_a_committed_non_median() -> None:
    """A Byzantine regional commits the *maximum* replica for agent 1 and
    signs it; the proofs all verify, and the median check catches it."""
    world = make_world()
    values = _values(world)
    setup = world.regionals[REGION]
    state = initial_state(setup, 1)
    for monitor, bump in ((0, 0), (1, 10), (2, 20)):
        shifted = {a: (c, v + bump) for a, (c, v) in values.items()}
        state, _ = _deliver(world, state, monitor, world.honest_body(monitor, shifted))
    _, commitment, _, _ = _close(world, state)
    combined = commitment.combined
    assert combined is not None
    llrs = combined.llr_sums.copy()
    llrs[1] += 10  # the max replica instead of the median
    tree = entries_tree(combined.agent_ids, combined.counts, llrs)
    lying_commitment = dataclasses.replace(
        commitment,
        entries=tree,
        combined=dataclasses.replace(combined, llr_sums=llrs),
        root=commitment_hash(commitment.inputs_root, tree.root),
    )
    report = sign_report(
        key(REGION),
        epoch=1,
        config_hash=world.config.config_hash,
        node_id=REGION,
        tier=Tier.REGIONAL,
        root=lying_commitment.root,
        totals=(tree.root.totals[0], tree.root.totals[1], tree.root.totals[2]),
    )
    with pytest.raises(AuditFailure, match="median"):
        audit_entry(
            regional=report,
            regional_key=world.keys[REGION],
            inputs=lying_commitment.inputs_root,
            entries=tree.root,
            monitor_keys=world.keys,
            replicas=3,
            opening=lying_commitment.opening(1),
        )


def test_selection_is_deterministic_uniform_and_needs_randomness() -> None:
    first = select_entries(b"0123456789abcdef", 2000, 7)
    assert first == select_entries(b"0123456789abcdef", 2000, 7)
    assert first != select_entries(b"0123456789abcdeg", 2000, 7)
    counts = [first.count(i) for i in range(7)]
    assert min(counts) > 200  # expected 285.7 each; a stuck index would be 0 or 2000
    with pytest.raises(LocalProtocolError):
        select_entries(b"short", 1, 7)


def test_detection_probability_and_checks_needed() -> None:
    assert escape_probability(Fraction(1, 10), 2) == Fraction(81, 100)
    assert checks_needed(Fraction(1, 100), Fraction(99, 100)) == 459
    assert checks_needed(Fraction(1, 10), Fraction(99, 100)) == 44
    assert checks_needed(Fraction(1, 2), Fraction(99, 100)) == 7
    k = checks_needed(Fraction(1, 20), Fraction(99, 100))
    assert 1 - escape_probability(Fraction(1, 20), k) >= Fraction(99, 100)
    assert 1 - escape_probability(Fraction(1, 20), k - 1) < Fraction(99, 100)


def test_setup_repr_does_not_leak_the_signing_seed() -> None:
    world = make_world()
    setup = world.regionals[REGION]
    assert isinstance(setup, AggregatorSetup)
    assert key(REGION).seed.hex() not in repr(setup)


def test_audit_catches_a_duplicated_entry_and_a_wrong_position() -> None:
    world = make_world()
    state = _full_region(world)
    _, commitment, _, _ = _close(world, state)
    combined = commitment.combined
    assert combined is not None
    at = 1
    agents = np.insert(combined.agent_ids, at, combined.agent_ids[at])
    counts = np.insert(combined.counts, at, combined.counts[at])
    llrs = np.insert(combined.llr_sums, at, combined.llr_sums[at])
    tree = entries_tree(agents, counts, llrs)
    report = sign_report(
        key(REGION),
        epoch=1,
        config_hash=world.config.config_hash,
        node_id=REGION,
        tier=Tier.REGIONAL,
        root=commitment_hash(commitment.inputs_root, tree.root),
        totals=(tree.root.totals[0], tree.root.totals[1], tree.root.totals[2]),
    )
    honest = commitment.opening(int(agents[at]))
    opening = dataclasses.replace(
        honest,
        entry_proof=tree.inclusion_proof(at),
        next_entry=(int(agents[at + 1]), int(counts[at + 1]), int(llrs[at + 1])),
        next_proof=tree.inclusion_proof(at + 1),
    )
    arguments: dict[str, Any] = dict(
        regional=report,
        regional_key=world.keys[REGION],
        inputs=commitment.inputs_root,
        entries=tree.root,
        monitor_keys=world.keys,
        replicas=3,
    )
    with pytest.raises(AuditFailure, match="do not increase"):
        audit_entry(opening=opening, index=at, **arguments)
    with pytest.raises(AuditFailure, match="opened position"):
        audit_entry(opening=opening, index=at + 1, **arguments)
    # The copy's own position passes its local checks: a duplicate is caught
    # when its first occurrence is sampled (probability 1 / size per check).
    copy = dataclasses.replace(
        honest,
        entry_proof=tree.inclusion_proof(at + 1),
        next_entry=(int(agents[at + 2]), int(counts[at + 2]), int(llrs[at + 2])),
        next_proof=tree.inclusion_proof(at + 2),
    )
    audit_entry(opening=copy, index=at + 1, **arguments)


def test_every_child_of_a_hub_detects_a_duplicated_leaf() -> None:
    """A Byzantine hub counts regional 100 twice (inflating its totals);
    both regionals' checks fail on the input listing."""
    world = make_world()
    values = _values(world)
    own: dict[int, Report] = {}
    for region, setup in world.regionals.items():
        state = initial_state(setup, 1)
        for monitor, home in world.monitor_region.items():
            if home == region:
                body = world.honest_body(monitor, values)
                state, _ = step(
                    setup, state, ReceiveReport(report=world.report(monitor, body), body=body)
                )
        _, out = step(setup, state, CloseEpoch())
        assert isinstance(out[1], SendReport)
        own[region] = out[1].report
    leaves = [(r, own[r].root, own[r].totals) for r in (100, 100, 101)]
    inputs = children_tree(
        [c for c, _, _ in leaves], [r for _, r, _ in leaves], [t for _, _, t in leaves]
    )
    totals = inputs.root.totals
    lying = sign_report(
        key(1000),
        epoch=1,
        config_hash=world.config.config_hash,
        node_id=1000,
        tier=Tier.HUB,
        root=commitment_hash(inputs.root, None),
        totals=(totals[0], totals[1], totals[2]),
    )
    for region, index in ((100, 0), (101, 2)):
        receipt = sign_receipt(
            key(1000),
            child=region,
            parent=lying,
            inputs=inputs.root,
            entries=None,
            proof=inputs.inclusion_proof(index),
            leaves=tuple(leaves),
        )
        with pytest.raises(ReportRejected, match="strictly increasing"):
            check_receipt(own[region], world.keys[1000], receipt)


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("event", ["report", "close", "start"])
def test_transition_table_covers_exactly_the_legal_pairs(phase: Phase, event: str) -> None:
    """h2-style: every (phase, event) pair either has a handler in the table
    or is refused as our own error; an illegal pair changes nothing."""
    from vigilnet.protocols.shap import AGGREGATOR_TRANSITIONS

    world = make_world()
    setup = world.regionals[REGION]
    state = initial_state(setup, 1)
    if phase is Phase.CLOSED:
        state, _ = step(setup, state, CloseEpoch())
    body = world.honest_body(0, _values(world))
    events: dict[str, ReceiveReport | CloseEpoch | StartEpoch] = {
        "report": ReceiveReport(report=world.report(0, body), body=body),
        "close": CloseEpoch(),
        "start": StartEpoch(epoch=2),
    }
    chosen = events[event]
    if (phase, type(chosen)) in AGGREGATOR_TRANSITIONS:
        after, _ = step(setup, state, chosen)
        assert isinstance(after, AggregatorState)
    else:
        with pytest.raises(LocalProtocolError, match="not allowed"):
            step(setup, state, chosen)
