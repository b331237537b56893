"""A KeyStore whose keys are sealed to a TPM 2.0 (issue 16, item 4).

Theory of operation: TPMs do not sign Ed25519, so the TPM cannot hold and
use a node's signing key itself; instead the 32-byte seed is *sealed*:
:meth:`TpmKeyStore.put` creates a TPM sealed-data object holding the seed
under the owner hierarchy's storage primary key (an ECC primary from the
default template, re-created identically on every use from the TPM's owner
seed) with attributes ``fixedtpm|fixedparent|noda``, optionally bound by a
PCR policy to the current values of ``pcrs`` (SHA-256 bank).  The object's
public and private blobs (the private one encrypted by the TPM under the
primary) go to ``directory/<name>.tpmkey`` (JSON, written atomically with
mode 0600) with the key's Ed25519 public key::

    {"format": "vigilnet-tpm-key/v1", "name": ..., "public_key": "<64 hex>",
     "pcrs": [0, 1, 7], "tpm_public": "<hex>", "tpm_private": "<hex>"}

:meth:`TpmKeyStore.get` re-creates the primary, loads the blobs and unseals
(with the PCR policy session when ``pcrs`` is not empty): only the same TPM
(same owner seed) can, and with a PCR policy only while those PCRs hold the
values they held at ``put``.  The unsealed seed must give the recorded
public key.  Every failure is a :class:`KeyStoreError` naming the key and
what the TPM said; missing tpm2-tools is
:class:`~vigilnet.errors.UnavailableError`.  The seed reaches tpm2-tools on
standard input, never a file.

What this does not protect: after ``get`` the seed is in this process's
memory (signing is in software); the blobs are useless without the TPM but
the TPM is whatever ``tcti`` names.  TPM access goes through tpm2-tools
(subprocesses, transient objects flushed after each command), not libtss2
bindings.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigilnet.crypto._keys import SigningKey, VerifyKey
from vigilnet.crypto._keystore import KeyStoreError, _atomic_write, _check_name
from vigilnet.errors import UnavailableError

__all__ = ["TpmKeyStore"]

_FORMAT = "vigilnet-tpm-key/v1"
_TOOLS = ("tpm2_createprimary", "tpm2_create", "tpm2_load", "tpm2_unseal", "tpm2_flushcontext",
          "tpm2_createpolicy")  # fmt: skip
_MAX_FILE = 1 << 16
_HEX = re.compile(r"(?:[0-9a-f]{2})+\Z")


@dataclass(slots=True)
class TpmKeyStore:
    """Keys in ``directory/<name>.tpmkey``, sealed to the TPM at ``tcti``."""

    directory: Path
    tcti: str
    pcrs: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        if not all(isinstance(p, int) and 0 <= p < 24 for p in self.pcrs):
            raise KeyStoreError("pcrs must be PCR indices 0..23")
        self.pcrs = tuple(sorted(set(self.pcrs)))
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    # -- TPM commands -----------------------------------------------------

    def _env(self) -> dict[str, str]:
        missing = [t for t in _TOOLS if shutil.which(t) is None]
        if missing:
            raise UnavailableError(f"no TPM access: tpm2-tools missing ({', '.join(missing)})")
        return dict(os.environ, TPM2TOOLS_TCTI=self.tcti)

    def _run(self, name: str, env: dict[str, str], cwd: str, *args: str,
             stdin: bytes | None = None) -> bytes:  # fmt: skip
        try:
            done = subprocess.run(args, env=env, cwd=cwd, input=stdin, capture_output=True,
                                  timeout=30, check=False)  # fmt: skip
        finally:
            for kind in ("-t", "-s"):  # no resource manager on a raw TCTI: free the slots
                subprocess.run(["tpm2_flushcontext", kind], env=env, cwd=cwd,
                               capture_output=True, timeout=30, check=False)  # fmt: skip
        if done.returncode != 0:
            said = done.stderr.decode(errors="replace").strip().splitlines()
            tpm = next((line for line in said if "tpm:" in line), said[-1] if said else "")
            raise KeyStoreError(f"key {name!r}: {args[0]} failed: {tpm[-200:]}")
        return done.stdout

    def _selection(self) -> str:
        return "sha256:" + ",".join(map(str, self.pcrs))

    # -- KeyStore ---------------------------------------------------------

    def _path(self, name: str) -> Path:
        return self.directory / f"{_check_name(name)}.tpmkey"

    def put(self, name: str, key: SigningKey) -> None:
        if not isinstance(key, SigningKey):
            raise KeyStoreError(f"not a SigningKey: {type(key).__name__}")
        path = self._path(name)
        env = self._env()
        with tempfile.TemporaryDirectory() as d:
            self._run(name, env, d, "tpm2_createprimary", "-Q", "-C", "o", "-G", "ecc",
                      "-c", "primary.ctx")  # fmt: skip
            create = ["tpm2_create", "-Q", "-C", "primary.ctx", "-i", "-",
                      "-u", "key.pub", "-r", "key.priv"]  # fmt: skip
            if self.pcrs:
                self._run(name, env, d, "tpm2_createpolicy", "-Q", "--policy-pcr",
                          "-l", self._selection(), "-L", "policy.dat")  # fmt: skip
                create += ["-L", "policy.dat", "-a", "fixedtpm|fixedparent|noda"]
            else:
                create += ["-a", "fixedtpm|fixedparent|userwithauth|noda"]
            self._run(name, env, d, *create, stdin=key.seed)
            public, private = Path(d, "key.pub").read_bytes(), Path(d, "key.priv").read_bytes()
        record = {
            "format": _FORMAT,
            "name": name,
            "public_key": key.verify_key.key.hex(),
            "pcrs": list(self.pcrs),
            "tpm_public": public.hex(),
            "tpm_private": private.hex(),
        }
        _atomic_write(path, json.dumps(record, indent=1).encode("utf-8") + b"\n")

    def _read(self, name: str) -> dict[str, Any]:
        path = self._path(name)
        try:
            with path.open("rb") as handle:
                raw = handle.read(_MAX_FILE + 1)
        except FileNotFoundError:
            raise KeyStoreError(f"no key {name!r}") from None
        except OSError as exc:
            raise KeyStoreError(f"{path}: unreadable: {exc.strerror}") from None
        if len(raw) > _MAX_FILE:
            raise KeyStoreError(f"{path}: larger than {_MAX_FILE} bytes")
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise KeyStoreError(f"{path}: not a key file: {exc}") from None
        fields = {"format", "name", "public_key", "pcrs", "tpm_public", "tpm_private"}
        if not isinstance(record, dict) or set(record) != fields:
            raise KeyStoreError(f"{path}: needs exactly the fields {sorted(fields)}")
        if record["format"] != _FORMAT or record["name"] != name:
            raise KeyStoreError(f"{path}: not a {_FORMAT} file for key {name!r}")
        for field_name in ("public_key", "tpm_public", "tpm_private"):
            value = record[field_name]
            if not isinstance(value, str) or _HEX.match(value) is None:
                raise KeyStoreError(f"{path}: {field_name} is not lowercase hex")
        if len(record["public_key"]) != 64:
            raise KeyStoreError(f"{path}: public_key is not 32 bytes")
        pcrs = record["pcrs"]
        if not (isinstance(pcrs, list) and all(type(p) is int and 0 <= p < 24 for p in pcrs)):
            raise KeyStoreError(f"{path}: pcrs is not a list of PCR indices")
        return record

    def get(self, name: str) -> SigningKey:
        record = self._read(name)
        env = self._env()
        with tempfile.TemporaryDirectory() as d:
            Path(d, "key.pub").write_bytes(bytes.fromhex(record["tpm_public"]))
            Path(d, "key.priv").write_bytes(bytes.fromhex(record["tpm_private"]))
            self._run(name, env, d, "tpm2_createprimary", "-Q", "-C", "o", "-G", "ecc",
                      "-c", "primary.ctx")  # fmt: skip
            self._run(name, env, d, "tpm2_load", "-Q", "-C", "primary.ctx", "-u", "key.pub",
                      "-r", "key.priv", "-c", "key.ctx")  # fmt: skip
            unseal = ["tpm2_unseal", "-c", "key.ctx"]
            if record["pcrs"]:
                unseal += ["-p", "pcr:sha256:" + ",".join(map(str, record["pcrs"]))]
            seed = self._run(name, env, d, *unseal)
        try:
            key = SigningKey(seed)
        except ValueError as exc:
            raise KeyStoreError(f"key {name!r}: unsealed data is not a seed: {exc}") from None
        if key.verify_key.key.hex() != record["public_key"]:
            raise KeyStoreError(f"key {name!r}: the sealed seed does not give the recorded key")
        return key

    def public_key(self, name: str) -> VerifyKey:
        return VerifyKey(bytes.fromhex(self._read(name)["public_key"]))

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(p.name[: -len(".tpmkey")] for p in self.directory.glob("*.tpmkey")))

    def delete(self, name: str) -> None:
        self._read(name)
        self._path(name).unlink()
