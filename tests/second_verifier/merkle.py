"""RFC 9162 Merkle log proofs and vigilnet's Merkle-sum tree (docs/merkle.md),
with a switch per verifier bug."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence

__all__ = ["log_consistency", "log_inclusion", "log_root", "sum_inclusion"]


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _leaf(leaf: bytes, bugs: Collection[str]) -> bytes:
    return _sha(leaf if "mlog_no_leaf_prefix" in bugs else b"\x00" + leaf)


def _node(left: bytes, right: bytes, bugs: Collection[str]) -> bytes:
    return _sha(left + right if "mlog_no_node_prefix" in bugs else b"\x01" + left + right)


def log_root(leaves: Sequence[bytes], bugs: Collection[str] = ()) -> bytes:
    """MTH (RFC 9162 2.1.1): split at the largest power of two below n."""
    if not leaves:
        return _sha(b"")
    if len(leaves) == 1:
        return _leaf(leaves[0], bugs)
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return _node(log_root(leaves[:k], bugs), log_root(leaves[k:], bugs), bugs)


def log_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes, bugs: Collection[str]
) -> bool:
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn = index, size - 1
    r = _leaf(leaf, bugs)
    for p in path:
        if sn == 0:
            if "mlog_ignores_extra_path" in bugs:
                break
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r, bugs)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p, bugs)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def log_consistency(
    first: int,
    second: int,
    path: Sequence[bytes],
    first_root: bytes,
    second_root: bytes,
    bugs: Collection[str],
) -> bool:
    """RFC 9162 2.1.4.2, and vigilnet's rule that a proof from size 0 is invalid."""
    if first == 0:
        return "mlog_accepts_consistency_from_empty" in bugs and not path
    if first > second:
        return False
    if first == second:
        if "mlog_equal_sizes_any_proof" in bugs:
            return True
        return not path and first_root == second_root
    path = list(path)
    if first & (first - 1) == 0:
        path = [first_root, *path]
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            if "mlog_ignores_extra_path" in bugs:
                break
            return False
        if fn & 1 or fn == sn:
            fr = _node(c, fr, bugs)
            sr = _node(c, sr, bugs)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node(sr, c, bugs)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


_COUNT, _SIGNED = "count", "signed"


def _in_range(kind: str, value: int) -> bool:
    if kind == _COUNT:
        return 0 <= value < 1 << 64
    return -(1 << 63) <= value < 1 << 63


def _wrap(kind: str, value: int) -> int:
    value %= 1 << 64
    if kind == _SIGNED and value >= 1 << 63:
        value -= 1 << 64
    return value


def _s(layout: Sequence[str], sums: Sequence[int]) -> bytes:
    return b"".join((v % (1 << 64)).to_bytes(8, "big") for v in sums)


def _descriptor(layout: Sequence[str]) -> bytes:
    return bytes([len(layout), *(0 if k == _COUNT else 1 for k in layout)])


def sum_inclusion(
    layout: Sequence[str],
    payload: bytes,
    leaf_sums: Sequence[int],
    index: int,
    size: int,
    siblings: Sequence[tuple[bytes, Sequence[int]]],
    root_size: int,
    root_hash: bytes,
    root_totals: Sequence[int],
    bugs: Collection[str],
) -> bool:
    """Recompute hashes and sums from the leaf up (RFC 9162's path shape),
    range-checking every sum."""
    d = _descriptor(layout)
    checked = "msum_no_range_check" not in bugs and "msum_sums_wrap_mod_2_64" not in bugs

    def ok(sums: Sequence[int]) -> bool:
        return len(sums) == len(layout) and (
            not checked or all(_in_range(k, v) for k, v in zip(layout, sums, strict=True))
        )

    def add(a: Sequence[int], b: Sequence[int]) -> list[int]:
        total = [x + y for x, y in zip(a, b, strict=True)]
        if "msum_sums_wrap_mod_2_64" in bugs:
            total = [_wrap(k, v) for k, v in zip(layout, total, strict=True)]
        return total

    if not ok(leaf_sums) or index >= size:
        return False
    if size != root_size and "msum_ignores_proof_size" not in bugs:
        return False
    h = _sha(b"\x02vigilnet/merkle-sum/v1/leaf" + d + _s(layout, leaf_sums) + payload)
    sums = list(leaf_sums)
    fn, sn = index, (root_size if "msum_ignores_proof_size" in bugs else size) - 1
    left: tuple[bytes, Sequence[int]]
    right: tuple[bytes, Sequence[int]]
    for sibling_hash, sibling_sums in siblings:
        if sn == 0 or not ok(sibling_sums):
            return False
        if fn & 1 or fn == sn:
            left, right = (sibling_hash, sibling_sums), (h, sums)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            left, right = (h, sums), (sibling_hash, sibling_sums)
        if "msum_sums_not_hashed" in bugs:
            h = _sha(b"\x03vigilnet/merkle-sum/v1/node" + d + left[0] + right[0])
        else:
            h = _sha(
                b"\x03vigilnet/merkle-sum/v1/node"
                + d
                + left[0]
                + _s(layout, left[1])
                + right[0]
                + _s(layout, right[1])
            )
        sums = add(left[1], right[1])
        if not ok(sums):
            return False
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return False
    totals = list(root_totals) if "msum_trusts_claimed_totals" in bugs else sums
    if totals != list(root_totals) or not ok(root_totals):
        return False
    return root_hash == _sha(
        b"\x04vigilnet/merkle-sum/v1/root"
        + d
        + root_size.to_bytes(8, "big")
        + h
        + _s(layout, totals)
    )
