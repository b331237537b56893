"""One honest SHAP epoch's wire messages (for the codec and hostile tests):
monitor reports to regional 100, the regional's report to the hub, the
receipts, and an audit opening, with the setups and states that take them."""

from __future__ import annotations

from dataclasses import dataclass

from tests.shap._world import World, make_world
from vigilnet.protocols.shap import (
    AggregatorState,
    AuditOpening,
    ChildState,
    CloseEpoch,
    Committed,
    Receipt,
    ReceiveReport,
    Report,
    SendReceipt,
    SendReport,
    encode_message,
    initial_state,
    step,
)

__all__ = ["REGION", "Corpus", "make_corpus"]

REGION = 100


@dataclass(frozen=True)
class Corpus:
    world: World
    monitor_reports: tuple[ReceiveReport, ...]
    regional_report: Report
    receipts: dict[int, Receipt]
    opening: AuditOpening
    regional_partial: AggregatorState  # collecting, monitor 0 accepted
    regional_closed: AggregatorState
    hub_collecting: AggregatorState
    children: dict[int, ChildState]

    def encodings(self) -> tuple[bytes, ...]:
        messages = (
            *self.monitor_reports,
            ReceiveReport(report=self.regional_report),
            *self.receipts.values(),
            self.opening,
        )
        return tuple(encode_message(m) for m in messages)


def make_corpus() -> Corpus:
    world = make_world()
    values = {a: (4, 1000 * a - 2000) for a in range(6)}
    setup = world.regionals[REGION]
    state = initial_state(setup, 1)
    events = []
    for monitor in (0, 1, 2):
        body = world.honest_body(monitor, values)
        events.append(ReceiveReport(report=world.report(monitor, body), body=body))
    partial, _ = step(setup, state, events[0])
    for event in events:
        state, out = step(setup, state, event)
        assert out == ()
    closed, out = step(setup, state, CloseEpoch())
    committed, send = out[0], out[1]
    assert isinstance(committed, Committed) and isinstance(send, SendReport)
    receipts = {o.child: o.receipt for o in out if isinstance(o, SendReceipt)}
    children = {
        e.report.node_id: ChildState(own=e.report, parent_key=world.keys[REGION]) for e in events
    }
    return Corpus(
        world=world,
        monitor_reports=tuple(events),
        regional_report=send.report,
        receipts=receipts,
        opening=committed.commitment.opening(1),
        regional_partial=partial,
        regional_closed=closed,
        hub_collecting=initial_state(world.hub, 1),
        children=children,
    )
