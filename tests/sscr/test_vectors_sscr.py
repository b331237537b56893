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


def _signature_damaged(test: dict[str, Any]) -> None:
    test["signature"] = ("%02x" % (int(test["signature"][:2], 16) ^ 1)) + test["signature"][2:]


def _sign_bytes_for_another_agent(test: dict[str, Any]) -> None:
    test["agent"] += "-other"


def _message_truncated(test: dict[str, Any]) -> None:
    test["message"] = test["message"][:-2]


def _limit_lowered(test: dict[str, Any]) -> None:
    test["maxEntries"] = 0
    test["maxConvictions"] = 0


@pytest.mark.parametrize(
    ("kind", "damage"),
    [
        ("CrdtMerge", _bump_llr),
        ("CrdtMerge", _add_instead_of_max),
        ("PhiAccrual", _phi_off_by_one),
        ("StalenessDeadline", _deadline_off_by_one),
        ("Finality", _final_flipped),
        ("EntrySignature", _signature_damaged),
        ("EntrySignature", _sign_bytes_for_another_agent),
        ("WireDecode", _message_truncated),
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
    # CrdtMerge and StalenessDeadline one each, EntrySignature 5, WireDecode 17
    assert len(invalid) == 24
    for group, test in invalid:
        assert SSCR_FAMILY.verify_case(group, test) is None
        assert SSCR_FAMILY.verify_case(group, {**test, "result": "valid"}) is not None


def test_every_wire_type_has_a_valid_vector_and_the_limits_matter() -> None:
    from vigilnet.protocols.sscr import MESSAGE_TYPES

    group = next(g for g in DOCUMENT["testGroups"] if g["type"] == "WireDecode")
    valid = [t for t in group["tests"] if t["result"] == "valid"]
    assert sorted(t["messageType"] for t in valid) == sorted(MESSAGE_TYPES)
    response = next(t for t in valid if t["messageType"] == "sync_response")
    assert SSCR_FAMILY.verify_case(group, response) is None
    tight = copy.deepcopy(response)
    _limit_lowered(tight)
    assert SSCR_FAMILY.verify_case(group, tight) is not None
