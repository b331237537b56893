"""The JSON-able status snapshot of one hub, for the status page.

Theory of operation
-------------------
:func:`hub_snapshot` reads a running :class:`~._node.HubNode` (no I/O, no
locks: it runs on the node's event loop) and returns::

    {
      "node": "hub-0",          # this hub's name
      "role": "hub",
      "epoch": 12,              # the epoch it is in
      "round": 0,               # its round in that epoch
      "step": "precommit",      # its SDBC step (idle, propose, prevote, precommit, decided)
      "decided_epochs": 11,     # epochs it decided since it started
      "hubs": [                 # every other hub of the configuration, as this hub sees it
        {"name": "hub-1", "state": "connected" | "unreachable", "epoch": 12,
         "round": 0, "last_seen_ms": 180},   # ms since its last frame, null if never
      ],
      "partitions": [           # suspected: a peer silent past SUSPECT_MS;
        {"status": "suspected" | "confirmed", "peers": "hub-3,hub-4"}   # confirmed: too few
      ],                        # peers heard from to form a quorum with this hub
      "alerts": [               # equivocation evidence held, confirmed partition
        {"kind": "equivocation" | "partition", "subject": "hub-4", "epoch": 12,
         "detail": "..."}
      ],
      "evidence_held": 1,       # pieces of equivocation evidence in the store
      "rejected": {"reason": n} # transport refusals by reason
    }
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vigilnet.runtime._node import HubNode

#: a peer silent this long is suspected partitioned from this hub
SUSPECT_MS = 3000


def hub_snapshot(node: HubNode) -> dict[str, Any]:
    now = time.monotonic()
    s = node.state
    hubs, silent = [], []
    for name, view in sorted(node._views.items()):
        seen = None if view.last_seen is None else int((now - view.last_seen) * 1000)
        up = name in node.transport.connected
        hubs.append({"name": name, "state": "connected" if up else "unreachable",
                     "epoch": view.epoch, "round": view.round, "last_seen_ms": seen})  # fmt: skip
        if seen is None or seen > SUSPECT_MS:
            silent.append(name)
    heard = len(hubs) - len(silent) + 1
    partitions: list[dict[str, Any]] = []
    alerts = list(node._alerts)
    if silent:
        confirmed = heard < s.config.quorum
        status = "confirmed" if confirmed else "suspected"
        partitions.append({"status": status, "peers": ",".join(silent)})
        if confirmed:
            alerts.append({"kind": "partition", "subject": node.name, "epoch": s.epoch,
                           "detail": f"hears {heard} of {len(hubs) + 1} hubs, quorum {s.config.quorum}"})  # fmt: skip
    node.metrics.partitions(suspected=len(partitions), confirmed=sum(
        p["status"] == "confirmed" for p in partitions))  # fmt: skip
    return {
        "node": node.name,
        "role": "hub",
        "epoch": s.epoch,
        "round": s.round,
        "step": "decided" if s.decision is not None else s.step.name.lower(),
        "decided_epochs": node.decided,
        "hubs": hubs,
        "partitions": partitions,
        "alerts": alerts,
        "evidence_held": node.store.evidence_count(),
        "rejected": dict(node.transport.rejected),
    }
