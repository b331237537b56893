"""A deterministic in-memory cluster of hubs: nodes, in-flight envelopes and
pending timers, with no clock and no randomness (the caller picks what is
delivered and when a timer fires).  Used by the tests, the refinement check,
the vectors' executions and the bench.  Nothing here is I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from vigilnet.crypto import SigningKey
from vigilnet.errors import RemoteProtocolError
from vigilnet.protocols.sdbc._messages import HubConfig, Message
from vigilnet.protocols.sdbc._state import (
    Broadcast,
    Decide,
    Input,
    NodeState,
    Output,
    Receive,
    SetTimer,
    Start,
    Timeout,
    initial_state,
    step,
)

__all__ = ["DEFAULT_SUMMARY_RANGES", "Cluster", "Envelope", "make_config"]


#: The summary layout of :func:`make_config` unless told otherwise: three
#: signed 32-bit coordinates.
DEFAULT_SUMMARY_RANGES: tuple[tuple[int, int], ...] = ((-(2**31), 2**31 - 1),) * 3


def make_config(
    seeds: list[bytes],
    threshold: Fraction = Fraction(3, 4),
    f_live: int = 1,
    f_safe: int = 1,
    summary_ranges: tuple[tuple[int, int], ...] = DEFAULT_SUMMARY_RANGES,
) -> tuple[HubConfig, list[SigningKey]]:
    keys = [SigningKey(seed) for seed in seeds]
    config = HubConfig(
        members=tuple(k.verify_key for k in keys),
        threshold=threshold,
        f_live=f_live,
        f_safe=f_safe,
        summary_ranges=summary_ranges,
    )
    return config, keys


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """One copy of a message on its way to hub ``to``."""

    to: int
    message: Message


@dataclass(slots=True)
class Cluster:
    """Hubs ``correct`` run :func:`step`; the others are absent (a test plays
    them).  ``in_flight`` holds undelivered envelopes in send order;
    ``timers`` the pending timers per hub."""

    config: HubConfig
    keys: list[SigningKey]
    correct: tuple[int, ...]
    nodes: dict[int, NodeState] = field(default_factory=dict)
    in_flight: list[Envelope] = field(default_factory=list)
    timers: dict[int, list[SetTimer]] = field(default_factory=dict)
    decisions: dict[int, list[Decide]] = field(default_factory=dict)
    sent: list[Message] = field(default_factory=list)

    def __post_init__(self) -> None:
        for h in self.correct:
            self.nodes[h] = initial_state(self.keys[h], h, self.config)
            self.timers[h] = []
            self.decisions[h] = []

    def broadcast(self, message: Message) -> None:
        """Put ``message`` on the wire to every correct hub but its sender."""
        self.sent.append(message)
        for h in self.correct:
            if h != message.hub:
                self.in_flight.append(Envelope(to=h, message=message))

    def _apply(self, h: int, outputs: tuple[Output, ...]) -> None:
        for out in outputs:
            if isinstance(out, Broadcast):
                self.broadcast(out.message)
            elif isinstance(out, SetTimer):
                self.timers[h].append(out)
            elif isinstance(out, Decide):
                self.decisions[h].append(out)

    def input(self, h: int, event: Input) -> tuple[Output, ...]:
        self.nodes[h], outputs = step(self.nodes[h], event)
        self._apply(h, outputs)
        return outputs

    def start(
        self,
        epoch: int,
        summaries: dict[int, tuple[int, ...]],
        rotate_to: list[SigningKey] | None = None,
    ) -> None:
        """Start ``epoch`` on every correct hub; with ``rotate_to`` (one key
        per hub), every hub runs it under the new keys (``Start.members``)."""
        members = None if rotate_to is None else tuple(k.verify_key for k in rotate_to)
        for h in self.correct:
            self.timers[h] = []
            key = None if rotate_to is None else rotate_to[h]
            self.input(h, Start(epoch=epoch, summary=summaries[h], members=members, key=key))
        if rotate_to is not None:
            self.keys = list(rotate_to)
            self.config = self.config.with_members(tuple(k.verify_key for k in rotate_to))

    def deliver(self, index: int) -> tuple[Output, ...]:
        """Deliver in-flight envelope ``index`` (removing it).  A rejected
        message raises (a RemoteProtocolError) and is dropped."""
        env = self.in_flight.pop(index)
        return self.input(env.to, Receive(message=env.message))

    def fire(self, h: int, index: int = 0) -> tuple[Output, ...]:
        timer = self.timers[h].pop(index)
        return self.input(h, Timeout(epoch=timer.epoch, round=timer.round, step=timer.step))

    def run_epoch(
        self,
        epoch: int,
        summaries: dict[int, tuple[int, ...]],
        max_steps: int = 100_000,
        rotate_to: list[SigningKey] | None = None,
    ) -> None:
        """Start ``epoch`` and deliver everything in order (firing the
        earliest-set timer when nothing is in flight) until every correct
        hub has decided it.  A refused message (RemoteProtocolError) is
        dropped; any other exception is a bug and propagates."""
        self.start(epoch, summaries, rotate_to)
        for _ in range(max_steps):
            if all(
                self.nodes[h].decision is not None and self.nodes[h].epoch == epoch
                for h in self.correct
            ):
                return
            if self.in_flight:
                try:
                    self.deliver(0)
                except RemoteProtocolError:
                    continue
            else:
                waiting = [h for h in self.correct if self.timers[h]]
                if not waiting:
                    raise RuntimeError("no message in flight and no timer pending")
                h = min(waiting, key=lambda x: self.timers[x][0].duration_ms)
                self.fire(h)
        raise RuntimeError(f"epoch {epoch} undecided after {max_steps} steps")
