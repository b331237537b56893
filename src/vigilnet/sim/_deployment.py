"""The deployment, composed on the engine (DESIGN.md 4.5).

Theory of operation
===================

One simulated run builds the tree of a :class:`~vigilnet.sim._scenario.Scenario`
and runs the real, unmodified protocol state machines through
:class:`~vigilnet.sim.Driver` objects over the :class:`~vigilnet.sim.Simulator`'s
network.  Every message travels as its protocol's canonical wire bytes and is
decoded (under the protocol's limits) by its receiver; every signature is a
real Ed25519 signature over the protocol's signed bytes.

Topology (all from the scenario):

* site ``s`` holds agents ``[s * agents_per_site, ...)``; each of its agents
  is observed by the ``replicas`` monitors ``monitor-{s * r + j}``;
* regional ``g`` aggregates sites ``[g * sites_per_regional, ...)``, so it is
  the first tier that sees all replicas of its agents;
* regional ``g`` reports to hub ``g mod hubs`` (round robin, at most
  ``regionals_per_hub`` each, checked by the scenario);
* the ``hubs`` hubs run SDBC.

Per epoch ``e`` (1, 2, ...), starting at ``(e - 1) * epoch_ms``:

1. every monitor draws its site's behaviour for ``e`` (the population's
   ground truth, shared by the site's replicas: they watch the same agents),
   turns it into fixed-point evidence with the evidence core
   (:meth:`~vigilnet.evidence.BehaviourModel.evidence`), signs its SHAP report
   (:func:`~vigilnet.protocols.shap.monitor_report`) and sends report and body
   to its regional;
2. a regional admits reports (SHAP rule 1) and closes as soon as every
   registered monitor's report is in, or at ``regional_close_ms``; it sends
   its signed report to its hub and a signed receipt to every monitor, which
   checks it (SHAP rule 6);
3. a hub (SHAP hub tier) closes the same way (all regionals in, or at
   ``hub_close_ms``); its commitment root and totals become its SDBC epoch
   summary: ``(totals..., root as eight 32-bit words)``;
4. at ``consensus_start_ms`` every hub starts SDBC for ``e`` with that
   summary; SDBC runs to a decision over the hub-to-hub links.  The decided
   value embeds at least ``q`` hub-signed summaries (the proposer's choice,
   DESIGN.md 4.1), so it binds those hubs' roots; the report checks each
   against the hub's own SHAP root.

Verdicts: the agents' combined per-epoch entries are read from the
regionals' own commitments (what they signed), summed exactly per agent
(``L_a = sum``, prior log-odds 0) and judged by Wald's SPRT with the
scenario's ``alpha`` and ``beta`` (:class:`~vigilnet.evidence.SprtThresholds`)
after every epoch; a FLAGGED verdict is final, CLEARED and UNDECIDED may
change while evidence keeps arriving.

Measurement: messages and bytes are counted by the drivers per link tier;
signature verifications are counted by wrapping libsodium's verify binding
(``nacl.bindings.crypto_sign_open``, the one verify entry point) for the
length of the run and attributing each call to the tier of the node whose
input is being processed.  Nothing here changes what a protocol does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import nacl.bindings
import numpy as np
import numpy.typing as npt

from vigilnet.crypto import SigningKey, VerifyKey
from vigilnet.errors import LocalProtocolError, RemoteProtocolError
from vigilnet.evidence import DEFAULT_BEHAVIOUR_MODEL, SprtThresholds, Verdict
from vigilnet.protocols import sdbc, shap
from vigilnet.sim._agents import Population
from vigilnet.sim._engine import Host, Simulator
from vigilnet.sim._network import LinkProfile, Network
from vigilnet.sim._scenario import Scenario, ScenarioError
from vigilnet.sim._seeds import SeedTree

__all__ = [
    "ROOT_WORDS",
    "Deadlines",
    "Deployment",
    "RunResult",
    "root_words",
    "run_deployment",
    "words_root",
]

_REGIONAL_BASE = 1 << 40
_HUB_BASE = 1 << 41
_WORD = 1 << 32
#: summary layout: three SHAP totals, then the root's words
ROOT_WORDS = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class Deadlines:
    """Offsets from an epoch's start, in milliseconds of simulated time."""

    regional_close_ms: int = 1_000
    hub_close_ms: int = 2_000
    consensus_start_ms: int = 2_500
    receipt_timeout_ms: int = 5_000


def root_words(root: bytes) -> tuple[int, ...]:
    """A 32-byte root as eight big-endian unsigned 32-bit words (SDBC sums
    and trims every summary coordinate: 32-bit words keep the aggregate's
    exact fractions inside the wire's 64-bit integers)."""
    if len(root) != 32:
        raise LocalProtocolError("a commitment root is 32 bytes")
    return tuple(int.from_bytes(root[i : i + 4], "big") for i in range(0, 32, 4))


def words_root(words: tuple[int, ...]) -> bytes:
    """The inverse of :func:`root_words`."""
    if len(words) != ROOT_WORDS or not all(0 <= w < _WORD for w in words):
        raise LocalProtocolError("a root is eight unsigned 32-bit words")
    return b"".join(w.to_bytes(4, "big") for w in words)


# --------------------------------------------------------------------------
# Measurement


@dataclass(slots=True)
class _Meter:
    """Who is stepping now, and what it cost."""

    tier: str = "setup"
    verifications: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    message_bytes: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)

    @contextmanager
    def counting(self) -> Iterator[None]:
        original: Callable[..., bytes] = nacl.bindings.crypto_sign_open

        def counted(signed: bytes, pk: bytes) -> bytes:
            self.verifications[self.tier] += 1
            return original(signed, pk)

        nacl.bindings.crypto_sign_open = counted
        try:
            yield
        finally:
            nacl.bindings.crypto_sign_open = original

    def send(self, host: Host, link: str, dst: str, payload: bytes) -> None:
        self.messages[link] += 1
        self.message_bytes[link] += len(payload)
        host.send(dst, payload)


# --------------------------------------------------------------------------
# The deployment's shared, read-only setup


@dataclass(slots=True)
class Deployment:
    """Names, keys and placements of one run (built by :func:`build`)."""

    scenario: Scenario
    seeds: SeedTree
    population: Population
    shap_config: shap.ShapConfig
    shap_limits: shap.WireLimits
    hub_config: sdbc.HubConfig
    hub_keys: list[SigningKey]
    deadlines: Deadlines
    meter: _Meter
    keys: dict[int, SigningKey] = field(default_factory=dict)
    site_agents: dict[int, tuple[int, ...]] = field(default_factory=dict)
    monitor_regional: dict[int, int] = field(default_factory=dict)
    regional_hub: dict[int, int] = field(default_factory=dict)
    behaviour_cache: dict[tuple[int, int], tuple[Any, Any]] = field(default_factory=dict)
    #: per (epoch, regional): the combined entries the regional committed
    combined: dict[tuple[int, int], shap.CombinedEntries] = field(default_factory=dict)
    #: per (epoch, hub): the hub's SHAP root and totals
    hub_roots: dict[tuple[int, int], tuple[bytes, tuple[int, int, int]]] = field(
        default_factory=dict
    )
    #: per (epoch, tier): latest simulated time (us since epoch start) of an event
    times: dict[tuple[int, str], int] = field(default_factory=dict)
    decisions: dict[tuple[int, int], sdbc.Decide] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    #: ground truth: which agents misbehaved in some epoch so far
    truth: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # -- recording for verdict proofs (sim/_verdict.py) and trace validation
    # (sim/_trace.py); nothing reads these during the run
    #: per (epoch, hub): the hub's signed SHAP commitment (<= regionals_per_hub leaves)
    hub_commitments: dict[tuple[int, int], shap.EpochCommitment] = field(default_factory=dict)
    #: keep every regional's signed commitment (its trees, the monitors'
    #: signed reports and bodies): about 10 MB per regional and epoch at
    #: 20,000 agents per regional, so only when asked (``record_proofs``)
    record_proofs: bool = False
    #: per (epoch, regional): the regional's commitment, with ``record_proofs``
    regional_commitments: dict[tuple[int, int], shap.EpochCommitment] = field(default_factory=dict)
    #: every admitted SDBC step of every hub, in execution order:
    #: (hub, input, outputs, state after); a few dozen per hub and epoch
    sdbc_steps: list[tuple[int, sdbc.Input, tuple[sdbc.Output, ...], sdbc.NodeState]] = field(
        default_factory=list
    )

    @property
    def epoch_us(self) -> int:
        return self.scenario.epoch_ms * 1_000

    def key(self, node_id: int) -> SigningKey:
        k = self.keys.get(node_id)
        if k is None:
            k = SigningKey(self.seeds.random_bytes(32, "key", node_id))
            self.keys[node_id] = k
        return k

    def mark(self, epoch: int, tier: str, now_us: int) -> None:
        offset = now_us - (epoch - 1) * self.epoch_us
        if offset > self.times.get((epoch, tier), -1):
            self.times[(epoch, tier)] = offset

    def site_behaviour(self, epoch: int, site: int) -> tuple[Any, Any]:
        """The site's evidence for ``epoch`` (one draw for all its replicas)."""
        cached = self.behaviour_cache.get((epoch, site))
        if cached is None:
            agents = self.site_agents[site]
            rows, bad = self.population.behaviour(epoch, agents[0], agents[-1] + 1)
            # Ground truth as drawn: Population.misbehaving_in continues its
            # streams when asked twice, so the truth is kept from this draw.
            self.truth[agents[0] : agents[-1] + 1] |= bad
            cached = self.population.model.evidence(rows)
            self.behaviour_cache[(epoch, site)] = cached
            # Only the current epoch is ever asked for again.
            for stale in [k for k in self.behaviour_cache if k[0] < epoch]:
                del self.behaviour_cache[stale]
        return cached


# --------------------------------------------------------------------------
# Drivers


@dataclass(slots=True)
class _Monitor:
    d: Deployment
    node_id: int
    site: int
    child: shap.ChildState | None = None
    epoch: int = 0

    def start(self, host: Host) -> None:
        host.set_timer(0, ("epoch", 1))

    def on_timer(self, host: Host, token: Hashable) -> None:
        d = self.d
        d.meter.tier = "monitor"
        kind, epoch = cast(tuple[str, int], token)
        if kind == "epoch":
            self.epoch = epoch
            counts, llrs = d.site_behaviour(epoch, self.site)
            body = shap.MonitorBody(
                agent_ids=d.site_agents[self.site],
                counts=tuple(counts.tolist()),
                llr_sums=tuple(llrs.tolist()),
            )
            report = shap.monitor_report(
                signing_key=d.key(self.node_id),
                node_id=self.node_id,
                epoch=epoch,
                config=d.shap_config,
                body=body,
            )
            regional = d.monitor_regional[self.node_id]
            self.child = shap.ChildState(
                own=report, parent_key=d.key(_REGIONAL_BASE + regional).verify_key
            )
            payload = shap.encode_message(shap.ReceiveReport(report=report, body=body))
            d.meter.send(host, "monitor->regional", f"regional-{regional}", payload)
            host.set_timer(d.deadlines.receipt_timeout_ms * 1_000, ("receipt", epoch))
            if epoch < d.scenario.epochs:
                host.set_timer(d.epoch_us, ("epoch", epoch + 1))
        elif (
            kind == "receipt"
            and epoch == self.epoch
            and self.child is not None
            and self.child.phase is shap.ChildPhase.AWAITING
        ):
            self.child, outputs = shap.child_step(self.child, shap.ReceiptTimeout())
            _child_outputs(d, "monitor", epoch, host, outputs)

    def on_message(self, host: Host, src: str, payload: bytes) -> None:
        d = self.d
        d.meter.tier = "monitor"
        try:
            message = shap.decode_message(payload, d.shap_config, d.shap_limits)
        except RemoteProtocolError:
            d.meter.refused["monitor"] += 1
            return
        if not isinstance(message, shap.Receipt) or self.child is None:
            d.meter.refused["monitor"] += 1
            return
        if self.child.phase is not shap.ChildPhase.AWAITING:
            d.meter.refused["monitor"] += 1
            return
        self.child, outputs = shap.child_step(self.child, shap.ReceiveReceipt(receipt=message))
        _child_outputs(d, "monitor", self.epoch, host, outputs)


def _child_outputs(
    d: Deployment, tier: str, epoch: int, host: Host, outputs: tuple[shap.Output, ...]
) -> None:
    for out in outputs:
        if isinstance(out, shap.Confirmed):
            d.counts[f"{tier}_receipts_confirmed"] += 1
            d.mark(epoch, f"{tier}_receipts", host.now_us())
        elif isinstance(out, shap.Alarm):
            d.counts[f"{tier}_alarms"] += 1
            host.record("alarm", tier=tier, node=out.node_id, reason=out.reason)
        elif isinstance(out, shap.Rejected):
            d.counts[f"{tier}_receipts_refused"] += 1


@dataclass(slots=True)
class _Aggregator:
    """A SHAP regional or hub; a hub also runs its SDBC node."""

    d: Deployment
    setup: shap.AggregatorSetup
    tier: str
    name: str
    parent: str | None
    index: int
    state: shap.AggregatorState | None = None
    child: shap.ChildState | None = None
    hub: sdbc.NodeState | None = None

    def start(self, host: Host) -> None:
        self.state = shap.initial_state(self.setup, 1)
        self._schedule(host, 1)
        if self.tier == "hub":
            d = self.d
            self.hub = sdbc.initial_state(d.hub_keys[self.index], self.index, d.hub_config)

    def _schedule(self, host: Host, epoch: int) -> None:
        d = self.d
        close = (
            d.deadlines.regional_close_ms if self.tier == "regional" else d.deadlines.hub_close_ms
        )
        host.set_timer(close * 1_000, ("close", epoch))
        if self.tier == "hub":
            host.set_timer(d.deadlines.consensus_start_ms * 1_000, ("consensus", epoch))
            if not self.setup.children:
                host.set_timer(0, ("close", epoch))
        if epoch < d.scenario.epochs:
            host.set_timer(d.epoch_us, ("epoch", epoch + 1))

    def on_timer(self, host: Host, token: Hashable) -> None:
        d = self.d
        d.meter.tier = self.tier
        kind, *rest = cast(tuple[Any, ...], token)
        assert self.state is not None
        if kind == "epoch":
            (epoch,) = rest
            if self.state.phase is not shap.Phase.CLOSED:
                self._close(host)
            self.state, _ = shap.step(self.setup, self.state, shap.StartEpoch(epoch=epoch))
            self._schedule(host, epoch)
        elif kind == "close":
            (epoch,) = rest
            if epoch == self.state.epoch and self.state.phase is shap.Phase.COLLECTING:
                self._close(host)
        elif kind == "receipt":
            (epoch,) = rest
            if (
                self.child is not None
                and self.child.own.epoch == epoch
                and self.child.phase is shap.ChildPhase.AWAITING
            ):
                self.child, outs = shap.child_step(self.child, shap.ReceiptTimeout())
                _child_outputs(d, self.tier, epoch, host, outs)
        elif kind == "consensus":
            (epoch,) = rest
            self._start_consensus(host, epoch)
        elif kind == "sdbc":
            d.meter.tier = "consensus"
            epoch, rnd, step_name = rest
            self._sdbc(host, sdbc.Timeout(epoch=epoch, round=rnd, step=step_name))

    def on_message(self, host: Host, src: str, payload: bytes) -> None:
        d = self.d
        if self.tier == "hub" and src.startswith("hub-"):
            d.meter.tier = "consensus"
            try:
                message = sdbc.decode_message(payload, d.hub_config)
            except RemoteProtocolError:
                d.meter.refused["consensus"] += 1
                return
            self._sdbc(host, sdbc.Receive(message=message))
            return
        d.meter.tier = self.tier
        assert self.state is not None
        try:
            message_any = shap.decode_message(payload, d.shap_config, d.shap_limits)
        except RemoteProtocolError:
            d.meter.refused[self.tier] += 1
            return
        if isinstance(message_any, shap.ReceiveReport):
            self.state, outs = shap.step(self.setup, self.state, message_any)
            if any(isinstance(o, shap.Rejected) for o in outs):
                d.meter.refused[self.tier] += 1
                return
            d.mark(self.state.epoch, f"{self.tier}_reports_in", host.now_us())
            if len(self.state.accepted) == len(self.setup.children):
                self._close(host)
        elif isinstance(message_any, shap.Receipt) and self.child is not None:
            if self.child.phase is shap.ChildPhase.AWAITING:
                self.child, outs = shap.child_step(
                    self.child, shap.ReceiveReceipt(receipt=message_any)
                )
                _child_outputs(d, self.tier, self.child.own.epoch, host, outs)
        else:
            d.meter.refused[self.tier] += 1

    def _close(self, host: Host) -> None:
        d = self.d
        assert self.state is not None
        epoch = self.state.epoch
        self.state, outs = shap.step(self.setup, self.state, shap.CloseEpoch())
        d.mark(epoch, f"{self.tier}_commit", host.now_us())
        link_down = "regional->monitor" if self.tier == "regional" else "hub->regional"
        for out in outs:
            if isinstance(out, shap.Committed):
                c = out.commitment
                if self.tier == "regional":
                    assert c.combined is not None
                    d.combined[(epoch, self.index)] = c.combined
                    if d.record_proofs:
                        d.regional_commitments[(epoch, self.index)] = c
                else:
                    d.hub_roots[(epoch, self.index)] = (c.root, c.totals)
                    d.hub_commitments[(epoch, self.index)] = c
            elif isinstance(out, shap.SendReport) and self.parent is not None:
                parent_id = _HUB_BASE + d.regional_hub[self.index]
                self.child = shap.ChildState(own=out.report, parent_key=d.key(parent_id).verify_key)
                payload = shap.encode_message(shap.ReceiveReport(report=out.report))
                d.meter.send(host, "regional->hub", self.parent, payload)
                host.set_timer(d.deadlines.receipt_timeout_ms * 1_000, ("receipt", epoch))
            elif isinstance(out, shap.SendReceipt):
                child = (
                    f"monitor-{out.child}"
                    if self.tier == "regional"
                    else f"regional-{out.child - _REGIONAL_BASE}"
                )
                d.meter.send(host, link_down, child, shap.encode_message(out.receipt))

    # -- SDBC --------------------------------------------------------------

    def _start_consensus(self, host: Host, epoch: int) -> None:
        d = self.d
        d.meter.tier = "consensus"
        assert self.hub is not None
        found = d.hub_roots.get((epoch, self.index))
        if found is None or self.hub.step not in (sdbc.Step.IDLE, sdbc.Step.DECIDED):
            d.counts["consensus_not_started"] += 1
            return
        root, totals = found
        summary = (*totals, *root_words(root))
        d.counts["consensus_started"] += 1
        self._sdbc(host, sdbc.Start(epoch=epoch, summary=summary))

    def _sdbc(self, host: Host, event: sdbc.Input) -> None:
        d = self.d
        assert self.hub is not None
        try:
            self.hub, outputs = sdbc.step(self.hub, event)
        except RemoteProtocolError:
            d.meter.refused["consensus"] += 1
            return
        d.sdbc_steps.append((self.index, event, outputs, self.hub))
        for out in outputs:
            if isinstance(out, sdbc.Broadcast):
                payload = sdbc.encode_message(out.message)
                for h in range(d.scenario.topology.hubs):
                    if h != self.index:
                        d.meter.send(host, "hub->hub", f"hub-{h}", payload)
            elif isinstance(out, sdbc.SetTimer):
                host.set_timer(out.duration_ms * 1_000, ("sdbc", out.epoch, out.round, out.step))
            elif isinstance(out, sdbc.Decide):
                d.decisions[(out.epoch, self.index)] = out
                start = d.deadlines.consensus_start_ms * 1_000
                d.mark(out.epoch, "consensus_decided", host.now_us() - start)
            elif isinstance(out, sdbc.ReportEvidence):
                d.counts["equivocation_evidence"] += 1


# --------------------------------------------------------------------------
# Building and running


def build(
    scenario: Scenario, deadlines: Deadlines | None = None, *, record_proofs: bool = False
) -> tuple[Deployment, Simulator]:
    """The deployment of ``scenario`` on a fresh simulator (``record_proofs``:
    keep every regional's commitment, for verdict proofs)."""
    topo = scenario.topology
    if topo.agents < 1:
        raise ScenarioError(f"topology.agents must be >= 1, got {topo.agents}")
    if topo.agents_per_site > (1 << 32) - 1:
        raise ScenarioError("topology.agents_per_site too large")
    seeds = SeedTree(scenario.seed)
    population = Population.create(seeds, topo.agents, scenario.agents, DEFAULT_BEHAVIOUR_MODEL)
    fan_in = max(topo.sites_per_regional * topo.replicas, topo.regionals_per_hub)
    try:
        shap_config = shap.ShapConfig(
            max_aggregation_ratio=fan_in,
            replicas=topo.replicas,
            max_agents=topo.agents_per_site,
        )
        hub_seeds = [seeds.random_bytes(32, "key", "sdbc", h) for h in range(topo.hubs)]
        # Totals so bounded that the sum of every hub's fits the wire's int64.
        bound = (1 << 63) // max(topo.hubs, 1) - 1
        ranges = ((-bound, bound),) * 3 + ((0, _WORD - 1),) * ROOT_WORDS
        hub_config, hub_keys = sdbc.make_config(hub_seeds, summary_ranges=ranges)
    except LocalProtocolError as exc:
        raise ScenarioError(f"topology: {exc}") from None
    d = Deployment(
        scenario=scenario,
        seeds=seeds,
        population=population,
        shap_config=shap_config,
        shap_limits=shap.wire_limits(shap_config),
        hub_config=hub_config,
        hub_keys=hub_keys,
        deadlines=deadlines or Deadlines(),
        meter=_Meter(),
        truth=np.zeros(topo.agents, dtype=bool),
        record_proofs=record_proofs,
    )
    network = Network(seeds)
    tiers = {"monitor_regional": ("monitor", "regional"), "regional_hub": ("regional", "hub"),
             "hub_hub": ("hub", "hub")}  # fmt: skip
    for name, link in scenario.network.links.items():
        a, b = tiers[name]
        network.set_profile(
            a,
            b,
            LinkProfile(
                base_us=link.base_ms * 1_000,
                jitter_us=link.jitter_ms * 1_000,
                loss=link.loss,
                duplicate=link.duplicate,
            ),
        )
    sim = Simulator(seeds, network)
    r = topo.replicas
    regional_children: dict[int, dict[int, VerifyKey]] = {}
    regional_placement: dict[int, dict[int, tuple[int, ...]]] = {}
    for site in range(topo.sites):
        first = site * topo.agents_per_site
        stop = min(first + topo.agents_per_site, topo.agents)
        d.site_agents[site] = tuple(range(first, stop))
        g = site // topo.sites_per_regional
        for j in range(r):
            m = site * r + j
            d.monitor_regional[m] = g
            regional_children.setdefault(g, {})[m] = d.key(m).verify_key
            regional_placement.setdefault(g, {})[m] = d.site_agents[site]
            sim.add(f"monitor-{m}", _Monitor(d, m, site), "monitor")
    hub_children: dict[int, dict[int, VerifyKey]] = {h: {} for h in range(topo.hubs)}
    for g in range(topo.regionals):
        h = g % topo.hubs
        d.regional_hub[g] = h
        node_id = _REGIONAL_BASE + g
        hub_children[h][node_id] = d.key(node_id).verify_key
        setup = shap.AggregatorSetup(
            node_id=node_id,
            tier=shap.Tier.REGIONAL,
            config=shap_config,
            signing_key=d.key(node_id),
            children=regional_children[g],
            placement=regional_placement[g],
        )
        sim.add(
            f"regional-{g}",
            _Aggregator(d, setup, "regional", f"regional-{g}", f"hub-{h}", g),
            "regional",
        )
    for h in range(topo.hubs):
        node_id = _HUB_BASE + h
        setup = shap.AggregatorSetup(
            node_id=node_id,
            tier=shap.Tier.HUB,
            config=shap_config,
            signing_key=d.key(node_id),
            children=hub_children[h],
        )
        sim.add(f"hub-{h}", _Aggregator(d, setup, "hub", f"hub-{h}", None, h), "hub")
    return d, sim


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """What one run measured (the report is made from it)."""

    deployment: Deployment
    simulator: Simulator
    flagged: npt.NDArray[np.bool_]
    verdicts: Counter[str]
    truth: npt.NDArray[np.bool_]


def run_deployment(
    scenario: Scenario,
    deadlines: Deadlines | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    record_proofs: bool = False,
) -> RunResult:
    """Run ``scenario`` for its epochs; judge every agent after each epoch."""
    d, sim = build(scenario, deadlines, record_proofs=record_proofs)
    topo = scenario.topology
    thresholds = SprtThresholds(alpha=scenario.sprt.alpha, beta=scenario.sprt.beta)
    log_odds = np.zeros(topo.agents, dtype=np.int64)
    flagged = np.zeros(topo.agents, dtype=bool)
    with d.meter.counting():
        sim.start()
        for epoch in range(1, scenario.epochs + 1):
            sim.run(epoch * d.epoch_us - 1)
            for g in range(topo.regionals):
                combined = d.combined.get((epoch, g))
                if combined is None:
                    continue
                ids = combined.agent_ids.astype(np.int64)
                log_odds[ids] += combined.llr_sums
            flagged |= log_odds >= thresholds.upper
            if progress is not None:
                progress(epoch)
    verdicts: Counter[str] = Counter()
    verdicts[Verdict.FLAGGED.value] = int(flagged.sum())
    cleared = ~flagged & (log_odds <= thresholds.lower)
    verdicts[Verdict.CLEARED.value] = int(cleared.sum())
    verdicts[Verdict.UNDECIDED.value] = int(topo.agents - flagged.sum() - cleared.sum())
    return RunResult(deployment=d, simulator=sim, flagged=flagged, verdicts=verdicts, truth=d.truth)
