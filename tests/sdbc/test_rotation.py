"""Keys that change between epochs (``Start.members``, ``Start.key``): the
epoch runs and is certified under the new keys only, a message signed under
a key of the last epoch is refused, and a bad rotation changes nothing."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from vigilnet.crypto import SigningKey
from vigilnet.errors import LocalProtocolError
from vigilnet.protocols.sdbc import (
    PREVOTE,
    BadMessage,
    Cluster,
    Receive,
    Start,
    make_config,
    sign_vote,
    step,
)

SEEDS = [hashlib.sha256(b"vigilnet sdbc rotation hub %d" % i).digest() for i in range(5)]
CONFIG, KEYS = make_config(SEEDS)
NEW = [SigningKey(hashlib.sha256(b"rotated %d" % i).digest()) for i in range(5)]
SUMMARIES = {h: (10 + h, 3 * h, -h) for h in range(5)}


def rotated_cluster() -> Cluster:
    c = Cluster(config=CONFIG, keys=KEYS, correct=tuple(range(5)))
    c.run_epoch(1, SUMMARIES)
    c.run_epoch(2, SUMMARIES, rotate_to=NEW)
    return c


def test_the_epoch_after_a_rotation_is_decided_and_certified_under_the_new_keys() -> None:
    c = rotated_cluster()
    new_config = CONFIG.with_members(tuple(k.verify_key for k in NEW))
    assert new_config.config_hash != CONFIG.config_hash
    for h in range(5):
        first, second = c.decisions[h]
        first.certificate.verify(CONFIG)
        second.certificate.verify(new_config)
        assert second.certificate.config_hash == new_config.config_hash
        with pytest.raises(Exception, match="config"):
            second.certificate.verify(CONFIG)
        assert c.nodes[h].key is NEW[h]
    # every message of epoch 2 was signed by a new key, none by an old one
    for m in c.sent:
        if m.epoch == 2:
            assert bytes(NEW[m.hub].verify_key) != bytes(KEYS[m.hub].verify_key)
            assert m.config_hash == new_config.config_hash


def test_a_vote_under_the_rotated_out_key_is_refused_and_changes_nothing() -> None:
    c = Cluster(config=CONFIG, keys=KEYS, correct=tuple(range(5)))
    c.run_epoch(1, SUMMARIES)
    c.start(2, SUMMARIES, rotate_to=NEW)
    node = c.nodes[0]
    new_config = node.config
    # hub 3's old key signs a well-formed prevote for epoch 2 under the new
    # configuration's hash: the signature is checked against hub 3's key of
    # epoch 2, so it is refused
    stale = sign_vote(KEYS[3], new_config, PREVOTE, 2, 0, 3, None)
    with pytest.raises(BadMessage, match="bad signature"):
        step(node, Receive(message=stale))
    fresh = sign_vote(NEW[3], new_config, PREVOTE, 2, 0, 3, None)
    after, _ = step(node, Receive(message=fresh))
    assert fresh in after.votes and stale not in after.votes
    # a vote under the old configuration (old hash, old key) is refused too
    old = sign_vote(KEYS[3], CONFIG, PREVOTE, 2, 0, 3, None)
    with pytest.raises(BadMessage):
        step(node, Receive(message=old))


def test_a_rotation_that_does_not_fit_is_refused() -> None:
    c = Cluster(config=CONFIG, keys=KEYS, correct=tuple(range(5)))
    c.run_epoch(1, SUMMARIES)
    node = c.nodes[0]
    members = tuple(k.verify_key for k in NEW)
    # own key not the new member key
    with pytest.raises(LocalProtocolError, match="not this hub's member key"):
        step(node, Start(epoch=2, summary=SUMMARIES[0], members=members, key=KEYS[0]))
    with pytest.raises(LocalProtocolError, match="not this hub's member key"):
        step(node, Start(epoch=2, summary=SUMMARIES[0], members=members))
    # another number of hubs
    with pytest.raises(LocalProtocolError, match="one per hub"):
        step(node, Start(epoch=2, summary=SUMMARIES[0], members=members[:4], key=NEW[0]))
    with pytest.raises(LocalProtocolError, match="one per hub"):
        step(node, Start(epoch=2, summary=SUMMARIES[0], members=(*members[:4], b"x" * 32)))  # type: ignore[arg-type]
    # the node is as it was: epoch 2 still starts under the old keys
    assert c.nodes[0] is node and node.epoch == 1
    started, _ = step(node, Start(epoch=2, summary=SUMMARIES[0]))
    assert started.config == CONFIG and started.key is KEYS[0]


def test_only_the_keys_change_with_the_members() -> None:
    new_config = CONFIG.with_members(tuple(k.verify_key for k in NEW))
    assert replace(new_config, members=CONFIG.members) == CONFIG
    assert new_config.quorum == CONFIG.quorum and new_config.f_safe == CONFIG.f_safe
