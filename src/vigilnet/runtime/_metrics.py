"""Prometheus metrics of one node (``prometheus_client``).

Theory of operation
-------------------
Each node owns a :class:`NodeMetrics`, whose metrics live on the node's own
:class:`~prometheus_client.CollectorRegistry`, never on the process-wide
default one: several nodes may share a process (the tests, a small cluster
in one interpreter), and each node's ``/metrics`` must show that node's
figures only.  The runtime calls one method per event; the methods are the
whole interface, so the metric names below are the contract with the
runbook (``docs/operations/runbook.md``, *Metrics*) and with dashboards.

============================================  =========  ======================================
metric                                        type       method
============================================  =========  ======================================
``vigilnet_node_info{node,role}``             gauge 1    (constructor)
``vigilnet_epoch``                            gauge      :meth:`round_entered`, :meth:`epoch_decided`
``vigilnet_round``                            gauge      :meth:`round_entered`
``vigilnet_rounds_total``                     counter    :meth:`round_entered`
``vigilnet_epochs_decided_total``             counter    :meth:`epoch_decided`
``vigilnet_decision_round``                   histogram  :meth:`epoch_decided`
``vigilnet_verdicts_total{verdict}``          counter    :meth:`verdicts`
``vigilnet_signatures_verified_total{result}``  counter  :meth:`signatures_verified`
``vigilnet_rejected_messages_total{reason}``  counter    :meth:`message_rejected`
``vigilnet_equivocations_total``              counter    :meth:`equivocation`
``vigilnet_partitions_suspected``             gauge      :meth:`partitions`
``vigilnet_partitions_confirmed``             gauge      :meth:`partitions`
``vigilnet_peer_reputation{peer}``            gauge      :meth:`set_reputation`
``vigilnet_tier_latency_seconds{tier}``       histogram  :meth:`observe_latency`
============================================  =========  ======================================

Rules:

1. **Label values are bounded.**  A label value is never text a peer wrote.
   ``verdict`` and ``tier`` come from fixed vocabularies (:data:`VERDICTS`,
   :data:`TIERS`); anything else is the caller's bug
   (:class:`~vigilnet.errors.LocalProtocolError`).  ``reason`` and ``peer``
   are the runtime's own words (a reason such as ``malformed_frame``, a peer
   name from the configuration), checked against :data:`LABEL_PATTERN`, and
   at most :data:`MAX_LABEL_VALUES` distinct values each: past that, new
   values count under ``other``, so a flood of distinct reasons can never
   grow the registry without bound.
2. **Counts are integers** and only go up; a negative count is refused.
   Gauges (epoch, round, partitions, reputation) are set, not accumulated.
3. **Reputation** is exported as the float nearest to the exact score
   (:meth:`vigilnet.evidence.Reputation.score`, a Fraction); the metric is
   for people and alerts, never an input to the protocol.
4. The exposition is :func:`prometheus_client.generate_latest` of the
   registry (:meth:`NodeMetrics.exposition`), served by the status server
   at ``/metrics``.
"""

from __future__ import annotations

import re
from fractions import Fraction

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from vigilnet.errors import LocalProtocolError, ensure

__all__ = [
    "LABEL_PATTERN",
    "MAX_LABEL_VALUES",
    "OTHER",
    "ROLES",
    "TIERS",
    "VERDICTS",
    "NodeMetrics",
]

ROLES = ("hub", "regional", "monitor")
VERDICTS = ("flagged", "cleared", "undecided")
#: ``local``: a monitor's report built; ``regional``/``hub``: the SHAP tier
#: committed; ``consensus``: SDBC decided; ``epoch``: the whole epoch.
TIERS = ("local", "regional", "hub", "consensus", "epoch")
LABEL_PATTERN = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
MAX_LABEL_VALUES = 64
OTHER = "other"

_LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_ROUND_BUCKETS = (0, 1, 2, 3, 5, 8, 13)


class _BoundedLabel:
    """The distinct values seen for one label, at most ``MAX_LABEL_VALUES``."""

    __slots__ = ("_name", "_seen")

    def __init__(self, name: str) -> None:
        self._name = name
        self._seen: set[str] = set()

    def admit(self, value: str) -> str:
        ensure(
            isinstance(value, str) and LABEL_PATTERN.fullmatch(value) is not None,
            f"{self._name} label {value!r} is not of the form {LABEL_PATTERN.pattern}",
            raising=LocalProtocolError,
        )
        if value in self._seen:
            return value
        if len(self._seen) >= MAX_LABEL_VALUES:
            return OTHER
        self._seen.add(value)
        return value


def _count(n: int) -> int:
    ensure(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0,
        f"a count must be an int >= 0, got {n!r}",
        raising=LocalProtocolError,
    )
    return n


class NodeMetrics:
    """One node's metrics on its own registry (see the module docstring)."""

    def __init__(self, node: str, role: str, registry: CollectorRegistry | None = None) -> None:
        ensure(
            role in ROLES, f"role must be one of {ROLES}, got {role!r}", raising=LocalProtocolError
        )
        ensure(
            LABEL_PATTERN.fullmatch(node) is not None,
            f"node name {node!r} is not of the form {LABEL_PATTERN.pattern}",
            raising=LocalProtocolError,
        )
        self.node = node
        self.role = role
        self.registry = CollectorRegistry(auto_describe=True) if registry is None else registry
        r = self.registry
        self._info = Gauge(
            "vigilnet_node_info",
            "This node: name and role (always 1)",
            ["node", "role"],
            registry=r,
        )
        self._info.labels(node=node, role=role).set(1)
        self._epoch = Gauge("vigilnet_epoch", "The epoch this node is in", registry=r)
        self._round = Gauge("vigilnet_round", "The SDBC round this node is in", registry=r)
        self._rounds = Counter("vigilnet_rounds", "SDBC rounds entered", registry=r)
        self._decided = Counter("vigilnet_epochs_decided", "Epochs this node decided", registry=r)
        self._decision_round = Histogram(
            "vigilnet_decision_round",
            "The SDBC round in which each epoch was decided",
            buckets=_ROUND_BUCKETS,
            registry=r,
        )
        self._verdicts = Counter(
            "vigilnet_verdicts", "Final verdicts reached, by verdict", ["verdict"], registry=r
        )
        self._signatures = Counter(
            "vigilnet_signatures_verified",
            "Ed25519 signatures checked, by result (valid, invalid)",
            ["result"],
            registry=r,
        )
        self._rejected = Counter(
            "vigilnet_rejected_messages",
            "Frames and messages dropped, by the runtime's reason",
            ["reason"],
            registry=r,
        )
        self._reasons = _BoundedLabel("reason")
        self._equivocations = Counter(
            "vigilnet_equivocations",
            "Equivocation evidence (two conflicting signed messages) recorded",
            registry=r,
        )
        self._suspected = Gauge(
            "vigilnet_partitions_suspected", "Partitions currently suspected", registry=r
        )
        self._confirmed = Gauge(
            "vigilnet_partitions_confirmed", "Partitions currently confirmed", registry=r
        )
        self._reputation = Gauge(
            "vigilnet_peer_reputation",
            "Beta reputation of each peer this node aggregates (0 to 1; 0 after proof of misbehaviour)",
            ["peer"],
            registry=r,
        )
        self._peers = _BoundedLabel("peer")
        self._latency = Histogram(
            "vigilnet_tier_latency_seconds",
            "Wall-clock seconds from the epoch's start to the tier's completion",
            ["tier"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        for verdict in VERDICTS:
            self._verdicts.labels(verdict=verdict)
        for result in ("valid", "invalid"):
            self._signatures.labels(result=result)

    # -- the methods the runtime calls -------------------------------------

    def round_entered(self, epoch: int, round_: int) -> None:
        """SDBC entered ``round_`` of ``epoch`` (round 0 at the epoch's start)."""
        epoch, round_ = _count(epoch), _count(round_)
        self._epoch.set(epoch)
        self._round.set(round_)
        self._rounds.inc()

    def epoch_decided(self, epoch: int, round_: int) -> None:
        """This node decided ``epoch`` in SDBC round ``round_``."""
        epoch, round_ = _count(epoch), _count(round_)
        self._epoch.set(epoch)
        self._decided.inc()
        self._decision_round.observe(round_)

    def verdicts(self, verdict: str, n: int = 1) -> None:
        """``n`` agents reached final ``verdict`` (one of :data:`VERDICTS`)."""
        ensure(
            verdict in VERDICTS,
            f"verdict must be one of {VERDICTS}, got {verdict!r}",
            raising=LocalProtocolError,
        )
        self._verdicts.labels(verdict=verdict).inc(_count(n))

    def signatures_verified(self, valid: int = 0, invalid: int = 0) -> None:
        """``valid`` signatures verified and ``invalid`` refused."""
        valid, invalid = _count(valid), _count(invalid)
        self._signatures.labels(result="valid").inc(valid)
        self._signatures.labels(result="invalid").inc(invalid)

    def message_rejected(self, reason: str) -> None:
        """One frame or message dropped for ``reason`` (the runtime's word,
        such as ``malformed_frame``, ``unauthenticated``, ``oversize``,
        ``rate_limited``, ``queue_full``, ``protocol``)."""
        self._rejected.labels(reason=self._reasons.admit(reason)).inc()

    def equivocation(self) -> None:
        """Equivocation evidence was recorded (SDBC rule 2 or SSCR)."""
        self._equivocations.inc()

    def partitions(self, suspected: int, confirmed: int) -> None:
        """The partitions this node now suspects and has confirmed."""
        suspected, confirmed = _count(suspected), _count(confirmed)
        self._suspected.set(suspected)
        self._confirmed.set(confirmed)

    def set_reputation(self, peer: str, score: Fraction) -> None:
        """``peer``'s reputation (a Fraction in [0, 1])."""
        ensure(
            isinstance(score, Fraction | int) and 0 <= score <= 1,
            f"reputation must be in [0, 1], got {score!r}",
            raising=LocalProtocolError,
        )
        self._reputation.labels(peer=self._peers.admit(peer)).set(float(score))

    def observe_latency(self, tier: str, seconds: float) -> None:
        """The tier completed ``seconds`` after the epoch's start."""
        ensure(
            tier in TIERS, f"tier must be one of {TIERS}, got {tier!r}", raising=LocalProtocolError
        )
        ensure(seconds >= 0, f"latency must be >= 0, got {seconds!r}", raising=LocalProtocolError)
        self._latency.labels(tier=tier).observe(seconds)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)
