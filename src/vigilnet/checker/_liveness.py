"""Liveness under weak fairness, on the explicit state graph.

Theory of operation
-------------------
A behaviour is an infinite path of the reachable state graph, where, as in
TLA+, any state may also *stutter* (repeat forever).  ``WF(A)`` rules out the
behaviours in which the fairness group ``A`` is enabled from some point on
and never taken.

``P ~> Q`` is violated iff some reachable state ``t`` with ``P and ~Q``
starts a fair behaviour that never meets ``Q``.  Such a behaviour eventually
stays inside one strongly connected component ``C`` of the subgraph of
``~Q`` states and uses every edge of ``C`` infinitely often; it is fair iff
for every group ``A`` either an ``A`` edge lies inside ``C`` or ``A`` is
disabled at some state of ``C``.  Conversely a path that reaches such a ``C``
inside ``~Q`` and then tours ``C`` forever, through one ``A`` edge or one
``A``-disabled state per group, is a fair counterexample.  So the check is:

1. Tarjan's algorithm on the ``~Q`` subgraph; keep the non-trivial SCCs that
   meet the condition above (*fair SCCs*).
2. Search backwards inside ``~Q`` from the fair SCCs; a trigger state found
   there violates the property.  The trigger with the smallest BFS index has
   the shortest prefix.
3. Failing that, a ``~Q`` state where every fairness group is disabled can
   stutter forever fairly: the counterexample ends by stuttering.  (Real
   cycles are reported first because they are more telling.)
4. The lasso is: the BFS parent chain to the trigger (a shortest prefix), a
   shortest path inside ``~Q`` to the SCC, then a cycle through the
   waypoints of step 1 and back.

``<>Q`` is ``Init ~> Q``.  The graph is built without symmetry reduction
(liveness on the quotient graph is unsound in general), so the states are
concrete and the lasso is a real behaviour.  Both directions are exact: a
property reported as holding has no fair counterexample in the graph.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from typing import Any

from vigilnet.checker._bfs import StateGraph, explore, finish
from vigilnet.checker._common import Options
from vigilnet.checker._model import Kind, Model
from vigilnet.checker._result import STUTTER, CheckResult, Status, Step, Trace

__all__ = ["check_with_liveness", "find_lasso", "strongly_connected"]

Edge = tuple[int, int, tuple[Hashable, ...], int]


def strongly_connected(nodes: Sequence[int], succ: Callable[[int], list[int]]) -> list[list[int]]:
    """Tarjan's SCCs (iterative) of the subgraph on ``nodes``."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[int, int]] = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, i = work[-1]
            targets = succ(node)
            if i < len(targets):
                work[-1] = (node, i + 1)
                target = targets[i]
                if target not in index:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[int] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(component)
    return out


def _path(graph: StateGraph, start: int, goals: set[int], inside: set[int]) -> list[Edge] | None:
    """Shortest list of edges from ``start`` to a goal, staying ``inside``."""
    if start in goals:
        return []
    back: dict[int, tuple[int, Edge]] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for edge in graph.edges[node]:
            target = edge[0]
            if target in seen or target not in inside:
                continue
            seen.add(target)
            back[target] = (node, edge)
            if target in goals:
                path: list[Edge] = []
                cur = target
                while cur != start:
                    prev, via = back[cur]
                    path.append(via)
                    cur = prev
                path.reverse()
                return path
            queue.append(target)
    return None


def _prefix(graph: StateGraph, index: int) -> list[tuple[int, Edge | None]]:
    chain = [index]
    while graph.parent[chain[-1]] >= 0:
        chain.append(graph.parent[chain[-1]])
    chain.reverse()
    out: list[tuple[int, Edge | None]] = [(chain[0], None)]
    for prev, node in itertools.pairwise(chain):
        edge = next(e for e in graph.edges[prev] if e[0] == node)
        out.append((node, edge))
    return out


def find_lasso(
    model: Model[Any],
    graph: StateGraph,
    triggers: Sequence[int],
    bad: Sequence[bool],
) -> Trace | None:
    """A fair lasso from a trigger that stays in ``bad`` states forever."""
    groups = len(model.fairness)
    everything = (1 << groups) - 1
    bad_nodes = [i for i in range(len(bad)) if bad[i]]
    inside = set(bad_nodes)

    def inner(node: int) -> list[int]:
        return [e[0] for e in graph.edges[node] if e[0] in inside]

    fair_members: set[int] = set()
    component_of: dict[int, list[int]] = {}
    for component in strongly_connected(bad_nodes, inner):
        members = set(component)
        internal = [e for n in component for e in graph.edges[n] if e[0] in members]
        if not internal:
            continue
        fair = True
        for g in range(groups):
            bit = 1 << g
            if not any(e[3] & bit for e in internal) and all(
                graph.enabled[n] & bit for n in component
            ):
                fair = False
                break
        if fair:
            fair_members |= members
            for n in component:
                component_of[n] = component
    for goals, stutter in (
        (fair_members, False),
        ({n for n in bad_nodes if graph.enabled[n] & everything == 0}, True),
    ):
        if not goals:
            continue
        reach = _backward(graph, goals, inside)
        candidates = sorted(t for t in triggers if t in reach)
        if not candidates:
            continue
        trigger = candidates[0]
        steps = _prefix(graph, trigger)
        to_goal = _path(graph, trigger, goals, inside)
        assert to_goal is not None
        steps.extend((edge[0], edge) for edge in to_goal)
        entry = steps[-1][0]
        loop = len(steps) - 1
        if stutter:
            return _as_trace(model, graph, steps, loop, STUTTER, ())
        cycle = _cycle(model, graph, component_of[entry], entry)
        steps.extend((edge[0], edge) for edge in cycle[:-1])
        last = cycle[-1]
        args = last[2]
        return _as_trace(model, graph, steps, loop, model.actions[last[1]].name, args)
    return None


def _backward(graph: StateGraph, goals: set[int], inside: set[int]) -> set[int]:
    preds: dict[int, list[int]] = {}
    for node in inside:
        for edge in graph.edges[node]:
            if edge[0] in inside:
                preds.setdefault(edge[0], []).append(node)
    reach = set(goals)
    queue = deque(goals)
    while queue:
        node = queue.popleft()
        for prev in preds.get(node, ()):
            if prev not in reach:
                reach.add(prev)
                queue.append(prev)
    return reach


def _cycle(model: Model[Any], graph: StateGraph, component: list[int], entry: int) -> list[Edge]:
    members = set(component)
    internal = [(n, e) for n in sorted(component) for e in graph.edges[n] if e[0] in members]
    waypoints: list[tuple[int, Edge | None]] = []
    for g in range(len(model.fairness)):
        bit = 1 << g
        disabled = [n for n in sorted(component) if not graph.enabled[n] & bit]
        if disabled:
            waypoints.append((disabled[0], None))
        else:
            source, fair_edge = next((n, e) for n, e in internal if e[3] & bit)
            waypoints.append((source, fair_edge))
    if not any(edge is not None for _, edge in waypoints):
        source, any_edge = next((n, e) for n, e in internal if n == entry)
        waypoints.append((source, any_edge))
    cycle: list[Edge] = []
    current = entry
    for node, edge in waypoints:
        hop = _path(graph, current, {node}, members)
        assert hop is not None
        cycle.extend(hop)
        current = node
        if edge is not None:
            cycle.append(edge)
            current = edge[0]
    back = _path(graph, current, {entry}, members)
    assert back is not None
    cycle.extend(back)
    return cycle


def _as_trace(
    model: Model[Any],
    graph: StateGraph,
    steps: list[tuple[int, Edge | None]],
    loop: int,
    loop_action: str,
    loop_args: tuple[Hashable, ...],
) -> Trace:
    out = []
    for node, edge in steps:
        if edge is None:
            out.append(Step(action=None, args=(), state=graph.states[node]))
        else:
            out.append(
                Step(action=model.actions[edge[1]].name, args=edge[2], state=graph.states[node])
            )
    return Trace(steps=tuple(out), loop=loop, loop_action=loop_action, loop_args=loop_args)


def check_with_liveness(model: Model[Any], options: Options) -> CheckResult:
    """Generic BFS that keeps the state graph, then every liveness property."""
    run = explore(model, replace(options, symmetry=False), record_graph=True)
    graph = run.graph
    assert graph is not None
    extra: dict[str, tuple[Status, Trace | None]] = {}
    for prop in model.properties:
        if not prop.kind.is_liveness:
            continue
        if not run.complete:
            extra[prop.name] = (Status.UNKNOWN, None)
            continue
        bad = [not prop.holds(state) for state in graph.states]
        if prop.kind is Kind.EVENTUALLY:
            triggers = list(graph.initial)
        else:
            trigger = prop.trigger
            assert trigger is not None
            triggers = [i for i, state in enumerate(graph.states) if trigger(state)]
        lasso = find_lasso(model, graph, triggers, bad)
        extra[prop.name] = (Status.HOLDS, None) if lasso is None else (Status.VIOLATED, lasso)
    return finish(model, run, False, engine="generic", workers=1, extra=extra)
