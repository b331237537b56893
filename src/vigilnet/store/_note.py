"""C2SP signed notes with Ed25519 (https://c2sp.org/signed-note).

A note is UTF-8 text that ends in a newline, a blank line, and one or more
signature lines ``"\u2014 " name " " base64(key_id || signature) "\\n"``.  For
Ed25519 the signature is over the text (final newline included) and the key
id is ``SHA-256(name || "\\n" || 0x01 || public_key)[:4]``.  A verifier key
is written ``name+<key id hex>+base64(0x01 || public_key)``.

Opening a note checks, in order: size (at most :data:`MAX_NOTE_BYTES`),
UTF-8, the blank line, every signature line's shape, and then each line
whose (name, key id) is a known verifier: its signature must verify.
Unknown signers are ignored (as the spec says); a note with no signature
by a known verifier is refused.  Every refusal is a :class:`NoteError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from vigilnet.crypto import SigningKey, VerifyKey, verify_signature
from vigilnet.errors import InvalidKeyError, RemoteProtocolError

__all__ = ["MAX_NOTE_BYTES", "NoteError", "NoteVerifier", "open_note", "sign_note"]

MAX_NOTE_BYTES = 1 << 20
MAX_SIGNATURES = 100
_DASH = "\u2014 "
_ED25519 = b"\x01"


class NoteError(RemoteProtocolError):
    """A signed note that is malformed or not signed by a known key."""


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


def note_key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + _ED25519 + public_key).digest()[:4]


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteVerifier:
    """A note verifier key: name, key id and Ed25519 public key."""

    name: str
    public_key: VerifyKey

    def __post_init__(self) -> None:
        _check_name(self.name)

    @property
    def key_id(self) -> bytes:
        return note_key_id(self.name, self.public_key.key)

    @classmethod
    def of(cls, name: str, key: SigningKey | VerifyKey) -> NoteVerifier:
        public = key.verify_key if isinstance(key, SigningKey) else key
        return cls(name=name, public_key=public)

    @classmethod
    def parse(cls, vkey: str) -> NoteVerifier:
        """Parse ``name+hex8+base64(0x01 || key)``."""
        parts = vkey.split("+")
        if len(parts) != 3 or len(parts[1]) != 8:
            raise NoteError(f"verifier key {vkey!r} is not name+keyid+key")
        name, hex_id, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
            key_id = bytes.fromhex(hex_id)
        except (binascii.Error, ValueError):
            raise NoteError(f"verifier key {vkey!r}: bad encoding") from None
        if len(raw) != 33 or raw[:1] != _ED25519:
            raise NoteError(f"verifier key {vkey!r}: not an Ed25519 key")
        try:
            verifier = cls(name=name, public_key=VerifyKey(raw[1:]))
        except InvalidKeyError as exc:
            raise NoteError(f"verifier key {vkey!r}: {exc}") from None
        if verifier.key_id != key_id:
            raise NoteError(f"verifier key {vkey!r}: key id does not match the key")
        return verifier

    def format(self) -> str:
        encoded = base64.b64encode(_ED25519 + self.public_key.key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if "\n\n" in text:
        raise NoteError("note text must not contain a blank line")


def sign_note(text: str, name: str, key: SigningKey) -> str:
    """The note ``text`` signed by ``key`` under ``name``."""
    _check_name(name)
    _check_text(text)
    signature = key.sign(text.encode("utf-8"))
    blob = base64.b64encode(note_key_id(name, key.verify_key.key) + signature).decode("ascii")
    return f"{text}\n{_DASH}{name} {blob}\n"


def open_note(note: str | bytes, verifiers: Sequence[NoteVerifier]) -> tuple[str, tuple[str, ...]]:
    """The text of ``note`` and the names of the known verifiers that signed it."""
    raw = note.encode("utf-8") if isinstance(note, str) else note
    if len(raw) > MAX_NOTE_BYTES:
        raise NoteError(f"note larger than {MAX_NOTE_BYTES} bytes")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("note is not UTF-8") from None
    cut = decoded.rfind("\n\n")
    if cut < 0:
        raise NoteError("note has no blank line before its signatures")
    text, block = decoded[: cut + 1], decoded[cut + 2 :]
    _check_text(text)
    if not block.endswith("\n"):
        raise NoteError("signature block must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"more than {MAX_SIGNATURES} signatures")
    known = {(v.name, v.key_id): v for v in verifiers}
    signed: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith(_DASH):
            raise NoteError(f"signature line {number} does not start with an em dash")
        fields = line[len(_DASH) :].split(" ")
        if len(fields) != 2:
            raise NoteError(f"signature line {number} is not 'name signature'")
        name, blob = fields
        try:
            data = base64.b64decode(blob, validate=True)
        except binascii.Error:
            raise NoteError(f"signature line {number}: bad base64") from None
        if len(data) < 5:
            raise NoteError(f"signature line {number}: too short")
        verifier = known.get((name, data[:4]))
        if verifier is None:
            continue
        if len(data) != 68 or not verify_signature(
            verifier.public_key.key, text.encode("utf-8"), data[4:]
        ):
            raise NoteError(f"signature by {name} does not verify")
        signed.append(name)
    if not signed:
        raise NoteError("no signature by a known key")
    return text, tuple(signed)
