"""The transport's attestation gate with software-signed quotes (no TPM
needed): an admitted peer's frames pass, a refused, malformed or missing
quote keeps every frame out, counted with its reason, and the verdict is on
the audit log.  The swtpm-backed cluster is ``tests/attest/test_cluster.py``."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.attest.test_quote import make_attest, sign
from vigilnet.attest import qualified_name
from vigilnet.attest._quote import TPM_ALG_SHA256
from vigilnet.crypto import SigningKey
from vigilnet.runtime._admit import Gate, decode_quote, encode_quote
from vigilnet.runtime._frames import Frame, FrameType
from vigilnet.runtime._transport import Peer, Transport, make_certificate
from vigilnet.store import AuditLog, EntryKind

PCR_VALUES = {i: hashlib.sha256(b"pcr %d" % i).digest() for i in (0, 7)}
PCRS = {(TPM_ALG_SHA256, i): v for i, v in PCR_VALUES.items()}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class SoftProver:
    """Quotes like a TPM would, with a software AK (``pcrs``: what it claims)."""

    key: ec.EllipticCurvePrivateKey
    qn: bytes
    pcrs: dict[tuple[int, int], bytes]
    malformed: bool = False
    #: seconds the first quote takes (a TPM on a loaded machine)
    first_delay: float = 0.0
    calls: int = 0

    async def quote(self, nonce: bytes) -> bytes:
        self.calls += 1
        if self.calls == 1 and self.first_delay:
            await asyncio.sleep(self.first_delay)
        if self.malformed:
            return b"\xa1\x61x\x01"
        attest = make_attest(nonce, self.qn, self.pcrs)
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return encode_quote(attest, sign(self.key, attest), der, self.qn)


def _scenario(
    tmp_path: Path, prover: SoftProver | None, quote_timeout: float | None = None
) -> tuple[Gate, Transport, list[Frame], AuditLog]:
    a_key, b_key = SigningKey.generate(), SigningKey.generate()
    ak = ec.generate_private_key(ec.SECP256R1())
    qn = qualified_name(struct.pack(">H", TPM_ALG_SHA256) + os.urandom(32))
    (tmp_path / "b-ak.pem").write_bytes(ak.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))  # fmt: skip
    audit = AuditLog(tmp_path / "audit.db", "vigilnet/a", a_key, create=True)
    section = {"pcrs": {str(i): v.hex() for i, v in PCR_VALUES.items()}, "max_age_s": 5,
               "peers": {"b": {"ak": "b-ak.pem", "ak_name": qn.hex()}}}  # fmt: skip
    if quote_timeout is not None:
        section["quote_timeout_s"] = quote_timeout
    members = (a_key.verify_key, b_key.verify_key)
    gate_a = Gate("a", section, tmp_path, {"b": b_key.verify_key}, members, audit)
    gate_b = Gate("b", {}, tmp_path, {"a": a_key.verify_key}, members, audit)
    if prover is not None:
        prover.key, prover.qn = ak, qn
        gate_b.prover = prover  # type: ignore[assignment]
    ports = {"a": _port(), "b": _port()}
    got: list[Frame] = []
    a = Transport("a", a_key, ("127.0.0.1", ports["a"]),
                  {"b": Peer("b", "127.0.0.1", ports["b"], make_certificate(b_key, "b")[0])},
                  lambda p, f: got.append(f), gate=gate_a)  # fmt: skip
    b = Transport("b", b_key, ("127.0.0.1", ports["b"]),
                  {"a": Peer("a", "127.0.0.1", ports["a"], make_certificate(a_key, "a")[0])},
                  lambda p, f: None, gate=gate_b)  # fmt: skip

    async def run() -> None:
        await a.start()
        await b.start()
        try:
            for i in range(40):
                b.send("a", FrameType.PING, bytes([i % 256]))
                await asyncio.sleep(0.05)
        finally:
            await b.stop()
            await a.stop()

    asyncio.run(asyncio.wait_for(run(), 20))
    return gate_a, a, got, audit


def _attestations(audit: AuditLog) -> list[tuple[bool, str]]:
    out = []
    for i in range(audit.size):
        assert audit.entry(i).kind is EntryKind.ATTESTATION
        body = audit.body(i)
        assert isinstance(body, dict)
        out.append((body["admitted"], body["reason"]))
    return out  # type: ignore[return-value]


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def test_admitted_peer_frames_pass(tmp_path: Path) -> None:
    gate, a, got, audit = _scenario(tmp_path, SoftProver(_key(), b"", PCRS))
    assert got and all(f.type is FrameType.PING for f in got)
    assert gate.registry.nodes() == ("b",)
    assert _attestations(audit)[0] == (True, "")
    assert a.rejected["not_admitted"] == 0 and a.rejected["attestation_refused"] == 0


def test_changed_pcr_refused_nothing_passes(tmp_path: Path) -> None:
    bad = dict(PCRS)
    bad[(TPM_ALG_SHA256, 7)] = hashlib.sha256(b"other software").digest()
    gate, a, got, audit = _scenario(tmp_path, SoftProver(_key(), b"", bad))
    assert got == []
    assert a.rejected["attestation_refused"] >= 1
    assert gate.registry.nodes() == ()
    verdicts = _attestations(audit)
    assert verdicts and all(not ok and "PCR digest" in why for ok, why in verdicts)


def test_peer_without_tpm_frames_dropped_as_not_admitted(tmp_path: Path) -> None:
    gate, a, got, audit = _scenario(tmp_path, None)
    assert got == []
    assert a.rejected["not_admitted"] >= 10
    assert gate.registry.nodes() == () and audit.size == 0


def test_peer_without_tpm_is_cut_off_after_the_quote_timeout(tmp_path: Path) -> None:
    """No quote within ``quote_timeout_s``: the connection ends, counted, and
    the redials are challenged afresh (at most one per timeout), none admitted."""
    gate, a, got, audit = _scenario(tmp_path, None, quote_timeout=0.4)
    assert got == []
    assert 2 <= a.rejected["attestation_timeout"] <= 6  # 2 s of frames, 0.4 s each
    assert gate.registry.nodes() == () and audit.size == 0
    assert (
        gate.admission is not None and len(gate.admission._pending) <= 1
    )  # timed-out nonces forgotten


def test_prover_that_misses_its_challenge_is_admitted_on_redial(tmp_path: Path) -> None:
    """The first quote comes after the verifier's timeout (a TPM on a loaded
    machine): that connection ends, the redial is challenged again and the
    second quote admits the peer, whose later frames then pass."""
    prover = SoftProver(_key(), b"", PCRS, first_delay=0.6)
    gate, a, got, audit = _scenario(tmp_path, prover, quote_timeout=0.3)
    assert a.rejected["attestation_timeout"] == 1
    assert prover.calls >= 2
    assert gate.registry.nodes() == ("b",)
    assert got and all(f.type is FrameType.PING for f in got)
    assert (True, "") in _attestations(audit)


def test_malformed_quote_frame_refused(tmp_path: Path) -> None:
    gate, a, got, audit = _scenario(tmp_path, SoftProver(_key(), b"", PCRS, malformed=True))
    assert got == [] and a.rejected["bad_attestation"] >= 1
    assert gate.registry.nodes() == () and audit.size == 0


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x00",
        encode_quote(b"a", b"s", b"not der", b"n"),
        encode_quote(b"a" * 2000, b"s", b"k", b"n"),
    ],
)
def test_decode_quote_refuses_bad_frames(payload: bytes) -> None:
    from vigilnet.errors import RemoteProtocolError

    with pytest.raises(RemoteProtocolError):
        decode_quote(payload)
