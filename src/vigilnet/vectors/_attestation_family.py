"""Vector family ``tpm_quotes``: real TPM 2.0 quotes from swtpm and their verdicts.

The raw material (:mod:`._attestation_capture`) was captured from two
swtpm instances by ``python -m tests.attest.capture_vectors``: the
attestation key (AK) of TPM A (DER SubjectPublicKeyInfo) and its qualified
name, the SHA-256 values of PCRs 0, 1 and 7 (the policy), two quotes over
them, one made after PCR 7 was extended, and one by TPM B's AK.  Every case
below is one of those quotes, unchanged or changed in one way, checked
against the group's AK, AK name, nonce and policy.  ``action = "quote"``
runs :func:`~vigilnet.attest.verify_quote`; ``action = "admission"``
challenges with the nonce at time 0 and answers ``answers`` times at
``answerAt`` (:class:`~vigilnet.attest.Admission`, ``maxAge``): the result
is the last answer's verdict, every earlier one must be admitted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vigilnet.attest import Admission, Policy, QuoteError, verify_quote
from vigilnet.attest._quote import TPM_ALG_SHA256
from vigilnet.vectors._attestation_capture import CAPTURE
from vigilnet.vectors._envelope import Case, Family, Group, Note, hex_string

__all__ = ["ATTESTATION_FAMILY"]

_NOTES = {
    "Valid": Note(bug_type="BASIC", description="A quote from swtpm as the TPM made it."),
    "WrongNonce": Note(
        bug_type="AUTH_BYPASS",
        description="The quote's extraData is not the verifier's nonce.",
        effect="An old quote of a node passes for a fresh one.",
    ),
    "ChangedPcr": Note(
        bug_type="AUTH_BYPASS",
        description="The quoted PCR values are not the policy's (PCR 7 extended with other software).",
        effect="A node running other software is admitted.",
    ),
    "TamperedAttest": Note(
        bug_type="INTEGRITY",
        description="One byte of the signed TPMS_ATTEST changed after signing.",
    ),
    "TamperedSignature": Note(
        bug_type="INTEGRITY", description="The TPMT_SIGNATURE changed (r or s, or its header)."
    ),
    "OtherKey": Note(
        bug_type="AUTH_BYPASS",
        description="The quote is checked under another TPM's attestation key.",
    ),
    "WrongAkName": Note(
        bug_type="AUTH_BYPASS",
        description="qualifiedSigner is not the expected AK's qualified name.",
        effect="A quote by another key of the TPM (or another TPM) passes.",
    ),
    "Malformed": Note(
        bug_type="EDGE_CASE",
        description="TPMS_ATTEST that is not a quote: truncated, trailing bytes, wrong magic or type.",
    ),
    "Replay": Note(
        bug_type="AUTH_BYPASS",
        description="The same quote answers the same challenge a second time.",
        effect="A recorded quote admits a node again after its software changed.",
    ),
    "Stale": Note(
        bug_type="AUTH_BYPASS",
        description="The answer comes more than maxAge ticks after the challenge.",
    ),
}


def _flip(data: str, offset: int) -> str:
    raw = bytearray.fromhex(data)
    raw[offset] ^= 0x01
    return raw.hex()


def _quote(comment: str, flag: str, name: str, **changes: Any) -> Case:
    nonce, attest, signature = CAPTURE["quotes"][name]
    fields: dict[str, Any] = {"action": "quote", "nonce": nonce, "attest": attest,
                              "signature": signature}  # fmt: skip
    fields.update(changes)
    return Case(
        comment=comment,
        result="valid" if flag == "Valid" else "invalid",
        flags=(flag,),
        fields=fields,
    )


def _admission(comment: str, flag: str, max_age: int, answer_at: int, answers: int) -> Case:
    case = _quote(comment, flag, "good1")
    fields = dict(case.fields)
    fields.update(action="admission", maxAge=max_age, answerAt=answer_at, answers=answers)
    return Case(comment=comment, result=case.result, flags=case.flags, fields=fields)


def _build() -> Iterator[Group]:
    attest1 = CAPTURE["quotes"]["good1"][1]
    sig1 = CAPTURE["quotes"]["good1"][2]
    nonce2 = CAPTURE["quotes"]["good2"][0]
    signer_len = int(attest1[12:16], 16)
    extra_at = 6 + 2 + signer_len + 2  # offset of extraData's first byte
    sig_r = 4 + 2  # the first byte of r
    if len(sig1) != 2 * (6 + 32 + 2 + 32):
        raise ValueError("the captured signature's r and s are not 32 bytes each")
    changed_extra = _flip(attest1, extra_at)
    cases = [
        _quote("quote 1 over PCRs 0, 1, 7", "Valid", "good1"),
        _quote("quote 2 over PCRs 0, 1, 7", "Valid", "good2"),
        _quote("quote 1 against quote 2's nonce", "WrongNonce", "good1", nonce=nonce2),
        _quote(
            "extraData's first byte changed, the nonce with it",
            "TamperedAttest",
            "good1",
            attest=changed_extra,
            nonce=changed_extra[2 * extra_at : 2 * extra_at + 64],
        ),
        _quote("a quote made after PCR 7 was extended", "ChangedPcr", "changed_pcr"),
        _quote(
            "quote 1 against a policy whose PCR 7 differs",
            "ChangedPcr",
            "good1",
            pcrs={**CAPTURE["pcrs"], "7": "00" * 31 + "01"},
        ),
        _quote(
            "the last byte of pcrDigest changed",
            "TamperedAttest",
            "good1",
            attest=_flip(attest1, len(attest1) // 2 - 1),
        ),
        _quote(
            "a clock byte changed",
            "TamperedAttest",
            "good1",
            attest=_flip(attest1, extra_at + 32 + 7),
        ),
        _quote(
            "the first byte of r changed",
            "TamperedSignature",
            "good1",
            signature=_flip(sig1, sig_r),
        ),
        _quote(
            "the last byte of s changed",
            "TamperedSignature",
            "good1",
            signature=_flip(sig1, len(sig1) // 2 - 1),
        ),
        _quote(
            "r and s swapped",
            "TamperedSignature",
            "good1",
            signature=sig1[:8] + sig1[8 + 4 + 64 :] + sig1[8 : 8 + 4 + 64],
        ),
        _quote(
            "signature algorithm RSASSA instead of ECDSA",
            "TamperedSignature",
            "good1",
            signature="0014" + sig1[4:],
        ),
        _quote("quote 1 under TPM B's AK", "OtherKey", "good1", key=CAPTURE["other_ak"]),
        _quote(
            "TPM B's quote under its own AK, A's name expected",
            "WrongAkName",
            "other_tpm",
            key=CAPTURE["other_ak"],
        ),
        _quote(
            "quote 1 with TPM B's AK name expected",
            "WrongAkName",
            "good1",
            akName=CAPTURE["other_ak_name"],
        ),
        _quote("TPMS_ATTEST truncated by one byte", "Malformed", "good1", attest=attest1[:-2]),
        _quote("a trailing byte", "Malformed", "good1", attest=attest1 + "00"),
        _quote("magic changed", "Malformed", "good1", attest=_flip(attest1, 0)),
        _quote(
            "type TPM_ST_ATTEST_CERTIFY instead of QUOTE",
            "Malformed",
            "good1",
            attest=attest1[:8] + "8017" + attest1[12:],
        ),
        _admission("answered at once", "Valid", 5, 0, 1),
        _admission("answered maxAge ticks later", "Valid", 5, 5, 1),
        _admission("answered maxAge + 1 ticks later", "Stale", 5, 6, 1),
        _admission("the same quote answers the challenge twice", "Replay", 5, 1, 2),
    ]
    yield Group(
        type="TpmQuote",
        fields={"ak": CAPTURE["ak"], "akName": CAPTURE["ak_name"], "pcrs": CAPTURE["pcrs"]},
        cases=tuple(cases),
    )


def _key(data: str) -> ec.EllipticCurvePublicKey:
    key = serialization.load_der_public_key(bytes.fromhex(data))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise QuoteError("attestation key is not an EC key")
    return key


def _judge(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    """The refusal, or None when the last answer is admitted."""
    key = _key(test.get("key", group["ak"]))
    name = bytes.fromhex(test.get("akName", group["akName"]))
    pcrs = {(TPM_ALG_SHA256, int(i)): bytes.fromhex(v)
            for i, v in test.get("pcrs", group["pcrs"]).items()}  # fmt: skip
    nonce = bytes.fromhex(test["nonce"])
    attest, signature = bytes.fromhex(test["attest"]), bytes.fromhex(test["signature"])
    if test["action"] == "quote":
        try:
            verify_quote(attest, signature, key, nonce=nonce, expected_pcrs=pcrs, ak_name=name)
        except QuoteError as exc:
            return str(exc)
        return None
    admission = Admission(Policy(pcrs, max_age=test["maxAge"]))
    admission.challenge("node", nonce, now=0)
    for i in range(test["answers"]):
        verdict = admission.answer("node", nonce, attest, signature, key, name, test["answerAt"])
        if i < test["answers"] - 1 and not verdict.admitted:
            raise QuoteError(f"answer {i + 1} refused before the last: {verdict.reason}")
    return None if verdict.admitted else verdict.reason


def _verify(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    try:
        refusal = _judge(group, test)
    except (QuoteError, ValueError) as exc:
        return f"error: {exc}"
    if refusal is None:
        return None if test["result"] == "valid" else "accepted what must be refused"
    return None if test["result"] == "invalid" else f"refused: {refusal}"


_HEX_KEY = hex_string("DER SubjectPublicKeyInfo of an ECC P-256 attestation key")

ATTESTATION_FAMILY = Family(
    name="tpm_quotes",
    algorithm="TPM 2.0 quotes (TPMS_ATTEST, ECDSA P-256/SHA-256) captured from swtpm, and admission on them",
    header=(
        "attest is the TPMS_ATTEST the TPM signed, signature its TPMT_SIGNATURE (TPM 2.0 Part 2 layouts).",
        "Verify: magic and type, extraData = nonce, qualifiedSigner = akName (nameAlg || SHA-256(TPM_RH_OWNER || name)),",
        "the ECDSA signature over attest under key (default: the group's ak), and pcrDigest = SHA-256 of the",
        "policy's PCR values (pcrs, SHA-256 bank) in selection order.  A test may override nonce, key, akName or pcrs.",
        "action admission: challenge with nonce at time 0, answer `answers` times at answerAt with maxAge;",
        "the result is the last answer's verdict, earlier answers admitted.",
    ),
    notes=_NOTES,
    group_schema={
        "type": {"enum": ["TpmQuote"]},
        "properties": {
            "ak": _HEX_KEY,
            "akName": hex_string("the AK's qualified name"),
            "pcrs": {
                "type": "object",
                "patternProperties": {"^[0-9]+$": hex_string("a SHA-256 PCR value")},
                "additionalProperties": False,
            },
        },
    },
    test_schema={
        "properties": {
            "action": {"enum": ["quote", "admission"]},
            "nonce": hex_string("the verifier's nonce"),
            "attest": hex_string("TPMS_ATTEST"),
            "signature": hex_string("TPMT_SIGNATURE"),
            "key": _HEX_KEY,
            "akName": hex_string("the expected qualified name, instead of the group's"),
            "pcrs": {
                "type": "object",
                "patternProperties": {"^[0-9]+$": hex_string("a SHA-256 PCR value")},
                "additionalProperties": False,
            },
            "maxAge": {"type": "integer", "minimum": 0},
            "answerAt": {"type": "integer", "minimum": 0},
            "answers": {"type": "integer", "minimum": 1},
        },
        "required": ["action", "nonce", "attest", "signature"],
    },
    build=_build,
    verify_case=_verify,
)
