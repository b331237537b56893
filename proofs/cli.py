"""``vigilnet prove``: run the Z3 proof obligations (and, on request, the CrossHair contracts).

Exit status 0 only when every selected obligation is proved, every
non-vacuity check is satisfiable, every mutant is refuted and (with
``--crosshair``) every contract passes; 1 otherwise; 2 for a usage error
(a NAME that selects nothing).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import click

from ._obligation import Result, all_checks, run_checks, select

__all__ = ["prove"]


def _summary(results: list[Result], seconds: float) -> dict[str, Any]:
    counts: Counter[tuple[str, str]] = Counter((r.kind.value, r.status.value) for r in results)
    by_kind: dict[str, dict[str, int]] = {}
    for (kind, status), number in sorted(counts.items()):
        by_kind.setdefault(kind, {})[status] = number
    return {
        "ok": all(r.ok for r in results),
        "checks": len(results),
        "failing": [r.name for r in results if not r.ok],
        "by_kind": by_kind,
        "seconds": round(seconds, 3),
    }


@click.command("prove")
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document with every result.")
@click.option(
    "--crosshair",
    "with_crosshair",
    is_flag=True,
    help="Also check the CrossHair contracts (pre:/post: docstrings) of the pure functions.",
)
@click.option(
    "--per-condition-timeout",
    default=3.0,
    show_default=True,
    help="CrossHair: seconds per pre/postcondition.",
)
@click.option(
    "--max-iterations",
    default=20,
    show_default=True,
    help="CrossHair: stop a condition after this many iterations that find nothing new.",
)
@click.option("--list", "list_only", is_flag=True, help="List the selected checks and exit.")
def prove(
    names: tuple[str, ...],
    as_json: bool,
    with_crosshair: bool,
    per_condition_timeout: float,
    max_iterations: int,
    list_only: bool,
) -> None:
    """Prove the protocol invariants and threshold arithmetic with Z3.

    NAME selects checks by exact name, by prefix ("thresholds",
    "sdbc.consecution") or by glob ('*.mutant.*'); none selects all.  Exit
    status 0 only when every obligation is proved, every non-vacuity check
    is satisfiable, every mutant is refuted and (with --crosshair) every
    contract passes.
    """
    checks = select(all_checks(), names)
    if names and not checks:
        raise click.UsageError(f"no proof check matches {' '.join(names)}")
    if list_only:
        for check in checks:
            click.echo(f"{check.kind.value:12} {check.name}")
        return
    started = time.perf_counter()
    results = run_checks(checks)
    z3_seconds = time.perf_counter() - started
    contracts: list[Any] = []
    if with_crosshair:
        from .contracts import check_contracts

        contracts = check_contracts(
            per_condition_timeout=per_condition_timeout, max_iterations=max_iterations
        )
    summary = _summary(results, z3_seconds)
    ok = summary["ok"] and all(c.ok for c in contracts)
    if with_crosshair:
        summary["crosshair"] = {
            "passed": sum(c.ok for c in contracts),
            "failing": [c.target for c in contracts if not c.ok],
            "seconds": round(sum(c.seconds for c in contracts), 3),
        }
    summary["ok"] = ok
    if as_json:
        document = {
            "summary": summary,
            "results": [r.to_json() for r in results] + [c.to_json() for c in contracts],
        }
        click.echo(json.dumps(document, indent=2))
    else:
        for r in results:
            mark = "ok " if r.ok else "BAD"
            line = f"{mark} {r.status.value:9} {r.kind.value:12} {r.seconds:7.3f}s  {r.name}"
            click.echo(line + (f"  ({r.detail})" if r.detail and not r.ok else ""))
            if not r.ok and r.model:
                for key, value in list(r.model.items())[:40]:
                    click.echo(f"      {key} = {value[:200]}")
        for c in contracts:
            mark = "ok " if c.ok else "BAD"
            click.echo(
                f"{mark} {c.status:9} {'contract':12} {c.seconds:7.3f}s  crosshair.{c.target}"
            )
            if not c.ok:
                click.echo("      " + c.output[-2000:].replace("\n", "\n      "))
        by_kind = ", ".join(
            f"{kind}: " + " ".join(f"{n} {status}" for status, n in statuses.items())
            for kind, statuses in summary["by_kind"].items()
        )
        click.echo(
            f"{'PROVED' if ok else 'FAILED'}: {len(results)} checks in {z3_seconds:.2f}s ({by_kind})"
        )
    raise SystemExit(0 if ok else 1)
