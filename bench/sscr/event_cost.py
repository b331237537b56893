"""Per-event cost of an SSCR node against the size of its table (issue 10, item 10).

    .venv/bin/python bench/sscr/event_cost.py [--sizes 1000,10000,100000] [--repeat 200]

A node ``a`` holds a table of ``N`` agents (one entry each from a remote
source, and a verdict each); then it takes, ``--repeat`` times each, one

* ``LocalReport`` for a new agent (one signature verified),
* ``SyncResponseArrived`` carrying one new entry (one signature verified),
* ``Evaluate`` of a known agent,

and the median microseconds per event are printed per ``N``, with the ratio
to the smallest table.  Flat rows (ratios near 1) mean per-event cost does
not grow with the table a peer pushed in.  Figures only; nothing is
asserted.  The script also runs on the code before entries were signed (it
then builds unsigned entries and a config without keys), so one can print
the before and after figures side by side.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from typing import Any

from vigilnet.crypto import SigningKey
from vigilnet.evidence import EvidenceStats, Verdict
from vigilnet.fixedpoint import SCALE
from vigilnet.protocols import sscr

__all__ = ["main"]

SIGNED = hasattr(sscr, "sign_entry")
SOURCES = (("ma", "a"), ("mb", "b"))
KEYS = {
    name: SigningKey(hashlib.sha256(b"vigilnet-bench/sscr/source\x00" + name.encode()).digest())
    for name, _ in SOURCES
}


def _config() -> Any:
    extra: dict[str, object] = {}
    if SIGNED:
        extra["source_keys"] = tuple((n, bytes(k.verify_key)) for n, k in KEYS.items())
    return sscr.SscrConfig(
        node="a",
        peers=("b",),
        sources=SOURCES,
        lambda_max=SCALE,
        rate=Fraction(1),
        upper=2 * SCALE,
        lower=-2 * SCALE,
        deadline_base=10,
        phi_threshold=4 * SCALE,
        **extra,
    )


CONFIG = _config()


def _entry(agent: str, source: str) -> Any:
    stats = EvidenceStats(count=1, llr_sum=SCALE)
    if not SIGNED:
        return sscr.SourceEntry(sequence=1, stats=stats)
    return sscr.sign_entry(
        KEYS[source], CONFIG.config_hash, agent=agent, source=source, sequence=1, stats=stats
    )


def _table(size: int) -> Any:
    """A node holding ``size`` agents from ``mb`` and a verdict on each."""
    state, _ = sscr.initial_state(CONFIG, at=0)
    unsigned = sscr.SourceEntry(sequence=1, stats=EvidenceStats(count=1, llr_sum=SCALE))
    evidence = sscr.EvidenceState.of(((f"agent-{i:07}", "mb"), unsigned) for i in range(size))
    record = sscr.VerdictRecord(verdict=Verdict.UNDECIDED, final=False, mode=sscr.Mode.NORMAL)
    pairs = [(f"agent-{i:07}", record) for i in range(size)]
    verdicts: Any = tuple(pairs)
    if SIGNED:
        from rpds import HashTrieMap

        verdicts = HashTrieMap(pairs)
    return replace(state, evidence=evidence, verdicts=verdicts)


def _median_us(run: Callable[[int], None], repeat: int) -> float:
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        run(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = ("LocalReport", "SyncResponse(1 entry)", "Evaluate")
    rows: dict[int, list[float]] = {}
    for size in sizes:
        state = _table(size)
        reports = [
            sscr.LocalReport(at=5, agent=f"new-{i}", source="ma", entry=_entry(f"new-{i}", "ma"))
            for i in range(args.repeat)
        ]
        answers = [
            sscr.SyncResponseArrived(
                response=sscr.SyncResponse(
                    sender="b",
                    request_time=-1,
                    delta=sscr.EvidenceState.of({(f"new-{i}", "mb"): _entry(f"new-{i}", "mb")}),
                ),
                at=5,
            )
            for i in range(args.repeat)
        ]
        evaluations = [
            sscr.Evaluate(agent=f"agent-{(i * 7919) % size:07}", at=5) for i in range(args.repeat)
        ]
        rows[size] = [
            _median_us(
                lambda i, events=events, state=state: sscr.step(CONFIG, state, events[i]),
                args.repeat,
            )
            for events in (reports, answers, evaluations)
        ]
    print(
        f"SSCR per-event cost, median of {args.repeat} events ({'signed' if SIGNED else 'old, unsigned'} entries)"
    )
    print(f"{'agents in table':>16}" + "".join(f"{k:>26}" for k in kinds))
    base = rows[sizes[0]]
    for size in sizes:
        cells = "".join(
            f"{us:>14.1f} us (x{us / b:>5.1f})" for us, b in zip(rows[size], base, strict=True)
        )
        print(f"{size:>16,}" + cells)


if __name__ == "__main__":
    main()
