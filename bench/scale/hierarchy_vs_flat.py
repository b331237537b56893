"""The hierarchy against the flat baseline, measured side by side.

    .venv/bin/python bench/scale/hierarchy_vs_flat.py [--sizes 2000,100000,1000000]
                                                       [--epochs 2,2,1]

For each population size, two runs of the baseline scenario (honest, the
default network), each in a fresh child process (so that its peak memory
is its own):

* **hierarchy**: :func:`vigilnet.sim._deployment.run_deployment`, what
  ``vigilnet simulate`` runs (monitors -> regionals -> hubs -> SDBC);
* **flat**: :func:`vigilnet.sim._flat.run_flat` (every monitor straight to
  every hub, each hub aggregating and committing the whole population,
  then the same SDBC).

Every figure is per epoch (totals divided by the epochs run), and says what
it counts:

* ``messages``, ``bytes``: every message the protocols put on the network
  (SHAP reports, bodies and receipts, SDBC messages), as wire bytes;
* ``verifies``: Ed25519 signature verifications by the protocols (the
  simulator's own invariant checks left out);
* ``cpu s``: CPU seconds of the protocol tiers (monitor, regional, hub,
  consensus), the run's setup, judge and invariant checks left out: the
  whole deployment's compute, as if on one core;
* ``hub in msgs``, ``hub in bytes``: what one hub receives, the mean over
  the hubs (reports from its children, plus SDBC);
* ``hub verifies``: the verifications one hub does (mean over hubs);
* ``busiest node cpu s``: the CPU seconds of one node of the busiest tier
  (a tier's CPU divided by its nodes: the nodes of a tier do equal work);
* ``decided ms``: simulated time from the epoch's start to the last hub's
  decision, on the deadline schedule (SDBC starts at 2,500 ms in both);
* ``data path ms``: simulated time to the last hub's commitment, plus the
  consensus' own duration: the latency if SDBC started as soon as the hubs
  had committed.  Simulated time counts the network only (compute is free
  in the simulator);
* ``+compute ms``: ``data path ms`` plus the CPU time of one node of each
  tier on the path (monitor, then regional in the hierarchy, then hub):
  a model of the latency with each tier's nodes working in parallel.

The closed-form counts of :mod:`vigilnet.sim._flat` (messages per SHAP link,
verifications per SHAP tier) are checked against each run and the check is
printed.  A benchmark, not a test: it never fails on a time.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from typing import Any

__all__ = ["main"]

_CLAIMS = "seed's claims: 374.4x and 144.8x (what they count is not stated)"
_PROTOCOL_TIERS = ("monitor", "regional", "hub", "consensus")


def _one(variant: str, agents: int, epochs: int) -> dict[str, Any]:
    """Run one variant in this process; return its per-epoch figures."""
    from vigilnet.sim._deployment import run_deployment
    from vigilnet.sim._flat import flat_counts, hierarchy_counts, run_flat
    from vigilnet.sim._scenario import load_scenario

    scenario = load_scenario("baseline").with_overrides(agents=agents, epochs=epochs)
    topo = scenario.topology
    monitors, regionals, hubs = topo.sites * topo.replicas, topo.regionals, topo.hubs
    wall = time.perf_counter()
    if variant == "hierarchy":
        run = run_deployment(scenario)
        d = run.deployment
        meter, times = d.meter, d.times
        decided = sum(1 for (e, _h) in d.decisions if e <= epochs)
        want = hierarchy_counts(scenario)
        child_link = "regional->hub"
        nodes = {"monitor": monitors, "regional": regionals, "hub": hubs}
    else:
        flat = run_flat(scenario)
        meter, times = flat.meter, flat.times
        decided = len(flat.decisions)
        want = flat_counts(scenario)
        child_link = "monitor->hub"
        nodes = {"monitor": monitors, "hub": hubs}
    wall = time.perf_counter() - wall
    cpu = meter.cpu_seconds()
    shap_messages = {k: v for k, v in meter.messages.items() if k != "hub->hub"}
    shap_verifies = {
        k: v for k, v in meter.verifications.items() if k not in ("consensus", "invariants")
    }
    closed_form_ok = shap_messages == {k: v * epochs for k, v in want.messages.items()} and (
        shap_verifies == {k: v * epochs for k, v in want.verifications.items()}
    )
    per = 1 / epochs

    def mean_time(step: str) -> float:
        values = [times[(e, step)] for e in range(1, epochs + 1) if (e, step) in times]
        return sum(values) / len(values) / 1_000 if values else float("nan")

    consensus_ms = mean_time("consensus_decided")
    data_path = mean_time("hub_commit") + consensus_ms
    node_cpu = {t: cpu.get(t, 0.0) * per / n for t, n in nodes.items()}
    verifies = sum(v for k, v in meter.verifications.items() if k != "invariants")
    return {
        "variant": variant,
        "agents": agents,
        "epochs": epochs,
        "monitors": monitors,
        "regionals": regionals if variant == "hierarchy" else 0,
        "hubs": hubs,
        "decided": decided,
        "closed_form_ok": closed_form_ok,
        "messages": sum(meter.messages.values()) * per,
        "bytes": sum(meter.message_bytes.values()) * per,
        "verifies": verifies * per,
        "cpu": sum(cpu.get(t, 0.0) for t in _PROTOCOL_TIERS) * per,
        "hub_in_msgs": (meter.messages[child_link] + meter.messages["hub->hub"]) * per / hubs,
        "hub_in_bytes": (meter.message_bytes[child_link] + meter.message_bytes["hub->hub"])
        * per
        / hubs,
        "hub_verifies": (meter.verifications["hub"] + meter.verifications["consensus"])
        * per
        / hubs,
        "busiest_cpu": max(node_cpu.values()),
        "decided_ms": consensus_ms + scenario_start_ms(),
        "data_path_ms": data_path,
        "compute_ms": data_path + sum(node_cpu.values()) * 1_000,
        "tier_cpu": {t: cpu.get(t, 0.0) * per for t in _PROTOCOL_TIERS if t in cpu},
        "wall_s": wall,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def scenario_start_ms() -> int:
    from vigilnet.sim._deployment import Deadlines

    return Deadlines().consensus_start_ms


def _child(variant: str, agents: int, epochs: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", variant, str(agents), str(epochs)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


_ROWS = (
    ("messages", "messages", "{:,.0f}"),
    ("bytes", "bytes", "{:,.0f}"),
    ("verifies", "signature verifications", "{:,.0f}"),
    ("cpu", "cpu s (all protocol tiers)", "{:,.3f}"),
    ("hub_in_msgs", "hub in msgs (mean per hub)", "{:,.0f}"),
    ("hub_in_bytes", "hub in bytes (mean per hub)", "{:,.0f}"),
    ("hub_verifies", "hub verifies (mean per hub)", "{:,.0f}"),
    ("busiest_cpu", "busiest node cpu s", "{:,.4f}"),
    ("decided_ms", "decided ms (deadline schedule)", "{:,.1f}"),
    ("data_path_ms", "data path ms (commit + SDBC)", "{:,.1f}"),
    ("compute_ms", "+compute ms (path + node cpu)", "{:,.1f}"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,100000,1000000")
    parser.add_argument("--epochs", default="2,2,1", help="per size, or one for all")
    parser.add_argument("--one", nargs=3, metavar=("VARIANT", "AGENTS", "EPOCHS"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args()
    if args.one:
        variant, agents, epochs = args.one
        print(json.dumps(_one(variant, int(agents), int(epochs))))
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    epochs = [int(x) for x in args.epochs.split(",")]
    if len(epochs) == 1:
        epochs *= len(sizes)
    if len(epochs) != len(sizes) or min(sizes) < 1 or min(epochs) < 1:
        parser.error("--epochs: one positive count, or one per size")
    print(f"python {platform.python_version()}, baseline scenario, per-epoch figures")
    print(_CLAIMS)
    for agents, n in zip(sizes, epochs, strict=True):
        h = _child("hierarchy", agents, n)
        f = _child("flat", agents, n)
        print(
            f"\n{agents:,} agents, {n} epoch(s): {h['monitors']:,} monitors, "
            f"{h['regionals']} regionals, {h['hubs']} hubs; "
            f"decisions {h['decided']} / {f['decided']} (hierarchy / flat); "
            f"closed-form counts {'match' if h['closed_form_ok'] else 'DIFFER'} / "
            f"{'match' if f['closed_form_ok'] else 'DIFFER'}"
        )
        print(f"  {'per epoch':<32} {'hierarchy':>16} {'flat':>16} {'flat/hier':>10}")
        for key, label, fmt in _ROWS:
            ratio = f[key] / h[key] if h[key] else float("nan")
            print(f"  {label:<32} {fmt.format(h[key]):>16} {fmt.format(f[key]):>16} {ratio:>9.2f}x")
        for name, row in (("hierarchy", h), ("flat", f)):
            tiers = ", ".join(f"{t} {v:,.3f}" for t, v in row["tier_cpu"].items())
            print(f"  cpu s per tier, {name}: {tiers}")
        print(
            f"  run: wall {h['wall_s']:.1f} s / {f['wall_s']:.1f} s, "
            f"peak {h['peak_mib']:.0f} MiB / {f['peak_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
