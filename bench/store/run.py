"""Audit log throughput: appends per second one at a time and in batches
(each batch one durable transaction), a checkpoint every N entries; then
inclusion and consistency proof times at a large size, beside an in-memory
MerkleLog of the same size.

    python bench/store/run.py [--entries 1000000] [--single 2000]

Figures, never a pass/fail: the machine is shared.  Published figures of
other logs are quoted in bench/store/README.md with their sources.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from pathlib import Path

from vigilnet.crypto import SigningKey
from vigilnet.encoding import encode
from vigilnet.merkle import MerkleLog, leaf_hash
from vigilnet.store import AuditLog, EntryKind, entry_leaf

KEY = SigningKey(hashlib.sha256(b"bench audit").digest())


def body(i: int) -> dict[str, object]:
    return {"epoch": i, "root": hashlib.sha256(i.to_bytes(8, "big")).digest(), "hub": i % 5}


def single(path: Path, n: int) -> float:
    with AuditLog(path, "bench/single", KEY, create=True) as log:
        start = time.perf_counter()
        for i in range(n):
            log.append(EntryKind.DECISION, body(i), i)
        return n / (time.perf_counter() - start)


def batched(path: Path, n: int, batch: int, every: int) -> tuple[float, AuditLog]:
    log = AuditLog(path, "bench/batched", KEY, create=True)
    start = time.perf_counter()
    for first in range(0, n, batch):
        log.append_many(
            [(EntryKind.DECISION, body(i), i) for i in range(first, min(n, first + batch))]
        )
        if log.size % every == 0:
            log.checkpoint()
    if log.size % every:
        log.checkpoint()
    return n / (time.perf_counter() - start), log


def timed(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--checkpoint-every", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rate_single = single(folder / "single.db", args.single)
        print(
            f"{'append, one per transaction (synchronous=FULL)':<52} {rate_single:>12,.0f} entries/s"
        )
        rate_batch, log = batched(
            folder / "batched.db", args.entries, args.batch, args.checkpoint_every
        )
        print(
            f"{'append, batches of ' + format(args.batch, ',') + ', checkpoint every ' + format(args.checkpoint_every, ','):<52}"
            f" {rate_batch:>12,.0f} entries/s   ({rate_batch / rate_single:.0f}x)"
        )
        size = (folder / "batched.db").stat().st_size
        print(
            f"{'file size at ' + format(log.size, ',') + ' entries':<52} {size / 2**20:>12,.1f} MiB"
        )
        memory = MerkleLog()
        for i in range(log.size):
            memory.append_leaf_hash(leaf_hash(entry_leaf(EntryKind.DECISION, i, encode(body(i)))))
        assert memory.root() == log.root()
        checkpoints = log.checkpoints()
        latest, older = checkpoints[-1], checkpoints[0]
        probe = [log.size // 3, log.size // 2, log.size - 1]
        t_incl = timed(lambda: [log.inclusion_proof(i, latest) for i in probe], 5) / len(probe)
        t_mem = timed(lambda: [memory.inclusion_proof(i, latest.size) for i in probe], 5) / len(
            probe
        )
        t_cons = timed(lambda: log.consistency_proof(older, latest), 5)
        t_cons_mem = timed(lambda: memory.consistency_proof(older.size, latest.size), 5)
        print(
            f"{'inclusion proof at ' + format(log.size, ','):<52} {t_incl * 1e3:>12.2f} ms   (in memory {t_mem * 1e3:.3f} ms; SQLite reads + checked against the signed root)"
        )
        print(
            f"{'consistency proof ' + format(older.size, ',') + ' -> ' + format(latest.size, ','):<52} {t_cons * 1e3:>12.2f} ms   (in memory {t_cons_mem * 1e3:.3f} ms)"
        )
        t_verify = timed(log.verify, 1)
        print(f"{'verify the whole log':<52} {t_verify:>12.1f} s")
        log.close()


if __name__ == "__main__":
    main()
