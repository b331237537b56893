"""Vector families for SHAP (DESIGN.md 4.2; ``docs/vectors/shap*.md``).

* ``shap_merkle_log``: RFC 9162 trees over SHAP leaf encodings (the sign bytes
  of SHAP reports, as the audit log stores them), inclusion and consistency
  proofs, valid and tampered.
* ``shap_merkle_sum``: Merkle-sum trees in SHAP's layout (count, count,
  signed) over entry and child leaves; inclusion proofs valid and under each
  known attack (altered sibling sums, the ePrint 2018/1139 understated total,
  negative counts, overflow, wrong size, altered leaf).
* ``shap_reports``: signed monitor reports: the body, the entries root and the
  commitment hash it is bound to, the sign bytes and the Ed25519 signature.
* ``shap_sprt``: SPRT thresholds from exact ``alpha``, ``beta`` and the
  verdicts for fixed log-odds.
* ``shap_replica_median``: the lower median of replica values.
* ``shap_wire`` (:mod:`vigilnet.vectors._shap_wire_family`): the wire codec
  of every SHAP message type, valid and invalid encodings.

Generation uses the building side of the implementation (trees, signing,
``SprtThresholds``, the SHAP combination); verification replays each test
through the checking side (proof verifiers, signature verification, sign
bytes rebuilt from the fields) or an independent computation
(``statistics.median_low``, ``math.log`` to within one unit).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import statistics
from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any

import cbor2
import numpy as np

from vigilnet.crypto import SigningKey, VerifyKey
from vigilnet.encoding import sign_bytes
from vigilnet.errors import BadSignatureError, ProtocolError
from vigilnet.evidence import SprtThresholds, Verdict
from vigilnet.fixedpoint import SCALE
from vigilnet.merkle import (
    COUNT_MAX,
    SUM_NODE_TAG,
    SUM_ROOT_TAG,
    ConsistencyProof,
    InclusionProof,
    MerkleLog,
    SumInclusionProof,
    SumLeaf,
    SumNode,
    SumRoot,
    SumTree,
    leaf_hash,
    sum_leaf_hash,
    verify_consistency,
    verify_inclusion,
    verify_sum_inclusion,
)
from vigilnet.protocols.shap import (
    BODY_DIGEST_TAG,
    LAYOUT,
    REPORT_TAG,
    MonitorBody,
    Report,
    ShapConfig,
    Tier,
    child_leaf,
    combine_replicas_reference,
    commitment_hash,
    entries_tree,
    entry_leaf,
    monitor_report,
    sign_report,
)
from vigilnet.vectors._diagnostic import diagnostic
from vigilnet.vectors._envelope import Case, Family, Group, Note, hex_string
from vigilnet.vectors._shap_wire_family import SHAP_WIRE_FAMILY

__all__ = [
    "SHAP_FAMILIES",
    "SHAP_MERKLE_LOG_FAMILY",
    "SHAP_MERKLE_SUM_FAMILY",
    "SHAP_REPLICA_MEDIAN_FAMILY",
    "SHAP_REPORT_FAMILY",
    "SHAP_SPRT_FAMILY",
    "SHAP_WIRE_FAMILY",
]

_CONFIG = ShapConfig()
_INT_STRING = {"type": "string", "pattern": "^-?[0-9]+$"}


def _key(index: int) -> SigningKey:
    return SigningKey(hashlib.sha256(b"vigilnet shap vector key %d" % index).digest())


def _body(index: int, agents: int) -> MonitorBody:
    digest = hashlib.sha256(b"vigilnet shap vector body %d" % index).digest()
    counts = tuple(1 + digest[i] % 8 for i in range(agents))
    llrs = tuple(
        (digest[i + 8] - 128) * counts[i] * 257 % (counts[i] * 8 * SCALE) * (-1) ** i
        for i in range(agents)
    )
    return MonitorBody(
        agent_ids=tuple(100 * index + 3 * i for i in range(agents)), counts=counts, llr_sums=llrs
    )


def _report(index: int, agents: int) -> tuple[Report, MonitorBody]:
    body = _body(index, agents)
    report = monitor_report(
        signing_key=_key(index), node_id=index, epoch=7 + index, config=_CONFIG, body=body
    )
    return report, body


def _flip(data: bytes, position: int = 0) -> bytes:
    flipped = bytearray(data)
    flipped[position % len(flipped)] ^= 1
    return bytes(flipped)


# --------------------------------------------------------------------------
# shap_merkle_log

_LOG_NOTES = {
    "Valid": Note(bug_type="BASIC", description="A proof the log produced for this tree."),
    "ModifiedPath": Note(bug_type="AUTH_BYPASS", description="One bit of one proof hash flipped."),
    "WrongIndex": Note(
        bug_type="AUTH_BYPASS", description="A valid path presented for another leaf index."
    ),
    "TruncatedPath": Note(bug_type="MALFORMED_INPUT", description="The last proof hash dropped."),
    "ExtendedPath": Note(
        bug_type="MALFORMED_INPUT", description="One extra hash appended to a valid proof."
    ),
    "EmptyOldTree": Note(
        bug_type="EDGE_CASE",
        description="A consistency proof from size 0: vigilnet rejects it always (the size-0 rule, docs/merkle.md).",
    ),
    "SameSizeNonEmptyPath": Note(
        bug_type="EDGE_CASE",
        description="A consistency proof between equal sizes with a non-empty path (the new root itself): RFC 9162 2.1.4.2 admits only the empty path.",
        effect="A verifier that returns early on equal sizes accepts any path, so it checks nothing.",
    ),
}

_LOG_SIZES = (1, 2, 3, 5, 7, 8)


def _log_leaves(size: int) -> list[bytes]:
    return [sign_bytes(REPORT_TAG, _report(size * 10 + i, 2)[0].fields()) for i in range(size)]


def _log_case(
    comment: str, result: str, flag: str, kind: str, index: int, path: tuple[bytes, ...]
) -> Case:
    return Case(
        comment=comment,
        result=result,
        flags=(flag,),
        fields={"proofType": kind, "index": index, "path": [p.hex() for p in path]},
    )


def _build_log() -> Iterator[Group]:
    for size in _LOG_SIZES:
        leaves = _log_leaves(size)
        log = MerkleLog(leaves)
        cases = []
        for index in range(size):
            path = log.inclusion_proof(index).audit_path
            what = f"inclusion of leaf {index} of {size}"
            cases.append(_log_case(what, "valid", "Valid", "inclusion", index, path))
            if path:
                cases.append(
                    _log_case(
                        f"{what}, hash flipped",
                        "invalid",
                        "ModifiedPath",
                        "inclusion",
                        index,
                        (*path[:-1], _flip(path[-1], index)),
                    )
                )
                cases.append(
                    _log_case(
                        f"{what}, last hash dropped",
                        "invalid",
                        "TruncatedPath",
                        "inclusion",
                        index,
                        path[:-1],
                    )
                )
            cases.append(
                _log_case(
                    f"{what}, extra hash",
                    "invalid",
                    "ExtendedPath",
                    "inclusion",
                    index,
                    (*path, leaf_hash(leaves[index])),
                )
            )
            if size > 1:
                other = (index + 1) % size
                cases.append(
                    _log_case(
                        f"{what}, presented as leaf {other}",
                        "invalid",
                        "WrongIndex",
                        "inclusion",
                        other,
                        path,
                    )
                )
        for old in range(1, size):
            path = log.consistency_proof(old).consistency_path
            what = f"consistency {old} -> {size}"
            cases.append(_log_case(what, "valid", "Valid", "consistency", old, path))
            if path:
                cases.append(
                    _log_case(
                        f"{what}, hash flipped",
                        "invalid",
                        "ModifiedPath",
                        "consistency",
                        old,
                        (_flip(path[0], old), *path[1:]),
                    )
                )
        cases.append(
            _log_case(f"consistency 0 -> {size}", "invalid", "EmptyOldTree", "consistency", 0, ())
        )
        what = f"consistency {size} -> {size}"
        cases.append(_log_case(what, "valid", "Valid", "consistency", size, ()))
        cases.append(
            _log_case(
                f"{what}, the root as a one-hash path",
                "invalid",
                "SameSizeNonEmptyPath",
                "consistency",
                size,
                (log.root(),),
            )
        )
        yield Group(
            type="MerkleLogTree",
            fields={
                "leaves": [leaf.hex() for leaf in leaves],
                "treeSize": size,
                "rootHash": log.root().hex(),
            },
            cases=tuple(cases),
        )


def _verify_log(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    leaves = [bytes.fromhex(leaf) for leaf in group["leaves"]]
    size = group["treeSize"]
    root = bytes.fromhex(group["rootHash"])
    if len(leaves) != size:
        return "treeSize is not the number of leaves"
    path = tuple(bytes.fromhex(p) for p in test["path"])
    verdict = "valid"
    try:
        if test["proofType"] == "inclusion":
            verify_inclusion(
                leaf_hash=leaf_hash(leaves[test["index"]] if test["index"] < size else b""),
                proof=InclusionProof(leaf_index=test["index"], tree_size=size, audit_path=path),
                root=root,
            )
            # The leaf the proof was made for is the one at the *true* index:
            # a path replayed for another index must fail for that leaf too.
        else:
            old = test["index"]
            old_root = MerkleLog(leaves[:old]).root() if old else hashlib.sha256(b"").digest()
            verify_consistency(
                proof=ConsistencyProof(old_size=old, new_size=size, consistency_path=path),
                old_root=old_root,
                new_root=root,
            )
    except ProtocolError:
        verdict = "invalid"
    if verdict != test["result"]:
        return f"proof is {verdict}, expected {test['result']}"
    return None


SHAP_MERKLE_LOG_FAMILY = Family(
    name="shap_merkle_log",
    algorithm="RFC 9162 Merkle tree over SHAP report sign bytes: inclusion and consistency proofs",
    header=(
        "Each leaf is the sign bytes of a SHAP report (vigilnet/shap/report/v1, zero byte, canonical CBOR), as the audit log stores it.",
        "Leaf hash SHA-256(0x00 || leaf), node hash SHA-256(0x01 || left || right), RFC 9162 section 2.1.",
        "Inclusion: verify path for leaves[index] at index against rootHash with treeSize (RFC 9162 2.1.3.2).",
        "Consistency: index is the old size; the old root is the root of the first index leaves (RFC 9162 2.1.4.2). A proof from size 0 is invalid (vigilnet's size-0 rule).",
    ),
    notes=_LOG_NOTES,
    group_schema={
        "type": {"enum": ["MerkleLogTree"]},
        "properties": {
            "leaves": {"type": "array", "items": hex_string("a leaf body")},
            "treeSize": {"type": "integer", "minimum": 1},
            "rootHash": hex_string("MTH of all leaves"),
        },
    },
    test_schema={
        "properties": {
            "proofType": {"enum": ["inclusion", "consistency"]},
            "index": {"type": "integer", "minimum": 0},
            "path": {"type": "array", "items": hex_string("a proof hash")},
        },
        "required": ["proofType", "index", "path"],
    },
    build=_build_log,
    verify_case=_verify_log,
)


# --------------------------------------------------------------------------
# shap_merkle_sum

_SUM_NOTES = {
    "Valid": Note(bug_type="BASIC", description="A proof the tree produced."),
    "SiblingSumAltered": Note(
        bug_type="AUTH_BYPASS",
        description="One sibling shown with a different sum and the same hash.",
        effect="Node hashes bind both children's sums, so the recomputed root differs.",
    ),
    "UnderstatedTotal": Note(
        bug_type="AUTH_BYPASS",
        description="ePrint 2018/1139: siblings shown with sums chosen so that the leaf verifies against a smaller total; only a tree that hashes totals alone accepts it.",
        effect="Accepting it lets an aggregator understate the sum of the leaves it committed to.",
    ),
    "NegativeCount": Note(
        bug_type="AUTH_BYPASS",
        description="A sibling with a negative count coordinate.",
        effect="A negative count would let other leaves' counts cancel.",
    ),
    "CountOverflow": Note(
        bug_type="EDGE_CASE",
        description="Sibling counts whose sum with the leaf's exceeds 2**64 - 1: rejected, never wrapped.",
        effect="In the cases whose hashes are recomputed over the wrapped sums, a verifier that adds modulo 2**64 accepts a total smaller than the leaf's own count.",
    ),
    "WrongSize": Note(
        bug_type="AUTH_BYPASS",
        description="The root's size differs from the proof's: the size is hashed into the root.",
    ),
    "LeafAltered": Note(
        bug_type="AUTH_BYPASS", description="The leaf's sums differ from the committed leaf."
    ),
    "TotalMismatch": Note(
        bug_type="AUTH_BYPASS",
        description="The claimed totals differ from the totals the root hash binds.",
    ),
}


def _sum_leaves(size: int) -> list[SumLeaf]:
    leaves = []
    for i in range(size):
        if i % 2:
            report, _ = _report(200 + size * 10 + i, 3)
            leaves.append(child_leaf(report.node_id, report.root, report.totals))
        else:
            body = _body(300 + size * 10 + i, 1)
            leaves.append(entry_leaf(body.agent_ids[0], body.counts[0], body.llr_sums[0]))
    return leaves


def _nodes(nodes: tuple[SumNode, ...]) -> list[dict[str, Any]]:
    return [{"hash": n.hash.hex(), "sums": [str(v) for v in n.sums]} for n in nodes]


def _sum_case(
    comment: str,
    result: str,
    flag: str,
    index: int,
    leaf: SumLeaf,
    siblings: tuple[SumNode, ...],
    root: SumRoot,
    proof_size: int,
) -> Case:
    return Case(
        comment=comment,
        result=result,
        flags=(flag,),
        fields={
            "index": index,
            "proofTreeSize": proof_size,
            "leafPayload": leaf.payload.hex(),
            "leafSums": [str(v) for v in leaf.sums],
            "siblings": _nodes(siblings),
            "rootSize": root.size,
            "rootHash": root.hash.hex(),
            "rootTotals": [str(v) for v in root.totals],
        },
    )


def _raw_sums(sums: tuple[int, ...]) -> bytes:
    """``S(sums)`` without the range check, two's complement modulo 2**64:
    the bytes a forger hashes (a count of -1 and one of 2**64 - 1 agree)."""
    return b"".join((value % 2**64).to_bytes(8, "big") for value in sums)


def _forged_pair_root(
    index: int, leaf: SumLeaf, sibling: SumNode, totals: tuple[int, ...], size: int = 2
) -> SumRoot:
    """The root a forger computes for a two-leaf tree over whatever sums it
    likes: node and root hashes recomputed, nothing range-checked."""
    mine = sum_leaf_hash(LAYOUT, leaf) + _raw_sums(leaf.sums)
    theirs = sibling.hash + _raw_sums(sibling.sums)
    pair = mine + theirs if index == 0 else theirs + mine
    top = hashlib.sha256(SUM_NODE_TAG + LAYOUT.descriptor + pair).digest()
    root = hashlib.sha256(
        SUM_ROOT_TAG + LAYOUT.descriptor + size.to_bytes(8, "big") + top + _raw_sums(totals)
    ).digest()
    return SumRoot(size=size, hash=root, totals=totals)


def _forged_pair_cases(index: int, leaf: SumLeaf, sibling: SumNode) -> Iterator[Case]:
    """Cases whose hashes are all consistent, so only the range checks and
    the totals check refuse them (size-2 trees)."""
    what = f"leaf {index} of 2"
    for flag, count, comment in (
        (
            "CountOverflow",
            COUNT_MAX,
            "sibling count 2**64 - 1, hashes recomputed over the wrapped total",
        ),
        ("NegativeCount", -1, "sibling count -1, hashes recomputed over it"),
    ):
        forged = SumNode(hash=sibling.hash, sums=(count, *sibling.sums[1:]))
        totals = tuple(
            (a + b) % 2**64 if i < 2 else a + b
            for i, (a, b) in enumerate(zip(leaf.sums, forged.sums, strict=True))
        )
        root = _forged_pair_root(index, leaf, forged, totals)
        yield _sum_case(f"{what}, {comment}", "invalid", flag, index, leaf, (forged,), root, 2)
    real = tuple(a + b for a, b in zip(leaf.sums, sibling.sums, strict=True))
    claimed = (real[0], real[1] - 1, real[2])
    root = _forged_pair_root(index, leaf, sibling, claimed)
    yield _sum_case(
        f"{what}, root hash recomputed over totals one less than the sums",
        "invalid",
        "TotalMismatch",
        index,
        leaf,
        (sibling,),
        root,
        2,
    )


def _build_sum() -> Iterator[Group]:
    for size in (1, 2, 3, 4, 6):
        leaves = _sum_leaves(size)
        tree = SumTree(layout=LAYOUT, leaves=leaves)
        root = tree.root
        cases = []
        for index in range(size):
            leaf = leaves[index]
            siblings = tree.inclusion_proof(index).siblings
            what = f"leaf {index} of {size}"
            cases.append(_sum_case(what, "valid", "Valid", index, leaf, siblings, root, size))
            altered = SumLeaf(payload=leaf.payload, sums=(*leaf.sums[:2], leaf.sums[2] + 1))
            cases.append(
                _sum_case(
                    f"{what}, leaf sum + 1",
                    "invalid",
                    "LeafAltered",
                    index,
                    altered,
                    siblings,
                    root,
                    size,
                )
            )
            wrong_totals = SumRoot(
                size=root.size,
                hash=root.hash,
                totals=(root.totals[0], root.totals[1] + 1, root.totals[2]),
            )
            cases.append(
                _sum_case(
                    f"{what}, claimed totals differ",
                    "invalid",
                    "TotalMismatch",
                    index,
                    leaf,
                    siblings,
                    wrong_totals,
                    size,
                )
            )
            cases.append(
                _sum_case(
                    f"{what}, proof for size {size + 1}",
                    "invalid",
                    "WrongSize",
                    index,
                    leaf,
                    siblings,
                    root,
                    size + 1,
                )
            )
            if not siblings:
                continue
            if size == 2:
                cases.extend(_forged_pair_cases(index, leaf, siblings[0]))
            first = siblings[0]
            bumped = SumNode(
                hash=first.hash, sums=(first.sums[0], first.sums[1] + 1, first.sums[2])
            )
            cases.append(
                _sum_case(
                    f"{what}, sibling 0 count + 1",
                    "invalid",
                    "SiblingSumAltered",
                    index,
                    leaf,
                    (bumped, *siblings[1:]),
                    root,
                    size,
                )
            )
            # 2018/1139: show the first sibling with sums making the path's
            # total one less than the real one, and claim that total.
            lower = SumNode(hash=first.hash, sums=(first.sums[0], first.sums[1] - 1, first.sums[2]))
            understated = SumRoot(
                size=root.size,
                hash=root.hash,
                totals=(root.totals[0], root.totals[1] - 1, root.totals[2]),
            )
            cases.append(
                _sum_case(
                    f"{what}, sibling shown with a smaller count, total understated by one",
                    "invalid",
                    "UnderstatedTotal",
                    index,
                    leaf,
                    (lower, *siblings[1:]),
                    understated,
                    size,
                )
            )
            negative = SumNode(hash=first.hash, sums=(-1, first.sums[1], first.sums[2]))
            cases.append(
                _sum_case(
                    f"{what}, sibling with count -1",
                    "invalid",
                    "NegativeCount",
                    index,
                    leaf,
                    (negative, *siblings[1:]),
                    root,
                    size,
                )
            )
            overflow = SumNode(hash=first.hash, sums=(COUNT_MAX, first.sums[1], first.sums[2]))
            cases.append(
                _sum_case(
                    f"{what}, sibling count 2**64 - 1",
                    "invalid",
                    "CountOverflow",
                    index,
                    leaf,
                    (overflow, *siblings[1:]),
                    root,
                    size,
                )
            )
        yield Group(
            type="MerkleSumTree",
            fields={
                "layout": ["count", "count", "signed"],
                "treeSize": size,
                "rootHash": root.hash.hex(),
                "rootTotals": [str(v) for v in root.totals],
            },
            cases=tuple(cases),
        )


def _verify_sum(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    if group["layout"] != ["count", "count", "signed"]:
        return "unknown layout"
    verdict = "valid"
    try:
        verify_sum_inclusion(
            layout=LAYOUT,
            leaf=SumLeaf(
                payload=bytes.fromhex(test["leafPayload"]),
                sums=tuple(int(v) for v in test["leafSums"]),
            ),
            proof=SumInclusionProof(
                leaf_index=test["index"],
                tree_size=test["proofTreeSize"],
                siblings=tuple(
                    SumNode(hash=bytes.fromhex(n["hash"]), sums=tuple(int(v) for v in n["sums"]))
                    for n in test["siblings"]
                ),
            ),
            root=SumRoot(
                size=test["rootSize"],
                hash=bytes.fromhex(test["rootHash"]),
                totals=tuple(int(v) for v in test["rootTotals"]),
            ),
        )
    except ProtocolError:
        verdict = "invalid"
    if verdict == "valid" and (
        test["rootHash"] != group["rootHash"] or test["rootTotals"] != group["rootTotals"]
    ):
        return "a valid proof against a root other than the group's"
    if verdict != test["result"]:
        return f"proof is {verdict}, expected {test['result']}"
    return None


_NODE = {
    "type": "object",
    "properties": {
        "hash": hex_string("32-byte node hash"),
        "sums": {"type": "array", "items": _INT_STRING},
    },
    "required": ["hash", "sums"],
    "additionalProperties": False,
}

SHAP_MERKLE_SUM_FAMILY = Family(
    name="shap_merkle_sum",
    algorithm="Merkle-sum tree (vigilnet/merkle-sum/v1) in SHAP's layout: inclusion proofs and the known attacks",
    header=(
        "Layout (count, count, signed): agents, evidence count, fixed-point LLR sum; descriptor 03 00 00 01.",
        "leaf = SHA-256(0x02 'vigilnet/merkle-sum/v1/leaf' || L || S(sums) || payload); node = SHA-256(0x03 'vigilnet/merkle-sum/v1/node' || L || h_l || S(sums_l) || h_r || S(sums_r)); root = SHA-256(0x04 'vigilnet/merkle-sum/v1/root' || L || uint64(size) || h_top || S(totals)); S: 8 bytes per coordinate, big-endian, two's complement for signed.",
        "Entry leaves carry payload uint64(agent id) and sums (1, count, llr_sum); child leaves carry uint64(node id) || child root and the child's totals.",
        "Verify the leaf at index with the siblings (each with its sums) against (rootSize, rootHash, rootTotals); sums are integers as decimal strings. Every sum must be in range: counts 0..2**64-1, signed -2**63..2**63-1.",
    ),
    notes=_SUM_NOTES,
    group_schema={
        "type": {"enum": ["MerkleSumTree"]},
        "properties": {
            "layout": {"type": "array", "items": {"enum": ["count", "signed"]}},
            "treeSize": {"type": "integer", "minimum": 1},
            "rootHash": hex_string("the tree's root hash"),
            "rootTotals": {"type": "array", "items": _INT_STRING},
        },
    },
    test_schema={
        "properties": {
            "index": {"type": "integer", "minimum": 0},
            "proofTreeSize": {"type": "integer", "minimum": 0},
            "leafPayload": hex_string("the leaf payload"),
            "leafSums": {"type": "array", "items": _INT_STRING},
            "siblings": {"type": "array", "items": _NODE},
            "rootSize": {"type": "integer", "minimum": 0},
            "rootHash": hex_string("the root hash to verify against"),
            "rootTotals": {"type": "array", "items": _INT_STRING},
        },
        "required": [
            "index",
            "proofTreeSize",
            "leafPayload",
            "leafSums",
            "siblings",
            "rootSize",
            "rootHash",
            "rootTotals",
        ],
    },
    build=_build_sum,
    verify_case=_verify_sum,
)


# --------------------------------------------------------------------------
# shap_reports

_REPORT_NOTES = {
    "Valid": Note(
        bug_type="BASIC",
        description="The body's entries tree gives the signed root and totals, and the signature verifies.",
    ),
    "ModifiedTotals": Note(
        bug_type="AUTH_BYPASS", description="The fields' totals differ from what was signed."
    ),
    "ModifiedSignature": Note(bug_type="SIGNATURE_MALLEABILITY", description="One bit flipped."),
    "WrongTag": Note(
        bug_type="AUTH_BYPASS",
        description="Signed over the same fields under another message type's tag.",
    ),
    "BodyMismatch": Note(
        bug_type="AUTH_BYPASS",
        description="A genuine signed report paired with another body: the body does not hash to the signed body_digest. Rejected, and never counted against the signer (anyone can pair a report with a body).",
    ),
    "SignedInconsistentBody": Note(
        bug_type="AUTH_BYPASS",
        description="Validly signed over the body's digest, but the body's entries tree does not give the signed root: rejected, and the signer's own fault (a strike).",
    ),
    "WrongKey": Note(bug_type="AUTH_BYPASS", description="Signed by another monitor's key."),
}


def _report_fields(report: Report) -> dict[str, Any]:
    return {
        "fields": diagnostic(report.fields()),
        "signBytes": sign_bytes(REPORT_TAG, report.fields()).hex(),
        "signature": report.signature.hex(),
    }


def _body_json(body: MonitorBody) -> list[list[str]]:
    return [
        [str(a), str(c), str(v)]
        for a, c, v in zip(body.agent_ids, body.counts, body.llr_sums, strict=True)
    ]


def _report_case(comment: str, result: str, flag: str, report: Report, body: MonitorBody) -> Case:
    tree = entries_tree(
        np.array(body.agent_ids, dtype=np.uint64),
        np.array(body.counts, dtype=np.int64),
        np.array(body.llr_sums, dtype=np.int64),
    )
    return Case(
        comment=comment,
        result=result,
        flags=(flag,),
        fields={
            "body": _body_json(body),
            "bodyDigest": body.digest.hex(),
            "entriesRoot": tree.root.hash.hex(),
            **_report_fields(report),
        },
    )


def _build_reports() -> Iterator[Group]:
    from vigilnet.vectors._signature_family import EXAMPLE_REPORT

    for index, agents in ((1, 1), (2, 4), (3, 9)):
        key = _key(index)
        report, body = _report(index, agents)
        what = f"monitor {index}, {agents} agents"
        cases = [_report_case(what, "valid", "Valid", report, body)]
        cases.append(
            _report_case(
                f"{what}, llr total + 1 after signing",
                "invalid",
                "ModifiedTotals",
                dataclasses.replace(
                    report, totals=(report.totals[0], report.totals[1], report.totals[2] + 1)
                ),
                body,
            )
        )
        cases.append(
            _report_case(
                f"{what}, signature bit flipped",
                "invalid",
                "ModifiedSignature",
                _replace_signature(report, _flip(report.signature, index * 5)),
                body,
            )
        )
        cross = (
            EXAMPLE_REPORT.prefix
            + sign_bytes(REPORT_TAG, report.fields())[len(REPORT_TAG.prefix) :]
        )
        cases.append(
            _report_case(
                f"{what}, signed under the example report tag",
                "invalid",
                "WrongTag",
                _replace_signature(report, key.sign(cross)),
                body,
            )
        )
        cases.append(
            _report_case(
                f"{what}, signed by monitor {index + 1}",
                "invalid",
                "WrongKey",
                _replace_signature(
                    report, _key(index + 1).sign(sign_bytes(REPORT_TAG, report.fields()))
                ),
                body,
            )
        )
        other = MonitorBody(
            agent_ids=body.agent_ids,
            counts=(body.counts[0] + 1, *body.counts[1:]),
            llr_sums=body.llr_sums,
        )
        cases.append(
            _report_case(f"{what}, body count + 1", "invalid", "BodyMismatch", report, other)
        )
        inconsistent = sign_report(
            key,
            epoch=report.epoch,
            config_hash=report.config_hash,
            node_id=report.node_id,
            tier=report.tier,
            root=report.root,
            totals=report.totals,
            body_digest=other.digest,
        )
        cases.append(
            _report_case(
                f"{what}, signs the digest of a body with count + 1 and the root of the first",
                "invalid",
                "SignedInconsistentBody",
                inconsistent,
                other,
            )
        )
        yield Group(
            type="ShapReport",
            fields={
                "seed": hashlib.sha256(b"vigilnet shap vector key %d" % index).digest().hex(),
                "publicKey": key.verify_key.key.hex(),
                "configHash": _CONFIG.config_hash.hex(),
            },
            cases=tuple(cases),
        )


def _replace_signature(report: Report, signature: bytes) -> Report:
    return dataclasses.replace(report, signature=signature)


def _verify_report(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    from vigilnet.vectors._diagnostic import parse_diagnostic

    public = bytes.fromhex(group["publicKey"])
    if SigningKey(bytes.fromhex(group["seed"])).verify_key.key != public:
        return "seed does not derive the group's public key"
    fields = parse_diagnostic(test["fields"])
    if not isinstance(fields, dict):
        return "fields are not a map"
    built = sign_bytes(REPORT_TAG, fields)
    if built.hex() != test["signBytes"]:
        return "sign bytes differ from the tag and fields"
    rows = test["body"]
    # The digest, rebuilt from the rows with cbor2 directly (not the implementation).
    columns = {
        "agent_ids": [int(r[0]) for r in rows],
        "counts": [int(r[1]) for r in rows],
        "llr_sums": [int(r[2]) for r in rows],
    }
    digest = hashlib.sha256(BODY_DIGEST_TAG + cbor2.dumps(columns, canonical=True)).digest()
    if digest.hex() != test["bodyDigest"]:
        return "body digest differs from the rows"
    tree = entries_tree(
        np.array(columns["agent_ids"], dtype=np.uint64),
        np.array(columns["counts"], dtype=np.int64),
        np.array(columns["llr_sums"], dtype=np.int64),
    )
    if tree.root.hash.hex() != test["entriesRoot"]:
        return "entries root differs from the body's tree"
    consistent = (
        fields["body_digest"] == digest
        and commitment_hash(None, tree.root) == fields["root"]
        and list(tree.root.totals) == list(fields["totals"])  # type: ignore[arg-type]
        and fields["config_hash"] == bytes.fromhex(group["configHash"])
        and fields["tier"] == Tier.MONITOR.value
    )
    try:
        VerifyKey(public).verify(built, bytes.fromhex(test["signature"]))
        signed = True
    except BadSignatureError:
        signed = False
    verdict = "valid" if consistent and signed else "invalid"
    if verdict != test["result"]:
        return f"report is {verdict}, expected {test['result']}"
    return None


SHAP_REPORT_FAMILY = Family(
    name="shap_reports",
    algorithm="SHAP monitor reports: entries tree, commitment hash, sign bytes and Ed25519 signature",
    header=(
        "A monitor's body lists (agent id, evidence count, fixed-point LLR sum) rows, sorted by agent id, as decimal strings.",
        "Its entries tree is the Merkle-sum tree (see shap_merkle_sum) of leaves payload uint64(agent id), sums (1, count, llr_sum); entriesRoot is that tree's root hash.",
        "The signed root is SHA-256(0x05 'vigilnet/shap/commitment/v1' || 32 zero bytes || entriesRoot) (a monitor has no inputs tree); the signed totals are the tree's totals.",
        "bodyDigest is SHA-256('vigilnet/shap/body/v1' 0x00 || canonical CBOR of {agent_ids: [...], counts: [...], llr_sums: [...]}), the body's columns as integer arrays.",
        "Sign bytes: 'vigilnet/shap/report/v2' 0x00 canonical CBOR of {epoch, config_hash, node_id, tier, root, totals, body_digest}. A report is valid when the sign bytes match, the signature verifies under publicKey, tier is 'monitor', config_hash is the group's, body_digest is the body's digest, and the body gives root and totals.",
        "A body that does not hash to the signed body_digest (BodyMismatch) is no evidence against the signer; a body that does and still fails (SignedInconsistentBody) is.",
    ),
    notes=_REPORT_NOTES,
    group_schema={
        "type": {"enum": ["ShapReport"]},
        "properties": {
            "seed": hex_string("RFC 8032 seed of the monitor's key"),
            "publicKey": hex_string("the monitor's public key"),
            "configHash": hex_string("SHA-256 of the SHAP configuration's canonical encoding"),
        },
    },
    test_schema={
        "properties": {
            "body": {
                "type": "array",
                "items": {"type": "array", "items": _INT_STRING, "minItems": 3, "maxItems": 3},
            },
            "bodyDigest": hex_string("SHA-256 body digest of the body's rows"),
            "entriesRoot": hex_string("root hash of the body's entries tree"),
            "fields": {
                "type": "string",
                "description": "the signed fields in CBOR diagnostic notation",
            },
            "signBytes": hex_string("tag, 0x00, canonical CBOR of the fields"),
            "signature": hex_string("Ed25519 signature"),
        },
        "required": ["body", "bodyDigest", "entriesRoot", "fields", "signBytes", "signature"],
    },
    build=_build_reports,
    verify_case=_verify_report,
)


# --------------------------------------------------------------------------
# shap_sprt

_SPRT_NOTES = {
    "Verdict": Note(
        bug_type="BASIC",
        description="FLAGGED when L >= upper, CLEARED when L <= lower, else UNDECIDED; thresholds are round_half_even(ln(x) * 2**16) computed exactly.",
    ),
    "Boundary": Note(
        bug_type="EDGE_CASE",
        description="L exactly on a threshold or one unit beside it: where an off-by-one comparison or a float threshold goes wrong.",
    ),
}

_RATES = (("1/100", "1/100"), ("1/20", "1/10"), ("1/1000", "1/5"), ("49/100", "49/100"))


def _build_sprt() -> Iterator[Group]:
    for alpha, beta in _RATES:
        thresholds = SprtThresholds(alpha=Fraction(alpha), beta=Fraction(beta))
        upper, lower = thresholds.upper, thresholds.lower
        cases = []
        for log_odds, flag in (
            (upper, "Boundary"),
            (upper - 1, "Boundary"),
            (lower, "Boundary"),
            (lower + 1, "Boundary"),
            (0, "Verdict"),
            (10 * upper, "Verdict"),
            (10 * lower, "Verdict"),
            ((upper + lower) // 2, "Verdict"),
        ):
            cases.append(
                Case(
                    comment=f"L = {log_odds}",
                    result="valid",
                    flags=(flag,),
                    fields={
                        "logOdds": str(log_odds),
                        "verdict": thresholds.verdict(log_odds).value,
                    },
                )
            )
        yield Group(
            type="SprtThresholds",
            fields={
                "alpha": alpha,
                "beta": beta,
                "scale": SCALE,
                "upper": str(upper),
                "lower": str(lower),
            },
            cases=tuple(cases),
        )


def _verify_sprt(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    alpha, beta = Fraction(group["alpha"]), Fraction(group["beta"])
    upper, lower = int(group["upper"]), int(group["lower"])
    # An independent, float computation: within one unit of the exact one.
    if abs(upper - math.log((1 - beta) / alpha) * group["scale"]) > 1:
        return "upper threshold is not ln((1 - beta) / alpha) in fixed point"
    if abs(lower - math.log(beta / (1 - alpha)) * group["scale"]) > 1:
        return "lower threshold is not ln(beta / (1 - alpha)) in fixed point"
    exact = SprtThresholds(alpha=alpha, beta=beta)
    if (exact.upper, exact.lower) != (upper, lower):
        return "thresholds differ from the exact computation"
    log_odds = int(test["logOdds"])
    expected = (
        Verdict.FLAGGED
        if log_odds >= upper
        else Verdict.CLEARED
        if log_odds <= lower
        else Verdict.UNDECIDED
    )
    if test["verdict"] != expected.value:
        return f"verdict {test['verdict']}, expected {expected.value}"
    return None


SHAP_SPRT_FAMILY = Family(
    name="shap_sprt",
    algorithm="Wald SPRT verdicts on fixed-point log-odds (scale 2**16) from exact alpha, beta",
    header=(
        "upper = round_half_even(ln((1 - beta) / alpha) * 2**16), lower = round_half_even(ln(beta / (1 - alpha)) * 2**16), computed exactly (60-digit decimal logarithm).",
        "FLAGGED when L >= upper, CLEARED when L <= lower, UNDECIDED otherwise. Integers are decimal strings.",
    ),
    notes=_SPRT_NOTES,
    group_schema={
        "type": {"enum": ["SprtThresholds"]},
        "properties": {
            "alpha": {"type": "string", "pattern": "^[0-9]+/[0-9]+$"},
            "beta": {"type": "string", "pattern": "^[0-9]+/[0-9]+$"},
            "scale": {"const": SCALE},
            "upper": _INT_STRING,
            "lower": _INT_STRING,
        },
    },
    test_schema={
        "properties": {
            "logOdds": _INT_STRING,
            "verdict": {"enum": [v.value for v in Verdict]},
        },
        "required": ["logOdds", "verdict"],
    },
    build=_build_sprt,
    verify_case=_verify_sprt,
)


# --------------------------------------------------------------------------
# shap_replica_median

_MEDIAN_NOTES = {
    "Honest": Note(bug_type="BASIC", description="Three honest replicas."),
    "ByzantineExtreme": Note(
        bug_type="BASIC",
        description="One replica at an extreme: the median stays within the other two (a mean would not).",
    ),
    "Ties": Note(bug_type="EDGE_CASE", description="Equal values."),
    "LowerMedian": Note(
        bug_type="EDGE_CASE",
        description="An even number of values: the lower median, always one of the inputs.",
    ),
}

_MEDIANS = (
    ((5, 7, 6), "Honest"),
    ((-3, 10, 2), "Honest"),
    ((100, 101, -(2**62)), "ByzantineExtreme"),
    ((100, 101, 2**62), "ByzantineExtreme"),
    ((0, 0, 524288 * 2**39), "ByzantineExtreme"),
    ((4, 4, 4), "Ties"),
    ((4, 9, 4), "Ties"),
    ((1, 2), "LowerMedian"),
    ((8, -8, 3, 3), "LowerMedian"),
    ((11,), "Honest"),
    ((9, 1, 5, 3, 7), "Honest"),
)


def _build_median() -> Iterator[Group]:
    cases = []
    for values, flag in _MEDIANS:
        body = [MonitorBody(agent_ids=(0,), counts=(1,), llr_sums=(v,)) for v in values]
        median = combine_replicas_reference(body, len(values))[0][1]
        cases.append(
            Case(
                comment=f"{len(values)} replicas",
                result="valid",
                flags=(flag,),
                fields={"values": [str(v) for v in values], "median": str(median)},
            )
        )
    yield Group(type="ReplicaMedian", fields={"rule": "lower"}, cases=tuple(cases))


def _verify_median(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    if group["rule"] != "lower":
        return "unknown rule"
    values = [int(v) for v in test["values"]]
    expected = statistics.median_low(values)
    if int(test["median"]) != expected:
        return f"median {test['median']}, expected {expected}"
    return None


SHAP_REPLICA_MEDIAN_FAMILY = Family(
    name="shap_replica_median",
    algorithm="Replica median of SHAP: the lower median of the replicas' values",
    header=(
        "median = sorted(values)[(len(values) - 1) // 2]: always one of the inputs, so integers stay integers.",
        "Applied per coordinate (evidence count, LLR sum) to the r = 3 replicas of an agent at the regional tier.",
    ),
    notes=_MEDIAN_NOTES,
    group_schema={
        "type": {"enum": ["ReplicaMedian"]},
        "properties": {"rule": {"const": "lower"}},
    },
    test_schema={
        "properties": {
            "values": {"type": "array", "items": _INT_STRING, "minItems": 1},
            "median": _INT_STRING,
        },
        "required": ["values", "median"],
    },
    build=_build_median,
    verify_case=_verify_median,
)

SHAP_FAMILIES: tuple[Family, ...] = (
    SHAP_MERKLE_LOG_FAMILY,
    SHAP_MERKLE_SUM_FAMILY,
    SHAP_REPORT_FAMILY,
    SHAP_SPRT_FAMILY,
    SHAP_REPLICA_MEDIAN_FAMILY,
    SHAP_WIRE_FAMILY,
)
