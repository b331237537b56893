"""Admission of peers on TPM quotes in the runtime (issue 16).

Theory of operation
-------------------
A node's configuration may hold an ``attestation`` section (the runbook and
``docs/attestation.md``)::

    "attestation": {
      "pcrs": {"0": "<hex>", "1": "<hex>", "7": "<hex>"},   # policy: SHA-256 bank
      "max_age_s": 10,
      "peers": {"hub-1": {"ak": "../hub-1/ak.pem", "ak_name": "<hex>"}, ...},
      "tcti": "swtpm:host=127.0.0.1,port=2321",             # this node's TPM
      "ak_handle": "0x81010001"
    }

``pcrs``/``peers`` make the node a *verifier*; ``tcti``/``ak_handle`` a
*prover*.  Either may be absent (a node without ``tcti`` has no TPM and
cannot answer a challenge).

1. **Accepting side.**  After the TLS handshake and the identity check
   (:mod:`._transport`), and before any protocol frame, a verifier sends an
   ``ATTEST_CHALLENGE`` frame with a 32-byte nonce from the CSPRNG
   (:meth:`Admission.challenge`, the clock in whole monotonic seconds).
   Until an ``ATTEST_QUOTE`` frame on that connection is admitted, every
   other frame from it is dropped and counted (``not_admitted``).  The quote
   is judged by :func:`vigilnet.attest.enrol` against the policy, the AK
   pinned for that peer and the peer's TLS-pinned Ed25519 identity: the
   verdict goes to the node's audit log (an ``attestation`` entry), an
   admitted peer's identity into the node's :class:`KeyRegistry`.  A
   refused quote is counted (``attestation_refused``) and ends the
   connection; a malformed one too (``bad_attestation``).  Admission is per
   connection: a redial is challenged afresh.  A connection with no admitted
   quote :data:`QUOTE_TIMEOUT_S` after its challenge (``quote_timeout_s`` in
   the section) is ended and counted (``attestation_timeout``): a prover
   that missed its challenge on a loaded machine redials and is challenged
   again, instead of having its frames dropped on that connection forever,
   and a peer without a TPM redials at most once per timeout.
2. **Dialling side.**  A prover waits up to :data:`CHALLENGE_WAIT_S` for a
   challenge on the connection it dialled, quotes the nonce with its TPM
   (``tpm2_quote`` through tpm2-tools, one quote at a time per node) and
   sends the quote before any queued frame.  A peer that sends no
   challenge (no policy) gets the queued frames after the wait.
3. The quote frame is canonical CBOR ``{"attest", "signature", "ak",
   "ak_name"}`` (``ak``: the AK's DER SubjectPublicKeyInfo), every field a
   byte string of bounded size; anything else is ``bad_attestation``.

Quote generation shells out to tpm2-tools rather than binding libtss2
(``tpm2-pytss`` is not installed here; see ``docs/attestation.md``);
missing tools raise :class:`~vigilnet.errors.UnavailableError`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vigilnet.attest import Admission, Policy, enrol
from vigilnet.attest._quote import TPM_ALG_SHA256
from vigilnet.crypto import KeyPolicy, KeyRegistry, VerifyKey
from vigilnet.encoding import MalformedEncoding, decode, encode
from vigilnet.errors import LocalProtocolError, RemoteProtocolError, UnavailableError, ensure
from vigilnet.store import AuditLog

log = logging.getLogger("vigilnet.runtime.admit")

CHALLENGE_WAIT_S = 5.0
QUOTE_TIMEOUT_S = 10.0
NONCE_BYTES = 32
_FIELDS = {"attest": 1024, "signature": 256, "ak": 512, "ak_name": 64}
_TOOLS = ("tpm2_quote", "tpm2_readpublic")


def encode_quote(attest: bytes, signature: bytes, ak: bytes, ak_name: bytes) -> bytes:
    return encode({"attest": attest, "signature": signature, "ak": ak, "ak_name": ak_name})


def decode_quote(payload: bytes) -> tuple[bytes, bytes, ec.EllipticCurvePublicKey, bytes]:
    """``(attest, signature, AK, AK name)`` of a quote frame, or
    :class:`RemoteProtocolError`."""
    try:
        value = decode(payload, max_size=4096)
    except MalformedEncoding as error:
        raise RemoteProtocolError(f"quote frame is not canonical CBOR: {error}") from None
    if not isinstance(value, dict) or set(value) != set(_FIELDS):
        raise RemoteProtocolError(f"quote frame needs exactly the fields {sorted(_FIELDS)}")
    fields: dict[str, bytes] = {}
    for name, limit in _FIELDS.items():
        item = value[name]
        if not isinstance(item, bytes) or not 0 < len(item) <= limit:
            raise RemoteProtocolError(f"quote field {name!r} is not 1..{limit} bytes")
        fields[name] = item
    try:
        key = serialization.load_der_public_key(fields["ak"])
    except ValueError as error:
        raise RemoteProtocolError(f"unreadable attestation key: {error}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise RemoteProtocolError("attestation key is not an EC key")
    return fields["attest"], fields["signature"], key, fields["ak_name"]


def load_ak(pem: bytes) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key(pem)
    ensure(isinstance(key, ec.EllipticCurvePublicKey), "attestation key is not an EC key",
           raising=LocalProtocolError)  # fmt: skip
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def _tools_env(tcti: str) -> dict[str, str]:
    missing = [t for t in _TOOLS if shutil.which(t) is None]
    if missing:
        raise UnavailableError(f"no TPM access: tpm2-tools missing ({', '.join(missing)})")
    return dict(os.environ, TPM2TOOLS_TCTI=tcti)


def _run(env: dict[str, str], cwd: str, *args: str) -> None:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, timeout=20, check=False)
    if done.returncode != 0:
        raise UnavailableError(f"{args[0]} failed: {done.stderr.decode(errors='replace')[-300:]}")


@dataclass
class Prover:
    """This node's TPM: quotes a nonce over the policy's PCR selection."""

    tcti: str
    ak_handle: str
    pcrs: tuple[int, ...]
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _ak: tuple[bytes, bytes] | None = None

    def _quote_sync(self, nonce: bytes) -> bytes:
        env = _tools_env(self.tcti)
        with tempfile.TemporaryDirectory() as d:
            if self._ak is None:
                _run(env, d, "tpm2_readpublic", "-Q", "-c", self.ak_handle,
                     "-f", "der", "-o", "ak.der", "-n", "ak.name")  # fmt: skip
                from vigilnet.attest import qualified_name

                name = qualified_name(Path(d, "ak.name").read_bytes())
                self._ak = (Path(d, "ak.der").read_bytes(), name)
            sel = "sha256:" + ",".join(map(str, self.pcrs))
            _run(env, d, "tpm2_quote", "-Q", "-c", self.ak_handle, "-l", sel, "-q", nonce.hex(),
                 "-m", "q.msg", "-s", "q.sig", "-g", "sha256")  # fmt: skip
            attest, sig = Path(d, "q.msg").read_bytes(), Path(d, "q.sig").read_bytes()
        return encode_quote(attest, sig, *self._ak)

    async def quote(self, nonce: bytes) -> bytes:
        async with self._lock:
            return await asyncio.to_thread(self._quote_sync, nonce)


class Gate:
    """One node's admission of its peers (verifier) and its answers (prover)."""

    def __init__(
        self,
        name: str,
        section: Mapping[str, Any],
        base: Path,
        members: Mapping[str, VerifyKey],
        hubs: tuple[VerifyKey, ...],
        audit: AuditLog,
    ) -> None:
        self.name = name
        self.members = dict(members)
        self.audit = audit
        self.registry = KeyRegistry(KeyPolicy(hubs=hubs))
        pcrs = {int(k): bytes.fromhex(v) for k, v in dict(section.get("pcrs", {})).items()}
        self.prover: Prover | None = None
        if section.get("tcti"):
            self.prover = Prover(str(section["tcti"]), str(section.get("ak_handle", "0x81010001")),
                                 tuple(sorted(pcrs)))  # fmt: skip
        self.admission: Admission | None = None
        self.quote_timeout = float(section.get("quote_timeout_s", QUOTE_TIMEOUT_S))
        ensure(self.quote_timeout > 0, f"{name}: quote_timeout_s must be positive",
               raising=LocalProtocolError)  # fmt: skip
        if "peers" in section:
            ensure(bool(pcrs), f"{name}: attestation peers without expected pcrs",
                   raising=LocalProtocolError)  # fmt: skip
            aks = {
                peer: (load_ak((base / p["ak"]).read_bytes()), bytes.fromhex(p["ak_name"]))
                for peer, p in dict(section["peers"]).items()
            }
            policy = Policy(
                {(TPM_ALG_SHA256, i): v for i, v in pcrs.items()},
                max_age=int(section.get("max_age_s", 10)),
                aks=aks,
            )
            self.admission = Admission(policy)
        #: verdicts by peer: (admitted, reason), latest last
        self.verdicts: list[tuple[str, bool, str]] = []

    @property
    def verifying(self) -> bool:
        return self.admission is not None

    def challenge(self, peer: str) -> bytes:
        assert self.admission is not None
        return self.admission.challenge(peer, os.urandom(NONCE_BYTES), int(time.monotonic()))

    def give_up(self, nonce: bytes) -> None:
        """Forget the challenge of a connection that timed out."""
        assert self.admission is not None
        self.admission.cancel(nonce)

    def judge(self, peer: str, nonce: bytes, payload: bytes) -> tuple[bool, str]:
        """Judge one quote frame; ``(admitted, reason)``; malformed frames
        raise :class:`RemoteProtocolError` (after consuming the nonce)."""
        assert self.admission is not None
        try:
            attest, signature, key, ak_name = decode_quote(payload)
        except RemoteProtocolError:
            self.admission.cancel(nonce)
            raise
        verdict = enrol(
            self.admission, self.registry, self.audit, node=peer, identity=self.members[peer],
            nonce=nonce, attest=attest, signature=signature, key=key, ak_name=ak_name,
            now=int(time.monotonic()), time_ms=int(time.time() * 1000),
        )  # fmt: skip
        self.verdicts.append((peer, verdict.admitted, verdict.reason))
        log.info("%s: attestation of %s: %s", self.name, peer,
                 "admitted" if verdict.admitted else f"refused ({verdict.reason})")  # fmt: skip
        return verdict.admitted, verdict.reason


__all__ = [
    "CHALLENGE_WAIT_S",
    "QUOTE_TIMEOUT_S",
    "Gate",
    "Prover",
    "decode_quote",
    "encode_quote",
    "load_ak",
]
