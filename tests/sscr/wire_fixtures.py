"""A three-node SSCR deployment and one valid message of every wire type
(shared by the wire, hostile-input and vector tests)."""

from __future__ import annotations

from fractions import Fraction

from tests.sscr.keys import signed, source_keys
from vigilnet.fixedpoint import SCALE
from vigilnet.protocols.sscr import (
    Conviction,
    ConvictionSet,
    EvidenceState,
    Heartbeat,
    LocalReport,
    Message,
    NodeState,
    SourceReport,
    SscrConfig,
    StartSync,
    SuspicionReported,
    SyncRequest,
    SyncResponse,
    WireLimits,
    initial_state,
    step,
)

__all__ = ["LIMITS", "SOURCES", "A", "config", "messages", "node_state"]

SOURCES = (("ma", "a"), ("mb", "b"), ("mc", "c"))


def config(node: str) -> SscrConfig:
    return SscrConfig(
        node=node,
        peers=tuple(n for n in ("a", "b", "c") if n != node),
        sources=SOURCES,
        source_keys=source_keys(SOURCES),
        lambda_max=SCALE,
        rate=Fraction(1),
        upper=2 * SCALE,
        lower=-2 * SCALE,
        deadline_base=10,
        phi_threshold=4 * SCALE,
        max_agents=8,
    )


A = config("a")
LIMITS = WireLimits.of(A)


def node_state() -> NodeState:
    """``a`` with ``ma``'s evidence on two agents, a pending sync with ``b``
    and a verdict."""
    from vigilnet.protocols.sscr import Evaluate

    a, _ = initial_state(A, at=0)
    for agent, llr in (("x", 3 * SCALE), ("y", -SCALE)):
        entry = signed(A, agent, "ma", 3, 3, llr)
        a, _ = step(A, a, LocalReport(at=3, agent=agent, source="ma", entry=entry))
    a, _ = step(A, a, StartSync(peer="b", at=3))
    a, _ = step(A, a, Evaluate(agent="x", at=3))
    return a


def messages() -> dict[str, Message]:
    """One valid message per wire type, as peer ``b`` would send them to ``a``."""
    equivocation = Conviction(
        agent="x",
        source="mb",
        lower=signed(A, "x", "mb", 2, 2, -2 * SCALE),
        higher=signed(A, "x", "mb", 2, 2, 2 * SCALE),
    )
    delta = EvidenceState.of(
        {
            ("x", "mb"): signed(A, "x", "mb", 1, 1, SCALE),
            ("x", "mc"): signed(A, "x", "mc", 2, 2, -SCALE),
            ("z", "mb"): signed(A, "z", "mb", 1, 1, 0),
        }
    )
    return {
        "heartbeat": Heartbeat(sender="b"),
        "suspicion": SuspicionReported(peer="c", observer="b"),
        "report": SourceReport(agent="w", source="ma", entry=signed(A, "w", "ma", 1, 1, SCALE)),
        "conviction": equivocation,
        "sync_request": SyncRequest(
            sender="b",
            request_time=2,
            digest=((("x", "ma"), (1, 1, SCALE)), (("y", "mc"), (4, 4, 0))),
            convicted=(("mb", ("x", (2, 2, -2 * SCALE), (2, 2, 2 * SCALE))),),
        ),
        "sync_response": SyncResponse(
            sender="b",
            request_time=3,
            delta=delta,
            convictions=ConvictionSet.of([equivocation]),
        ),
    }
