"""The scaling curve of ``vigilnet simulate``: time and memory against agents.

    .venv/bin/python bench/scale/curve.py --out DIR [--sizes 100000,1000000,3000000,10000000]
                                          [--epochs 6,3,2,2]

Each size is one run of the real command, ``vigilnet simulate --scenario-file
DIR/scale.toml --agents N --epochs E --json DIR/report-N.json``, in a child
process, one at a time.  The scenario is the embedded baseline with
``regionals_per_hub`` raised so that the largest size fits (the baseline's
10 regionals per hub stop at 1,000,000 agents); the bound changes no
message, only the hubs' registered fan-in (and with it SHAP's config hash).

Per size, from the child's own resource usage (``os.wait4``): wall time,
CPU time (user + system) and peak memory (``ru_maxrss``); and from its JSON
report, that every epoch was decided.  Sizes may run different numbers of
epochs (the big ones fewer), so times are compared **per epoch** (the run's
time divided by its epochs, setup included).  The growth exponent ``k`` is
the least-squares slope of ``log(time per epoch)`` against ``log(agents)``
(``time ~ agents**k``; ``k = 1`` is linear), for wall and CPU time, and of
peak memory.  The figure (``DIR/scaling.svg``) shows the points on log-log
axes with the fitted lines (and ``DIR/scaling.png``).

A benchmark, not a test: it never fails on a time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["fit_exponent", "main"]


def fit_exponent(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares ``log y = k log x + c``: return ``(k, c)``."""
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError("a fit needs two points or more")
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    sxx = sum((x - mx) ** 2 for x in lx)
    if sxx == 0:
        raise ValueError("a fit needs two different sizes")
    k = sum((x - mx) * (y - my) for x, y in zip(lx, ly, strict=True)) / sxx
    return k, my - k * mx


def _scenario_file(out: Path, largest: int) -> Path:
    """The baseline with room for ``largest`` agents under its hubs."""
    from vigilnet.sim._scenario import load_scenario

    topo = load_scenario("baseline").topology
    sites = -(-largest // topo.agents_per_site)
    regionals = -(-sites // topo.sites_per_regional)
    per_hub = max(topo.regionals_per_hub, -(-regionals // topo.hubs))
    text = (resources.files("vigilnet.sim") / "scenarios" / "baseline.toml").read_text("utf-8")
    text, n = re.subn(r"(?m)^regionals_per_hub = \d+", f"regionals_per_hub = {per_hub}", text)
    if n != 1:
        raise SystemExit("the baseline scenario has no regionals_per_hub line to raise")
    path = out / "scale.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(scenario: Path, out: Path, agents: int, epochs: int) -> dict[str, Any]:
    report = out / f"report-{agents}.json"
    command = [
        sys.executable, "-m", "vigilnet", "simulate", "--scenario-file", str(scenario),
        "--agents", str(agents), "--epochs", str(epochs), "--json", str(report),
    ]  # fmt: skip
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    stderr = child.stderr.read().decode() if child.stderr is not None else ""
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({child.returncode}):\n{stderr}")
    consensus = json.loads(report.read_text("utf-8"))["consensus"]
    return {
        "agents": agents,
        "epochs": epochs,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mib": usage.ru_maxrss / 1024,
        "decided": consensus["epochs_decided"],
        "agreement": consensus["agreement"],
    }


def _figure(rows: list[dict[str, Any]], fits: dict[str, tuple[float, float]], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    xs = [r["agents"] for r in rows]
    # wall as hollow circles around the CPU squares: on one busy core they coincide
    for key, label, marker, color, fill in (
        ("wall", "wall s / epoch", "o", "tab:blue", "none"),
        ("cpu", "CPU s / epoch", "s", "tab:orange", "tab:orange"),
    ):
        ys = [r[f"{key}_s"] / r["epochs"] for r in rows]
        k, c = fits[key]
        ax.loglog(xs, ys, marker, color=color, markerfacecolor=fill, markersize=9 if key == "wall" else 5,
                  label=f"{label} (k = {k:.3f})")  # fmt: skip
        ax.loglog(xs, [math.exp(c) * x**k for x in xs], "--", color=color, linewidth=1)
    ax2 = ax.twinx()
    ax2.set_yscale("log")
    k, c = fits["peak"]
    ax2.plot(xs, [r["peak_mib"] for r in rows], "^", color="tab:green",
             label=f"peak MiB (k = {k:.3f})")  # fmt: skip
    ax2.plot(xs, [math.exp(c) * x**k for x in xs], ":", color="tab:green", linewidth=1)
    ax.set_xlabel("agents")
    ax.set_ylabel("seconds per epoch")
    ax2.set_ylabel("peak memory (MiB)")
    ax.set_title("vigilnet simulate: time and memory against population")
    lines = ax.get_legend_handles_labels()
    more = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    fig.savefig(path.with_suffix(".png"), dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the figure and runs")
    parser.add_argument("--sizes", default="100000,1000000,3000000,10000000")
    parser.add_argument("--epochs", default="6,3,2,2", help="per size, or one for all")
    parser.add_argument("--replot", action="store_true",
                        help="redraw the figure from OUT/curve.json, running nothing")  # fmt: skip
    args = parser.parse_args()
    if args.replot:
        saved = json.loads((args.out / "curve.json").read_text())
        fits = {key: (k, c) for key, (k, c) in saved["fits"].items()}
        _figure(saved["rows"], fits, args.out / "scaling.svg")
        print(f"figure: {args.out / 'scaling.svg'}")
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    epochs = [int(x) for x in args.epochs.split(",")]
    if len(epochs) == 1:
        epochs *= len(sizes)
    if len(epochs) != len(sizes) or min(sizes) < 1 or min(epochs) < 1 or len(set(sizes)) < 2:
        parser.error("two sizes or more, and --epochs: one positive count or one per size")
    args.out.mkdir(parents=True, exist_ok=True)
    scenario = _scenario_file(args.out, max(sizes))
    print(f"python {platform.python_version()}, {os.cpu_count()} cores; scenario {scenario}")
    rows = []
    for agents, n in zip(sizes, epochs, strict=True):
        row = _run(scenario, args.out, agents, n)
        rows.append(row)
        print(
            f"  {agents:>11,} agents, {n} epochs: wall {row['wall_s']:8.1f} s, "
            f"CPU {row['cpu_s']:8.1f} s, peak {row['peak_mib']:8.0f} MiB, "
            f"decided {row['decided']}/{n}",
            flush=True,
        )
    xs = [float(r["agents"]) for r in rows]
    fits = {
        "wall": fit_exponent(xs, [r["wall_s"] / r["epochs"] for r in rows]),
        "cpu": fit_exponent(xs, [r["cpu_s"] / r["epochs"] for r in rows]),
        "peak": fit_exponent(xs, [r["peak_mib"] for r in rows]),
    }
    print(f"\n{'agents':>12} {'epochs':>6} {'wall s/ep':>10} {'CPU s/ep':>10} "
          f"{'us/agent/ep':>11} {'peak MiB':>9} {'decided':>8}")  # fmt: skip
    for r in rows:
        per = r["cpu_s"] / r["epochs"]
        print(
            f"{r['agents']:>12,} {r['epochs']:>6} {r['wall_s'] / r['epochs']:>10.2f} "
            f"{per:>10.2f} {per / r['agents'] * 1e6:>11.2f} {r['peak_mib']:>9.0f} "
            f"{r['decided']:>5}/{r['epochs']}"
        )
    print(
        f"\ngrowth exponent (time per epoch ~ agents**k): wall k = {fits['wall'][0]:.3f}, "
        f"CPU k = {fits['cpu'][0]:.3f}; peak memory k = {fits['peak'][0]:.3f}"
    )
    figure = args.out / "scaling.svg"
    _figure(rows, fits, figure)
    (args.out / "curve.json").write_text(json.dumps({"rows": rows, "fits": fits}, indent=1))
    print(f"figure: {figure}")


if __name__ == "__main__":
    main()
