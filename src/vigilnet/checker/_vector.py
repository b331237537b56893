"""The vectorised breadth-first engine, for models that ship a kernel.

Pure per-state Python tops out near 100,000 states per second; TwoPhase at
RM = 9 has ten million.  A model may therefore provide a
:class:`VectorKernel`: states packed exactly into ``uint64`` words and
successors computed for a whole BFS frontier at once with numpy.  The kernel
is an optimisation of the model, never a second specification: it must give
exactly the generic engine's counts, coverage and traces, and the tests check
that it does (``tests/checker/test_vector.py``).

Theory of operation
-------------------
1. Level ``k`` is an array of packed states in generic-BFS queue order.  The
   kernel returns an ``(instances, n)`` array of successors and an enabled
   mask.  A candidate's *key* is ``parent * instances + instance``: its
   position in the order in which the generic engine generates candidates
   (parents in queue order, each parent's actions in declaration order).
2. A candidate equal to its parent is a self-loop: already seen.
3. Per chunk of the frontier, ``value << 22 | key`` is sorted once: the first
   entry of each run of equal values is that value's smallest key (when the
   kernel's ``value_bits`` leave 22 bits free; else ``np.lexsort``).  The
   distinct values are checked against the seen array and the values already
   new in this level (sorted arrays, ``searchsorted`` with sorted needles).
   The smallest key of a new state is its first discovery in generic order:
   that candidate's parent is the parent link, its instance the coverage
   ``new`` count, and sorting the new states by key gives level ``k + 1`` in
   generic queue order.  So indices, parents, coverage and traces equal the
   generic engine's.
4. The new states are merged into the seen array (``searchsorted`` +
   ``np.insert``, linear); parent links are kept per level as ``int64``
   offsets into the previous level plus ``int16`` instance numbers.
5. Every property is evaluated by the kernel on each new level; the first
   failing state in queue order gives the (shortest) counterexample, rebuilt
   through the model itself (``_trace``).
6. Packed states are exact, so the fingerprint collision probability is 0.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from vigilnet.checker._common import Ledger, Options, make_result, safety_outcomes
from vigilnet.checker._model import Kind, Model, ModelError
from vigilnet.checker._progress import ProgressInfo
from vigilnet.checker._result import ActionCoverage, CheckResult, Trace
from vigilnet.checker._trace import rebuild_trace

__all__ = ["VectorKernel", "VectorRun", "kernel_supports", "vector_bfs", "vector_explore"]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

#: Bits of a candidate's key within one chunk: ``row * instances + instance``
#: stays below ``2**KEY_BITS``, so ``value << KEY_BITS | key`` sorts by value
#: then key in one ``np.sort`` when the kernel's values fit the other bits.
KEY_BITS = 22
KEY_MASK = (1 << KEY_BITS) - 1


class VectorKernel(Protocol):
    """What a model provides to be checked by the vectorised engine.

    ``instances`` lists ``(action name, args)`` in the generic engine's
    enumeration order; each enabled instance has exactly one successor.
    """

    @property
    def instances(self) -> tuple[tuple[str, tuple[Hashable, ...]], ...]: ...

    @property
    def value_bits(self) -> int: ...

    def encode(self, state: Any) -> int: ...

    def decode(self, value: int) -> Any: ...

    def expand(self, frontier: U64) -> tuple[U64, Bools]: ...

    def check(self, values: U64) -> Mapping[str, Bools]: ...

    def canonical(self, values: U64) -> U64: ...


def kernel_supports(model: Model[Any]) -> str | None:
    """``None`` when the vectorised engine can check ``model``, else why not."""
    if model.kernel is None:
        return "the model has no vectorised kernel"
    if model.within_boundary is not None:
        return "the vectorised engine does not take a state constraint"
    if model.has_liveness:
        return "liveness needs the state graph (generic engine)"
    names = {prop.name for prop in model.properties if prop.kind in (Kind.ALWAYS, Kind.SOMETIMES)}
    probe = model.kernel.check(np.zeros(1, dtype=np.uint64))
    missing = names - set(probe)
    if missing:
        return f"the kernel does not evaluate {sorted(missing)}"
    return None


@dataclass(slots=True, kw_only=True)
class VectorRun:
    """Raw totals of a vectorised search."""

    levels: list[U64] = field(default_factory=list)
    parents: list[I64] = field(default_factory=list)
    generated: int = 0
    enabled: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    new: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    complete: bool = True
    seconds: float = 0.0
    found: dict[int, tuple[int, int]] = field(default_factory=dict)
    deadlock: tuple[int, int] | None = None

    @property
    def distinct(self) -> int:
        return sum(int(level.size) for level in self.levels)

    @property
    def depth(self) -> int:
        return max(len(self.levels) - 1, 0)


def _identity(values: U64) -> U64:
    return values


def _ordered_unique(values: U64) -> U64:
    """Distinct values keeping first occurrences, in order."""
    _, first = np.unique(values, return_index=True)
    first.sort()
    out: U64 = values[first]
    return out


def member(sorted_values: U64, needles: U64) -> Bools:
    """Which of the sorted ``needles`` are in ``sorted_values``."""
    if sorted_values.size == 0:
        return np.zeros(needles.size, dtype=np.bool_)
    pos = np.searchsorted(sorted_values, needles)
    pos[pos == sorted_values.size] = 0
    found: Bools = sorted_values[pos] == needles
    return found


@dataclass(slots=True, kw_only=True)
class Batch:
    """The new states found by expanding one frontier: ``values`` in key
    order with their ``keys``; per-instance enabled counts; the rank of the
    first deadlocked state (if asked for)."""

    values: U64
    keys: I64
    enabled: I64
    dead: int | None


def _first_per_value(values: U64, local: U64, value_bits: int) -> tuple[U64, I64]:
    """Distinct values (sorted) and, for each, the smallest local key."""
    if values.size == 0:
        return values, local.view(np.int64)
    if value_bits + KEY_BITS <= 64:
        combined = (values << np.uint64(KEY_BITS)) | local
        combined.sort()
        ordered = combined >> np.uint64(KEY_BITS)
        keys = (combined & np.uint64(KEY_MASK)).view(np.int64)
    else:
        order = np.lexsort((local, values))
        ordered, keys = values[order], local[order].view(np.int64)
    first = np.empty(ordered.size, dtype=np.bool_)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first], keys[first]


def expand_frontier(
    kernel: VectorKernel,
    frontier: U64,
    ranks: I64 | None,
    canon: Any,
    known: Any,
    *,
    deadlock: bool,
    by_value: bool = False,
) -> Batch:
    """Expand ``frontier`` (states in rank order; ``ranks`` their global
    ranks, or ``0..n-1`` when None) and keep, for each successor not
    ``known`` and not a self-loop, its first discovery (smallest key
    ``rank * instances + instance``).  The batch is in key order, or in
    value order with ``by_value``."""
    width = len(kernel.instances)
    rows = max(1, (1 << KEY_BITS) // width)
    enabled = np.zeros(width, dtype=np.int64)
    dead: int | None = None
    level_sorted: list[U64] = []
    out_values: list[U64] = []
    out_keys: list[I64] = []
    for lo in range(0, frontier.size, rows):
        chunk = frontier[lo : lo + rows]
        size = chunk.size
        succ, ok = kernel.expand(chunk)
        enabled += ok.sum(axis=1, dtype=np.int64)
        if deadlock and dead is None:
            stuck = np.flatnonzero(~ok.any(axis=0))
            if stuck.size:
                dead = int(stuck[0]) + lo if ranks is None else int(ranks[lo + int(stuck[0])])
        ok &= succ != chunk[None, :]
        flat = np.flatnonzero(ok)
        values = succ.ravel()[flat]
        positions = flat.view(np.uint64)
        row = positions % np.uint64(size)
        instance = positions // np.uint64(size)
        if canon is not None:
            values = canon(values)
            keep = values != chunk[row.view(np.int64)]
            values, row, instance = values[keep], row[keep], instance[keep]
        uniq, local = _first_per_value(values, row * np.uint64(width) + instance, kernel.value_bits)
        fresh = ~known(uniq)
        for part in level_sorted:
            fresh &= ~member(part, uniq)
        uniq, local = uniq[fresh], local[fresh]
        if uniq.size == 0:
            continue
        level_sorted.append(uniq)
        row_of = local // width
        base = (row_of + lo) if ranks is None else ranks[lo + row_of]
        out_values.append(uniq)
        out_keys.append(base * width + local % width)
    if not out_values:
        return Batch(
            values=np.zeros(0, np.uint64), keys=np.zeros(0, np.int64), enabled=enabled, dead=dead
        )
    values = np.concatenate(out_values)
    keys = np.concatenate(out_keys)
    # Sorted runs (one per chunk): the stable sort merges them in linear time.
    order = np.argsort(values if by_value else keys, kind="stable")
    return Batch(values=values[order], keys=keys[order], enabled=enabled, dead=dead)


def ok_total(run: VectorRun) -> int:
    return int(run.enabled.sum())


def vector_explore(model: Model[Any], options: Options) -> VectorRun:
    """Breadth-first search on packed states; see the module docstring."""
    kernel = model.kernel
    if kernel is None:
        raise ModelError(f"model {model.name} has no vectorised kernel")
    model.check_assumptions()
    use_symmetry = options.symmetry and model.symmetry is not None
    canon = kernel.canonical if use_symmetry else None
    width = len(kernel.instances)
    ledger = Ledger(model)
    props = [
        (i, p.name, p.kind)
        for i, p in enumerate(model.properties)
        if p.kind in (Kind.ALWAYS, Kind.SOMETIMES)
    ]
    run = VectorRun(enabled=np.zeros(width, dtype=np.int64), new=np.zeros(width, dtype=np.int64))
    start = time.monotonic()

    inits = [kernel.encode(s) for s in model.init_states()]
    run.generated = len(inits)
    init_values = np.array(inits, dtype=np.uint64)
    init = _ordered_unique(canon(init_values) if canon is not None else init_values)
    run.levels.append(init)
    run.parents.append(np.full(init.size, -1, dtype=np.int64))
    seen: U64 = np.sort(init)

    def check_level(level_index: int, values: U64) -> bool:
        verdicts = kernel.check(values)
        bad = False
        for i, name, kind in props:
            if i in ledger.found:
                continue
            flags = verdicts[name]
            hits = np.flatnonzero(~flags if kind is Kind.ALWAYS else flags)
            if hits.size:
                ledger.found[i] = (level_index, int(hits[0]))
                run.found[i] = (level_index, int(hits[0]))
                if kind is Kind.ALWAYS:
                    bad = True
        return bad

    stop = check_level(0, init) and options.stop_on_violation
    while not stop:
        frontier = run.levels[-1]
        if options.max_depth is not None and len(run.levels) - 1 >= options.max_depth:
            run.complete = False
            break
        batch = expand_frontier(
            kernel,
            frontier,
            None,
            canon,
            functools.partial(member, seen),
            deadlock=model.check_deadlock,
        )
        run.enabled += batch.enabled
        run.generated = len(inits) + int(ok_total(run))
        if batch.dead is not None and run.deadlock is None:
            run.deadlock = (len(run.levels) - 1, batch.dead)
        if batch.values.size == 0:
            break
        level_values: U64 = batch.values
        level_keys = batch.keys
        fresh = np.sort(level_values)
        instance = level_keys % width
        run.new += np.bincount(instance, minlength=width).astype(np.int64)
        parent_index = level_keys // width
        run.levels.append(level_values)
        run.parents.append(parent_index.astype(np.int64))
        insert_at = np.searchsorted(seen, fresh)
        seen = np.insert(seen, insert_at, fresh)
        if check_level(len(run.levels) - 1, level_values) and options.stop_on_violation:
            stop = True
        options.progress(
            ProgressInfo(
                generated=run.generated,
                distinct=int(seen.size),
                queue=int(level_values.size),
                depth=len(run.levels) - 1,
                seconds=time.monotonic() - start,
            )
        )
        if run.deadlock is not None and options.stop_on_violation:
            stop = True
    if stop:
        run.complete = False
    run.seconds = time.monotonic() - start
    return run


def _chain(run: VectorRun, level: int, index: int) -> list[int]:
    keys: list[int] = []
    while level >= 0:
        keys.append(int(run.levels[level][index]))
        index = int(run.parents[level][index])
        level -= 1
    keys.reverse()
    return keys


def vector_trace(
    model: Model[Any], run: VectorRun, level: int, index: int, symmetry: bool
) -> Trace:
    kernel = model.kernel
    assert kernel is not None
    canon = kernel.canonical if symmetry else _identity

    def key_of(state: Any) -> int:
        return int(canon(np.array([kernel.encode(state)], dtype=np.uint64))[0])

    return rebuild_trace(model, _chain(run, level, index), key_of)


def coverage_of(model: Model[Any], run: VectorRun) -> dict[str, ActionCoverage]:
    kernel = model.kernel
    assert kernel is not None
    enabled = {action.name: 0 for action in model.actions}
    new = {action.name: 0 for action in model.actions}
    for column, (name, _args) in enumerate(kernel.instances):
        enabled[name] += int(run.enabled[column])
        new[name] += int(run.new[column])
    return {name: ActionCoverage(enabled=enabled[name], new=new[name]) for name in enabled}


def vector_bfs(model: Model[Any], options: Options | None = None) -> CheckResult:
    """Check ``model`` with its vectorised kernel."""
    options = options if options is not None else Options()
    why = kernel_supports(model)
    if why is not None:
        raise ModelError(f"model {model.name}: {why}")
    use_symmetry = options.symmetry and model.symmetry is not None
    run = vector_explore(model, options)
    ledger = Ledger(model)
    ledger.found = {i: where for i, where in run.found.items()}
    traces = {
        i: vector_trace(model, run, level, index, use_symmetry)
        for i, (level, index) in run.found.items()
    }
    outcomes = safety_outcomes(model, ledger, traces, complete=run.complete)
    deadlock = (
        vector_trace(model, run, run.deadlock[0], run.deadlock[1], use_symmetry)
        if run.deadlock is not None
        else None
    )
    return make_result(
        model=model,
        engine="vector",
        strategy="bfs",
        workers=1,
        symmetry=use_symmetry,
        distinct=run.distinct,
        generated=run.generated,
        depth=run.depth,
        seconds=run.seconds,
        complete=run.complete,
        outcomes=outcomes,
        coverage=coverage_of(model, run),
        collision_optimistic=0.0,
        collision_observed=0.0,
        deadlock=deadlock,
    )
