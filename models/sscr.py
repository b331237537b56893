"""SSCR: the Secure Statistical CAP Resolver, as a bounded model (``spec/SSCR.tla``).

Two replicas, ``A`` (index 0: it runs the failure detector, the modes and
the verdicts; the implementation runs the same machine on every node) and
``B`` (index 1), each hosting one source (``sA``, ``sB``) that reports
evidence on one agent.  Every observation is one clamped term ``+1`` or
``-1`` (``LambdaMax = 1``: units of ``lambda_max``); a source makes at most
``MaxObs`` observations and ``sB`` at most one per tick (``Rate = 1``; ``sA``
is local to ``A``, so its rate does not matter).  The network is the
partition adversary: at every tick it chooses whether the link is up for the
next tick (arbitrary splits, flapping, heals at chosen times), redelivers any
delta ever sent whenever the link is up (``Replay``: duplicated, delayed and
reordered deltas), and, when ``Timed = 1``, leaks one heartbeat through a
partition at the end of every tick of phase ``T - 1``: just before each
deadline of an *un-jittered* detector.  When ``Byzantine = 1``, ``sB`` is
Byzantine: once, instead of an observation, it may *rewrite its history*
(``Rewrite``: a higher sequence number whose statistics do not extend its
entry, the finding of ``proofs/sscr.py``), and ``A`` tolerates one
Byzantine source in its finality rule (the margin ``E``; rule SSCR-5).
Replicas convict ``sB`` when a merge meets a non-extending pair (rule
SSCR-CRDT-7) and stop counting it.  Time is kept modulo ``T``
(``phase``); every other timer is a bounded countdown or a capped age, so
the state space is finite without a time bound.

Variables (the TLA+ names)::

    phase        now mod T (the adversary's clock)
    link         "up" | "down" for the current tick
    obs          <<obs_sA, obs_sB>>: each source's true terms so far (ghost truth)
    bSlot        sB has used this tick's rate budget (a sync reflects sB at tick end)
    store        store[n][s] = <<seq, count, sum>>: replica n's CRDT entry for s
    msgs         set of deltas ever sent: <<dst, src, seq, count, sum>>
    stale        ticks since A last learned sB's state first-hand (capped at MaxObs)
    countdown    ticks to A's next staleness deadline
    heard        a heartbeat from B arrived at the end of the last tick
    confirms     consecutive suspected checks (capped at Sensitivity)
    mode         "NORMAL" | "DEGRADED" | "HEALING"
    raised       A's threshold raise (the finality margin floor) outside NORMAL
    verdict      A's verdict on the agent; final: whether it is final
    cut          <<|obs_sA|, |obs_sB|>> when the verdict became final (ghost)
    declaredWith confirms when the partition was last declared (-1: never)
    convicted    <<A has convicted sB, B has convicted sB>>
    provValue, becameFinal, reversed, raiseDropped, synced, dup, rewrote: ghosts

Actions: ``Observe(s, v)``; ``Rewrite`` (``Byzantine = 1`` only);
``SyncRound`` (a digest/delta round trip both ways: it makes sB fresh at A
and, in HEALING, completes the heal and re-judges the provisional verdict;
both replicas see both entries, so a conflict convicts at both); ``Replay(m)``; ``Tick(d, link)`` (A evaluates its
verdict, time passes; at a deadline A suspects B when no heartbeat came at
the end of the last tick, i.e. phi over its threshold, and draws the next
deadline ``d`` from ``{T-1, T, T+1}``, the discrete ``T * U(0.5, 1.5)``;
the adversary picks ``link``).

Properties (each always-property has a witness beside it):

* ``Convergence``: after a sync round with no observation since, the
  replicas are equal; witness ``SomeConverged`` (both sources' evidence
  merged).
* ``NoDoubleCount``: every entry at every replica is exactly the source's
  cumulative summary at that sequence number; witness ``DuplicateDelivered``
  (a delta redelivered to a replica that already had it).
* ``FinalNeverFlips``: a final verdict equals the SPRT verdict on *all* the
  evidence that existed when it was finalised (what every replica converges
  on after heal); with ``Byzantine = 1``, on the honest source's evidence
  alone, and on all of it as long as ``sB`` has not rewritten; witnesses
  ``SomeFinal``, ``ProvisionalBecomesFinal`` and
  ``ProvisionalReversedOnHeal``.
* ``Accountability``: after a sync round with no publication since, a source
  that rewrote its history is convicted at both replicas; witness
  ``SourceConvicted`` (``A`` convicted ``sB``; with ``Byzantine = 0`` it
  cannot happen, so only the ``byzantine`` configuration checks it).
* ``NoFraming`` (``byzantine`` only, beside ``Accountability`` and its
  witness): a replica convicts ``sB`` only after ``sB`` rewrote its history.
* ``ThresholdOnlyRisesInDegraded``: no step that stays in DEGRADED lowers
  ``raised``; witness ``ThresholdRaised``.
* ``PartitionConfirmed``: a partition is declared only after
  ``Sensitivity`` consecutive suspected checks; witness ``PartitionDeclared``
  (with the timed adversary, the timing-attack witness: it needs jitter).

Mutants (each killed; ``tests/sscr/test_model.py``):

* ``merge_adds``: merge adds the statistics of two entries instead of keeping
  the larger: ``NoDoubleCount`` fails (a replayed delta is counted twice).
* ``final_without_bound``: a verdict is final as soon as it crosses the plain
  threshold: ``FinalNeverFlips`` fails.
* ``single_confirmation``: one suspected check declares a partition:
  ``PartitionConfirmed`` fails.
* ``fixed_deadlines``: every interval is exactly ``T``: the timed adversary's
  leaks always land just before the check, the partition stays hidden for
  ever, and ``PartitionDeclared`` (with every witness behind it) is never
  witnessed.
* ``raise_tracks_bound``: the raise follows the current bound instead of its
  running maximum: ``ThresholdOnlyRisesInDegraded`` fails.
* ``no_extension_check`` (``Byzantine = 1`` forced): the node checks entries
  only on their own, the proof's ``per_entry_checks_only``: nobody convicts,
  ``Accountability`` fails.
* ``no_byzantine_margin`` (``Byzantine = 1`` forced): finality ignores that
  ``sB`` may be Byzantine (``E = 0``): ``FinalNeverFlips`` fails (a final
  verdict leaned on ``sB``'s evidence).
* ``unsigned_convictions`` (``Byzantine = 1`` forced): receivers take a
  forwarded conviction without checking the source's signatures on its two
  entries, so a peer can hand ``A`` a conviction of ``sB`` before ``sB`` has
  done anything (action ``ForgeConviction``, mutant only): ``NoFraming``
  fails (issue 10, item 9).
* ``unsigned_entries``: receivers take an entry without checking its
  source's signature, so a peer can replace ``sA``'s entry at ``A`` by a
  higher-sequence forgery (action ``ForgeEntry``, mutant only):
  ``NoDoubleCount`` (every held entry is its source's genuine summary)
  fails (issue 10, item 9).

The real model has neither forging action: with signatures, a peer can only
relay entries their sources signed, which ``SyncRound`` and ``Replay``
already cover, so the named configurations keep their counts.

Distinct states: :data:`PINNED` (pinned in ``tests/sscr/test_model.py``;
``spec/README.md`` explains them).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from vigilnet.checker import Action, Assumption, Constants, Model, ModelFamily, Property
from vigilnet.evidence import Verdict
from vigilnet.protocols.sscr import byzantine_margin, consistency_bound, judge

__all__ = [
    "BYZANTINE_MUTANTS",
    "FAMILY",
    "PINNED",
    "WIDE_OVERRIDES",
    "SSCRState",
    "build",
    "build_mutant",
]

#: ``<<seq, count, sum>>``; ``(0, 0, 0)`` is "no entry".
Entry = tuple[int, int, int]
EMPTY: Entry = (0, 0, 0)
#: ``<<dst, src, seq, count, sum>>``.
Delta = tuple[int, int, int, int, int]
#: ``store[n][s]``.
Store = tuple[tuple[Entry, Entry], tuple[Entry, Entry]]

NORMAL, DEGRADED, HEALING = "NORMAL", "DEGRADED", "HEALING"
UNDECIDED, FLAGGED, CLEARED = "undecided", "flagged", "cleared"
_VERDICT_NAME = {Verdict.UNDECIDED: UNDECIDED, Verdict.FLAGGED: FLAGGED, Verdict.CLEARED: CLEARED}


@dataclass(frozen=True, slots=True, kw_only=True)
class SSCRState:
    phase: int
    link: str
    obs: tuple[tuple[int, ...], tuple[int, ...]]
    bSlot: bool
    store: Store
    msgs: frozenset[Delta]
    stale: int
    countdown: int
    heard: bool
    confirms: int
    mode: str
    raised: int
    verdict: str
    final: bool
    cut: tuple[int, int] | None
    # ghosts
    declaredWith: int
    provValue: str | None
    becameFinal: bool
    reversed: bool
    raiseDropped: bool
    synced: bool
    dup: bool
    convicted: tuple[bool, bool] = (False, False)
    rewrote: bool = False


Succ = Iterator[tuple[tuple[Hashable, ...], SSCRState]]


def summary(terms: tuple[int, ...], seq: int) -> Entry:
    """The cumulative entry of a source after its first ``seq`` terms."""
    if seq == 0:
        return EMPTY
    return (seq, seq, sum(terms[:seq]))


def rewritten(terms: tuple[int, ...]) -> Entry:
    """The entry a Byzantine ``sB`` publishes to rewrite its history after
    ``terms``: the next sequence number with the sum's sign flipped, or, when
    the sum is 0, one term fewer; it never extends the honest summary."""
    n, total = len(terms), sum(terms)
    return (n + 1, n, -total) if total != 0 else (n + 1, n - 1, 0)


def extends(older: Entry, newer: Entry) -> bool:
    """Rule SSCR-CRDT-6 in units of ``lambda_max``."""
    grown = newer[1] - older[1]
    return newer[0] > older[0] and grown >= 0 and abs(newer[2] - older[2]) <= grown


def conflict(x: Entry, y: Entry) -> bool:
    """Rule SSCR-CRDT-7: two different entries, the larger not extending the
    smaller (``EMPTY`` is no entry)."""
    if EMPTY in (x, y) or x == y:
        return False
    lower, higher = min(x, y), max(x, y)
    return not extends(lower, higher)


def set_entry(store: Store, node: int, src: int, entry: Entry) -> Store:
    """``[store EXCEPT ![node][src] = entry]``."""
    row = (entry, store[node][1]) if src == 0 else (store[node][0], entry)
    return (row, store[1]) if node == 0 else (store[0], row)


def sprt(log_odds: int, upper: int, lower: int) -> str:
    if log_odds >= upper:
        return FLAGGED
    if log_odds <= lower:
        return CLEARED
    return UNDECIDED


#: Distinct states per configuration (computed by ``vigilnet check``; see
#: ``spec/README.md`` for why each count is what it is).
PINNED: dict[str, int] = {
    "small": 40_586,
    "untimed": 49_058,
    "byzantine": 78_234,
    "wide": 980_632,
}

#: ``wide`` is not a named configuration (it takes minutes, and every named
#: configuration is checked in CI): it is ``small`` with these overrides, checked
#: by the slow test and shipped as ``spec/SSCR_wide.cfg``.
WIDE_OVERRIDES: dict[str, object] = {"MaxObs": 2, "Upper": 2, "Lower": -2}


def _build(constants: Constants, mutant: str | None) -> Model[SSCRState]:
    max_obs = int(str(constants["MaxObs"]))
    period = int(str(constants["T"]))
    sensitivity = int(str(constants["Sensitivity"]))
    upper = int(str(constants["Upper"]))
    lower = int(str(constants["Lower"]))
    timed = int(str(constants["Timed"]))
    byzantine = int(str(constants["Byzantine"]))
    detects = mutant != "no_extension_check"
    tolerated = 0 if mutant == "no_byzantine_margin" else byzantine
    stale_cap = max_obs  # B >= max_obs already exceeds anything sB can hide
    confirmations_needed = sensitivity  # what PartitionConfirmed demands
    if mutant == "single_confirmation":
        sensitivity = 1
    draws = (period,) if mutant == "fixed_deadlines" else (period - 1, period, period + 1)

    def merge_entry(mine: Entry, theirs: Entry) -> Entry:
        if mutant == "merge_adds" and mine != EMPTY and theirs != EMPTY:
            return (max(mine[0], theirs[0]), mine[1] + theirs[1], mine[2] + theirs[2])
        return max(mine, theirs)

    def bound(stale: int) -> int:
        # lambda_max (1) x rate (1) x staleness x unreachable sources (sB if stale)
        return consistency_bound(1, 1, stale, 1 if stale > 0 else 0)

    def judged(s: SSCRState, store: Store, mode: str, raised: int) -> tuple[str, bool]:
        # sB stops counting once A has convicted it (rule SSCR-5)
        counted = [store[0][0][2]] + ([] if s.convicted[0] else [store[0][1][2]])
        log_odds = sum(counted)
        b = bound(s.stale)
        margin = b if mode == NORMAL else max(b, raised)
        if mutant == "final_without_bound":
            margin = 0
        toward = judge(log_odds, upper=upper, lower=lower, margin=0).verdict
        margin += byzantine_margin(counted, tolerated, toward=toward)
        j = judge(log_odds, upper=upper, lower=lower, margin=margin)
        return _VERDICT_NAME[j.verdict], j.final

    def init() -> Iterator[SSCRState]:
        for d in draws:
            yield SSCRState(
                phase=0,
                link="up",
                obs=((), ()),
                bSlot=True,
                store=((EMPTY, EMPTY), (EMPTY, EMPTY)),
                msgs=frozenset(),
                stale=0,
                countdown=d,
                heard=True,
                confirms=0,
                mode=NORMAL,
                raised=0,
                verdict=UNDECIDED,
                final=False,
                cut=None,
                declaredWith=-1,
                provValue=None,
                becameFinal=False,
                reversed=False,
                raiseDropped=False,
                synced=True,
                dup=False,
            )

    def observe(s: SSCRState) -> Succ:
        for src in (0, 1):
            if len(s.obs[src]) >= max_obs or (src == 1 and (s.bSlot or s.rewrote)):
                continue
            for v in (1, -1):
                terms = (*s.obs[src], v)
                obs = (terms, s.obs[1]) if src == 0 else (s.obs[0], terms)
                store = set_entry(s.store, src, src, summary(terms, len(terms)))
                yield (
                    (f"s{'AB'[src]}", v),
                    replace(
                        s,
                        obs=obs,
                        store=store,
                        bSlot=s.bSlot or src == 1,
                        synced=False,
                    ),
                )

    def rewrite(s: SSCRState) -> Succ:
        # sB, Byzantine, publishes once a history its entry does not extend;
        # its home B held that entry, so B convicts it at once
        if byzantine != 1 or s.rewrote or s.bSlot or not s.obs[1]:
            return
        forged = rewritten(s.obs[1])
        held = s.store[1][1]
        convicted = (s.convicted[0], s.convicted[1] or (detects and conflict(held, forged)))
        yield (
            (),
            replace(
                s,
                store=set_entry(s.store, 1, 1, forged),
                bSlot=True,
                rewrote=True,
                convicted=convicted,
                synced=False,
            ),
        )

    def sync_round(s: SSCRState) -> Succ:
        if s.link != "up":
            return
        a, b = s.store
        sent: set[Delta] = set()
        for src in (0, 1):
            if b[src] > a[src]:
                sent.add((0, src, *b[src]))
            if a[src] > b[src]:
                sent.add((1, src, *a[src]))
        new_a = (merge_entry(a[0], b[0]), merge_entry(a[1], b[1]))
        new_b = (merge_entry(b[0], a[0]), merge_entry(b[1], a[1]))
        store = (new_a, new_b)
        # both replicas see both entries: a conflict convicts at both, and
        # the convictions are joined (union)
        found = detects and any(conflict(a[src], b[src]) for src in (0, 1))
        either = s.convicted[0] or s.convicted[1] or found
        t = replace(
            s,
            store=store,
            msgs=s.msgs | sent,
            stale=0,
            synced=True,
            bSlot=True,
            convicted=(either, either),
        )
        if s.mode == HEALING:
            # the heal completes: raise dropped, provisional verdict re-judged
            t = replace(t, mode=NORMAL, raised=0, confirms=0)
            if not s.final:
                value, final = judged(t, store, NORMAL, 0)
                t = replace(
                    t,
                    verdict=value,
                    final=final,
                    cut=(len(s.obs[0]), len(s.obs[1])) if final else None,
                    becameFinal=t.becameFinal or (final and s.provValue is not None),
                    reversed=t.reversed or (s.provValue is not None and value != s.provValue),
                    provValue=None,
                )
        yield (), t

    def replay(s: SSCRState) -> Succ:
        if s.link != "up":
            return
        for m in sorted(s.msgs):
            dst, src = m[0], m[1]
            entry: Entry = (m[2], m[3], m[4])
            have = s.store[dst][src]
            store = set_entry(s.store, dst, src, merge_entry(have, entry))
            convicted = list(s.convicted)
            convicted[dst] = convicted[dst] or (detects and conflict(have, entry))
            t = replace(
                s,
                store=store,
                dup=s.dup or have[0] >= entry[0],
                convicted=(convicted[0], convicted[1]),
            )
            if t != s:
                yield (m,), t

    def tick(s: SSCRState) -> Succ:
        # A judges at the end of every tick (Evaluate), then time passes
        s = evaluated(s)
        phase = (s.phase + 1) % period
        stale = min(stale_cap, s.stale + 1)
        mode, confirms, declared_with = s.mode, s.confirms, s.declaredWith
        raised = s.raised
        deadline = s.countdown == 1
        if deadline:
            # phi over its threshold: no heartbeat at the end of the last tick
            suspected = not s.heard
            confirms = min(confirmations_needed, confirms + 1) if suspected else 0
            if confirms >= sensitivity and mode != DEGRADED:
                mode, declared_with = DEGRADED, confirms
            if mode != NORMAL:
                raised = max(raised, bound(stale))
                if mutant == "raise_tracks_bound":
                    raised = bound(stale)
        # heartbeats arrive at the end of the tick, after the check
        heard = s.link == "up" or (timed == 1 and phase == period - 1)
        if s.link == "up" and mode == DEGRADED:
            mode = HEALING
        dropped = s.raiseDropped or (s.mode == DEGRADED == mode and raised < s.raised)
        base = replace(
            s,
            phase=phase,
            bSlot=False,
            stale=stale,
            heard=heard,
            confirms=confirms,
            mode=mode,
            declaredWith=declared_with,
            raised=raised,
            raiseDropped=dropped,
        )
        for d in draws if deadline else (s.countdown - 1,):
            for link in ("up", "down"):
                # the partition adversary picks the link for the next tick
                yield (d, link), replace(base, countdown=d, link=link)

    def evaluated(s: SSCRState) -> SSCRState:
        """``Evaluate``: A judges its verdict (kept once final)."""
        if s.final:
            return s
        raised = s.raised
        if s.mode != NORMAL:
            raised = max(raised, bound(s.stale))
            if mutant == "raise_tracks_bound":
                raised = bound(s.stale)
        value, final = judged(s, s.store, s.mode, raised)
        prov = s.provValue
        if s.mode == DEGRADED and not final and value != UNDECIDED:
            prov = value
        return replace(
            s,
            raised=raised,
            verdict=value,
            final=final,
            cut=(len(s.obs[0]), len(s.obs[1])) if final else None,
            provValue=prov,
            becameFinal=s.becameFinal or (final and s.provValue is not None),
            raiseDropped=s.raiseDropped or (s.mode == DEGRADED and raised < s.raised),
        )

    # -- properties (each defined once, used by the checker and the tests) -----
    def convergence(s: SSCRState) -> bool:
        return not s.synced or (s.store[0] == s.store[1] and s.convicted[0] == s.convicted[1])

    def no_double_count(s: SSCRState) -> bool:
        def genuine(src: int, entry: Entry) -> bool:
            if src == 1 and s.rewrote and entry == rewritten(s.obs[1]):
                return True
            return entry[0] <= len(s.obs[src]) and entry == summary(s.obs[src], entry[0])

        return all(genuine(src, s.store[n][src]) for n in (0, 1) for src in (0, 1))

    def final_never_flips(s: SSCRState) -> bool:
        """The verdict on the evidence at the cut of every set of sources that
        holds the honest ones: both sources when ``sB`` may not be Byzantine;
        ``sA`` alone, and both while ``sB`` has not rewritten, otherwise."""
        if not s.final or s.cut is None:
            return True
        honest = sum(s.obs[0][: s.cut[0]])
        everything = honest + sum(s.obs[1][: s.cut[1]])
        truths = [everything] if byzantine == 0 else [honest] if s.rewrote else [honest, everything]
        return all(sprt(truth, upper, lower) == s.verdict for truth in truths)

    def accountability(s: SSCRState) -> bool:
        return not (s.synced and s.rewrote) or s.convicted == (True, True)

    def no_framing(s: SSCRState) -> bool:
        """Only a source that misbehaved is convicted (entries and convictions
        carry the source's signature, so no peer can forge either)."""
        return s.rewrote or s.convicted == (False, False)

    def forge_conviction(s: SSCRState) -> Succ:
        # mutant unsigned_convictions: a peer hands A a "conviction" of sB
        # made of entries sB never signed, and A does not check signatures
        if s.convicted[0]:
            return
        yield (), replace(s, convicted=(True, s.convicted[1]))

    def forge_entry(s: SSCRState) -> Succ:
        # mutant unsigned_entries: a peer hands A a higher-sequence entry of
        # sA (a made-up extra term) and A does not check sA's signature
        if not s.obs[0] or s.store[0][0][0] > len(s.obs[0]):
            return
        n, total = len(s.obs[0]), sum(s.obs[0])
        yield (), replace(s, store=set_entry(s.store, 0, 0, (n + 1, n + 1, total + 1)))

    def view(s: SSCRState) -> Mapping[str, object]:
        return {
            "phase": s.phase,
            "link": s.link,
            "obs": s.obs,
            "bSlot": s.bSlot,
            "store": s.store,
            "msgs": s.msgs,
            "stale": s.stale,
            "countdown": s.countdown,
            "heard": s.heard,
            "confirms": s.confirms,
            "mode": s.mode,
            "raised": s.raised,
            "verdict": s.verdict,
            "final": s.final,
            "cut": s.cut,
            "declaredWith": s.declaredWith,
            "provValue": s.provValue,
            "becameFinal": s.becameFinal,
            "reversed": s.reversed,
            "raiseDropped": s.raiseDropped,
            "synced": s.synced,
            "dup": s.dup,
            "convicted": s.convicted,
            "rewrote": s.rewrote,
        }

    return Model(
        name="sscr",
        constants={
            "MaxObs": max_obs,
            "T": period,
            "Sensitivity": confirmations_needed,
            "Upper": upper,
            "Lower": lower,
            "Timed": timed,
            "Byzantine": byzantine,
        },
        variables=tuple(SSCRState.__dataclass_fields__),
        init_states=init,
        actions=(
            Action(name="Observe", step=observe),
            *((Action(name="Rewrite", step=rewrite),) if byzantine == 1 else ()),
            *(
                (Action(name="ForgeConviction", step=forge_conviction),)
                if mutant == "unsigned_convictions"
                else ()
            ),
            *(
                (Action(name="ForgeEntry", step=forge_entry),)
                if mutant == "unsigned_entries"
                else ()
            ),
            Action(name="SyncRound", step=sync_round),
            Action(name="Replay", step=replay),
            Action(name="Tick", step=tick),
        ),
        properties=(
            Property.always("Convergence", convergence),
            Property.sometimes(
                "SomeConverged",
                lambda s: s.synced and s.store[0][0] != EMPTY and s.store[0][1] != EMPTY,
            ),
            Property.always("NoDoubleCount", no_double_count),
            Property.sometimes("DuplicateDelivered", lambda s: s.dup),
            Property.always("FinalNeverFlips", final_never_flips),
            Property.sometimes("SomeFinal", lambda s: s.final),
            Property.sometimes("ProvisionalBecomesFinal", lambda s: s.becameFinal),
            Property.sometimes("ProvisionalReversedOnHeal", lambda s: s.reversed),
            Property.always("ThresholdOnlyRisesInDegraded", lambda s: not s.raiseDropped),
            Property.sometimes("ThresholdRaised", lambda s: s.mode == DEGRADED and s.raised > 0),
            Property.always(
                "PartitionConfirmed",
                lambda s: s.declaredWith < 0 or s.declaredWith >= confirmations_needed,
            ),
            Property.sometimes("PartitionDeclared", lambda s: s.mode == DEGRADED),
            *(
                (
                    Property.always("Accountability", accountability),
                    Property.always("NoFraming", no_framing),
                    Property.sometimes("SourceConvicted", lambda s: s.convicted[0]),
                )
                if byzantine == 1
                else ()
            ),
        ),
        view=view,
        assumptions=(
            Assumption(name="ThresholdsStraddleZero", holds=lower < 0 < upper),
            Assumption(name="JitterBelowPeriod", holds=period >= 2),
            Assumption(name="SensitivityPositive", holds=sensitivity >= 1),
            Assumption(name="ByzantineIsABit", holds=byzantine in (0, 1)),
        ),
    )


def build(constants: Constants) -> Model[SSCRState]:
    return _build(constants, None)


def build_mutant(name: str) -> Any:
    def builder(constants: Constants) -> Model[SSCRState]:
        if name in BYZANTINE_MUTANTS:
            constants = {**constants, "Byzantine": 1}
        return _build(constants, name)

    return builder


#: Mutants about the Byzantine source: they force ``Byzantine = 1``.
BYZANTINE_MUTANTS = ("no_extension_check", "no_byzantine_margin", "unsigned_convictions")


_BASE = {
    "MaxObs": 1,
    "T": 2,
    "Sensitivity": 3,
    "Upper": 1,
    "Lower": -1,
    "Timed": 1,
    "Byzantine": 0,
}

FAMILY = ModelFamily(
    name="sscr",
    summary="SSCR partition resolver (Convergence, NoDoubleCount, FinalNeverFlips, "
    "ThresholdOnlyRisesInDegraded, PartitionConfirmed)",
    build=build,
    configs={
        "small": _BASE,
        "untimed": {**_BASE, "Timed": 0},
        "byzantine": {**_BASE, "Byzantine": 1},
    },
    default_config="small",
    mutants={
        name: build_mutant(name)
        for name in (
            "merge_adds",
            "final_without_bound",
            "single_confirmation",
            "fixed_deadlines",
            "raise_tracks_bound",
            "unsigned_entries",
            *BYZANTINE_MUTANTS,
        )
    },
)
