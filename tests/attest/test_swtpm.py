"""Quotes from a real software TPM (swtpm + tpm2-tools) through the verifier.

Without swtpm or tpm2-tools the tests skip with the reason, except under
``VIGILNET_REQUIRE_SWTPM=1``, where they fail instead.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from tests.attest.swtpm import SwTpm, require_tools
from vigilnet.attest import QuoteError, qualified_name, verify_quote
from vigilnet.attest._quote import TPM_ALG_SHA256

PCR_LIST = (0, 1, 7)
AK_HANDLE = "0x81010001"


@pytest.fixture
def tpm(tmp_path: Path) -> Iterator[dict[str, str]]:
    require_tools()
    instance = SwTpm(tmp_path / "tpm").start()
    try:
        yield dict(os.environ, TPM2TOOLS_TCTI=instance.tcti)
    finally:
        instance.stop()


def _run(env: dict[str, str], cwd: Path, *args: str) -> None:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, timeout=30, check=False)
    if done.returncode != 0:
        pytest.fail(f"{args[0]} failed: {done.stderr.decode(errors='replace')}")


def _ak(env: dict[str, str], d: Path) -> tuple[ec.EllipticCurvePublicKey, bytes]:
    _run(
        env, d, "tpm2_createprimary", "-Q", "-C", "o", "-G", "ecc256:ecdsa-sha256:null",
        "-a", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign",
        "-c", "ak.ctx",
    )  # fmt: skip
    _run(env, d, "tpm2_evictcontrol", "-Q", "-C", "o", "-c", "ak.ctx", AK_HANDLE)
    _run(env, d, "tpm2_readpublic", "-Q", "-c", AK_HANDLE,
         "-f", "pem", "-o", "ak.pem", "-n", "ak.name")  # fmt: skip
    key = load_pem_public_key((d / "ak.pem").read_bytes())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key, qualified_name((d / "ak.name").read_bytes())


def _quote(env: dict[str, str], d: Path, nonce: bytes) -> tuple[bytes, bytes]:
    sel = "sha256:" + ",".join(map(str, PCR_LIST))
    _run(env, d, "tpm2_quote", "-Q", "-c", AK_HANDLE, "-l", sel, "-q", nonce.hex(),
         "-m", "q.msg", "-s", "q.sig", "-g", "sha256")  # fmt: skip
    return (d / "q.msg").read_bytes(), (d / "q.sig").read_bytes()


def _pcrs(env: dict[str, str], d: Path) -> dict[tuple[int, int], bytes]:
    _run(env, d, "tpm2_pcrread", "-Q", "sha256:" + ",".join(map(str, PCR_LIST)), "-o", "pcrs.bin")
    raw = (d / "pcrs.bin").read_bytes()
    return {(TPM_ALG_SHA256, p): raw[32 * k : 32 * k + 32] for k, p in enumerate(PCR_LIST)}


def test_swtpm_quote_verifies_and_bad_variants_refused(tpm: dict[str, str], tmp_path: Path) -> None:
    key, qn = _ak(tpm, tmp_path)
    pcrs = _pcrs(tpm, tmp_path)
    nonce = os.urandom(32)
    attest, sig = _quote(tpm, tmp_path, nonce)
    info = verify_quote(attest, sig, key, nonce=nonce, expected_pcrs=pcrs, ak_name=qn)
    assert info.extra_data == nonce
    with pytest.raises(QuoteError, match="nonce"):
        verify_quote(attest, sig, key, nonce=os.urandom(32), expected_pcrs=pcrs, ak_name=qn)
    tampered = bytearray(attest)
    tampered[-1] ^= 1
    with pytest.raises(QuoteError, match="signature"):
        verify_quote(bytes(tampered), sig, key, nonce=nonce, expected_pcrs=pcrs, ak_name=qn)
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(QuoteError, match="signature"):
        verify_quote(attest, sig, other, nonce=nonce, expected_pcrs=pcrs, ak_name=qn)
    # Extend PCR 7 in the TPM: a fresh quote no longer matches the old values.
    _run(tpm, tmp_path, "tpm2_pcrextend", "7:sha256=" + hashlib.sha256(b"evil").hexdigest())
    nonce2 = os.urandom(32)
    attest2, sig2 = _quote(tpm, tmp_path, nonce2)
    with pytest.raises(QuoteError, match="PCR digest"):
        verify_quote(attest2, sig2, key, nonce=nonce2, expected_pcrs=pcrs, ak_name=qn)
    verify_quote(attest2, sig2, key, nonce=nonce2, expected_pcrs=_pcrs(tpm, tmp_path), ak_name=qn)
