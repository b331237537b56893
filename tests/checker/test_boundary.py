"""``within_boundary`` follows TLC's ``CONSTRAINT``: a state outside it is
counted and checked, but never expanded."""

from __future__ import annotations

from collections.abc import Hashable, Iterator

import pytest

from vigilnet.checker import Action, Model, Options, Property, Status
from vigilnet.checker._explore import dfs, simulate
from vigilnet.checker._run import check


def _counter(limit: int) -> Model[int]:
    def init() -> Iterator[int]:
        yield 0

    def inc(n: int) -> Iterator[tuple[tuple[Hashable, ...], int]]:
        yield (), n + 1

    return Model(
        name="counter",
        constants={},
        variables=("n",),
        init_states=init,
        actions=(Action(name="Inc", step=inc),),
        properties=(
            Property.always("BelowFive", lambda n: n < 5),
            Property.sometimes("ReachesLimit", lambda n: n == limit),
        ),
        view=lambda n: {"n": n},
        within_boundary=lambda n: n < limit,
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_states_outside_the_boundary_are_counted_not_expanded(workers: int) -> None:
    result = check(_counter(3), workers=workers)
    assert result.distinct_states == 4  # 0, 1, 2 and 3 (outside, not expanded)
    assert result.ok
    assert dfs(_counter(3), Options()).distinct_states == 4


def test_invariants_are_checked_on_boundary_states() -> None:
    result = check(_counter(5))
    status = {p.name: p.status for p in result.properties}
    assert status["BelowFive"] is Status.VIOLATED
    trace = {p.name: p.trace for p in result.properties}["BelowFive"]
    assert trace is not None and len(trace) == 5


def test_simulation_stops_at_the_boundary() -> None:
    result = simulate(_counter(3), Options(), traces=5, depth=50, seed=1)
    assert result.distinct_states == 4
    assert result.depth == 3
