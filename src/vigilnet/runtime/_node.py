"""A hub process: the pure SDBC node on a real clock, real sockets, a disk.

Theory of operation
-------------------
:class:`HubNode` is the runtime's :class:`~vigilnet.sim._engine.Host` for
one hub: ``now_us`` is the monotonic clock, ``send`` a TLS frame
(:mod:`._transport`), ``set_timer`` ``loop.call_later``, ``random_bytes``
``os.urandom``, ``record`` one JSON line in the node's ``history.jsonl``.
It feeds :func:`vigilnet.protocols.sdbc.step` (the protocol logic is there,
not here) and carries out its outputs:

* ``Broadcast``: recorded in the :class:`~._persist.NodeStore` first, then
  sent to every peer; a message the store refuses (this hub already signed
  another for that slot, e.g. before a ``kill -9``) is not sent;
* ``SetTimer``: a timer that feeds ``Timeout`` back if the hub is still in
  that epoch;
* ``Decide``: committed to the store and the audit log, then the next
  epoch starts after ``epoch_gap_ms``;
* ``ReportEvidence``: stored, counted, and shown as an alert.

While undecided, a hub re-sends what it signed in its epoch every
``RESEND_S`` (duplicates are harmless; a peer ahead answers with
catch-up).

Epochs: a hub starts epoch ``last signed + 1`` (0 on a fresh store), and
each next one when it decides.  Messages for a later epoch are buffered
(bounded) until the hub starts it; a peer that sends a message for an
epoch this hub has decided gets this hub's signed messages and the decision
precommits of that epoch (catch-up, at most once a second per peer and
epoch).  Each epoch's summary is a synthetic one derived from the epoch
number (no monitors in a hub-only cluster).

With an ``attestation`` section in the config the transport admits peers
on TPM quotes first (:mod:`._admit`): an unadmitted peer's frames never
reach :meth:`HubNode._on_frame`.

Known limits: hubs only (the regional and monitor drivers are not wired to
this host yet); keys are fixed (no rotation: ``Start`` never changes them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from vigilnet.crypto import SigningKey, VerifyKey
from vigilnet.errors import LocalProtocolError, RemoteProtocolError, ensure
from vigilnet.protocols import sdbc
from vigilnet.runtime._frames import Frame, FrameType
from vigilnet.runtime._metrics import NodeMetrics
from vigilnet.runtime._persist import NodeStore
from vigilnet.runtime._transport import Peer, Transport, certificate_key

log = logging.getLogger("vigilnet.runtime.node")

MAX_BUFFERED = 4096
MAX_EPOCH_LEAD = 4
RESEND_S = 0.5


@dataclass(frozen=True, slots=True)
class NodeConfig:
    name: str
    hub: int
    seed: bytes
    listen: tuple[str, int]
    data_dir: Path
    members: tuple[VerifyKey, ...]
    peers: dict[str, tuple[int, Peer]]  # name -> (hub index, peer)
    epochs: int | None = None
    epoch_gap_ms: int = 0
    status_port: int | None = None
    byzantine: str | None = None
    #: the ``attestation`` section (:mod:`._admit`) and the folder its paths
    #: are relative to
    attestation: dict[str, Any] | None = None
    config_dir: Path = Path()

    @classmethod
    def load(cls, path: str | Path) -> NodeConfig:
        """A node's configuration from a JSON or TOML file (see the runbook)."""
        path = Path(path)
        text = path.read_text()
        if path.suffix == ".toml":
            import tomllib

            raw: dict[str, Any] = tomllib.loads(text)
        else:
            raw = json.loads(text)
        base = path.parent
        members = tuple(VerifyKey(bytes.fromhex(k)) for k in raw["members"])
        peers: dict[str, tuple[int, Peer]] = {}
        for p in raw["peers"]:
            certificate = (base / p["certificate"]).read_bytes()
            ensure(
                certificate_key(certificate) == members[int(p["hub"])].key,
                f"{p['name']}: certificate key is not member {p['hub']}'s key",
                raising=LocalProtocolError,
            )
            peers[p["name"]] = (
                int(p["hub"]),
                Peer(p["name"], p["host"], int(p["port"]), certificate),
            )
        seed = bytes.fromhex((base / raw["seed_file"]).read_text().strip())
        return cls(
            name=raw["name"],
            hub=int(raw["hub"]),
            seed=seed,
            listen=(raw["host"], int(raw["port"])),
            data_dir=base / raw["data_dir"],
            members=members,
            peers=peers,
            epochs=raw.get("epochs"),
            epoch_gap_ms=int(raw.get("epoch_gap_ms", 0)),
            status_port=raw.get("status_port"),
            byzantine=raw.get("byzantine"),
            attestation=raw.get("attestation"),
            config_dir=base,
        )


def synthetic_summary(epoch: int, hub: int) -> tuple[int, ...]:
    """The summary hub ``hub`` brings to ``epoch`` in a hub-only cluster."""
    return (epoch % 1000, hub, (epoch * 7 + hub) % 97)


@dataclass(slots=True)
class _PeerView:
    hub: int
    epoch: int = -1
    round: int = 0
    last_seen: float | None = None


@dataclass(slots=True)
class HubNode:
    """One hub (module docstring)."""

    config: NodeConfig
    key: SigningKey = field(init=False)
    store: NodeStore = field(init=False)
    metrics: NodeMetrics = field(init=False)
    transport: Transport = field(init=False)
    state: sdbc.NodeState = field(init=False)
    hub_config: sdbc.HubConfig = field(init=False)
    decided: int = 0
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    _buffer: deque[tuple[str, sdbc.Message]] = field(default_factory=deque)
    _views: dict[str, _PeerView] = field(default_factory=dict)
    _caught_up: dict[tuple[str, int], float] = field(default_factory=dict)
    _alerts: list[dict[str, Any]] = field(default_factory=list)
    #: if set, every admitted SDBC step is appended as ``(hub, input,
    #: outputs, state after)``: the shape ``vigilnet.sim._trace`` validates
    #: (share one list between hubs of one event loop for a global order)
    trace: list[tuple[int, sdbc.Input, tuple[sdbc.Output, ...], sdbc.NodeState]] | None = None
    _history: Any = None
    _status: Any = None
    #: peer admission on TPM quotes, when the config has an attestation section
    gate: Any = None

    def __post_init__(self) -> None:
        c = self.config
        self.key = SigningKey(c.seed)
        ensure(c.members[c.hub] == self.key.verify_key, "seed is not this hub's member key",
               raising=LocalProtocolError)  # fmt: skip
        self.hub_config = sdbc.HubConfig(
            members=c.members,
            threshold=Fraction(3, 4),
            f_live=1,
            f_safe=1,
            summary_ranges=sdbc.DEFAULT_SUMMARY_RANGES,
        )
        self.state = sdbc.initial_state(self.key, c.hub, self.hub_config)
        self.store = NodeStore(c.data_dir, c.name, self.key)
        self.metrics = NodeMetrics(c.name, "hub")
        self._views = {name: _PeerView(hub) for name, (hub, _) in c.peers.items()}
        self.gate = None
        if c.attestation is not None:
            from vigilnet.runtime._admit import Gate

            self.gate = Gate(c.name, c.attestation, c.config_dir,
                             {n: c.members[h] for n, (h, _) in c.peers.items()}, c.members,
                             self.store.audit)  # fmt: skip
        self.transport = Transport(
            c.name, self.key, c.listen, {n: p for n, (_, p) in c.peers.items()},
            self._on_frame, metrics=self.metrics, gate=self.gate,
        )  # fmt: skip

    # -- Host -------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.config.name

    def now_us(self) -> int:
        return time.monotonic_ns() // 1000

    def send(self, dst: str, payload: bytes) -> None:
        self.transport.send(dst, FrameType.SDBC, payload)

    def set_timer(self, delay_us: int, token: Hashable) -> None:
        asyncio.get_running_loop().call_later(delay_us / 1e6, self._timer, token)

    def random_bytes(self, n: int) -> bytes:
        return os.urandom(n)

    def record(self, kind: str, **fields: Any) -> None:
        if self._history is not None:
            line = {"kind": kind, "t_ms": int(time.time() * 1000), **fields}
            self._history.write(json.dumps(line, sort_keys=True) + "\n")
            self._history.flush()

    # -- lifecycle --------------------------------------------------------

    async def run(self) -> None:
        self._history = (self.config.data_dir / "history.jsonl").open("a")
        await self.transport.start()
        await self._start_status()
        self.record("start", hub=self.config.hub, resume_epoch=self.store.last_epoch())
        self._start_epoch(self.store.last_epoch() + 1)
        resender = asyncio.ensure_future(self._resend_loop())
        try:
            await self.stopped.wait()
        finally:
            resender.cancel()
            await self.transport.stop()
            if self._status is not None:
                await self._status.close()
            self._history.close()
            self.store.close()

    async def _start_status(self) -> None:
        if self.config.status_port is None:
            return
        try:
            from vigilnet.runtime._status import StatusServer
        except ImportError:  # the status page is optional
            log.warning("%s: no status server available", self.name)
            return
        self._status = StatusServer(
            self.config.listen[0], self.config.status_port, self.snapshot, self.metrics.registry
        )
        await self._status.start()

    async def _resend_loop(self) -> None:
        """While undecided, re-send what this hub signed in its epoch every
        :data:`RESEND_S`: peers that lost it get it, peers already past the
        epoch answer with catch-up (a lagging hub may have nothing new to
        send while it waits for summaries)."""
        while not self.stopped.is_set():
            await asyncio.sleep(RESEND_S)
            if self.state.decision is None and self.state.epoch >= 0:
                for wire in self.store.signed(self.state.epoch):
                    for peer in self.config.peers:
                        self.send(peer, wire)

    def _start_epoch(self, epoch: int) -> None:
        if self.config.epochs is not None and epoch >= self.config.epochs:
            self.record("done", epoch=epoch)
            self.stopped.set()
            return
        start = sdbc.Start(epoch=epoch, summary=synthetic_summary(epoch, self.config.hub))
        self._step(start)
        self.metrics.round_entered(epoch, 0)
        pending, self._buffer = self._buffer, deque()
        for src, message in pending:
            self._receive(src, message)

    # -- inputs -----------------------------------------------------------

    def _timer(self, token: Hashable) -> None:
        if self.stopped.is_set():
            return
        assert isinstance(token, tuple)
        if token[0] == "start":
            if token[1] == self.state.epoch + 1:
                self._start_epoch(token[1])
        elif token[1] == self.state.epoch and self.state.decision is None:
            self._step(sdbc.Timeout(epoch=token[1], round=token[2], step=token[3]))

    def _on_frame(self, src: str, frame: Frame) -> None:
        if frame.type is not FrameType.SDBC:
            return
        try:
            message = sdbc.decode_message(frame.payload, self.state.config)
        except RemoteProtocolError as error:
            self.metrics.message_rejected("bad_message")
            log.info("%s: refused a message from %s: %s", self.name, src, error)
            return
        view = self._views[src]
        view.last_seen = time.monotonic()
        if message.hub != view.hub:
            self.metrics.message_rejected("wrong_sender")
            return
        view.epoch, view.round = max(view.epoch, message.epoch), getattr(message, "round", 0)
        self._receive(src, message)

    def _receive(self, src: str, message: sdbc.Message) -> None:
        s = self.state
        if message.epoch > s.epoch or (message.epoch == s.epoch and s.step is sdbc.Step.IDLE):
            if message.epoch - s.epoch <= MAX_EPOCH_LEAD and len(self._buffer) < MAX_BUFFERED:
                self._buffer.append((src, message))
            return
        if message.epoch < s.epoch or s.decision is not None:
            self._catch_up(src, message.epoch)
            if message.epoch < s.epoch:
                return
        try:
            self._step(sdbc.Receive(message=message))
        except RemoteProtocolError as error:
            self.metrics.message_rejected("refused_message")
            log.debug("%s: refused from %s: %s", self.name, src, error)

    def _catch_up(self, src: str, epoch: int) -> None:
        now = time.monotonic()
        if now - self._caught_up.get((src, epoch), -10.0) < 1.0:
            return
        self._caught_up[(src, epoch)] = now
        for wire in [*self.store.signed(epoch), *self.store.decision_precommits(epoch)]:
            self.send(src, wire)

    # -- outputs ----------------------------------------------------------

    def _step(self, event: sdbc.Input) -> None:
        self.state, outputs = sdbc.step(self.state, event)
        if self.trace is not None:
            self.trace.append((self.config.hub, event, outputs, self.state))
        for out in outputs:
            if isinstance(out, sdbc.Broadcast):
                self._broadcast(out.message)
            elif isinstance(out, sdbc.SetTimer):
                token = ("timeout", out.epoch, out.round, out.step)
                self.set_timer(out.duration_ms * 1000, token)
            elif isinstance(out, sdbc.Decide):
                self._decided(out)
            elif isinstance(out, sdbc.ReportEvidence) and self.store.record_evidence(
                out.evidence, int(time.time() * 1000)
            ):
                self.metrics.equivocation()
                self._alerts.append({"kind": "equivocation", "subject": self._hub_name(out.evidence.hub),
                                         "epoch": out.evidence.first.epoch, "detail": "two signed votes for one slot"})  # fmt: skip
                self.record("evidence", hub=out.evidence.hub, epoch=out.evidence.first.epoch)

    def _broadcast(self, message: sdbc.Message) -> None:
        if not self.store.admit_signed(message):
            self.record("suppressed", slot=list(map(str, message_slot(message))))
            return
        wire = sdbc.encode_message(message)
        self.record("sent", message=wire.hex())
        for peer in self.config.peers:
            self.send(peer, wire)
        if self.config.byzantine == "equivocate" and isinstance(message, sdbc.Vote):
            other = sdbc.sign_vote(self.state.key, self.state.config, message.kind, message.epoch,
                                   message.round, message.hub, None if message.value_hash else b"\x00" * 32)  # fmt: skip
            for i, peer in enumerate(self.config.peers):
                if i % 2:
                    self.send(peer, sdbc.encode_message(other))
        if self.config.byzantine == "malformed":
            for peer in self.config.peers:
                self.transport.send(peer, FrameType.SDBC, os.urandom(40))

    def _decided(self, decide: sdbc.Decide) -> None:
        self.store.record_decision(decide, int(time.time() * 1000))
        self.decided += 1
        self.metrics.epoch_decided(decide.epoch, decide.certificate.round)
        self.metrics.signatures_verified(valid=len(decide.certificate.precommits))
        self.record("decide", epoch=decide.epoch, round=decide.certificate.round,
                    value_hash=decide.value.value_hash.hex())  # fmt: skip
        self.set_timer(self.config.epoch_gap_ms * 1000, ("start", decide.epoch + 1))

    def _hub_name(self, hub: int) -> str:
        if hub == self.config.hub:
            return self.name
        for name, view in self._views.items():
            if view.hub == hub:
                return name
        return f"hub-{hub}"

    # -- status -----------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        from vigilnet.runtime._snapshot import hub_snapshot

        snapshot: dict[str, Any] = hub_snapshot(self)
        return snapshot


def message_slot(message: sdbc.Message) -> tuple[int, int, str]:
    from vigilnet.runtime._persist import slot

    epoch, round_, kind, _ = slot(message)
    return epoch, round_, kind


async def run_node(config: NodeConfig) -> None:
    """Run one node until it has run ``config.epochs`` epochs or is
    cancelled (SIGTERM/SIGINT)."""
    import signal

    node = HubNode(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, node.stopped.set)
    await node.run()
