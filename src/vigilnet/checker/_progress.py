"""Progress lines during a search (to stderr, never stdout).

Engines call a :class:`Progress` with running totals; it prints at most one
line every ``interval`` seconds.  On a terminal it draws a rich status line
instead of plain lines.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import IO, Protocol

__all__ = ["NullProgress", "Progress", "ProgressInfo", "StderrProgress"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressInfo:
    generated: int
    distinct: int
    queue: int
    depth: int
    seconds: float


class Progress(Protocol):
    def __call__(self, info: ProgressInfo) -> None: ...

    def close(self) -> None: ...


class NullProgress:
    """Says nothing."""

    def __call__(self, info: ProgressInfo) -> None:
        return None

    def close(self) -> None:
        return None


class StderrProgress:
    """A line every ``interval`` seconds: generated, distinct, queue,
    states/s; a rich live status line when stderr is a terminal."""

    def __init__(self, *, interval: float = 3.0, stream: IO[str] | None = None) -> None:
        self._interval = interval
        self._stream = stream if stream is not None else sys.stderr
        self._last = time.monotonic()
        self._last_distinct = 0
        self._status: object | None = None
        if self._stream.isatty():
            from rich.console import Console

            console = Console(file=self._stream)
            status = console.status("exploring ...")
            status.start()
            self._status = status

    def __call__(self, info: ProgressInfo) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        rate = (info.distinct - self._last_distinct) / max(now - self._last, 1e-9)
        self._last, self._last_distinct = now, info.distinct
        line = (
            f"progress: {info.seconds:7.1f} s  depth {info.depth:4d}  "
            f"generated {info.generated:,}  distinct {info.distinct:,}  "
            f"queue {info.queue:,}  {rate:,.0f} distinct/s"
        )
        if self._status is not None:
            self._status.update(line)  # type: ignore[attr-defined]
        else:
            print(line, file=self._stream, flush=True)

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()  # type: ignore[attr-defined]
            self._status = None
