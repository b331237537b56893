"""The ePrint 2018/1139 attack (Chalkias, Lewi, Mohassel, Nikolaenko,
"Broken Proofs of Solvency in Blockchain Custodial Wallets and Exchanges")
on a Merkle-sum tree whose node hash commits only to the parent total.

The naive construction lives here, in the test, as the thing attacked; it is
not in ``src/``.  Its node is ``H(h_left || h_right || sum_left + sum_right)``.
Because the two children's sums are not fixed separately, the prover can show
each side a different value for the other side: with ``t = max(a, b)`` it
shows user A the sibling B with ``t - a`` and user B the sibling A with
``t - b``.  Both recompute ``t`` and the same node hash, both accept, and the
committed total understates ``a + b``.  Applied at every node, the root total
is only the *largest* user's value.

Our node hash fixes both children's sums, so the prover must pick one pair;
whichever it picks, a user on the other side recomputes a different hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigilnet.merkle import (
    SumInclusionProof,
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

LAYOUT = SumLayout.counts(1)

# -- the naive construction (attacked; test only) --------------------------------


def naive_leaf_hash(payload: bytes, value: int) -> bytes:
    return hashlib.sha256(b"naive-leaf" + value.to_bytes(8, "big") + payload).digest()


def naive_node_hash(left: bytes, right: bytes, total: int) -> bytes:
    return hashlib.sha256(left + right + total.to_bytes(8, "big")).digest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Shown:
    """A sibling as the prover shows it: hash and value."""

    hash: bytes
    value: int


def naive_verify(
    *,
    payload: bytes,
    value: int,
    index: int,
    size: int,
    siblings: list[Shown],
    root_hash: bytes,
    root_total: int,
) -> bool:
    """Verification of the naive scheme, as careful as it can be: sibling
    values range-checked, totals recomputed, root hash and total compared."""
    if not 0 <= index < size:
        return False
    current_hash, current_total = naive_leaf_hash(payload, value), value
    fn, sn = index, size - 1
    for sibling in siblings:
        if sn == 0 or not 0 <= sibling.value < 2**64:
            return False
        total = current_total + sibling.value
        if fn & 1 or fn == sn:
            current_hash = naive_node_hash(sibling.hash, current_hash, total)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            current_hash = naive_node_hash(current_hash, sibling.hash, total)
        current_total = total
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and current_hash == root_hash and current_total == root_total


# -- the lying prover, for either construction -----------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Forged:
    hash: bytes
    claimed: int


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


Combine = Callable[[Forged, Forged, int], bytes]
"""(left, right, claimed parent total) -> parent hash."""


def forge(
    values: list[int], leaf_hash: Callable[[int, int], bytes], combine: Combine
) -> dict[tuple[int, int], Forged]:
    """Every node claims ``max`` of its children's claims: the smallest total
    for which every shown sibling value ``parent - own side`` stays >= 0."""
    nodes: dict[tuple[int, int], Forged] = {}

    def build(low: int, high: int) -> Forged:
        if high - low == 1:
            node = Forged(hash=leaf_hash(low, values[low]), claimed=values[low])
        else:
            k = _split(high - low)
            left, right = build(low, low + k), build(low + k, high)
            claimed = max(left.claimed, right.claimed)
            node = Forged(hash=combine(left, right, claimed), claimed=claimed)
        nodes[(low, high)] = node
        return node

    build(0, len(values))
    return nodes


def lying_path(nodes: dict[tuple[int, int], Forged], index: int, size: int) -> list[Shown]:
    """User ``index``'s siblings, each shown as ``parent claim - own claim``."""
    shown: list[Shown] = []

    def walk(low: int, high: int) -> None:
        if high - low == 1:
            return
        k = _split(high - low)
        own, other = ((low, low + k), (low + k, high))
        if index >= low + k:
            own, other = other, own
        walk(*own)
        parent = nodes[(low, high)]
        shown.append(Shown(hash=nodes[other].hash, value=parent.claimed - nodes[own].claimed))

    walk(0, size)
    return shown


def _payload(index: int) -> bytes:
    return b"user-%d" % index


# -- the attack on the naive construction ----------------------------------------


def test_two_user_attack_on_the_naive_construction() -> None:
    a, b = 5, 7
    h_a, h_b = naive_leaf_hash(_payload(0), a), naive_leaf_hash(_payload(1), b)
    t = max(a, b)
    root_hash = naive_node_hash(h_a, h_b, t)
    # A is shown B's value as t - a = 2; B is shown A's value as t - b = 0.
    assert naive_verify(
        payload=_payload(0),
        value=a,
        index=0,
        size=2,
        siblings=[Shown(hash=h_b, value=t - a)],
        root_hash=root_hash,
        root_total=t,
    )
    assert naive_verify(
        payload=_payload(1),
        value=b,
        index=1,
        size=2,
        siblings=[Shown(hash=h_a, value=t - b)],
        root_hash=root_hash,
        root_total=t,
    )
    assert t < a + b  # both accepted, 5 units of liabilities hidden


def test_two_user_attack_fails_against_our_construction() -> None:
    a_leaf = SumLeaf(payload=_payload(0), sums=(5,))
    b_leaf = SumLeaf(payload=_payload(1), sums=(7,))
    h_a, h_b = sum_leaf_hash(LAYOUT, a_leaf), sum_leaf_hash(LAYOUT, b_leaf)
    t = 7
    shown_to_a = SumNode(hash=h_b, sums=(t - 5,))
    shown_to_b = SumNode(hash=h_a, sums=(t - 7,))
    proof_a = _proof(0, 2, shown_to_a)
    proof_b = _proof(1, 2, shown_to_b)
    # The two roots the prover could sign, one per lie; the node preimages
    # differ, so the roots differ.
    top_a = SumNode(hash=sum_node_hash(LAYOUT, SumNode(hash=h_a, sums=(5,)), shown_to_a), sums=(t,))
    top_b = SumNode(hash=sum_node_hash(LAYOUT, shown_to_b, SumNode(hash=h_b, sums=(7,))), sums=(t,))
    assert top_a.hash != top_b.hash
    for top in (top_a, top_b):
        root = SumRoot(size=2, hash=sum_root_hash(LAYOUT, 2, top), totals=(t,))
        verdicts = [_accepts(a_leaf, proof_a, root), _accepts(b_leaf, proof_b, root)]
        assert verdicts.count(False) == 1  # exactly one user catches it
    # Honestly, both accept and the total is the real one.
    honest = SumTree(layout=LAYOUT, leaves=[a_leaf, b_leaf])
    assert honest.root.totals == (12,)
    assert _accepts(a_leaf, honest.inclusion_proof(0), honest.root)
    assert _accepts(b_leaf, honest.inclusion_proof(1), honest.root)


def _proof(index: int, size: int, *siblings: SumNode) -> SumInclusionProof:
    return SumInclusionProof(leaf_index=index, tree_size=size, siblings=siblings)


def _accepts(leaf: SumLeaf, proof: SumInclusionProof, root: SumRoot) -> bool:
    try:
        verify_sum_inclusion(layout=LAYOUT, leaf=leaf, proof=proof, root=root)
    except SumProofError:
        return False
    return True


values_lists = st.lists(st.integers(0, 2**32), min_size=2, max_size=24).filter(
    lambda values: sorted(values)[-2] > 0  # two users with something to hide
)


@given(values_lists)
def test_naive_construction_lets_every_user_accept_an_understated_total(
    values: list[int],
) -> None:
    size = len(values)
    nodes = forge(
        values,
        lambda i, v: naive_leaf_hash(_payload(i), v),
        lambda left, right, total: naive_node_hash(left.hash, right.hash, total),
    )
    top = nodes[(0, size)]
    assert top.claimed == max(values) < sum(values)
    for index, value in enumerate(values):
        assert naive_verify(
            payload=_payload(index),
            value=value,
            index=index,
            size=size,
            siblings=lying_path(nodes, index, size),
            root_hash=top.hash,
            root_total=top.claimed,
        )


def _ours_left_honest(left: Forged, right: Forged, total: int) -> bytes:
    return sum_node_hash(
        LAYOUT,
        SumNode(hash=left.hash, sums=(left.claimed,)),
        SumNode(hash=right.hash, sums=(total - left.claimed,)),
    )


def _ours_right_honest(left: Forged, right: Forged, total: int) -> bytes:
    return sum_node_hash(
        LAYOUT,
        SumNode(hash=left.hash, sums=(total - right.claimed,)),
        SumNode(hash=right.hash, sums=(right.claimed,)),
    )


@pytest.mark.parametrize(
    "combine", [_ours_left_honest, _ours_right_honest], ids=["left-honest", "right-honest"]
)
@given(values=values_lists)
def test_our_construction_rejects_the_same_attack(combine: Combine, values: list[int]) -> None:
    """The prover must hash one pair of child sums per node; whichever side
    it is honest to, some user on the other side rejects."""
    size = len(values)
    leaves = [SumLeaf(payload=_payload(i), sums=(v,)) for i, v in enumerate(values)]
    nodes = forge(values, lambda i, v: sum_leaf_hash(LAYOUT, leaves[i]), combine)
    top = nodes[(0, size)]
    root = SumRoot(
        size=size,
        totals=(top.claimed,),
        hash=sum_root_hash(LAYOUT, size, SumNode(hash=top.hash, sums=(top.claimed,))),
    )
    verdicts = [
        _accepts(
            leaves[index],
            _proof(
                index,
                size,
                *(
                    SumNode(hash=shown.hash, sums=(shown.value,))
                    for shown in lying_path(nodes, index, size)
                ),
            ),
            root,
        )
        for index in range(size)
    ]
    assert top.claimed < sum(values)
    assert not all(verdicts)


@given(st.lists(st.integers(0, 2**32), min_size=1, max_size=24))
def test_if_every_user_accepts_the_total_is_the_real_sum(values: list[int]) -> None:
    """The guarantee the attack breaks, holding for ours: an honest tree
    (the only one all users accept) commits to the exact sum."""
    leaves = [SumLeaf(payload=_payload(i), sums=(v,)) for i, v in enumerate(values)]
    tree = SumTree(layout=LAYOUT, leaves=leaves)
    assert all(_accepts(leaves[i], tree.inclusion_proof(i), tree.root) for i in range(len(values)))
    assert tree.root.totals == (sum(values),)
