"""Ed25519 signatures for vigilnet, over PyNaCl (libsodium).

One validation rule (libsodium's ``crypto_sign_ed25519_verify_detached``),
domain-separated key ids, and :func:`verify_many` for batches; k-of-n sharing of keys over GF(2^8)
(:func:`split_signing_key`, :func:`recover_signing_key`); key stores
(:class:`MemoryKeyStore`, :class:`FileKeyStore` encrypted at rest);
operational keys that rotate under hub cosignatures, revocation and the
registry of which key was valid at an epoch (:class:`KeyRegistry`).  The rule,
key ids, sign bytes and batch semantics are documented in ``docs/crypto.md``
and in :mod:`vigilnet.crypto._keys`.
"""

from vigilnet.crypto._batch import (
    DEFAULT_CACHE_ENTRIES,
    DEFAULT_PARALLEL_THRESHOLD,
    BatchVerifier,
    CacheInfo,
    SignatureItem,
    default_verifier,
    verify_many,
)
from vigilnet.crypto._keys import (
    KEY_ID_TAG,
    PUBLIC_KEY_BYTES,
    SEED_BYTES,
    SIGNATURE_BYTES,
    SigningKey,
    VerifyKey,
    key_id,
    verify_signature,
)
from vigilnet.crypto._keystore import (
    DEFAULT_KDF,
    FAST_KDF_FOR_TESTS,
    FileKeyStore,
    KdfParams,
    KeyStore,
    KeyStoreError,
    MemoryKeyStore,
)
from vigilnet.crypto._lifecycle import (
    DEFAULT_VALIDITY_EPOCHS,
    KEY_CERTIFICATE_TAG,
    KEY_COSIGN_TAG,
    KEY_REVOCATION_TAG,
    KeyCertificate,
    KeyLifecycleError,
    KeyPolicy,
    KeyRegistry,
    Revocation,
    cosign,
)
from vigilnet.crypto._messages import sign_message, verify_message
from vigilnet.crypto._shamir import (
    Share,
    ShareError,
    recover,
    recover_signing_key,
    split,
    split_signing_key,
)
from vigilnet.crypto._tpmkeystore import TpmKeyStore

__all__ = [
    "DEFAULT_CACHE_ENTRIES",
    "DEFAULT_KDF",
    "DEFAULT_PARALLEL_THRESHOLD",
    "DEFAULT_VALIDITY_EPOCHS",
    "FAST_KDF_FOR_TESTS",
    "KEY_CERTIFICATE_TAG",
    "KEY_COSIGN_TAG",
    "KEY_ID_TAG",
    "KEY_REVOCATION_TAG",
    "PUBLIC_KEY_BYTES",
    "SEED_BYTES",
    "SIGNATURE_BYTES",
    "BatchVerifier",
    "CacheInfo",
    "FileKeyStore",
    "KdfParams",
    "KeyCertificate",
    "KeyLifecycleError",
    "KeyPolicy",
    "KeyRegistry",
    "KeyStore",
    "KeyStoreError",
    "MemoryKeyStore",
    "Revocation",
    "Share",
    "ShareError",
    "SignatureItem",
    "SigningKey",
    "TpmKeyStore",
    "VerifyKey",
    "cosign",
    "default_verifier",
    "key_id",
    "recover",
    "recover_signing_key",
    "sign_message",
    "split",
    "split_signing_key",
    "verify_many",
    "verify_message",
    "verify_signature",
]
