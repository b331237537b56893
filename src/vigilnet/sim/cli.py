"""``vigilnet simulate``: run the composed deployment on a scenario."""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path
from typing import Any

import click

__all__ = ["simulate"]


def _table(report: dict[str, Any], wall_s: float, cpu_s: float, peak_mib: int) -> None:
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
def simulate(
    scenario_name: str | None,
    scenario_file: Path | None,
    list_only: bool,
    seed: int | None,
    agents: int | None,
    epochs: int | None,
    json_path: str | None,
    proofs_dir: Path | None,
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
    if (
        scenario.faults != type(scenario.faults)()
        or scenario.partitions
        or scenario.timing_attack.enabled
    ):
        notes.append(
            "note: this scenario's faults and partitions are not injected yet "
            "(docs/simulation.md); the run is the honest deployment"
        )
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        result = run_deployment(scenario, record_proofs=proofs_dir is not None)
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
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
    if json_path == "-":
        sys.stdout.write(text)
    else:
        for note in notes:
            click.echo(note, err=True)
        _table(report, wall_s, cpu_s, peak_mib)
        if json_path is not None:
            Path(json_path).write_text(text, encoding="utf-8")
            click.echo(f"report written to {json_path}")
