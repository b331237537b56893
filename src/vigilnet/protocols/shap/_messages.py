"""SHAP messages: the signed report, a monitor's report body, the receipt an
aggregator returns to each child, and the configuration they are bound to.

Every message is a frozen, slotted, keyword-only dataclass of hashable parts
that validates its own shape on construction (a malformed message raises
:class:`ReportRejected` with reason ``MALFORMED``) and whose ``repr`` is
valid Python.

The signed report (DESIGN.md 4.2, step 4) is::

    sign_bytes = "vigilnet/shap/report/v1" 0x00 ||
                 canonical_cbor({"epoch": uint, "config_hash": bstr .size 32,
                                 "node_id": uint, "tier": "monitor" / "regional" / "hub",
                                 "root": bstr .size 32, "totals": [uint, uint, int]})

``root`` is the commitment hash (:func:`~vigilnet.protocols.shap._commit.commitment_hash`)
and ``totals`` the sums ``(agents, evidence_count, llr_sum)`` of what the node
reports up: its entries tree's totals, or, at a hub, its inputs tree's.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Final

import numpy as np

from vigilnet.crypto import SigningKey, VerifyKey, sign_message
from vigilnet.encoding import CborValue, encode, register_tag
from vigilnet.errors import BadSignatureError, LocalProtocolError, RemoteProtocolError, ensure
from vigilnet.evidence import ReputationPolicy
from vigilnet.fixedpoint import DEFAULT_LAMBDA_MAX, INT64_MAX, LAMBDA_MAX_LIMIT, MAX_EVIDENCE_COUNT
from vigilnet.merkle import HASH_SIZE, SumInclusionProof, SumRoot
from vigilnet.protocols.shap._commit import LAYOUT

__all__ = [
    "REPORT_TAG",
    "MonitorBody",
    "Reason",
    "Receipt",
    "Report",
    "ReportRejected",
    "ShapConfig",
    "Tier",
    "sign_report",
]

REPORT_TAG: Final = register_tag(
    "shap", "report", 1, {"epoch", "config_hash", "node_id", "tier", "root", "totals"}
)


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
    signer can cause (the report is validly signed and still wrong), so they
    count against the signer's reputation; the others could be a forger's,
    the network's (replay, duplicate) or our own configuration's doing."""

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
    signature: bytes

    def __post_init__(self) -> None:
        sender = self.node_id if _is_uint(self.node_id) else None
        _reject(_is_uint(self.node_id), Reason.MALFORMED, None, "node id is not a uint64")
        _reject(_is_uint(self.epoch), Reason.MALFORMED, sender, "epoch is not a uint64")
        _reject(isinstance(self.tier, Tier), Reason.MALFORMED, sender, "unknown tier")
        for name in ("config_hash", "root"):
            value = getattr(self, name)
            _reject(
                type(value) is bytes and len(value) == HASH_SIZE,
                Reason.MALFORMED,
                sender,
                f"{name} is not 32 bytes",
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
        }

    def verify(self, key: VerifyKey) -> None:
        """Raise :class:`ReportRejected` (``BAD_SIGNATURE``) unless signed by ``key``."""
        from vigilnet.encoding import sign_bytes

        try:
            key.verify(sign_bytes(REPORT_TAG, self.fields()), self.signature)
        except BadSignatureError as exc:
            raise ReportRejected(Reason.BAD_SIGNATURE, self.node_id, str(exc)) from None

    @property
    def signed_content(self) -> tuple[object, ...]:
        """What two reports must share to be the same report (signature aside)."""
        return (self.epoch, self.config_hash, self.node_id, self.tier, self.root, self.totals)


def sign_report(
    key: SigningKey,
    *,
    epoch: int,
    config_hash: bytes,
    node_id: int,
    tier: Tier,
    root: bytes,
    totals: tuple[int, int, int],
) -> Report:
    """Build and sign a report (Ed25519 is deterministic: no randomness)."""
    unsigned = Report(
        epoch=epoch,
        config_hash=config_hash,
        node_id=node_id,
        tier=tier,
        root=root,
        totals=totals,
        signature=b"",
    )
    signature = sign_message(key, REPORT_TAG, unsigned.fields())
    return Report(
        epoch=epoch,
        config_hash=config_hash,
        node_id=node_id,
        tier=tier,
        root=root,
        totals=totals,
        signature=signature,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorBody:
    """A local monitor's per-agent evidence for one epoch, sorted by agent id:
    the leaves of its entries tree, which its report's root commits to."""

    agent_ids: tuple[int, ...]
    counts: tuple[int, ...]
    llr_sums: tuple[int, ...]

    def __post_init__(self) -> None:
        n = len(self.agent_ids)
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
            set(map(type, self.agent_ids)) <= {int}
            and set(map(type, self.counts)) <= {int}
            and set(map(type, self.llr_sums)) <= {int},
            Reason.MALFORMED,
            None,
            "body entries are not integers",
        )
        _reject(
            n == 0 or (min(self.agent_ids) >= 0 and max(self.agent_ids) < 1 << 64),
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

    def check_bounds(self, lambda_max: int, sender: int) -> None:
        """No honest monitor sends a negative or oversized count, or a sum
        beyond ``count * lambda_max`` in magnitude (checked vectorised, in
        int64 once the values are known to fit)."""
        if not self.counts:
            return
        fits = (
            min(self.counts) >= 0
            and max(self.counts) <= MAX_EVIDENCE_COUNT
            and min(self.llr_sums) >= -INT64_MAX
            and max(self.llr_sums) <= INT64_MAX
        )
        _reject(fits, Reason.OUT_OF_RANGE, sender, "a count or sum outside its range")
        counts = np.array(self.counts, dtype=np.int64)
        llrs = np.array(self.llr_sums, dtype=np.int64)
        # count <= 2**39 and lambda_max <= 2**23: the product fits int64.
        over = np.abs(llrs) > counts * lambda_max
        if over.any():
            at = int(np.argmax(over))
            raise ReportRejected(
                Reason.OUT_OF_RANGE,
                sender,
                f"agent {self.agent_ids[at]}: count {self.counts[at]}, sum {self.llr_sums[at]}",
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """What an aggregator returns to each accepted child (DESIGN.md 4.2,
    step 5): its own signed report, the two trees' roots, the inclusion
    proof of the child's leaf in the inputs tree, and the list of every
    input leaf ``(node_id, root, totals)`` in tree order (at most
    ``max_aggregation_ratio`` of them), from which the child recomputes the
    inputs root and sees that node ids strictly increase: no child counted
    twice, none shown out of order."""

    parent: Report
    inputs: SumRoot
    entries: SumRoot | None
    proof: SumInclusionProof
    leaves: tuple[tuple[int, bytes, tuple[int, int, int]], ...]

    def __post_init__(self) -> None:
        _reject(isinstance(self.parent, Report), Reason.MALFORMED, None, "parent is not a Report")
        sender = self.parent.node_id
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
