"""Admission state machine: fresh quote admitted; replayed, stale, foreign, bad refused."""

from __future__ import annotations

import os
import struct

from cryptography.hazmat.primitives.asymmetric import ec

from tests.attest.test_quote import PCRS, make_attest, sign
from vigilnet.attest import Admission, Policy
from vigilnet.attest._quote import TPM_ALG_SHA256


def _node() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    return ec.generate_private_key(ec.SECP256R1()), struct.pack(">H", TPM_ALG_SHA256) + os.urandom(
        32
    )


def test_fresh_quote_admits_and_replay_is_refused() -> None:
    adm = Admission(Policy(PCRS, max_age=5))
    key, name = _node()
    nonce = adm.challenge("n1", os.urandom(32), now=0)
    attest = make_attest(nonce, name, PCRS)
    sig = sign(key, attest)
    v = adm.answer("n1", nonce, attest, sig, key.public_key(), name, now=1)
    assert v.admitted and v.reason == ""
    assert adm.admitted == {"n1"}
    again = adm.answer("n1", nonce, attest, sig, key.public_key(), name, now=2)
    assert not again.admitted and "no outstanding" in again.reason


def test_stale_foreign_and_bad_quotes_refused() -> None:
    adm = Admission(Policy(PCRS, max_age=5))
    key, name = _node()
    n1 = adm.challenge("n1", os.urandom(32), now=0)
    a1 = make_attest(n1, name, PCRS)
    stale = adm.answer("n1", n1, a1, sign(key, a1), key.public_key(), name, now=6)
    assert not stale.admitted and "stale" in stale.reason
    n2 = adm.challenge("n2", os.urandom(32), now=0)
    a2 = make_attest(n2, name, PCRS)
    foreign = adm.answer("n1", n2, a2, sign(key, a2), key.public_key(), name, now=1)
    assert not foreign.admitted and "another node" in foreign.reason
    n3 = adm.challenge("n1", os.urandom(32), now=0)
    bad_pcrs = dict(PCRS)
    bad_pcrs[(TPM_ALG_SHA256, 0)] = b"\1" * 32
    a3 = make_attest(n3, name, bad_pcrs)
    bad = adm.answer("n1", n3, a3, sign(key, a3), key.public_key(), name, now=1)
    assert not bad.admitted and "PCR digest" in bad.reason
    assert adm.admitted == set()
