"""``vigilnet audit``: keep, prove and verify an audit log file.

Keys: the signing key is read from a :class:`~vigilnet.crypto.FileKeyStore`
(``--keystore DIR --key NAME``) under the passphrase in the environment
variable ``VIGILNET_PASSPHRASE`` (never on the command line); commands that
only read take the public key instead (``--public-key HEX``), or the
keystore's public key.  Entry bodies are written and shown in CBOR
diagnostic notation (RFC 8949 section 8: ``{"epoch": 7, "root": h'00ff'}``).

Exit status: 0 on success, 1 when ``verify`` or a proof fails (one line
naming the entry, node or checkpoint), 2 on a usage error or a file that
cannot be used.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from vigilnet.crypto import KeyStoreError, SigningKey, VerifyKey
from vigilnet.crypto.cli import fail, open_keystore
from vigilnet.errors import InvalidKeyError, RemoteProtocolError, VigilnetError
from vigilnet.store._audit import (
    DEFAULT_RETENTION_MS,
    AuditLog,
    AuditLogError,
    EntryKind,
    read_origin,
)
from vigilnet.vectors._diagnostic import diagnostic, parse_diagnostic

__all__ = ["audit"]

_DAY_MS = 24 * 3600 * 1000


def _key(
    keystore: Path | None, name: str | None, public: str | None, signing: bool
) -> SigningKey | VerifyKey:
    if public is not None and not signing:
        try:
            return VerifyKey(bytes.fromhex(public))
        except (ValueError, InvalidKeyError) as exc:
            fail(f"--public-key: {exc}")
    if keystore is None or name is None:
        need = "--keystore and --key" if signing else "--public-key, or --keystore and --key"
        fail(f"this command needs {need}")
    store = open_keystore(keystore)
    try:
        return store.get(name) if signing else store.public_key(name)
    except KeyStoreError as exc:
        fail(str(exc))


def _open(log: Path, key: SigningKey | VerifyKey, *, create: str | None = None) -> AuditLog:
    try:
        origin = create if create is not None else read_origin(log)
        return AuditLog(log, origin, key, create=create is not None)
    except AuditLogError as exc:
        fail(str(exc))


_LOG = click.argument("log", type=click.Path(path_type=Path, dir_okay=False))
_KEYSTORE = click.option(
    "--keystore", type=click.Path(path_type=Path, file_okay=False), help="FileKeyStore directory"
)
_KEYNAME = click.option("--key", "key_name", help="key name in the keystore")
_PUBLIC = click.option("--public-key", help="the log's public key, 64 hex digits")


def _with_log(signing: bool) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def wrap(function: Callable[..., None]) -> Callable[..., None]:
        for option in (_PUBLIC, _KEYNAME, _KEYSTORE):
            function = option(function)
        return _LOG(function)

    return wrap


@click.group()
def audit() -> None:
    """Keep, prove and verify an audit log (an RFC 9162 Merkle log in SQLite)."""


@audit.command("keygen")
@_KEYSTORE
@_KEYNAME
def keygen(keystore: Path | None, key_name: str | None) -> None:
    """Make a new signing key in the keystore; print its public key."""
    if keystore is None or key_name is None:
        fail("keygen needs --keystore and --key")
    store = open_keystore(keystore)
    if key_name in store.names():
        fail(f"key {key_name!r} exists already; not replaced")
    key = SigningKey.generate()
    try:
        store.put(key_name, key)
    except KeyStoreError as exc:
        fail(str(exc))
    click.echo(bytes(key.verify_key).hex())


@audit.command("create")
@_with_log(signing=False)
@click.option(
    "--origin", required=True, help="the log's origin line (a name, e.g. vigilnet.example/hub-0)"
)
def create(
    log: Path, keystore: Path | None, key_name: str | None, public_key: str | None, origin: str
) -> None:
    """Create an empty log."""
    if log.exists():
        fail(f"{log} exists already")
    key = _key(keystore, key_name, public_key, signing=False)
    _open(log, key, create=origin).close()
    click.echo(f"created {log} (origin {origin})")


def _kind(text: str) -> EntryKind:
    try:
        return EntryKind(text)
    except ValueError:
        fail(f"unknown kind {text!r}: one of {', '.join(k.value for k in EntryKind)}")


@audit.command("append")
@_with_log(signing=False)
@click.option("--kind", help="decision, certificate, key-event, reputation-penalty, ...")
@click.option("--time-ms", type=int, help="the entry's time, milliseconds since the epoch")
@click.option("--body", help="the body in CBOR diagnostic notation")
@click.option(
    "--batch",
    type=click.File("r"),
    help="JSON lines {kind, time_ms, body} appended in one transaction ('-' reads stdin)",
)
def append(
    log: Path,
    keystore: Path | None,
    key_name: str | None,
    public_key: str | None,
    kind: str | None,
    time_ms: int | None,
    body: str | None,
    batch: Any,
) -> None:
    """Append one entry, or a batch; print the indices once durable."""
    items = []
    try:
        if batch is not None:
            if kind or body or time_ms is not None:
                fail("--batch excludes --kind, --time-ms and --body")
            for number, line in enumerate(batch, 1):
                if not line.strip():
                    continue
                record = json.loads(line)
                if not isinstance(record, dict) or set(record) != {"kind", "time_ms", "body"}:
                    fail(f"batch line {number}: an object with kind, time_ms, body")
                items.append(
                    (_kind(record["kind"]), parse_diagnostic(record["body"]), record["time_ms"])
                )
        else:
            if kind is None or time_ms is None or body is None:
                fail("append needs --kind, --time-ms and --body (or --batch)")
            items.append((_kind(kind), parse_diagnostic(body), time_ms))
    except (ValueError, RemoteProtocolError) as exc:
        fail(f"bad entry: {exc}")
    with _open(log, _key(keystore, key_name, public_key, signing=False)) as opened:
        try:
            indices = opened.append_many(items)
        except AuditLogError as exc:
            fail(str(exc))
    click.echo(" ".join(map(str, indices)))


@audit.command("checkpoint")
@_with_log(signing=True)
def checkpoint(
    log: Path, keystore: Path | None, key_name: str | None, public_key: str | None
) -> None:
    """Sign a checkpoint of the current tree; print the signed note."""
    with _open(log, _key(keystore, key_name, public_key, signing=True)) as opened:
        try:
            click.echo(opened.checkpoint().note, nl=False)
        except AuditLogError as exc:
            fail(str(exc))


@audit.command("prove")
@_with_log(signing=False)
@click.option("--index", type=int, help="prove this entry's inclusion")
@click.option("--size", type=int, help="in the checkpoint of this size (default: the latest)")
@click.option(
    "--from", "old_size", type=int, help="prove the checkpoint of this size consistent with --size"
)
def prove(
    log: Path,
    keystore: Path | None,
    key_name: str | None,
    public_key: str | None,
    index: int | None,
    size: int | None,
    old_size: int | None,
) -> None:
    """Print an inclusion or consistency proof against signed checkpoints, as JSON."""
    if (index is None) == (old_size is None):
        fail("prove needs exactly one of --index and --from")
    with _open(log, _key(keystore, key_name, public_key, signing=False)) as opened:
        try:
            new = opened.latest_checkpoint() if size is None else opened.checkpoint_at(size)
            if new is None:
                fail("the log has no checkpoint yet (run `vigilnet audit checkpoint`)")
            out: dict[str, Any] = {"checkpoint": new.note}
            if index is not None:
                proof = opened.inclusion_proof(index, new)
                entry = opened.entry(index)
                out |= {
                    "index": index,
                    "treeSize": new.size,
                    "leafHash": base64.b64encode(entry.leaf_hash).decode(),
                    "path": [base64.b64encode(h).decode() for h in proof.audit_path],
                }
            else:
                assert old_size is not None
                old = opened.checkpoint_at(old_size)
                consistency = opened.consistency_proof(old, new)
                out |= {
                    "oldCheckpoint": old.note,
                    "oldSize": old.size,
                    "newSize": new.size,
                    "path": [base64.b64encode(h).decode() for h in consistency.consistency_path],
                }
        except AuditLogError as exc:
            fail(str(exc), code=1)
    click.echo(json.dumps(out, indent=2, sort_keys=True))


@audit.command("verify")
@_with_log(signing=False)
def verify(log: Path, keystore: Path | None, key_name: str | None, public_key: str | None) -> None:
    """Recompute and check the whole log and its chain of checkpoints."""
    with _open(log, _key(keystore, key_name, public_key, signing=False)) as opened:
        try:
            report = opened.verify()
        except AuditLogError as exc:
            click.echo(f"FAIL {log}: {' '.join(str(exc).split())}")
            sys.exit(1)
    click.echo(
        f"OK {log}: {report.entries} entries ({report.pruned} pruned), "
        f"{report.nodes} nodes, {report.checkpoints} checkpoints"
    )


@audit.command("prune")
@_with_log(signing=False)
@click.option("--now-ms", type=int, required=True, help="the current time, ms since the epoch")
@click.option(
    "--retention-days",
    type=click.IntRange(min=0),
    default=DEFAULT_RETENTION_MS // _DAY_MS,
    show_default=True,
)
def prune(
    log: Path,
    keystore: Path | None,
    key_name: str | None,
    public_key: str | None,
    now_ms: int,
    retention_days: int,
) -> None:
    """Drop the bodies of entries older than the retention; keep every hash."""
    with _open(log, _key(keystore, key_name, public_key, signing=False)) as opened:
        try:
            dropped = opened.prune(now_ms, retention_days * _DAY_MS)
        except AuditLogError as exc:
            fail(str(exc))
    click.echo(f"pruned {dropped} bodies")


@audit.command("show")
@_with_log(signing=False)
@click.option("--index", type=int, help="show one entry")
def show(
    log: Path,
    keystore: Path | None,
    key_name: str | None,
    public_key: str | None,
    index: int | None,
) -> None:
    """Show the log's size and checkpoints, or one entry."""
    with _open(log, _key(keystore, key_name, public_key, signing=False)) as opened:
        try:
            if index is not None:
                entry = opened.entry(index)
                body = "(pruned)" if entry.body is None else diagnostic(opened.body(index))
                click.echo(f"entry {entry.index}: {entry.kind.value} at {entry.time_ms} ms: {body}")
                return
            click.echo(f"{log}: origin {opened.origin}, {opened.size} entries")
            for cp in opened.checkpoints():
                click.echo(f"checkpoint at size {cp.size}: root {cp.root.hex()}")
        except (AuditLogError, VigilnetError) as exc:
            fail(str(exc), code=1)
