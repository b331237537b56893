"""enrol: the verdict on the audit log first, the key in the registry only on admission."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.attest.test_quote import PCRS, make_attest, sign
from vigilnet.attest import Admission, Policy, enrol, qualified_name
from vigilnet.attest._quote import TPM_ALG_SHA256
from vigilnet.crypto import KeyPolicy, KeyRegistry, SigningKey
from vigilnet.store import AuditLog, AuditLogError, EntryKind

HUB = SigningKey(bytes(range(32)))


@pytest.fixture
def world(
    tmp_path: Path,
) -> tuple[Admission, KeyRegistry, AuditLog, ec.EllipticCurvePrivateKey, bytes]:
    ak = ec.generate_private_key(ec.SECP256R1())
    qn = qualified_name(struct.pack(">H", TPM_ALG_SHA256) + os.urandom(32))
    adm = Admission(Policy(PCRS, max_age=3, aks={"hub-1": (ak.public_key(), qn)}))
    registry = KeyRegistry(KeyPolicy(hubs=(HUB.verify_key,)))
    audit = AuditLog(tmp_path / "audit.db", "test.vigilnet/audit", HUB, create=True)
    return adm, registry, audit, ak, qn


def _answer(
    adm: Admission, ak: ec.EllipticCurvePrivateKey, qn: bytes, pcrs: dict[tuple[int, int], bytes]
) -> dict[str, object]:
    nonce = adm.challenge("hub-1", os.urandom(32), now=0)
    attest = make_attest(nonce, qn, pcrs)
    return {"nonce": nonce, "attest": attest, "signature": sign(ak, attest),
            "key": ak.public_key(), "ak_name": qn}  # fmt: skip


def _entries(audit: AuditLog) -> list[dict[str, object]]:
    out = []
    for i in range(audit.size):
        assert audit.entry(i).kind is EntryKind.ATTESTATION
        body = audit.body(i)
        assert isinstance(body, dict)
        out.append(body)
    return out


def test_admitted_is_audited_then_registered(world: tuple) -> None:  # type: ignore[type-arg]
    adm, registry, audit, ak, qn = world
    identity = SigningKey.generate().verify_key
    v = enrol(adm, registry, audit, node="hub-1", identity=identity, now=1, time_ms=5,
              **_answer(adm, ak, qn, PCRS))  # type: ignore[arg-type]  # fmt: skip
    assert v.admitted
    assert registry.nodes() == ("hub-1",) and registry.identity("hub-1") == identity
    (entry,) = _entries(audit)
    assert entry["node"] == "hub-1" and entry["admitted"] is True and entry["reason"] == ""
    assert entry["identity"] == bytes(identity)
    assert audit.verify().entries == 1
    # Re-admission under the same identity: admitted again, registry as it was.
    again = enrol(adm, registry, audit, node="hub-1", identity=identity, now=1, time_ms=6,
                  **_answer(adm, ak, qn, PCRS))  # type: ignore[arg-type]  # fmt: skip
    assert again.admitted and registry.nodes() == ("hub-1",)
    # Another identity for an enrolled node: refused and recorded.
    other = SigningKey.generate().verify_key
    third = enrol(adm, registry, audit, node="hub-1", identity=other, now=1, time_ms=7,
                  **_answer(adm, ak, qn, PCRS))  # type: ignore[arg-type]  # fmt: skip
    assert not third.admitted and "another identity" in third.reason
    assert registry.identity("hub-1") == identity
    assert [e["admitted"] for e in _entries(audit)] == [True, True, False]


def test_refused_is_audited_and_never_registered(world: tuple) -> None:  # type: ignore[type-arg]
    adm, registry, audit, ak, qn = world
    bad = dict(PCRS)
    bad[(TPM_ALG_SHA256, 1)] = b"\x01" * 32
    answer = _answer(adm, ak, qn, bad)
    v = enrol(adm, registry, audit, node="hub-1", identity=HUB.verify_key, now=1, time_ms=5,
              **answer)  # type: ignore[arg-type]  # fmt: skip
    assert not v.admitted and "PCR digest" in v.reason
    replay = enrol(adm, registry, audit, node="hub-1", identity=HUB.verify_key, now=1,
                   time_ms=6, **answer)  # type: ignore[arg-type]  # fmt: skip
    assert not replay.admitted and "no outstanding" in replay.reason
    assert registry.nodes() == ()
    entries = _entries(audit)
    assert [(e["admitted"], e["reason"]) for e in entries] == [
        (False, v.reason), (False, replay.reason)]  # fmt: skip


def test_failed_audit_append_registers_nothing(world: tuple) -> None:  # type: ignore[type-arg]
    adm, registry, audit, ak, qn = world
    with pytest.raises(AuditLogError):  # the log refuses a negative time
        enrol(adm, registry, audit, node="hub-1", identity=HUB.verify_key, now=1, time_ms=-1,
              **_answer(adm, ak, qn, PCRS))  # type: ignore[arg-type]  # fmt: skip
    assert registry.nodes() == ()
