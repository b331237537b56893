"""SDBC bench: decided epochs per second for 5 hubs in one process, with real
Ed25519 signatures on every summary, proposal and vote, every message
delivered to every hub (each signature verified by each receiver), and
verdicts decided per second when each epoch's summaries carry a batch of
per-agent coordinates.

    .venv/bin/python bench/sdbc/run.py [--epochs 40] [--batch 1000]

Prints figures; never fails on a time.
"""

from __future__ import annotations

import argparse
import hashlib
import time

from vigilnet.protocols.sdbc import Cluster, make_config


def run(epochs: int, width: int) -> tuple[float, int]:
    config, keys = make_config(
        [hashlib.sha256(b"bench hub %d" % h).digest() for h in range(5)],
        summary_ranges=((0, 96),) * width,
    )
    cluster = Cluster(config=config, keys=keys, correct=tuple(range(5)))
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        summaries = {
            h: tuple((h * 7 + k * 13 + epoch) % 97 for k in range(width)) for h in range(5)
        }
        cluster.run_epoch(epoch, summaries)
    seconds = time.perf_counter() - start
    assert all(len(cluster.decisions[h]) == epochs for h in range(5))
    return seconds, len(cluster.sent)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    seconds, messages = run(args.epochs, 1)
    print(
        f"5 hubs, 1 coordinate : {args.epochs} epochs in {seconds:.3f} s = "
        f"{args.epochs / seconds:,.1f} decided epochs/s ({messages} signed messages, "
        f"{messages * 4 / seconds:,.0f} signature checks/s)"
    )
    batch_epochs = max(2, args.epochs // 8)
    seconds, messages = run(batch_epochs, args.batch)
    print(
        f"5 hubs, {args.batch} coordinates per summary: {batch_epochs} epochs in {seconds:.3f} s = "
        f"{batch_epochs / seconds:,.2f} epochs/s = {batch_epochs * args.batch / seconds:,.0f} verdicts decided/s"
    )


if __name__ == "__main__":
    main()
