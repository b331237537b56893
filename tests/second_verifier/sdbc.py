"""SDBC's single-message checks from the file header, docs/vectors/sdbc.md and docs/crypto.md:
message signatures, decision certificates and equivocation evidence, with a
switch per bug.  Values (valid(v)) and executions are not re-checked."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from fractions import Fraction
from typing import Any

from tests.second_verifier import cbor, ed25519

__all__ = ["Hubs", "certificate", "evidence", "message_signature"]

_VERSIONS = {"summary": 2, "proposal": 1, "prevote": 1, "precommit": 1}


class Hubs:
    def __init__(self, group: Mapping[str, Any]) -> None:
        self.keys = [bytes.fromhex(k) for k in group["publicKeys"]]
        self.config_hash = bytes.fromhex(group["configHash"])
        t = Fraction(group["threshold"])
        self.quorum = -(-t.numerator * len(self.keys) // t.denominator)


def _message(raw: bytes, bugs: Collection[str]) -> tuple[str, dict[str, Any]] | None:
    try:
        decoded = cbor.decode(raw, bugs=bugs)
    except cbor.Reject:
        return None
    if not isinstance(decoded, dict) or set(decoded) != {"type", "body"}:
        return None
    kind, body = decoded["type"], decoded["body"]
    if kind not in _VERSIONS or not isinstance(body, dict) or "signature" not in body:
        return None
    return kind, body


def sign_bytes(kind: str, body: Mapping[str, Any], bugs: Collection[str]) -> bytes:
    version = 1 if "sdbc_summary_tag_v1" in bugs and kind == "summary" else _VERSIONS[kind]
    fields = {k: v for k, v in body.items() if k != "signature"}
    if kind == "proposal":
        # a proposal signs the hash of its value, not the value
        value = fields.pop("value", None)
        fields["value_hash"] = hashlib.sha256(
            b"vigilnet/sdbc/value/v2\x00" + cbor.encode(value)
        ).digest()
    return f"vigilnet/sdbc/{kind}/v{version}".encode() + b"\x00" + cbor.encode(fields)


def _signed(hubs: Hubs, kind: str, body: Mapping[str, Any], bugs: Collection[str]) -> bool:
    hub = body.get("hub")
    if not isinstance(hub, int) or isinstance(hub, bool) or not 0 <= hub < len(hubs.keys):
        return False
    if body.get("config_hash") != hubs.config_hash:
        return False
    return ed25519.verify(hubs.keys[hub], sign_bytes(kind, body, bugs), body["signature"], bugs)


def message_signature(
    hubs: Hubs, raw: bytes, expected_sign_bytes: bytes, bugs: Collection[str]
) -> bool:
    parsed = _message(raw, bugs)
    if parsed is None:
        return False
    kind, body = parsed
    if sign_bytes(kind, body, ()) != expected_sign_bytes:
        return False
    if kind == "proposal" and "sdbc_accepts_any_proposer" not in bugs:
        epoch, round_ = body.get("epoch"), body.get("round")
        if not (isinstance(epoch, int) and isinstance(round_, int)):
            return False
        if body.get("hub") != (epoch + round_) % len(hubs.keys):
            return False
    return _signed(hubs, kind, body, bugs)


def certificate(hubs: Hubs, raw: bytes, bugs: Collection[str]) -> bool:
    try:
        cert = cbor.decode(raw, bugs=bugs)
    except cbor.Reject:
        return False
    if not isinstance(cert, dict):
        return False
    if cert.get("value_hash") is None and "sdbc_cert_accepts_nil" not in bugs:
        return False
    if (
        cert.get("config_hash") != hubs.config_hash
        and "sdbc_cert_trusts_its_config_hash" not in bugs
    ):
        return False
    signers: list[int] = []
    precommits: Sequence[object] = cert.get("precommits", ())
    for raw_vote in precommits:
        parsed = _message(raw_vote, bugs) if isinstance(raw_vote, bytes) else None
        if parsed is None or parsed[0] != "precommit":
            return False
        kind, body = parsed
        slot = ["round", "value_hash", "config_hash"]
        if "sdbc_cert_ignores_epoch" not in bugs:
            slot.append("epoch")
        if any(body.get(k) != cert.get(k) for k in slot):
            return False
        check = hubs
        if "sdbc_cert_trusts_its_config_hash" in bugs:
            check = _with_config(hubs, cert["config_hash"])
        if not _signed(check, kind, body, bugs):
            if "sdbc_cert_skips_bad_precommits" in bugs:
                continue
            return False
        signers.append(body["hub"])
    counted = len(signers) if "sdbc_cert_counts_messages" in bugs else len(set(signers))
    needed = len(hubs.keys) // 2 + 1 if "sdbc_cert_majority_quorum" in bugs else hubs.quorum
    return counted >= needed


def _with_config(hubs: Hubs, config_hash: object) -> Hubs:
    other = Hubs.__new__(Hubs)
    other.keys, other.quorum = hubs.keys, hubs.quorum
    other.config_hash = config_hash  # type: ignore[assignment]
    return other


def evidence(hubs: Hubs, raw: bytes, bugs: Collection[str]) -> bool:
    try:
        pair = cbor.decode(raw, bugs=bugs)
    except cbor.Reject:
        return False
    if not isinstance(pair, dict) or set(pair) != {"first", "second"}:
        return False
    votes = [
        _message(pair[k], bugs) if isinstance(pair[k], bytes) else None for k in ("first", "second")
    ]
    if votes[0] is None or votes[1] is None:
        return False
    (kind_a, a), (kind_b, b) = votes[0], votes[1]
    if kind_a not in ("prevote", "precommit") or kind_b not in ("prevote", "precommit"):
        return False
    if kind_a != kind_b and "sdbc_evidence_across_kinds" not in bugs:
        return False
    slot = ["epoch", "config_hash"]
    if "sdbc_evidence_ignores_round" not in bugs:
        slot.append("round")
    if "sdbc_evidence_across_hubs" not in bugs:
        slot.append("hub")
    if any(a.get(k) != b.get(k) for k in slot):
        return False
    if a.get("value_hash") == b.get("value_hash") and "sdbc_evidence_same_value" not in bugs:
        return False
    if not _signed(hubs, kind_a, a, bugs):
        return False
    return "sdbc_evidence_checks_first_signature_only" in bugs or _signed(hubs, kind_b, b, bugs)
