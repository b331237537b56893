"""Operational keys: rotation under hub cosignatures, expiry, revocation,
recovery through the identity key from 3 of 5 shares, and a registry that
refuses every message under a key not valid at its epoch (and changes
nothing on a refusal)."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilnet.crypto import (
    KeyCertificate,
    KeyLifecycleError,
    KeyPolicy,
    KeyRegistry,
    Revocation,
    SigningKey,
    cosign,
    recover_signing_key,
    split_signing_key,
)
from vigilnet.encoding import register_tag, sign_bytes

HUBS = [SigningKey(hashlib.sha256(b"hub %d" % i).digest()) for i in range(5)]
POLICY = KeyPolicy(hubs=tuple(h.verify_key for h in HUBS), validity_epochs=1000)
IDENTITY = SigningKey(hashlib.sha256(b"identity of monitor-7").digest())
NODE = "monitor-7"
OPS = [SigningKey(hashlib.sha256(b"operational %d" % i).digest()) for i in range(6)]
OUTSIDER = SigningKey(hashlib.sha256(b"not a hub").digest())
PING = register_tag("test", "lifecycle-ping", 1, {"epoch", "text"})


def cosigned(event: KeyCertificate | Revocation, hubs: tuple[int, ...] = (0, 1, 2, 3)):  # type: ignore[no-untyped-def]
    return event.with_cosignatures({h: cosign(HUBS[h], event) for h in hubs})


def cert(
    serial: int,
    valid_from: int,
    valid_until: int,
    signed_by: SigningKey,
    signer: str = "previous",
    key: SigningKey | None = None,
) -> KeyCertificate:
    return KeyCertificate.issue(
        node=NODE,
        serial=serial,
        key=(key or OPS[serial]).verify_key,
        valid_from=valid_from,
        valid_until=valid_until,
        signed_by=signed_by,
        signer=signer,
        policy=POLICY,
    )


def registry_with_two_keys() -> KeyRegistry:
    """Key 0 valid in [0, 1000), rotated to key 1 from epoch 600 to 1600."""
    registry = KeyRegistry(POLICY)
    registry.enroll(NODE, IDENTITY.verify_key)
    registry.add(cosigned(cert(0, 0, 1000, IDENTITY, "identity")))
    registry.add(cosigned(cert(1, 600, 1600, OPS[0])))
    return registry


def ping(key: SigningKey, epoch: int) -> tuple[dict[str, object], bytes]:
    fields: dict[str, object] = {"epoch": epoch, "text": "hello"}
    return fields, key.sign(sign_bytes(PING, fields))  # type: ignore[arg-type]


def test_the_key_valid_at_each_epoch() -> None:
    registry = registry_with_two_keys()
    assert registry.key_at(NODE, 0) == OPS[0].verify_key
    assert registry.key_at(NODE, 599) == OPS[0].verify_key
    assert registry.key_at(NODE, 600) == OPS[1].verify_key  # rotated out at 600
    assert registry.key_at(NODE, 1599) == OPS[1].verify_key
    with pytest.raises(
        KeyLifecycleError, match=r"^expired: key 1 of 'monitor-7' ended at epoch 1600"
    ):
        registry.key_at(NODE, 1600)
    with pytest.raises(KeyLifecycleError, match="unknown node 'hub-9'"):
        registry.key_at("hub-9", 5)


def test_a_message_verifies_only_under_the_key_valid_at_its_epoch() -> None:
    registry = registry_with_two_keys()
    fields, sig = ping(OPS[0], 10)
    registry.verify(NODE, 10, PING, fields, sig)
    # the same (old) key after the rotation: refused
    fields, sig = ping(OPS[0], 700)
    with pytest.raises(KeyLifecycleError, match="bad signature"):
        registry.verify(NODE, 700, PING, fields, sig)
    # the new key before it is valid: no key at all yet
    late = KeyRegistry(POLICY)
    late.enroll(NODE, IDENTITY.verify_key)
    late.add(cosigned(cert(0, 50, 100, IDENTITY, "identity")))
    fields, sig = ping(OPS[0], 10)
    with pytest.raises(KeyLifecycleError, match=r"^not yet valid"):
        late.verify(NODE, 10, PING, fields, sig)
    assert late.refusals == 1 and registry.refusals == 1


def test_revocation_voids_a_key_and_recovery_goes_through_three_shares() -> None:
    registry = registry_with_two_keys()
    shares = split_signing_key(IDENTITY, 3, 5, random=_counter_random())
    revocation = cosigned(
        Revocation(node=NODE, serial=1, from_epoch=900, hubs_hash=POLICY.hubs_hash)
    )
    registry.revoke(revocation)
    assert registry.key_at(NODE, 899) == OPS[1].verify_key
    with pytest.raises(
        KeyLifecycleError, match=r"^revoked: key 1 of 'monitor-7' is void from epoch 900"
    ):
        registry.key_at(NODE, 900)
    # the revoked key cannot sign its successor ...
    with pytest.raises(KeyLifecycleError, match="only the identity key signs its successor"):
        registry.add(cosigned(cert(2, 900, 1900, OPS[1])))
    # ... the identity key, recovered from any 3 of the 5 shares, does
    recovered = recover_signing_key([shares[4], shares[0], shares[2]], IDENTITY.verify_key)
    registry.add(cosigned(cert(2, 900, 1900, recovered, "identity")))
    assert registry.key_at(NODE, 900) == OPS[2].verify_key
    assert [c.serial for c in registry.certificates(NODE)] == [0, 1, 2]


def _counter_random():  # type: ignore[no-untyped-def]
    state = [0]

    def draw(n: int) -> bytes:
        state[0] += 1
        return hashlib.shake_256(b"shares %d" % state[0]).digest(n)

    return draw


def refused_certificates() -> list[tuple[str, KeyCertificate]]:
    """Each a certificate that must not become key 2 (key 1 is current)."""
    good = cert(2, 700, 1700, OPS[1])
    other_policy = KeyPolicy(hubs=POLICY.hubs, threshold=Fraction(4, 5), validity_epochs=1000)
    return [
        ("serial 1 out of order", cosigned(cert(1, 600, 1600, OPS[0]))),  # replay
        ("serial 3 out of order", cosigned(cert(3, 700, 1700, OPS[1]))),  # skip
        ("exceeds the policy's 1000", cosigned(cert(2, 700, 1701, OPS[1]))),
        ("before the previous key's", cosigned(cert(2, 599, 1500, OPS[1]))),
        ("key reuse", cosigned(cert(2, 700, 1700, OPS[1], key=OPS[0]))),
        ("does not verify under its previous key", cosigned(cert(2, 700, 1700, OPS[0]))),
        (
            "does not verify under its identity key",
            cosigned(cert(2, 700, 1700, OPS[1], "identity")),
        ),
        ("3 cosignatures, the quorum is 4", cosigned(good, (0, 1, 2))),
        (
            "cosigner 5 is not one of the 5 hubs",
            good.with_cosignatures(
                {h: cosign(HUBS[h], good) for h in (0, 1, 2)} | {5: cosign(OUTSIDER, good)}
            ),
        ),
        (
            "the cosignature of hub 3 does not verify",
            good.with_cosignatures(
                {h: cosign(HUBS[h if h != 3 else 4], good) for h in (0, 1, 2, 3)}
            ),
        ),
        (
            # the node's own signature offered as a cosignature: another domain
            "the cosignature of hub 0 does not verify",
            good.with_cosignatures(
                {0: good.signature} | {h: cosign(HUBS[h], good) for h in (1, 2, 3)}
            ),
        ),
        (
            "another hub set or policy",
            cosigned(
                KeyCertificate.issue(
                    node=NODE,
                    serial=2,
                    key=OPS[2].verify_key,
                    valid_from=700,
                    valid_until=1700,
                    signed_by=OPS[1],
                    signer="previous",
                    policy=other_policy,
                )
            ),
        ),
        # a field changed after signing (valid_until extended)
        ("does not verify under its previous key", replace(cosigned(good), valid_until=1699)),
    ]


@pytest.mark.parametrize(
    ("reason", "bad"), refused_certificates(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_each_bad_certificate_is_refused_and_changes_nothing(
    reason: str, bad: KeyCertificate
) -> None:
    registry = registry_with_two_keys()
    before = (copy.deepcopy(registry.certificates(NODE)), registry.key_at(NODE, 1000))
    with pytest.raises(KeyLifecycleError, match=reason):
        registry.add(bad)
    assert (registry.certificates(NODE), registry.key_at(NODE, 1000)) == before
    assert registry.refusals == 1
    registry.add(cosigned(cert(2, 700, 1700, OPS[1])))  # the good one still goes in
    assert registry.key_at(NODE, 1000) == OPS[2].verify_key


def test_a_duplicate_cosigner_is_refused_not_counted_twice() -> None:
    good = cert(2, 700, 1700, OPS[1])
    sig = cosign(HUBS[0], good)
    with pytest.raises(KeyLifecycleError, match="strictly increasing"):
        replace(
            good,
            cosignatures=(
                (0, sig),
                (0, sig),
                (1, cosign(HUBS[1], good)),
                (2, cosign(HUBS[2], good)),
            ),
        )


def test_revocations_need_a_quorum_and_change_nothing_when_refused() -> None:
    registry = registry_with_two_keys()
    base = Revocation(node=NODE, serial=1, from_epoch=900, hubs_hash=POLICY.hubs_hash)
    with pytest.raises(KeyLifecycleError, match="3 cosignatures, the quorum is 4"):
        registry.revoke(cosigned(base, (0, 1, 2)))
    with pytest.raises(KeyLifecycleError, match="no key of serial 5"):
        registry.revoke(cosigned(replace(base, serial=5)))
    # a revocation cosignature is not a certificate cosignature
    forged = base.with_cosignatures(
        {h: cosign(HUBS[h], cert(1, 600, 1600, OPS[0])) for h in (0, 1, 2, 3)}
    )
    with pytest.raises(KeyLifecycleError, match="does not verify"):
        registry.revoke(forged)
    assert registry.key_at(NODE, 1200) == OPS[1].verify_key


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"node": "Monitor 7"}, "node name must match"),
        ({"serial": -1}, "serial must be an integer"),
        ({"valid_from": True}, "valid_from must be an integer"),
        ({"valid_until": 5}, "valid_until must be after valid_from"),
        ({"signer": "someone"}, "signer must be one of"),
        ({"hubs_hash": b"x"}, "hubs_hash must be 32 bytes"),
        ({"signature": b"x" * 63}, "signature must be 64 bytes"),
        ({"cosignatures": ((0, b"x"),)}, "a cosignature must be 64 bytes"),
    ],
)
def test_malformed_certificates_are_refused_by_name(
    kwargs: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {
        "node": NODE,
        "serial": 0,
        "key": OPS[0].verify_key,
        "valid_from": 10,
        "valid_until": 20,
        "signer": "identity",
        "hubs_hash": bytes(32),
        "signature": bytes(64),
    }
    with pytest.raises(KeyLifecycleError, match=message):
        KeyCertificate(**(fields | kwargs))  # type: ignore[arg-type]


def test_a_node_is_enrolled_once() -> None:
    registry = KeyRegistry(POLICY)
    registry.enroll(NODE, IDENTITY.verify_key)
    with pytest.raises(KeyLifecycleError, match="already enrolled"):
        registry.enroll(NODE, OPS[0].verify_key)
    with pytest.raises(
        KeyLifecycleError, match="the first key of a node is signed by its identity key"
    ):
        registry.add(cosigned(cert(0, 0, 100, IDENTITY, "previous")))


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 1000)), min_size=1, max_size=5),
    revoke=st.one_of(st.none(), st.tuples(st.integers(0, 4), st.integers(0, 3000))),
    probe=st.integers(0, 3000),
)
def test_key_at_agrees_with_the_rules(
    steps: list[tuple[int, int]], revoke: tuple[int, int] | None, probe: int
) -> None:
    """A chain of rotations (each starting ``gap`` epochs after the previous
    one, valid ``length`` epochs) and at most one revocation: key_at answers
    exactly the key whose interval, cut at its successor's start and at the
    revocation, holds the probe epoch."""
    registry = KeyRegistry(POLICY)
    registry.enroll(NODE, IDENTITY.verify_key)
    starts: list[tuple[int, int]] = []
    start = 0
    for serial, (gap, length) in enumerate(steps):
        start += gap
        signer = IDENTITY if serial == 0 else OPS[serial - 1]
        registry.add(
            cosigned(
                cert(
                    serial, start, start + length, signer, "identity" if serial == 0 else "previous"
                )
            )
        )
        starts.append((start, start + length))
    revoked: dict[int, int] = {}
    if revoke is not None and revoke[0] < len(steps):
        registry.revoke(
            cosigned(
                Revocation(
                    node=NODE, serial=revoke[0], from_epoch=revoke[1], hubs_hash=POLICY.hubs_hash
                )
            )
        )
        revoked[revoke[0]] = revoke[1]
    expected = None
    for serial, (lo, hi) in enumerate(starts):
        nxt = starts[serial + 1][0] if serial + 1 < len(starts) else None
        end = hi if nxt is None else min(hi, nxt)
        if serial in revoked:
            end = min(end, revoked[serial])
        if lo <= probe < end and (nxt is None or probe < nxt):
            expected = OPS[serial].verify_key
    if expected is None:
        with pytest.raises(KeyLifecycleError):
            registry.key_at(NODE, probe)
    else:
        assert registry.key_at(NODE, probe) == expected


def test_json_round_trips_and_hostile_json_is_refused_by_name() -> None:
    good = cosigned(cert(2, 700, 1700, OPS[1]))
    assert KeyCertificate.from_json(good.to_json()) == good
    rev = cosigned(Revocation(node=NODE, serial=1, from_epoch=900, hubs_hash=POLICY.hubs_hash))
    assert Revocation.from_json(rev.to_json()) == rev
    assert KeyPolicy.from_json(POLICY.to_json()) == POLICY
    data = good.to_json()
    cases: list[tuple[object, str]] = [
        ([data], "a certificate is a JSON object"),
        ({k: v for k, v in data.items() if k != "serial"}, r"missing \['serial'\]"),
        (data | {"extra": 1}, r"unknown \['extra'\]"),
        (data | {"key": data["key"].upper()}, "key must be lower-case hex"),
        (data | {"key": "00" * 31}, "key: "),
        (data | {"signBytes": "00"}, "signBytes differs"),
        (data | {"validUntil": 1699}, "signBytes differs"),
        (data | {"cosignatures": {"0": "x"}}, "cosignatures must be a list"),
        (data | {"cosignatures": [{"hub": 0}]}, r"missing \['signature'\]"),
        (data | {"serial": "2"}, "serial must be an integer"),
    ]
    for bad, message in cases:
        with pytest.raises(KeyLifecycleError, match=message):
            KeyCertificate.from_json(bad)
    policy = POLICY.to_json()
    for bad, message in [
        (policy | {"hubsHash": "00" * 32}, "hubsHash differs"),
        (policy | {"threshold": "1/2"}, "policy: "),
        (policy | {"threshold": "3"}, "must be at most 1"),
        (policy | {"threshold": [3, 4]}, "threshold: "),
        (policy | {"hubs": "ab"}, "hubs must be a list"),
        (policy | {"validityEpochs": 0}, "validity_epochs must be an integer"),
    ]:
        with pytest.raises(KeyLifecycleError, match=message):
            KeyPolicy.from_json(bad)


_HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=80),
    st.text(alphabet="0123456789abcdefABCDEF", max_size=140),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(which=st.sampled_from(["certificate", "revocation", "policy"]), data=st.data())
def test_hostile_json_raises_only_the_refusal_and_changes_nothing(
    which: str, data: st.DataObject
) -> None:
    """Any field of a certificate, revocation or policy replaced by a hostile
    value, dropped, or joined by an unknown one: from_json raises only
    KeyLifecycleError (a RemoteProtocolError), and a registry offered what
    did parse is left as it was unless the event is accepted."""
    good = {
        "certificate": cosigned(cert(2, 700, 1700, OPS[1])).to_json(),
        "revocation": cosigned(
            Revocation(node=NODE, serial=1, from_epoch=900, hubs_hash=POLICY.hubs_hash)
        ).to_json(),
        "policy": POLICY.to_json(),
    }[which]
    hostile = dict(good)
    action = data.draw(st.sampled_from(["replace", "drop", "add"]))
    key = data.draw(st.sampled_from(sorted(good)))
    if action == "replace":
        hostile[key] = data.draw(_HOSTILE)
    elif action == "drop":
        del hostile[key]
    else:
        hostile[data.draw(st.text(min_size=1, max_size=8))] = data.draw(_HOSTILE)
    reader = {"certificate": KeyCertificate, "revocation": Revocation, "policy": KeyPolicy}[which]
    try:
        parsed = reader.from_json(hostile)
    except KeyLifecycleError:
        return
    assert isinstance(parsed, reader)
    if which == "policy":
        return
    registry = registry_with_two_keys()
    before = (registry.certificates(NODE), registry.key_at(NODE, 1200))
    try:
        if isinstance(parsed, KeyCertificate):
            registry.add(parsed)
        else:
            registry.revoke(parsed)  # type: ignore[arg-type]
    except KeyLifecycleError:
        assert (registry.certificates(NODE), registry.key_at(NODE, 1200)) == before
        return
    assert hostile == good or parsed.to_json() == good  # only the untouched event is accepted


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(["setId", "threshold", "total", "x", "y", "tag"]), value=_HOSTILE)
def test_hostile_share_json_raises_only_share_error(key: str, value: object) -> None:
    from vigilnet.crypto import Share, ShareError, recover

    shares = split_signing_key(IDENTITY, 3, 5, random=_counter_random())
    data = shares[0].to_json() | {key: value}
    if data == shares[0].to_json():
        return  # the same share: nothing hostile drawn
    try:
        bad = Share.from_json(data)
    except ShareError:
        return
    with pytest.raises(ShareError):
        recover([bad, shares[1], shares[2]], IDENTITY.verify_key)
