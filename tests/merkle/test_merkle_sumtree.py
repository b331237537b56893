"""Merkle-sum tree: byte layout pinned, round trips, range checks, tamper
detection, and agreement of shared nodes between users."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigilnet.errors import LocalProtocolError, RemoteProtocolError
from vigilnet.merkle import (
    COUNT_MAX,
    LEAF_PREFIX,
    NODE_PREFIX,
    SIGNED_MAX,
    SIGNED_MIN,
    SUM_LEAF_TAG,
    SUM_NODE_TAG,
    SUM_ROOT_TAG,
    SumInclusionProof,
    SumKind,
    SumLayout,
    SumLeaf,
    SumNode,
    SumProofError,
    SumRoot,
    SumTree,
    sum_leaf_hash,
    sum_node_hash,
    sum_root_hash,
    verify_sum_inclusion,
)

# -- strategies ------------------------------------------------------------------

_BOUND = 2**40  # 40 leaves of at most 2**40 cannot overflow 64 bits


def _values(kind: SumKind) -> st.SearchStrategy[int]:
    if kind is SumKind.COUNT:
        return st.integers(0, _BOUND)
    return st.integers(-_BOUND, _BOUND)


@st.composite
def trees(draw: st.DrawFn, min_leaves: int = 1, max_leaves: int = 40) -> SumTree:
    kinds = tuple(draw(st.lists(st.sampled_from(SumKind), min_size=1, max_size=3)))
    layout = SumLayout(kinds=kinds)
    size = draw(st.integers(min_leaves, max_leaves))
    leaves = [
        SumLeaf(
            # a distinct prefix per leaf: swapping two equal leaves is no tamper
            payload=index.to_bytes(2, "big") + draw(st.binary(max_size=6)),
            sums=tuple(draw(_values(kind)) for kind in kinds),
        )
        for index in range(size)
    ]
    return SumTree(layout=layout, leaves=leaves)


@st.composite
def tree_and_index(draw: st.DrawFn, min_leaves: int = 1) -> tuple[SumTree, int]:
    tree = draw(trees(min_leaves=min_leaves))
    return tree, draw(st.integers(0, tree.size - 1))


def _flip_bytes(value: bytes, bit: int) -> bytes:
    if not value:
        return b"\x01"
    bit %= 8 * len(value)
    data = bytearray(value)
    data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data)


def _flip_sum(kind: SumKind, value: int, bit: int) -> int:
    """Flip one bit of the 64-bit encoding; the result stays in range."""
    raw = (value & COUNT_MAX) ^ (1 << (bit % 64))
    if kind is SumKind.SIGNED and raw > SIGNED_MAX:
        raw -= 2**64
    return raw


def _flip_vector(layout: SumLayout, sums: tuple[int, ...], bit: int) -> tuple[int, ...]:
    position = (bit // 64) % layout.width
    flipped = list(sums)
    flipped[position] = _flip_sum(layout.kinds[position], sums[position], bit)
    return tuple(flipped)


def _verify(tree: SumTree, index: int, **changes: Any) -> None:
    arguments: dict[str, Any] = {
        "layout": tree.layout,
        "leaf": tree.leaf(index),
        "proof": tree.inclusion_proof(index),
        "root": tree.root,
    }
    arguments.update(changes)
    verify_sum_inclusion(**arguments)


def _fails(tree: SumTree, index: int, **changes: Any) -> bool:
    try:
        _verify(tree, index, **changes)
    except SumProofError:
        return True
    return False


def _reason(tree: SumTree, index: int, **changes: Any) -> str:
    with pytest.raises(SumProofError) as caught:
        _verify(tree, index, **changes)
    return str(caught.value)


# -- the byte layout, pinned by hand ---------------------------------------------


def test_tags_are_distinct_from_rfc9162_and_each_other() -> None:
    first_bytes = {tag[:1] for tag in (SUM_LEAF_TAG, SUM_NODE_TAG, SUM_ROOT_TAG)}
    assert len(first_bytes) == 3
    assert not first_bytes & {LEAF_PREFIX, NODE_PREFIX}
    assert SUM_NODE_TAG == b"\x03vigilnet/merkle-sum/v1/node"


def test_byte_layout_by_hand() -> None:
    """Two leaves, layout (COUNT, SIGNED): every preimage written out."""
    layout = SumLayout(kinds=(SumKind.COUNT, SumKind.SIGNED))
    assert layout.descriptor == b"\x02\x00\x01"
    a = SumLeaf(payload=b"agent-a", sums=(3, -2))
    b = SumLeaf(payload=b"agent-b", sums=(4, 5))

    def sha(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    enc_a = (3).to_bytes(8, "big") + b"\xff" * 7 + b"\xfe"  # -2 in two's complement
    enc_b = (4).to_bytes(8, "big") + (5).to_bytes(8, "big")
    h_a = sha(b"\x02vigilnet/merkle-sum/v1/leaf" + b"\x02\x00\x01" + enc_a + b"agent-a")
    h_b = sha(b"\x02vigilnet/merkle-sum/v1/leaf" + b"\x02\x00\x01" + enc_b + b"agent-b")
    assert sum_leaf_hash(layout, a) == h_a
    assert sum_leaf_hash(layout, b) == h_b
    h_top = sha(b"\x03vigilnet/merkle-sum/v1/node" + b"\x02\x00\x01" + h_a + enc_a + h_b + enc_b)
    totals = (7).to_bytes(8, "big") + (3).to_bytes(8, "big")
    h_root = sha(
        b"\x04vigilnet/merkle-sum/v1/root"
        + b"\x02\x00\x01"
        + (2).to_bytes(8, "big")
        + h_top
        + totals
    )
    tree = SumTree(layout=layout, leaves=[a, b])
    assert tree.node(1, 0) == SumNode(hash=h_top, sums=(7, 3))
    assert tree.root == SumRoot(size=2, hash=h_root, totals=(7, 3))


def test_empty_tree_root_by_hand() -> None:
    layout = SumLayout.counts(1)
    expected = hashlib.sha256(SUM_ROOT_TAG + b"\x01\x00" + bytes(8) + bytes(32) + bytes(8)).digest()
    assert SumTree(layout=layout, leaves=[]).root == SumRoot(size=0, hash=expected, totals=(0,))
    with pytest.raises(LocalProtocolError):
        SumTree(layout=layout, leaves=[]).inclusion_proof(0)


def test_shape_is_rfc9162() -> None:
    """Five leaves split 4 + 1: the fifth leaf's proof has one sibling (the
    perfect subtree of the first four), as in RFC 9162."""
    layout = SumLayout.counts(1)
    tree = SumTree(layout=layout, leaves=[SumLeaf(payload=bytes([i]), sums=(i,)) for i in range(5)])
    proof = tree.inclusion_proof(4)
    assert len(proof.siblings) == 1
    assert proof.siblings[0].sums == (0 + 1 + 2 + 3,)
    assert [len(tree.inclusion_proof(i).siblings) for i in range(5)] == [3, 3, 3, 3, 1]


# -- round trips -----------------------------------------------------------------


@given(trees(max_leaves=40))
def test_every_inclusion_proof_verifies(tree: SumTree) -> None:
    expected_totals = tuple(
        sum(tree.leaf(i).sums[k] for i in range(tree.size)) for k in range(tree.layout.width)
    )
    assert tree.root.totals == expected_totals
    for index in range(tree.size):
        _verify(tree, index)


def _ref_node(tree: SumTree, low: int, high: int) -> SumNode:
    """The RFC 9162 recursion, independent of the level-by-level build."""
    layout = tree.layout
    if high - low == 1:
        leaf = tree.leaf(low)
        return SumNode(hash=sum_leaf_hash(layout, leaf), sums=leaf.sums)
    split = 1
    while split * 2 < high - low:
        split *= 2
    left, right = _ref_node(tree, low, low + split), _ref_node(tree, low + split, high)
    sums = tuple(a + b for a, b in zip(left.sums, right.sums, strict=True))
    return SumNode(hash=sum_node_hash(layout, left, right), sums=sums)


@given(trees())
def test_level_build_matches_the_rfc_recursion(tree: SumTree) -> None:
    top = _ref_node(tree, 0, tree.size)
    top_level = (tree.size - 1).bit_length()
    assert tree.node(top_level, 0) == top


# -- tamper: any single change fails ---------------------------------------------


@given(tree_and_index(min_leaves=2), st.integers(0, 2**12))
def test_tampered_sibling_hash_or_sums_fail(case: tuple[SumTree, int], bit: int) -> None:
    tree, index = case
    proof = tree.inclusion_proof(index)
    for position, sibling in enumerate(proof.siblings):
        for changed in (
            SumNode(hash=_flip_bytes(sibling.hash, bit), sums=sibling.sums),
            SumNode(hash=sibling.hash, sums=_flip_vector(tree.layout, sibling.sums, bit)),
        ):
            siblings = list(proof.siblings)
            siblings[position] = changed
            tampered = dataclasses.replace(proof, siblings=tuple(siblings))
            assert _fails(tree, index, proof=tampered)


@given(tree_and_index(), st.integers(0, 2**12))
def test_tampered_leaf_root_or_totals_fail(case: tuple[SumTree, int], bit: int) -> None:
    tree, index = case
    leaf, root = tree.leaf(index), tree.root
    assert not _fails(tree, index)
    bad_payload = dataclasses.replace(leaf, payload=_flip_bytes(leaf.payload, bit))
    bad_sums = dataclasses.replace(leaf, sums=_flip_vector(tree.layout, leaf.sums, bit))
    assert _fails(tree, index, leaf=bad_payload)
    assert _fails(tree, index, leaf=bad_sums)
    assert _fails(tree, index, root=dataclasses.replace(root, hash=_flip_bytes(root.hash, bit)))
    bad_totals = _flip_vector(tree.layout, root.totals, bit)
    assert _fails(tree, index, root=dataclasses.replace(root, totals=bad_totals))


@given(tree_and_index(), st.integers(0, 63))
def test_tampered_index_or_size_fail(case: tuple[SumTree, int], bit: int) -> None:
    """Unlike an RFC 9162 inclusion proof, the size is bound: it is hashed
    into the root.  Lying about it consistently in proof and root fails."""
    tree, index = case
    proof, root = tree.inclusion_proof(index), tree.root
    assert _fails(tree, index, proof=dataclasses.replace(proof, leaf_index=index ^ (1 << bit)))
    size = proof.tree_size ^ (1 << bit)
    assert _fails(tree, index, proof=dataclasses.replace(proof, tree_size=size))
    assert _fails(
        tree,
        index,
        proof=dataclasses.replace(proof, tree_size=size),
        root=dataclasses.replace(root, size=size),
    )


def test_size_swap_that_fools_rfc9162_fails_here() -> None:
    """Index 0 of 6 verifies as index 0 of 7 in RFC 9162 (the proof does not
    bind the size); the sum tree's root binds it."""
    layout = SumLayout.counts(1)
    tree = SumTree(layout=layout, leaves=[SumLeaf(payload=bytes([i]), sums=(1,)) for i in range(6)])
    proof = dataclasses.replace(tree.inclusion_proof(0), tree_size=7)
    root = dataclasses.replace(tree.root, size=7)
    assert _reason(tree, 0, proof=proof, root=root) == "root mismatch"


# -- range checks and reasons ----------------------------------------------------


def _counts_tree(values: list[int]) -> SumTree:
    return SumTree(
        layout=SumLayout.counts(1),
        leaves=[SumLeaf(payload=bytes([i]), sums=(v,)) for i, v in enumerate(values)],
    )


def _with_sibling(tree: SumTree, index: int, position: int, sums: tuple[int, ...]) -> Any:
    proof = tree.inclusion_proof(index)
    siblings = list(proof.siblings)
    siblings[position] = dataclasses.replace(siblings[position], sums=sums)
    return dataclasses.replace(proof, siblings=tuple(siblings))


def test_negative_count_rejected() -> None:
    tree = _counts_tree([5, 7, 1, 2])
    proof = _with_sibling(tree, 0, 0, (-3,))
    assert _reason(tree, 0, proof=proof) == "sibling 0 sums out of range"
    negative_leaf = SumLeaf(payload=b"\x00", sums=(-1,))
    assert _reason(tree, 0, leaf=negative_leaf) == "leaf sums out of range"


def test_count_at_or_above_2_64_rejected() -> None:
    tree = _counts_tree([5, 7, 1, 2])
    assert _reason(tree, 0, proof=_with_sibling(tree, 0, 1, (2**64,))) == (
        "sibling 1 sums out of range"
    )


def test_overflowing_recomputed_sum_rejected() -> None:
    """Each sibling in range, their sum not: rejected, not wrapped."""
    tree = _counts_tree([5, 7])
    assert _reason(tree, 0, proof=_with_sibling(tree, 0, 0, (COUNT_MAX,))) == (
        "sums out of range at step 0"
    )


def test_signed_range() -> None:
    layout = SumLayout(kinds=(SumKind.SIGNED,))
    assert layout.accepts((SIGNED_MIN,)) and layout.accepts((SIGNED_MAX,))
    assert not layout.accepts((SIGNED_MIN - 1,)) and not layout.accepts((SIGNED_MAX + 1,))
    with pytest.raises(LocalProtocolError):
        SumTree(layout=layout, leaves=[SumLeaf(payload=b"", sums=(SIGNED_MAX + 1,))])
    with pytest.raises(LocalProtocolError, match="overflows"):
        SumTree(
            layout=layout,
            leaves=[SumLeaf(payload=b"a", sums=(SIGNED_MIN,)), SumLeaf(payload=b"b", sums=(-1,))],
        )


def test_wrong_width_rejected() -> None:
    tree = _counts_tree([5, 7])
    assert _reason(tree, 0, proof=_with_sibling(tree, 0, 0, (7, 0))) == (
        "sibling 0 sums out of range"
    )


def test_build_rejects_bad_leaves() -> None:
    with pytest.raises(LocalProtocolError):
        _counts_tree([-1])
    with pytest.raises(LocalProtocolError):
        _counts_tree([COUNT_MAX, 1])
    with pytest.raises(LocalProtocolError):
        SumTree(layout=SumLayout.counts(2), leaves=[SumLeaf(payload=b"", sums=(1,))])


def test_structural_reasons() -> None:
    tree = _counts_tree([1, 2, 3, 4, 5])
    proof, root = tree.inclusion_proof(1), tree.root
    extra = dataclasses.replace(proof, siblings=(*proof.siblings, proof.siblings[0]))
    assert _reason(tree, 1, proof=extra) == "proof too long"
    assert _reason(tree, 1, proof=dataclasses.replace(proof, siblings=proof.siblings[:-1])) == (
        "proof too short"
    )
    assert _reason(tree, 1, proof=dataclasses.replace(proof, leaf_index=5)) == "index beyond size"
    assert _reason(tree, 1, proof=dataclasses.replace(proof, tree_size=6)) == "size mismatch"
    assert _reason(tree, 1, root=dataclasses.replace(root, totals=(14,))) == "total mismatch"
    assert _reason(tree, 1, leaf=tree.leaf(2)) == "root mismatch"


def test_parent_total_that_is_not_the_sum_of_its_children_is_caught() -> None:
    """A prover commits a node whose shown sums are not the sum of its
    children (here the subtree of leaves 0-1 claims 2 instead of 12).  The
    root total it signs is understated; every user *under* the lying node
    recomputes the true sum, reaches a different root and rejects.  (Users
    elsewhere see the node only as a sibling and cannot tell; detection is
    by the children whose counts were cut, who all check.)"""
    layout = SumLayout.counts(1)
    leaves = [SumLeaf(payload=bytes([i]), sums=(v,)) for i, v in enumerate([5, 7, 1, 2])]
    nodes = [SumNode(hash=sum_leaf_hash(layout, leaf), sums=leaf.sums) for leaf in leaves]
    lying = SumNode(hash=sum_node_hash(layout, nodes[0], nodes[1]), sums=(2,))  # truly 12
    right = SumNode(hash=sum_node_hash(layout, nodes[2], nodes[3]), sums=(3,))
    top = SumNode(hash=sum_node_hash(layout, lying, right), sums=(5,))
    root = SumRoot(size=4, hash=sum_root_hash(layout, 4, top), totals=(5,))
    proofs = [
        SumInclusionProof(leaf_index=0, tree_size=4, siblings=(nodes[1], right)),
        SumInclusionProof(leaf_index=1, tree_size=4, siblings=(nodes[0], right)),
        SumInclusionProof(leaf_index=2, tree_size=4, siblings=(nodes[3], lying)),
        SumInclusionProof(leaf_index=3, tree_size=4, siblings=(nodes[2], lying)),
    ]
    for index in (0, 1):
        with pytest.raises(SumProofError, match="root mismatch"):
            verify_sum_inclusion(layout=layout, leaf=leaves[index], proof=proofs[index], root=root)
    for index in (2, 3):
        verify_sum_inclusion(layout=layout, leaf=leaves[index], proof=proofs[index], root=root)


def test_layout_is_bound() -> None:
    """Small non-negative values encode the same as COUNT and SIGNED; the
    layout descriptor in every hash still tells the trees apart."""
    leaves = [SumLeaf(payload=bytes([i]), sums=(i,)) for i in range(3)]
    tree = SumTree(layout=SumLayout.counts(1), leaves=leaves)
    signed = SumLayout(kinds=(SumKind.SIGNED,))
    assert _reason(tree, 1, layout=signed) == "root mismatch"


# -- two users, one shared node --------------------------------------------------


def _view(tree: SumTree, index: int) -> dict[tuple[int, int], SumNode]:
    """Every node a verifier of ``index`` sees or recomputes, keyed by its
    leaf range, via the RFC 9162 recursion over the proof's siblings."""
    proof = tree.inclusion_proof(index)
    layout = tree.layout
    ranges: list[tuple[tuple[int, int], tuple[int, int], bool]] = []

    def walk(low: int, high: int) -> None:
        if high - low == 1:
            return
        split = 1
        while split * 2 < high - low:
            split *= 2
        if index < low + split:
            walk(low, low + split)
            ranges.append(((low + split, high), (low, high), False))  # sibling on the right
        else:
            walk(low + split, high)
            ranges.append(((low, low + split), (low, high), True))  # sibling on the left

    walk(0, tree.size)
    leaf = tree.leaf(index)
    current = SumNode(hash=sum_leaf_hash(layout, leaf), sums=leaf.sums)
    view = {(index, index + 1): current}
    assert len(ranges) == len(proof.siblings)
    for (sibling_range, parent_range, sibling_left), sibling in zip(
        ranges, proof.siblings, strict=True
    ):
        view[sibling_range] = sibling
        sums = tuple(a + b for a, b in zip(sibling.sums, current.sums, strict=True))
        pair = (sibling, current) if sibling_left else (current, sibling)
        current = SumNode(hash=sum_node_hash(layout, *pair), sums=sums)
        view[parent_range] = current
    return view


@given(tree_and_index(min_leaves=2), st.data())
def test_two_users_agree_on_every_shared_node(
    case: tuple[SumTree, int], data: st.DataObject
) -> None:
    tree, first = case
    second = data.draw(st.integers(0, tree.size - 1).filter(lambda i: i != first))
    view_a, view_b = _view(tree, first), _view(tree, second)
    shared = view_a.keys() & view_b.keys()
    assert (0, tree.size) in shared  # the root at least
    for node_range in shared:
        assert view_a[node_range] == view_b[node_range]


def test_a_sibling_shown_with_other_sums_fails() -> None:
    """Users 0 and 2 of four share the node over leaves 2-3: user 0 is shown
    it as a sibling, user 2 recomputes it.  Showing user 0 any other sums
    for it than user 2 computes fails user 0's check."""
    tree = _counts_tree([5, 7, 1, 2])
    assert _view(tree, 0)[(2, 4)] == _view(tree, 2)[(2, 4)] == tree.node(1, 1)
    for other in (0, 1, 2, 4, 100):
        assert _reason(tree, 0, proof=_with_sibling(tree, 0, 1, (other,))) == "root mismatch"


# -- construction checks ---------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: SumNode(hash=b"\x00" * 31, sums=(1,)),
        lambda: SumNode(hash=b"\x00" * 32, sums=[1]),  # type: ignore[arg-type]
        lambda: SumNode(hash=b"\x00" * 32, sums=(True,)),
        lambda: SumRoot(size=-1, hash=b"\x00" * 32, totals=(0,)),
        lambda: SumRoot(size=1, hash=b"\x00" * 32, totals=(1.0,)),  # type: ignore[arg-type]
        lambda: SumInclusionProof(leaf_index=0, tree_size=2**64, siblings=()),
        lambda: SumInclusionProof(leaf_index=0, tree_size=2, siblings=(b"\x00" * 32,)),  # type: ignore[arg-type]
    ],
)
def test_malformed_proof_parts_are_remote_errors(build: Any) -> None:
    with pytest.raises(SumProofError):
        build()
    assert issubclass(SumProofError, RemoteProtocolError)


@pytest.mark.parametrize(
    "build",
    [
        lambda: SumLayout(kinds=()),
        lambda: SumLayout(kinds=("count",)),  # type: ignore[arg-type]
        lambda: SumLeaf(payload="text", sums=(1,)),  # type: ignore[arg-type]
        lambda: SumLeaf(payload=b"", sums=(1.5,)),  # type: ignore[arg-type]
    ],
)
def test_malformed_local_inputs_are_local_errors(build: Any) -> None:
    with pytest.raises(LocalProtocolError):
        build()


def test_repr_is_valid_python() -> None:
    layout = SumLayout(kinds=(SumKind.COUNT, SumKind.SIGNED))
    tree = SumTree(layout=layout, leaves=[SumLeaf(payload=b"x", sums=(1, -1))] * 3)
    for value in (layout, tree.leaf(0), tree.inclusion_proof(2), tree.root):
        assert eval(repr(value)) == value


def _unchecked_proof(proof: SumInclusionProof, leaf_index: int) -> SumInclusionProof:
    """A proof object with any index, made without the constructor's check
    (as a decoder, pickle or a subclass could make one)."""
    forged = object.__new__(SumInclusionProof)
    for name in ("tree_size", "siblings"):
        object.__setattr__(forged, name, getattr(proof, name))
    object.__setattr__(forged, "leaf_index", leaf_index)
    return forged


def test_a_negative_index_is_refused_by_the_verifier_itself() -> None:
    """Issue 11, item 2: with the constructor's uint64 check removed, some
    negative indices verify (Python's bit operations on negative numbers walk
    a real path).  The verifier checks the index itself."""
    tree = _counts_tree([1, 2, 3, 4, 5])
    for index in range(tree.size):
        proof = tree.inclusion_proof(index)
        for negative in range(-3 * tree.size, 0):
            assert (
                _reason(tree, index, proof=_unchecked_proof(proof, negative)) == "index beyond size"
            )
