"""Stateful Hypothesis test of SHAP against Byzantine monitors and a
Byzantine regional aggregator.

The tree: one regional (node 100) over six monitors in two replica triples
(monitors 0-2 observe agents 0-1, monitors 3-5 agents 2-3); monitors 2 and
5 are Byzantine (one per triple, the most the median tolerates).  Byzantine
monitors send extreme values, equivocate, sign out-of-range or inconsistent
bodies, claim other agents, forge signatures and replay reports of earlier
epochs; the network re-delivers any message at any time.  At each close the
aggregator is honest or drops, alters, duplicates or reorders one child's
leaf, or alters one output entry.

Every attack must be harmless by the invariants or detected:

* FanInBound, ReputationGate: after every step;
* Integrity, BoundedInfluence: the honest aggregator's signed totals are the
  exact sums of the replica medians of what it accepted, and every entry lies
  within its honest replicas' range;
* Detectability: an honest child whose leaf was dropped or altered alarms;
  one whose leaf is intact confirms; duplicated or reordered leaves change
  no signed total; an altered output entry fails the auditor's check.

:data:`KNOWN_BAD` lists broken variants (mean instead of median, no
reputation gate, no child-side inclusion check); a test runs the machine on
each and asserts that it fails.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import Phase as HypothesisPhase
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.shap._world import key, make_world
from vigilnet.fixedpoint import DEFAULT_LAMBDA_MAX
from vigilnet.protocols.shap import (
    AggregatorState,
    AuditFailure,
    ChildPhase,
    ChildState,
    CloseEpoch,
    CombinedEntries,
    Committed,
    MonitorBody,
    Phase,
    Reason,
    Receipt,
    ReceiptTimeout,
    ReceiveReceipt,
    ReceiveReport,
    Rejected,
    Report,
    SendReport,
    StartEpoch,
    Tier,
    audit_entry,
    bounded_influence,
    child_leaf,
    child_step,
    children_tree,
    combine_replicas_reference,
    commitment_hash,
    detectability,
    entries_tree,
    fan_in_bound,
    initial_state,
    integrity,
    receive_report,
    reputation_gate,
    sign_receipt,
    sign_report,
    step,
)
from vigilnet.protocols.shap import _combine as combine_module

REGION = 100
BYZANTINE = (2, 5)
HONEST = (0, 1, 3, 4)
BYZ_KINDS = (
    "extreme",
    "equivocate",
    "out_of_range",
    "inconsistent",
    "wrong_agents",
    "forged",
)
ATTACKS = ("none", "drop", "alter", "duplicate", "reorder", "alter_entry", "duplicate_entry")
KNOWN_BAD = ("mean_not_median", "no_reputation_gate", "no_child_inclusion_check")


def _signed(
    monitor: int,
    body: MonitorBody,
    epoch: int,
    config_hash: bytes,
    root_of: MonitorBody | None = None,
) -> Report:
    """A report over ``body`` signed by ``monitor`` without any bounds check
    (what a Byzantine monitor can do): the body's digest with the root and
    totals of ``root_of`` (default: the body's own)."""
    source = root_of or body
    tree = entries_tree(
        np.array(source.agent_ids, dtype=np.uint64),
        np.array(source.counts, dtype=np.int64),
        np.array(source.llr_sums, dtype=np.int64),
    )
    totals = tree.root.totals
    return sign_report(
        key(monitor),
        epoch=epoch,
        config_hash=config_hash,
        node_id=monitor,
        tier=Tier.MONITOR,
        root=commitment_hash(None, tree.root),
        totals=(totals[0], totals[1], totals[2]),
        body_digest=body.digest,
    )


def _mean_columns(agents: Any, counts: Any, llrs: Any, replicas: int) -> CombinedEntries:
    """Known-bad: the floor of the mean instead of the median."""
    unique, inverse, sizes = np.unique(agents, return_inverse=True, return_counts=True)
    count_sums = np.bincount(inverse, weights=counts).astype(np.int64)
    llr_sums = np.zeros(len(unique), dtype=np.int64)
    np.add.at(llr_sums, inverse, llrs)
    complete = sizes == replicas
    return CombinedEntries(
        agent_ids=unique[complete],
        counts=count_sums[complete] // replicas,
        llr_sums=llr_sums[complete] // replicas,
        incomplete=tuple(int(a) for a in unique[~complete]),
    )


class ShapMachine(RuleBasedStateMachine):
    BAD: ClassVar[str | None] = None

    messages = Bundle("messages")

    def __init__(self) -> None:
        super().__init__()
        self.world = make_world(regions=1, triples_per_region=2, agents_per_triple=2)
        self.setup = self.world.regionals[REGION]
        self.config_hash = self.world.config.config_hash
        self.epoch = 1
        self.state: AggregatorState = initial_state(self.setup, 1)
        self.sent: dict[int, tuple[Report, MonitorBody]] = {}
        self.last_byzantine: tuple[Report, MonitorBody] | None = None

    # -- delivery (the aggregator under test, or a known-bad variant) -----
    def _deliver(self, report: Report, body: MonitorBody | None) -> tuple[object, ...]:
        before = self.state
        after, out = step(self.setup, before, ReceiveReport(report=report, body=body))
        if (
            self.BAD == "no_reputation_gate"
            and out
            and isinstance(out[0], Rejected)
            and out[0].reason is Reason.BELOW_REPUTATION
        ):
            fresh = self.world.config.reputation.new()
            lax = dataclasses.replace(
                before,
                equivocators=frozenset(),
                reputations=tuple((c, fresh) for c, _ in before.reputations),
            )
            try:
                accepted = receive_report(self.setup, lax, report, body).accepted
                after, out = dataclasses.replace(before, accepted=accepted), ()
            except Exception:  # rejected for another reason as well
                pass
        for item in out:
            assert isinstance(item, Rejected)
            if item.reason is Reason.DUPLICATE or not item.struck:
                assert after.accepted == before.accepted  # a rejection changes nothing
            assert after.reputations == before.reputations
        self.state = after
        return out

    @initialize()
    def start(self) -> None:
        pass

    # -- honest monitors ---------------------------------------------------
    def _honest(self, monitor: int, counts: list[int], per_count: list[int]) -> None:
        if monitor in self.sent:  # an honest monitor reports once per epoch
            report, body = self.sent[monitor]
        else:
            agents = self.world.placement[monitor]
            body = MonitorBody(
                agent_ids=agents,
                counts=tuple(counts),
                llr_sums=tuple(c * p for c, p in zip(counts, per_count, strict=True)),
            )
            report = _signed(monitor, body, self.epoch, self.config_hash)
            self.sent[monitor] = (report, body)
        out = self._deliver(report, body)
        for item in out:
            assert isinstance(item, Rejected)
            assert item.reason in (Reason.DUPLICATE, Reason.FAN_IN_EXCEEDED), item

    @precondition(lambda self: self.state.phase is Phase.COLLECTING)
    @rule(
        target=messages,
        monitor=st.sampled_from(HONEST),
        counts=st.lists(st.integers(0, 20), min_size=2, max_size=2),
        per_count=st.lists(st.integers(-1000, 1000), min_size=2, max_size=2),
    )
    def honest_send(
        self, monitor: int, counts: list[int], per_count: list[int]
    ) -> tuple[Report, MonitorBody]:
        self._honest(monitor, counts, per_count)
        return self.sent[monitor]

    @precondition(lambda self: self.state.phase is Phase.COLLECTING)
    @rule(
        target=messages,
        counts=st.lists(st.integers(0, 20), min_size=8, max_size=8),
        per_count=st.lists(st.integers(-1000, 1000), min_size=8, max_size=8),
        byzantine=st.sampled_from(("extreme", "mild", "silent")),
        byz_count=st.integers(1, 2**20),
    )
    def honest_round(
        self, counts: list[int], per_count: list[int], byzantine: str, byz_count: int
    ) -> Any:
        """Every honest monitor reports (the common case of an epoch); the
        Byzantine ones stay silent or join with in-bound values, extreme
        (``+-count * lambda_max``) or mild (a plausible honest-looking value)."""
        for i, monitor in enumerate(HONEST):
            self._honest(monitor, counts[2 * i : 2 * i + 2], per_count[2 * i : 2 * i + 2])
        sent = [self.sent[m] for m in HONEST]
        if byzantine != "silent":
            for monitor in BYZANTINE:
                sign = 1 if byzantine == "extreme" else 0
                self.byzantine_send(monitor, "extreme", byz_count, sign)
                assert self.last_byzantine is not None
                sent.append(self.last_byzantine)
        return multiple(*sent)

    # -- Byzantine monitors ------------------------------------------------
    @precondition(lambda self: self.state.phase is Phase.COLLECTING)
    @rule(
        target=messages,
        monitor=st.sampled_from(BYZANTINE),
        kind=st.sampled_from(BYZ_KINDS),
        count=st.integers(0, 2**20),
        sign=st.sampled_from((-1, 0, 1)),
    )
    def byzantine_send(
        self, monitor: int, kind: str, count: int, sign: int
    ) -> tuple[Report, MonitorBody]:
        agents = self.world.placement[monitor]
        extreme = sign * count * DEFAULT_LAMBDA_MAX
        body = MonitorBody(agent_ids=agents, counts=(count, count), llr_sums=(extreme, -extreme))
        if kind == "equivocate":
            body = dataclasses.replace(body, counts=(count + 1, count))
        if kind == "out_of_range":
            body = dataclasses.replace(body, llr_sums=(extreme + sign, 0))
        if kind == "wrong_agents":
            body = MonitorBody(agent_ids=(7, 8), counts=(1, 1), llr_sums=(0, 0))
        report = _signed(monitor, body, self.epoch, self.config_hash)
        if kind == "inconsistent":  # signs one body's digest and another's root
            other = dataclasses.replace(body, counts=(count + 2, count))
            report = _signed(monitor, other, self.epoch, self.config_hash, root_of=body)
            body = other
        if kind == "forged":
            report = dataclasses.replace(report, signature=key(HONEST[0]).sign(b"forged"))
        out = self._deliver(report, body)
        expected = {
            "out_of_range": Reason.OUT_OF_RANGE,
            "inconsistent": Reason.INCONSISTENT_BODY,
            "wrong_agents": Reason.WRONG_AGENTS,
            "forged": Reason.BAD_SIGNATURE,
        }
        if kind in expected and out:
            assert isinstance(out[0], Rejected)
            assert out[0].reason in (
                expected[kind],
                Reason.BELOW_REPUTATION,
                Reason.EQUIVOCATION,
                Reason.DUPLICATE,
            ), out[0]
        self.last_byzantine = (report, body)
        return report, body

    # -- the network: duplicates, reorders, replays of earlier epochs ------
    @precondition(lambda self: self.state.phase is Phase.COLLECTING)
    @rule(message=messages)
    def redeliver(self, message: tuple[Report, MonitorBody]) -> None:
        report, body = message
        out = self._deliver(report, body)
        if report.epoch != self.epoch and report.node_id in HONEST:
            assert out and isinstance(out[0], Rejected)
            assert out[0].reason is Reason.WRONG_EPOCH

    # -- close, with an honest or a Byzantine aggregator -------------------
    @contextmanager
    def _aggregator(self) -> Iterator[None]:
        if self.BAD == "mean_not_median":
            original = combine_module.combine_columns
            combine_module.combine_columns = _mean_columns
            try:
                yield
            finally:
                combine_module.combine_columns = original
        else:
            yield

    def _child_check(self, child: int, receipt: Receipt | None) -> ChildPhase:
        own = self.sent[child][0]
        state = ChildState(own=own, parent_key=self.world.keys[REGION])
        if receipt is None:
            return child_step(state, ReceiptTimeout())[0].phase
        if self.BAD == "no_child_inclusion_check":
            receipt.parent.verify(self.world.keys[REGION])
            return ChildPhase.CONFIRMED
        return child_step(state, ReceiveReceipt(receipt=receipt))[0].phase

    @precondition(lambda self: self.state.phase is Phase.COLLECTING)
    @rule(attack=st.sampled_from(ATTACKS), victim=st.integers(0, 5))
    def close(self, attack: str, victim: int) -> None:
        before = self.state
        with self._aggregator():
            after, out = step(self.setup, before, CloseEpoch())
        committed, send = out[0], out[1]
        assert isinstance(committed, Committed) and isinstance(send, SendReport)
        commitment, report = committed.commitment, send.report
        accepted = {child: (r, b) for child, r, b in before.accepted}
        self._check_honest_close(commitment.combined, report, accepted)

        # The aggregator's leaves, as an attacker may rewrite them.
        leaves = [(c, r.root, r.totals) for c, (r, _) in sorted(accepted.items())]
        targets = [i for i, leaf in enumerate(leaves) if leaf[0] == victim]
        if attack == "drop" and targets:
            leaves.pop(targets[0])
        elif attack == "alter" and targets:
            c, root, totals = leaves[targets[0]]
            leaves[targets[0]] = (c, root, (totals[0], totals[1], totals[2] + 1))
        elif attack == "duplicate" and targets:
            leaves.insert(targets[0], leaves[targets[0]])
        elif attack == "reorder":
            leaves.reverse()
        inputs = children_tree(
            [c for c, _, _ in leaves], [r for _, r, _ in leaves], [t for _, _, t in leaves]
        )
        entries = commitment.entries
        combined = commitment.combined
        assert entries is not None and combined is not None
        altered_entry: int | None = None
        if attack == "alter_entry" and len(combined.agent_ids):
            altered_entry = victim % len(combined.agent_ids)
            llrs = combined.llr_sums.copy()
            llrs[altered_entry] += 1
            combined = dataclasses.replace(combined, llr_sums=llrs)
            entries = entries_tree(combined.agent_ids, combined.counts, combined.llr_sums)
        if attack == "duplicate_entry" and len(combined.agent_ids):
            altered_entry = victim % len(combined.agent_ids)  # its copy follows it
            combined = dataclasses.replace(
                combined,
                agent_ids=np.insert(
                    combined.agent_ids, altered_entry, combined.agent_ids[altered_entry]
                ),
                counts=np.insert(combined.counts, altered_entry, combined.counts[altered_entry]),
                llr_sums=np.insert(
                    combined.llr_sums, altered_entry, combined.llr_sums[altered_entry]
                ),
            )
            entries = entries_tree(combined.agent_ids, combined.counts, combined.llr_sums)
        root_totals = entries.root.totals
        signed = sign_report(
            key(REGION),
            epoch=self.epoch,
            config_hash=self.config_hash,
            node_id=REGION,
            tier=Tier.REGIONAL,
            root=commitment_hash(inputs.root, entries.root),
            totals=(root_totals[0], root_totals[1], root_totals[2]),
        )
        if attack in ("duplicate", "reorder"):
            # Harmless to what a regional reports up, and detected anyway by
            # every child (the input leaves no longer strictly increase).
            assert signed.totals == report.totals
        event(f"close: {attack}, {len(accepted)} accepted, {len(combined.agent_ids)} entries")

        # Detectability: every honest child that sent checks its receipt.
        for child in HONEST:
            if child not in self.sent:
                continue
            own = self.sent[child][0]
            mine = child_leaf(own.node_id, own.root, own.totals)
            position = next(
                (i for i, (c, r, t) in enumerate(leaves) if child_leaf(c, r, t) == mine),
                None,
            )
            receipt = None
            if child in accepted:
                index = position
                if index is None:  # dropped or altered: show whatever sits there
                    index = next((i for i, leaf in enumerate(leaves) if leaf[0] == child), 0)
                if leaves:
                    receipt = sign_receipt(
                        key(REGION),
                        child=child,
                        parent=signed,
                        inputs=inputs.root,
                        entries=entries.root,
                        proof=inputs.inclusion_proof(min(index, len(leaves) - 1)),
                        leaves=tuple(leaves),
                    )
            phase = self._child_check(child, receipt)
            ids = [leaf[0] for leaf in leaves]
            well_formed = all(b > a for a, b in itertools.pairwise(ids))
            counted = position is not None and child in accepted and well_formed
            assert detectability(phase is ChildPhase.CONFIRMED, counted), (attack, child)
            if counted:  # and no false alarm
                assert phase is ChildPhase.CONFIRMED, (attack, child)

        # Auditor: open every output entry of the (possibly attacked) trees.
        positions = {leaf[0]: i for i, leaf in reversed(list(enumerate(leaves)))}
        for index, agent in enumerate(combined.agent_ids):
            honest_opening = commitment.opening(int(agent))
            following = index + 1
            has_next = following < len(combined.agent_ids)
            opening = dataclasses.replace(
                honest_opening,
                llr_sum=int(combined.llr_sums[index]),
                entry_proof=entries.inclusion_proof(index),
                next_entry=(
                    (
                        int(combined.agent_ids[following]),
                        int(combined.counts[following]),
                        int(combined.llr_sums[following]),
                    )
                    if has_next
                    else None
                ),
                next_proof=entries.inclusion_proof(following) if has_next else None,
                replicas=tuple(
                    dataclasses.replace(
                        r, input_proof=inputs.inclusion_proof(positions.get(r.monitor.node_id, 0))
                    )
                    for r in honest_opening.replicas
                ),
            )
            try:
                audit_entry(
                    regional=signed,
                    regional_key=self.world.keys[REGION],
                    inputs=inputs.root,
                    entries=entries.root,
                    monitor_keys=self.world.keys,
                    replicas=3,
                    opening=opening,
                    index=index,
                )
                caught = False
            except AuditFailure:
                caught = True
            if attack in ("drop", "alter"):
                touched = victim in {r.monitor.node_id for r in opening.replicas}
                assert caught is touched, (attack, index)
            else:
                assert caught is (index == altered_entry), (attack, index)

        self.state = after
        self.state, _ = step(self.setup, self.state, StartEpoch(epoch=self.epoch + 1))
        self.epoch += 1
        self.sent = {}

    def _check_honest_close(
        self,
        combined: CombinedEntries | None,
        report: Report,
        accepted: dict[int, tuple[Report, MonitorBody | None]],
    ) -> None:
        assert combined is not None
        bodies = {child: body for child, (_, body) in accepted.items() if body is not None}
        reference = combine_replicas_reference(list(bodies.values()), 3)
        # Integrity: the signed totals are the exact sums of the combined entries.
        assert integrity(report.totals[0], [1] * len(combined.agent_ids))
        assert integrity(report.totals[1], (int(c) for c in combined.counts))
        assert integrity(report.totals[2], (int(v) for v in combined.llr_sums))
        # BoundedInfluence: each entry within its honest replicas' range.
        for agent, count, llr in zip(
            combined.agent_ids, combined.counts, combined.llr_sums, strict=True
        ):
            agent = int(agent)
            honest = [
                (b.counts[b.agent_ids.index(agent)], b.llr_sums[b.agent_ids.index(agent)])
                for child, b in bodies.items()
                if child in HONEST and agent in b.agent_ids
            ]
            assert len(honest) >= 2
            assert bounded_influence(int(count), [c for c, _ in honest])
            assert bounded_influence(int(llr), [v for _, v in honest])
        if self.BAD is None:
            assert {
                int(a): (int(c), int(v))
                for a, c, v in zip(
                    combined.agent_ids, combined.counts, combined.llr_sums, strict=True
                )
            } == reference

    # -- invariants after every step -----------------------------------------
    @invariant()
    def fan_in_bound_holds(self) -> None:
        assert fan_in_bound(len(self.state.accepted), self.world.config.max_aggregation_ratio)

    @invariant()
    def reputation_gate_holds(self) -> None:
        if self.state.phase is Phase.COLLECTING:
            policy = self.world.config.reputation
            excluded = self.state.equivocators | {
                child
                for child, reputation in self.state.reputations
                if not reputation.admitted(self.state.epoch, policy)
            }
            assert reputation_gate(self.state.accepted_ids(), excluded)

    @invariant()
    def honest_reports_accepted_unaltered(self) -> None:
        for child, report, body in self.state.accepted:
            if child in HONEST:
                assert (report, body) == self.sent[child]


CI = settings(
    max_examples=100,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

TestShapMachine = ShapMachine.TestCase
TestShapMachine.settings = CI


@pytest.mark.parametrize("bad", KNOWN_BAD)
def test_known_bad_variants_fail(bad: str) -> None:
    machine = type(f"Bad_{bad}", (ShapMachine,), {"BAD": bad})
    with pytest.raises(AssertionError):
        run_state_machine_as_test(
            machine,
            settings=settings(
                CI,
                max_examples=300,
                stateful_step_count=30,
                database=None,
                derandomize=True,  # the same search on every machine, CI or not
                print_blob=False,
                report_multiple_bugs=False,
                phases=[HypothesisPhase.generate],  # the first failure is enough: no shrinking
            ),
        )
