"""One entry point that picks the engine: :func:`check`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from vigilnet.checker._bfs import bfs
from vigilnet.checker._common import Options
from vigilnet.checker._explore import dfs, simulate
from vigilnet.checker._model import Model, ModelError
from vigilnet.checker._result import CheckResult
from vigilnet.checker._vector import kernel_supports, vector_bfs

__all__ = ["Engine", "Strategy", "check"]

Engine = Literal["auto", "generic", "vector"]
Strategy = Literal["bfs", "dfs", "simulate"]


def check(
    model: Model[Any],
    options: Options | None = None,
    *,
    engine: Engine = "auto",
    strategy: Strategy = "bfs",
    workers: int = 1,
    backend: Literal["local", "ray"] = "local",
    address: str | None = None,
    traces: int = 100,
    depth: int = 100,
    seed: int = 0,
) -> CheckResult:
    """Check ``model``.

    ``engine="auto"`` uses the vectorised kernel when the model has one that
    covers the check (BFS, no liveness, no state constraint), else the generic
    engine.  ``workers > 1`` runs the breadth-first search in that many
    processes with sharded fingerprint sets (same counts as one worker);
    ``backend="ray"`` runs those workers as Ray actors (any ``workers``).
    """
    options = options if options is not None else Options()
    if workers < 1:
        raise ModelError("--workers must be at least 1")
    if workers > 1 and strategy != "bfs":
        raise ModelError("--workers applies to breadth-first search only")
    if backend == "ray" and strategy != "bfs":
        raise ModelError("--backend ray applies to breadth-first search only")
    if address is not None and backend != "ray":
        raise ModelError("--address is for --backend ray")
    if strategy == "simulate":
        return simulate(model, options, traces=traces, depth=depth, seed=seed)
    if strategy == "dfs":
        return dfs(model, options)
    why = kernel_supports(model)
    if engine == "vector" and why is not None:
        raise ModelError(f"model {model.name}: cannot use the vectorised engine: {why}")
    vector = engine == "vector" or (engine == "auto" and why is None)
    sharded = workers > 1 or backend == "ray"
    if sharded and model.has_liveness:
        result = bfs(model, options)
        return replace(
            result,
            notes=(*result.notes, "liveness needs the whole state graph: checked on 1 worker"),
        )
    if sharded:
        from vigilnet.checker._parallel import parallel_bfs

        return parallel_bfs(
            model,
            options,
            workers=workers,
            vector=vector,
            backend="ray" if backend == "ray" else "process",
            address=address,
        )
    if vector:
        return vector_bfs(model, options)
    return bfs(model, options)
