"""``vigilnet keys``: make, split, recover, certify, cosign, revoke and check
keys.

Secrets live in a :class:`~vigilnet.crypto.FileKeyStore` (``--keystore
DIR``) under the passphrase in ``VIGILNET_PASSPHRASE``; shares, policies,
certificates and revocations are JSON files (docs/crypto.md), written
atomically with mode 0600 for shares.  Every input file is hostile until
checked: a malformed, foreign or tampered one is refused with one line.

Exit status: 0 on success, 1 when ``check`` refuses the history (one
``FAIL`` line with the reason), 2 on a usage error or a file refused.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import click

from vigilnet.crypto._keys import SigningKey, VerifyKey
from vigilnet.crypto._keystore import FileKeyStore, KeyStoreError
from vigilnet.crypto._lifecycle import (
    KeyCertificate,
    KeyLifecycleError,
    KeyPolicy,
    KeyRegistry,
    Revocation,
    cosign,
)
from vigilnet.crypto._shamir import Share, ShareError, recover_signing_key, split_signing_key
from vigilnet.errors import InvalidKeyError, LocalProtocolError
from vigilnet.thresholds import parse_threshold

__all__ = ["PASSPHRASE_ENV", "fail", "keys", "open_keystore"]

PASSPHRASE_ENV = "VIGILNET_PASSPHRASE"
SHARE_FORMAT = "vigilnet-share/v1"
MAX_JSON_BYTES = 1 << 20


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one `error: ...` line and exit (2: usage or a refused file)."""
    click.echo(f"error: {' '.join(message.split())}", err=True)
    sys.exit(code)


def open_keystore(directory: Path) -> FileKeyStore:
    """The keystore at `directory` under the passphrase in VIGILNET_PASSPHRASE."""
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if passphrase is None:
        fail(f"set {PASSPHRASE_ENV} to the keystore's passphrase")
    try:
        return FileKeyStore(directory, passphrase.encode())
    except KeyStoreError as exc:
        fail(str(exc))


def _get(store: FileKeyStore, name: str) -> SigningKey:
    try:
        return store.get(name)
    except KeyStoreError as exc:
        fail(str(exc))


def _read_json(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            fail(f"{path}: larger than {MAX_JSON_BYTES} bytes")
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{path}: {exc}")


def _write_json(path: Path, data: Mapping[str, Any], mode: int = 0o644) -> None:
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def _public(text: str, what: str) -> VerifyKey:
    try:
        return VerifyKey(bytes.fromhex(text))
    except (ValueError, InvalidKeyError) as exc:
        fail(f"{what}: {exc}")


def _policy(path: Path) -> KeyPolicy:
    try:
        return KeyPolicy.from_json(_read_json(path))
    except KeyLifecycleError as exc:
        fail(f"{path}: {exc}")


def _event(path: Path) -> KeyCertificate | Revocation:
    data = _read_json(path)
    try:
        if isinstance(data, dict) and "fromEpoch" in data:
            return Revocation.from_json(data)
        return KeyCertificate.from_json(data)
    except KeyLifecycleError as exc:
        fail(f"{path}: {exc}")


_KEYSTORE = click.option(
    "--keystore",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="FileKeyStore directory",
)


@click.group()
def keys() -> None:
    """Operational keys: rotation certificates, revocation, 3-of-5 recovery."""


@keys.command("keygen")
@_KEYSTORE
@click.option("--key", "name", required=True, help="the key's name in the keystore")
def keygen(keystore: Path, name: str) -> None:
    """Make a new signing key; print its public key."""
    store = open_keystore(keystore)
    if name in store.names():
        fail(f"key {name!r} exists already; not replaced")
    key = SigningKey.generate()
    try:
        store.put(name, key)
    except KeyStoreError as exc:
        fail(str(exc))
    click.echo(bytes(key.verify_key).hex())


@keys.command("public")
@_KEYSTORE
@click.option("--key", "name", required=True)
def public(keystore: Path, name: str) -> None:
    """Print a stored key's public key."""
    click.echo(bytes(_get(open_keystore(keystore), name).verify_key).hex())


@keys.command("split")
@_KEYSTORE
@click.option("--key", "name", required=True, help="the key to split (an identity key)")
@click.option("--threshold", type=click.IntRange(1, 255), default=3, show_default=True)
@click.option("--shares", "total", type=click.IntRange(1, 255), default=5, show_default=True)
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False))
def split(keystore: Path, name: str, threshold: int, total: int, out: Path) -> None:
    """Split a key into shares (any THRESHOLD recover it), one 0600 file each."""
    key = _get(open_keystore(keystore), name)
    try:
        shares = split_signing_key(key, threshold, total)
    except LocalProtocolError as exc:
        fail(str(exc))
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    for share in shares:
        path = out / f"{name}.share-{share.x}.json"
        _write_json(
            path,
            {
                "format": SHARE_FORMAT,
                "key": name,
                "publicKey": bytes(key.verify_key).hex(),
                **share.to_json(),
            },
            mode=0o600,
        )
        click.echo(str(path))


def _share(path: Path) -> Share:
    data = _read_json(path)
    wrapper = {"format", "key", "publicKey"}
    if not isinstance(data, dict) or not wrapper <= set(data) or data["format"] != SHARE_FORMAT:
        fail(f"{path}: not a {SHARE_FORMAT} file")
    try:
        return Share.from_json({k: v for k, v in data.items() if k not in wrapper})
    except ShareError as exc:
        fail(f"{path}: {exc}")


@keys.command("recover")
@_KEYSTORE
@click.option("--key", "name", required=True, help="store the recovered key under this name")
@click.option(
    "--public-key", required=True, help="the key's known public key (never taken from a share)"
)
@click.argument("shares", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
def recover(keystore: Path, name: str, public_key: str, shares: tuple[Path, ...]) -> None:
    """Recover a key from shares, each checked against the known public key."""
    expected = _public(public_key, "--public-key")
    try:
        key = recover_signing_key([_share(p) for p in shares], expected)
    except ShareError as exc:
        fail(str(exc))
    store = open_keystore(keystore)
    if name in store.names():
        fail(f"key {name!r} exists already; not replaced")
    try:
        store.put(name, key)
    except KeyStoreError as exc:
        fail(str(exc))
    click.echo(f"recovered {bytes(key.verify_key).hex()} as {name!r}")


@keys.command("policy")
@click.option(
    "--hub", "hubs", multiple=True, required=True, help="a hub's public key, in hub order"
)
@click.option("--threshold", default="3/4", show_default=True)
@click.option("--validity-epochs", type=int, default=90 * 24 * 60, show_default=True)
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False))
def policy(hubs: tuple[str, ...], threshold: str, validity_epochs: int, out: Path) -> None:
    """Write the cosigning policy: hub keys, threshold, longest validity."""
    try:
        made = KeyPolicy(
            hubs=tuple(_public(h, "--hub") for h in hubs),
            threshold=parse_threshold(threshold),
            validity_epochs=validity_epochs,
        )
    except (KeyLifecycleError, LocalProtocolError) as exc:
        fail(str(exc))
    _write_json(out, made.to_json())
    click.echo(f"policy {made.hubs_hash.hex()}: {len(made.hubs)} hubs, quorum {made.quorum}")


@keys.command("certify")
@_KEYSTORE
@click.option(
    "--policy", "policy_path", required=True, type=click.Path(path_type=Path, dir_okay=False)
)
@click.option("--node", required=True)
@click.option("--serial", type=int, required=True)
@click.option("--new-key", required=True, help="the certified key's name in the keystore")
@click.option("--signed-by", required=True, help="the previous key's or the identity key's name")
@click.option("--signer", type=click.Choice(["previous", "identity"]), required=True)
@click.option("--from", "valid_from", type=int, required=True, help="first valid epoch")
@click.option("--until", "valid_until", type=int, required=True, help="first epoch no longer valid")
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False))
def certify(
    keystore: Path,
    policy_path: Path,
    node: str,
    serial: int,
    new_key: str,
    signed_by: str,
    signer: str,
    valid_from: int,
    valid_until: int,
    out: Path,
) -> None:
    """Write a certificate for a key, signed by the previous or identity key."""
    store = open_keystore(keystore)
    chosen = _policy(policy_path)
    try:
        cert = KeyCertificate.issue(
            node=node,
            serial=serial,
            key=_get(store, new_key).verify_key,
            valid_from=valid_from,
            valid_until=valid_until,
            signed_by=_get(store, signed_by),
            signer=signer,
            policy=chosen,
        )
    except KeyLifecycleError as exc:
        fail(str(exc))
    _write_json(out, cert.to_json())
    click.echo(
        f"{out}: key {serial} of {node}, epochs [{valid_from}, {valid_until}), no cosignatures yet"
    )


@keys.command("revoke")
@click.option(
    "--policy", "policy_path", required=True, type=click.Path(path_type=Path, dir_okay=False)
)
@click.option("--node", required=True)
@click.option("--serial", type=int, required=True)
@click.option(
    "--from", "from_epoch", type=int, required=True, help="the key is void from this epoch"
)
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False))
def revoke(policy_path: Path, node: str, serial: int, from_epoch: int, out: Path) -> None:
    """Write a revocation, to be cosigned by a quorum of hubs."""
    chosen = _policy(policy_path)
    try:
        revocation = Revocation(
            node=node, serial=serial, from_epoch=from_epoch, hubs_hash=chosen.hubs_hash
        )
    except KeyLifecycleError as exc:
        fail(str(exc))
    _write_json(out, revocation.to_json())
    click.echo(f"{out}: revoke key {serial} of {node} from epoch {from_epoch}, no cosignatures yet")


@keys.command("cosign")
@_KEYSTORE
@click.option(
    "--policy", "policy_path", required=True, type=click.Path(path_type=Path, dir_okay=False)
)
@click.option("--key", "name", required=True, help="this hub's key in the keystore")
@click.argument("event", type=click.Path(path_type=Path, dir_okay=False))
def cosign_command(keystore: Path, policy_path: Path, name: str, event: Path) -> None:
    """Add this hub's cosignature to a certificate or revocation file."""
    chosen = _policy(policy_path)
    signed = _event(event)
    if signed.hubs_hash != chosen.hubs_hash:
        fail(f"{event}: made for another policy (hubsHash differs)")
    key = _get(open_keystore(keystore), name)
    try:
        index = [bytes(h) for h in chosen.hubs].index(bytes(key.verify_key))
    except ValueError:
        fail(f"key {name!r} is not one of the policy's hubs")
    pairs = dict(signed.cosignatures)
    pairs[index] = cosign(key, signed)
    _write_json(event, signed.with_cosignatures(pairs).to_json())
    click.echo(f"{event}: cosigned by hub {index} ({len(pairs)} of quorum {chosen.quorum})")


@keys.command("check")
@click.option(
    "--policy", "policy_path", required=True, type=click.Path(path_type=Path, dir_okay=False)
)
@click.option("--identity", required=True, help="the node's identity public key")
@click.option("--at", "epochs", type=int, multiple=True, help="print the key valid at this epoch")
@click.argument("events", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
def check(
    policy_path: Path, identity: str, epochs: tuple[int, ...], events: tuple[Path, ...]
) -> None:
    """Replay a node's certificates and revocations, in the order given,
    through the key registry; print the key valid at each --at epoch."""
    registry = KeyRegistry(_policy(policy_path))
    parsed = [(path, _event(path)) for path in events]
    node = parsed[0][1].node
    registry.enroll(node, _public(identity, "--identity"))
    for path, event in parsed:
        try:
            if isinstance(event, KeyCertificate):
                registry.add(event)
            else:
                registry.revoke(event)
        except KeyLifecycleError as exc:
            click.echo(f"FAIL {path}: {exc}")
            sys.exit(1)
    click.echo(f"OK {node}: {len(registry.certificates(node))} certificates")
    for epoch in epochs:
        try:
            click.echo(f"epoch {epoch}: {bytes(registry.key_at(node, epoch)).hex()}")
        except KeyLifecycleError as exc:
            click.echo(f"epoch {epoch}: no key ({exc})")
