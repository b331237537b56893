"""The generic engine on 1 worker, 2 worker processes and 2 Ray actors.

Run from the repository root (needs ``pip install 'vigilnet[ray]'``)::

    .venv/bin/python bench/checker/ray_generic.py
    .venv/bin/python bench/checker/ray_generic.py --runs sdbc:n4f1:sym

Each run (``model:config:sym|nosym``) is checked with ``--engine generic``
three ways in this process: one worker (``hash()`` fingerprints), two forked
worker processes (``hash()``, shared with the coordinator) and two Ray
actors on a local instance started once (``stable_fingerprint``).  Each row
prints the search seconds as the engine reports them, the wall seconds of
the call (with the actors' start-up for Ray), distinct states per search
second, and whether the result equals one worker's: distinct and generated
counts, depth, coverage, every property's status and trace.  Before the
runs, the cost of the two fingerprint functions per state is timed on the
first model's reachable states.  Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import time
from typing import Any

__all__ = ["main"]

DEFAULT_RUNS = ["twophase:rm7:nosym", "sdbc:n4f1:sym"]


def _summary(result: Any) -> tuple[object, ...]:
    return (
        result.ok,
        result.distinct_states,
        result.generated_states,
        result.depth,
        dict(result.coverage),
        [(p.name, p.status, p.trace) for p in result.properties],
    )


def _model(name: str, config: str) -> Any:
    from vigilnet.checker._registry import load_family

    return load_family(name).instantiate(config=config)


def _fingerprint_cost(model: Any, limit: int) -> tuple[int, float, float]:
    """Seconds per state of ``hash()`` and ``stable_fingerprint`` on fresh
    copies (unpickled, so no hash is cached) of up to ``limit`` states."""
    from vigilnet.checker._fingerprint import _MEMO, stable_fingerprint
    from vigilnet.checker._trace import successors

    seen = set(model.init_states())
    level = list(seen)
    while level and len(seen) < limit:
        nxt = []
        for state in level:
            for _, _, succ in successors(model, state):
                if succ not in seen:
                    seen.add(succ)
                    nxt.append(succ)
        level = nxt
    states = list(seen)[:limit]
    blob = pickle.dumps(states)
    copies = pickle.loads(blob)
    start = time.perf_counter()
    for state in copies:
        hash(state)
    fast = (time.perf_counter() - start) / len(states)
    copies = pickle.loads(blob)
    _MEMO.clear()
    start = time.perf_counter()
    for state in copies:
        stable_fingerprint(state)
    stable = (time.perf_counter() - start) / len(states)
    return len(states), fast, stable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="+", default=DEFAULT_RUNS, help="model:config:sym|nosym")
    args = parser.parse_args()
    import ray
    from vigilnet.checker import Options
    from vigilnet.checker._run import check

    print(
        f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}, "
        f"Python {platform.python_version()}, Ray {ray.__version__}"
    )
    first = args.runs[0].split(":")
    count, fast, stable = _fingerprint_cost(_model(first[0], first[1]), 50_000)
    print(
        f"fingerprint per state ({first[0]} {first[1]}, {count:,} states): hash() "
        f"{fast * 1e6:.2f} us, stable_fingerprint {stable * 1e6:.2f} us ({stable / fast:.0f}x)"
    )
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    print(f"local Ray instance started in {time.perf_counter() - start:.1f} s")
    header = (
        f"{'run':28} {'backend':18} {'distinct':>10} {'search s':>9} {'wall s':>8} "
        f"{'distinct/s':>11}  same as 1 worker"
    )
    print(header)
    print("-" * len(header))
    try:
        for spec in args.runs:
            name, config, sym = spec.split(":")
            model = _model(name, config)
            options = Options(symmetry=sym == "sym")
            one: Any = None
            for label, kwargs in [
                ("1 worker", {}),
                ("2 processes", {"workers": 2}),
                ("2 Ray actors", {"workers": 2, "backend": "ray"}),
            ]:
                start = time.perf_counter()
                result = check(model, options, engine="generic", **kwargs)  # type: ignore[arg-type]
                wall = time.perf_counter() - start
                one = result if one is None else one
                same = "-" if result is one else str(_summary(result) == _summary(one))
                print(
                    f"{spec:28} {label:18} {result.distinct_states:>10,} "
                    f"{result.seconds:>9.2f} {wall:>8.2f} "
                    f"{result.distinct_states / result.seconds:>11,.0f}  {same}"
                )
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
