"""C2SP signed notes against the specification's own example."""

from __future__ import annotations

import pytest

from tests.conftest import load_external
from vigilnet.crypto import SigningKey
from vigilnet.store import NoteError, NoteVerifier, open_note, sign_note

_EXAMPLE = load_external("c2sp_signed_note_example.json")


def test_the_c2sp_example_verifies_and_its_key_round_trips() -> None:
    verifier = NoteVerifier.parse(_EXAMPLE["vkey"])
    assert verifier.format() == _EXAMPLE["vkey"]
    text, signers = open_note(_EXAMPLE["note"], [verifier])
    assert text == _EXAMPLE["note_text"] and signers == ("example.com/foo",)


def test_the_example_altered_is_refused() -> None:
    verifier = NoteVerifier.parse(_EXAMPLE["vkey"])
    note = _EXAMPLE["note"]
    with pytest.raises(NoteError, match="does not verify"):
        open_note(note.replace("example message", "exampel message"), [verifier])
    other = NoteVerifier.of("example.com/foo", SigningKey(bytes(32)))
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_note(note, [other])
    with pytest.raises(NoteError, match="blank line"):
        open_note(_EXAMPLE["note_text"], [verifier])
    with pytest.raises(NoteError, match="key id"):
        NoteVerifier.parse(_EXAMPLE["vkey"].replace("+530d903a+", "+530d903b+"))


def test_our_notes_have_the_example_shape() -> None:
    key = SigningKey(bytes(range(32)))
    note = sign_note("hello\n", "example.com/foo", key)
    assert note.startswith("hello\n\n\u2014 example.com/foo ")
    assert open_note(note, [NoteVerifier.of("example.com/foo", key)])[0] == "hello\n"
