-------------------------------- MODULE SHAP --------------------------------
(***************************************************************************)
(* SHAP: one aggregation step of the Secure Hierarchical Aggregation       *)
(* Protocol (DESIGN.md 4.2).  One aggregator (a regional: the first tier   *)
(* that sees all replicas of an agent) and N children (monitors) that all *)
(* observe one agent; R replicas are combined by the lower median.         *)
(*                                                                         *)
(* The executable model is models/shap.py (same variable, action and       *)
(* property names); the implementation is vigilnet.protocols.shap, whose   *)
(* _state.py numbers the rules cited here (SHAP-1 ... SHAP-7).             *)
(*                                                                         *)
(* The current epoch is 1, epoch 0 is the past (a replayed report).        *)
(* Values are 0..V; a Byzantine monitor sends only the extremes 0 and V.   *)
(* The Merkle-sum commitment is abstracted by what its node hashes bind:   *)
(* the committed total is the sum of the committed leaves (both children's *)
(* sums are hashed), and a child's check passes iff its own leaf, with its *)
(* own value, is among the committed leaves.                               *)
(*                                                                         *)
(* A message's body abstracts the monitor body sent with the signed report *)
(* (issue 10, item 5): "own" (the body the signer signed the digest of),   *)
(* "forged" (a network forger's pairing of an honest signed report with    *)
(* another body: Forge) or "bad" (a wrong body a Byzantine monitor signed).*)
(* Forged and bad bodies exist only when Forger is TRUE, so every other    *)
(* configuration explores exactly the states it did before.                *)
(***************************************************************************)
EXTENDS Integers, FiniteSets, Sequences

CONSTANTS
    N,          \* number of children (monitors), ids 0..N-1
    R,          \* replicas combined per agent (odd)
    MaxFanIn,   \* max_aggregation_ratio
    Byz,        \* Byzantine children
    LowRep,     \* children below reputation_threshold from the start
    AggMayLie,  \* whether the aggregator may be Byzantine (chosen at Init)
    Truth,      \* Truth[c + 1]: the honest value child c observes
    Forger      \* whether a forger pairs reports with other bodies

V == 2
NONE == -1
Values == 0..V
Extremes == {0, V}
Children == 0..(N - 1)
Honest == Children \ Byz
T(c) == Truth[c + 1]

ASSUME ReplicasOdd == R >= 1 /\ R % 2 = 1
ASSUME FanInCoversReplicas == MaxFanIn >= R
ASSUME TruthTyped == Len(Truth) = N /\ \A i \in 1..N : Truth[i] \in Values
ASSUME ByzWithinChildren == Byz \subseteq Children
ASSUME MedianTolerates == 2 * Cardinality(Byz) <= R - 1

(* Truth vectors of the shipped configurations (cfg: Truth <- TruthAttack) *)
TruthAttack == <<1, 1, 1, 0>>
TruthHonest == <<0, 1, 2>>
TruthByzantineMonitor == <<0, 1, 0>>
TruthLowReputation == <<0, 1, 2, 1>>

Leaves == Children \X Values
Bodies == {"own", "forged", "bad"}
Message == [src : Children, epoch : {0, 1}, val : Values, body : Bodies]
Own(c, e, v) == [src |-> c, epoch |-> e, val |-> v, body |-> "own"]
\* A bad body of a past epoch is refused like its own one: only current ones.
ByzBodies(e) == IF Forger /\ e = 1 THEN {"own", "bad"} ELSE {"own"}

VARIABLES
    aggByz,     \* the aggregator lies (fixed at Init)
    msgs,       \* every report ever sent (the network duplicates and reorders)
    accepted,   \* accepted[c]: the value accepted from c, or NONE
    banned,     \* children proven to equivocate
    phase,      \* "collecting" or "closed"
    tree,       \* the committed input leaves, as a bag: tree[<<c, v>>] copies
    total,      \* the committed inputs total
    out,        \* the combined value (lower median), or NONE
    checked,    \* checked[c]: "wait", "ok" or "alarm"
    struck      \* children struck this epoch (a signed report found wrong;
                \* without Forger always equal to banned)

vars == <<aggByz, msgs, accepted, banned, phase, tree, total, out, checked, struck>>

RECURSIVE SumOver(_, _)
SumOver(S, f) ==
    IF S = {} THEN 0
    ELSE LET x == CHOOSE y \in S : TRUE IN f[x] + SumOver(S \ {x}, f)

BagSum(b) == SumOver(Leaves, [p \in Leaves |-> b[p] * p[2]])
AccSet == {c \in Children : accepted[c] # NONE}
AcceptedBag == [p \in Leaves |-> IF accepted[p[1]] = p[2] THEN 1 ELSE 0]
EmptyBag == [p \in Leaves |-> 0]

\* The lower median: the least m with at least (R + 1) \div 2 values <= m.
AtMost(m) == Cardinality({c \in AccSet : accepted[c] <= m})
Median ==
    CHOOSE m \in Values :
        /\ AtMost(m) >= (R + 1) \div 2
        /\ \A k \in Values : k < m => AtMost(k) < (R + 1) \div 2
Combine == IF Cardinality(AccSet) = R THEN Median ELSE NONE

TypeOK ==
    /\ aggByz \in BOOLEAN
    /\ msgs \subseteq Message
    /\ accepted \in [Children -> Values \cup {NONE}]
    /\ banned \subseteq Children
    /\ phase \in {"collecting", "closed"}
    /\ tree \in [Leaves -> 0..2]
    /\ total \in Nat
    /\ out \in Values \cup {NONE}
    /\ checked \in [Children -> {"wait", "ok", "alarm"}]
    /\ struck \subseteq Children

Init ==
    /\ aggByz \in IF AggMayLie THEN BOOLEAN ELSE {FALSE}
    /\ msgs = {}
    /\ accepted = [c \in Children |-> NONE]
    /\ banned = {}
    /\ phase = "collecting"
    /\ tree = EmptyBag
    /\ total = 0
    /\ out = NONE
    /\ checked = [c \in Children |-> "wait"]
    /\ struck = {}

\* An honest child sends its one report.
Send(c) ==
    /\ phase = "collecting"
    /\ c \in Honest
    /\ Own(c, 1, T(c)) \notin msgs
    /\ msgs' = msgs \cup {Own(c, 1, T(c))}
    /\ UNCHANGED <<aggByz, accepted, banned, phase, tree, total, out, checked, struck>>

\* A Byzantine child sends anything it can sign: extreme values, two values
\* in one epoch (equivocation), reports of the past epoch (replays), and
\* (with Forger) a wrong body it signed.
ByzSend(c, e, v, b) ==
    /\ phase = "collecting"
    /\ b \in ByzBodies(e)
    /\ [src |-> c, epoch |-> e, val |-> v, body |-> b] \notin msgs
    /\ msgs' = msgs \cup {[src |-> c, epoch |-> e, val |-> v, body |-> b]}
    /\ UNCHANGED <<aggByz, accepted, banned, phase, tree, total, out, checked, struck>>

\* The forger pairs an honest child's signed report with another body (a
\* Byzantine signer needs no forger: it signs any body itself).
Forge(m) ==
    /\ Forger
    /\ phase = "collecting"
    /\ m.src \in Honest
    /\ m.body = "own"
    /\ [m EXCEPT !.body = "forged"] \notin msgs
    /\ msgs' = msgs \cup {[m EXCEPT !.body = "forged"]}
    /\ UNCHANGED <<aggByz, accepted, banned, phase, tree, total, out, checked, struck>>

\* spec: SHAP-1, SHAP-2.  Rejections change nothing, so they are not steps.
\* A forged copy carries its original's signed fields (so it is a duplicate
\* of it); a bad body is another signed report (so it equivocates).
Receive(m) ==
    /\ phase = "collecting"
    /\ m.epoch = 1                                   \* WRONG_EPOCH
    /\ m.src \notin LowRep \cup banned               \* ReputationGate
    /\ ~(accepted[m.src] = m.val /\ m.body # "bad")  \* DUPLICATE
    /\ IF accepted[m.src] # NONE
       THEN /\ accepted' = [accepted EXCEPT ![m.src] = NONE]   \* EQUIVOCATION
            /\ banned' = banned \cup {m.src}
            /\ struck' = struck \cup {m.src}
       ELSE /\ Cardinality(AccSet) < MaxFanIn        \* FanInBound
            /\ UNCHANGED banned
            /\ m.body # "forged"                     \* BODY_MISMATCH: nobody's fault
            /\ IF m.body = "own"
               THEN /\ accepted' = [accepted EXCEPT ![m.src] = m.val]
                    /\ UNCHANGED struck
               ELSE /\ m.src \notin struck           \* a signed bad body: a strike
                    /\ struck' = struck \cup {m.src}
                    /\ UNCHANGED accepted
    /\ UNCHANGED <<aggByz, msgs, phase, tree, total, out, checked>>

\* spec: SHAP-3, SHAP-4.  An honest aggregator commits what it accepted; a
\* lying one may drop, alter or duplicate one child's leaf.  Either way the
\* total is the sum of the committed leaves: node hashes bind both sums.
Commit(b) ==
    /\ phase' = "closed"
    /\ tree' = b
    /\ total' = BagSum(b)
    /\ out' = Combine
    /\ UNCHANGED <<aggByz, msgs, accepted, banned, checked, struck>>

Alter(v) == (v + 1) % (V + 1)

Close ==
    /\ phase = "collecting"
    /\ \/ Commit(AcceptedBag)
       \/ /\ aggByz
          /\ \E c \in AccSet :
                \/ Commit([AcceptedBag EXCEPT ![<<c, accepted[c]>>] = 0])
                \/ Commit([AcceptedBag EXCEPT ![<<c, accepted[c]>>] = 0,
                                              ![<<c, Alter(accepted[c])>>] = 1])
                \/ Commit([AcceptedBag EXCEPT ![<<c, accepted[c]>>] = 2])

\* spec: SHAP-6.  The child finds its own leaf, unaltered, or alarms.
Check(c) ==
    /\ phase = "closed"
    /\ c \in Honest
    /\ checked[c] = "wait"
    /\ Own(c, 1, T(c)) \in msgs
    /\ checked' = [checked EXCEPT ![c] = IF tree[<<c, T(c)>>] > 0 THEN "ok" ELSE "alarm"]
    /\ UNCHANGED <<aggByz, msgs, accepted, banned, phase, tree, total, out, struck>>

Next ==
    \/ \E c \in Honest : Send(c)
    \/ \E c \in Byz, e \in {0, 1}, v \in Extremes, b \in Bodies : ByzSend(c, e, v, b)
    \/ \E m \in msgs : Forge(m)
    \/ \E m \in msgs : Receive(m)
    \/ Close
    \/ \E c \in Honest : Check(c)

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------
(* Invariants *)

Integrity ==
    phase = "closed" =>
        /\ total = BagSum(tree)
        /\ aggByz \/ tree = AcceptedBag

Detectability ==
    \A c \in Honest : checked[c] = "ok" => tree[<<c, T(c)>>] > 0

HonestAccepted == {accepted[c] : c \in AccSet \cap Honest}

BoundedInfluence ==
    (~aggByz /\ out # NONE) =>
        /\ HonestAccepted # {}
        /\ \E lo, hi \in HonestAccepted :
              /\ \A v \in HonestAccepted : lo <= v /\ v <= hi
              /\ lo <= out /\ out <= hi

FanInBound == Cardinality(AccSet) <= MaxFanIn

ReputationGate == \A c \in AccSet : c \notin LowRep \cup banned

\* A strike only for what the struck child's own signature covers.
NoFraming == \A c \in Honest : c \notin struck

-----------------------------------------------------------------------------
(* Witnesses: each is checked as an invariant that must FAIL (TLC reports  *)
(* a trace to a state where the behaviour happens).                        *)

SomeCommittedFalse == ~(phase = "closed" /\ tree # EmptyBag)
SomeConfirmedFalse == ~(\E c \in Children : checked[c] = "ok")
SomeCombinedFalse == ~(~aggByz /\ out # NONE)
FanInReachedFalse == ~(Cardinality(AccSet) = MaxFanIn)
AttackDetectedFalse ==
    ~(\E c \in Honest : /\ checked[c] = "alarm"
                        /\ accepted[c] = T(c)
                        /\ tree[<<c, T(c)>>] = 0)
ByzantineOutvotedFalse ==
    ~(/\ ~aggByz /\ out # NONE /\ HonestAccepted # {}
      /\ \E b \in Byz \cap AccSet :
            \/ \A v \in HonestAccepted : accepted[b] < v
            \/ \A v \in HonestAccepted : accepted[b] > v)
GateExercisedFalse ==
    ~(\E c \in LowRep \cup banned, v \in Values : Own(c, 1, v) \in msgs)
ForgeryRefusedFalse ==
    ~(\E c \in Honest : /\ [src |-> c, epoch |-> 1, val |-> T(c), body |-> "forged"] \in msgs
                        /\ accepted[c] = T(c))
StrikeExercisedFalse == ~(struck \ banned # {})
=============================================================================
