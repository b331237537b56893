"""The operations runbooks run as written: every ``sh`` block of
docs/operations/audit.md, in order, in one shell, in an empty directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def _blocks(page: Path) -> str:
    return "\n".join(re.findall(r"```sh\n(.*?)```", page.read_text(), flags=re.S))


def test_the_audit_runbook_runs_as_written(tmp_path: Path) -> None:
    script = _blocks(REPO_ROOT / "docs" / "operations" / "audit.md")
    assert script.count("vigilnet audit") >= 12
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIGILNET_PASSPHRASE", None)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(
        r"^OK hub-0\.audit: 4 entries \(0 pruned\), 3 nodes, 2 checkpoints$", out, re.M
    ), out
    assert re.search(
        r"^OK hub-0\.audit: 4 entries \(2 pruned\), 3 nodes, 2 checkpoints$", out, re.M
    ), out
    assert 'entry 0: decision at 1767225600000 ms: {"epoch": 1, "value": h\'00ff\'}' in out
    assert "entry 0 still proven" in out
    assert (tmp_path / "inclusion-1.json").read_text().count('"path"') == 1
