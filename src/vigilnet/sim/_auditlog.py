"""``vigilnet simulate --audit-log FILE``: a run's record in an audit log.

Theory of operation
===================

After a run, every decision, decision certificate, key event, reputation
penalty, piece of equivocation evidence and configuration change is written,
epoch by epoch, into an audit log (:class:`~vigilnet.store.AuditLog`: an
RFC 9162 Merkle log in SQLite), with a signed checkpoint after each epoch.
``vigilnet audit verify FILE --public-key HEX`` then checks the whole file
and its chain of checkpoints.

* The log's key is derived from the run's root seed (``key/audit-log``): the
  same seed gives the same entries, the same tree and the same key.
  Checkpoint signatures are Ed25519 and deterministic, so the file's
  contents repeat too (SQLite's page layout aside).
* Times are simulated: milliseconds since the run's start (an epoch's key
  events at its start, its decision and certificate at its end).
* Bodies are canonical CBOR maps of integers, strings and bytes only
  (``docs/operations/audit.md``).  What each kind holds:

  ``config-change``  ``epoch``, ``config_hash``, ``threshold`` (numerator,
      denominator) and ``members`` (the hub keys), whenever the epoch's
      configuration differs from the one before (the first epoch included);
  ``key-event``  the key registry's events (``kind``: certificate,
      revocation, recovery, refused) with their fields;
  ``decision``  ``epoch``, ``value_hash``, ``round``, ``hubs`` (the honest
      hubs that decided it);
  ``certificate``  the decision certificate: ``epoch``, ``config_hash``,
      ``round``, ``value_hash`` and the ``precommits`` (hub, signature);
  ``equivocation-evidence`` and ``reputation-penalty``  the first proof (or,
      without proof, deadline alarm) against a node: ``node``, ``kind``,
      ``by``, ``epoch``, ``time_us``, ``proof``.

A file that already exists is refused before anything runs: a log is
appended to only by its own writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigilnet.crypto import SigningKey
from vigilnet.encoding import CborValue
from vigilnet.sim._deployment import RunResult
from vigilnet.store import AuditLog, AuditLogError, EntryKind

__all__ = ["AuditSummary", "audit_origin", "write_audit_log"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditSummary:
    path: Path
    origin: str
    public_key: str
    entries: int
    checkpoints: int
    by_kind: dict[str, int]


def audit_origin(name: str, seed: int) -> str:
    return f"vigilnet.sim/{name}/seed-{seed}"


def _cbor(value: Any) -> CborValue:
    """Key events as CBOR: lists become tuples (the codec's arrays)."""
    if isinstance(value, dict):
        return {str(k): _cbor(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_cbor(v) for v in value)
    if isinstance(value, (bool, int, str, bytes)):
        return value
    raise TypeError(f"not recordable in an audit entry: {type(value).__name__}")


def _epoch_entries(result: RunResult, epoch: int) -> Iterator[tuple[EntryKind, CborValue, int]]:
    d = result.deployment
    ms = d.scenario.epoch_ms
    start_ms, end_ms = (epoch - 1) * ms, epoch * ms
    plan = d.keyplan
    if plan is not None:
        for event in plan.events:
            due = max(event["epoch"], 1)
            if due == epoch:
                yield EntryKind.KEY_EVENT, _cbor(event), start_ms
    config = d.hub_config_at(epoch)
    if epoch == 1 or config.config_hash != d.hub_config_at(epoch - 1).config_hash:
        yield (
            EntryKind.CONFIG_CHANGE,
            {
                "epoch": epoch,
                "config_hash": config.config_hash,
                "threshold": (config.threshold.numerator, config.threshold.denominator),
                "members": tuple(bytes(k) for k in config.members),
            },
            start_ms,
        )
    hubs = d.scenario.topology.hubs
    decided = {
        h: d.decisions[(epoch, h)]
        for h in range(hubs)
        if (epoch, h) in d.decisions and d.honest(f"hub-{h}")
    }
    if decided:
        first = decided[min(decided)]
        agreeing = tuple(
            h for h, x in sorted(decided.items()) if x.value.value_hash == first.value.value_hash
        )
        cert = first.certificate
        yield (
            EntryKind.DECISION,
            {
                "epoch": epoch,
                "value_hash": first.value.value_hash,
                "round": cert.round,
                "hubs": agreeing,
            },
            end_ms,
        )
        yield (
            EntryKind.CERTIFICATE,
            {
                "epoch": cert.epoch,
                "config_hash": cert.config_hash,
                "round": cert.round,
                "value_hash": cert.value_hash,
                "precommits": tuple(
                    {"hub": v.hub, "signature": v.signature} for v in cert.precommits
                ),
            },
            end_ms,
        )
    for book in (d.detections, d.suspicions):
        for node, det in sorted(book.items()):
            if det.epoch != epoch:
                continue
            kind = (
                EntryKind.EQUIVOCATION_EVIDENCE
                if det.kind == "equivocation"
                else EntryKind.REPUTATION_PENALTY
            )
            body: CborValue = {
                "node": node,
                "kind": det.kind,
                "by": det.by,
                "epoch": det.epoch,
                "time_us": det.time_us,
                "proof": det.proof,
            }
            yield kind, body, end_ms


def write_audit_log(result: RunResult, path: Path) -> AuditSummary:
    """Write ``result``'s record to a new audit log at ``path``."""
    d = result.deployment
    key = SigningKey(d.seeds.random_bytes(32, "key", "audit-log"))
    origin = audit_origin(d.scenario.name, d.scenario.seed)
    try:
        path.open("xb").close()  # exclusive: never append to someone's log
    except FileExistsError:
        raise AuditLogError(f"{path} exists: an audit log is written once, by its run") from None
    log = AuditLog(path, origin, key, create=True)
    by_kind: dict[str, int] = {}
    checkpoints = 0
    try:
        for epoch in range(1, d.scenario.epochs + 1):
            items = list(_epoch_entries(result, epoch))
            log.append_many(items)
            for kind, _, _ in items:
                by_kind[kind.value] = by_kind.get(kind.value, 0) + 1
            if items:
                log.checkpoint()
                checkpoints += 1
        size = log.size
    finally:
        log.close()
    return AuditSummary(
        path=path,
        origin=origin,
        public_key=bytes(key.verify_key).hex(),
        entries=size,
        checkpoints=checkpoints,
        by_kind=dict(sorted(by_kind.items())),
    )
