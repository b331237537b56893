"""``vigilnet simulate --audit-log FILE``: the run's record, verified by
``vigilnet audit verify``."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.sim._small import small
from vigilnet.cli import main
from vigilnet.crypto import VerifyKey
from vigilnet.encoding import sign_bytes
from vigilnet.protocols import sdbc
from vigilnet.sim._auditlog import audit_origin, write_audit_log
from vigilnet.sim._deployment import run_deployment
from vigilnet.sim._scenario import KeyRotation
from vigilnet.store import AuditLog, AuditLogError, EntryKind


def _run_cli(tmp_path: Path, *args: str) -> tuple[Path, str]:
    log = tmp_path / "run.audit"
    out = CliRunner().invoke(
        main,
        ["simulate", "--agents", "2000", "--epochs", "6", "--audit-log", str(log), *args],
    )
    assert out.exit_code == 0, out.output
    found = re.search(r"--public-key ([0-9a-f]{64})", out.output)
    assert found, out.output
    return log, found.group(1)


def test_the_key_rotation_run_writes_a_log_that_audit_verify_accepts(tmp_path: Path) -> None:
    log, public = _run_cli(tmp_path, "--scenario", "key-rotation")
    verified = CliRunner().invoke(main, ["audit", "verify", str(log), "--public-key", public])
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith(f"OK {log}: ")
    opened = AuditLog(log, audit_origin("key-rotation", 1), VerifyKey(bytes.fromhex(public)))
    try:
        entries = [opened.entry(i) for i in range(opened.size)]
        bodies = [opened.body(i) for i in range(opened.size)]
        assert len(opened.checkpoints()) == 6
    finally:
        opened.close()
    kinds = [e.kind for e in entries]
    assert kinds.count(EntryKind.DECISION) == kinds.count(EntryKind.CERTIFICATE) == 6
    key_events = [b for e, b in zip(entries, bodies, strict=True) if e.kind is EntryKind.KEY_EVENT]
    hub_events = [b for b in key_events if not b["node"].startswith("shap.")]  # type: ignore[index, union-attr]
    assert [(b["kind"], b["epoch"]) for b in hub_events] == (  # type: ignore[index]
        [("certificate", 0)] * 5
        + [("certificate", 3)] * 5
        + [("revocation", 5), ("recovery", 5), ("certificate", 5), ("refused", 5)]
    )
    # and every SHAP key's certificate: 3 monitors, 1 regional, 5 standbys, 5 hubs, twice
    assert len(key_events) - len(hub_events) == 2 * 14
    # a configuration entry where the hub keys change: epochs 1, 3 and 5
    changes = [b for e, b in zip(entries, bodies, strict=True) if e.kind is EntryKind.CONFIG_CHANGE]
    assert [b["epoch"] for b in changes] == [1, 3, 5]  # type: ignore[index]
    # each certificate entry is the real certificate: its precommits verify
    # under the members the configuration entry before it names
    members: tuple[VerifyKey, ...] = ()
    for e, b in zip(entries, bodies, strict=True):
        assert isinstance(b, dict)
        if e.kind is EntryKind.CONFIG_CHANGE:
            members = tuple(VerifyKey(k) for k in b["members"])  # type: ignore[union-attr, arg-type]
        elif e.kind is EntryKind.CERTIFICATE:
            precommits = b["precommits"]
            assert isinstance(precommits, (tuple, list)) and len(precommits) >= 4
            for p in precommits:
                assert isinstance(p, dict)
                hub, signature = p["hub"], p["signature"]
                assert isinstance(hub, int) and isinstance(signature, bytes)
                vote = sdbc.Vote(
                    kind=sdbc.PRECOMMIT,
                    epoch=b["epoch"],  # type: ignore[arg-type]
                    config_hash=b["config_hash"],  # type: ignore[arg-type]
                    round=b["round"],  # type: ignore[arg-type]
                    hub=hub,
                    value_hash=b["value_hash"],  # type: ignore[arg-type]
                    signature=signature,
                )
                members[hub].verify(
                    sign_bytes(sdbc.VOTE_TAGS[sdbc.PRECOMMIT], vote.fields()), signature
                )
    # times are simulated milliseconds, non-decreasing
    times = [e.time_ms for e in entries]
    assert times == sorted(times) and times[-1] == 6 * 60_000


def test_byzantine_run_logs_evidence_and_penalties(tmp_path: Path) -> None:
    log, public = _run_cli(tmp_path, "--scenario", "byzantine")
    verified = CliRunner().invoke(main, ["audit", "verify", str(log), "--public-key", public])
    assert verified.exit_code == 0, verified.output
    opened = AuditLog(log, audit_origin("byzantine", 1), VerifyKey(bytes.fromhex(public)))
    try:
        kinds = {opened.entry(i).kind for i in range(opened.size)}
    finally:
        opened.close()
    assert EntryKind.EQUIVOCATION_EVIDENCE in kinds
    assert EntryKind.REPUTATION_PENALTY in kinds


def test_an_existing_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    log = tmp_path / "run.audit"
    log.write_bytes(b"not mine")
    out = CliRunner().invoke(main, ["simulate", "--agents", "2000", "--audit-log", str(log)])
    assert out.exit_code != 0 and "exists" in out.output
    assert log.read_bytes() == b"not mine"
    out = CliRunner().invoke(
        main, ["simulate", "--seeds", "2", "--agents", "2000", "--audit-log", str(tmp_path / "x")]
    )
    assert out.exit_code != 0 and "one run" in out.output


def test_same_seed_same_tree(tmp_path: Path) -> None:
    scenario = replace(
        small(epochs=3), key_rotation=KeyRotation(enabled=True, rotate_epoch=2, revoke_epoch=3)
    )
    roots = []
    for name in ("a", "b"):
        s = write_audit_log(run_deployment(scenario), tmp_path / name)
        opened = AuditLog(s.path, s.origin, VerifyKey(bytes.fromhex(s.public_key)))
        try:
            roots.append((opened.root(), s.public_key, s.by_kind))
        finally:
            opened.close()
    assert roots[0] == roots[1]
    before = (tmp_path / "a").read_bytes()
    with pytest.raises(AuditLogError, match="exists"):
        write_audit_log(run_deployment(scenario), tmp_path / "a")
    assert (tmp_path / "a").read_bytes() == before
