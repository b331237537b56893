"""SDBC: one epoch of the hubs' Byzantine consensus (``spec/SDBC.tla``).

Tendermint's algorithm (arXiv 1807.04938, Algorithm 1) for a single decision,
with vigilnet's thresholds (DESIGN.md 4.1): quorum ``Q = ceil(T * N)``,
blocking set ``N - Q + 1`` for the round skip, values that carry signed
summaries and their f-trimmed aggregate.  Variables, actions and properties
carry the TLA+ names; :class:`SDBCSpec` is the whole next-state relation, so
the refinement check (``tests/sdbc``) can ask "is this a model step?".

Variables (``Corr`` are the correct hubs, ``F..N-1``; the first ``F`` hubs
are faulty)::

    round, step, decision, lockedValue, lockedRound, validValue, validRound,
    quorumOf      \\in [Corr -> ...]
    msgsPropose   \\subseteq [round, src, value, validRound]
    msgsPrevote   \\subseteq [round, src, id, sig]
    msgsPrecommit \\subseteq [round, src, id, sig]

``sig`` tells apart two distinct valid signatures on the same vote: a
Byzantine signer can make as many as it likes (Ed25519 signing is
deterministic only by convention), so only a faulty hub's votes come in two
copies, ``sig = 0`` and ``sig = 1``; a correct hub signs once (``sig = 0``).

Scope choices (each explicit, each in ``spec/README.md``):

* one decision (one epoch); rounds ``0..MaxRound``; values ``v0``, ``v1``
  (valid) and ``vX`` (its claimed aggregate does not recompute);
* the adversary: ``Inject(f, r)`` makes faulty hub ``f`` send, at once, every
  message of round ``r`` it can sign: a proposal of every value with every
  valid round when it is ``r``'s proposer, and both signatures of a prevote
  and a precommit for every id.  Every guard of a correct hub is monotone in
  the message sets (it asks for *at least* so many signers), so sending
  everything of a round at once reaches every state that a partial injection
  reaches, up to the faulty messages a correct hub ignores; a faulty hub that
  never injects is silent (the "stalled" witness needs that);
* the network is the message sets: a correct hub may act on any message
  already sent, at any time, or never (the model has no delivery order);
* time: the timeouts are enabled whenever their guard holds (safety only);
* the summary exchange is not modelled: a correct proposer can always
  propose.  ``ProposerMayStall`` (TRUE only in ``n4f1stall``) lets it time
  out instead, while it has not proposed, and prevote nil, as the
  implementation's proposer does when it holds fewer than ``Q`` summaries
  (``OnTimeoutPropose``; trace validation maps onto the model with it).

Properties: see :data:`PROPERTY_NAMES`; each always-property is paired with a
witness.  Configurations (:data:`CONFIGS`): ``n4f1`` (rounds 0..1, every
property), ``n5f1`` (round 0, every property), ``n5f2`` (safe but stalled:
``Stalled`` witnessed; ``BoxValidity`` not claimed, 2 > TrimF), ``n5f3``
(beyond ``2Q - N - 1``: ``ForkDetected`` is witnessed, ``Accountability``
and ``NoFraming`` hold, ``Agreement`` is not claimed), ``n5f1raise``
(``FLive = 0``: quorums may rise to N; safe, and stalled), ``n4f1stall``
(n4f1 with ``ProposerMayStall``: round 1's correct proposer may time out
without a value; every property, and the witness ``ProposerStalled``) and
``n4live`` (liveness after GST).  Mutants (:data:`MUTANTS`) are killed at
:data:`MUTANT_CONFIG`.  Distinct-state counts are pinned in
``tests/sdbc/test_model.py`` and listed in ``spec/README.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from itertools import permutations
from typing import Any, Final

from vigilnet.aggregation import trimmed_combination
from vigilnet.checker import (
    Action,
    Assumption,
    Constants,
    Model,
    ModelFamily,
    Property,
    WeakFairness,
)
from vigilnet.thresholds import blocking, quorum

__all__ = [
    "ACTION_NAMES",
    "CONFIGS",
    "FAMILY",
    "MUTANTS",
    "MUTANT_CONFIG",
    "NIL",
    "PROPERTY_NAMES",
    "VARIABLES",
    "SDBCSpec",
    "SDBCState",
    "build",
]

NIL: Final = "nil"
VALUES: Final = ("v0", "v1", "vX")
PROPOSE, PREVOTE, PRECOMMIT = "propose", "prevote", "precommit"
STEPS: Final = (PROPOSE, PREVOTE, PRECOMMIT)

#: A proposal ``(round, src, value, validRound)``; a correct hub's vote
#: ``(round, src, id)`` (its ``sig`` is 0).
Proposal = tuple[int, int, str, int]
Vote = tuple[int, int, str]

ACTION_NAMES: Final = (
    "InsertProposal",
    "UponProposalInPropose",
    "UponProposalInProposeAndPrevote",
    "UponQuorumOfPrevotesAny",
    "UponProposalInPrevoteOrCommitAndPrevote",
    "UponQuorumOfPrecommitsAny",
    "OnTimeoutPropose",
    "OnRoundCatchup",
    "RaiseQuorum",
    "Inject",
)

MUTANTS: Final = (
    "quorum_from_assumed_f",
    "count_messages_not_signers",
    "no_lock_check",
    "wrong_unlock_rule",
    "lock_not_updated",
    "votes_not_bound",
    "decide_without_valid",
    "double_precommit",
    "round_skip_too_few",
    "threshold_lowered_in_epoch",
    "trim_fewer_than_f",
    "proposer_skips_own_check",
    "next_threshold_by_proposer",
    "dropped_precommit_timeout",
)

#: The liveness configuration and the mutant that must break its liveness.
LIVENESS_CONFIG: Final = "n4live"

#: The configuration at which each mutant is killed (the lock and unlock
#: rules need two rounds, explored at N = 4; at N = 4 the quorum from an
#: assumed f happens to be right, 3 = 2 * 1 + 1, so that one is killed at N = 5).
#: ``next_threshold_by_proposer`` needs round 0's faulty proposer and three
#: correct hubs that make its value a quorum with it: n5f1.
MUTANT_CONFIG: Final = {
    name: "n5f1" if name in ("quorum_from_assumed_f", "next_threshold_by_proposer") else "n4f1"
    for name in MUTANTS
}
#: ``dropped_precommit_timeout`` (UponQuorumOfPrecommitsAny never moves a
#: hub to the next round) is safe, so only the liveness config kills it.
MUTANT_CONFIG["dropped_precommit_timeout"] = LIVENESS_CONFIG

#: Each always-property and the witness that shows it is not vacuous.
PROPERTY_NAMES: Final = {
    "TypeOK": "SomeDecided",
    "Agreement": "TwoDecided",
    "Validity": "SomeDecided",
    "BoxValidity": "DecidedWithFaultySummary",
    "Accountability": "ForkDetected",
    "NoFraming": "FaultyDetected",
    "PrecommitsLockValue": "SomeLocked",
    "NoEquivocationByCorrect": "TwoDecided",
    "CorrectVotesValid": "InvalidProposalRejected",
    "RoundAdvanceJustified": "RoundChange",
    "NextThresholdSafe": "SomeDecided",
}

CONFIGS: Final[dict[str, dict[str, object]]] = {
    "n4f1": {"N": 4, "F": 1, "T": "3/4", "MaxRound": 1, "FLive": 1, "ProposerMayStall": False},
    "n5f1": {"N": 5, "F": 1, "T": "3/4", "MaxRound": 0, "FLive": 1, "ProposerMayStall": False},
    "n5f2": {"N": 5, "F": 2, "T": "3/4", "MaxRound": 0, "FLive": 1, "ProposerMayStall": False},
    "n5f3": {"N": 5, "F": 3, "T": "3/4", "MaxRound": 0, "FLive": 1, "ProposerMayStall": False},
    # FLive = 0: a hub may raise its quorum to N within the epoch; still safe
    # (mixed quorums 4 and 5 meet in 4 > F hubs), but no longer live
    "n5f1raise": {
        "N": 5,
        "F": 1,
        "T": "3/4",
        "MaxRound": 0,
        "FLive": 0,
        "ProposerMayStall": False,
    },
    # n4f1 where round 1's correct proposer (h1) may time out without a
    # value and prevote nil, as the implementation's does when it holds
    # fewer than Q summaries (trace validation maps onto this model)
    "n4f1stall": {"N": 4, "F": 1, "T": "3/4", "MaxRound": 1, "FLive": 1, "ProposerMayStall": True},
    # liveness: no faulty hub, round 0 asynchronous, rounds >= GST synchronous
    # (see SDBCSpec.synchronous); claims EventuallyAllDecide under weak
    # fairness.  Three synchronous rounds are needed: round 0 may leave two
    # hubs locked (h0 and h3) that no other proposer's value can pass, and
    # the first of them to propose after GST is h3, in round 3 (with
    # MaxRound = 2 the check finds that lasso)
    "n4live": {
        "N": 4,
        "F": 0,
        "T": "3/4",
        "MaxRound": 3,
        "FLive": 1,
        "GST": 1,
        "ProposerMayStall": False,
    },
}

HONEST_SUMMARY_BASE: Final = 10
FAULTY_SUMMARY: Final = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class SDBCState:
    """One state: per correct hub (index ``i`` is hub ``F + i``) and the
    message sets (faulty hubs' messages included, as in the TLA+)."""

    round: tuple[int, ...]
    step: tuple[str, ...]
    lockedValue: tuple[str, ...]
    lockedRound: tuple[int, ...]
    validValue: tuple[str, ...]
    validRound: tuple[int, ...]
    quorumOf: tuple[int, ...]
    msgsPropose: frozenset[Proposal]
    msgsPrevote: frozenset[Vote]
    msgsPrecommit: frozenset[Vote]
    #: the faulty hubs that took ``Inject(f)``: stands for their messages in
    #: the TLA+ message sets (a bijection: an injection always adds
    #: messages, and only that injection adds them).
    injected: frozenset[int]


Succ = Iterator[tuple[tuple[Hashable, ...], SDBCState]]


@dataclass(frozen=True, slots=True, kw_only=True)
class HubFairness(WeakFairness):
    """``WF_vars(Hub(p))``: weak fairness of every instance of ``actions``
    taken by hub ``hub`` (the first argument of each SDBC action instance
    names the hub that takes it; the other arguments vary)."""

    hub: int

    def covers(self, action: str, args: tuple[Hashable, ...]) -> bool:
        return action in self.actions and bool(args) and args[0] == self.hub


def _int(constants: Constants, key: str) -> int:
    return int(str(constants[key]))


class SDBCSpec:
    """The constants and the next-state relation of ``SDBC.tla``.

    ``mutant`` selects one known-bad variant (:data:`MUTANTS`); ``None`` is
    the specification.
    """

    def __init__(self, constants: Constants, mutant: str | None = None) -> None:
        if mutant is not None and mutant not in MUTANTS:
            raise ValueError(f"unknown mutant {mutant!r}")
        self.mutant = mutant
        self.n = _int(constants, "N")
        self.f = _int(constants, "F")
        self.t = Fraction(str(constants["T"]))
        self.max_round = _int(constants, "MaxRound")
        self.f_live = _int(constants, "FLive")
        #: ``GST``: the first synchronous round.  Absent (every configuration
        #: but the liveness one) it is ``MaxRound + 1``: no round of the scope
        #: is synchronous and the model is exactly the safety model.
        self.gst = _int(constants, "GST") if "GST" in constants else self.max_round + 1
        #: ``ProposerMayStall``: a correct proposer may time out in its round
        #: without proposing and prevote nil (``OnTimeoutPropose``), as the
        #: implementation does when it holds fewer than ``Q`` summaries.
        #: Absent it is FALSE: the model of the shipped configurations.
        self.proposer_may_stall = str(constants.get("ProposerMayStall", False)).lower() in (
            "true",
            "1",
        )
        if not (self.n >= 1 and 0 <= self.f < self.n and self.max_round >= 0):
            raise ValueError("need 1 <= N, 0 <= F < N, MaxRound >= 0")
        #: ``Q``: the epoch's quorum; ``QCap``: the most it may rise to
        self.q0 = quorum(self.t, self.n)
        self.q_cap = max(self.q0, self.n - self.f_live)
        self.trim_f = self.n - self.q0
        self.assumed_q = 2 * ((self.n - 1) // 3) + 1
        self.hubs = tuple(range(self.n))
        self.faulty = tuple(range(self.f))
        self.corr = tuple(range(self.f, self.n))
        self.corr_set = frozenset(self.corr)
        self.rounds = tuple(range(self.max_round + 1))
        self.summary = {
            h: FAULTY_SUMMARY if h < self.f else HONEST_SUMMARY_BASE + h for h in self.hubs
        }
        self.included: dict[str, tuple[int, ...]] = {
            "v0": tuple(range(self.q0)),
            "v1": tuple(range(self.n - self.q0, self.n)),
            "vX": tuple(range(self.q0)),
        }
        self.claimed: dict[str, Fraction] = {
            "v0": trimmed_combination([self.summary[h] for h in self.included["v0"]], self.trim_f),
            "v1": trimmed_combination([self.summary[h] for h in self.included["v1"]], self.trim_f),
            "vX": trimmed_combination([self.summary[h] for h in self.included["vX"]], 0),
        }
        trim = self.trim_f - 1 if mutant == "trim_fewer_than_f" else self.trim_f
        #: the values of this model: the mutant ``next_threshold_by_proposer``
        #: adds ``vT``, v0's summaries with a next threshold of 1 chosen by the
        #: proposer alone (in the specification it is invalid, like vX, and
        #: behaves exactly as vX: left out)
        self.values: tuple[str, ...] = VALUES
        if mutant == "next_threshold_by_proposer":
            self.values = (*VALUES, "vT")
            self.included["vT"] = self.included["v0"]
            self.claimed["vT"] = self.claimed["v0"]
        #: ``NextQ(v)``: the next epoch's quorum a value carries.  Each faulty
        #: hub's summary proposes threshold 1 (quorum N), each correct one no
        #: change; the agreed rule takes a change only when Q included
        #: summaries propose it (never here: F < Q), so NextQ is Q for every
        #: value of the specification; vT's is the proposer's choice, N.
        self.next_q = {
            v: self.n if sum(1 for h in self.included[v] if h < self.f) >= self.q0 else self.q0
            for v in self.values
        }
        if "vT" in self.values:
            self.next_q["vT"] = self.n
        self.truly_valid = frozenset(
            v for v in self.values if v != "vT" and self._recomputes(v, self.trim_f)
        )
        self.valid_values = tuple(
            v for v in self.values if mutant == "decide_without_valid" or self._recomputes(v, trim)
        )
        honest = [self.summary[h] for h in self.corr]
        self.honest_low, self.honest_high = min(honest), max(honest)
        self._faulty_proposals = {
            r: tuple(
                sorted((r, self.proposer(r), v, vr) for v in self.values for vr in range(-1, r))
            )
            for r in self.rounds
        }
        #: the hubs whose validValue is read later (they propose a later round)
        self.later_proposer = {
            (p, r): any(self.proposer(r2) == p for r2 in self.rounds if r2 > r)
            for p in self.corr
            for r in self.rounds
        }

    def _recomputes(self, v: str, trim: int) -> bool:
        values = [self.summary[h] for h in self.included[v]]
        return (
            len(self.included[v]) >= self.q0
            and len(values) >= 2 * trim + 1
            and self.claimed[v] == trimmed_combination(values, trim)
        )

    # -- constants ---------------------------------------------------------

    def proposer(self, r: int) -> int:
        """``Proposer[r]``: round robin, so round 0's proposer is faulty."""
        return r % self.n

    def valid(self, v: str) -> bool:
        """``Valid(v)``: the claimed aggregate recomputes from the included
        signed summaries (external validity)."""
        return v in self.valid_values

    def faulty_proposals(self, h: int, r: int) -> tuple[Proposal, ...]:
        """Everything faulty hub ``h`` proposes in round ``r`` (sorted)."""
        if self.proposer(r) != h:
            return ()
        return self._faulty_proposals[r]

    # -- the message sets of the TLA+ (faulty messages included) -----------

    def proposals(self, s: SDBCState) -> frozenset[Proposal]:
        out = set(s.msgsPropose)
        for h in s.injected:
            for r in self.rounds:
                out.update(self.faulty_proposals(h, r))
        return frozenset(out)

    def prevote_records(self, s: SDBCState) -> frozenset[tuple[int, int, str, int]]:
        return self._records(s, s.msgsPrevote)

    def precommit_records(self, s: SDBCState) -> frozenset[tuple[int, int, str, int]]:
        return self._records(s, s.msgsPrecommit)

    def _records(
        self, s: SDBCState, votes: frozenset[Vote]
    ) -> frozenset[tuple[int, int, str, int]]:
        out = {(r, h, i, 0) for r, h, i in votes}
        for h in s.injected:
            out.update(
                (r, h, i, sig) for r in self.rounds for i in (*self.values, NIL) for sig in (0, 1)
            )
        return frozenset(out)

    # -- counting (distinct signers; the mutants count otherwise) -----------

    def _faulty_in(self, s: SDBCState) -> int:
        """Faulty signers of any round (each signed every id, twice)."""
        k = len(s.injected)
        return 2 * k if self.mutant == "count_messages_not_signers" else k

    def votes_for(self, s: SDBCState, votes: frozenset[Vote], r: int, ident: str) -> int:
        if self.mutant == "votes_not_bound":
            # a vote binds only its value: any round, prevote or precommit
            both = s.msgsPrevote | s.msgsPrecommit
            signers = {h for _r, h, i in both if i == ident}
            return len(signers) + len(s.injected)
        return sum(1 for m in votes if m[0] == r and m[2] == ident) + self._faulty_in(s)

    def prevotes_for(self, s: SDBCState, r: int, ident: str) -> int:
        return self.votes_for(s, s.msgsPrevote, r, ident)

    def precommits_for(self, s: SDBCState, r: int, ident: str) -> int:
        return self.votes_for(s, s.msgsPrecommit, r, ident)

    def any_in(self, s: SDBCState, votes: frozenset[Vote], r: int) -> int:
        if self.mutant == "count_messages_not_signers":
            return sum(1 for m in votes if m[0] == r) + 4 * self._faulty_in(s)
        return len({m[1] for m in votes if m[0] == r}) + self._faulty_in(s)

    def senders_in(self, s: SDBCState, r: int) -> int:
        """Distinct signers of any message of round ``r``."""
        correct = (
            {m[1] for m in s.msgsPropose if m[0] == r}
            | {m[1] for m in s.msgsPrevote if m[0] == r}
            | {m[1] for m in s.msgsPrecommit if m[0] == r}
        )
        return len(correct) + len(s.injected)

    def blocking_of(self, q: int) -> int:
        b = blocking(self.n, q)
        return b - 1 if self.mutant == "round_skip_too_few" else b

    # -- initial state -----------------------------------------------------

    def init(self) -> SDBCState:
        k = len(self.corr)
        return SDBCState(
            round=(0,) * k,
            step=(PROPOSE,) * k,
            lockedValue=(NIL,) * k,
            lockedRound=(-1,) * k,
            validValue=(NIL,) * k,
            validRound=(-1,) * k,
            quorumOf=(self.q0,) * k,
            msgsPropose=frozenset(),
            msgsPrevote=frozenset(),
            msgsPrecommit=frozenset(),
            injected=frozenset(),
        )

    # -- helpers -----------------------------------------------------------

    @staticmethod
    def _set(values: tuple[Any, ...], i: int, value: Any) -> tuple[Any, ...]:
        return (*values[:i], value, *values[i + 1 :])

    def _q(self, s: SDBCState, i: int) -> int:
        return self.assumed_q if self.mutant == "quorum_from_assumed_f" else s.quorumOf[i]

    def _prevote(self, s: SDBCState, i: int, ident: str) -> SDBCState:
        p = self.corr[i]
        return replace(
            s,
            step=self._set(s.step, i, PREVOTE),
            msgsPrevote=s.msgsPrevote | {(s.round[i], p, ident)},
        )

    def _start_round(self, s: SDBCState, i: int, r: int) -> SDBCState:
        return replace(s, round=self._set(s.round, i, r), step=self._set(s.step, i, PROPOSE))

    def _round_proposals(self, s: SDBCState, r: int) -> Iterator[Proposal]:
        """Proposals of round ``r`` from ``Proposer[r]``, in a fixed order."""
        prop = self.proposer(r)
        if prop in s.injected:
            yield from self._faulty_proposals[r]
        else:
            yield from sorted(m for m in s.msgsPropose if m[0] == r)

    # -- actions (each yields (args, next state)) ---------------------------

    def insert_proposal(self, s: SDBCState) -> Succ:
        for i, p in enumerate(self.corr):
            r = s.round[i]
            if s.step[i] != PROPOSE or self.proposer(r) != p:
                continue
            if any(m[0] == r for m in s.msgsPropose):
                continue
            fresh = self.values if self.mutant == "proposer_skips_own_check" else self.valid_values
            choices = (s.validValue[i],) if s.validValue[i] != NIL else fresh
            for v in choices:
                yield (p, v), replace(s, msgsPropose=s.msgsPropose | {(r, p, v, s.validRound[i])})

    def _free(self, s: SDBCState, i: int, v: str, vr: int) -> bool:
        """Line 22/28 of Algorithm 1: may a hub locked at ``lockedRound``
        prevote ``v`` proposed with valid round ``vr``?"""
        if self.mutant == "no_lock_check":
            return True
        if s.lockedRound[i] <= vr or s.lockedValue[i] == v:
            return True
        return self.mutant == "wrong_unlock_rule" and s.lockedRound[i] < s.round[i]

    def upon_proposal_in_propose(self, s: SDBCState) -> Succ:
        for i, p in enumerate(self.corr):
            if s.step[i] != PROPOSE:
                continue
            for _r, src, v, vr in self._round_proposals(s, s.round[i]):
                if vr != -1:
                    continue
                # the mutant trusts its own value: a proposer "knows" it is valid
                trusted = self.mutant == "proposer_skips_own_check" and src == p
                ident = v if (self.valid(v) or trusted) and self._free(s, i, v, -1) else NIL
                yield (p, v), self._prevote(s, i, ident)

    def upon_proposal_in_propose_and_prevote(self, s: SDBCState) -> Succ:
        for i, p in enumerate(self.corr):
            if s.step[i] != PROPOSE:
                continue
            for _r, _h, v, vr in self._round_proposals(s, s.round[i]):
                if vr < 0 or self.prevotes_for(s, vr, v) < self._q(s, i):
                    continue
                ident = v if self.valid(v) and self._free(s, i, v, vr) else NIL
                yield (p, v, vr), self._prevote(s, i, ident)

    def upon_quorum_of_prevotes_any(self, s: SDBCState) -> Succ:
        for i, p in enumerate(self.corr):
            r = s.round[i]
            if s.step[i] != PREVOTE or self.any_in(s, s.msgsPrevote, r) < self._q(s, i):
                continue
            if self.synchronous(r) and not self._prevote_timeout_expired(s, i, r):
                continue
            yield (
                (p,),
                replace(
                    s,
                    step=self._set(s.step, i, PRECOMMIT),
                    msgsPrecommit=s.msgsPrecommit | {(r, p, NIL)},
                ),
            )

    def upon_proposal_in_prevote_or_commit_and_prevote(self, s: SDBCState) -> Succ:
        for i, p in enumerate(self.corr):
            r = s.round[i]
            step = s.step[i]
            if step not in (PREVOTE, PRECOMMIT):
                continue
            for v in sorted({m[2] for m in self._round_proposals(s, r)}):
                if not self.valid(v) or self.prevotes_for(s, r, v) < self._q(s, i):
                    continue
                t = s
                if self.later_proposer[(p, r)]:
                    # validValue is read only by InsertProposal: updated only
                    # for a hub that proposes a later round of the scope
                    t = replace(
                        t,
                        validValue=self._set(t.validValue, i, v),
                        validRound=self._set(t.validRound, i, r),
                    )
                if step == PREVOTE or (
                    self.mutant == "double_precommit" and (r, p, v) not in s.msgsPrecommit
                ):
                    if self.mutant != "lock_not_updated":
                        t = replace(
                            t,
                            lockedValue=self._set(t.lockedValue, i, v),
                            lockedRound=self._set(t.lockedRound, i, r),
                        )
                    t = replace(
                        t,
                        step=self._set(t.step, i, PRECOMMIT),
                        msgsPrecommit=t.msgsPrecommit | {(r, p, v)},
                    )
                if t != s:
                    yield (p, v), t

    def upon_quorum_of_precommits_any(self, s: SDBCState) -> Succ:
        for i, p in enumerate(self.corr):
            r = s.round[i]
            if r + 1 > self.max_round or self.mutant == "dropped_precommit_timeout":
                continue
            if self.synchronous(r) and not self._precommit_timeout_expired(s, i, r):
                continue
            if self.any_in(s, s.msgsPrecommit, r) >= self._q(s, i):
                yield (p,), self._start_round(s, i, r + 1)

    def decidable(self, s: SDBCState, i: int) -> frozenset[str]:
        """``Decidable(p)``: the values correct hub ``corr[i]`` decides on
        seeing them (line 49 of Algorithm 1: a proposal of ``v`` from
        ``Proposer[r]`` and a quorum of precommits for ``v`` in ``r``, with
        ``valid(v)``), counted by ``p``'s own rule.  A hub decides as soon as
        it looks, and deciding sends nothing, so the model keeps the
        decisions as this function of the message sets rather than as a
        variable: the hub may also go on taking steps, which only adds
        behaviours."""
        return frozenset(
            m[2]
            for r in self.rounds
            for m in self._round_proposals(s, r)
            if self.valid(m[2]) and self.precommits_for(s, r, m[2]) >= self._q(s, i)
        )

    def on_timeout_propose(self, s: SDBCState) -> Succ:
        """Lines 57-60: a hub in step propose prevotes nil.  The round's
        proposer only with ``ProposerMayStall`` and only while it has not
        proposed: it held fewer than ``Q`` summaries when its timer fired
        (the model starts after the summary exchange, so it cannot say why,
        only that it may happen)."""
        for i, p in enumerate(self.corr):
            r = s.round[i]
            if s.step[i] != PROPOSE:
                continue
            if self.proposer(r) == p and not (
                self.proposer_may_stall and not any(m[0] == r and m[1] == p for m in s.msgsPropose)
            ):
                continue
            if self.synchronous(r) and self.proposer(r) in self.corr_set:
                # after GST a correct proposer's proposal beats timeoutPropose
                # (and the proposer holds the correct hubs' summaries)
                continue
            yield (p,), self._prevote(s, i, NIL)

    # -- time: partial synchrony (the liveness configuration) ---------------

    def synchronous(self, r: int) -> bool:
        """Round ``r`` is at or after ``GST``.

        Before GST the three timeout-driven steps (``OnTimeoutPropose``,
        ``UponQuorumOfPrevotesAny``: precommit nil, ``UponQuorumOfPrecommitsAny``:
        next round) fire whenever their guard holds: a timeout may expire
        before any message arrives.  From GST on, message delay is below
        ``Delta`` and the timeouts exceed it (Tendermint's timeouts grow by
        round, so some round's timeouts do), so a timeout expires only after
        every message a correct hub sends in that step of the round has
        arrived.  The model says exactly that, as a stronger guard on each
        timeout step in a synchronous round (not by disabling it: a round
        after GST may still fail, and then its timeouts must fire):

        * ``OnTimeoutPropose``: never when ``Proposer[r]`` is correct (its
          proposal arrives first); as before when it is faulty (it may
          send late or never);
        * ``UponQuorumOfPrevotesAny``: only when every correct hub has
          prevoted in ``r`` and no proposed valid value of ``r`` has a
          quorum of prevotes (then ``UponProposalInPrevoteOrCommitAndPrevote``
          can never fire on correct prevotes: a correct hub signs once);
        * ``UponQuorumOfPrecommitsAny``: only when every correct hub has
          precommitted in ``r`` and the hub cannot decide.

        Faulty hubs' messages are never waited for (they may be late
        forever).  Absent ``GST`` no round is synchronous.
        """
        return r >= self.gst

    def _prevote_timeout_expired(self, s: SDBCState, i: int, r: int) -> bool:
        if not self.corr_set <= {m[1] for m in s.msgsPrevote if m[0] == r}:
            return False
        return not any(
            self.valid(v) and self.prevotes_for(s, r, v) >= self._q(s, i)
            for v in {m[2] for m in self._round_proposals(s, r)}
        )

    def _precommit_timeout_expired(self, s: SDBCState, i: int, r: int) -> bool:
        if not self.corr_set <= {m[1] for m in s.msgsPrecommit if m[0] == r}:
            return False
        return not self.decidable(s, i)

    def on_round_catchup(self, s: SDBCState) -> Succ:
        for i, p in enumerate(self.corr):
            need = self.blocking_of(s.quorumOf[i])
            for r in self.rounds:
                if r > s.round[i] and self.senders_in(s, r) >= need:
                    yield (p, r), self._start_round(s, i, r)

    def raise_quorum(self, s: SDBCState) -> Succ:
        """Adaptive threshold: within an epoch a hub's quorum only rises,
        never above ``QCap = N - FLive`` (the mutant also lowers it by one)."""
        lowest = self.q0 - 1 if self.mutant == "threshold_lowered_in_epoch" else self.q0
        for i, p in enumerate(self.corr):
            for q in range(max(lowest, 1), self.q_cap + 1):
                if q > s.quorumOf[i] or (q < s.quorumOf[i] and lowest < self.q0):
                    yield (p, q), replace(s, quorumOf=self._set(s.quorumOf, i, q))

    def inject(self, s: SDBCState) -> Succ:
        for h in self.faulty:
            if h not in s.injected:
                yield (h,), replace(s, injected=s.injected | {h})

    def actions(self) -> tuple[tuple[str, Callable[[SDBCState], Succ]], ...]:
        return (
            ("InsertProposal", self.insert_proposal),
            ("UponProposalInPropose", self.upon_proposal_in_propose),
            ("UponProposalInProposeAndPrevote", self.upon_proposal_in_propose_and_prevote),
            ("UponQuorumOfPrevotesAny", self.upon_quorum_of_prevotes_any),
            (
                "UponProposalInPrevoteOrCommitAndPrevote",
                self.upon_proposal_in_prevote_or_commit_and_prevote,
            ),
            ("UponQuorumOfPrecommitsAny", self.upon_quorum_of_precommits_any),
            ("OnTimeoutPropose", self.on_timeout_propose),
            ("OnRoundCatchup", self.on_round_catchup),
            ("RaiseQuorum", self.raise_quorum),
            ("Inject", self.inject),
        )

    def successors(self, s: SDBCState) -> Iterator[tuple[str, tuple[Hashable, ...], SDBCState]]:
        for name, action in self.actions():
            for args, t in action(s):
                yield name, args, t

    def correct_successors(self, s: SDBCState) -> Iterator[SDBCState]:
        """Successors by a correct hub's action (everything but ``Inject``)."""
        for name, _args, t in self.successors(s):
            if name != "Inject":
                yield t

    # -- properties (one predicate each, shared with the implementation) ----

    def correct_equivocators(self, s: SDBCState) -> frozenset[int]:
        """Correct hubs that signed two different votes of one kind in one
        round, or two proposals in one round."""
        out: set[int] = set()
        for votes in (s.msgsPrevote, s.msgsPrecommit):
            seen: dict[tuple[int, int], str] = {}
            for r, src, ident in votes:
                if seen.setdefault((r, src), ident) != ident:
                    out.add(src)
        props: dict[tuple[int, int], tuple[str, int]] = {}
        for r, src, v, vr in s.msgsPropose:
            if props.setdefault((r, src), (v, vr)) != (v, vr):
                out.add(src)
        return frozenset(out)

    def polka(self, s: SDBCState, r: int, v: str) -> bool:
        """``Q`` distinct signers prevoted ``v`` in round ``r``."""
        signers = {m[1] for m in s.msgsPrevote if m[0] == r and m[2] == v}
        return len(signers) + len(s.injected) >= self.q0

    def amnesiacs(self, s: SDBCState) -> frozenset[int]:
        """Correct-set hubs that precommitted ``v`` in ``r1`` and later
        prevoted ``w`` (not ``v``, not nil) in ``r2 > r1`` with no polka for
        ``w`` in any round ``r1 <= vr < r2``: an unlawful unlock.  (A faulty
        hub that injected is already an equivocator.)"""
        out: set[int] = set()
        for r1, src, v in s.msgsPrecommit:
            if v == NIL:
                continue
            for r2, src2, w in s.msgsPrevote:
                if (
                    src2 == src
                    and r2 > r1
                    and w not in (NIL, v)
                    and not any(self.polka(s, vr, w) for vr in range(r1, r2))
                ):
                    out.add(src)
        return frozenset(out)

    def detected(self, s: SDBCState) -> frozenset[int]:
        """``Detected``: every hub two of whose signed messages conflict
        (equivocation), or who unlocked unlawfully (amnesia)."""
        return s.injected | self.correct_equivocators(s) | self.amnesiacs(s)

    def decided_values(self, s: SDBCState) -> set[str]:
        out: set[str] = set()
        for i in range(len(self.corr)):
            out |= self.decidable(s, i)
        return out

    def fork(self, s: SDBCState) -> bool:
        return len(self.decided_values(s)) > 1

    def type_ok(self, s: SDBCState) -> bool:
        k = len(self.corr)
        ids = (*self.values, NIL)
        return (
            all(len(x) == k for x in (s.round, s.step, s.quorumOf))
            and all(r in self.rounds for r in s.round)
            and all(st in STEPS for st in s.step)
            and all(v in ids for v in (*s.lockedValue, *s.validValue))
            and all(-1 <= r <= self.max_round for r in (*s.lockedRound, *s.validRound))
            and all(1 <= q <= self.n for q in s.quorumOf)
            and all(m[1] in self.corr_set and m[0] in self.rounds for m in s.msgsPropose)
            and all(
                m[1] in self.corr_set and m[0] in self.rounds and m[2] in ids
                for m in s.msgsPrevote | s.msgsPrecommit
            )
        )

    def agreement(self, s: SDBCState) -> bool:
        return not self.fork(s)

    def validity(self, s: SDBCState) -> bool:
        return all(d in self.truly_valid for d in self.decided_values(s))

    def box_validity(self, s: SDBCState) -> bool:
        return all(
            self.honest_low <= self.claimed[d] <= self.honest_high for d in self.decided_values(s)
        )

    def accountability(self, s: SDBCState) -> bool:
        return not self.fork(s) or len(self.detected(s)) >= 2 * self.q0 - self.n

    def no_framing(self, s: SDBCState) -> bool:
        return not (self.detected(s) & self.corr_set)

    def precommits_lock_value(self, s: SDBCState) -> bool:
        """A correct hub's precommit for ``v`` in ``r`` rests on a polka for
        ``v`` in ``r``, and the hub stays locked at ``r`` or later (on ``v``
        while at ``r``)."""
        for r, src, v in s.msgsPrecommit:
            if v == NIL:
                continue
            i = src - self.f
            if not self.polka(s, r, v):
                return False
            if s.lockedRound[i] < r or (s.lockedRound[i] == r and s.lockedValue[i] != v):
                return False
        return True

    def correct_votes_valid(self, s: SDBCState) -> bool:
        """A correct hub prevotes or precommits only nil or a valid value."""
        return all(m[2] == NIL or m[2] in self.truly_valid for m in s.msgsPrevote | s.msgsPrecommit)

    def next_threshold_safe(self, s: SDBCState) -> bool:
        """Every decided value leaves the next epoch runnable: its quorum
        ``NextQ`` is at most ``N - FLive`` (the correct hubs still make one)
        and a value of ``NextQ`` summaries survives trimming ``N - NextQ``
        per side (``3 NextQ >= 2N + 1``).  Threshold 1 breaks the first,
        51/100 the second."""
        return all(
            self.next_q[d] <= self.n - self.f_live and 3 * self.next_q[d] >= 2 * self.n + 1
            for d in self.decided_values(s)
        )

    def no_equivocation_by_correct(self, s: SDBCState) -> bool:
        return not self.correct_equivocators(s)

    def round_advance_justified(self, s: SDBCState) -> bool:
        """A correct hub is in round ``r > 0`` only on ``Q`` precommit signers
        of ``r - 1`` or ``N - QCap + 1`` signers of some message of ``r``."""
        b = blocking(self.n, self.q_cap)
        for r in set(s.round):
            if r == 0:
                continue
            precommitters = len({m[1] for m in s.msgsPrecommit if m[0] == r - 1}) + len(s.injected)
            if precommitters < self.q0 and self.senders_in(s, r) < b:
                return False
        return True

    def stalled(self, s: SDBCState) -> bool:
        """No value is decided, no correct hub can take a step, and some
        correct hub is stuck before the end of its round (so the end of the
        bounded scope is not what stops it): only the faulty hubs could
        unblock it."""
        return (
            not self.decided_values(s)
            and any(
                st != PRECOMMIT or r < self.max_round for st, r in zip(s.step, s.round, strict=True)
            )
            and next(self.correct_successors(s), None) is None
        )

    def proposer_stalled(self, s: SDBCState) -> bool:
        """A correct hub prevoted nil in a round it proposes without having
        proposed (reachable only with ``ProposerMayStall``)."""
        return any(
            ident == NIL
            and self.proposer(r) == src
            and not any(m[0] == r and m[1] == src for m in s.msgsPropose)
            for r, src, ident in s.msgsPrevote
        )

    def witnesses(self) -> dict[str, Callable[[SDBCState], bool]]:
        return {
            "SomeDecided": lambda s: bool(self.decided_values(s)),
            "TwoDecided": lambda s: (
                sum(bool(self.decidable(s, i)) for i in range(len(self.corr))) >= 2
            ),
            "DecidedWithFaultySummary": lambda s: any(
                self.included[d][0] < self.f for d in self.decided_values(s)
            ),
            "ForkDetected": lambda s: (
                self.fork(s) and len(self.detected(s)) >= 2 * self.q0 - self.n
            ),
            "FaultyDetected": lambda s: bool(s.injected),
            "SomeLocked": lambda s: any(r >= 0 for r in s.lockedRound),
            "InvalidProposalRejected": lambda s: any(
                m[2] == NIL and self.proposer(m[0]) in s.injected for m in s.msgsPrevote
            ),
            "RoundChange": lambda s: any(r > 0 for r in s.round),
            "Stalled": self.stalled,
            "ProposerStalled": self.proposer_stalled,
        }

    def invariants(self) -> dict[str, Callable[[SDBCState], bool]]:
        return {
            "TypeOK": self.type_ok,
            "Agreement": self.agreement,
            "Validity": self.validity,
            "BoxValidity": self.box_validity,
            "Accountability": self.accountability,
            "NoFraming": self.no_framing,
            "PrecommitsLockValue": self.precommits_lock_value,
            "NoEquivocationByCorrect": self.no_equivocation_by_correct,
            "CorrectVotesValid": self.correct_votes_valid,
            "RoundAdvanceJustified": self.round_advance_justified,
            "NextThresholdSafe": self.next_threshold_safe,
        }

    def claimed_invariants(self) -> tuple[str, ...]:
        """The always-properties this configuration claims: ``BoxValidity``
        needs ``F <= TrimF``; ``Agreement`` needs ``F <= 2Q - N - 1``."""
        names = list(self.invariants())
        if self.f > self.trim_f:
            names.remove("BoxValidity")
        if self.f > 2 * self.q0 - self.n - 1:
            names.remove("Agreement")
        return tuple(names)

    def claimed_witnesses(self) -> tuple[str, ...]:
        names = ["SomeDecided", "TwoDecided", "SomeLocked"]
        if self.f >= 1:
            # only a faulty hub is detected, proposes an invalid value or
            # sends a faulty summary (none in the liveness configuration)
            names += ["FaultyDetected", "InvalidProposalRejected"]
        if self.max_round >= 1:
            names.append("RoundChange")
        if 1 <= self.f <= self.trim_f:
            names.append("DecidedWithFaultySummary")
        if self.f > 2 * self.q0 - self.n - 1:
            names.append("ForkDetected")
        if self.n - self.f < self.q_cap:
            # the correct hubs cannot make a quorum (as raised): safe, stalled
            names.append("Stalled")
        if self.proposer_may_stall and any(
            self.proposer(r) in self.corr_set and not self.synchronous(r) for r in self.rounds
        ):
            names.append("ProposerStalled")
        return tuple(names)

    # -- liveness (the configuration with GST) ------------------------------

    def liveness_claimed(self) -> bool:
        """``EventuallyAllDecide`` is claimed where some round of the scope
        is synchronous, no hub is faulty and the quorum cannot rise above
        what the correct hubs make (only the liveness configuration)."""
        return self.gst <= self.max_round and self.f == 0 and self.q_cap <= self.n - self.f

    def all_decided(self, s: SDBCState) -> bool:
        """Every correct hub can decide (``Decidable(p) # {}`` for all p)."""
        return all(self.decidable(s, i) for i in range(len(self.corr)))

    def round_zero_fails(self, s: SDBCState) -> bool:
        """Non-vacuity of ``EventuallyAllDecide``: a hub reaches round 1
        with nothing decided (the timeouts carried it there)."""
        return any(r >= 1 for r in s.round) and not self.decided_values(s)

    def fairness(self) -> tuple[WeakFairness, ...]:
        """``WF_vars(Hub(p))`` per correct hub ``p``: the disjunction of its
        steps (every action but ``Inject``; an instance belongs to the hub
        named by its first argument)."""
        steps = frozenset(name for name in ACTION_NAMES if name != "Inject")
        return tuple(HubFairness(name=f"Hub({p})", actions=steps, hub=p) for p in self.corr)

    # -- symmetry ----------------------------------------------------------

    def symmetric_hubs(self) -> tuple[int, ...]:
        """Correct hubs that propose in no round of the scope: any permutation
        of them maps behaviours to behaviours."""
        proposers = {self.proposer(r) for r in self.rounds}
        return tuple(p for p in self.corr if p not in proposers)

    def rename(self, s: SDBCState, perm: Mapping[int, int]) -> SDBCState:
        """Apply the hub permutation ``perm`` (hub -> hub) to ``s``."""
        fields: dict[str, tuple[Any, ...]] = {}
        for name in PER_HUB:
            old = getattr(s, name)
            new = list(old)
            for p, image in perm.items():
                new[image - self.f] = old[p - self.f]
            fields[name] = tuple(new)
        return SDBCState(
            **fields,  # type: ignore[arg-type]
            msgsPropose=frozenset((r, perm.get(h, h), v, vr) for r, h, v, vr in s.msgsPropose),
            msgsPrevote=frozenset((r, perm.get(h, h), i) for r, h, i in s.msgsPrevote),
            msgsPrecommit=frozenset((r, perm.get(h, h), i) for r, h, i in s.msgsPrecommit),
            injected=s.injected,
        )

    def canonical(self, s: SDBCState) -> SDBCState:
        """The representative of ``s``'s orbit: the symmetric hubs sorted by
        their local state and the votes they signed."""
        hubs = self.symmetric_hubs()
        if len(hubs) < 2:
            return s

        prevotes: dict[int, list[tuple[int, str]]] = {p: [] for p in hubs}
        precommits: dict[int, list[tuple[int, str]]] = {p: [] for p in hubs}
        for r, h, v in s.msgsPrevote:
            if h in prevotes:
                prevotes[h].append((r, v))
        for r, h, v in s.msgsPrecommit:
            if h in precommits:
                precommits[h].append((r, v))
        keys = {
            p: (
                s.round[p - self.f],
                s.step[p - self.f],
                s.lockedValue[p - self.f],
                s.lockedRound[p - self.f],
                s.validValue[p - self.f],
                s.validRound[p - self.f],
                s.quorumOf[p - self.f],
                sorted(prevotes[p]),
                sorted(precommits[p]),
            )
            for p in hubs
        }
        order = sorted(hubs, key=keys.__getitem__)
        if order == list(hubs):
            return s
        return self.rename(s, dict(zip(order, hubs, strict=True)))

    def orbit(self, s: SDBCState) -> Iterator[SDBCState]:
        hubs = self.symmetric_hubs()
        for image in permutations(hubs):
            yield self.rename(s, dict(zip(hubs, image, strict=True)))

    # -- the TLA+ view -----------------------------------------------------

    def view(self, s: SDBCState) -> Mapping[str, object]:
        def per_hub(values: tuple[Any, ...]) -> dict[str, object]:
            return {f"h{p}": values[p - self.f] for p in self.corr}

        def votes(records: frozenset[tuple[int, int, str, int]]) -> frozenset[object]:
            return frozenset(
                (("round", r), ("src", f"h{h}"), ("id", i), ("sig", g)) for r, h, i, g in records
            )

        return {
            **{name: per_hub(getattr(s, name)) for name in PER_HUB},
            "msgsPropose": frozenset(
                (("round", r), ("src", f"h{h}"), ("value", v), ("validRound", vr))
                for r, h, v, vr in self.proposals(s)
            ),
            "msgsPrevote": votes(self.prevote_records(s)),
            "msgsPrecommit": votes(self.precommit_records(s)),
        }


PER_HUB: Final = (
    "round",
    "step",
    "lockedValue",
    "lockedRound",
    "validValue",
    "validRound",
    "quorumOf",
)


VARIABLES: Final = (
    "round",
    "step",
    "lockedValue",
    "lockedRound",
    "validValue",
    "validRound",
    "quorumOf",
    "msgsPropose",
    "msgsPrevote",
    "msgsPrecommit",
)


def _build(constants: Constants, mutant: str | None) -> Model[SDBCState]:
    spec = SDBCSpec(constants, mutant)
    invariants = spec.invariants()
    witnesses = spec.witnesses()
    properties: list[Property[SDBCState]] = [
        Property.always(name, invariants[name]) for name in spec.claimed_invariants()
    ]
    properties += [Property.sometimes(name, witnesses[name]) for name in spec.claimed_witnesses()]
    fairness: tuple[WeakFairness, ...] = ()
    if spec.liveness_claimed():
        properties.append(Property.eventually("EventuallyAllDecide", spec.all_decided))
        properties.append(Property.sometimes("RoundZeroFails", spec.round_zero_fails))
        fairness = spec.fairness()
    q0 = spec.q0
    return Model(
        name="sdbc",
        constants=dict(constants),
        variables=VARIABLES,
        init_states=lambda: iter((spec.init(),)),
        actions=tuple(Action(name=name, step=step) for name, step in spec.actions()),
        properties=tuple(properties),
        view=spec.view,
        assumptions=(
            Assumption(name="ThresholdAboveHalf", holds=Fraction(1, 2) < spec.t <= 1),
            Assumption(name="FaultyFewerThanN", holds=0 <= spec.f < spec.n),
            Assumption(name="QuorumCapAtLeastQuorum", holds=q0 <= spec.q_cap <= spec.n),
        ),
        symmetry=spec.canonical,
        fairness=fairness,
    )


def build(constants: Constants) -> Model[SDBCState]:
    """The specification with ``constants`` (see :data:`CONFIGS`)."""
    return _build(constants, None)


def _mutant_builder(name: str) -> Callable[[Constants], Model[SDBCState]]:
    def builder(constants: Constants) -> Model[SDBCState]:
        return _build(constants, name)

    return builder


FAMILY = ModelFamily(
    name="sdbc",
    summary="SDBC: one epoch of Tendermint among the hubs, with 3/4 quorums (spec/SDBC.tla)",
    build=build,
    configs=CONFIGS,
    default_config="n4f1",
    mutants={name: _mutant_builder(name) for name in MUTANTS},
    mutant_configs=MUTANT_CONFIG,
)
