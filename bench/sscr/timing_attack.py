"""Timing attacks on the SSCR failure detector: fixed vs jittered deadlines.

    .venv/bin/python bench/sscr/timing_attack.py [--runs 400] [--seed 1]

Drives the real node state machine (``vigilnet.protocols.sscr.step``) of a
replica ``A`` watching one peer ``B`` (which hosts one source), tick by tick,
against an adversary who knows the detector's *schedule*: with fixed
deadlines the checks happen at ``k * T`` exactly; with jittered ones at
``T * U(0.5, 1.5)`` intervals whose 64-bit draws the adversary does not see
(here a seeded PRNG per run stands in for the runtime's CSPRNG: the draws
are the only thing that differs between the two columns).

Parameters: heartbeats every ``H = 10`` ticks, staleness deadline base
``T = 200``, phi threshold 2 (about 46 ticks of silence at the learned mean;
intervals over ``2 H`` are gaps, not samples), sensitivity 3, one source per
node, rate bound 1/100 terms per tick, thresholds +-3 nats, ``lambda_max`` =
1 nat.

**Scenario 1, hidden partition -> wrongly finalised.**  At a random time
``P0`` the link between A and B is cut for good.  The agent then looks
guilty to A's source (+1 nat every 400 ticks) and innocent to B's (-1 nat
every 400 ticks, never seen by A): on all the evidence it is UNDECIDED.  The
adversary leaks one heartbeat of B's at ``k * T - 1``: just before each fixed
deadline.  A evaluates every 10 ticks.  A *detector-trusting* finality rule
(count a peer as unreachable only once a partition from it is declared:
what the hidden-evidence bound would be if it trusted the detector) finalises
FLAGGED as soon as A's own evidence crosses the threshold unless the
partition was declared first: wrongly.  SSCR's own rule counts every remote
source's staleness whatever the detector says; both are reported.

**Scenario 2, fake partition -> suppressed verdicts.**  No real partition:
the adversary only blacks the link out for the ``W = 60`` ticks before each
fixed deadline (30 % of the time, heartbeats and syncs lost).  Three
suspected checks declare a (false) partition: A goes DEGRADED, thresholds
rise and finality is withheld until heal.  Reported: the share of runs with at
least one false declaration, and the share of ticks A spends outside NORMAL.

Every run is seeded (``--seed`` + run index), so the figures are reproducible.
This is an experiment, not a test: it never fails.
"""

from __future__ import annotations

import argparse
import hashlib
import random
from dataclasses import dataclass
from fractions import Fraction

from vigilnet.crypto import SigningKey
from vigilnet.evidence import EvidenceStats, Verdict
from vigilnet.fixedpoint import SCALE
from vigilnet.protocols.sscr import (
    DeadlineFired,
    Decide,
    Evaluate,
    Event,
    HeartbeatArrived,
    LocalReport,
    Mode,
    NodeState,
    Send,
    SourceEntry,
    SscrConfig,
    StartSync,
    SyncRequest,
    SyncRequestArrived,
    SyncResponse,
    SyncResponseArrived,
    consistency_bound,
    initial_state,
    judge,
    sign_entry,
    step,
)

__all__ = ["main"]

H = 10  # heartbeat interval
T = 200  # staleness deadline base
W = 60  # scenario 2 blackout before each predicted deadline
RATE = Fraction(1, 100)  # the sources' rate bound
EVIDENCE_EVERY = 400  # scenario 1: how often the agent's behaviour yields a term
UPPER, LOWER = 3 * SCALE, -3 * SCALE
AGENT = "agent"


#: One signing key per source (seeds from the names: a benchmark, not a deployment).
KEYS = {
    name: SigningKey(hashlib.sha256(b"vigilnet-bench/sscr/source\x00" + name.encode()).digest())
    for name in ("src-a", "src-b")
}


def _signed(source: str, sequence: int, stats: EvidenceStats) -> SourceEntry:
    return sign_entry(
        KEYS[source],
        CONFIG_A.config_hash,
        agent=AGENT,
        source=source,
        sequence=sequence,
        stats=stats,
    )


def _config(node: str, peer: str) -> SscrConfig:
    return SscrConfig(
        node=node,
        peers=(peer,),
        sources=(("src-a", "a"), ("src-b", "b")),
        source_keys=tuple((name, bytes(key.verify_key)) for name, key in KEYS.items()),
        lambda_max=SCALE,
        rate=RATE,
        upper=UPPER,
        lower=LOWER,
        deadline_base=T,
        phi_threshold=2 * SCALE,
        sensitivity=3,
        window=32,
        bootstrap_interval=H,
        max_interval=2 * H,
    )


CONFIG_A, CONFIG_B = _config("a", "b"), _config("b", "a")


@dataclass
class Pair:
    """The two nodes, their sources' cumulative evidence, the draws."""

    a: NodeState
    b: NodeState
    rng: random.Random
    jitter: bool
    source_a: EvidenceStats
    source_b: EvidenceStats
    seq_a: int = 0
    seq_b: int = 0

    def draw(self) -> int:
        return self.rng.getrandbits(64) if self.jitter else 1 << 63  # 1 << 63: exactly T

    def feed_a(self, event: Event) -> tuple[object, ...]:
        self.a, outputs = step(CONFIG_A, self.a, event)
        return outputs

    def feed_b(self, event: Event) -> tuple[object, ...]:
        self.b, outputs = step(CONFIG_B, self.b, event)
        return outputs

    def observe(self, side: str, term: int, at: int) -> None:
        if side == "a":
            self.seq_a += 1
            self.source_a = self.source_a + EvidenceStats(count=1, llr_sum=term)
            entry = _signed("src-a", self.seq_a, self.source_a)
            self.feed_a(LocalReport(at=at, agent=AGENT, source="src-a", entry=entry))
        else:
            self.seq_b += 1
            self.source_b = self.source_b + EvidenceStats(count=1, llr_sum=term)
            entry = _signed("src-b", self.seq_b, self.source_b)
            self.feed_b(LocalReport(at=at, agent=AGENT, source="src-b", entry=entry))

    def sync(self, at: int) -> None:
        """A pulls from B, answered at once (the link is up)."""
        (request,) = self.feed_a(StartSync(peer="b", at=at))
        assert isinstance(request, Send) and isinstance(request.message, SyncRequest)
        (answer,) = self.feed_b(SyncRequestArrived(request=request.message))
        assert isinstance(answer, Send) and isinstance(answer.message, SyncResponse)
        self.feed_a(SyncResponseArrived(response=answer.message, at=at))

    def deadlines(self, at: int) -> None:
        while self.a.next_deadline <= at:
            self.feed_a(DeadlineFired(at=at, draw=self.draw()))


def _start(seed: int, jitter: bool) -> Pair:
    rng = random.Random(seed)
    pair = Pair(
        a=initial_state(CONFIG_A, at=0, draw=0)[0],
        b=initial_state(CONFIG_B, at=0, draw=0)[0],
        rng=rng,
        jitter=jitter,
        source_a=EvidenceStats(),
        source_b=EvidenceStats(),
    )
    pair.a = initial_state(CONFIG_A, at=0, draw=pair.draw())[0]
    return pair


def _truth(pair: Pair) -> Verdict:
    total = pair.source_a.llr_sum + pair.source_b.llr_sum
    return judge(total, upper=UPPER, lower=LOWER, margin=0).verdict


def hidden_partition(seed: int, jitter: bool) -> tuple[bool, bool]:
    """Scenario 1: (wrongly finalised by the detector-trusting rule, wrongly
    finalised by SSCR's rule)."""
    pair = _start(seed, jitter)
    cut_at = pair.rng.randrange(200, 600)
    trusting_wrong = sscr_wrong = False
    trusting_done = sscr_done = False
    for now in range(1, cut_at + 4 * EVIDENCE_EVERY + 1):
        up = now < cut_at
        if up and now % H == 0:
            pair.feed_a(HeartbeatArrived(peer="b", at=now))
            pair.sync(now)
        if not up and now % T == T - 1:
            pair.feed_a(HeartbeatArrived(peer="b", at=now))  # the timed leak
        if not up and (now - cut_at) % EVIDENCE_EVERY == EVIDENCE_EVERY - 1:
            pair.observe("a", SCALE, now)
            pair.observe("b", -SCALE, now)
        pair.deadlines(now)
        if now % 10 == 0 and not up:
            held = pair.a.evidence.agent_stats(AGENT).llr_sum
            if not trusting_done:
                declared = "b" in pair.a.partitioned
                window = now - pair.a.fresh_as_of("b") + 1
                margin = consistency_bound(SCALE, RATE, window, 1) if declared else 0
                verdict = judge(held, upper=UPPER, lower=LOWER, margin=margin)
                if verdict.final:
                    trusting_done = True
                    trusting_wrong = verdict.verdict is not _truth(pair)
            if not sscr_done:
                (decision,) = pair.feed_a(Evaluate(agent=AGENT, at=now))
                assert isinstance(decision, Decide)
                if decision.final:
                    sscr_done = True
                    sscr_wrong = decision.verdict is not _truth(pair)
    return trusting_wrong, sscr_wrong


def fake_partition(seed: int, jitter: bool) -> tuple[int, int, int]:
    """Scenario 2: (false declarations, ticks outside NORMAL, ticks)."""
    pair = _start(seed, jitter)
    declarations = degraded = 0
    horizon = 20 * T
    offset = pair.rng.randrange(0, H)  # heartbeats' phase
    for now in range(1, horizon + 1):
        blackout = (now % T) >= T - W
        if not blackout and now % H == offset:
            pair.feed_a(HeartbeatArrived(peer="b", at=now))
            pair.sync(now)
        before = pair.a.mode
        pair.deadlines(now)
        if before is not Mode.DEGRADED and pair.a.mode is Mode.DEGRADED:
            declarations += 1
        degraded += pair.a.mode is not Mode.NORMAL
    return declarations, degraded, horizon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rows = []
    for jitter in (False, True):
        wrong_trusting = wrong_sscr = runs_declared = ticks_degraded = ticks = 0
        for run in range(args.runs):
            seed = args.seed * 1_000_003 + run
            trusting, sscr = hidden_partition(seed, jitter)
            wrong_trusting += trusting
            wrong_sscr += sscr
            declared, degraded, horizon = fake_partition(seed, jitter)
            runs_declared += declared > 0
            ticks_degraded += degraded
            ticks += horizon
        rows.append(
            (
                "jittered T*U(0.5,1.5)" if jitter else "fixed T",
                wrong_trusting / args.runs,
                wrong_sscr / args.runs,
                runs_declared / args.runs,
                ticks_degraded / ticks,
            )
        )
    print(f"SSCR timing attack, {args.runs} seeded runs per cell (seed {args.seed})")
    print(
        f"{'deadlines':<24}{'wrongly final':>16}{'wrongly final':>16}{'false partition':>18}{'time not':>12}"
    )
    print(f"{'':<24}{'(trust detector)':>16}{'(SSCR bound)':>16}{'(runs)':>18}{'NORMAL':>12}")
    for name, trusting, sscr, declared, share in rows:
        print(f"{name:<24}{trusting:>16.1%}{sscr:>16.1%}{declared:>18.1%}{share:>12.1%}")


if __name__ == "__main__":
    main()
