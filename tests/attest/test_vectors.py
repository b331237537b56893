"""The committed TPM quote vectors (captured from swtpm) through our verifier:
every case gets its recorded verdict, each invalid one for its own reason."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import REPO_ROOT
from vigilnet.vectors._attestation_family import ATTESTATION_FAMILY, _judge

FILE = REPO_ROOT / "vectors" / ATTESTATION_FAMILY.file_name

#: flag -> what the refusal must say
REASONS = {
    "WrongNonce": "extraData is not the verifier's nonce",
    "ChangedPcr": "PCR digest does not match",
    "TamperedAttest": "signature does not verify",
    "TamperedSignature": "signature does not verify|not ECDSA",
    "OtherKey": "signature does not verify",
    "WrongAkName": "qualifiedSigner",
    "Malformed": "magic|type is not|truncated|trailing",
    "Replay": "no outstanding challenge",
    "Stale": "stale",
}

DOCUMENT = json.loads(FILE.read_text())
CASES = [(g, t) for g in DOCUMENT["testGroups"] for t in g["tests"]]


@pytest.mark.parametrize(("group", "test"), CASES, ids=[f"tc{t['tcId']}" for _, t in CASES])
def test_case_verdict_and_reason(group: dict[str, object], test: dict[str, object]) -> None:
    refusal = _judge(group, test)
    if test["result"] == "valid":
        assert refusal is None
    else:
        (flag,) = test["flags"]  # type: ignore[misc]
        assert refusal is not None and re.search(REASONS[flag], refusal), refusal


def test_every_invalid_class_is_present() -> None:
    flags = {f for _, t in CASES for f in t["flags"]}  # type: ignore[attr-defined]
    assert flags == set(REASONS) | {"Valid"}
    assert sum(t["result"] == "valid" for _, t in CASES) >= 3
