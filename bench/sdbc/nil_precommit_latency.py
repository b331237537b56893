"""What omitting Tendermint's lines 44-46 costs: time to decide with and
without "precommit nil at once on a quorum of nil prevotes".

Our hubs reach precommit nil only through the prevote timeout (rule 3e:
``q`` prevotes of any kind set the prevote timer; its expiry precommits
nil).  Tendermint's Algorithm 1 also precommits nil at once when ``2f + 1``
prevotes are nil.  Since the only effect of that rule is the effect of the
prevote timeout, the bench emulates it on the real implementation by firing
a hub's pending prevote timer the moment it holds ``q`` nil prevotes of its
round while in step prevote.

A discrete-event clock (integer milliseconds; every message takes ``delay``
ms; timers last what the hub asked) runs one epoch of 5 hubs with real
signatures, in three scenarios, and prints the decision time of the last
correct hub with and without the rule, side by side.

    .venv/bin/python bench/sdbc/nil_precommit_latency.py [--delay 50]

Prints figures; never fails on a time.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import itertools
from dataclasses import dataclass

from vigilnet.errors import RemoteProtocolError
from vigilnet.protocols.sdbc import (
    PREVOTE,
    Broadcast,
    Decide,
    Receive,
    SetTimer,
    Start,
    Timeout,
    make_config,
)
from vigilnet.protocols.sdbc._state import Step, initial_state, step

N = 5


@dataclass(frozen=True)
class Outcome:
    decided_ms: int  # when the last correct hub decided
    round: int  # the round it decided in
    messages: int


def run(delay: int, absent: frozenset[int], rule_44: bool) -> Outcome:
    config, keys = make_config(
        [hashlib.sha256(b"latency hub %d" % h).digest() for h in range(N)],
        summary_ranges=((0, 1000),),
    )
    correct = [h for h in range(N) if h not in absent]
    nodes = {h: initial_state(keys[h], h, config) for h in correct}
    queue: list[tuple[int, int, int, object]] = []  # (time, seq, hub, input)
    seq = itertools.count()
    decided: dict[int, tuple[int, int]] = {}
    messages = 0

    def apply(h: int, now: int, event: object) -> None:
        nonlocal messages
        try:
            nodes[h], outputs = step(nodes[h], event)  # type: ignore[arg-type]
        except RemoteProtocolError:
            return
        for out in outputs:
            if isinstance(out, Broadcast):
                messages += 1
                for to in correct:
                    if to != h:
                        heapq.heappush(
                            queue, (now + delay, next(seq), to, Receive(message=out.message))
                        )
            elif isinstance(out, SetTimer):
                timeout = Timeout(epoch=out.epoch, round=out.round, step=out.step)
                at = now + out.duration_ms
                s = nodes[h]
                if (
                    rule_44
                    and out.step == "prevote"
                    and s.step is Step.PREVOTE
                    and s.tally.round(s.round).count(PREVOTE, None) >= s.quorum
                ):
                    at = now  # lines 44-46: precommit nil at once
                heapq.heappush(queue, (at, next(seq), h, timeout))
            elif isinstance(out, Decide) and h not in decided:
                decided[h] = (now, nodes[h].round)

    for h in correct:
        apply(h, 0, Start(epoch=1, summary=(100 + 10 * h,)))
    while queue and len(decided) < len(correct):
        now, _, h, event = heapq.heappop(queue)
        apply(h, now, event)
    assert len(decided) == len(correct), "an epoch must decide in these scenarios"
    last = max(decided.values())
    return Outcome(decided_ms=last[0], round=last[1], messages=messages)


SCENARIOS = (
    ("all 5 hubs correct", frozenset()),
    ("round-0 proposer (hub 1) crashed", frozenset({1})),
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=int, nargs="*", default=[10, 50, 200])
    args = parser.parse_args()
    print(
        f"{'scenario':<36} {'delay':>6} {'ours (no 44-46)':>16} {'with 44-46':>11} {'cost':>7} {'ratio':>6}"
    )
    for delay in args.delay:
        for name, absent in SCENARIOS:
            ours = run(delay, absent, rule_44=False)
            tm = run(delay, absent, rule_44=True)
            print(
                f"{name:<36} {delay:>4}ms {ours.decided_ms:>13}ms r{ours.round} "
                f"{tm.decided_ms:>8}ms r{tm.round} {ours.decided_ms - tm.decided_ms:>5}ms "
                f"{ours.decided_ms / tm.decided_ms:>6.2f}"
            )


if __name__ == "__main__":
    main()
