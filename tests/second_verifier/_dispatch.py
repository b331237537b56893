"""One verdict per vector case: ``verify_case(family, group, test, bugs)``
returns ``"valid"``, ``"invalid"``, or ``None`` where the second verifier does
not re-check that kind of case (stated in docs/vectors/bugs.md)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from tests.second_verifier import arithmetic, cbor, ed25519, merkle, sdbc

__all__ = ["FAMILIES", "verify_case", "verify_file"]

Verdict = str | None
_Verifier = Callable[[Mapping[str, Any], Mapping[str, Any], Collection[str]], Verdict]


def _verdict(ok: bool) -> str:
    return "valid" if ok else "invalid"


def _canonical_cbor(
    group: Mapping[str, Any], test: Mapping[str, Any], bugs: Collection[str]
) -> Verdict:
    try:
        value = cbor.decode(
            bytes.fromhex(test["cbor"]),
            max_depth=group["maxDepth"],
            max_items=group["maxItems"],
            max_size=group["maxSize"],
            bugs=bugs,
        )
    except cbor.Reject:
        return "invalid"
    if test["result"] == "invalid":
        return "valid"
    return _verdict(_sorted(value) == _sorted(_parse_diagnostic(test["diagnostic"])))


def _sorted(value: object) -> str:
    """Diagnostic notation with map keys sorted, so that order does not matter."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_sorted(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_sorted(v) for v in value) + "]"
    return cbor.diagnostic(value)


_HEX = re.compile(r"h'([0-9a-f]*)'")


def _parse_diagnostic(text: str) -> object:
    def value(v: object) -> object:
        if isinstance(v, str) and v.startswith("\x00hex:"):
            return bytes.fromhex(v[5:])
        if isinstance(v, list):
            return [value(x) for x in v]
        if isinstance(v, dict):
            return {k: value(x) for k, x in v.items()}
        return v

    return value(json.loads(_HEX.sub(lambda m: f'"\\u0000hex:{m.group(1)}"', text)))


#: docs/crypto.md and the family's module: the example tags and their field sets
_REGISTERED = {
    "vigilnet/example/vote/v1": {"epoch", "config_hash", "round", "step", "value_hash"},
    "vigilnet/example/report/v1": {"epoch", "config_hash", "node_id", "root", "totals"},
}


def _key_id(public: bytes) -> bytes:
    return hashlib.sha256(b"vigilnet-key-id/ed25519/v1\x00" + public).digest()


def _sign_bytes_for(tag: str, body: bytes, bugs: Collection[str]) -> bytes:
    if "sign_bytes_without_tag" in bugs:
        return body
    if "sign_bytes_without_zero_byte" in bugs:
        return tag.encode() + body
    return tag.encode() + b"\x00" + body


def _ed25519_sign_bytes(
    group: Mapping[str, Any], test: Mapping[str, Any], bugs: Collection[str]
) -> Verdict:
    public = bytes.fromhex(group["publicKey"])
    if _key_id(public).hex() != group["keyId"]:
        return "invalid"
    tag = test["tag"]
    prefix = tag.encode() + b"\x00"
    sign_bytes = bytes.fromhex(test["signBytes"])
    if tag not in _REGISTERED or not sign_bytes.startswith(prefix):
        return "invalid"
    body = sign_bytes[len(prefix) :]
    try:
        decoded = cbor.decode(body, bugs=bugs)
    except cbor.Reject:
        return "invalid"
    if _sorted(decoded) != _sorted(_parse_diagnostic(test["fields"])) or not isinstance(
        decoded, dict
    ):
        return "invalid"
    if set(decoded) != _REGISTERED[tag]:
        return "invalid"
    signature = bytes.fromhex(test["signature"])
    tags = list(_REGISTERED) if "sign_bytes_any_registered_tag" in bugs else [tag]
    return _verdict(
        any(ed25519.verify(public, _sign_bytes_for(t, body, bugs), signature, bugs) for t in tags)
    )


def _fraction(text: str) -> Fraction:
    return Fraction(text)


def _quorum(group: Mapping[str, Any], test: Mapping[str, Any], bugs: Collection[str]) -> Verdict:
    row = arithmetic.quorum_row(_fraction(group["threshold"]), test["n"], bugs)
    if row is None:
        return "invalid"
    if test["result"] == "invalid":
        return "valid"
    expected = (test["quorum"], test["blocking"], test["maxSafeFaults"], test["maxLiveFaults"])
    return _verdict(row == expected)


def _merkle_log(
    group: Mapping[str, Any], test: Mapping[str, Any], bugs: Collection[str]
) -> Verdict:
    leaves = [bytes.fromhex(x) for x in group["leaves"]]
    size = group["treeSize"]
    if merkle.log_root(leaves).hex() != group["rootHash"] or len(leaves) != size:
        return "invalid"
    root = bytes.fromhex(group["rootHash"])
    path = [bytes.fromhex(x) for x in test["path"]]
    index = test["index"]
    if test["proofType"] == "inclusion":
        if index >= size:
            return "invalid"
        return _verdict(merkle.log_inclusion(leaves[index], index, size, path, root, bugs))
    old_root = merkle.log_root(leaves[:index])
    return _verdict(merkle.log_consistency(index, size, path, old_root, root, bugs))


def _merkle_sum(
    group: Mapping[str, Any], test: Mapping[str, Any], bugs: Collection[str]
) -> Verdict:
    return _verdict(
        merkle.sum_inclusion(
            group["layout"],
            bytes.fromhex(test["leafPayload"]),
            [int(v) for v in test["leafSums"]],
            test["index"],
            test["proofTreeSize"],
            [(bytes.fromhex(s["hash"]), [int(v) for v in s["sums"]]) for s in test["siblings"]],
            test["rootSize"],
            bytes.fromhex(test["rootHash"]),
            [int(v) for v in test["rootTotals"]],
            bugs,
        )
    )


def _median(group: Mapping[str, Any], test: Mapping[str, Any], bugs: Collection[str]) -> Verdict:
    values = [int(v) for v in test["values"]]
    return _verdict(arithmetic.median(values, bugs) == int(test["median"]))


def _sprt(group: Mapping[str, Any], test: Mapping[str, Any], bugs: Collection[str]) -> Verdict:
    upper, lower = arithmetic.sprt_thresholds(
        _fraction(group["alpha"]), _fraction(group["beta"]), group["scale"], bugs
    )
    if (str(upper), str(lower)) != (group["upper"], group["lower"]):
        return "invalid"
    verdict = arithmetic.sprt_verdict(int(test["logOdds"]), upper, lower, bugs)
    return _verdict(verdict == test["verdict"])


def _sdbc(group: Mapping[str, Any], test: Mapping[str, Any], bugs: Collection[str]) -> Verdict:
    hubs = sdbc.Hubs(group)
    kind = test["kind"]
    if kind == "signBytes":
        ok = sdbc.message_signature(
            hubs, bytes.fromhex(test["message"]), bytes.fromhex(test["signBytes"]), bugs
        )
    elif kind == "certificate":
        ok = sdbc.certificate(hubs, bytes.fromhex(test["object"]), bugs)
    elif kind == "evidence":
        ok = sdbc.evidence(hubs, bytes.fromhex(test["object"]), bugs)
    else:
        return None
    return _verdict(ok)


#: file name -> (family name, verifier)
FAMILIES: dict[str, tuple[str, _Verifier]] = {
    "canonical_cbor_test.json": ("canonical_cbor", _canonical_cbor),
    "ed25519_sign_bytes_test.json": ("ed25519_sign_bytes", _ed25519_sign_bytes),
    "quorum_thresholds_test.json": ("quorum_thresholds", _quorum),
    "shap_merkle_log_test.json": ("shap_merkle_log", _merkle_log),
    "shap_merkle_sum_test.json": ("shap_merkle_sum", _merkle_sum),
    "shap_replica_median_test.json": ("shap_replica_median", _median),
    "shap_sprt_test.json": ("shap_sprt", _sprt),
    "sdbc_test.json": ("sdbc", _sdbc),
}


def verify_case(
    family: str, group: Mapping[str, Any], test: Mapping[str, Any], bugs: Collection[str] = ()
) -> Verdict:
    for name, verifier in FAMILIES.values():
        if name == family:
            return verifier(group, test, bugs)
    return None


def verify_file(path: Path, bugs: Collection[str] = ()) -> Iterator[tuple[int, str, Verdict]]:
    """(tcId, expected result, second verifier's verdict) for every case."""
    _family, verifier = FAMILIES[path.name]
    document = json.loads(path.read_text())
    for group in document["testGroups"]:
        for test in group["tests"]:
            yield test["tcId"], test["result"], verifier(group, test, bugs)
