"""ITF value encoding, DFS and simulation."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st
from vigilnet.models import diehard, twophase

from vigilnet.checker import Options, Status
from vigilnet.checker._explore import dfs, simulate
from vigilnet.checker._itf import normalize, to_itf_value
from vigilnet.checker._report import format_value


class Colour(enum.Enum):
    RED = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    a: int
    b: str | None = None


def test_itf_values() -> None:
    assert to_itf_value(True) is True
    assert to_itf_value(5) == 5
    assert to_itf_value(1 << 60) == {"#bigint": str(1 << 60)}
    assert to_itf_value((1, "x")) == {"#tup": [1, "x"]}
    assert to_itf_value([1, 2]) == [1, 2]
    assert to_itf_value(frozenset({3, 1})) == {"#set": [1, 3]}
    assert to_itf_value({"r2": 1, "r1": 2}) == {"#map": [["r1", 2], ["r2", 1]]}
    assert to_itf_value(Record(a=1)) == {"a": 1}
    assert to_itf_value(Colour.RED) == "RED"
    assert format_value(Record(a=1, b="x")) == '[a |-> 1, b |-> "x"]'


@given(st.frozensets(st.integers(min_value=-(1 << 70), max_value=1 << 70)))
def test_normalize_is_order_free(values: frozenset[int]) -> None:
    encoded = to_itf_value(values)
    shuffled = {"#set": list(reversed(encoded["#set"]))}
    assert normalize(shuffled) == normalize(encoded)


def test_dfs_matches_bfs_counts() -> None:
    result = dfs(twophase.FAMILY.instantiate(), Options(symmetry=False))
    assert result.distinct_states == 288 and result.ok and result.strategy == "dfs"
    bounded = dfs(diehard.FAMILY.instantiate(), Options(max_depth=6))
    assert {p.name: p.status for p in bounded.properties}["BigIsGoal"] is Status.WITNESSED
    assert not bounded.complete or bounded.distinct_states == 16


def test_dfs_finds_mutant_violation() -> None:
    result = dfs(twophase.FAMILY.instantiate(mutant="commit_without_all_prepared"), Options())
    assert result.result == "violation"


def test_simulation_same_seed_same_walks() -> None:
    model = twophase.FAMILY.instantiate(overrides={"RM": 5})
    first = simulate(model, Options(), traces=30, depth=20, seed=3)
    second = simulate(model, Options(), traces=30, depth=20, seed=3)
    assert first.distinct_states == second.distinct_states
    assert first.coverage == second.coverage
    assert not first.complete
