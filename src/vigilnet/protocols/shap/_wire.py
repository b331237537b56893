"""SHAP wire codec: canonical CBOR for every message a SHAP node sends,
with limits per message type computed from the configuration.

Every message travels as ``canonical_cbor({"type": T, "body": B})``
(:mod:`vigilnet.encoding`); nothing a peer sends is a bare Python object.
The three types and their bodies (``uint`` is ``0 .. 2**64 - 1``, ``int``
any CBOR integer, ``hash`` a 32-byte string, ``sig`` a 64-byte string)::

    T = "report"   B = {"report": REPORT, "monitor_body": null / MONITOR_BODY}
    T = "receipt"  B = {"child": uint, "parent": REPORT, "inputs": ROOT,
                        "entries": null / ROOT, "proof": PROOF,
                        "leaves": [* [uint, hash, TOTALS]], "signature": sig}
    T = "opening"  B = {"agent_id": uint, "count": uint, "llr_sum": int,
                        "entry_proof": PROOF, "replicas": [* REPLICA],
                        "next_entry": null / [uint, uint, int],
                        "next_proof": null / PROOF}

    REPORT       = {"epoch": uint, "config_hash": hash, "node_id": uint,
                    "tier": "monitor" / "regional" / "hub", "root": hash,
                    "totals": TOTALS, "body_digest": hash, "signature": sig}
    MONITOR_BODY = {"agent_ids": [* uint], "counts": [* int], "llr_sums": [* int]}
    ROOT         = {"size": uint, "hash": hash, "totals": TOTALS}
    PROOF        = {"leaf_index": uint, "tree_size": uint,
                    "siblings": [* {"hash": hash, "sums": TOTALS}]}
    REPLICA      = {"monitor": REPORT, "monitor_entries": ROOT, "count": uint,
                    "llr_sum": int, "entry_proof": PROOF, "input_proof": PROOF}
    TOTALS       = [uint, uint, int]      (in the Merkle-sum layout's ranges)

A ``"report"`` decodes to the :class:`ReceiveReport` event an aggregator
steps on, a ``"receipt"`` to a :class:`Receipt` (the child's
:class:`ReceiveReceipt`), an ``"opening"`` to an :class:`AuditOpening`.
A receipt's sign bytes are its body without ``"signature"``.

Limits (:class:`WireLimits`, from :class:`ShapConfig`): a monitor body has at
most ``max_agents`` entries; a receipt at most ``max_aggregation_ratio``
leaves; an opening exactly at most ``replicas`` replicas; a proof at most as
many siblings as the depth of the largest tree it can be for (the inputs
tree of ``max_aggregation_ratio`` leaves; a monitor's entries tree of
``max_agents``; a regional's of ``max_aggregation_ratio * max_agents``); and
each message type at most the size of the largest message of that type the
configuration allows (:func:`wire_limits` computes it by encoding that
message).  :func:`decode_message` refuses anything else with a
:class:`~vigilnet.errors.RemoteProtocolError`: :class:`MalformedEncoding`
for bytes that are not canonical CBOR within the limits, and
:class:`ReportRejected` with reason ``MALFORMED`` for a well-formed value
that is not a SHAP message.  Signatures are checked by the receiving node,
which knows the keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias

from vigilnet.encoding import DEFAULT_MAX_SIZE, CborValue, decode, encode, encode_raw_map
from vigilnet.errors import LocalProtocolError
from vigilnet.merkle import HASH_SIZE, SumInclusionProof, SumNode, SumRoot
from vigilnet.protocols.shap._combine import AuditOpening, ReplicaOpening
from vigilnet.protocols.shap._commit import LAYOUT
from vigilnet.protocols.shap._messages import (
    MonitorBody,
    Reason,
    Receipt,
    Report,
    ReportRejected,
    ShapConfig,
    Tier,
    _exact_ints,
    _ints_in,
    proof_map,
    report_map,
    root_map,
)
from vigilnet.protocols.shap._state import ReceiveReport

__all__ = [
    "MESSAGE_TYPES",
    "SIGNATURE_SIZE",
    "WireLimits",
    "WireMessage",
    "decode_message",
    "encode_message",
    "wire_limits",
]

WireMessage: TypeAlias = ReceiveReport | Receipt | AuditOpening

MESSAGE_TYPES: Final = ("report", "receipt", "opening")
SIGNATURE_SIZE: Final = 64
_MAX_DEPTH: Final = 8  # envelope > body > replicas > replica > proof > siblings > node > sums


def _depth(size: int) -> int:
    """Siblings on the longest audit path of a tree of ``size`` leaves."""
    return max(size - 1, 0).bit_length()


@dataclass(frozen=True, slots=True, kw_only=True)
class WireLimits:
    """What :func:`decode_message` admits under one configuration."""

    max_body_entries: int
    max_leaves: int
    max_replicas: int
    inputs_depth: int
    monitor_depth: int
    regional_depth: int
    max_size: dict[str, int]

    @property
    def max_items(self) -> int:
        return max(self.max_body_entries, self.max_leaves, self.max_replicas, 8)


def wire_limits(config: ShapConfig) -> WireLimits:
    """The limits of ``config``; sizes are those of the largest message of
    each type (every integer at its longest encoding)."""
    shape = WireLimits(
        max_body_entries=config.max_agents,
        max_leaves=config.max_aggregation_ratio,
        max_replicas=config.replicas,
        inputs_depth=_depth(config.max_aggregation_ratio),
        monitor_depth=_depth(config.max_agents),
        regional_depth=_depth(config.max_aggregation_ratio * config.max_agents),
        max_size={},
    )
    big = (1 << 64) - 1
    low = -(1 << 64)
    digest = bytes(HASH_SIZE)
    totals: list[CborValue] = [big, big, low]
    report: dict[str, CborValue] = {
        "epoch": big,
        "config_hash": digest,
        "node_id": big,
        "tier": "regional",
        "root": digest,
        "totals": totals,
        "body_digest": digest,
        "signature": bytes(SIGNATURE_SIZE),
    }
    root: dict[str, CborValue] = {"size": big, "hash": digest, "totals": totals}

    def proof(depth: int) -> dict[str, CborValue]:
        node: dict[str, CborValue] = {"hash": digest, "sums": totals}
        return {"leaf_index": big, "tree_size": big, "siblings": [node] * depth}

    n = shape.max_body_entries
    largest: dict[str, CborValue] = {
        "report": {
            "report": report,
            "monitor_body": {"agent_ids": [big] * n, "counts": [big] * n, "llr_sums": [low] * n},
        },
        "receipt": {
            "child": big,
            "parent": report,
            "inputs": root,
            "entries": root,
            "proof": proof(shape.inputs_depth),
            "leaves": [[big, digest, totals]] * shape.max_leaves,
            "signature": bytes(SIGNATURE_SIZE),
        },
        "opening": {
            "agent_id": big,
            "count": big,
            "llr_sum": low,
            "entry_proof": proof(shape.regional_depth),
            "replicas": [
                {
                    "monitor": report,
                    "monitor_entries": root,
                    "count": big,
                    "llr_sum": low,
                    "entry_proof": proof(shape.monitor_depth),
                    "input_proof": proof(shape.inputs_depth),
                }
            ]
            * shape.max_replicas,
            "next_entry": [big, big, low],
            "next_proof": proof(shape.regional_depth),
        },
    }
    sizes = {kind: len(encode({"type": kind, "body": body})) for kind, body in largest.items()}
    return WireLimits(
        max_body_entries=shape.max_body_entries,
        max_leaves=shape.max_leaves,
        max_replicas=shape.max_replicas,
        inputs_depth=shape.inputs_depth,
        monitor_depth=shape.monitor_depth,
        regional_depth=shape.regional_depth,
        max_size=sizes,
    )


# --------------------------------------------------------------------------
# Encoding


def _body_map(body: MonitorBody | None) -> CborValue:
    return None if body is None else body.fields()


def _opening_map(opening: AuditOpening) -> dict[str, CborValue]:
    return {
        "agent_id": opening.agent_id,
        "count": opening.count,
        "llr_sum": opening.llr_sum,
        "entry_proof": proof_map(opening.entry_proof),
        "replicas": [
            {
                "monitor": report_map(replica.monitor),
                "monitor_entries": root_map(replica.monitor_entries),
                "count": replica.count,
                "llr_sum": replica.llr_sum,
                "entry_proof": proof_map(replica.entry_proof),
                "input_proof": proof_map(replica.input_proof),
            }
            for replica in opening.replicas
        ],
        "next_entry": None if opening.next_entry is None else list(opening.next_entry),
        "next_proof": None if opening.next_proof is None else proof_map(opening.next_proof),
    }


def _report_prefix(report: Report) -> bytes:
    """The bytes of a report message up to its monitor body: the canonical
    order is ``body`` < ``type`` outside, ``report`` < ``monitor_body``
    inside (:func:`encode_raw_map` orders them), so the body is followed
    only by :data:`_REPORT_SUFFIX`."""
    outer = encode_raw_map({"body": b"", "type": encode("report")})
    inner = encode_raw_map({"report": encode(report_map(report)), "monitor_body": b""})
    assert outer.endswith(_REPORT_SUFFIX) and inner.endswith(_BODY_KEY)
    return outer[: -len(_REPORT_SUFFIX)] + inner


_REPORT_SUFFIX: Final = encode("type") + encode("report")
_BODY_KEY: Final = encode("monitor_body")


def encode_message(message: WireMessage) -> bytes:
    """The wire bytes of ``message``: ``canonical_cbor({"type", "body"})``."""
    body: dict[str, CborValue]
    if isinstance(message, ReceiveReport) and message.body is not None:
        # The body's encoding spliced in (the monitor has it from the
        # digest it signed): the bytes of the branch below, encoded once.
        try:
            spliced = _report_prefix(message.report) + message.body.encoding() + _REPORT_SUFFIX
        except LocalProtocolError:
            spliced = b""  # beyond a limit: the branch below refuses it, and says why
        if spliced and len(spliced) <= DEFAULT_MAX_SIZE:
            return spliced
    if isinstance(message, ReceiveReport):
        kind = "report"
        body = {"report": report_map(message.report), "monitor_body": _body_map(message.body)}
    elif isinstance(message, Receipt):
        kind = "receipt"
        body = {**message.fields(), "signature": message.signature}
    else:
        kind = "opening"
        body = _opening_map(message)
    return encode({"type": kind, "body": body})


# --------------------------------------------------------------------------
# Decoding: every field checked for type and range before anything is built


def _malformed(what: str) -> ReportRejected:
    return ReportRejected(Reason.MALFORMED, None, what)


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise _malformed(what)


def _map(value: CborValue, keys: frozenset[str], what: str) -> dict[str, CborValue]:
    if not isinstance(value, dict):
        raise _malformed(f"{what} is not a map")
    _require(set(value) == keys, f"{what} fields are not {sorted(keys)}")
    return value


def _array(value: CborValue, limit: int, what: str) -> tuple[CborValue, ...]:
    if not isinstance(value, tuple):
        raise _malformed(f"{what} is not an array")
    _require(len(value) <= limit, f"{what} has more than {limit} items")
    return value


def _uint(value: CborValue, what: str) -> int:
    if type(value) is not int or not 0 <= value < 1 << 64:
        raise _malformed(f"{what} is not a uint64")
    return value


def _int(value: CborValue, what: str) -> int:
    if type(value) is not int:
        raise _malformed(f"{what} is not an integer")
    return value


def _bytes(value: CborValue, size: int, what: str) -> bytes:
    if type(value) is not bytes or len(value) != size:
        raise _malformed(f"{what} is not {size} bytes")
    return value


def _totals(value: CborValue, what: str) -> tuple[int, int, int]:
    items = _array(value, 3, what)
    _require(len(items) == 3, f"{what} is not three sums")
    sums = (_int(items[0], what), _int(items[1], what), _int(items[2], what))
    _require(LAYOUT.accepts(sums), f"{what} out of the layout's ranges")
    return sums


_REPORT_KEYS: Final = frozenset(
    {"epoch", "config_hash", "node_id", "tier", "root", "totals", "body_digest", "signature"}
)
_TIERS: Final = {tier.value: tier for tier in Tier}


def _report(value: CborValue) -> Report:
    fields = _map(value, _REPORT_KEYS, "report")
    tier = fields["tier"]
    if not isinstance(tier, str) or tier not in _TIERS:
        raise _malformed("report tier")
    return Report(
        epoch=_uint(fields["epoch"], "epoch"),
        config_hash=_bytes(fields["config_hash"], HASH_SIZE, "config_hash"),
        node_id=_uint(fields["node_id"], "node_id"),
        tier=_TIERS[tier],
        root=_bytes(fields["root"], HASH_SIZE, "root"),
        totals=_totals(fields["totals"], "totals"),
        body_digest=_bytes(fields["body_digest"], HASH_SIZE, "body_digest"),
        signature=_bytes(fields["signature"], SIGNATURE_SIZE, "signature"),
    )


def _monitor_body(value: CborValue, limits: WireLimits) -> MonitorBody:
    fields = _map(value, frozenset({"agent_ids", "counts", "llr_sums"}), "monitor body")
    n = limits.max_body_entries
    agents = _array(fields["agent_ids"], n, "agent_ids")
    counts = _array(fields["counts"], n, "counts")
    llrs = _array(fields["llr_sums"], n, "llr_sums")
    # Whole columns checked in C first; a bad one takes the loop that names it.
    return MonitorBody(
        agent_ids=(
            agents if _ints_in(agents, 0, 1 << 64) else tuple(_uint(a, "agent id") for a in agents)
        ),
        counts=counts if _exact_ints(counts) else tuple(_int(c, "count") for c in counts),
        llr_sums=llrs if _exact_ints(llrs) else tuple(_int(v, "llr sum") for v in llrs),
    )


def _root(value: CborValue, what: str) -> SumRoot:
    fields = _map(value, frozenset({"size", "hash", "totals"}), what)
    return SumRoot(
        size=_uint(fields["size"], f"{what} size"),
        hash=_bytes(fields["hash"], HASH_SIZE, f"{what} hash"),
        totals=_totals(fields["totals"], f"{what} totals"),
    )


def _proof(value: CborValue, depth: int, what: str) -> SumInclusionProof:
    fields = _map(value, frozenset({"leaf_index", "tree_size", "siblings"}), what)
    siblings = []
    for node in _array(fields["siblings"], depth, f"{what} siblings"):
        node_fields = _map(node, frozenset({"hash", "sums"}), f"{what} sibling")
        siblings.append(
            SumNode(
                hash=_bytes(node_fields["hash"], HASH_SIZE, f"{what} sibling hash"),
                sums=_totals(node_fields["sums"], f"{what} sibling sums"),
            )
        )
    return SumInclusionProof(
        leaf_index=_uint(fields["leaf_index"], f"{what} leaf index"),
        tree_size=_uint(fields["tree_size"], f"{what} tree size"),
        siblings=tuple(siblings),
    )


def _decode_report(body: CborValue, limits: WireLimits) -> ReceiveReport:
    fields = _map(body, frozenset({"report", "monitor_body"}), "report message")
    report = _report(fields["report"])
    raw = fields["monitor_body"]
    return ReceiveReport(report=report, body=None if raw is None else _monitor_body(raw, limits))


_RECEIPT_KEYS: Final = frozenset(
    {"child", "parent", "inputs", "entries", "proof", "leaves", "signature"}
)


def _decode_receipt(body: CborValue, limits: WireLimits) -> Receipt:
    fields = _map(body, _RECEIPT_KEYS, "receipt")
    leaves = []
    for leaf in _array(fields["leaves"], limits.max_leaves, "leaves"):
        items = _array(leaf, 3, "leaf")
        _require(len(items) == 3, "a leaf is [node_id, root, totals]")
        leaves.append(
            (
                _uint(items[0], "leaf node id"),
                _bytes(items[1], HASH_SIZE, "leaf root"),
                _totals(items[2], "leaf totals"),
            )
        )
    entries = fields["entries"]
    return Receipt(
        child=_uint(fields["child"], "child"),
        parent=_report(fields["parent"]),
        inputs=_root(fields["inputs"], "inputs root"),
        entries=None if entries is None else _root(entries, "entries root"),
        proof=_proof(fields["proof"], limits.inputs_depth, "proof"),
        leaves=tuple(leaves),
        signature=_bytes(fields["signature"], SIGNATURE_SIZE, "signature"),
    )


_OPENING_KEYS: Final = frozenset(
    {"agent_id", "count", "llr_sum", "entry_proof", "replicas", "next_entry", "next_proof"}
)
_REPLICA_KEYS: Final = frozenset(
    {"monitor", "monitor_entries", "count", "llr_sum", "entry_proof", "input_proof"}
)


def _entry(count: CborValue, llr: CborValue, what: str) -> tuple[int, int]:
    sums = (1, _uint(count, f"{what} count"), _int(llr, f"{what} llr sum"))
    _require(LAYOUT.accepts(sums), f"{what} out of the layout's ranges")
    return sums[1], sums[2]


def _decode_opening(body: CborValue, limits: WireLimits) -> AuditOpening:
    fields = _map(body, _OPENING_KEYS, "opening")
    replicas = []
    for item in _array(fields["replicas"], limits.max_replicas, "replicas"):
        replica = _map(item, _REPLICA_KEYS, "replica")
        count, llr = _entry(replica["count"], replica["llr_sum"], "replica")
        replicas.append(
            ReplicaOpening(
                monitor=_report(replica["monitor"]),
                monitor_entries=_root(replica["monitor_entries"], "monitor entries root"),
                count=count,
                llr_sum=llr,
                entry_proof=_proof(replica["entry_proof"], limits.monitor_depth, "replica proof"),
                input_proof=_proof(replica["input_proof"], limits.inputs_depth, "input proof"),
            )
        )
    count, llr = _entry(fields["count"], fields["llr_sum"], "entry")
    raw_next, raw_proof = fields["next_entry"], fields["next_proof"]
    next_entry: tuple[int, int, int] | None = None
    if raw_next is not None:
        items = _array(raw_next, 3, "next entry")
        _require(len(items) == 3, "next entry is [agent_id, count, llr_sum]")
        next_count, next_llr = _entry(items[1], items[2], "next entry")
        next_entry = (_uint(items[0], "next agent id"), next_count, next_llr)
    return AuditOpening(
        agent_id=_uint(fields["agent_id"], "agent id"),
        count=count,
        llr_sum=llr,
        entry_proof=_proof(fields["entry_proof"], limits.regional_depth, "entry proof"),
        replicas=tuple(replicas),
        next_entry=next_entry,
        next_proof=(
            None
            if raw_proof is None
            else _proof(raw_proof, limits.regional_depth, "next entry proof")
        ),
    )


_DECODERS: Final[dict[str, Callable[[CborValue, WireLimits], WireMessage]]] = {
    "report": _decode_report,
    "receipt": _decode_receipt,
    "opening": _decode_opening,
}


def decode_message(
    data: bytes, config: ShapConfig, limits: WireLimits | None = None
) -> WireMessage:
    """Decode untrusted wire bytes under ``config``'s limits (pass
    ``limits=wire_limits(config)`` to compute them once).  Raises a
    :class:`~vigilnet.errors.RemoteProtocolError` for anything that is not
    one well-formed SHAP message within them; signatures are not checked
    here."""
    limits = limits or wire_limits(config)
    top = decode(
        data,
        max_size=max(limits.max_size.values()),
        max_depth=_MAX_DEPTH,
        max_items=limits.max_items,
    )
    envelope = _map(top, frozenset({"type", "body"}), "message")
    kind = envelope["type"]
    if not isinstance(kind, str) or kind not in _DECODERS:
        raise _malformed(f"unknown message type {kind!r}")
    _require(
        len(data) <= limits.max_size[kind],
        f"{len(data)} bytes exceed the {kind} limit {limits.max_size[kind]}",
    )
    message = _DECODERS[kind](envelope["body"], limits)
    if isinstance(message, ReceiveReport) and message.body is not None:
        # ``data`` is canonical, so it is the spliced encoding of what it
        # decoded to: the body's own encoding lies between the prefix and
        # the suffix, and its digest need not encode it again.
        prefix = _report_prefix(message.report)
        if data.startswith(prefix) and data.endswith(_REPORT_SUFFIX):
            raw = data[len(prefix) : len(data) - len(_REPORT_SUFFIX)]
            object.__setattr__(message.body, "_encoding", raw)
    return message
