"""The status server over real loopback sockets: every path, HEAD, 404 and
405, the event stream following the snapshot, and every kind of malformed
or hostile request answered or dropped without stopping the server.  The
page itself is tested in chromium (``tests/browser/test_status_page.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from vigilnet.errors import LocalProtocolError
from vigilnet.runtime._metrics import NodeMetrics
from vigilnet.runtime._status import MAX_HEAD_BYTES, MAX_HEADERS, StatusServer, snapshot_json

SNAPSHOT: dict[str, Any] = {
    "node": "hub-0",
    "epoch": 7,
    "hubs": [
        {"name": f"hub-{i}", "state": "decided", "epoch": 7, "round": 0, "last_seen_ms": 40 * i}
        for i in range(5)
    ],
    "partitions": [],
    "alerts": [],
}


def _run(
    test: Callable[[StatusServer], Awaitable[None]],
    snapshot_fn: Callable[[], Mapping[str, Any]] = lambda: SNAPSHOT,
    **options: Any,
) -> StatusServer:
    metrics = NodeMetrics("hub-0", "hub")
    metrics.epoch_decided(7, 0)

    async def main() -> StatusServer:
        server = StatusServer("127.0.0.1", 0, snapshot_fn, metrics.registry, **options)
        await server.start()
        try:
            await asyncio.wait_for(test(server), 20)
        finally:
            await server.close()
        return server

    return asyncio.run(main())


async def _exchange(server: StatusServer, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(request)
    await writer.drain()
    try:
        return await reader.read()
    finally:
        writer.close()


def _parse(response: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("ascii").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return status, headers, body


async def _get(
    server: StatusServer, path: str, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    return _parse(await _exchange(server, f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()))


def test_every_path_is_served_with_its_type() -> None:
    async def test(server: StatusServer) -> None:
        status, headers, body = await _get(server, "/")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert b'<script src="/status.js"' in body and int(headers["Content-Length"]) == len(body)
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        status, headers, body = await _get(server, "/status.js")
        assert status == 200 and headers["Content-Type"].startswith("text/javascript")
        assert b"textContent" in body and b"innerHTML" not in body
        status, headers, _ = await _get(server, "/status.css")
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        status, headers, body = await _get(server, "/status.json?x=1")
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert json.loads(body) == SNAPSHOT
        status, headers, body = await _get(server, "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        samples = {
            s.name: s.value
            for f in text_string_to_metric_families(body.decode())
            for s in f.samples
        }
        assert samples["vigilnet_epochs_decided_total"] == 1

    server = _run(test)
    assert server.responses == {200: 5} and not server.refused


def test_head_has_no_body_and_the_rest_is_404_or_405() -> None:
    async def test(server: StatusServer) -> None:
        status, headers, body = await _get(server, "/status.json", "HEAD")
        assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
        status, _, _ = await _get(server, "/admin")
        assert status == 404
        status, headers, _ = await _get(server, "/", "POST")
        assert status == 405 and headers["Allow"] == "GET, HEAD"
        status, _, _ = await _get(server, "/metrics", "DELETE")
        assert status == 405

    server = _run(test)
    assert server.refused == {"not_found": 1, "method_not_allowed": 2}


BAD_REQUESTS = [
    (b"\x00\xff\xfe garbage\r\n\r\n", 400, "non_ascii"),
    (b"GET / HTTP/2.0\r\n\r\n", 400, "bad_request_line"),
    (b"GET status.json HTTP/1.1\r\n\r\n", 400, "bad_request_line"),
    (b"get / HTTP/1.1\r\n\r\n", 400, "bad_request_line"),
    (b"GET /a b HTTP/1.1\r\n\r\n", 400, "bad_request_line"),
    (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400, "bad_header"),
    (b"GET / HTTP/1.1\r\nX: \x01\r\n\r\n", 400, "bad_header"),
    (
        b"GET / HTTP/1.1\r\n"
        + b"".join(b"X-%d: y\r\n" % i for i in range(MAX_HEADERS + 1))
        + b"\r\n",
        400,
        "too_many_headers",
    ),
    (b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n", 431, "head_too_large"),
    (b"GET /" + b"a" * (2 * MAX_HEAD_BYTES), 431, "head_too_large"),
]


@pytest.mark.parametrize(("request_bytes", "status", "reason"), BAD_REQUESTS)
def test_a_malformed_request_is_refused_and_the_server_goes_on(
    request_bytes: bytes, status: int, reason: str
) -> None:
    async def test(server: StatusServer) -> None:
        got, headers, _ = _parse(await _exchange(server, request_bytes))
        assert got == status and headers["Connection"] == "close"
        assert (await _get(server, "/status.json"))[0] == 200

    assert _run(test).refused == {reason: 1}


def test_an_incomplete_or_slow_head_is_dropped_without_an_answer() -> None:
    async def test(server: StatusServer) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost")
        writer.write_eof()
        assert await reader.read() == b""
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HT")  # then nothing: the read timeout ends it
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        assert (await _get(server, "/"))[0] == 200

    server = _run(test, read_timeout_s=0.3)
    assert server.refused == {"incomplete_head": 1, "read_timeout": 1}


@given(st.binary(max_size=300))
@settings(max_examples=40, deadline=None)
def test_any_bytes_get_an_answer_or_a_close_never_a_crash(request_bytes: bytes) -> None:
    async def test(server: StatusServer) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(request_bytes + b"\r\n\r\n")
        response = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        if response:
            assert _parse(response)[0] in (200, 400, 404, 405, 431)
        assert (await _get(server, "/status.json"))[0] == 200

    _run(test, read_timeout_s=0.5)


def test_a_failing_snapshot_is_a_500_and_the_server_recovers() -> None:
    answers: list[Any] = [
        RuntimeError("store closed"),
        {"epoch": math.nan},
        {"s": {1, 2}},
        SNAPSHOT,
    ]

    def snapshot() -> Mapping[str, Any]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    async def test(server: StatusServer) -> None:
        for _ in range(3):
            assert (await _get(server, "/status.json"))[0] == 500
        status, _, body = await _get(server, "/status.json")
        assert status == 200 and json.loads(body) == SNAPSHOT

    assert _run(test, snapshot).refused == {"snapshot_failed": 3}


async def _next_event(reader: asyncio.StreamReader) -> dict[str, Any]:
    while True:
        block = (await reader.readuntil(b"\n\n")).decode()
        fields = dict(line.split(": ", 1) for line in block.strip().split("\n") if ": " in line)
        if fields.get("event") == "status":
            result: dict[str, Any] = json.loads(fields["data"])
            return result


def test_the_event_stream_follows_the_snapshot() -> None:
    current = {"value": dict(SNAPSHOT)}

    async def test(server: StatusServer) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /events HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"200 OK" in head and b"Content-Type: text/event-stream" in head
        assert await _next_event(reader) == SNAPSHOT
        # Unchanged: no new event in several poll periods.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(_next_event(reader), 0.3)
        alert = {"kind": "equivocation", "subject": "hub-4", "epoch": 7, "detail": "two precommits"}
        current["value"] = {**SNAPSHOT, "alerts": [alert]}
        assert (await asyncio.wait_for(_next_event(reader), 5))["alerts"] == [alert]
        writer.close()

    _run(test, lambda: current["value"], poll_s=0.05)


def test_streams_are_bounded() -> None:
    async def test(server: StatusServer) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /events HTTP/1.1\r\n\r\n")
        await _next_event(reader)
        status, _, _ = await _get(server, "/events")
        assert status == 503
        writer.close()

    assert _run(test, max_streams=1).refused == {"too_many_streams": 1}


def test_snapshot_json_is_canonical_and_refuses_non_json() -> None:
    assert snapshot_json({"b": 1, "a": [1, "x"]}) == b'{"a":[1,"x"],"b":1}'
    for bad in ({"x": math.inf}, {"x": object()}, [1, 2]):
        with pytest.raises(LocalProtocolError):
            snapshot_json(bad)  # type: ignore[arg-type]


async def _open_stream(server: StatusServer) -> asyncio.StreamReader:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /events HTTP/1.1\r\n\r\n")
    await _next_event(reader)
    return reader


def test_close_ends_every_stream_even_one_that_swallows_its_cancellation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On 3.11 ``wait_for`` can swallow a cancellation that lands as the
    inner await completes; a stream loop that lost its cancellation must
    still end at ``close()``, and so must a connection accepted while the
    listener was closing."""
    swallowed: list[asyncio.Task[Any]] = []
    drain = StatusServer._drain

    async def swallowing_drain(self: StatusServer, writer: asyncio.StreamWriter) -> None:
        # a drain that takes most of each poll period, so close() finds the
        # streams here, and loses the first cancellation of each task
        task = asyncio.current_task()
        assert task is not None
        try:
            await drain(self, writer)
            await asyncio.sleep(0.2)
        except asyncio.CancelledError:
            if task in swallowed:
                raise
            swallowed.append(task)
            task.uncancel()

    monkeypatch.setattr(StatusServer, "_drain", swallowing_drain)

    async def main() -> None:
        server = StatusServer(
            "127.0.0.1", 0, lambda: SNAPSHOT, NodeMetrics("hub-0", "hub").registry, poll_s=0.01
        )
        await server.start()
        readers = [await _open_stream(server) for _ in range(3)]
        late = asyncio.create_task(asyncio.open_connection("127.0.0.1", server.port))
        await asyncio.sleep(0)
        await asyncio.wait_for(server.close(), 20)
        assert server._tasks == set()
        for reader in readers:
            await asyncio.wait_for(reader.read(), 5)  # EOF, not a hang
            assert reader.at_eof()
        with contextlib.suppress(OSError):
            _, writer = await late
            writer.close()

    asyncio.run(main())
    assert swallowed  # the loss the fix is for did happen
