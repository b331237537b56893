"""Loopback ports for the runtime tests, below the ephemeral range (so an
outbound connection's local port never takes a hub's listening port)."""

from __future__ import annotations

import os
import socket


def free_base(count: int = 5) -> int:
    """A base port ``b`` with ``b .. b + count - 1`` all bindable now."""
    for _ in range(200):
        base = 20_000 + int.from_bytes(os.urandom(2), "big") % 10_000
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")
