-------------------------------- MODULE SDBC --------------------------------
(***************************************************************************)
(* SDBC: one epoch of the continental hubs' Byzantine consensus.           *)
(*                                                                         *)
(* Tendermint's algorithm (Buchman, Kwon, Milosevic, "The latest gossip on *)
(* BFT consensus", arXiv 1807.04938, Algorithm 1) for a single decision,   *)
(* with vigilnet's thresholds (DESIGN.md 4.1): quorum Q = ceil(T * N) for  *)
(* T = TNum / TDen, blocking set N - Q + 1 for the round skip, values that *)
(* carry signed summaries and their TrimF-trimmed mean, a per-hub quorum   *)
(* that may only rise within the epoch (to QCap = N - FLive at most).      *)
(*                                                                         *)
(* The executable model is models/sdbc.py: same variables, actions and     *)
(* properties.  spec/README.md maps the names and lists the state counts.  *)
(*                                                                         *)
(* Scope choices (see spec/README.md):                                     *)
(*  - hubs are 0..N-1; the first F are faulty, Proposer(r) = r % N;        *)
(*  - a faulty hub is silent until Inject(f), which sends every message    *)
(*    it can sign, in every round, at once: every guard of a correct hub   *)
(*    asks for at least so many signers, so this reaches every state a     *)
(*    partial injection reaches;                                           *)
(*  - decisions are the operator Decidable(p), not a variable: a hub       *)
(*    decides as soon as it sees a proposal and a quorum of precommits,    *)
(*    and deciding sends nothing;                                          *)
(*  - validValue is only written for a hub that proposes a later round of  *)
(*    the scope (nobody else ever reads it);                               *)
(*  - the model starts after the summary exchange, so a correct proposer   *)
(*    can always propose; ProposerMayStall (FALSE in every shipped cfg but *)
(*    SDBC_n4f1stall.cfg) lets it time out without a value instead.        *)
(***************************************************************************)
EXTENDS Integers, FiniteSets, Sequences, TLC

CONSTANTS
    N,          \* number of hubs
    F,          \* number of faulty hubs (the first F)
    TNum, TDen, \* the quorum threshold T = TNum / TDen, 1/2 < T <= 1
    MaxRound,   \* rounds 0..MaxRound
    FLive,      \* the quorum may rise within an epoch, never above N - FLive
    GST,        \* the first synchronous round (MaxRound + 1: none is)
    ProposerMayStall  \* a correct proposer may time out without proposing

ASSUME ThresholdAboveHalf == 2 * TNum > TDen /\ TNum <= TDen
ASSUME FaultyFewerThanN == 0 <= F /\ F < N
ASSUME GSTInScope == 0 <= GST /\ GST <= MaxRound + 1
ASSUME ProposerMayStallIsBoolean == ProposerMayStall \in BOOLEAN

Hubs == 0 .. N - 1
Faulty == 0 .. F - 1
Corr == F .. N - 1
Rounds == 0 .. MaxRound
RoundsOrNil == -1 .. MaxRound
NilValue == "nil"
Values == {"v0", "v1", "vX"}
Ids == Values \cup {NilValue}
Steps == {"propose", "prevote", "precommit"}

Q == (TNum * N + TDen - 1) \div TDen          \* ceil(T * N), exactly
QCap == IF N - FLive > Q THEN N - FLive ELSE Q
TrimF == N - Q
ASSUME QuorumCapAtLeastQuorum == Q <= QCap /\ QCap <= N

Proposer(r) == r % N

(* Values: the summaries each hub signed, which hubs a value includes, and *)
(* the aggregate it claims (a fraction [num |-> .., den |-> ..]).          *)
Summary(h) == IF h \in Faulty THEN 1000 ELSE 10 + h

Included(v) == IF v = "v1" THEN (N - Q) .. (N - 1) ELSE 0 .. (Q - 1)

RECURSIVE SortedSummaries(_)
SortedSummaries(S) ==
    IF S = {} THEN << >>
    ELSE LET h == CHOOSE x \in S : \A y \in S : Summary(x) <= Summary(y)
         IN  << Summary(h) >> \o SortedSummaries(S \ {h})

RECURSIVE SeqSum(_)
SeqSum(s) == IF s = << >> THEN 0 ELSE Head(s) + SeqSum(Tail(s))

Trimmed(S, k) == SubSeq(SortedSummaries(S), k + 1, Cardinality(S) - k)

\* the claimed aggregate: v0 and v1 the TrimF-trimmed mean, vX the plain mean
Claimed(v) ==
    LET k == IF v = "vX" THEN 0 ELSE TrimF
        kept == Trimmed(Included(v), k)
    IN  [num |-> SeqSum(kept), den |-> Len(kept)]

\* external validity: the claimed aggregate recomputes from the summaries
Valid(v) ==
    LET kept == Trimmed(Included(v), TrimF) IN
    /\ Cardinality(Included(v)) >= Q
    /\ Claimed(v).num * Len(kept) = SeqSum(kept) * Claimed(v).den

ValidValues == {v \in Values : Valid(v)}

(* The next epoch's quorum a value carries, by the agreed-threshold rule  *)
(* (docs/protocols/sdbc.md): each faulty hub's summary proposes threshold *)
(* 1 (quorum N), each correct one no change, and a change is taken only   *)
(* when Q of the included summaries propose it.  A value whose next       *)
(* threshold the proposer chose alone is invalid, like vX, so it is left  *)
(* out here; models/sdbc.py's mutant next_threshold_by_proposer adds it   *)
(* as valid.                                                              *)
NextQ(v) == IF Cardinality(Included(v) \cap Faulty) >= Q THEN N ELSE Q

HonestLow == 10 + F
HonestHigh == 10 + N - 1

VARIABLES
    round, step, lockedValue, lockedRound, validValue, validRound, quorumOf,
    msgsPropose, msgsPrevote, msgsPrecommit

vars == << round, step, lockedValue, lockedRound, validValue, validRound,
           quorumOf, msgsPropose, msgsPrevote, msgsPrecommit >>

Proposal(r, src, v, vr) == [round |-> r, src |-> src, value |-> v, validRound |-> vr]
Vote(r, src, id, sig) == [round |-> r, src |-> src, id |-> id, sig |-> sig]

\* every message faulty hub f can sign: two signatures on every vote
FaultyProposals(f) ==
    {m \in [round : {x \in Rounds : Proposer(x) = f}, src : {f}, value : Values,
            validRound : RoundsOrNil] : m.validRound < m.round}
FaultyVotes(f) == {Vote(r, f, id, sig) : r \in Rounds, id \in Ids, sig \in {0, 1}}

Injected == {f \in Faulty : \E m \in msgsPrevote : m.src = f}

Signers(M) == {m.src : m \in M}
PrevotesFor(r, id) == Cardinality(Signers({m \in msgsPrevote : m.round = r /\ m.id = id}))
PrecommitsFor(r, id) == Cardinality(Signers({m \in msgsPrecommit : m.round = r /\ m.id = id}))
PrevotesAny(r) == Cardinality(Signers({m \in msgsPrevote : m.round = r}))
PrecommitsAny(r) == Cardinality(Signers({m \in msgsPrecommit : m.round = r}))
SendersIn(r) ==
    Cardinality(Signers({m \in msgsPropose : m.round = r})
                \cup Signers({m \in msgsPrevote : m.round = r})
                \cup Signers({m \in msgsPrecommit : m.round = r}))
Blocking(q) == N - q + 1

RoundProposals(r) == {m \in msgsPropose : m.round = r /\ m.src = Proposer(r)}

LaterProposer(p, r) == \E r2 \in Rounds : r2 > r /\ Proposer(r2) = p

\* line 49: the values p decides on seeing them
Decidable(p) ==
    {v \in ValidValues :
        \E r \in Rounds : \E m \in RoundProposals(r) :
            m.value = v /\ PrecommitsFor(r, v) >= quorumOf[p]}

(* Partial synchrony (the liveness configuration; models/sdbc.py,        *)
(* SDBCSpec.synchronous).  Before GST a timeout may expire before any     *)
(* message arrives, so the three timeout steps fire whenever their guard  *)
(* holds.  From GST on, delays are below Delta and the timeouts exceed    *)
(* it, so a timeout expires only after every message a correct hub sends  *)
(* in that step of the round has arrived.  Faulty hubs are never waited   *)
(* for.  A synchronous round may still fail, and then its timeouts fire.  *)
Synchronous(r) == r >= GST
AllCorrectPrevoted(r) == Corr \subseteq Signers({m \in msgsPrevote : m.round = r})
AllCorrectPrecommitted(r) == Corr \subseteq Signers({m \in msgsPrecommit : m.round = r})
PrevoteTimeoutExpired(p, r) ==
    /\ AllCorrectPrevoted(r)
    /\ ~\E m \in RoundProposals(r) :
            Valid(m.value) /\ PrevotesFor(r, m.value) >= quorumOf[p]
PrecommitTimeoutExpired(p, r) == AllCorrectPrecommitted(r) /\ Decidable(p) = {}

-----------------------------------------------------------------------------
Init ==
    /\ round = [p \in Corr |-> 0]
    /\ step = [p \in Corr |-> "propose"]
    /\ lockedValue = [p \in Corr |-> NilValue]
    /\ lockedRound = [p \in Corr |-> -1]
    /\ validValue = [p \in Corr |-> NilValue]
    /\ validRound = [p \in Corr |-> -1]
    /\ quorumOf = [p \in Corr |-> Q]
    /\ msgsPropose = {}
    /\ msgsPrevote = {}
    /\ msgsPrecommit = {}

BroadcastPrevote(p, id) ==
    msgsPrevote' = msgsPrevote \cup {Vote(round[p], p, id, 0)}

\* lines 14-19: the proposer proposes its validValue, or a value of its own
InsertProposal(p) ==
    /\ step[p] = "propose"
    /\ p = Proposer(round[p])
    /\ ~\E m \in msgsPropose : m.round = round[p] /\ m.src = p
    /\ \E v \in ValidValues :
        /\ validValue[p] = NilValue \/ v = validValue[p]
        /\ msgsPropose' = msgsPropose \cup {Proposal(round[p], p, v, validRound[p])}
    /\ UNCHANGED << round, step, lockedValue, lockedRound, validValue, validRound,
                    quorumOf, msgsPrevote, msgsPrecommit >>

\* lines 22-27
UponProposalInPropose(p) ==
    /\ step[p] = "propose"
    /\ \E m \in RoundProposals(round[p]) :
        /\ m.validRound = -1
        /\ LET ok == Valid(m.value) /\ (lockedRound[p] <= -1 \/ lockedValue[p] = m.value)
           IN  BroadcastPrevote(p, IF ok THEN m.value ELSE NilValue)
    /\ step' = [step EXCEPT ![p] = "prevote"]
    /\ UNCHANGED << round, lockedValue, lockedRound, validValue, validRound, quorumOf,
                    msgsPropose, msgsPrecommit >>

\* lines 28-33
UponProposalInProposeAndPrevote(p) ==
    /\ step[p] = "propose"
    /\ \E m \in RoundProposals(round[p]) :
        /\ m.validRound >= 0
        /\ PrevotesFor(m.validRound, m.value) >= quorumOf[p]
        /\ LET ok == Valid(m.value)
                     /\ (lockedRound[p] <= m.validRound \/ lockedValue[p] = m.value)
           IN  BroadcastPrevote(p, IF ok THEN m.value ELSE NilValue)
    /\ step' = [step EXCEPT ![p] = "prevote"]
    /\ UNCHANGED << round, lockedValue, lockedRound, validValue, validRound, quorumOf,
                    msgsPropose, msgsPrecommit >>

\* lines 34-35 and 44-46 (the timeout on prevotes fires at once)
UponQuorumOfPrevotesAny(p) ==
    /\ step[p] = "prevote"
    /\ PrevotesAny(round[p]) >= quorumOf[p]
    /\ Synchronous(round[p]) => PrevoteTimeoutExpired(p, round[p])
    /\ msgsPrecommit' = msgsPrecommit \cup {Vote(round[p], p, NilValue, 0)}
    /\ step' = [step EXCEPT ![p] = "precommit"]
    /\ UNCHANGED << round, lockedValue, lockedRound, validValue, validRound, quorumOf,
                    msgsPropose, msgsPrevote >>

\* lines 36-43: lock and precommit (in prevote), remember the valid value
UponProposalInPrevoteOrCommitAndPrevote(p) ==
    /\ step[p] \in {"prevote", "precommit"}
    /\ \E m \in RoundProposals(round[p]) :
        /\ Valid(m.value)
        /\ PrevotesFor(round[p], m.value) >= quorumOf[p]
        \* no stuttering instance (the model yields only real steps)
        /\ \/ step[p] = "prevote"
           \/ /\ LaterProposer(p, round[p])
              /\ << validValue[p], validRound[p] >> # << m.value, round[p] >>
        /\ IF LaterProposer(p, round[p])
           THEN /\ validValue' = [validValue EXCEPT ![p] = m.value]
                /\ validRound' = [validRound EXCEPT ![p] = round[p]]
           ELSE UNCHANGED << validValue, validRound >>
        /\ IF step[p] = "prevote"
           THEN /\ lockedValue' = [lockedValue EXCEPT ![p] = m.value]
                /\ lockedRound' = [lockedRound EXCEPT ![p] = round[p]]
                /\ msgsPrecommit' = msgsPrecommit \cup {Vote(round[p], p, m.value, 0)}
                /\ step' = [step EXCEPT ![p] = "precommit"]
           ELSE UNCHANGED << lockedValue, lockedRound, msgsPrecommit, step >>
    /\ UNCHANGED << round, quorumOf, msgsPropose, msgsPrevote >>

StartRound(p, r) ==
    /\ round' = [round EXCEPT ![p] = r]
    /\ step' = [step EXCEPT ![p] = "propose"]
    /\ UNCHANGED << lockedValue, lockedRound, validValue, validRound, quorumOf,
                    msgsPropose, msgsPrevote, msgsPrecommit >>

\* lines 47-48 and 65-67 (the timeout on precommits fires at once)
UponQuorumOfPrecommitsAny(p) ==
    /\ round[p] + 1 \in Rounds
    /\ PrecommitsAny(round[p]) >= quorumOf[p]
    /\ Synchronous(round[p]) => PrecommitTimeoutExpired(p, round[p])
    /\ StartRound(p, round[p] + 1)

\* lines 57-60.  With ProposerMayStall the round's proposer may time out
\* too, while it has not proposed: the implementation's proposer does when
\* it holds fewer than Q summaries (the model starts after the summary
\* exchange, so it says only that this may happen, not why).
OnTimeoutPropose(p) ==
    /\ step[p] = "propose"
    /\ \/ p # Proposer(round[p])
       \/ /\ ProposerMayStall
          /\ ~\E m \in msgsPropose : m.round = round[p] /\ m.src = p
    \* after GST a correct proposer's proposal beats timeoutPropose (and
    \* the proposer holds the correct hubs' summaries)
    /\ ~(Synchronous(round[p]) /\ Proposer(round[p]) \in Corr)
    /\ BroadcastPrevote(p, NilValue)
    /\ step' = [step EXCEPT ![p] = "prevote"]
    /\ UNCHANGED << round, lockedValue, lockedRound, validValue, validRound, quorumOf,
                    msgsPropose, msgsPrecommit >>

\* lines 55-56, with the blocking set N - q + 1 (never f + 1)
OnRoundCatchup(p) ==
    \E r \in Rounds :
        /\ r > round[p]
        /\ SendersIn(r) >= Blocking(quorumOf[p])
        /\ StartRound(p, r)

\* adaptive threshold: within an epoch a hub's quorum only rises, to QCap
RaiseQuorum(p) ==
    \E q \in (quorumOf[p] + 1) .. QCap :
        /\ quorumOf' = [quorumOf EXCEPT ![p] = q]
        /\ UNCHANGED << round, step, lockedValue, lockedRound, validValue, validRound,
                        msgsPropose, msgsPrevote, msgsPrecommit >>

\* the adversary: faulty hub f sends everything it can sign
Inject(f) ==
    /\ f \notin Injected
    /\ msgsPropose' = msgsPropose \cup FaultyProposals(f)
    /\ msgsPrevote' = msgsPrevote \cup FaultyVotes(f)
    /\ msgsPrecommit' = msgsPrecommit \cup FaultyVotes(f)
    /\ UNCHANGED << round, step, lockedValue, lockedRound, validValue, validRound,
                    quorumOf >>

\* every step correct hub p may take
Hub(p) ==
    \/ InsertProposal(p)
    \/ UponProposalInPropose(p)
    \/ UponProposalInProposeAndPrevote(p)
    \/ UponQuorumOfPrevotesAny(p)
    \/ UponProposalInPrevoteOrCommitAndPrevote(p)
    \/ UponQuorumOfPrecommitsAny(p)
    \/ OnTimeoutPropose(p)
    \/ OnRoundCatchup(p)
    \/ RaiseQuorum(p)

CorrectNext == \E p \in Corr : Hub(p)

Next == CorrectNext \/ \E f \in Faulty : Inject(f)

Spec == Init /\ [][Next]_vars

\* the liveness configuration: no correct hub stops while it can step
LiveSpec == Spec /\ \A p \in Corr : WF_vars(Hub(p))

-----------------------------------------------------------------------------
(* Decisions, evidence and properties *)

Decided == UNION {Decidable(p) : p \in Corr}

Fork == Cardinality(Decided) > 1

Polka(r, v) == PrevotesFor(r, v) >= Q

\* two signed messages of one kind, one round, one signer, that differ
Equivocators ==
    {h \in Hubs :
        \/ \E a, b \in msgsPrevote : a.src = h /\ b.src = h /\ a.round = b.round /\ a.id # b.id
        \/ \E a, b \in msgsPrecommit : a.src = h /\ b.src = h /\ a.round = b.round /\ a.id # b.id
        \/ \E a, b \in msgsPropose : a.src = h /\ b.src = h /\ a.round = b.round /\ a # b}

\* precommitted v in r1, prevoted w (not v, not nil) in r2 > r1, no polka
\* for w in r1 .. r2 - 1: an unlawful unlock
Amnesiacs ==
    {h \in Hubs :
        \E a \in msgsPrecommit, b \in msgsPrevote :
            /\ a.src = h /\ b.src = h /\ a.id # NilValue
            /\ b.round > a.round /\ b.id \notin {NilValue, a.id}
            /\ ~\E vr \in a.round .. (b.round - 1) : Polka(vr, b.id)}

Detected == Equivocators \cup Amnesiacs

TypeOK ==
    /\ round \in [Corr -> Rounds]
    /\ step \in [Corr -> Steps]
    /\ lockedValue \in [Corr -> Ids] /\ validValue \in [Corr -> Ids]
    /\ lockedRound \in [Corr -> RoundsOrNil] /\ validRound \in [Corr -> RoundsOrNil]
    /\ quorumOf \in [Corr -> 1 .. N]
    /\ \A m \in msgsPropose : m.round \in Rounds /\ m.src \in Hubs
    /\ \A m \in msgsPrevote \cup msgsPrecommit : m.round \in Rounds /\ m.id \in Ids

Agreement == ~Fork

Validity == Decided \subseteq ValidValues

BoxValidity ==
    \A v \in Decided :
        HonestLow * Claimed(v).den <= Claimed(v).num
        /\ Claimed(v).num <= HonestHigh * Claimed(v).den

Accountability == Fork => Cardinality(Detected) >= 2 * Q - N

NoFraming == Detected \cap Corr = {}

PrecommitsLockValue ==
    \A m \in msgsPrecommit :
        (m.src \in Corr /\ m.id # NilValue) =>
            /\ Polka(m.round, m.id)
            /\ lockedRound[m.src] >= m.round
            /\ lockedRound[m.src] = m.round => lockedValue[m.src] = m.id

NoEquivocationByCorrect == Equivocators \cap Corr = {}

CorrectVotesValid ==
    \A m \in msgsPrevote \cup msgsPrecommit :
        (m.src \in Corr /\ m.id # NilValue) => Valid(m.id)

RoundAdvanceJustified ==
    \A p \in Corr :
        round[p] > 0 =>
            \/ PrecommitsAny(round[p] - 1) >= Q
            \/ SendersIn(round[p]) >= Blocking(QCap)

\* the next epoch can run: a quorum without FLive hubs, and a value of
\* NextQ summaries survives trimming N - NextQ per side
NextThresholdSafe ==
    \A v \in Decided : NextQ(v) <= N - FLive /\ 3 * NextQ(v) >= 2 * N + 1

(* Witnesses: each is checked as "reachable" (TLC: as the invariant ~W,   *)
(* which must fail).                                                      *)
SomeDecided == Decided # {}
TwoDecided == Cardinality({p \in Corr : Decidable(p) # {}}) >= 2
DecidedWithFaultySummary == \E v \in Decided : Included(v) \cap Faulty # {}
ForkDetected == Fork /\ Cardinality(Detected) >= 2 * Q - N
FaultyDetected == Injected # {}
SomeLocked == \E p \in Corr : lockedRound[p] >= 0
InvalidProposalRejected ==
    \E m \in msgsPrevote : m.src \in Corr /\ m.id = NilValue /\ Proposer(m.round) \in Injected
RoundChange == \E p \in Corr : round[p] > 0
\* a correct proposer prevoted nil in its round without proposing
\* (reachable only with ProposerMayStall)
ProposerStalled ==
    \E m \in msgsPrevote :
        /\ m.src \in Corr /\ m.src = Proposer(m.round) /\ m.id = NilValue
        /\ ~\E x \in msgsPropose : x.round = m.round /\ x.src = m.src
Stalled ==
    /\ Decided = {}
    /\ \E p \in Corr : step[p] # "precommit" \/ round[p] < MaxRound
    /\ ~ENABLED CorrectNext

\* liveness (LiveSpec, the configuration with GST <= MaxRound and F = 0)
EventuallyAllDecide == <>(\A p \in Corr : Decidable(p) # {})
\* its witness: a hub reaches round 1 with nothing decided
RoundZeroFails == (\E p \in Corr : round[p] >= 1) /\ Decided = {}

NotSomeDecided == ~SomeDecided
NotTwoDecided == ~TwoDecided
NotDecidedWithFaultySummary == ~DecidedWithFaultySummary
NotForkDetected == ~ForkDetected
NotFaultyDetected == ~FaultyDetected
NotSomeLocked == ~SomeLocked
NotInvalidProposalRejected == ~InvalidProposalRejected
NotRoundChange == ~RoundChange
NotProposerStalled == ~ProposerStalled
NotStalled == ~Stalled
NotRoundZeroFails == ~RoundZeroFails

\* symmetry: the correct hubs that propose no round of the scope.  Hubs are
\* integers here (the proposer is r % N), and TLC accepts SYMMETRY only over
\* model values, so the shipped cfgs do not use it: TLC's counts are the
\* no-symmetry counts of spec/README.md.  Symmetry is what `vigilnet check`
\* reduces by (SDBCSpec.canonical).
SymHubs == {p \in Corr : \A r \in Rounds : Proposer(r) # p}
Symmetry == Permutations(SymHubs)
=============================================================================
