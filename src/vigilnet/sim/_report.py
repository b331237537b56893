"""The report of one simulated run: measured values only.

:func:`make_report` turns a :class:`~vigilnet.sim._deployment.RunResult` into
a JSON-ready mapping whose values are integers, strings, booleans, lists and
mappings: no float and no wall time, so the same scenario and seed give the
same bytes (:func:`report_json`: sorted keys, fixed separators).  Ratios are
exact fractions written ``"n/d"`` beside a decimal string rounded from the
fraction (``"0.9603"``); a ratio whose denominator is zero is ``null``.
Field meanings are documented in ``docs/simulation.md``.
"""

from __future__ import annotations

import json
from collections import Counter
from fractions import Fraction
from typing import Any

import numpy as np

from vigilnet.errors import RemoteProtocolError
from vigilnet.evidence import SprtThresholds
from vigilnet.fixedpoint import SCALE
from vigilnet.sim._agents import Profile
from vigilnet.sim._deployment import RunResult, words_root
from vigilnet.sim._invariants import INVARIANTS

__all__ = [
    "LATENCY_TIERS",
    "REPORT_SCHEMA",
    "faults_section",
    "healing_section",
    "make_report",
    "ratio",
    "report_json",
]

REPORT_SCHEMA = "vigilnet-simulate-report/v2"

#: Latency keys (microseconds of simulated time from the epoch's start;
#: ``consensus_decided`` from the consensus start).
LATENCY_TIERS = (
    "regional_reports_in",
    "regional_commit",
    "monitor_receipts",
    "hub_reports_in",
    "hub_commit",
    "regional_receipts",
    "consensus_decided",
)


def ratio(numerator: int, denominator: int) -> dict[str, str] | None:
    """An exact ratio and its decimal rendering (4 places, half-even)."""
    if denominator == 0:
        return None
    exact = Fraction(numerator, denominator)
    scaled = round(exact * 10_000)
    decimal = f"{scaled // 10_000}.{scaled % 10_000:04d}"
    return {"exact": f"{exact.numerator}/{exact.denominator}", "decimal": decimal}


def _epochs(result: RunResult) -> tuple[list[dict[str, Any]], int, bool, int, int]:
    d = result.deployment
    hubs = d.scenario.topology.hubs
    rows: list[dict[str, Any]] = []
    decided_epochs, agreement, bound, mismatched = 0, True, 0, 0
    for epoch in range(1, d.scenario.epochs + 1):
        decisions = {h: d.decisions[(epoch, h)] for h in range(hubs) if (epoch, h) in d.decisions}
        hashes = {dec.value.value_hash for dec in decisions.values()}
        agree = len(hashes) <= 1
        agreement &= agree
        deadline = epoch * d.epoch_us
        in_time = [h for h in decisions if d.decided_at.get((epoch, h), deadline) < deadline]
        row: dict[str, Any] = {
            "epoch": epoch,
            "hubs_decided": len(decisions),
            "hubs_decided_in_time": len(in_time),
            "hubs_faulty": sorted(d.hub_fault_epochs.get(epoch, ())),
            "agreement": agree,
            "hub_roots": {
                str(h): d.hub_roots[(epoch, h)][0].hex()
                for h in range(hubs)
                if (epoch, h) in d.hub_roots
            },
        }
        if decisions and agree:
            first = decisions[min(decisions)]
            value = first.value
            certificates_ok = 0
            for dec in decisions.values():
                try:
                    dec.certificate.verify(d.hub_config_at(epoch))
                    certificates_ok += 1
                except RemoteProtocolError:
                    pass
            bound_hubs, wrong_hubs = [], []
            for summary in value.summaries:
                own = d.hub_roots.get((epoch, summary.hub))
                carried = words_root(tuple(summary.values[3:]))
                if own is not None and own[0] == carried and own[1] == tuple(summary.values[:3]):
                    bound_hubs.append(summary.hub)
                else:
                    wrong_hubs.append(summary.hub)
            bound += len(bound_hubs)
            mismatched += len(wrong_hubs)
            row.update(
                value_hash=value.value_hash.hex(),
                round=first.certificate.round,
                precommits=len(first.certificate.precommits),
                certificates_verified=certificates_ok,
                roots_bound=bound_hubs,
                roots_mismatched=wrong_hubs,
            )
        if len(decisions) == hubs and agree:
            decided_epochs += 1
        row["latency_us"] = {
            tier: d.times[(epoch, tier)] for tier in LATENCY_TIERS if (epoch, tier) in d.times
        }
        rows.append(row)
    return rows, decided_epochs, agreement, bound, mismatched


def _classification(result: RunResult) -> dict[str, Any]:
    flagged, truth = result.flagged, result.truth
    tp = int((flagged & truth).sum())
    fp = int((flagged & ~truth).sum())
    fn = int((~flagged & truth).sum())
    tn = int((~flagged & ~truth).sum())
    profiles = result.deployment.population.profiles
    by_profile = {
        p.name.lower(): {
            "agents": int((profiles == p).sum()),
            "flagged": int((flagged & (profiles == p)).sum()),
        }
        for p in Profile
    }
    return {
        "agents": int(flagged.size),
        "misbehaved_in_run": int(truth.sum()),
        "verdicts": dict(sorted(result.verdicts.items())),
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "true_negatives": tn,
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "false_positive_rate": ratio(fp, fp + tn),
        "by_profile": by_profile,
    }


def _counter(c: Counter[str]) -> dict[str, int]:
    return {k: int(v) for k, v in sorted(c.items())}


def make_report(result: RunResult) -> dict[str, Any]:
    """The run's report (see the module docstring)."""
    d = result.deployment
    s = d.scenario
    topo = s.topology
    rows, decided, agreement, bound, mismatched = _epochs(result)
    thresholds = SprtThresholds(alpha=s.sprt.alpha, beta=s.sprt.beta)
    latency: dict[str, dict[str, int]] = {}
    for tier in LATENCY_TIERS:
        values = [row["latency_us"][tier] for row in rows if tier in row["latency_us"]]
        if values:
            latency[tier] = {"max": max(values), "min": min(values), "epochs": len(values)}
    meter = d.meter
    return {
        "schema": REPORT_SCHEMA,
        "scenario": {
            "name": s.name,
            "seed": s.seed,
            "epochs": s.epochs,
            "epoch_ms": s.epoch_ms,
            "agents": topo.agents,
            "replicas": topo.replicas,
            "agents_per_site": topo.agents_per_site,
            "sites_per_regional": topo.sites_per_regional,
            "regionals_per_hub": topo.regionals_per_hub,
            "hubs": topo.hubs,
            "sites": topo.sites,
            "monitors": topo.sites * topo.replicas,
            "regionals": topo.regionals,
            "sprt_alpha": str(s.sprt.alpha),
            "sprt_beta": str(s.sprt.beta),
        },
        "deadlines_ms": {
            "regional_close": d.deadlines.regional_close_ms,
            "hub_close": d.deadlines.hub_close_ms,
            "consensus_start": d.deadlines.consensus_start_ms,
            "receipt_timeout": d.deadlines.receipt_timeout_ms,
        },
        "consensus": {
            "quorum": d.hub_config.quorum,
            "epochs_decided": decided,
            "share_decided": ratio(decided, s.epochs),
            "epochs_decided_by_quorum": sum(
                1 for row in rows if row["agreement"] and row["hubs_decided"] >= d.hub_config.quorum
            ),
            "hub_epochs_decided": sum(row["hubs_decided"] for row in rows),
            # availability: a decision certificate (q precommits) held by some
            # hub before the epoch's end, all decisions agreeing
            "epochs_decided_in_time": sum(
                1 for row in rows if row["agreement"] and row["hubs_decided_in_time"] >= 1
            ),
            "hub_epochs_decided_in_time": sum(row["hubs_decided_in_time"] for row in rows),
            "agreement": agreement,
            "roots_bound": bound,
            "roots_mismatched": mismatched,
            "equivocation_evidence": int(d.counts["equivocation_evidence"]),
            "not_started": int(d.counts["consensus_not_started"]),
            # SDBC catch-up (docs/simulation.md): messages re-sent to lagging
            # hubs, hub-epochs decided or started after the epoch's end
            "catch_up": {
                "messages": int(d.counts["catchup_messages"]),
                "decided_late": int(d.counts["consensus_decided_late"]),
                "started_late": int(d.counts["consensus_started_late"]),
            },
        },
        "receipts": {
            "monitor_confirmed": int(d.counts["monitor_receipts_confirmed"]),
            "monitor_alarms": int(d.counts["monitor_alarms"]),
            "regional_confirmed": int(d.counts["regional_receipts_confirmed"]),
            "regional_alarms": int(d.counts["regional_alarms"]),
        },
        "latency_us": latency,
        "messages": _counter(meter.messages),
        "message_bytes": _counter(meter.message_bytes),
        "signature_verifications": _counter(meter.verifications),
        "refused_messages": _counter(meter.refused),
        "network": dict(result.simulator.network.snapshot()),
        "sprt": {"scale": SCALE, "upper": thresholds.upper, "lower": thresholds.lower},
        "classification": _classification(result),
        "flagged_agents": int(np.count_nonzero(result.flagged)),
        "faults": faults_section(result),
        "healing": healing_section(result),
        "invariants": {"checked": list(INVARIANTS), "epochs_checked": s.epochs, "violations": 0},
        "partitions": {name: list(t) for name, t in sorted(d.partition_epochs.items())},
        "keys": None if d.keyplan is None else d.keyplan.report(),
        "per_epoch": rows,
    }


_TIERS = ("hub", "regional", "monitor")


def faults_section(result: RunResult) -> dict[str, Any]:
    """Attacks tried and succeeded, Byzantine nodes detected (see
    ``docs/simulation.md``: an attempt is one Byzantine node's hostile
    messages of one epoch)."""
    d = result.deployment
    attempts = sorted(d.attempts.items())
    succeeded = sum(1 for _, ok in attempts if ok)
    by_attack: dict[str, dict[str, int]] = {}
    for (node, _), ok in attempts:
        row = by_attack.setdefault(d.byzantine[node], {"attempts": 0, "succeeded": 0})
        row["attempts"] += 1
        row["succeeded"] += int(ok)
    nodes: dict[str, Any] = {}
    by_tier = {t: {"nodes": 0, "detected": 0} for t in _TIERS}
    delays: list[int] = []
    for node, attack in sorted(d.byzantine.items()):
        tier = node.partition("-")[0]
        found = d.detections.get(node)
        first = d.first_attack_us.get(node)
        delay = None if found is None or first is None else found.time_us - first
        if delay is not None:
            delays.append(delay)
        by_tier[tier]["nodes"] += 1
        by_tier[tier]["detected"] += int(found is not None)
        suspected = d.suspicions.get(node)
        nodes[node] = {
            "attack": attack,
            "attempts": sum(1 for (n, _), _ in attempts if n == node),
            "succeeded": sum(1 for (n, _), ok in attempts if n == node and ok),
            "first_attack_us": first,
            "detected": found is not None,
            "evidence": None if found is None else found.kind,
            "detected_by": None if found is None else found.by,
            "detected_epoch": None if found is None else found.epoch,
            "time_to_detection_us": delay,
            "suspected_without_proof": suspected is not None,
        }
    detected = sum(1 for n in d.byzantine if n in d.detections)
    return {
        "byzantine_nodes": len(d.byzantine),
        "attempts": len(attempts),
        "attacks_succeeded": succeeded,
        "attack_success_rate": ratio(succeeded, len(attempts)),
        "by_attack": dict(sorted(by_attack.items())),
        "detected_with_proof": detected,
        "detection_rate": ratio(detected, len(d.byzantine)),
        "suspected_without_proof": sum(
            1 for n in d.byzantine if n in d.suspicions and n not in d.detections
        ),
        "by_tier": {
            t: {**v, "detection_rate": ratio(v["detected"], v["nodes"])} for t, v in by_tier.items()
        },
        "time_to_detection_us": (
            {"max": max(delays), "min": min(delays), "nodes": len(delays)} if delays else None
        ),
        "false_convictions": sum(1 for n in d.detections if d.honest(n)),
        "honest_nodes_suspected": sorted(n for n in d.suspicions if d.honest(n)),
        "alarms_with_proof": sum(1 for *_, proof in d.alarms if proof),
        "alarms_silence": sum(1 for *_, proof in d.alarms if not proof),
        "nodes": nodes,
    }


def healing_section(result: RunResult) -> dict[str, Any]:
    """One row per regional caught with proof (self-healing)."""
    d = result.deployment
    rows = []
    for i in d.incidents:
        rows.append(
            {
                "regional": i.regional,
                "standby": i.standby,
                "first_attack_us": i.first_attack_us,
                "detected_us": i.detected_us,
                "detected_epoch": i.detected_epoch,
                "time_to_detection_us": (
                    None if i.first_attack_us is None else i.detected_us - i.first_attack_us
                ),
                "healed_us": i.healed_us,
                "time_to_heal_us": None if i.healed_us is None else i.healed_us - i.detected_us,
                "agents": len(i.agents),
                "agents_unmonitored": len(i.unmonitored),
                "agent_epochs_unmonitored": i.agent_epochs_unmonitored,
                "hub_excludes_convicted": i.regional in d.convicted,
            }
        )
    return {"incidents": rows, "standby_regionals_left": sum(map(len, d.standby_free.values()))}


def report_json(report: dict[str, Any]) -> str:
    """The report's canonical text: sorted keys, two-space indent, newline."""
    return json.dumps(report, sort_keys=True, indent=2, ensure_ascii=True) + "\n"
