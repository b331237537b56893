"""The SSCR node: one sans-I/O state machine per replica.

Theory of operation
===================

A node holds the evidence CRDT (:mod:`._crdt`), watches its peers with the
phi-accrual detector (:mod:`._detector`), and answers verdicts that are final
only under the statistical-consistency rule (:mod:`._consistency`).  It is a
pure function ``step(config, state, event) -> (state, outputs)``: time arrives
in events (``at``), randomness arrives as the 64-bit ``draw`` of
:class:`DeadlineFired`, and the outputs are commands (:class:`Send`,
:class:`SetTimer`, :class:`Decide`, :class:`ModeChanged`,
:class:`EquivocationFound`, :class:`SourceConvicted`) that the runtime or the simulator carries out.
A bad event raises :class:`~vigilnet.errors.RemoteProtocolError` (a peer's
fault) or :class:`~vigilnet.errors.LocalProtocolError` (the caller's) and,
the function being pure, leaves no state changed.

Rules (``SSCR-n``; the TLA+ action names of ``spec/SSCR.tla`` in brackets):

1. **Evidence** [Observe].  A local source's cumulative report is merged into
   the CRDT; its source must be registered and hosted here, and it must
   respect the clamp (``|llr_sum| <= count * lambda_max``), the rate
   bound (``count <= ceil(rate * at)``) and the count range (``count <=
   SscrConfig.max_count``, so an agent's sum over all sources fits the
   evidence range), and carry the source's signature over its sign bytes
   (``_signing.py``).  These checks apply to every entry on every path in:
   local reports, sync answers and both entries of a forwarded conviction.
   A report that does not extend the
   entry held for its source (``_crdt.extends``) is merged all the same and
   convicts the source (rule SSCR-CRDT-7).
2. **Sync** [SyncRound, Replay].  ``StartSync`` sends the node's digest; the
   peer answers with the delta the digest lacks, echoing the request time;
   merging the answer makes that peer's sources *fresh as of the request
   time* (only an echo of a request still outstanding counts, so a replayed or
   delayed answer merges its evidence but never refreshes).  Duplicated and
   reordered answers are harmless: merge is idempotent and commutative.
   The request names the convictions the requester holds (a digest: source
   and :func:`~._crdt.conviction_key`); the answer carries those it lacks or
   would replace, each re-checked on arrival (both
   entries pass rule 1 and really conflict, else the answer is refused).
   Merging an answer whose entries conflict with the held ones (an
   equivocation or a history rewrite: the larger entry does not extend the
   smaller) convicts the source; convictions are joined by
   :func:`~._crdt.merge_convictions` and reported (:class:`SourceConvicted`).
3. **Detection** [Tick].  At each staleness deadline (jittered: ``T * U(0.5,
   1.5)`` from the event's draw) every peer is checked; ``sensitivity``
   consecutive suspicions, or as many distinct observers, declare a
   partition from it.
4. **Modes** (:data:`MODE_TRANSITIONS`): NORMAL -> DEGRADED when a partition
   is declared; DEGRADED -> HEALING once every partitioned peer has been
   heard again; HEALING -> NORMAL once a fresh sync with each of them has
   been merged, at which point every provisional verdict is re-evaluated; a
   new declaration, or ``sensitivity`` consecutive suspicions of a peer still
   partitioned (a heartbeat leaked through but no sync), sends HEALING back
   to DEGRADED.
5. **Verdicts** [Evaluate].  ``L`` is the sum over the sources not
   convicted; the margin is the consistency bound ``B`` (and, outside NORMAL,
   ``max(B, raised)`` where ``raised`` only rises until NORMAL) plus the
   Byzantine margin ``E`` (the ``byzantine_sources`` largest contributions
   toward the verdict, derivation step 6 of ``_consistency.py``); a verdict
   is final when the margin cannot move ``L`` back across its threshold,
   else provisional.  A final verdict is never re-judged.
6. **Bounds** (every path in).  The table never holds more than
   ``max_agents`` agents: a local report or a sync answer that would take it
   past is refused whole (a deployment sizes ``max_agents`` for all its
   agents, every side of a partition together).  A request's digest names at
   most ``max_agents x sources`` keys and at most one conviction per source.
   Evidence and verdicts are persistent tries keyed by agent, so an event
   costs ``O(k log agents)`` for the ``k`` entries it carries (an answer to a
   request, which is built from the whole table, excepted): per-event cost
   does not grow with the table a peer pushed in.  Entries already held are
   not verified again.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TypeAlias

from rpds import HashTrieMap

from vigilnet.crypto import PUBLIC_KEY_BYTES
from vigilnet.encoding import encode
from vigilnet.errors import LocalProtocolError, RemoteProtocolError, ensure
from vigilnet.evidence import EvidenceStats, Verdict
from vigilnet.fixedpoint import MAX_EVIDENCE_COUNT
from vigilnet.protocols.sscr._consistency import (
    Judgement,
    byzantine_margin,
    consistency_bound,
    judge,
    max_unseen_terms,
)
from vigilnet.protocols.sscr._crdt import (
    Conviction,
    ConvictionKey,
    ConvictionSet,
    EntryKey,
    Equivocation,
    EvidenceState,
    SourceEntry,
    conflicts,
    delta,
    digest,
    equivocations,
    merge,
    merge_convictions,
)
from vigilnet.protocols.sscr._detector import HeartbeatWindow, PeerWatch, staleness_deadline
from vigilnet.protocols.sscr._signing import entry_verifies

__all__ = [
    "MAX_NAME_BYTES",
    "MODE_TRANSITIONS",
    "ConvictionArrived",
    "DeadlineFired",
    "Decide",
    "EquivocationFound",
    "Evaluate",
    "Event",
    "HeartbeatArrived",
    "LocalReport",
    "Mode",
    "ModeChanged",
    "NodeState",
    "Output",
    "Send",
    "SetTimer",
    "SourceConvicted",
    "SscrConfig",
    "StartSync",
    "SuspicionReported",
    "SyncRequest",
    "SyncRequestArrived",
    "SyncResponse",
    "SyncResponseArrived",
    "VerdictRecord",
    "initial_state",
    "judgement",
    "step",
]


#: The empty conviction set (immutable, so one instance serves as every default).
_NO_CONVICTIONS = ConvictionSet()


class Mode(enum.Enum):
    NORMAL = "normal"
    DEGRADED = "degraded"
    HEALING = "healing"


#: ``(mode, trigger) -> next mode``.  A missing key is an illegal transition.
MODE_TRANSITIONS: Mapping[tuple[Mode, str], Mode] = {
    (Mode.NORMAL, "partition_declared"): Mode.DEGRADED,
    (Mode.DEGRADED, "partition_declared"): Mode.DEGRADED,
    (Mode.HEALING, "partition_declared"): Mode.DEGRADED,
    (Mode.DEGRADED, "peers_heard"): Mode.HEALING,
    (Mode.HEALING, "synced"): Mode.NORMAL,
}


def _transition(mode: Mode, trigger: str) -> Mode:
    nxt = MODE_TRANSITIONS.get((mode, trigger))
    if nxt is None:
        raise LocalProtocolError(f"no transition from {mode.name} on {trigger}")
    return nxt


#: The longest node, source or agent name a node accepts, in UTF-8 bytes.
MAX_NAME_BYTES = 256


def _name_ok(name: object) -> bool:
    return (
        isinstance(name, str) and 0 < len(name.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SscrConfig:
    """One node's configuration.  ``sources`` maps each registered source to
    the node that hosts it, ``source_keys`` to its Ed25519 public key (32
    bytes; every entry must carry the source's signature, rule SSCR-1);
    ``rate`` is the sources' rate bound in terms per tick; ``upper``/``lower``
    are the SPRT thresholds in fixed point; ``byzantine_sources`` is how many
    Byzantine sources finality tolerates (``f``, derivation step 6 of
    ``_consistency.py``; 0: every source is assumed honest); ``max_agents``
    bounds the agents in the table of every node of the deployment, whatever
    path the evidence came in by.

    :attr:`config_hash` binds what every node of the deployment shares (the
    nodes, the sources with their homes and keys, ``lambda_max``, ``rate`` and
    ``max_agents``); every signed entry names it."""

    node: str
    peers: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]
    source_keys: tuple[tuple[str, bytes], ...]
    lambda_max: int
    rate: Fraction
    upper: int
    lower: int
    deadline_base: int
    phi_threshold: int
    sensitivity: int = 3
    window: int = 100
    bootstrap_interval: int = 1
    max_interval: int | None = None
    max_agents: int = 1 << 20
    byzantine_sources: int = 0
    _homes: Mapping[str, str] = field(init=False, repr=False, compare=False)
    _keys: Mapping[str, bytes] = field(init=False, repr=False, compare=False)
    _remote: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)
    _hash: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ensure(_name_ok(self.node), "node name", LocalProtocolError)
        ensure(all(_name_ok(p) for p in self.peers), "peer names", LocalProtocolError)
        ensure(self.node not in self.peers, "a node is not its own peer", LocalProtocolError)
        ensure(len(set(self.peers)) == len(self.peers), "duplicate peers", LocalProtocolError)
        homes = {self.node, *self.peers}
        names = [name for name, _ in self.sources]
        ensure(len(set(names)) == len(names), "duplicate sources", LocalProtocolError)
        ensure(all(_name_ok(n) for n in names), "source names", LocalProtocolError)
        for _, home in self.sources:
            ensure(home in homes, f"source home {home} is not a node", LocalProtocolError)
        keys = dict(self.source_keys)
        ensure(
            len(keys) == len(self.source_keys) and set(keys) == set(names),
            "source_keys must name every registered source once",
            LocalProtocolError,
        )
        for name, key in self.source_keys:
            ensure(
                isinstance(key, bytes) and len(key) == PUBLIC_KEY_BYTES,
                f"key of source {name} must be {PUBLIC_KEY_BYTES} bytes",
                LocalProtocolError,
            )
        ensure(self.lambda_max > 0, "lambda_max > 0", LocalProtocolError)
        ensure(self.lower < 0 < self.upper, "lower < 0 < upper", LocalProtocolError)
        ensure(self.sensitivity >= 1, "sensitivity must be >= 1", LocalProtocolError)
        ensure(isinstance(self.rate, Fraction) and self.rate > 0, "rate > 0", LocalProtocolError)
        ensure(self.byzantine_sources >= 0, "byzantine_sources >= 0", LocalProtocolError)
        ensure(self.max_agents >= 1, "max_agents >= 1", LocalProtocolError)
        object.__setattr__(self, "_homes", dict(self.sources))
        object.__setattr__(self, "_keys", keys)
        object.__setattr__(
            self, "_remote", tuple((s, h) for s, h in self.sources if h != self.node)
        )
        object.__setattr__(self, "_hash", self._compute_hash())

    def _compute_hash(self) -> bytes:
        keys = dict(self.source_keys)
        return hashlib.sha256(
            b"vigilnet/sscr/config/v1\x00"
            + encode(
                {
                    "nodes": tuple(sorted({self.node, *self.peers})),
                    "sources": tuple(
                        (name, home, keys[name]) for name, home in sorted(self.sources)
                    ),
                    "lambda_max": self.lambda_max,
                    "rate": (self.rate.numerator, self.rate.denominator),
                    "max_agents": self.max_agents,
                }
            )
        ).digest()

    @property
    def config_hash(self) -> bytes:
        """SHA-256 of ``vigilnet/sscr/config/v1``, a zero byte and the
        canonical CBOR of the deployment-wide fields (see the class doc)."""
        return self._hash

    @property
    def max_count(self) -> int:
        """The most terms one entry may claim: ``MAX_EVIDENCE_COUNT // sources``,
        so an agent's sum over every source always fits the evidence range
        (``2**39`` terms) and ``Evaluate`` never overflows (rule SSCR-1)."""
        return MAX_EVIDENCE_COUNT // max(1, len(self.sources))

    @property
    def max_entries(self) -> int:
        """The most entries a table, a delta or a digest can hold."""
        return self.max_agents * len(self.sources)

    def home(self, source: str) -> str | None:
        return self._homes.get(source)

    def key(self, source: str) -> bytes | None:
        return self._keys.get(source)

    def remote_sources(self) -> tuple[tuple[str, str], ...]:
        return self._remote


@dataclass(frozen=True, slots=True, kw_only=True)
class VerdictRecord:
    verdict: Verdict
    final: bool
    mode: Mode


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeState:
    """Everything a node remembers (all hashable)."""

    mode: Mode
    evidence: EvidenceState
    watches: tuple[tuple[str, PeerWatch], ...]
    fresh: tuple[tuple[str, int], ...]
    pending: tuple[tuple[str, int], ...] = ()
    partitioned: frozenset[str] = frozenset()
    heard_again: frozenset[str] = frozenset()
    heal_started: int = 0
    raised: int = 0
    verdicts: HashTrieMap[str, VerdictRecord] = field(default_factory=HashTrieMap)
    next_deadline: int = 0
    convicted: ConvictionSet = _NO_CONVICTIONS

    def watch(self, peer: str) -> PeerWatch:
        return dict(self.watches)[peer]

    def fresh_as_of(self, peer: str) -> int:
        return dict(self.fresh)[peer]

    def verdict(self, agent: str) -> VerdictRecord | None:
        return self.verdicts.get(agent)


# -- messages -----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncRequest:
    sender: str
    request_time: int
    digest: tuple[tuple[EntryKey, tuple[int, int, int]], ...]
    convicted: tuple[tuple[str, ConvictionKey], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncResponse:
    sender: str
    request_time: int
    delta: EvidenceState
    convictions: ConvictionSet = _NO_CONVICTIONS


# -- events ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalReport:
    at: int
    agent: str
    source: str
    entry: SourceEntry


@dataclass(frozen=True, slots=True, kw_only=True)
class HeartbeatArrived:
    peer: str
    at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadlineFired:
    at: int
    draw: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SuspicionReported:
    peer: str
    observer: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StartSync:
    peer: str
    at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncRequestArrived:
    request: SyncRequest


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncResponseArrived:
    response: SyncResponse
    at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvictionArrived:
    """A peer forwarded a conviction on its own (gossip outside a sync)."""

    peer: str
    conviction: Conviction
    at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluate:
    agent: str
    at: int


Event: TypeAlias = (
    LocalReport
    | HeartbeatArrived
    | DeadlineFired
    | SuspicionReported
    | StartSync
    | SyncRequestArrived
    | SyncResponseArrived
    | ConvictionArrived
    | Evaluate
)

# -- outputs --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Send:
    peer: str
    message: SyncRequest | SyncResponse


@dataclass(frozen=True, slots=True, kw_only=True)
class SetTimer:
    at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Decide:
    agent: str
    verdict: Verdict
    final: bool
    mode: Mode


@dataclass(frozen=True, slots=True, kw_only=True)
class ModeChanged:
    old: Mode
    new: Mode


@dataclass(frozen=True, slots=True, kw_only=True)
class EquivocationFound:
    peer: str
    equivocation: Equivocation


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceConvicted:
    """This node convicted ``conviction.source`` (first time only): from a
    conflict it found itself (``peer`` is who sent the second entry, ``None``
    for a local report) or from evidence a peer forwarded."""

    peer: str | None
    conviction: Conviction


Output: TypeAlias = Send | SetTimer | Decide | ModeChanged | EquivocationFound | SourceConvicted

Step: TypeAlias = tuple[NodeState, tuple[Output, ...]]


def initial_state(
    config: SscrConfig, *, at: int = 0, draw: int = 0, fresh_since: int | None = None
) -> Step:
    """A fresh node at time ``at``: NORMAL, no evidence, first deadline drawn
    from ``draw``.

    ``fresh_since``: the time as of which the node knows every peer's sources
    held nothing it lacks.  At system start (every source empty) that is
    ``at``, the default.  A node that joins or recovers later must pass the
    earliest time from which it may have missed evidence (the epoch's start
    at worst), or its first verdicts could be finalised on a bound that
    forgets what the peers already hold."""
    since = at if fresh_since is None else fresh_since
    ensure(since <= at, "fresh_since lies in the future", LocalProtocolError)
    window = HeartbeatWindow(
        capacity=config.window,
        bootstrap_interval=config.bootstrap_interval,
        max_interval=config.max_interval,
    )
    first = at + staleness_deadline(config.deadline_base, draw)
    state = NodeState(
        mode=Mode.NORMAL,
        evidence=EvidenceState(),
        watches=tuple(
            (peer, PeerWatch(window=window, watching_since=at)) for peer in sorted(config.peers)
        ),
        fresh=tuple((peer, since) for peer in sorted(config.peers)),
        next_deadline=first,
    )
    return state, (SetTimer(at=first),)


# -- the funnel -----------------------------------------------------------------


def step(config: SscrConfig, state: NodeState, event: Event) -> Step:
    """Apply one event; see the module docstring for the rules."""
    if isinstance(event, LocalReport):
        return _local_report(config, state, event)
    if isinstance(event, HeartbeatArrived):
        return _heartbeat(config, state, event)
    if isinstance(event, DeadlineFired):
        return _deadline(config, state, event)
    if isinstance(event, SuspicionReported):
        return _suspicion(config, state, event)
    if isinstance(event, StartSync):
        return _start_sync(config, state, event)
    if isinstance(event, SyncRequestArrived):
        return _answer_sync(config, state, event)
    if isinstance(event, SyncResponseArrived):
        return _merge_sync(config, state, event)
    if isinstance(event, ConvictionArrived):
        return _conviction_arrived(config, state, event)
    if isinstance(event, Evaluate):
        return _evaluate(config, state, event)
    raise LocalProtocolError(f"unknown event {event!r}")


def _check_entry(config: SscrConfig, agent: str, source: str, entry: SourceEntry, at: int) -> None:
    """Rule SSCR-1: a named agent, a registered source, the count range, the
    clamp, the rate bound, and the source's own signature."""
    ensure(_name_ok(agent), "agent name must be a str of 1 to 256 UTF-8 bytes")
    key = config.key(source)
    if key is None:
        raise RemoteProtocolError(f"source {source} is not registered")
    ensure(
        entry.stats.count <= config.max_count,
        f"source {source} claims {entry.stats.count} terms, over {config.max_count}",
    )
    entry.stats.check_bound(config.lambda_max)
    ensure(
        entry.stats.count <= max_unseen_terms(config.rate, max(at, 0) + 1),
        f"source {source} reports {entry.stats.count} terms by time {at}, over its rate bound",
    )
    ensure(
        entry_verifies(key, config.config_hash, agent, source, entry),
        f"entry of {source} on {agent} does not carry {source}'s signature",
    )


def _check_capacity(config: SscrConfig, state: NodeState, agents: set[str]) -> None:
    """Rule SSCR-1, bounded memory: the table never holds more than
    ``max_agents`` agents, whichever path the evidence came in by."""
    new = sum(1 for agent in agents if not state.evidence.has_agent(agent))
    ensure(
        state.evidence.agent_count() + new <= config.max_agents,
        f"{new} new agents would take the table past max_agents = {config.max_agents}",
    )


def _convict(
    state: NodeState,
    found: tuple[Conviction, ...],
    peer: str | None,
) -> tuple[NodeState, list[Output]]:
    """Join ``found`` into the node's convictions (rule SSCR-CRDT-7); report
    each source convicted for the first time."""
    if not found:
        return state, []
    before = state.convicted.sources()
    joined = merge_convictions(state.convicted, ConvictionSet.of(found))
    outputs: list[Output] = [
        SourceConvicted(peer=peer, conviction=conviction)
        for source, conviction in joined.convictions
        if source not in before
    ]
    return replace(state, convicted=joined), outputs


def _check_conviction(config: SscrConfig, conviction: Conviction, at: int) -> None:
    """A forwarded conviction must be evidence: both entries pass rule 1 and
    the higher does not extend the lower."""
    _check_entry(config, conviction.agent, conviction.source, conviction.lower, at)
    _check_entry(config, conviction.agent, conviction.source, conviction.higher, at)
    ensure(
        conviction.holds(config.lambda_max),
        f"conviction of {conviction.source} is no evidence: the entries are consistent",
    )


def _local_report(config: SscrConfig, state: NodeState, event: LocalReport) -> Step:
    ensure(
        config.home(event.source) == config.node,
        f"source {event.source} is not hosted at {config.node}",
    )
    _check_entry(config, event.agent, event.source, event.entry, event.at)
    _check_capacity(config, state, {event.agent})
    report = EvidenceState.of({(event.agent, event.source): event.entry})
    evidence = merge(state.evidence, report)
    new, outputs = _convict(
        replace(state, evidence=evidence),
        conflicts(state.evidence, report, config.lambda_max),
        None,
    )
    return new, tuple(outputs)


def _heartbeat(config: SscrConfig, state: NodeState, event: HeartbeatArrived) -> Step:
    ensure(event.peer in config.peers, f"{event.peer} is not a peer")
    watches = dict(state.watches)
    watches[event.peer] = watches[event.peer].heard(event.at)
    new = replace(state, watches=tuple(sorted(watches.items())))
    if state.mode is Mode.DEGRADED and event.peer in state.partitioned:
        heard = state.heard_again | {event.peer}
        new = replace(new, heard_again=heard)
        if heard >= state.partitioned:
            mode = _transition(state.mode, "peers_heard")
            new = replace(new, mode=mode, heal_started=event.at)
            return new, (ModeChanged(old=state.mode, new=mode),)
    return new, ()


def _bound(config: SscrConfig, state: NodeState, at: int) -> int:
    """Node-wide consistency bound ``B`` at ``at`` (derivation step 3).

    A remote source's answer was built at some time at or after the request
    time ``p`` it echoes, so terms from tick ``p`` on may be missing: the
    window is ``p .. at``, both included, ``at - p + 1`` ticks.  Every remote
    source therefore counts as unreachable; a recent sync only makes its
    window short.
    """
    fresh = dict(state.fresh)
    windows = [at - fresh[home] + 1 for _, home in config.remote_sources()]
    if not windows:
        return 0
    return consistency_bound(config.lambda_max, config.rate, max(windows), len(windows))


def _declare(
    state: NodeState,
    declared: frozenset[str],
    outputs: list[Output],
    relapsed: frozenset[str] = frozenset(),
) -> NodeState:
    """Declare partitions from ``declared`` peers.  ``relapsed``: partitioned
    peers suspected ``sensitivity`` times in a row again; in HEALING they send
    the node back to DEGRADED (a heartbeat leaked through, the sync did not)."""
    fresh = declared - state.partitioned
    back = relapsed & state.partitioned if state.mode is Mode.HEALING else frozenset()
    if not fresh and not back:
        return state
    mode = _transition(state.mode, "partition_declared")
    if mode is not state.mode:
        outputs.append(ModeChanged(old=state.mode, new=mode))
    return replace(
        state,
        mode=mode,
        partitioned=state.partitioned | declared,
        heard_again=state.heard_again - declared - back,
    )


def _deadline(config: SscrConfig, state: NodeState, event: DeadlineFired) -> Step:
    ensure(
        event.at >= state.next_deadline,
        f"deadline fired at {event.at} before it was due at {state.next_deadline}",
        LocalProtocolError,
    )
    watches = {
        peer: watch.check(event.at, config.phi_threshold, config.sensitivity)
        for peer, watch in state.watches
    }
    declared = frozenset(peer for peer, watch in watches.items() if watch.declared)
    nxt = event.at + staleness_deadline(config.deadline_base, event.draw)
    outputs: list[Output] = []
    new = replace(state, watches=tuple(sorted(watches.items())), next_deadline=nxt)
    relapsed = frozenset(
        peer for peer, watch in watches.items() if watch.consecutive >= config.sensitivity
    )
    new = _declare(new, declared, outputs, relapsed)
    if new.mode is not Mode.NORMAL:
        new = replace(new, raised=max(new.raised, _bound(config, new, event.at)))
    outputs.append(SetTimer(at=nxt))
    return new, tuple(outputs)


def _suspicion(config: SscrConfig, state: NodeState, event: SuspicionReported) -> Step:
    ensure(event.peer in config.peers, f"{event.peer} is not a peer")
    ensure(event.observer != event.peer, "a peer cannot report itself")
    ensure(
        event.observer in config.peers,
        f"{event.observer} is not a peer: only known nodes confirm a partition",
    )
    watches = dict(state.watches)
    watches[event.peer] = watches[event.peer].report(event.observer, config.sensitivity)
    new = replace(state, watches=tuple(sorted(watches.items())))
    outputs: list[Output] = []
    if watches[event.peer].declared:
        new = _declare(new, frozenset({event.peer}), outputs)
    return new, tuple(outputs)


def _start_sync(config: SscrConfig, state: NodeState, event: StartSync) -> Step:
    ensure(event.peer in config.peers, f"{event.peer} is not a peer", LocalProtocolError)
    pending = dict(state.pending)
    pending[event.peer] = event.at
    request = SyncRequest(
        sender=config.node,
        request_time=event.at,
        digest=tuple(sorted(digest(state.evidence).items())),
        convicted=tuple(sorted(state.convicted.digest().items())),
    )
    return replace(state, pending=tuple(sorted(pending.items()))), (
        Send(peer=event.peer, message=request),
    )


def _answer_sync(config: SscrConfig, state: NodeState, event: SyncRequestArrived) -> Step:
    request = event.request
    ensure(request.sender in config.peers, f"{request.sender} is not a peer")
    ensure(
        len(request.digest) <= config.max_entries,
        f"digest of {len(request.digest)} keys, over max_agents x sources = {config.max_entries}",
    )
    ensure(
        len(request.convicted) <= len(config.sources),
        f"{len(request.convicted)} convictions named, over {len(config.sources)} sources",
    )
    answer = SyncResponse(
        sender=config.node,
        request_time=request.request_time,
        delta=delta(state.evidence, dict(request.digest)),
        convictions=state.convicted.newer_than(dict(request.convicted)),
    )
    return state, (Send(peer=request.sender, message=answer),)


def _merge_sync(config: SscrConfig, state: NodeState, event: SyncResponseArrived) -> Step:
    response = event.response
    ensure(response.sender in config.peers, f"{response.sender} is not a peer")
    ensure(
        len(response.delta) <= config.max_entries,
        f"delta of {len(response.delta)} entries, over max_agents x sources = {config.max_entries}",
    )
    _check_capacity(config, state, set(response.delta.rows))
    for (agent, source), entry in response.delta.items():
        if state.evidence.get(agent, source) != entry:  # held entries were checked
            _check_entry(config, agent, source, entry, event.at)
    for _, conviction in response.convictions.convictions:
        _check_conviction(config, conviction, event.at)
    outputs: list[Output] = [
        EquivocationFound(peer=response.sender, equivocation=e)
        for e in equivocations(state.evidence, response.delta)
    ]
    evidence = merge(state.evidence, response.delta)
    found = conflicts(state.evidence, response.delta, config.lambda_max)
    new, convicted = _convict(
        replace(state, evidence=evidence),
        (*found, *(c for _, c in response.convictions.convictions)),
        response.sender,
    )
    outputs.extend(convicted)
    pending = dict(state.pending)
    if pending.get(response.sender) == response.request_time:
        del pending[response.sender]
        fresh = dict(state.fresh)
        fresh[response.sender] = max(fresh[response.sender], response.request_time)
        new = replace(
            new, pending=tuple(sorted(pending.items())), fresh=tuple(sorted(fresh.items()))
        )
    if new.mode is Mode.HEALING:
        fresh_now = dict(new.fresh)
        if all(fresh_now[peer] >= new.heal_started for peer in new.partitioned):
            new, healed = _heal(config, new, event.at)
            outputs.extend(healed)
    return new, tuple(outputs)


def _conviction_arrived(config: SscrConfig, state: NodeState, event: ConvictionArrived) -> Step:
    ensure(event.peer in config.peers, f"{event.peer} is not a peer")
    _check_conviction(config, event.conviction, event.at)
    new, outputs = _convict(state, (event.conviction,), event.peer)
    return new, tuple(outputs)


def _heal(config: SscrConfig, state: NodeState, at: int) -> tuple[NodeState, list[Output]]:
    """HEALING -> NORMAL: clear the partition and re-judge every provisional
    verdict on the merged evidence."""
    mode = _transition(state.mode, "synced")
    watches = {
        peer: (watch.healed() if peer in state.partitioned else watch)
        for peer, watch in state.watches
    }
    new = replace(
        state,
        mode=mode,
        partitioned=frozenset(),
        heard_again=frozenset(),
        raised=0,
        watches=tuple(sorted(watches.items())),
    )
    outputs: list[Output] = [ModeChanged(old=state.mode, new=mode)]
    for agent, record in sorted(new.verdicts.items()):
        if not record.final:
            new, decided = _evaluate(config, new, Evaluate(agent=agent, at=at))
            outputs.extend(decided)
    return new, outputs


def judgement(config: SscrConfig, state: NodeState, agent: str, at: int) -> Judgement:
    """Rule SSCR-5 without recording anything: ``L`` over the sources not
    convicted, margin ``B`` (``max(B, raised)`` outside NORMAL) plus ``E``."""
    convicted = state.convicted.sources()
    stats: EvidenceStats = state.evidence.agent_stats(agent, excluding=convicted)
    log_odds = stats.log_odds()
    bound = _bound(config, state, at)
    margin = bound if state.mode is Mode.NORMAL else max(bound, state.raised)
    toward = judge(log_odds, upper=config.upper, lower=config.lower, margin=0).verdict
    contributions = [
        entry.stats.llr_sum
        for source, entry in state.evidence.sources(agent)
        if source not in convicted
    ]
    margin += byzantine_margin(contributions, config.byzantine_sources, toward=toward)
    return judge(log_odds, upper=config.upper, lower=config.lower, margin=margin)


def _evaluate(config: SscrConfig, state: NodeState, event: Evaluate) -> Step:
    record = state.verdict(event.agent)
    if record is not None and record.final:
        return state, (
            Decide(agent=event.agent, verdict=record.verdict, final=True, mode=record.mode),
        )
    new = state
    if state.mode is not Mode.NORMAL:
        new = replace(new, raised=max(new.raised, _bound(config, new, event.at)))
    verdict = judgement(config, new, event.agent, event.at)
    record = VerdictRecord(verdict=verdict.verdict, final=verdict.final, mode=new.mode)
    new = replace(new, verdicts=new.verdicts.insert(event.agent, record))
    return new, (
        Decide(agent=event.agent, verdict=verdict.verdict, final=verdict.final, mode=new.mode),
    )
