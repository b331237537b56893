"""The operations runbooks run as written: every ``sh`` block of
docs/operations/audit.md and of docs/operations/keys.md, in order, in one
shell, in an empty directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def _blocks(page: Path) -> str:
    return "\n".join(re.findall(r"```sh\n(.*?)```", page.read_text(), flags=re.S))


def _run(page: str, cwd: Path) -> str:
    script = _blocks(REPO_ROOT / "docs" / "operations" / page)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIGILNET_PASSPHRASE", None)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_audit_runbook_runs_as_written(tmp_path: Path) -> None:
    assert _blocks(REPO_ROOT / "docs" / "operations" / "audit.md").count("vigilnet audit") >= 12
    out = _run("audit.md", tmp_path)
    assert re.search(
        r"^OK hub-0\.audit: 4 entries \(0 pruned\), 3 nodes, 2 checkpoints$", out, re.M
    ), out
    assert re.search(
        r"^OK hub-0\.audit: 4 entries \(2 pruned\), 3 nodes, 2 checkpoints$", out, re.M
    ), out
    assert 'entry 0: decision at 1767225600000 ms: {"epoch": 1, "value": h\'00ff\'}' in out
    assert "entry 0 still proven" in out
    assert (tmp_path / "inclusion-1.json").read_text().count('"path"') == 1


def test_the_keys_runbook_runs_as_written(tmp_path: Path) -> None:
    out = _run("keys.md", tmp_path)
    keys = {
        name: subprocess_public(tmp_path, name) for name in ("monitor-7-op-0", "monitor-7-op-1")
    }
    assert re.search(r"^policy [0-9a-f]{64}: 5 hubs, quorum 4$", out, re.M), out
    assert len(list((tmp_path / "shares").glob("*.json"))) == 5
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in (tmp_path / "shares").glob("*.json"))
    assert f"epoch 0: {keys['monitor-7-op-0']}" in out
    assert f"epoch 119999: {keys['monitor-7-op-0']}" in out
    assert f"epoch 120000: {keys['monitor-7-op-1']}" in out
    assert f"epoch 129999: {keys['monitor-7-op-1']}" in out
    assert "epoch 130000: no key (revoked: key 1 of 'monitor-7' is void from epoch 130000)" in out
    assert "OK monitor-7: 3 certificates" in out
    recovered = subprocess_public(tmp_path, "monitor-7-op-2", keystore="recovered")
    assert out.rstrip().endswith(f"epoch 130000: {recovered}")


def subprocess_public(cwd: Path, name: str, keystore: str = "keys") -> str:
    env = dict(os.environ) | {
        "VIGILNET_PASSPHRASE": "use a long passphrase from your secret manager"
    }
    done = subprocess.run(
        [sys.executable, "-m", "vigilnet", "keys", "public", "--keystore", keystore, "--key", name],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()
