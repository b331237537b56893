"""SHAP's fast paths against the slow paths they shortcut: the same result,
or the same exception with the same message.  The originals are kept here,
frozen, as the oracles."""

from __future__ import annotations

from itertools import pairwise
from typing import Final

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vigilnet.crypto import SigningKey
from vigilnet.encoding import CborValue, encode
from vigilnet.errors import LocalProtocolError
from vigilnet.fixedpoint import LAMBDA_MAX_LIMIT, MAX_EVIDENCE_COUNT
from vigilnet.merkle import SumTree
from vigilnet.protocols.shap import (
    MonitorBody,
    ReceiveReport,
    ShapConfig,
    Tier,
    decode_message,
    encode_message,
    sign_report,
    wire_limits,
)
from vigilnet.protocols.shap._commit import LAYOUT, child_leaf, children_tree
from vigilnet.protocols.shap._messages import (
    Reason,
    ReportRejected,
    _exact_ints,
    _ints_in,
    _is_cbor_int,
    _is_uint,
    report_map,
)
from vigilnet.protocols.shap._wire import WireLimits, _array, _int, _map, _monitor_body, _uint

_EDGES: Final = [-(1 << 64) - 1, -(1 << 64), -1, 0, 1, (1 << 63) - 1, (1 << 64) - 1, 1 << 64]

integers = st.one_of(
    st.sampled_from(_EDGES),
    st.integers(min_value=-(1 << 66), max_value=1 << 66),
    st.integers(0, 50),
)
items = st.one_of(integers, st.booleans(), st.none(), st.binary(max_size=2), st.floats(0, 1))
columns = st.one_of(
    st.lists(integers, max_size=12).map(tuple),
    st.lists(items, max_size=8).map(tuple),
    st.lists(st.integers(0, 1 << 20), max_size=12).map(tuple),
)


def _outcome(call: object, *args: object) -> object:
    try:
        return ("ok", call(*args))  # type: ignore[operator]
    except Exception as exc:  # the class and message are the result
        return (type(exc), str(exc))


@settings(max_examples=600, deadline=None)
@given(values=columns)
def test_column_predicates_match_the_per_item_ones(values: tuple[object, ...]) -> None:
    assert _exact_ints(values) == all(type(v) is int for v in values)
    assert _ints_in(values, 0, 1 << 64) == all(map(_is_uint, values))
    assert _ints_in(values, -(1 << 64), 1 << 64) == all(map(_is_cbor_int, values))


def reference_monitor_body(value: CborValue, limits: WireLimits) -> MonitorBody:
    """``vigilnet.protocols.shap._wire._monitor_body`` before the fast path."""
    fields = _map(value, frozenset({"agent_ids", "counts", "llr_sums"}), "monitor body")
    n = limits.max_body_entries
    agents = _array(fields["agent_ids"], n, "agent_ids")
    counts = _array(fields["counts"], n, "counts")
    llrs = _array(fields["llr_sums"], n, "llr_sums")
    return MonitorBody(
        agent_ids=tuple(_uint(a, "agent id") for a in agents),
        counts=tuple(_int(c, "count") for c in counts),
        llr_sums=tuple(_int(v, "llr sum") for v in llrs),
    )


_LIMITS: Final = wire_limits(ShapConfig(max_agents=10))


@settings(max_examples=800, deadline=None)
@given(
    agents=st.one_of(st.lists(st.integers(0, 40), unique=True).map(sorted).map(tuple), columns),
    counts=columns,
    llrs=columns,
    extra=st.booleans(),
)
def test_monitor_body_decoding_matches_the_original(
    agents: tuple[object, ...], counts: tuple[object, ...], llrs: tuple[object, ...], extra: bool
) -> None:
    value: dict[str, CborValue] = {
        "agent_ids": agents,  # type: ignore[dict-item]
        "counts": counts,  # type: ignore[dict-item]
        "llr_sums": llrs,  # type: ignore[dict-item]
    }
    if extra:
        value["extra"] = 1
    assert _outcome(_monitor_body, value, _LIMITS) == _outcome(
        reference_monitor_body, value, _LIMITS
    )


def _reference_body_checks(agent_ids: object, counts: object, llrs: object) -> str | None:
    """The refusal ``MonitorBody`` gave before the column fast path (or None)."""
    n = len(agent_ids) if type(agent_ids) is tuple else -1
    if not (
        type(agent_ids) is tuple
        and type(counts) is tuple
        and type(llrs) is tuple
        and len(counts) == n
        and len(llrs) == n
    ):
        return "body columns are tuples of one length"
    if not (all(map(_is_cbor_int, counts)) and all(map(_is_cbor_int, llrs))):
        return "body entries are not CBOR integers"
    if not all(map(_is_uint, agent_ids)):
        return "agent ids are not uint64"
    if not all(a < b for a, b in pairwise(agent_ids)):  # type: ignore[operator]
        return "agent ids are not strictly increasing"
    return None


@settings(max_examples=800, deadline=None)
@given(agents=columns, counts=columns, llrs=columns)
def test_monitor_body_refusals_match_the_original(
    agents: tuple[object, ...], counts: tuple[object, ...], llrs: tuple[object, ...]
) -> None:
    n = min(len(agents), len(counts), len(llrs))
    agents, counts, llrs = agents[:n], counts[:n], llrs[:n]
    expected = _reference_body_checks(agents, counts, llrs)
    try:
        MonitorBody(agent_ids=agents, counts=counts, llr_sums=llrs)  # type: ignore[arg-type]
    except Exception as exc:
        assert expected is not None and str(exc).endswith(f"({expected})"), (exc, expected)
    else:
        assert expected is None


def reference_check_bounds(body: MonitorBody, config: ShapConfig, sender: int) -> None:
    """``MonitorBody.check_bounds`` before the vectorised per-entry test."""
    if len(body.agent_ids) > config.max_agents:
        raise ReportRejected(
            Reason.OUT_OF_RANGE,
            sender,
            f"{len(body.agent_ids)} entries > max_agents {config.max_agents}",
        )
    for agent, count, llr in zip(body.agent_ids, body.counts, body.llr_sums, strict=True):
        if not (0 <= count <= MAX_EVIDENCE_COUNT and abs(llr) <= count * config.lambda_max):
            raise ReportRejected(
                Reason.OUT_OF_RANGE, sender, f"agent {agent}: count {count}, sum {llr}"
            )
    share = config.child_share
    if not (sum(body.counts) <= share and sum(map(abs, body.llr_sums)) <= share):
        raise ReportRejected(
            Reason.OUT_OF_RANGE, sender, f"the body's sums exceed the child share {share}"
        )


_BOUND_EDGES: Final = [
    0,
    1,
    -1,
    MAX_EVIDENCE_COUNT,
    MAX_EVIDENCE_COUNT + 1,
    (1 << 63) - 1,
    -(1 << 63) + 1,
    -(1 << 63),
    (1 << 64) - 1,
    -(1 << 64),
]
bound_values = st.one_of(
    st.sampled_from(_BOUND_EDGES),
    st.integers(-(1 << 64), (1 << 64) - 1),
    st.integers(-3000, 3000),
)


@settings(max_examples=800, deadline=None)
@given(
    entries=st.lists(st.tuples(bound_values, bound_values), max_size=12),
    lambda_max=st.sampled_from([1, 2, 1000, LAMBDA_MAX_LIMIT]),
    max_agents=st.sampled_from([4, 12]),
    ratio=st.sampled_from([2, 1 << 20]),
)
def test_check_bounds_matches_the_per_entry_loop(
    entries: list[tuple[int, int]], lambda_max: int, max_agents: int, ratio: int
) -> None:
    # Multiples of lambda_max hit the |sum| <= count * lambda_max edge exactly.
    entries = [(c, s * lambda_max if abs(s) < 8 else s) for c, s in entries]
    body = MonitorBody(
        agent_ids=tuple(range(len(entries))),
        counts=tuple(c for c, _ in entries),
        llr_sums=tuple(s for _, s in entries),
    )
    config = ShapConfig(max_agents=max_agents, lambda_max=lambda_max, max_aggregation_ratio=ratio)
    assert _outcome(body.check_bounds, config, 7) == _outcome(
        reference_check_bounds, body, config, 7
    )


def _tree_outcome(call: object, *args: object) -> object:
    outcome = _outcome(call, *args)
    if outcome[0] != "ok":  # type: ignore[index]
        return outcome
    tree = outcome[1]  # type: ignore[index]
    proofs = [tree.inclusion_proof(i) for i in range(tree.size)]
    return ("ok", tree.root, proofs)


def reference_children_tree(
    ids: list[int], roots: list[bytes], totals: list[tuple[int, ...]]
) -> SumTree:
    """``children_tree`` before the fast build: the reference tree."""
    return SumTree(
        layout=LAYOUT,
        leaves=[child_leaf(i, r, t) for i, r, t in zip(ids, roots, totals, strict=True)],
    )


sum_values = st.one_of(
    st.sampled_from(
        [0, 1, -1, (1 << 62) - 1, -(1 << 62) + 1, 1 << 62, -(1 << 62), (1 << 63) - 1, 1 << 63]
    ),
    st.sampled_from([-(1 << 63), -(1 << 63) - 1, (1 << 64) - 1, -(1 << 64)]),
    st.integers(-(1 << 64), (1 << 64) - 1),
    st.integers(0, 5000),
    st.booleans(),
)


@settings(max_examples=500, deadline=None)
@given(
    leaves=st.lists(
        st.tuples(
            st.integers(0, (1 << 64) - 1),
            st.binary(min_size=32, max_size=32),
            st.one_of(
                st.tuples(st.integers(0, 5000), st.integers(0, 5000), st.integers(-5000, 5000)),
                st.tuples(sum_values, sum_values, sum_values),
                st.lists(st.integers(0, 9), max_size=4).map(tuple),
            ),
        ),
        max_size=9,
    )
)
@example(leaves=[(1, bytes(32), (1, 2, -(1 << 63) - 1))])
@example(leaves=[(1, bytes(32), (1, 2, 1 << 63))])
@example(leaves=[(1, bytes(32), (1, 2, -(1 << 62))), (2, bytes(32), (0, 0, 0))])
@example(leaves=[(1, bytes(32), ((1 << 62) - 1, 0, 0)), (2, bytes(32), (1, 0, 0))])
def test_children_tree_matches_the_reference_tree(
    leaves: list[tuple[int, bytes, tuple[int, ...]]],
) -> None:
    ids = [i for i, _, _ in leaves]
    roots = [r for _, r, _ in leaves]
    totals = [t for _, _, t in leaves]
    assert _tree_outcome(children_tree, ids, roots, totals) == _tree_outcome(
        reference_children_tree, ids, roots, totals
    )


_KEY: Final = SigningKey(bytes(range(32)))


def _report_message(body: MonitorBody, node_id: int = 3) -> ReceiveReport:
    report = sign_report(
        _KEY,
        epoch=2,
        config_hash=bytes(32),
        node_id=node_id,
        tier=Tier.MONITOR,
        root=bytes(32),
        totals=(len(body.agent_ids), 0, 0),
        body_digest=body.digest,
    )
    return ReceiveReport(report=report, body=body)


def reference_encode_message(message: ReceiveReport) -> bytes:
    """``encode_message`` of a report before the splice: one ``encode``."""
    body = {
        "report": report_map(message.report),
        "monitor_body": None if message.body is None else message.body.fields(),
    }
    return encode({"type": "report", "body": body})


wire_ints = st.one_of(
    st.integers(-3000, 3000),
    st.sampled_from([23, 24, 255, 256, 65535, 65536, (1 << 32) - 1, 1 << 32, (1 << 63) - 1]),
    st.integers(-(1 << 64), (1 << 64) - 1),
)


@settings(max_examples=400, deadline=None)
@given(
    entries=st.lists(st.tuples(wire_ints, wire_ints), max_size=10),
    node_id=st.sampled_from([0, 23, 24, 1 << 40]),
)
def test_a_spliced_report_message_is_the_encoded_one_and_decodes_back(
    entries: list[tuple[int, int]], node_id: int
) -> None:
    body = MonitorBody(
        agent_ids=tuple(range(5, 5 + len(entries))),
        counts=tuple(c for c, _ in entries),
        llr_sums=tuple(s for _, s in entries),
    )
    message = _report_message(body, node_id)
    data = encode_message(message)
    assert data == reference_encode_message(message)
    decoded = decode_message(data, ShapConfig(max_agents=10))
    assert isinstance(decoded, ReceiveReport) and decoded.body == body
    # the decoder took the body's encoding from the wire bytes: the same bytes
    assert decoded.body._encoding == encode(body.fields())
    assert decoded.body.digest == body.digest


def test_a_body_past_the_size_limit_is_refused_as_before() -> None:
    n = 1 << 16  # 3 columns of 2**16 nine-byte integers: past 1 MiB
    big = (1 << 40,) * n
    body = MonitorBody(agent_ids=tuple(range(n)), counts=big, llr_sums=big)
    object.__setattr__(body, "_encoding", b"")  # digest of anything: not checked here
    message = _report_message(body)
    object.__setattr__(body, "_encoding", None)
    with pytest.raises(LocalProtocolError) as spliced:
        encode_message(message)
    with pytest.raises(LocalProtocolError) as generic:
        reference_encode_message(message)
    assert str(spliced.value) == str(generic.value)
