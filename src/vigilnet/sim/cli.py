"""``vigilnet simulate``: run the composed deployment on a scenario."""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from vigilnet.sim._deployment import SecurityCost
    from vigilnet.sim._scenario import Scenario

__all__ = ["simulate"]


def _table(
    report: dict[str, Any],
    wall_s: float,
    cpu_s: float,
    peak_mib: int,
    tier_cpu: dict[str, float] | None = None,
    security: SecurityCost | None = None,
) -> None:
    from rich.console import Console
    from rich.table import Table

    s, c, k = report["scenario"], report["consensus"], report["classification"]
    console = Console(stderr=False)
    head = Table(title=f"vigilnet simulate: {s['name']} (seed {s['seed']})", show_header=False)
    head.add_column("what")
    head.add_column("measured")
    head.add_row(
        "topology",
        f"{s['agents']:,} agents, {s['monitors']} monitors, {s['regionals']} regionals, "
        f"{s['hubs']} hubs",
    )
    head.add_row(
        "epochs decided",
        f"{c['epochs_decided']} / {s['epochs']} (agreement: {c['agreement']}, "
        f"hub roots bound: {c['roots_bound']}, mismatched: {c['roots_mismatched']})",
    )
    head.add_row(
        "classification",
        f"flagged {report['flagged_agents']:,}; TP {k['true_positives']:,} "
        f"FP {k['false_positives']:,} FN {k['false_negatives']:,} TN {k['true_negatives']:,}",
    )
    for name in ("precision", "recall"):
        value = k[name]
        head.add_row(name, "n/a" if value is None else f"{value['decimal']} ({value['exact']})")
    head.add_row(
        "compute (not in JSON)", f"wall {wall_s:.2f} s, cpu {cpu_s:.2f} s, peak RSS {peak_mib} MiB"
    )
    console.print(head)
    tiers = Table(title="per tier (simulated time, max over epochs)")
    for col in ("tier", "latency ms"):
        tiers.add_column(col)
    for tier, v in report["latency_us"].items():
        tiers.add_row(tier, f"{v['max'] / 1000:.1f}")
    console.print(tiers)
    cost = Table(title="messages and signature verifications")
    for col in ("link / tier", "messages", "bytes", "verifications"):
        cost.add_column(col)
    for link, n in report["messages"].items():
        cost.add_row(link, f"{n:,}", f"{report['message_bytes'][link]:,}", "")
    for tier, n in report["signature_verifications"].items():
        cost.add_row(tier, "", "", f"{n:,}")
    console.print(cost)
    if tier_cpu:
        split = Table(title="compute per tier (CPU time, not in JSON)")
        for col in ("tier", "CPU s", "share"):
            split.add_column(col)
        total = sum(tier_cpu.values()) or 1.0
        for tier, seconds in tier_cpu.items():
            split.add_row(tier, f"{seconds:.2f}", f"{100 * seconds / total:.1f}%")
        console.print(split)
    if security is not None and security.total_ns:
        from vigilnet.sim._html import targets_table

        spent = Table(title="security primitives (CPU time, not in JSON)")
        for col in ("primitive", "calls", "CPU s", "share of the run"):
            spent.add_column(col)
        for name, ns in sorted(security.primitive_ns.items()):
            calls = security.primitive_calls.get(name, 0)
            share = f"{100 * ns / security.total_ns:.1f}%"
            spent.add_row(name, f"{calls:,}", f"{ns / 1e9:.2f}", share)
        console.print(spent)
        goals = Table(title="compute targets (not in JSON)")
        for col in ("target", "seed", "measured", "verdict"):
            goals.add_column(col)
        compute_rows = ("security overhead", "evidence points", "signature verifications")
        for row in targets_table(report, security):
            if row.name.startswith(compute_rows):
                goals.add_row(row.name, row.target_text(), row.measured_text(), row.verdict)
        console.print(goals)
    f, heal = report["faults"], report["healing"]
    if f["byzantine_nodes"] or heal["incidents"]:
        faults = Table(title="faults (attempt: one Byzantine node's hostile messages of one epoch)")
        for col in ("what", "measured"):
            faults.add_column(col)
        faults.add_row(
            "attack success", _rate(f["attack_success_rate"], f["attacks_succeeded"], f["attempts"])
        )
        faults.add_row(
            "detected with proof",
            _rate(f["detection_rate"], f["detected_with_proof"], f["byzantine_nodes"]),
        )
        t = f["time_to_detection_us"]
        if t is not None:
            faults.add_row(
                "time to detection", f"{t['min'] / 1000:.1f} to {t['max'] / 1000:.1f} ms"
            )
        for i in heal["incidents"]:
            healed = i["time_to_heal_us"]
            faults.add_row(
                f"incident regional-{i['regional']}",
                f"standby {i['standby']}, healed after "
                + ("never" if healed is None else f"{healed / 1000:.1f} ms")
                + f", {i['agents_unmonitored']:,} agents unmonitored meanwhile",
            )
        console.print(faults)


def _rate(value: dict[str, str] | None, k: int, n: int) -> str:
    return f"{k} / {n}" + ("" if value is None else f" = {value['decimal']}")


def _pair(bounds: list[str]) -> str:
    return f"[{float(bounds[0]):.4f}, {float(bounds[1]):.4f}]"


def _detection(scenario: Scenario) -> list[dict[str, Any]] | None:
    """The CUSUM-against-phi study for a scenario with ``[timing_attack]``
    (``sim/_changepoint.py``); its seeds follow the scenario's."""
    if not scenario.timing_attack.enabled:
        return None
    from vigilnet.sim._changepoint import roc

    return [p.as_dict() for p in roc(seeds=range(scenario.seed, scenario.seed + 20))]


def _sweep_table(sweep: dict[str, Any], wall_s: float) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"vigilnet simulate: {sweep['scenario']}, {sweep['runs']} seeds "
        f"{sweep['seeds'][0]}..{sweep['seeds'][-1]} (wall {wall_s:.1f} s, not in JSON)"
    )
    for col in ("what", "k / n", "rate", "Wilson 95%", "Clopper-Pearson 95%"):
        table.add_column(col, no_wrap=True)
    rates = sweep["rates"]
    rows = [
        (name, rates[name])
        for name in (
            "attack_success",
            "byzantine_detection",
            "epochs_decided",
            "epochs_decided_by_quorum",
            "hub_epochs_decided",
            "epochs_decided_in_time",
            "hub_epochs_decided_in_time",
            "precision",
            "recall",
        )
    ]
    rows += [(f"  attack {a}", v) for a, v in rates["attack_success_by_attack"].items()]
    rows += [(f"  detection {t}", v) for t, v in rates["byzantine_detection_by_tier"].items()]
    if rates.get("stale_key_accepted") is not None:
        rows.append(("stale-key messages admitted", rates["stale_key_accepted"]))
    for name, v in rows:
        rate = "n/a" if v["rate"] is None else v["rate"]["decimal"]
        table.add_row(
            name,
            f"{v['successes']} / {v['trials']}",
            rate,
            _pair(v["wilson95"]),
            _pair(v["clopper_pearson95"]),
        )
    console = Console()
    Console(width=max(console.width, 112)).print(table)
    click.echo(
        f"runs stopped by invariants: {sweep['runs_stopped_by_invariants']}; "
        f"false convictions: {sweep['false_convictions']}; "
        f"time to detection (us): {sweep['time_to_detection_us']}; "
        f"healing: {sweep['healing']}"
    )


@click.command()
@click.option("--scenario", "scenario_name", help="an embedded scenario (see --list)")
@click.option(
    "--scenario-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="a scenario TOML file",
)
@click.option("--list", "list_only", is_flag=True, help="list the embedded scenarios and exit")
@click.option("--seed", type=click.IntRange(min=0), help="root seed (default: the scenario's)")
@click.option("--agents", type=int, help="population size (default: the scenario's)")
@click.option("--epochs", type=click.IntRange(min=1), help="epochs (default: the scenario's)")
@click.option("--json", "json_path", help="write the JSON report to PATH ('-': stdout)")
@click.option(
    "--proofs",
    "proofs_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="write verdict proofs of a few flagged agents and hub-keys.json to DIR",
)
@click.option(
    "--seeds",
    "seeds",
    type=click.IntRange(min=1),
    help="run K seeds (the root seed, then +1, ...) on every core and report each rate "
    "with 95%% intervals",
)
@click.option(
    "--html",
    "html_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="write a self-contained HTML report with figures to DIR/index.html",
)
@click.option(
    "--audit-log",
    "audit_log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write the run's decisions, certificates, key events and penalties to a new "
    "audit log FILE (check it with vigilnet audit verify)",
)
@click.option(
    "--backend",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="where the runs execute: this machine's processes, or Ray tasks (pip install "
    "'vigilnet[ray]'); the JSON is the same bytes",
)
@click.option(
    "--address",
    help="with --backend ray: the Ray cluster to join ('auto' or HOST:PORT; default: a "
    "local instance)",
)
def simulate(
    scenario_name: str | None,
    scenario_file: Path | None,
    list_only: bool,
    seed: int | None,
    agents: int | None,
    epochs: int | None,
    json_path: str | None,
    proofs_dir: Path | None,
    seeds: int | None,
    html_dir: Path | None,
    audit_log: Path | None,
    backend: str,
    address: str | None,
) -> None:
    """Run the composed deployment (agents, monitors, regionals, hubs, SDBC)
    on a scenario and report what was measured."""
    from vigilnet.sim._deployment import run_deployment
    from vigilnet.sim._report import make_report, report_json
    from vigilnet.sim._scenario import ScenarioError, embedded_scenarios, load_scenario

    if list_only:
        for name, path in embedded_scenarios().items():
            try:
                description = load_scenario(name).description
            except ScenarioError as exc:  # pragma: no cover - embedded files are tested
                description = f"(invalid: {exc})"
            click.echo(f"{name:12} {description}  [{path.name}]")
        return
    if agents is not None and agents < 1:
        raise click.BadParameter(f"must be >= 1, got {agents}", param_hint="--agents")
    try:
        if scenario_file is not None:
            if scenario_name is not None:
                raise ScenarioError("give --scenario or --scenario-file, not both")
            scenario = load_scenario(path=scenario_file)
        else:
            scenario = load_scenario(scenario_name or "baseline")
        scenario = scenario.with_overrides(agents=agents, seed=seed, epochs=epochs)
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    notes: list[str] = []
    if scenario.timing_attack.enabled:
        notes.append(
            "note: [timing_attack] is not injected yet (docs/simulation.md); "
            "faults and partitions are"
        )
    from vigilnet.sim._invariants import RunStopped

    if address is not None and backend != "ray":
        raise click.ClickException("--address is for --backend ray")
    if backend == "ray" and seeds is None:
        for given, flag in (
            (proofs_dir, "--proofs"),
            (html_dir, "--html"),
            (audit_log, "--audit-log"),
        ):
            if given is not None:
                raise click.ClickException(f"{flag} is for the local backend")
    wall0, cpu0 = time.perf_counter(), time.process_time()
    if seeds is not None:
        from vigilnet.sim._sweep import run_seeds

        if proofs_dir is not None:
            raise click.ClickException("--proofs is for one run, not with --seeds")
        if html_dir is not None:
            raise click.ClickException("--html is for one run, not with --seeds")
        if audit_log is not None:
            raise click.ClickException("--audit-log is for one run, not with --seeds")
        try:
            if backend == "ray":
                from functools import partial

                from vigilnet.sim._ray import ray_map

                sweep = run_seeds(scenario, seeds, mapper=partial(ray_map, address=address))
            else:
                sweep = run_seeds(scenario, seeds)
        except ScenarioError as exc:
            raise click.ClickException(str(exc)) from None
        text = report_json(sweep)
        if json_path == "-":
            sys.stdout.write(text)
            return
        for note in notes:
            click.echo(note, err=True)
        _sweep_table(sweep, time.perf_counter() - wall0)
        if json_path is not None:
            Path(json_path).write_text(text, encoding="utf-8")
            click.echo(f"report written to {json_path}")
        return
    if backend == "ray":
        from vigilnet.sim._ray import one_report, ray_map

        try:
            (text,) = ray_map(one_report, [scenario], address=address)
        except ScenarioError as exc:
            raise click.ClickException(str(exc)) from None
        except RunStopped as stop:
            raise click.ClickException(str(stop)) from None
        if json_path == "-":
            sys.stdout.write(text)
            return
        import json

        for note in notes:
            click.echo(note, err=True)
        wall_s, cpu_s = time.perf_counter() - wall0, time.process_time() - cpu0
        _table(
            json.loads(text),
            wall_s,
            cpu_s,
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        )
        if json_path is not None:
            Path(json_path).write_text(text, encoding="utf-8")
            click.echo(f"report written to {json_path}")
        return
    if audit_log is not None and audit_log.exists():
        raise click.ClickException(f"{audit_log} exists: an audit log is written once, by its run")
    try:
        result = run_deployment(scenario, record_proofs=proofs_dir is not None)
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    except RunStopped as stop:
        raise click.ClickException(str(stop)) from None
    report = make_report(result)
    wall_s, cpu_s = time.perf_counter() - wall0, time.process_time() - cpu0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    text = report_json(report)
    if proofs_dir is not None:
        from vigilnet.evidence import SprtThresholds
        from vigilnet.sim._verdict import write_proofs

        sprt = SprtThresholds(alpha=scenario.sprt.alpha, beta=scenario.sprt.beta)
        written = write_proofs(result, proofs_dir, sprt)
        click.echo(f"{len(written)} verdict proofs in {proofs_dir} (docs/verdict.md)", err=True)
    if audit_log is not None:
        from vigilnet.sim._auditlog import write_audit_log

        written_log = write_audit_log(result, audit_log)
        click.echo(
            f"audit log {audit_log}: {written_log.entries} entries, "
            f"{written_log.checkpoints} checkpoints, origin {written_log.origin}; check it with "
            f"vigilnet audit verify {audit_log} --public-key {written_log.public_key}",
            err=True,
        )
    if html_dir is not None:
        from vigilnet.sim._html import write_html

        page = write_html(
            report,
            html_dir,
            compute=f"Compute (not in the JSON report): wall {wall_s:.2f} s, "
            f"CPU {cpu_s:.2f} s, peak RSS {peak_mib} MiB.",
            tier_cpu=result.deployment.meter.cpu_seconds(),
            cost=result.deployment.meter.security_cost(),
            detection=_detection(scenario),
        )
        click.echo(f"HTML report written to {page}", err=True)
    if json_path == "-":
        sys.stdout.write(text)
    else:
        for note in notes:
            click.echo(note, err=True)
        meter = result.deployment.meter
        _table(report, wall_s, cpu_s, peak_mib, meter.cpu_seconds(), meter.security_cost())
        if json_path is not None:
            Path(json_path).write_text(text, encoding="utf-8")
            click.echo(f"report written to {json_path}")
