"""Rebuilding concrete traces from chains of stored keys.

The engines store one key per state (a fingerprint, or the packed state of a
vectorised kernel) and a parent link, never the states themselves.  A trace
is rebuilt as TLC rebuilds it: start from the initial state whose key matches,
then at each step run the model's actions and keep the successor whose key
matches the next one.  Under symmetry the stored keys are those of canonical
representatives; the rebuilt trace follows *concrete* successors whose
canonical form matches, so every step of it is a real transition of the model.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from vigilnet.checker._model import Model, ModelError
from vigilnet.checker._result import Step, Trace

__all__ = ["rebuild_trace", "successors"]


def successors(model: Model[Any], state: Any) -> list[tuple[int, tuple[Hashable, ...], Any]]:
    """Every ``(action index, args, next state)`` of ``state``, in the
    model's order (actions in declaration order, instances as yielded)."""
    out: list[tuple[int, tuple[Hashable, ...], Any]] = []
    for index, action in enumerate(model.actions):
        for args, nxt in action.step(state):
            out.append((index, tuple(args), nxt))
    return out


def rebuild_trace(
    model: Model[Any],
    keys: Sequence[Hashable],
    key_of: Callable[[Any], Hashable],
) -> Trace:
    """The concrete trace whose states' keys are ``keys``.

    ``key_of`` maps a concrete state to its stored key (canonicalising it
    first under symmetry).  Raises :class:`ModelError` when no successor
    matches, which means the model is not deterministic (its actions yield
    different successors on different calls) or the symmetry is not one.
    """
    current: Any = None
    for state in model.init_states():
        if key_of(state) == keys[0]:
            current = state
            break
    if current is None:
        raise ModelError(f"model {model.name}: cannot rebuild trace: no initial state matches")
    steps = [Step(action=None, args=(), state=current)]
    for key in keys[1:]:
        for index, args, nxt in successors(model, current):
            if key_of(nxt) == key:
                steps.append(Step(action=model.actions[index].name, args=args, state=nxt))
                current = nxt
                break
        else:
            raise ModelError(
                f"model {model.name}: cannot rebuild trace at step {len(steps)}: "
                "no successor matches (nondeterministic actions or a false symmetry?)"
            )
    return Trace(steps=tuple(steps))
