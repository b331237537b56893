"""Vector family ``ed25519_sign_bytes``: domain-separated sign bytes and
Ed25519 signatures from fixed seeds.

Each group is one key (RFC 8032 seed, public key, key id).  Each test gives a
registered tag, the message fields (diagnostic notation), the sign bytes
``tag || canonical_cbor(fields)`` an implementation must build from them,
and a signature that must verify (``valid``) or not (``invalid``) under the
group's key and vigilnet's pinned rule (libsodium's; see docs/crypto.md).

The two message types used here, ``vigilnet/example/vote/v1`` and
``vigilnet/example/report/v1``, exist for these vectors only; they have the
shapes of the SDBC vote and SHAP report so that the vectors exercise every
field type a real message carries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

import nacl.bindings

from vigilnet.crypto import SigningKey, VerifyKey, key_id
from vigilnet.encoding import TAGS, CborValue, MessageTag, register_tag, sign_bytes
from vigilnet.errors import BadSignatureError, ProtocolError
from vigilnet.vectors._diagnostic import diagnostic, parse_diagnostic
from vigilnet.vectors._envelope import Case, Family, Group, Note, hex_string

__all__ = ["EXAMPLE_REPORT", "EXAMPLE_VOTE", "SIGNATURE_FAMILY"]

EXAMPLE_VOTE = register_tag(
    "example", "vote", 1, {"epoch", "config_hash", "round", "step", "value_hash"}
)
EXAMPLE_REPORT = register_tag(
    "example", "report", 1, {"epoch", "config_hash", "node_id", "root", "totals"}
)

#: The order of the Ed25519 group: adding it to S gives a non-canonical S.
_L = 2**252 + 27742317777372353535851937790883648493

#: The identity point, canonically encoded (y = 1): a point of order 1.
_IDENTITY = (1).to_bytes(32, "little")
#: The identity again, but as y = p + 1: a non-canonical encoding (y >= p).
_IDENTITY_NONCANONICAL = (2**255 - 19 + 1).to_bytes(32, "little")
#: A point of order 8 (the torsion generator used by libsodium's blocklist).
_ORDER_8 = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")

_NOTES = {
    "Valid": Note(
        bug_type="BASIC",
        description="A signature by the group's key over the sign bytes of the fields under the tag.",
    ),
    "ModifiedSignature": Note(
        bug_type="SIGNATURE_MALLEABILITY", description="One bit of R or S flipped."
    ),
    "ModifiedMessage": Note(
        bug_type="AUTH_BYPASS", description="The signature was made over different field values."
    ),
    "WrongTag": Note(
        bug_type="AUTH_BYPASS",
        description="The signature was made over the same fields under another message type's tag.",
        effect="Accepting it would let a signature on one message type be replayed as another: the reason for domain separation.",
    ),
    "WrongKey": Note(bug_type="AUTH_BYPASS", description="The signature was made by another key."),
    "NonCanonicalS": Note(
        bug_type="SIGNATURE_MALLEABILITY",
        description="S replaced by S + L: the same equation holds modulo L, but S is not reduced (RFC 8032 5.1.7).",
        effect="Accepting it makes signatures malleable: a second valid signature exists for the same message.",
    ),
    "TruncatedSignature": Note(
        bug_type="MALFORMED_INPUT", description="The signature is 63 bytes."
    ),
    "LowOrderPublicKey": Note(
        bug_type="WEAK_PUBLIC_KEY",
        description="The public key is the identity point (order 1); R = [s]B and S = s satisfy the cofactorless equation.",
        effect="A verifier without the small-order check on A accepts a signature anyone can make, on any message.",
    ),
    "NonCanonicalPublicKey": Note(
        bug_type="WEAK_PUBLIC_KEY",
        description="The public key encodes the identity as y = p + 1 (non-canonical); R = [s]B and S = s.",
        effect="A verifier that reduces y mod p and refuses small-order keys only by their canonical encodings accepts a forgery.",
    ),
    "LowOrderR": Note(
        bug_type="SIGNATURE_MALLEABILITY",
        description="R is the identity point (small order) and S = k a, so the cofactorless equation holds.",
        effect="Accepted only by a verifier without the small-order check on R.",
    ),
    "NonCanonicalR": Note(
        bug_type="SIGNATURE_MALLEABILITY",
        description="R encodes the identity as y = p + 1 (non-canonical) and S = k a, k hashed over those bytes.",
        effect="Accepted by a verifier that compares R as a decoded point instead of byte for byte.",
    ),
    "LowOrderResidue": Note(
        bug_type="SIGNATURE_MALLEABILITY",
        description="R = [r]B + T with T of order 8 and S = r + k a: [S]B - [k]A differs from R by T.",
        effect="Accepted by the cofactored equation [8][S]B = [8]R + [8][k]A, refused by the pinned cofactorless one.",
    ),
}


def _scalar(seed: bytes) -> int:
    """The secret scalar a of an RFC 8032 seed (SHA-512, then clamped)."""
    digest = bytearray(hashlib.sha512(seed).digest()[:32])
    digest[0] &= 248
    digest[31] &= 127
    digest[31] |= 64
    return int.from_bytes(digest, "little")


def _challenge(r: bytes, public: bytes, message: bytes) -> int:
    return int.from_bytes(hashlib.sha512(r + public + message).digest(), "little") % _L


def _base(scalar: int) -> bytes:
    return nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(
        (scalar % _L).to_bytes(32, "little")
    )


def _nonce(label: bytes, message: bytes) -> int:
    return int.from_bytes(hashlib.sha512(label + message).digest(), "little") % _L


def _crafted_r(seed: bytes, public: bytes, message: bytes) -> Iterator[tuple[str, str, bytes]]:
    """(flag, comment, signature) for the crafted-R cases of one message."""
    a = _scalar(seed)
    for flag, what, r in (
        ("LowOrderR", "R the identity", _IDENTITY),
        ("NonCanonicalR", "R the identity encoded as y = p + 1", _IDENTITY_NONCANONICAL),
    ):
        s = _challenge(r, public, message) * a % _L
        yield flag, what, r + s.to_bytes(32, "little")
    nonce = _nonce(b"vigilnet test vector residue", message)
    r = nacl.bindings.crypto_core_ed25519_add(_base(nonce), _ORDER_8)
    s = (nonce + _challenge(r, public, message) * a) % _L
    yield "LowOrderResidue", "R with an order-8 component", r + s.to_bytes(32, "little")


def _seed(index: int) -> bytes:
    return hashlib.sha256(b"vigilnet test vector seed %d" % index).digest()


def _messages(index: int) -> list[tuple[MessageTag, dict[str, CborValue]]]:
    digest = hashlib.sha256(b"vigilnet test vector value %d" % index).digest()
    return [
        (
            EXAMPLE_VOTE,
            {
                "epoch": 1 + index,
                "config_hash": digest,
                "round": index % 3,
                "step": "prevote",
                "value_hash": digest[::-1],
            },
        ),
        (
            EXAMPLE_VOTE,
            {
                "epoch": 2**40 + index,
                "config_hash": digest,
                "round": 0,
                "step": "precommit",
                "value_hash": None,
            },
        ),
        (
            EXAMPLE_REPORT,
            {
                "epoch": 7,
                "config_hash": digest,
                "node_id": index,
                "root": bytes(32),
                "totals": (index, -index, 2**63 - 1),
            },
        ),
    ]


def _case(
    comment: str,
    result: str,
    flag: str,
    tag: MessageTag,
    fields: dict[str, CborValue],
    signature: bytes,
) -> Case:
    return Case(
        comment=comment,
        result=result,
        flags=(flag,),
        fields={
            "tag": tag.prefix[:-1].decode("ascii"),
            "fields": diagnostic(fields),
            "signBytes": sign_bytes(tag, fields).hex(),
            "signature": signature.hex(),
        },
    )


def _build() -> Iterator[Group]:
    for index in range(4):
        key = SigningKey(_seed(index))
        other = SigningKey(_seed(100 + index))
        cases = []
        for tag, fields in _messages(index):
            signature = key.sign(sign_bytes(tag, fields))
            epoch = fields["epoch"]
            assert isinstance(epoch, int)
            what = f"{tag.message} epoch {epoch}"
            cases.append(_case(what, "valid", "Valid", tag, fields, signature))
            flipped = bytearray(signature)
            flipped[index * 7 % 64] ^= 1 << (index % 8)
            cases.append(
                _case(
                    f"{what}, signature bit flipped",
                    "invalid",
                    "ModifiedSignature",
                    tag,
                    fields,
                    bytes(flipped),
                )
            )
            altered = dict(fields, epoch=epoch + 1)
            cases.append(
                _case(
                    f"{what}, fields show the next epoch",
                    "invalid",
                    "ModifiedMessage",
                    tag,
                    altered,
                    signature,
                )
            )
            other_tag = EXAMPLE_REPORT if tag is EXAMPLE_VOTE else EXAMPLE_VOTE
            cross = other_tag.prefix + sign_bytes(tag, fields)[len(tag.prefix) :]
            cases.append(
                _case(
                    f"{what}, signed under {other_tag.message}'s tag",
                    "invalid",
                    "WrongTag",
                    tag,
                    fields,
                    key.sign(cross),
                )
            )
            cases.append(
                _case(
                    f"{what}, signed by another key",
                    "invalid",
                    "WrongKey",
                    tag,
                    fields,
                    other.sign(sign_bytes(tag, fields)),
                )
            )
            s = int.from_bytes(signature[32:], "little") + _L
            cases.append(
                _case(
                    f"{what}, S + L",
                    "invalid",
                    "NonCanonicalS",
                    tag,
                    fields,
                    signature[:32] + s.to_bytes(32, "little"),
                )
            )
            cases.append(
                _case(
                    f"{what}, last byte cut",
                    "invalid",
                    "TruncatedSignature",
                    tag,
                    fields,
                    signature[:63],
                )
            )
            public = key.verify_key.key
            for flag, crafted, forged in _crafted_r(_seed(index), public, sign_bytes(tag, fields)):
                cases.append(_case(f"{what}, {crafted}", "invalid", flag, tag, fields, forged))
        public = key.verify_key.key
        yield Group(
            type="SignBytesEd25519",
            fields={
                "seed": _seed(index).hex(),
                "publicKey": public.hex(),
                "keyId": key_id(public).hex(),
            },
            cases=tuple(cases),
        )
    yield from _weak_key_groups()


def _weak_key_groups() -> Iterator[Group]:
    """Keys with no secret: a signature R = [s]B, S = s satisfies the
    cofactorless equation for them on every message, so only the key checks
    refuse it."""
    for flag, public, what in (
        ("LowOrderPublicKey", _IDENTITY, "key the identity"),
        ("NonCanonicalPublicKey", _IDENTITY_NONCANONICAL, "key the identity as y = p + 1"),
    ):
        cases = []
        for tag, fields in _messages(0):
            message = sign_bytes(tag, fields)
            nonce = _nonce(b"vigilnet test vector weak key", message)
            forged = _base(nonce) + nonce.to_bytes(32, "little")
            epoch = fields["epoch"]
            assert isinstance(epoch, int)
            cases.append(
                _case(
                    f"{tag.message} epoch {epoch}, {what}",
                    "invalid",
                    flag,
                    tag,
                    fields,
                    forged,
                )
            )
        yield Group(
            type="SignBytesEd25519",
            fields={"seed": "", "publicKey": public.hex(), "keyId": key_id(public).hex()},
            cases=tuple(cases),
        )


def _verify(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    public = bytes.fromhex(group["publicKey"])
    if group["seed"] and SigningKey(bytes.fromhex(group["seed"])).verify_key.key != public:
        return "seed does not derive the group's public key"
    if key_id(public).hex() != group["keyId"]:
        return "key id differs"
    tag = TAGS.get(test["tag"].encode("ascii") + b"\x00")
    if tag is None:
        return f"unknown tag {test['tag']}"
    try:
        fields = parse_diagnostic(test["fields"])
        if not isinstance(fields, dict):
            return "fields are not a map"
        built = sign_bytes(tag, fields)
    except ProtocolError as exc:
        return f"cannot build sign bytes: {exc}"
    if built.hex() != test["signBytes"]:
        return "sign bytes differ from the tag and fields"
    try:
        VerifyKey(public).verify(built, bytes.fromhex(test["signature"]))
        verdict = "valid"
    except BadSignatureError:
        verdict = "invalid"
    if verdict != test["result"]:
        return f"signature is {verdict}, expected {test['result']}"
    return None


SIGNATURE_FAMILY = Family(
    name="ed25519_sign_bytes",
    algorithm="Ed25519 over vigilnet sign bytes (tag, zero byte, canonical CBOR)",
    header=(
        "Sign bytes are the ASCII tag 'vigilnet/<protocol>/<message>/v<version>', one zero byte, then the canonical CBOR of the fields.",
        "Signatures are Ed25519 (RFC 8032) under vigilnet's pinned validation rule (libsodium: canonical S, no small-order A or R, cofactorless).",
        "Build signBytes from tag and fields, compare, then verify signature under the group's publicKey.",
        "keyId is SHA-256('vigilnet-key-id/ed25519/v1' || 0x00 || publicKey).",
        "Groups with an empty seed hold a small-order or non-canonical publicKey: every signature under them is invalid.",
    ),
    notes=_NOTES,
    group_schema={
        "type": {"enum": ["SignBytesEd25519"]},
        "properties": {
            "seed": hex_string("RFC 8032 32-byte secret seed; empty for a key with no secret"),
            "publicKey": hex_string("32-byte public key"),
            "keyId": hex_string("32-byte key id"),
        },
    },
    test_schema={
        "properties": {
            "tag": {"type": "string", "pattern": "^vigilnet/[a-z0-9-]+/[a-z0-9-]+/v[0-9]+$"},
            "fields": {
                "type": "string",
                "description": "the message fields in CBOR diagnostic notation",
            },
            "signBytes": hex_string("tag, 0x00, then the canonical CBOR of the fields"),
            "signature": hex_string("the signature to verify"),
        },
        "required": ["tag", "fields", "signBytes", "signature"],
    },
    build=_build,
    verify_case=_verify,
)
