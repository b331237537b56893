"""``vigilnet check`` and ``vigilnet replay``.

Exit status (a contract; later tools and CI rely on it):

* 0: every property holds and every sometimes-property was witnessed (for
  ``--all``: every configuration passed and every mutant was killed);
* 1: a property is violated, a sometimes-property was never witnessed, or a
  deadlock was found (for ``replay``: the trace is not a behaviour of the
  model, or it no longer shows what it recorded);
* 2: usage or model error, a false assumption included.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import click

from vigilnet.checker._common import Options
from vigilnet.checker._itf import trace_to_itf, write_itf
from vigilnet.checker._model import Model, ModelError, ModelFamily
from vigilnet.checker._progress import NullProgress, Progress, StderrProgress
from vigilnet.checker._registry import load_family, parse_constant, registered
from vigilnet.checker._replay import replay_file
from vigilnet.checker._report import format_result, format_trace, result_to_json
from vigilnet.checker._result import CheckResult
from vigilnet.checker._run import Engine, Strategy
from vigilnet.checker._run import check as run_check

__all__ = ["check", "replay"]


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _write_traces(
    directory: Path,
    model: Model[Any],
    result: CheckResult,
    model_ref: str,
    overrides: Mapping[str, object],
) -> dict[str, str]:
    written: dict[str, str] = {}
    stem = "-".join(
        _slug(part) for part in (result.model, result.config, result.mutant or "") if part
    )
    for prop in result.properties:
        if prop.trace is None:
            continue
        path = directory / f"{stem}-{_slug(prop.name)}-{prop.status.value}.itf.json"
        write_itf(
            path,
            trace_to_itf(
                model,
                prop.trace,
                model_ref=model_ref,
                overrides=overrides,
                prop=prop.name,
                kind=prop.kind,
                status=prop.status.value,
            ),
        )
        written[prop.name] = str(path)
    if result.deadlock is not None:
        path = directory / f"{stem}-deadlock.itf.json"
        write_itf(
            path,
            trace_to_itf(
                model,
                result.deadlock,
                model_ref=model_ref,
                overrides=overrides,
                prop="deadlock",
                kind="deadlock",
                status="violated",
            ),
        )
        written["deadlock"] = str(path)
    return written


def _list_family(family: ModelFamily) -> None:
    for name in family.configs:
        click.echo(f"config {name}")
    for name in family.mutants:
        click.echo(f"mutant {name}")


def _run_all(as_json: bool, workers: int, engine: Engine, progress: bool, symmetry: bool) -> int:
    runs: list[dict[str, Any]] = []
    failed = 0
    for name, ref in registered().items():
        family = load_family(ref)
        jobs: list[tuple[str | None, str | None]] = [(c, None) for c in family.configs]
        jobs += [(None, m) for m in family.mutants]
        for config, mutant in jobs:
            model = family.instantiate(config=config, mutant=mutant)
            reporter = _progress(progress)
            try:
                result = run_check(
                    model,
                    Options(symmetry=symmetry, progress=reporter),
                    engine=engine,
                    workers=workers,
                )
            finally:
                reporter.close()
            expected = "violation" if mutant else "ok"
            passed = result.result == expected
            failed += not passed
            label = f"{name} {'mutant ' + mutant if mutant else 'config ' + model.config}"
            if not as_json:
                verdict = "pass" if passed else "FAIL"
                what = "killed" if mutant and passed else result.result
                click.echo(
                    f"{verdict}  {label:<48} {what:<9} "
                    f"{result.distinct_states:>10,} states  {result.seconds:7.2f} s"
                )
            runs.append(
                {
                    "model": name,
                    "config": model.config,
                    "mutant": mutant,
                    "expected": expected,
                    "result": result.result,
                    "passed": passed,
                    "distinct_states": result.distinct_states,
                    "seconds": result.seconds,
                }
            )
    if as_json:
        click.echo(json.dumps({"result": "ok" if not failed else "violation", "runs": runs}))
    else:
        click.echo(f"{len(runs) - failed} of {len(runs)} passed")
    return 0 if not failed else 1


def _progress(enabled: bool) -> Progress:
    return StderrProgress() if enabled else NullProgress()


@click.command(name="check")
@click.argument("model_ref", metavar="MODEL", required=False)
@click.option(
    "--list",
    "list_",
    is_flag=True,
    help="List the models (or MODEL's configs and mutants), one per line.",
)
@click.option(
    "--all",
    "all_",
    is_flag=True,
    help="Check every config of every registered model; every mutant must fail.",
)
@click.option("--config", default=None, help="A named configuration of MODEL.")
@click.option("--const", "consts", multiple=True, metavar="K=V", help="Override a constant.")
@click.option("--mutant", default=None, help="Check a known-bad variant (expected to fail).")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes with sharded fingerprint sets.",
)
@click.option("--no-symmetry", is_flag=True, help="Do not reduce by the model's symmetry.")
@click.option(
    "--max-depth",
    type=click.IntRange(min=0),
    default=None,
    help="Explore at most this many steps from an initial state.",
)
@click.option("--dfs", is_flag=True, help="Depth-first (with --max-depth) instead of BFS.")
@click.option("--simulate", is_flag=True, help="Random walks instead of exhaustive search.")
@click.option(
    "--traces",
    default=100,
    show_default=True,
    type=click.IntRange(min=1),
    help="Walks for --simulate.",
)
@click.option(
    "--depth",
    default=100,
    show_default=True,
    type=click.IntRange(min=0),
    help="Steps per walk for --simulate.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for --simulate.")
@click.option(
    "--engine",
    type=click.Choice(["auto", "generic", "vector"]),
    default="auto",
    show_default=True,
    help="vector: the model's numpy kernel.",
)
@click.option("--continue", "keep_going", is_flag=True, help="Do not stop at the first violation.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option(
    "--trace-out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write every trace as ITF JSON into this directory.",
)
@click.option(
    "--progress/--no-progress", default=True, show_default=True, help="Progress lines on stderr."
)
def check(
    model_ref: str | None,
    list_: bool,
    all_: bool,
    config: str | None,
    consts: tuple[str, ...],
    mutant: str | None,
    workers: int,
    no_symmetry: bool,
    max_depth: int | None,
    dfs: bool,
    simulate: bool,
    traces: int,
    depth: int,
    seed: int,
    engine: str,
    keep_going: bool,
    as_json: bool,
    trace_out: Path | None,
    progress: bool,
) -> None:
    """Model-check MODEL: a registered name, module:ATTR, or file.py[:ATTR].

    Exit 0 when every property holds and every sometimes-property is
    witnessed, 1 on a violation or an unwitnessed sometimes-property, 2 on
    a usage or model error (a false assumption included).
    """
    try:
        if all_:
            if model_ref is not None:
                _fail("--all takes no MODEL")
            sys.exit(
                _run_all(
                    as_json,
                    workers,
                    cast(Engine, engine),
                    progress,
                    not no_symmetry,
                )
            )
        if list_ and model_ref is None:
            for name in registered():
                click.echo(name)
            return
        if model_ref is None:
            _fail("missing MODEL (or --list / --all)")
            return
        family = load_family(model_ref)
        if list_:
            _list_family(family)
            return
        if dfs and simulate:
            _fail("--dfs and --simulate exclude each other")
        overrides = dict(parse_constant(text) for text in consts)
        model = family.instantiate(config=config, overrides=overrides or None, mutant=mutant)
        strategy: Strategy = "simulate" if simulate else "dfs" if dfs else "bfs"
        reporter = _progress(progress)
        try:
            result = run_check(
                model,
                Options(
                    max_depth=max_depth,
                    symmetry=not no_symmetry,
                    stop_on_violation=not keep_going,
                    progress=reporter,
                ),
                engine=engine,  # type: ignore[arg-type]
                strategy=strategy,
                workers=workers,
                traces=traces,
                depth=depth,
                seed=seed,
            )
        finally:
            reporter.close()
        files = (
            _write_traces(trace_out, model, result, model_ref, overrides)
            if trace_out is not None
            else {}
        )
        if as_json:
            click.echo(
                json.dumps(
                    result_to_json(
                        model, result, model_ref=model_ref, overrides=overrides, trace_files=files
                    )
                )
            )
        else:
            click.echo(format_result(model, result))
            for name, path in files.items():
                click.echo(f"Trace of {name} written to {path}")
        sys.exit(0 if result.ok else 1)
    except ModelError as error:
        _fail(str(error))
    except Exception as error:  # a bug in the model: exit 2, never 1
        traceback.print_exc(file=sys.stderr)
        _fail(f"the model raised {type(error).__name__}: {error}")


@click.command(name="replay")
@click.argument("trace", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--model",
    "model_ref",
    default=None,
    help="Replay on this model instead of the one the trace names.",
)
def replay(trace: Path, model_ref: str | None) -> None:
    """Re-execute an ITF TRACE on its model, checking every step.

    Exit 0 when every step is a transition of the model and the recorded
    outcome (violation or witness) is reproduced; 1 when not; 2 on a usage
    or model error.
    """
    try:
        model, outcome = replay_file(trace, model_ref)
    except ModelError as error:
        _fail(str(error))
        return
    if outcome.trace.steps:
        click.echo(format_trace(model, outcome.trace))
    for message in outcome.messages:
        click.echo(f"replay: {message}")
    click.echo(f"Replay: {'ok' if outcome.ok else 'FAILED'}")
    sys.exit(0 if outcome.ok else 1)
