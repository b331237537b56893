"""Human-readable reports and the ``--json`` object.

Traces print as TLC prints them, but as diffs: the initial state in full,
then per step the action taken and only what changed (``rmState[r1]:
"working" -> "prepared"``, ``msgs: + [type |-> "Prepared", rm |-> "r1"]``).
Values print in TLA+ notation.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Set
from typing import Any

from vigilnet.checker._itf import trace_to_itf
from vigilnet.checker._model import Model
from vigilnet.checker._result import STUTTER, CheckResult, Status, Trace

__all__ = ["format_result", "format_trace", "format_value", "result_to_json"]


def format_value(value: Any) -> str:
    """A value in TLA+ notation."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (tuple, list)):
        return "<<" + ", ".join(format_value(v) for v in value) + ">>"
    if isinstance(value, Set):
        return "{" + ", ".join(sorted(format_value(v) for v in value)) + "}"
    if isinstance(value, Mapping):
        return "[" + ", ".join(f"{_key(k)} |-> {format_value(v)}" for k, v in value.items()) + "]"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            "["
            + ", ".join(
                f"{f.name} |-> {format_value(getattr(value, f.name))}"
                for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None
            )
            + "]"
        )
    return repr(value)


def _key(key: Any) -> str:
    return key if isinstance(key, str) else format_value(key)


def _diff(name: str, old: Any, new: Any) -> list[str]:
    if old == new:
        return []
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        lines = []
        for key in list(old) + [k for k in new if k not in old]:
            if old.get(key) != new.get(key):
                before = format_value(old[key]) if key in old else "(none)"
                after = format_value(new[key]) if key in new else "(none)"
                lines.append(f"{name}[{_key(key)}]: {before} -> {after}")
        return lines
    if isinstance(old, Set) and isinstance(new, Set):
        added = sorted(format_value(v) for v in new - old)
        removed = sorted(format_value(v) for v in old - new)
        return [f"{name}: + {v}" for v in added] + [f"{name}: - {v}" for v in removed]
    return [f"{name}: {format_value(old)} -> {format_value(new)}"]


def format_trace(model: Model[Any], trace: Trace) -> str:
    """A trace as the initial state plus one diff per step; lassos end with
    the step back into the loop."""
    lines: list[str] = []
    if trace.loop is not None:
        last = len(trace.steps) - 1
        lines.append(
            f"Lasso: prefix = states 0..{trace.loop}, cycle = states {trace.loop}..{last} and back"
        )
    previous: Mapping[str, object] | None = None
    for index, step in enumerate(trace.steps):
        view = model.view(step.state)
        marker = "  <- loop starts here" if trace.loop == index else ""
        if previous is None:
            lines.append(f"State {index}: initial{marker}")
            lines.extend(f"  {name} = {format_value(view[name])}" for name in model.variables)
        else:
            lines.append(f"State {index}: {step.label}{marker}")
            changed = [
                line for name in model.variables for line in _diff(name, previous[name], view[name])
            ]
            lines.extend(f"  {line}" for line in changed or ["(no change)"])
        previous = view
    if trace.loop is not None:
        if trace.loop_action == STUTTER:
            lines.append(f"Then: stutters forever in state {len(trace.steps) - 1}")
        else:
            args = ", ".join(str(a) for a in trace.loop_args)
            label = f"{trace.loop_action}({args})" if args else str(trace.loop_action)
            lines.append(f"Then: {label} goes back to state {trace.loop}, and the cycle repeats")
    return "\n".join(lines)


def _steps(count: int) -> str:
    return f"{count} step" if count == 1 else f"{count} steps"


def format_result(model: Model[Any], result: CheckResult) -> str:
    """The final summary, TLC style."""
    consts = ", ".join(f"{k}={v}" for k, v in result.constants.items()) or "none"
    head = (
        f"Model {result.model}"
        + (f" (mutant {result.mutant})" if result.mutant else "")
        + f", config {result.config} [{consts}]: {result.strategy}, engine {result.engine}, "
        f"{result.workers} worker{'s' if result.workers != 1 else ''}, "
        f"symmetry {'on' if result.symmetry else 'off'}"
    )
    lines = [head]
    for prop in result.properties:
        lines.append(f"  {prop.kind:<10} {prop.name:<28} {prop.status.value}")
    for prop in result.properties:
        if prop.trace is None:
            continue
        if prop.status is Status.VIOLATED:
            what = "lasso" if prop.trace.loop is not None else "shortest counterexample"
            if result.strategy != "bfs":
                what = "counterexample" if prop.trace.loop is None else "lasso"
            lines.append(f"\nProperty {prop.name} is violated; {what} ({_steps(len(prop.trace))}):")
        else:
            lines.append(f"\nProperty {prop.name} is witnessed ({_steps(len(prop.trace))}):")
        lines.append(format_trace(model, prop.trace))
    for prop in result.properties:
        if prop.status is Status.UNWITNESSED:
            lines.append(
                f"\nSometimes-property {prop.name} was never witnessed: no "
                f"{'explored' if not result.complete else 'reachable'} state satisfies it."
            )
    if result.deadlock is not None:
        lines.append(f"\nDeadlock reached ({_steps(len(result.deadlock))}):")
        lines.append(format_trace(model, result.deadlock))
    rate = result.distinct_states / result.seconds if result.seconds > 0 else 0.0
    lines.append("")
    lines.append(
        f"{result.generated_states:,} states generated, {result.distinct_states:,} distinct "
        f"states found, depth {result.depth}{'' if result.complete else ' (search not complete)'}; "
        f"{result.seconds:.2f} s ({rate:,.0f} distinct states/s)."
    )
    if result.engine == "vector":
        lines.append("Fingerprint collision probability: 0 (states packed exactly).")
    else:
        lines.append(
            "Fingerprint collision probability: calculated (optimistic) "
            f"{result.collision_optimistic:.1e}, based on the actual fingerprints "
            f"{result.collision_observed:.1e}."
        )
    width = max([len(name) for name in result.coverage] + [6])
    lines.append(f"Coverage:  {'action':<{width}}  {'enabled':>12}  {'new':>10}")
    for name, cov in result.coverage.items():
        lines.append(f"           {name:<{width}}  {cov.enabled:>12,}  {cov.new:>10,}")
    if result.never_enabled:
        lines.append("Never enabled: " + ", ".join(result.never_enabled))
    for note in result.notes:
        lines.append(f"Note: {note}")
    lines.append(f"Result: {result.result}")
    return "\n".join(lines)


def result_to_json(
    model: Model[Any],
    result: CheckResult,
    *,
    model_ref: str,
    overrides: Mapping[str, object],
    trace_files: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ``--json`` object (fields documented in ``docs/checker.md``)."""
    files = trace_files or {}
    properties: dict[str, Any] = {}
    for prop in result.properties:
        properties[prop.name] = {
            "kind": prop.kind,
            "status": prop.status.value,
            "trace": None
            if prop.trace is None
            else trace_to_itf(
                model,
                prop.trace,
                model_ref=model_ref,
                overrides=overrides,
                prop=prop.name,
                kind=prop.kind,
                status=prop.status.value,
            ),
            "trace_length": None if prop.trace is None else len(prop.trace),
            "trace_file": files.get(prop.name),
        }
    return {
        "model": result.model,
        "config": result.config,
        "mutant": result.mutant,
        "constants": {
            k: v if isinstance(v, (int, str, bool)) else repr(v)
            for k, v in result.constants.items()
        },
        "distinct_states": result.distinct_states,
        "generated_states": result.generated_states,
        "depth": result.depth,
        "seconds": result.seconds,
        "workers": result.workers,
        "engine": result.engine,
        "strategy": result.strategy,
        "symmetry": result.symmetry,
        "complete": result.complete,
        "result": result.result,
        "properties": properties,
        "coverage": {
            name: {"enabled": cov.enabled, "new": cov.new} for name, cov in result.coverage.items()
        },
        "never_enabled": list(result.never_enabled),
        "collision_probability": {
            "optimistic": result.collision_optimistic,
            "observed": result.collision_observed,
        },
        "deadlock": None
        if result.deadlock is None
        else trace_to_itf(
            model,
            result.deadlock,
            model_ref=model_ref,
            overrides=overrides,
            prop="deadlock",
            kind="deadlock",
            status="violated",
        ),
        "notes": list(result.notes),
    }
