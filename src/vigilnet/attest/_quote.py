"""Parse and verify TPM 2.0 quotes (TPMS_ATTEST + TPMT_SIGNATURE).

Theory of operation: the byte layouts follow TPM 2.0 Library Part 2
(big-endian).  A :class:`_Reader` hands out fields and raises
:class:`QuoteError` on any read past the end, so a truncated or oversized
length field is an error, never an exception of another kind.  The PCR
digest is SHA-256 over the selected PCR values concatenated in selection
order (banks in list order, PCR indices ascending within a bank).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from vigilnet.errors import RemoteProtocolError

TPM_GENERATED_VALUE = 0xFF544347
TPM_ST_ATTEST_QUOTE = 0x8018
TPM_ALG_SHA256 = 0x000B
TPM_ALG_ECDSA = 0x0018
_MAX_PCR_BANKS = 16
_MAX_SELECT = 8


class QuoteError(RemoteProtocolError):
    """A quote is malformed or does not verify."""


@dataclass(frozen=True)
class QuoteInfo:
    """The fields of a parsed ``TPMS_ATTEST`` quote."""

    qualified_signer: bytes
    extra_data: bytes
    clock: int
    reset_count: int
    restart_count: int
    safe: bool
    firmware_version: int
    pcr_selection: tuple[tuple[int, tuple[int, ...]], ...]
    pcr_digest: bytes


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self._pos + n > len(self._data):
            raise QuoteError(f"truncated: need {n} bytes at offset {self._pos}")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def tpm2b(self) -> bytes:
        return self.take(self.uint(2))

    def done(self) -> None:
        if self._pos != len(self._data):
            raise QuoteError(f"{len(self._data) - self._pos} trailing bytes")


def parse_attest(data: bytes) -> QuoteInfo:
    """Parse a ``TPMS_ATTEST`` of type quote; raise :class:`QuoteError`."""
    r = _Reader(data)
    if r.uint(4) != TPM_GENERATED_VALUE:
        raise QuoteError("magic is not TPM_GENERATED_VALUE")
    if r.uint(2) != TPM_ST_ATTEST_QUOTE:
        raise QuoteError("type is not TPM_ST_ATTEST_QUOTE")
    signer = r.tpm2b()
    extra = r.tpm2b()
    clock, reset, restart, safe = r.uint(8), r.uint(4), r.uint(4), r.uint(1)
    if safe > 1:
        raise QuoteError("clockInfo.safe is not a TPMI_YES_NO")
    firmware = r.uint(8)
    count = r.uint(4)
    if count > _MAX_PCR_BANKS:
        raise QuoteError(f"{count} PCR banks (at most {_MAX_PCR_BANKS})")
    selection = []
    for _ in range(count):
        alg = r.uint(2)
        size = r.uint(1)
        if size > _MAX_SELECT:
            raise QuoteError(f"sizeofSelect {size} (at most {_MAX_SELECT})")
        bits = r.take(size)
        pcrs = tuple(8 * i + b for i, byte in enumerate(bits) for b in range(8) if byte >> b & 1)
        selection.append((alg, pcrs))
    digest = r.tpm2b()
    r.done()
    return QuoteInfo(
        signer, extra, clock, reset, restart, bool(safe), firmware, tuple(selection), digest
    )


def parse_signature(data: bytes) -> tuple[int, int]:
    """Parse an ECDSA/SHA-256 ``TPMT_SIGNATURE`` into ``(r, s)``."""
    rd = _Reader(data)
    if rd.uint(2) != TPM_ALG_ECDSA:
        raise QuoteError("signature algorithm is not ECDSA")
    if rd.uint(2) != TPM_ALG_SHA256:
        raise QuoteError("signature hash is not SHA-256")
    r = int.from_bytes(rd.tpm2b(), "big")
    s = int.from_bytes(rd.tpm2b(), "big")
    rd.done()
    if r == 0 or s == 0:
        raise QuoteError("ECDSA r or s is zero")
    return r, s


def pcr_digest(
    selection: tuple[tuple[int, tuple[int, ...]], ...], values: dict[tuple[int, int], bytes]
) -> bytes:
    """SHA-256 over the selected PCR values in selection order."""
    h = hashlib.sha256()
    for alg, pcrs in selection:
        for pcr in pcrs:
            if (alg, pcr) not in values:
                raise QuoteError(f"no expected value for PCR {pcr} of bank {alg:#06x}")
            h.update(values[(alg, pcr)])
    return h.digest()


TPM_RH_OWNER = 0x40000001


def qualified_name(name: bytes, parent_qualified: bytes = TPM_RH_OWNER.to_bytes(4, "big")) -> bytes:
    """A key's qualified name: nameAlg || SHA-256(parent QN || name).

    ``qualifiedSigner`` in a quote is this, not the key's name; a primary
    key's parent QN is its hierarchy handle (owner by default).
    """
    if len(name) != 34 or name[:2] != TPM_ALG_SHA256.to_bytes(2, "big"):
        raise QuoteError("key name is not a SHA-256 TPM name")
    return name[:2] + hashlib.sha256(parent_qualified + name).digest()


def verify_quote(
    attest: bytes,
    signature: bytes,
    key: ec.EllipticCurvePublicKey,
    *,
    nonce: bytes,
    expected_pcrs: dict[tuple[int, int], bytes],
    ak_name: bytes | None = None,
) -> QuoteInfo:
    """Verify a quote; return its fields or raise :class:`QuoteError`.

    ``ak_name``, when given, is the attestation key's qualified name
    (:func:`qualified_name`), compared with ``qualifiedSigner``.
    """
    info = parse_attest(attest)
    if not hmac.compare_digest(info.extra_data, nonce):
        raise QuoteError("extraData is not the verifier's nonce")
    if ak_name is not None and not hmac.compare_digest(info.qualified_signer, ak_name):
        raise QuoteError("qualifiedSigner is not the attestation key's name")
    if not isinstance(key.curve, ec.SECP256R1):
        raise QuoteError("attestation key is not P-256")
    r, s = parse_signature(signature)
    try:
        key.verify(encode_dss_signature(r, s), attest, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise QuoteError("quote signature does not verify") from None
    if not hmac.compare_digest(info.pcr_digest, pcr_digest(info.pcr_selection, expected_pcrs)):
        raise QuoteError("PCR digest does not match the expected PCR values")
    return info
