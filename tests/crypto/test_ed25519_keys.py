"""Keys: round trips, malformed input, value semantics, key ids."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigilnet.crypto import (
    KEY_ID_TAG,
    SigningKey,
    VerifyKey,
    key_id,
    verify_signature,
)
from vigilnet.errors import BadSignatureError, CryptoError, InvalidKeyError

seeds = st.binary(min_size=32, max_size=32)
messages = st.binary(max_size=256)


@given(seed=seeds, message=messages)
def test_sign_verify_round_trip(seed: bytes, message: bytes) -> None:
    signing_key = SigningKey(seed)
    signature = signing_key.sign(message)
    assert len(signature) == 64
    assert signing_key.sign(message) == signature  # RFC 8032 signing is deterministic
    signing_key.verify_key.verify(message, signature)
    assert verify_signature(signing_key.verify_key.key, message, signature)


@given(seed=seeds, message=messages, bit=st.integers(0, 64 * 8 - 1))
def test_any_flipped_signature_bit_is_rejected(seed: bytes, message: bytes, bit: int) -> None:
    signing_key = SigningKey(seed)
    signature = bytearray(signing_key.sign(message))
    signature[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(BadSignatureError):
        signing_key.verify_key.verify(message, bytes(signature))


@given(seed=seeds, message=messages, other=messages)
def test_other_message_is_rejected(seed: bytes, message: bytes, other: bytes) -> None:
    signing_key = SigningKey(seed)
    signature = signing_key.sign(message)
    if other != message:
        with pytest.raises(BadSignatureError):
            signing_key.verify_key.verify(other, signature)


@given(seed=seeds, other_seed=seeds, message=messages)
def test_other_key_is_rejected(seed: bytes, other_seed: bytes, message: bytes) -> None:
    signature = SigningKey(seed).sign(message)
    other = SigningKey(other_seed).verify_key
    if other_seed != seed:
        with pytest.raises(BadSignatureError):
            other.verify(message, signature)


@pytest.mark.parametrize("length", [0, 1, 31, 33, 64])
def test_wrong_length_keys_are_invalid(length: int) -> None:
    with pytest.raises(InvalidKeyError):
        VerifyKey(b"\x01" * length)
    with pytest.raises(InvalidKeyError):
        SigningKey(b"\x01" * length)
    with pytest.raises(InvalidKeyError):
        key_id(b"\x01" * length)


@pytest.mark.parametrize("value", ["00" * 32, 12345, None, [0] * 32])
def test_non_bytes_keys_are_invalid(value: object) -> None:
    with pytest.raises(InvalidKeyError):
        VerifyKey(value)  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError):
        SigningKey(value)  # type: ignore[arg-type]


def test_invalid_key_error_is_a_value_error_and_a_crypto_error() -> None:
    assert issubclass(InvalidKeyError, ValueError)
    assert issubclass(InvalidKeyError, CryptoError)
    assert issubclass(BadSignatureError, ValueError)
    assert issubclass(BadSignatureError, CryptoError)


def test_bytearray_and_memoryview_keys_are_copied_to_bytes() -> None:
    raw = bytearray(SigningKey(b"\x07" * 32).verify_key.key)
    key = VerifyKey(raw)  # type: ignore[arg-type]
    raw[0] ^= 1
    assert type(key.key) is bytes
    assert key == SigningKey(b"\x07" * 32).verify_key
    assert VerifyKey(memoryview(key.key)) == key  # type: ignore[arg-type]


@pytest.mark.parametrize("length", [0, 32, 63, 65, 128])
def test_wrong_length_signatures_are_bad(length: int) -> None:
    signing_key = SigningKey(b"\x02" * 32)
    good = signing_key.sign(b"m")
    wrong = (good * 2)[:length]
    with pytest.raises(BadSignatureError):
        signing_key.verify_key.verify(b"m", wrong)
    assert not verify_signature(signing_key.verify_key.key, b"m", wrong)


def test_non_bytes_messages_are_type_errors() -> None:
    signing_key = SigningKey(b"\x03" * 32)
    with pytest.raises(TypeError):
        signing_key.sign("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        signing_key.verify_key.verify("text", signing_key.sign(b"text"))  # type: ignore[arg-type]
    assert not verify_signature(signing_key.verify_key.key, "text", b"\x00" * 64)  # type: ignore[arg-type]


def test_small_order_key_constructs_but_never_verifies() -> None:
    # The identity point (y = 1) has order 1: with R = identity and S = 0 the
    # equation [S]B = R + [k]A holds for every message, so a verifier without
    # the small-order check accepts it.  The pinned rule rejects it.
    identity = (1).to_bytes(32, "little")
    key = VerifyKey(identity)
    with pytest.raises(BadSignatureError):
        key.verify(b"anything", identity + bytes(32))


def test_signing_key_repr_hides_the_seed() -> None:
    seed = bytes(range(32))
    signing_key = SigningKey(seed)
    text = repr(signing_key)
    assert seed.hex() not in text
    assert seed.hex()[:8] not in text
    assert signing_key.verify_key.key.hex() in text


def test_verify_key_repr_is_valid_python() -> None:
    key = SigningKey(b"\x05" * 32).verify_key
    assert eval(repr(key), {"VerifyKey": VerifyKey}) == key


def test_keys_are_frozen_hashable_values() -> None:
    first, again, other = SigningKey(b"\x01" * 32), SigningKey(b"\x01" * 32), SigningKey.generate()
    assert first == again and first != other
    assert hash(first) == hash(again)
    assert len({first, again, other}) == 2
    assert len({first.verify_key, again.verify_key, other.verify_key}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.seed = b"\x02" * 32  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.verify_key.key = b"\x02" * 32  # type: ignore[misc]
    assert bytes(first.verify_key) == first.verify_key.key


def test_signing_key_is_not_picklable() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(SigningKey(b"\x01" * 32))


def test_generate_gives_distinct_keys() -> None:
    assert len({SigningKey.generate().verify_key for _ in range(16)}) == 16


@given(seed=seeds)
def test_key_id_is_domain_separated_sha256(seed: bytes) -> None:
    verify_key = SigningKey(seed).verify_key
    expected = hashlib.sha256(b"vigilnet-key-id/ed25519/v1\x00" + verify_key.key).digest()
    assert KEY_ID_TAG == b"vigilnet-key-id/ed25519/v1\x00"
    assert key_id(verify_key) == expected == key_id(verify_key.key) == verify_key.key_id
    assert key_id(verify_key) != hashlib.sha256(verify_key.key).digest()


def test_key_ids_differ_between_keys() -> None:
    ids = {key_id(SigningKey(bytes([i]) * 32).verify_key) for i in range(64)}
    assert len(ids) == 64
