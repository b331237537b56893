"""Vector family ``key_certificates``: rotation, revocation, recovery.

Each group is one node's key history under one cosigning policy: the hub
keys, the threshold, the longest validity, the node's identity key, the
certificates already accepted (``chain``, in order) and the revocations
applied after them.  A test either offers the next certificate (``action:
add``: accepted, or refused for the reason its flag names) or asks which key
is valid at an epoch (``action: keyAt``: the key, or a refusal).  Keys come
from fixed seeds (SHA-256 of a label), so the file is deterministic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from vigilnet.crypto import (
    KeyCertificate,
    KeyLifecycleError,
    KeyPolicy,
    KeyRegistry,
    Revocation,
    SigningKey,
    VerifyKey,
    cosign,
)
from vigilnet.thresholds import parse_threshold
from vigilnet.vectors._envelope import Case, Family, Group, Note, hex_string

__all__ = ["KEY_FAMILY"]


def _key(label: str) -> SigningKey:
    return SigningKey(hashlib.sha256(b"vigilnet key vectors: " + label.encode()).digest())


_HUBS = tuple(_key(f"hub {i}") for i in range(5))
_OUTSIDER = _key("not a hub")
_IDENTITY = _key("identity of monitor-7")
_OPS = tuple(_key(f"operational {i}") for i in range(4))
_NODE = "monitor-7"
_POLICY = KeyPolicy(hubs=tuple(h.verify_key for h in _HUBS), validity_epochs=1000)
_OTHER_POLICY = KeyPolicy(hubs=_POLICY.hubs, threshold=Fraction(4, 5), validity_epochs=1000)

_NOTES = {
    "Rotation": Note(
        bug_type="BASIC",
        description="A routine rotation: signed by the previous key, cosigned by a quorum.",
    ),
    "First": Note(
        bug_type="BASIC", description="The first key of a node, signed by its identity key."
    ),
    "Recovery": Note(
        bug_type="BASIC",
        description="The successor of a revoked key, signed by the identity key (recovered from k shares).",
    ),
    "KeyAt": Note(bug_type="BASIC", description="The one key valid at the epoch."),
    "OutOfOrder": Note(
        bug_type="AUTH_BYPASS",
        description="A serial that is not the next one (a replayed or skipped certificate).",
        effect="A replay could fork a node's key history.",
    ),
    "TooLong": Note(
        bug_type="EDGE_CASE", description="Validity longer than the policy allows (by one epoch)."
    ),
    "Backdated": Note(
        bug_type="AUTH_BYPASS",
        description="valid_from before the previous key's: the new key would sign the past.",
    ),
    "KeyReuse": Note(bug_type="AUTH_BYPASS", description="A key already certified for the node."),
    "BadSignature": Note(
        bug_type="AUTH_BYPASS",
        description="The node's signature does not verify under the key its signer field names (wrong signer, or a field changed after signing).",
    ),
    "FirstNotIdentity": Note(
        bug_type="AUTH_BYPASS", description="A first key that claims a previous key."
    ),
    "TooFewCosigners": Note(
        bug_type="AUTH_BYPASS", description="One cosignature short of the quorum."
    ),
    "DuplicateCosigner": Note(
        bug_type="AUTH_BYPASS",
        description="One hub's cosignature twice: counted once it is one short; the list must be strictly increasing.",
    ),
    "UnknownCosigner": Note(
        bug_type="AUTH_BYPASS", description="A cosigner index past the hub set."
    ),
    "BadCosignature": Note(
        bug_type="AUTH_BYPASS", description="A cosignature by another hub than the index says."
    ),
    "WrongDomain": Note(
        bug_type="AUTH_BYPASS",
        description="A signature from another domain used as a cosignature (the node's own, or a revocation cosignature).",
    ),
    "WrongPolicy": Note(
        bug_type="AUTH_BYPASS",
        description="Signed for another cosigning policy (hubsHash differs).",
    ),
    "RevokedSigner": Note(
        bug_type="AUTH_BYPASS", description="A revoked key signs its own successor."
    ),
    "NotYetValid": Note(bug_type="EDGE_CASE", description="An epoch before the node's first key."),
    "Expired": Note(
        bug_type="EDGE_CASE", description="An epoch at or past the last key's valid_until."
    ),
    "Revoked": Note(
        bug_type="EDGE_CASE",
        description="An epoch at or past the revocation of the key then current.",
    ),
}


def _cert(
    serial: int,
    valid_from: int,
    valid_until: int,
    signed_by: SigningKey,
    signer: str = "previous",
    key: SigningKey | None = None,
    policy: KeyPolicy = _POLICY,
    hubs: tuple[int, ...] = (0, 1, 2, 3),
) -> KeyCertificate:
    cert = KeyCertificate.issue(
        node=_NODE,
        serial=serial,
        key=(key or _OPS[serial]).verify_key,
        valid_from=valid_from,
        valid_until=valid_until,
        signed_by=signed_by,
        signer=signer,
        policy=policy,
    )
    return cert.with_cosignatures({h: cosign(_HUBS[h], cert) for h in hubs})


def _revocation(serial: int, from_epoch: int) -> Revocation:
    rev = Revocation(node=_NODE, serial=serial, from_epoch=from_epoch, hubs_hash=_POLICY.hubs_hash)
    return rev.with_cosignatures({h: cosign(_HUBS[h], rev) for h in (0, 1, 2, 3)})


def _cert_json(
    cert: KeyCertificate, cosignatures: list[tuple[int, bytes]] | None = None
) -> dict[str, Any]:
    out = cert.to_json()
    if cosignatures is not None:
        out["cosignatures"] = [{"hub": h, "signature": s.hex()} for h, s in cosignatures]
    return out


def _rev_json(rev: Revocation) -> dict[str, Any]:
    return rev.to_json()


@dataclass(frozen=True, slots=True)
class _History:
    name: str
    chain: tuple[KeyCertificate, ...]
    revocations: tuple[Revocation, ...] = ()


def _group(history: _History, cases: list[Case]) -> Group:
    return Group(
        type="KeyCertificateChain",
        fields={
            "history": history.name,
            "hubs": [bytes(h).hex() for h in _POLICY.hubs],
            "threshold": "3/4",
            "validityEpochs": _POLICY.validity_epochs,
            "hubsHash": _POLICY.hubs_hash.hex(),
            "node": _NODE,
            "identity": bytes(_IDENTITY.verify_key).hex(),
            "chain": [_cert_json(c) for c in history.chain],
            "revocations": [_rev_json(r) for r in history.revocations],
        },
        cases=tuple(cases),
    )


def _add(
    comment: str,
    flag: str,
    cert: KeyCertificate,
    cosignatures: list[tuple[int, bytes]] | None = None,
) -> Case:
    result = "valid" if flag in ("Rotation", "First", "Recovery") else "invalid"
    return Case(
        comment=comment,
        result=result,
        flags=(flag,),
        fields={"action": "add", "certificate": _cert_json(cert, cosignatures)},
    )


def _key_at(epoch: int, key: SigningKey | None, flag: str = "KeyAt") -> Case:
    return Case(
        comment=f"the key valid at epoch {epoch}",
        result="valid" if key is not None else "invalid",
        flags=(flag,),
        fields={
            "action": "keyAt",
            "epoch": epoch,
            "key": bytes(key.verify_key).hex() if key else "",
        },
    )


def _build() -> Iterator[Group]:
    key0 = _cert(0, 0, 1000, _IDENTITY, "identity")
    key1 = _cert(1, 600, 1600, _OPS[0])
    two = _History("key 0 in [0, 1000), rotated to key 1 in [600, 1600)", (key0, key1))
    good = _cert(2, 700, 1700, _OPS[1])
    cosigs = {h: cosign(_HUBS[h], good) for h in range(5)}
    rev_cosig = cosign(_HUBS[0], _revocation(1, 900))
    yield _group(
        two,
        [
            _add("key 2 signed by key 1, four cosigners", "Rotation", good),
            _add("key 1 again", "OutOfOrder", key1),
            _add("serial 3 after 1", "OutOfOrder", _cert(3, 700, 1700, _OPS[1])),
            _add("1001 epochs, the policy allows 1000", "TooLong", _cert(2, 700, 1701, _OPS[1])),
            _add("valid_from 599, key 1's is 600", "Backdated", _cert(2, 599, 1500, _OPS[1])),
            _add("key 0's key again", "KeyReuse", _cert(2, 700, 1700, _OPS[1], key=_OPS[0])),
            _add("signed by key 0, not key 1", "BadSignature", _cert(2, 700, 1700, _OPS[0])),
            _add(
                "signer identity, signed by key 1",
                "BadSignature",
                _cert(2, 700, 1700, _OPS[1], "identity"),
            ),
            _add(
                "valid_until changed after signing", "BadSignature", replace(good, valid_until=1699)
            ),
            _add(
                "three cosigners, the quorum is 4",
                "TooFewCosigners",
                good,
                [(h, cosigs[h]) for h in (0, 1, 2)],
            ),
            _add(
                "hub 0 twice and hubs 1, 2",
                "DuplicateCosigner",
                good,
                [(0, cosigs[0]), (0, cosigs[0]), (1, cosigs[1]), (2, cosigs[2])],
            ),
            _add(
                "cosigner index 5 of 5 hubs",
                "UnknownCosigner",
                good,
                [(h, cosigs[h]) for h in (0, 1, 2)] + [(5, cosign(_OUTSIDER, good))],
            ),
            _add(
                "hub 4's cosignature under index 3",
                "BadCosignature",
                good,
                [(h, cosigs[h]) for h in (0, 1, 2)] + [(3, cosigs[4])],
            ),
            _add(
                "the node's own signature as hub 0's cosignature",
                "WrongDomain",
                good,
                [(0, good.signature)] + [(h, cosigs[h]) for h in (1, 2, 3)],
            ),
            _add(
                "a revocation cosignature as hub 0's",
                "WrongDomain",
                good,
                [(0, rev_cosig)] + [(h, cosigs[h]) for h in (1, 2, 3)],
            ),
            _add(
                "signed and cosigned for threshold 4/5",
                "WrongPolicy",
                _cert(2, 700, 1700, _OPS[1], policy=_OTHER_POLICY),
            ),
            _key_at(0, _OPS[0]),
            _key_at(599, _OPS[0]),
            _key_at(600, _OPS[1]),
            _key_at(1599, _OPS[1]),
            _key_at(1600, None, "Expired"),
        ],
    )
    revoked = _History(
        "as above, key 1 revoked from epoch 900", (key0, key1), (_revocation(1, 900),)
    )
    yield _group(
        revoked,
        [
            _key_at(899, _OPS[1]),
            _key_at(900, None, "Revoked"),
            _add(
                "key 2 signed by the revoked key 1", "RevokedSigner", _cert(2, 900, 1900, _OPS[1])
            ),
            _add(
                "key 2 signed by the identity key",
                "Recovery",
                _cert(2, 900, 1900, _IDENTITY, "identity"),
            ),
        ],
    )
    late = _cert(0, 50, 100, _IDENTITY, "identity")
    yield _group(
        _History("no key yet", ()),
        [
            _add("key 0 signed by the identity key", "First", late),
            _add(
                "key 0 claiming a previous key",
                "FirstNotIdentity",
                _cert(0, 50, 100, _IDENTITY, "previous"),
            ),
        ],
    )
    yield _group(
        _History("key 0 in [50, 100)", (late,)),
        [_key_at(49, None, "NotYetValid"), _key_at(50, _OPS[0]), _key_at(100, None, "Expired")],
    )


def _cert_from(node: str, data: Mapping[str, Any]) -> KeyCertificate:
    cert = KeyCertificate.from_json(dict(data))
    if cert.node != node:
        raise KeyLifecycleError(f"certificate of node {cert.node!r} in the history of {node!r}")
    return cert


def _registry(group: Mapping[str, Any]) -> KeyRegistry:
    policy = KeyPolicy(
        hubs=tuple(VerifyKey(bytes.fromhex(h)) for h in group["hubs"]),
        threshold=parse_threshold(group["threshold"]),
        validity_epochs=group["validityEpochs"],
    )
    registry = KeyRegistry(policy)
    node = group["node"]
    registry.enroll(node, VerifyKey(bytes.fromhex(group["identity"])))
    for cert in group["chain"]:
        registry.add(_cert_from(node, cert))
    for rev in group["revocations"]:
        registry.revoke(Revocation.from_json(dict(rev)))
    return registry


def _verify(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    try:
        registry = _registry(group)
    except KeyLifecycleError as exc:
        return f"the group's own history is refused: {exc}"
    node = group["node"]
    if test["action"] == "add":
        cert = test["certificate"]
        try:
            registry.add(_cert_from(node, cert))
        except KeyLifecycleError as exc:
            return None if test["result"] == "invalid" else f"refused: {exc}"
        return None if test["result"] == "valid" else "accepted a certificate that must be refused"
    try:
        key = registry.key_at(node, test["epoch"])
    except KeyLifecycleError as exc:
        return None if test["result"] == "invalid" else f"refused: {exc}"
    if test["result"] == "invalid":
        return f"answered {bytes(key).hex()} where no key is valid"
    return None if bytes(key).hex() == test["key"] else f"answered {bytes(key).hex()}"


_CERT_SCHEMA = {
    "type": "object",
    "properties": {
        "node": {"type": "string"},
        "serial": {"type": "integer", "minimum": 0},
        "key": hex_string("the 32-byte Ed25519 public key"),
        "validFrom": {"type": "integer", "minimum": 0},
        "validUntil": {"type": "integer", "minimum": 0},
        "signer": {"enum": ["previous", "identity"]},
        "hubsHash": hex_string("SHA-256 of the cosigning policy"),
        "signBytes": hex_string("sign_bytes(vigilnet/crypto/key-certificate/v1, fields)"),
        "signature": hex_string("the node's signature on signBytes"),
        "cosignatures": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "hub": {"type": "integer", "minimum": 0},
                    "signature": hex_string(""),
                },
                "required": ["hub", "signature"],
                "additionalProperties": False,
            },
        },
    },
    "required": [
        "node",
        "serial",
        "key",
        "validFrom",
        "validUntil",
        "signer",
        "hubsHash",
        "signBytes",
        "signature",
        "cosignatures",
    ],
    "additionalProperties": False,
}

_REV_SCHEMA = {
    "type": "object",
    "properties": {
        "node": {"type": "string"},
        "serial": {"type": "integer", "minimum": 0},
        "fromEpoch": {"type": "integer", "minimum": 0},
        "hubsHash": hex_string("SHA-256 of the cosigning policy"),
        "cosignatures": _CERT_SCHEMA["properties"]["cosignatures"],  # type: ignore[index]
    },
    "required": ["node", "serial", "fromEpoch", "hubsHash", "cosignatures"],
    "additionalProperties": False,
}

KEY_FAMILY = Family(
    name="key_certificates",
    algorithm="vigilnet operational key certificates, revocations and the key registry",
    header=(
        "A certificate is signed by the previous key (signer previous) or the identity key (signer identity)",
        "on sign_bytes(vigilnet/crypto/key-certificate/v1, {node, serial, key, valid_from, valid_until, signer, hubs_hash});",
        "each cosignature is a hub's signature on the same CBOR map after the prefix vigilnet/crypto/key-cosign/v1 and a zero byte,",
        "a revocation's on {node, serial, from_epoch, hubs_hash} after vigilnet/crypto/key-revocation/v1; a quorum ceil(t * N) of distinct hubs.",
        "hubsHash = SHA-256(canonical_cbor({hubs: [32-byte keys], threshold: [num, den], validity_epochs: n})).",
        "Replay chain, then revocations; then add the test's certificate as the next one, or ask which key is valid at epoch.",
        "A key is valid from valid_from until the earliest of its valid_until, its successor's valid_from and its revocation.",
    ),
    notes=_NOTES,
    group_schema={
        "type": {"enum": ["KeyCertificateChain"]},
        "properties": {
            "history": {"type": "string"},
            "hubs": {"type": "array", "items": hex_string("a hub's 32-byte public key")},
            "threshold": {"type": "string", "pattern": "^[0-9]+(/[0-9]+)?$"},
            "validityEpochs": {"type": "integer", "minimum": 1},
            "hubsHash": hex_string("SHA-256 of the cosigning policy"),
            "node": {"type": "string"},
            "identity": hex_string("the node's identity public key"),
            "chain": {"type": "array", "items": _CERT_SCHEMA},
            "revocations": {"type": "array", "items": _REV_SCHEMA},
        },
    },
    test_schema={
        "properties": {
            "action": {"enum": ["add", "keyAt"]},
            "certificate": _CERT_SCHEMA,
            "epoch": {"type": "integer", "minimum": 0},
            "key": hex_string("the key valid at epoch; empty when none is"),
        },
        "required": ["action"],
    },
    build=_build,
    verify_case=_verify,
)
