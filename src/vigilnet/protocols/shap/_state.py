"""SHAP state machines: the aggregator (regional or hub) and the child check.

Theory of operation
===================

SHAP carries each epoch's evidence about every agent up a tree (DESIGN.md
4.2): local monitors (up to 2,000 agents each) report to a regional
aggregator, regionals to a continental hub.  Each agent is observed by ``r``
monitors (replicas) under one regional, so the regional is the first tier
that sees all replicas of an agent.  Nothing here does I/O, reads a clock or
draws randomness: a node is ``step(setup, state, event) -> (state,
outputs)``, and the outputs are commands (:class:`SendReport`,
:class:`SendReceipt`, :class:`Rejected`, :class:`Committed`,
:class:`Alarm`), never effects.

The rules, numbered as the spec cites them (``# spec: SHAP-n``; the TLA+
action names of ``spec/SHAP.tla`` in brackets):

1. **Admission** [``Receive``].  An aggregator in phase ``COLLECTING`` takes a
   child's report only if, in this order: the sender is registered (its key
   and, at a regional, its agents were configured); the signature verifies
   under the registered key over ``sign_bytes(REPORT_TAG, fields)``; the
   tier is the one below ours; the epoch is ours and the config hash is
   ours; the sender's reputation is at least ``reputation_threshold`` and it
   is not banned [``ReputationGate``]; the report is not one we already hold
   (duplicate) and not a *different* report signed by the same node for the
   same epoch (equivocation); taking it keeps the number of children at most
   ``max_aggregation_ratio`` [``FanInBound``]; its signed totals are within
   the child share (so no combination can overflow); and, for a monitor,
   its body hashes to the signed ``body_digest``, covers exactly its
   registered agents, has at most ``max_agents`` entries, every count and sum
   is within the evidence bounds (``0 <= count``, ``|sum| <= count *
   lambda_max``) and the body's sums within the child share, and the body's
   entries tree recomputes the signed root and totals.
2. **Rejection.**  A report that fails rule 1 raises :class:`ReportRejected`
   naming the :class:`Reason`; :func:`receive_report` changes nothing.
   :func:`step` turns the error into a :class:`Rejected` output and records
   the only trace a rejection may leave: a strike against the sender when the
   reason is *attributable*, that is when the sender's own signature covers
   what was found wrong (a validly signed report whose signed totals, or
   whose body matching the signed digest, is out of range, for the wrong
   agents or inconsistent with the signed root), and for equivocation the
   sender's exclusion from this epoch (its accepted report withdrawn) and a
   ban at close.  A bad signature, a body that does not match the signed
   digest (anyone can pair a genuine report with another body), an unknown
   sender, a stale epoch or a duplicate count against nobody: a forger or
   the network can cause them [``NoFraming``].
3. **Combination** [``Close``].  At a regional, per agent, the lower median of
   each coordinate of its ``r`` replicas (:func:`vigilnet.aggregation.replica_median`);
   an agent with fewer than ``r`` accepted replicas gets no entry this epoch
   (with one replica missing, a Byzantine one among the rest could own the
   median).  At a hub, exact integer sums of the children's totals.
4. **Commitment** [``Close``].  Two Merkle-sum trees: *inputs* (one leaf per
   accepted child: ``node_id || child_root`` with the child's totals) and,
   at a regional, *entries* (one leaf per agent's combined entry).  The
   signed root is ``commitment_hash(inputs, entries)``; the totals are the
   entries' (regional) or the inputs' (hub).
5. **Receipts** [``Close``].  Every accepted child gets its inclusion proof
   in the inputs tree with the parent's signed report and both tree roots,
   the whole receipt signed by the parent and addressed to the child.
6. **Child check** [``Check``].  A child first checks that the receipt is
   signed as a whole by its parent and is addressed to it for its epoch and
   config; a receipt that is not is refused (a :class:`Rejected` output, the
   child's state unchanged: a forger or a replay can cause it, so it raises
   no alarm against the parent).  On a receipt the parent did sign, it
   verifies the parent's report signature, epoch and config, that the two
   roots hash to the signed root,
   that the signed totals are the right tree's totals, the inclusion of
   *its own* leaf (its own root and totals) in the inputs tree, and, from
   the list of all input leaves (at most ``max_aggregation_ratio``), that
   they give the inputs root with node ids strictly increasing, so no child
   is counted twice (which matters at a hub, whose totals are the inputs').  Any failure
   there (including leaves whose sums overflow), or no receipt by the
   deadline, moves it to ``ALARMED``: an aggregator that
   drops or alters an honest child's report is caught by that child with
   certainty [``Detectability``].
7. **Reputation** [``Close``].  At close every accepted child's reputation
   observes one consistent report, every struck child its strikes as
   inconsistent reports, and every proven equivocator is banned
   (:meth:`vigilnet.evidence.Reputation.penalise`).
8. **Epochs.**  ``StartEpoch(e)`` with ``e`` above the current epoch moves a
   ``CLOSED`` aggregator to ``COLLECTING`` for ``e`` with nothing accepted.

Transitions are data: :data:`AGGREGATOR_TRANSITIONS` maps ``(phase, event
type)`` to a handler; a missing key is an illegal event for the phase and
raises :class:`~vigilnet.errors.LocalProtocolError` (our caller's bug).
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final, TypeAlias, cast

import numpy as np

from vigilnet.crypto import SigningKey, VerifyKey
from vigilnet.errors import LocalProtocolError, ensure
from vigilnet.evidence import Reputation
from vigilnet.merkle import SumProofError, verify_sum_inclusion
from vigilnet.protocols.shap._combine import EpochCommitment, commit_hub, commit_regional
from vigilnet.protocols.shap._commit import (
    LAYOUT,
    child_leaf,
    children_tree,
    commitment_hash,
    entries_tree,
)
from vigilnet.protocols.shap._messages import (
    MonitorBody,
    Reason,
    Receipt,
    Report,
    ReportRejected,
    ShapConfig,
    Tier,
    check_totals,
    sign_report,
)

__all__ = [
    "AGGREGATOR_TRANSITIONS",
    "CHILD_TRANSITIONS",
    "AggregatorSetup",
    "AggregatorState",
    "Alarm",
    "ChildEvent",
    "ChildPhase",
    "ChildState",
    "CloseEpoch",
    "Committed",
    "Confirmed",
    "Output",
    "Phase",
    "ReceiptTimeout",
    "ReceiveReceipt",
    "ReceiveReport",
    "Rejected",
    "SendReceipt",
    "SendReport",
    "StartEpoch",
    "check_receipt",
    "child_step",
    "initial_state",
    "monitor_report",
    "receive_report",
    "step",
]


class Phase(enum.Enum):
    """An aggregator's phase within its epoch."""

    COLLECTING = "collecting"
    CLOSED = "closed"

    def __repr__(self) -> str:
        return f"Phase.{self.name}"


class ChildPhase(enum.Enum):
    """A child after sending its report: waiting, satisfied, or alarmed."""

    AWAITING = "awaiting"
    CONFIRMED = "confirmed"
    ALARMED = "alarmed"

    def __repr__(self) -> str:
        return f"ChildPhase.{self.name}"


_BELOW: Final = {Tier.REGIONAL: Tier.MONITOR, Tier.HUB: Tier.REGIONAL}


@dataclass(frozen=True, slots=True, kw_only=True)
class AggregatorSetup:
    """What an aggregator is configured with (not state: it never changes
    within a run).  ``children`` maps each registered child to its key;
    ``placement`` (regional only) maps each monitor to its agents."""

    node_id: int
    tier: Tier
    config: ShapConfig
    signing_key: SigningKey
    children: Mapping[int, VerifyKey]
    placement: Mapping[int, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ensure(self.tier in _BELOW, "an aggregator is a regional or a hub", LocalProtocolError)
        # spec: SHAP-1, FanInBound: registration itself respects the bound.
        ensure(
            len(self.children) <= self.config.max_aggregation_ratio,
            f"{len(self.children)} children exceed max_aggregation_ratio "
            f"{self.config.max_aggregation_ratio}",
            LocalProtocolError,
        )
        if self.tier is Tier.REGIONAL:
            ensure(
                set(self.placement) == set(self.children),
                "every monitor needs a placement",
                LocalProtocolError,
            )
            for agents in self.placement.values():
                ensure(
                    type(agents) is tuple
                    and all(type(a) is int and 0 <= a < 1 << 64 for a in agents)
                    and list(agents) == sorted(set(agents)),
                    "placements are tuples of strictly increasing uint64 agent ids",
                    LocalProtocolError,
                )

    @property
    def child_tier(self) -> Tier:
        return _BELOW[self.tier]


@dataclass(frozen=True, slots=True, kw_only=True)
class AggregatorState:
    """An aggregator's state: its epoch and phase, the reports (and bodies)
    accepted so far, the strikes recorded this epoch, the proven
    equivocators, the children's reputations, and once closed its report."""

    epoch: int
    phase: Phase
    accepted: tuple[tuple[int, Report, MonitorBody | None], ...]
    strikes: tuple[tuple[int, int], ...]
    equivocators: frozenset[int]
    reputations: tuple[tuple[int, Reputation], ...]
    report: Report | None = None

    def accepted_ids(self) -> frozenset[int]:
        return frozenset(child for child, _, _ in self.accepted)

    def reputation(self, child: int) -> Reputation:
        return dict(self.reputations)[child]


def initial_state(setup: AggregatorSetup, epoch: int) -> AggregatorState:
    """``COLLECTING`` at ``epoch``; every child at the policy's prior."""
    policy = setup.config.reputation
    return AggregatorState(
        epoch=epoch,
        phase=Phase.COLLECTING,
        accepted=(),
        strikes=(),
        equivocators=frozenset(),
        reputations=tuple((child, policy.new()) for child in sorted(setup.children)),
    )


# --------------------------------------------------------------------------
# Events and outputs


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiveReport:
    report: Report
    body: MonitorBody | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseEpoch:
    """The epoch's collection deadline (time arrives as an event)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StartEpoch:
    epoch: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SendReport:
    """Send our signed report to our parent."""

    report: Report


@dataclass(frozen=True, slots=True, kw_only=True)
class SendReceipt:
    """Send ``receipt`` to child ``child``."""

    child: int
    receipt: Receipt


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    """A report (or, at a child, a receipt) was rejected; ``struck`` says
    whether it counted against the sender's reputation."""

    sender: int | None
    reason: Reason
    detail: str
    struck: bool


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Committed:
    """The epoch's commitment (trees and bodies) for the caller to keep, so
    that it can answer auditors (:meth:`EpochCommitment.opening`)."""

    commitment: EpochCommitment


@dataclass(frozen=True, slots=True, kw_only=True)
class Alarm:
    """A child's check of its receipt failed: its parent dropped or altered
    its report (or signed something inconsistent)."""

    node_id: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Confirmed:
    """A child's report is counted, unaltered, in its parent's signed root."""

    node_id: int


Event: TypeAlias = ReceiveReport | CloseEpoch | StartEpoch
Output: TypeAlias = SendReport | SendReceipt | Rejected | Committed | Alarm | Confirmed


# --------------------------------------------------------------------------
# Rule 1: admission (raises, never changes state)


def _check_body(setup: AggregatorSetup, report: Report, body: MonitorBody | None) -> None:
    sender = report.node_id
    if setup.tier is not Tier.REGIONAL:
        if body is not None:
            raise ReportRejected(Reason.MALFORMED, sender, "only monitors send bodies")
        return
    if body is None:
        raise ReportRejected(Reason.MALFORMED, sender, "a monitor's report needs its body")
    # Not attributable: a forger can pair the signed report with any body.
    if body.digest != report.body_digest:
        raise ReportRejected(Reason.BODY_MISMATCH, sender)
    # From here on the signer's own signature covers the body.
    if body.agent_ids != setup.placement[sender]:
        raise ReportRejected(Reason.WRONG_AGENTS, sender)
    body.check_bounds(setup.config, sender)
    tree = entries_tree(
        np.asarray(body.agent_ids, dtype=np.uint64),
        np.asarray(body.counts, dtype=np.int64),
        np.asarray(body.llr_sums, dtype=np.int64),
    )
    if commitment_hash(None, tree.root) != report.root or tree.root.totals != report.totals:
        raise ReportRejected(Reason.INCONSISTENT_BODY, sender)


def receive_report(
    setup: AggregatorSetup, state: AggregatorState, report: Report, body: MonitorBody | None
) -> AggregatorState:
    """Rule 1: the state with ``report`` accepted, or :class:`ReportRejected`
    (and nothing changed)."""
    sender = report.node_id
    if state.phase is not Phase.COLLECTING:
        raise ReportRejected(Reason.EPOCH_CLOSED, sender)
    key = setup.children.get(sender)
    if key is None:
        raise ReportRejected(Reason.UNREGISTERED, sender)
    report.verify(key)
    if report.tier is not setup.child_tier:
        raise ReportRejected(Reason.WRONG_TIER, sender, f"{report.tier.value}")
    if report.epoch != state.epoch:
        raise ReportRejected(Reason.WRONG_EPOCH, sender, f"{report.epoch} != {state.epoch}")
    if report.config_hash != setup.config.config_hash:
        raise ReportRejected(Reason.WRONG_CONFIG, sender)
    # spec: SHAP-1, ReputationGate
    if sender in state.equivocators or not state.reputation(sender).admitted(
        state.epoch, setup.config.reputation
    ):
        raise ReportRejected(Reason.BELOW_REPUTATION, sender)
    for child, held, _ in state.accepted:
        if child == sender:
            if held.signed_content == report.signed_content:
                raise ReportRejected(Reason.DUPLICATE, sender)
            raise ReportRejected(Reason.EQUIVOCATION, sender, "two signed reports for one epoch")
    # spec: SHAP-1, FanInBound
    if len(state.accepted) >= setup.config.max_aggregation_ratio:
        raise ReportRejected(Reason.FAN_IN_EXCEEDED, sender)
    # spec: SHAP-1: no sum a child contributes can overflow its combination.
    check_totals(setup.config, report)
    _check_body(setup, report, body)
    accepted = tuple(sorted((*state.accepted, (sender, report, body)), key=lambda item: item[0]))
    return replace(state, accepted=accepted)


# --------------------------------------------------------------------------
# Rule 2: the funnel's bookkeeping of a rejection


def _strike(state: AggregatorState, sender: int) -> AggregatorState:
    strikes = dict(state.strikes)
    strikes[sender] = strikes.get(sender, 0) + 1
    return replace(state, strikes=tuple(sorted(strikes.items())))


def _on_rejection(
    setup: AggregatorSetup, state: AggregatorState, error: ReportRejected
) -> tuple[AggregatorState, tuple[Output, ...]]:
    sender = error.sender
    struck = error.reason.attributable and sender is not None and sender in setup.children
    if struck and sender is not None:
        state = _strike(state, sender)
        if error.reason is Reason.EQUIVOCATION:
            state = replace(
                state,
                equivocators=state.equivocators | {sender},
                accepted=tuple(item for item in state.accepted if item[0] != sender),
            )
    detail = str(error)
    return state, (Rejected(sender=sender, reason=error.reason, detail=detail, struck=struck),)


# --------------------------------------------------------------------------
# Handlers (the transition table's values)


def _on_receive(
    setup: AggregatorSetup, state: AggregatorState, event: Event
) -> tuple[AggregatorState, tuple[Output, ...]]:
    event = cast(ReceiveReport, event)  # the table routes only ReceiveReport here
    try:
        return receive_report(setup, state, event.report, event.body), ()
    except ReportRejected as error:
        return _on_rejection(setup, state, error)


def _on_close(
    setup: AggregatorSetup, state: AggregatorState, event: Event
) -> tuple[AggregatorState, tuple[Output, ...]]:
    # spec: SHAP-3, SHAP-4
    if setup.tier is Tier.REGIONAL:
        commitment = commit_regional(state.accepted, replicas=setup.config.replicas)
    else:
        commitment = commit_hub(state.accepted)
    report = sign_report(
        setup.signing_key,
        epoch=state.epoch,
        config_hash=setup.config.config_hash,
        node_id=setup.node_id,
        tier=setup.tier,
        root=commitment.root,
        totals=commitment.totals,
    )
    commitment = commitment.signed(report)
    # spec: SHAP-5
    receipts = tuple(
        SendReceipt(child=child, receipt=commitment.receipt(child, setup.signing_key))
        for child, _, _ in state.accepted
    )
    # spec: SHAP-7
    policy = setup.config.reputation
    strikes = dict(state.strikes)
    accepted = state.accepted_ids()
    reputations = []
    for child, reputation in state.reputations:
        if child in state.equivocators:
            reputation = reputation.penalise(state.epoch, policy)
        elif child in accepted or child in strikes:
            reputation = reputation.observe(
                consistent=int(child in accepted),
                inconsistent=strikes.get(child, 0),
                policy=policy,
            )
        reputations.append((child, reputation))
    closed = replace(state, phase=Phase.CLOSED, report=report, reputations=tuple(reputations))
    return closed, (Committed(commitment=commitment), SendReport(report=report), *receipts)


def _on_start(
    setup: AggregatorSetup, state: AggregatorState, event: Event
) -> tuple[AggregatorState, tuple[Output, ...]]:
    event = cast(StartEpoch, event)
    ensure(event.epoch > state.epoch, "epochs only move forward", LocalProtocolError)
    return (
        replace(
            state,
            epoch=event.epoch,
            phase=Phase.COLLECTING,
            accepted=(),
            strikes=(),
            equivocators=frozenset(),
            report=None,
        ),
        (),
    )


Handler: TypeAlias = Callable[
    [AggregatorSetup, AggregatorState, Event], tuple[AggregatorState, tuple[Output, ...]]
]

#: ``(phase, event type) -> handler``; a missing key is an illegal event.
AGGREGATOR_TRANSITIONS: Final[Mapping[tuple[Phase, type], Handler]] = {
    (Phase.COLLECTING, ReceiveReport): _on_receive,
    (Phase.COLLECTING, CloseEpoch): _on_close,
    (Phase.CLOSED, ReceiveReport): _on_receive,  # rejected: EPOCH_CLOSED
    (Phase.CLOSED, StartEpoch): _on_start,
}


def step(
    setup: AggregatorSetup, state: AggregatorState, event: Event
) -> tuple[AggregatorState, tuple[Output, ...]]:
    """The aggregator's one funnel: every event goes through here."""
    handler = AGGREGATOR_TRANSITIONS.get((state.phase, type(event)))
    if handler is None:
        raise LocalProtocolError(f"{type(event).__name__} is not allowed in phase {state.phase}")
    return handler(setup, state, event)


# --------------------------------------------------------------------------
# The child side (monitors and regionals): rule 6


def monitor_report(
    *,
    signing_key: SigningKey,
    node_id: int,
    epoch: int,
    config: ShapConfig,
    body: MonitorBody,
) -> Report:
    """A local monitor's signed report over its entries tree and its body's
    digest (:class:`LocalProtocolError` for a body no regional would take)."""
    try:
        body.check_bounds(config, node_id)
    except ReportRejected as exc:
        raise LocalProtocolError(f"our own body is out of range: {exc}") from None
    tree = entries_tree(
        np.asarray(body.agent_ids, dtype=np.uint64),
        np.asarray(body.counts, dtype=np.int64),
        np.asarray(body.llr_sums, dtype=np.int64),
    )
    return sign_report(
        signing_key,
        epoch=epoch,
        config_hash=config.config_hash,
        node_id=node_id,
        tier=Tier.MONITOR,
        root=commitment_hash(None, tree.root),
        totals=(tree.root.totals[0], tree.root.totals[1], tree.root.totals[2]),
        body_digest=body.digest,
    )


#: Reasons a child refuses a receipt without alarm: it is not a receipt its
#: parent signed for this child, epoch and config (a forger's or a replay).
_REFUSALS: Final = frozenset({Reason.BAD_SIGNATURE, Reason.NOT_ADDRESSED})


def _check_addressed(own: Report, parent_key: VerifyKey, receipt: Receipt) -> None:
    """The receipt is signed as a whole by the parent and is for ``own``'s
    node, epoch and config; else :class:`ReportRejected` in :data:`_REFUSALS`."""
    receipt.verify(parent_key)
    parent = receipt.parent
    if (
        receipt.child != own.node_id
        or parent.epoch != own.epoch
        or parent.config_hash != own.config_hash
    ):
        raise ReportRejected(Reason.NOT_ADDRESSED, parent.node_id)


def _check_counted(own: Report, parent_key: VerifyKey, receipt: Receipt) -> None:
    """On a receipt the parent signed for us: is ``own`` counted, unaltered?"""
    parent = receipt.parent
    sender = parent.node_id
    try:
        parent.verify(parent_key)
    except ReportRejected as exc:
        raise ReportRejected(Reason.INCONSISTENT_BODY, sender, f"parent report: {exc}") from None
    if commitment_hash(receipt.inputs, receipt.entries) != parent.root:
        raise ReportRejected(
            Reason.INCONSISTENT_BODY, sender, "roots do not hash to the signed root"
        )
    totals = receipt.entries.totals if receipt.entries is not None else receipt.inputs.totals
    if totals != parent.totals:
        raise ReportRejected(Reason.INCONSISTENT_BODY, sender, "signed totals are not the tree's")
    try:
        verify_sum_inclusion(
            layout=LAYOUT,
            leaf=child_leaf(own.node_id, own.root, own.totals),
            proof=receipt.proof,
            root=receipt.inputs,
        )
    except SumProofError as exc:
        raise ReportRejected(Reason.OMITTED_OR_ALTERED, sender, str(exc)) from None
    leaves = receipt.leaves
    ids = [node for node, _, _ in leaves]
    try:
        shown = children_tree(ids, [r for _, r, _ in leaves], [t for _, _, t in leaves]).root
    except LocalProtocolError as exc:  # the shown leaves' sums overflow the layout
        raise ReportRejected(Reason.INCONSISTENT_BODY, sender, f"input leaves: {exc}") from None
    if shown != receipt.inputs:
        raise ReportRejected(Reason.INCONSISTENT_BODY, sender, "input leaves do not give the root")
    if any(b <= a for a, b in itertools.pairwise(ids)):
        raise ReportRejected(
            Reason.OMITTED_OR_ALTERED, sender, "input leaves not strictly increasing: duplicated"
        )
    index = receipt.proof.leaf_index
    if leaves[index] != (own.node_id, own.root, own.totals):
        raise ReportRejected(Reason.OMITTED_OR_ALTERED, sender, "own leaf not at the proof's index")


def check_receipt(own: Report, parent_key: VerifyKey, receipt: Receipt) -> None:
    """Rule 6: return if ``receipt`` is the parent's, for ``own``, and
    ``own`` is counted, unaltered, under the parent's signed root; raise
    :class:`ReportRejected` naming what failed (``BAD_SIGNATURE`` or
    ``NOT_ADDRESSED``: not the parent's receipt for us; any other reason:
    the parent's fault)."""
    _check_addressed(own, parent_key, receipt)
    _check_counted(own, parent_key, receipt)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildState:
    """A child after sending ``own`` to the parent whose key is ``parent_key``."""

    own: Report
    parent_key: VerifyKey
    phase: ChildPhase = ChildPhase.AWAITING


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiveReceipt:
    receipt: Receipt


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiptTimeout:
    """The receipt deadline passed."""


ChildEvent: TypeAlias = ReceiveReceipt | ReceiptTimeout


def _child_receipt(state: ChildState, event: ChildEvent) -> tuple[ChildState, tuple[Output, ...]]:
    event = cast(ReceiveReceipt, event)
    try:
        check_receipt(state.own, state.parent_key, event.receipt)
    except ReportRejected as error:
        if error.reason in _REFUSALS:  # spec: SHAP-6, NoFraming: not the parent's doing
            refused = Rejected(
                sender=error.sender, reason=error.reason, detail=str(error), struck=False
            )
            return state, (refused,)
        return replace(state, phase=ChildPhase.ALARMED), (
            Alarm(node_id=state.own.node_id, reason=str(error)),
        )
    return replace(state, phase=ChildPhase.CONFIRMED), (Confirmed(node_id=state.own.node_id),)


def _child_timeout(state: ChildState, event: ChildEvent) -> tuple[ChildState, tuple[Output, ...]]:
    return replace(state, phase=ChildPhase.ALARMED), (
        Alarm(node_id=state.own.node_id, reason="no receipt by the deadline"),
    )


ChildHandler: TypeAlias = Callable[[ChildState, ChildEvent], tuple[ChildState, tuple[Output, ...]]]

#: ``(phase, event type) -> handler`` for the child; errors are sticky
#: (``ALARMED`` takes no event) and so is confirmation.
CHILD_TRANSITIONS: Final[Mapping[tuple[ChildPhase, type], ChildHandler]] = {
    (ChildPhase.AWAITING, ReceiveReceipt): _child_receipt,
    (ChildPhase.AWAITING, ReceiptTimeout): _child_timeout,
}


def child_step(state: ChildState, event: ChildEvent) -> tuple[ChildState, tuple[Output, ...]]:
    handler = CHILD_TRANSITIONS.get((state.phase, type(event)))
    if handler is None:
        raise LocalProtocolError(f"{type(event).__name__} is not allowed in phase {state.phase}")
    return handler(state, event)
