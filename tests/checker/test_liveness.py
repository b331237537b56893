"""Liveness: Peterson's starvation freedom, fairness, stuttering lassos."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any

from vigilnet.models import peterson

from vigilnet.checker import (
    STUTTER,
    Action,
    Model,
    Property,
    Status,
    Trace,
    WeakFairness,
)
from vigilnet.checker._run import check
from vigilnet.checker._trace import successors


def _assert_lasso(model: Model[Any], trace: Trace, goal: object) -> None:
    """Every step is a transition, the loop closes, and the cycle never
    reaches the goal."""
    assert trace.loop is not None
    for before, after in zip(trace.steps, trace.steps[1:], strict=False):
        assert any(
            model.actions[ai].name == after.action and args == after.args and nxt == after.state
            for ai, args, nxt in successors(model, before.state)
        )
    last = trace.steps[-1].state
    if trace.loop_action != STUTTER:
        assert any(
            model.actions[ai].name == trace.loop_action and nxt == trace.steps[trace.loop].state
            for ai, _args, nxt in successors(model, last)
        )
    assert callable(goal)
    assert not any(goal(step.state) for step in trace.steps[trace.loop :])


def test_peterson_starvation_free_under_weak_fairness() -> None:
    result = check(peterson.FAMILY.instantiate())
    assert result.ok
    statuses = {p.name: p.status for p in result.properties}
    assert statuses["StarvationFree(0)"] is Status.HOLDS
    assert statuses["StarvationFree(1)"] is Status.HOLDS
    assert statuses["MutualExclusion"] is Status.HOLDS


def test_peterson_starves_without_fairness() -> None:
    model = peterson.FAMILY.instantiate(mutant="no_fairness")
    result = check(model)
    assert result.result == "violation"
    for p in (0, 1):
        prop = {q.name: q for q in result.properties}[f"StarvationFree({p})"]
        assert prop.status is Status.VIOLATED and prop.trace is not None
        trace = prop.trace
        assert trace.loop is not None
        # The trigger (pc[p] = "a1") happens in the prefix and the cycle is a
        # real cycle (the other process going round), not a stutter.
        assert any(step.state.pc[p] == "a1" for step in trace.steps[: trace.loop + 1])
        assert trace.loop_action != STUTTER
        _assert_lasso(model, trace, lambda s, p=p: s.pc[p] == "cs")
        moving = {step.args for step in trace.steps[trace.loop + 1 :]} | {trace.loop_args}
        assert moving == {(1 - p,)}


def _ring(fair: bool, stuck: bool) -> Model[int]:
    """States 0 -> 1 -> 2 -> 0 by Step, and a Skip self-loop at 0; with
    ``stuck`` state 2 has no Step (a deadlock)."""

    def init() -> Iterator[int]:
        yield 0

    def step(s: int) -> Iterator[tuple[tuple[Hashable, ...], int]]:
        if not (stuck and s == 2):
            yield (), (s + 1) % 3

    def skip(s: int) -> Iterator[tuple[tuple[Hashable, ...], int]]:
        if s == 0:
            yield (), 0

    return Model(
        name="ring",
        constants={},
        variables=("s",),
        init_states=init,
        actions=(Action(name="Step", step=step), Action(name="Skip", step=skip)),
        properties=(
            Property.eventually("ReachesTwo", lambda s: s == 2),
            Property.eventually("ReachesThree", lambda s: s == 3),
        ),
        view=lambda s: {"s": s},
        fairness=(WeakFairness(name="Step", actions=frozenset({"Step"})),) if fair else (),
    )


def test_weak_fairness_rules_out_the_skip_loop() -> None:
    fair = {p.name: p for p in check(_ring(fair=True, stuck=False)).properties}
    assert fair["ReachesTwo"].status is Status.HOLDS
    unfair = {p.name: p for p in check(_ring(fair=False, stuck=False)).properties}
    trace = unfair["ReachesTwo"].trace
    assert unfair["ReachesTwo"].status is Status.VIOLATED and trace is not None
    assert trace.loop == 0 and trace.loop_action == "Skip"


def test_a_deadlock_stutters_forever() -> None:
    model = _ring(fair=True, stuck=True)
    props = {p.name: p for p in check(model).properties}
    assert props["ReachesTwo"].status is Status.HOLDS
    trace = props["ReachesThree"].trace
    assert props["ReachesThree"].status is Status.VIOLATED and trace is not None
    # With Step fair, the only fair way to avoid 3 forever... is everything:
    # the run goes round 0 -> 1 -> 2 and stops at 2, where Step is disabled.
    assert trace.loop_action == STUTTER
    assert trace.steps[-1].state == 2
    _assert_lasso(model, trace, lambda s: s == 3)
