"""SDBC messages: the hub configuration, signed epoch summaries, values,
proposals and votes, with their sign bytes and wire encoding.

Every signed message is ``sign_bytes(tag, fields)`` with a tag registered
here under protocol ``sdbc`` (``vigilnet/sdbc/<message>/v1``), and every
field set carries the epoch and the configuration hash, so a signature on one
message type, epoch or configuration can never be replayed as another.

=============  =============================================================
message        signed fields
=============  =============================================================
summary        epoch, config_hash, hub, values, next_threshold
proposal       epoch, config_hash, round, hub, value_hash, valid_round
prevote        epoch, config_hash, round, hub, step, value_hash
precommit      epoch, config_hash, round, hub, step, value_hash
=============  =============================================================

``hub`` is the signer's index in the configuration's member list;
``value_hash`` is SHA-256 of the canonical encoding of the value's fields
(``None`` for a nil vote); ``step`` repeats the message type inside the
signed fields.  All numbers are integers; the aggregate is a tuple of exact
fractions, each encoded as ``(numerator, denominator)`` with a positive,
coprime denominator.

What a peer signs is checked against the configuration before it is kept:
a summary must have exactly ``HubConfig.summary_width`` coordinates, each in
its configured range (:meth:`HubConfig.check_summary`), and may propose only
a next-epoch threshold the configuration admits
(:meth:`HubConfig.admits_threshold`).  A value's ``next_threshold`` is not
the proposer's choice: it is :func:`agreed_threshold` of its embedded
summaries, the threshold at least ``q`` of them propose, or ``None``
(unchanged).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Final

from vigilnet.aggregation import trimmed_combination
from vigilnet.crypto import SigningKey, VerifyKey, verify_signature
from vigilnet.encoding import CborValue, decode, encode, register_tag, sign_bytes
from vigilnet.errors import LocalProtocolError, RemoteProtocolError, ensure
from vigilnet.thresholds import QuorumConfig, blocking, quorum

__all__ = [
    "PRECOMMIT",
    "PREVOTE",
    "PROPOSAL_TAG",
    "SUMMARY_TAG",
    "VOTE_TAGS",
    "BadMessage",
    "EpochSummary",
    "HubConfig",
    "Message",
    "Proposal",
    "Value",
    "Vote",
    "agreed_threshold",
    "check_signature",
    "check_summary_content",
    "decode_message",
    "encode_message",
    "sign_proposal",
    "sign_summary",
    "sign_vote",
    "wire_limits",
]

PREVOTE: Final = "prevote"
PRECOMMIT: Final = "precommit"

SUMMARY_TAG = register_tag(
    "sdbc", "summary", 2, {"epoch", "config_hash", "hub", "values", "next_threshold"}
)
PROPOSAL_TAG = register_tag(
    "sdbc", "proposal", 1, {"epoch", "config_hash", "round", "hub", "value_hash", "valid_round"}
)
VOTE_TAGS = {
    kind: register_tag(
        "sdbc", kind, 1, {"epoch", "config_hash", "round", "hub", "step", "value_hash"}
    )
    for kind in (PREVOTE, PRECOMMIT)
}


class BadMessage(RemoteProtocolError):
    """A message that is malformed, mis-signed, stale, replayed or otherwise
    not acceptable; ``reason`` is a short stable name."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


def _reject(condition: object, reason: str, detail: str = "") -> None:
    if not condition:
        raise BadMessage(reason, detail)


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True, slots=True, kw_only=True)
class HubConfig:
    """The hubs' configuration for an epoch: member keys (in order), the
    quorum threshold, the liveness budget ``f_live`` that caps raised
    thresholds (``N - f_live``), the safety bound ``f_safe`` (the number of
    Byzantine hubs agreement must survive) and the summary layout: one
    inclusive ``(low, high)`` range per coordinate, so the summary width is
    ``len(summary_ranges)``.  ``config_hash`` binds all of it.

    A configuration is refused (LocalProtocolError) unless the protocol can
    run and is safe with it: ``f_live <= N - q`` (the correct hubs still form
    a quorum), ``f_safe <= 2q - N - 1`` (two quorums share a correct hub),
    and ``q >= 2(N - q) + 1`` (a value of ``q`` summaries survives trimming
    ``N - q`` per side).  A threshold change goes through the same check
    (:meth:`admits_threshold`)."""

    members: tuple[VerifyKey, ...]
    threshold: Fraction
    f_live: int
    f_safe: int
    summary_ranges: tuple[tuple[int, int], ...]
    _hash: bytes = field(init=False, repr=False, compare=False)
    _quorum: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_quorum", quorum(self.threshold, len(self.members)))
        QuorumConfig(
            n=len(self.members),
            threshold=self.threshold,
            members=tuple(bytes(k) for k in self.members),
        )
        n, q = len(self.members), self.quorum
        ensure(
            _is_int(self.f_live) and 0 <= self.f_live <= n - q,
            f"f_live must lie in 0..N - q = {n - q} (threshold {self.threshold})",
            LocalProtocolError,
        )
        ensure(
            _is_int(self.f_safe) and 0 <= self.f_safe <= 2 * q - n - 1,
            f"f_safe must lie in 0..2q - N - 1 = {2 * q - n - 1} (threshold {self.threshold})",
            LocalProtocolError,
        )
        ensure(
            q >= 2 * (n - q) + 1,
            f"q = {q} summaries cannot be trimmed by N - q = {n - q} per side",
            LocalProtocolError,
        )
        ensure(
            isinstance(self.summary_ranges, tuple)
            and len(self.summary_ranges) >= 1
            and all(
                isinstance(r, tuple) and len(r) == 2 and _is_int(r[0]) and _is_int(r[1])
                for r in self.summary_ranges
            )
            and all(lo <= hi for lo, hi in self.summary_ranges),
            "summary_ranges must be a non-empty tuple of (low, high) integer pairs, low <= high",
            LocalProtocolError,
        )
        object.__setattr__(self, "_hash", self._compute_hash())

    @property
    def n(self) -> int:
        return len(self.members)

    @property
    def quorum(self) -> int:
        return self._quorum

    @property
    def blocking(self) -> int:
        return blocking(self.n, self.quorum)

    @property
    def quorum_cap(self) -> int:
        """The most a quorum may rise to within an epoch: ``N - f_live``."""
        return max(self.quorum, self.n - self.f_live)

    @property
    def trim(self) -> int:
        """Values trimmed per side in the aggregate: ``N - q``."""
        return self.n - self.quorum

    @property
    def summary_width(self) -> int:
        return len(self.summary_ranges)

    @property
    def config_hash(self) -> bytes:
        """SHA-256 of ``vigilnet/sdbc/config/v2``, a zero byte and the
        canonical CBOR of members, threshold, ``f_live``, ``f_safe`` and
        ``summary_ranges``."""
        return self._hash

    def _compute_hash(self) -> bytes:
        return hashlib.sha256(
            b"vigilnet/sdbc/config/v2\x00"
            + encode(
                {
                    "members": tuple(bytes(k) for k in self.members),
                    "threshold": (self.threshold.numerator, self.threshold.denominator),
                    "f_live": self.f_live,
                    "f_safe": self.f_safe,
                    "summary_ranges": self.summary_ranges,
                }
            )
        ).digest()

    def proposer(self, epoch: int, round_: int) -> int:
        """Round robin over the members, shifted by the epoch."""
        return (epoch + round_) % self.n

    def with_threshold(self, threshold: Fraction) -> HubConfig:
        """This configuration with another threshold (LocalProtocolError if
        the result cannot run or is not safe against ``f_safe``)."""
        return HubConfig(
            members=self.members,
            threshold=threshold,
            f_live=self.f_live,
            f_safe=self.f_safe,
            summary_ranges=self.summary_ranges,
        )

    def with_members(self, members: tuple[VerifyKey, ...]) -> HubConfig:
        """This configuration with other member keys, one per hub in the same
        order (a rotation or recovery of keys; LocalProtocolError if the
        number of hubs changes or a key is not a VerifyKey)."""
        ensure(
            isinstance(members, tuple)
            and len(members) == len(self.members)
            and all(isinstance(k, VerifyKey) for k in members),
            f"members: {len(self.members)} VerifyKeys, one per hub in order",
            LocalProtocolError,
        )
        return HubConfig(
            members=members,
            threshold=self.threshold,
            f_live=self.f_live,
            f_safe=self.f_safe,
            summary_ranges=self.summary_ranges,
        )

    def admits_threshold(self, threshold: object) -> bool:
        """May the next epoch run with ``threshold``?  (:meth:`with_threshold`
        would succeed.)"""
        if not isinstance(threshold, Fraction):
            return False
        try:
            self.with_threshold(threshold)
        except LocalProtocolError:
            return False
        return True

    def check_summary(self, values: object, raising: type[Exception] | None = None) -> None:
        """Raise (``BadMessage`` unless ``raising`` says otherwise) unless
        ``values`` is a tuple of ``summary_width`` integers, each in its
        configured range."""
        error = raising or BadMessage
        if not (isinstance(values, tuple) and len(values) == self.summary_width):
            width = len(values) if isinstance(values, tuple) else type(values).__name__
            raise _error(error, "summary width", f"{width} != {self.summary_width}")
        for k, (x, (lo, hi)) in enumerate(zip(values, self.summary_ranges, strict=True)):
            if not (_is_int(x) and lo <= x <= hi):
                raise _error(error, "summary value out of range", f"coordinate {k}")


def _error(kind: type[Exception], reason: str, detail: str) -> Exception:
    if issubclass(kind, BadMessage):
        return kind(reason, detail)
    return kind(f"{reason}: {detail}")


@dataclass(frozen=True, slots=True, kw_only=True)
class EpochSummary:
    """One hub's signed evidence summary for an epoch (``summary_width``
    integers in the configured ranges) and the threshold it proposes for the
    next epoch (``None``: unchanged)."""

    epoch: int
    config_hash: bytes
    hub: int
    values: tuple[int, ...]
    signature: bytes
    next_threshold: Fraction | None = None

    def fields(self) -> dict[str, CborValue]:
        nt = self.next_threshold
        return {
            "epoch": self.epoch,
            "config_hash": self.config_hash,
            "hub": self.hub,
            "values": self.values,
            "next_threshold": None if nt is None else (nt.numerator, nt.denominator),
        }


def agreed_threshold(config: HubConfig, summaries: tuple[EpochSummary, ...]) -> Fraction | None:
    """The next-epoch threshold a value of ``summaries`` carries: the one
    proposed by at least ``q`` of them (distinct hubs), if the configuration
    admits it; else ``None`` (unchanged).  Since ``q > N/2`` at most one
    threshold can have ``q`` proposers, so this is a function of the
    summaries alone: no proposer chooses it (docs/protocols/sdbc.md,
    "Threshold changes"; proved in ``proofs/thresholds.py``,
    ``thresholds.next_epoch.*``)."""
    backers: dict[Fraction, set[int]] = {}
    for s in summaries:
        if s.next_threshold is not None:
            backers.setdefault(s.next_threshold, set()).add(s.hub)
    for t in sorted(backers):
        if len(backers[t]) >= config.quorum and config.admits_threshold(t):
            return t
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Value:
    """What the hubs decide: at least ``q`` signed summaries of distinct hubs
    and their per-coordinate trimmed aggregate (``Agg(S)``), plus the
    threshold for the next epoch that a quorum of those summaries agreed on
    (:func:`agreed_threshold`; ``None``: unchanged)."""

    epoch: int
    config_hash: bytes
    summaries: tuple[EpochSummary, ...]
    aggregate: tuple[Fraction, ...]
    next_threshold: Fraction | None = None
    _hash: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(b"vigilnet/sdbc/value/v2\x00" + encode(self.fields())).digest()
        object.__setattr__(self, "_hash", digest)

    def fields(self) -> dict[str, CborValue]:
        nt = self.next_threshold
        return {
            "epoch": self.epoch,
            "config_hash": self.config_hash,
            "summaries": tuple({**s.fields(), "signature": s.signature} for s in self.summaries),
            "aggregate": tuple((a.numerator, a.denominator) for a in self.aggregate),
            "next_threshold": None if nt is None else (nt.numerator, nt.denominator),
        }

    @property
    def value_hash(self) -> bytes:
        """SHA-256 of ``vigilnet/sdbc/value/v2``, a zero byte and the
        canonical CBOR of :meth:`fields` (computed once)."""
        return self._hash

    @staticmethod
    def build(config: HubConfig, epoch: int, summaries: tuple[EpochSummary, ...]) -> Value:
        """The value of ``summaries``: sorted by hub, the configured width's
        trimmed aggregate, the agreed next threshold.  A summary of another
        width raises :class:`BadMessage` (never an IndexError)."""
        ordered = tuple(sorted(summaries, key=lambda s: s.hub))
        width = config.summary_width
        for s in ordered:
            _reject(len(s.values) == width, "summary width", f"hub {s.hub}")
        _reject(len(ordered) >= 2 * config.trim + 1, "too few summaries to trim")
        aggregate = tuple(
            trimmed_combination([s.values[k] for s in ordered], config.trim) for k in range(width)
        )
        return Value(
            epoch=epoch,
            config_hash=config.config_hash,
            summaries=ordered,
            aggregate=aggregate,
            next_threshold=agreed_threshold(config, ordered),
        )

    def check_valid(self, config: HubConfig, epoch: int) -> None:
        """``valid(v)`` (external validity): raise :class:`BadMessage` unless
        every summary is signed by a distinct member for this epoch and
        configuration and is admissible (:func:`check_summary_content`),
        there are at least ``q``, the aggregate recomputes exactly, and the
        next threshold is the one a quorum of the summaries agreed on."""
        h = config.config_hash
        _reject(self.epoch == epoch and self.config_hash == h, "value for another epoch or config")
        _reject(
            len(self.summaries) >= config.quorum, "value below quorum", str(len(self.summaries))
        )
        hubs = [s.hub for s in self.summaries]
        _reject(hubs == sorted(set(hubs)), "summaries not of distinct hubs in order")
        for s in self.summaries:
            _reject(_is_int(s.hub) and 0 <= s.hub < config.n, "summary from a non-member")
            _reject(s.epoch == epoch and s.config_hash == h, "summary for another epoch")
            check_summary_content(config, s)
            _reject(
                verify_signature(
                    bytes(config.members[s.hub]), sign_bytes(SUMMARY_TAG, s.fields()), s.signature
                ),
                "bad summary signature",
                f"hub {s.hub}",
            )
        expected = Value.build(config, epoch, self.summaries)
        _reject(expected.aggregate == self.aggregate, "aggregate does not recompute")
        _reject(
            expected.next_threshold == self.next_threshold,
            "next threshold not agreed by a quorum of the summaries",
            f"{self.next_threshold} != {expected.next_threshold}",
        )


def check_summary_content(config: HubConfig, summary: EpochSummary) -> None:
    """Raise :class:`BadMessage` unless the summary's values fit the
    configured layout and the threshold it proposes (if any) is one the
    configuration admits.  The same check at admission and in ``valid(v)``."""
    config.check_summary(summary.values)
    nt = summary.next_threshold
    _reject(
        nt is None or config.admits_threshold(nt),
        "summary proposes a threshold the configuration refuses",
        str(nt),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Proposal:
    epoch: int
    config_hash: bytes
    round: int
    hub: int
    value: Value
    valid_round: int
    signature: bytes

    def fields(self) -> dict[str, CborValue]:
        return {
            "epoch": self.epoch,
            "config_hash": self.config_hash,
            "round": self.round,
            "hub": self.hub,
            "value_hash": self.value.value_hash,
            "valid_round": self.valid_round,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Vote:
    """A prevote or a precommit; ``value_hash`` ``None`` is a nil vote."""

    kind: str
    epoch: int
    config_hash: bytes
    round: int
    hub: int
    value_hash: bytes | None
    signature: bytes

    def __post_init__(self) -> None:
        ensure(self.kind in VOTE_TAGS, f"vote kind {self.kind!r}", LocalProtocolError)

    def fields(self) -> dict[str, CborValue]:
        return {
            "epoch": self.epoch,
            "config_hash": self.config_hash,
            "round": self.round,
            "hub": self.hub,
            "step": self.kind,
            "value_hash": self.value_hash,
        }

    @property
    def slot(self) -> tuple[str, int, int, int]:
        """What a correct hub signs at most once: (kind, epoch, round, hub)."""
        return (self.kind, self.epoch, self.round, self.hub)


Message = EpochSummary | Proposal | Vote


def sign_summary(
    key: SigningKey,
    config: HubConfig,
    epoch: int,
    hub: int,
    values: tuple[int, ...],
    next_threshold: Fraction | None = None,
) -> EpochSummary:
    s = EpochSummary(
        epoch=epoch,
        config_hash=config.config_hash,
        hub=hub,
        values=values,
        signature=b"",
        next_threshold=next_threshold,
    )
    return replace(s, signature=key.sign(sign_bytes(SUMMARY_TAG, s.fields())))


def sign_proposal(
    key: SigningKey, config: HubConfig, epoch: int, round_: int, hub: int, value: Value, vr: int
) -> Proposal:
    p = Proposal(
        epoch=epoch,
        config_hash=config.config_hash,
        round=round_,
        hub=hub,
        value=value,
        valid_round=vr,
        signature=b"",
    )
    return Proposal(
        epoch=epoch,
        config_hash=p.config_hash,
        round=round_,
        hub=hub,
        value=value,
        valid_round=vr,
        signature=key.sign(sign_bytes(PROPOSAL_TAG, p.fields())),
    )


def sign_vote(
    key: SigningKey,
    config: HubConfig,
    kind: str,
    epoch: int,
    round_: int,
    hub: int,
    value_hash: bytes | None,
) -> Vote:
    v = Vote(
        kind=kind,
        epoch=epoch,
        config_hash=config.config_hash,
        round=round_,
        hub=hub,
        value_hash=value_hash,
        signature=b"",
    )
    return Vote(
        kind=kind,
        epoch=epoch,
        config_hash=v.config_hash,
        round=round_,
        hub=hub,
        value_hash=value_hash,
        signature=key.sign(sign_bytes(VOTE_TAGS[kind], v.fields())),
    )


def check_signature(config: HubConfig, message: Message) -> None:
    """Raise :class:`BadMessage` unless ``message`` is signed by the member it
    names (``hub``), under its own tag."""
    _reject(_is_int(message.hub) and 0 <= message.hub < config.n, "unknown signer")
    if isinstance(message, EpochSummary):
        tag = SUMMARY_TAG
    elif isinstance(message, Proposal):
        tag = PROPOSAL_TAG
    else:
        tag = VOTE_TAGS[message.kind]
    _reject(
        isinstance(message.signature, bytes)
        and verify_signature(
            bytes(config.members[message.hub]), sign_bytes(tag, message.fields()), message.signature
        ),
        "bad signature",
        f"{type(message).__name__} from hub {message.hub}",
    )


# -- wire encoding -----------------------------------------------------------


def _frac(pair: object) -> Fraction:
    if not (isinstance(pair, tuple) and len(pair) == 2):
        raise BadMessage("fraction not a pair")
    num, den = pair
    _reject(_is_int(num) and _is_int(den) and den > 0, "fraction parts")
    f = Fraction(num, den)
    _reject(f.denominator == den, "fraction not in lowest terms")
    return f


def _summary_from(d: object) -> EpochSummary:
    if not isinstance(d, dict):
        raise BadMessage("summary not a map")
    _reject(
        set(d) == {"epoch", "config_hash", "hub", "values", "next_threshold", "signature"},
        "summary fields",
    )
    values = d["values"]
    _reject(isinstance(values, tuple) and all(_is_int(x) for x in values), "summary values")
    _reject(_is_int(d["epoch"]) and _is_int(d["hub"]), "summary numbers")
    _reject(isinstance(d["config_hash"], bytes) and isinstance(d["signature"], bytes), "bytes")
    nt = d["next_threshold"]
    return EpochSummary(
        epoch=d["epoch"],
        config_hash=d["config_hash"],
        hub=d["hub"],
        values=values,
        signature=d["signature"],
        next_threshold=None if nt is None else _frac(nt),
    )


def _value_from(d: object) -> Value:
    if not isinstance(d, dict):
        raise BadMessage("value not a map")
    _reject(
        set(d) == {"epoch", "config_hash", "summaries", "aggregate", "next_threshold"},
        "value fields",
    )
    _reject(isinstance(d["summaries"], tuple) and isinstance(d["aggregate"], tuple), "value lists")
    _reject(_is_int(d["epoch"]) and isinstance(d["config_hash"], bytes), "value header")
    nt = d["next_threshold"]
    return Value(
        epoch=d["epoch"],
        config_hash=d["config_hash"],
        summaries=tuple(_summary_from(s) for s in d["summaries"]),
        aggregate=tuple(_frac(a) for a in d["aggregate"]),
        next_threshold=None if nt is None else _frac(nt),
    )


def _get_int(d: dict[str, CborValue], key: str) -> int:
    value = d[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadMessage("field not an integer", key)
    return value


def _get_bytes(d: dict[str, CborValue], key: str) -> bytes:
    value = d[key]
    if not isinstance(value, bytes):
        raise BadMessage("field not bytes", key)
    return value


def encode_message(message: Message) -> bytes:
    """The wire bytes: canonical CBOR of ``{"type", "body"}``."""
    body: dict[str, CborValue]
    if isinstance(message, EpochSummary):
        kind = "summary"
        body = {**message.fields(), "signature": message.signature}
    elif isinstance(message, Proposal):
        kind = "proposal"
        body = {
            **{k: v for k, v in message.fields().items() if k != "value_hash"},
            "value": message.value.fields(),
            "signature": message.signature,
        }
    else:
        kind = message.kind
        body = {**message.fields(), "signature": message.signature}
    return encode({"type": kind, "body": body})


#: Containers nest at most this deep in an SDBC message: envelope > body >
#: value > summaries > summary > values.
_WIRE_DEPTH: Final = 6


def wire_limits(config: HubConfig) -> dict[str, int]:
    """The byte limit of each message type under ``config`` (see
    :func:`_wire_limits`; computed once per configuration)."""
    return dict(_wire_limits(config))


@functools.lru_cache(maxsize=64)
def _wire_limits(config: HubConfig) -> tuple[tuple[str, int], ...]:
    """The byte limit of each message type under ``config``: the size of the
    largest message of that type it allows (every integer at its longest
    CBOR encoding, a proposal's value carrying a summary of every hub).  A
    vote is under 250 bytes; a summary grows with the summary width, a
    proposal with the width and ``N``."""
    big, low = (1 << 64) - 1, -(1 << 64)
    digest, signature = bytes(32), bytes(64)
    width, n = config.summary_width, len(config.members)
    summary: dict[str, CborValue] = {
        "epoch": big,
        "config_hash": digest,
        "hub": big,
        "values": (low,) * width,
        "next_threshold": (big, big),
        "signature": signature,
    }
    vote: dict[str, CborValue] = {
        "epoch": big,
        "config_hash": digest,
        "round": big,
        "hub": big,
        "step": PRECOMMIT,
        "value_hash": digest,
        "signature": signature,
    }
    proposal: dict[str, CborValue] = {
        "epoch": big,
        "config_hash": digest,
        "round": big,
        "hub": big,
        "valid_round": low,
        "signature": signature,
        "value": {
            "epoch": big,
            "config_hash": digest,
            "summaries": (summary,) * n,
            "aggregate": ((low, big),) * width,
            "next_threshold": (big, big),
        },
    }
    largest = {"summary": summary, "proposal": proposal, PREVOTE: vote, PRECOMMIT: vote}
    return tuple(
        (kind, len(encode({"type": kind, "body": body}))) for kind, body in largest.items()
    )


def decode_message(data: bytes, config: HubConfig | None = None) -> Message:
    """Decode untrusted wire bytes; raise a RemoteProtocolError for anything
    malformed (signatures are checked by the node, against its config).

    With ``config``, the per-type limits of :func:`wire_limits` apply: the
    bytes are decoded under the largest of them (and nesting
    ``_WIRE_DEPTH``, at most ``max(N, width)`` items per container), then
    refused as ``message too large`` if they exceed their own type's limit
    (so a vote is never more than a vote's size).  Without it only the
    encoding's general limits apply (for vectors and tools that have no
    configuration)."""
    if config is None:
        top = decode(data)
    else:
        limits = dict(_wire_limits(config))
        top = decode(
            data,
            max_size=max(limits.values()),
            max_depth=_WIRE_DEPTH,
            max_items=max(len(config.members), config.summary_width, 8),
        )
    if not (isinstance(top, dict) and set(top) == {"type", "body"}):
        raise BadMessage("envelope fields")
    kind, body = top["type"], top["body"]
    limit = limits.get(kind, 0) if config is not None and isinstance(kind, str) else 0
    if limit and len(data) > limit:
        raise BadMessage("message too large", f"{len(data)} bytes > {limit} for {kind!r}")
    if not isinstance(body, dict):
        raise BadMessage("body not a map")
    if kind == "summary":
        return _summary_from(body)
    if kind == "proposal":
        _reject(
            set(body)
            == {"epoch", "config_hash", "round", "hub", "value", "valid_round", "signature"},
            "proposal fields",
        )
        for k in ("epoch", "round", "hub", "valid_round"):
            _reject(_is_int(body[k]), f"proposal {k}")
        _reject(
            isinstance(body["signature"], bytes) and isinstance(body["config_hash"], bytes), "bytes"
        )
        return Proposal(
            epoch=_get_int(body, "epoch"),
            config_hash=_get_bytes(body, "config_hash"),
            round=_get_int(body, "round"),
            hub=_get_int(body, "hub"),
            value=_value_from(body["value"]),
            valid_round=_get_int(body, "valid_round"),
            signature=_get_bytes(body, "signature"),
        )
    if not (isinstance(kind, str) and kind in VOTE_TAGS):
        raise BadMessage("unknown message type", repr(kind))
    _reject(
        set(body) == {"epoch", "config_hash", "round", "hub", "step", "value_hash", "signature"},
        "vote fields",
    )
    _reject(body["step"] == kind, "vote step differs from its type")
    for k in ("epoch", "round", "hub"):
        _reject(_is_int(body[k]), f"vote {k}")
    vh = body["value_hash"]
    _reject(vh is None or (isinstance(vh, bytes) and len(vh) == 32), "vote value hash")
    _reject(
        isinstance(body["signature"], bytes) and isinstance(body["config_hash"], bytes), "bytes"
    )
    return Vote(
        kind=kind,
        epoch=_get_int(body, "epoch"),
        config_hash=_get_bytes(body, "config_hash"),
        round=_get_int(body, "round"),
        hub=_get_int(body, "hub"),
        value_hash=None if vh is None else _get_bytes(body, "value_hash"),
        signature=_get_bytes(body, "signature"),
    )
