"""Traces as ITF JSON, the Informal Trace Format of Apalache and Quint.

Format (ADR-015 of Apalache)::

    {"#meta": {"format": "ITF", "format-description": ..., "source": ...,
               "vigilnet": {model, config, constants, mutant, property, ...}},
     "vars": ["rmState", "tmState", ...],
     "states": [{"#meta": {"index": 0, "action": "<init>"}, "rmState": ..., ...},
                {"#meta": {"index": 1, "action": "RMPrepare(r1)",
                           "action-name": "RMPrepare", "args": ["r1"]}, ...}],
     "loop": 3}                       # lassos only: the last state goes back to states[3]

Values: ``bool`` and ``str`` as JSON; ``int`` as a JSON number inside
``[-(2**53 - 1), 2**53 - 1]``, else ``{"#bigint": "..."}``; ``list`` as a JSON
array (a TLA+ sequence); ``tuple`` as ``{"#tup": [...]}``; ``set`` /
``frozenset`` as ``{"#set": [...]}`` and mappings (TLA+ functions) as
``{"#map": [[key, value], ...]}``, both sorted by their JSON text so a file is
deterministic; a dataclass as a record (fields by name, ``None`` fields
left out); an ``Enum`` member by its name; anything else as
``{"#unserializable": repr}``.  The action taken into each state is in that
state's ``#meta`` (``action`` is the printed label).

A trace read back is data from outside: :func:`check_itf_value` holds every
value to the forms above (``#bigint`` a decimal string of at most
:data:`MAX_BIGINT_DIGITS` digits, ``#tup`` / ``#set`` arrays, ``#map`` an
array of pairs) before :func:`normalize` looks at it, and raises
:class:`TraceError` otherwise.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Mapping, Set
from pathlib import Path
from typing import Any

from vigilnet._jsonfile import BadFileError
from vigilnet.checker._model import Model
from vigilnet.checker._result import STUTTER, Trace

__all__ = [
    "FORMAT_DESCRIPTION",
    "MAX_BIGINT_DIGITS",
    "TraceError",
    "check_itf_value",
    "normalize",
    "to_itf_value",
    "trace_to_itf",
    "write_itf",
]

FORMAT_DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html"
_SAFE_INT = (1 << 53) - 1
#: Digits of the longest ``#bigint`` a trace may hold.
MAX_BIGINT_DIGITS = 1000
_BIGINT = re.compile(rf"-?[0-9]{{1,{MAX_BIGINT_DIGITS}}}", re.ASCII)


class TraceError(BadFileError):
    """A trace is not a well-formed ITF trace of vigilnet's shape (or names
    a model ``vigilnet replay`` will not load from a file).  Exit status 2."""


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def to_itf_value(value: Any) -> Any:
    """One Python value as an ITF JSON value."""
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, int):
        return value if -_SAFE_INT <= value <= _SAFE_INT else {"#bigint": str(value)}
    if isinstance(value, list):
        return [to_itf_value(item) for item in value]
    if isinstance(value, tuple):
        return {"#tup": [to_itf_value(item) for item in value]}
    if isinstance(value, Set):
        return {"#set": sorted((to_itf_value(item) for item in value), key=_sort_key)}
    if isinstance(value, Mapping):
        pairs = [[to_itf_value(k), to_itf_value(v)] for k, v in value.items()]
        return {"#map": sorted(pairs, key=lambda pair: _sort_key(pair[0]))}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_itf_value(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not None
        }
    return {"#unserializable": repr(value)}


def check_itf_value(value: Any, where: str) -> None:
    """Raise :class:`TraceError` unless ``value`` (parsed JSON) is an ITF
    value of the forms in the module docstring; ``where`` names it."""
    stack = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, list):
            stack.extend((v, f"{at}[{i}]") for i, v in enumerate(item))
        elif isinstance(item, dict):
            if "#bigint" in item:
                digits = item["#bigint"]
                if set(item) != {"#bigint"} or not isinstance(digits, str):
                    raise TraceError(f"{at}: #bigint takes one decimal string")
                if not _BIGINT.fullmatch(digits):
                    raise TraceError(
                        f"{at}: #bigint is not a decimal of at most {MAX_BIGINT_DIGITS} digits"
                    )
            elif set(item) & {"#tup", "#set", "#map"}:
                if len(item) != 1:
                    raise TraceError(f"{at}: {sorted(item)[0]} takes no other keys")
                ((tag, items),) = item.items()
                if not isinstance(items, list):
                    raise TraceError(f"{at}: {tag} takes an array")
                if tag == "#map" and not all(
                    isinstance(pair, list) and len(pair) == 2 for pair in items
                ):
                    raise TraceError(f"{at}: #map takes an array of [key, value] pairs")
                stack.extend((v, f"{at}{tag}[{i}]") for i, v in enumerate(items))
            else:
                stack.extend((v, f"{at}.{k}") for k, v in item.items())
        elif item is not None and not isinstance(item, (bool, int, str)):
            raise TraceError(f"{at}: {type(item).__name__} is not an ITF value")


def normalize(value: Any) -> Any:
    """An ITF value with sets and maps re-sorted and small ``#bigint`` as
    numbers, so that two encodings of one value compare equal."""
    if isinstance(value, list):
        return [normalize(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"#bigint"}:
            number = int(value["#bigint"])
            return number if -_SAFE_INT <= number <= _SAFE_INT else {"#bigint": str(number)}
        if set(value) == {"#set"}:
            return {"#set": sorted((normalize(v) for v in value["#set"]), key=_sort_key)}
        if set(value) == {"#map"}:
            pairs = [[normalize(k), normalize(v)] for k, v in value["#map"]]
            return {"#map": sorted(pairs, key=lambda pair: _sort_key(pair[0]))}
        return {key: normalize(item) for key, item in value.items()}
    return value


def state_to_itf(model: Model[Any], state: Any) -> dict[str, Any]:
    view = model.view(state)
    return {name: to_itf_value(view[name]) for name in model.variables}


def trace_to_itf(
    model: Model[Any],
    trace: Trace,
    *,
    model_ref: str,
    overrides: Mapping[str, object] | None = None,
    prop: str | None = None,
    kind: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """The ITF document of ``trace``; ``model_ref`` and ``overrides`` let
    ``vigilnet replay`` rebuild the same model."""
    states = []
    for index, step in enumerate(trace.steps):
        meta: dict[str, Any] = {"index": index, "action": step.label}
        if step.action is not None:
            meta["action-name"] = step.action
            meta["args"] = [to_itf_value(arg) for arg in step.args]
        entry: dict[str, Any] = {"#meta": meta}
        entry.update(state_to_itf(model, step.state))
        states.append(entry)
    config = model.config.split("+", 1)[0]
    vigilnet_meta: dict[str, Any] = {
        "model": model_ref,
        "config": config,
        "overrides": {k: to_itf_value(v) for k, v in (overrides or {}).items()},
        "constants": {k: to_itf_value(v) for k, v in model.constants.items()},
        "mutant": model.mutant,
        "property": prop,
        "kind": kind,
        "status": status,
    }
    document: dict[str, Any] = {
        "#meta": {
            "format": "ITF",
            "format-description": FORMAT_DESCRIPTION,
            "source": f"vigilnet.models:{model.source or model.name}",
            "description": f"vigilnet check: {prop or 'trace'} {status or ''}".strip(),
            "vigilnet": vigilnet_meta,
        },
        "vars": list(model.variables),
        "states": states,
    }
    if trace.loop is not None:
        document["loop"] = trace.loop
        document["#meta"]["loop-action"] = (
            STUTTER if trace.loop_action == STUTTER else _label(trace.loop_action, trace.loop_args)
        )
        document["#meta"]["loop-action-name"] = trace.loop_action
        document["#meta"]["loop-args"] = [to_itf_value(a) for a in trace.loop_args]
    return document


def _label(action: str | None, args: tuple[object, ...]) -> str:
    if action is None:
        return ""
    return action if not args else f"{action}({', '.join(str(a) for a in args)})"


def write_itf(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n", encoding="utf-8")
