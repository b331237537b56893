"""Ed25519 verification in pure Python (RFC 8032 section 5.1.7), pinned to
vigilnet's rule (docs/crypto.md: libsodium's canonical S, no small-order or
non-canonical A, no small-order R, cofactorless equation, R compared byte
for byte), with a switch per deviation an implementer might make."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from functools import lru_cache

__all__ = ["verify"]

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
_SQRT_M1 = pow(2, (P - 1) // 4, P)

Point = tuple[int, int, int, int]
_IDENTITY: Point = (0, 1, 1, 0)


def _add(p: Point, q: Point) -> Point:
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(k: int, p: Point) -> Point:
    result = _IDENTITY
    while k:
        if k & 1:
            result = _add(result, p)
        p = _add(p, p)
        k >>= 1
    return result


def _equal(p: Point, q: Point) -> bool:
    return (p[0] * q[2] - q[0] * p[2]) % P == 0 and (p[1] * q[2] - q[1] * p[2]) % P == 0


def _encode(p: Point) -> bytes:
    zinv = pow(p[2], P - 2, P)
    x, y = p[0] * zinv % P, p[1] * zinv % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _decode(raw: bytes, *, lenient: bool) -> Point | None:
    value = int.from_bytes(raw, "little")
    sign, y = value >> 255, value & ((1 << 255) - 1)
    if y >= P:
        if not lenient:
            return None
        y %= P
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if (v * x * x - u) % P:
        if (v * x * x + u) % P:
            return None
        x = x * _SQRT_M1 % P
    if x == 0 and sign and not lenient:
        return None
    if (x & 1) != sign:
        x = P - x
    return (x, y, 1, x * y % P)


def _point(raw: bytes) -> Point:
    decoded = _decode(raw, lenient=False)
    assert decoded is not None
    return decoded


_B = _point((4 * pow(5, P - 2, P) % P).to_bytes(32, "little"))


def _small_order(p: Point) -> bool:
    return _equal(_mul(8, p), _IDENTITY)


#: an encoding of a point of order 8
_ORDER_8 = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
_T8 = _point(_ORDER_8)

#: the canonical encodings of the eight points of small order
_CANONICAL_SMALL_ORDER = frozenset(_encode(_mul(k, _T8)) for k in range(8))


@lru_cache(maxsize=4096)
def _verify(public: bytes, message: bytes, signature: bytes, bugs: frozenset[str]) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    r_bytes, s = signature[:32], int.from_bytes(signature[32:], "little")
    if s >= L:
        if "ed25519_reduces_s" in bugs:
            s %= L
        elif "ed25519_no_s_range_check" not in bugs:
            return False
    lenient = "ed25519_noncanonical_points_as_blocklist" in bugs
    a = _decode(public, lenient=lenient)
    if a is None:
        return False
    if lenient:
        if public in _CANONICAL_SMALL_ORDER or r_bytes in _CANONICAL_SMALL_ORDER:
            return False
    else:
        if _small_order(a) and "ed25519_accepts_small_order_a" not in bugs:
            return False
        r_point = _decode(r_bytes, lenient=True)
        if (
            r_point is not None
            and _small_order(r_point)
            and "ed25519_accepts_small_order_r" not in bugs
        ):
            return False
    hashed = r_bytes + public + message
    if "ed25519_hash_omits_public_key" in bugs:
        hashed = r_bytes + message
    k = int.from_bytes(hashlib.sha512(hashed).digest(), "little") % L
    check = _add(_mul(s, _B), _mul(L - k, a))
    if "ed25519_cofactored" in bugs or lenient:
        r_point = _decode(r_bytes, lenient=lenient)
        if r_point is None:
            return False
        difference = _add(check, _neg(r_point))
        if "ed25519_cofactored" in bugs:
            return _small_order(difference)
        return _equal(difference, _IDENTITY)
    return _encode(check) == r_bytes


def _neg(p: Point) -> Point:
    return ((-p[0]) % P, p[1], p[2], (-p[3]) % P)


def verify(public: bytes, message: bytes, signature: bytes, bugs: Collection[str] = ()) -> bool:
    relevant = frozenset(b for b in bugs if b.startswith("ed25519_"))
    return _verify(public, message, signature, relevant)
