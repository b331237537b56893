"""Mutually authenticated TLS 1.3 between nodes, each pinned to its Ed25519 key.

Theory of operation
-------------------
1. **The certificate's key is the node's identity.**  :func:`make_certificate`
   builds a self-signed X.509 certificate (``cryptography``) whose subject
   public key IS the node's Ed25519 verify key and which is signed by the
   same key.  There is no certificate authority: each node trusts exactly
   the certificates of its configured peers (they are its ``cadata``), and
   after the handshake it compares the peer certificate's raw Ed25519 key
   with the configured identity (:func:`peer_key`): a dialled peer whose key
   is not the one configured for that name, or a caller whose key belongs
   to no configured peer, is dropped (``identity_mismatch``,
   ``unknown_identity``).  Host names are not checked: the key is the name.
2. **TLS 1.3 only, both ways.**  Both contexts set
   ``minimum_version = TLSv1_3`` and ``CERT_REQUIRED``: a client without a
   certificate, or speaking TLS 1.2, fails the handshake.  The dialling
   side counts it (``handshake_failed``); on the listening side asyncio
   fails the handshake before the connection reaches this module, so it is
   logged by asyncio and not counted (known gap).
3. **Hostile peers never crash the node.**  A failed handshake, a wrong
   identity, a malformed frame (:mod:`._frames`), a peer over its rate
   (``rate_limited``: a token bucket per peer) are each logged with their
   reason, counted in :attr:`Transport.rejected` (and in the node's
   :class:`~vigilnet.runtime._metrics.NodeMetrics` if given), and end that
   one connection.
4. **Attestation before protocol frames** (optional, :mod:`._admit`): with
   a gate that verifies, the accepting side challenges each inbound
   connection and drops (``not_admitted``) every frame before an admitted
   quote; a refused or malformed quote ends the connection
   (``attestation_refused``, ``bad_attestation``), and so does no admitted
   quote within the gate's ``quote_timeout`` (``attestation_timeout``).  With a gate that
   proves, the dialling side answers a challenge before its queued frames.
5. **Bounded queues, jittered reconnect.**  Each peer has one outbound
   connection, dialled by this node, fed from a queue of at most
   ``queue_limit`` frames (a full queue drops the oldest frame and counts
   ``queue_full``: the protocols re-send what matters on timeouts).  A lost
   or refused connection is redialled after ``min(cap, base * 2**n)``
   seconds scaled by a uniform factor in [0.5, 1) from the CSPRNG.  Frames
   from a peer arrive on the connection that peer dialled.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import logging
import os
import ssl
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from vigilnet.crypto import SigningKey
from vigilnet.errors import LocalProtocolError, RemoteProtocolError, UnavailableError, ensure
from vigilnet.runtime._frames import HEADER_BYTES, Frame, FrameDecoder, FrameError, FrameType
from vigilnet.runtime._frames import encode as encode_frame
from vigilnet.runtime._metrics import NodeMetrics

if TYPE_CHECKING:
    from vigilnet.runtime._admit import Gate

log = logging.getLogger("vigilnet.runtime.transport")

#: fixed validity: key lifetime is the key registry's business, not X.509's
NOT_BEFORE = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
NOT_AFTER = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)

OnFrame = Callable[[str, Frame], Awaitable[None] | None]


def make_certificate(key: SigningKey, name: str) -> tuple[bytes, bytes]:
    """``(certificate PEM, private key PEM)`` for ``key``: self-signed, its
    subject key the node's own Ed25519 key (rule 1).  A pure function of
    ``key`` and ``name`` (serial from the key, fixed validity, deterministic
    Ed25519 signature), so the certificate a peer pins is byte for byte the
    one the node presents, whoever generated it."""
    private = ed25519.Ed25519PrivateKey.from_private_bytes(key.seed)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(int.from_bytes(hashlib.sha256(key.verify_key.key).digest()[:16], "big") >> 1)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(private, None)
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def certificate_key(certificate: bytes) -> bytes:
    """The raw 32-byte Ed25519 key of a PEM or DER certificate, or
    :class:`~vigilnet.errors.RemoteProtocolError`."""
    try:
        if certificate.startswith(b"-----"):
            parsed = x509.load_pem_x509_certificate(certificate)
        else:
            parsed = x509.load_der_x509_certificate(certificate)
        public = parsed.public_key()
    except ValueError as error:
        raise RemoteProtocolError(f"unreadable certificate: {error}") from None
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise RemoteProtocolError("certificate key is not Ed25519")
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def peer_key(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> bytes:
    """The Ed25519 key of the certificate the peer presented."""
    der = None if ssl_object is None else ssl_object.getpeercert(binary_form=True)
    if not der:
        raise RemoteProtocolError("peer presented no certificate")
    return certificate_key(der)


@dataclass(frozen=True, slots=True)
class Peer:
    name: str
    host: str
    port: int
    certificate: bytes  # PEM


def _context(
    purpose: ssl.Purpose, certificate: bytes, private_key: bytes, peers: Mapping[str, Peer]
) -> ssl.SSLContext:
    context = ssl.SSLContext(
        ssl.PROTOCOL_TLS_SERVER if purpose is ssl.Purpose.CLIENT_AUTH else ssl.PROTOCOL_TLS_CLIENT
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    with tempfile.TemporaryDirectory() as folder:
        cert_path, key_path = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_path.write_bytes(certificate)
        key_path.write_bytes(private_key)
        key_path.chmod(0o600)
        context.load_cert_chain(cert_path, key_path)
    cadata = "".join(p.certificate.decode("ascii") for p in peers.values())
    if cadata:
        context.load_verify_locations(cadata=cadata)
    return context


def server_context(
    certificate: bytes, private_key: bytes, peers: Mapping[str, Peer]
) -> ssl.SSLContext:
    return _context(ssl.Purpose.CLIENT_AUTH, certificate, private_key, peers)


def client_context(
    certificate: bytes, private_key: bytes, peers: Mapping[str, Peer]
) -> ssl.SSLContext:
    return _context(ssl.Purpose.SERVER_AUTH, certificate, private_key, peers)


@dataclass(slots=True)
class _Bucket:
    rate: float
    burst: float
    tokens: float
    stamp: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


#: how long stop() waits for cancelled tasks before cancelling again
_STOP_WAIT_S = 1.0


def backoff(attempt: int, base: float, cap: float) -> float:
    """``min(cap, base * 2**attempt)`` scaled by a CSPRNG factor in [0.5, 1)."""
    factor = 0.5 + int.from_bytes(os.urandom(4), "big") / 2**33
    return min(cap, base * float(1 << min(attempt, 30))) * factor


class Transport:
    """One node's listener and outbound connections (module docstring)."""

    def __init__(
        self,
        name: str,
        key: SigningKey,
        listen: tuple[str, int],
        peers: Mapping[str, Peer],
        on_frame: OnFrame,
        *,
        metrics: NodeMetrics | None = None,
        rate: float = 2000.0,
        burst: float = 4000.0,
        queue_limit: int = 1024,
        backoff_base: float = 0.05,
        backoff_cap: float = 2.0,
        gate: Gate | None = None,
    ) -> None:
        ensure(name not in peers, "a node is not its own peer", raising=LocalProtocolError)
        self.name = name
        self.listen = listen
        self.peers = dict(peers)
        self._keys = {certificate_key(p.certificate): p.name for p in peers.values()}
        certificate, private_key = make_certificate(key, name)
        self.certificate = certificate
        self._server_ctx = server_context(certificate, private_key, peers)
        self._client_ctx = client_context(certificate, private_key, peers)
        self._on_frame = on_frame
        self._metrics = metrics
        self._rate, self._burst = rate, burst
        self._queue_limit = queue_limit
        self._backoff = (backoff_base, backoff_cap)
        self._gate = gate
        self._queues: dict[str, asyncio.Queue[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._server: asyncio.Server | None = None
        #: refusals by reason
        self.rejected: Counter[str] = Counter()
        #: connections currently up, by peer name (outbound)
        self.connected: set[str] = set()

    # -- bookkeeping -------------------------------------------------------

    def _reject(self, reason: str, peer: str, detail: object) -> None:
        self.rejected[reason] += 1
        if self._metrics is not None:
            self._metrics.message_rejected(reason)
        log.warning("%s: dropped %s (%s): %s", self.name, peer, reason, detail)

    def _reject_quietly(self, reason: str, peer: str) -> None:
        """Count a drop without a warning per frame (one peer, many frames)."""
        self.rejected[reason] += 1
        if self._metrics is not None:
            self._metrics.message_rejected(reason)
        log.debug("%s: dropped a frame from %s (%s)", self.name, peer, reason)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def port(self) -> int:
        ensure(self._server is not None, "transport not started", raising=LocalProtocolError)
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept,
            self.listen[0],
            self.listen[1],
            ssl=self._server_ctx,
            ssl_handshake_timeout=5.0,
        )
        for peer in self.peers:
            self._queues[peer] = asyncio.Queue()
            self._spawn(self._dial_loop(peer))

    async def stop(self) -> None:
        """Stop listening and end every dial loop and inbound connection.

        The tasks are cancelled in bounded rounds until none is left: on 3.11
        ``asyncio.wait_for`` can swallow a cancellation, and a connection
        accepted as the listener closes starts after a first pass."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        while self._tasks:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.wait(list(self._tasks), timeout=_STOP_WAIT_S)
        if self._server is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_STOP_WAIT_S):
                    await self._server.wait_closed()

    def send(self, peer: str, frame_type: FrameType, payload: bytes) -> None:
        """Queue one frame for ``peer`` (oldest dropped when full)."""
        ensure(peer in self._queues, f"unknown peer {peer!r}", raising=LocalProtocolError)
        wire = encode_frame(frame_type, payload)
        queue = self._queues[peer]
        if queue.qsize() >= self._queue_limit:
            queue.get_nowait()
            self.rejected["queue_full"] += 1
        queue.put_nowait(wire)

    def broadcast(self, frame_type: FrameType, payload: bytes) -> None:
        for peer in self.peers:
            self.send(peer, frame_type, payload)

    # -- outbound ----------------------------------------------------------

    async def _dial_loop(self, name: str) -> None:
        peer, attempt = self.peers[name], 0
        queue = self._queues[name]
        while True:
            writer = None
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(peer.host, peer.port, ssl=self._client_ctx), 5.0
                )
                key = peer_key(writer.get_extra_info("ssl_object"))
                if self._keys.get(key) != name:
                    self._reject("identity_mismatch", name, key.hex()[:16])
                    raise ConnectionError("identity mismatch")
                if self._gate is not None and self._gate.prover is not None:
                    await self._prove(name, reader, writer)
                attempt = 0
                self.connected.add(name)
                pending: bytes | None = None
                while True:
                    pending = await queue.get()
                    writer.write(pending)
                    await writer.drain()
                    pending = None
            except asyncio.CancelledError:
                raise
            except ssl.SSLError as error:
                self._reject("handshake_failed", name, error)
            except (OSError, EOFError, RemoteProtocolError, TimeoutError) as error:
                log.debug("%s: connection to %s lost: %s", self.name, name, error)
            finally:
                self.connected.discard(name)
                if writer is not None:
                    writer.close()
            await asyncio.sleep(backoff(attempt, *self._backoff))
            attempt += 1

    async def _prove(
        self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Answer the peer's attestation challenge, if one comes within
        ``CHALLENGE_WAIT_S``, before any queued frame (``._admit``)."""
        from vigilnet.runtime._admit import CHALLENGE_WAIT_S

        assert self._gate is not None and self._gate.prover is not None
        decoder = FrameDecoder()
        deadline = time.monotonic() + CHALLENGE_WAIT_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                data = await asyncio.wait_for(reader.read(4096), left)
            except TimeoutError:
                return
            if not data:
                raise EOFError("peer closed before its challenge")
            for frame in decoder.feed(data):
                if frame.type is FrameType.ATTEST_CHALLENGE:
                    try:
                        quote = await self._gate.prover.quote(frame.payload)
                    except UnavailableError as error:
                        self._reject("attestation_unavailable", name, error)
                        raise ConnectionError("no quote") from None
                    writer.write(encode_frame(FrameType.ATTEST_QUOTE, quote))
                    await writer.drain()
                    return

    # -- inbound -----------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("peername")
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            if self._stopping:
                return
            try:
                key = peer_key(writer.get_extra_info("ssl_object"))
            except RemoteProtocolError as error:
                self._reject("unknown_identity", str(address), error)
                return
            name = self._keys.get(key)
            if name is None:
                self._reject("unknown_identity", str(address), key.hex()[:16])
                return
            nonce = None
            if self._gate is not None and self._gate.verifying:
                nonce = self._gate.challenge(name)
                writer.write(encode_frame(FrameType.ATTEST_CHALLENGE, nonce))
                await writer.drain()
            await self._read_frames(name, reader, nonce)
        except (OSError, ssl.SSLError, EOFError) as error:
            log.debug("%s: inbound connection %s ended: %s", self.name, address, error)
        except asyncio.CancelledError:
            # stop() ended it; this is the top of the task, and 3.11's stream
            # callback logs a cancelled handler task as an error
            log.debug("%s: inbound connection %s ended by stop()", self.name, address)
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def _read_frames(
        self, name: str, reader: asyncio.StreamReader, nonce: bytes | None = None
    ) -> None:
        """Frames from ``name`` to ``on_frame``; with ``nonce`` (an
        attestation challenge outstanding), only its quote until admitted."""
        decoder = FrameDecoder()
        bucket = _Bucket(self._rate, self._burst, self._burst)
        deadline = 0.0
        if nonce is not None:
            assert self._gate is not None
            deadline = time.monotonic() + self._gate.quote_timeout
        while True:
            if nonce is None:
                data = await reader.read(64 * 1024)
            else:
                assert self._gate is not None
                try:
                    data = await asyncio.wait_for(
                        reader.read(64 * 1024), max(0.0, deadline - time.monotonic())
                    )
                except TimeoutError:
                    self._gate.give_up(nonce)
                    self._reject("attestation_timeout", name,
                                 f"no admitted quote within {self._gate.quote_timeout} s")  # fmt: skip
                    return
            if not data:
                return
            try:
                frames = list(decoder.feed(data))
            except FrameError as error:
                self._reject(error.reason, name, error)
                return
            for frame in frames:
                if not bucket.take():
                    self._reject("rate_limited", name, "over its rate")
                    return
                if nonce is not None:
                    if frame.type is not FrameType.ATTEST_QUOTE:
                        self._reject_quietly("not_admitted", name)
                        continue
                    assert self._gate is not None
                    try:
                        admitted, reason = self._gate.judge(name, nonce, frame.payload)
                    except RemoteProtocolError as error:
                        self._reject("bad_attestation", name, error)
                        return
                    if not admitted:
                        self._reject("attestation_refused", name, reason)
                        return
                    nonce = None
                    continue
                result = self._on_frame(name, frame)
                if result is not None:
                    await result


__all__ = [
    "HEADER_BYTES",
    "Peer",
    "Transport",
    "backoff",
    "certificate_key",
    "client_context",
    "make_certificate",
    "peer_key",
    "server_context",
]
