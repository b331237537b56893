"""The shamir_shares vectors: each refusal happens for the reason its flag
names, and a recoverer without the tag check or the consistency check
fails the cases aimed at it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from vigilnet.crypto import Share, ShareError, VerifyKey, _shamir, recover
from vigilnet.vectors._shamir_family import SHAMIR_FAMILY, _share_from

REASON = {
    "TooFew": r"shares, \d+ needed",
    "Duplicate": "duplicate share points",
    "ForeignShare": "belongs to set",
    "Corrupted": "is not signed by the dealer",
    "OtherDealer": "is not signed by the dealer",
    "Inconsistent": "is inconsistent with the others",
}


def _cases() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    data = json.loads((REPO_ROOT / "vectors" / "shamir_shares_test.json").read_text())
    return [(g, t) for g in data["testGroups"] for t in g["tests"]]


@pytest.mark.parametrize(("group", "test"), _cases(), ids=lambda x: str(x.get("tcId", "")))
def test_each_case_is_decided_for_its_reason(group: dict[str, Any], test: dict[str, Any]) -> None:
    dealer = VerifyKey(bytes.fromhex(group["dealer"]))
    shares = [_share_from(s) for s in test["shares"]]
    if test["result"] == "valid":
        assert recover(shares, dealer).hex() == test["secret"]
    else:
        with pytest.raises(ShareError, match=REASON[test["flags"][0]]):
            recover(shares, dealer)


def test_every_flag_is_used() -> None:
    assert {t["flags"][0] for _g, t in _cases()} == set(SHAMIR_FAMILY.notes)


def _failing() -> set[str]:
    return {t["flags"][0] for g, t in _cases() if SHAMIR_FAMILY.verify_case(g, t) is not None}


def test_a_recoverer_without_tag_checks_fails_the_integrity_cases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _failing() == set()
    monkeypatch.setattr(Share, "check", lambda self, dealer: None)
    assert {"Corrupted", "OtherDealer"} <= _failing()


def test_a_recoverer_without_the_consistency_check_fails_inconsistent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every check but the one on extra shares: only the cheating dealer's
    share gets through."""

    def recover_without_check(shares: list[Share], dealer: VerifyKey) -> bytes:
        for share in shares:
            share.check(dealer)
        k = shares[0].threshold
        if len({s.x for s in shares}) != len(shares) or len(shares) < k:
            raise ShareError("refused")
        if len({s.set_id for s in shares}) != 1:
            raise ShareError("refused")
        ordered = sorted(shares, key=lambda s: s.x)
        return _shamir._interpolate_at([(s.x, s.y) for s in ordered[:k]], 0)

    monkeypatch.setattr("vigilnet.vectors._shamir_family.recover", recover_without_check)
    assert _failing() == {"Inconsistent"}
