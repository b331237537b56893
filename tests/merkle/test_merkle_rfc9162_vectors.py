"""RFC 9162 log against the external known-answer vectors.

``../shared/vectors-external/rfc6962_vectors.json`` (transparency-dev/merkle,
cross-checked with Trillian): roots for sizes 0..8, perfect-subtree node
hashes, 5 inclusion and 5 consistency proofs, and the 196 golden probes,
negative ones included.  The probes are judged under our size-0 rule
(reject every consistency proof from size 0), which is also the rule the
probe file encodes, so every ``want_error`` is taken as written.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import load_external
from vigilnet.merkle import (
    EMPTY_ROOT,
    ConsistencyProof,
    ConsistencyProofError,
    InclusionProof,
    InclusionProofError,
    MerkleLog,
    MerkleProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

_VECTORS: dict[str, Any] = load_external("rfc6962_vectors.json")
_LEAVES = [bytes.fromhex(leaf) for leaf in _VECTORS["leaves_hex"]]
_INCLUSION_PROBES: list[dict[str, Any]] = _VECTORS["probes"]["inclusion"]
_CONSISTENCY_PROBES: list[dict[str, Any]] = _VECTORS["probes"]["consistency"]


def _hashes(path: list[str]) -> tuple[bytes, ...]:
    return tuple(bytes.fromhex(element) for element in path)


def test_vector_file_shape() -> None:
    assert len(_LEAVES) == 8
    assert sorted(int(size) for size in _VECTORS["roots_by_size"]) == list(range(9))
    assert len(_VECTORS["inclusion_proofs"]) == 5
    assert len(_VECTORS["consistency_proofs"]) == 5
    assert len(_INCLUSION_PROBES) + len(_CONSISTENCY_PROBES) == 196
    # Both verdicts occur, so the probe tests below are not vacuous.
    verdicts = {probe["want_error"] for probe in _INCLUSION_PROBES + _CONSISTENCY_PROBES}
    assert verdicts == {True, False}


def test_leaf_hashes() -> None:
    assert [leaf_hash(leaf).hex() for leaf in _LEAVES] == _VECTORS["leaf_hashes_hex"]


@pytest.mark.parametrize("size", range(9))
def test_root_by_size(size: int) -> None:
    expected = _VECTORS["roots_by_size"][str(size)]
    assert root(_LEAVES[:size]).hex() == expected
    assert MerkleLog(_LEAVES).root(size).hex() == expected


def test_empty_tree_hash() -> None:
    assert root([]) == EMPTY_ROOT
    assert EMPTY_ROOT.hex() == _VECTORS["roots_by_size"]["0"]


def test_node_hashes_by_level() -> None:
    levels: list[list[str]] = _VECTORS["node_hashes_by_level"]
    assert levels[0] == _VECTORS["leaf_hashes_hex"]
    for level in range(1, len(levels)):
        below = levels[level - 1]
        for index, expected in enumerate(levels[level]):
            left, right = bytes.fromhex(below[2 * index]), bytes.fromhex(below[2 * index + 1])
            assert node_hash(left, right).hex() == expected
            # ... and the log's perfect subtree over the same leaves agrees.
            width = 1 << level
            sub = MerkleLog(_LEAVES[index * width : (index + 1) * width])
            assert sub.root().hex() == expected


@pytest.mark.parametrize(
    "case", _VECTORS["inclusion_proofs"], ids=lambda c: f"index{c['index']}-size{c['size']}"
)
def test_inclusion_proof_vector(case: dict[str, Any]) -> None:
    proof = inclusion_proof(_LEAVES[: case["size"]], case["index"])
    assert proof == InclusionProof(
        leaf_index=case["index"], tree_size=case["size"], audit_path=_hashes(case["path"])
    )
    assert leaf_hash(bytes.fromhex(case["leaf_hex"])).hex() == case["leaf_hash"]
    verify_inclusion(
        leaf_hash=bytes.fromhex(case["leaf_hash"]), proof=proof, root=bytes.fromhex(case["root"])
    )


@pytest.mark.parametrize(
    "case", _VECTORS["consistency_proofs"], ids=lambda c: f"{c['size1']}to{c['size2']}"
)
def test_consistency_proof_vector(case: dict[str, Any]) -> None:
    proof = consistency_proof(_LEAVES[: case["size2"]], case["size1"])
    assert proof == ConsistencyProof(
        old_size=case["size1"], new_size=case["size2"], consistency_path=_hashes(case["path"])
    )
    verify_consistency(
        proof=proof, old_root=bytes.fromhex(case["root1"]), new_root=bytes.fromhex(case["root2"])
    )


def _judge_inclusion(probe: dict[str, Any]) -> None:
    proof = InclusionProof(
        leaf_index=probe["index"], tree_size=probe["size"], audit_path=_hashes(probe["path"])
    )
    verify_inclusion(
        leaf_hash=bytes.fromhex(probe["leaf_hash"]), proof=proof, root=bytes.fromhex(probe["root"])
    )


def _judge_consistency(probe: dict[str, Any]) -> None:
    proof = ConsistencyProof(
        old_size=probe["size1"], new_size=probe["size2"], consistency_path=_hashes(probe["path"])
    )
    verify_consistency(
        proof=proof, old_root=bytes.fromhex(probe["root1"]), new_root=bytes.fromhex(probe["root2"])
    )


@pytest.mark.parametrize("probe", _INCLUSION_PROBES, ids=lambda p: p["file"])
def test_golden_inclusion_probe(probe: dict[str, Any]) -> None:
    if probe["want_error"]:
        with pytest.raises(InclusionProofError):
            _judge_inclusion(probe)
    else:
        _judge_inclusion(probe)


#: Probes judged differently under our rule that roots are 32-byte hashes.
_OUR_ROOT_RULE = frozenset(
    {"testdata/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"}
)


@pytest.mark.parametrize("probe", _CONSISTENCY_PROBES, ids=lambda p: p["file"])
def test_golden_consistency_probe(probe: dict[str, Any]) -> None:
    if probe["file"] in _OUR_ROOT_RULE:
        # transparency-dev accepts equal sizes with any equal roots; we
        # require 32-byte roots (a root is a hash), so this one is refused.
        with pytest.raises(ConsistencyProofError, match="32-byte"):
            _judge_consistency(probe)
    elif probe["want_error"]:
        with pytest.raises(ConsistencyProofError):
            _judge_consistency(probe)
    else:
        _judge_consistency(probe)


def test_probe_counts() -> None:
    """Pin the number of probes and of each verdict, so a changed file or a
    silently dropped case shows up here."""
    assert len(_INCLUSION_PROBES) == 98
    assert len(_CONSISTENCY_PROBES) == 98
    accepted = [p for p in _INCLUSION_PROBES + _CONSISTENCY_PROBES if not p["want_error"]]
    assert len(accepted) == 12
    assert len(_INCLUSION_PROBES) + len(_CONSISTENCY_PROBES) - len(accepted) == 184


def _size0_probes() -> list[dict[str, Any]]:
    return [p for p in _CONSISTENCY_PROBES if p["size1"] == 0]


def test_size0_probes_are_all_rejected_by_the_size0_rule() -> None:
    """The size-0 rule: a consistency proof from size 0 is rejected, even
    0 -> 0 with an empty proof and equal roots.  The file holds such probes
    and wants every one rejected; the C2SP witness rule would accept some of
    them once the roots were well formed."""
    probes = _size0_probes()
    assert len(probes) == 9
    assert all(p["want_error"] for p in probes)
    for probe in probes:
        with pytest.raises(ConsistencyProofError):
            _judge_consistency(probe)


def test_size0_rule_on_well_formed_input() -> None:
    log = MerkleLog(_LEAVES)
    empty = ConsistencyProof(old_size=0, new_size=0, consistency_path=())
    with pytest.raises(ConsistencyProofError, match="empty tree"):
        verify_consistency(proof=empty, old_root=EMPTY_ROOT, new_root=EMPTY_ROOT)
    for new_size in range(1, 9):
        proof = ConsistencyProof(old_size=0, new_size=new_size, consistency_path=())
        with pytest.raises(ConsistencyProofError, match="empty tree"):
            verify_consistency(proof=proof, old_root=EMPTY_ROOT, new_root=log.root(new_size))
    # ... and the prover refuses to make one.
    from vigilnet.errors import LocalProtocolError

    with pytest.raises(LocalProtocolError):
        log.consistency_proof(0)
    with pytest.raises(LocalProtocolError):
        consistency_proof(_LEAVES, 0)


def test_every_probe_error_is_remote() -> None:
    """All probe rejections are RemoteProtocolError (the proof came from
    someone else), raised by construction or by verification."""
    from vigilnet.errors import RemoteProtocolError

    assert issubclass(MerkleProofError, RemoteProtocolError)
    rejected = 0
    for probe in _INCLUSION_PROBES + _CONSISTENCY_PROBES:
        judge = _judge_inclusion if "index" in probe else _judge_consistency
        try:
            judge(probe)
        except RemoteProtocolError:
            rejected += 1
    # 184 probes want an error; one more is refused by the 32-byte root rule.
    assert rejected == 184 + len(_OUR_ROOT_RULE)
