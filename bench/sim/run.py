"""The simulator's hot paths, timed: the deployment run and its per-message work.

    .venv/bin/python bench/sim/run.py [--agents N] [--epochs 2] [--repeat 3]
                                          [--profile 25]

1. **run**: :func:`vigilnet.sim._deployment.run_deployment` on the baseline
   scenario (``--agents``, ``--epochs`` override it), best of ``--repeat``.
2. **per message**: the work the run does for every monitor report, timed
   one by one on a real monitor body and a real receipt captured from the
   run (best of ``--repeat`` rounds of ``--loops`` calls each): building a
   :class:`MonitorBody` (its checks), its digest (canonical CBOR of 3 x
   2,000 integers), ``check_bounds``, the entries tree, and the wire encode
   and decode of the report and of a receipt.
3. ``--profile N``: the run once more under cProfile, the top ``N``
   functions by own time (cProfile inflates small, often-called functions:
   read it for where, the figures above for how much).

Every figure is CPU time of this process (``time.process_time``): the
simulator runs on one thread, so it is one core's time, and it is not
inflated when the machine is shared.  Run it before and after a change and
compare the rows.  A benchmark, not a test: it never fails on a time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import platform
import pstats
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from vigilnet.protocols import shap
from vigilnet.sim._deployment import run_deployment
from vigilnet.sim._scenario import load_scenario

__all__ = ["main"]


def _best(call: Callable[[], Any], repeat: int, loops: int = 1) -> float:
    """Best CPU seconds per call over ``repeat`` rounds of ``loops`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(loops):
            call()
        best = min(best, (time.process_time() - start) / loops)
    return best


def _capture(scenario: Any) -> tuple[bytes, bytes, shap.ShapConfig]:
    """Run once, keeping the first monitor report with a body and the first
    receipt that went on the wire, and the SHAP configuration they were
    decoded under."""
    kept: dict[str, Any] = {}
    encode, decode = shap.encode_message, shap.decode_message

    def recording_encode(message: shap.WireMessage) -> bytes:
        payload = encode(message)
        if isinstance(message, shap.ReceiveReport) and message.body is not None:
            kept.setdefault("report", payload)
        elif isinstance(message, shap.Receipt):
            kept.setdefault("receipt", payload)
        return payload

    def recording_decode(data: bytes, config: shap.ShapConfig, *rest: Any) -> shap.WireMessage:
        kept.setdefault("config", config)
        return decode(data, config, *rest)

    shap.encode_message = recording_encode  # type: ignore[assignment]
    shap.decode_message = recording_decode  # type: ignore[assignment]
    try:
        run_deployment(scenario)
    finally:
        shap.encode_message, shap.decode_message = encode, decode  # type: ignore[assignment]
    return kept["report"], kept["receipt"], kept["config"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--loops", type=int, default=20)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()

    overrides: dict[str, int] = {"epochs": args.epochs}
    if args.agents is not None:
        overrides["agents"] = args.agents
    scenario = load_scenario("baseline").with_overrides(**overrides)
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    print(f"baseline scenario, {scenario.topology.agents} agents, {args.epochs} epochs")

    report_bytes, receipt_bytes, config = _capture(scenario)
    run = _best(lambda: run_deployment(scenario), args.repeat)
    print(f"\n{'run_deployment':<34} {run:9.3f} s")

    limits = shap.wire_limits(config)
    report = shap.decode_message(report_bytes, config, limits)
    receipt = shap.decode_message(receipt_bytes, config, limits)
    assert isinstance(report, shap.ReceiveReport) and report.body is not None
    body = report.body
    ids = np.asarray(body.agent_ids, dtype=np.uint64)
    counts = np.asarray(body.counts, dtype=np.int64)
    llrs = np.asarray(body.llr_sums, dtype=np.int64)
    rows: list[tuple[str, Callable[[], Any]]] = [
        (
            "MonitorBody(...) checks",
            lambda: shap.MonitorBody(
                agent_ids=body.agent_ids, counts=body.counts, llr_sums=body.llr_sums
            ),
        ),
        ("MonitorBody.digest (encode)", lambda: body.digest),
        ("MonitorBody.check_bounds", lambda: body.check_bounds(config, 0)),
        ("entries_tree (2,000 leaves)", lambda: shap.entries_tree(ids, counts, llrs)),
        ("encode_message(report + body)", lambda: shap.encode_message(report)),
        (
            "decode_message(report + body)",
            lambda: shap.decode_message(report_bytes, config, limits),
        ),
        ("encode_message(receipt)", lambda: shap.encode_message(receipt)),
        ("decode_message(receipt)", lambda: shap.decode_message(receipt_bytes, config, limits)),
    ]
    print(f"\nper message ({len(body.agent_ids)} entries, {len(report_bytes)} bytes)")
    for name, call in rows:
        print(f"  {name:<32} {_best(call, args.repeat, args.loops) * 1e3:9.3f} ms")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(run_deployment, scenario)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile)
        print(out.getvalue())


if __name__ == "__main__":
    main()
