"""``stable_fingerprint``: the generic engine's fingerprint for workers that
are separately started interpreters (``--backend ray``).  It must be the same
in every process (``hash()`` is not: strings are salted, and before Python
3.12 ``hash(None)`` is an address) and must identify exactly the states that
``hash()`` and ``==`` identify."""

from __future__ import annotations

import enum
import os
import subprocess
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import pytest
from vigilnet.models import sdbc, twophase

from vigilnet.checker._fingerprint import stable_fingerprint
from vigilnet.checker._trace import successors
from vigilnet.errors import ModelError


class Colour(enum.Enum):
    RED = 1
    BLUE = 2


@dataclass(frozen=True)
class Point:
    x: int
    label: str | None
    note: str = field(default="", compare=False)


def _states() -> list[object]:
    """Some TwoPhase (holding ``None``) and SDBC states, reached by BFS."""
    out: list[object] = []
    for model in (
        twophase.FAMILY.instantiate(overrides={"RM": 3}),
        sdbc.FAMILY.instantiate(config="n5f1"),
    ):
        level = list(model.init_states())
        for _ in range(4):
            out.extend(level)
            level = [nxt for s in level for _, _, nxt in successors(model, s)][:50]
    return out


_SCRIPT = """
import sys
from tests.checker.test_stable_fingerprint import _states
from vigilnet.checker._fingerprint import stable_fingerprint
print(" ".join(str(stable_fingerprint(s)) for s in _states()))
"""


def test_same_in_processes_with_other_salts() -> None:
    runs = []
    for seed in ("0", "1", "random"):
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(done.stdout.split())
    here = [str(stable_fingerprint(s)) for s in _states()]
    assert len(here) > 100
    assert runs[0] == runs[1] == runs[2] == here


def test_distinct_states_get_distinct_fingerprints() -> None:
    states = set(_states())
    assert len({stable_fingerprint(s) for s in states}) == len(states)


def test_equal_values_equal_fingerprints() -> None:
    same = [
        (1, True, 1.0, Fraction(1)),
        (Fraction(1, 2), 0.5),
        (frozenset({("a", 1), ("b", None)}), frozenset([("b", None), ("a", 1)])),
        (Point(1, None, "x"), Point(1, None, "y")),  # note is not compared
        (2**70, 2**70),
    ]
    for group in same:
        assert len({stable_fingerprint(v) for v in group}) == 1, group
    different = [
        0, 1, -1, 2**64, "", "1", b"1", None, (), (None,), ((),), frozenset(),
        frozenset({1}), (1, 2), (2, 1), Fraction(1, 3), 0.25, Colour.RED,
        Colour.BLUE, Point(1, None), Point(1, ""), Point(2, None), ("x", 1),
    ]  # fmt: skip
    assert len({stable_fingerprint(v) for v in different}) == len(different)


def test_unsupported_values_are_refused() -> None:
    class Opaque:
        pass

    with pytest.raises(ModelError, match="no stable fingerprint"):
        stable_fingerprint((1, Opaque()))
    with pytest.raises(ModelError, match="unhashable"):
        stable_fingerprint(Point(1, [1]))  # type: ignore[arg-type]
