"""Runtime bench: decided epochs per second and signature checks per second
across 5 hub processes on loopback (TLS 1.3, SQLite with synchronous=FULL,
every signed message stored before it is sent), beside the in-process
figure of ``bench/sdbc/run.py`` for the same number of epochs.

    .venv/bin/python bench/runtime/run.py [--epochs 40]

Signature checks are counted as in ``bench/sdbc/run.py``: every signed
message a hub sends is checked by each of the 4 others.  The wall time runs
from the first process's start to the last one's exit (process start-up and
TLS handshakes included).  Prints figures; never fails on a time.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

from vigilnet.runtime import _cluster

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sdbc"))
from run import run as run_in_process


def _free_base() -> int:
    """Five consecutive bindable ports below the ephemeral range."""
    for _ in range(200):
        base = 20_000 + int.from_bytes(os.urandom(2), "big") % 10_000
        try:
            for port in range(base, base + 5):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")


def run_processes(epochs: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        configs = _cluster.generate(root, 5, _free_base(), epochs=epochs)
        start = time.perf_counter()
        processes = [_cluster.start(c) for c in configs]
        for p in processes:
            p.wait(600)
        seconds = time.perf_counter() - start
        sent = 0
        for f in _cluster.hub_folders(root):
            for line in (f / "data" / "history.jsonl").read_text().splitlines():
                sent += json.loads(line)["kind"] == "sent"
            decided = _cluster.status(root)
            assert all(row["decided"] == epochs for row in decided), decided
        return seconds, sent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    seconds, sent = run_processes(args.epochs)
    in_seconds, in_sent = run_in_process(args.epochs, 3)
    runtime_rate, inproc_rate = args.epochs / seconds, args.epochs / in_seconds
    print(
        f"runtime, 5 hub processes: {args.epochs} epochs in {seconds:.3f} s = "
        f"{runtime_rate:,.1f} decided epochs/s ({sent} signed messages, "
        f"{sent * 4 / seconds:,.0f} signature checks/s)"
    )
    print(
        f"in process (bench/sdbc): {args.epochs} epochs in {in_seconds:.3f} s = "
        f"{inproc_rate:,.1f} decided epochs/s ({in_sent} signed messages, "
        f"{in_sent * 4 / in_seconds:,.0f} signature checks/s)"
    )
    print(f"runtime / in process: {runtime_rate / inproc_rate:.3f}")


if __name__ == "__main__":
    main()
