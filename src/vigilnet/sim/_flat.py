"""The flat baseline: every monitor reports straight to every hub.

Theory of operation
===================

The hierarchy (:mod:`vigilnet.sim._deployment`) puts a regional tier between
the local monitors and the hubs.  The question the seed's claims answer
("374.4x" and "144.8x" better than flat aggregation) is what that tier
saves.  This module builds the *honest* alternative with the same protocol
code, so that the two are compared like for like:

* the same population, the same sites and monitors, the same keys and the
  same evidence (the same :class:`~vigilnet.sim.SeedTree` streams as the
  hierarchy, so every monitor body is the same as there);
* every monitor signs its SHAP report (:func:`shap.monitor_report`) once
  and sends report and body, as the same wire bytes, to **every** hub;
* every hub is a SHAP aggregator of the first tier (``Tier.REGIONAL``: the
  tier that sees all replicas of an agent) whose children are **all** the
  monitors: admission (SHAP rule 1), replica median, the Merkle-sum
  commitment over the whole population (rules 3 and 4), and one signed
  receipt per monitor (rule 5), which the monitor checks (rule 6): each
  monitor therefore checks one receipt per hub;
* its commitment root and totals are its SDBC epoch summary, in the layout
  of the hierarchy (:func:`~vigilnet.sim._deployment.root_words`), and the
  hubs run :func:`sdbc.step` unchanged over the hub-to-hub links;
* the same deadlines: a hub closes when every monitor's report is in, or at
  ``hub_close_ms``; SDBC starts at ``consensus_start_ms``.

The fan-in bound (``max_aggregation_ratio``) is the number of monitors:
a flat hub must register them all, and a receipt lists every input leaf
(rule 6), so a receipt grows with the population.  That is the protocol as
it is, not a cost added here.

Links: monitor-to-hub is one link whose delay is the two hops it replaces
(``monitor_regional`` then ``regional_hub``: base delays added, jitter
means added, loss ``1 - (1 - a)(1 - b)``, duplication as the second
hop's); hub-to-hub is the scenario's ``hub_hub``.

Measurement is the hierarchy's (:class:`~vigilnet.sim._deployment._Meter`):
messages and bytes per link, signature verifications per tier (libsodium's
verify binding wrapped for the run), CPU time per tier; and the latest
simulated time, per epoch, of each step (reports in, commit, receipts
checked, decision).

Only honest scenarios are built: faults, partitions, the timing attack and
key rotation are refused (:class:`ScenarioError`), because the baseline
answers a question about cost, not about attacks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, cast

from vigilnet.crypto import SigningKey, VerifyKey
from vigilnet.errors import LocalProtocolError, RemoteProtocolError
from vigilnet.evidence import DEFAULT_BEHAVIOUR_MODEL
from vigilnet.protocols import sdbc, shap
from vigilnet.sim._agents import Population
from vigilnet.sim._deployment import (
    HUB_BASE,
    ROOT_WORDS,
    Deadlines,
    _Meter,
    root_words,
    words_root,
)
from vigilnet.sim._engine import Host, Simulator
from vigilnet.sim._network import LinkProfile, Network
from vigilnet.sim._scenario import Faults, Scenario, ScenarioError
from vigilnet.sim._seeds import SeedTree

__all__ = ["FlatCounts", "FlatRun", "flat_counts", "hierarchy_counts", "run_flat"]

_WORD = 1 << 32


@dataclass(frozen=True, slots=True, kw_only=True)
class FlatCounts:
    """Per-epoch counts of an honest run that follow from the topology
    alone (no loss, no duplication, every report admitted): messages per
    link and signature verifications per tier, SDBC's excepted (its
    messages depend on rounds and timing; both variants run the same
    SDBC)."""

    messages: dict[str, int]
    verifications: dict[str, int]


def _shape(scenario: Scenario) -> tuple[int, int, int]:
    topo = scenario.topology
    return topo.sites * topo.replicas, topo.regionals, topo.hubs


def flat_counts(scenario: Scenario) -> FlatCounts:
    """The flat baseline's per-epoch counts: ``M`` monitors, ``H`` hubs.

    * ``monitor->hub``: ``M * H`` reports (each with its body);
    * ``hub->monitor``: ``M * H`` receipts;
    * verifications at the hubs: ``M * H`` (each report's signature);
    * at the monitors: ``2 * M * H`` (each receipt's signature and the
      hub's report signature inside it)."""
    m, _, h = _shape(scenario)
    return FlatCounts(
        messages={"monitor->hub": m * h, "hub->monitor": m * h},
        verifications={"monitor": 2 * m * h, "hub": m * h},
    )


def hierarchy_counts(scenario: Scenario) -> FlatCounts:
    """The hierarchy's per-epoch counts: ``M`` monitors, ``R`` regionals.

    * ``monitor->regional`` and ``regional->monitor``: ``M`` each;
    * ``regional->hub`` and ``hub->regional``: ``R`` each;
    * verifications: monitors ``2 * M``, regionals ``M + 2 * R`` (their
      monitors' reports, their hub receipts), hubs ``R``."""
    m, r, _ = _shape(scenario)
    return FlatCounts(
        messages={
            "monitor->regional": m,
            "regional->monitor": m,
            "regional->hub": r,
            "hub->regional": r,
        },
        verifications={"monitor": 2 * m, "regional": m + 2 * r, "hub": r},
    )


@dataclass(slots=True)
class _Flat:
    """One flat run's shared setup and what it measured."""

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
    behaviour_cache: dict[tuple[int, int], tuple[Any, Any]] = field(default_factory=dict)
    hub_roots: dict[tuple[int, int], tuple[bytes, tuple[int, int, int]]] = field(
        default_factory=dict
    )
    decisions: dict[tuple[int, int], sdbc.Decide] = field(default_factory=dict)
    times: dict[tuple[int, str], int] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def epoch_us(self) -> int:
        return self.scenario.epoch_ms * 1_000

    def key(self, node_id: int) -> SigningKey:
        """The same key as the hierarchy's node ``node_id`` (same stream)."""
        k = self.keys.get(node_id)
        if k is None:
            k = SigningKey(self.seeds.random_bytes(32, "key", node_id))
            self.keys[node_id] = k
        return k

    def mark(self, epoch: int, what: str, now_us: int) -> None:
        offset = now_us - (epoch - 1) * self.epoch_us
        if offset > self.times.get((epoch, what), -1):
            self.times[(epoch, what)] = offset

    def site_behaviour(self, epoch: int, site: int) -> tuple[Any, Any]:
        """The site's evidence for ``epoch``, drawn as the hierarchy draws it."""
        cached = self.behaviour_cache.get((epoch, site))
        if cached is None:
            agents = self.site_agents[site]
            rows, _bad = self.population.behaviour(epoch, agents[0], agents[-1] + 1)
            cached = self.population.model.evidence(rows)
            self.behaviour_cache[(epoch, site)] = cached
            for stale in [k for k in self.behaviour_cache if k[0] < epoch]:
                del self.behaviour_cache[stale]
        return cached


@dataclass(slots=True)
class _FlatMonitor:
    f: _Flat
    node_id: int
    site: int
    epoch: int = 0
    #: hub index -> the check of that hub's receipt
    children: dict[int, shap.ChildState] = field(default_factory=dict)

    def start(self, host: Host) -> None:
        host.set_timer(0, ("epoch", 1))

    def on_timer(self, host: Host, token: Hashable) -> None:
        f = self.f
        f.meter.tier = "monitor"
        kind, epoch = cast(tuple[str, int], token)
        if kind == "epoch":
            self.epoch = epoch
            counts, llrs = f.site_behaviour(epoch, self.site)
            body = shap.MonitorBody(
                agent_ids=f.site_agents[self.site],
                counts=tuple(counts.tolist()),
                llr_sums=tuple(llrs.tolist()),
            )
            report = shap.monitor_report(
                signing_key=f.key(self.node_id),
                node_id=self.node_id,
                epoch=epoch,
                config=f.shap_config,
                body=body,
            )
            payload = shap.encode_message(shap.ReceiveReport(report=report, body=body))
            self.children = {}
            for h in range(f.scenario.topology.hubs):
                parent = f.key(HUB_BASE + h).verify_key
                self.children[h] = shap.ChildState(own=report, parent_key=parent)
                f.meter.send(host, "monitor->hub", f"hub-{h}", payload)
            host.set_timer(f.deadlines.receipt_timeout_ms * 1_000, ("receipt", epoch))
            if epoch < f.scenario.epochs:
                host.set_timer(f.epoch_us, ("epoch", epoch + 1))
        elif kind == "receipt" and epoch == self.epoch:
            for h, child in sorted(self.children.items()):
                if child.phase is shap.ChildPhase.AWAITING:
                    self.children[h], outs = shap.child_step(child, shap.ReceiptTimeout())
                    self._outputs(host, outs)

    def on_message(self, host: Host, src: str, payload: bytes) -> None:
        f = self.f
        f.meter.tier = "monitor"
        try:
            message = shap.decode_message(payload, f.shap_config, f.shap_limits)
        except RemoteProtocolError:
            f.meter.refused["monitor"] += 1
            return
        h = int(src.removeprefix("hub-")) if src.startswith("hub-") else -1
        child = self.children.get(h)
        if (
            not isinstance(message, shap.Receipt)
            or child is None
            or child.phase is not shap.ChildPhase.AWAITING
        ):
            f.meter.refused["monitor"] += 1
            return
        self.children[h], outs = shap.child_step(child, shap.ReceiveReceipt(receipt=message))
        self._outputs(host, outs)

    def _outputs(self, host: Host, outputs: tuple[shap.Output, ...]) -> None:
        for out in outputs:
            if isinstance(out, shap.Confirmed):
                self.f.counts["monitor_receipts_confirmed"] += 1
                self.f.mark(self.epoch, "monitor_receipts", host.now_us())
            elif isinstance(out, shap.Alarm):
                self.f.counts["monitor_alarms"] += 1
            elif isinstance(out, shap.Rejected):
                self.f.counts["monitor_receipts_refused"] += 1


@dataclass(slots=True)
class _FlatHub:
    """A SHAP aggregator over every monitor, and its SDBC node."""

    f: _Flat
    setup: shap.AggregatorSetup
    index: int
    state: shap.AggregatorState | None = None
    hub: sdbc.NodeState | None = None

    def start(self, host: Host) -> None:
        f = self.f
        self.state = shap.initial_state(self.setup, 1)
        self.hub = sdbc.initial_state(f.hub_keys[self.index], self.index, f.hub_config)
        self._schedule(host, 1)

    def _schedule(self, host: Host, epoch: int) -> None:
        f = self.f
        host.set_timer(f.deadlines.hub_close_ms * 1_000, ("close", epoch))
        host.set_timer(f.deadlines.consensus_start_ms * 1_000, ("consensus", epoch))
        if epoch < f.scenario.epochs:
            host.set_timer(f.epoch_us, ("epoch", epoch + 1))

    def on_timer(self, host: Host, token: Hashable) -> None:
        f = self.f
        f.meter.tier = "hub"
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
        elif kind == "consensus":
            (epoch,) = rest
            f.meter.tier = "consensus"
            found = f.hub_roots.get((epoch, self.index))
            if found is None:
                f.counts["consensus_not_started"] += 1
                return
            root, totals = found
            f.counts["consensus_started"] += 1
            self._sdbc(host, sdbc.Start(epoch=epoch, summary=(*totals, *root_words(root))))
        elif kind == "sdbc":
            f.meter.tier = "consensus"
            epoch, rnd, step_name = rest
            self._sdbc(host, sdbc.Timeout(epoch=epoch, round=rnd, step=step_name))

    def on_message(self, host: Host, src: str, payload: bytes) -> None:
        f = self.f
        if src.startswith("hub-"):
            f.meter.tier = "consensus"
            try:
                message = sdbc.decode_message(payload, f.hub_config)
            except RemoteProtocolError:
                f.meter.refused["consensus"] += 1
                return
            self._sdbc(host, sdbc.Receive(message=message))
            return
        f.meter.tier = "hub"
        assert self.state is not None
        try:
            report = shap.decode_message(payload, f.shap_config, f.shap_limits)
        except RemoteProtocolError:
            f.meter.refused["hub"] += 1
            return
        if not isinstance(report, shap.ReceiveReport):
            f.meter.refused["hub"] += 1
            return
        self.state, outs = shap.step(self.setup, self.state, report)
        if any(isinstance(o, shap.Rejected) for o in outs):
            f.meter.refused["hub"] += 1
            return
        f.mark(self.state.epoch, "hub_reports_in", host.now_us())
        if len(self.state.accepted) == len(self.setup.children):
            self._close(host)

    def _close(self, host: Host) -> None:
        f = self.f
        assert self.state is not None
        epoch = self.state.epoch
        self.state, outs = shap.step(self.setup, self.state, shap.CloseEpoch())
        f.mark(epoch, "hub_commit", host.now_us())
        for out in outs:
            if isinstance(out, shap.Committed):
                c = out.commitment
                f.hub_roots[(epoch, self.index)] = (c.root, c.totals)
            elif isinstance(out, shap.SendReceipt):
                payload = shap.encode_message(out.receipt)
                f.meter.send(host, "hub->monitor", f"monitor-{out.child}", payload)
            # SendReport: a flat hub has no parent; its signed report travels
            # inside every receipt.

    def _sdbc(self, host: Host, event: sdbc.Input) -> None:
        f = self.f
        assert self.hub is not None
        try:
            self.hub, outputs = sdbc.step(self.hub, event)
        except RemoteProtocolError:
            f.meter.refused["consensus"] += 1
            return
        for out in outputs:
            if isinstance(out, sdbc.Broadcast):
                payload = sdbc.encode_message(out.message)
                for h in range(f.scenario.topology.hubs):
                    if h != self.index:
                        f.meter.send(host, "hub->hub", f"hub-{h}", payload)
            elif isinstance(out, sdbc.SetTimer):
                host.set_timer(out.duration_ms * 1_000, ("sdbc", out.epoch, out.round, out.step))
            elif isinstance(out, sdbc.Decide):
                f.decisions[(out.epoch, self.index)] = out
                start = f.deadlines.consensus_start_ms * 1_000
                f.mark(out.epoch, "consensus_decided", host.now_us() - start)
            elif isinstance(out, sdbc.ReportEvidence):
                f.counts["equivocation_evidence"] += 1


@dataclass(frozen=True, slots=True, kw_only=True)
class FlatRun:
    """What one flat run measured."""

    scenario: Scenario
    meter: _Meter
    #: per (epoch, step): latest simulated time (us since the epoch's start)
    times: dict[tuple[int, str], int]
    #: per (epoch, hub): the decision
    decisions: dict[tuple[int, int], sdbc.Decide]
    #: per (epoch, hub): the hub's SHAP root and totals
    hub_roots: dict[tuple[int, int], tuple[bytes, tuple[int, int, int]]]
    counts: Counter[str]
    network: dict[str, int]

    def bound_roots(self, epoch: int, hub: int) -> dict[int, bytes]:
        """The roots that hub ``hub``'s decision of ``epoch`` binds, by signer."""
        value = self.decisions[(epoch, hub)].value
        return {s.hub: words_root(s.values[3:]) for s in value.summaries}


def _direct(first: LinkProfile, second: LinkProfile) -> LinkProfile:
    """One link with the two hops' delays (added) and losses (compounded)."""
    loss = 1 - (1 - first.loss) * (1 - second.loss)
    return LinkProfile(
        base_us=first.base_us + second.base_us,
        jitter_us=first.jitter_us + second.jitter_us,
        loss=Fraction(loss),
        duplicate=second.duplicate,
    )


def _refuse_faults(scenario: Scenario) -> None:
    if scenario.faults != Faults():
        raise ScenarioError("the flat baseline runs honest scenarios only: [faults] is set")
    if scenario.partitions:
        raise ScenarioError("the flat baseline runs honest scenarios only: [[partition]] is set")
    if scenario.timing_attack.enabled:
        raise ScenarioError("the flat baseline runs honest scenarios only: [timing_attack]")
    if scenario.key_rotation.enabled:
        raise ScenarioError("the flat baseline runs honest scenarios only: [key_rotation]")


def _build(scenario: Scenario, deadlines: Deadlines) -> tuple[_Flat, Simulator]:
    topo = scenario.topology
    if topo.agents < 1:
        raise ScenarioError(f"topology.agents must be >= 1, got {topo.agents}")
    _refuse_faults(scenario)
    seeds = SeedTree(scenario.seed)
    population = Population.create(seeds, topo.agents, scenario.agents, DEFAULT_BEHAVIOUR_MODEL)
    monitors = topo.sites * topo.replicas
    try:
        shap_config = shap.ShapConfig(
            max_aggregation_ratio=monitors,
            replicas=topo.replicas,
            max_agents=topo.agents_per_site,
        )
        hub_seeds = [seeds.random_bytes(32, "key", "sdbc", h) for h in range(topo.hubs)]
        bound = (1 << 63) // max(topo.hubs, 1) - 1
        ranges = ((-bound, bound),) * 3 + ((0, _WORD - 1),) * ROOT_WORDS
        hub_config, hub_keys = sdbc.make_config(hub_seeds, summary_ranges=ranges)
    except LocalProtocolError as exc:
        raise ScenarioError(f"topology: {exc}") from None
    f = _Flat(
        scenario=scenario,
        seeds=seeds,
        population=population,
        shap_config=shap_config,
        shap_limits=shap.wire_limits(shap_config),
        hub_config=hub_config,
        hub_keys=hub_keys,
        deadlines=deadlines,
        meter=_Meter(),
    )
    links = {
        name: LinkProfile(
            base_us=link.base_ms * 1_000,
            jitter_us=link.jitter_ms * 1_000,
            loss=link.loss,
            duplicate=link.duplicate,
        )
        for name, link in scenario.network.links.items()
    }
    network = Network(seeds)
    network.set_profile("monitor", "hub", _direct(links["monitor_regional"], links["regional_hub"]))
    network.set_profile("hub", "hub", links["hub_hub"])
    sim = Simulator(seeds, network)
    children: dict[int, VerifyKey] = {}
    placement: dict[int, tuple[int, ...]] = {}
    for site in range(topo.sites):
        first = site * topo.agents_per_site
        stop = min(first + topo.agents_per_site, topo.agents)
        f.site_agents[site] = tuple(range(first, stop))
        for j in range(topo.replicas):
            m = site * topo.replicas + j
            children[m] = f.key(m).verify_key
            placement[m] = f.site_agents[site]
            sim.add(f"monitor-{m}", _FlatMonitor(f, m, site), "monitor")
    for h in range(topo.hubs):
        node_id = HUB_BASE + h
        setup = shap.AggregatorSetup(
            node_id=node_id,
            tier=shap.Tier.REGIONAL,
            config=shap_config,
            signing_key=f.key(node_id),
            children=children,
            placement=placement,
        )
        sim.add(f"hub-{h}", _FlatHub(f, setup, h), "hub")
    return f, sim


def run_flat(scenario: Scenario, deadlines: Deadlines | None = None) -> FlatRun:
    """Run the flat baseline of ``scenario`` (honest only) for its epochs."""
    f, sim = _build(scenario, deadlines or Deadlines())
    with f.meter.counting():
        sim.start()
        for epoch in range(1, scenario.epochs + 1):
            sim.run(epoch * f.epoch_us - 1)
    f.meter.tier = "done"
    return FlatRun(
        scenario=scenario,
        meter=f.meter,
        times=dict(f.times),
        decisions=dict(f.decisions),
        hub_roots=dict(f.hub_roots),
        counts=f.counts,
        network=dict(sim.network.snapshot()),
    )
