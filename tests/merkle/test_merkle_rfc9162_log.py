"""RFC 9162 log: differential tests against the RFC's recursive definitions,
proof round trips, tamper detection, and the cost of the incremental log.

The reference below is RFC 9162 sections 2.1.1, 2.1.3.1 and 2.1.4.1 written
as literally as Python allows (recursion over lists of leaf hashes); the
implementation under test walks stored level hashes instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilnet.errors import LocalProtocolError
from vigilnet.merkle import (
    EMPTY_ROOT,
    ConsistencyProof,
    ConsistencyProofError,
    InclusionProof,
    InclusionProofError,
    MerkleLog,
    MerkleProofError,
    _log,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# -- the reference: RFC 9162 2.1, literally ------------------------------------


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n > 1``."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(hashes: list[bytes]) -> bytes:
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(ref_mth(hashes[:k]), ref_mth(hashes[k:]))


def ref_path(m: int, hashes: list[bytes]) -> list[bytes]:
    n = len(hashes)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*ref_path(m, hashes[:k]), ref_mth(hashes[k:])]
    return [*ref_path(m - k, hashes[k:]), ref_mth(hashes[:k])]


def ref_subproof(m: int, hashes: list[bytes], b: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if b else [ref_mth(hashes)]
    k = _split(n)
    if m <= k:
        return [*ref_subproof(m, hashes[:k], b), ref_mth(hashes[k:])]
    return [*ref_subproof(m - k, hashes[k:], False), ref_mth(hashes[:k])]


def ref_directions(m: int, n: int) -> tuple[str, ...]:
    """Which side each audit-path sibling sits on, leaf to root."""
    if n == 1:
        return ()
    k = _split(n)
    if m < k:
        return (*ref_directions(m, k), "right")
    return (*ref_directions(m - k, n - k), "left")


def ref_consistency_shape(m: int, n: int, b: bool = True) -> tuple[str, ...]:
    """The role of each consistency-proof element in SUBPROOF(m, D[n], b)."""
    if m == n:
        return () if b else ("old-subtree",)
    k = _split(n)
    if m <= k:
        return (*ref_consistency_shape(m, k, b), "right-new-only")
    return (*ref_consistency_shape(m - k, n - k, False), "left-shared")


# -- strategies ----------------------------------------------------------------

# Distinct leaves: with two equal leaves, swapping their indexes is no tamper.
leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=70, unique=True)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int]:
    leaves = draw(leaf_lists)
    return leaves, draw(st.integers(0, len(leaves) - 1))


@st.composite
def tree_and_old_size(draw: st.DrawFn) -> tuple[list[bytes], int]:
    leaves = draw(leaf_lists)
    return leaves, draw(st.integers(1, len(leaves)))


def _flip(value: bytes, bit: int) -> bytes:
    bit %= 8 * len(value)
    data = bytearray(value)
    data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data)


# -- differential: the log against the reference -----------------------------


@given(leaf_lists)
def test_every_prefix_root_matches_the_reference(leaves: list[bytes]) -> None:
    log = MerkleLog()
    hashes = [leaf_hash(leaf) for leaf in leaves]
    for index, leaf in enumerate(leaves):
        assert log.append(leaf) == index
        assert log.root() == ref_mth(hashes[: index + 1])
    # Historical roots from the finished log agree too.
    for size in range(len(leaves) + 1):
        assert log.root(size) == ref_mth(hashes[:size])
    assert root(leaves) == log.root()


@given(tree_and_index())
def test_inclusion_proof_matches_reference_and_verifies(case: tuple[list[bytes], int]) -> None:
    leaves, index = case
    hashes = [leaf_hash(leaf) for leaf in leaves]
    proof = inclusion_proof(leaves, index)
    assert list(proof.audit_path) == ref_path(index, hashes)
    verify_inclusion(leaf_hash=hashes[index], proof=proof, root=ref_mth(hashes))


@given(tree_and_old_size())
def test_consistency_proof_matches_reference_and_verifies(case: tuple[list[bytes], int]) -> None:
    leaves, old_size = case
    hashes = [leaf_hash(leaf) for leaf in leaves]
    proof = consistency_proof(leaves, old_size)
    assert list(proof.consistency_path) == ref_subproof(old_size, hashes, True)
    verify_consistency(proof=proof, old_root=ref_mth(hashes[:old_size]), new_root=ref_mth(hashes))


@given(leaf_lists)
def test_every_proof_of_a_random_log_verifies(leaves: list[bytes]) -> None:
    """All inclusion proofs and all consistency proofs (old size 1..n) of one
    random leaf list verify against the reference roots."""
    log = MerkleLog(leaves)
    hashes = [leaf_hash(leaf) for leaf in leaves]
    tree_root = ref_mth(hashes)
    for index in range(len(leaves)):
        verify_inclusion(leaf_hash=hashes[index], proof=log.inclusion_proof(index), root=tree_root)
    for old_size in range(1, len(leaves) + 1):
        verify_consistency(
            proof=log.consistency_proof(old_size),
            old_root=ref_mth(hashes[:old_size]),
            new_root=tree_root,
        )


def test_every_proof_of_a_small_log_verifies_for_every_historical_size() -> None:
    log = MerkleLog(bytes([i]) for i in range(33))
    for size in range(1, 34):
        for index in range(size):
            verify_inclusion(
                leaf_hash=log.leaf_hash(index),
                proof=log.inclusion_proof(index, size),
                root=log.root(size),
            )
        for old_size in range(1, size + 1):
            verify_consistency(
                proof=log.consistency_proof(old_size, size),
                old_root=log.root(old_size),
                new_root=log.root(size),
            )


# -- tamper: a single flipped bit fails ----------------------------------------


def _inclusion_fails(leaf: bytes, proof: InclusionProof, tree_root: bytes) -> bool:
    try:
        verify_inclusion(leaf_hash=leaf, proof=proof, root=tree_root)
    except InclusionProofError:
        return True
    return False


def _consistency_fails(proof: ConsistencyProof, old_root: bytes, new_root: bytes) -> bool:
    try:
        verify_consistency(proof=proof, old_root=old_root, new_root=new_root)
    except ConsistencyProofError:
        return True
    return False


@given(tree_and_index(), st.integers(0, 2**16))
def test_inclusion_tamper_of_path_leaf_or_root_fails(
    case: tuple[list[bytes], int], bit: int
) -> None:
    leaves, index = case
    log = MerkleLog(leaves)
    proof, tree_root, leaf = log.inclusion_proof(index), log.root(), log.leaf_hash(index)
    assert not _inclusion_fails(leaf, proof, tree_root)
    assert _inclusion_fails(_flip(leaf, bit), proof, tree_root)
    assert _inclusion_fails(leaf, proof, _flip(tree_root, bit))
    for position in range(len(proof.audit_path)):
        path = list(proof.audit_path)
        path[position] = _flip(path[position], bit)
        tampered = dataclasses.replace(proof, audit_path=tuple(path))
        assert _inclusion_fails(leaf, tampered, tree_root)


@given(tree_and_index(), st.integers(0, 63))
def test_inclusion_tamper_of_index_fails(case: tuple[list[bytes], int], bit: int) -> None:
    leaves, index = case
    log = MerkleLog(leaves)
    proof = log.inclusion_proof(index)
    tampered = dataclasses.replace(proof, leaf_index=index ^ (1 << bit))
    assert _inclusion_fails(log.leaf_hash(index), tampered, log.root())


@given(tree_and_index(), st.integers(0, 63))
def test_inclusion_tamper_of_size_fails_unless_the_path_shape_is_unchanged(
    case: tuple[list[bytes], int], bit: int
) -> None:
    """An inclusion proof does not bind the tree size (RFC 9162, and the note
    in SOURCES.md): a flipped size verifies exactly when the leaf has the
    same sibling sides in a tree of the new size.  Hence: take the size from
    a signed checkpoint."""
    leaves, index = case
    log = MerkleLog(leaves)
    proof = log.inclusion_proof(index)
    size = proof.tree_size ^ (1 << bit)
    tampered = dataclasses.replace(proof, tree_size=size)
    same_shape = index < size and ref_directions(index, size) == ref_directions(
        index, proof.tree_size
    )
    assert _inclusion_fails(log.leaf_hash(index), tampered, log.root()) is not same_shape


def test_inclusion_size_is_not_bound_witness() -> None:
    """The sometimes-property beside the one above: the size really can be
    swapped (index 0 of 6 verifies as index 0 of 7), so that test is not
    vacuous and callers must trust only a signed size."""
    log = MerkleLog(bytes([i]) for i in range(6))
    proof = dataclasses.replace(log.inclusion_proof(0), tree_size=7)
    verify_inclusion(leaf_hash=log.leaf_hash(0), proof=proof, root=log.root())


def test_inclusion_tamper_exhaustive_small() -> None:
    """Every index and size bit of every proof of trees up to 20 leaves."""
    log = MerkleLog(bytes([i]) for i in range(20))
    swaps = 0
    for size in range(1, 21):
        for index in range(size):
            proof, leaf, tree_root = (
                log.inclusion_proof(index, size),
                log.leaf_hash(index),
                log.root(size),
            )
            for bit in range(64):
                bad_index = dataclasses.replace(proof, leaf_index=index ^ (1 << bit))
                assert _inclusion_fails(leaf, bad_index, tree_root)
                other = size ^ (1 << bit)
                same = index < other and ref_directions(index, other) == ref_directions(index, size)
                bad_size = dataclasses.replace(proof, tree_size=other)
                assert _inclusion_fails(leaf, bad_size, tree_root) is not same
                swaps += same
    assert swaps > 0


@given(tree_and_old_size(), st.integers(0, 2**16))
def test_consistency_tamper_of_path_or_roots_fails(case: tuple[list[bytes], int], bit: int) -> None:
    leaves, old_size = case
    log = MerkleLog(leaves)
    proof, old_root, new_root = log.consistency_proof(old_size), log.root(old_size), log.root()
    assert not _consistency_fails(proof, old_root, new_root)
    assert _consistency_fails(proof, _flip(old_root, bit), new_root)
    assert _consistency_fails(proof, old_root, _flip(new_root, bit))
    for position in range(len(proof.consistency_path)):
        path = list(proof.consistency_path)
        path[position] = _flip(path[position], bit)
        tampered = dataclasses.replace(proof, consistency_path=tuple(path))
        assert _consistency_fails(tampered, old_root, new_root)


@given(tree_and_old_size(), st.integers(0, 63))
def test_consistency_tamper_of_old_size_fails(case: tuple[list[bytes], int], bit: int) -> None:
    leaves, old_size = case
    log = MerkleLog(leaves)
    proof = log.consistency_proof(old_size)
    tampered = dataclasses.replace(proof, old_size=old_size ^ (1 << bit))
    assert _consistency_fails(tampered, log.root(old_size), log.root())


@given(tree_and_old_size(), st.integers(0, 63))
def test_consistency_tamper_of_new_size_fails_unless_the_shape_is_unchanged(
    case: tuple[list[bytes], int], bit: int
) -> None:
    """Like the inclusion size, the new size is not bound by the proof: it
    verifies exactly when SUBPROOF has the same shape for the new size."""
    leaves, old_size = case
    log = MerkleLog(leaves)
    proof = log.consistency_proof(old_size)
    size = proof.new_size ^ (1 << bit)
    tampered = dataclasses.replace(proof, new_size=size)
    same_shape = old_size < size and ref_consistency_shape(old_size, size) == ref_consistency_shape(
        old_size, proof.new_size
    )
    if old_size == proof.new_size:
        same_shape = False  # an equal-size proof is empty; no size > old verifies it
    fails = _consistency_fails(tampered, log.root(old_size), log.root())
    assert fails is not same_shape


def test_consistency_new_size_is_not_bound_witness() -> None:
    log = MerkleLog(bytes([i]) for i in range(5))
    proof = dataclasses.replace(log.consistency_proof(1), new_size=7)
    verify_consistency(proof=proof, old_root=log.root(1), new_root=log.root())


def test_consistency_tamper_exhaustive_small() -> None:
    log = MerkleLog(bytes([i]) for i in range(20))
    swaps = 0
    for size in range(1, 21):
        for old in range(1, size + 1):
            proof, old_root, new_root = (
                log.consistency_proof(old, size),
                log.root(old),
                log.root(size),
            )
            for bit in range(64):
                bad_old = dataclasses.replace(proof, old_size=old ^ (1 << bit))
                assert _consistency_fails(bad_old, old_root, new_root)
                other = size ^ (1 << bit)
                same = (
                    old < size
                    and old < other
                    and ref_consistency_shape(old, other) == ref_consistency_shape(old, size)
                )
                bad_new = dataclasses.replace(proof, new_size=other)
                assert _consistency_fails(bad_new, old_root, new_root) is not same
                swaps += same
    assert swaps > 0


# -- failure reasons -------------------------------------------------------------


def _reason(check: Callable[[], None]) -> str:
    with pytest.raises(MerkleProofError) as caught:
        check()
    return str(caught.value)


def test_inclusion_failure_reasons() -> None:
    log = MerkleLog(bytes([i]) for i in range(5))
    proof, leaf, tree_root = log.inclusion_proof(1), log.leaf_hash(1), log.root()
    long = dataclasses.replace(proof, audit_path=(*proof.audit_path, tree_root))
    short = dataclasses.replace(proof, audit_path=proof.audit_path[:-1])
    beyond = dataclasses.replace(proof, leaf_index=5)
    assert (
        _reason(lambda: verify_inclusion(leaf_hash=leaf, proof=long, root=tree_root))
        == "proof too long"
    )
    assert (
        _reason(lambda: verify_inclusion(leaf_hash=leaf, proof=short, root=tree_root))
        == "proof too short"
    )
    assert (
        _reason(lambda: verify_inclusion(leaf_hash=leaf, proof=beyond, root=tree_root))
        == "index beyond size"
    )
    assert (
        _reason(lambda: verify_inclusion(leaf_hash=leaf, proof=proof, root=EMPTY_ROOT))
        == "root mismatch"
    )


def test_consistency_failure_reasons() -> None:
    log = MerkleLog(bytes([i]) for i in range(7))
    proof, r3, r7 = log.consistency_proof(3), log.root(3), log.root()
    assert (
        _reason(lambda: verify_consistency(proof=proof, old_root=r7, new_root=r7))
        == "old root mismatch"
    )
    assert (
        _reason(lambda: verify_consistency(proof=proof, old_root=r3, new_root=r3))
        == "new root mismatch"
    )
    empty = dataclasses.replace(proof, consistency_path=())
    assert (
        _reason(lambda: verify_consistency(proof=empty, old_root=r3, new_root=r7)) == "empty proof"
    )
    backwards = ConsistencyProof(old_size=7, new_size=3, consistency_path=())
    assert (
        _reason(lambda: verify_consistency(proof=backwards, old_root=r7, new_root=r3))
        == "old size beyond new size"
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"leaf_index": -1, "tree_size": 1, "audit_path": ()},
        {"leaf_index": 0, "tree_size": 2**64, "audit_path": ()},
        {"leaf_index": True, "tree_size": 2, "audit_path": ()},
        {"leaf_index": 0, "tree_size": 2, "audit_path": (b"\x00" * 31,)},
        {"leaf_index": 0, "tree_size": 2, "audit_path": [b"\x00" * 32]},
        {"leaf_index": 0, "tree_size": 2, "audit_path": ("00" * 32,)},
    ],
)
def test_malformed_inclusion_proof_is_rejected_on_construction(fields: dict[str, object]) -> None:
    with pytest.raises(InclusionProofError):
        InclusionProof(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        {"old_size": -1, "new_size": 1, "consistency_path": ()},
        {"old_size": 1, "new_size": 2**64, "consistency_path": ()},
        {"old_size": 1, "new_size": 2, "consistency_path": (b"",)},
    ],
)
def test_malformed_consistency_proof_is_rejected_on_construction(
    fields: dict[str, object],
) -> None:
    with pytest.raises(ConsistencyProofError):
        ConsistencyProof(**fields)  # type: ignore[arg-type]


def test_proof_repr_is_valid_python() -> None:
    proof = MerkleLog([b"a", b"b", b"c"]).inclusion_proof(2)
    assert eval(repr(proof)) == proof
    cproof = MerkleLog([b"a", b"b", b"c"]).consistency_proof(2)
    assert eval(repr(cproof)) == cproof


def test_proofs_are_frozen() -> None:
    proof = MerkleLog([b"a", b"b"]).inclusion_proof(0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        proof.leaf_index = 1  # type: ignore[misc]


def test_asking_for_impossible_proofs_is_a_local_error() -> None:
    log = MerkleLog([b"a", b"b", b"c"])
    with pytest.raises(LocalProtocolError):
        log.inclusion_proof(3)
    with pytest.raises(LocalProtocolError):
        log.inclusion_proof(0, 4)
    with pytest.raises(LocalProtocolError):
        log.inclusion_proof(0, 0)
    with pytest.raises(LocalProtocolError):
        log.consistency_proof(3, 2)
    with pytest.raises(LocalProtocolError):
        log.root(4)
    with pytest.raises(LocalProtocolError):
        log.append("text")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        log.append_leaf_hash(b"short")


def test_append_leaf_hash_equals_append() -> None:
    by_body, by_hash = MerkleLog(), MerkleLog()
    for i in range(13):
        by_body.append(bytes([i]))
        by_hash.append_leaf_hash(leaf_hash(bytes([i])))
        assert by_body.root() == by_hash.root()


def test_equal_sizes_need_an_empty_proof_and_equal_roots() -> None:
    log = MerkleLog([b"a", b"b", b"c"])
    proof = log.consistency_proof(3)
    assert proof.consistency_path == ()
    verify_consistency(proof=proof, old_root=log.root(), new_root=log.root())
    with pytest.raises(ConsistencyProofError, match="root mismatch"):
        verify_consistency(proof=proof, old_root=log.root(2), new_root=log.root())
    padded = dataclasses.replace(proof, consistency_path=(log.root(),))
    with pytest.raises(ConsistencyProofError, match="proof too long"):
        verify_consistency(proof=padded, old_root=log.root(), new_root=log.root())


# -- cost: counted in hashes, never in seconds --------------------------------


class _CountingNodeHash:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, left: bytes, right: bytes) -> bytes:
        self.calls += 1
        return node_hash(left, right)


@settings(max_examples=30)
@given(st.integers(1, 5000), st.data())
def test_roots_and_proofs_cost_logarithmic_hashes(size: int, data: st.DataObject) -> None:
    log = MerkleLog(i.to_bytes(2, "big") for i in range(5000))
    depth = max(1, (size - 1).bit_length())
    counter = _CountingNodeHash()
    original = _log.node_hash
    _log.node_hash = counter
    try:
        counter.calls = 0
        log.root(size)
        assert counter.calls <= depth
        counter.calls = 0
        index = data.draw(st.integers(0, size - 1))
        log.inclusion_proof(index, size)
        assert counter.calls <= depth
        counter.calls = 0
        old = data.draw(st.integers(1, size))
        log.consistency_proof(old, size)
        assert counter.calls <= depth * depth
    finally:
        _log.node_hash = original


def test_append_is_amortised_constant() -> None:
    counter = _CountingNodeHash()
    original = _log.node_hash
    _log.node_hash = counter
    try:
        log = MerkleLog()
        for i in range(4096):
            log.append(i.to_bytes(2, "big"))
        assert counter.calls == 4095  # one per interior node of the perfect tree
    finally:
        _log.node_hash = original


def test_the_checkpoint_sizes_bind_a_consistency_proof() -> None:
    """Issue: a proof for (1, 3) verified as (1, 4).  Given the signed
    checkpoints' sizes, the verifier refuses the relabelled proof."""
    log = MerkleLog(bytes([i]) for i in range(4))
    proof = log.consistency_proof(1, 3)
    relabelled = dataclasses.replace(proof, new_size=4)
    # Without the checkpoint's size the algorithm cannot tell (the witness above).
    verify_consistency(proof=relabelled, old_root=log.root(1), new_root=log.root(3))
    with pytest.raises(ConsistencyProofError, match="checkpoint says 3"):
        verify_consistency(
            proof=relabelled, old_root=log.root(1), new_root=log.root(3), old_size=1, new_size=3
        )
    verify_consistency(
        proof=proof, old_root=log.root(1), new_root=log.root(3), old_size=1, new_size=3
    )


def test_equal_sizes_need_32_byte_roots() -> None:
    """Issue: equal sizes accepted any equal byte strings, empty ones included."""
    log = MerkleLog(bytes([i]) for i in range(3))
    same = ConsistencyProof(old_size=3, new_size=3, consistency_path=())
    verify_consistency(proof=same, old_root=log.root(), new_root=log.root())
    for bad_root in (b"", b"x", bytes(31), bytes(33)):
        with pytest.raises(ConsistencyProofError, match="32-byte"):
            verify_consistency(proof=same, old_root=bad_root, new_root=bad_root)


def test_inclusion_roots_and_sizes_are_checked() -> None:
    log = MerkleLog(bytes([i]) for i in range(5))
    proof = log.inclusion_proof(2)
    with pytest.raises(InclusionProofError, match="32-byte"):
        verify_inclusion(leaf_hash=log.leaf_hash(2), proof=proof, root=b"")
    with pytest.raises(InclusionProofError, match="checkpoint says 6"):
        verify_inclusion(leaf_hash=log.leaf_hash(2), proof=proof, root=log.root(), tree_size=6)
    verify_inclusion(leaf_hash=log.leaf_hash(2), proof=proof, root=log.root(), tree_size=5)
