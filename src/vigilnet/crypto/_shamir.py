"""k-of-n secret sharing (Shamir 1979) over GF(2^8), with dealer-signed shares.

Theory of operation
===================

A secret of ``L`` bytes is split byte by byte: for each byte ``s`` the
dealer draws a random polynomial ``p(x) = s + a1 x + ... + a(k-1) x^(k-1)``
over GF(2^8) (the AES field, modulus ``x^8 + x^4 + x^3 + x + 1``) and gives
share ``i`` (``x = i`` in ``1..n``) the value ``p(i)``.  Any ``k`` shares
determine ``p`` and so ``p(0) = s`` by Lagrange interpolation; any ``k - 1``
shares are uniformly distributed whatever the secret (for every value of
``s`` there is exactly one polynomial through them), so they reveal nothing.

**Integrity.**  Each share carries the set's random 16-byte ``set_id``,
``threshold``, ``total``, its ``x`` and ``y``, and a *tag*: the dealer's
Ed25519 signature over ``sign_bytes("vigilnet/crypto/shamir-share/v1",
fields)``.  :func:`recover` checks every tag under the dealer's public key
before any arithmetic, so a corrupted share, a share of another split (a
different ``set_id``), a share of another dealer, a duplicate ``x`` or
mismatched parameters is refused with :class:`ShareError` naming the share.
With more than ``k`` shares, every extra share must lie on the interpolated
polynomial (a consistency check; a dealer's own inconsistent shares are
refused).  The tag is a signature, not a hash of the secret: a hash would
let ``k - 1`` shares (or anyone) test guesses of a low-entropy secret.

A recovered *signing key* is further checked against the public key it must
have (:func:`recover_signing_key`).

**Constant time.**  Field multiplication is the shift-and-add loop with
masks (no secret-indexed table, no branch on a secret); inversion is a fixed
square-and-multiply chain (``a^254``).  Interpolation weights depend only on
the public ``x`` values.  Python integers give no hard timing guarantee
(CPython's small-int arithmetic is not documented as constant time); what
this code avoids is the classic leak, secret-dependent table lookups and
branches.  The C kernels' valgrind method checks the same algorithm in C.

Randomness comes from the operating system (``os.urandom``) unless a
``random`` callable is passed (the vectors use a seeded one).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vigilnet.crypto._keys import SEED_BYTES, SigningKey, VerifyKey
from vigilnet.encoding import register_tag, sign_bytes
from vigilnet.errors import BadSignatureError, CryptoError, LocalProtocolError, ensure

__all__ = [
    "SET_ID_BYTES",
    "SHARE_TAG",
    "Share",
    "ShareError",
    "gf_inverse",
    "gf_mul",
    "recover",
    "recover_signing_key",
    "split",
    "split_signing_key",
]

SET_ID_BYTES = 16
MAX_SECRET_BYTES = 1 << 16


class ShareError(CryptoError, ValueError):
    """A share or a set of shares that must not be used for recovery."""


def gf_mul(a: int, b: int) -> int:
    """``a * b`` in GF(2^8) (AES modulus), without tables or secret branches."""
    product = 0
    for _ in range(8):
        product ^= -(b & 1) & a
        a = ((a << 1) ^ (-(a >> 7) & 0x11B)) & 0xFF
        b >>= 1
    return product & 0xFF


def gf_inverse(a: int) -> int:
    """``a^-1`` in GF(2^8) as ``a^254`` (a fixed chain); ``0`` maps to ``0``."""
    # 254 = 0b11111110: square-and-multiply with a fixed sequence.
    result = 1
    power = a
    for bit in (0, 1, 1, 1, 1, 1, 1, 1):
        if bit:  # the exponent is public: this branch does not depend on a
            result = gf_mul(result, power)
        power = gf_mul(power, power)
    return result


SHARE_TAG = register_tag("crypto", "shamir-share", 1, {"set_id", "threshold", "total", "x", "y"})


def _share_sign_bytes(set_id: bytes, threshold: int, total: int, x: int, y: bytes) -> bytes:
    return sign_bytes(
        SHARE_TAG, {"set_id": set_id, "threshold": threshold, "total": total, "x": x, "y": y}
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Share:
    """One share: the set it belongs to, its point, and the dealer's tag."""

    set_id: bytes
    threshold: int
    total: int
    x: int
    y: bytes
    tag: bytes

    def __post_init__(self) -> None:
        def bad(what: str) -> ShareError:
            return ShareError(f"malformed share: {what}")

        if type(self.set_id) is not bytes or len(self.set_id) != SET_ID_BYTES:
            raise bad(f"set_id must be {SET_ID_BYTES} bytes")
        for name in ("threshold", "total", "x"):
            value = getattr(self, name)
            if type(value) is not int or not 1 <= value <= 255:
                raise bad(f"{name} must be an int in 1..255")
        if not self.threshold <= self.total or not self.x <= self.total:
            raise bad("need threshold <= total and x <= total")
        if type(self.y) is not bytes or not 1 <= len(self.y) <= MAX_SECRET_BYTES:
            raise bad(f"y must be 1..{MAX_SECRET_BYTES} bytes")
        if type(self.tag) is not bytes or len(self.tag) != 64:
            raise bad("tag must be a 64-byte signature")

    def __repr__(self) -> str:
        return (
            f"Share(set_id={self.set_id.hex()}, threshold={self.threshold}, "
            f"total={self.total}, x={self.x}, y=<{len(self.y)} bytes>)"
        )

    def to_json(self) -> dict[str, object]:
        """The JSON form (share files, the shamir_shares vectors)."""
        return {
            "setId": self.set_id.hex(),
            "threshold": self.threshold,
            "total": self.total,
            "x": self.x,
            "y": self.y.hex(),
            "tag": self.tag.hex(),
        }

    @classmethod
    def from_json(cls, data: object) -> Share:
        """Read :meth:`to_json`'s form; anything else is a :class:`ShareError`."""
        names = {"setId", "threshold", "total", "x", "y", "tag"}
        if not isinstance(data, dict) or set(data) != names:
            raise ShareError(f"malformed share: a JSON object with exactly {sorted(names)}")
        try:
            raw = {k: bytes.fromhex(data[k]) for k in ("setId", "y", "tag")}
        except (TypeError, ValueError):
            raise ShareError("malformed share: setId, y and tag must be hex") from None
        return cls(
            set_id=raw["setId"],
            threshold=data["threshold"],
            total=data["total"],
            x=data["x"],
            y=raw["y"],
            tag=raw["tag"],
        )

    def sign_bytes(self) -> bytes:
        """What the dealer's tag signs."""
        return _share_sign_bytes(self.set_id, self.threshold, self.total, self.x, self.y)

    def check(self, dealer: VerifyKey) -> None:
        """Raise :class:`ShareError` unless the dealer signed this share."""
        try:
            dealer.verify(self.sign_bytes(), self.tag)
        except BadSignatureError:
            raise ShareError(
                f"share x={self.x} of set {self.set_id.hex()} is not signed by the dealer "
                "(corrupted, or from another split or dealer)"
            ) from None


def _evaluate(coefficients: Sequence[int], x: int) -> int:
    """Horner's rule; ``coefficients[0]`` is the constant term."""
    acc = 0
    for c in reversed(coefficients):
        acc = gf_mul(acc, x) ^ c
    return acc


def split(
    secret: bytes,
    threshold: int,
    total: int,
    dealer: SigningKey,
    random: Callable[[int], bytes] = os.urandom,
) -> tuple[Share, ...]:
    """Split ``secret`` into ``total`` shares, any ``threshold`` of which recover it."""
    ensure(type(secret) is bytes and 1 <= len(secret) <= MAX_SECRET_BYTES,
           f"secret must be 1..{MAX_SECRET_BYTES} bytes", LocalProtocolError)  # fmt: skip
    ensure(
        type(threshold) is int and type(total) is int and 1 <= threshold <= total <= 255,
        f"need 1 <= threshold <= total <= 255, got {threshold} of {total}",
        LocalProtocolError,
    )
    set_id = random(SET_ID_BYTES)
    ensure(len(set_id) == SET_ID_BYTES, "random returned too few bytes", LocalProtocolError)
    degree = threshold - 1
    pad = random(len(secret) * degree)
    ensure(len(pad) == len(secret) * degree, "random returned too few bytes", LocalProtocolError)
    ys = [bytearray(len(secret)) for _ in range(total)]
    for i, s in enumerate(secret):
        coefficients = [s, *pad[i * degree : (i + 1) * degree]]
        for j in range(total):
            ys[j][i] = _evaluate(coefficients, j + 1)
    return tuple(
        Share(
            set_id=set_id,
            threshold=threshold,
            total=total,
            x=j + 1,
            y=bytes(ys[j]),
            tag=dealer.sign(_share_sign_bytes(set_id, threshold, total, j + 1, bytes(ys[j]))),
        )
        for j in range(total)
    )


def _interpolate_at(points: Sequence[tuple[int, bytes]], at: int) -> bytes:
    """The polynomial through ``points`` evaluated at ``at`` (byte by byte):
    Lagrange weights ``w_i = prod_{j != i} (x_j - at) / (x_j - x_i)``, which
    depend on the public ``x`` values only."""
    xs = [x for x, _ in points]
    weights = []
    for i, xi in enumerate(xs):
        numerator, denominator = 1, 1
        for j, xj in enumerate(xs):
            if j != i:
                numerator = gf_mul(numerator, xj ^ at)
                denominator = gf_mul(denominator, xj ^ xi)
        weights.append(gf_mul(numerator, gf_inverse(denominator)))
    length = len(points[0][1])
    out = bytearray(length)
    for (_, y), w in zip(points, weights, strict=True):
        for b in range(length):
            out[b] ^= gf_mul(y[b], w)
    return bytes(out)


def recover(shares: Sequence[Share], dealer: VerifyKey) -> bytes:
    """The secret from at least ``threshold`` shares of one split by ``dealer``.

    Every share's tag is checked first; then the set (one ``set_id``, the same
    parameters and length, distinct ``x``, enough shares); extra shares must
    agree with the first ``threshold``.  Anything else raises :class:`ShareError`.
    """
    if not shares:
        raise ShareError("no shares")
    for share in shares:
        if not isinstance(share, Share):
            raise ShareError(f"not a share: {type(share).__name__}")
        share.check(dealer)
    first = shares[0]
    for share in shares[1:]:
        if share.set_id != first.set_id:
            raise ShareError(
                f"share x={share.x} belongs to set {share.set_id.hex()}, not {first.set_id.hex()}"
            )
        if (share.threshold, share.total, len(share.y)) != (
            first.threshold,
            first.total,
            len(first.y),
        ):
            raise ShareError(f"share x={share.x} has other parameters than the set")
    xs = [s.x for s in shares]
    if len(set(xs)) != len(xs):
        raise ShareError(f"duplicate share points {sorted(xs)}")
    if len(shares) < first.threshold:
        raise ShareError(f"{len(shares)} shares, {first.threshold} needed")
    ordered = sorted(shares, key=lambda s: s.x)
    basis = [(s.x, s.y) for s in ordered[: first.threshold]]
    for extra in ordered[first.threshold :]:
        if _interpolate_at(basis, extra.x) != extra.y:
            raise ShareError(f"share x={extra.x} is inconsistent with the others")
    return _interpolate_at(basis, 0)


def split_signing_key(
    key: SigningKey,
    threshold: int,
    total: int,
    random: Callable[[int], bytes] = os.urandom,
) -> tuple[Share, ...]:
    """Split a signing key's seed; the key itself is the dealer (its public
    key is what every holder and the registry already know)."""
    return split(key.seed, threshold, total, key, random)


def recover_signing_key(shares: Sequence[Share], public_key: VerifyKey) -> SigningKey:
    """Recover a key split by :func:`split_signing_key`, and check that it is
    the key of ``public_key``."""
    seed = recover(shares, public_key)
    if len(seed) != SEED_BYTES:
        raise ShareError(f"recovered {len(seed)} bytes, a seed has {SEED_BYTES}")
    key = SigningKey(seed)
    if key.verify_key != public_key:  # pragma: no cover - the dealer's tags make this unreachable
        raise ShareError("recovered key does not match its public key")
    return key
