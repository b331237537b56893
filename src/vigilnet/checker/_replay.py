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
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigilnet.checker._itf import normalize, state_to_itf
from vigilnet.checker._model import Kind, Model, ModelError
from vigilnet.checker._registry import load_family
from vigilnet.checker._result import STUTTER, Step, Trace
from vigilnet.checker._trace import successors

__all__ = ["Replay", "model_of_itf", "replay_document", "replay_file"]


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


def model_of_itf(document: Mapping[str, Any], model_ref: str | None = None) -> Model[Any]:
    """The model a trace was written from (or ``model_ref``'s)."""
    meta = document.get("#meta", {}).get("vigilnet", {})
    ref = model_ref or meta.get("model")
    if not ref:
        raise ModelError("the trace does not name its model; pass --model")
    family = load_family(str(ref))
    overrides = {k: _from_itf(v) for k, v in (meta.get("overrides") or {}).items()}
    config = meta.get("config") or None
    if config is not None and config not in family.configs:
        config = None
    return family.instantiate(config=config, overrides=overrides or None, mutant=meta.get("mutant"))


def replay_document(document: Mapping[str, Any], model: Model[Any]) -> Replay:
    """Replay a parsed ITF document on ``model``."""
    states = document.get("states")
    if not isinstance(states, list) or not states:
        raise ModelError("the trace has no states")
    variables = list(model.variables)
    if list(document.get("vars", variables)) != variables:
        raise ModelError(f"trace variables {document.get('vars')} are not the model's {variables}")

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
        loop = int(loop)
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
    """Load ``path`` (ITF JSON) and replay it on its model."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ModelError(f"cannot read trace {path}: {error}") from error
    model = model_of_itf(document, model_ref)
    return model, replay_document(document, model)
