"""SDBC messages: the hub configuration, signed epoch summaries, values,
proposals and votes, with their sign bytes and wire encoding.

Every signed message is ``sign_bytes(tag, fields)`` with a tag registered
here under protocol ``sdbc`` (``vigilnet/sdbc/<message>/v1``), and every
field set carries the epoch and the configuration hash, so a signature on one
message type, epoch or configuration can never be replayed as another.

=============  =============================================================
message        signed fields
=============  =============================================================
summary        epoch, config_hash, hub, values
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
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
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
    "check_signature",
    "decode_message",
    "encode_message",
    "sign_proposal",
    "sign_summary",
    "sign_vote",
]

PREVOTE: Final = "prevote"
PRECOMMIT: Final = "precommit"

SUMMARY_TAG = register_tag("sdbc", "summary", 1, {"epoch", "config_hash", "hub", "values"})
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
    thresholds (``N - f_live``).  ``config_hash`` binds all of it."""

    members: tuple[VerifyKey, ...]
    threshold: Fraction
    f_live: int
    _hash: bytes = field(init=False, repr=False, compare=False)
    _quorum: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_quorum", quorum(self.threshold, len(self.members)))
        QuorumConfig(
            n=len(self.members),
            threshold=self.threshold,
            members=tuple(bytes(k) for k in self.members),
        )
        ensure(
            _is_int(self.f_live) and 0 <= self.f_live <= len(self.members) - self.quorum,
            f"f_live must lie in 0..N - q = {len(self.members) - self.quorum}",
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
    def config_hash(self) -> bytes:
        """SHA-256 of ``vigilnet/sdbc/config/v1``, a zero byte and the
        canonical CBOR of members, threshold and ``f_live``."""
        return self._hash

    def _compute_hash(self) -> bytes:
        return hashlib.sha256(
            b"vigilnet/sdbc/config/v1\x00"
            + encode(
                {
                    "members": tuple(bytes(k) for k in self.members),
                    "threshold": (self.threshold.numerator, self.threshold.denominator),
                    "f_live": self.f_live,
                }
            )
        ).digest()

    def proposer(self, epoch: int, round_: int) -> int:
        """Round robin over the members, shifted by the epoch."""
        return (epoch + round_) % self.n

    def with_threshold(self, threshold: Fraction) -> HubConfig:
        return HubConfig(members=self.members, threshold=threshold, f_live=self.f_live)


@dataclass(frozen=True, slots=True, kw_only=True)
class EpochSummary:
    """One hub's signed evidence summary for an epoch (small integers)."""

    epoch: int
    config_hash: bytes
    hub: int
    values: tuple[int, ...]
    signature: bytes

    def fields(self) -> dict[str, CborValue]:
        return {
            "epoch": self.epoch,
            "config_hash": self.config_hash,
            "hub": self.hub,
            "values": self.values,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Value:
    """What the hubs decide: at least ``q`` signed summaries of distinct hubs
    and their per-coordinate trimmed aggregate (``Agg(S)``), plus an
    optional threshold for the next epoch (lowering goes only this way)."""

    epoch: int
    config_hash: bytes
    summaries: tuple[EpochSummary, ...]
    aggregate: tuple[Fraction, ...]
    next_threshold: Fraction | None = None
    _hash: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(b"vigilnet/sdbc/value/v1\x00" + encode(self.fields())).digest()
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
        """SHA-256 of ``vigilnet/sdbc/value/v1``, a zero byte and the
        canonical CBOR of :meth:`fields` (computed once)."""
        return self._hash

    @staticmethod
    def build(
        config: HubConfig,
        epoch: int,
        summaries: tuple[EpochSummary, ...],
        next_threshold: Fraction | None = None,
    ) -> Value:
        ordered = tuple(sorted(summaries, key=lambda s: s.hub))
        width = len(ordered[0].values) if ordered else 0
        aggregate = tuple(
            trimmed_combination([s.values[k] for s in ordered], config.trim) for k in range(width)
        )
        return Value(
            epoch=epoch,
            config_hash=config.config_hash,
            summaries=ordered,
            aggregate=aggregate,
            next_threshold=next_threshold,
        )

    def check_valid(self, config: HubConfig, epoch: int) -> None:
        """``valid(v)`` (external validity): raise :class:`BadMessage` unless
        every summary is signed by a distinct member for this epoch and
        configuration, there are at least ``q``, and the aggregate
        recomputes exactly."""
        h = config.config_hash
        _reject(self.epoch == epoch and self.config_hash == h, "value for another epoch or config")
        _reject(
            len(self.summaries) >= config.quorum, "value below quorum", str(len(self.summaries))
        )
        hubs = [s.hub for s in self.summaries]
        _reject(hubs == sorted(set(hubs)), "summaries not of distinct hubs in order")
        widths = {len(s.values) for s in self.summaries}
        _reject(len(widths) == 1, "summaries of different widths")
        for s in self.summaries:
            _reject(0 <= s.hub < config.n, "summary from a non-member", str(s.hub))
            _reject(s.epoch == epoch and s.config_hash == h, "summary for another epoch")
            _reject(all(_is_int(x) for x in s.values), "summary values not integers")
            _reject(
                verify_signature(
                    bytes(config.members[s.hub]), sign_bytes(SUMMARY_TAG, s.fields()), s.signature
                ),
                "bad summary signature",
                f"hub {s.hub}",
            )
        expected = Value.build(config, epoch, self.summaries, self.next_threshold)
        _reject(expected.aggregate == self.aggregate, "aggregate does not recompute")
        if self.next_threshold is not None:
            nt = self.next_threshold
            _reject(Fraction(1, 2) < nt <= 1, "next threshold out of range")


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
    key: SigningKey, config: HubConfig, epoch: int, hub: int, values: tuple[int, ...]
) -> EpochSummary:
    s = EpochSummary(
        epoch=epoch, config_hash=config.config_hash, hub=hub, values=values, signature=b""
    )
    return EpochSummary(
        epoch=epoch,
        config_hash=s.config_hash,
        hub=hub,
        values=values,
        signature=key.sign(sign_bytes(SUMMARY_TAG, s.fields())),
    )


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
    _reject(set(d) == {"epoch", "config_hash", "hub", "values", "signature"}, "summary fields")
    values = d["values"]
    _reject(isinstance(values, tuple) and all(_is_int(x) for x in values), "summary values")
    _reject(_is_int(d["epoch"]) and _is_int(d["hub"]), "summary numbers")
    _reject(isinstance(d["config_hash"], bytes) and isinstance(d["signature"], bytes), "bytes")
    return EpochSummary(
        epoch=d["epoch"],
        config_hash=d["config_hash"],
        hub=d["hub"],
        values=values,
        signature=d["signature"],
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


def decode_message(data: bytes) -> Message:
    """Decode untrusted wire bytes; raise a RemoteProtocolError for anything
    malformed (signatures are checked by the node, against its config)."""
    top = decode(data)
    if not (isinstance(top, dict) and set(top) == {"type", "body"}):
        raise BadMessage("envelope fields")
    kind, body = top["type"], top["body"]
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
