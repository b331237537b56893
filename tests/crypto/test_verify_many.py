"""verify_many: same verdicts as one by one, never the same triple twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilnet.crypto import (
    BatchVerifier,
    SignatureItem,
    SigningKey,
    VerifyKey,
    _keys,
    default_verifier,
    verify_many,
    verify_signature,
)
from vigilnet.errors import LocalProtocolError

_SIGNERS = [SigningKey(bytes([index + 1]) * 32) for index in range(4)]


class _Counter:
    """Wraps the pinned rule and records every call (and its thread)."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, bytes, bytes]] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        with self._lock:
            self.calls.append((public_key, message, signature))
            self.threads.add(threading.current_thread().name)
        return verify_signature(public_key, message, signature)


@pytest.fixture
def counter(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Counter]:
    counting = _Counter()
    monkeypatch.setattr(_keys, "verify_signature", counting)
    yield counting


@st.composite
def signature_items(draw: st.DrawFn) -> SignatureItem:
    """A good signature, or one broken in one of the ways a peer might."""
    signer = draw(st.sampled_from(_SIGNERS))
    message = draw(st.binary(max_size=24))
    signature = signer.sign(message)
    public_key: VerifyKey | bytes = signer.verify_key.key
    kind = draw(
        st.sampled_from(
            ["good", "good", "flip", "message", "key", "short", "long", "bad_key", "zero", "vk"]
        )
    )
    if kind == "flip":
        bit = draw(st.integers(0, 511))
        flipped = bytearray(signature)
        flipped[bit // 8] ^= 1 << (bit % 8)
        signature = bytes(flipped)
    elif kind == "message":
        message += b"!"
    elif kind == "key":
        public_key = draw(st.sampled_from([s for s in _SIGNERS if s != signer])).verify_key.key
    elif kind == "short":
        signature = signature[: draw(st.integers(0, 63))]
    elif kind == "long":
        signature += b"\x00"
    elif kind == "bad_key":
        public_key = signer.verify_key.key[:31]
    elif kind == "zero":
        signature = bytes(64)
    elif kind == "vk":
        public_key = signer.verify_key
    return (public_key, message, signature)


def _one_by_one(items: list[SignatureItem]) -> list[bool]:
    return [
        verify_signature(key.key if isinstance(key, VerifyKey) else key, message, signature)
        for key, message, signature in items
    ]


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(signature_items(), max_size=40).flatmap(
        lambda base: st.lists(st.sampled_from(base), max_size=80) if base else st.just(base)
    ),
    workers=st.integers(1, 3),
    threshold=st.integers(1, 20),
    cache=st.integers(0, 8),
)
def test_batch_equals_one_by_one(
    items: list[SignatureItem], workers: int, threshold: int, cache: int
) -> None:
    expected = _one_by_one(items)
    with BatchVerifier(
        workers=workers, parallel_threshold=threshold, max_cache_entries=cache
    ) as verifier:
        assert verifier.verify_many(items) == expected  # cold
        assert verifier.verify_many(items) == expected  # warm (or partly evicted)
        assert verifier.verify_many(list(reversed(items))) == expected[::-1]
        assert verifier.cache_info().size <= cache


def _distinct_items(count: int) -> list[SignatureItem]:
    items: list[SignatureItem] = []
    for index in range(count):
        signer = _SIGNERS[index % len(_SIGNERS)]
        message = b"epoch %d" % index
        signature = signer.sign(message)
        if index % 3 == 0:  # a third are bad: rejecting verdicts are cached too
            signature = signature[:-1] + bytes([signature[-1] ^ 0x40])
        items.append((signer.verify_key.key, message, signature))
    return items


def test_cache_never_verifies_a_triple_twice(counter: _Counter) -> None:
    items = _distinct_items(50)
    with BatchVerifier(workers=2, parallel_threshold=1) as verifier:
        first = verifier.verify_many(items)
        assert len(counter.calls) == 50
        assert len(set(counter.calls)) == 50
        assert verifier.verify_many(items) == first
        assert verifier.verify_many(items[10:20] + items[:5]) == first[10:20] + first[:5]
        assert len(counter.calls) == 50
        info = verifier.cache_info()
        assert (info.verified, info.hits, info.size) == (50, 65, 50)
        assert first.count(False) == 17


def test_duplicates_inside_one_batch_are_verified_once(counter: _Counter) -> None:
    items = _distinct_items(6) * 5
    with BatchVerifier(workers=2, parallel_threshold=1) as verifier:
        assert verifier.verify_many(items) == _one_by_one(items)
    assert len(counter.calls) == 6
    assert verifier.cache_info().hits == 24


def test_same_message_bytes_different_objects_hit(counter: _Counter) -> None:
    signer = _SIGNERS[0]
    message = b"x" * 100
    signature = signer.sign(message)
    with BatchVerifier() as verifier:
        assert verifier.verify_many([(signer.verify_key, message, signature)]) == [True]
        assert verifier.verify_many([(signer.verify_key.key, bytes(message), signature)]) == [True]
    assert len(counter.calls) == 1


def test_cache_is_bounded_lru(counter: _Counter) -> None:
    items = _distinct_items(10)
    with BatchVerifier(max_cache_entries=4, parallel_threshold=1000) as verifier:
        verifier.verify_many(items)
        assert verifier.cache_info().size == 4
        assert len(counter.calls) == 10
        verifier.verify_many(items[-4:])  # the four newest are cached
        assert len(counter.calls) == 10
        verifier.verify_many(items[:1])  # the oldest was evicted
        assert len(counter.calls) == 11
        verifier.verify_many(items[-3:])  # item[-4] was the least recently used, now gone
        assert len(counter.calls) == 11
        verifier.verify_many(items[-4:-3])
        assert len(counter.calls) == 12
        assert verifier.cache_info().size == 4


def test_zero_sized_cache_verifies_every_time(counter: _Counter) -> None:
    items = _distinct_items(5)
    with BatchVerifier(max_cache_entries=0) as verifier:
        verifier.verify_many(items)
        verifier.verify_many(items)
        assert verifier.cache_info().size == 0
    assert len(counter.calls) == 10


def test_malformed_triples_are_false_and_not_cached(counter: _Counter) -> None:
    good = _distinct_items(1)[0]
    key, message, signature = good
    assert isinstance(key, bytes)
    malformed: list[SignatureItem] = [
        (key[:31], message, signature),
        (key, message, signature[:63]),
        (key, message, signature + b"\x00"),
        (key, "text", signature),  # type: ignore[list-item]
    ]
    with BatchVerifier() as verifier:
        assert verifier.verify_many(malformed) == [False] * 4
        info = verifier.cache_info()
        assert (info.malformed, info.size, info.verified) == (4, 0, 0)
    assert counter.calls == []


def test_large_batches_run_on_the_worker_threads(counter: _Counter) -> None:
    items = _distinct_items(40)
    with BatchVerifier(workers=2, parallel_threshold=8) as verifier:
        assert verifier.verify_many(items) == _one_by_one(items)
    assert counter.threads and all(name.startswith("vigilnet-verify") for name in counter.threads)


def test_small_batches_stay_on_the_calling_thread(counter: _Counter) -> None:
    items = _distinct_items(7)
    with BatchVerifier(workers=2, parallel_threshold=8) as verifier:
        assert verifier.verify_many(items) == _one_by_one(items)
    assert counter.threads == {threading.current_thread().name}


def test_clear_resets_cache_and_counters(counter: _Counter) -> None:
    items = _distinct_items(3)
    verifier = BatchVerifier()
    verifier.verify_many(items)
    verifier.clear()
    info = verifier.cache_info()
    assert (info.hits, info.verified, info.malformed, info.size) == (0, 0, 0, 0)
    verifier.verify_many(items)
    assert len(counter.calls) == 6


def test_module_function_uses_the_default_verifier() -> None:
    items = _distinct_items(3)
    assert verify_many(items) == _one_by_one(items)
    assert default_verifier().cache_info().size >= 3
    private = BatchVerifier()
    assert verify_many(items, verifier=private) == _one_by_one(items)
    assert private.cache_info().verified == 3


def test_empty_batch() -> None:
    assert verify_many([]) == []


@pytest.mark.parametrize(
    "arguments",
    [{"max_cache_entries": -1}, {"workers": 0}, {"parallel_threshold": 0}],
)
def test_bad_configuration_is_a_local_error(arguments: dict[str, int]) -> None:
    with pytest.raises(LocalProtocolError):
        BatchVerifier(**arguments)


def test_any_iterable_of_triples(counter: _Counter) -> None:
    items = _distinct_items(5)
    with BatchVerifier() as verifier:
        assert verifier.verify_many(item for item in items) == _one_by_one(items)
        # A generator that itself uses the verifier does not deadlock.
        nested = (verifier.verify_many([item]) and item for item in items)
        assert verifier.verify_many(nested) == _one_by_one(items)
    assert len(counter.calls) == 5
