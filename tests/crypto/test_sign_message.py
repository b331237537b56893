"""Protocol messages are signed over domain-separated sign bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigilnet.crypto import SigningKey, sign_message, verify_message
from vigilnet.encoding import MessageTag, encode, register_tag, sign_bytes
from vigilnet.errors import BadSignatureError, LocalProtocolError

_FIELDS = {"epoch", "config_hash", "round", "value_hash"}
PREVOTE = register_tag("crypto-test", "prevote", 1, _FIELDS)
PRECOMMIT = register_tag("crypto-test", "precommit", 1, _FIELDS)
PREVOTE_V2 = register_tag("crypto-test", "prevote", 2, _FIELDS)

_SIGNER = SigningKey(b"\x11" * 32)


def _vote(epoch: int, round_: int) -> dict[str, int | bytes]:
    return {
        "epoch": epoch,
        "config_hash": b"\xc0" * 32,
        "round": round_,
        "value_hash": b"\x0a" * 32,
    }


@given(epoch=st.integers(0, 2**63), round_=st.integers(0, 1000))
def test_sign_verify_message_round_trip(epoch: int, round_: int) -> None:
    fields = _vote(epoch, round_)
    signature = sign_message(_SIGNER, PREVOTE, fields)
    assert signature == _SIGNER.sign(PREVOTE.prefix + encode(fields))
    verify_message(_SIGNER.verify_key, PREVOTE, fields, signature)
    with pytest.raises(BadSignatureError):
        verify_message(_SIGNER.verify_key, PREVOTE, _vote(epoch, round_ + 1), signature)


@pytest.mark.parametrize("other", [PRECOMMIT, PREVOTE_V2], ids=["other message", "other version"])
def test_signature_does_not_carry_over_to_another_tag(other: MessageTag) -> None:
    fields = _vote(7, 0)
    signature = sign_message(_SIGNER, PREVOTE, fields)
    assert sign_bytes(PREVOTE, fields) != sign_bytes(other, fields)
    with pytest.raises(BadSignatureError):
        verify_message(_SIGNER.verify_key, other, fields, signature)


def test_unregistered_tag_or_wrong_fields_are_local_errors() -> None:
    stray = MessageTag(
        protocol="crypto-test", message="stray", version=1, fields=frozenset(_FIELDS)
    )
    with pytest.raises(LocalProtocolError):
        sign_message(_SIGNER, stray, _vote(1, 1))
    with pytest.raises(LocalProtocolError):
        sign_message(_SIGNER, PREVOTE, {"epoch": 1})
