"""The evidence CRDT: merge laws on generated states (Hypothesis), deltas,
equivocation, validation."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.sscr.strategies import states
from vigilnet.errors import LocalProtocolError
from vigilnet.evidence import EvidenceStats
from vigilnet.protocols.sscr import (
    EvidenceState,
    SourceEntry,
    conflicts,
    delta,
    digest,
    entry_key,
    equivocations,
    merge,
)

_REPR_NAMES = {"SourceEntry": SourceEntry, "EvidenceStats": EvidenceStats}


def entry(sequence: int, count: int, llr_sum: int) -> SourceEntry:
    return SourceEntry(sequence=sequence, stats=EvidenceStats(count=count, llr_sum=llr_sum))


@given(states(), states())
def test_merge_is_commutative(a: EvidenceState, b: EvidenceState) -> None:
    assert merge(a, b) == merge(b, a)


@given(states(), states(), states())
def test_merge_is_associative(a: EvidenceState, b: EvidenceState, c: EvidenceState) -> None:
    assert merge(a, merge(b, c)) == merge(merge(a, b), c)


@given(states())
def test_merge_is_idempotent(a: EvidenceState) -> None:
    assert merge(a, a) == a


@given(states(), states())
def test_merge_is_an_upper_bound_made_of_input_entries(a: EvidenceState, b: EvidenceState) -> None:
    """NoDoubleCount at the CRDT level: every merged entry is one of the
    inputs' entries (never a sum), and the larger one."""
    merged = merge(a, b).as_dict()
    left, right = a.as_dict(), b.as_dict()
    assert set(merged) == set(left) | set(right)
    for key, chosen in merged.items():
        candidates = [e for e in (left.get(key), right.get(key)) if e is not None]
        assert chosen in candidates
        assert entry_key(chosen) == max(entry_key(e) for e in candidates)
    assert merge(merge(a, b), a) == merge(a, b)  # absorbing a again changes nothing


@given(states(), states())
def test_delta_against_digest_gives_the_same_merge(a: EvidenceState, b: EvidenceState) -> None:
    """Delta-state propagation: sending only what the peer's digest lacks
    is as good as sending everything, and never more than everything."""
    d = delta(a, digest(b))
    assert merge(b, d) == merge(b, a)
    assert set(d.as_dict()) <= set(a.as_dict())
    assert delta(merge(a, b), digest(merge(a, b))) == EvidenceState()


@given(st.lists(states(), min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_any_delivery_order_with_duplicates_converges(
    deltas: list[EvidenceState], rng: random.Random
) -> None:
    reference = EvidenceState()
    for d in deltas:
        reference = merge(reference, d)
    shuffled = deltas + [rng.choice(deltas) for _ in range(len(deltas))]
    rng.shuffle(shuffled)
    replica = EvidenceState()
    for d in shuffled:
        replica = merge(replica, d)
    assert replica == reference


def test_equivocation_is_resolved_deterministically_and_reported() -> None:
    x = EvidenceState.of({("a", "m0"): entry(3, 3, 5)})
    y = EvidenceState.of({("a", "m0"): entry(3, 3, -7)})
    assert merge(x, y) == merge(y, x) == x  # (3, 3, 5) > (3, 3, -7)
    (found,) = equivocations(y, x)
    assert (found.agent, found.source, found.sequence) == ("a", "m0", 3)
    assert found.kept == EvidenceStats(count=3, llr_sum=5)
    assert found.dropped == EvidenceStats(count=3, llr_sum=-7)
    # the replica holding the losing copy is sent the winning one
    assert delta(x, digest(y)) == x
    assert delta(y, digest(x)) == EvidenceState()
    assert equivocations(x, x) == ()


def test_agent_stats_sum_sources_not_sequences() -> None:
    state = EvidenceState.of(
        [
            (("a", "m0"), entry(1, 1, 2)),
            (("a", "m0"), entry(2, 2, 3)),  # the newer cumulative entry replaces
            (("a", "m1"), entry(1, 1, -1)),
            (("b", "m0"), entry(1, 1, 9)),
        ]
    )
    assert state.agent_stats("a") == EvidenceStats(count=3, llr_sum=2)
    assert state.agents() == ("a", "b")
    assert len(state) == 3


def test_bounded_memory_one_entry_per_agent_and_source() -> None:
    state = EvidenceState()
    for sequence in range(1, 200):
        state = state.with_entry("a", "m0", entry(sequence, sequence, 0))
    assert len(state) == 1
    assert state.get("a", "m0") == entry(199, 199, 0)


def test_malformed_states_are_refused() -> None:
    with pytest.raises(LocalProtocolError):
        SourceEntry(sequence=0, stats=EvidenceStats())
    with pytest.raises(LocalProtocolError):
        EvidenceState.of({("", "m"): entry(1, 1, 1)})
    with pytest.raises(LocalProtocolError):
        EvidenceState.of({("a", "m"): (1, 1, 1)})  # type: ignore[dict-item]
    with pytest.raises(LocalProtocolError):
        EvidenceState(rows=(("a", ()),))  # type: ignore[arg-type]


def test_states_compare_and_hash_by_content_not_insertion_order() -> None:
    pairs = [((f"a{i % 7}", f"m{i % 3}"), entry(i + 1, i + 1, i)) for i in range(30)]
    forward, backward = EvidenceState.of(pairs), EvidenceState.of(reversed(pairs))
    by_merge = EvidenceState()
    for key, e in reversed(pairs):
        by_merge = by_merge.with_entry(*key, e)
    assert forward == backward == by_merge
    assert hash(forward) == hash(backward) == hash(by_merge)
    assert [key for key, _ in forward.entries] == sorted({key for key, _ in pairs})
    assert eval(repr(forward), {"EvidenceState": EvidenceState, **_REPR_NAMES}) == forward


def test_two_signatures_of_the_same_statistics_merge_commutatively() -> None:
    """Ed25519 signers may randomise: two valid signatures of one entry are
    the same evidence; the merge keeps the larger signature bytes on every
    replica, and neither is a conflict."""
    low = SourceEntry(sequence=1, stats=EvidenceStats(count=1, llr_sum=1), signature=b"\x01" * 64)
    high = SourceEntry(sequence=1, stats=EvidenceStats(count=1, llr_sum=1), signature=b"\x02" * 64)
    a, b = EvidenceState.of({("x", "m"): low}), EvidenceState.of({("x", "m"): high})
    assert merge(a, b) == merge(b, a) == b
    assert conflicts(a, b, 1) == () and equivocations(a, b) == ()
