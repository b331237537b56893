"""Many seeds of one scenario (``vigilnet simulate --seeds K``).

The seeds are the scenario's root seed ``s`` and the next ones, ``s, s + 1,
..., s + K - 1`` (each a whole independent run: every random choice derives
from its own root, :class:`~vigilnet.sim.SeedTree`).  The runs are spread over
worker processes (``workers``, default: every core), each run's report is
reduced to its counts, and the counts are pooled: every rate is reported as
``successes / trials`` over all runs with its 95% Wilson and Clopper-Pearson
intervals (:func:`~vigilnet.sim._stats.interval_json`).  Pooling treats the
attempts of one run as independent trials; the per-run rows are in the
report so a reader can also look at the spread between runs.

A run that an invariant monitor stopped is kept as a row naming the
invariant and epoch (its counts do not enter the rates); the summary counts
such runs.  The result is a pure function of the scenario and ``K``: the
same arguments give the same bytes, whatever the number of workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from vigilnet.sim._scenario import Scenario
from vigilnet.sim._stats import interval_json

__all__ = ["SWEEP_SCHEMA", "run_one", "run_seeds"]

SWEEP_SCHEMA = "vigilnet-simulate-seeds/v1"


def run_one(scenario: Scenario) -> dict[str, Any]:
    """One run, reduced to what the sweep pools (also the worker's entry)."""
    from vigilnet.sim._deployment import run_deployment
    from vigilnet.sim._invariants import RunStopped
    from vigilnet.sim._report import make_report

    try:
        report = make_report(run_deployment(scenario))
    except RunStopped as stop:
        return {
            "seed": scenario.seed,
            "stopped": {"invariant": stop.invariant, "epoch": stop.epoch, "detail": stop.detail},
        }
    f, c, k = report["faults"], report["consensus"], report["classification"]
    return {
        "seed": scenario.seed,
        "stopped": None,
        "attempts": f["attempts"],
        "attacks_succeeded": f["attacks_succeeded"],
        "by_attack": f["by_attack"],
        "byzantine_nodes": f["byzantine_nodes"],
        "detected_with_proof": f["detected_with_proof"],
        "by_tier": {
            t: {"nodes": v["nodes"], "detected": v["detected"]} for t, v in f["by_tier"].items()
        },
        "false_convictions": f["false_convictions"],
        "time_to_detection_us": [
            n["time_to_detection_us"]
            for _, n in sorted(f["nodes"].items())
            if n["time_to_detection_us"] is not None
        ],
        "incidents": [
            {
                "time_to_detection_us": i["time_to_detection_us"],
                "time_to_heal_us": i["time_to_heal_us"],
                "agents_unmonitored": i["agents_unmonitored"],
                "agent_epochs_unmonitored": i["agent_epochs_unmonitored"],
            }
            for i in report["healing"]["incidents"]
        ],
        "epochs": report["scenario"]["epochs"],
        "epochs_decided": c["epochs_decided"],
        "epochs_decided_by_quorum": c["epochs_decided_by_quorum"],
        "hub_epochs_decided": c["hub_epochs_decided"],
        "epochs_decided_in_time": c["epochs_decided_in_time"],
        "hub_epochs_decided_in_time": c["hub_epochs_decided_in_time"],
        "hub_epochs": report["scenario"]["epochs"] * report["scenario"]["hubs"],
        "true_positives": k["true_positives"],
        "false_positives": k["false_positives"],
        "false_negatives": k["false_negatives"],
        "stale_key_messages": None
        if report["keys"] is None
        else {
            "sent": report["keys"]["stale_messages_sent"],
            "refused": report["keys"]["stale_messages_refused"],
            "accepted": report["keys"]["stale_messages_accepted"],
        },
    }


def _spread(values: list[int]) -> dict[str, int] | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "median_low": ordered[(len(ordered) - 1) // 2],
    }


def run_seeds(
    scenario: Scenario,
    k: int,
    workers: int | None = None,
    mapper: Callable[[Callable[[Scenario], dict[str, Any]], list[Scenario]], list[dict[str, Any]]]
    | None = None,
) -> dict[str, Any]:
    """Run seeds ``scenario.seed .. scenario.seed + k - 1`` and pool them.

    ``mapper`` (the Ray backend, :func:`vigilnet.sim._ray.ray_map`) replaces
    the process pool; it must return the rows in the order of its input.
    """
    scenarios = [scenario.with_overrides(seed=scenario.seed + i) for i in range(k)]
    workers = max(1, min(workers or os.cpu_count() or 1, k))
    if mapper is not None:
        rows = mapper(run_one, scenarios)
    elif workers == 1:
        rows = [run_one(s) for s in scenarios]
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            rows = list(pool.map(run_one, scenarios))
    done = [r for r in rows if r["stopped"] is None]

    def total(key: str) -> int:
        return sum(int(r[key]) for r in done)

    tiers: dict[str, Any] = {}
    for tier in ("hub", "regional", "monitor"):
        nodes = sum(r["by_tier"][tier]["nodes"] for r in done)
        found = sum(r["by_tier"][tier]["detected"] for r in done)
        tiers[tier] = interval_json(found, nodes)
    attacks: dict[str, Any] = {}
    for name in sorted({a for r in done for a in r["by_attack"]}):
        tried = sum(r["by_attack"].get(name, {}).get("attempts", 0) for r in done)
        won = sum(r["by_attack"].get(name, {}).get("succeeded", 0) for r in done)
        attacks[name] = interval_json(won, tried)
    incidents = [i for r in done for i in r["incidents"]]
    stale = [r["stale_key_messages"] for r in done if r["stale_key_messages"] is not None]
    tp, fp, fn = total("true_positives"), total("false_positives"), total("false_negatives")
    return {
        "schema": SWEEP_SCHEMA,
        "scenario": scenario.name,
        "seeds": [s.seed for s in scenarios],
        "seed_rule": "root seed s, then s + 1, ..., s + K - 1",
        "runs": len(rows),
        "runs_stopped_by_invariants": len(rows) - len(done),
        "rates": {
            "attack_success": interval_json(total("attacks_succeeded"), total("attempts")),
            "attack_success_by_attack": attacks,
            "byzantine_detection": interval_json(
                total("detected_with_proof"), total("byzantine_nodes")
            ),
            "byzantine_detection_by_tier": tiers,
            "epochs_decided": interval_json(total("epochs_decided"), total("epochs")),
            "epochs_decided_by_quorum": interval_json(
                total("epochs_decided_by_quorum"), total("epochs")
            ),
            "hub_epochs_decided": interval_json(total("hub_epochs_decided"), total("hub_epochs")),
            "epochs_decided_in_time": interval_json(
                total("epochs_decided_in_time"), total("epochs")
            ),
            "hub_epochs_decided_in_time": interval_json(
                total("hub_epochs_decided_in_time"), total("hub_epochs")
            ),
            "precision": interval_json(tp, tp + fp),
            "recall": interval_json(tp, tp + fn),
            # the key-rotation scenario: stale-key messages delivered and admitted
            "stale_key_accepted": interval_json(
                sum(x["accepted"] for x in stale),
                sum(x["accepted"] + x["refused"] for x in stale),
            )
            if stale
            else None,
        },
        "false_convictions": total("false_convictions"),
        "time_to_detection_us": _spread([t for r in done for t in r["time_to_detection_us"]]),
        "healing": {
            "incidents": len(incidents),
            "healed": sum(1 for i in incidents if i["time_to_heal_us"] is not None),
            "time_to_heal_us": _spread(
                [i["time_to_heal_us"] for i in incidents if i["time_to_heal_us"] is not None]
            ),
            "agents_unmonitored": _spread([i["agents_unmonitored"] for i in incidents]),
            "agent_epochs_unmonitored": _spread([i["agent_epochs_unmonitored"] for i in incidents]),
        },
        "per_seed": rows,
    }
