"""The key_certificates vectors: each invalid case is refused for the reason
its flag names (not by accident), and an implementation with one check
left out fails the cases aimed at that check."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from vigilnet.crypto import KeyLifecycleError, KeyPolicy, KeyRegistry
from vigilnet.vectors._key_family import KEY_FAMILY, _cert_from, _registry

FILE = REPO_ROOT / "vectors" / "key_certificates_test.json"

REASON = {
    "OutOfOrder": "out of order",
    "TooLong": "exceeds the policy's",
    "Backdated": "before the previous key's",
    "KeyReuse": "key reuse",
    "BadSignature": "the node's signature does not verify",
    "FirstNotIdentity": "signed by its identity key",
    "TooFewCosigners": "the quorum is 4",
    "DuplicateCosigner": "strictly increasing",
    "UnknownCosigner": "is not one of the 5 hubs",
    "BadCosignature": "the cosignature of hub 3 does not verify",
    "WrongDomain": "the cosignature of hub 0 does not verify",
    "WrongPolicy": "another hub set or policy",
    "RevokedSigner": "previous key is revoked",
    "NotYetValid": "^not yet valid",
    "Expired": "^expired",
    "Revoked": "^revoked",
}


def _cases() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    data = json.loads(FILE.read_text())
    return [(g, t) for g in data["testGroups"] for t in g["tests"]]


@pytest.mark.parametrize(("group", "test"), _cases(), ids=lambda x: str(x.get("tcId", "")))
def test_each_case_is_decided_for_its_reason(group: dict[str, Any], test: dict[str, Any]) -> None:
    registry = _registry(group)
    [flag] = test["flags"]
    if test["action"] == "add":
        if test["result"] == "valid":
            registry.add(_cert_from(group["node"], test["certificate"]))
            return
        with pytest.raises(KeyLifecycleError, match=REASON[flag]):
            registry.add(_cert_from(group["node"], test["certificate"]))
    elif test["result"] == "valid":
        assert bytes(registry.key_at(group["node"], test["epoch"])).hex() == test["key"]
    else:
        with pytest.raises(KeyLifecycleError, match=REASON[flag]):
            registry.key_at(group["node"], test["epoch"])


def test_every_flag_is_used_and_every_refusal_has_a_reason() -> None:
    used = {t["flags"][0] for _g, t in _cases()}
    assert used == set(KEY_FAMILY.notes)
    assert {t["flags"][0] for _g, t in _cases() if t["result"] == "invalid"} == set(REASON)


def _failing_flags() -> set[str]:
    failing = set()
    for group, test in _cases():
        if KEY_FAMILY.verify_case(group, test) is not None:
            failing.add(test["flags"][0])
    return failing


@pytest.mark.parametrize(
    ("bug", "caught_by"),
    [
        (
            "no cosignature check",
            {"TooFewCosigners", "UnknownCosigner", "BadCosignature", "WrongDomain"},
        ),
        ("no serial check", {"OutOfOrder"}),
        ("no revocation", {"Revoked", "RevokedSigner"}),
    ],
)
def test_an_implementation_missing_a_check_fails_its_cases(
    bug: str, caught_by: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _failing_flags() == set()
    if bug == "no cosignature check":
        monkeypatch.setattr(KeyPolicy, "check_cosignatures", lambda *args: None)
    elif bug == "no serial check":
        original = KeyRegistry._check_certificate

        def lenient(self: KeyRegistry, cert: Any) -> None:
            chain = self._chains[cert.node]
            if cert.serial < len(chain.certificates):
                return  # accepts a replay
            original(self, cert)

        monkeypatch.setattr(KeyRegistry, "_check_certificate", lenient)
    else:
        monkeypatch.setattr(KeyRegistry, "revoke", lambda self, revocation: None)
    assert caught_by <= _failing_flags()
