"""Stateful tests: three SSCR nodes (the real state machines) under a
partition adversary and a Byzantine source.

The adversary splits the nodes arbitrarily, flaps single links, heals at the
times it chooses, delays, duplicates, reorders and drops messages; source
``m2`` is Byzantine: it reports any clamped term it likes, whenever its rate
bound lets it (bursts at the worst moments included); it equivocates (it
sends one node a second entry under an existing sequence number); and it
rewrites its history (a higher sequence number with fewer terms or a sum
that moved more than its new terms allow), through its home or to one node
only.  The nodes tolerate one Byzantine source (``byzantine_sources=1``).
Invariants after every step:

* ``NoDoubleCount``: every entry a node holds is exactly its source's
  cumulative statistics at that sequence number (or, for the Byzantine
  source, one of the entries it forged);
* ``FinalNeverFlips``: every verdict a node declared final equals the SPRT
  verdict on the evidence that existed when it was declared of every set of
  sources that contains the honest ones: the honest sources alone always,
  and all three while ``m2`` has never forged anything; and the node never
  changes it.  Checked in every run, equivocations and rewrites included;
* ``NoFraming``: no node ever convicts an honest source, though the
  Byzantine peer ``n2`` keeps forging entries and convictions of them
  (``frame``: each is refused and changes nothing);
* ``ThresholdOnlyRisesInDegraded``: while a node stays DEGRADED its raise
  never drops;
* ``Convergence``: the ``heal_everything`` rule heals every link, delivers
  every message and runs two rounds of syncs between every pair (the second
  spreads convictions found in the first); then all replicas hold the same
  evidence and the same convictions, and ``Accountability``: a rewrite
  published through ``m2``'s home has convicted it everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import vigilnet.protocols.sscr._state as state_module
from tests.sscr.keys import signed, source_keys
from vigilnet.errors import RemoteProtocolError
from vigilnet.evidence import EvidenceStats, Verdict
from vigilnet.fixedpoint import SCALE
from vigilnet.protocols.sscr import (
    Conviction,
    ConvictionSet,
    DeadlineFired,
    Decide,
    Evaluate,
    Event,
    EvidenceState,
    HeartbeatArrived,
    Judgement,
    LocalReport,
    Mode,
    NodeState,
    Send,
    SourceEntry,
    SscrConfig,
    StartSync,
    SyncRequest,
    SyncRequestArrived,
    SyncResponse,
    SyncResponseArrived,
    extends,
    initial_state,
    step,
)

NODES = ("n0", "n1", "n2")
SOURCES = (("m0", "n0"), ("m1", "n1"), ("m2", "n2"))
BYZANTINE = "m2"
AGENT = "x"
LAMBDA = SCALE
UPPER, LOWER = SCALE, -SCALE
DRAWS = st.integers(0, (1 << 64) - 1)


def config(node: str) -> SscrConfig:
    return SscrConfig(
        node=node,
        peers=tuple(n for n in NODES if n != node),
        sources=SOURCES,
        source_keys=source_keys(SOURCES),
        lambda_max=LAMBDA,
        rate=Fraction(1),
        upper=UPPER,
        lower=LOWER,
        deadline_base=4,
        phi_threshold=SCALE,  # about 2.3 mean intervals of silence
        bootstrap_interval=1,
        window=8,
        byzantine_sources=1,
    )


CONFIGS = {node: config(node) for node in NODES}


def sign(source: str, sequence: int, stats: EvidenceStats) -> SourceEntry:
    """What ``source`` signs (every node shares one configuration hash):
    honest and Byzantine sources alike sign their own entries."""
    return signed(CONFIGS["n0"], AGENT, source, sequence, stats.count, stats.llr_sum)


def sprt(log_odds: int) -> Verdict:
    if log_odds >= UPPER:
        return Verdict.FLAGGED
    if log_odds <= LOWER:
        return Verdict.CLEARED
    return Verdict.UNDECIDED


class PartitionedNetwork(RuleBasedStateMachine):
    @initialize(draws=st.lists(DRAWS, min_size=3, max_size=3))
    def start(self, draws: list[int]) -> None:
        self.now = 1
        self.nodes: dict[str, NodeState] = {}
        for node, draw in zip(NODES, draws, strict=True):
            self.nodes[node], _ = initial_state(CONFIGS[node], at=self.now, draw=draw)
        self.truth: dict[str, list[EvidenceStats]] = {s: [EvidenceStats()] for s, _ in SOURCES}
        self.last_term: dict[str, int] = {s: 0 for s, _ in SOURCES}
        self.cut: set[frozenset[str]] = set()
        self.inflight: list[tuple[str, SyncRequest | SyncResponse]] = []
        self.finals: list[tuple[str, Verdict, dict[str, int]]] = []
        self.raised_before: dict[str, tuple[Mode, int]] = {}
        self.forged: dict[int, set[EvidenceStats]] = {}
        self.misbehaved = False  # m2 forged an entry (equivocation or rewrite)
        self.rewrote_at_home = False  # a non-extending entry went through m2's home

    # -- plumbing -----------------------------------------------------------
    def up(self, a: str, b: str) -> bool:
        return frozenset({a, b}) not in self.cut

    def feed(self, node: str, event: Event) -> None:
        self.raised_before[node] = (self.nodes[node].mode, self.nodes[node].raised)
        earlier = self.nodes[node].verdict(AGENT)
        already_final = earlier is not None and earlier.final
        self.nodes[node], outputs = step(CONFIGS[node], self.nodes[node], event)
        before_mode, before_raised = self.raised_before[node]
        after = self.nodes[node]
        if before_mode is Mode.DEGRADED and after.mode is Mode.DEGRADED:
            assert after.raised >= before_raised, "ThresholdOnlyRisesInDegraded: raise dropped"
        for output in outputs:
            if isinstance(output, Send):
                self.inflight.append((output.peer, output.message))
            elif isinstance(output, Decide) and output.final and not already_final:
                cut = {s: len(self.truth[s]) - 1 for s, _ in SOURCES}
                self.finals.append((node, output.verdict, cut))

    # -- the sources ----------------------------------------------------------
    @rule(source=st.sampled_from([s for s, _ in SOURCES]), term=st.integers(-LAMBDA, LAMBDA))
    def observe(self, source: str, term: int) -> None:
        if self.last_term[source] >= self.now:
            return  # rate bound: one term per tick
        if source != BYZANTINE:
            term = LAMBDA if term >= 0 else -LAMBDA  # honest monitors: strong evidence
        self.last_term[source] = self.now
        stats = self.truth[source][-1] + EvidenceStats(count=1, llr_sum=term)
        self.truth[source].append(stats)
        home = dict(SOURCES)[source]
        entry = sign(source, len(self.truth[source]) - 1, stats)
        self.feed(home, LocalReport(at=self.now, agent=AGENT, source=source, entry=entry))

    @rule(positive=st.booleans(), ticks=st.integers(1, 3))
    def everyone_observes(self, positive: bool, ticks: int) -> None:
        """Every source sees the same behaviour, this tick and the next
        ``ticks - 1`` (the agent's signal)."""
        for index in range(ticks):
            if index:
                self.tick(1, [])
            for source, _ in SOURCES:
                self.observe(source, LAMBDA if positive else -LAMBDA)

    @rule(positive=st.booleans(), terms=st.integers(1, 4))
    def byzantine_streak(self, positive: bool, terms: int) -> None:
        """The Byzantine source reports one strong term per tick, ``terms``
        ticks in a row (as much as its rate bound lets it): the evidence a
        final verdict must not come to rely on."""
        for _ in range(terms):
            self.tick(1, [])
            self.observe(BYZANTINE, LAMBDA if positive else -LAMBDA)

    @rule(victim=st.sampled_from(NODES[:2]), shift=st.integers(1, 2 * LAMBDA))
    def equivocate(self, victim: str, shift: int) -> None:
        """The Byzantine source signs a second, different entry under its
        latest sequence number and sends it to one node only."""
        sequence = len(self.truth[BYZANTINE]) - 1
        if sequence == 0:
            return
        real = self.truth[BYZANTINE][sequence]
        llr = real.llr_sum + shift
        if llr > real.count * LAMBDA:
            llr = real.llr_sum - shift
        if abs(llr) > real.count * LAMBDA:
            return
        forged = EvidenceStats(count=real.count, llr_sum=llr)
        self.forged.setdefault(sequence, set()).add(forged)
        self.misbehaved = True
        delta = EvidenceState.of({(AGENT, BYZANTINE): sign(BYZANTINE, sequence, forged)})
        # request_time -1 echoes no request: it merges but never refreshes
        self.inflight.append((victim, SyncResponse(sender="n2", request_time=-1, delta=delta)))

    @rule(
        data=st.data(),
        victim=st.sampled_from(NODES),
        through_home=st.booleans(),
    )
    def rewrite_history(self, data: st.DataObject, victim: str, through_home: bool) -> None:
        """The Byzantine source publishes, under the next sequence number,
        statistics that need not extend its history: at most as many terms
        as it has (so within its rate bound in every window), any clamped
        sum.  Through its home the rewrite becomes its history from now on;
        otherwise only ``victim`` receives it."""
        if len(self.truth[BYZANTINE]) == 1:
            return
        real = self.truth[BYZANTINE][-1]
        count = data.draw(st.integers(0, real.count), label="count")
        llr = data.draw(st.integers(-count * LAMBDA, count * LAMBDA), label="llr_sum")
        self.rewrite(EvidenceStats(count=count, llr_sum=llr), victim, through_home)

    def rewrite(self, stats: EvidenceStats, victim: str, through_home: bool) -> None:
        sequence = len(self.truth[BYZANTINE]) - 1
        real = self.truth[BYZANTINE][sequence]
        rewritten = sign(BYZANTINE, sequence + 1, stats)
        if not extends(SourceEntry(sequence=sequence, stats=real), rewritten, LAMBDA):
            self.misbehaved = True
            self.rewrote_at_home = self.rewrote_at_home or through_home
        if through_home:
            self.last_term[BYZANTINE] = self.now
            self.truth[BYZANTINE].append(stats)
            report = LocalReport(at=self.now, agent=AGENT, source=BYZANTINE, entry=rewritten)
            self.feed(dict(SOURCES)[BYZANTINE], report)
            return
        if victim == dict(SOURCES)[BYZANTINE]:
            return
        self.forged.setdefault(sequence + 1, set()).add(stats)
        self.misbehaved = True
        delta = EvidenceState.of({(AGENT, BYZANTINE): rewritten})
        self.inflight.append((victim, SyncResponse(sender="n2", request_time=-1, delta=delta)))

    @rule(
        victim=st.sampled_from(NODES[:2]),
        source=st.sampled_from(["m0", "m1"]),
        shift=st.integers(1, 3),
        as_conviction=st.booleans(),
        with_own_key=st.booleans(),
    )
    def frame(
        self, victim: str, source: str, shift: int, as_conviction: bool, with_own_key: bool
    ) -> None:
        """The Byzantine peer n2 (home of m2) forges evidence against an
        honest source: a higher-sequence entry, or a conviction pairing the
        source's genuine entry with a forgery, signed with m2's key or not at
        all.  The victim refuses it as a peer's fault and changes nothing."""
        sequence = len(self.truth[source]) - 1
        real = self.truth[source][sequence]
        stats = EvidenceStats(
            count=real.count, llr_sum=max(-real.count * LAMBDA, real.llr_sum - shift)
        )
        fake = (
            signed(CONFIGS["n0"], AGENT, BYZANTINE, sequence + 1, stats.count, stats.llr_sum)
            if with_own_key
            else SourceEntry(sequence=sequence + 1, stats=stats)
        )
        if as_conviction and sequence >= 1:
            genuine = sign(source, sequence, real)
            frame = Conviction(agent=AGENT, source=source, lower=genuine, higher=fake)
            response = SyncResponse(
                sender="n2",
                request_time=-1,
                delta=EvidenceState(),
                convictions=ConvictionSet.of([frame]),
            )
        else:
            response = SyncResponse(
                sender="n2", request_time=-1, delta=EvidenceState.of({(AGENT, source): fake})
            )
        before = self.nodes[victim]
        with pytest.raises(RemoteProtocolError):
            step(CONFIGS[victim], before, SyncResponseArrived(response=response, at=self.now))
        assert self.nodes[victim] == before

    # -- time -----------------------------------------------------------------
    @rule(ticks=st.integers(1, 6), draws=st.lists(DRAWS, min_size=18, max_size=18))
    def tick(self, ticks: int, draws: list[int]) -> None:
        for _ in range(ticks):
            self.now += 1
            for a in NODES:
                for b in NODES:
                    if a != b and self.up(a, b):
                        self.feed(a, HeartbeatArrived(peer=b, at=self.now))
            for node in NODES:
                while self.nodes[node].next_deadline <= self.now:
                    draw = draws.pop() if draws else 1 << 63
                    self.feed(node, DeadlineFired(at=self.now, draw=draw))

    # -- the partition adversary ------------------------------------------------
    @rule(side=st.sets(st.sampled_from(NODES)))
    def split(self, side: set[str]) -> None:
        self.cut = {frozenset({a, b}) for a in side for b in NODES if b not in side}

    @rule(a=st.sampled_from(NODES), b=st.sampled_from(NODES))
    def flap(self, a: str, b: str) -> None:
        if a != b:
            self.cut ^= {frozenset({a, b})}

    @rule()
    def heal(self) -> None:
        self.cut = set()

    @rule(a=st.sampled_from(NODES), b=st.sampled_from(NODES))
    def start_sync(self, a: str, b: str) -> None:
        if a != b:
            self.feed(a, StartSync(peer=b, at=self.now))

    @rule(a=st.sampled_from(NODES), b=st.sampled_from(NODES))
    def round_trip(self, a: str, b: str) -> None:
        """A sync from ``a`` to ``b`` answered at once, when the link is up."""
        if a == b or not self.up(a, b):
            return
        mark = len(self.inflight)
        self.feed(a, StartSync(peer=b, at=self.now))
        (request,) = self.inflight[mark:]
        del self.inflight[mark:]
        self._deliver(*request)
        (response,) = self.inflight[mark:]
        del self.inflight[mark:]
        self._deliver(*response)

    @precondition(lambda self: bool(self.inflight))
    @rule(index=st.integers(0, 1 << 16), keep=st.booleans(), drop=st.booleans())
    def deliver(self, index: int, keep: bool, drop: bool) -> None:
        """Deliver any message in flight (reordering); ``keep`` leaves a copy
        to deliver again (duplication); across a cut it waits, or is dropped."""
        dst, message = self.inflight[index % len(self.inflight)]
        if not self.up(message.sender, dst):
            if drop:
                self.inflight.remove((dst, message))
            return
        if not keep:
            self.inflight.remove((dst, message))
        self._deliver(dst, message)

    def _deliver(self, dst: str, message: SyncRequest | SyncResponse) -> None:
        if isinstance(message, SyncRequest):
            self.feed(dst, SyncRequestArrived(request=message))
        else:
            self.feed(dst, SyncResponseArrived(response=message, at=self.now))

    @rule(node=st.sampled_from(NODES))
    def evaluate(self, node: str) -> None:
        self.feed(node, Evaluate(agent=AGENT, at=self.now))

    @rule(node=st.sampled_from(NODES))
    def sync_then_evaluate(self, node: str) -> None:
        """A round trip with every peer it can reach, then a verdict: the
        shortest way to a small bound, hence to final verdicts."""
        for peer in NODES:
            self.round_trip(node, peer)
        self.evaluate(node)

    @rule()
    def heal_everything(self) -> None:
        """Heal, deliver everything in flight, sync every pair twice: the
        replicas converge (equivocations and rewrites included), and so do
        their convictions."""
        self.cut = set()
        while self.inflight:
            dst, message = self.inflight.pop(0)
            self._deliver(dst, message)
        for _ in range(2):
            for a in NODES:
                for b in NODES:
                    if a != b:
                        self.feed(a, StartSync(peer=b, at=self.now))
            while self.inflight:
                dst, message = self.inflight.pop(0)
                self._deliver(dst, message)
        states = {node: self.nodes[node].evidence for node in NODES}
        assert len(set(states.values())) == 1, "Convergence: replicas differ after heal"
        convicted = {node: self.nodes[node].convicted for node in NODES}
        assert len(set(convicted.values())) == 1, "Convergence: convictions differ after heal"
        if self.rewrote_at_home:
            assert all(BYZANTINE in c.sources() for c in convicted.values()), (
                "Accountability: a rewrite through the home did not convict the source"
            )

    # -- invariants -------------------------------------------------------------
    @invariant()
    def no_double_count(self) -> None:
        for node, state in self.nodes.items():
            for (_, source), entry in state.evidence.entries:
                forged = self.forged.get(entry.sequence, set()) if source == BYZANTINE else set()
                truth = self.truth[source]
                real = entry.sequence < len(truth) and entry.stats == truth[entry.sequence]
                assert real or entry.stats in forged, f"NoDoubleCount: {node} {source}"

    @invariant()
    def final_never_flips(self) -> None:
        honest = [s for s, _ in SOURCES if s != BYZANTINE]
        counted = [honest] if self.misbehaved else [honest, [s for s, _ in SOURCES]]
        for node, verdict, cut in self.finals:
            for sources in counted:
                truth = sum(self.truth[s][cut[s]].llr_sum for s in sources)
                assert sprt(truth) is verdict, (
                    f"FinalNeverFlips: {node} {verdict} {cut} {sources} {truth}"
                )
            record = self.nodes[node].verdict(AGENT)
            assert record is not None and record.final and record.verdict is verdict

    @invariant()
    def no_framing(self) -> None:
        for node, state in self.nodes.items():
            assert state.convicted.sources() <= {BYZANTINE}, f"NoFraming: {node}"


PartitionedNetwork.TestCase.settings = settings(
    max_examples=200, stateful_step_count=60, deadline=None
)
TestPartitionedNetwork = PartitionedNetwork.TestCase


# -- known-bad machines: the invariants above must catch each of them --------


def _run_expecting_failure(
    monkeypatch: pytest.MonkeyPatch, name: str, replacement: object
) -> set[str]:
    """Run the machine with ``state_module.<name>`` replaced; return the
    names of the invariants that failed."""
    monkeypatch.setattr(state_module, name, replacement)
    with pytest.raises((AssertionError, ExceptionGroup)) as caught:
        run_state_machine_as_test(
            PartitionedNetwork,
            settings=settings(
                max_examples=300,
                stateful_step_count=60,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.generate, Phase.shrink],
            ),
        )
    failures = (
        caught.value.exceptions if isinstance(caught.value, ExceptionGroup) else (caught.value,)
    )
    return {str(failure).split(":")[0].strip("('\" ") for failure in failures}


def test_finalising_without_the_bound_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = state_module.judge

    def no_margin(log_odds: int, *, upper: int, lower: int, margin: int) -> Judgement:
        return real(log_odds, upper=upper, lower=lower, margin=0)

    assert _run_expecting_failure(monkeypatch, "judge", no_margin) == {"FinalNeverFlips"}


def _replay_expecting_failure(
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    replacement: object,
    trace: list[Callable[[PartitionedNetwork], None]],
) -> str:
    """Run ``trace`` (a counterexample, pasted) on the machine with
    ``state_module.<name>`` replaced, checking every invariant after each
    step; return the name of the check that failed.  The same trace passes
    on the real node (``test_byzantine_traces_pass_on_the_real_node``)."""
    monkeypatch.setattr(state_module, name, replacement)
    with pytest.raises(AssertionError) as caught:
        _run_trace(trace)
    return str(caught.value).split(":")[0]


def _run_trace(trace: list[Callable[[PartitionedNetwork], None]]) -> None:
    machine = PartitionedNetwork()
    machine.start(draws=[0, 0, 0])
    for rule_step in trace:
        rule_step(machine)
        machine.no_double_count()
        machine.final_never_flips()
        machine.no_framing()


#: m2 alone reports three strong terms; n0 syncs with both peers and judges:
#: L = 3 lambda, B = 2 lambda, the honest evidence is 0.
DECISIVE_BYZANTINE = [
    lambda m: m.byzantine_streak(positive=True, terms=3),
    lambda m: m.sync_then_evaluate("n0"),
]

#: Every source reports one term; m2 then rewrites its history through its
#: home (no terms at all); everything heals.
REWRITE_AT_HOME = [
    lambda m: m.everyone_observes(positive=True, ticks=1),
    lambda m: m.rewrite(EvidenceStats(), "n0", through_home=True),
    lambda m: m.heal_everything(),
]


def test_ignoring_byzantine_sources_in_finality_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finality without the Byzantine margin E (as if byzantine_sources were
    0): a final verdict that relied on m2's evidence is not the verdict on
    the honest evidence."""

    def no_byzantine_margin(contributions: object, tolerated: int, *, toward: Verdict) -> int:
        return 0

    failed = _replay_expecting_failure(
        monkeypatch, "byzantine_margin", no_byzantine_margin, DECISIVE_BYZANTINE
    )
    assert failed == "FinalNeverFlips"


def test_per_entry_checks_only_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The proof's mutant in the node: no extension check, so no conviction:
    a rewrite through the home is never held against the source."""

    def no_conflicts(left: EvidenceState, right: EvidenceState, lambda_max: int) -> tuple[()]:
        return ()

    failed = _replay_expecting_failure(monkeypatch, "conflicts", no_conflicts, REWRITE_AT_HOME)
    assert failed == "Accountability"


def test_byzantine_traces_pass_on_the_real_node() -> None:
    _run_trace(DECISIVE_BYZANTINE)
    _run_trace(REWRITE_AT_HOME)


def test_adding_merge_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def adding(left: EvidenceState, right: EvidenceState) -> EvidenceState:
        mine, theirs = left.as_dict(), right.as_dict()
        for key, entry in theirs.items():
            old = mine.get(key)
            # re-signed by the source, so only the merge is wrong
            mine[key] = (
                entry
                if old is None
                else sign(key[1], max(old.sequence, entry.sequence), old.stats + entry.stats)
            )
        return EvidenceState.of(mine)

    assert "NoDoubleCount" in _run_expecting_failure(monkeypatch, "merge", adding)
