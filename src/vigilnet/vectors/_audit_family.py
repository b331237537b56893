"""Vector family ``audit_log``: checkpoints and proofs of an audit log.

One log of seven entries (``kind``, ``time_ms``, canonical-CBOR ``body``;
leaf = ``canonical_cbor({"kind", "time_ms", "body"})``, RFC 9162 leaf hash),
signed by a fixed key.  A test is a signed checkpoint to open (C2SP signed
note over ``origin \\n size \\n base64(root) \\n``), an inclusion proof of an
entry in a checkpoint, or a consistency proof between two checkpoints, each
valid or broken in one way.  Hashes are hex.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from vigilnet.crypto import SigningKey
from vigilnet.encoding import CborValue, encode
from vigilnet.errors import RemoteProtocolError
from vigilnet.merkle import (
    ConsistencyProof,
    InclusionProof,
    MerkleLog,
    MerkleProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from vigilnet.store._audit import (
    AuditLogError,
    EntryKind,
    checkpoint_text,
    entry_leaf,
    parse_checkpoint,
)
from vigilnet.store._note import NoteError, NoteVerifier, open_note, sign_note
from vigilnet.vectors._envelope import Case, Family, Group, Note, hex_string

__all__ = ["AUDIT_FAMILY"]

_KEY = SigningKey(hashlib.sha256(b"vigilnet audit vectors: log key").digest())
_OTHER = SigningKey(hashlib.sha256(b"vigilnet audit vectors: another key").digest())
_ORIGIN = "vigilnet.example/hub-0"
_NAME = "vigilnet.example/hub-0"

_ENTRIES: list[tuple[EntryKind, int, CborValue]] = [
    (EntryKind.DECISION, 1_767_225_600_000, {"epoch": 1, "value": bytes(32)}),
    (EntryKind.CERTIFICATE, 1_767_225_600_500, {"epoch": 1, "round": 0, "signers": [0, 1, 2, 3]}),
    (EntryKind.KEY_EVENT, 1_767_225_660_000, {"node": "hub-1", "serial": 3}),
    (EntryKind.REPUTATION_PENALTY, 1_767_225_720_000, {"node": "monitor-7", "points": 5}),
    (EntryKind.EQUIVOCATION_EVIDENCE, 1_767_225_780_000, {"hub": 4, "round": 2}),
    (EntryKind.CONFIG_CHANGE, 1_767_225_840_000, {"threshold": [3, 4]}),
    (EntryKind.DECISION, 1_767_225_900_000, {"epoch": 2, "value": b"\x01" * 32}),
]

_NOTES = {
    "Valid": Note(bug_type="BASIC", description="A checkpoint or proof of the log as it is."),
    "BadSignature": Note(
        bug_type="AUTH_BYPASS",
        description="The checkpoint's signature is by another key, or its text was changed after signing.",
    ),
    "WrongOrigin": Note(
        bug_type="AUTH_BYPASS", description="A checkpoint of another log (origin line differs)."
    ),
    "MalformedCheckpoint": Note(
        bug_type="EDGE_CASE",
        description="A signed text that is not origin, decimal size and a 32-byte base64 root.",
    ),
    "WrongLeaf": Note(
        bug_type="INTEGRITY",
        description="The proof is of another entry, or the entry's body was changed.",
        effect="Without recomputing the leaf from the entry, a proof of one entry passes for another.",
    ),
    "WrongPath": Note(bug_type="INTEGRITY", description="One hash of the proof path changed."),
    "WrongSize": Note(
        bug_type="INTEGRITY",
        description="A proof computed for another tree size than the checkpoint signs.",
        effect="An inclusion proof does not bind the size: only the signed checkpoint does.",
    ),
}


def _leaves() -> list[bytes]:
    return [entry_leaf(kind, t, encode(body)) for kind, t, body in _ENTRIES]


def _log(size: int) -> MerkleLog:
    log = MerkleLog()
    for leaf in _leaves()[:size]:
        log.append_leaf_hash(leaf_hash(leaf))
    return log


def _note(size: int, key: SigningKey = _KEY, origin: str = _ORIGIN, text: str | None = None) -> str:
    body = text if text is not None else checkpoint_text(origin, size, _log(size).root(size))
    return sign_note(body, _NAME, key)


def _inclusion(comment: str, flag: str, index: int, size: int, *, proof_size: int | None = None,
               path_flip: int | None = None, proof_index: int | None = None) -> Case:  # fmt: skip
    proof = _log(7).inclusion_proof(
        index if proof_index is None else proof_index, proof_size or size
    )
    path = [h.hex() for h in proof.audit_path]
    if path_flip is not None:
        raw = bytearray(proof.audit_path[path_flip])
        raw[0] ^= 1
        path[path_flip] = bytes(raw).hex()
    return Case(
        comment=comment,
        result="valid" if flag == "Valid" else "invalid",
        flags=(flag,),
        fields={"action": "inclusion", "checkpoint": _note(size), "index": index, "path": path},
    )


def _consistency(comment: str, flag: str, old: int, new: int, *, proof_old: int | None = None,
                 path_flip: int | None = None) -> Case:  # fmt: skip
    proof = _log(7).consistency_proof(proof_old or old, new)
    path = [h.hex() for h in proof.consistency_path]
    if path_flip is not None:
        raw = bytearray(proof.consistency_path[path_flip])
        raw[-1] ^= 1
        path[path_flip] = bytes(raw).hex()
    return Case(
        comment=comment,
        result="valid" if flag == "Valid" else "invalid",
        flags=(flag,),
        fields={
            "action": "consistency",
            "checkpoint": _note(new),
            "oldCheckpoint": _note(old),
            "path": path,
        },
    )


def _checkpoint(comment: str, flag: str, note: str) -> Case:
    return Case(
        comment=comment,
        result="valid" if flag == "Valid" else "invalid",
        flags=(flag,),
        fields={"action": "checkpoint", "checkpoint": note},
    )


def _build() -> Iterator[Group]:
    good = _note(7)
    text, signature = good.split("\n\n")
    tampered = text.replace("\n7\n", "\n6\n") + "\n\n" + signature
    cases = [
        _checkpoint("the checkpoint at size 7", "Valid", good),
        _checkpoint("the checkpoint at size 0 (the empty root)", "Valid", _note(0)),
        _checkpoint(
            "signed by another key under the log's name", "BadSignature", _note(7, key=_OTHER)
        ),
        _checkpoint("size changed to 6 after signing", "BadSignature", tampered),
        _checkpoint(
            "another log's origin", "WrongOrigin", _note(7, origin="vigilnet.example/hub-1")
        ),
        _checkpoint(
            "size written as 07",
            "MalformedCheckpoint",
            _note(7, text=f"{_ORIGIN}\n07\n{base64.b64encode(_log(7).root()).decode()}\n"),
        ),
        _checkpoint(
            "a 31-byte root",
            "MalformedCheckpoint",
            _note(7, text=f"{_ORIGIN}\n7\n{base64.b64encode(bytes(31)).decode()}\n"),
        ),
        _inclusion("entry 0 in size 7", "Valid", 0, 7),
        _inclusion("entry 6 in size 7", "Valid", 6, 7),
        _inclusion("entry 4 in size 5", "Valid", 4, 5),
        _inclusion("entry 3 in size 7, the path of entry 2", "WrongLeaf", 3, 7, proof_index=2),
        _inclusion("entry 3 in size 7, first path hash changed", "WrongPath", 3, 7, path_flip=0),
        _inclusion(
            "entry 3 in the checkpoint at 7, path for size 6", "WrongSize", 3, 7, proof_size=6
        ),
        _consistency("size 3 to 7", "Valid", 3, 7),
        _consistency("size 4 to 7", "Valid", 4, 7),
        _consistency("size 6 to 7", "Valid", 6, 7),
        _consistency("size 3 to 7, last path hash changed", "WrongPath", 3, 7, path_flip=-1),
        _consistency("size 3 to 7 with the path from size 5", "WrongSize", 3, 7, proof_old=5),
    ]
    yield Group(
        type="AuditLog",
        fields={
            "origin": _ORIGIN,
            "verifierKey": NoteVerifier.of(_NAME, _KEY.verify_key).format(),
            "entries": _entries_json(),
        },
        cases=tuple(cases),
    )
    # the same proofs against a log whose entry 3 body was changed
    changed = [dict(e) for e in _entries_json()]
    changed[3]["body"] = encode({"node": "monitor-7", "points": 0}).hex()
    yield Group(
        type="AuditLog",
        fields={
            "origin": _ORIGIN,
            "verifierKey": NoteVerifier.of(_NAME, _KEY.verify_key).format(),
            "entries": changed,
        },
        cases=(
            _inclusion("entry 3 whose body was changed (penalty 5 to 0)", "WrongLeaf", 3, 7),
            _inclusion("entry 2 beside it, unchanged", "Valid", 2, 7),
        ),
    )


def _entries_json() -> list[dict[str, Any]]:
    return [
        {"kind": kind.value, "timeMs": t, "body": encode(body).hex()} for kind, t, body in _ENTRIES
    ]


def _open(group: Mapping[str, Any], note: str) -> tuple[int, bytes]:
    verifier = NoteVerifier.parse(group["verifierKey"])
    text, _signers = open_note(note, [verifier])
    return parse_checkpoint(text, group["origin"])


def _leaf(group: Mapping[str, Any], index: int) -> bytes:
    entry = group["entries"][index]
    return leaf_hash(
        entry_leaf(EntryKind(entry["kind"]), entry["timeMs"], bytes.fromhex(entry["body"]))
    )


def _verify(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    try:
        size, root = _open(group, test["checkpoint"])
        if test["action"] == "inclusion":
            verify_inclusion(
                leaf_hash=_leaf(group, test["index"]),
                proof=InclusionProof(
                    leaf_index=test["index"],
                    tree_size=size,
                    audit_path=tuple(bytes.fromhex(h) for h in test["path"]),
                ),
                root=root,
            )
        elif test["action"] == "consistency":
            old_size, old_root = _open(group, test["oldCheckpoint"])
            verify_consistency(
                proof=ConsistencyProof(
                    old_size=old_size,
                    new_size=size,
                    consistency_path=tuple(bytes.fromhex(h) for h in test["path"]),
                ),
                old_root=old_root,
                new_root=root,
            )
    except (NoteError, AuditLogError, MerkleProofError, RemoteProtocolError) as exc:
        return None if test["result"] == "invalid" else f"refused: {exc}"
    return None if test["result"] == "valid" else "accepted what must be refused"


AUDIT_FAMILY = Family(
    name="audit_log",
    algorithm="vigilnet audit log: C2SP signed checkpoints, RFC 9162 inclusion and consistency proofs",
    header=(
        "Entry leaf = canonical_cbor({kind, time_ms, body}) with body the entry's CBOR bytes; leaf hash SHA-256(0x00 || leaf).",
        "A checkpoint is a C2SP signed note (verifierKey in the note vkey format) over origin \\n size \\n base64(root) \\n,",
        "size in shortest decimal, root 32 bytes.  Open it, then check the proof against its signed size and root,",
        "recomputing the leaf hash from the group's entry: a proof is only as good as the checkpoint it is checked against.",
    ),
    notes=_NOTES,
    group_schema={
        "type": {"enum": ["AuditLog"]},
        "properties": {
            "origin": {"type": "string"},
            "verifierKey": {"type": "string"},
            "entries": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string"},
                        "timeMs": {"type": "integer", "minimum": 0},
                        "body": hex_string("the entry body, canonical CBOR"),
                    },
                    "required": ["kind", "timeMs", "body"],
                    "additionalProperties": False,
                },
            },
        },
    },
    test_schema={
        "properties": {
            "action": {"enum": ["checkpoint", "inclusion", "consistency"]},
            "checkpoint": {"type": "string"},
            "oldCheckpoint": {"type": "string"},
            "index": {"type": "integer", "minimum": 0},
            "path": {"type": "array", "items": hex_string("a proof hash")},
        },
        "required": ["action", "checkpoint"],
    },
    build=_build,
    verify_case=_verify,
)
