"""Key stores: memory and encrypted files (atomic, 0600, tamper-evident)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vigilnet.crypto import (
    FAST_KDF_FOR_TESTS,
    FileKeyStore,
    KdfParams,
    KeyStoreError,
    MemoryKeyStore,
    SigningKey,
)

KEY = SigningKey(bytes(range(32)))
OTHER = SigningKey(bytes(range(2, 34)))
PASS = b"correct horse battery"


def _store(path: Path, passphrase: bytes = PASS) -> FileKeyStore:
    return FileKeyStore(path, passphrase, kdf=FAST_KDF_FOR_TESTS)


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_put_get_names_delete(tmp_path: Path, kind: str) -> None:
    store = MemoryKeyStore() if kind == "memory" else _store(tmp_path / "keys")
    store.put("hub-0", KEY)
    store.put("hub-1", OTHER)
    assert store.get("hub-0") == KEY and store.get("hub-1") == OTHER
    assert store.public_key("hub-1") == OTHER.verify_key
    assert store.names() == ("hub-0", "hub-1")
    store.put("hub-0", OTHER)  # replace
    assert store.get("hub-0") == OTHER
    store.delete("hub-0")
    assert store.names() == ("hub-1",)
    with pytest.raises(KeyStoreError, match="no key"):
        store.get("hub-0")
    with pytest.raises(KeyStoreError, match="no key"):
        store.delete("hub-0")
    for bad in ("../etc/passwd", "Hub", "", "a" * 65, 3):
        with pytest.raises(KeyStoreError, match="key name"):
            store.put(bad, KEY)  # type: ignore[arg-type]


def test_files_are_private_and_hold_no_plain_seed(tmp_path: Path) -> None:
    store = _store(tmp_path / "keys")
    store.put("hub-0", KEY)
    path = tmp_path / "keys" / "hub-0.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    raw = path.read_bytes()
    assert KEY.seed not in raw and KEY.seed.hex().encode() not in raw
    assert [p.name for p in (tmp_path / "keys").iterdir()] == ["hub-0.key"]  # no temp left


def test_wrong_passphrase_and_tampering_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    _store(folder).put("hub-0", KEY)
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        _store(folder, b"not the passphrase").get("hub-0")
    path = folder / "hub-0.key"
    original = json.loads(path.read_text())

    def tampered(**changes: object) -> None:
        document = dict(original, **changes)
        path.write_text(json.dumps(document))

    flipped = bytes.fromhex(original["ciphertext"])
    tampered(ciphertext=(bytes([flipped[0] ^ 1]) + flipped[1:]).hex())
    with pytest.raises(KeyStoreError, match="altered"):
        _store(folder).get("hub-0")
    tampered(public_key=OTHER.verify_key.key.hex())
    with pytest.raises(KeyStoreError, match="another name or key"):
        _store(folder).get("hub-0")
    tampered(kdf=dict(original["kdf"], memlimit=1 << 40))
    with pytest.raises(KeyStoreError, match="out of range"):
        _store(folder).get("hub-0")
    tampered(nonce="zz")
    with pytest.raises(KeyStoreError, match="'nonce' malformed"):
        _store(folder).get("hub-0")
    path.write_bytes(b"\xff not json")
    with pytest.raises(KeyStoreError, match="not JSON"):
        _store(folder).get("hub-0")
    path.write_text("[1, 2]")
    with pytest.raises(KeyStoreError, match="not a vigilnet-key"):
        _store(folder).get("hub-0")
    # A genuine file copied under another name does not open as that name.
    _store(folder).put("hub-1", KEY)
    (folder / "hub-2.key").write_bytes((folder / "hub-1.key").read_bytes())
    with pytest.raises(KeyStoreError, match="another name"):
        _store(folder).get("hub-2")


def test_parameters_are_checked(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="at least 8 bytes"):
        FileKeyStore(tmp_path, b"short")
    with pytest.raises(KeyStoreError, match="out of range"):
        KdfParams(opslimit=0, memlimit=1 << 20)


def test_a_failed_write_leaves_the_old_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(tmp_path / "keys")
    store.put("hub-0", KEY)

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        store.put("hub-0", OTHER)
    monkeypatch.undo()
    assert store.get("hub-0") == KEY
    assert [p.name for p in (tmp_path / "keys").iterdir()] == ["hub-0.key"]


def test_sigkill_during_rewrites_leaves_a_whole_key(tmp_path: Path) -> None:
    """A child process rewrites one key in a loop, alternating two keys; it
    is killed with SIGKILL at 12 points; after each kill the file opens and
    holds one of the two keys, and no temporary file is readable by others."""
    folder = tmp_path / "keys"
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from vigilnet.crypto import FAST_KDF_FOR_TESTS, FileKeyStore, SigningKey
        store = FileKeyStore(Path({str(folder)!r}), {PASS!r}, kdf=FAST_KDF_FOR_TESTS)
        keys = [SigningKey(bytes(range(32))), SigningKey(bytes(range(2, 34)))]
        store.put("hub-0", keys[0])
        print("ready", flush=True)
        i = 0
        while True:
            i += 1
            store.put("hub-0", keys[i % 2])
        """
    )
    for kill in range(12):
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        # Let it run a varying while, then kill it hard.
        try:
            child.wait(timeout=0.02 * (kill + 1))
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        assert _store(folder).get("hub-0") in (KEY, OTHER)
        for leftover in folder.iterdir():
            assert stat.S_IMODE(leftover.stat().st_mode) == 0o600
