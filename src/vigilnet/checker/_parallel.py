"""Parallel breadth-first search: ``--workers N`` processes, sharded seen-sets.

Theory of operation
-------------------
1. The fingerprint space is cut into ``N`` shards (``mix64(key) % N``); the
   worker that owns a shard holds the seen-set for it and nobody else does.
2. The search is level-synchronous.  Each state of the current level has a
   *rank*: its position in the level in generic-BFS queue order.  Each worker
   expands its share of the level and gives every successor a key
   ``(parent rank, position among the parent's successors)``: the generic
   engine generates candidates in exactly that key order.
3. Candidates go to the owner of their fingerprint: with a vectorised
   kernel as ``.npy`` files in a per-run directory under ``/dev/shm`` (only
   the file names pass through the coordinator), with the generic engine as
   numpy arrays through the coordinator's pipes.  The owner drops those it has seen
   and keeps, for each new fingerprint, the candidate with the smallest key:
   its first discovery in generic order.
4. The coordinator merges all owners' winners (each owner sends them sorted
   by key) into key order: the next level's queue order, so global state indices, parent links, coverage and
   traces equal the single-worker engine's, and the distinct count is the
   same by construction.
5. Workers check the properties on the states they hold for the new level
   and report the first failing rank; the coordinator keeps, per level, the
   keys and parent links (8 + 8 bytes per state) and rebuilds traces through
   the model as the sequential engines do.

The owner of a new state holds it in the next level's frontier, so the work
stays spread over the workers: with a vectorised kernel the owner already has
the packed state; with the generic engine the worker that generated the
winning candidate releases the state to the owner (only new states travel).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from vigilnet.checker._common import Ledger, Options, make_result, safety_outcomes
from vigilnet.checker._fingerprint import (
    collision_observed,
    collision_optimistic,
    fingerprint,
    mix64_array,
    stable_fingerprint,
)
from vigilnet.checker._model import Kind, Model, ModelError
from vigilnet.checker._progress import ProgressInfo
from vigilnet.checker._result import ActionCoverage, CheckResult, Trace
from vigilnet.checker._trace import rebuild_trace

if TYPE_CHECKING:
    from vigilnet.checker._vector import VectorKernel

__all__ = ["LAST_WORKER_RSS_KIB", "parallel_bfs", "shard_of"]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

SEQ_BITS = 20

#: Peak RSS (KiB) of each worker of the last parallel run, for the bench.
LAST_WORKER_RSS_KIB: list[int] = []


def shard_of(keys: U64, workers: int) -> I64:
    """``mix64(key) % workers`` on a whole array (SplitMix64's finaliser)."""
    out: I64 = (mix64_array(keys) % np.uint64(workers)).astype(np.int64)
    return out


@dataclass(slots=True)
class _Found:
    level: int
    rank: int


# ---------------------------------------------------------------- workers ----


class _GenericWorker:
    def __init__(
        self, model: Model[Any], me: int, workers: int, symmetry: bool, *, stable: bool = False
    ) -> None:
        self.model = model
        # Forked workers share the coordinator's hash(); separately started
        # ones (Ray actors) need the process-independent fingerprint.
        self.fingerprint = stable_fingerprint if stable else fingerprint
        self.me = me
        self.workers = workers
        self.canon = model.symmetry if symmetry else None
        self.boundary = model.boundary()
        self.seen: set[int] = set()
        self.frontier: list[tuple[int, Any]] = []
        self.cands: list[Any] = []
        self.ledger = Ledger(model)

    def initial(self) -> tuple[list[Any], list[int], int, dict[int, int]]:
        """Level 0 as the sequential engine computes it: the distinct
        (canonical) initial states, their fingerprints, how many initial
        states were generated, and the first rank failing each property.

        Computed here, not in the coordinator, so that every fingerprint of
        a run is taken with the workers' fingerprint function (see
        :mod:`vigilnet.checker._ray`)."""
        inits: list[Any] = []
        keys: list[int] = []
        seen: set[int] = set()
        generated = 0
        for state in self.model.init_states():
            generated += 1
            key_state = self.canon(state) if self.canon is not None else state
            key = self.fingerprint(key_state)
            if key in seen:
                continue
            seen.add(key)
            inits.append(key_state)
            keys.append(key)
        self.frontier = list(enumerate(inits))
        hits = self._check()
        self.frontier = []
        return inits, keys, generated, hits

    def start(self, items: list[tuple[int, Any, int]], owned: list[int]) -> None:
        self.frontier = [(rank, state) for rank, state, _ in items]
        self.seen.update(owned)

    def rebuild(self, chains: list[list[int]]) -> list[Trace]:
        """The concrete traces whose states' fingerprints are ``chains``,
        matched with this worker's fingerprint function (the one the keys
        were taken with)."""
        canon = self.canon
        fp = self.fingerprint

        def key_of(state: Any) -> Hashable:
            return fp(canon(state) if canon is not None else state)

        return [rebuild_trace(self.model, chain, key_of) for chain in chains]

    def expand(self) -> dict[str, Any]:
        model = self.model
        nact = len(model.actions)
        enabled = np.zeros(nact, dtype=np.int64)
        fps: list[int] = []
        keys: list[int] = []
        acts: list[int] = []
        self.cands = []
        local: set[int] = set()
        fp = self.fingerprint
        dead: list[int] = []
        generated = 0
        for rank, state in self.frontier:
            if not self.boundary(state):
                continue
            seq = 0
            for ai, action in enumerate(model.actions):
                for _args, nxt in action.step(state):
                    seq += 1
                    enabled[ai] += 1
                    key_state = self.canon(nxt) if self.canon is not None else nxt
                    nfp = fp(key_state)
                    if nfp in local:
                        continue
                    local.add(nfp)
                    fps.append(nfp)
                    keys.append((rank << SEQ_BITS) | seq)
                    acts.append(ai)
                    self.cands.append(key_state)
            generated += seq
            if seq >= 1 << SEQ_BITS:
                raise ModelError("a state has more than 2**20 successors")
            if seq == 0 and model.check_deadlock:
                dead.append(rank)
        fp_arr = np.array(fps, dtype=np.uint64)
        key_arr = np.array(keys, dtype=np.int64)
        act_arr = np.array(acts, dtype=np.int64)
        idx = np.arange(fp_arr.size, dtype=np.int64)
        owner = shard_of(fp_arr, self.workers)
        buckets = {
            o: (fp_arr[owner == o], key_arr[owner == o], act_arr[owner == o], idx[owner == o])
            for o in range(self.workers)
        }
        return {"buckets": buckets, "enabled": enabled, "generated": generated, "dead": dead}

    def dedup(self, fps: U64, keys: I64, acts: I64, src: I64, idx: I64) -> tuple[Any, ...]:
        order = np.argsort(keys, kind="stable")
        win: list[int] = []
        seen = self.seen
        for i in order.tolist():
            fp = int(fps[i])
            if fp not in seen:
                seen.add(fp)
                win.append(i)
        w = np.array(win, dtype=np.int64)
        return fps[w], keys[w], acts[w], src[w], idx[w]

    def release(self, idx: I64) -> list[Any]:
        """The winning candidates' states, to be adopted by their owners."""
        out = [self.cands[int(i)] for i in idx]
        self.cands = []
        return out

    def adopt(self, ranks: I64, states: list[Any]) -> dict[int, int]:
        order = np.argsort(ranks)
        self.frontier = [(int(ranks[i]), states[int(i)]) for i in order]
        return self._check()

    def _check(self) -> dict[int, int]:
        hits: dict[int, int] = {}
        props = [
            (i, p)
            for i, p in enumerate(self.model.properties)
            if p.kind in (Kind.ALWAYS, Kind.SOMETIMES)
        ]
        for rank, state in self.frontier:
            for i, prop in props:
                if i in hits:
                    continue
                ok = prop.holds(state)
                if (prop.kind is Kind.ALWAYS and not ok) or (prop.kind is Kind.SOMETIMES and ok):
                    hits[i] = rank
        return hits


class _VectorWorker:
    def __init__(self, model: Model[Any], me: int, workers: int, symmetry: bool) -> None:
        kernel = model.kernel
        assert kernel is not None
        self.model = model
        self.kernel = kernel
        self.me = me
        self.workers = workers
        self.symmetry = symmetry
        self.width = len(kernel.instances)
        self.seen: U64 = np.zeros(0, dtype=np.uint64)
        self.values: U64 = np.zeros(0, dtype=np.uint64)
        self.pending: U64 = np.zeros(0, dtype=np.uint64)
        self.ranks: I64 = np.zeros(0, dtype=np.int64)
        self.own_bucket: U64 = np.zeros((2, 0), dtype=np.uint64)
        self.exchange = ""
        self.names = [
            (i, p.name, p.kind)
            for i, p in enumerate(model.properties)
            if p.kind in (Kind.ALWAYS, Kind.SOMETIMES)
        ]

    def start(self, values: U64, ranks: I64) -> dict[int, int]:
        self.seen = np.sort(values)
        self.values = values[np.argsort(ranks)]
        self.ranks = np.sort(ranks)
        return self._check()

    def expand(self, level: int) -> dict[str, Any]:
        """Expand the frontier; the candidates for another owner go into a
        file in the run's shared-memory directory (no copy through the
        coordinator), those for this worker stay here."""
        from vigilnet.checker._vector import expand_frontier, member

        batch = expand_frontier(
            self.kernel,
            self.values,
            self.ranks,
            self.kernel.canonical if self.symmetry else None,
            lambda values: member(self.seen, values),
            deadlock=self.model.check_deadlock,
            by_value=True,
        )
        owner = shard_of(batch.values, self.workers)
        paths: dict[int, str] = {}
        for o in range(self.workers):
            mine = owner == o
            pair = np.stack([batch.values[mine], batch.keys[mine].view(np.uint64)])
            if o == self.me:
                self.own_bucket = pair
            else:
                path = os.path.join(self.exchange, f"l{level}-s{self.me}-o{o}.npy")
                np.save(path, pair)
                paths[o] = path
        return {
            "buckets": paths,
            "enabled": batch.enabled,
            "generated": int(batch.enabled.sum()),
            "dead": [] if batch.dead is None else [batch.dead],
        }

    def dedup_files(self, paths: list[str]) -> tuple[U64, I64]:
        parts = [self.own_bucket]
        for path in paths:
            parts.append(np.load(path))
            os.unlink(path)
        self.own_bucket = np.zeros((2, 0), dtype=np.uint64)
        pairs = np.concatenate(parts, axis=1)
        values, keys = self.dedup(pairs[0].copy(), pairs[1].view(np.int64).copy())
        order = np.argsort(keys)
        self.pending = values[order]
        return values[order], keys[order]

    def dedup(self, values: U64, keys: I64) -> tuple[U64, I64]:
        """``values`` arrive as one value-sorted run per source; keep each
        new value once, with its smallest key."""
        if values.size == 0:
            self.pending = values
            return values, keys
        order = np.argsort(values, kind="stable")
        values, keys = values[order], keys[order]
        starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
        uniq = values[starts]
        keys = np.minimum.reduceat(keys, starts)
        if self.seen.size:
            from vigilnet.checker._vector import member

            fresh = ~member(self.seen, uniq)
            uniq, keys = uniq[fresh], keys[fresh]
        self.seen = np.insert(self.seen, np.searchsorted(self.seen, uniq), uniq)
        self.pending = uniq
        return uniq, keys

    def adopt(self, ranks: I64) -> dict[int, int]:
        order = np.argsort(ranks)
        self.values = self.pending[order]
        self.ranks = ranks[order]
        self.pending = np.zeros(0, dtype=np.uint64)
        return self._check()

    def _check(self) -> dict[int, int]:
        hits: dict[int, int] = {}
        if self.values.size == 0:
            return hits
        verdicts = self.kernel.check(self.values)
        for i, name, kind in self.names:
            flags = verdicts[name]
            where = np.flatnonzero(~flags if kind is Kind.ALWAYS else flags)
            if where.size:
                hits[i] = int(self.ranks[where[0]])
        return hits


def _serve(conn: multiprocessing.connection.Connection, worker: Any) -> None:
    try:
        while True:
            message = conn.recv()
            op = message[0]
            if op == "stop":
                conn.send(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
                return
            conn.send(("ok", getattr(worker, op)(*message[1:])))
    except EOFError:
        return
    except (Exception, SystemExit) as error:  # relayed to the coordinator, which raises it
        conn.send(("error", repr(error)))


def _worker_main(
    conn: multiprocessing.connection.Connection,
    model: Model[Any],
    me: int,
    workers: int,
    vector: bool,
    symmetry: bool,
    exchange: str,
) -> None:
    worker: Any = (_VectorWorker if vector else _GenericWorker)(model, me, workers, symmetry)
    worker.exchange = exchange
    _serve(conn, worker)


# ------------------------------------------------------------ coordinator ----


class _Pool:
    def __init__(self, model: Model[Any], workers: int, vector: bool, symmetry: bool) -> None:
        context = multiprocessing.get_context("fork")
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self.exchange = tempfile.mkdtemp(prefix="vigilnet-check-", dir=shm)
        self.conns: list[multiprocessing.connection.Connection] = []
        self.procs: list[Any] = []
        for me in range(workers):
            ours, theirs = context.Pipe()
            proc = context.Process(
                target=_worker_main,
                args=(theirs, model, me, workers, vector, symmetry, self.exchange),
                daemon=True,
            )
            proc.start()
            theirs.close()
            self.conns.append(ours)
            self.procs.append(proc)

    def call_all(self, messages: list[tuple[Any, ...]]) -> list[Any]:
        for conn, message in zip(self.conns, messages, strict=True):
            conn.send(message)
        replies = [conn.recv() for conn in self.conns]
        for status, payload in replies:
            if status == "error":
                raise ModelError(f"worker failed: {payload}")
        return [payload for _, payload in replies]

    def call_one(self, worker: int, message: tuple[Any, ...]) -> Any:
        self.conns[worker].send(message)
        status, payload = self.conns[worker].recv()
        if status == "error":
            raise ModelError(f"worker failed: {payload}")
        return payload

    def close(self) -> list[int]:
        rss: list[int] = []
        for conn in self.conns:
            try:
                conn.send(("stop",))
                rss.append(int(conn.recv()))
            except (EOFError, OSError, BrokenPipeError):
                rss.append(0)
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
        shutil.rmtree(self.exchange, ignore_errors=True)
        return rss


def parallel_bfs(
    model: Model[Any],
    options: Options,
    *,
    workers: int,
    vector: bool,
    backend: str = "process",
    address: str | None = None,
) -> CheckResult:
    """Breadth-first search in ``workers`` processes (see the module doc).

    ``backend="ray"``: the workers are Ray actors (:mod:`vigilnet.checker._ray`),
    joining the cluster at ``address`` (default: a local instance).
    """
    model.check_assumptions()
    use_symmetry = options.symmetry and model.symmetry is not None
    canon = model.symmetry if use_symmetry else None
    kernel = model.kernel if vector else None
    if vector and kernel is None:
        raise ModelError(f"model {model.name} has no vectorised kernel")
    start = time.monotonic()

    pool: Any
    if backend == "ray":
        from vigilnet.checker._ray import RayPool

        pool = RayPool(model, workers, vector, use_symmetry, address)
    else:
        pool = _Pool(model, workers, vector, use_symmetry)
    try:
        return _search(model, options, pool, workers, kernel, use_symmetry, canon, start)
    finally:
        LAST_WORKER_RSS_KIB[:] = pool.close()


def _search(
    model: Model[Any],
    options: Options,
    pool: Any,
    workers: int,
    kernel: VectorKernel | None,
    use_symmetry: bool,
    canon: Any,
    start: float,
) -> CheckResult:
    """The coordinator's side of the search, over a started ``pool``.

    With the generic engine the coordinator takes no fingerprint itself:
    level 0 and the trace rebuild run in worker 0, so that every
    fingerprint of the run is taken by the workers' function (``hash()`` in
    forked processes, :func:`stable_fingerprint` in Ray actors)."""
    vector = kernel is not None
    # Level 0, computed exactly as the sequential engines do.
    inits: list[Any] = []
    keys0: list[int] = []
    hits0: dict[int, int] = {}
    generated = 0
    if kernel is not None:
        seen0: set[int] = set()
        for state in model.init_states():
            generated += 1
            key_state = canon(state) if canon is not None else state
            value = kernel.encode(key_state)
            key = (
                int(kernel.canonical(np.array([value], dtype=np.uint64))[0])
                if use_symmetry
                else value
            )
            if key in seen0:
                continue
            seen0.add(key)
            inits.append(key_state)
            keys0.append(key)
    else:
        inits, keys0, generated, hits0 = pool.call_one(0, ("initial",))

    nact = len(model.actions)
    action_of_instance: I64 | None = None
    width = 0
    if kernel is not None:
        width = len(kernel.instances)
        index = {a.name: i for i, a in enumerate(model.actions)}
        action_of_instance = np.array([index[name] for name, _ in kernel.instances], dtype=np.int64)
    level_keys: list[U64] = [np.array(keys0, dtype=np.uint64)]
    level_parents: list[I64] = [np.full(len(keys0), -1, dtype=np.int64)]
    enabled = np.zeros(nact, dtype=np.int64)
    new = np.zeros(nact, dtype=np.int64)
    found: dict[int, _Found] = {}
    deadlock: _Found | None = None
    complete = True
    ledger = Ledger(model)
    always = {i for i, p in enumerate(model.properties) if p.kind is Kind.ALWAYS}

    def note_hits(level: int, replies: list[dict[int, int]]) -> bool:
        bad = False
        for i in sorted({i for reply in replies for i in reply}):
            if i in found:
                continue
            rank = min(reply[i] for reply in replies if i in reply)
            found[i] = _Found(level, rank)
            bad = bad or i in always
        return bad

    owner0 = shard_of(level_keys[0], workers)
    if kernel is not None:
        replies = pool.call_all(
            [
                (
                    "start",
                    level_keys[0][owner0 == w],
                    np.flatnonzero(owner0 == w).astype(np.int64),
                )
                for w in range(workers)
            ]
        )
    else:
        ranks = list(range(len(inits)))
        pool.call_all(
            [
                (
                    "start",
                    [(r, inits[r], keys0[r]) for r in ranks if r % workers == w],
                    [keys0[r] for r in ranks if owner0[r] == w],
                )
                for w in range(workers)
            ]
        )
        replies = [hits0]
    stop = note_hits(0, replies) and options.stop_on_violation
    while not stop:
        level = len(level_keys) - 1
        if options.max_depth is not None and level >= options.max_depth:
            complete = False
            break
        expanded = pool.call_all(
            [("expand", level) if kernel is not None else ("expand",) for _ in range(workers)]
        )
        generated += sum(int(r["generated"]) for r in expanded)
        if kernel is not None:
            assert action_of_instance is not None
            for r in expanded:
                np.add.at(enabled, action_of_instance, r["enabled"])
        else:
            for r in expanded:
                enabled += r["enabled"]
        dead = [rank for r in expanded for rank in r["dead"]]
        if dead and deadlock is None:
            deadlock = _Found(level, min(dead))
            if options.stop_on_violation:
                stop = True
        # Route candidates to their owners.
        if kernel is not None:
            routed = pool.call_all(
                [
                    ("dedup_files", [r["buckets"][o] for s, r in enumerate(expanded) if s != o])
                    for o in range(workers)
                ]
            )
            win_keys = [np.asarray(keys) for _, keys in routed]
            win_vals = [np.asarray(vals) for vals, _ in routed]
        else:
            routed = pool.call_all(
                [
                    (
                        "dedup",
                        np.concatenate([r["buckets"][o][0] for r in expanded]),
                        np.concatenate([r["buckets"][o][1] for r in expanded]),
                        np.concatenate([r["buckets"][o][2] for r in expanded]),
                        np.concatenate(
                            [
                                np.full(r["buckets"][o][0].size, s, dtype=np.int64)
                                for s, r in enumerate(expanded)
                            ]
                        ),
                        np.concatenate([r["buckets"][o][3] for r in expanded]),
                    )
                    for o in range(workers)
                ]
            )
            win_keys = [np.asarray(t[1]) for t in routed]
            win_vals = [np.asarray(t[0]) for t in routed]
        all_keys = np.concatenate(win_keys) if win_keys else np.zeros(0, np.int64)
        if all_keys.size == 0:
            break
        order = np.argsort(all_keys, kind="stable")
        rank_of = np.empty(order.size, dtype=np.int64)
        rank_of[order] = np.arange(order.size, dtype=np.int64)
        sorted_keys = all_keys[order]
        all_vals = np.concatenate(win_vals)[order]
        offset = sum(int(k.size) for k in level_keys[:-1])
        if kernel is not None:
            assert action_of_instance is not None
            parents = sorted_keys // width
            acts = action_of_instance[sorted_keys % width]
        else:
            parents = sorted_keys >> SEQ_BITS
            acts = np.concatenate([np.asarray(t[2]) for t in routed])[order]
        new += np.bincount(acts, minlength=nact).astype(np.int64)
        level_keys.append(all_vals.astype(np.uint64))
        level_parents.append(parents.astype(np.int64) + offset)
        # Hand the ranks back.
        bounds = np.cumsum([0] + [int(k.size) for k in win_keys])
        if kernel is not None:
            replies = pool.call_all(
                [("adopt", rank_of[bounds[o] : bounds[o + 1]]) for o in range(workers)]
            )
        else:
            # The owner of a new state adopts it (so the frontier stays
            # spread over the workers): its generator releases it.
            src_all = np.concatenate([np.asarray(t[3]) for t in routed])
            idx_all = np.concatenate([np.asarray(t[4]) for t in routed])
            released = pool.call_all([("release", idx_all[src_all == s]) for s in range(workers)])
            where = np.empty(src_all.size, dtype=np.int64)
            for s in range(workers):
                where[src_all == s] = np.arange(int((src_all == s).sum()), dtype=np.int64)
            replies = pool.call_all(
                [
                    (
                        "adopt",
                        rank_of[bounds[o] : bounds[o + 1]],
                        [
                            released[int(src_all[i])][int(where[i])]
                            for i in range(int(bounds[o]), int(bounds[o + 1]))
                        ],
                    )
                    for o in range(workers)
                ]
            )
        if note_hits(len(level_keys) - 1, replies) and options.stop_on_violation:
            stop = True
        options.progress(
            ProgressInfo(
                generated=generated,
                distinct=sum(int(k.size) for k in level_keys),
                queue=int(all_keys.size),
                depth=len(level_keys) - 1,
                seconds=time.monotonic() - start,
            )
        )
    if stop:
        complete = False
    seconds = time.monotonic() - start

    offsets = np.cumsum([0] + [int(k.size) for k in level_keys])
    flat_keys = np.concatenate(level_keys)
    flat_parents = np.concatenate(level_parents)

    def key_of_state(state: Any) -> Hashable:
        assert kernel is not None
        return kernel.encode(canon(state) if canon is not None else state)

    def chain_at(where: _Found) -> list[int]:
        index = int(offsets[where.level]) + where.rank
        chain = [index]
        while flat_parents[chain[-1]] >= 0:
            chain.append(int(flat_parents[chain[-1]]))
        chain.reverse()
        return [int(flat_keys[i]) for i in chain]

    # Every found property's trace, then the deadlock's, rebuilt from the
    # stored keys: the packed states here, the fingerprints in worker 0.
    wanted = [*found.values(), *([deadlock] if deadlock is not None else [])]
    chains = [chain_at(w) for w in wanted]
    if kernel is not None:
        rebuilt = [rebuild_trace(model, chain, key_of_state) for chain in chains]
    else:
        rebuilt = pool.call_one(0, ("rebuild", chains)) if chains else []
    traces = dict(zip(found, rebuilt[: len(found)], strict=True))
    ledger.found = {i: (w.level, w.rank) for i, w in found.items()}
    distinct = int(flat_keys.size)
    return make_result(
        model=model,
        engine="vector" if vector else "generic",
        strategy="bfs",
        workers=workers,
        symmetry=use_symmetry,
        distinct=distinct,
        generated=generated,
        depth=len(level_keys) - 1,
        seconds=seconds,
        complete=complete,
        outcomes=safety_outcomes(model, ledger, traces, complete=complete),
        coverage={
            a.name: ActionCoverage(enabled=int(enabled[i]), new=int(new[i]))
            for i, a in enumerate(model.actions)
        },
        collision_optimistic=0.0 if vector else collision_optimistic(distinct, generated),
        collision_observed=0.0 if vector else collision_observed(flat_keys.tolist()),
        deadlock=rebuilt[-1] if deadlock is not None else None,
        notes=(f"{workers} worker processes, fingerprint sets sharded by mix64(fp) % {workers}",),
    )
