"""The generic breadth-first engine (the default for every Python model).

Theory of operation
-------------------
1. The seen-set maps each state's 64-bit fingerprint to its index in
   discovery order; ``parent[i]`` is the index of the state that first reached
   state ``i``.  States are kept only while they wait in the queue.
2. The queue is processed level by level, so a state's index order is the
   order of first discovery, and the parent chain of any state is a shortest
   path from an initial state: every counterexample is a shortest one.
3. Each state is expanded by running the model's actions in declaration
   order; every yielded successor counts as *generated* and as one
   *enabling* of its action; a successor whose (canonical, under symmetry)
   fingerprint is new counts as a *new* state of its action and has every
   always- and sometimes-property checked at once.  A state outside
   ``within_boundary`` (TLC's ``CONSTRAINT``) is counted and checked like any
   other but never expanded, as TLC does, so the counts match TLC's.
4. With ``stop_on_violation`` the search ends at the first violation (TLC's
   default); the trace is rebuilt from the parent chain (see ``_trace``).
5. With ``record_graph`` every transition between kept states is recorded
   (with the fairness groups it belongs to) together with the groups enabled
   in each state, for the liveness checker.  Symmetry is then off: liveness on
   a quotient graph is unsound in general (TLC warns about the same).
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from vigilnet.checker._common import Ledger, Options, make_result, safety_outcomes
from vigilnet.checker._fingerprint import (
    collision_observed,
    collision_optimistic,
    fingerprint,
)
from vigilnet.checker._model import Model, ModelError
from vigilnet.checker._progress import ProgressInfo
from vigilnet.checker._result import ActionCoverage, CheckResult, Trace
from vigilnet.checker._trace import rebuild_trace

__all__ = ["StateGraph", "bfs", "explore"]


@dataclass(slots=True, kw_only=True)
class StateGraph:
    """The reachable state graph, for liveness.  States are indices in BFS
    order; ``edges[i]`` lists ``(target, action index, args, fairness mask)``."""

    fps: list[int] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)
    edges: list[list[tuple[int, int, tuple[Hashable, ...], int]]] = field(default_factory=list)
    enabled: list[int] = field(default_factory=list)
    initial: list[int] = field(default_factory=list)
    states: list[Any] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Exploration:
    """Raw totals of a breadth-first search, before they become a result."""

    distinct: int
    generated: int
    depth: int
    complete: bool
    seconds: float
    fps: array[int]
    parent: array[int]
    ledger: Ledger
    enabled: list[int]
    new: list[int]
    deadlock: int | None
    graph: StateGraph | None


def _key_fn(model: Model[Any], symmetry: bool) -> Any:
    canon = model.symmetry if (symmetry and model.symmetry is not None) else None
    if canon is None:
        return fingerprint

    def key_of(state: Any) -> int:
        return fingerprint(canon(state))

    return key_of


def explore(model: Model[Any], options: Options, *, record_graph: bool = False) -> Exploration:
    """Run the breadth-first search and return its raw totals."""
    model.check_assumptions()
    use_symmetry = options.symmetry and model.symmetry is not None and not record_graph
    canon = model.symmetry if use_symmetry else None
    boundary = model.boundary()
    actions = [(i, a.name, a.step) for i, a in enumerate(model.actions)]
    fair = model.fairness
    ledger = Ledger(model)
    enabled = [0] * len(actions)
    new = [0] * len(actions)
    index_of: dict[int, int] = {}
    fps: array[int] = array("Q")
    parent: array[int] = array("q")
    graph = StateGraph() if record_graph else None
    progress = options.progress
    start = time.monotonic()
    generated = 0
    deadlock: int | None = None
    stop = False

    level: list[tuple[Any, int]] = []
    for state in model.init_states():
        generated += 1
        key_state = canon(state) if canon is not None else state
        fp = fingerprint(key_state)
        if fp in index_of:
            continue
        index_of[fp] = len(fps)
        fps.append(fp)
        parent.append(-1)
        if graph is not None:
            graph.initial.append(index_of[fp])
            graph.states.append(state)
        level.append((key_state, fp))
        if ledger.check(key_state, index_of[fp]) and options.stop_on_violation:
            stop = True
            break

    depth = 0
    complete = True
    next_check = 2048
    while level and not stop:
        if options.max_depth is not None and depth >= options.max_depth:
            complete = False
            break
        following: list[tuple[Any, int]] = []
        for position, (state, fp) in enumerate(level):
            me = index_of[fp]
            if not boundary(state):
                if graph is not None:
                    graph.edges.append([])
                    graph.enabled.append(0)
                continue
            count = 0
            my_edges: list[tuple[int, int, tuple[Hashable, ...], int]] = []
            my_enabled = 0
            for ai, name, step in actions:
                for args, nxt in step(state):
                    count += 1
                    enabled[ai] += 1
                    if fair and graph is not None:
                        mask = 0
                        for gi, group in enumerate(fair):
                            if group.covers(name, args):
                                mask |= 1 << gi
                        my_enabled |= mask
                    else:
                        mask = 0
                    key_state = canon(nxt) if canon is not None else nxt
                    nfp = fingerprint(key_state)
                    target = index_of.get(nfp)
                    if target is None:
                        target = len(fps)
                        index_of[nfp] = target
                        fps.append(nfp)
                        parent.append(me)
                        new[ai] += 1
                        following.append((key_state, nfp))
                        if graph is not None:
                            graph.states.append(nxt)
                        if ledger.check(key_state, target) and options.stop_on_violation:
                            stop = True
                    if graph is not None:
                        my_edges.append((target, ai, tuple(args), mask))
                if stop:
                    break
            generated += count
            if graph is not None:
                graph.edges.append(my_edges)
                graph.enabled.append(my_enabled)
            if count == 0 and model.check_deadlock and deadlock is None:
                deadlock = me
                if options.stop_on_violation:
                    stop = True
            if stop:
                break
            if len(fps) >= next_check:
                next_check = len(fps) + 2048
                progress(
                    ProgressInfo(
                        generated=generated,
                        distinct=len(fps),
                        queue=len(level) - position - 1 + len(following),
                        depth=depth,
                        seconds=time.monotonic() - start,
                    )
                )
        if stop:
            if following:
                depth += 1
            break
        level = following
        if level:
            depth += 1
    if stop:
        complete = False
    if graph is not None:
        graph.fps = list(fps)
        graph.parent = list(parent)
        while len(graph.edges) < len(fps):
            graph.edges.append([])
            graph.enabled.append(0)
    return Exploration(
        distinct=len(fps),
        generated=generated,
        depth=depth,
        complete=complete,
        seconds=time.monotonic() - start,
        fps=fps,
        parent=parent,
        ledger=ledger,
        enabled=enabled,
        new=new,
        deadlock=deadlock,
        graph=graph,
    )


def chain(parent: array[int], index: int) -> list[int]:
    """Indices from an initial state to ``index``."""
    out = [index]
    while parent[out[-1]] >= 0:
        out.append(parent[out[-1]])
    out.reverse()
    return out


def trace_to(model: Model[Any], run: Exploration, index: int, symmetry: bool) -> Trace:
    keys = [run.fps[i] for i in chain(run.parent, index)]
    return rebuild_trace(model, keys, _key_fn(model, symmetry))


def bfs(model: Model[Any], options: Options | None = None) -> CheckResult:
    """Check the always/sometimes properties (and deadlock) breadth-first."""
    options = options if options is not None else Options()
    if model.has_liveness:
        from vigilnet.checker._liveness import check_with_liveness

        return check_with_liveness(model, options)
    use_symmetry = options.symmetry and model.symmetry is not None
    run = explore(model, options)
    return finish(model, run, use_symmetry, engine="generic", workers=1)


def _as_index(key: object) -> int:
    if not isinstance(key, int):
        raise TypeError(f"state key {key!r} is not an index")
    return key


def finish(
    model: Model[Any],
    run: Exploration,
    use_symmetry: bool,
    *,
    engine: str,
    workers: int,
    extra: dict[str, Any] | None = None,
) -> CheckResult:
    traces = {
        i: trace_to(model, run, int(key), use_symmetry)  # type: ignore[call-overload]
        for i, key in run.ledger.found.items()
    }
    outcomes = safety_outcomes(model, run.ledger, traces, complete=run.complete)
    if extra:
        outcomes.update(extra)
    deadlock = (
        trace_to(model, run, run.deadlock, use_symmetry) if run.deadlock is not None else None
    )
    coverage = {
        action.name: ActionCoverage(enabled=run.enabled[i], new=run.new[i])
        for i, action in enumerate(model.actions)
    }
    if len(set(coverage)) != len(model.actions):
        raise ModelError("duplicate action names")
    return make_result(
        model=model,
        engine=engine,
        strategy="bfs",
        workers=workers,
        symmetry=use_symmetry,
        distinct=run.distinct,
        generated=run.generated,
        depth=run.depth,
        seconds=run.seconds,
        complete=run.complete,
        outcomes=outcomes,
        coverage=coverage,
        collision_optimistic=collision_optimistic(run.distinct, run.generated),
        collision_observed=collision_observed(run.fps),
        deadlock=deadlock,
    )
