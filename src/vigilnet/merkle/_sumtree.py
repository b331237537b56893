"""The Merkle-sum tree that SHAP aggregators commit to (DESIGN.md 4.2).

Theory of operation
===================

1. **What it commits to.**  Each leaf is a payload (the canonical encoding of
   an output entry) and a vector of integer sums (the entry's sufficient
   statistics).  The tree commits to every leaf *and* to the sums of every
   subtree, and its root commits to the tree size and the totals.  A child
   that checks its inclusion proof learns that its leaf is counted,
   unaltered, in the signed totals.

2. **The sums.**  A :class:`SumLayout` fixes the width and the kind of each
   coordinate: ``COUNT`` (``0 <= v <= 2**64 - 1``, unsigned 64-bit big-endian)
   or ``SIGNED`` (``-2**63 <= v <= 2**63 - 1``, two's complement 64-bit
   big-endian).  Every sum anywhere in the tree (leaf, node, total) must be in
   range for its kind: a negative count or an overflowing total is rejected,
   never wrapped.  The layout is hashed into every node, so the same bytes
   cannot be read under another layout.

3. **Hashing** (``L`` = layout descriptor: one byte ``width``, then one byte
   per coordinate, ``0x00`` count, ``0x01`` signed; ``S(v)`` = the ``width``
   coordinates of ``v``, 8 bytes each)::

       leaf  = SHA-256(0x02 "vigilnet/merkle-sum/v1/leaf" || L || S(sums) || payload)
       node  = SHA-256(0x03 "vigilnet/merkle-sum/v1/node" || L
                       || h_left || S(sums_left) || h_right || S(sums_right))
       root  = SHA-256(0x04 "vigilnet/merkle-sum/v1/root" || L
                       || uint64(size) || h_top || S(totals))

   with ``sums(node) = sums_left + sums_right`` coordinate-wise.  The first
   tag bytes 0x02, 0x03, 0x04 differ from RFC 9162's 0x00 (leaf) and 0x01
   (node) and from each other, so no preimage of one kind is a preimage of
   another, here or in the RFC 9162 log.  The empty tree has
   ``h_top = 32 zero bytes`` and zero totals.

4. **Shape.**  The RFC 9162 shape: split at the largest power of two below
   ``n``; built level by level, an unpaired last node is carried up
   unchanged.  Proofs are the RFC audit path, each sibling carrying its sums.

5. **Why both children's sums are hashed** (ePrint 2018/1139).  If a node
   hashed only its total, ``H(h_left || h_right || sum_left + sum_right)``,
   the prover could show user A the sibling B with sum ``t - a`` and user B the
   sibling A with sum ``t - b`` for any ``t >= max(a, b)``; both recompute the
   same node hash and the committed total understates ``a + b``.  Here the
   node hash fixes each child's sums, so two users who both verify against one
   root saw the same sums for every node they share, and the committed total
   is the real sum of the leaves.  For ``COUNT`` coordinates that also means
   the total is at least the sum of any verified users' counts; ``SIGNED``
   coordinates are bound the same way but, being signed, a negative leaf can
   offset others (use them for values that are meant to cancel, such as
   log-likelihood sums).

6. **Verification** (:func:`verify_sum_inclusion`) walks the RFC 9162
   2.1.3.2 index algorithm, recomputing hashes *and* sums, range-checking
   every sibling's sums and every recomputed sum, then recomputes the root
   hash from the proof's size and compares both the hash and the totals with
   the signed :class:`SumRoot`.  It returns ``None`` or raises
   :class:`~vigilnet.merkle.SumProofError` (a
   :class:`~vigilnet.errors.RemoteProtocolError`) naming the reason.
   Because the size is hashed into the root, a proof cannot be replayed
   under another size (unlike RFC 9162 inclusion proofs).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field

from vigilnet.errors import LocalProtocolError, ensure
from vigilnet.merkle._errors import SumProofError
from vigilnet.merkle._log import HASH_SIZE, MAX_TREE_SIZE

__all__ = [
    "COUNT_MAX",
    "SIGNED_MAX",
    "SIGNED_MIN",
    "SUM_LEAF_TAG",
    "SUM_NODE_TAG",
    "SUM_ROOT_TAG",
    "SumInclusionProof",
    "SumKind",
    "SumLayout",
    "SumLeaf",
    "SumNode",
    "SumRoot",
    "SumTree",
    "sum_leaf_hash",
    "sum_node_hash",
    "sum_root_hash",
    "verify_sum_inclusion",
]

SUM_LEAF_TAG = b"\x02vigilnet/merkle-sum/v1/leaf"
SUM_NODE_TAG = b"\x03vigilnet/merkle-sum/v1/node"
SUM_ROOT_TAG = b"\x04vigilnet/merkle-sum/v1/root"

COUNT_MAX = 2**64 - 1
SIGNED_MIN = -(2**63)
SIGNED_MAX = 2**63 - 1
_SUM_BYTES = 8
_EMPTY_TOP = bytes(HASH_SIZE)


class SumKind(enum.Enum):
    """How one coordinate of a sum vector is range-checked and encoded."""

    COUNT = 0
    """Unsigned: ``0 <= v <= 2**64 - 1``, 8 bytes big-endian."""
    SIGNED = 1
    """Signed: ``-2**63 <= v <= 2**63 - 1``, 8 bytes big-endian two's complement."""

    def __repr__(self) -> str:
        return f"SumKind.{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SumLayout:
    """The width and kinds of the sum vectors of one tree."""

    kinds: tuple[SumKind, ...]
    descriptor: bytes = field(init=False, repr=False, compare=False)
    """``L``: one byte width, then one kind byte per coordinate."""

    def __post_init__(self) -> None:
        ensure(
            type(self.kinds) is tuple
            and 1 <= len(self.kinds) <= 255
            and all(isinstance(kind, SumKind) for kind in self.kinds),
            "a sum layout is a tuple of 1 to 255 SumKind values",
            raising=LocalProtocolError,
        )
        descriptor = bytes([len(self.kinds), *(kind.value for kind in self.kinds)])
        object.__setattr__(self, "descriptor", descriptor)

    @classmethod
    def counts(cls, width: int) -> SumLayout:
        """``width`` unsigned count coordinates."""
        return cls(kinds=(SumKind.COUNT,) * width)

    @property
    def width(self) -> int:
        return len(self.kinds)

    @property
    def zero(self) -> tuple[int, ...]:
        return (0,) * len(self.kinds)

    def accepts(self, sums: object) -> bool:
        """True when ``sums`` is a tuple of ints of this width, each in range."""
        if type(sums) is not tuple or len(sums) != len(self.kinds):
            return False
        for kind, value in zip(self.kinds, sums, strict=True):
            if type(value) is not int:
                return False
            if kind is SumKind.COUNT:
                if not 0 <= value <= COUNT_MAX:
                    return False
            elif not SIGNED_MIN <= value <= SIGNED_MAX:
                return False
        return True

    def encode(self, sums: tuple[int, ...]) -> bytes:
        """``S(sums)``; :class:`LocalProtocolError` unless :meth:`accepts`."""
        ensure(self.accepts(sums), "sums out of range for the layout", raising=LocalProtocolError)
        return b"".join(
            value.to_bytes(_SUM_BYTES, "big", signed=kind is SumKind.SIGNED)
            for kind, value in zip(self.kinds, sums, strict=True)
        )


def _is_sum_vector(sums: object) -> bool:
    return type(sums) is tuple and all(type(value) is int for value in sums)


def _is_uint64(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_TREE_SIZE


def _is_hash(value: object) -> bool:
    return type(value) is bytes and len(value) == HASH_SIZE


@dataclass(frozen=True, slots=True, kw_only=True)
class SumLeaf:
    """One committed entry: its payload bytes and its sums.  The range of
    the sums is checked against a layout by the tree and by the verifier."""

    payload: bytes
    sums: tuple[int, ...]

    def __post_init__(self) -> None:
        ensure(type(self.payload) is bytes, "a leaf payload is bytes", raising=LocalProtocolError)
        ensure(
            _is_sum_vector(self.sums), "leaf sums are a tuple of ints", raising=LocalProtocolError
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SumNode:
    """A node as a proof shows it: its hash and its sums."""

    hash: bytes
    sums: tuple[int, ...]

    def __post_init__(self) -> None:
        ensure(_is_hash(self.hash), "a node hash is 32 bytes", raising=SumProofError)
        ensure(_is_sum_vector(self.sums), "node sums are a tuple of ints", raising=SumProofError)


@dataclass(frozen=True, slots=True, kw_only=True)
class SumRoot:
    """The signed commitment: tree size, root hash (which binds the layout,
    the size, the top node and the totals) and the totals."""

    size: int
    hash: bytes
    totals: tuple[int, ...]

    def __post_init__(self) -> None:
        ensure(_is_uint64(self.size), "tree size is not a uint64", raising=SumProofError)
        ensure(_is_hash(self.hash), "a root hash is 32 bytes", raising=SumProofError)
        ensure(_is_sum_vector(self.totals), "totals are a tuple of ints", raising=SumProofError)


@dataclass(frozen=True, slots=True, kw_only=True)
class SumInclusionProof:
    """The audit path of one leaf, leaf to root, each sibling with its sums."""

    leaf_index: int
    tree_size: int
    siblings: tuple[SumNode, ...]

    def __post_init__(self) -> None:
        ensure(_is_uint64(self.leaf_index), "leaf index is not a uint64", raising=SumProofError)
        ensure(_is_uint64(self.tree_size), "tree size is not a uint64", raising=SumProofError)
        ensure(
            type(self.siblings) is tuple
            and all(type(sibling) is SumNode for sibling in self.siblings),
            "siblings are a tuple of SumNode",
            raising=SumProofError,
        )


def sum_leaf_hash(layout: SumLayout, leaf: SumLeaf) -> bytes:
    """``SHA-256(SUM_LEAF_TAG || L || S(sums) || payload)``; sums in range."""
    return hashlib.sha256(
        SUM_LEAF_TAG + layout.descriptor + layout.encode(leaf.sums) + leaf.payload
    ).digest()


def sum_node_hash(layout: SumLayout, left: SumNode, right: SumNode) -> bytes:
    """``SHA-256(SUM_NODE_TAG || L || h_l || S(sums_l) || h_r || S(sums_r))``."""
    return hashlib.sha256(
        SUM_NODE_TAG
        + layout.descriptor
        + left.hash
        + layout.encode(left.sums)
        + right.hash
        + layout.encode(right.sums)
    ).digest()


def sum_root_hash(layout: SumLayout, size: int, top: SumNode) -> bytes:
    """``SHA-256(SUM_ROOT_TAG || L || uint64(size) || h_top || S(totals))``."""
    return hashlib.sha256(
        SUM_ROOT_TAG
        + layout.descriptor
        + size.to_bytes(8, "big")
        + top.hash
        + layout.encode(top.sums)
    ).digest()


def _add(left: tuple[int, ...], right: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(a + b for a, b in zip(left, right, strict=True))


class SumTree:
    """A Merkle-sum tree over a fixed list of leaves (built once, O(n) hashes;
    each proof O(log n) lookups)."""

    __slots__ = ("_layout", "_leaves", "_levels", "_root")

    def __init__(self, *, layout: SumLayout, leaves: Iterable[SumLeaf]) -> None:
        self._layout = layout
        self._leaves = tuple(leaves)
        level: list[SumNode] = []
        for index, leaf in enumerate(self._leaves):
            ensure(
                type(leaf) is SumLeaf, f"leaf {index} is not a SumLeaf", raising=LocalProtocolError
            )
            ensure(
                layout.accepts(leaf.sums),
                f"leaf {index} sums out of range for the layout",
                raising=LocalProtocolError,
            )
            level.append(SumNode(hash=sum_leaf_hash(layout, leaf), sums=leaf.sums))
        ensure(len(level) <= MAX_TREE_SIZE, "too many leaves", raising=LocalProtocolError)
        self._levels = [level]
        while len(level) > 1:
            above: list[SumNode] = []
            for left_index in range(0, len(level) - 1, 2):
                left, right = level[left_index], level[left_index + 1]
                sums = _add(left.sums, right.sums)
                ensure(
                    layout.accepts(sums),
                    "a subtree sum overflows the layout",
                    raising=LocalProtocolError,
                )
                above.append(SumNode(hash=sum_node_hash(layout, left, right), sums=sums))
            if len(level) % 2:
                above.append(level[-1])  # carried up unchanged (RFC 9162 shape)
            self._levels.append(above)
            level = above
        top = level[0] if level else SumNode(hash=_EMPTY_TOP, sums=layout.zero)
        self._root = SumRoot(
            size=len(self._leaves),
            hash=sum_root_hash(layout, len(self._leaves), top),
            totals=top.sums,
        )

    @property
    def layout(self) -> SumLayout:
        return self._layout

    @property
    def size(self) -> int:
        return len(self._leaves)

    @property
    def root(self) -> SumRoot:
        return self._root

    def leaf(self, index: int) -> SumLeaf:
        return self._leaves[index]

    def node(self, level: int, index: int) -> SumNode:
        """The node at ``level`` (0 = leaves) and ``index`` in the level-by-level
        (carried) shape: it covers leaves ``[index * 2**level, min((index + 1)
        * 2**level, size))``."""
        return self._levels[level][index]

    def inclusion_proof(self, index: int) -> SumInclusionProof:
        ensure(
            type(index) is int and 0 <= index < self.size,
            "leaf index beyond the tree size",
            raising=LocalProtocolError,
        )
        siblings: list[SumNode] = []
        node = index
        for level in self._levels[:-1]:
            sibling = node ^ 1
            if sibling < len(level):
                siblings.append(level[sibling])
            node >>= 1
        return SumInclusionProof(leaf_index=index, tree_size=self.size, siblings=tuple(siblings))


def verify_sum_inclusion(
    *, layout: SumLayout, leaf: SumLeaf, proof: SumInclusionProof, root: SumRoot
) -> None:
    """Check that ``leaf`` is counted at ``proof.leaf_index`` in the tree
    committed to by ``root`` (from the aggregator's signed report).

    Returns ``None``; raises :class:`SumProofError` with the reason: "size
    mismatch", "index beyond size", "leaf sums out of range", "sibling K sums
    out of range", "sums out of range at step K" (a negative or overflowing
    recomputed sum), "proof too long", "proof too short", "root mismatch",
    "total mismatch".
    """
    ensure(type(leaf) is SumLeaf, "leaf is not a SumLeaf", raising=SumProofError)
    ensure(proof.tree_size == root.size, "size mismatch", raising=SumProofError)
    # The constructor already refuses a negative index; checked again here so
    # the verifier does not depend on how the proof object was made.
    ensure(
        _is_uint64(proof.leaf_index) and proof.leaf_index < proof.tree_size,
        "index beyond size",
        raising=SumProofError,
    )
    ensure(layout.accepts(leaf.sums), "leaf sums out of range", raising=SumProofError)
    current = SumNode(hash=sum_leaf_hash(layout, leaf), sums=leaf.sums)
    fn, sn = proof.leaf_index, proof.tree_size - 1
    for step, sibling in enumerate(proof.siblings):
        ensure(sn != 0, "proof too long", raising=SumProofError)
        ensure(
            layout.accepts(sibling.sums), f"sibling {step} sums out of range", raising=SumProofError
        )
        sums = _add(sibling.sums, current.sums)
        ensure(layout.accepts(sums), f"sums out of range at step {step}", raising=SumProofError)
        if fn & 1 or fn == sn:
            current = SumNode(hash=sum_node_hash(layout, sibling, current), sums=sums)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            current = SumNode(hash=sum_node_hash(layout, current, sibling), sums=sums)
        fn, sn = fn >> 1, sn >> 1
    ensure(sn == 0, "proof too short", raising=SumProofError)
    expected = sum_root_hash(layout, proof.tree_size, current)
    ensure(hmac.compare_digest(expected, root.hash), "root mismatch", raising=SumProofError)
    ensure(current.sums == root.totals, "total mismatch", raising=SumProofError)
