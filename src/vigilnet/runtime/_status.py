"""A hub's status page and metrics over HTTP (stdlib asyncio streams).

Theory of operation
-------------------
:class:`StatusServer` serves, on one host and port:

==================  ==================================================  ==========================
path                what                                                content type
==================  ==================================================  ==========================
``/``               the status page (``static/status.html``)            ``text/html``
``/status.js``,     its script and style sheet                          ``text/javascript``,
``/status.css``                                                         ``text/css``
``/status.json``    the snapshot, as JSON                               ``application/json``
``/events``         Server-Sent Events: an ``status`` event carrying    ``text/event-stream``
                    the snapshot each time it changes
``/metrics``        the node's Prometheus exposition                    ``text/plain; version=0.0.4``
==================  ==================================================  ==========================

The page loads ``/status.json`` once, then follows ``/events``, so it
updates without a reload; the browser's ``EventSource`` reconnects by
itself (the stream sends ``retry``).

The snapshot
~~~~~~~~~~~~
``snapshot_fn`` returns a mapping that serialises to JSON (it is called on
each request and every ``poll_s`` for each open stream; it must be cheap and
must not block).  The page reads these keys, and shows any other key only
through ``/status.json``::

    {
      "node": "hub-0",                  # this node's name
      "epoch": 12,                      # the epoch it is in
      "hubs": [                         # every hub of the configuration
        {"name": "hub-1", "state": "decided", "epoch": 12, "round": 0,
         "last_seen_ms": 180},          # ms since its last frame, null if never
        ...
      ],
      "partitions": [ {...}, ... ],     # suspected or confirmed; shown as key=value
      "alerts": [                       # shown first, in red
        {"kind": "equivocation" | "partition", "subject": "hub-4",
         "epoch": 12, "detail": "two signed precommits for round 0"},
        ...
      ]
    }

The runtime's ``_snapshot.py`` produces it.  Hub names and alert details
are text that peers wrote: the page only ever sets them as ``textContent``,
and its Content-Security-Policy allows scripts from this server alone, so a
hostile snapshot field cannot run in the operator's browser.

Rules (the server never crashes on a request)
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
1. A request head (request line and headers) is at most
   :data:`MAX_HEAD_BYTES`; longer is ``431``.  A request line that is not
   ``METHOD SP /target SP HTTP/1.x``, a header line that is not
   ``token: value``, more than :data:`MAX_HEADERS` headers, or bytes that are
   not ASCII are ``400``.  A head not complete within ``read_timeout_s`` is
   dropped.  A request body is never read.
2. ``GET`` and ``HEAD`` on a path above; another method on such a path is
   ``405`` with ``Allow``; any other path is ``404``.  The query string is
   ignored.
3. Every response closes the connection (``Connection: close``): there is
   no keep-alive state to get wrong.
4. At most ``max_streams`` event streams at once; one more is ``503``.  A
   stream whose client does not read within ``read_timeout_s`` is closed,
   so a stalled reader cannot grow the server's buffers.
5. ``snapshot_fn`` raising, or returning something that is not JSON, is a
   ``500`` (logged); the server goes on.  Any other unexpected error in one
   connection is logged and closes that connection only.

Each refusal is counted by reason in :attr:`StatusServer.refused`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from vigilnet.errors import LocalProtocolError, ensure

__all__ = [
    "CSP",
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "PATHS",
    "StatusServer",
    "snapshot_json",
]

log = logging.getLogger("vigilnet.runtime.status")

MAX_HEAD_BYTES = 8_192
MAX_HEADERS = 64
PATHS = ("/", "/status.js", "/status.css", "/status.json", "/events", "/metrics")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_REQUEST_LINE = re.compile(r"([A-Z]{1,16}) (/[\x21-\x7e]{0,2047}) HTTP/1\.[01]")
_HEADER = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}:[\t\x20-\x7e]{0,4096}")
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_STATIC = {
    "/": ("status.html", "text/html; charset=utf-8"),
    "/status.js": ("status.js", "text/javascript; charset=utf-8"),
    "/status.css": ("status.css", "text/css; charset=utf-8"),
}
_HEARTBEAT_S = 15.0
#: how long close() waits for cancelled connections before cancelling again
_CLOSE_WAIT_S = 1.0


def snapshot_json(snapshot: Mapping[str, Any]) -> bytes:
    """The snapshot as compact JSON on one line (sorted keys; no NaN).

    Raises :class:`~vigilnet.errors.LocalProtocolError` if it is not a
    mapping of JSON values."""
    ensure(isinstance(snapshot, Mapping), "a snapshot is a mapping", raising=LocalProtocolError)
    try:
        text = json.dumps(
            dict(snapshot),
            sort_keys=True,
            separators=(",", ":"),
            allow_nan=False,
            ensure_ascii=True,
        )
    except (TypeError, ValueError) as exc:
        raise LocalProtocolError(f"the snapshot is not JSON: {exc}") from None
    return text.encode("ascii")


def _static(name: str) -> bytes:
    return (resources.files("vigilnet.runtime") / "static" / name).read_bytes()


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_head(head: bytes) -> tuple[str, str]:
    """The method and path of a request head (rule 1); raises ``_Refused``."""
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise _Refused(400, "non_ascii") from None
    lines = text.removesuffix("\r\n\r\n").split("\r\n")
    match = _REQUEST_LINE.fullmatch(lines[0])
    if match is None:
        raise _Refused(400, "bad_request_line")
    if len(lines) - 1 > MAX_HEADERS:
        raise _Refused(400, "too_many_headers")
    for line in lines[1:]:
        if _HEADER.fullmatch(line) is None:
            raise _Refused(400, "bad_header")
    method, target = match.group(1), match.group(2)
    return method, target.split("?", 1)[0]


class StatusServer:
    """The status page, ``/status.json``, ``/events`` and ``/metrics`` of
    one node (see the module docstring).  ``port`` 0 picks a free port;
    :attr:`port` is the bound one after :meth:`start`."""

    def __init__(
        self,
        host: str,
        port: int,
        snapshot_fn: Callable[[], Mapping[str, Any]],
        registry: CollectorRegistry,
        *,
        poll_s: float = 0.25,
        read_timeout_s: float = 5.0,
        max_streams: int = 16,
    ) -> None:
        ensure(0 <= port <= 65_535, f"port out of range: {port}", raising=LocalProtocolError)
        ensure(
            poll_s > 0 and read_timeout_s > 0, "timeouts must be > 0", raising=LocalProtocolError
        )
        self.host = host
        self._port = port
        self._snapshot_fn = snapshot_fn
        self._registry = registry
        self._poll_s = poll_s
        self._read_timeout_s = read_timeout_s
        self._max_streams = max_streams
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._streams = 0
        self._pages = {path: _static(name) for path, (name, _) in _STATIC.items()}
        #: refusals by reason (``bad_request_line``, ``head_too_large``, ...)
        self.refused: Counter[str] = Counter()
        #: responses by status code
        self.responses: Counter[int] = Counter()

    @property
    def port(self) -> int:
        if self._server is None:
            raise LocalProtocolError("the server is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen (returns once the socket is bound)."""
        ensure(self._server is None, "the server is already started", raising=LocalProtocolError)
        self._server = await asyncio.start_server(
            self._connection, self.host, self._port, limit=MAX_HEAD_BYTES
        )

    async def close(self) -> None:
        """Stop listening and end every open connection.

        A connection accepted just before the listener closed starts its
        task after this one has looked, so the tasks are cancelled again
        until none is left; each one also sees ``_closing`` and returns."""
        if self._server is None:
            return
        self._closing = True
        self._server.close()
        while self._tasks:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.wait(list(self._tasks), timeout=_CLOSE_WAIT_S)
        await self._server.wait_closed()
        self._server = None

    # -- one connection ------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            if not self._closing:
                await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except asyncio.CancelledError:
            raise
        except Exception:  # rule 5: one connection's bug never stops the server
            log.exception("status connection failed")
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_CLOSE_WAIT_S):
                    await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self._read_timeout_s):
                head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            return await self._refuse(writer, _Refused(431, "head_too_large"))
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                self.refused["incomplete_head"] += 1
            return
        except TimeoutError:
            self.refused["read_timeout"] += 1
            return
        try:
            method, path = parse_head(head)
        except _Refused as refusal:
            return await self._refuse(writer, refusal)
        if path not in PATHS:
            return await self._refuse(writer, _Refused(404, "not_found"))
        if method not in ("GET", "HEAD"):
            return await self._refuse(writer, _Refused(405, "method_not_allowed"))
        body_only = method == "GET"
        if path == "/events":
            return await self._events(writer, body_only)
        if path in _STATIC:
            content_type = _STATIC[path][1]
            body = self._pages[path]
        elif path == "/metrics":
            content_type, body = CONTENT_TYPE_LATEST, generate_latest(self._registry)
        else:
            snapshot = self._snapshot()
            if snapshot is None:
                return await self._refuse(writer, _Refused(500, "snapshot_failed"))
            content_type, body = "application/json", snapshot
        await self._respond(writer, 200, content_type, body, send_body=body_only)
        return None

    def _snapshot(self) -> bytes | None:
        try:
            return snapshot_json(self._snapshot_fn())
        except Exception:  # rule 5
            log.exception("the snapshot function failed")
            return None

    async def _refuse(self, writer: asyncio.StreamWriter, refusal: _Refused) -> None:
        self.refused[refusal.reason] += 1
        extra = {"Allow": "GET, HEAD"} if refusal.status == 405 else {}
        body = f"{refusal.status} {_REASONS[refusal.status]}: {refusal.reason}\n".encode("ascii")
        await self._respond(writer, refusal.status, "text/plain; charset=utf-8", body, extra=extra)

    async def _respond(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        content_type: str,
        body: bytes,
        *,
        send_body: bool = True,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        self.responses[status] += 1
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(len(body)),
            **self._common_headers(),
            **(extra or {}),
        }
        writer.write(self._head(status, headers) + (body if send_body else b""))
        await self._drain(writer)

    async def _drain(self, writer: asyncio.StreamWriter) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a
        # cancellation that lands as the drain completes, and the stream
        # loop would then outlive close()
        async with asyncio.timeout(self._read_timeout_s):
            await writer.drain()

    @staticmethod
    def _common_headers() -> dict[str, str]:
        return {
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": CSP,
            "Connection": "close",
        }

    @staticmethod
    def _head(status: int, headers: Mapping[str, str]) -> bytes:
        lines = [f"HTTP/1.1 {status} {_REASONS[status]}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")

    async def _events(self, writer: asyncio.StreamWriter, send_body: bool) -> None:
        if self._streams >= self._max_streams:
            return await self._refuse(writer, _Refused(503, "too_many_streams"))
        self.responses[200] += 1
        headers = {"Content-Type": "text/event-stream", **self._common_headers()}
        writer.write(self._head(200, headers))
        if not send_body:
            await self._drain(writer)
            return None
        self._streams += 1
        try:
            writer.write(b"retry: 2000\n\n")
            last: bytes | None = None
            quiet_s = 0.0
            while not self._closing:
                snapshot = self._snapshot()
                if snapshot is not None and snapshot != last:
                    writer.write(b"event: status\ndata: " + snapshot + b"\n\n")
                    last, quiet_s = snapshot, 0.0
                elif quiet_s >= _HEARTBEAT_S:
                    writer.write(b": heartbeat\n\n")
                    quiet_s = 0.0
                # rule 4: a client that stops reading is dropped, not buffered for
                await self._drain(writer)
                await asyncio.sleep(self._poll_s)
                quiet_s += self._poll_s
        finally:
            self._streams -= 1
