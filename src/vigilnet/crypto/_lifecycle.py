"""Operational keys that rotate, are revoked and are recovered, and the
registry that says which key of a node was valid at an epoch.

Theory of operation
===================

Every node has an *identity* key (its root key: the one split k-of-n with
:func:`~vigilnet.crypto.split_signing_key` for disaster recovery, kept
offline) and a chain of *operational* keys, the keys that sign protocol
messages.  Each operational key comes with a :class:`KeyCertificate`:

``node, serial, key, valid_from, valid_until, signer``

an epoch interval ``[valid_from, valid_until)`` no longer than the policy's
``validity_epochs`` (90 days of 60-second epochs by default), signed by

* the previous operational key (a routine rotation, ``signer = "previous"``),
  or
* the node's identity key (``signer = "identity"``): the first key
  (serial 0), and the key that follows a revoked one (a revoked key signs
  nothing, so recovery goes through the identity key, recovered from k
  shares if need be);

and cosigned by a quorum ``ceil(t * N)`` of the hubs (cross-hub
verification), each under its own domain (a cosignature is never the
node's signature, and the other way round).  A :class:`Revocation` names a
node, a serial and the epoch from which the key is void, cosigned by a
quorum of hubs.

Rules of the registry (:class:`KeyRegistry`):

1. Certificates of a node are accepted in serial order only, 0, 1, 2, ...:
   a replayed, skipped or forked certificate is refused.
2. A certificate's ``valid_from`` is not before its predecessor's: the
   predecessor's key stops being valid at the successor's ``valid_from``
   (rotation), or at its own ``valid_until`` (expiry), whichever comes first.
3. A revoked key is void from the revocation's epoch on, and signs no
   successor.
4. :meth:`KeyRegistry.key_at` returns the one key of a node valid at an
   epoch, or raises :class:`KeyLifecycleError` saying why none is: unknown
   node, not yet valid, expired, revoked, rotated out.
   :meth:`KeyRegistry.verify` checks a protocol message's signature under
   that key only.
5. Anything refused leaves the registry as it was.

Every field a certificate carries is covered by both the node's signature
and every cosignature: the sign bytes are
``sign_bytes(KEY_CERTIFICATE_TAG, fields)`` and
``sign_bytes(KEY_COSIGN_TAG, fields)`` over the same field map, which also
binds the hub set (``hubs_hash``) the cosigners were counted against.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Final

from vigilnet.crypto._keys import SIGNATURE_BYTES, SigningKey, VerifyKey
from vigilnet.encoding import CborValue, MessageTag, encode, register_tag, sign_bytes
from vigilnet.errors import (
    BadSignatureError,
    InvalidKeyError,
    LocalProtocolError,
    RemoteProtocolError,
)
from vigilnet.thresholds import parse_threshold, quorum

__all__ = [
    "DEFAULT_VALIDITY_EPOCHS",
    "KEY_CERTIFICATE_TAG",
    "KEY_COSIGN_TAG",
    "KEY_REVOCATION_TAG",
    "KeyCertificate",
    "KeyLifecycleError",
    "KeyPolicy",
    "KeyRegistry",
    "Revocation",
    "cosign",
]

#: 90 days of 60-second epochs (DESIGN.md 4.4 and 2).
DEFAULT_VALIDITY_EPOCHS: Final = 90 * 24 * 60

_CERT_FIELDS = {"node", "serial", "key", "valid_from", "valid_until", "signer", "hubs_hash"}
KEY_CERTIFICATE_TAG: Final = register_tag("crypto", "key-certificate", 1, _CERT_FIELDS)
KEY_COSIGN_TAG: Final = register_tag("crypto", "key-cosign", 1, _CERT_FIELDS)
KEY_REVOCATION_TAG: Final = register_tag(
    "crypto", "key-revocation", 1, {"node", "serial", "from_epoch", "hubs_hash"}
)

_NODE = re.compile(r"[a-z0-9][a-z0-9.-]{0,63}")
_SIGNERS: Final = ("previous", "identity")
_MAX_EPOCH: Final = 2**63 - 1


class KeyLifecycleError(RemoteProtocolError):
    """A certificate, revocation or signature refused by the key registry,
    or no key valid for a node at an epoch."""


def _fail(message: str) -> KeyLifecycleError:
    return KeyLifecycleError(message)


def _check_int(value: object, what: str, low: int = 0, high: int = _MAX_EPOCH) -> int:
    if type(value) is not int or not low <= value <= high:
        raise _fail(f"{what} must be an integer in [{low}, {high}], got {value!r}")
    return value


def _check_node(node: object) -> str:
    if not isinstance(node, str) or _NODE.fullmatch(node) is None:
        raise _fail(f"node name must match [a-z0-9][a-z0-9.-]{{0,63}}, got {node!r}")
    return node


def _check_cosignatures(value: object) -> tuple[tuple[int, bytes], ...]:
    if not isinstance(value, tuple):
        raise _fail("cosignatures must be a tuple of (hub index, signature)")
    out: list[tuple[int, bytes]] = []
    for item in value:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise _fail("each cosignature is a (hub index, signature) pair")
        hub, sig = item
        _check_int(hub, "cosigner hub index", 0, 2**16)
        if not isinstance(sig, bytes) or len(sig) != SIGNATURE_BYTES:
            raise _fail(f"a cosignature must be {SIGNATURE_BYTES} bytes")
        out.append((hub, sig))
    hubs = [hub for hub, _ in out]
    if hubs != sorted(set(hubs)):
        raise _fail("cosigner hub indices must be strictly increasing (no duplicates)")
    return tuple(out)


_CERT_JSON = {
    "node", "serial", "key", "validFrom", "validUntil", "signer", "hubsHash", "signature",
    "cosignatures",
}  # fmt: skip
_REV_JSON = {"node", "serial", "fromEpoch", "hubsHash", "cosignatures"}


def _json_object(data: object, what: str, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _fail(f"a {what} is a JSON object")
    missing = required - set(data)
    extra = set(data) - required - optional
    if missing or extra:
        raise _fail(f"{what} fields: missing {sorted(missing)}, unknown {sorted(extra)}")
    return data


def _json_hex(value: object, what: str) -> bytes:
    if not isinstance(value, str) or len(value) % 2 or value != value.lower():
        raise _fail(f"{what} must be lower-case hex")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise _fail(f"{what} must be lower-case hex") from None


def _json_key(value: object) -> VerifyKey:
    raw = _json_hex(value, "key")
    try:
        return VerifyKey(raw)
    except InvalidKeyError as exc:
        raise _fail(f"key: {exc}") from None


def _cosignatures_json(pairs: tuple[tuple[int, bytes], ...]) -> list[dict[str, Any]]:
    return [{"hub": hub, "signature": sig.hex()} for hub, sig in pairs]


def _cosignatures_from(value: object) -> tuple[tuple[int, bytes], ...]:
    if not isinstance(value, list):
        raise _fail("cosignatures must be a list")
    out = []
    for item in value:
        fields = _json_object(item, "cosignature", {"hub", "signature"}, set())
        out.append((fields["hub"], _json_hex(fields["signature"], "cosignature")))
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyPolicy:
    """The hubs that cosign key events, the quorum threshold they are
    counted against, and the longest validity of an operational key."""

    hubs: tuple[VerifyKey, ...]
    threshold: Fraction = Fraction(3, 4)
    validity_epochs: int = DEFAULT_VALIDITY_EPOCHS

    def __post_init__(self) -> None:
        if not self.hubs or not all(isinstance(h, VerifyKey) for h in self.hubs):
            raise _fail("a key policy needs at least one hub VerifyKey")
        if len({bytes(h) for h in self.hubs}) != len(self.hubs):
            raise _fail("the hub keys must be distinct")
        _check_int(self.validity_epochs, "validity_epochs", 1)
        quorum(self.threshold, len(self.hubs))  # refuses a bad threshold

    def to_json(self) -> dict[str, Any]:
        return {
            "hubs": [bytes(h).hex() for h in self.hubs],
            "threshold": f"{self.threshold.numerator}/{self.threshold.denominator}",
            "validityEpochs": self.validity_epochs,
            "hubsHash": self.hubs_hash.hex(),
        }

    @classmethod
    def from_json(cls, data: object) -> KeyPolicy:
        fields = _json_object(data, "policy", {"hubs", "threshold", "validityEpochs"}, {"hubsHash"})
        if not isinstance(fields["hubs"], list):
            raise _fail("hubs must be a list of hex keys")
        if not isinstance(fields["threshold"], str):
            raise _fail('threshold: a string such as "3/4"')
        try:
            threshold = parse_threshold(fields["threshold"])
        except LocalProtocolError as exc:
            raise _fail(f"threshold: {exc}") from None
        try:
            policy = cls(
                hubs=tuple(_json_key(h) for h in fields["hubs"]),
                threshold=threshold,
                validity_epochs=fields["validityEpochs"],
            )
        except LocalProtocolError as exc:
            raise _fail(f"policy: {exc}") from None
        if "hubsHash" in fields and fields["hubsHash"] != policy.hubs_hash.hex():
            raise _fail("hubsHash differs from the hash of the policy's fields")
        return policy

    @property
    def quorum(self) -> int:
        return quorum(self.threshold, len(self.hubs))

    @property
    def hubs_hash(self) -> bytes:
        """SHA-256 of the canonical CBOR of the hub keys, the threshold and
        the validity bound: what every signature of a key event is bound to."""
        data: CborValue = {
            "hubs": tuple(bytes(h) for h in self.hubs),
            "threshold": (self.threshold.numerator, self.threshold.denominator),
            "validity_epochs": self.validity_epochs,
        }
        return hashlib.sha256(encode(data)).digest()

    def check_cosignatures(
        self, tag: MessageTag, fields: Mapping[str, CborValue], cosignatures: object
    ) -> None:
        """Refuse unless a quorum of distinct hubs signed ``fields`` under
        ``tag``."""
        pairs = _check_cosignatures(cosignatures)
        if fields["hubs_hash"] != self.hubs_hash:
            raise _fail("signed for another hub set or policy (hubs_hash differs)")
        for hub, _sig in pairs:
            if hub >= len(self.hubs):
                raise _fail(f"cosigner {hub} is not one of the {len(self.hubs)} hubs")
        if len(pairs) < self.quorum:
            raise _fail(f"{len(pairs)} cosignatures, the quorum is {self.quorum}")
        message = sign_bytes(tag, fields)
        for hub, sig in pairs:
            try:
                self.hubs[hub].verify(message, sig)
            except BadSignatureError:
                raise _fail(f"the cosignature of hub {hub} does not verify") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyCertificate:
    """One operational key of ``node``, valid in ``[valid_from,
    valid_until)``, signed as ``signer`` says and cosigned by hubs."""

    node: str
    serial: int
    key: VerifyKey
    valid_from: int
    valid_until: int
    signer: str
    hubs_hash: bytes
    signature: bytes
    cosignatures: tuple[tuple[int, bytes], ...] = ()

    def __post_init__(self) -> None:
        _check_node(self.node)
        _check_int(self.serial, "serial", 0, 2**32)
        if not isinstance(self.key, VerifyKey):
            raise _fail("key must be a VerifyKey")
        _check_int(self.valid_from, "valid_from")
        _check_int(self.valid_until, "valid_until")
        if self.valid_until <= self.valid_from:
            raise _fail("valid_until must be after valid_from")
        if self.signer not in _SIGNERS:
            raise _fail(f"signer must be one of {_SIGNERS}, got {self.signer!r}")
        if not isinstance(self.hubs_hash, bytes) or len(self.hubs_hash) != 32:
            raise _fail("hubs_hash must be 32 bytes")
        if not isinstance(self.signature, bytes) or len(self.signature) != SIGNATURE_BYTES:
            raise _fail(f"signature must be {SIGNATURE_BYTES} bytes")
        _check_cosignatures(self.cosignatures)

    def fields(self) -> dict[str, CborValue]:
        return {
            "node": self.node,
            "serial": self.serial,
            "key": bytes(self.key),
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "signer": self.signer,
            "hubs_hash": self.hubs_hash,
        }

    @classmethod
    def issue(
        cls,
        *,
        node: str,
        serial: int,
        key: VerifyKey,
        valid_from: int,
        valid_until: int,
        signed_by: SigningKey,
        signer: str,
        policy: KeyPolicy,
    ) -> KeyCertificate:
        """A certificate signed by ``signed_by`` (the previous operational
        key, or the identity key), without cosignatures yet."""
        unsigned = cls(
            node=node,
            serial=serial,
            key=key,
            valid_from=valid_from,
            valid_until=valid_until,
            signer=signer,
            hubs_hash=policy.hubs_hash,
            signature=bytes(SIGNATURE_BYTES),
        )
        signature = signed_by.sign(sign_bytes(KEY_CERTIFICATE_TAG, unsigned.fields()))
        return replace(unsigned, signature=signature)

    def to_json(self) -> dict[str, Any]:
        """The JSON form (docs/crypto.md; the key_certificates vectors)."""
        return {
            "node": self.node,
            "serial": self.serial,
            "key": bytes(self.key).hex(),
            "validFrom": self.valid_from,
            "validUntil": self.valid_until,
            "signer": self.signer,
            "hubsHash": self.hubs_hash.hex(),
            "signBytes": sign_bytes(KEY_CERTIFICATE_TAG, self.fields()).hex(),
            "signature": self.signature.hex(),
            "cosignatures": _cosignatures_json(self.cosignatures),
        }

    @classmethod
    def from_json(cls, data: object) -> KeyCertificate:
        """Read :meth:`to_json`'s form; anything else is a
        :class:`KeyLifecycleError`.  ``signBytes``, if present, must be the
        certificate's sign bytes."""
        fields = _json_object(data, "certificate", _CERT_JSON, {"signBytes"})
        cert = cls(
            node=fields["node"],
            serial=fields["serial"],
            key=_json_key(fields["key"]),
            valid_from=fields["validFrom"],
            valid_until=fields["validUntil"],
            signer=fields["signer"],
            hubs_hash=_json_hex(fields["hubsHash"], "hubsHash"),
            signature=_json_hex(fields["signature"], "signature"),
            cosignatures=_cosignatures_from(fields["cosignatures"]),
        )
        given = fields.get("signBytes")
        if given is not None and given != sign_bytes(KEY_CERTIFICATE_TAG, cert.fields()).hex():
            raise _fail("signBytes differs from the sign bytes of the certificate's fields")
        return cert

    def with_cosignatures(self, cosignatures: Mapping[int, bytes]) -> KeyCertificate:
        pairs = tuple(sorted(cosignatures.items()))
        return replace(self, cosignatures=pairs)


def cosign(hub_key: SigningKey, event: KeyCertificate | Revocation) -> bytes:
    """Hub ``hub_key``'s cosignature on a certificate or a revocation."""
    tag = KEY_COSIGN_TAG if isinstance(event, KeyCertificate) else KEY_REVOCATION_TAG
    return hub_key.sign(sign_bytes(tag, event.fields()))


@dataclass(frozen=True, slots=True, kw_only=True)
class Revocation:
    """Key ``serial`` of ``node`` is void from ``from_epoch`` on."""

    node: str
    serial: int
    from_epoch: int
    hubs_hash: bytes
    cosignatures: tuple[tuple[int, bytes], ...] = ()

    def __post_init__(self) -> None:
        _check_node(self.node)
        _check_int(self.serial, "serial", 0, 2**32)
        _check_int(self.from_epoch, "from_epoch")
        if not isinstance(self.hubs_hash, bytes) or len(self.hubs_hash) != 32:
            raise _fail("hubs_hash must be 32 bytes")
        _check_cosignatures(self.cosignatures)

    def fields(self) -> dict[str, CborValue]:
        return {
            "node": self.node,
            "serial": self.serial,
            "from_epoch": self.from_epoch,
            "hubs_hash": self.hubs_hash,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "serial": self.serial,
            "fromEpoch": self.from_epoch,
            "hubsHash": self.hubs_hash.hex(),
            "cosignatures": _cosignatures_json(self.cosignatures),
        }

    @classmethod
    def from_json(cls, data: object) -> Revocation:
        fields = _json_object(data, "revocation", _REV_JSON, set())
        return cls(
            node=fields["node"],
            serial=fields["serial"],
            from_epoch=fields["fromEpoch"],
            hubs_hash=_json_hex(fields["hubsHash"], "hubsHash"),
            cosignatures=_cosignatures_from(fields["cosignatures"]),
        )

    def with_cosignatures(self, cosignatures: Mapping[int, bytes]) -> Revocation:
        return replace(self, cosignatures=tuple(sorted(cosignatures.items())))


@dataclass(slots=True)
class _Chain:
    identity: VerifyKey
    certificates: list[KeyCertificate] = field(default_factory=list)
    revoked: dict[int, int] = field(default_factory=dict)  # serial -> from_epoch


class KeyRegistry:
    """Which key of which node is valid at which epoch (rules 1 to 5 of the
    module docstring)."""

    def __init__(self, policy: KeyPolicy) -> None:
        self.policy = policy
        self._chains: dict[str, _Chain] = {}
        #: how many certificates, revocations and signatures were refused
        self.refusals = 0

    def enroll(self, node: str, identity: VerifyKey) -> None:
        """Make ``node``'s identity key known (once: a second enrolment is
        refused)."""
        _check_node(node)
        if not isinstance(identity, VerifyKey):
            raise _fail("identity must be a VerifyKey")
        if node in self._chains:
            raise _fail(f"node {node!r} is already enrolled")
        self._chains[node] = _Chain(identity=identity)

    def nodes(self) -> tuple[str, ...]:
        return tuple(sorted(self._chains))

    def identity(self, node: str) -> VerifyKey:
        """``node``'s enrolled identity key (unknown node: refused)."""
        return self._chain(node).identity

    def certificates(self, node: str) -> tuple[KeyCertificate, ...]:
        return tuple(self._chain(node).certificates)

    def _chain(self, node: str) -> _Chain:
        chain = self._chains.get(node)
        if chain is None:
            raise _fail(f"unknown node {node!r}")
        return chain

    def _refuse(self, exc: KeyLifecycleError) -> KeyLifecycleError:
        self.refusals += 1
        return exc

    def add(self, cert: KeyCertificate) -> None:
        """Accept ``cert`` as the next key of its node, or raise
        :class:`KeyLifecycleError` and change nothing."""
        try:
            self._check_certificate(cert)
        except KeyLifecycleError as exc:
            raise self._refuse(exc) from None
        self._chains[cert.node].certificates.append(cert)

    def _check_certificate(self, cert: KeyCertificate) -> None:
        if not isinstance(cert, KeyCertificate):
            raise _fail("not a KeyCertificate")
        chain = self._chain(cert.node)
        expected = len(chain.certificates)
        if cert.serial != expected:
            raise _fail(f"serial {cert.serial} out of order: the next is {expected}")
        if cert.valid_until - cert.valid_from > self.policy.validity_epochs:
            raise _fail(
                f"validity of {cert.valid_until - cert.valid_from} epochs exceeds "
                f"the policy's {self.policy.validity_epochs}"
            )
        previous = chain.certificates[-1] if chain.certificates else None
        if previous is None:
            if cert.signer != "identity":
                raise _fail("the first key of a node is signed by its identity key")
            signer_key = chain.identity
        else:
            if cert.valid_from < previous.valid_from:
                raise _fail("valid_from is before the previous key's")
            if any(bytes(c.key) == bytes(cert.key) for c in chain.certificates):
                raise _fail("key reuse: this key was already certified for the node")
            if previous.serial in chain.revoked and cert.signer != "identity":
                raise _fail(
                    "the previous key is revoked: only the identity key signs its successor"
                )
            signer_key = chain.identity if cert.signer == "identity" else previous.key
        try:
            signer_key.verify(sign_bytes(KEY_CERTIFICATE_TAG, cert.fields()), cert.signature)
        except BadSignatureError:
            raise _fail(
                f"the node's signature does not verify under its {cert.signer} key"
            ) from None
        self.policy.check_cosignatures(KEY_COSIGN_TAG, cert.fields(), cert.cosignatures)

    def revoke(self, revocation: Revocation) -> None:
        """Void a key from an epoch on, or raise and change nothing."""
        try:
            if not isinstance(revocation, Revocation):
                raise _fail("not a Revocation")
            chain = self._chain(revocation.node)
            if revocation.serial >= len(chain.certificates):
                raise _fail(f"no key of serial {revocation.serial} to revoke")
            self.policy.check_cosignatures(
                KEY_REVOCATION_TAG, revocation.fields(), revocation.cosignatures
            )
        except KeyLifecycleError as exc:
            raise self._refuse(exc) from None
        earlier = chain.revoked.get(revocation.serial, revocation.from_epoch)
        chain.revoked[revocation.serial] = min(earlier, revocation.from_epoch)

    def key_at(self, node: str, epoch: int) -> VerifyKey:
        """The key of ``node`` valid at ``epoch``, or a refusal saying why
        there is none."""
        _check_int(epoch, "epoch")
        chain = self._chain(node)
        certs = chain.certificates
        candidates = [c for c in certs if c.valid_from <= epoch]
        if not candidates:
            raise _fail(f"not yet valid: node {node!r} has no key valid at epoch {epoch}")
        cert = candidates[-1]
        if epoch >= cert.valid_until:
            raise _fail(f"expired: key {cert.serial} of {node!r} ended at epoch {cert.valid_until}")
        revoked_from = chain.revoked.get(cert.serial)
        if revoked_from is not None and epoch >= revoked_from:
            raise _fail(f"revoked: key {cert.serial} of {node!r} is void from epoch {revoked_from}")
        return cert.key

    def verify(
        self,
        node: str,
        epoch: int,
        tag: MessageTag,
        fields: Mapping[str, CborValue],
        signature: bytes,
    ) -> None:
        """Check a protocol message signed by ``node`` for ``epoch`` under the
        one key valid then; raise :class:`KeyLifecycleError` otherwise."""
        try:
            key = self.key_at(node, epoch)
            try:
                key.verify(sign_bytes(tag, fields), signature)
            except BadSignatureError:
                raise _fail(f"bad signature: not by the key of {node!r} valid at {epoch}") from None
        except KeyLifecycleError as exc:
            raise self._refuse(exc) from None
