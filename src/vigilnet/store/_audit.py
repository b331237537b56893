"""The audit trail: an append-only RFC 9162 Merkle log in SQLite.

Theory of operation
===================

Every decision, certificate, key event, reputation penalty, piece of
equivocation evidence, configuration change and attestation verdict of a
node is one *entry*:
``(kind, time_ms, body)``, where ``body`` is canonical CBOR.  The entry's
leaf is ``canonical_cbor({"kind", "time_ms", "body"})``, hashed as an RFC
9162 leaf (``SHA-256(0x00 || leaf)``); the log is the RFC 9162 tree over
the leaves, so inclusion and consistency proofs are the standard ones (any
RFC 6962/9162 verifier checks them).

Tables (one SQLite file, WAL journal, ``synchronous=FULL``):

``entries(idx, kind, time_ms, body, leaf_hash)``
    one row per entry; ``body`` becomes NULL when retention prunes it, the
    leaf hash stays;
``nodes(level, idx, hash)``
    the hash of every complete perfect subtree (level >= 1), written in the
    same transaction as the entry that completes it, so any historical root
    and proof costs O(log n) reads;
``checkpoints(size, note)``
    signed checkpoints, C2SP signed notes over the tlog checkpoint text
    ``origin \\n size \\n base64(root) \\n``;
``meta(key, value)``
    the format version and the log's origin line.

Rules:

1. An append (or a batch) is one ``BEGIN IMMEDIATE`` transaction; it is
   *acknowledged* when :meth:`AuditLog.append` returns, after the commit,
   which with ``synchronous=FULL`` in WAL mode has reached the disk.  A
   process killed at any point leaves every acknowledged entry and no part
   of an unacknowledged one.
2. Nothing is ever updated but ``entries.body`` (set to NULL by
   :meth:`AuditLog.prune`, for entries older than the retention period).
   Every hash stays, so a checkpoint of any age stays provably consistent
   with every later one, and the inclusion of a pruned entry's leaf hash
   can still be proven.
3. Proofs are served against signed checkpoints only (an inclusion proof
   does not bind the tree size: only a signed ``(size, root)`` gives it
   meaning).  Before a proof leaves the store it is verified against the
   checkpoint's signed root, so a corrupted file yields an
   :class:`AuditLogError` naming what broke, never a wrong proof.
4. :meth:`AuditLog.verify` recomputes everything: SQLite's integrity check,
   the schema against this module's, each present body against
   its leaf hash, every stored node against its children, every checkpoint's
   signature and root, and the consistency of consecutive checkpoints, and
   names the first entry, node or checkpoint that fails.
"""

from __future__ import annotations

import base64
import enum
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigilnet.crypto import SigningKey, VerifyKey
from vigilnet.encoding import CborValue, MalformedEncoding, decode, encode
from vigilnet.errors import RemoteProtocolError, VigilnetError
from vigilnet.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    ConsistencyProof,
    InclusionProof,
    MerkleLog,
    MerkleProofError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from vigilnet.store._note import NoteError, NoteVerifier, open_note, sign_note

__all__ = [
    "DEFAULT_RETENTION_MS",
    "AuditLog",
    "AuditLogError",
    "Checkpoint",
    "Entry",
    "EntryKind",
    "VerifyReport",
    "read_origin",
]

FORMAT = "vigilnet-audit/v1"
DEFAULT_RETENTION_MS = 365 * 24 * 3600 * 1000
MAX_BODY_BYTES = 1 << 20


_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (
    idx INTEGER PRIMARY KEY, kind TEXT NOT NULL, time_ms INTEGER NOT NULL,
    body BLOB, leaf_hash BLOB NOT NULL);
CREATE TABLE nodes (
    level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
"""
_MASTER = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"


def _expected_schema() -> list[tuple[Any, ...]]:
    fresh = sqlite3.connect(":memory:")
    try:
        fresh.executescript(_SCHEMA)
        return fresh.execute(_MASTER).fetchall()
    finally:
        fresh.close()


class AuditLogError(VigilnetError):
    """The audit log file is unusable or does not verify (names what broke)."""


class EntryKind(enum.Enum):
    DECISION = "decision"
    CERTIFICATE = "certificate"
    KEY_EVENT = "key-event"
    REPUTATION_PENALTY = "reputation-penalty"
    EQUIVOCATION_EVIDENCE = "equivocation-evidence"
    CONFIG_CHANGE = "config-change"
    ATTESTATION = "attestation"


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    index: int
    kind: EntryKind
    time_ms: int
    body: bytes | None
    leaf_hash: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    note: str

    def text(self) -> str:
        return checkpoint_text(self.origin, self.size, self.root)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyReport:
    entries: int
    pruned: int
    nodes: int
    checkpoints: int


def checkpoint_text(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"


def parse_checkpoint(text: str, origin: str) -> tuple[int, bytes]:
    lines = text.split("\n")
    if len(lines) < 4 or lines[0] != origin:
        raise AuditLogError(f"checkpoint is not for origin {origin!r}")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
    except ValueError:
        raise AuditLogError("checkpoint size or root malformed") from None
    if size < 0 or str(size) != lines[1] or len(root) != HASH_SIZE:
        raise AuditLogError("checkpoint size or root malformed")
    return size, root


def read_origin(path: str | Path) -> str:
    """The origin line a log file was created with (to open it without
    being told), or :class:`AuditLogError` if the file is not an audit log."""
    path = Path(path)
    if not path.is_file():
        raise AuditLogError(f"{path}: no audit log (create it first)")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = dict(db.execute("SELECT key, value FROM meta").fetchall())
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise _wrap(f"{path}: read the origin", exc) from None
    if rows.get("format") != FORMAT or not isinstance(rows.get("origin"), str):
        raise AuditLogError(f"{path}: not a {FORMAT} file")
    origin: str = rows["origin"]
    return origin


def entry_leaf(kind: EntryKind, time_ms: int, body: bytes) -> bytes:
    """The leaf data of an entry (what its leaf hash commits to)."""
    return encode({"kind": kind.value, "time_ms": time_ms, "body": body})


class _Level:
    """One level of the stored tree, indexable like a list."""

    __slots__ = ("_db", "_level", "_size")

    def __init__(self, db: sqlite3.Connection, level: int, size: int) -> None:
        self._db, self._level, self._size = db, level, size

    def __len__(self) -> int:
        return self._size >> self._level

    def __getitem__(self, index: int) -> bytes:
        if self._level == 0:
            row = self._db.execute(
                "SELECT leaf_hash FROM entries WHERE idx = ?", (index,)
            ).fetchone()
        else:
            row = self._db.execute(
                "SELECT hash FROM nodes WHERE level = ? AND idx = ?", (self._level, index)
            ).fetchone()
        if row is None or type(row[0]) is not bytes or len(row[0]) != HASH_SIZE:
            raise AuditLogError(
                f"stored hash missing or malformed at level {self._level}, index {index}"
            )
        value: bytes = row[0]
        return value


class _StoredTree(MerkleLog):
    """The RFC 9162 algorithms of :class:`MerkleLog` over the stored levels."""

    __slots__ = ()

    def __init__(self, db: sqlite3.Connection, size: int) -> None:
        super().__init__()
        self._levels = [_Level(db, level, size) for level in range(max(size, 1).bit_length() + 1)]  # type: ignore[misc]


def _wrap(action: str, exc: sqlite3.Error) -> AuditLogError:
    return AuditLogError(f"{action}: the SQLite file is damaged or unreadable ({exc})")


class AuditLog:
    """One audit log file (see the module docstring)."""

    def __init__(self, path: str | Path, origin: str, key: SigningKey | VerifyKey, *,
                 key_name: str | None = None, create: bool = False) -> None:  # fmt: skip
        self.path = Path(path)
        self.origin = origin
        self._signer = key if isinstance(key, SigningKey) else None
        public = key.verify_key if isinstance(key, SigningKey) else key
        self.key_name = key_name or origin
        self.verifier = NoteVerifier.of(self.key_name, public)
        if not create and not self.path.is_file():
            raise AuditLogError(f"{self.path}: no audit log (create it first)")
        if "\n" in origin or not origin:
            raise AuditLogError("origin must be one non-empty line")
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._init(create)
            self._size = self._count()
            self._frontier = self._load_frontier()
        except sqlite3.Error as exc:
            raise _wrap(f"{self.path}: open", exc) from None

    # -- setup ---------------------------------------------------------------

    def _init(self, create: bool) -> None:
        db = self._db
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            if not create:
                raise AuditLogError(f"{self.path}: empty file, not an audit log")
            db.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
            db.execute(
                "INSERT INTO meta VALUES ('format', ?), ('origin', ?)", (FORMAT, self.origin)
            )
            return
        meta = (
            dict(db.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
        )
        if meta.get("format") != FORMAT:
            raise AuditLogError(f"{self.path}: not a {FORMAT} file")
        if meta.get("origin") != self.origin:
            raise AuditLogError(
                f"{self.path}: log of origin {meta.get('origin')!r}, not {self.origin!r}"
            )

    def _count(self) -> int:
        row = self._db.execute("SELECT COUNT(*), COALESCE(MAX(idx), -1) FROM entries").fetchone()
        if row[0] != row[1] + 1:
            raise AuditLogError(f"{self.path}: entries are not numbered 0..n-1 (damaged)")
        count: int = row[0]
        return count

    def _load_frontier(self) -> list[bytes]:
        """The last complete node at each level that the next append may
        pair with (the left siblings on the right edge)."""
        frontier: list[bytes] = []
        size = self._size
        level = 0
        while size >> level:
            count = size >> level
            frontier.append(_Level(self._db, level, self._size)[count - 1] if count else b"")
            level += 1
        return frontier

    # -- writing -------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._size

    def append(self, kind: EntryKind, body: CborValue, time_ms: int) -> int:
        """Append one entry; return its index once it is durable."""
        return self.append_many([(kind, body, time_ms)])[0]

    def append_many(self, items: Iterable[tuple[EntryKind, CborValue, int]]) -> list[int]:
        """Append entries in one transaction; return their indices once durable."""
        rows = []
        for kind, body, time_ms in items:
            if not isinstance(kind, EntryKind):
                raise AuditLogError(f"unknown entry kind {kind!r}")
            if type(time_ms) is not int or not 0 <= time_ms < 1 << 63:
                raise AuditLogError(f"time_ms {time_ms!r} out of range")
            try:
                encoded = encode(body)
            except VigilnetError as exc:
                raise AuditLogError(f"entry body cannot be encoded: {exc}") from None
            if len(encoded) > MAX_BODY_BYTES:
                raise AuditLogError(f"entry body of {len(encoded)} bytes > {MAX_BODY_BYTES}")
            rows.append((kind, time_ms, encoded))
        if not rows:
            return []
        size = self._size
        frontier = list(self._frontier)
        entry_rows: list[tuple[int, str, int, bytes, bytes]] = []
        node_rows: list[tuple[int, int, bytes]] = []
        for kind, time_ms, encoded in rows:
            hashed = leaf_hash(entry_leaf(kind, time_ms, encoded))
            entry_rows.append((size, kind.value, time_ms, encoded, hashed))
            # Fold the new leaf into the right edge (as MerkleLog.append_leaf_hash):
            # frontier[level] is the last complete node of each level, the left
            # sibling of the next right child formed there.
            current, index, level = hashed, size, 0
            while index & 1:
                current = node_hash(frontier[level], current)
                index, level = index >> 1, level + 1
                node_rows.append((level, index, current))
            if level == len(frontier):
                frontier.append(current)
            else:
                frontier[level] = current
            size += 1
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", entry_rows)
            self._db.executemany("INSERT INTO nodes VALUES (?, ?, ?)", node_rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise _wrap(f"{self.path}: append", exc) from None
        first = self._size
        self._size, self._frontier = size, frontier
        return list(range(first, size))

    def checkpoint(self) -> Checkpoint:
        """Sign and store a checkpoint of the current tree."""
        if self._signer is None:
            raise AuditLogError("this log was opened with a public key only: it cannot sign")
        root = self.root()
        note = sign_note(
            checkpoint_text(self.origin, self._size, root), self.key_name, self._signer
        )
        try:
            self._db.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?)", (self._size, note))
        except sqlite3.Error as exc:
            raise _wrap(f"{self.path}: checkpoint", exc) from None
        return Checkpoint(origin=self.origin, size=self._size, root=root, note=note)

    def prune(self, now_ms: int, retention_ms: int = DEFAULT_RETENTION_MS) -> int:
        """Drop the bodies of entries older than the retention period; keep
        every hash.  Returns how many bodies were dropped."""
        cutoff = now_ms - retention_ms
        try:
            self._db.execute("BEGIN IMMEDIATE")
            cursor = self._db.execute(
                "UPDATE entries SET body = NULL WHERE time_ms < ? AND body IS NOT NULL", (cutoff,)
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise _wrap(f"{self.path}: prune", exc) from None
        return cursor.rowcount

    # -- reading -------------------------------------------------------------

    def root(self, size: int | None = None) -> bytes:
        size = self._size if size is None else size
        if size == 0:
            return EMPTY_ROOT
        return _StoredTree(self._db, self._size).root(size)

    def entry(self, index: int) -> Entry:
        row = self._query(
            "SELECT idx, kind, time_ms, body, leaf_hash FROM entries WHERE idx = ?", (index,)
        )
        if not row:
            raise AuditLogError(f"no entry {index} (size {self._size})")
        entry = self._entry(row[0])
        return entry

    def _entry(self, row: tuple[Any, ...]) -> Entry:
        index, kind, time_ms, body, hashed = row
        try:
            entry_kind = EntryKind(kind)
        except ValueError:
            raise AuditLogError(f"entry {index}: unknown kind {kind!r} (damaged)") from None
        if type(hashed) is not bytes or len(hashed) != HASH_SIZE:
            raise AuditLogError(f"entry {index}: leaf hash malformed (damaged)")
        if body is not None:
            if type(body) is not bytes or type(time_ms) is not int:
                raise AuditLogError(f"entry {index}: body or time malformed (damaged)")
            if leaf_hash(entry_leaf(entry_kind, time_ms, body)) != hashed:
                raise AuditLogError(f"entry {index}: body does not match its leaf hash")
        return Entry(index=index, kind=entry_kind, time_ms=time_ms, body=body, leaf_hash=hashed)

    def body(self, index: int) -> CborValue:
        """The decoded body of an entry (an error if pruned)."""
        entry = self.entry(index)
        if entry.body is None:
            raise AuditLogError(f"entry {index}: body pruned (its hash remains)")
        try:
            return decode(entry.body)
        except MalformedEncoding as exc:
            raise AuditLogError(f"entry {index}: body is not canonical CBOR ({exc})") from None

    def checkpoints(self) -> list[Checkpoint]:
        rows = self._query("SELECT size, note FROM checkpoints ORDER BY size", ())
        return [self._checkpoint(size, note) for size, note in rows]

    def _checkpoint(self, size: object, note: object) -> Checkpoint:
        if type(note) is not str:
            raise AuditLogError(f"checkpoint at size {size}: note malformed (damaged)")
        try:
            text, _ = open_note(note, [self.verifier])
        except NoteError as exc:
            raise AuditLogError(f"checkpoint at size {size}: {exc}") from None
        signed_size, root = parse_checkpoint(text, self.origin)
        if signed_size != size:
            raise AuditLogError(f"checkpoint at size {size}: signs size {signed_size}")
        return Checkpoint(origin=self.origin, size=signed_size, root=root, note=note)

    def latest_checkpoint(self) -> Checkpoint | None:
        rows = self._query("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1", ())
        return self._checkpoint(*rows[0]) if rows else None

    def checkpoint_at(self, size: int) -> Checkpoint:
        rows = self._query("SELECT size, note FROM checkpoints WHERE size = ?", (size,))
        if not rows:
            raise AuditLogError(f"no checkpoint at size {size}")
        return self._checkpoint(*rows[0])

    def inclusion_proof(self, index: int, checkpoint: Checkpoint) -> InclusionProof:
        """The inclusion proof of entry ``index`` in a signed checkpoint,
        checked against its root before it is returned."""
        entry = self.entry(index)
        try:
            proof = _StoredTree(self._db, self._size).inclusion_proof(index, checkpoint.size)
            verify_inclusion(leaf_hash=entry.leaf_hash, proof=proof, root=checkpoint.root)
        except (MerkleProofError, RemoteProtocolError, VigilnetError) as exc:
            if isinstance(exc, AuditLogError):
                raise
            raise AuditLogError(
                f"entry {index}: stored hashes do not prove it in the checkpoint at size "
                f"{checkpoint.size} ({exc})"
            ) from None
        return proof

    def consistency_proof(self, old: Checkpoint, new: Checkpoint) -> ConsistencyProof:
        """The consistency proof between two signed checkpoints, checked."""
        try:
            proof = _StoredTree(self._db, self._size).consistency_proof(old.size, new.size)
            verify_consistency(proof=proof, old_root=old.root, new_root=new.root)
        except (MerkleProofError, VigilnetError) as exc:
            if isinstance(exc, AuditLogError):
                raise
            raise AuditLogError(
                f"checkpoints at sizes {old.size} and {new.size} are not consistent ({exc})"
            ) from None
        return proof

    def _query(self, sql: str, args: Sequence[object]) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, tuple(args)).fetchall()
        except sqlite3.Error as exc:
            raise _wrap(f"{self.path}: read", exc) from None

    def verify(self) -> VerifyReport:
        """Recompute and check the whole log (rule 4); raise on the first failure."""
        log = MerkleLog()
        pruned = 0
        try:
            integrity = self._db.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.Error as exc:
            raise _wrap(f"{self.path}: verify", exc) from None
        if integrity != [("ok",)]:
            raise AuditLogError(f"{self.path}: SQLite integrity check failed: {integrity[0][0]}")
        if self._query(_MASTER, ()) != _expected_schema():
            raise AuditLogError(f"{self.path}: the schema differs from {FORMAT}'s (damaged)")
        for row in self._query(
            "SELECT idx, kind, time_ms, body, leaf_hash FROM entries ORDER BY idx", ()
        ):
            entry = self._entry(row)
            if entry.index != log.size:
                raise AuditLogError(f"entry {log.size} missing")
            pruned += entry.body is None
            log.append_leaf_hash(entry.leaf_hash)
        nodes = 0
        for level, index, digest in self._query(
            "SELECT level, idx, hash FROM nodes ORDER BY level, idx", ()
        ):
            if type(level) is not int or type(index) is not int or level < 1:
                raise AuditLogError(f"node row ({level}, {index}) malformed (damaged)")
            first, last = index << level, ((index + 1) << level) - 1
            if last >= log.size:
                raise AuditLogError(f"node ({level}, {index}) covers entries beyond the log")
            expected = log._levels[level][index]
            if digest != expected:
                raise AuditLogError(
                    f"node ({level}, {index}) over entries {first}..{last} does not match them"
                )
            nodes += 1
        expected_nodes = sum(
            log.size >> level for level in range(1, max(log.size, 1).bit_length() + 1)
        )
        if nodes != expected_nodes:
            raise AuditLogError(f"{expected_nodes - nodes} stored nodes missing")
        checkpoints = self.checkpoints()
        previous: Checkpoint | None = None
        for cp in checkpoints:
            if cp.size > log.size:
                raise AuditLogError(f"checkpoint at size {cp.size}: beyond the log ({log.size})")
            if log.root(cp.size) != cp.root:
                raise AuditLogError(f"checkpoint at size {cp.size}: root differs from the entries")
            if previous is not None and previous.size > 0:
                proof = log.consistency_proof(previous.size, cp.size)
                try:
                    verify_consistency(proof=proof, old_root=previous.root, new_root=cp.root)
                except MerkleProofError as exc:  # pragma: no cover - roots checked above
                    raise AuditLogError(f"checkpoint at size {cp.size}: {exc}") from None
            previous = cp
        return VerifyReport(
            entries=log.size, pruned=pruned, nodes=nodes, checkpoints=len(checkpoints)
        )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
