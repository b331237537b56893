"""Depth-first search with a depth bound, and simulation (seeded random
walks, like ``tlc -simulate``), for models too large to exhaust.

DFS keeps, per fingerprint, the smallest depth at which the state was
reached and re-expands a state reached again at a smaller depth, so that a
depth bound never hides a state within the bound.  Its counterexamples are
the DFS stack: valid, not necessarily shortest.

Simulation runs ``traces`` walks of at most ``depth`` steps from a random
initial state, choosing a random successor at each step (a walk ends at a
state outside the boundary, after checking it) with ``random.Random(seed)``; the same seed gives the same walks.  It
checks the always- and sometimes-properties on every visited state; it
proves nothing about the states it did not visit, so a property it did not
see violated is reported as holding *on the walks* (``complete`` is false).
"""

from __future__ import annotations

import random
import time
from collections.abc import Hashable
from typing import Any

from vigilnet.checker._common import Ledger, Options, make_result, safety_outcomes
from vigilnet.checker._fingerprint import collision_observed, collision_optimistic, fingerprint
from vigilnet.checker._model import Model, ModelError
from vigilnet.checker._progress import ProgressInfo
from vigilnet.checker._result import ActionCoverage, CheckResult, Step, Trace
from vigilnet.checker._trace import successors

__all__ = ["dfs", "simulate"]


def _trace(model: Model[Any], path: list[tuple[int | None, tuple[Hashable, ...], Any]]) -> Trace:
    return Trace(
        steps=tuple(
            Step(
                action=None if ai is None else model.actions[ai].name,
                args=args,
                state=state,
            )
            for ai, args, state in path
        )
    )


def _coverage(model: Model[Any], enabled: list[int], new: list[int]) -> dict[str, ActionCoverage]:
    return {
        a.name: ActionCoverage(enabled=enabled[i], new=new[i]) for i, a in enumerate(model.actions)
    }


def dfs(model: Model[Any], options: Options) -> CheckResult:
    """Depth-first search up to ``options.max_depth`` (unbounded if None)."""
    if model.has_liveness:
        raise ModelError("liveness properties need the BFS state graph; drop --dfs")
    model.check_assumptions()
    use_symmetry = options.symmetry and model.symmetry is not None
    canon = model.symmetry if use_symmetry else None
    boundary = model.boundary()
    ledger = Ledger(model)
    traces: dict[int, Trace] = {}
    enabled = [0] * len(model.actions)
    new = [0] * len(model.actions)
    best: dict[int, int] = {}
    generated = 0
    deepest = 0
    complete = True
    deadlock: Trace | None = None
    start = time.monotonic()
    stop = False

    def visit(path: list[tuple[int | None, tuple[Hashable, ...], Any]]) -> bool:
        state = path[-1][2]
        before = set(ledger.found)
        bad = ledger.check(state, len(path) - 1)
        for i in set(ledger.found) - before:
            traces[i] = _trace(model, path)
        return bad

    for init in model.init_states():
        generated += 1
        if stop:
            continue
        fp = fingerprint(canon(init) if canon is not None else init)
        if fp in best:
            continue
        best[fp] = 0
        path: list[tuple[int | None, tuple[Hashable, ...], Any]] = [(None, (), init)]
        if visit(path) and options.stop_on_violation:
            stop = True
            break
        stack = [iter(successors(model, init) if boundary(init) else [])]
        first_expansion = [True]
        while stack and not stop:
            depth = len(path) - 1
            try:
                ai, args, nxt = next(stack[-1])
            except StopIteration:
                if (
                    first_expansion[-1]
                    and model.check_deadlock
                    and deadlock is None
                    and boundary(path[-1][2])
                ):
                    deadlock = _trace(model, path)
                    if options.stop_on_violation:
                        stop = True
                stack.pop()
                first_expansion.pop()
                path.pop()
                continue
            first_expansion[-1] = False
            generated += 1
            enabled[ai] += 1
            nfp = fingerprint(canon(nxt) if canon is not None else nxt)
            old = best.get(nfp)
            if old is not None and old <= depth + 1:
                continue
            if old is None:
                new[ai] += 1
            best[nfp] = depth + 1
            path.append((ai, args, nxt))
            deepest = max(deepest, depth + 1)
            if visit(path) and options.stop_on_violation:
                stop = True
                break
            if not boundary(nxt):
                path.pop()
                continue
            if options.max_depth is not None and depth + 1 >= options.max_depth:
                if successors(model, nxt):
                    complete = False
                path.pop()
                continue
            stack.append(iter(successors(model, nxt)))
            first_expansion.append(True)
            if len(best) % 4096 == 0:
                options.progress(
                    ProgressInfo(
                        generated=generated,
                        distinct=len(best),
                        queue=len(stack),
                        depth=deepest,
                        seconds=time.monotonic() - start,
                    )
                )
    if stop:
        complete = False
    return make_result(
        model=model,
        engine="generic",
        strategy="dfs",
        workers=1,
        symmetry=use_symmetry,
        distinct=len(best),
        generated=generated,
        depth=deepest,
        seconds=time.monotonic() - start,
        complete=complete,
        outcomes=safety_outcomes(model, ledger, traces, complete=complete),
        coverage=_coverage(model, enabled, new),
        collision_optimistic=collision_optimistic(len(best), generated),
        collision_observed=collision_observed(best),
        deadlock=deadlock,
    )


def simulate(
    model: Model[Any], options: Options, *, traces: int, depth: int, seed: int
) -> CheckResult:
    """``traces`` seeded random walks of at most ``depth`` steps."""
    if model.has_liveness:
        raise ModelError("liveness properties need the BFS state graph; drop --simulate")
    model.check_assumptions()
    rng = random.Random(seed)
    boundary = model.boundary()
    inits = list(model.init_states())
    if not inits:
        raise ModelError(f"model {model.name}: no initial state")
    ledger = Ledger(model)
    found: dict[int, Trace] = {}
    enabled = [0] * len(model.actions)
    new = [0] * len(model.actions)
    seen: set[int] = set()
    generated = 0
    deepest = 0
    deadlock: Trace | None = None
    start = time.monotonic()
    stop = False
    for walk in range(traces):
        state = rng.choice(inits)
        path: list[tuple[int | None, tuple[Hashable, ...], Any]] = [(None, (), state)]
        seen.add(fingerprint(state))
        for _ in range(depth + 1):
            before = set(ledger.found)
            bad = ledger.check(state, walk)
            for i in set(ledger.found) - before:
                found[i] = _trace(model, path)
            if bad and options.stop_on_violation:
                stop = True
                break
            if len(path) - 1 >= depth or not boundary(state):
                break
            succ = successors(model, state)
            generated += len(succ)
            for ai, _, _ in succ:
                enabled[ai] += 1
            if not succ:
                if model.check_deadlock and deadlock is None:
                    deadlock = _trace(model, path)
                break
            ai, args, state = rng.choice(succ)
            fp = fingerprint(state)
            if fp not in seen:
                seen.add(fp)
                new[ai] += 1
            path.append((ai, args, state))
            deepest = max(deepest, len(path) - 1)
        if stop:
            break
        options.progress(
            ProgressInfo(
                generated=generated,
                distinct=len(seen),
                queue=traces - walk - 1,
                depth=deepest,
                seconds=time.monotonic() - start,
            )
        )
    return make_result(
        model=model,
        engine="generic",
        strategy="simulate",
        workers=1,
        symmetry=False,
        distinct=len(seen),
        generated=generated,
        depth=deepest,
        seconds=time.monotonic() - start,
        complete=False,
        outcomes=safety_outcomes(model, ledger, found, complete=not stop),
        coverage=_coverage(model, enabled, new),
        collision_optimistic=collision_optimistic(len(seen), generated),
        collision_observed=collision_observed(seen),
        deadlock=deadlock,
        notes=(f"simulation: {traces} walks, depth <= {depth}, seed {seed}",),
    )
