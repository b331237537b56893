"""The node runtime: vigilnet's protocols on real clocks and real sockets.

Theory of operation
-------------------
The simulator (:mod:`vigilnet.sim`) runs every node's driver against a
simulated :class:`~vigilnet.sim._engine.Host`.  This package is the other
host: length-prefixed frames (:mod:`._frames`) over TCP with TLS 1.3 and
mutual authentication, each peer pinned to its Ed25519 identity
(:mod:`._transport`), plus each node's Prometheus metrics (:mod:`._metrics`)
and its status page (:mod:`._status`).
"""

from vigilnet.runtime._metrics import NodeMetrics
from vigilnet.runtime._status import StatusServer

__all__ = ["NodeMetrics", "StatusServer"]
