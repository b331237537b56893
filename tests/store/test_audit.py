"""The SQLite audit log: the RFC 9162 tree, checkpoints, proofs, retention,
damage, and durability under SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from vigilnet.crypto import SigningKey
from vigilnet.merkle import MerkleLog, verify_consistency, verify_inclusion
from vigilnet.store import AuditLog, AuditLogError, EntryKind, entry_leaf, open_note

KEY = SigningKey(bytes(range(32)))
ORIGIN = "vigilnet.example/audit/hub-0"
KINDS = list(EntryKind)


def _open(path: Path, create: bool = False) -> AuditLog:
    return AuditLog(path, ORIGIN, KEY, create=create)


def _fill(log: AuditLog, count: int, start: int = 0) -> None:
    log.append_many(
        (KINDS[i % len(KINDS)], {"i": i, "pad": bytes(i % 7)}, 1_000 * i)
        for i in range(start, start + count)
    )


def _reference(count: int) -> MerkleLog:
    return MerkleLog(
        entry_leaf(KINDS[i % len(KINDS)], 1_000 * i, _encoded(i)) for i in range(count)
    )


def _encoded(i: int) -> bytes:
    from vigilnet.encoding import encode

    return encode({"i": i, "pad": bytes(i % 7)})


def test_roots_and_proofs_match_the_in_memory_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    with _open(path, create=True) as log:
        # One at a time, then in batches: the same tree.
        for i in range(13):
            log.append(KINDS[i % len(KINDS)], {"i": i, "pad": bytes(i % 7)}, 1_000 * i)
        _fill(log, 30, start=13)
        reference = _reference(43)
        for size in range(44):
            assert log.root(size) == reference.root(size)
        cps = [log.checkpoint()]
    with _open(path) as log:  # reopened: the right edge is rebuilt from the file
        _fill(log, 21, start=43)
        cps.append(log.checkpoint())
        reference = _reference(64)
        assert log.root() == reference.root()
        for index in (0, 7, 42, 63):
            proof = log.inclusion_proof(index, cps[1])
            verify_inclusion(leaf_hash=reference.leaf_hash(index), proof=proof, root=cps[1].root)
        consistency = log.consistency_proof(cps[0], cps[1])
        verify_consistency(proof=consistency, old_root=cps[0].root, new_root=cps[1].root)
        assert [c.size for c in log.checkpoints()] == [43, 64]
        assert log.body(5) == {"i": 5, "pad": bytes(5)}
        report = log.verify()
        assert (report.entries, report.checkpoints, report.pruned) == (64, 2, 0)


def test_checkpoints_are_c2sp_signed_notes(tmp_path: Path) -> None:
    with _open(tmp_path / "a.db", create=True) as log:
        _fill(log, 5)
        cp = log.checkpoint()
        text, signers = open_note(cp.note, [log.verifier])
        assert signers == (ORIGIN,)
        lines = text.split("\n")
        assert lines[0] == ORIGIN and lines[1] == "5"
        assert cp.note.split("\n\n")[1].startswith("\u2014 " + ORIGIN + " ")


def test_retention_prunes_bodies_and_keeps_every_proof(tmp_path: Path) -> None:
    with _open(tmp_path / "a.db", create=True) as log:
        _fill(log, 40)
        old = log.checkpoint()
        day = 24 * 3600 * 1000
        assert log.prune(now_ms=20_000 + day, retention_ms=day) == 20  # entries 0..19
        _fill(log, 10, start=40)
        new = log.checkpoint()
        with pytest.raises(AuditLogError, match="pruned"):
            log.body(3)
        assert log.entry(3).body is None
        log.inclusion_proof(3, new)
        log.inclusion_proof(3, old)
        log.consistency_proof(old, new)
        assert log.verify().pruned == 20


def test_bad_input_changes_nothing(tmp_path: Path) -> None:
    with _open(tmp_path / "a.db", create=True) as log:
        _fill(log, 3)
        root = log.root()
        for bad in [
            [(KINDS[0], {"ok": 1}, 1), ("decision", {}, 1)],
            [(KINDS[0], {"ok": 1}, -1)],
            [(KINDS[0], {"big": bytes(1 << 20)}, 1)],
        ]:
            with pytest.raises(AuditLogError):
                log.append_many(bad)  # type: ignore[arg-type]
        assert (log.size, log.root()) == (3, root)
        with pytest.raises(AuditLogError, match="no entry"):
            log.entry(3)
        with pytest.raises(AuditLogError, match="no checkpoint"):
            log.checkpoint_at(3)
    with pytest.raises(AuditLogError, match="origin"):
        AuditLog(tmp_path / "a.db", "other.example/log", KEY)
    with pytest.raises(AuditLogError, match="no audit log"):
        AuditLog(tmp_path / "missing.db", ORIGIN, KEY)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(AuditLogError, match="damaged or unreadable"):
        AuditLog(junk, ORIGIN, KEY)
    with _open(tmp_path / "a.db") as log:
        public = AuditLog(tmp_path / "a.db", ORIGIN, KEY.verify_key)
        with pytest.raises(AuditLogError, match="cannot sign"):
            public.checkpoint()
        public.close()


def _build(path: Path) -> tuple[bytes, list[int]]:
    with _open(path, create=True) as log:
        _fill(log, 200)
        log.checkpoint()
        _fill(log, 56, start=200)
        cp = log.checkpoint()
        return cp.root, [0, 99, 255]


def test_a_flipped_byte_in_any_page_is_found_and_never_gives_a_wrong_proof(tmp_path: Path) -> None:
    """For every page of the file, flip the last non-zero byte of the page
    (SQLite keeps cell content at the end of a page; trailing zero bytes
    can be unused space, which no check can see) and reopen: ``verify``
    fails naming what broke, and any proof the store still serves
    verifies against the genuine signed root."""
    pristine = tmp_path / "pristine.db"
    genuine_root, indices = _build(pristine)
    data = pristine.read_bytes()
    page_size = int.from_bytes(data[16:18], "big")
    pages = len(data) // page_size
    assert pages >= 10
    undetected = []
    for page in range(pages):
        corrupt = bytearray(data)
        position = (page + 1) * page_size - 1
        while corrupt[position] == 0:
            position -= 1
        corrupt[position] ^= 0x01
        target = tmp_path / f"p{page}.db"
        target.write_bytes(bytes(corrupt))
        try:
            log = _open(target)
        except AuditLogError:
            continue  # refused at open, with a reason
        try:
            with pytest.raises(AuditLogError) as failure:
                log.verify()
            assert str(failure.value)
        except pytest.fail.Exception:
            undetected.append(page)
        for index in indices:
            try:
                cp = log.latest_checkpoint()
                assert cp is not None
                proof = log.inclusion_proof(index, cp)
            except AuditLogError:
                continue
            # A proof that leaves the store is a correct one.
            assert cp.root == genuine_root
            verify_inclusion(leaf_hash=log.entry(index).leaf_hash, proof=proof, root=genuine_root)
        log.close()
    assert undetected == []


def test_truncation_is_refused(tmp_path: Path) -> None:
    pristine = tmp_path / "pristine.db"
    _build(pristine)
    data = pristine.read_bytes()
    for keep in (0, 100, len(data) // 2, len(data) - 4096):
        target = tmp_path / f"t{keep}.db"
        target.write_bytes(data[:keep])
        with pytest.raises(AuditLogError):
            log = _open(target)
            try:
                log.verify()
            finally:
                log.close()


_WRITER = textwrap.dedent(
    """
    import random, sys
    from vigilnet.crypto import SigningKey
    from vigilnet.store import AuditLog, EntryKind
    path, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    log = AuditLog(path, {origin!r}, SigningKey(bytes(range(32))), create=True)
    print("ready", log.size, flush=True)
    n = log.size
    while True:
        batch = rng.randint(1, 20)
        log.append_many((EntryKind.DECISION, {{"i": i}}, i) for i in range(n, n + batch))
        n += batch
        print("ack", n, flush=True)
        if rng.random() < 0.2:
            cp = log.checkpoint()
            print("cp", cp.size, flush=True)
    """
).format(origin=ORIGIN)


def test_sigkill_loses_no_acknowledged_entry(tmp_path: Path) -> None:
    """24 kills at random moments of a long append stream (batches of 1 to
    20 entries, a checkpoint after one batch in five): after each, every
    acknowledged entry is there with its body, nothing half-written, the
    whole log verifies and the last checkpoint is consistent with it."""
    path = tmp_path / "audit.db"
    rng = random.Random(2026)
    acknowledged = 0
    kills = 0
    for run in range(24):
        child = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), str(run)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        first = child.stdout.readline()
        assert first.startswith("ready"), first
        lines: list[str] = []
        reader = threading.Thread(target=lines.extend, args=(child.stdout,))
        reader.start()
        threading.Event().wait(rng.uniform(0.15, 0.5))
        child.send_signal(signal.SIGKILL)
        child.wait()
        reader.join()
        kills += child.returncode == -signal.SIGKILL
        # Only whole lines: the kill can tear the last one mid-print.
        acks = [
            int(line.split()[1])
            for line in lines
            if line.endswith("\n") and line.startswith("ack ") and line.split()[1].isdigit()
        ]
        if acks:
            acknowledged = max(acknowledged, acks[-1])
        with _open(path) as log:
            assert log.size >= acknowledged
            # Under load a run may be killed before its first commit.
            for index in {0, acknowledged - 1, acknowledged // 2} if acknowledged else ():
                assert log.body(index) == {"i": index}
            report = log.verify()
            assert report.entries == log.size
            latest = log.latest_checkpoint()
            if latest is not None:
                assert log.root(latest.size) == latest.root
    assert kills == 24
    assert acknowledged > 100
    assert os.path.getsize(path) > 0
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
