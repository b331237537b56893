"""The parallel breadth-first search on Ray actors (``vigilnet check --backend ray``).

Theory of operation
-------------------
:mod:`vigilnet.checker._parallel` shards the fingerprint set and the frontier
over ``N`` workers and drives them level by level through one small
interface: ``call_all`` (one message to every worker, the replies in worker
order) and ``close`` (each worker's peak RSS).  :class:`RayPool` is that
interface over Ray actors instead of forked processes: each actor holds the
same worker object (``_GenericWorker`` or ``_VectorWorker``) that a process
holds, built from the same arguments, so sharding (``shard_of``), the
dedup, the winner keys and therefore distinct counts, verdicts and shortest
traces are those of ``--workers N`` by construction; the coordinator code is
not duplicated.  Ray runs an actor's method calls in submission order, which
is what the level-synchronous protocol needs.

The vectorised engine exchanges candidates as ``.npy`` files in a per-run
directory; actors on one machine share it, so the backend needs every actor
on the driver's machine (a multi-machine cluster would need a shared
``/dev/shm``-like directory; not done).  Each
actor asks Ray for one CPU, so ``--workers`` should not exceed the
cluster's CPUs.

The generic engine's fingerprints in forked workers are Python's
``hash()``, shared with the coordinator.  Ray actors are separately started
interpreters, where ``hash()`` differs twice over: string hashing is salted
per interpreter (``PYTHONHASHSEED``), and before Python 3.12 ``hash(None)``
(so that of any state holding a ``None``) is the object's address, which
address-space randomisation moves from process to process whatever the
salt.  The actors therefore take :func:`~vigilnet.checker._fingerprint.stable_fingerprint`,
computed from the state's value alone, and the coordinator takes no
fingerprint at all: level 0 and the trace rebuild run in worker 0 (see
``_search`` in :mod:`vigilnet.checker._parallel`).

Why the first attempt disagreed with one worker (diagnosed for issue 17):
it gave every actor one ``PYTHONHASHSEED``, but (1) the driver kept its own
salt, and the coordinator fingerprinted level 0 (and sharded the initial
states by those fingerprints) and rebuilt traces by matching its own
fingerprints against the actors' ("cannot rebuild trace at step 1: no
successor matches"); and (2) even with the coordinator out of it, TwoPhase's
messages hold ``rm=None``, whose hash is an address: each actor fingerprinted
the same state differently (RM = 7 with symmetry: the rebuild failed at
step 16).  The successor order does not depend on the salt (one worker
under ``PYTHONHASHSEED`` 0, 1 and 2 gives equal traces on SDBC and
TwoPhase, and every registered configuration agrees with one worker to
depth 7 on actors that each draw their own salt), so with one fingerprint
function the traces equal one worker's.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
from typing import Any

from vigilnet.checker._model import Model, ModelError

__all__ = ["RayPool"]


class _Host:
    """One shard's worker inside a Ray actor."""

    def __init__(
        self, model: Model[Any], me: int, workers: int, vector: bool, symmetry: bool, exchange: str
    ) -> None:
        from vigilnet.checker._parallel import _GenericWorker, _VectorWorker

        worker: Any = (
            _VectorWorker(model, me, workers, symmetry)
            if vector
            else _GenericWorker(model, me, workers, symmetry, stable=True)
        )
        worker.exchange = exchange
        self.worker = worker

    def call(self, op: str, *args: Any) -> tuple[str, Any]:
        try:
            return ("ok", getattr(self.worker, op)(*args))
        except Exception as error:  # relayed to the coordinator, which raises it
            return ("error", repr(error))

    def fingerprint(self, state: Any) -> int:
        """This actor's fingerprint of ``state`` (for the tests)."""
        return int(self.worker.fingerprint(state))

    def rss(self) -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class RayPool:
    """``workers`` Ray actors, each one shard of the parallel search."""

    def __init__(
        self,
        model: Model[Any],
        workers: int,
        vector: bool,
        symmetry: bool,
        address: str | None = None,
    ) -> None:
        try:
            import ray
        except ImportError:
            raise ModelError("--backend ray needs Ray: pip install 'vigilnet[ray]'") from None
        self.ray: Any = ray
        self.started = not ray.is_initialized()
        if self.started:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self.exchange = tempfile.mkdtemp(prefix="vigilnet-check-", dir=shm)
        host: Any = ray.remote(_Host)
        self.actors: list[Any] = [
            host.remote(model, me, workers, vector, symmetry, self.exchange)
            for me in range(workers)
        ]

    def call_all(self, messages: list[tuple[Any, ...]]) -> list[Any]:
        replies = self.ray.get(
            [a.call.remote(*m) for a, m in zip(self.actors, messages, strict=True)]
        )
        for status, payload in replies:
            if status == "error":
                raise ModelError(f"worker failed: {payload}")
        return [payload for _, payload in replies]

    def call_one(self, worker: int, message: tuple[Any, ...]) -> Any:
        status, payload = self.ray.get(self.actors[worker].call.remote(*message))
        if status == "error":
            raise ModelError(f"worker failed: {payload}")
        return payload

    def close(self) -> list[int]:
        try:
            rss = [int(r) for r in self.ray.get([a.rss.remote() for a in self.actors])]
        except Exception:  # an actor that died has no figure to give
            rss = [0] * len(self.actors)
        for actor in self.actors:
            self.ray.kill(actor)
        shutil.rmtree(self.exchange, ignore_errors=True)
        if self.started:
            self.ray.shutdown()
        return rss
