"""NodeStore: a slot signed once stays signed with that value across reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import cbor2

from vigilnet.crypto import SigningKey
from vigilnet.protocols import sdbc
from vigilnet.runtime._persist import NodeStore
from vigilnet.store._audit import EntryKind


def _vote(key: SigningKey, config: sdbc.HubConfig, value_hash: bytes | None) -> sdbc.Vote:
    return sdbc.sign_vote(key, config, sdbc.PREVOTE, 3, 1, 0, value_hash)


def test_a_conflicting_vote_is_refused_after_reopen(tmp_path: Path) -> None:
    config, keys = sdbc.make_config([bytes([i]) * 32 for i in range(5)])
    store = NodeStore(tmp_path, "hub-0", keys[0])
    first = _vote(keys[0], config, b"\x01" * 32)
    assert store.admit_signed(first)
    assert store.admit_signed(first)  # re-sending the same vote is fine
    store.close()
    reopened = NodeStore(tmp_path, "hub-0", keys[0])
    assert not reopened.admit_signed(_vote(keys[0], config, b"\x02" * 32))
    assert not reopened.admit_signed(_vote(keys[0], config, None))
    assert reopened.last_epoch() == 3
    assert reopened.signed(3) == [sdbc.encode_message(first)]


def _crashed_decision(folder: Path, epoch: int) -> None:
    """The state a ``kill -9`` leaves between state.db's commit and the
    audit log's: the decision row is there, not yet marked audited."""
    with sqlite3.connect(folder / "state.db") as db:
        db.execute(
            "INSERT INTO decisions VALUES (?, 0, ?, '1/2', ?, 1000, 0)",
            (epoch, bytes([epoch]) * 32, cbor2.dumps([])),
        )


def test_a_decision_committed_but_not_audited_is_audited_on_reopen(tmp_path: Path) -> None:
    _, keys = sdbc.make_config([bytes([i]) * 32 for i in range(5)])
    NodeStore(tmp_path, "hub-0", keys[0]).close()
    _crashed_decision(tmp_path, 7)
    store = NodeStore(tmp_path, "hub-0", keys[0])
    assert store.audit.size == 1
    assert store.audit.body(0) == {
        "epoch": 7, "round": 0, "value_hash": bytes([7]) * 32, "aggregate": "1/2"
    }  # fmt: skip
    store.close()
    assert NodeStore(tmp_path, "hub-0", keys[0]).audit.size == 1  # once, not on every open


def test_a_decision_audited_but_not_marked_is_not_audited_twice(tmp_path: Path) -> None:
    _, keys = sdbc.make_config([bytes([i]) * 32 for i in range(5)])
    store = NodeStore(tmp_path, "hub-0", keys[0])
    body = {"epoch": 8, "round": 0, "value_hash": bytes([8]) * 32, "aggregate": "1/2"}
    store.audit.append(EntryKind.DECISION, body, 1000)  # appended, then killed
    store.close()
    _crashed_decision(tmp_path, 8)
    assert NodeStore(tmp_path, "hub-0", keys[0]).audit.size == 1
