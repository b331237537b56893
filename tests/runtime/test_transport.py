"""TLS 1.3 mutual authentication pinned to Ed25519 identities, over loopback."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable

import pytest

from vigilnet.crypto import SigningKey
from vigilnet.runtime._frames import Frame, FrameType
from vigilnet.runtime._metrics import NodeMetrics
from vigilnet.runtime._transport import (
    Peer,
    Transport,
    backoff,
    certificate_key,
    make_certificate,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run(coroutine: Callable[[], object]) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(coroutine(), 20)  # type: ignore[arg-type]

    asyncio.run(bounded())


async def _until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


def _pair(
    a_key: SigningKey, b_key: SigningKey, b_claims: SigningKey | None = None
) -> tuple[Transport, Transport, list[tuple[str, Frame]], list[tuple[str, Frame]]]:
    """Two transports a and b; a's configuration says b's key is ``b_claims``."""
    ports = {"a": _free_port(), "b": _free_port()}
    claimed = b_claims or b_key
    a_peers = {"b": Peer("b", "127.0.0.1", ports["b"], make_certificate(claimed, "b")[0])}
    b_peers = {"a": Peer("a", "127.0.0.1", ports["a"], make_certificate(a_key, "a")[0])}
    got_a: list[tuple[str, Frame]] = []
    got_b: list[tuple[str, Frame]] = []
    a = Transport("a", a_key, ("127.0.0.1", ports["a"]), a_peers, lambda p, f: got_a.append((p, f)))
    b = Transport("b", b_key, ("127.0.0.1", ports["b"]), b_peers, lambda p, f: got_b.append((p, f)))
    return a, b, got_a, got_b


def test_certificate_key_is_the_node_key() -> None:
    key = SigningKey.generate()
    certificate, _ = make_certificate(key, "hub-0")
    assert certificate_key(certificate) == key.verify_key.key


def test_certificate_is_a_function_of_key_and_name() -> None:
    key = SigningKey.generate()
    assert make_certificate(key, "hub-0") == make_certificate(key, "hub-0")
    assert make_certificate(key, "hub-0")[0] != make_certificate(key, "hub-1")[0]


def test_backoff_is_jittered_and_capped() -> None:
    draws = {backoff(3, 0.1, 10.0) for _ in range(20)}
    assert all(0.4 <= d < 0.8 for d in draws) and len(draws) > 1
    assert all(backoff(40, 0.1, 2.0) < 2.0 for _ in range(10))


def test_frames_flow_both_ways_over_mutual_tls() -> None:
    a, b, got_a, got_b = _pair(SigningKey.generate(), SigningKey.generate())

    async def scenario() -> None:
        await a.start()
        await b.start()
        a.send("b", FrameType.SDBC, b"vote from a")
        b.send("a", FrameType.PING, b"ping")
        await _until(lambda: bool(got_a) and bool(got_b))
        await a.stop()
        await b.stop()

    _run(scenario)
    assert got_b == [("a", Frame(FrameType.SDBC, b"vote from a"))]
    assert got_a == [("b", Frame(FrameType.PING, b"ping"))]


def test_wrong_identity_is_refused() -> None:
    """a is configured with another key for b: b's real certificate is not
    trusted, nothing is delivered to either side, and a counts the refusal."""
    a, b, _, got_b = _pair(SigningKey.generate(), SigningKey.generate(), SigningKey.generate())

    async def scenario() -> None:
        await a.start()
        await b.start()
        a.send("b", FrameType.SDBC, b"secret")
        await _until(lambda: a.rejected["handshake_failed"] + a.rejected["identity_mismatch"] >= 1)
        await a.stop()
        await b.stop()

    _run(scenario)
    assert got_b == []
    assert "b" not in a.connected


async def _raw_client(port: int, context: ssl.SSLContext) -> None:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        writer.write(b"\x00\x00\x00\x05\x02abcd")
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.close()
    except (ssl.SSLError, OSError):
        pass


def _client_ctx(version: ssl.TLSVersion, cert: tuple[bytes, bytes] | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = context.maximum_version = version
    if cert is not None:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "c.pem").write_bytes(cert[0])
            Path(folder, "k.pem").write_bytes(cert[1])
            context.load_cert_chain(Path(folder, "c.pem"), Path(folder, "k.pem"))
    return context


@pytest.mark.parametrize(
    ("case", "version", "with_cert"),
    [
        ("no client certificate", ssl.TLSVersion.TLSv1_3, False),
        ("tls 1.2", ssl.TLSVersion.TLSv1_2, True),
        ("stranger's certificate", ssl.TLSVersion.TLSv1_3, "stranger"),
    ],
)
def test_server_refuses(case: str, version: ssl.TLSVersion, with_cert: object) -> None:
    a_key = SigningKey.generate()
    _, b, _, got_b = _pair(a_key, SigningKey.generate())
    cert = None
    if with_cert is True:
        cert = make_certificate(a_key, "a")
    elif with_cert == "stranger":
        cert = make_certificate(SigningKey.generate(), "a")

    async def scenario() -> None:
        await b.start()
        await _raw_client(b.port, _client_ctx(version, cert))
        await asyncio.sleep(0.2)
        await b.stop()

    _run(scenario)
    assert got_b == [], case


def test_malformed_frame_is_counted_and_the_node_keeps_serving() -> None:
    a_key = SigningKey.generate()
    a, b, _, got_b = _pair(a_key, SigningKey.generate())
    metrics = NodeMetrics("b", "hub")
    b._metrics = metrics

    async def scenario() -> None:
        await b.start()
        context = _client_ctx(ssl.TLSVersion.TLSv1_3, make_certificate(a_key, "a"))
        _, writer = await asyncio.open_connection("127.0.0.1", b.port, ssl=context)
        writer.write(b"\x00\x00\x00\x02\xeezz")  # unknown frame type
        await writer.drain()
        await _until(lambda: b.rejected["unknown_frame_type"] == 1)
        writer.close()
        await a.start()  # the real a still gets through afterwards
        a.send("b", FrameType.SDBC, b"after")
        await _until(lambda: bool(got_b))
        await a.stop()
        await b.stop()

    _run(scenario)
    assert got_b == [("a", Frame(FrameType.SDBC, b"after"))]
    assert b'vigilnet_rejected_messages_total{reason="unknown_frame_type"} 1.0' in (
        metrics.exposition()
    )


def test_a_stopped_transport_ends_its_inbound_connections() -> None:
    """``stop()`` ends the connections it accepted, not only its dial loops
    and listener: a frame the peer sends afterwards never reaches
    ``on_frame``, and the peer sees the connection drop."""
    a, b, _, got_b = _pair(SigningKey.generate(), SigningKey.generate())

    async def scenario() -> None:
        await a.start()
        await b.start()
        a.send("b", FrameType.SDBC, b"before")
        await _until(lambda: bool(got_b))
        await b.stop()
        assert b._tasks == set()
        for _ in range(20):  # a notices only when a write fails
            a.send("b", FrameType.SDBC, b"after")
            await asyncio.sleep(0.05)
        await _until(lambda: "b" not in a.connected)
        await a.stop()

    _run(scenario)
    assert got_b == [("a", Frame(FrameType.SDBC, b"before"))]
