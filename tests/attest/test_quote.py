"""Quote verifier: quotes laid out per TPM 2.0 Part 2, signed with a software P-256 key."""

from __future__ import annotations

import hashlib
import os
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilnet.attest import QuoteError, QuoteInfo, parse_attest, verify_quote
from vigilnet.attest._quote import TPM_ALG_ECDSA, TPM_ALG_SHA256

PCRS = {(TPM_ALG_SHA256, i): hashlib.sha256(b"pcr%d" % i).digest() for i in (0, 1, 7)}


def _b(data: bytes) -> bytes:
    return struct.pack(">H", len(data)) + data


def make_attest(nonce: bytes, name: bytes, pcrs: dict[tuple[int, int], bytes]) -> bytes:
    bits = bytearray(3)
    for _, i in pcrs:
        bits[i // 8] |= 1 << (i % 8)
    digest = hashlib.sha256(b"".join(pcrs[k] for k in sorted(pcrs))).digest()
    return (
        struct.pack(">IH", 0xFF544347, 0x8018)
        + _b(name)
        + _b(nonce)
        + struct.pack(">QIIB", 1234, 1, 0, 1)
        + struct.pack(">Q", 0x2000)
        + struct.pack(">IHB", 1, TPM_ALG_SHA256, 3)
        + bytes(bits)
        + _b(digest)
    )


def sign(key: ec.EllipticCurvePrivateKey, attest: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(attest, ec.ECDSA(hashes.SHA256())))
    return (
        struct.pack(">HH", TPM_ALG_ECDSA, TPM_ALG_SHA256)
        + _b(r.to_bytes(32, "big"))
        + _b(s.to_bytes(32, "big"))
    )


@pytest.fixture
def setup() -> tuple[ec.EllipticCurvePrivateKey, bytes, bytes, bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    nonce = os.urandom(32)
    name = struct.pack(">H", TPM_ALG_SHA256) + os.urandom(32)
    attest = make_attest(nonce, name, PCRS)
    return key, nonce, name, attest, sign(key, attest)


def test_valid_quote_verifies(setup) -> None:  # type: ignore[no-untyped-def]
    key, nonce, name, attest, sig = setup
    info = verify_quote(
        attest, sig, key.public_key(), nonce=nonce, expected_pcrs=PCRS, ak_name=name
    )
    assert info.extra_data == nonce
    assert info.pcr_selection == ((TPM_ALG_SHA256, (0, 1, 7)),)


def test_wrong_nonce_refused(setup) -> None:  # type: ignore[no-untyped-def]
    key, _, _name, attest, sig = setup
    with pytest.raises(QuoteError, match="nonce"):
        verify_quote(attest, sig, key.public_key(), nonce=os.urandom(32), expected_pcrs=PCRS)


def test_changed_pcr_refused(setup) -> None:  # type: ignore[no-untyped-def]
    key, nonce, _, attest, sig = setup
    changed = dict(PCRS)
    changed[(TPM_ALG_SHA256, 7)] = hashlib.sha256(b"evil").digest()
    with pytest.raises(QuoteError, match="PCR digest"):
        verify_quote(attest, sig, key.public_key(), nonce=nonce, expected_pcrs=changed)


def test_tampered_quote_refused(setup) -> None:  # type: ignore[no-untyped-def]
    key, nonce, _, attest, sig = setup
    tampered = bytearray(attest)
    tampered[-1] ^= 1
    with pytest.raises(QuoteError, match="signature"):
        verify_quote(bytes(tampered), sig, key.public_key(), nonce=nonce, expected_pcrs=PCRS)


def test_other_key_and_wrong_name_refused(setup) -> None:  # type: ignore[no-untyped-def]
    key, nonce, name, attest, sig = setup
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(QuoteError, match="signature"):
        verify_quote(attest, sig, other, nonce=nonce, expected_pcrs=PCRS)
    with pytest.raises(QuoteError, match="name"):
        verify_quote(
            attest, sig, key.public_key(), nonce=nonce, expected_pcrs=PCRS, ak_name=name[:-1] + b"x"
        )


def test_truncations_refused(setup) -> None:  # type: ignore[no-untyped-def]
    _, _, _, attest, _ = setup
    for n in range(len(attest)):
        with pytest.raises(QuoteError):
            parse_attest(attest[:n])
    with pytest.raises(QuoteError, match="trailing"):
        parse_attest(attest + b"\0")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 150), st.integers(0, 255))
def test_fuzz_parser_only_raises_quote_error(data: bytes, pos: int, val: int) -> None:
    base = make_attest(b"n" * 32, b"\0\x0b" + b"k" * 32, PCRS)
    mutated = bytearray(base)
    mutated[pos % len(mutated)] = val
    for blob in (data, bytes(mutated), base[: pos % len(base)] + data):
        try:
            info = parse_attest(blob)
        except QuoteError:
            continue
        assert isinstance(info, QuoteInfo)
