"""Vector family ``shamir_shares``: k-of-n sharing over GF(2^8), dealer-signed.

Each group is one dealer (an Ed25519 public key) and the splits it made from
fixed seeds; a test offers a list of shares and records the secret they
recover, or that they must be refused (a corrupted, foreign, duplicate,
missing or inconsistent share).  The field is GF(2^8) with the AES modulus
``x^8 + x^4 + x^3 + x + 1``; share ``x`` is the evaluation point (1..n); the
secret is the polynomial at 0; each share's tag is the dealer's signature on
``sign_bytes(vigilnet/crypto/shamir-share/v1, {set_id, threshold, total, x,
y})``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from vigilnet.crypto import SigningKey, VerifyKey
from vigilnet.crypto._shamir import Share, ShareError, recover, split
from vigilnet.vectors._envelope import Case, Family, Group, Note, hex_string

__all__ = ["SHAMIR_FAMILY"]

_DEALER = SigningKey(hashlib.sha256(b"vigilnet shamir vectors: dealer").digest())
_OTHER_DEALER = SigningKey(hashlib.sha256(b"vigilnet shamir vectors: another dealer").digest())

_NOTES = {
    "Recover": Note(
        bug_type="BASIC", description="Any k distinct shares of one split recover the secret."
    ),
    "ExtraShares": Note(
        bug_type="BASIC",
        description="More than k shares: the extra ones agree with the polynomial through the first k.",
    ),
    "Corrupted": Note(
        bug_type="INTEGRITY",
        description="One byte of a share changed: its tag no longer verifies.",
        effect="Without the tag check a wrong secret is recovered silently.",
    ),
    "ForeignShare": Note(
        bug_type="INTEGRITY",
        description="A share of another split by the same dealer (another set id).",
        effect="Mixing splits recovers garbage.",
    ),
    "OtherDealer": Note(bug_type="INTEGRITY", description="A share tagged by another dealer."),
    "TooFew": Note(bug_type="EDGE_CASE", description="k - 1 shares."),
    "Duplicate": Note(
        bug_type="EDGE_CASE",
        description="The same share twice: k shares but k - 1 points.",
        effect="Interpolating over a repeated point divides by zero or recovers a wrong secret.",
    ),
    "Inconsistent": Note(
        bug_type="INTEGRITY",
        description="A share the dealer signed that lies off the polynomial of the others (a cheating dealer), offered as an extra share.",
    ),
}


def _stream(label: str) -> Callable[[int], bytes]:
    counter = [0]

    def draw(n: int) -> bytes:
        counter[0] += 1
        return hashlib.shake_256(f"vigilnet shamir vectors: {label} {counter[0]}".encode()).digest(
            n
        )

    return draw


def _case(comment: str, flag: str, shares: list[Share], secret: bytes | None) -> Case:
    return Case(
        comment=comment,
        result="valid" if secret is not None else "invalid",
        flags=(flag,),
        fields={"shares": [s.to_json() for s in shares], "secret": secret.hex() if secret else ""},
    )


def _resign(share: Share, dealer: SigningKey) -> Share:
    return replace(share, tag=dealer.sign(share.sign_bytes()))


def _build() -> Iterator[Group]:
    for k, n, secret in [
        (3, 5, hashlib.sha256(b"a 32-byte seed").digest()),
        (2, 3, b"\x00"),
        (1, 1, b"\xff\x00\x01"),
        (5, 5, bytes(range(16))),
    ]:
        shares = split(secret, k, n, _DEALER, _stream(f"{k} of {n}"))
        other = split(secret, k, n, _DEALER, _stream(f"{k} of {n}, again"))
        cases = [
            _case(f"shares {[s.x for s in shares[:k]]}", "Recover", list(shares[:k]), secret),
            _case(
                f"shares {[s.x for s in shares[n - k :]][::-1]}",
                "Recover",
                list(shares[n - k :])[::-1],
                secret,
            ),
        ]
        if n > k:
            cases.append(_case(f"all {n} shares", "ExtraShares", list(shares), secret))
        if k > 1:
            cases.append(
                _case(f"only {k - 1} shares, {k} needed", "TooFew", list(shares[: k - 1]), None)
            )
            cases.append(_case("share 1 twice", "Duplicate", [shares[0], *shares[: k - 1]], None))
            cases.append(
                _case("a share of another split", "ForeignShare", [other[0], *shares[1:k]], None)
            )
        flipped = replace(shares[0], y=bytes([shares[0].y[0] ^ 1]) + shares[0].y[1:])
        cases.append(
            _case("share 1 with its first byte flipped", "Corrupted", [flipped, *shares[1:k]], None)
        )
        cases.append(
            _case(
                "share 1 tagged by another dealer",
                "OtherDealer",
                [_resign(shares[0], _OTHER_DEALER), *shares[1:k]],
                None,
            )
        )
        if n > k:
            liar = _resign(
                replace(shares[k], y=bytes([shares[k].y[0] ^ 0x80]) + shares[k].y[1:]), _DEALER
            )
            cases.append(
                _case(
                    f"shares 1..{k} and an inconsistent share {k + 1}",
                    "Inconsistent",
                    [*shares[:k], liar],
                    None,
                )
            )
        yield Group(
            type="ShamirShares",
            fields={"dealer": bytes(_DEALER.verify_key).hex(), "threshold": k, "total": n},
            cases=tuple(cases),
        )


def _share_from(data: Mapping[str, Any]) -> Share:
    return Share.from_json(dict(data))


def _verify(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    dealer = VerifyKey(bytes.fromhex(group["dealer"]))
    try:
        secret = recover([_share_from(s) for s in test["shares"]], dealer)
    except ShareError as exc:
        return None if test["result"] == "invalid" else f"refused: {exc}"
    if test["result"] == "invalid":
        return "recovered a secret from shares that must be refused"
    return None if secret.hex() == test["secret"] else f"recovered {secret.hex()}"


_SHARE = {
    "type": "object",
    "properties": {
        "setId": hex_string("16 bytes naming the split"),
        "threshold": {"type": "integer", "minimum": 1, "maximum": 255},
        "total": {"type": "integer", "minimum": 1, "maximum": 255},
        "x": {"type": "integer", "minimum": 1, "maximum": 255},
        "y": hex_string("the polynomials at x, one byte per secret byte"),
        "tag": hex_string("the dealer's signature"),
    },
    "required": ["setId", "threshold", "total", "x", "y", "tag"],
    "additionalProperties": False,
}

SHAMIR_FAMILY = Family(
    name="shamir_shares",
    algorithm="vigilnet k-of-n Shamir sharing over GF(2^8), dealer-signed shares",
    header=(
        "GF(2^8) with modulus x^8 + x^4 + x^3 + x + 1; one polynomial of degree k - 1 per secret byte;",
        "share x holds the polynomials at x; the secret is at 0 (Lagrange interpolation over the first k by x).",
        "Check every tag (the dealer's Ed25519 signature on sign_bytes(vigilnet/crypto/shamir-share/v1,",
        "{set_id, threshold, total, x, y})), one set id and parameters, distinct x, at least k shares,",
        "and that every extra share lies on the polynomial; refuse otherwise.",
    ),
    notes=_NOTES,
    group_schema={
        "type": {"enum": ["ShamirShares"]},
        "properties": {
            "dealer": hex_string("the dealer's Ed25519 public key"),
            "threshold": {"type": "integer", "minimum": 1},
            "total": {"type": "integer", "minimum": 1},
        },
    },
    test_schema={
        "properties": {
            "shares": {"type": "array", "items": _SHARE},
            "secret": hex_string("the recovered secret; empty when the shares must be refused"),
        },
        "required": ["shares", "secret"],
    },
    build=_build,
    verify_case=_verify,
)
