"""Benchmark of ``vigilnet check`` on TwoPhase (RM = 7, 8, 9; 1 and 2 workers).

Run from the repository root::

    .venv/bin/python bench/checker/run.py              # RM 7 8 9, workers 1 2, naive 7 8
    .venv/bin/python bench/checker/run.py --rm 7 8 --naive 7

Every measurement runs in a fresh subprocess so that peak RSS is that run's
own.  Each row: seconds (the search, as the engine reports it; the whole
subprocess, wall clock; and the CPU seconds of the subprocess and its
workers, which shows the parallel engine's overhead independently of how
busy the machine is), distinct states, distinct states per second, peak RSS.
For ``--workers 2`` the peak RSS is the coordinator's plus each worker's
peak (an upper bound on the total).  Beside the checker, the same model is
explored by a naive set-of-states Python BFS (states in a ``set``, a
``deque`` as the queue, invariants checked on each new state) and, at
RM = 7, by the generic fingerprint engine (``--engine generic``).  The naive
BFS at RM = 9 needs about 4 GB and minutes; it runs only with
``--naive 9``.  Nothing here asserts a time: the figures are printed for
the issue's closing note, as ratios to the naive BFS in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {3: 288, 5: 8_832, 7: 296_448, 8: 1_745_408, 9: 10_340_352}


def _child(kind: str, rm: int, workers: int) -> dict[str, Any]:
    from vigilnet.models import twophase

    from vigilnet.checker import Options
    from vigilnet.checker._run import check

    start = time.perf_counter()
    if kind == "naive":
        model = twophase.build({"RM": rm})
        invariants = [p.holds for p in model.properties if p.kind.value == "always"]
        steps = [action.step for action in model.actions]
        seen = set(model.init_states())
        queue = deque(seen)
        generated = len(seen)
        while queue:
            state = queue.popleft()
            for step in steps:
                for _args, nxt in step(state):
                    generated += 1
                    if nxt not in seen:
                        seen.add(nxt)
                        queue.append(nxt)
                        for holds in invariants:
                            if not holds(nxt):
                                raise AssertionError("invariant violated")
        distinct, seconds = len(seen), time.perf_counter() - start
    else:
        model = twophase.FAMILY.instantiate(overrides={"RM": rm})
        result = check(
            model,
            Options(symmetry=False),
            engine=kind,  # type: ignore[arg-type]
            workers=workers,
        )
        if not result.ok:
            raise AssertionError("TwoPhase must pass")
        distinct, generated, seconds = (
            result.distinct_states,
            result.generated_states,
            result.seconds,
        )
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    rss = me.ru_maxrss
    worker_rss = 0
    if workers > 1:
        from vigilnet.checker._parallel import LAST_WORKER_RSS_KIB

        worker_rss = sum(LAST_WORKER_RSS_KIB)
    return {
        "kind": kind,
        "rm": rm,
        "workers": workers,
        "distinct": distinct,
        "generated": generated,
        "seconds": seconds,
        "rss_kib": rss + worker_rss,
        "cpu": cpu,
    }


def _measure(kind: str, rm: int, workers: int) -> dict[str, Any]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(rm), str(workers)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{kind} RM={rm} failed:\n{proc.stderr}")
    row: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    row["wall"] = wall
    if row["distinct"] != EXPECTED.get(rm, row["distinct"]):
        raise SystemExit(f"{kind} RM={rm}: {row['distinct']} distinct, want {EXPECTED[rm]}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rm", type=int, nargs="+", default=[7, 8, 9])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--naive",
        type=int,
        nargs="*",
        default=[7, 8],
        help="RM values for the naive set-of-states BFS",
    )
    parser.add_argument(
        "--generic",
        type=int,
        nargs="*",
        default=[7],
        help="RM values for the generic fingerprint engine",
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument(
        "--child", nargs=3, metavar=("KIND", "RM", "WORKERS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        kind, rm, workers = args.child
        print(json.dumps(_child(kind, int(rm), int(workers))))
        return

    print(
        f"vigilnet checker bench: TwoPhase, symmetry off; {platform.processor() or 'cpu'}, "
        f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}, Python "
        f"{platform.python_version()}",
        flush=True,
    )
    header = (
        f"{'run':<31}{'RM':>3}{'distinct':>12}{'search s':>10}{'wall s':>9}{'cpu s':>8}"
        f"{'distinct/s':>13}{'peak RSS':>11}{'vs naive':>10}"
    )
    print(header)
    print("-" * len(header))
    rows: list[dict[str, Any]] = []
    naive_seconds: dict[int, float] = {}
    for rm in args.rm:
        plan: list[tuple[str, int]] = []
        if rm in args.naive:
            plan.append(("naive", 1))
        if rm in args.generic:
            plan.append(("generic", 1))
        plan += [("vector", w) for w in args.workers]
        for kind, workers in plan:
            row = _measure(kind, rm, workers)
            rows.append(row)
            if kind == "naive":
                naive_seconds[rm] = row["seconds"]
            label = {
                "naive": "naive set-of-states BFS",
                "generic": "generic engine (fp)",
                "vector": "vector engine",
            }[kind]
            if kind != "naive":
                label += f", {workers} worker{'s' if workers > 1 else ''}"
            ratio = (
                f"{naive_seconds[rm] / row['seconds']:.1f}x"
                if rm in naive_seconds and kind != "naive"
                else ""
            )
            print(
                f"{label:<31}{rm:>3}{row['distinct']:>12,}{row['seconds']:>10.2f}"
                f"{row['wall']:>9.2f}{row['cpu']:>8.2f}{row['distinct'] / row['seconds']:>13,.0f}"
                f"{row['rss_kib'] / 1024:>9.0f} MB{ratio:>10}",
                flush=True,
            )
        if rm not in args.naive:
            print(
                f"{'naive set-of-states BFS':<31}{rm:>3}  skipped (needs ~4 GB and minutes "
                f"at RM = 9; run with --naive {rm})",
                flush=True,
            )
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
