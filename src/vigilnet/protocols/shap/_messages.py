"""SHAP messages: the signed report, a monitor's report body, the signed
receipt an aggregator returns to each child, and the configuration they are
bound to.

Every message is a frozen, slotted, keyword-only dataclass of hashable parts
that validates its own shape on construction (a malformed message raises
:class:`ReportRejected` with reason ``MALFORMED``) and whose ``repr`` is
valid Python.

The signed report (DESIGN.md 4.2, step 4) is::

    sign_bytes = "vigilnet/shap/report/v2" 0x00 ||
                 canonical_cbor({"epoch": uint, "config_hash": bstr .size 32,
                                 "node_id": uint, "tier": "monitor" / "regional" / "hub",
                                 "root": bstr .size 32, "totals": [uint, uint, int],
                                 "body_digest": bstr .size 32})

``root`` is the commitment hash (:func:`~vigilnet.protocols.shap._commit.commitment_hash`)
and ``totals`` the sums ``(agents, evidence_count, llr_sum)`` of what the node
reports up: its entries tree's totals, or, at a hub, its inputs tree's.
``body_digest`` is :attr:`MonitorBody.digest` of the body a monitor sends with
its report (32 zero bytes for a regional or hub, which send none).

So the signature covers everything a receiver judges a report on (DESIGN.md
4.5: "anything a node is judged on is covered by that node's own
signature"): a body that does not hash to the signed digest is nobody's
provable fault (anyone can pair a genuine report with another body) and
costs the signer nothing; a body that does, and is still wrong, is the
signer's own doing.  Version 1 signed only the root, so a forger could
strike an honest monitor with a garbage body.

A receipt is signed as a whole (:data:`RECEIPT_TAG`): its sign bytes carry
the child it is for, the parent's signed report, both roots, the inclusion
proof and every input leaf, so a receipt that fails the child's check was
made by the parent, and one that does not verify is refused without alarm.

Every quantity a child contributes is bounded by :attr:`ShapConfig.child_share`
(``floor((2**63 - 1) / max_aggregation_ratio)`` per coordinate), so the sum
of at most ``max_aggregation_ratio`` children fits a signed 64-bit integer in
every coordinate: admission checks it, and combination can never overflow.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Final, TypeGuard

import numpy as np

from vigilnet.crypto import SigningKey, VerifyKey, sign_message
from vigilnet.encoding import CborValue, encode, register_tag, sign_bytes
from vigilnet.errors import BadSignatureError, LocalProtocolError, RemoteProtocolError, ensure
from vigilnet.evidence import ReputationPolicy
from vigilnet.fixedpoint import DEFAULT_LAMBDA_MAX, INT64_MAX, LAMBDA_MAX_LIMIT, MAX_EVIDENCE_COUNT
from vigilnet.merkle import HASH_SIZE, SumInclusionProof, SumNode, SumRoot
from vigilnet.protocols.shap._commit import ABSENT, LAYOUT

__all__ = [
    "BODY_DIGEST_TAG",
    "RECEIPT_TAG",
    "REPORT_TAG",
    "MonitorBody",
    "Reason",
    "Receipt",
    "Report",
    "ReportRejected",
    "ShapConfig",
    "Tier",
    "check_totals",
    "proof_map",
    "report_map",
    "root_map",
    "sign_receipt",
    "sign_report",
]

REPORT_TAG: Final = register_tag(
    "shap",
    "report",
    2,
    {"epoch", "config_hash", "node_id", "tier", "root", "totals", "body_digest"},
)
RECEIPT_TAG: Final = register_tag(
    "shap", "receipt", 1, {"child", "parent", "inputs", "entries", "proof", "leaves"}
)
#: The domain of a monitor body's digest (a hash, not a signature).
BODY_DIGEST_TAG: Final = b"vigilnet/shap/body/v1\x00"
_CBOR_INT_MIN: Final = -(1 << 64)


class Tier(enum.Enum):
    """The tier a report comes from.  A regional aggregator takes the replica
    median (it is the first tier that sees all replicas of an agent); a hub
    only adds its children's totals."""

    MONITOR = "monitor"
    REGIONAL = "regional"
    HUB = "hub"

    def __repr__(self) -> str:
        return f"Tier.{self.name}"


class Reason(enum.Enum):
    """Why a report was rejected.  ``attributable`` reasons are ones only the
    signer can cause (the report is validly signed, its signature covers the
    part found wrong, and it is still wrong), so they count against the
    signer's reputation; the others could be a forger's (``BAD_SIGNATURE``,
    ``BODY_MISMATCH``: a genuine report paired with another body), the
    network's (replay, duplicate) or our own configuration's doing."""

    MALFORMED = "malformed"
    UNREGISTERED = "unregistered"
    BAD_SIGNATURE = "bad signature"
    WRONG_TIER = "wrong tier"
    WRONG_EPOCH = "wrong epoch"
    WRONG_CONFIG = "wrong config hash"
    EPOCH_CLOSED = "epoch closed"
    BELOW_REPUTATION = "below reputation threshold"
    DUPLICATE = "duplicate report"
    FAN_IN_EXCEEDED = "fan-in bound exceeded"
    EQUIVOCATION = "equivocation"
    BODY_MISMATCH = "body does not match the signed digest"
    NOT_ADDRESSED = "receipt for another child, epoch or config"
    WRONG_AGENTS = "body does not cover the registered agents"
    OUT_OF_RANGE = "evidence out of range"
    INCONSISTENT_BODY = "body does not match the signed root"
    OMITTED_OR_ALTERED = "child's report omitted or altered"

    @property
    def attributable(self) -> bool:
        return self in _ATTRIBUTABLE

    def __repr__(self) -> str:
        return f"Reason.{self.name}"


_ATTRIBUTABLE: Final = frozenset(
    {
        Reason.EQUIVOCATION,
        Reason.WRONG_AGENTS,
        Reason.OUT_OF_RANGE,
        Reason.INCONSISTENT_BODY,
        Reason.OMITTED_OR_ALTERED,
    }
)


class ReportRejected(RemoteProtocolError):
    """A child's report (or a parent's receipt) broke the protocol.

    ``reason`` is the :class:`Reason`; ``sender`` the claimed node id (or
    ``None``).  Raising it never changes the receiver's state."""

    def __init__(self, reason: Reason, sender: int | None, detail: str = "") -> None:
        self.reason = reason
        self.sender = sender
        text = f"report from node {sender} rejected: {reason.value}"
        super().__init__(f"{text} ({detail})" if detail else text)


def _reject(condition: object, reason: Reason, sender: int | None, detail: str = "") -> None:
    if not condition:
        raise ReportRejected(reason, sender, detail)


def _is_uint(value: object, limit: int = 1 << 64) -> bool:
    return type(value) is int and 0 <= value < limit


@dataclass(frozen=True, slots=True, kw_only=True)
class ShapConfig:
    """The parameters every node of a tree agrees on; their canonical
    encoding's hash is the ``config_hash`` bound into every signed report."""

    max_aggregation_ratio: int = 10
    replicas: int = 3
    lambda_max: int = DEFAULT_LAMBDA_MAX
    reputation: ReputationPolicy = field(default_factory=ReputationPolicy)
    audit_checks: int = 16
    max_agents: int = 2000

    def __post_init__(self) -> None:
        ensure(
            _is_uint(self.max_aggregation_ratio) and self.max_aggregation_ratio >= 1,
            "max_aggregation_ratio must be >= 1",
            LocalProtocolError,
        )
        ensure(
            _is_uint(self.replicas) and self.replicas % 2 == 1,
            "replicas must be odd and >= 1",
            LocalProtocolError,
        )
        ensure(
            _is_uint(self.lambda_max) and 0 < self.lambda_max <= LAMBDA_MAX_LIMIT,
            f"lambda_max must lie in 1..{LAMBDA_MAX_LIMIT}",
            LocalProtocolError,
        )
        ensure(_is_uint(self.audit_checks), "audit_checks must be >= 0", LocalProtocolError)
        ensure(
            _is_uint(self.max_agents, 1 << 32) and self.max_agents >= 1,
            "max_agents (agents per monitor) must lie in 1..2**32 - 1",
            LocalProtocolError,
        )

    @property
    def child_share(self) -> int:
        """The most any one child may contribute to any coordinate of its
        parent's sums (agents, evidence count, and the sum of the absolute
        llr values): ``floor((2**63 - 1) / max_aggregation_ratio)``, so that
        the parent's sums over at most ``max_aggregation_ratio`` children,
        and every partial sum of its trees, fit a signed 64-bit integer."""
        return INT64_MAX // self.max_aggregation_ratio

    @property
    def byzantine_replicas(self) -> int:
        """``floor((r - 1) / 2)``: how many replicas of one agent the median tolerates."""
        return (self.replicas - 1) // 2

    def encoding(self) -> bytes:
        def fraction(value: Fraction) -> CborValue:
            return [value.numerator, value.denominator]

        rep = self.reputation
        return encode(
            {
                "max_aggregation_ratio": self.max_aggregation_ratio,
                "replicas": self.replicas,
                "lambda_max": self.lambda_max,
                "audit_checks": self.audit_checks,
                "max_agents": self.max_agents,
                "reputation_threshold": fraction(rep.threshold),
                "reputation_forgetting": fraction(rep.forgetting),
                "reputation_ban_epochs": rep.ban_epochs,
                "reputation_prior": rep.prior_consistent,
            }
        )

    @property
    def config_hash(self) -> bytes:
        return hashlib.sha256(b"vigilnet/shap/config/v1\x00" + self.encoding()).digest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """A node's signed report for one epoch."""

    epoch: int
    config_hash: bytes
    node_id: int
    tier: Tier
    root: bytes
    totals: tuple[int, int, int]
    body_digest: bytes
    signature: bytes

    def __post_init__(self) -> None:
        sender = self.node_id if _is_uint(self.node_id) else None
        _reject(_is_uint(self.node_id), Reason.MALFORMED, None, "node id is not a uint64")
        _reject(_is_uint(self.epoch), Reason.MALFORMED, sender, "epoch is not a uint64")
        _reject(isinstance(self.tier, Tier), Reason.MALFORMED, sender, "unknown tier")
        for name in ("config_hash", "root", "body_digest"):
            value = getattr(self, name)
            _reject(
                type(value) is bytes and len(value) == HASH_SIZE,
                Reason.MALFORMED,
                sender,
                f"{name} is not 32 bytes",
            )
        _reject(
            self.tier is Tier.MONITOR or self.body_digest == ABSENT,
            Reason.MALFORMED,
            sender,
            "only a monitor's report has a body digest",
        )
        _reject(type(self.signature) is bytes, Reason.MALFORMED, sender, "signature is not bytes")
        _reject(LAYOUT.accepts(self.totals), Reason.MALFORMED, sender, "totals out of range")

    def fields(self) -> dict[str, CborValue]:
        """The signed fields (the sign bytes' map)."""
        return {
            "epoch": self.epoch,
            "config_hash": self.config_hash,
            "node_id": self.node_id,
            "tier": self.tier.value,
            "root": self.root,
            "totals": list(self.totals),
            "body_digest": self.body_digest,
        }

    def verify(self, key: VerifyKey) -> None:
        """Raise :class:`ReportRejected` (``BAD_SIGNATURE``) unless signed by ``key``."""
        try:
            key.verify(sign_bytes(REPORT_TAG, self.fields()), self.signature)
        except BadSignatureError as exc:
            raise ReportRejected(Reason.BAD_SIGNATURE, self.node_id, str(exc)) from None

    @property
    def signed_content(self) -> tuple[object, ...]:
        """What two reports must share to be the same report (signature aside)."""
        return (
            self.epoch,
            self.config_hash,
            self.node_id,
            self.tier,
            self.root,
            self.totals,
            self.body_digest,
        )


def sign_report(
    key: SigningKey,
    *,
    epoch: int,
    config_hash: bytes,
    node_id: int,
    tier: Tier,
    root: bytes,
    totals: tuple[int, int, int],
    body_digest: bytes = ABSENT,
) -> Report:
    """Build and sign a report (Ed25519 is deterministic: no randomness).
    ``body_digest`` is the monitor body's :attr:`MonitorBody.digest`; a
    regional or hub leaves it absent (zeros)."""
    unsigned = Report(
        epoch=epoch,
        config_hash=config_hash,
        node_id=node_id,
        tier=tier,
        root=root,
        totals=totals,
        body_digest=body_digest,
        signature=b"",
    )
    return replace(unsigned, signature=sign_message(key, REPORT_TAG, unsigned.fields()))


def _is_cbor_int(value: object) -> bool:
    return type(value) is int and _CBOR_INT_MIN <= value < 1 << 64


_INT_ONLY: Final = frozenset({int})


def _exact_ints(values: tuple[object, ...]) -> TypeGuard[tuple[int, ...]]:
    """``all(type(v) is int for v in values)``, with one set of types."""
    return not values or set(map(type, values)) == _INT_ONLY


def _ints_in(values: tuple[object, ...], low: int, high: int) -> TypeGuard[tuple[int, ...]]:
    """``all(type(v) is int and low <= v < high for v in values)``: the
    types by one set, the range by ``min`` and ``max`` (all in C)."""
    return not values or (
        set(map(type, values)) == _INT_ONLY
        and min(values) >= low  # type: ignore[type-var, operator]
        and max(values) < high  # type: ignore[type-var, operator]
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorBody:
    """A local monitor's per-agent evidence for one epoch, sorted by agent id:
    the leaves of its entries tree, which its report's root commits to, and
    whose :attr:`digest` its report signs.

    Agent ids are uint64 (the one id domain of SHAP, end to end: wire,
    columns, tree payloads and audits all read them unsigned).  Counts and
    sums need only be CBOR integers here, so that a wrong but signed body can
    be hashed and then judged (:meth:`check_bounds`)."""

    agent_ids: tuple[int, ...]
    counts: tuple[int, ...]
    llr_sums: tuple[int, ...]
    #: ``encode(fields())`` once computed (or taken from the wire bytes it
    #: was decoded from, :func:`_wire.decode_message`); never compared
    _encoding: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.agent_ids) if type(self.agent_ids) is tuple else -1
        _reject(
            type(self.agent_ids) is tuple
            and type(self.counts) is tuple
            and type(self.llr_sums) is tuple
            and len(self.counts) == n
            and len(self.llr_sums) == n,
            Reason.MALFORMED,
            None,
            "body columns are tuples of one length",
        )
        _reject(
            _ints_in(self.counts, _CBOR_INT_MIN, 1 << 64)
            and _ints_in(self.llr_sums, _CBOR_INT_MIN, 1 << 64),
            Reason.MALFORMED,
            None,
            "body entries are not CBOR integers",
        )
        _reject(
            _ints_in(self.agent_ids, 0, 1 << 64),
            Reason.MALFORMED,
            None,
            "agent ids are not uint64",
        )
        ids = np.array(self.agent_ids, dtype=np.uint64)
        _reject(
            bool((ids[1:] > ids[:-1]).all()),
            Reason.MALFORMED,
            None,
            "agent ids are not strictly increasing",
        )

    def fields(self) -> dict[str, CborValue]:
        """The body's wire map (and its digest's preimage)."""
        return {
            "agent_ids": list(self.agent_ids),
            "counts": list(self.counts),
            "llr_sums": list(self.llr_sums),
        }

    def encoding(self) -> bytes:
        """``canonical_cbor(fields())``, encoded once per body."""
        if self._encoding is None:
            object.__setattr__(self, "_encoding", encode(self.fields()))
        assert self._encoding is not None
        return self._encoding

    @property
    def digest(self) -> bytes:
        """``SHA-256(BODY_DIGEST_TAG || canonical_cbor(fields))``: what a
        monitor's report signs as ``body_digest``."""
        return hashlib.sha256(BODY_DIGEST_TAG + self.encoding()).digest()

    def check_bounds(self, config: ShapConfig, sender: int) -> None:
        """No honest monitor sends more than ``max_agents`` entries, a
        negative or oversized count, a sum beyond ``count * lambda_max`` in
        magnitude, or a body whose counts or absolute sums add up past
        :attr:`ShapConfig.child_share` (checked in Python integers, so no
        value can wrap)."""
        _reject(
            len(self.agent_ids) <= config.max_agents,
            Reason.OUT_OF_RANGE,
            sender,
            f"{len(self.agent_ids)} entries > max_agents {config.max_agents}",
        )
        lambda_max = config.lambda_max
        counts, llrs = self.counts, self.llr_sums
        if counts and (
            min(counts) >= 0
            and max(counts) <= MAX_EVIDENCE_COUNT
            and min(llrs) >= -INT64_MAX
            and max(llrs) <= INT64_MAX
        ):
            # Every count and |sum| fits int64 and ``count * lambda_max`` is
            # at most 2**39 * 2**23: the per-entry test, vectorised, finds
            # the same first entry as the loop below.
            bad = np.flatnonzero(
                np.abs(np.array(llrs, dtype=np.int64))
                > np.array(counts, dtype=np.int64) * lambda_max
            )
            first = int(bad[0]) if bad.size else -1
        else:
            first = next(
                (
                    i
                    for i, (count, llr) in enumerate(zip(counts, llrs, strict=True))
                    if not (0 <= count <= MAX_EVIDENCE_COUNT and abs(llr) <= count * lambda_max)
                ),
                -1,
            )
        if first >= 0:
            agent, count, llr = self.agent_ids[first], counts[first], llrs[first]
            raise ReportRejected(
                Reason.OUT_OF_RANGE, sender, f"agent {agent}: count {count}, sum {llr}"
            )
        share = config.child_share
        _reject(
            sum(self.counts) <= share and sum(map(abs, self.llr_sums)) <= share,
            Reason.OUT_OF_RANGE,
            sender,
            f"the body's sums exceed the child share {share}",
        )


def check_totals(config: ShapConfig, report: Report) -> None:
    """A child's signed totals within :attr:`ShapConfig.child_share` in every
    coordinate (``OUT_OF_RANGE`` otherwise, the signer's fault)."""
    share = config.child_share
    agents, count, llr = report.totals
    _reject(
        agents <= share and count <= share and abs(llr) <= share,
        Reason.OUT_OF_RANGE,
        report.node_id,
        f"totals {report.totals} exceed the child share {share}",
    )


# --------------------------------------------------------------------------
# Wire maps of the parts a receipt carries (decoding is in _wire.py)


def report_map(report: Report) -> dict[str, CborValue]:
    """A signed report on the wire: its signed fields and its signature."""
    return {**report.fields(), "signature": report.signature}


def root_map(root: SumRoot) -> dict[str, CborValue]:
    return {"size": root.size, "hash": root.hash, "totals": list(root.totals)}


def _node_map(node: SumNode) -> dict[str, CborValue]:
    return {"hash": node.hash, "sums": list(node.sums)}


def proof_map(proof: SumInclusionProof) -> dict[str, CborValue]:
    return {
        "leaf_index": proof.leaf_index,
        "tree_size": proof.tree_size,
        "siblings": [_node_map(node) for node in proof.siblings],
    }


Leaf = tuple[int, bytes, tuple[int, int, int]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """What an aggregator returns to each accepted child (DESIGN.md 4.2,
    step 5), signed as a whole by the aggregator: the child it is for, its
    own signed report, the two trees' roots, the inclusion proof of the
    child's leaf in the inputs tree, and the list of every input leaf
    ``(node_id, root, totals)`` in tree order (at most
    ``max_aggregation_ratio`` of them), from which the child recomputes the
    inputs root and sees that node ids strictly increase: no child counted
    twice, none shown out of order."""

    child: int
    parent: Report
    inputs: SumRoot
    entries: SumRoot | None
    proof: SumInclusionProof
    leaves: tuple[Leaf, ...]
    signature: bytes

    def __post_init__(self) -> None:
        _reject(isinstance(self.parent, Report), Reason.MALFORMED, None, "parent is not a Report")
        sender = self.parent.node_id
        _reject(_is_uint(self.child), Reason.MALFORMED, sender, "child is not a uint64")
        _reject(isinstance(self.inputs, SumRoot), Reason.MALFORMED, sender, "inputs root")
        _reject(
            self.entries is None or isinstance(self.entries, SumRoot),
            Reason.MALFORMED,
            sender,
            "entries root",
        )
        _reject(
            isinstance(self.proof, SumInclusionProof), Reason.MALFORMED, sender, "inclusion proof"
        )
        _reject(
            type(self.leaves) is tuple
            and all(
                type(leaf) is tuple
                and len(leaf) == 3
                and _is_uint(leaf[0])
                and type(leaf[1]) is bytes
                and len(leaf[1]) == HASH_SIZE
                and LAYOUT.accepts(leaf[2])
                for leaf in self.leaves
            ),
            Reason.MALFORMED,
            sender,
            "input leaves",
        )
        _reject(type(self.signature) is bytes, Reason.MALFORMED, sender, "signature is not bytes")

    def fields(self) -> dict[str, CborValue]:
        """The signed fields: the whole receipt but its signature."""
        return {
            "child": self.child,
            "parent": report_map(self.parent),
            "inputs": root_map(self.inputs),
            "entries": None if self.entries is None else root_map(self.entries),
            "proof": proof_map(self.proof),
            "leaves": [[node, root, list(totals)] for node, root, totals in self.leaves],
        }

    def verify(self, key: VerifyKey) -> None:
        """Raise :class:`ReportRejected` (``BAD_SIGNATURE``) unless the whole
        receipt is signed by ``key``."""
        try:
            key.verify(sign_bytes(RECEIPT_TAG, self.fields()), self.signature)
        except BadSignatureError as exc:
            raise ReportRejected(Reason.BAD_SIGNATURE, self.parent.node_id, str(exc)) from None


def sign_receipt(
    key: SigningKey,
    *,
    child: int,
    parent: Report,
    inputs: SumRoot,
    entries: SumRoot | None,
    proof: SumInclusionProof,
    leaves: tuple[Leaf, ...],
) -> Receipt:
    """Build and sign a receipt for ``child``."""
    unsigned = Receipt(
        child=child,
        parent=parent,
        inputs=inputs,
        entries=entries,
        proof=proof,
        leaves=leaves,
        signature=b"",
    )
    return replace(unsigned, signature=sign_message(key, RECEIPT_TAG, unsigned.fields()))
