"""The SDBC hub: a pure state machine, ``step(state, input) -> (state, outputs)``.

Theory of operation
===================

One hub runs one epoch at a time.  An epoch is one instance of Tendermint's
algorithm (arXiv 1807.04938, Algorithm 1; ``spec/SDBC.tla``) deciding one
:class:`~vigilnet.protocols.sdbc.Value`: at least ``q`` signed epoch summaries
of distinct hubs and their trimmed aggregate.  Everything arrives as an
input (:data:`Input`) and everything the hub wants done leaves as a command
(:data:`Output`); nothing here reads a clock, a socket or a random source.

Numbered rules (``# rule N`` in the code; the TLA+ action in brackets):

1. ``Start(epoch, summary)``: sign and broadcast our summary, enter round 0
   (``StartRound``).  Only from IDLE or DECIDED, for a later epoch.
2. Every received message passes one funnel (:func:`_admit`): it must be for
   our epoch and configuration, from a member, correctly signed, not a
   replay, not beyond ``MAX_ROUND_LEAD`` rounds ahead; proposals only from
   the round's proposer.  Anything else raises :class:`BadMessage` (a
   RemoteProtocolError) and the state is unchanged.  A second, different vote
   for the same (kind, epoch, round, hub) is stored as
   :class:`EquivocationEvidence` and reported; it is never counted.
3. After each admitted input the upon-rules run to a fixpoint:

   a. proposer, step PROPOSE: propose ``valid_value`` or, with ``q``
      summaries, a fresh value [InsertProposal];
   b. step PROPOSE, proposal with ``valid_round = -1``: prevote it if
      ``valid(v)`` and unlocked or locked on it, else nil
      [UponProposalInPropose];
   c. step PROPOSE, proposal with ``valid_round = vr >= 0`` and a polka for it
      in ``vr``: prevote it if ``valid(v)`` and ``locked_round <= vr`` or
      locked on it, else nil [UponProposalInProposeAndPrevote];
   d. step PREVOTE or PRECOMMIT, proposal ``v`` valid with a polka in this
      round, first time: in PREVOTE lock ``v`` and precommit it; always set
      ``valid_value`` [UponProposalInPrevoteOrCommitAndPrevote];
   e. step PREVOTE, ``q`` prevotes of any kind: set the prevote timer;
      ``q`` precommits of any kind in this round: set the precommit timer;
   f. a proposal ``v`` of some round ``r``, ``q`` precommits for it in ``r``,
      ``valid(v)``: decide, emit the certificate [Decidable];
   g. ``N - q + 1`` distinct signers in a later round: go there
      [OnRoundCatchup].
4. Timeouts (inputs, durations grow with the round): propose -> prevote nil
   [OnTimeoutPropose]; prevote -> precommit nil [UponQuorumOfPrevotesAny];
   precommit -> next round [UponQuorumOfPrecommitsAny].  A timeout for
   another epoch, round or step is stale and changes nothing.
5. Thresholds: ``RaiseThreshold`` raises this hub's quorum within the epoch,
   never above ``N - f_live`` and never down (LocalProtocolError).  Lowering
   happens only through a decided value whose ``next_threshold`` takes
   effect at the next ``Start``.

Transitions are the table :data:`TRANSITIONS`: (step, input kind) -> rule.
A missing key is an illegal input: a LocalProtocolError for a local input,
a BadMessage for a message.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Final, TypeAlias

from vigilnet.crypto import SigningKey
from vigilnet.errors import LocalProtocolError, ensure
from vigilnet.protocols.sdbc._certificates import DecisionCertificate, EquivocationEvidence
from vigilnet.protocols.sdbc._messages import (
    PRECOMMIT,
    PREVOTE,
    BadMessage,
    EpochSummary,
    HubConfig,
    Message,
    Proposal,
    Value,
    Vote,
    check_signature,
    sign_proposal,
    sign_summary,
    sign_vote,
)
from vigilnet.thresholds import quorum as quorum_of

__all__ = [
    "MAX_ROUND_LEAD",
    "TIMEOUT_BASE",
    "TIMEOUT_DELTA",
    "TRANSITIONS",
    "Broadcast",
    "Decide",
    "Input",
    "NodeState",
    "Output",
    "RaiseThreshold",
    "Receive",
    "ReportEvidence",
    "SetTimer",
    "Start",
    "Step",
    "Timeout",
    "initial_state",
    "step",
]

#: A message more than this many rounds ahead of ours is refused (memory bound).
MAX_ROUND_LEAD: Final = 64
#: Timeout of ``step`` in round ``r``: ``TIMEOUT_BASE[step] + r * TIMEOUT_DELTA[step]`` ms.
TIMEOUT_BASE: Final = {"propose": 3000, "prevote": 1000, "precommit": 1000}
TIMEOUT_DELTA: Final = {"propose": 500, "prevote": 500, "precommit": 500}


class Step(enum.Enum):
    IDLE = 0
    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3
    DECIDED = 4


# -- inputs ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Start:
    epoch: int
    summary: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Receive:
    message: Message


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeout:
    epoch: int
    round: int
    step: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RaiseThreshold:
    threshold: Fraction


Input: TypeAlias = Start | Receive | Timeout | RaiseThreshold


# -- outputs (commands) ------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Broadcast:
    message: Message


@dataclass(frozen=True, slots=True, kw_only=True)
class SetTimer:
    epoch: int
    round: int
    step: str
    duration_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Decide:
    epoch: int
    value: Value
    certificate: DecisionCertificate


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportEvidence:
    evidence: EquivocationEvidence


Output: TypeAlias = Broadcast | SetTimer | Decide | ReportEvidence


# -- state -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeState:
    """Everything one hub knows.  ``quorum`` is this hub's (possibly raised)
    quorum for the current epoch."""

    key: SigningKey
    hub: int
    config: HubConfig
    epoch: int = -1
    step: Step = Step.IDLE
    round: int = 0
    quorum: int = 0
    locked_value: Value | None = None
    locked_round: int = -1
    valid_value: Value | None = None
    valid_round: int = -1
    summaries: frozenset[EpochSummary] = frozenset()
    proposals: frozenset[Proposal] = frozenset()
    valid_hashes: frozenset[bytes] = frozenset()
    votes: frozenset[Vote] = frozenset()
    evidence: frozenset[EquivocationEvidence] = frozenset()
    timers: frozenset[tuple[int, str]] = frozenset()
    decision: Value | None = None
    certificate: DecisionCertificate | None = None
    next_threshold: Fraction | None = None
    proposed_threshold: Fraction | None = field(default=None)

    def __post_init__(self) -> None:
        ensure(
            bytes(self.key.verify_key) == bytes(self.config.members[self.hub]),
            "the signing key is not this hub's member key",
            LocalProtocolError,
        )


def initial_state(
    key: SigningKey, hub: int, config: HubConfig, proposed_threshold: Fraction | None = None
) -> NodeState:
    return NodeState(
        key=key, hub=hub, config=config, quorum=config.quorum, proposed_threshold=proposed_threshold
    )


Result = tuple[NodeState, list[Output]]


# -- counting ----------------------------------------------------------------


def _signers(s: NodeState, kind: str, r: int, value_hash: object = ...) -> set[int]:
    return {
        v.hub
        for v in s.votes
        if v.kind == kind and v.round == r and (value_hash is ... or v.value_hash == value_hash)
    }


def _round_senders(s: NodeState, r: int) -> set[int]:
    return {v.hub for v in s.votes if v.round == r} | {p.hub for p in s.proposals if p.round == r}


def _round_proposals(s: NodeState, r: int) -> list[Proposal]:
    return sorted(
        (p for p in s.proposals if p.round == r),
        key=lambda p: (p.valid_round, p.value.value_hash),
    )


def _valid(s: NodeState, v: Value) -> bool:
    return v.value_hash in s.valid_hashes


# -- helpers -----------------------------------------------------------------


def _timer(s: NodeState, step_name: str) -> SetTimer:
    return SetTimer(
        epoch=s.epoch,
        round=s.round,
        step=step_name,
        duration_ms=TIMEOUT_BASE[step_name] + s.round * TIMEOUT_DELTA[step_name],
    )


def _vote(s: NodeState, kind: str, value_hash: bytes | None) -> tuple[NodeState, Output]:
    vote = sign_vote(s.key, s.config, kind, s.epoch, s.round, s.hub, value_hash)
    nxt = Step.PREVOTE if kind == PREVOTE else Step.PRECOMMIT
    return replace(s, votes=s.votes | {vote}, step=nxt), Broadcast(message=vote)


def _start_round(s: NodeState, r: int) -> Result:
    s = replace(s, round=r, step=Step.PROPOSE)
    return s, [_timer(s, "propose")]


# -- rule 3: the upon-rules ----------------------------------------------------


def _propose(s: NodeState) -> Result | None:  # rule 3a
    if s.step is not Step.PROPOSE or s.config.proposer(s.epoch, s.round) != s.hub:
        return None
    if any(p.round == s.round and p.hub == s.hub for p in s.proposals):
        return None
    value = s.valid_value
    if value is None:
        mine = sorted(s.summaries, key=lambda x: x.hub)[: s.config.quorum]
        if len(mine) < s.config.quorum:
            return None
        value = Value.build(s.config, s.epoch, tuple(mine), s.proposed_threshold)
    proposal = sign_proposal(s.key, s.config, s.epoch, s.round, s.hub, value, s.valid_round)
    s = replace(
        s,
        proposals=s.proposals | {proposal},
        valid_hashes=s.valid_hashes | {value.value_hash},
    )
    return s, [Broadcast(message=proposal)]


def _prevote_on_proposal(s: NodeState) -> Result | None:  # rules 3b, 3c
    if s.step is not Step.PROPOSE:
        return None
    for p in _round_proposals(s, s.round):
        v, vr = p.value, p.valid_round
        if vr == -1:
            free = s.locked_round == -1 or s.locked_value == v
        elif 0 <= vr < s.round and len(_signers(s, PREVOTE, vr, v.value_hash)) >= s.quorum:
            free = s.locked_round <= vr or s.locked_value == v
        else:
            continue
        vh = v.value_hash if _valid(s, v) and free else None
        s, out = _vote(s, PREVOTE, vh)
        return s, [out]
    return None


def _lock_on_polka(s: NodeState) -> Result | None:  # rule 3d
    if s.step not in (Step.PREVOTE, Step.PRECOMMIT):
        return None
    for p in _round_proposals(s, s.round):
        v = p.value
        if not _valid(s, v) or len(_signers(s, PREVOTE, s.round, v.value_hash)) < s.quorum:
            continue
        if s.step is Step.PRECOMMIT and s.valid_round == s.round and s.valid_value == v:
            continue
        outputs: list[Output] = []
        t = replace(s, valid_value=v, valid_round=s.round)
        if s.step is Step.PREVOTE:
            t = replace(t, locked_value=v, locked_round=s.round)
            t, out = _vote(t, PRECOMMIT, v.value_hash)
            outputs.append(out)
        return t, outputs
    return None


def _timers(s: NodeState) -> Result | None:  # rule 3e
    if (
        s.step is Step.PREVOTE
        and (s.round, "prevote") not in s.timers
        and len(_signers(s, PREVOTE, s.round)) >= s.quorum
    ):
        return replace(s, timers=s.timers | {(s.round, "prevote")}), [_timer(s, "prevote")]
    if (
        s.step in (Step.PROPOSE, Step.PREVOTE, Step.PRECOMMIT)
        and (
            s.round,
            "precommit",
        )
        not in s.timers
    ) and len(_signers(s, PRECOMMIT, s.round)) >= s.quorum:
        t = replace(s, timers=s.timers | {(s.round, "precommit")})
        return t, [_timer(s, "precommit")]
    return None


def _decide(s: NodeState) -> Result | None:  # rule 3f
    if s.decision is not None or s.step is Step.IDLE:
        return None
    for p in sorted(s.proposals, key=lambda p: (p.round, p.value.value_hash)):
        v = p.value
        if not _valid(s, v):
            continue
        precommits = tuple(
            sorted(
                (
                    x
                    for x in s.votes
                    if x.kind == PRECOMMIT and x.round == p.round and x.value_hash == v.value_hash
                ),
                key=lambda x: x.hub,
            )
        )
        if len(precommits) < s.quorum:
            continue
        cert = DecisionCertificate(
            epoch=s.epoch,
            config_hash=s.config.config_hash,
            round=p.round,
            value_hash=v.value_hash,
            precommits=precommits,
        )
        t = replace(
            s, decision=v, certificate=cert, step=Step.DECIDED, next_threshold=v.next_threshold
        )
        return t, [Decide(epoch=s.epoch, value=v, certificate=cert)]
    return None


def _catch_up(s: NodeState) -> Result | None:  # rule 3g
    if s.step in (Step.IDLE, Step.DECIDED):
        return None
    need = s.config.n - s.quorum + 1
    later = sorted({v.round for v in s.votes if v.round > s.round}, reverse=True)
    for r in later:
        if len(_round_senders(s, r)) >= need:
            return _start_round(s, r)
    return None


RULES: Final[tuple[Callable[[NodeState], Result | None], ...]] = (
    _decide,
    _propose,
    _prevote_on_proposal,
    _lock_on_polka,
    _timers,
    _catch_up,
)


def _run_rules(s: NodeState, outputs: list[Output]) -> Result:
    """Apply the first enabled upon-rule until none is enabled."""
    while True:
        for rule in RULES:
            result = rule(s)
            if result is not None:
                s, more = result
                outputs.extend(more)
                break
        else:
            return s, outputs


# -- rule 2: the funnel for received messages -----------------------------------


def _admit(s: NodeState, message: Message) -> Result:
    cfg = s.config
    if not isinstance(message, EpochSummary | Proposal | Vote):
        raise BadMessage("not an SDBC message", type(message).__name__)
    if message.epoch < s.epoch:
        raise BadMessage("stale epoch", f"{message.epoch} < {s.epoch}")
    if message.epoch > s.epoch:
        raise BadMessage("future epoch", f"{message.epoch} > {s.epoch}")
    if message.config_hash != cfg.config_hash:
        raise BadMessage("wrong configuration hash")
    if s.step is Step.DECIDED:
        raise BadMessage("epoch already decided")
    check_signature(cfg, message)
    if isinstance(message, EpochSummary):
        if message in s.summaries:
            raise BadMessage("replayed summary")
        if any(x.hub == message.hub for x in s.summaries):
            raise BadMessage("second summary from one hub", str(message.hub))
        return replace(s, summaries=s.summaries | {message}), []
    if not 0 <= message.round <= s.round + MAX_ROUND_LEAD:
        raise BadMessage("round out of range", str(message.round))
    if isinstance(message, Proposal):
        if message in s.proposals:
            raise BadMessage("replayed proposal")
        if message.hub != cfg.proposer(s.epoch, message.round):
            raise BadMessage("proposal from a hub that is not the round's proposer")
        if not -1 <= message.valid_round < message.round:
            raise BadMessage("valid round out of range", str(message.valid_round))
        hashes = s.valid_hashes
        try:
            message.value.check_valid(cfg, s.epoch)
            hashes = hashes | {message.value.value_hash}
        except BadMessage:
            pass  # kept: an invalid value is prevoted nil (rule 3b)
        return replace(s, proposals=s.proposals | {message}, valid_hashes=hashes), []
    if message in s.votes:
        raise BadMessage("replayed vote")
    earlier = next((v for v in s.votes if v.slot == message.slot), None)
    if earlier is not None:
        evidence = EquivocationEvidence(first=earlier, second=message)
        if evidence in s.evidence:
            raise BadMessage("replayed equivocation")
        return replace(s, evidence=s.evidence | {evidence}), [ReportEvidence(evidence=evidence)]
    return replace(s, votes=s.votes | {message}), []


# -- rules 1, 4, 5 ----------------------------------------------------------------


def _on_start(s: NodeState, event: Start) -> Result:  # rule 1
    if event.epoch <= s.epoch:
        raise LocalProtocolError(f"epoch {event.epoch} is not after {s.epoch}")
    config = s.config
    if s.next_threshold is not None:
        config = config.with_threshold(s.next_threshold)
    summary = sign_summary(s.key, config, event.epoch, s.hub, event.summary)
    t = NodeState(
        key=s.key,
        hub=s.hub,
        config=config,
        epoch=event.epoch,
        quorum=config.quorum,
        summaries=frozenset({summary}),
        proposed_threshold=s.proposed_threshold,
    )
    t, outputs = _start_round(t, 0)
    return t, [Broadcast(message=summary), *outputs]


def _on_receive(s: NodeState, event: Receive) -> Result:
    return _admit(s, event.message)


def _on_timeout(s: NodeState, event: Timeout) -> Result:  # rule 4
    if event.epoch != s.epoch or event.round != s.round:
        return s, []
    if event.step == "propose" and s.step is Step.PROPOSE:
        t, out = _vote(s, PREVOTE, None)
        return t, [out]
    if event.step == "prevote" and s.step is Step.PREVOTE:
        t, out = _vote(s, PRECOMMIT, None)
        return t, [out]
    if event.step == "precommit" and s.step is not Step.DECIDED:
        return _start_round(s, s.round + 1)
    return s, []


def _on_raise(s: NodeState, event: RaiseThreshold) -> Result:  # rule 5
    q = quorum_of(event.threshold, s.config.n)
    ensure(
        q >= s.quorum,
        f"a threshold may not fall within an epoch ({q} < {s.quorum})",
        LocalProtocolError,
    )
    ensure(
        q <= s.config.quorum_cap,
        f"quorum {q} above N - f_live = {s.config.quorum_cap} would stall the hubs",
        LocalProtocolError,
    )
    return replace(s, quorum=q), []


Handler = Callable[[NodeState, object], Result]

_ACTIVE = (Step.PROPOSE, Step.PREVOTE, Step.PRECOMMIT)

#: (step, input kind) -> handler.  A missing key is an illegal input.
TRANSITIONS: Final[dict[tuple[Step, type], Callable[..., Result]]] = {
    (Step.IDLE, Start): _on_start,
    (Step.DECIDED, Start): _on_start,
    **{(st, Receive): _on_receive for st in (*_ACTIVE, Step.DECIDED)},
    **{(st, Timeout): _on_timeout for st in (*_ACTIVE, Step.DECIDED)},
    **{(st, RaiseThreshold): _on_raise for st in _ACTIVE},
}


def step(state: NodeState, event: Input) -> tuple[NodeState, tuple[Output, ...]]:
    """The one entry point.  Returns the new state and the commands to run.
    A bad message raises :class:`BadMessage` and leaves ``state`` as it was
    (states are immutable: the caller keeps the old one)."""
    handler = TRANSITIONS.get((state.step, type(event)))
    if handler is None:
        if isinstance(event, Receive):
            raise BadMessage("message while not running an epoch", state.step.name)
        raise LocalProtocolError(f"{type(event).__name__} is illegal in step {state.step.name}")
    s, outputs = handler(state, event)
    if isinstance(event, RaiseThreshold):
        return s, tuple(outputs)
    s, outputs = _run_rules(s, list(outputs))
    return s, tuple(outputs)
