"""Persistent stores: the SQLite audit log and its signed checkpoints
(C2SP signed notes).  See :mod:`vigilnet.store._audit`."""

from vigilnet.store._audit import (
    DEFAULT_RETENTION_MS,
    AuditLog,
    AuditLogError,
    Checkpoint,
    Entry,
    EntryKind,
    VerifyReport,
    checkpoint_text,
    entry_leaf,
    read_origin,
)
from vigilnet.store._note import MAX_NOTE_BYTES, NoteError, NoteVerifier, open_note, sign_note

__all__ = [
    "DEFAULT_RETENTION_MS",
    "MAX_NOTE_BYTES",
    "AuditLog",
    "AuditLogError",
    "Checkpoint",
    "Entry",
    "EntryKind",
    "NoteError",
    "NoteVerifier",
    "VerifyReport",
    "checkpoint_text",
    "entry_leaf",
    "open_note",
    "read_origin",
    "sign_note",
]
