"""NodeStore: a slot signed once stays signed with that value across reopen."""

from __future__ import annotations

from pathlib import Path

from vigilnet.crypto import SigningKey
from vigilnet.protocols import sdbc
from vigilnet.runtime._persist import NodeStore


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
