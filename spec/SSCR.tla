-------------------------------- MODULE SSCR --------------------------------
(***************************************************************************)
(* SSCR: the Secure Statistical CAP Resolver (DESIGN.md section 4.3).      *)
(*                                                                         *)
(* Two replicas, A (index 1: failure detector, modes, verdicts) and B      *)
(* (index 2), each hosting one source (sA, sB) reporting clamped terms     *)
(* +1 / -1 (units of lambda_max) on one agent.  The network is the         *)
(* partition adversary: it picks the link state for every tick, replays    *)
(* any delta ever sent, and with Timed = 1 leaks a heartbeat through a     *)
(* partition at the end of every tick of phase T - 1, just before each     *)
(* deadline of an un-jittered detector.                                    *)
(* With Byzantine = 1, sB may once rewrite its history (Rewrite: a higher  *)
(* sequence number whose statistics do not extend its entry); a replica    *)
(* whose merge meets a non-extending pair convicts sB, A stops counting a  *)
(* convicted sB, and A's finality tolerates one Byzantine source.          *)
(*                                                                         *)
(* This module is the transcription of models/sscr.py (same variable,      *)
(* action and property names); TLC with SSCR_<config>.cfg is meant to      *)
(* report the distinct-state counts pinned there.  Representation          *)
(* differences, all bijective: replicas and sources are 1 and 2 here (0   *)
(* and 1 in Python), "no cut" is <<-1, -1>> (None in Python) and "no      *)
(* provisional value" is "none" (None in Python).                          *)
(***************************************************************************)
EXTENDS Naturals, Integers, Sequences

CONSTANTS MaxObs, T, Sensitivity, Upper, Lower, Timed, Byzantine

\* TLC's configuration files have no negative literals: a cfg binds Lower
\* with `Lower <- Neg1` (or Neg2) to one of these.
Neg1 == -1
Neg2 == -2

ASSUME ThresholdsStraddleZero == Lower < 0 /\ 0 < Upper
ASSUME JitterBelowPeriod == T >= 2
ASSUME SensitivityPositive == Sensitivity >= 1
ASSUME ByzantineIsABit == Byzantine \in {0, 1}

VARIABLES phase, link, obs, bSlot, store, msgs, stale, countdown, heard,
          confirms, mode, raised, verdict, final, cut, declaredWith,
          provValue, becameFinal, reversed, raiseDropped, synced, dup,
          convicted, rewrote

vars == <<phase, link, obs, bSlot, store, msgs, stale, countdown, heard,
          confirms, mode, raised, verdict, final, cut, declaredWith,
          provValue, becameFinal, reversed, raiseDropped, synced, dup,
          convicted, rewrote>>

Empty == <<0, 0, 0>>
NoCut == <<-1, -1>>
StaleCap == MaxObs
\* The discrete T * U(0.5, 1.5): the next deadline is T - 1, T or T + 1 ticks away.
Draws == {T - 1, T, T + 1}

Max(a, b) == IF a >= b THEN a ELSE b
Min(a, b) == IF a <= b THEN a ELSE b

RECURSIVE SumSeq(_)
SumSeq(s) == IF s = <<>> THEN 0 ELSE Head(s) + SumSeq(Tail(s))

\* The cumulative entry <<seq, count, sum>> of a source after n terms.
Summary(terms, n) == IF n = 0 THEN Empty ELSE <<n, n, SumSeq(SubSeq(terms, 1, n))>>

\* Lexicographic order on entries (rule SSCR-CRDT-1) and the merge (SSCR-CRDT-2).
Greater(x, y) ==
    \/ x[1] > y[1]
    \/ x[1] = y[1] /\ x[2] > y[2]
    \/ x[1] = y[1] /\ x[2] = y[2] /\ x[3] > y[3]
MergeEntry(x, y) == IF Greater(y, x) THEN y ELSE x

\* Rule SSCR-CRDT-6 (units of lambda_max): y is a possible later report of x.
Extends(x, y) ==
    /\ y[1] > x[1]
    /\ y[2] >= x[2]
    /\ y[3] - x[3] <= y[2] - x[2]
    /\ x[3] - y[3] <= y[2] - x[2]
\* Rule SSCR-CRDT-7: two different entries, the larger not extending the smaller.
Conflict(x, y) ==
    /\ x # Empty
    /\ y # Empty
    /\ x # y
    /\ IF Greater(y, x) THEN ~Extends(x, y) ELSE ~Extends(y, x)
\* The entry a Byzantine sB publishes to rewrite its history after terms.
Rewritten(terms) ==
    LET n == Len(terms)
        total == SumSeq(terms)
    IN IF total # 0 THEN <<n + 1, n, -total>> ELSE <<n + 1, n - 1, 0>>

\* lambda_max (1) x rate (1) x staleness x unreachable sources (sB when stale).
Bound(st) == IF st > 0 THEN st ELSE 0

Sprt(l) == IF l >= Upper THEN "flagged" ELSE IF l <= Lower THEN "cleared" ELSE "undecided"

\* <<verdict, final>>: final when the margin (plus the Byzantine margin toward
\* the verdict, ePlus or eMinus) cannot move L back across the threshold.
Judge(l, margin, ePlus, eMinus) ==
    IF l >= Upper THEN <<"flagged", l - margin - ePlus >= Upper>>
    ELSE IF l <= Lower THEN <<"cleared", l + margin + eMinus <= Lower>>
    ELSE <<"undecided", FALSE>>

\* A's log-odds over the sources it has not convicted (rule SSCR-5).
LogOdds(st, conv) == st[1][1][3] + (IF conv[1] THEN 0 ELSE st[1][2][3])
\* E: with Byzantine = 1, the largest counted contribution toward the verdict.
EPlus(st, conv) ==
    IF Byzantine = 0 THEN 0
    ELSE Max(Max(st[1][1][3], 0), IF conv[1] THEN 0 ELSE Max(st[1][2][3], 0))
EMinus(st, conv) ==
    IF Byzantine = 0 THEN 0
    ELSE Max(Max(-st[1][1][3], 0), IF conv[1] THEN 0 ELSE Max(-st[1][2][3], 0))
JudgeA(st, conv, margin) == Judge(LogOdds(st, conv), margin, EPlus(st, conv), EMinus(st, conv))
Cut == <<Len(obs[1]), Len(obs[2])>>

Init ==
    /\ phase = 0
    /\ link = "up"
    /\ obs = <<<<>>, <<>>>>
    /\ bSlot = TRUE
    /\ store = <<<<Empty, Empty>>, <<Empty, Empty>>>>
    /\ msgs = {}
    /\ stale = 0
    /\ countdown \in Draws
    /\ heard = TRUE
    /\ confirms = 0
    /\ mode = "NORMAL"
    /\ raised = 0
    /\ verdict = "undecided"
    /\ final = FALSE
    /\ cut = NoCut
    /\ declaredWith = -1
    /\ provValue = "none"
    /\ becameFinal = FALSE
    /\ reversed = FALSE
    /\ raiseDropped = FALSE
    /\ synced = TRUE
    /\ dup = FALSE
    /\ convicted = <<FALSE, FALSE>>
    /\ rewrote = FALSE

\* A source makes one observation (sB at most one per tick: the rate bound).
Observe(src, v) ==
    /\ Len(obs[src]) < MaxObs
    /\ ~(src = 2 /\ (bSlot \/ rewrote))
    /\ LET terms == Append(obs[src], v)
       IN /\ obs' = [obs EXCEPT ![src] = terms]
          /\ store' = [store EXCEPT ![src][src] = Summary(terms, Len(terms))]
    /\ bSlot' = (bSlot \/ src = 2)
    /\ synced' = FALSE
    /\ UNCHANGED <<phase, link, msgs, stale, countdown, heard, confirms, mode,
                   raised, verdict, final, cut, declaredWith, provValue,
                   becameFinal, reversed, raiseDropped, dup, convicted, rewrote>>

\* sB, Byzantine, rewrites its history once; its home B held the entry the
\* rewrite does not extend, so B convicts sB at once.
Rewrite ==
    /\ Byzantine = 1
    /\ ~rewrote
    /\ ~bSlot
    /\ obs[2] # <<>>
    /\ LET forged == Rewritten(obs[2])
       IN /\ store' = [store EXCEPT ![2][2] = forged]
          /\ convicted' = <<convicted[1], convicted[2] \/ Conflict(store[2][2], forged)>>
    /\ bSlot' = TRUE
    /\ rewrote' = TRUE
    /\ synced' = FALSE
    /\ UNCHANGED <<phase, link, obs, msgs, stale, countdown, heard, confirms, mode,
                   raised, verdict, final, cut, declaredWith, provValue,
                   becameFinal, reversed, raiseDropped, dup>>

\* A digest/delta round trip both ways; in HEALING it completes the heal.
SyncRound ==
    /\ link = "up"
    /\ LET a == store[1]
           b == store[2]
           newStore == <<<<MergeEntry(a[1], b[1]), MergeEntry(a[2], b[2])>>,
                         <<MergeEntry(b[1], a[1]), MergeEntry(b[2], a[2])>>>>
           sent == {<<1, s, b[s][1], b[s][2], b[s][3]>> : s \in {x \in {1, 2} : Greater(b[x], a[x])}}
                   \cup {<<2, s, a[s][1], a[s][2], a[s][3]>> : s \in {x \in {1, 2} : Greater(a[x], b[x])}}
           found == Conflict(a[1], b[1]) \/ Conflict(a[2], b[2])
           either == convicted[1] \/ convicted[2] \/ found
           newConv == <<either, either>>
           j == JudgeA(newStore, newConv, 0)
       IN /\ store' = newStore
          /\ convicted' = newConv
          /\ msgs' = msgs \cup sent
          /\ stale' = 0
          /\ synced' = TRUE
          /\ bSlot' = TRUE
          /\ IF mode = "HEALING"
               THEN /\ mode' = "NORMAL"
                    /\ raised' = 0
                    /\ confirms' = 0
                    /\ IF ~final
                         THEN /\ verdict' = j[1]
                              /\ final' = j[2]
                              /\ cut' = IF j[2] THEN Cut ELSE NoCut
                              /\ becameFinal' = (becameFinal \/ (j[2] /\ provValue # "none"))
                              /\ reversed' = (reversed \/ (provValue # "none" /\ j[1] # provValue))
                              /\ provValue' = "none"
                         ELSE UNCHANGED <<verdict, final, cut, becameFinal, reversed, provValue>>
               ELSE UNCHANGED <<mode, raised, confirms, verdict, final, cut,
                                becameFinal, reversed, provValue>>
    /\ UNCHANGED <<phase, link, obs, countdown, heard, declaredWith, raiseDropped, dup,
                   rewrote>>

\* The network redelivers a delta ever sent: duplicated, delayed, reordered.
Replay(m) ==
    /\ link = "up"
    /\ m \in msgs
    /\ LET dst == m[1]
           src == m[2]
           entry == <<m[3], m[4], m[5]>>
           have == store[dst][src]
       IN /\ store' = [store EXCEPT ![dst][src] = MergeEntry(have, entry)]
          /\ dup' = (dup \/ have[1] >= entry[1])
          /\ convicted' = [convicted EXCEPT ![dst] = convicted[dst] \/ Conflict(have, entry)]
    /\ UNCHANGED <<phase, link, obs, bSlot, msgs, stale, countdown, heard,
                   confirms, mode, raised, verdict, final, cut, declaredWith,
                   provValue, becameFinal, reversed, raiseDropped, synced, rewrote>>

\* A evaluates its verdict (Evaluate), then a tick passes: at a deadline A
\* suspects B when no heartbeat came at the end of the last tick (phi over
\* its threshold), declares a partition after Sensitivity suspicions and
\* draws the next deadline; heartbeats arrive at the end of the tick; the
\* adversary picks the link for the next tick.
Tick(d, l) ==
    LET eRaised == IF final \/ mode = "NORMAL" THEN raised ELSE Max(raised, Bound(stale))
        margin == IF mode = "NORMAL" THEN Bound(stale) ELSE Max(Bound(stale), eRaised)
        j == JudgeA(store, convicted, margin)
        eVerdict == IF final THEN verdict ELSE j[1]
        eFinal == IF final THEN TRUE ELSE j[2]
        eCut == IF final THEN cut ELSE IF j[2] THEN Cut ELSE NoCut
        eProv == IF ~final /\ mode = "DEGRADED" /\ ~j[2] /\ j[1] # "undecided"
                   THEN j[1] ELSE provValue
        eBecame == IF final THEN becameFinal ELSE (becameFinal \/ (j[2] /\ provValue # "none"))
        eDropped == IF final THEN raiseDropped
                    ELSE (raiseDropped \/ (mode = "DEGRADED" /\ eRaised < raised))
        nextPhase == (phase + 1) % T
        stale2 == Min(StaleCap, stale + 1)
        deadline == countdown = 1
        confirms2 == IF deadline
                       THEN (IF ~heard THEN Min(Sensitivity, confirms + 1) ELSE 0)
                       ELSE confirms
        declare == deadline /\ confirms2 >= Sensitivity /\ mode # "DEGRADED"
        mode1 == IF declare THEN "DEGRADED" ELSE mode
        raised1 == IF deadline /\ mode1 # "NORMAL" THEN Max(eRaised, Bound(stale2)) ELSE eRaised
        mode2 == IF link = "up" /\ mode1 = "DEGRADED" THEN "HEALING" ELSE mode1
    IN /\ d \in (IF deadline THEN Draws ELSE {countdown - 1})
       /\ l \in {"up", "down"}
       /\ phase' = nextPhase
       /\ link' = l
       /\ bSlot' = FALSE
       /\ stale' = stale2
       /\ countdown' = d
       /\ heard' = (link = "up" \/ (Timed = 1 /\ nextPhase = T - 1))
       /\ confirms' = confirms2
       /\ mode' = mode2
       /\ declaredWith' = IF declare THEN confirms2 ELSE declaredWith
       /\ raised' = raised1
       /\ raiseDropped' = (eDropped \/ (mode = "DEGRADED" /\ mode2 = "DEGRADED" /\ raised1 < eRaised))
       /\ verdict' = eVerdict
       /\ final' = eFinal
       /\ cut' = eCut
       /\ provValue' = eProv
       /\ becameFinal' = eBecame
       /\ UNCHANGED <<obs, store, msgs, reversed, synced, dup, convicted, rewrote>>

Next ==
    \/ \E src \in {1, 2}, v \in {1, -1} : Observe(src, v)
    \/ Rewrite
    \/ SyncRound
    \/ \E m \in msgs : Replay(m)
    \/ \E d \in Draws \cup {countdown - 1}, l \in {"up", "down"} : Tick(d, l)

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------
(* Properties: each always-property with its witness beside it.  A witness *)
(* W is checked with TLC as the invariant ~W (a "false invariant"): TLC's  *)
(* counterexample is the witness trace.                                    *)

Convergence == synced => store[1] = store[2] /\ convicted[1] = convicted[2]
SomeConverged == synced /\ store[1][1] # Empty /\ store[1][2] # Empty

NoDoubleCount ==
    \A n \in {1, 2}, s \in {1, 2} :
        \/ s = 2 /\ rewrote /\ store[n][s] = Rewritten(obs[2])
        \/ /\ store[n][s][1] <= Len(obs[s])
           /\ store[n][s] = Summary(obs[s], store[n][s][1])
DuplicateDelivered == dup

\* The verdict on the evidence at the cut of every set of sources holding the
\* honest ones: both when sB may not be Byzantine; else sA alone, and both
\* while sB has not rewritten.
Honest == SumSeq(SubSeq(obs[1], 1, cut[1]))
Everything == Honest + SumSeq(SubSeq(obs[2], 1, cut[2]))
FinalNeverFlips ==
    final =>
        /\ (Byzantine = 0 \/ ~rewrote) => Sprt(Everything) = verdict
        /\ Byzantine = 1 => Sprt(Honest) = verdict
SomeFinal == final
ProvisionalBecomesFinal == becameFinal
ProvisionalReversedOnHeal == reversed

ThresholdOnlyRisesInDegraded == ~raiseDropped
ThresholdRaised == mode = "DEGRADED" /\ raised > 0

PartitionConfirmed == declaredWith < 0 \/ declaredWith >= Sensitivity
PartitionDeclared == mode = "DEGRADED"

\* Byzantine = 1 only (SSCR_byzantine.cfg).
Accountability == (synced /\ rewrote) => convicted = <<TRUE, TRUE>>
\* Entries and convictions are signed by their source (issue 10, item 9), so
\* only sB's own rewrite can convict it: no replica convicts a source that
\* did not misbehave.  Killed by the mutant unsigned_convictions.
NoFraming == \A n \in {1, 2} : convicted[n] => rewrote
SourceConvicted == convicted[1]

NotSomeConverged == ~SomeConverged
NotDuplicateDelivered == ~DuplicateDelivered
NotSomeFinal == ~SomeFinal
NotProvisionalBecomesFinal == ~ProvisionalBecomesFinal
NotProvisionalReversedOnHeal == ~ProvisionalReversedOnHeal
NotThresholdRaised == ~ThresholdRaised
NotPartitionDeclared == ~PartitionDeclared
NotSourceConvicted == ~SourceConvicted
=============================================================================
