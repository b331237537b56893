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

Catch-up (:class:`CatchUp`, the hub driver's gossip; the protocol is
unchanged): a message lost on a cut link is never retransmitted by SDBC,
and a decided hub stops voting, so a hub that missed an epoch's decisive
messages would stay in that epoch for good (SDBC rule 1 starts the next
epoch only from DECIDED).  So a decided hub answers a peer that evidently
lags with the original signed messages of its decision (``q`` precommits
and the proposal: SDBC rule 3f lets the peer decide on them, in any
round), and a hub still undecided in an epoch its peers have left
re-sends its own signed messages of that epoch (which a decided peer
answers and an undecided one admits).  A hub that decides an old epoch
this way starts the next epochs whose consensus start has passed at once,
with its own summaries, and is answered the same way until it is back in
the live epoch.  Every catch-up message is an ordinary ``Receive`` of a
real signed message through :func:`sdbc.step`, so the recorded trace is
judged like any other (:mod:`vigilnet.sim._trace`); they are metered as
``hub->hub`` messages and counted in ``counts["catchup_messages"]``.

Verdicts: the agents' combined per-epoch entries are read from the
regionals' own commitments (what they signed), summed exactly per agent
(``L_a = sum``, prior log-odds 0) and judged by Wald's SPRT with the
scenario's ``alpha`` and ``beta`` (:class:`~vigilnet.evidence.SprtThresholds`)
after every epoch; a FLAGGED verdict is final, CLEARED and UNDECIDED may
change while evidence keeps arriving.

Faults (``[faults]``, ``[[partition]]``; :mod:`vigilnet.sim._faults`):
Byzantine hubs, monitors and regionals are adversary drivers that send
hostile wire bytes and messages signed with their own keys; the honest
drivers below record what the honest protocols refuse or report with proof
(equivocation evidence, a refused signed message, a receipt check that
failed on a receipt the parent signed) as a *detection* of the signer.
Self-healing: after an epoch in which a regional was caught with proof, its
monitors report to a standby regional of the same hub from the next epoch
(``standby_regionals`` per hub, registered only when needed) and the hub no
longer registers the convicted regional.  A partition cuts a hub and its
whole subtree off from the rest at ``start_epoch`` and heals at
``heal_epoch`` (toggling every ``flap_every`` epochs in between).

Counting (the judge): an epoch's entries of regional ``g`` count towards the
verdicts only if ``g``'s hub admitted ``g``'s report in that epoch and ``g``
was not caught with proof by the epoch's end.  The invariant monitors
(:mod:`vigilnet.sim._invariants`) run after every epoch.

Measurement: messages and bytes are counted by the drivers per link tier;
signature verifications are counted by wrapping libsodium's verify binding
(``nacl.bindings.crypto_sign_open``, the one verify entry point) for the
length of the run and attributing each call to the tier of the node whose
input is being processed.  Nothing here changes what a protocol does.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final, cast

import nacl.bindings
import numpy as np
import numpy.typing as npt

from vigilnet import kernels
from vigilnet.crypto import SigningKey, VerifyKey
from vigilnet.errors import LocalProtocolError, RemoteProtocolError
from vigilnet.evidence import DEFAULT_BEHAVIOUR_MODEL, SprtThresholds, Verdict
from vigilnet.protocols import sdbc, shap
from vigilnet.sim._agents import Population
from vigilnet.sim._engine import Host, Observation, Simulator
from vigilnet.sim._network import LinkProfile, Network
from vigilnet.sim._scenario import HubFault, Partition, Scenario, ScenarioError
from vigilnet.sim._seeds import SeedTree

if TYPE_CHECKING:
    from vigilnet.sim._keys import KeyPlan

__all__ = [
    "CATCHUP_INTERVAL_US",
    "HUB_BASE",
    "REGIONAL_BASE",
    "ROOT_WORDS",
    "CatchUp",
    "Deadlines",
    "Deployment",
    "Detection",
    "Incident",
    "RunResult",
    "root_words",
    "run_deployment",
    "words_root",
]

_REGIONAL_BASE = 1 << 40
_HUB_BASE = 1 << 41
#: SHAP node ids: monitor ``m`` is ``m``, regional ``g`` is ``REGIONAL_BASE + g``,
#: hub ``h`` is ``HUB_BASE + h``
REGIONAL_BASE = _REGIONAL_BASE
HUB_BASE = _HUB_BASE
#: the reason of a child's alarm that carries no proof (silence)
SILENCE = "no receipt by the deadline"
_WORD = 1 << 32
#: a hub sends catch-up (answers or probes) at most once per peer and epoch
#: in this much simulated time
CATCHUP_INTERVAL_US = 1_000_000
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


#: The security primitives whose CPU time :meth:`_Meter.counting` measures:
#: Ed25519 signing and verification (libsodium) and SHA-256 (hashlib, and
#: the Merkle trees' batched row kernel).
PRIMITIVES: Final = ("ed25519_sign", "ed25519_verify", "sha256")


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityCost:
    """CPU time of one run in its security primitives, beside its total.

    ``share`` is the primitives' CPU over the run's: what signing, checking
    signatures and hashing the commitments cost, as a share of everything
    the run computed (the evidence, the protocols' state machines, the
    encoding and the simulator's engine included).  It is a lower bound on
    the security overhead: the checks around the primitives (bounds, proof
    walks, the receipts' comparisons) are not in it."""

    total_ns: int
    primitive_ns: dict[str, int]
    primitive_calls: dict[str, int]
    monitor_ns: int
    evidence_points: int

    @property
    def share(self) -> Fraction | None:
        spent = sum(self.primitive_ns.values())
        return Fraction(spent, self.total_ns) if self.total_ns else None

    @property
    def verifications_per_second(self) -> Fraction | None:
        """Signature verifications per CPU second spent verifying: what one
        core sustains (a node is one core here)."""
        ns = self.primitive_ns.get("ed25519_verify", 0)
        calls = self.primitive_calls.get("ed25519_verify", 0)
        return Fraction(calls * 10**9, ns) if ns else None

    @property
    def evidence_points_per_second(self) -> Fraction | None:
        """Evidence terms the monitors committed per CPU second of the
        monitor tier (drawing behaviour, LLRs, bounds, entries trees,
        signing, encoding: a monitor's whole epoch, on one core)."""
        if not self.monitor_ns:
            return None
        return Fraction(self.evidence_points * 10**9, self.monitor_ns)


@dataclass(slots=True)
class _Meter:
    """Who is stepping now, and what it cost.

    ``cpu_ns`` is the process CPU time spent per tier: each switch of
    ``tier`` charges the time since the last switch to the tier that was
    running.  The engine's own work between two events is charged to the
    tier of the event before it.  CPU time differs from run to run, so it
    is never in the JSON report (the terminal table and the HTML page show
    it)."""

    _tier: str = "setup"
    _since_ns: int = field(default_factory=time.process_time_ns)
    cpu_ns: Counter[str] = field(default_factory=Counter)
    verifications: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    message_bytes: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    #: CPU ns and calls inside each security primitive (:meth:`counting`)
    primitive_ns: Counter[str] = field(default_factory=Counter)
    primitive_calls: Counter[str] = field(default_factory=Counter)
    #: evidence terms in the bodies the monitors committed and signed
    evidence_points: int = 0

    @property
    def tier(self) -> str:
        return self._tier

    @tier.setter
    def tier(self, value: str) -> None:
        now = time.process_time_ns()
        self.cpu_ns[self._tier] += now - self._since_ns
        self._since_ns, self._tier = now, value

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds per tier so far (the running tier included)."""
        self.tier = self._tier
        return {t: ns / 1e9 for t, ns in sorted(self.cpu_ns.items(), key=lambda x: -x[1])}

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Count signature verifications per tier, and time the security
        primitives (:data:`PRIMITIVES`) into :attr:`primitive_ns`, while
        the run is inside this block."""
        verify: Callable[..., bytes] = nacl.bindings.crypto_sign_open

        def counted(signed: bytes, pk: bytes) -> bytes:
            self.verifications[self.tier] += 1
            return verify(signed, pk)

        originals: list[tuple[Any, str, str, Callable[..., Any]]] = [
            (nacl.bindings, "crypto_sign_open", "ed25519_verify", counted),
            (nacl.bindings, "crypto_sign", "ed25519_sign", nacl.bindings.crypto_sign),
            (hashlib, "sha256", "sha256", hashlib.sha256),
            (kernels, "sha256_rows", "sha256", kernels.sha256_rows),
        ]
        depth = [0]

        def timed(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                if depth[0]:  # a primitive inside another: timed by the outer one
                    return call(*args, **kwargs)
                depth[0] += 1
                start = time.process_time_ns()
                try:
                    return call(*args, **kwargs)
                finally:
                    self.primitive_ns[name] += time.process_time_ns() - start
                    self.primitive_calls[name] += 1
                    depth[0] -= 1

            return wrapper

        saved = [(module, attr, getattr(module, attr)) for module, attr, _, _ in originals]
        for module, attr, name, call in originals:
            setattr(module, attr, timed(name, call))
        try:
            yield
        finally:
            for module, attr, value in saved:
                setattr(module, attr, value)

    def security_cost(self) -> SecurityCost:
        """The run's CPU time in the security primitives, and the figures
        derived from it (machine-dependent: never in the JSON)."""
        self.tier = self._tier
        return SecurityCost(
            total_ns=sum(self.cpu_ns.values()),
            primitive_ns=dict(self.primitive_ns),
            primitive_calls=dict(self.primitive_calls),
            monitor_ns=self.cpu_ns["monitor"],
            evidence_points=self.evidence_points,
        )

    def send(self, host: Host, link: str, dst: str, payload: bytes) -> None:
        self.messages[link] += 1
        self.message_bytes[link] += len(payload)
        host.send(dst, payload)


# --------------------------------------------------------------------------
# What the honest nodes found out


@dataclass(frozen=True, slots=True, kw_only=True)
class Detection:
    """The first time an honest node held proof (or, for ``proof=False``,
    a deadline alarm) against ``node``: simulated microseconds since the
    run's start, the epoch, what the evidence was, and who found it."""

    node: str
    time_us: int
    epoch: int
    kind: str
    by: str
    proof: bool


@dataclass(slots=True)
class Incident:
    """A regional caught with proof, and the healing that followed."""

    regional: int
    standby: int | None
    first_attack_us: int | None
    detected_us: int
    detected_epoch: int
    #: when the hub first admitted the standby's report (simulated us)
    healed_us: int | None = None
    agents: tuple[int, ...] = ()
    unmonitored: set[int] = field(default_factory=set)
    agent_epochs_unmonitored: int = 0
    open: bool = True


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
    #: epochs with a decision made after the epoch's end (catch-up); the
    #: invariant monitors check them again
    late_decisions: set[int] = field(default_factory=set)
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
    # -- faults, detection and healing (sim/_faults.py, sim/_invariants.py)
    #: Byzantine node name -> its attack
    byzantine: dict[str, str] = field(default_factory=dict)
    #: first proof (or deadline alarm) held by an honest node, per accused node
    detections: dict[str, Detection] = field(default_factory=dict)
    suspicions: dict[str, Detection] = field(default_factory=dict)
    #: (Byzantine node, epoch) -> did that epoch's attack succeed
    attempts: dict[tuple[str, int], bool] = field(default_factory=dict)
    #: Byzantine node -> simulated time of its first hostile message
    first_attack_us: dict[str, int] = field(default_factory=dict)
    #: (epoch, child name, parent name, reason, with proof) of every alarm
    alarms: list[tuple[int, str, str, str, bool]] = field(default_factory=list)
    #: per (epoch, aggregator index): the child node ids its commitment counts
    hub_inputs: dict[tuple[int, int], tuple[int, ...]] = field(default_factory=dict)
    regional_inputs: dict[tuple[int, int], tuple[int, ...]] = field(default_factory=dict)
    #: regionals no longer registered at their hub (convicted with proof)
    convicted: set[int] = field(default_factory=set)
    #: hub -> its standby regional indices not used yet
    standby_free: dict[int, list[int]] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)
    #: partition name -> the epochs at whose start the cut toggles
    partition_epochs: dict[str, list[int]] = field(default_factory=dict)
    #: epoch -> the hubs crashed or slowed during part of it (``[[hub_fault]]``)
    hub_fault_epochs: dict[int, set[int]] = field(default_factory=dict)
    #: per (epoch, hub): simulated time (us since the run's start) of its decision
    decided_at: dict[tuple[int, int], int] = field(default_factory=dict)
    #: the key registry and its events (the key-rotation scenario), or None
    keyplan: KeyPlan | None = None

    def hub_config_at(self, epoch: int) -> sdbc.HubConfig:
        """The hubs' configuration of ``epoch``: its member keys are those
        the key registry says are valid then (the key-rotation scenario)."""
        if self.keyplan is None:
            return self.hub_config
        return self.keyplan.config(self.hub_config, epoch)

    @property
    def epoch_us(self) -> int:
        return self.scenario.epoch_ms * 1_000

    def key(self, node_id: int, epoch: int | None = None) -> SigningKey:
        """Node ``node_id``'s SHAP signing key (for ``epoch``: in the
        key-rotation scenario, the one the key registry says is valid then)."""
        if epoch is not None and self.keyplan is not None:
            return self.keyplan.shap_signing_key(node_id, epoch)
        k = self.keys.get(node_id)
        if k is None:
            k = SigningKey(self.seeds.random_bytes(32, "key", node_id))
            self.keys[node_id] = k
        return k

    def verify_key(self, node_id: int, epoch: int) -> VerifyKey:
        """The key that verifies ``node_id``'s SHAP messages of ``epoch``:
        through the key registry when keys rotate."""
        if self.keyplan is not None:
            return self.keyplan.shap_verify_key(node_id, epoch)
        return self.key(node_id).verify_key

    def epoch_setup(self, setup: shap.AggregatorSetup, epoch: int) -> shap.AggregatorSetup:
        """``setup`` with the keys of ``epoch`` (its own and its children's),
        when keys rotate; unchanged otherwise."""
        if self.keyplan is None:
            return setup
        return replace(
            setup,
            signing_key=self.key(setup.node_id, epoch),
            children={c: self.verify_key(c, epoch) for c in sorted(setup.children)},
        )

    def honest(self, name: str) -> bool:
        return name not in self.byzantine

    def detect(self, node: str, kind: str, by: str, now_us: int, *, proof: bool = True) -> None:
        """An honest node ``by`` holds evidence against ``node`` (the first
        one per node is kept)."""
        if not self.honest(by):
            return
        book = self.detections if proof else self.suspicions
        if node not in book:
            epoch = now_us // self.epoch_us + 1
            book[node] = Detection(
                node=node, time_us=now_us, epoch=epoch, kind=kind, by=by, proof=proof
            )

    def attacked(self, node: str, epoch: int, now_us: int) -> None:
        """``node`` (Byzantine) sent something hostile in ``epoch``."""
        self.attempts.setdefault((node, epoch), False)
        self.first_attack_us.setdefault(node, now_us)

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
# SDBC catch-up


_RUNNING = (sdbc.Step.PROPOSE, sdbc.Step.PREVOTE, sdbc.Step.PRECOMMIT)


@dataclass(slots=True)
class CatchUp:
    """What one hub re-sends so that a peer that missed an epoch's decisive
    messages decides it by SDBC's own rule 3f (a proposal and ``q``
    precommits of one round) through ordinary ``Receive`` inputs of the
    original signed messages.  Sans-I/O: it says what to send to whom; the
    driver sends it.

    * :meth:`decided` keeps a decision's certificate messages: its ``q``
      precommits, then the proposal they precommit (in that order, so that
      the proposal arrives backed by votes: SDBC rule 2's proposal cap);
    * :meth:`answer`: a message of an epoch this hub has decided, from a
      peer that evidently lags (it is still in an epoch this hub left, or
      in a later round than the decision's, or it sends its summary after
      the decision), is answered with those messages.  A precommit for the
      decided value and a proposal of it are never answered: they are what
      catch-up itself carries, so two decided hubs never answer each other;
    * :meth:`probe`: a hub still undecided in an epoch that a peer has left
      (a later epoch's message from it arrives, or this hub's own next
      consensus start comes) re-sends that peer its own signed messages of
      the epoch (summary, proposals, votes), which a decided peer answers
      and an undecided one admits (a retransmission);
    * each at most once per (peer, epoch) in ``interval_us``.

    Certificates are kept for every decided epoch of the run (a few
    kilobytes each); a long-running node would keep a window."""

    interval_us: int = CATCHUP_INTERVAL_US
    #: epoch -> (decision round, value hash, the certificate's messages)
    certificates: dict[int, tuple[int, bytes, tuple[sdbc.Message, ...]]] = field(
        default_factory=dict
    )
    #: (what, peer, epoch) -> simulated time of the last send
    sent: dict[tuple[str, int, int], int] = field(default_factory=dict)

    def decided(self, node: sdbc.NodeState, decision: sdbc.Decide) -> None:
        cert = decision.certificate
        proposal = min(
            (
                p
                for p in node.proposals
                if p.round == cert.round and p.value.value_hash == cert.value_hash
            ),
            key=lambda p: (p.valid_round, p.signature),
        )
        messages: tuple[sdbc.Message, ...] = (*cert.precommits, proposal)
        self.certificates[decision.epoch] = (cert.round, cert.value_hash, messages)

    def answer(
        self, node: sdbc.NodeState, message: sdbc.Message, peer: int, now_us: int
    ) -> tuple[sdbc.Message, ...]:
        held = self.certificates.get(message.epoch)
        if held is None:
            return ()
        decision_round, value_hash, messages = held
        if isinstance(message, sdbc.Proposal):
            if message.value.value_hash == value_hash:
                return ()
        elif isinstance(message, sdbc.Vote):
            if message.kind == sdbc.PRECOMMIT and message.value_hash == value_hash:
                return ()
            if message.epoch == node.epoch and message.round <= decision_round:
                return ()  # an ordinary late vote of the deciding round
        if not self._due("answer", peer, message.epoch, now_us):
            return ()
        return messages

    def probe(self, node: sdbc.NodeState, peer: int, now_us: int) -> tuple[sdbc.Message, ...]:
        if node.step not in _RUNNING or not self._due("probe", peer, node.epoch, now_us):
            return ()
        summaries = [x for x in node.summaries if x.hub == node.hub]
        proposals = sorted((p for p in node.proposals if p.hub == node.hub), key=lambda p: p.round)
        votes = sorted(
            (v for v in node.votes if v.hub == node.hub),
            key=lambda v: (v.round, v.kind != sdbc.PREVOTE),
        )
        return (*summaries, *proposals, *votes)

    def _due(self, what: str, peer: int, epoch: int, now_us: int) -> bool:
        last = self.sent.get((what, peer, epoch))
        if last is not None and now_us - last < self.interval_us:
            return False
        self.sent[(what, peer, epoch)] = now_us
        return True


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
            report, body = self._report(host, epoch)
            regional = d.monitor_regional[self.node_id]
            self.child = shap.ChildState(
                own=report, parent_key=d.verify_key(_REGIONAL_BASE + regional, epoch)
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
            _child_outputs(d, "monitor", epoch, host, outputs, self._parent())

    def _parent(self) -> str:
        return f"regional-{self.d.monitor_regional[self.node_id]}"

    def _body(self, epoch: int) -> shap.MonitorBody:
        counts, llrs = self.d.site_behaviour(epoch, self.site)
        self.d.meter.evidence_points += int(counts.sum())
        return shap.MonitorBody(
            agent_ids=self.d.site_agents[self.site],
            counts=tuple(counts.tolist()),
            llr_sums=tuple(llrs.tolist()),
        )

    def _report(self, host: Host, epoch: int) -> tuple[shap.Report, shap.MonitorBody]:
        """This epoch's signed report and body (a Byzantine monitor's differ)."""
        d = self.d
        body = self._body(epoch)
        report = shap.monitor_report(
            signing_key=d.key(self.node_id, epoch),
            node_id=self.node_id,
            epoch=epoch,
            config=d.shap_config,
            body=body,
        )
        return report, body

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
        _child_outputs(d, "monitor", self.epoch, host, outputs, self._parent())


def _child_outputs(
    d: Deployment,
    tier: str,
    epoch: int,
    host: Host,
    outputs: tuple[shap.Output, ...],
    parent: str,
) -> None:
    for out in outputs:
        if isinstance(out, shap.Confirmed):
            d.counts[f"{tier}_receipts_confirmed"] += 1
            d.mark(epoch, f"{tier}_receipts", host.now_us())
        elif isinstance(out, shap.Alarm):
            d.counts[f"{tier}_alarms"] += 1
            proof = out.reason != SILENCE
            d.alarms.append((epoch, host.name, parent, out.reason, proof))
            host.record("alarm", tier=tier, node=out.node_id, parent=parent, reason=out.reason)
            # A failed check of a receipt the parent signed is proof against
            # the parent (its signature covers what failed); silence is not.
            kind = "receipt_mismatch" if proof else "silence"
            d.detect(parent, kind, host.name, host.now_us(), proof=proof)
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
    catchup: CatchUp = field(default_factory=CatchUp)
    standby: bool = False

    def activate(self, host: Host, setup: shap.AggregatorSetup, epoch: int) -> None:
        """A standby regional takes ``setup``'s monitors from ``epoch`` on."""
        self.setup = setup
        self.standby = False
        start = (epoch - 1) * self.d.epoch_us
        host.set_timer(start - host.now_us(), ("activate", epoch))

    def start(self, host: Host) -> None:
        self.state = shap.initial_state(self.setup, 1)
        if self.standby:
            return  # idle until activated (self-healing)
        self._schedule(host, 1)
        if self.tier == "hub":
            d = self.d
            self.hub = sdbc.initial_state(d.hub_keys[self.index], self.index, d.hub_config)

    def resume(self, host: Host, epoch: int) -> None:
        """Restart at the start of ``epoch`` after a crash: what the node
        held in memory (the SHAP reports of the epoch it crashed in, its
        timers) is gone; its SDBC state is what it persisted (a hub writes
        every vote before sending it, ``vigilnet.runtime``), and the
        catch-up of the other hubs brings it the decisions it missed."""
        self.setup = self.d.epoch_setup(self.setup, epoch)
        self.state = shap.initial_state(self.setup, epoch)
        self._schedule(host, epoch)
        s = self.hub
        if s is not None and s.step is not sdbc.Step.DECIDED:
            # a restarted process re-arms the timeouts of the round it was in
            steps = ["propose"] if s.step is sdbc.Step.PROPOSE else []
            steps += [name for r, name in sorted(s.timers) if r == s.round]
            for name in steps:
                ms = sdbc.TIMEOUT_BASE[name] + s.round * sdbc.TIMEOUT_DELTA[name]
                host.set_timer(ms * 1_000, ("sdbc", s.epoch, s.round, name))

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
        if kind == "activate":
            (epoch,) = rest
            self.setup = d.epoch_setup(self.setup, epoch)
            self.state = shap.initial_state(self.setup, epoch)
            self._schedule(host, epoch)
        elif kind == "epoch":
            (epoch,) = rest
            if self.state.phase is not shap.Phase.CLOSED:
                self._close(host)
            self.setup = d.epoch_setup(self.setup, epoch)
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
                _child_outputs(d, self.tier, epoch, host, outs, self.parent or "")
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
            assert self.hub is not None
            peer = int(src.removeprefix("hub-"))
            before = self.hub
            self._resend(host, peer, self.catchup.answer(before, message, peer, host.now_us()))
            self._sdbc(host, sdbc.Receive(message=message))
            if message.epoch > before.epoch:
                # the peer has left our epoch: show it where we are
                self._resend(host, peer, self.catchup.probe(self.hub, peer, host.now_us()))
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
            rejected = [o for o in outs if isinstance(o, shap.Rejected)]
            if d.keyplan is not None:
                d.keyplan.observe_report(
                    message_any.report, rejected[0].reason.value if rejected else None
                )
            if rejected:
                d.meter.refused[self.tier] += 1
                for o in rejected:
                    if o.struck and o.sender is not None:
                        # The sender's own signature covers what was refused.
                        d.detect(_name(o.sender), "refused_signed_report", self.name, host.now_us())
                return
            if self.tier == "hub":
                _healed(d, message_any.report.node_id - _REGIONAL_BASE, host.now_us())
            d.mark(self.state.epoch, f"{self.tier}_reports_in", host.now_us())
            if len(self.state.accepted) == len(self.setup.children):
                self._close(host)
        elif isinstance(message_any, shap.Receipt) and self.child is not None:
            if self.child.phase is shap.ChildPhase.AWAITING:
                self.child, outs = shap.child_step(
                    self.child, shap.ReceiveReceipt(receipt=message_any)
                )
                _child_outputs(d, self.tier, self.child.own.epoch, host, outs, self.parent or "")
        else:
            d.meter.refused[self.tier] += 1

    def _close(self, host: Host) -> None:
        d = self.d
        assert self.state is not None
        epoch = self.state.epoch
        outs = self._close_outputs(host)
        d.mark(epoch, f"{self.tier}_commit", host.now_us())
        link_down = "regional->monitor" if self.tier == "regional" else "hub->regional"
        for out in outs:
            if isinstance(out, shap.Committed):
                c = out.commitment
                counted = tuple(child for child, _, _ in c.accepted)
                if self.tier == "regional":
                    assert c.combined is not None
                    d.combined[(epoch, self.index)] = c.combined
                    d.regional_inputs[(epoch, self.index)] = counted
                    if d.record_proofs:
                        d.regional_commitments[(epoch, self.index)] = c
                else:
                    d.hub_roots[(epoch, self.index)] = (c.root, c.totals)
                    d.hub_inputs[(epoch, self.index)] = counted
                    d.hub_commitments[(epoch, self.index)] = c
            elif isinstance(out, shap.SendReport) and self.parent is not None:
                parent_id = _HUB_BASE + d.regional_hub[self.index]
                self.child = shap.ChildState(
                    own=out.report, parent_key=d.verify_key(parent_id, epoch)
                )
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

    def _close_outputs(self, host: Host) -> tuple[shap.Output, ...]:
        """Close the epoch (SHAP rules 3 to 5); a Byzantine regional lies here."""
        assert self.state is not None
        self.state, outs = shap.step(self.setup, self.state, shap.CloseEpoch())
        return outs

    # -- SDBC --------------------------------------------------------------

    def _start_consensus(self, host: Host, epoch: int, *, late: bool = False) -> None:
        d = self.d
        d.meter.tier = "consensus"
        assert self.hub is not None
        found = d.hub_roots.get((epoch, self.index))
        if self.hub.step in _RUNNING:
            # still in an earlier epoch: ask every peer for it (catch-up)
            for h in range(d.scenario.topology.hubs):
                if h != self.index:
                    self._resend(host, h, self.catchup.probe(self.hub, h, host.now_us()))
        if found is None or self.hub.step in _RUNNING:
            d.counts["consensus_not_started"] += 1
            return
        root, totals = found
        summary = (*totals, *root_words(root))
        d.counts["consensus_started_late" if late else "consensus_started"] += 1
        start = sdbc.Start(epoch=epoch, summary=summary)
        if d.keyplan is not None:
            members = d.keyplan.members(epoch)
            if members != self.hub.config.members:
                key = d.keyplan.signing_key(self.index, epoch)
                start = sdbc.Start(epoch=epoch, summary=summary, members=members, key=key)
        self._sdbc(host, start)

    def _rejoin(self, host: Host, decided: int) -> None:
        """After deciding ``decided`` late, start the next epoch whose
        consensus start has passed (its own timer found this hub busy)."""
        d = self.d
        since = host.now_us() - d.deadlines.consensus_start_ms * 1_000
        due = min(d.scenario.epochs, since // d.epoch_us + 1) if since >= 0 else 0
        for epoch in range(decided + 1, due + 1):
            if (epoch, self.index) in d.hub_roots:
                self._start_consensus(host, epoch, late=True)
                return

    def _sdbc(self, host: Host, event: sdbc.Input) -> None:
        d = self.d
        assert self.hub is not None
        try:
            self.hub, outputs = sdbc.step(self.hub, event)
        except sdbc.BadMessage as error:
            d.meter.refused["consensus"] += 1
            if isinstance(event, sdbc.Receive):
                _refused_signed(d, self.name, event.message, error, host.now_us())
                if d.keyplan is not None:
                    d.keyplan.observe(event.message, error.reason)
            return
        except RemoteProtocolError:
            d.meter.refused["consensus"] += 1
            return
        if d.keyplan is not None and isinstance(event, sdbc.Receive):
            d.keyplan.observe(event.message, None)
        d.sdbc_steps.append((self.index, event, outputs, self.hub))
        rejoin: int | None = None
        if (
            isinstance(event, sdbc.Receive)
            and isinstance(event.message, sdbc.Proposal)
            and event.message.value.value_hash not in self.hub.valid_hashes
        ):
            # A proposal its proposer signed whose value fails valid(v).
            d.detect(f"hub-{event.message.hub}", "invalid_proposal", self.name, host.now_us())
        for out in outputs:
            if isinstance(out, sdbc.Broadcast):
                self._broadcast(host, out.message)
                if isinstance(out.message, sdbc.Proposal) and out.message.valid_round >= 0:
                    self._relay_polka(host, out.message)
            elif isinstance(out, sdbc.SetTimer):
                host.set_timer(out.duration_ms * 1_000, ("sdbc", out.epoch, out.round, out.step))
            elif isinstance(out, sdbc.Decide):
                d.decisions[(out.epoch, self.index)] = out
                d.decided_at[(out.epoch, self.index)] = host.now_us()
                self.catchup.decided(self.hub, out)
                if host.now_us() < out.epoch * d.epoch_us:
                    start = d.deadlines.consensus_start_ms * 1_000
                    d.mark(out.epoch, "consensus_decided", host.now_us() - start)
                else:
                    # after the epoch's end (catch-up): not a latency of it
                    d.late_decisions.add(out.epoch)
                    d.counts["consensus_decided_late"] += 1
                rejoin = out.epoch
            elif isinstance(out, sdbc.ReportEvidence):
                d.counts["equivocation_evidence"] += 1
                accused = f"hub-{out.evidence.first.hub}"
                host.record("equivocation", accused=accused)
                d.detect(accused, "equivocation", self.name, host.now_us())
        if rejoin is not None:
            self._rejoin(host, rejoin)

    def _relay_polka(self, host: Host, proposal: sdbc.Proposal) -> None:
        """Gossip with a re-proposal: the ``q`` signed prevotes of its valid
        round that this hub holds (rule 3c needs them at every peer; an
        equivocator may have sent its prevote for the value to this hub
        only)."""
        assert self.hub is not None
        vr, vh = proposal.valid_round, proposal.value.value_hash
        held = [
            x
            for x in self.hub.tally.round(vr).by_slot.values()
            if x.kind == sdbc.PREVOTE and x.value_hash == vh
        ]
        held += sdbc.proven_votes(self.hub, sdbc.PREVOTE, vr, vh)
        for h in range(self.d.scenario.topology.hubs):
            if h != self.index:
                self._resend(host, h, tuple(sorted(held, key=lambda x: x.hub)))

    def _resend(self, host: Host, peer: int, messages: tuple[sdbc.Message, ...]) -> None:
        """Send catch-up ``messages`` to hub ``peer`` (a silent hub does not)."""
        d = self.d
        for message in messages:
            d.counts["catchup_messages"] += 1
            d.meter.send(host, "hub->hub", f"hub-{peer}", sdbc.encode_message(message))

    def _broadcast(self, host: Host, message: sdbc.Message) -> None:
        """Send ``message`` to every other hub (a Byzantine hub lies here)."""
        d = self.d
        payload = sdbc.encode_message(message)
        for h in range(d.scenario.topology.hubs):
            if h != self.index:
                d.meter.send(host, "hub->hub", f"hub-{h}", payload)


#: SDBC refusals whose cause is covered by the sender's own signature
_CONTENT_REFUSALS = frozenset(
    {
        "summary width",
        "summary value out of range",
        "summary proposes a threshold the configuration refuses",
    }
)


def _refused_signed(
    d: Deployment, by: str, message: sdbc.Message, error: sdbc.BadMessage, now_us: int
) -> None:
    """An honest hub refused ``message``: if the content refused is what its
    signer signed (the signature verifies), that is proof against the signer."""
    if not any(error.reason.startswith(r) for r in _CONTENT_REFUSALS):
        return
    try:
        sdbc.check_signature(d.hub_config_at(message.epoch), message)
    except RemoteProtocolError:
        return
    d.detect(f"hub-{message.hub}", "refused_signed_summary", by, now_us)


def _name(node_id: int) -> str:
    if node_id >= _HUB_BASE:
        return f"hub-{node_id - _HUB_BASE}"
    if node_id >= _REGIONAL_BASE:
        return f"regional-{node_id - _REGIONAL_BASE}"
    return f"monitor-{node_id}"


def _healed(d: Deployment, regional: int, now_us: int) -> None:
    for incident in d.incidents:
        if incident.standby == regional and incident.healed_us is None:
            incident.healed_us = now_us


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
    fan_in = max(
        topo.sites_per_regional * topo.replicas, topo.regionals_per_hub + topo.standby_regionals
    )
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
    if len(scenario.faults.byzantine_hubs) > hub_config.f_safe:
        raise ScenarioError(
            f"faults.byzantine_hubs: {len(scenario.faults.byzantine_hubs)} Byzantine hubs, "
            f"more than f = {hub_config.f_safe} (agreement is not promised beyond it)"
        )
    from vigilnet.sim import _faults  # the adversary drivers subclass the ones here

    _faults.choose_byzantine(d)
    if scenario.key_rotation.enabled:
        from vigilnet.sim._keys import KeyPlan

        d.keyplan = KeyPlan.create(d)

    def attack(name: str) -> str | None:
        return d.byzantine.get(name)

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
            byz = attack(f"monitor-{m}")
            monitor = (
                _Monitor(d, m, site)
                if byz is None
                else _faults.ByzantineMonitor(d, m, site, attack=byz)
            )
            sim.add(f"monitor-{m}", monitor, "monitor")
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
        byz = attack(f"regional-{g}")
        regional = (
            _Aggregator(d, setup, "regional", f"regional-{g}", f"hub-{h}", g)
            if byz is None
            else _faults.ByzantineRegional(
                d, setup, "regional", f"regional-{g}", f"hub-{h}", g, attack=byz
            )
        )
        sim.add(f"regional-{g}", regional, "regional")
    # Standby regionals: registered nowhere and idle until a hub's regional
    # is convicted (self-healing, run_deployment).
    for h in range(topo.hubs):
        d.standby_free[h] = []
        for k in range(topo.standby_regionals):
            g = topo.regionals + h * topo.standby_regionals + k
            d.regional_hub[g] = h
            node_id = _REGIONAL_BASE + g
            setup = shap.AggregatorSetup(
                node_id=node_id,
                tier=shap.Tier.REGIONAL,
                config=shap_config,
                signing_key=d.key(node_id),
                children={},
            )
            standby = _Aggregator(d, setup, "regional", f"regional-{g}", f"hub-{h}", g)
            standby.standby = True
            sim.add(f"regional-{g}", standby, "regional")
            d.standby_free[h].append(g)
    for h in range(topo.hubs):
        node_id = _HUB_BASE + h
        setup = shap.AggregatorSetup(
            node_id=node_id,
            tier=shap.Tier.HUB,
            config=shap_config,
            signing_key=d.key(node_id),
            children=hub_children[h],
        )
        byz = attack(f"hub-{h}")
        hub = (
            _Aggregator(d, setup, "hub", f"hub-{h}", None, h)
            if byz is None
            else _faults.ByzantineHub(d, setup, "hub", f"hub-{h}", None, h, attack=byz)
        )
        sim.add(f"hub-{h}", hub, "hub")
    for partition in scenario.partitions:
        _schedule_partition(d, sim, partition)
    for fault in scenario.hub_faults:
        _schedule_hub_fault(d, sim, fault)
    return d, sim


def _started(sim: Simulator, hubs: int, epoch: int) -> frozenset[int]:
    """The hubs whose SDBC node is in ``epoch`` (not stuck in an earlier one)."""
    out = set()
    for h in range(hubs):
        node = cast(_Aggregator, sim.drivers[f"hub-{h}"]).hub
        if node is not None and node.epoch == epoch:
            out.add(h)
    return frozenset(out)


def _counted(d: Deployment, epoch: int) -> frozenset[int]:
    """The regionals whose entries of ``epoch`` the judge counts: admitted
    by their hub that epoch, and not caught with proof by its end."""
    end = epoch * d.epoch_us
    out = set()
    for g, h in d.regional_hub.items():
        if _REGIONAL_BASE + g not in d.hub_inputs.get((epoch, h), ()):
            continue
        caught = d.detections.get(f"regional-{g}")
        if caught is not None and caught.time_us < end:
            continue
        out.add(g)
    return frozenset(out)


def _heal(d: Deployment, sim: Simulator, epoch: int, hits: npt.NDArray[np.int32]) -> None:
    """Self-healing after ``epoch``: every regional newly caught with proof
    loses its monitors to a standby regional of its hub from the next epoch,
    and the hub stops registering it.  Open incidents count the agents left
    without a counted entry this epoch."""
    topo = d.scenario.topology
    for g, h in sorted(d.regional_hub.items()):
        name = f"regional-{g}"
        caught = d.detections.get(name)
        if caught is None or g in d.convicted or caught.time_us >= epoch * d.epoch_us:
            continue
        d.convicted.add(g)
        monitors = sorted(m for m, home in d.monitor_regional.items() if home == g)
        sites = sorted({m // topo.replicas for m in monitors})
        free = d.standby_free.get(h, [])
        standby = free.pop(0) if free and monitors else None
        incident = Incident(
            regional=g,
            standby=standby,
            first_attack_us=d.first_attack_us.get(name),
            detected_us=caught.time_us,
            detected_epoch=caught.epoch,
            agents=tuple(a for site in sites for a in d.site_agents[site]),
        )
        d.incidents.append(incident)
        hub = cast(_Aggregator, sim.drivers[f"hub-{h}"])
        children = {k: v for k, v in hub.setup.children.items() if k != _REGIONAL_BASE + g}
        if standby is not None and epoch < d.scenario.epochs:
            setup = shap.AggregatorSetup(
                node_id=_REGIONAL_BASE + standby,
                tier=shap.Tier.REGIONAL,
                config=d.shap_config,
                signing_key=d.key(_REGIONAL_BASE + standby),
                children={m: d.key(m).verify_key for m in monitors},
                placement={m: d.site_agents[m // topo.replicas] for m in monitors},
            )
            driver = cast(_Aggregator, sim.drivers[f"regional-{standby}"])
            driver.activate(sim.host(f"regional-{standby}"), setup, epoch + 1)
            for m in monitors:
                d.monitor_regional[m] = standby
            children[_REGIONAL_BASE + standby] = d.key(_REGIONAL_BASE + standby).verify_key
        else:
            incident.standby = None
        # The hub's configuration from the next epoch: the convicted
        # regional is no longer registered (its reports are UNREGISTERED).
        hub.setup = replace(hub.setup, children=children)
        assert hub.state is not None
        policy = d.shap_config.reputation
        held = dict(hub.state.reputations)
        hub.state = replace(
            hub.state,
            reputations=tuple((c, held.get(c, policy.new())) for c in sorted(children)),
        )
        _note(sim, "conviction", regional=name, standby=standby, epoch=epoch)
    for incident in d.incidents:
        if not incident.open:
            continue
        if incident.healed_us is not None:
            incident.open = False  # the standby's report was counted this epoch
            continue
        agents = np.asarray(incident.agents, dtype=np.int64)
        missing = agents[hits[agents] == 0]
        incident.unmonitored.update(int(a) for a in missing)
        incident.agent_epochs_unmonitored += int(missing.size)


def _note(sim: Simulator, kind: str, **fields: Any) -> None:
    """An event of the deployment itself (not of a node) for the event log."""
    sim.observations.append(
        Observation(time_us=sim.now_us, node="deployment", kind=kind, fields=fields)
    )


def _schedule_partition(d: Deployment, sim: Simulator, p: Partition) -> None:
    """Cut hubs ``p.hubs`` with their whole subtrees off at the start of
    ``p.start_epoch`` and heal at the start of ``p.heal_epoch``; with
    ``flap_every = n`` the cut toggles every ``n`` epochs in between."""
    last = d.scenario.epochs
    step = p.flap_every or p.heal_epoch - p.start_epoch
    toggles = list(range(p.start_epoch, min(p.heal_epoch, last + 1), step))
    if p.heal_epoch <= last:
        toggles.append(p.heal_epoch)

    def side() -> list[str]:
        hubs = set(p.hubs)
        regionals = {g for g, h in d.regional_hub.items() if h in hubs}
        return [
            *(f"hub-{h}" for h in sorted(hubs)),
            *(f"regional-{g}" for g in sorted(regionals)),
            *(f"monitor-{m}" for m, g in sorted(d.monitor_regional.items()) if g in regionals),
        ]

    def toggle(sim: Simulator) -> None:
        if p.name in sim.network.cuts:
            sim.network.heal(p.name)
            kind = "heal"
        else:
            sim.network.cut(p.name, [side()])
            kind = "partition"
        sim.observations.append(
            Observation(time_us=sim.now_us, node="network", kind=kind, fields={"cut": p.name})
        )

    for epoch in sorted(set(toggles)):
        sim.at((epoch - 1) * d.epoch_us, toggle)
        d.partition_epochs.setdefault(p.name, []).append(epoch)


def _schedule_hub_fault(d: Deployment, sim: Simulator, f: HubFault) -> None:
    """Crash (or slow) hubs ``f.hubs`` from ``f.at_ms`` into ``f.start_epoch``
    until the start of ``f.end_epoch`` (restart, or normal speed)."""
    begin = (f.start_epoch - 1) * d.epoch_us + f.at_ms * 1_000
    end = (f.end_epoch - 1) * d.epoch_us
    names = [f"hub-{h}" for h in f.hubs]

    def fail(sim: Simulator) -> None:
        for name in names:
            if f.kind == "crash":
                sim.crash(name)
            else:
                sim.network.slow[name] = f.delay_ms * 1_000
        _note(sim, f"hub_{f.kind}", hubs=list(f.hubs), epoch=f.start_epoch)

    def mend(sim: Simulator) -> None:
        for name in names:
            if f.kind == "crash":
                sim.recover(name, start=False)
                driver = sim.drivers[name]
                assert isinstance(driver, _Aggregator)
                driver.resume(sim.host(name), f.end_epoch)
            else:
                sim.network.slow.pop(name, None)
        _note(sim, f"hub_{f.kind}_end", hubs=list(f.hubs), epoch=f.end_epoch)

    sim.at(begin, fail)
    if f.end_epoch <= d.scenario.epochs:
        sim.at(end, mend)
    for epoch in range(f.start_epoch, min(f.end_epoch, d.scenario.epochs + 1)):
        d.hub_fault_epochs.setdefault(epoch, set()).update(f.hubs)


def _partitioned(d: Deployment, epoch: int) -> bool:
    """Was some cut active during part of ``epoch``?"""
    for toggles in d.partition_epochs.values():
        active = False
        for e in range(1, epoch + 1):
            if e in toggles:
                active = not active
            if e == epoch and active:
                return True
    return False


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
    from vigilnet.sim._faults import score_epoch
    from vigilnet.sim._invariants import InvariantMonitor

    d, sim = build(scenario, deadlines, record_proofs=record_proofs)
    topo = scenario.topology
    thresholds = SprtThresholds(alpha=scenario.sprt.alpha, beta=scenario.sprt.beta)
    log_odds = np.zeros(topo.agents, dtype=np.int64)
    flagged = np.zeros(topo.agents, dtype=bool)
    invariants = InvariantMonitor(d, sim)
    with d.meter.counting():
        sim.start()
        for epoch in range(1, scenario.epochs + 1):
            if d.keyplan is not None:
                d.keyplan.before_epoch(d, sim, epoch)
            sim.run(epoch * d.epoch_us - 1)
            d.meter.tier = "judge"
            counted = _counted(d, epoch)
            hits = np.zeros(topo.agents, dtype=np.int32)
            for g in sorted(counted):
                combined = d.combined.get((epoch, g))
                if combined is None:
                    continue
                ids = combined.agent_ids.astype(np.int64)
                log_odds[ids] += combined.llr_sums
                np.add.at(hits, ids, 1)
            before = flagged.copy()
            flagged |= log_odds >= thresholds.upper
            d.meter.tier = "invariants"
            started = _started(sim, topo.hubs, epoch)
            score_epoch(d, epoch, counted, _partitioned(d, epoch), started)
            invariants.check_epoch(epoch, hits, before, flagged)
            for late in sorted(d.late_decisions):
                # decisions of an earlier epoch made by catch-up this epoch:
                # Agreement, Validity and Integrity again, over all of them
                invariants.check_epoch(late, np.zeros(0, dtype=np.int32), flagged, flagged)
            d.late_decisions.clear()
            _heal(d, sim, epoch, hits)
            if progress is not None:
                progress(epoch)
    verdicts: Counter[str] = Counter()
    verdicts[Verdict.FLAGGED.value] = int(flagged.sum())
    cleared = ~flagged & (log_odds <= thresholds.lower)
    verdicts[Verdict.CLEARED.value] = int(cleared.sum())
    verdicts[Verdict.UNDECIDED.value] = int(topo.agents - flagged.sum() - cleared.sum())
    return RunResult(deployment=d, simulator=sim, flagged=flagged, verdicts=verdicts, truth=d.truth)
