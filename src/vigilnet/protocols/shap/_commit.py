"""SHAP commitments: leaf encodings, the vectorised Merkle-sum build, and the
commitment hash an aggregator signs.

Byte layouts (every integer big-endian; ``S(v)`` and the tree hashing are
those of :mod:`vigilnet.merkle._sumtree` with :data:`LAYOUT`)::

    LAYOUT         = (COUNT agents, COUNT evidence_count, SIGNED llr_sum)
    entry leaf     = SumLeaf(payload = uint64(agent_id),
                             sums = (1, count, llr_sum))
    child leaf     = SumLeaf(payload = uint64(child_node_id) || child_root,
                             sums = child_totals)
    commitment     = SHA-256(0x05 "vigilnet/shap/commitment/v1"
                             || inputs_root_hash || entries_root_hash)

An absent tree (a local monitor has no inputs; a hub, which only sums, has no
entries of its own) is written as 32 zero bytes.  The tag byte 0x05 follows
the Merkle-sum tree's 0x02 to 0x04, so no commitment preimage is a leaf,
node or root preimage.

:class:`FastSumTree` builds the very same tree as
:class:`vigilnet.merkle.SumTree` (bit-identical hashes, sums and proofs, a
differential test checks it) with the per-level byte strings assembled by
numpy and one ``hashlib`` call per node, which is what the regional epoch
budget needs.  It applies when every sum of the tree provably fits a signed
64-bit integer (checked up front from the leaves' magnitudes); otherwise
:func:`entries_tree` falls back to the reference tree, which range-checks in
Python integers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from vigilnet import kernels
from vigilnet.errors import LocalProtocolError, ensure
from vigilnet.merkle import (
    HASH_SIZE,
    SUM_LEAF_TAG,
    SUM_NODE_TAG,
    SumInclusionProof,
    SumKind,
    SumLayout,
    SumLeaf,
    SumNode,
    SumRoot,
    SumTree,
    sum_root_hash,
)

__all__ = [
    "ABSENT",
    "COMMITMENT_TAG",
    "LAYOUT",
    "CommittedTree",
    "FastSumTree",
    "child_leaf",
    "children_tree",
    "commitment_hash",
    "entries_tree",
    "entry_leaf",
]

LAYOUT: Final = SumLayout(kinds=(SumKind.COUNT, SumKind.COUNT, SumKind.SIGNED))
COMMITMENT_TAG: Final = b"\x05vigilnet/shap/commitment/v1"
ABSENT: Final = bytes(HASH_SIZE)
_WIDTH: Final = 3
_SUM_BYTES: Final = 8 * _WIDTH

I64 = npt.NDArray[np.int64]


class CommittedTree(Protocol):
    """A built Merkle-sum tree: its size, its root, and inclusion proofs."""

    @property
    def size(self) -> int: ...

    @property
    def root(self) -> SumRoot: ...

    def inclusion_proof(self, index: int) -> SumInclusionProof: ...


def entry_leaf(agent_id: int, count: int, llr_sum: int) -> SumLeaf:
    """The leaf of one agent's entry: payload ``uint64(agent_id)``."""
    ensure(
        type(agent_id) is int and 0 <= agent_id < 1 << 64,
        "agent id is not a uint64",
        LocalProtocolError,
    )
    return SumLeaf(payload=agent_id.to_bytes(8, "big"), sums=(1, count, llr_sum))


def child_leaf(node_id: int, root: bytes, totals: tuple[int, ...]) -> SumLeaf:
    """The leaf of one child's report in its parent's inputs tree."""
    ensure(0 <= node_id < 1 << 64, "node id is not a uint64", LocalProtocolError)
    ensure(len(root) == HASH_SIZE, "a root is 32 bytes", LocalProtocolError)
    return SumLeaf(payload=node_id.to_bytes(8, "big") + root, sums=totals)


def commitment_hash(inputs: SumRoot | None, entries: SumRoot | None) -> bytes:
    """``SHA-256(COMMITMENT_TAG || inputs.hash || entries.hash)``, absent = zeros."""
    return hashlib.sha256(
        COMMITMENT_TAG
        + (inputs.hash if inputs is not None else ABSENT)
        + (entries.hash if entries is not None else ABSENT)
    ).digest()


def _encode_sums(sums: I64) -> npt.NDArray[np.uint8]:
    """``S(v)`` for every row of an ``(n, 3)`` int64 array: ``(n, 24)`` bytes.
    Counts are non-negative here, so their unsigned and signed encodings agree."""
    return np.ascontiguousarray(sums.astype(">i8")).view(np.uint8).reshape(len(sums), _SUM_BYTES)


def _hash_rows(rows: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """SHA-256 of every row: ``(n, 32)`` digests (the C kernel through
    libcrypto when built, else hashlib: the same bytes)."""
    return kernels.sha256_rows(np.ascontiguousarray(rows))


class FastSumTree:
    """The Merkle-sum tree of ``n`` leaves with fixed-width payloads, built
    level by level with numpy, one batched hash call per level
    (:func:`vigilnet.kernels.sha256_rows`).

    ``payloads`` is ``(n, p)`` uint8, ``sums`` is ``(n, 3)`` int64.  Use
    :func:`entries_tree`, which checks the magnitudes first.
    """

    __slots__ = ("_hashes", "_root", "_sums", "size")

    def __init__(self, payloads: npt.NDArray[np.uint8], sums: I64) -> None:
        n = len(sums)
        self.size = n
        prefix = np.frombuffer(SUM_LEAF_TAG + LAYOUT.descriptor, dtype=np.uint8)
        rows = np.concatenate(
            [np.broadcast_to(prefix, (n, len(prefix))), _encode_sums(sums), payloads], axis=1
        )
        level_hashes = _hash_rows(rows)
        self._hashes: list[npt.NDArray[np.uint8]] = [level_hashes]
        self._sums: list[I64] = [sums]
        node_prefix = np.frombuffer(SUM_NODE_TAG + LAYOUT.descriptor, dtype=np.uint8)
        level_sums = sums
        while len(level_hashes) > 1:
            pairs = len(level_hashes) // 2
            encoded = _encode_sums(level_sums)
            left, right = slice(0, 2 * pairs, 2), slice(1, 2 * pairs, 2)
            rows = np.concatenate(
                [
                    np.broadcast_to(node_prefix, (pairs, len(node_prefix))),
                    level_hashes[left],
                    encoded[left],
                    level_hashes[right],
                    encoded[right],
                ],
                axis=1,
            )
            above_hashes = _hash_rows(rows)
            above_sums = level_sums[left] + level_sums[right]
            if len(level_hashes) % 2:
                above_hashes = np.concatenate([above_hashes, level_hashes[-1:]])
                above_sums = np.concatenate([above_sums, level_sums[-1:]])
            self._hashes.append(above_hashes)
            self._sums.append(above_sums)
            level_hashes, level_sums = above_hashes, above_sums
        if n:
            top = SumNode(hash=level_hashes[0].tobytes(), sums=tuple(int(v) for v in level_sums[0]))
        else:
            top = SumNode(hash=ABSENT, sums=LAYOUT.zero)
        ensure(LAYOUT.accepts(top.sums), "totals out of range", LocalProtocolError)
        self._root = SumRoot(size=n, hash=sum_root_hash(LAYOUT, n, top), totals=top.sums)

    @property
    def root(self) -> SumRoot:
        return self._root

    def inclusion_proof(self, index: int) -> SumInclusionProof:
        ensure(0 <= index < self.size, "leaf index beyond the tree size", LocalProtocolError)
        siblings: list[SumNode] = []
        node = index
        for hashes, sums in zip(self._hashes[:-1], self._sums[:-1], strict=True):
            sibling = node ^ 1
            if sibling < len(hashes):
                siblings.append(
                    SumNode(
                        hash=hashes[sibling].tobytes(), sums=tuple(int(v) for v in sums[sibling])
                    )
                )
            node >>= 1
        return SumInclusionProof(leaf_index=index, tree_size=self.size, siblings=tuple(siblings))


class _ReferenceTree:
    """:class:`SumTree` behind the same two methods as :class:`FastSumTree`."""

    __slots__ = ("_tree", "size")

    def __init__(self, leaves: Sequence[SumLeaf]) -> None:
        self._tree = SumTree(layout=LAYOUT, leaves=leaves)
        self.size = self._tree.size

    @property
    def root(self) -> SumRoot:
        return self._tree.root

    def inclusion_proof(self, index: int) -> SumInclusionProof:
        return self._tree.inclusion_proof(index)


def entries_tree(
    agent_ids: npt.NDArray[np.uint64] | npt.NDArray[np.int64], counts: I64, llr_sums: I64
) -> CommittedTree:
    """The entries tree of per-agent ``(count, llr_sum)``, vectorised.
    Agent ids are uint64 (a non-negative int64 column reads the same)."""
    n = len(agent_ids)
    ensure(
        agent_ids.dtype == np.uint64 or not (agent_ids < 0).any(),
        "agent ids are uint64",
        LocalProtocolError,
    )
    payloads = np.ascontiguousarray(agent_ids.astype(">u8")).view(np.uint8).reshape(n, 8)
    sums = (
        np.stack([np.ones(n, dtype=np.int64), counts, llr_sums], axis=1)
        if n
        else np.zeros((0, 3), dtype=np.int64)
    )
    return _fast_or_reference(payloads, sums)


def children_tree(
    node_ids: Sequence[int], roots: Sequence[bytes], totals: Sequence[tuple[int, ...]]
) -> CommittedTree:
    """The inputs tree over child reports: the fast build when every total
    is a 3-tuple below ``2**62`` in magnitude (then :func:`_fast_or_reference`
    decides), else the reference, which judges each leaf's sums by the
    layout.  :class:`SumLeaf` has already refused sums that are not a tuple
    of exact ints."""
    leaves = [child_leaf(i, r, t) for i, r, t in zip(node_ids, roots, totals, strict=True)]
    n = len(leaves)
    flat = [v for leaf in leaves if len(leaf.sums) == _WIDTH for v in leaf.sums]
    if n and len(flat) == _WIDTH * n and min(flat) > -_FAST_LIMIT and max(flat) < _FAST_LIMIT:
        payloads = np.frombuffer(b"".join(leaf.payload for leaf in leaves), dtype=np.uint8)
        return _fast_or_reference(
            payloads.reshape(n, len(leaves[0].payload)),
            np.array(flat, dtype=np.int64).reshape(n, _WIDTH),
        )
    return _ReferenceTree(leaves)


_FAST_LIMIT: Final = 1 << 62


def _fast_or_reference(payloads: npt.NDArray[np.uint8], sums: I64) -> CommittedTree:
    """The fast build when the largest magnitude times the leaf count stays
    below ``2**62`` (so every partial sum fits int64), else the reference."""
    n = len(payloads)
    if n == 0:
        return _ReferenceTree([])
    low, high = int(sums.min()), int(sums.max())
    biggest = max(-low, high)
    if (sums[:, :2] >= 0).all() and biggest * n < 1 << 62:
        return FastSumTree(payloads, sums)
    leaves = [
        SumLeaf(payload=bytes(payloads[i]), sums=tuple(int(v) for v in sums[i])) for i in range(n)
    ]
    return _ReferenceTree(leaves)
