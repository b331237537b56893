"""The audit_log vectors: each refusal for the reason its flag names; the
valid checkpoints are the ones a real AuditLog signs over the same entries;
a verifier that skips the leaf recomputation fails the case aimed at it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from vigilnet.crypto import SigningKey
from vigilnet.encoding import decode
from vigilnet.store import AuditLog, EntryKind
from vigilnet.vectors import _audit_family
from vigilnet.vectors._audit_family import AUDIT_FAMILY

REASON = {
    "BadSignature": "signature",
    "WrongOrigin": "not for origin",
    "MalformedCheckpoint": "size or root malformed",
}


def _cases() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    data = json.loads((REPO_ROOT / "vectors" / "audit_log_test.json").read_text())
    return [(g, t) for g in data["testGroups"] for t in g["tests"]]


def test_every_case_agrees_and_every_flag_is_used() -> None:
    assert {t["flags"][0] for _g, t in _cases()} == set(AUDIT_FAMILY.notes)
    for group, test in _cases():
        assert AUDIT_FAMILY.verify_case(group, test) is None, test["tcId"]


@pytest.mark.parametrize(
    ("group", "test"),
    [c for c in _cases() if c[1]["action"] == "checkpoint" and c[1]["result"] == "invalid"],
    ids=lambda x: str(x.get("tcId", "")),
)
def test_a_bad_checkpoint_is_refused_for_its_reason(
    group: dict[str, Any], test: dict[str, Any]
) -> None:
    with pytest.raises(Exception, match=REASON[test["flags"][0]]):
        _audit_family._open(group, test["checkpoint"])


def test_the_checkpoints_are_those_a_real_log_signs(tmp_path: Path) -> None:
    """Append the group's entries to an AuditLog with the vectors' key: its
    checkpoint at size 7 signs the same text as the valid vector."""
    key = SigningKey(hashlib.sha256(b"vigilnet audit vectors: log key").digest())
    group, valid = next((g, t) for g, t in _cases() if t["comment"] == "the checkpoint at size 7")
    with AuditLog(tmp_path / "a.db", group["origin"], key, create=True) as log:
        for entry in group["entries"]:
            log.append(
                EntryKind(entry["kind"]), decode(bytes.fromhex(entry["body"])), entry["timeMs"]
            )
        note = log.checkpoint().note
    assert note.split("\n\n")[0] == valid["checkpoint"].split("\n\n")[0]


def test_a_verifier_that_skips_the_leaf_recomputation_fails_wrong_leaf(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Taking the leaf of the proof's claimed position from a cache built
    before the body changed stands for 'trust the stored leaf hash'."""
    good_group = _cases()[0][0]
    monkeypatch.setattr(
        _audit_family, "_leaf", lambda group, index: _original_leaf(good_group, index)
    )
    failing = {t["comment"] for g, t in _cases() if AUDIT_FAMILY.verify_case(g, t) is not None}
    assert "entry 3 whose body was changed (penalty 5 to 0)" in failing


_original_leaf = _audit_family._leaf
