"""A hub's durable state: what it signed, what it decided, in SQLite.

Theory of operation
-------------------
A hub must never sign two different messages for one slot, even across a
``kill -9``.  :class:`NodeStore` keeps one row per slot it signed in
``signed(epoch, round, kind, value_hash, message)`` (``kind`` is
``summary``, ``proposal``, ``prevote`` or ``precommit``; a summary's round
is -1), in one SQLite file in WAL mode with ``synchronous=FULL``.  The node
calls :meth:`NodeStore.admit_signed` for every message it is about to send,
BEFORE sending it: the row is committed (and fsync'd) first; a message for a
slot already held with another value is refused (``False``), and the node
does not send it.  After a restart the pure SDBC node starts afresh at the
next epoch, but the store still holds every slot it signed, so the new node
cannot contradict the old one.

Decisions go to ``decisions(epoch, round, value_hash, aggregate,
precommits)`` and, with each piece of equivocation evidence, to the node's
audit log (:class:`~vigilnet.store.AuditLog`, its own file): acknowledged
data (a decision the node reported, evidence it holds) is committed before
the node reports it.  The two files cannot share a transaction, so each row
carries ``audited``: it is committed with 0, appended to the audit log, then
set to 1.  On open, every row still at 0 is appended (unless it is the audit
log's last entry already: a kill between the append and the flag; appends
are sequential, so only the last entry can be such a one), so a ``kill -9``
between the two commits loses no audit entry and duplicates none.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import cbor2

from vigilnet.crypto import SigningKey
from vigilnet.encoding import CborValue
from vigilnet.protocols import sdbc
from vigilnet.store._audit import AuditLog, AuditLogError, EntryKind

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signed (
    epoch INTEGER NOT NULL, round INTEGER NOT NULL, kind TEXT NOT NULL,
    value_hash BLOB, message BLOB NOT NULL, PRIMARY KEY (epoch, round, kind));
CREATE TABLE IF NOT EXISTS decisions (
    epoch INTEGER PRIMARY KEY, round INTEGER NOT NULL, value_hash BLOB NOT NULL,
    aggregate TEXT NOT NULL, precommits BLOB NOT NULL, time_ms INTEGER NOT NULL,
    audited INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS evidence (
    hub INTEGER NOT NULL, epoch INTEGER NOT NULL, first BLOB NOT NULL, second BLOB NOT NULL,
    time_ms INTEGER NOT NULL, audited INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hub, epoch, first, second));
"""


def slot(message: sdbc.Message) -> tuple[int, int, str, bytes | None]:
    """``(epoch, round, kind, value_hash)`` of a message this hub signs."""
    if isinstance(message, sdbc.Vote):
        return message.epoch, message.round, message.kind, message.value_hash
    if isinstance(message, sdbc.Proposal):
        return message.epoch, message.round, "proposal", message.value.value_hash
    return message.epoch, -1, "summary", hashlib.sha256(sdbc.encode_message(message)).digest()


def _decision_body(
    epoch: int, round_: int, value_hash: bytes, aggregate: str
) -> dict[str, CborValue]:
    return {"epoch": epoch, "round": round_, "value_hash": value_hash, "aggregate": aggregate}


def _evidence_body(hub: int, epoch: int, first: bytes, second: bytes) -> dict[str, CborValue]:
    return {"hub": hub, "epoch": epoch, "first": first, "second": second}


class NodeStore:
    """One hub's ``state.db`` and ``audit.db`` (see the module docstring)."""

    def __init__(self, folder: str | Path, name: str, key: SigningKey) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.folder / "state.db", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        audit = self.folder / "audit.db"
        self.audit = AuditLog(audit, f"vigilnet/{name}", key, create=not audit.exists())
        self._audit_pending()

    def _audit_pending(self) -> None:
        """Append every row committed but not yet audited (a crash between
        the two files' commits), skipping one the audit log already ends with."""
        last: CborValue = None
        if self.audit.size > 0:
            try:
                last = self.audit.body(self.audit.size - 1)
            except AuditLogError:
                last = None  # pruned: not the entry just appended
        for epoch, round_, value_hash, aggregate, time_ms in self._db.execute(
            "SELECT epoch, round, value_hash, aggregate, time_ms FROM decisions WHERE audited=0"
        ).fetchall():
            body = _decision_body(int(epoch), int(round_), bytes(value_hash), str(aggregate))
            self._audit(EntryKind.DECISION, body, int(time_ms), last, "decisions", epoch=epoch)
        for hub, epoch, first, second, time_ms in self._db.execute(
            "SELECT hub, epoch, first, second, time_ms FROM evidence WHERE audited=0"
        ).fetchall():
            body = _evidence_body(int(hub), int(epoch), bytes(first), bytes(second))
            self._audit(EntryKind.EQUIVOCATION_EVIDENCE, body, int(time_ms), last, "evidence",
                        hub=hub, epoch=epoch, first=first, second=second)  # fmt: skip

    def _audit(self, kind: EntryKind, body: dict[str, CborValue], time_ms: int,
               skip_if: CborValue, table: str, **key: object) -> None:  # fmt: skip
        if body != skip_if:
            self.audit.append(kind, body, time_ms)
        where = " AND ".join(f"{column}=?" for column in key)
        self._db.execute(f"UPDATE {table} SET audited=1 WHERE {where}", tuple(key.values()))

    def close(self) -> None:
        self._db.close()

    def admit_signed(self, message: sdbc.Message) -> bool:
        """Record ``message`` before it is sent; ``False`` if this hub
        already signed another message for its slot (then it must not be
        sent)."""
        epoch, round_, kind, value_hash = slot(message)
        row = self._db.execute(
            "SELECT value_hash FROM signed WHERE epoch=? AND round=? AND kind=?",
            (epoch, round_, kind),
        ).fetchone()
        if row is not None:
            return bool(row[0] == value_hash)
        self._db.execute(
            "INSERT INTO signed VALUES (?, ?, ?, ?, ?)",
            (epoch, round_, kind, value_hash, sdbc.encode_message(message)),
        )
        return True

    def signed(self, epoch: int) -> list[bytes]:
        """The wire form of every message this hub signed for ``epoch``."""
        rows = self._db.execute(
            "SELECT message FROM signed WHERE epoch=? ORDER BY round, kind", (epoch,)
        )
        return [bytes(r[0]) for r in rows]

    def last_epoch(self) -> int:
        """The highest epoch this hub signed anything for (-1: none)."""
        row = self._db.execute("SELECT MAX(epoch) FROM signed").fetchone()
        return -1 if row[0] is None else int(row[0])

    def record_decision(self, decide: sdbc.Decide, time_ms: int) -> None:
        value, cert = decide.value, decide.certificate
        aggregate = ",".join(f"{a.numerator}/{a.denominator}" for a in value.aggregate)
        precommits = cbor2.dumps([sdbc.encode_message(v) for v in cert.precommits])
        self._db.execute("BEGIN IMMEDIATE")
        try:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO decisions VALUES (?, ?, ?, ?, ?, ?, 0)",
                (decide.epoch, cert.round, value.value_hash, aggregate, precommits, time_ms),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        if cursor.rowcount == 0:
            return
        body = _decision_body(decide.epoch, cert.round, value.value_hash, aggregate)
        self._audit(EntryKind.DECISION, body, time_ms, None, "decisions", epoch=decide.epoch)

    def record_evidence(self, evidence: sdbc.EquivocationEvidence, time_ms: int) -> bool:
        """Store ``evidence``; ``False`` if it was already held."""
        first = sdbc.encode_message(evidence.first)
        second = sdbc.encode_message(evidence.second)
        hub, epoch = evidence.hub, evidence.first.epoch
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO evidence VALUES (?, ?, ?, ?, ?, 0)",
            (hub, epoch, first, second, time_ms),
        )
        if cursor.rowcount == 0:
            return False
        body = _evidence_body(hub, epoch, first, second)
        self._audit(EntryKind.EQUIVOCATION_EVIDENCE, body, time_ms, None, "evidence",
                    hub=hub, epoch=epoch, first=first, second=second)  # fmt: skip
        return True

    def decisions(self) -> Iterator[tuple[int, int, bytes, str]]:
        """``(epoch, round, value_hash, aggregate)`` of every decision."""
        for epoch, round_, value_hash, aggregate in self._db.execute(
            "SELECT epoch, round, value_hash, aggregate FROM decisions ORDER BY epoch"
        ):
            yield int(epoch), int(round_), bytes(value_hash), str(aggregate)

    def decision_precommits(self, epoch: int) -> list[bytes]:
        row = self._db.execute(
            "SELECT precommits FROM decisions WHERE epoch=?", (epoch,)
        ).fetchone()
        return [] if row is None else [bytes(b) for b in cbor2.loads(row[0])]

    def evidence_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM evidence").fetchone()[0])
