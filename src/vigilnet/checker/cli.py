"""``vigilnet check`` and ``vigilnet replay``.

Exit status (a contract; later tools and CI rely on it):

* 0: every property holds and every sometimes-property was witnessed (for
  ``--all``: every configuration passed and every mutant was killed);
* 1: a property is violated, a sometimes-property was never witnessed, or a
  deadlock was found (for ``replay``: the trace is not a behaviour of the
  model, or it no longer shows what it recorded);
* 2: usage or model error, a false assumption included, and every bad file
  or ``--const`` value: one line ``error: ...`` on stderr, never a traceback
  of vigilnet's own (a model that raises gets its traceback: it is the
  model's bug).  A model that calls ``sys.exit`` is a model error too: its
  exit status never stands for the check's.

``check MODEL`` imports ``MODEL`` when it is a module or a file, so it runs
that code; ``replay TRACE`` loads only a registered model from the trace
(anything else only with ``--model``).
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import click

from vigilnet._jsonfile import BadFileError
from vigilnet.checker._common import Options
from vigilnet.checker._itf import trace_to_itf, write_itf
from vigilnet.checker._model import ConstantsError, Model, ModelError, ModelFamily
from vigilnet.checker._progress import NullProgress, Progress, StderrProgress
from vigilnet.checker._registry import load_family, parse_constant, registered
from vigilnet.checker._replay import replay_file
from vigilnet.checker._report import format_result, format_trace, result_to_json
from vigilnet.checker._result import CheckResult
from vigilnet.checker._run import Engine, Strategy
from vigilnet.checker._run import check as run_check

__all__ = ["check", "replay"]


class _UsageError(Exception):
    """A wrong command line: ``error: ...`` and exit 2."""


def _fail(message: str) -> None:
    raise _UsageError(message)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 500 else line[:497] + "..."


def _run(body: Callable[[], int], *, model_traceback: bool) -> None:
    """Run a command's ``body`` and exit with its status, or with 2 and one
    ``error:`` line when it fails.  ``body`` returns its status and never
    calls ``sys.exit`` itself, so a ``SystemExit`` caught here was raised
    by model code: a model error, whatever its code."""
    try:
        status = body()
    except (_UsageError, ModelError, BadFileError) as error:
        click.echo(f"error: {_one_line(str(error))}", err=True)
        status = 2
    except SystemExit as error:
        click.echo(f"error: the model called sys.exit({_one_line(repr(error.code))})", err=True)
        status = 2
    except Exception as error:  # a bug in the model: exit 2, never 1
        if model_traceback:
            traceback.print_exc(file=sys.stderr)
        click.echo(
            f"error: the model raised {type(error).__name__}: {_one_line(str(error))}", err=True
        )
        status = 2
    sys.exit(status)


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
@click.option(
    "--backend",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="ray: the --workers shards as Ray actors (pip install 'vigilnet[ray]').",
)
@click.option(
    "--address", default=None, help="With --backend ray: the cluster ('auto', HOST:PORT)."
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
    backend: str,
    address: str | None,
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

    A module or file MODEL is imported, so its code runs with your rights:
    check only model files you trust.  (vigilnet replay never runs code a
    trace names.)

    Exit 0 when every property holds and every sometimes-property is
    witnessed, 1 on a violation or an unwitnessed sometimes-property, 2 on
    a usage or model error (a false assumption, a bad --const, a model that
    raises or calls sys.exit).
    """

    def body() -> int:
        if all_:
            if model_ref is not None:
                _fail("--all takes no MODEL")
            return _run_all(as_json, workers, cast(Engine, engine), progress, not no_symmetry)
        if list_ and model_ref is None:
            for name in registered():
                click.echo(name)
            return 0
        if model_ref is None:
            _fail("missing MODEL (or --list / --all)")
            return 2
        family = load_family(model_ref)
        if list_:
            _list_family(family)
            return 0
        if dfs and simulate:
            _fail("--dfs and --simulate exclude each other")
        overrides = _overrides(family, config, mutant, consts)
        try:
            model = family.instantiate(config=config, overrides=overrides or None, mutant=mutant)
        except ConstantsError as error:
            if not consts:
                raise
            raise ConstantsError(f"--const {' '.join(consts)}: {error}") from error
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
                backend=backend,  # type: ignore[arg-type]
                address=address,
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
        return 0 if result.ok else 1

    _run(body, model_traceback=True)


def _overrides(
    family: ModelFamily, config: str | None, mutant: str | None, consts: tuple[str, ...]
) -> dict[str, object]:
    """The ``--const`` values, each checked against the configuration's
    constants; an error names the ``--const`` at fault."""
    name = family.config_name(config=config, mutant=mutant)
    overrides: dict[str, object] = {}
    for text in consts:
        key, value = parse_constant(text)
        try:
            family.constants(name, {key: value})
        except ConstantsError as error:
            shown = text if len(text) <= 60 else text[:57] + "..."
            raise ConstantsError(f"--const {shown!r}: {error}") from error
        overrides[key] = value
    return overrides


@click.command(name="replay")
@click.argument("trace", type=click.Path(path_type=Path))
@click.option(
    "--model",
    "model_ref",
    default=None,
    help=(
        "Replay on this model (a registered name, module:ATTR or file.py[:ATTR], "
        "which is then imported and run) instead of the one the trace names."
    ),
)
def replay(trace: Path, model_ref: str | None) -> None:
    """Re-execute an ITF TRACE on its model, checking every step.

    A trace is data: it may name only a registered model (vigilnet check
    --list).  A module or file model is loaded only when you give it with
    --model.

    Exit 0 when every step is a transition of the model and the recorded
    outcome (violation or witness) is reproduced; 1 when not; 2 on a usage
    or model error or a malformed trace.
    """

    def body() -> int:
        model, outcome = replay_file(trace, model_ref)
        if outcome.trace.steps:
            click.echo(format_trace(model, outcome.trace))
        for message in outcome.messages:
            click.echo(f"replay: {message}")
        click.echo(f"Replay: {'ok' if outcome.ok else 'FAILED'}")
        return 0 if outcome.ok else 1

    _run(body, model_traceback=model_ref is not None)
