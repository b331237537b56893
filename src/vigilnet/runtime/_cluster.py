"""A loopback cluster of hub processes: generate, up, status, down.

Theory of operation
-------------------
:func:`generate` writes, in one folder, each hub's seed (``hub-i/key.seed``,
mode 0600), its certificate (``hub-i/cert.pem``, :func:`make_certificate`)
and its ``hub-i/node.json`` (the peers' addresses, hub indices and
certificate files; the member keys in order).  :func:`up` starts one
``vigilnet node --config`` OS process per hub and writes its pid to
``hub-i/pid``; :func:`status` reads each hub's store (``state.db``) and
whether its process is alive; :func:`down` sends SIGTERM to each pid.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from vigilnet.crypto import SigningKey
from vigilnet.errors import LocalProtocolError, ensure
from vigilnet.runtime._transport import make_certificate


def generate(folder: Path, hubs: int = 5, base_port: int = 47100, epochs: int | None = None,
             status_base: int | None = None, host: str = "127.0.0.1") -> list[Path]:  # fmt: skip
    """Write keys, certificates and configs for ``hubs`` hubs; the configs' paths."""
    ensure(not (folder / "hub-0").exists(), f"{folder} already holds a cluster",
           raising=LocalProtocolError)  # fmt: skip
    keys = [SigningKey.generate() for _ in range(hubs)]
    names = [f"hub-{i}" for i in range(hubs)]
    for name, key in zip(names, keys, strict=True):
        (folder / name).mkdir(parents=True)
        seed = folder / name / "key.seed"
        seed.write_text(key.seed.hex())
        seed.chmod(0o600)
        (folder / name / "cert.pem").write_bytes(make_certificate(key, name)[0])
    paths = []
    for i, name in enumerate(names):
        config: dict[str, Any] = {
            "name": name, "hub": i, "host": host, "port": base_port + i,
            "seed_file": "key.seed", "data_dir": "data",
            "members": [bytes(k.verify_key).hex() for k in keys],
            "peers": [{"name": names[j], "hub": j, "host": host, "port": base_port + j,
                       "certificate": f"../{names[j]}/cert.pem"} for j in range(hubs) if j != i],
        }  # fmt: skip
        if epochs is not None:
            config["epochs"] = epochs
        if status_base is not None:
            config["status_port"] = status_base + i
        path = folder / name / "node.json"
        path.write_text(json.dumps(config, indent=2))
        paths.append(path)
    return paths


def hub_folders(folder: Path) -> list[Path]:
    return sorted((p for p in folder.glob("hub-*") if p.is_dir()), key=lambda p: int(p.name[4:]))


def start(config: Path, log_name: str = "node.log") -> subprocess.Popen[bytes]:
    """One node process; its pid in the config's folder."""
    log = (config.parent / log_name).open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "vigilnet", "node", "--config", str(config)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    (config.parent / "pid").write_text(str(process.pid))
    return process


def up(folder: Path) -> list[int]:
    return [start(f / "node.json").pid for f in hub_folders(folder)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def status(folder: Path) -> list[dict[str, Any]]:
    """Each hub: pid, alive, decided epochs, last decision, evidence held."""
    rows = []
    for f in hub_folders(folder):
        pid_file = f / "pid"
        pid = int(pid_file.read_text()) if pid_file.exists() else None
        row: dict[str, Any] = {"name": f.name, "pid": pid, "alive": pid is not None and _alive(pid)}
        db = f / "data" / "state.db"
        if db.exists():
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
                    n, last = c.execute("SELECT COUNT(*), MAX(epoch) FROM decisions").fetchone()
                    row["decided"] = n
                    row["last_epoch"] = last
                    row["evidence"] = c.execute("SELECT COUNT(*) FROM evidence").fetchone()[0]
            except sqlite3.OperationalError as exc:  # a node starting: schema not yet created
                row["store"] = f"unreadable ({exc})"
        rows.append(row)
    return rows


def down(folder: Path) -> list[str]:
    stopped = []
    for f in hub_folders(folder):
        pid_file = f / "pid"
        if pid_file.exists():
            pid = int(pid_file.read_text())
            if _alive(pid):
                os.kill(pid, signal.SIGTERM)
                stopped.append(f.name)
            pid_file.unlink()
    return stopped
