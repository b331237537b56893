"""RFC 9162 Merkle tree hashing, proofs, and an incremental in-memory log.

Theory of operation
===================

1. **Hashing** (RFC 9162 section 2.1.1).  A leaf hashes as
   ``SHA-256(0x00 || leaf)``, an interior node as ``SHA-256(0x01 || left ||
   right)``, and the empty tree as ``SHA-256("")``.  The tree over ``n > 1``
   leaves splits at ``k``, the largest power of two strictly below ``n``:
   ``MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))``.

2. **Storage** (:class:`MerkleLog`).  The log keeps, for every level ``k``,
   the hashes of the *perfect* subtrees of ``2**k`` leaves that are complete so
   far: ``levels[k][j]`` covers leaves ``[j * 2**k, (j + 1) * 2**k)``.  An
   append adds one leaf hash and completes at most one new subtree per level
   (amortised O(1) hashes, 2n hashes stored).  Nothing is ever rehashed.

3. **The right border.**  Seen level by level, the RFC tree of ``size``
   leaves has ``ceil(size / 2**k)`` nodes at level ``k``; every node but the
   last is perfect (and stored).  The last node ``r[k]`` covers
   ``[last * 2**k, size)``; ``r[k+1]`` is ``node(levels[k][last - 1], r[k])``
   when ``last`` is odd and ``r[k]`` itself when it is even (a lone last node
   is carried up unchanged).  So the root of *any* size up to the current
   one, and every border node a proof needs, costs O(log n) hashes.

4. **Inclusion proofs** (RFC 9162 2.1.3.1, ``PATH(m, D[n])``, leaf-to-root
   order).  Walking up from the leaf, the sibling of node ``j`` at level ``k``
   is ``j ^ 1``: a stored perfect subtree when it lies before the last node,
   ``r[k]`` when it *is* the last node, and absent when ``j`` is the last node
   and is carried.  Verification is RFC 9162 2.1.3.2, step for step.

5. **Consistency proofs** (RFC 9162 2.1.4.1, ``SUBPROOF(m, D[n], true)``).
   Every range the recursion asks for is either a perfect subtree or a right
   border ``[a, n)``; both hash from stored subtrees in O(log n).
   Verification is RFC 9162 2.1.4.2, step for step.

6. **Edge cases the RFC leaves open**, fixed here as the transparency-dev
   golden probes fix them:

   * ``old_size == new_size``: the proof must be empty and the two roots
     equal (compared as opaque bytes).
   * **The size-0 rule: a consistency proof from size 0 is rejected, always,
     even 0 to 0** (``ConsistencyProofError("consistency from an empty
     tree")``), and :func:`consistency_proof` refuses to make one.  Every
     tree extends the empty tree, so such a proof would prove nothing; a
     verifier that has seen no checkpoint yet accepts its first one on its
     signature alone (trust on first use) and checks consistency from then
     on.  (The C2SP witness spec instead accepts an empty proof from size 0;
     we do not.)
   * An inclusion proof does not bind the tree size: for index 0 the proof
     for size 6 also verifies as size 7.  Always take ``(size, root)`` from
     a signed checkpoint, never from the party that supplied the proof.

7. **Errors.**  Verification returns ``None`` or raises
   :class:`~vigilnet.merkle.InclusionProofError` /
   :class:`~vigilnet.merkle.ConsistencyProofError` (both
   :class:`~vigilnet.errors.RemoteProtocolError`) with the reason as message.
   A malformed proof (negative or >= 2**64 index or size, a path element that
   is not 32 bytes) is rejected the same way when it is constructed.  Asking
   *this* library for a proof that cannot exist (index beyond the log) raises
   :class:`~vigilnet.errors.LocalProtocolError`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vigilnet.errors import LocalProtocolError, ensure
from vigilnet.merkle._errors import ConsistencyProofError, InclusionProofError, MerkleProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_PREFIX",
    "MAX_TREE_SIZE",
    "NODE_PREFIX",
    "ConsistencyProof",
    "InclusionProof",
    "MerkleLog",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_TREE_SIZE = 2**64 - 1
"""Indexes and sizes are RFC 9162 ``uint64`` values."""


def leaf_hash(leaf: bytes) -> bytes:
    """``SHA-256(0x00 || leaf)`` (RFC 9162 section 2.1.1)."""
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)`` (RFC 9162 section 2.1.1)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _is_uint64(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_TREE_SIZE


def _check_path(path: object, raising: type[InclusionProofError | ConsistencyProofError]) -> None:
    if not isinstance(path, tuple):
        raise raising("path must be a tuple of hashes")
    for position, element in enumerate(path):
        ensure(
            type(element) is bytes and len(element) == HASH_SIZE,
            f"proof element {position} is not a {HASH_SIZE}-byte hash",
            raising=raising,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class InclusionProof:
    """``PATH(leaf_index, D[tree_size])``: sibling hashes, leaf to root."""

    leaf_index: int
    tree_size: int
    audit_path: tuple[bytes, ...]

    def __post_init__(self) -> None:
        ensure(
            _is_uint64(self.leaf_index), "leaf index is not a uint64", raising=InclusionProofError
        )
        ensure(_is_uint64(self.tree_size), "tree size is not a uint64", raising=InclusionProofError)
        _check_path(self.audit_path, InclusionProofError)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsistencyProof:
    """``PROOF(old_size, D[new_size])`` in RFC 9162 order."""

    old_size: int
    new_size: int
    consistency_path: tuple[bytes, ...]

    def __post_init__(self) -> None:
        ensure(_is_uint64(self.old_size), "old size is not a uint64", raising=ConsistencyProofError)
        ensure(_is_uint64(self.new_size), "new size is not a uint64", raising=ConsistencyProofError)
        _check_path(self.consistency_path, ConsistencyProofError)


class MerkleLog:
    """An append-only RFC 9162 log held in memory.

    Stores the level hashes of every complete perfect subtree (see the module
    docstring), so ``root(size)``, ``inclusion_proof`` and
    ``consistency_proof`` cost O(log n) hashes for any historical size.
    Leaf bodies are not kept: callers store them (the audit store does).
    """

    __slots__ = ("_levels",)

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for leaf in leaves:
            self.append(leaf)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def append(self, leaf: bytes) -> int:
        """Append a leaf body; return its 0-based index."""
        ensure(type(leaf) is bytes, "a leaf must be bytes", raising=LocalProtocolError)
        return self.append_leaf_hash(leaf_hash(leaf))

    def append_leaf_hash(self, hashed_leaf: bytes) -> int:
        """Append an already hashed leaf (``SHA-256(0x00 || leaf)``)."""
        ensure(
            type(hashed_leaf) is bytes and len(hashed_leaf) == HASH_SIZE,
            "a leaf hash must be 32 bytes",
            raising=LocalProtocolError,
        )
        levels = self._levels
        levels[0].append(hashed_leaf)
        level = 0
        while len(levels[level]) % 2 == 0:
            if level + 1 == len(levels):
                levels.append([])
            levels[level + 1].append(node_hash(levels[level][-2], levels[level][-1]))
            level += 1
        return len(levels[0]) - 1

    def leaf_hash(self, index: int) -> bytes:
        self._check_size(index + 1, "leaf index beyond the log")
        return self._levels[0][index]

    def root(self, size: int | None = None) -> bytes:
        """``MTH(D[0:size])``; the current root when ``size`` is None."""
        size = self.size if size is None else size
        self._check_size(size, "size beyond the log")
        if size == 0:
            return EMPTY_ROOT
        return self._right_border(size)[-1]

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """``PATH(index, D[size])``; the current size when ``size`` is None."""
        size = self.size if size is None else size
        self._check_size(size, "size beyond the log")
        ensure(
            type(index) is int and 0 <= index < size,
            "leaf index beyond the tree size",
            raising=LocalProtocolError,
        )
        border = self._right_border(size)
        path: list[bytes] = []
        node, last, level = index, size - 1, 0
        while last > 0:
            sibling = node ^ 1
            if sibling < last:
                path.append(self._levels[level][sibling])
            elif sibling == last:
                path.append(border[level])
            # else: ``node`` is the last node and is carried up with no sibling.
            node, last, level = node >> 1, last >> 1, level + 1
        return InclusionProof(leaf_index=index, tree_size=size, audit_path=tuple(path))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        """``PROOF(old_size, D[new_size])``; the current size when ``new_size``
        is None.  Refuses ``old_size == 0`` (the size-0 rule)."""
        new_size = self.size if new_size is None else new_size
        self._check_size(new_size, "size beyond the log")
        ensure(
            type(old_size) is int and 0 <= old_size <= new_size,
            "old size beyond the new size",
            raising=LocalProtocolError,
        )
        ensure(
            old_size > 0,
            "no consistency proof from an empty tree (size-0 rule)",
            raising=LocalProtocolError,
        )
        path: list[bytes] = []
        self._subproof(old_size, 0, new_size, True, path)
        return ConsistencyProof(old_size=old_size, new_size=new_size, consistency_path=tuple(path))

    # -- internals -----------------------------------------------------------

    def _check_size(self, size: int, message: str) -> None:
        ensure(type(size) is int and 0 <= size <= self.size, message, raising=LocalProtocolError)

    def _right_border(self, size: int) -> list[bytes]:
        """``r[k]``: the hash of the last node at each level of the tree of
        ``size >= 1`` leaves; ``r[-1]`` is the root."""
        levels = self._levels
        border = [levels[0][size - 1]]
        last, level = size - 1, 0
        while last > 0:
            if last & 1:
                border.append(node_hash(levels[level][last - 1], border[level]))
            else:
                border.append(border[level])
            last, level = last >> 1, level + 1
        return border

    def _range_hash(self, low: int, high: int) -> bytes:
        """``MTH(D[low:high])`` for a perfect subtree or a right border
        (``low`` aligned to a power of two >= ``high - low``): the greedy
        split into stored perfect subtrees has decreasing sizes, and the RFC
        tree over it nests them to the right."""
        parts: list[bytes] = []
        while low < high:
            level = (high - low).bit_length() - 1
            if low:
                level = min(level, (low & -low).bit_length() - 1)
            parts.append(self._levels[level][low >> level])
            low += 1 << level
        accumulator = parts[-1]
        for part in reversed(parts[:-1]):
            accumulator = node_hash(part, accumulator)
        return accumulator

    def _subproof(self, m: int, low: int, high: int, complete: bool, out: list[bytes]) -> None:
        """RFC 9162 2.1.4.1 ``SUBPROOF(m, D[low:high], complete)``, appended to ``out``."""
        n = high - low
        if m == n:
            if not complete:
                out.append(self._range_hash(low, high))
            return
        split = 1 << ((n - 1).bit_length() - 1)  # largest power of two < n
        if m <= split:
            self._subproof(m, low, low + split, complete, out)
            out.append(self._range_hash(low + split, high))
        else:
            self._subproof(m - split, low + split, high, False, out)
            out.append(self._range_hash(low, low + split))


def root(leaves: Sequence[bytes]) -> bytes:
    """``MTH(D[n])`` over leaf bodies (the empty-tree hash for no leaves)."""
    return MerkleLog(leaves).root()


def inclusion_proof(leaves: Sequence[bytes], index: int) -> InclusionProof:
    """The inclusion proof of ``leaves[index]`` in the tree of all ``leaves``."""
    return MerkleLog(leaves).inclusion_proof(index)


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> ConsistencyProof:
    """The consistency proof from the first ``old_size`` leaves to all of
    ``leaves``.  ``old_size == 0`` raises (the size-0 rule)."""
    return MerkleLog(leaves).consistency_proof(old_size)


def _same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def _check_root(root: object, what: str, raising: type[MerkleProofError]) -> None:
    ensure(
        type(root) is bytes and len(root) == HASH_SIZE,
        f"{what} is not a {HASH_SIZE}-byte hash",
        raising=raising,
    )


def _check_size_binding(
    claimed: int | None, proven: int, what: str, raising: type[MerkleProofError]
) -> None:
    if claimed is not None:
        ensure(
            claimed == proven,
            f"proof is for {what} {proven}, the checkpoint says {claimed}",
            raising=raising,
        )


def verify_inclusion(
    *, leaf_hash: bytes, proof: InclusionProof, root: bytes, tree_size: int | None = None
) -> None:
    """Check that ``leaf_hash`` sits at ``proof.leaf_index`` in the tree of
    ``proof.tree_size`` leaves whose root is ``root`` (RFC 9162 2.1.3.2).

    Returns ``None``; raises :class:`InclusionProofError` with the reason.
    ``root`` and ``proof.tree_size`` must come from a trusted (signed)
    checkpoint: the proof does not bind the size.  Pass the checkpoint's
    size as ``tree_size`` and it is checked against the proof's.
    """
    _check_size_binding(tree_size, proof.tree_size, "tree size", InclusionProofError)
    _check_root(root, "root", InclusionProofError)
    ensure(
        type(leaf_hash) is bytes and len(leaf_hash) == HASH_SIZE,
        "leaf hash is not 32 bytes",
        raising=InclusionProofError,
    )
    ensure(type(root) is bytes, "root must be bytes", raising=InclusionProofError)
    # 1. leaf_index must be below tree_size.
    ensure(proof.leaf_index < proof.tree_size, "index beyond size", raising=InclusionProofError)
    # 2.-3.
    fn, sn = proof.leaf_index, proof.tree_size - 1
    r = leaf_hash
    # 4.
    for p in proof.audit_path:
        ensure(sn != 0, "proof too long", raising=InclusionProofError)  # 4a
        if fn & 1 or fn == sn:  # 4b
            r = node_hash(p, r)
            while fn and not fn & 1:  # 4b ii
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1  # 4c
    # 5.
    ensure(sn == 0, "proof too short", raising=InclusionProofError)
    ensure(_same(r, root), "root mismatch", raising=InclusionProofError)


def verify_consistency(
    *,
    proof: ConsistencyProof,
    old_root: bytes,
    new_root: bytes,
    old_size: int | None = None,
    new_size: int | None = None,
) -> None:
    """Check that the tree of ``proof.old_size`` leaves with root ``old_root``
    is a prefix of the tree of ``proof.new_size`` leaves with root
    ``new_root`` (RFC 9162 2.1.4.2).

    Returns ``None``; raises :class:`ConsistencyProofError` with the reason.
    Sizes equal: the proof must be empty and the roots equal.  Old size 0:
    always rejected (the size-0 rule, module docstring).  Both roots must be
    32-byte hashes.

    Like an inclusion proof, a consistency proof does not bind the sizes it
    claims: the RFC 9162 algorithm shifts the two sizes without looking at
    the hashes, so a proof for ``(1, 3)`` also verifies as ``(1, 4)`` (both
    have two elements and the same hashing pattern).  The sizes must come
    from the two signed checkpoints: pass them as ``old_size`` and
    ``new_size`` and they are checked against the proof's.
    """
    _check_size_binding(old_size, proof.old_size, "old size", ConsistencyProofError)
    _check_size_binding(new_size, proof.new_size, "new size", ConsistencyProofError)
    _check_root(old_root, "old root", ConsistencyProofError)
    _check_root(new_root, "new root", ConsistencyProofError)
    first, second, path = proof.old_size, proof.new_size, proof.consistency_path
    ensure(first <= second, "old size beyond new size", raising=ConsistencyProofError)
    ensure(first != 0, "consistency from an empty tree", raising=ConsistencyProofError)
    if first == second:
        ensure(not path, "proof too long", raising=ConsistencyProofError)
        ensure(_same(old_root, new_root), "root mismatch", raising=ConsistencyProofError)
        return
    # 1.
    ensure(path, "empty proof", raising=ConsistencyProofError)
    # 2.
    if first & (first - 1) == 0:
        path = (old_root, *path)
    # 3.
    fn, sn = first - 1, second - 1
    # 4.
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        ensure(sn != 0, "proof too long", raising=ConsistencyProofError)
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    # 7.
    ensure(sn == 0, "proof too short", raising=ConsistencyProofError)
    ensure(_same(fr, old_root), "old root mismatch", raising=ConsistencyProofError)
    ensure(_same(sr, new_root), "new root mismatch", raising=ConsistencyProofError)
