"""The SCC liveness check against a brute-force reference on small random
graphs: ``<>Q`` is violated iff some fair closed walk (or fair stutter)
inside ``~Q`` is reachable from the initial state through ``~Q`` states."""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from vigilnet.checker import Action, Model, Property, Status, WeakFairness
from vigilnet.checker._run import check

LABELS = ("A", "B", "C")
Graph = dict[int, list[tuple[str, int]]]

graphs = st.integers(min_value=1, max_value=4).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(
            st.lists(
                st.tuples(st.sampled_from(LABELS), st.integers(0, n - 1)), max_size=2, unique=True
            ),
            min_size=n,
            max_size=n,
        ),
        st.sets(st.integers(0, n - 1)),
        st.sets(st.sampled_from(("A", "B"))),
    )
)


def _model(edges: Graph, goal: set[int], fair: set[str]) -> Model[int]:
    def init() -> Iterator[int]:
        yield 0

    def action(label: str) -> Action[int]:
        def step(s: int) -> Iterator[tuple[tuple[Hashable, ...], int]]:
            for lab, target in edges[s]:
                if lab == label:
                    yield (target,), target

        return Action(name=label, step=step)

    return Model(
        name="graph",
        constants={},
        variables=("s",),
        init_states=init,
        actions=tuple(action(label) for label in LABELS),
        properties=(Property.eventually("Goal", lambda s: s in goal),),
        view=lambda s: {"s": s},
        fairness=tuple(WeakFairness(name=g, actions=frozenset({g})) for g in sorted(fair)),
    )


def _reference(edges: Graph, goal: set[int], fair: set[str]) -> bool:
    """True when <>Goal is violated."""
    if 0 in goal:
        return False
    reach = {0}
    frontier = [0]
    while frontier:
        s = frontier.pop()
        for _, t in edges[s]:
            if t not in goal and t not in reach:
                reach.add(t)
                frontier.append(t)

    def enabled(s: int, g: str) -> bool:
        return any(lab == g for lab, _ in edges[s])

    for s in reach:
        if all(not enabled(s, g) for g in fair):
            return True  # stutter fairly in s
    for s in reach:
        # every closed walk of up to 11 edges from s inside ~Goal (enough for two
        # waypoints in a 4-state component: 3 + 1 + 3 + 1 + 3)
        for length in range(1, 12):
            for choice in itertools.product(range(2), repeat=length):
                walk_states = [s]
                walk_labels = []
                cur = s
                ok = True
                for pick in choice:
                    out = [(lab, t) for lab, t in edges[cur] if t not in goal]
                    if pick >= len(out):
                        ok = False
                        break
                    lab, cur = out[pick]
                    walk_labels.append(lab)
                    walk_states.append(cur)
                if not ok or cur != s:
                    continue
                if all(
                    g in walk_labels or any(not enabled(x, g) for x in walk_states) for g in fair
                ):
                    return True
    return False


@settings(max_examples=150, deadline=None)
@given(graphs)
def test_scc_check_matches_brute_force(
    case: tuple[int, list[list[tuple[str, int]]], set[int], set[str]],
) -> None:
    n, out, goal, fair = case
    edges: Graph = {i: out[i] for i in range(n)}
    result = check(_model(edges, goal, fair))
    prop = result.properties[0]
    assert (prop.status is Status.VIOLATED) == _reference(edges, goal, fair)
