"""The SSCR vector family: its verifier catches damage in every group."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from vigilnet.vectors._sscr_family import SSCR_FAMILY

DOCUMENT = json.loads((REPO_ROOT / "vectors" / "sscr_test.json").read_text(encoding="utf-8"))


def _first(kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    group = next(g for g in DOCUMENT["testGroups"] if g["type"] == kind)
    test = next(t for t in group["tests"] if t["result"] == "valid")
    return copy.deepcopy(group), copy.deepcopy(test)


def _bump_llr(test: dict[str, Any]) -> None:
    test["merged"][0]["llrSum"] += 1


def _add_instead_of_max(test: dict[str, Any]) -> None:
    test["merged"][0]["count"] *= 3


def _phi_off_by_one(test: dict[str, Any]) -> None:
    test["phi"] += 1


def _deadline_off_by_one(test: dict[str, Any]) -> None:
    test["deadline"] -= 1


def _final_flipped(test: dict[str, Any]) -> None:
    test["final"] = not test["final"]


@pytest.mark.parametrize(
    ("kind", "damage"),
    [
        ("CrdtMerge", _bump_llr),
        ("CrdtMerge", _add_instead_of_max),
        ("PhiAccrual", _phi_off_by_one),
        ("StalenessDeadline", _deadline_off_by_one),
        ("Finality", _final_flipped),
    ],
)
def test_damage_is_reported(kind: str, damage: Callable[[dict[str, Any]], None]) -> None:
    group, test = _first(kind)
    assert SSCR_FAMILY.verify_case(group, test) is None
    damage(test)
    assert SSCR_FAMILY.verify_case(group, test) is not None


def test_duplicate_delta_case_keeps_one_copy() -> None:
    group = next(g for g in DOCUMENT["testGroups"] if g["type"] == "CrdtMerge")
    case = next(t for t in group["tests"] if t["flags"] == ["DuplicateDelta"])
    assert len(case["deltas"]) == 3
    assert case["merged"] == case["deltas"][0]


def test_invalid_cases_are_refused() -> None:
    invalid = [
        (g, t) for g in DOCUMENT["testGroups"] for t in g["tests"] if t["result"] == "invalid"
    ]
    assert len(invalid) == 2
    for group, test in invalid:
        assert SSCR_FAMILY.verify_case(group, test) is None
        assert SSCR_FAMILY.verify_case(group, {**test, "result": "valid"}) is not None
