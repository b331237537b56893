"""Ed25519 keys over PyNaCl (libsodium), with one pinned validation rule.

Theory of operation
===================

1. **One validation rule.**  A signature ``(R, S)`` on message ``M`` under
   public key ``A`` is accepted exactly when libsodium's
   ``crypto_sign_ed25519_verify_detached`` accepts it (reached through
   ``crypto_sign_open``, the only verify entry point PyNaCl binds; it calls
   the same function).  That function

   a. rejects ``S`` unless ``S < L`` (canonical scalar, RFC 8032 5.1.7);
   b. rejects ``R`` when its encoding is one of the small-order points
      (including their non-canonical encodings, sign bit ignored);
   c. rejects ``A`` when its y-coordinate is not canonical (``y >= p``),
      when it is a small-order point, or when it does not decode to a curve
      point;
   d. computes ``R' = [S]B - [k]A`` with ``k = SHA-512(R || A || M) mod L``
      hashed over the bytes *as received*, and accepts iff the canonical
      encoding of ``R'`` equals the 32 bytes of ``R``: the **cofactorless**
      equation, so a non-canonical ``R`` never matches and an ``A`` or ``R``
      with a small-order component verifies only when that component
      cancels exactly.

   Every verdict in vigilnet comes from this rule: there is no second
   verifier.  ``tests/crypto/`` pins it against Wycheproof, RFC 8032 and
   every CCTV edge case, so a change in libsodium's behaviour fails a test.

2. **Keys are values.**  :class:`VerifyKey` holds exactly 32 bytes and checks
   only type and length on construction (a malformed key raises
   :class:`~vigilnet.errors.InvalidKeyError`); whether those bytes are a
   usable point is part of rule 1, so a small-order or non-canonical key
   constructs but never verifies anything.  :class:`SigningKey` holds the
   32-byte RFC 8032 seed and never shows it in its ``repr``.

3. **Key ids** are ``SHA-256(KEY_ID_TAG || A)``, all 32 bytes, where
   ``KEY_ID_TAG`` is ``b"vigilnet-key-id/ed25519/v1\\x00"``.  The tag keeps
   the hashed bytes apart from everything else vigilnet hashes or signs:
   Merkle leaves and nodes start with 0x00 or 0x01, and sign-bytes tags
   start with ``vigilnet/`` (see :mod:`vigilnet.encoding`), which this tag
   does not.  The full width keeps ids collision-resistant even when an
   adversary chooses its keys.

4. **Sign bytes.**  Protocol messages are signed with :func:`sign_message`
   and checked with :func:`verify_message` (in :mod:`vigilnet.crypto._messages`),
   which sign ``vigilnet.encoding.sign_bytes(tag, fields)``, that is
   ``tag || canonical_cbor(fields)``.  :meth:`SigningKey.sign` and
   :meth:`VerifyKey.verify` work on raw bytes and are the core both use.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

import nacl.bindings
import nacl.exceptions

from vigilnet.errors import BadSignatureError, InvalidKeyError

__all__ = [
    "KEY_ID_TAG",
    "PUBLIC_KEY_BYTES",
    "SEED_BYTES",
    "SIGNATURE_BYTES",
    "SigningKey",
    "VerifyKey",
    "key_id",
    "verify_signature",
]

SEED_BYTES = 32
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
KEY_ID_TAG = b"vigilnet-key-id/ed25519/v1\x00"


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """The pinned rule (theory of operation, rule 1) as a predicate.

    Returns ``False`` for anything that is not a 32-byte key and a 64-byte
    signature, and for every signature libsodium rejects.  This is the one
    function through which every vigilnet verdict passes.
    """
    if (
        type(public_key) is not bytes
        or type(message) is not bytes
        or type(signature) is not bytes
        or len(public_key) != PUBLIC_KEY_BYTES
        or len(signature) != SIGNATURE_BYTES
    ):
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def _require_bytes(value: object, length: int, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidKeyError(f"{what} must be bytes, not {type(value).__name__}")
    raw = bytes(value)
    if len(raw) != length:
        raise InvalidKeyError(f"{what} must be {length} bytes, got {len(raw)}")
    return raw


@dataclass(frozen=True, slots=True)
class VerifyKey:
    """An Ed25519 public key: exactly 32 bytes (RFC 8032 encoding of ``A``).

    Construction checks type and length only; see the module docstring,
    rule 2.
    """

    key: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", _require_bytes(self.key, PUBLIC_KEY_BYTES, "verify key"))

    def __repr__(self) -> str:
        return f"VerifyKey(bytes.fromhex({self.key.hex()!r}))"

    def __bytes__(self) -> bytes:
        return self.key

    @property
    def key_id(self) -> bytes:
        """``key_id(self)``: the 32-byte domain-separated id of this key."""
        return key_id(self)

    def verify(self, message: bytes, signature: bytes) -> None:
        """Return if ``signature`` is valid on ``message`` under the pinned
        rule; raise :class:`~vigilnet.errors.BadSignatureError` otherwise
        (also for a signature that is not 64 bytes)."""
        if type(message) is not bytes or type(signature) is not bytes:
            raise TypeError("message and signature must be bytes")
        if len(signature) != SIGNATURE_BYTES:
            raise BadSignatureError(
                f"signature must be {SIGNATURE_BYTES} bytes, got {len(signature)}"
            )
        if not verify_signature(self.key, message, signature):
            raise BadSignatureError(f"bad signature under key {self.key.hex()[:16]}...")


@dataclass(frozen=True, slots=True, eq=False)
class SigningKey:
    """An Ed25519 signing key, held as its 32-byte RFC 8032 seed.

    Equality compares seeds in constant time; the hash and the ``repr`` use
    only the public key, never the seed.
    """

    seed: bytes = field(repr=False)
    verify_key: VerifyKey = field(init=False)
    _secret: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        seed = _require_bytes(self.seed, SEED_BYTES, "seed")
        public, secret = nacl.bindings.crypto_sign_seed_keypair(seed)
        object.__setattr__(self, "seed", seed)
        object.__setattr__(self, "verify_key", VerifyKey(public))
        object.__setattr__(self, "_secret", secret)

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key from the operating system's CSPRNG."""
        return cls(os.urandom(SEED_BYTES))

    def __repr__(self) -> str:
        return f"SigningKey(<secret seed>, verify_key={self.verify_key!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SigningKey):
            return NotImplemented
        return hmac.compare_digest(self.seed, other.seed)

    def __hash__(self) -> int:
        return hash((SigningKey, self.verify_key.key))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("SigningKey is not picklable: persist keys through a KeyStore")

    def sign(self, message: bytes) -> bytes:
        """The 64-byte detached signature ``R || S`` of ``message`` (RFC 8032,
        deterministic)."""
        if not isinstance(message, bytes):
            raise TypeError(f"message must be bytes, not {type(message).__name__}")
        signed: bytes = nacl.bindings.crypto_sign(message, self._secret)
        return signed[:SIGNATURE_BYTES]


def key_id(verify_key: VerifyKey | bytes) -> bytes:
    """``SHA-256(KEY_ID_TAG || public_key)``: 32 bytes naming a key.

    Accepts a :class:`VerifyKey` or its 32 raw bytes (a malformed key raises
    :class:`~vigilnet.errors.InvalidKeyError`).
    """
    key = verify_key.key if isinstance(verify_key, VerifyKey) else VerifyKey(verify_key).key
    return hashlib.sha256(KEY_ID_TAG + key).digest()
