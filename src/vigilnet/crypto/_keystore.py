"""Where signing keys live: the KeyStore interface and two stores.

* :class:`MemoryKeyStore`: a dict, for tests and the simulator;
* :class:`FileKeyStore`: one file per key in a directory, the secret
  encrypted at rest;
* :class:`~vigilnet.crypto.TpmKeyStore` (``_tpmkeystore.py``): the seed sealed
  to a TPM 2.0, optionally to PCR values.

The file format (JSON, UTF-8, one object)::

    {"format": "vigilnet-key/v1",
     "name": "<key name>",
     "public_key": "<64 hex>",
     "kdf": {"alg": "argon2id13", "opslimit": int, "memlimit": int, "salt": "<32 hex>"},
     "nonce": "<48 hex>",
     "ciphertext": "<hex>"}

The secret box key is Argon2id (libsodium ``crypto_pwhash``, version 1.3)
of the passphrase and the salt; the box (XSalsa20-Poly1305, PyNaCl's
``SecretBox``) seals ``name || 0x00 || public_key || seed``, so a file whose
name or public key was edited, moved to another name, or sealed under
another passphrase fails to open with :class:`KeyStoreError` naming the file.
The KDF parameters are read from the file but bounded (``opslimit`` 1..10,
``memlimit`` 8 KiB..1 GiB), so a hostile file cannot make opening it cost
more than the strongest setting we write.

Writes are atomic: the new file is written under a temporary name created
with mode 0600 (never readable by others, not even briefly), flushed and
fsynced, renamed over the old one, and the directory fsynced, so a crash
leaves either the old key or the new one, never half a file.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import nacl.exceptions
import nacl.pwhash
import nacl.secret

from vigilnet.crypto._keys import PUBLIC_KEY_BYTES, SEED_BYTES, SigningKey, VerifyKey
from vigilnet.errors import CryptoError

__all__ = [
    "DEFAULT_KDF",
    "FAST_KDF_FOR_TESTS",
    "FileKeyStore",
    "KdfParams",
    "KeyStore",
    "KeyStoreError",
    "MemoryKeyStore",
]

_FORMAT = "vigilnet-key/v1"
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}\Z")
_MAX_FILE = 1 << 16
_OPS_RANGE = (1, 10)
_MEM_RANGE = (8 << 10, 1 << 30)


class KeyStoreError(CryptoError, ValueError):
    """A key that cannot be stored or loaded (names the key and why)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KdfParams:
    """Argon2id cost parameters (libsodium's units: passes and bytes)."""

    opslimit: int
    memlimit: int

    def __post_init__(self) -> None:
        if not (_OPS_RANGE[0] <= self.opslimit <= _OPS_RANGE[1]) or not (
            _MEM_RANGE[0] <= self.memlimit <= _MEM_RANGE[1]
        ):
            raise KeyStoreError(
                f"argon2id parameters out of range: opslimit {self.opslimit} "
                f"(allowed {_OPS_RANGE}), memlimit {self.memlimit} (allowed {_MEM_RANGE})"
            )


#: libsodium's "moderate" setting (3 passes, 256 MiB): about a second here.
DEFAULT_KDF = KdfParams(opslimit=3, memlimit=256 << 20)
#: The cheapest setting allowed: only for tests, never for real keys.
FAST_KDF_FOR_TESTS = KdfParams(opslimit=1, memlimit=8 << 10)


class KeyStore(Protocol):
    """The interface every key store offers."""

    def put(self, name: str, key: SigningKey) -> None: ...

    def get(self, name: str) -> SigningKey: ...

    def public_key(self, name: str) -> VerifyKey: ...

    def names(self) -> tuple[str, ...]: ...

    def delete(self, name: str) -> None: ...


def _check_name(name: object) -> str:
    if not isinstance(name, str) or _NAME.match(name) is None:
        raise KeyStoreError(f"key name {name!r} must match [a-z0-9][a-z0-9-]{{0,63}}")
    return name


@dataclass(slots=True)
class MemoryKeyStore:
    """Keys in memory (lost with the process)."""

    _keys: dict[str, SigningKey] = field(default_factory=dict)

    def put(self, name: str, key: SigningKey) -> None:
        if not isinstance(key, SigningKey):
            raise KeyStoreError(f"not a SigningKey: {type(key).__name__}")
        self._keys[_check_name(name)] = key

    def get(self, name: str) -> SigningKey:
        try:
            return self._keys[_check_name(name)]
        except KeyError:
            raise KeyStoreError(f"no key {name!r}") from None

    def public_key(self, name: str) -> VerifyKey:
        return self.get(name).verify_key

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys))

    def delete(self, name: str) -> None:
        self.get(name)
        del self._keys[name]


def _plaintext(name: str, key: SigningKey) -> bytes:
    return name.encode("ascii") + b"\x00" + key.verify_key.key + key.seed


@dataclass(slots=True)
class FileKeyStore:
    """Keys in ``directory/<name>.key``, encrypted under ``passphrase``."""

    directory: Path
    passphrase: bytes = field(repr=False)
    kdf: KdfParams = DEFAULT_KDF

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        if not isinstance(self.passphrase, bytes) or len(self.passphrase) < 8:
            raise KeyStoreError("the passphrase must be at least 8 bytes")
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        return self.directory / f"{_check_name(name)}.key"

    def _box(self, salt: bytes, kdf: KdfParams) -> nacl.secret.SecretBox:
        key = nacl.pwhash.argon2id.kdf(
            nacl.secret.SecretBox.KEY_SIZE,
            self.passphrase,
            salt,
            opslimit=kdf.opslimit,
            memlimit=kdf.memlimit,
        )
        return nacl.secret.SecretBox(key)

    def put(self, name: str, key: SigningKey) -> None:
        if not isinstance(key, SigningKey):
            raise KeyStoreError(f"not a SigningKey: {type(key).__name__}")
        path = self._path(name)
        salt = secrets.token_bytes(nacl.pwhash.argon2id.SALTBYTES)
        nonce = secrets.token_bytes(nacl.secret.SecretBox.NONCE_SIZE)
        sealed = self._box(salt, self.kdf).encrypt(_plaintext(name, key), nonce)
        document = {
            "format": _FORMAT,
            "name": name,
            "public_key": key.verify_key.key.hex(),
            "kdf": {
                "alg": "argon2id13",
                "opslimit": self.kdf.opslimit,
                "memlimit": self.kdf.memlimit,
                "salt": salt.hex(),
            },
            "nonce": nonce.hex(),
            "ciphertext": sealed.ciphertext.hex(),
        }
        _atomic_write(path, (json.dumps(document, indent=1) + "\n").encode("utf-8"))

    def _read(self, name: str) -> dict[str, Any]:
        path = self._path(name)
        try:
            with open(path, "rb") as handle:
                raw = handle.read(_MAX_FILE + 1)
        except FileNotFoundError:
            raise KeyStoreError(f"no key {name!r} in {self.directory}") from None
        except OSError as exc:
            raise KeyStoreError(f"{path}: cannot read: {exc.strerror}") from None
        if len(raw) > _MAX_FILE:
            raise KeyStoreError(f"{path}: larger than a key file can be")
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise KeyStoreError(f"{path}: not a key file (not JSON)") from None
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise KeyStoreError(f"{path}: not a {_FORMAT} file")
        return document

    def _field_bytes(
        self, path: Path, document: dict[str, Any], key: str, size: int | None
    ) -> bytes:
        value = document.get(key)
        try:
            data = bytes.fromhex(value) if isinstance(value, str) else None
        except ValueError:
            data = None
        if data is None or (size is not None and len(data) != size):
            raise KeyStoreError(f"{path}: field {key!r} malformed")
        return data

    def get(self, name: str) -> SigningKey:
        path = self._path(name)
        document = self._read(name)
        kdf_doc = document.get("kdf")
        if not isinstance(kdf_doc, dict) or kdf_doc.get("alg") != "argon2id13":
            raise KeyStoreError(f"{path}: unknown key derivation")
        ops, mem = kdf_doc.get("opslimit"), kdf_doc.get("memlimit")
        if type(ops) is not int or type(mem) is not int:
            raise KeyStoreError(f"{path}: key derivation parameters malformed")
        kdf = KdfParams(opslimit=ops, memlimit=mem)
        salt = self._field_bytes(path, kdf_doc, "salt", nacl.pwhash.argon2id.SALTBYTES)
        nonce = self._field_bytes(path, document, "nonce", nacl.secret.SecretBox.NONCE_SIZE)
        public = self._field_bytes(path, document, "public_key", PUBLIC_KEY_BYTES)
        ciphertext = self._field_bytes(path, document, "ciphertext", None)
        try:
            plaintext = self._box(salt, kdf).decrypt(ciphertext, nonce)
        except nacl.exceptions.CryptoError:
            raise KeyStoreError(
                f"{path}: cannot open (wrong passphrase, or the file was altered)"
            ) from None
        expected_prefix = name.encode("ascii") + b"\x00" + public
        if (
            len(plaintext) != len(expected_prefix) + SEED_BYTES
            or plaintext[: len(expected_prefix)] != expected_prefix
            or document.get("name") != name
        ):
            raise KeyStoreError(f"{path}: sealed for another name or key")
        key = SigningKey(plaintext[len(expected_prefix) :])
        if key.verify_key.key != public:  # pragma: no cover - sealed together
            raise KeyStoreError(f"{path}: seed does not match its public key")
        return key

    def public_key(self, name: str) -> VerifyKey:
        path = self._path(name)
        return VerifyKey(self._field_bytes(path, self._read(name), "public_key", PUBLIC_KEY_BYTES))

    def names(self) -> tuple[str, ...]:
        return tuple(
            sorted(
                p.name[: -len(".key")]
                for p in self.directory.iterdir()
                if p.name.endswith(".key") and _NAME.match(p.name[: -len(".key")])
            )
        )

    def delete(self, name: str) -> None:
        path = self._path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise KeyStoreError(f"no key {name!r} in {self.directory}") from None
        _fsync_directory(self.directory)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``path`` atomically with mode 0600 (see the module docstring)."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
