"""TpmKeyStore against swtpm: the seed sealed to the TPM (and to PCR values)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.attest.swtpm import SwTpm, require_tools
from vigilnet.crypto import KeyStore, KeyStoreError, SigningKey, TpmKeyStore
from vigilnet.errors import UnavailableError


@pytest.fixture
def tpm(tmp_path: Path):  # type: ignore[no-untyped-def]
    require_tools()
    instance = SwTpm(tmp_path / "tpm").start()
    yield instance
    instance.stop()


def test_round_trip_and_interface(tpm: SwTpm, tmp_path: Path) -> None:
    store: KeyStore = TpmKeyStore(tmp_path / "keys", tpm.tcti)
    key = SigningKey.generate()
    store.put("hub-0", key)
    assert store.names() == ("hub-0",)
    assert store.public_key("hub-0") == key.verify_key
    assert store.get("hub-0").seed == key.seed
    text = (tmp_path / "keys" / "hub-0.tpmkey").read_text()
    assert key.seed.hex() not in text  # sealed, not stored
    assert (tmp_path / "keys" / "hub-0.tpmkey").stat().st_mode & 0o077 == 0
    store.delete("hub-0")
    assert store.names() == ()
    with pytest.raises(KeyStoreError, match="no key"):
        store.get("hub-0")


def test_pcr_bound_key_unseals_only_with_the_same_pcrs(tpm: SwTpm, tmp_path: Path) -> None:
    store = TpmKeyStore(tmp_path / "keys", tpm.tcti, pcrs=(0, 7))
    key = SigningKey.generate()
    store.put("hub-1", key)
    assert store.get("hub-1").seed == key.seed
    tpm.extend(7, hashlib.sha256(b"other software").digest())
    with pytest.raises(KeyStoreError, match="policy check failed"):
        store.get("hub-1")


def test_another_tpm_cannot_unseal(tpm: SwTpm, tmp_path: Path) -> None:
    TpmKeyStore(tmp_path / "keys", tpm.tcti).put("hub-2", SigningKey.generate())
    other = SwTpm(tmp_path / "other").start()
    try:
        with pytest.raises(KeyStoreError, match="hub-2"):
            TpmKeyStore(tmp_path / "keys", other.tcti).get("hub-2")
    finally:
        other.stop()


def test_edited_file_refused(tpm: SwTpm, tmp_path: Path) -> None:
    store = TpmKeyStore(tmp_path / "keys", tpm.tcti)
    store.put("hub-3", SigningKey.generate())
    path = tmp_path / "keys" / "hub-3.tpmkey"
    record = json.loads(path.read_text())
    record["public_key"] = SigningKey.generate().verify_key.key.hex()
    path.write_text(json.dumps(record))
    with pytest.raises(KeyStoreError, match="does not give the recorded key"):
        store.get("hub-3")
    record["name"] = "hub-4"
    path.write_text(json.dumps(record))
    with pytest.raises(KeyStoreError, match="not a vigilnet-tpm-key/v1 file"):
        store.get("hub-3")
    path.write_text("{}")
    with pytest.raises(KeyStoreError, match="exactly the fields"):
        store.get("hub-3")


def test_without_tools_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UnavailableError, match="tpm2-tools missing"):
        TpmKeyStore(tmp_path / "keys", "swtpm:port=1").put("hub-5", SigningKey.generate())


def test_bad_names_and_pcrs_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError):
        TpmKeyStore(tmp_path / "keys", "x", pcrs=(24,))
    with pytest.raises(KeyStoreError):
        TpmKeyStore(tmp_path / "keys", "x").get("../etc")
