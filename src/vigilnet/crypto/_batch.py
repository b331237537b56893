"""Batch verification: both cores, and never the same signature twice.

Theory of operation
===================

1. **Same verdicts.**  ``verify_many(items)[i]`` equals
   ``verify_signature(*items[i])`` for every ``i``, always: the batch path
   calls the same pinned rule (see :mod:`vigilnet.crypto._keys`) and only
   changes *where* and *how often* it runs.  A malformed triple (a key that is
   not 32 bytes, a signature that is not 64) is ``False``, as one by one.

2. **Cache.**  Every verdict, accepting or rejecting, is remembered in a
   bounded LRU cache keyed by ``(public key, SHA-256(message), signature)``;
   a triple already in the cache, or repeated inside one batch, is not
   verified again.  Two distinct messages share a key only through a SHA-256
   collision.  Malformed triples are answered without libsodium and are not
   cached.

3. **Parallelism.**  PyNaCl's cffi calls release the GIL, so libsodium runs
   on every core from plain threads; measured here (``bench/crypto``), two
   threads verify 1.5 to 1.8 times as fast as one, and a process pool gains
   nothing over threads while paying for pickling.  A batch with fewer than ``parallel_threshold``
   uncached triples stays on the calling thread, where dispatch overhead
   would cost more than it saves.

4. **Inspection.**  :meth:`BatchVerifier.cache_info` counts hits (answered
   from the cache or from a duplicate in the same batch) and verifications
   (calls into libsodium); tests use these to show nothing is verified twice.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from vigilnet.crypto import _keys
from vigilnet.crypto._keys import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, VerifyKey
from vigilnet.errors import LocalProtocolError, ensure

__all__ = [
    "DEFAULT_CACHE_ENTRIES",
    "DEFAULT_PARALLEL_THRESHOLD",
    "BatchVerifier",
    "CacheInfo",
    "SignatureItem",
    "default_verifier",
    "verify_many",
]

DEFAULT_CACHE_ENTRIES = 1 << 16
DEFAULT_PARALLEL_THRESHOLD = 64
_CHUNKS_PER_WORKER = 4
_MIN_CHUNK = 32

SignatureItem = tuple[VerifyKey | bytes, bytes, bytes]
_CacheKey = tuple[bytes, bytes, bytes]
_CacheKeyAndMessage = tuple[_CacheKey, bytes]


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheInfo:
    """Counters of one :class:`BatchVerifier` since creation (or
    :meth:`~BatchVerifier.clear`)."""

    hits: int
    verified: int
    malformed: int
    size: int
    max_size: int


def _available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _verify_chunk(chunk: Sequence[_CacheKeyAndMessage]) -> list[bool]:
    return [_keys.verify_signature(key[0], message, key[2]) for key, message in chunk]


class BatchVerifier:
    """Verifies batches of ``(verify key, message, signature)`` triples with a
    bounded verdict cache and a thread pool.  Safe to share between threads.

    ``max_cache_entries`` bounds the cache (0 disables it); ``workers`` is the
    number of threads (default: the cores this process may use);
    ``parallel_threshold`` is the fewest uncached triples worth spreading
    over the threads.
    """

    def __init__(
        self,
        *,
        max_cache_entries: int = DEFAULT_CACHE_ENTRIES,
        workers: int | None = None,
        parallel_threshold: int = DEFAULT_PARALLEL_THRESHOLD,
    ) -> None:
        ensure(max_cache_entries >= 0, "max_cache_entries must be >= 0", LocalProtocolError)
        ensure(workers is None or workers >= 1, "workers must be >= 1", LocalProtocolError)
        ensure(parallel_threshold >= 1, "parallel_threshold must be >= 1", LocalProtocolError)
        self._max_entries = max_cache_entries
        self._workers = workers if workers is not None else _available_cores()
        self._parallel_threshold = parallel_threshold
        self._cache: OrderedDict[_CacheKey, bool] = OrderedDict()
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._hits = 0
        self._verified = 0
        self._malformed = 0

    @property
    def workers(self) -> int:
        return self._workers

    def cache_info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(
                hits=self._hits,
                verified=self._verified,
                malformed=self._malformed,
                size=len(self._cache),
                max_size=self._max_entries,
            )

    def clear(self) -> None:
        """Forget every cached verdict and reset the counters."""
        with self._lock:
            self._cache.clear()
            self._hits = self._verified = self._malformed = 0

    def close(self) -> None:
        """Stop the worker threads (a later batch starts them again)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def __enter__(self) -> BatchVerifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def verify_many(self, items: Iterable[SignatureItem]) -> list[bool]:
        """One verdict per triple, in order; see the module docstring.

        Two threads that submit the same uncached triple at the same moment
        may both verify it (the cache is consulted before, and filled after,
        the verification); one caller never verifies a triple twice.
        """
        results: list[bool] = []
        keyed: list[tuple[int, _CacheKey, bytes]] = []
        malformed = 0
        for index, (raw_key, message, signature) in enumerate(items):
            public_key = raw_key.key if isinstance(raw_key, VerifyKey) else raw_key
            results.append(False)
            if (
                type(public_key) is not bytes
                or type(message) is not bytes
                or type(signature) is not bytes
                or len(public_key) != PUBLIC_KEY_BYTES
                or len(signature) != SIGNATURE_BYTES
            ):
                malformed += 1
                continue
            keyed.append(
                (index, (public_key, hashlib.sha256(message).digest(), signature), message)
            )
        pending: dict[_CacheKey, tuple[bytes, list[int]]] = {}
        hits = 0
        with self._lock:
            for index, cache_key, message in keyed:
                cached = self._cache.get(cache_key)
                if cached is not None:
                    self._cache.move_to_end(cache_key)
                    results[index] = cached
                    hits += 1
                elif cache_key in pending:
                    pending[cache_key][1].append(index)
                    hits += 1
                else:
                    pending[cache_key] = (message, [index])
            self._hits += hits
            self._malformed += malformed
        work = [(cache_key, message) for cache_key, (message, _) in pending.items()]
        verdicts = self._run(work)
        with self._lock:
            self._verified += len(work)
            for (cache_key, (_, indexes)), verdict in zip(pending.items(), verdicts, strict=True):
                for index in indexes:
                    results[index] = verdict
                if self._max_entries:
                    self._cache[cache_key] = verdict
                    self._cache.move_to_end(cache_key)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        return results

    def _run(self, work: list[_CacheKeyAndMessage]) -> list[bool]:
        if self._workers == 1 or len(work) < self._parallel_threshold:
            return _verify_chunk(work)
        # A few chunks per thread, not one: when another process takes a core
        # for a while, the other thread picks up the remaining chunks.
        pieces = min(self._workers * _CHUNKS_PER_WORKER, -(-len(work) // _MIN_CHUNK))
        size = -(-len(work) // max(pieces, 1))
        chunks = [work[start : start + size] for start in range(0, len(work), size)]
        verdicts: list[bool] = []
        for part in self._pool().map(_verify_chunk, chunks):
            verdicts.extend(part)
        return verdicts

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix="vigilnet-verify"
                )
            return self._executor


_DEFAULT = BatchVerifier()


def default_verifier() -> BatchVerifier:
    """The process-wide verifier behind :func:`verify_many`."""
    return _DEFAULT


def verify_many(
    items: Iterable[SignatureItem], *, verifier: BatchVerifier | None = None
) -> list[bool]:
    """Verify ``(verify key, message, signature)`` triples; one bool each.

    Uses the process-wide :func:`default_verifier` unless ``verifier`` is
    given.  Equal, element by element, to verifying one by one under the
    pinned rule.
    """
    return (_DEFAULT if verifier is None else verifier).verify_many(items)
