"""Signing and verifying protocol messages over domain-separated sign bytes.

A protocol message is never signed as bare bytes: the signature covers
``vigilnet.encoding.sign_bytes(tag, fields)``, which is
``tag || canonical_cbor(fields)`` with ``tag`` from the one tag registry, so
a signature on one message type can never be replayed as another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from vigilnet.crypto._keys import SigningKey, VerifyKey

if TYPE_CHECKING:
    from vigilnet.encoding import CborValue, MessageTag

__all__ = ["sign_message", "verify_message"]


def sign_message(
    signing_key: SigningKey, tag: MessageTag, fields: Mapping[str, CborValue]
) -> bytes:
    """The 64-byte signature of ``sign_bytes(tag, fields)``.

    Raises :class:`~vigilnet.errors.LocalProtocolError` when ``tag`` is not
    registered or ``fields`` does not carry exactly the tag's field names.
    """
    from vigilnet.encoding import sign_bytes

    return signing_key.sign(sign_bytes(tag, fields))


def verify_message(
    verify_key: VerifyKey,
    tag: MessageTag,
    fields: Mapping[str, CborValue],
    signature: bytes,
) -> None:
    """Return if ``signature`` is valid on ``sign_bytes(tag, fields)`` under
    the pinned rule; raise :class:`~vigilnet.errors.BadSignatureError`
    otherwise."""
    from vigilnet.encoding import sign_bytes

    verify_key.verify(sign_bytes(tag, fields), signature)
