"""The refinement harness: a cluster of real SDBC hubs (signed messages) in
the model's scenario, its transitions, and the abstraction to model states.

Scenario (the model's constants): hubs ``0..N-1``, the first ``F`` faulty
and played here; hub ``h`` sums up ``(1000,)`` if faulty else ``(10 + h,)``;
epoch 0, so ``Proposer(r) = r % N`` as in the model.  The three model values
are real :class:`Value` objects: ``v0`` (the summaries of hubs ``0..Q-1``,
trimmed), ``v1`` (hubs ``N-Q..N-1``), ``vX`` (hubs ``0..Q-1`` with the plain
mean: it does not recompute, so it is invalid).

A cluster state is the tuple of the correct hubs' :class:`NodeState` and the
set of injected faulty hubs; what was sent is what the hubs signed (every
hub keeps its own messages) plus the injected messages.  Transitions:

* ``Deliver(p, m)``: a sent message ``m`` reaches hub ``p`` (any order, once);
* ``Fire(p, step)``: a timer that ``p`` has set fires (``precommit`` only
  below ``MaxRound``: the model's round bound);
* ``Inject(f)``: faulty hub ``f`` signs everything of the model's injection
  (both values and the invalid one, every valid round, every vote id).

:func:`abstract` maps a cluster state to an :class:`SDBCState` with
:func:`vigilnet.sim._trace.abstract_cluster`, the abstraction that the
simulator's trace validation uses too (it needs one piece of history: the
model writes ``validValue`` only for a hub that proposes a later round, the
hub writes it always, so the previous model state's ``validValue`` is kept
where the model would not write it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction

from vigilnet.models.sdbc import CONFIGS, NIL, SDBCSpec, SDBCState

from vigilnet.crypto import SigningKey
from vigilnet.errors import RemoteProtocolError
from vigilnet.protocols.sdbc import (
    PRECOMMIT,
    PREVOTE,
    HubConfig,
    Message,
    NodeState,
    Proposal,
    Receive,
    Start,
    Step,
    Timeout,
    Value,
    Vote,
    initial_state,
    sign_proposal,
    sign_summary,
    sign_vote,
    step,
)
from vigilnet.sim._trace import abstract_cluster, check_step, model_path

Stepper = Callable[[NodeState, object], tuple[NodeState, tuple[object, ...]]]


def seed(h: int) -> bytes:
    return hashlib.sha256(b"vigilnet sdbc refinement hub %d" % h).digest()


@dataclass(frozen=True, slots=True)
class ClusterState:
    nodes: tuple[NodeState, ...]
    injected: frozenset[int]


class Scenario:
    """The model's scenario with real keys, values and messages."""

    def __init__(
        self, config: str, stepper: Stepper | None = None, faulty_choice: bool = False
    ) -> None:
        #: in FIFO-burst delivery, may a faulty sender pick which vote a hub
        #: sees first?  (More states: off for the exhaustive runs.)
        self.faulty_choice = faulty_choice
        self.spec = SDBCSpec(CONFIGS[config])
        self.step: Stepper = stepper if stepper is not None else step  # type: ignore[assignment]
        n, f = self.spec.n, self.spec.f
        self.keys = [SigningKey(seed(h)) for h in range(n)]
        self.config = HubConfig(
            members=tuple(k.verify_key for k in self.keys),
            threshold=Fraction(3, 4),
            f_live=1,
            f_safe=1,
            summary_ranges=((0, 10_000),),
        )
        self.summaries = {
            h: sign_summary(self.keys[h], self.config, 0, h, (self.spec.summary[h],))
            for h in range(n)
        }
        q = self.config.quorum
        v0 = Value.build(self.config, 0, tuple(self.summaries[h] for h in range(q)))
        v1 = Value.build(self.config, 0, tuple(self.summaries[h] for h in range(n - q, n)))
        plain = [Fraction(self.spec.summary[h]) for h in range(q)]
        vx = replace(v0, aggregate=(sum(plain, Fraction(0)) / q,))
        self.values = {"v0": v0, "v1": v1, "vX": vx}
        self.name = {v.value_hash: k for k, v in self.values.items()}
        self.corr = self.spec.corr
        self.faulty_messages = {h: self._injection(h) for h in range(f)}

    def _injection(self, h: int) -> tuple[Message, ...]:
        out: list[Message] = []
        for r in self.spec.rounds:
            if self.spec.proposer(r) == h:
                for name in ("v0", "v1", "vX"):
                    for vr in range(-1, r):
                        out.append(
                            sign_proposal(self.keys[h], self.config, 0, r, h, self.values[name], vr)
                        )
            for kind in (PREVOTE, PRECOMMIT):
                for name in ("v0", "v1", "vX", NIL):
                    vh = None if name == NIL else self.values[name].value_hash
                    out.append(sign_vote(self.keys[h], self.config, kind, 0, r, h, vh))
        return tuple(out)

    # -- states and transitions ---------------------------------------------

    def initial(self) -> ClusterState:
        nodes = []
        for p in self.corr:
            s = initial_state(self.keys[p], p, self.config)
            s, _ = self.step(s, Start(epoch=0, summary=(self.spec.summary[p],)))
            for h in range(self.spec.n):
                if h != p:
                    s, _ = self.step(s, Receive(message=self.summaries[h]))
            nodes.append(s)
        return ClusterState(nodes=tuple(nodes), injected=frozenset())

    def sent(self, c: ClusterState) -> list[Message]:
        out: list[Message] = []
        for s in c.nodes:
            # in send order: per round the proposal, the prevote, the precommit
            own: list[tuple[int, int, Message]] = [
                (x.round, 0, x) for x in s.proposals if x.hub == s.hub
            ]
            own += [(v.round, 1 if v.kind == PREVOTE else 2, v) for v in s.votes if v.hub == s.hub]
            out.extend(m for _r, _k, m in sorted(own, key=lambda e: (e[0], e[1])))
        for h in sorted(c.injected):
            out.extend(self.faulty_messages[h])
        return out

    @staticmethod
    def knows(s: NodeState, m: Message) -> bool:
        if m.hub == s.hub:
            return True
        if isinstance(m, Proposal):
            return m in s.proposals
        if isinstance(m, Vote):
            return m in s.votes or any(e.second == m for e in s.evidence)
        return True

    def transitions(
        self, c: ClusterState, batch: bool = False
    ) -> Iterator[tuple[Hashable, ClusterState]]:
        """Every enabled transition and its target (rejected deliveries,
        which change nothing, are left out).  With ``batch`` a delivery hands
        hub ``p`` everything one sender has sent that ``p`` lacks, in send
        order, as one step (a link that delivers in FIFO bursts); without,
        each message is delivered alone, in any order."""
        sent = self.sent(c)
        for i, s in enumerate(c.nodes):
            if batch:
                for sender in range(self.spec.n):
                    burst = [m for m in sent if m.hub == sender and not self.knows(s, m)]
                    if not burst:
                        continue
                    # a faulty sender shows each hub the id of its choice
                    # first (its other votes of a slot become evidence)
                    firsts: tuple[str | None, ...] = (
                        ("v0", "v1", "vX", NIL)
                        if self.faulty_choice and sender < self.spec.f
                        else (None,)
                    )
                    for first in firsts:
                        order = burst if first is None else self._first(burst, first)
                        t = s
                        for m in order:
                            try:
                                t, _ = self.step(t, Receive(message=m))
                            except RemoteProtocolError:
                                continue
                        if t != s:
                            yield ("Deliver", s.hub, sender, first), self._with(c, i, t)
            for m in () if batch else sent:
                if self.knows(s, m):
                    continue
                try:
                    t, _ = self.step(s, Receive(message=m))
                except RemoteProtocolError:
                    continue
                yield ("Deliver", s.hub, m), self._with(c, i, t)
            for kind in self.enabled_timers(s):
                t, _ = self.step(s, Timeout(epoch=0, round=s.round, step=kind))
                yield ("Fire", s.hub, kind), self._with(c, i, t)
        for h in range(self.spec.f):
            if h not in c.injected:
                yield ("Inject", h), ClusterState(nodes=c.nodes, injected=c.injected | {h})

    def _first(self, burst: list[Message], first: str) -> list[Message]:
        """``burst`` with the votes for ``first`` moved to the front."""
        vh = None if first == NIL else self.values[first].value_hash

        def chosen(m: Message) -> bool:
            return isinstance(m, Vote) and m.value_hash == vh

        return [m for m in burst if chosen(m)] + [m for m in burst if not chosen(m)]

    def enabled_timers(self, s: NodeState) -> list[str]:
        if s.step is Step.DECIDED:
            return []
        out = []
        if s.step is Step.PROPOSE:
            out.append("propose")
        if s.step is Step.PREVOTE and (s.round, "prevote") in s.timers:
            out.append("prevote")
        if (s.round, "precommit") in s.timers and s.round < self.spec.max_round:
            out.append("precommit")
        return out

    @staticmethod
    def _with(c: ClusterState, i: int, s: NodeState) -> ClusterState:
        return ClusterState(nodes=(*c.nodes[:i], s, *c.nodes[i + 1 :]), injected=c.injected)

    # -- the abstraction ------------------------------------------------------

    def value_name(self, v: Value | None) -> str:
        return NIL if v is None else self.name.get(v.value_hash, "?")

    def id_name(self, vh: bytes | None) -> str:
        return NIL if vh is None else self.name.get(vh, "?")

    def abstract(self, c: ClusterState, previous: SDBCState | None = None) -> SDBCState:
        return abstract_cluster(self.spec, c.nodes, c.injected, self.name, previous)

    def model_path(self, a: SDBCState, b: SDBCState, hub: int | None, depth: int = 4) -> int | None:
        return model_path(self.spec, a, b, hub, depth)

    def check_step(
        self, before: ClusterState, label: Hashable, after: ClusterState, previous: SDBCState
    ) -> SDBCState:
        """Raise AssertionError (an InvariantViolation) unless the step maps
        to model steps or a stutter; return the abstraction of ``after``."""
        b = self.abstract(after, previous)
        assert isinstance(label, tuple)
        hub = None if label[0] == "Inject" else label[1]
        check_step(self.spec, previous, b, hub, label[:2])
        return b


def refinement_bfs(
    scenario: Scenario,
    max_states: int,
    batch: bool = False,
    reached: list[SDBCState] | None = None,
) -> tuple[int, int]:
    """Breadth-first over cluster states (at most ``max_states``), checking
    every transition.  Returns (cluster states, transitions checked); the
    abstraction of every state reached is appended to ``reached``."""
    init = scenario.initial()
    a0 = scenario.abstract(init)
    assert a0 == scenario.spec.init(), f"{a0} is not the model's initial state"
    seen = {init: a0}
    frontier = [init]
    checked = 0
    while frontier and len(seen) < max_states:
        nxt = []
        for c in frontier:
            a = seen[c]
            for label, d in scenario.transitions(c, batch):
                b = scenario.check_step(c, label, d, a)
                checked += 1
                if d not in seen and len(seen) < max_states:
                    seen[d] = b
                    nxt.append(d)
        frontier = nxt
    if reached is not None:
        reached.extend(seen.values())
    return len(seen), checked
