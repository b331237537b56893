"""Refinement: every step of the implementation maps to a step of the model
(DESIGN.md 5), in the model's ``forger`` configuration (``byzantine_monitor``
with a forger: honest reports paired with other bodies, and bad bodies the
Byzantine monitor signs).

The implementation runs one regional over monitors 0, 1, 2, all observing
agent 0 (``N = R = MaxFanIn = 3``), with monitor 2 Byzantine.  A monitor's
value ``v`` is a body with one entry ``(agent 0, count 1, llr v)``; a forged
body is ``(agent 0, count 2, llr v)`` under the honest report, a bad body
``(agent 0, count 0, llr v + 1)`` signed by the Byzantine monitor (out of
range); the model's ``struck`` is the implementation's strikes.  The
abstraction maps the implementation (and the ghost set of messages sent) to
the model's :class:`~vigilnet.models.shap.ShapState`; every implementation
step must be a model step from the abstract state before it, or a stutter
(a rejected report changes nothing, in both).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from vigilnet.models.shap import FAMILY, NONE, ShapState

from tests.shap._world import key
from vigilnet.crypto import VerifyKey
from vigilnet.protocols.shap import (
    AggregatorSetup,
    AggregatorState,
    ChildPhase,
    ChildState,
    CloseEpoch,
    Committed,
    MonitorBody,
    Phase,
    ReceiptTimeout,
    ReceiveReceipt,
    ReceiveReport,
    Report,
    SendReceipt,
    ShapConfig,
    Tier,
    child_step,
    initial_state,
    monitor_report,
    sign_report,
    step,
)

CONFIG = "forger"
CONSTANTS = FAMILY.configs[CONFIG]
TRUTH = tuple(int(v) for v in str(CONSTANTS["Truth"]).split(","))
BYZ = 2
HONEST = (0, 1)
SHAP = ShapConfig(max_aggregation_ratio=3)
REGION = 100
MODEL = FAMILY.instantiate(config=CONFIG)


def _setup() -> AggregatorSetup:
    children: dict[int, VerifyKey] = {m: key(m).verify_key for m in range(3)}
    return AggregatorSetup(
        node_id=REGION,
        tier=Tier.REGIONAL,
        config=SHAP,
        signing_key=key(REGION),
        children=children,
        placement={m: (0,) for m in range(3)},
    )


def _message(monitor: int, epoch: int, value: int, kind: str = "own") -> tuple[Report, MonitorBody]:
    body = MonitorBody(agent_ids=(0,), counts=(1,), llr_sums=(value,))
    report = monitor_report(
        signing_key=key(monitor), node_id=monitor, epoch=epoch, config=SHAP, body=body
    )
    if kind == "forged":
        return report, MonitorBody(agent_ids=(0,), counts=(2,), llr_sums=(value,))
    if kind == "bad":
        bad = MonitorBody(agent_ids=(0,), counts=(0,), llr_sums=(value + 1,))
        signed = sign_report(
            key(monitor),
            epoch=epoch,
            config_hash=SHAP.config_hash,
            node_id=monitor,
            tier=Tier.MONITOR,
            root=report.root,
            totals=report.totals,
            body_digest=bad.digest,
        )
        return signed, bad
    return report, body


class Run:
    """The implementation plus the ghost state the model makes explicit."""

    def __init__(self) -> None:
        self.setup = _setup()
        self.state: AggregatorState = initial_state(self.setup, 1)
        self.msgs: set[tuple[int, int, int, str]] = set()
        self.tree: tuple[tuple[int, int], ...] = ()
        self.total = 0
        self.out: int = NONE
        self.receipts: dict[int, Any] = {}
        self.checked = ["wait"] * 3

    def abstract(self) -> ShapState:
        accepted = [NONE] * 3
        for child, _, body in self.state.accepted:
            assert body is not None
            accepted[child] = body.llr_sums[0]
        return ShapState(
            aggByz=False,
            msgs=frozenset(self.msgs),
            accepted=tuple(accepted),
            banned=self.state.equivocators,
            phase="collecting" if self.state.phase is Phase.COLLECTING else "closed",
            tree=self.tree,
            total=self.total,
            out=self.out,
            checked=tuple(self.checked),
            struck=frozenset(child for child, _ in self.state.strikes),
        )

    # -- implementation steps (each returns True when it was attempted) ----
    def send(self, monitor: int) -> bool:
        if self.state.phase is not Phase.COLLECTING or monitor not in HONEST:
            return False
        self.msgs.add((monitor, 1, TRUTH[monitor], "own"))
        return True

    def byz_send(self, epoch: int, value: int, body: str = "own") -> bool:
        if self.state.phase is not Phase.COLLECTING or (body == "bad" and epoch != 1):
            return False
        self.msgs.add((BYZ, epoch, value, body))
        return True

    def forge(self, monitor: int) -> bool:
        own = (monitor, 1, TRUTH[monitor], "own")
        if self.state.phase is not Phase.COLLECTING or own not in self.msgs:
            return False
        self.msgs.add((monitor, 1, TRUTH[monitor], "forged"))
        return True

    def receive(self, pick: int) -> bool:
        if not self.msgs:
            return False
        monitor, epoch, value, kind = sorted(self.msgs)[pick % len(self.msgs)]
        report, body = _message(monitor, epoch, value, kind)
        self.state, _ = step(self.setup, self.state, ReceiveReport(report=report, body=body))
        return True

    def close(self) -> bool:
        if self.state.phase is not Phase.COLLECTING:
            return False
        self.state, outputs = step(self.setup, self.state, CloseEpoch())
        committed = outputs[0]
        assert isinstance(committed, Committed)
        commitment = committed.commitment
        self.tree = tuple(
            (child, body.llr_sums[0]) for child, _, body in commitment.accepted if body is not None
        )
        self.total = commitment.inputs_root.totals[2]
        combined = commitment.combined
        assert combined is not None
        self.out = int(combined.llr_sums[0]) if len(combined.agent_ids) else NONE
        self.receipts = {o.child: o.receipt for o in outputs if isinstance(o, SendReceipt)}
        return True

    def check(self, monitor: int) -> bool:
        if (
            self.state.phase is not Phase.CLOSED
            or monitor not in HONEST
            or self.checked[monitor] != "wait"
            or (monitor, 1, TRUTH[monitor], "own") not in self.msgs
        ):
            return False
        own, _ = _message(monitor, 1, TRUTH[monitor])
        child = ChildState(own=own, parent_key=key(REGION).verify_key)
        receipt = self.receipts.get(monitor)
        event = ReceiveReceipt(receipt=receipt) if receipt is not None else ReceiptTimeout()
        after, _ = child_step(child, event)
        self.checked[monitor] = "ok" if after.phase is ChildPhase.CONFIRMED else "alarm"
        return True


STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.sampled_from(HONEST)),
        st.tuples(
            st.just("byz_send"),
            st.sampled_from((0, 1)),
            st.sampled_from((0, 2)),
            st.sampled_from(("own", "bad")),
        ),
        st.tuples(st.just("forge"), st.sampled_from(HONEST)),
        st.tuples(st.just("receive"), st.integers(0, 7)),
        st.tuples(st.just("close")),
        st.tuples(st.just("check"), st.sampled_from(HONEST)),
    ),
    max_size=14,
)


def _model_successors(state: ShapState) -> set[ShapState]:
    return {after for action in MODEL.actions for _, after in action.step(state)}


@settings(max_examples=150, deadline=None)
@given(STEPS)
def test_every_implementation_step_is_a_model_step(steps: list[tuple[Any, ...]]) -> None:
    run = Run()
    (initial,) = [s for s in MODEL.init_states()]
    assert run.abstract() == initial
    for name, *args in steps:
        before = run.abstract()
        if not getattr(run, name)(*args):
            continue
        after = run.abstract()
        assert after == before or after in _model_successors(before), (name, args, before, after)
        for prop in MODEL.properties:
            if prop.kind.value == "always":
                assert prop.holds(after), prop.name


def test_a_full_epoch_refines_the_model_and_reaches_its_witnesses() -> None:
    run = Run()
    script: list[tuple[Any, ...]] = [
        ("send", 0),
        ("send", 1),
        ("byz_send", 1, 2),
        ("receive", 0),
        ("receive", 1),
        ("receive", 2),
        ("close",),
        ("check", 0),
        ("check", 1),
    ]
    for name, *args in script:
        before = run.abstract()
        assert getattr(run, name)(*args)
        after = run.abstract()
        assert after in _model_successors(before), (name, args)
    final = run.abstract()
    assert final.out == 1 and final.checked[:2] == ("ok", "ok")
    witnesses = {p.name: p.holds(final) for p in MODEL.properties if p.kind.value == "sometimes"}
    assert witnesses["SomeCombined"] and witnesses["ByzantineOutvoted"]


def test_a_forged_epoch_refines_the_model_and_reaches_the_forger_witnesses() -> None:
    run = Run()
    script: list[tuple[Any, ...]] = [
        ("send", 0),
        ("forge", 0),
        ("byz_send", 1, 2, "bad"),
        ("receive", 1),  # (0, 1, 0, "own") sorts after (0, 1, 0, "forged")
        ("receive", 2),  # the Byzantine monitor's bad body: struck
    ]
    for name, *args in script:
        before = run.abstract()
        assert getattr(run, name)(*args)
        after = run.abstract()
        assert after in _model_successors(before), (name, args, before, after)
    before = run.abstract()
    assert run.receive(0)  # the forged pairing: refused, a stutter in both
    assert run.abstract() == before
    final = run.abstract()
    assert final.struck == frozenset({BYZ}) and final.accepted[0] == TRUTH[0]
    witnesses = {p.name: p.holds(final) for p in MODEL.properties if p.kind.value == "sometimes"}
    assert witnesses["ForgeryRefused"] and witnesses["StrikeExercised"]
