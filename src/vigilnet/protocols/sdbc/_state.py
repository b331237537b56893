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

1. ``Start(epoch, summary)``: sign and broadcast our summary (which must
   fit the configured layout: LocalProtocolError) with the threshold this
   hub proposes for the next epoch, enter round 0 (``StartRound``).  Only
   from IDLE or DECIDED, for a later epoch.  ``Start`` may carry the
   epoch's member keys and this hub's own key for it (``members``, ``key``:
   what the key registry says is valid at that epoch, after a rotation or a
   recovery); from then on only those keys sign and verify.  Only keys
   change: the number of hubs, the threshold rules and the summary layout
   stay, and the hub's own key must be its member key (LocalProtocolError).
2. Every received message passes one funnel (:func:`_admit`): it must be for
   our epoch and configuration, from a member, correctly signed, not a
   replay, not beyond ``MAX_ROUND_LEAD`` rounds ahead; proposals only from
   the round's proposer; summaries of the configured width and ranges,
   proposing only a threshold the configuration admits.  Anything else
   raises :class:`BadMessage` (a RemoteProtocolError) and the state is
   unchanged.  A second, different vote for the same (kind, epoch, round,
   hub) is stored as :class:`EquivocationEvidence` and reported once; it is
   never counted (except by rules 3c and 3f), and any further vote
   for that slot is refused (one piece of evidence per slot is proof
   enough).  At most
   ``MAX_PROPOSALS_PER_ROUND`` proposals of one round are kept (the first
   and one conflicting one); a further one only if its value already has
   ``N - q + 1`` signers of votes of that round (some correct hub voted
   for it).
3. After each admitted input the upon-rules run to a fixpoint:

   a. proposer, step PROPOSE: propose ``valid_value`` or, with ``q``
      summaries, a fresh value (the ``q`` lowest hubs' summaries, or the
      lowest ``q`` of those that agree on a next threshold), after running
      the same ``valid(v)`` on it as on anyone else's [InsertProposal];
   b. step PROPOSE, proposal with ``valid_round = -1``: prevote it if
      ``valid(v)`` and unlocked or locked on it, else nil
      [UponProposalInPropose];
   c. step PROPOSE, proposal with ``valid_round = vr >= 0`` and a polka for it
      in ``vr``: prevote it if ``valid(v)`` and ``locked_round <= vr`` or
      locked on it, else nil [UponProposalInProposeAndPrevote].  The polka
      may count a proven equivocator's second prevote (as rule 3f counts its
      precommit): the hub that locked on it may have received only that
      one, and TLA+ counts every signed prevote;
   d. step PREVOTE or PRECOMMIT, proposal ``v`` valid with a polka in this
      round, first time: in PREVOTE lock ``v`` and precommit it; always set
      ``valid_value`` [UponProposalInPrevoteOrCommitAndPrevote];
   e. step PREVOTE, ``q`` prevotes of any kind: set the prevote timer;
      ``q`` precommits of any kind in this round: set the precommit timer;
   f. a proposal ``v`` of some round ``r``, ``q`` precommits for it in ``r``,
      ``valid(v)``: decide, emit the certificate [Decidable].  Here, and only
      here, the second vote of a proven equivocator counts too: a precommit
      for ``v`` that a hub signed after (or before) a conflicting one is still
      its signature on ``v``.  TLA+ ``Decidable`` counts every signed
      precommit; counting it keeps a hub that first received the
      equivocator's other precommit from being stuck below ``q`` when the
      hubs that decided hand it their certificate (catch-up);
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
a BadMessage for a message.  Nothing a peer sends makes :func:`step` raise
anything but a RemoteProtocolError (``tests/sdbc/test_hostile.py``).

State size per epoch
====================

With ``N`` hubs, ``W = summary_width``, ``L = MAX_ROUND_LEAD``,
``P = MAX_PROPOSALS_PER_ROUND`` and ``R`` the highest round this hub has
entered, the epoch's state holds at most:

* ``N`` summaries (one per hub), each of ``W`` integers;
* ``2 N (R + L + 1)`` votes (one per kind, round and hub: rounds ``0..R+L``)
  and as many pieces of evidence (one per slot);
* ``(P + 2 floor(N / (N - q + 1))) (R + L + 1)`` proposals (``P`` first come,
  plus values with ``N - q + 1`` voters: each hub votes one value per kind)
  and as many valid value hashes;
* ``2 (R + 1)`` timers.

Rounds grow only by timeouts (whose durations grow with the round) or by
``N - q + 1`` signers of a later round, so ``R`` is what the correct hubs
let it be, never one peer.  Counting is incremental: :class:`Tally` keeps,
per round, the signers per (kind, value hash), per kind, of any message,
each vote per slot and the round's proposals, updated on admission, so no
upon-rule rescans the stored votes.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Final, TypeAlias

from vigilnet.crypto import SigningKey, VerifyKey
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
    check_summary_content,
    sign_proposal,
    sign_summary,
    sign_vote,
)
from vigilnet.thresholds import quorum as quorum_of

__all__ = [
    "MAX_PROPOSALS_PER_ROUND",
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
    "RoundTally",
    "SetTimer",
    "Start",
    "Step",
    "Tally",
    "Timeout",
    "initial_state",
    "step",
]

#: A message more than this many rounds ahead of ours is refused (memory bound).
MAX_ROUND_LEAD: Final = 64
#: Proposals kept per round on arrival alone: the first and one conflicting one.
MAX_PROPOSALS_PER_ROUND: Final = 2
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
    #: the member keys valid at ``epoch`` (None: those of the last epoch)
    members: tuple[VerifyKey, ...] | None = None
    #: this hub's signing key for ``epoch`` (None: the last epoch's)
    key: SigningKey | None = None


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

_Slot = tuple[str, int]  # (kind, hub) within a round
_Key = tuple[str, bytes | None]  # (kind, value hash) within a round


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundTally:
    """What one round's admitted messages add up to (never mutated: an
    update builds a new one)."""

    signers: Mapping[_Key, frozenset[int]] = field(default_factory=dict)
    voters: Mapping[str, frozenset[int]] = field(default_factory=dict)
    senders: frozenset[int] = frozenset()
    by_slot: Mapping[_Slot, Vote] = field(default_factory=dict)
    proven: frozenset[_Slot] = frozenset()
    proposals: tuple[Proposal, ...] = ()

    def count(self, kind: str, value_hash: bytes | None) -> int:
        return len(self.signers.get((kind, value_hash), frozenset()))

    def count_any(self, kind: str) -> int:
        return len(self.voters.get(kind, frozenset()))


_EMPTY_ROUND: Final = RoundTally()


@dataclass(frozen=True, slots=True, kw_only=True)
class Tally:
    """The per-round index of the admitted votes and proposals.  It is a
    function of ``NodeState.votes``, ``evidence`` and ``proposals`` (so it
    takes no part in a state's equality or hash) and is only ever updated
    with them, by :func:`_with_vote`, :func:`_with_evidence` and
    :func:`_with_proposal`.  An update copies one round and the map of
    rounds, never the stored votes."""

    rounds: Mapping[int, RoundTally] = field(default_factory=dict)

    def round(self, r: int) -> RoundTally:
        return self.rounds.get(r, _EMPTY_ROUND)

    def with_round(self, r: int, t: RoundTally) -> Tally:
        return Tally(rounds={**self.rounds, r: t})


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeState:
    """Everything one hub knows.  ``quorum`` is this hub's (possibly raised)
    quorum for the current epoch; ``tally`` indexes ``votes``, ``evidence``
    and ``proposals`` by round (derived: not compared)."""

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
    tally: Tally = field(default_factory=Tally, compare=False, repr=False)

    def __post_init__(self) -> None:
        ensure(
            bytes(self.key.verify_key) == bytes(self.config.members[self.hub]),
            "the signing key is not this hub's member key",
            LocalProtocolError,
        )
        pt = self.proposed_threshold
        ensure(
            pt is None or self.config.admits_threshold(pt),
            f"proposed next threshold {pt} would make the configuration unrunnable or unsafe",
            LocalProtocolError,
        )


def initial_state(
    key: SigningKey, hub: int, config: HubConfig, proposed_threshold: Fraction | None = None
) -> NodeState:
    return NodeState(
        key=key, hub=hub, config=config, quorum=config.quorum, proposed_threshold=proposed_threshold
    )


Result = tuple[NodeState, list[Output]]


# -- counting (incremental: through the tally) ---------------------------------


def _count(s: NodeState, kind: str, r: int, value_hash: bytes | None) -> int:
    return s.tally.round(r).count(kind, value_hash)


def _count_any(s: NodeState, kind: str, r: int) -> int:
    return s.tally.round(r).count_any(kind)


def _round_proposals(s: NodeState, r: int) -> tuple[Proposal, ...]:
    """Round ``r``'s proposals, sorted by (valid round, value hash)."""
    return s.tally.round(r).proposals


def _valid(s: NodeState, v: Value) -> bool:
    return v.value_hash in s.valid_hashes


def _with_vote(s: NodeState, vote: Vote) -> NodeState:
    rt = s.tally.round(vote.round)
    key = (vote.kind, vote.value_hash)
    rt = replace(
        rt,
        signers={**rt.signers, key: rt.signers.get(key, frozenset()) | {vote.hub}},
        voters={**rt.voters, vote.kind: rt.voters.get(vote.kind, frozenset()) | {vote.hub}},
        senders=rt.senders | {vote.hub},
        by_slot={**rt.by_slot, (vote.kind, vote.hub): vote},
    )
    return replace(s, votes=s.votes | {vote}, tally=s.tally.with_round(vote.round, rt))


def _with_evidence(s: NodeState, evidence: EquivocationEvidence) -> NodeState:
    vote = evidence.second
    rt = s.tally.round(vote.round)
    rt = replace(rt, proven=rt.proven | {(vote.kind, vote.hub)})
    return replace(s, evidence=s.evidence | {evidence}, tally=s.tally.with_round(vote.round, rt))


def _with_proposal(s: NodeState, proposal: Proposal, valid: bool) -> NodeState:
    rt = s.tally.round(proposal.round)
    proposals = tuple(
        sorted((*rt.proposals, proposal), key=lambda p: (p.valid_round, p.value.value_hash))
    )
    rt = replace(rt, proposals=proposals, senders=rt.senders | {proposal.hub})
    hashes = s.valid_hashes | {proposal.value.value_hash} if valid else s.valid_hashes
    return replace(
        s,
        proposals=s.proposals | {proposal},
        valid_hashes=hashes,
        tally=s.tally.with_round(proposal.round, rt),
    )


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
    return replace(_with_vote(s, vote), step=nxt), Broadcast(message=vote)


def _start_round(s: NodeState, r: int) -> Result:
    s = replace(s, round=r, step=Step.PROPOSE)
    return s, [_timer(s, "propose")]


# -- rule 3: the upon-rules ----------------------------------------------------


def _fresh_summaries(s: NodeState) -> tuple[EpochSummary, ...] | None:
    """The summaries of a fresh value: the lowest ``q`` hubs' of those that
    agree on a next threshold, if ``q`` do, else the lowest ``q`` hubs'."""
    q = s.config.quorum
    ordered = sorted(s.summaries, key=lambda x: x.hub)
    if len(ordered) < q:
        return None
    changes = sorted({x.next_threshold for x in ordered if x.next_threshold is not None})
    for t in changes:
        agreeing = [x for x in ordered if x.next_threshold == t]
        if len(agreeing) >= q and s.config.admits_threshold(t):
            return tuple(agreeing[:q])
    return tuple(ordered[:q])


def _propose(s: NodeState) -> Result | None:  # rule 3a
    if s.step is not Step.PROPOSE or s.config.proposer(s.epoch, s.round) != s.hub:
        return None
    if _round_proposals(s, s.round):
        return None  # ours is the only lawful proposal of our round
    value = s.valid_value
    if value is None:
        mine = _fresh_summaries(s)
        if mine is None:
            return None
        try:
            value = Value.build(s.config, s.epoch, mine)
            value.check_valid(s.config, s.epoch)  # the same valid(v) as anyone's
        except BadMessage:
            return None  # no proposal: the propose timeout prevotes nil
    proposal = sign_proposal(s.key, s.config, s.epoch, s.round, s.hub, value, s.valid_round)
    s = _with_proposal(s, proposal, valid=True)
    return s, [Broadcast(message=proposal)]


def proven_votes(s: NodeState, kind: str, r: int, value_hash: bytes) -> tuple[Vote, ...]:
    """The second votes of proven equivocators that are ``kind`` votes for
    ``value_hash`` in round ``r``: signed by their hub, never counted by the
    tally, counted by rules 3c and 3f only (what TLA+ counts: every signed
    vote in the message set)."""
    if not s.tally.round(r).proven:
        return ()
    return tuple(
        e.second
        for e in s.evidence
        if e.second.kind == kind and e.second.round == r and e.second.value_hash == value_hash
    )


def _prevote_on_proposal(s: NodeState) -> Result | None:  # rules 3b, 3c
    if s.step is not Step.PROPOSE:
        return None
    for p in _round_proposals(s, s.round):
        v, vr = p.value, p.valid_round
        if vr == -1:
            free = s.locked_round == -1 or s.locked_value == v
        elif (
            0 <= vr < s.round
            and _count(s, PREVOTE, vr, v.value_hash)
            + len(proven_votes(s, PREVOTE, vr, v.value_hash))
            >= s.quorum
        ):
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
        if not _valid(s, v) or _count(s, PREVOTE, s.round, v.value_hash) < s.quorum:
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
        and _count_any(s, PREVOTE, s.round) >= s.quorum
    ):
        return replace(s, timers=s.timers | {(s.round, "prevote")}), [_timer(s, "prevote")]
    if (
        s.step in (Step.PROPOSE, Step.PREVOTE, Step.PRECOMMIT)
        and (
            s.round,
            "precommit",
        )
        not in s.timers
    ) and _count_any(s, PRECOMMIT, s.round) >= s.quorum:
        t = replace(s, timers=s.timers | {(s.round, "precommit")})
        return t, [_timer(s, "precommit")]
    return None


def _decide(s: NodeState) -> Result | None:  # rule 3f
    if s.decision is not None or s.step is Step.IDLE:
        return None
    for r in sorted(s.tally.rounds):
        rt = s.tally.rounds[r]
        for p in sorted(rt.proposals, key=lambda p: p.value.value_hash):
            v = p.value
            if not _valid(s, v):
                continue
            counted = rt.count(PRECOMMIT, v.value_hash)
            # a proven equivocator's precommit for v counts toward deciding v
            # (rule 3f): what it signed, it signed
            proven = proven_votes(s, PRECOMMIT, r, v.value_hash)
            if counted + len(proven) < s.quorum:
                continue
            precommits = tuple(
                sorted(
                    (
                        *(
                            x
                            for x in rt.by_slot.values()
                            if x.kind == PRECOMMIT and x.value_hash == v.value_hash
                        ),
                        *proven,
                    ),
                    key=lambda x: x.hub,
                )
            )
            cert = DecisionCertificate(
                epoch=s.epoch,
                config_hash=s.config.config_hash,
                round=r,
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
    for r in sorted((r for r in s.tally.rounds if r > s.round), reverse=True):
        rt = s.tally.rounds[r]
        if rt.count_any(PREVOTE) + rt.count_any(PRECOMMIT) < 1:
            continue  # proposals alone never move a hub (as before: a vote's round)
        if len(rt.senders) >= need:
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
    if isinstance(message, EpochSummary):
        check_summary_content(cfg, message)
        check_signature(cfg, message)
        if message in s.summaries:
            raise BadMessage("replayed summary")
        if any(x.hub == message.hub for x in s.summaries):
            raise BadMessage("second summary from one hub", str(message.hub))
        return replace(s, summaries=s.summaries | {message}), []
    if not (_is_round(message.round) and 0 <= message.round <= s.round + MAX_ROUND_LEAD):
        raise BadMessage("round out of range", str(message.round))
    check_signature(cfg, message)
    rt = s.tally.round(message.round)
    if isinstance(message, Proposal):
        if message in s.proposals:
            raise BadMessage("replayed proposal")
        if message.hub != cfg.proposer(s.epoch, message.round):
            raise BadMessage("proposal from a hub that is not the round's proposer")
        if not -1 <= message.valid_round < message.round:
            raise BadMessage("valid round out of range", str(message.valid_round))
        vh = message.value.value_hash
        backed = max(rt.count(PREVOTE, vh), rt.count(PRECOMMIT, vh)) >= cfg.n - s.quorum + 1
        if len(rt.proposals) >= MAX_PROPOSALS_PER_ROUND and not backed:
            raise BadMessage("too many proposals for one round", str(message.round))
        try:
            message.value.check_valid(cfg, s.epoch)
            valid = True
        except BadMessage:
            valid = False  # kept: an invalid value is prevoted nil (rule 3b)
        return _with_proposal(s, message, valid), []
    if message in s.votes:
        raise BadMessage("replayed vote")
    slot = (message.kind, message.hub)
    earlier = rt.by_slot.get(slot)
    if earlier is not None:
        if slot in rt.proven:
            raise BadMessage("equivocation already proved", f"hub {message.hub}")
        evidence = EquivocationEvidence(first=earlier, second=message)
        return _with_evidence(s, evidence), [ReportEvidence(evidence=evidence)]
    return _with_vote(s, message), []


def _is_round(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


# -- rules 1, 4, 5 ----------------------------------------------------------------


def _on_start(s: NodeState, event: Start) -> Result:  # rule 1
    if event.epoch <= s.epoch:
        raise LocalProtocolError(f"epoch {event.epoch} is not after {s.epoch}")
    config, key = s.config, s.key
    if event.members is not None:
        config = config.with_members(event.members)
    if event.key is not None:
        key = event.key
    if s.next_threshold is not None:
        config = config.with_threshold(s.next_threshold)
    config.check_summary(event.summary, raising=LocalProtocolError)
    pt = s.proposed_threshold
    if pt is not None and not config.admits_threshold(pt):
        pt = None  # what we proposed is no longer a change the new config admits
    summary = sign_summary(key, config, event.epoch, s.hub, event.summary, pt)
    t = NodeState(
        key=key,
        hub=s.hub,
        config=config,
        epoch=event.epoch,
        quorum=config.quorum,
        summaries=frozenset({summary}),
        proposed_threshold=pt,
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
