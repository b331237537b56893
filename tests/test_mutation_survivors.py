"""Tests written for the survivors of the mutation run (`docs/assurance.md`,
"Mutation run"): each pins an exact refusal, a boundary or a binding that
no other test looked at, so the mutant named beside it fails."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from vigilnet.aggregation import replica_median, trimmed_combination
from vigilnet.encoding import TAGS, MessageTag, register_tag
from vigilnet.errors import LocalProtocolError
from vigilnet.merkle import (
    ConsistencyProofError,
    MerkleLog,
    SumKind,
    SumLayout,
    verify_consistency,
)
from vigilnet.protocols.sscr import consistency_bound, judge, max_unseen_terms


def _log(n: int) -> MerkleLog:
    log = MerkleLog()
    for i in range(n):
        log.append(b"leaf %d" % i)
    return log


# -- merkle/_log.py ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"old_size": 4}, "proof is for old size 3, the checkpoint says 4"),
        ({"new_size": 8}, "proof is for new size 7, the checkpoint says 8"),
        ({"old_size": 3, "new_size": 7}, None),
    ],
)
def test_consistency_checks_the_checkpoint_sizes(
    kwargs: dict[str, int], message: str | None
) -> None:
    """Kills dropping either ``_check_size_binding`` of ``verify_consistency``."""
    log = _log(7)
    proof = log.consistency_proof(3, 7)
    call = {"proof": proof, "old_root": log.root(3), "new_root": log.root(7), **kwargs}
    if message is None:
        verify_consistency(**call)  # type: ignore[arg-type]
        return
    with pytest.raises(ConsistencyProofError, match=f"^{re.escape(message)}$"):
        verify_consistency(**call)  # type: ignore[arg-type]


@pytest.mark.parametrize("which", ["old_root", "new_root"])
@pytest.mark.parametrize("bad", [b"\x00" * 31, bytearray(32), "0" * 32])
def test_consistency_refuses_a_root_that_is_not_a_hash(which: str, bad: object) -> None:
    log = _log(5)
    call: dict[str, object] = {
        "proof": log.consistency_proof(2, 5),
        "old_root": log.root(2),
        "new_root": log.root(5),
    }
    call[which] = bad
    what = which.replace("_", " ")
    with pytest.raises(ConsistencyProofError, match=f"^{what} is not a 32-byte hash$"):
        verify_consistency(**call)  # type: ignore[arg-type]


def test_leaf_hash_beyond_the_log_is_refused_by_name() -> None:
    log = _log(3)
    assert log.leaf_hash(2) == _log(3).leaf_hash(2)
    with pytest.raises(LocalProtocolError, match=r"^leaf index beyond the log$"):
        log.leaf_hash(3)


# -- merkle/_sumtree.py --------------------------------------------------------


@pytest.mark.parametrize(("width", "ok"), [(0, False), (1, True), (255, True), (256, False)])
def test_sum_layout_width_bounds(width: int, ok: bool) -> None:
    """1 to 255 coordinates (the width is one byte in the leaf encoding):
    kills ``<= 255`` -> ``< 255`` and ``<= 256``."""
    kinds = (SumKind.COUNT,) * width
    if ok:
        assert len(SumLayout(kinds=kinds).kinds) == width
        return
    with pytest.raises(
        LocalProtocolError, match=r"^a sum layout is a tuple of 1 to 255 SumKind values$"
    ):
        SumLayout(kinds=kinds)


# -- aggregation.py ------------------------------------------------------------


def test_median_of_nothing_is_refused_by_name() -> None:
    with pytest.raises(LocalProtocolError, match=r"^the median of no values is undefined$"):
        replica_median([])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: replica_median([1, True, 3]), "values must be integers"),
        (lambda: trimmed_combination([1, 2, 3.0], 1), "values must be integers"),  # type: ignore[list-item]
        (lambda: trimmed_combination([1, 2, 3], -1), "f must be a non-negative integer, got -1"),
        (
            lambda: trimmed_combination([1, 2, 3], True),
            "f must be a non-negative integer, got True",
        ),
        (
            lambda: trimmed_combination([1, 2, 3, 4], 2),
            "an 2-trimmed combination needs at least 5 values, got 4",
        ),
        (
            lambda: trimmed_combination([], 0),
            "an 0-trimmed combination needs at least 1 values, got 0",
        ),
    ],
)
def test_aggregation_refusals_name_the_bound(call: Callable[[], object], message: str) -> None:
    """The exact refusal, bound included (2f + 1, not 2f - 1, 2f + 2 or 3f + 1)."""
    with pytest.raises(LocalProtocolError, match=f"^{re.escape(message)}$"):
        call()


# -- encoding.py ---------------------------------------------------------------


def test_register_tag_records_the_tag_and_refuses_a_second_registration() -> None:
    tag = register_tag("mutation-test", "once", 1, {"a"})
    try:
        assert TAGS[tag.prefix] is tag
        with pytest.raises(
            LocalProtocolError, match=r"^tag vigilnet/mutation-test/once/v1 is already registered$"
        ):
            register_tag("mutation-test", "once", 1, {"a"})
        assert TAGS[tag.prefix] is tag
    finally:
        del TAGS[tag.prefix]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"protocol": "Upper"}, "tag name 'Upper' must match [a-z0-9-]+"),
        ({"protocol": "-lead"}, "tag name '-lead' must match [a-z0-9-]+"),
        ({"message": "has space"}, "tag name 'has space' must match [a-z0-9-]+"),
        ({"message": ""}, "tag name '' must match [a-z0-9-]+"),
        ({"version": 0}, "tag version must be >= 1"),
        ({"version": "1"}, "tag version must be >= 1"),
        ({"fields": frozenset({""})}, "field names must be non-empty str"),
        ({"fields": frozenset({1})}, "field names must be non-empty str"),
    ],
)
def test_message_tag_refuses_each_bad_part_by_name(kwargs: dict[str, object], message: str) -> None:
    parts: dict[str, object] = {
        "protocol": "p",
        "message": "m",
        "version": 1,
        "fields": frozenset({"a"}),
        **kwargs,
    }
    with pytest.raises(LocalProtocolError, match=f"^{re.escape(message)}$"):
        MessageTag(**parts)  # type: ignore[arg-type]


def test_a_valid_message_tag_has_its_prefix() -> None:
    tag = MessageTag(protocol="p-1", message="m2", version=3, fields=frozenset({"a"}))
    assert tag.prefix == b"vigilnet/p-1/m2/v3\x00"


# -- merkle/_sumtree.py: every refusal by exact message and class ------------

_ONE = SumLayout.counts(1)
_HASH = bytes(32)


def _sum_refusals() -> list[tuple[Callable[[], object], type[Exception], str]]:
    from vigilnet.merkle import (
        SumInclusionProof,
        SumLeaf,
        SumNode,
        SumProofError,
        SumRoot,
        SumTree,
        verify_sum_inclusion,
    )

    tree = SumTree(layout=_ONE, leaves=[SumLeaf(payload=b"a", sums=(1,))])
    node = SumNode(hash=_HASH, sums=(1,))
    return [
        (lambda: _ONE.encode((-1,)), LocalProtocolError, "sums out of range for the layout"),
        (lambda: SumLeaf(payload="a", sums=(1,)), LocalProtocolError, "a leaf payload is bytes"),  # type: ignore[arg-type]
        (
            lambda: SumLeaf(payload=b"a", sums=[1]),
            LocalProtocolError,
            "leaf sums are a tuple of ints",
        ),  # type: ignore[arg-type]
        (lambda: SumNode(hash=b"x", sums=(1,)), SumProofError, "a node hash is 32 bytes"),
        (lambda: SumNode(hash=_HASH, sums=(1.0,)), SumProofError, "node sums are a tuple of ints"),  # type: ignore[arg-type]
        (
            lambda: SumRoot(size=-1, hash=_HASH, totals=(1,)),
            SumProofError,
            "tree size is not a uint64",
        ),
        (lambda: SumRoot(size=1, hash=b"", totals=(1,)), SumProofError, "a root hash is 32 bytes"),
        (
            lambda: SumRoot(size=1, hash=_HASH, totals=None),
            SumProofError,
            "totals are a tuple of ints",
        ),  # type: ignore[arg-type]
        (
            lambda: SumInclusionProof(leaf_index=-1, tree_size=1, siblings=()),
            SumProofError,
            "leaf index is not a uint64",
        ),
        (
            lambda: SumInclusionProof(leaf_index=0, tree_size=2**64, siblings=()),
            SumProofError,
            "tree size is not a uint64",
        ),
        (
            lambda: SumInclusionProof(leaf_index=0, tree_size=1, siblings=[node]),  # type: ignore[arg-type]
            SumProofError,
            "siblings are a tuple of SumNode",
        ),
        (
            lambda: SumTree(layout=_ONE, leaves=[node]),
            LocalProtocolError,
            "leaf 0 is not a SumLeaf",
        ),  # type: ignore[list-item]
        (
            lambda: SumTree(layout=_ONE, leaves=[SumLeaf(payload=b"a", sums=(-1,))]),
            LocalProtocolError,
            "leaf 0 sums out of range for the layout",
        ),
        (
            lambda: SumTree(
                layout=_ONE,
                leaves=[SumLeaf(payload=b"a", sums=(2**64 - 1,)), SumLeaf(payload=b"b", sums=(1,))],
            ),
            LocalProtocolError,
            "a subtree sum overflows the layout",
        ),
        (lambda: tree.inclusion_proof(1), LocalProtocolError, "leaf index beyond the tree size"),
        (
            lambda: verify_sum_inclusion(
                layout=_ONE, leaf=node, proof=tree.inclusion_proof(0), root=tree.root
            ),  # type: ignore[arg-type]
            SumProofError,
            "leaf is not a SumLeaf",
        ),
    ]


@pytest.mark.parametrize("index", range(16))
def test_sum_tree_refusals_name_what_is_wrong(index: int) -> None:
    call, kind, message = _sum_refusals()[index]
    with pytest.raises(kind, match=f"^{re.escape(message)}$") as caught:
        call()
    assert type(caught.value) is kind


def test_sum_proof_sizes_up_to_the_uint64_limit_are_accepted() -> None:
    from vigilnet.merkle import MAX_TREE_SIZE, SumInclusionProof, SumRoot

    assert (
        SumInclusionProof(leaf_index=MAX_TREE_SIZE, tree_size=MAX_TREE_SIZE, siblings=()).tree_size
        == 2**64 - 1
    )
    assert SumRoot(size=MAX_TREE_SIZE, hash=_HASH, totals=(0,)).size == MAX_TREE_SIZE


# -- protocols/sscr/_consistency.py --------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: max_unseen_terms(-1, 3), "rate bound -1 is negative"),
        (lambda: max_unseen_terms(1, -3), "staleness -3 is negative"),
        (lambda: max_unseen_terms(0, 0), None),
        (lambda: consistency_bound(0, 1, 1, 1), "lambda_max must be positive"),
        (lambda: consistency_bound(1, 1, 1, -1), "unreachable count is negative"),
        (lambda: consistency_bound(1, 0, 0, 0), None),
        (lambda: judge(0, upper=5, lower=-5, margin=-1), "margin -1 is negative"),
        (lambda: judge(0, upper=5, lower=-5, margin=0), None),
        (
            lambda: judge(0, upper=0, lower=-5, margin=0),
            "thresholds must satisfy lower < 0 < upper",
        ),
    ],
)
def test_each_consistency_bound_refuses_by_name(
    call: Callable[[], object], message: str | None
) -> None:
    """Every refusal of _consistency.py, with the boundary value accepted
    (0 is a valid rate, staleness, unreachable count and margin)."""
    if message is None:
        call()  # the boundary is accepted
        return
    with pytest.raises(LocalProtocolError, match=f"^{re.escape(message)}$") as caught:
        call()
    assert type(caught.value) is LocalProtocolError


def test_the_byzantine_margin_counts_only_the_pushing_side() -> None:
    """Zero contributions push neither way; the margin is the sum of the
    ``tolerated`` largest pushes."""
    from vigilnet.evidence import Verdict
    from vigilnet.protocols.sscr import byzantine_margin

    assert byzantine_margin([5, 0, 0, 3, -7], 2, toward=Verdict.FLAGGED) == 8
    assert byzantine_margin([5, 0, 0, -3, -7], 2, toward=Verdict.CLEARED) == 10
    assert byzantine_margin([0, 0], 1, toward=Verdict.FLAGGED) == 0
    assert byzantine_margin([4, -4], 0, toward=Verdict.FLAGGED) == 0
    assert byzantine_margin([4, -4], 2, toward=Verdict.UNDECIDED) == 0


def test_consistency_refusals_name_the_bad_argument() -> None:
    from vigilnet.evidence import Verdict
    from vigilnet.protocols.sscr import byzantine_margin, judge

    with pytest.raises(LocalProtocolError, match=r"^tolerated -1 is negative$") as caught:
        byzantine_margin([1, 2], -1, toward=Verdict.FLAGGED)
    assert type(caught.value) is LocalProtocolError
    with pytest.raises(
        LocalProtocolError, match=r"^thresholds must satisfy lower < 0 < upper$"
    ) as caught:
        judge(0, upper=5, lower=0, margin=0)
    assert type(caught.value) is LocalProtocolError


# -- protocols/sscr/_crdt.py -----------------------------------------------------


def _crdt_refusals() -> list[tuple[Callable[[], object], str]]:
    from vigilnet.evidence import EvidenceStats
    from vigilnet.protocols.sscr import Conviction, ConvictionSet, EvidenceState, SourceEntry

    one = SourceEntry(sequence=1, stats=EvidenceStats(count=1, llr_sum=5))
    two = SourceEntry(sequence=2, stats=EvidenceStats(count=2, llr_sum=9))
    c_a = Conviction(agent="x", source="a", lower=one, higher=two)
    c_b = Conviction(agent="x", source="b", lower=one, higher=two)
    return [
        (
            lambda: SourceEntry(sequence=0, stats=one.stats),
            "sequence must be an integer >= 1, got 0",
        ),
        (lambda: SourceEntry(sequence=1, stats=(1, 5)), "stats must be EvidenceStats"),  # type: ignore[arg-type]
        (
            lambda: SourceEntry(sequence=1, stats=one.stats, signature="ab"),  # type: ignore[arg-type]
            "signature must be bytes",
        ),
        (lambda: EvidenceState(rows={}), "rows must be a HashTrieMap"),  # type: ignore[arg-type]
        (lambda: EvidenceState.of({("x", "a", "b"): one}), "keys are (agent, source)"),  # type: ignore[dict-item]
        (lambda: EvidenceState.of([("x", one)]), "keys are (agent, source)"),  # type: ignore[list-item]
        (lambda: EvidenceState.of({("", "a"): one}), "agent must be a non-empty str"),
        (lambda: EvidenceState.of({("x", ""): one}), "source must be a non-empty str"),
        (lambda: EvidenceState.of({("x", "a"): one.stats}), "entries hold SourceEntry"),  # type: ignore[dict-item]
        (
            lambda: Conviction(agent="", source="a", lower=one, higher=two),
            "agent must be a non-empty str",
        ),
        (
            lambda: Conviction(agent="x", source=3, lower=one, higher=two),  # type: ignore[arg-type]
            "source must be a non-empty str",
        ),
        (
            lambda: Conviction(agent="x", source="a", lower=one, higher=two.stats),  # type: ignore[arg-type]
            "a conviction holds two SourceEntry",
        ),
        (
            lambda: Conviction(agent="x", source="a", lower=one.stats, higher=two),  # type: ignore[arg-type]
            "a conviction holds two SourceEntry",
        ),
        (
            lambda: Conviction(agent="x", source="a", lower=two, higher=one),
            "a conviction's lower entry must come before its higher one",
        ),
        (
            # equal entry keys are not an order either (a `<=` mutant)
            lambda: Conviction(agent="x", source="a", lower=one, higher=one),
            "a conviction's lower entry must come before its higher one",
        ),
        (
            lambda: ConvictionSet(convictions=(("b", c_b), ("a", c_a))),
            "convictions must be sorted by source without repeats",
        ),
        (
            lambda: ConvictionSet(convictions=(("a", c_a), ("a", c_a))),
            "convictions must be sorted by source without repeats",
        ),
        (
            lambda: ConvictionSet(convictions=(("a", c_b),)),
            "each conviction is filed under its own source",
        ),
        (
            lambda: ConvictionSet(convictions=(("a", one),)),  # type: ignore[arg-type]
            "each conviction is filed under its own source",
        ),
        (
            lambda: SourceEntry(sequence=True, stats=one.stats),
            "sequence must be an integer >= 1, got True",
        ),
    ]


@pytest.mark.parametrize("index", range(20))
def test_crdt_refusals_name_what_is_wrong(index: int) -> None:
    call, message = _crdt_refusals()[index]
    with pytest.raises(LocalProtocolError, match=f"^{re.escape(message)}$") as caught:
        call()
    assert type(caught.value) is LocalProtocolError


def test_evidence_states_of_equal_size_and_other_rows_differ() -> None:
    from vigilnet.evidence import EvidenceStats
    from vigilnet.protocols.sscr import EvidenceState, SourceEntry

    entry = SourceEntry(sequence=1, stats=EvidenceStats(count=1, llr_sum=5))
    left = EvidenceState.of({("x", "a"): entry})
    right = EvidenceState.of({("y", "a"): entry})
    assert len(left) == len(right) == 1
    assert left != right
    assert left == EvidenceState.of([(("x", "a"), entry)])


def test_an_equivocation_names_the_entry_merge_keeps_whichever_side_holds_it() -> None:
    from vigilnet.evidence import EvidenceStats
    from vigilnet.protocols.sscr import EvidenceState, SourceEntry, equivocations, merge

    low = SourceEntry(sequence=3, stats=EvidenceStats(count=3, llr_sum=1))
    high = SourceEntry(sequence=3, stats=EvidenceStats(count=3, llr_sum=7))
    a = EvidenceState.of({("x", "s"): low})
    b = EvidenceState.of({("x", "s"): high})
    for left, right in ((a, b), (b, a)):
        (found,) = equivocations(left, right)
        assert (found.kept, found.dropped) == (high.stats, low.stats)
        assert merge(left, right).get("x", "s") == high


def test_equivocations_are_listed_by_agent_then_source() -> None:
    from vigilnet.evidence import EvidenceStats
    from vigilnet.protocols.sscr import EvidenceState, SourceEntry, equivocations

    def entry(llr: int) -> SourceEntry:
        return SourceEntry(sequence=1, stats=EvidenceStats(count=1, llr_sum=llr))

    keys = [(f"agent-{i:02d}", source) for i in reversed(range(40)) for source in ("t", "s")]
    left = EvidenceState.of({key: entry(1) for key in keys})
    right = EvidenceState.of({key: entry(2) for key in keys})
    found = equivocations(left, right)
    assert [(e.agent, e.source) for e in found] == sorted(keys)


# -- encoding.py: every decoding refusal by reason, offset and text ---------------

_DECODE_REFUSALS: list[tuple[bytes, dict[str, int], str]] = [
    (b"\x82\x01", {}, "truncated at byte 2: input ends inside an item"),
    (b"\x9f\x01\xff", {}, "indefinite length at byte 0"),
    (b"\x1c", {}, "reserved additional information at byte 0"),
    (b"\xa1\x01\x01", {}, "map key not a text string at byte 1"),
    (b"\xfb" + bytes(8), {}, "float at byte 0"),
    (b"\xf7", {}, "simple value at byte 0: simple value 23 is not false/true/null"),
    (b"\xf8\x20", {}, "simple value at byte 0: simple value 32 in two bytes (only f4, f5, f6)"),
    (b"\xc0\x01", {}, "tag at byte 0: vigilnet uses no CBOR tags"),
    (b"\x19\x01", {}, "truncated at byte 1: argument runs past the end"),
    (b"\x18\x05", {}, "non-canonical integer at byte 0: 5 encoded in 1 bytes"),
    (b"\x59\x00\x05" + b"a" * 5, {}, "non-canonical length at byte 0: 5 encoded in 2 bytes"),
    (b"\x43ab", {}, "truncated at byte 0: string of 3 bytes runs past the end"),
    (b"\x81\x62\xff\xfe", {}, "invalid UTF-8 at byte 1"),
    (b"\xa2\x61a\x01\x61a\x02", {}, "duplicate map key at byte 4"),
    (b"\xa2\x61b\x01\x61a\x02", {}, "map keys not in canonical order at byte 4"),
    (b"\x83\x01\x02\x03", {"max_items": 2}, "too many items at byte 0: 3 > 2"),
    (b"\x81\x81\x01", {"max_depth": 1}, "too deep at byte 1: nesting beyond 1"),
    (b"\x01\x02", {}, "trailing bytes at byte 1: 1 bytes after the item"),
    # closing [1] returns to depth 2, so the [[1]] after it is one too deep
    (b"\x81\x82\x81\x01\x81\x81\x01", {"max_depth": 3}, "too deep at byte 5: nesting beyond 3"),
    (b"\x00" * 3, {"max_size": 2}, "too large at byte 0: 3 bytes > 2"),
    # The item budget inside a run of one-byte integers: the run stops where
    # the budget does, and the refusal names the first item past it.
    (
        b"\x83\x01\x02\x03",
        {"max_total_items": 3},
        "too many items at byte 3: more than 3 items in all",
    ),
    (
        b"\x85" + bytes(range(1, 6)),
        {"max_total_items": 3},
        "too many items at byte 3: more than 3 items in all",
    ),
    (
        b"\x82\x83\x01\x02\x03\x83\x04\x05\x06",
        {"max_total_items": 8},
        "too many items at byte 8: more than 8 items in all",
    ),
]


@pytest.mark.parametrize(("data", "limits", "text"), _DECODE_REFUSALS)
def test_each_decoding_refusal_names_its_rule_and_offset(
    data: bytes, limits: dict[str, int], text: str
) -> None:
    from vigilnet.encoding import MalformedEncoding, decode

    with pytest.raises(MalformedEncoding) as caught:
        decode(data, **limits)
    assert str(caught.value) == text
    reason, _, rest = text.partition(" at byte ")
    assert caught.value.reason == reason
    assert caught.value.offset == int(rest.split(":")[0])


def test_the_item_budget_counts_every_item_of_every_run() -> None:
    from vigilnet.encoding import decode

    # 9 items: the outer array, two arrays, six one-byte integers in two runs
    data = b"\x82\x83\x01\x02\x03\x83\x04\x05\x06"
    assert decode(data, max_total_items=9) == ((1, 2, 3), (4, 5, 6))
    assert decode(b"\x83\x01\x02\x03", max_total_items=4) == (1, 2, 3)


def test_a_malformed_encoding_without_detail_names_rule_and_offset_only() -> None:
    from vigilnet.encoding import MalformedEncoding

    exc = MalformedEncoding("float", 7)
    assert (str(exc), exc.reason, exc.offset) == ("float at byte 7", "float", 7)
    assert str(MalformedEncoding("tag", 2, "why")) == "tag at byte 2: why"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1 << 64, "integer 18446744073709551616 outside the CBOR range [-2**64, 2**64)"),
        (
            [1, -(1 << 64) - 1],
            "integer -18446744073709551617 outside the CBOR range [-2**64, 2**64)",
        ),
        ({"a": 1, 2: 3}, "map key 2 is not a str"),
        ([1.5], "cannot encode float (floats, sets and tags are not part of the encoding)"),
        (
            frozenset(),
            "cannot encode frozenset (floats, sets and tags are not part of the encoding)",
        ),
    ],
)
def test_each_encoding_refusal_names_the_value(value: object, message: str) -> None:
    from vigilnet.encoding import encode

    with pytest.raises(LocalProtocolError, match=f"^{re.escape(message)}$") as caught:
        encode(value)  # type: ignore[arg-type]
    assert type(caught.value) is LocalProtocolError


def test_a_lone_surrogate_is_refused_as_invalid_utf8() -> None:
    from vigilnet.encoding import encode

    with pytest.raises(
        LocalProtocolError, match=r"^text is not valid UTF-8 \(a lone surrogate\): "
    ) as caught:
        encode(["\ud800"])
    assert type(caught.value) is LocalProtocolError


def test_sign_bytes_refusals_name_the_whole_tag() -> None:
    from vigilnet.encoding import sign_bytes

    stray = MessageTag(protocol="p", message="stray", version=2, fields=frozenset({"a"}))
    with pytest.raises(LocalProtocolError, match=r"^tag vigilnet/p/stray/v2 is not registered$"):
        sign_bytes(stray, {"a": 1})
    tag = register_tag("mutation-test", "fields", 1, {"a", "b"})
    try:
        with pytest.raises(
            LocalProtocolError,
            match=r"^fields for vigilnet/mutation-test/fields/v1: missing \['b'\], unexpected \['c'\]$",
        ):
            sign_bytes(tag, {"a": 1, "c": 2})
        assert sign_bytes(tag, {"a": 1, "b": 2}).startswith(tag.prefix)
    finally:
        del TAGS[tag.prefix]


def test_decoding_something_that_is_not_bytes_is_refused_at_byte_0() -> None:
    from vigilnet.encoding import MalformedEncoding, decode

    with pytest.raises(MalformedEncoding) as caught:
        decode("\x01")  # type: ignore[arg-type]
    assert (str(caught.value), caught.value.offset) == ("not bytes at byte 0: got str", 0)
