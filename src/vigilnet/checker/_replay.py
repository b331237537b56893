"""Replaying an ITF trace on its model: ``vigilnet replay TRACE``.

The model is rebuilt from the trace's ``#meta.vigilnet`` (model reference,
configuration, constant overrides, mutant) unless one is given.  The first
state must be an initial state of the model; each next state must be the
successor, by the recorded action (when the file names one), of the state
before it: the replayer runs the model's actions and compares the ITF
encoding of every successor with the file's (sets and maps compared as
sets).  For a lasso, the loop action must lead from the last state back to
``states[loop]`` (or be a stutter).  Finally the recorded outcome is
re-judged: a violated always-property must fail in the last state, a
witnessed sometimes-property must hold there, and a liveness lasso must
avoid the property's goal on its whole cycle.

:func:`replay_file` returns a :class:`Replay`; it is also the function a
regression test calls on a stored counterexample.

A trace is data, often someone else's: replaying it must never run code it
chose.  So the model named in ``#meta.vigilnet.model`` must be a registered
one (``vigilnet check --list``); a model given as ``module:ATTR`` or a file
is loaded only from ``model_ref`` (``--model`` on the command line), the
caller's own choice.  The constant overrides a trace carries are held to the
types of the configuration's constants, and the model's assumptions are
checked, before anything is built.  Everything else in the file is checked
for form before it is used (:func:`read_trace`, :func:`check_document`):
every way a file can be wrong ends in one :class:`TraceError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigilnet._jsonfile import read_json
from vigilnet.checker._itf import TraceError, check_itf_value, normalize, state_to_itf
from vigilnet.checker._model import ConstantsError, Kind, Model, ModelError
from vigilnet.checker._registry import load_family, load_registered
from vigilnet.checker._result import STUTTER, Step, Trace
from vigilnet.checker._trace import successors

__all__ = [
    "MAX_TRACE_BYTES",
    "MAX_TRACE_DEPTH",
    "Replay",
    "TraceError",
    "check_document",
    "model_of_itf",
    "read_trace",
    "replay_document",
    "replay_file",
]

#: The largest trace file :func:`read_trace` reads.
MAX_TRACE_BYTES = 256 << 20
#: How deep arrays and objects may nest in a trace (the shipped models' traces
#: nest about 10 deep).
MAX_TRACE_DEPTH = 64

_META_STRINGS = ("model", "config", "mutant", "property", "kind", "status")


@dataclass(frozen=True, slots=True, kw_only=True)
class Replay:
    """``ok``: every step is a transition of the model and the recorded
    outcome is reproduced.  ``trace`` holds the concrete states replayed;
    ``messages`` says what was checked, step by step."""

    ok: bool
    trace: Trace
    messages: tuple[str, ...]


def _from_itf(value: Any) -> object:
    if isinstance(value, dict) and set(value) == {"#bigint"}:
        return int(value["#bigint"])
    if isinstance(value, dict) and set(value) == {"#tup"}:
        return tuple(_from_itf(v) for v in value["#tup"])
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TraceError(f"{where} is not a JSON object")
    return value


def _optional_str(container: Mapping[str, Any], key: str, where: str) -> None:
    value = container.get(key)
    if value is not None and not isinstance(value, str):
        raise TraceError(f"{where}.{key} is not a string")


def check_document(document: Any) -> dict[str, Any]:
    """``document`` (parsed JSON) if it has the form of a vigilnet ITF trace,
    else raise :class:`TraceError` saying where it does not."""
    checked = _object(document, "the trace")
    top = _object(checked.get("#meta", {}), "#meta")
    meta = _object(top.get("vigilnet", {}), "#meta.vigilnet")
    for key in _META_STRINGS:
        _optional_str(meta, key, "#meta.vigilnet")
    overrides = meta.get("overrides")
    if overrides is not None:
        check_itf_value(_object(overrides, "#meta.vigilnet.overrides"), "overrides")
    _optional_str(top, "loop-action-name", "#meta")
    if "vars" in checked:
        names = checked["vars"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise TraceError("vars is not an array of strings")
    states = checked.get("states")
    if not isinstance(states, list) or not states:
        raise TraceError("the trace has no states (a non-empty array)")
    for index, state in enumerate(states):
        state = _object(state, f"states[{index}]")
        step = _object(state.get("#meta", {}), f"states[{index}].#meta")
        _optional_str(step, "action-name", f"states[{index}].#meta")
        for name, value in state.items():
            if name != "#meta":
                check_itf_value(value, f"states[{index}].{name}")
    loop = checked.get("loop")
    if loop is not None and (
        not isinstance(loop, int) or isinstance(loop, bool) or not 0 <= loop < len(states)
    ):
        raise TraceError(f"loop is not the index of a state (0..{len(states) - 1})")
    return checked


def read_trace(path: Path) -> dict[str, Any]:
    """The ITF document in ``path``, checked for form (:func:`check_document`).
    Raises :class:`TraceError` for every way the file can be wrong."""
    try:
        document = read_json(
            path, what="trace", max_bytes=MAX_TRACE_BYTES, max_depth=MAX_TRACE_DEPTH
        )
    except TraceError:
        raise
    except ValueError as error:  # BadFileError
        raise TraceError(str(error)) from error
    try:
        return check_document(document)
    except TraceError as error:
        raise TraceError(f"trace {path}: {error}") from error


def model_of_itf(document: Mapping[str, Any], model_ref: str | None = None) -> Model[Any]:
    """The model a trace was written from, or ``model_ref``'s.

    The trace may name only a registered model; ``model_ref`` (the caller's
    choice, never read from the file) may be any reference
    :func:`load_family` takes.  The trace's configuration, overrides and
    mutant then pick among what that model ships, and the model's
    assumptions must hold."""
    meta = check_document(document).get("#meta", {}).get("vigilnet", {})
    if model_ref is not None:
        family = load_family(model_ref)
    else:
        ref = meta.get("model")
        if not ref:
            raise TraceError("the trace does not name its model; pass --model MODEL")
        try:
            family = load_registered(ref)
        except ModelError as error:
            raise TraceError(
                f"the trace names the model {ref!r:.80}, which is not a registered model: "
                "a trace is data, so replay loads no module or file it names; "
                "give the model with --model if you trust it"
            ) from error
    overrides = {k: _from_itf(v) for k, v in (meta.get("overrides") or {}).items()}
    config = meta.get("config") or None
    if config is not None and config not in family.configs:
        config = None
    model = family.instantiate(
        config=config, overrides=overrides or None, mutant=meta.get("mutant")
    )
    model.check_assumptions()
    return model


def replay_document(document: Mapping[str, Any], model: Model[Any]) -> Replay:
    """Replay a parsed ITF document on ``model``.  Raises
    :class:`TraceError` when the document is not a trace of ``model``'s
    form (see :func:`check_document`; every state must hold every one of
    the model's variables)."""
    states = check_document(document)["states"]
    variables = list(model.variables)
    if list(document.get("vars", variables)) != variables:
        raise TraceError(
            f"trace variables {document.get('vars')!r:.200} are not the model's {variables}"
        )
    for index, state in enumerate(states):
        missing = [name for name in variables if name not in state]
        if missing:
            raise TraceError(f"states[{index}] lacks the variables {', '.join(missing)}")

    def expected(index: int) -> Any:
        return normalize({name: states[index][name] for name in variables})

    def encoded(state: Any) -> Any:
        return normalize(state_to_itf(model, state))

    messages: list[str] = []
    current = next((s for s in model.init_states() if encoded(s) == expected(0)), None)
    if current is None:
        return Replay(
            ok=False,
            trace=Trace(steps=()),
            messages=("state 0 is not an initial state of the model",),
        )
    steps = [Step(action=None, args=(), state=current)]
    messages.append("state 0: an initial state")
    for index in range(1, len(states)):
        meta = states[index].get("#meta", {})
        name = meta.get("action-name")
        target = expected(index)
        match = None
        for ai, args, nxt in successors(model, current):
            if name is not None and model.actions[ai].name != name:
                continue
            if encoded(nxt) == target:
                match = Step(action=model.actions[ai].name, args=args, state=nxt)
                break
        if match is None:
            messages.append(
                f"state {index}: NOT reachable from state {index - 1} by "
                f"{meta.get('action', 'any action')}"
            )
            return Replay(ok=False, trace=Trace(steps=tuple(steps)), messages=tuple(messages))
        messages.append(f"state {index}: {match.label} allowed")
        steps.append(match)
        current = match.state
    loop = document.get("loop")
    trace = Trace(steps=tuple(steps))
    if loop is not None:
        top = document.get("#meta", {})
        loop_name = top.get("loop-action-name")
        if loop_name == STUTTER:
            messages.append(f"loop: stutters in state {len(steps) - 1}")
            trace = Trace(steps=tuple(steps), loop=loop, loop_action=STUTTER)
        else:
            target = encoded(steps[loop].state)
            back = next(
                (
                    (ai, args)
                    for ai, args, nxt in successors(model, current)
                    if (loop_name is None or model.actions[ai].name == loop_name)
                    and encoded(nxt) == target
                ),
                None,
            )
            if back is None:
                messages.append(f"loop: the last state does not lead back to state {loop}")
                return Replay(ok=False, trace=trace, messages=tuple(messages))
            label = Step(action=model.actions[back[0]].name, args=back[1], state=None).label
            messages.append(f"loop: {label} goes back to state {loop}")
            trace = Trace(
                steps=tuple(steps),
                loop=loop,
                loop_action=model.actions[back[0]].name,
                loop_args=back[1],
            )
    ok = _outcome(document, model, trace, messages)
    return Replay(ok=ok, trace=trace, messages=tuple(messages))


def _outcome(
    document: Mapping[str, Any], model: Model[Any], trace: Trace, messages: list[str]
) -> bool:
    meta = document.get("#meta", {}).get("vigilnet", {})
    name, status = meta.get("property"), meta.get("status")
    props = {p.name: p for p in model.properties}
    if name is None or name not in props:
        if name == "deadlock":
            dead = not successors(model, trace.steps[-1].state)
            messages.append("deadlock reproduced" if dead else "the last state is not a deadlock")
            return dead
        return True
    prop = props[name]
    last = trace.steps[-1].state
    if prop.kind is Kind.ALWAYS and status == "violated":
        ok = not prop.holds(last)
        messages.append(f"{name} {'fails' if ok else 'HOLDS'} in the last state")
        return ok
    if prop.kind is Kind.SOMETIMES and status == "witnessed":
        ok = prop.holds(last)
        messages.append(f"{name} {'holds' if ok else 'does NOT hold'} in the last state")
        return ok
    if prop.kind.is_liveness and status == "violated" and trace.loop is not None:
        cycle = [step.state for step in trace.steps[trace.loop :]]
        ok = not any(prop.holds(state) for state in cycle)
        if prop.kind is Kind.LEADS_TO:
            trigger = prop.trigger
            assert trigger is not None
            ok = ok and any(
                trigger(step.state) and not any(prop.holds(s.state) for s in trace.steps[i:])
                for i, step in enumerate(trace.steps)
            )
        messages.append(
            f"{name}: {'the lasso avoids the goal forever' if ok else 'NOT a violation'}"
        )
        return ok
    return True


def replay_file(path: Path, model_ref: str | None = None) -> tuple[Model[Any], Replay]:
    """Load ``path`` (ITF JSON) and replay it on its model (the trace's,
    which must be registered, or ``model_ref``'s).  Raises
    :class:`TraceError` for a malformed file and :class:`ModelError` for a
    model that cannot be built."""
    document = read_trace(path)
    try:
        model = model_of_itf(document, model_ref)
        return model, replay_document(document, model)
    except ConstantsError as error:
        raise TraceError(f"trace {path}: its constants: {error}") from error
    except TraceError as error:
        raise TraceError(f"trace {path}: {error}") from error
