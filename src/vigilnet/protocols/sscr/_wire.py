"""SSCR wire codec: canonical CBOR for every message a node sends or receives.

Every message is ``canonical_cbor({"type": <name>, "body": <map>})`` (RFC 8949
section 4.2.1 through :mod:`vigilnet.encoding`).  The bodies:

==============  ==============================================================
type            body
==============  ==============================================================
heartbeat       ``sender``
suspicion       ``peer``, ``observer`` (``observer`` suspects ``peer``)
report          ``agent``, ``source``, ``sequence``, ``count``, ``llr_sum``,
                ``signature``: one signed entry from its source
conviction      ``agent``, ``source``, ``lower``, ``higher``; each entry
                ``{sequence, count, llr_sum, signature}``
sync_request    ``sender``, ``request_time``, ``digest`` (``[agent, source,
                sequence, count, llr_sum]`` per key), ``convicted``
                (``[source, agent, [s, c, l], [s, c, l]]`` per source)
sync_response   ``sender``, ``request_time``, ``entries`` (``[agent, source,
                sequence, count, llr_sum, signature]`` per key),
                ``convictions`` (conviction bodies)
==============  ==============================================================

Canonical form: lists of keys are sorted strictly by ``(agent, source)``
(convictions by source), so there are no repeats and one message has exactly
one encoding.  Names are text of 1 to :data:`~._state.MAX_NAME_BYTES` UTF-8
bytes, signatures exactly 64 bytes, ``sequence`` in ``1 .. 2**64 - 1``,
``count`` in ``0 .. max_count`` (the configuration's), times in ``-2**63 ..
2**63 - 1``.

Limits per message type (:class:`WireLimits`, from the configuration): a
digest or a sync response holds at most ``max_agents x sources`` keys, at
most one conviction per source; every type has a byte limit that its
largest legal message fits (:meth:`WireLimits.max_bytes`) and a nesting depth
of at most 5.  :func:`decode_message` refuses everything else with
:class:`BadMessage` (a :class:`~vigilnet.errors.RemoteProtocolError`) and a
short ``reason``; signatures and protocol rules are checked by the node
(``step``), which refuses with a RemoteProtocolError too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Final, TypeAlias

from vigilnet.crypto import SIGNATURE_BYTES
from vigilnet.encoding import CborValue, decode, encode
from vigilnet.errors import RemoteProtocolError, VigilnetError
from vigilnet.evidence import EvidenceStats
from vigilnet.protocols.sscr._crdt import (
    Conviction,
    ConvictionKey,
    ConvictionSet,
    EvidenceState,
    SourceEntry,
)
from vigilnet.protocols.sscr._state import (
    MAX_NAME_BYTES,
    ConvictionArrived,
    Event,
    HeartbeatArrived,
    LocalReport,
    SscrConfig,
    SuspicionReported,
    SyncRequest,
    SyncRequestArrived,
    SyncResponse,
    SyncResponseArrived,
)

__all__ = [
    "MAX_DEPTH",
    "MESSAGE_TYPES",
    "BadMessage",
    "Heartbeat",
    "Message",
    "SourceReport",
    "WireLimits",
    "arrival",
    "decode_message",
    "encode_message",
]

#: Nesting of the deepest message (a sync response's conviction entries).
MAX_DEPTH: Final = 5
MESSAGE_TYPES: Final = (
    "heartbeat",
    "suspicion",
    "report",
    "conviction",
    "sync_request",
    "sync_response",
)
_TIME_LIMIT: Final = 1 << 63
_SEQUENCE_LIMIT: Final = 1 << 64


class BadMessage(RemoteProtocolError):
    """SSCR bytes that are not a well-formed message within the limits;
    ``reason`` is a short stable name."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class Heartbeat:
    sender: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceReport:
    """A source's signed entry on its way to the node that hosts it."""

    agent: str
    source: str
    entry: SourceEntry


Message: TypeAlias = (
    Heartbeat | SuspicionReported | SourceReport | Conviction | SyncRequest | SyncResponse
)


@dataclass(frozen=True, slots=True, kw_only=True)
class WireLimits:
    """The decoding limits of one deployment (see the module docstring)."""

    max_entries: int
    max_convictions: int
    max_count: int

    @staticmethod
    def of(config: SscrConfig) -> WireLimits:
        return WireLimits(
            max_entries=config.max_entries,
            max_convictions=len(config.sources),
            max_count=config.max_count,
        )

    def max_bytes(self, kind: str) -> int:
        """The byte limit of ``kind``: what its largest legal message takes
        (names of 256 bytes, 9-byte integers, every list full), rounded up."""
        name, number, sig = 2 + MAX_NAME_BYTES + 1, 9, 2 + SIGNATURE_BYTES
        fields = 64  # the envelope and the field names of one body
        entry = fields + 3 * number + sig
        conviction = fields + 2 * name + 2 * entry
        if kind in ("heartbeat", "suspicion"):
            return fields + 2 * name
        if kind == "report":
            return fields + 2 * name + 3 * number + sig
        if kind == "conviction":
            return fields + conviction
        if kind == "sync_request":
            key = 1 + 2 * name + 3 * number
            triple = 1 + 3 * number
            return (
                fields
                + name
                + number
                + 5 * 2
                + self.max_entries * key
                + (self.max_convictions * (1 + 2 * name + 2 * triple))
            )
        if kind == "sync_response":
            item = 1 + 2 * name + 3 * number + sig
            return (
                fields
                + name
                + number
                + 5 * 2
                + self.max_entries * item
                + (self.max_convictions * conviction)
            )
        raise BadMessage("unknown message type", repr(kind))

    def max_items(self) -> int:
        return max(self.max_entries, self.max_convictions, 8)


# -- encoding ---------------------------------------------------------------------


def _entry_body(entry: SourceEntry) -> dict[str, CborValue]:
    return {
        "sequence": entry.sequence,
        "count": entry.stats.count,
        "llr_sum": entry.stats.llr_sum,
        "signature": entry.signature,
    }


def _conviction_body(conviction: Conviction) -> dict[str, CborValue]:
    return {
        "agent": conviction.agent,
        "source": conviction.source,
        "lower": _entry_body(conviction.lower),
        "higher": _entry_body(conviction.higher),
    }


def _key_of(c: ConvictionKey) -> CborValue:
    agent, lower, higher = c
    return (agent, lower, higher)


def encode_message(message: Message) -> bytes:
    """The wire bytes of ``message`` (the one canonical encoding)."""
    body: dict[str, CborValue]
    if isinstance(message, Heartbeat):
        kind, body = "heartbeat", {"sender": message.sender}
    elif isinstance(message, SuspicionReported):
        kind, body = "suspicion", {"peer": message.peer, "observer": message.observer}
    elif isinstance(message, SourceReport):
        kind = "report"
        body = {"agent": message.agent, "source": message.source, **_entry_body(message.entry)}
    elif isinstance(message, Conviction):
        kind, body = "conviction", _conviction_body(message)
    elif isinstance(message, SyncRequest):
        kind = "sync_request"
        body = {
            "sender": message.sender,
            "request_time": message.request_time,
            "digest": tuple((a, s, *key) for (a, s), key in sorted(message.digest)),
            "convicted": tuple(
                (source, *_key_of(key))  # type: ignore[misc]
                for source, key in sorted(message.convicted)
            ),
        }
    elif isinstance(message, SyncResponse):
        kind = "sync_response"
        body = {
            "sender": message.sender,
            "request_time": message.request_time,
            "entries": tuple(
                (a, s, e.sequence, e.stats.count, e.stats.llr_sum, e.signature)
                for (a, s), e in message.delta.entries
            ),
            "convictions": tuple(_conviction_body(c) for _, c in message.convictions.convictions),
        }
    else:
        raise BadMessage("not an SSCR message", type(message).__name__)
    return encode({"type": kind, "body": body})


# -- decoding ---------------------------------------------------------------------


def _reject(condition: object, reason: str, detail: str = "") -> None:
    if not condition:
        raise BadMessage(reason, detail)


def _fields(value: object, names: set[str], what: str) -> dict[str, CborValue]:
    if not isinstance(value, dict):
        raise BadMessage(f"{what} not a map")
    _reject(set(value) == names, f"{what} fields", str(sorted(value)))
    return value


def _name(value: object, what: str) -> str:
    if not (isinstance(value, str) and 0 < len(value.encode("utf-8")) <= MAX_NAME_BYTES):
        raise BadMessage("bad name", what)
    return value


def _int(value: object, low: int, high: int, what: str) -> int:
    """An integer in ``low .. high - 1`` (never a bool)."""
    if not (type(value) is int and low <= value < high):
        raise BadMessage("integer out of range", what)
    return value


def _signature(value: object) -> bytes:
    if not (isinstance(value, bytes) and len(value) == SIGNATURE_BYTES):
        raise BadMessage("bad signature field", f"{SIGNATURE_BYTES} bytes expected")
    return value


def _triple(values: tuple[CborValue, ...], limits: WireLimits) -> tuple[int, int, int]:
    sequence = _int(values[0], 1, _SEQUENCE_LIMIT, "sequence")
    count = _int(values[1], 0, limits.max_count + 1, "count")
    bound = count * (1 << 63)  # any sum a count can carry; the clamp is the node's check
    llr_sum = _int(values[2], -bound, bound + 1, "llr_sum")
    return sequence, count, llr_sum


def _entry(value: object, limits: WireLimits) -> SourceEntry:
    body = _fields(value, {"sequence", "count", "llr_sum", "signature"}, "entry")
    sequence, count, llr_sum = _triple((body["sequence"], body["count"], body["llr_sum"]), limits)
    return SourceEntry(
        sequence=sequence,
        stats=EvidenceStats(count=count, llr_sum=llr_sum),
        signature=_signature(body["signature"]),
    )


def _conviction(value: object, limits: WireLimits) -> Conviction:
    body = _fields(value, {"agent", "source", "lower", "higher"}, "conviction")
    lower, higher = _entry(body["lower"], limits), _entry(body["higher"], limits)
    _reject(
        (lower.sequence, lower.stats.count, lower.stats.llr_sum)
        < (higher.sequence, higher.stats.count, higher.stats.llr_sum),
        "conviction entries not in order",
    )
    return Conviction(
        agent=_name(body["agent"], "agent"),
        source=_name(body["source"], "source"),
        lower=lower,
        higher=higher,
    )


def _list(value: object, limit: int, what: str) -> tuple[CborValue, ...]:
    if not isinstance(value, tuple):
        raise BadMessage(f"{what} not a list")
    _reject(len(value) <= limit, f"too many {what}", f"{len(value)} > {limit}")
    return value


def _strictly_sorted(keys: list[tuple[str, ...]], what: str) -> None:
    _reject(
        all(a < b for a, b in pairwise(keys)),
        f"{what} not in canonical order",
    )


def _time(value: object) -> int:
    return _int(value, -_TIME_LIMIT, _TIME_LIMIT, "request_time")


def _sync_request(body: dict[str, CborValue], limits: WireLimits) -> SyncRequest:
    digest = []
    for item in _list(body["digest"], limits.max_entries, "digest keys"):
        if not (isinstance(item, tuple) and len(item) == 5):
            raise BadMessage("digest key not [agent, source, sequence, count, llr_sum]")
        key = (_name(item[0], "agent"), _name(item[1], "source"))
        digest.append((key, _triple(item[2:], limits)))
    _strictly_sorted([k for k, _ in digest], "digest")
    convicted = []
    for item in _list(body["convicted"], limits.max_convictions, "convictions"):
        if not (isinstance(item, tuple) and len(item) == 4):
            raise BadMessage("conviction key not [source, agent, lower, higher]")
        triples = []
        for part in item[2:]:
            if not (isinstance(part, tuple) and len(part) == 3):
                raise BadMessage("conviction key entry not [sequence, count, llr_sum]")
            triples.append(_triple(part, limits))
        convicted.append(
            (_name(item[0], "source"), (_name(item[1], "agent"), triples[0], triples[1]))
        )
    _strictly_sorted([(s,) for s, _ in convicted], "convicted")
    return SyncRequest(
        sender=_name(body["sender"], "sender"),
        request_time=_time(body["request_time"]),
        digest=tuple(digest),
        convicted=tuple(convicted),
    )


def _sync_response(body: dict[str, CborValue], limits: WireLimits) -> SyncResponse:
    pairs = []
    for item in _list(body["entries"], limits.max_entries, "entries"):
        if not (isinstance(item, tuple) and len(item) == 6):
            raise BadMessage("entry not [agent, source, sequence, count, llr_sum, signature]")
        key = (_name(item[0], "agent"), _name(item[1], "source"))
        sequence, count, llr_sum = _triple(item[2:5], limits)
        entry = SourceEntry(
            sequence=sequence,
            stats=EvidenceStats(count=count, llr_sum=llr_sum),
            signature=_signature(item[5]),
        )
        pairs.append((key, entry))
    _strictly_sorted([k for k, _ in pairs], "entries")
    convictions = [
        _conviction(c, limits)
        for c in _list(body["convictions"], limits.max_convictions, "convictions")
    ]
    _strictly_sorted([(c.source,) for c in convictions], "convictions")
    return SyncResponse(
        sender=_name(body["sender"], "sender"),
        request_time=_time(body["request_time"]),
        delta=EvidenceState.of(pairs),
        convictions=ConvictionSet.of(convictions),
    )


def _report(body: dict[str, CborValue], limits: WireLimits) -> SourceReport:
    entry = _entry({k: body[k] for k in ("sequence", "count", "llr_sum", "signature")}, limits)
    return SourceReport(
        agent=_name(body["agent"], "agent"), source=_name(body["source"], "source"), entry=entry
    )


_BODIES: dict[str, tuple[set[str], Callable[[dict[str, CborValue], WireLimits], Message]]] = {
    "heartbeat": ({"sender"}, lambda b, _: Heartbeat(sender=_name(b["sender"], "sender"))),
    "suspicion": (
        {"peer", "observer"},
        lambda b, _: SuspicionReported(
            peer=_name(b["peer"], "peer"), observer=_name(b["observer"], "observer")
        ),
    ),
    "report": ({"agent", "source", "sequence", "count", "llr_sum", "signature"}, _report),
    "conviction": ({"agent", "source", "lower", "higher"}, _conviction),
    "sync_request": ({"sender", "request_time", "digest", "convicted"}, _sync_request),
    "sync_response": ({"sender", "request_time", "entries", "convictions"}, _sync_response),
}


def decode_message(data: bytes, limits: WireLimits) -> Message:
    """Decode untrusted wire bytes under ``limits``; raise :class:`BadMessage`
    (or :class:`~vigilnet.encoding.MalformedEncoding`, both
    RemoteProtocolErrors) for anything else."""
    if not isinstance(data, bytes):
        raise BadMessage("not bytes", type(data).__name__)
    top = decode(
        data,
        max_size=limits.max_bytes("sync_response"),
        max_depth=MAX_DEPTH,
        max_items=limits.max_items(),
    )
    body = _fields(top, {"type", "body"}, "envelope")
    kind = body["type"]
    if not (isinstance(kind, str) and kind in _BODIES):
        raise BadMessage("unknown message type", repr(kind)[:64])
    _reject(len(data) <= limits.max_bytes(kind), "too large for its type", kind)
    names, build = _BODIES[kind]
    fields = _fields(body["body"], names, kind)
    try:
        return build(fields, limits)
    except BadMessage:
        raise
    except VigilnetError as exc:  # a constructor's own check: still the sender's fault
        raise BadMessage("malformed " + kind, str(exc)) from exc


def arrival(message: Message, *, peer: str, at: int) -> Event:
    """The node event for ``message`` received from transport peer ``peer``
    at local time ``at``.  A message naming another sender than the peer it
    came from is refused."""
    if isinstance(message, Heartbeat):
        _reject(message.sender == peer, "sender is not the transport peer")
        return HeartbeatArrived(peer=peer, at=at)
    if isinstance(message, SuspicionReported):
        _reject(message.observer == peer, "observer is not the transport peer")
        return message
    if isinstance(message, SourceReport):
        return LocalReport(at=at, agent=message.agent, source=message.source, entry=message.entry)
    if isinstance(message, Conviction):
        return ConvictionArrived(peer=peer, conviction=message, at=at)
    if isinstance(message, SyncRequest):
        _reject(message.sender == peer, "sender is not the transport peer")
        return SyncRequestArrived(request=message)
    _reject(message.sender == peer, "sender is not the transport peer")
    return SyncResponseArrived(response=message, at=at)
