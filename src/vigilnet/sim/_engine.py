"""The discrete-event engine and the driver shape shared with the runtime.

Theory of operation
===================

A protocol node is pure (``step(state, input) -> (state, outputs)``).  A
:class:`Driver` wraps one node: it turns what arrives (a message as bytes, a
timer, the start of the run) into the node's inputs, and carries out the
node's commands through a :class:`Host`: send bytes to a peer, set a timer,
draw randomness, record an observation.  The simulator is one Host; the node
runtime is another (the clock and sockets are real there).  A driver never
sees which one it runs on.

The engine keeps one queue of events ordered by ``(time_us, seq)``, where
``seq`` is a counter of scheduling order: with a deterministic schedule of
inputs (the scenario) and seeded streams for every random choice
(:class:`~vigilnet.sim.SeedTree`), a run is a pure function of its root seed.
Time is integer microseconds; nothing here reads a clock.

Events:

* ``deliver``: bytes for a node; dropped if the node is down or a partition
  started while the message was in flight;
* ``timer``: a node's timer fires, unless the node has crashed since it was
  set (a recovered node starts with no timers, as a restarted process does);
* ``call``: a scenario action (start a partition, crash a node, begin an
  epoch) at a given time.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

from vigilnet.errors import LocalProtocolError, ensure
from vigilnet.sim._network import Network
from vigilnet.sim._seeds import SeedTree

__all__ = ["Driver", "Host", "Observation", "Simulator"]


class Host(Protocol):
    """What a driver may ask of the world it runs in."""

    @property
    def name(self) -> str: ...

    def now_us(self) -> int: ...

    def send(self, dst: str, payload: bytes) -> None: ...

    def set_timer(self, delay_us: int, token: Hashable) -> None: ...

    def random_bytes(self, n: int) -> bytes: ...

    def record(self, kind: str, **fields: Any) -> None: ...


class Driver(Protocol):
    """One pure node and the code that feeds it (see the module docstring)."""

    def start(self, host: Host) -> None: ...

    def on_message(self, host: Host, src: str, payload: bytes) -> None: ...

    def on_timer(self, host: Host, token: Hashable) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """Something a node recorded (a decision, an alarm, a refused message)."""

    time_us: int
    node: str
    kind: str
    fields: dict[str, Any]


@dataclass(slots=True)
class _NodeHost:
    sim: Simulator
    name: str

    def now_us(self) -> int:
        return self.sim.now_us

    def send(self, dst: str, payload: bytes) -> None:
        self.sim._send(self.name, dst, payload)

    def set_timer(self, delay_us: int, token: Hashable) -> None:
        ensure(delay_us >= 0, "timer delay must be >= 0", LocalProtocolError)
        self.sim._push(
            self.sim.now_us + delay_us,
            "timer",
            (self.name, self.sim._incarnation[self.name], token),
        )

    def random_bytes(self, n: int) -> bytes:
        return self.sim.seeds.random_bytes(n, "node", self.name, "csprng")

    def record(self, kind: str, **fields: Any) -> None:
        self.sim.observations.append(
            Observation(time_us=self.sim.now_us, node=self.name, kind=kind, fields=fields)
        )


@dataclass(slots=True)
class Simulator:
    """Nodes, the network between them, and the event queue."""

    seeds: SeedTree
    network: Network
    now_us: int = 0
    drivers: dict[str, Driver] = field(default_factory=dict)
    observations: list[Observation] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)
    down: set[str] = field(default_factory=set)
    _queue: list[tuple[int, int, str, Any]] = field(default_factory=list)
    _seq: int = 0
    _hosts: dict[str, _NodeHost] = field(default_factory=dict)
    _incarnation: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, driver: Driver, tier: str) -> None:
        """Add a node in ``tier`` (its link profiles follow the tier)."""
        ensure(name not in self.drivers, f"node {name} already exists", LocalProtocolError)
        self.drivers[name] = driver
        self._hosts[name] = _NodeHost(self, name)
        self._incarnation[name] = 0
        self.network.place(name, tier)

    def host(self, name: str) -> Host:
        return self._hosts[name]

    def at(self, time_us: int, action: Callable[[Simulator], None]) -> None:
        """Run ``action(self)`` at ``time_us`` (a scenario step)."""
        ensure(time_us >= self.now_us, "cannot schedule in the past", LocalProtocolError)
        self._push(time_us, "call", action)

    def spoof(self, src: str, dst: str, payload: bytes) -> None:
        """Send ``payload`` to ``dst`` as if from ``src`` (an attacker on the
        path: the network authenticates nothing, the protocols' signatures
        do)."""
        self._send(src, dst, payload)

    def start(self) -> None:
        """Start every node, in name order (deterministic)."""
        for name in sorted(self.drivers):
            self.drivers[name].start(self._hosts[name])

    def crash(self, name: str) -> None:
        """The node stops: it receives nothing and its timers are void."""
        self.down.add(name)
        self._incarnation[name] += 1

    def recover(self, name: str, driver: Driver | None = None, *, start: bool = True) -> None:
        """The node comes back (with ``driver`` if its state was rebuilt from
        what it persisted), and is started again (``start=False``: the
        caller re-arms it from what it persisted)."""
        self.down.discard(name)
        if driver is not None:
            self.drivers[name] = driver
        if start:
            self.drivers[name].start(self._hosts[name])

    def run(self, until_us: int, max_events: int | None = None) -> int:
        """Process events up to ``until_us`` (inclusive); return how many."""
        ensure(until_us >= self.now_us, "cannot run into the past", LocalProtocolError)
        processed = 0
        while self._queue and self._queue[0][0] <= until_us:
            if max_events is not None and processed >= max_events:
                return processed
            time_us, _seq, kind, data = heapq.heappop(self._queue)
            self.now_us = time_us
            processed += 1
            self.counters[kind] += 1
            if kind == "deliver":
                src, dst, payload = data
                if dst in self.down or self.network.separated(src, dst):
                    self.counters["dropped_at_delivery"] += 1
                    continue
                self.drivers[dst].on_message(self._hosts[dst], src, payload)
            elif kind == "timer":
                name, incarnation, token = data
                if name in self.down or incarnation != self._incarnation[name]:
                    continue
                self.drivers[name].on_timer(self._hosts[name], token)
            else:
                data(self)
        self.now_us = until_us
        return processed

    @property
    def pending(self) -> int:
        return len(self._queue)

    # -- internals -----------------------------------------------------------

    def _push(self, time_us: int, kind: str, data: Any) -> None:
        heapq.heappush(self._queue, (time_us, self._seq, kind, data))
        self._seq += 1

    def _send(self, src: str, dst: str, payload: bytes) -> None:
        ensure(dst in self.drivers, f"{src} sent to unknown node {dst}", LocalProtocolError)
        ensure(type(payload) is bytes, "the network carries bytes only", LocalProtocolError)
        for delay in self.network.transmit(src, dst, len(payload)):
            self._push(self.now_us + delay, "deliver", (src, dst, payload))
