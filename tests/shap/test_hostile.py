"""Hostile messages through the SHAP decoder into the nodes (issue 10, "Must
show"): mutated valid encodings (bytes flipped, cut, spliced; decoded values
with one field replaced by a hostile value and re-encoded) and random bytes.

For every input: only :class:`RemoteProtocolError` subclasses escape
``decode_message`` and ``step`` / ``child_step`` / ``audit_entry``; a
refused input leaves the node's state exactly unchanged; and, since every
message in the corpus comes from an honest node, no mutation may strike an
honest monitor or regional or alarm an honest child (NoFraming)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.shap._corpus import REGION, make_corpus
from vigilnet.encoding import CborValue, decode, encode
from vigilnet.errors import RemoteProtocolError
from vigilnet.protocols.shap import (
    AuditFailure,
    AuditOpening,
    ChildPhase,
    Receipt,
    ReceiveReceipt,
    ReceiveReport,
    Rejected,
    Tier,
    audit_entry,
    child_step,
    decode_message,
    step,
    wire_limits,
)

CORPUS = make_corpus()
WORLD = CORPUS.world
CONFIG = WORLD.config
LIMITS = wire_limits(CONFIG)
ENCODINGS = CORPUS.encodings()

HOSTILE_INTS = (
    -(1 << 64),
    -(1 << 63) - 1,
    -(1 << 63),
    -1,
    0,
    1,
    2,
    (1 << 39) + 1,
    (1 << 62),
    (1 << 63) - 1,
    1 << 63,
    (1 << 64) - 1,
)
HOSTILE_VALUES: tuple[CborValue, ...] = (
    *HOSTILE_INTS,
    True,
    False,
    None,
    b"",
    bytes(32),
    bytes(64),
    "monitor",
    "hub",
    (),
    (0, 0, 0),
    {},
)


def _paths(value: CborValue, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every position inside a decoded value (map keys and array indices)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replace(value: CborValue, path: tuple[Any, ...], new: CborValue) -> CborValue:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    assert isinstance(value, tuple)
    return (*value[:head], _replace(value[head], rest, new), *value[head + 1 :])


@st.composite
def structured_mutation(draw: st.DrawFn) -> bytes:
    """A valid message with one position replaced by a hostile value (or an
    item dropped / a map key added), canonically re-encoded."""
    top = decode(draw(st.sampled_from(ENCODINGS)))
    paths = _paths(top)
    path = draw(st.sampled_from(paths[1:]))
    how = draw(st.sampled_from(("value", "neighbour", "drop", "add key")))
    if how == "value":
        mutated = _replace(top, path, draw(st.sampled_from(HOSTILE_VALUES)))
    elif how == "neighbour":  # another value from the same message (a swapped field)
        other = draw(st.sampled_from(paths))
        node: Any = top
        for step_ in other:
            node = node[step_]
        mutated = _replace(top, path, node)
    else:
        parent_path, last = path[:-1], path[-1]
        node = top
        for step_ in parent_path:
            node = node[step_]
        if how == "drop" and isinstance(node, tuple):
            mutated = _replace(top, parent_path, (*node[:last], *node[last + 1 :]))
        elif how == "drop" and isinstance(node, dict):
            mutated = _replace(top, parent_path, {k: v for k, v in node.items() if k != last})
        elif isinstance(node, dict):
            mutated = _replace(top, parent_path, {**node, "zz": 0})
        else:
            mutated = _replace(top, parent_path, (*node, node[last]))
    return encode(mutated)


@st.composite
def byte_mutation(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(ENCODINGS)))
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(("flip", "cut", "insert", "set")))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if how == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "cut":
            del data[at : at + draw(st.integers(1, 8))]
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif data:
            data[at] = draw(st.integers(0, 255))
    return bytes(data)


hostile_bytes = st.one_of(
    structured_mutation(), byte_mutation(), st.binary(max_size=300), st.sampled_from(ENCODINGS)
)


def _aggregator_takes(event: ReceiveReport) -> None:
    cases = [
        (WORLD.regionals[REGION], CORPUS.regional_partial),
        (WORLD.regionals[REGION], CORPUS.regional_closed),
        (WORLD.hub, CORPUS.hub_collecting),
    ]
    for setup, before in cases:
        after, out = step(setup, before, event)  # nothing but a return
        rejections = [o for o in out if isinstance(o, Rejected)]
        if rejections:
            assert len(out) == 1
            # NoFraming: every message here came from an honest node.
            assert not rejections[0].struck, rejections[0]
            assert after == before
        else:
            assert out == ()
            assert after.strikes == before.strikes


def _child_takes(receipt: Receipt) -> None:
    for child in CORPUS.children.values():
        after, out = child_step(child, ReceiveReceipt(receipt=receipt))
        # NoFraming: the honest parent signed only genuine receipts.
        assert after.phase is not ChildPhase.ALARMED, out
        if any(isinstance(o, Rejected) for o in out):
            assert after == child
        else:
            assert after.phase is ChildPhase.CONFIRMED
            assert receipt == CORPUS.receipts[child.own.node_id]


def _auditor_takes(opening: AuditOpening) -> None:
    commitment_roots = CORPUS.receipts[0]
    assert commitment_roots.entries is not None
    try:
        audit_entry(
            regional=CORPUS.regional_report,
            regional_key=WORLD.keys[REGION],
            inputs=commitment_roots.inputs,
            entries=commitment_roots.entries,
            monitor_keys=WORLD.keys,
            replicas=CONFIG.replicas,
            opening=opening,
        )
    except AuditFailure:
        return


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_bytes)
def test_hostile_messages_raise_only_remote_errors_and_change_no_state(data: bytes) -> None:
    try:
        message = decode_message(data, CONFIG, LIMITS)
    except RemoteProtocolError:
        return
    if isinstance(message, ReceiveReport):
        _aggregator_takes(message)
    elif isinstance(message, Receipt):
        _child_takes(message)
    else:
        _auditor_takes(message)


def test_the_corpus_reaches_every_node_and_the_honest_path() -> None:
    """Non-vacuity: every corpus message decodes and is taken by its node."""
    kinds = set()
    for data in ENCODINGS:
        message = decode_message(data, CONFIG, LIMITS)
        kinds.add(type(message).__name__)
        if isinstance(message, ReceiveReport) and message.report.tier is Tier.MONITOR:
            setup = WORLD.regionals[REGION]
            _, out = step(setup, CORPUS.regional_partial, message)
            assert out == () or isinstance(out[0], Rejected)  # monitor 0's is a duplicate
        elif isinstance(message, Receipt):
            child = CORPUS.children[message.child]
            after, _ = child_step(child, ReceiveReceipt(receipt=message))
            assert after.phase is ChildPhase.CONFIRMED
    assert kinds == {"ReceiveReport", "Receipt", "AuditOpening"}
    # And structured mutations do get past the decoder (into the nodes).
    reached = 0
    for data in ENCODINGS:
        top = decode(data)
        for path in _paths(top)[1:]:
            try:
                decode_message(encode(_replace(top, path, 2)), CONFIG, LIMITS)
                reached += 1
            except RemoteProtocolError:
                pass
    assert reached > 50
