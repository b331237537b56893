"""Vector family ``shap_wire``: the SHAP wire codec (``docs/vectors/shap.md``).

One group per message type (``report``, ``receipt``, ``opening``) under one
small configuration, so that the limits are small enough to exceed in a
vector: every valid encoding is one an honest epoch produces
(:func:`vigilnet.protocols.shap.encode_message`), and each invalid one breaks
exactly one rule of :mod:`vigilnet.protocols.shap._wire` (a limit, a field's
type or range, canonical form, the envelope).  Verification replays each
test through :func:`~vigilnet.protocols.shap.decode_message` under the
group's configuration: a valid test decodes and re-encodes to the same bytes,
an invalid one raises a RemoteProtocolError.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from vigilnet.crypto import SigningKey
from vigilnet.encoding import CborValue, decode, encode
from vigilnet.errors import RemoteProtocolError
from vigilnet.protocols.shap import (
    AggregatorSetup,
    CloseEpoch,
    Committed,
    MonitorBody,
    ReceiveReport,
    SendReceipt,
    SendReport,
    ShapConfig,
    Tier,
    decode_message,
    encode_message,
    initial_state,
    monitor_report,
    step,
    wire_limits,
)
from vigilnet.vectors._diagnostic import diagnostic
from vigilnet.vectors._envelope import Case, Family, Group, Note, hex_string

__all__ = ["SHAP_WIRE_FAMILY"]

#: Small limits: 4 agents per monitor, 3 children per aggregator, 3 replicas.
_CONFIG = ShapConfig(max_aggregation_ratio=3, max_agents=4)
_REGION = 100


def _key(index: int) -> SigningKey:
    return SigningKey(hashlib.sha256(b"vigilnet shap wire vector key %d" % index).digest())


def _epoch() -> dict[str, CborValue]:
    """One honest epoch at a regional with three monitors (replicas of the
    same two agents): the messages as decoded CBOR values, by type."""
    agents = (5, (1 << 63) + 7)  # one id above 2**63: the uint64 domain
    placement = {m: agents for m in (1, 2, 3)}
    setup = AggregatorSetup(
        node_id=_REGION,
        tier=Tier.REGIONAL,
        config=_CONFIG,
        signing_key=_key(_REGION),
        children={m: _key(m).verify_key for m in placement},
        placement=placement,
    )
    state = initial_state(setup, 1)
    reports = []
    for monitor in placement:
        body = MonitorBody(agent_ids=agents, counts=(monitor, 2), llr_sums=(-1000 * monitor, 70000))
        report = monitor_report(
            signing_key=_key(monitor), node_id=monitor, epoch=1, config=_CONFIG, body=body
        )
        event = ReceiveReport(report=report, body=body)
        state, out = step(setup, state, event)
        assert out == ()
        reports.append(event)
    _, out = step(setup, state, CloseEpoch())
    committed, send = out[0], out[1]
    assert isinstance(committed, Committed) and isinstance(send, SendReport)
    receipt = next(o.receipt for o in out if isinstance(o, SendReceipt))
    messages = {
        "monitor report": encode_message(reports[0]),
        "regional report": encode_message(ReceiveReport(report=send.report)),
        "receipt": encode_message(receipt),
        "opening": encode_message(committed.commitment.opening(agents[1])),
    }
    return {name: decode(data) for name, data in messages.items()}


_NOTES = {
    "Valid": Note(bug_type="BASIC", description="A message an honest epoch produced."),
    "OverLimit": Note(
        bug_type="RESOURCE_EXHAUSTION",
        description="Beyond a limit of the configuration: more body entries than max_agents, more leaves than max_aggregation_ratio, more replicas than replicas, a proof longer than its tree allows, or more bytes than the type's size limit.",
    ),
    "BadField": Note(
        bug_type="MALFORMED",
        description="Canonical CBOR, but a field is missing, extra, of the wrong type or out of its range.",
    ),
    "NonCanonical": Note(
        bug_type="CAN_OF_WORMS",
        description="Not canonical CBOR (trailing bytes, a truncated item, a non-shortest integer).",
    ),
    "BadEnvelope": Note(
        bug_type="MALFORMED",
        description="Not a {type, body} map, or an unknown message type.",
    ),
}


def _set(value: CborValue, path: tuple[Any, ...], new: CborValue) -> CborValue:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        if not rest and new is _DROP:
            return {k: v for k, v in value.items() if k != head}
        return {**value, head: _set(value.get(head), rest, new)}
    assert isinstance(value, tuple)
    return (*value[:head], _set(value[head], rest, new), *value[head + 1 :])


_DROP: Any = object()


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step_ in path:
        value = value[step_]
    return value


def _case(comment: str, result: str, flag: str, data: bytes) -> Case:
    return Case(comment=comment, result=result, flags=(flag,), fields={"encoding": data.hex()})


def _non_shortest_one(kind: str) -> bytes:
    """``{"body": 1, "type": kind}`` with the 1 written as ``0x1801``.

    Canonical order puts ``"body"`` first, so the integer follows its key;
    only that byte changes and the rest of the item is intact (the error is
    the integer's form, not a cut string)."""
    good = encode({"type": kind, "body": 1})
    head = b"\xa2" + encode("body")
    if not good.startswith(head + b"\x01"):
        raise AssertionError("canonical map order changed")
    return head + b"\x18\x01" + good[len(head) + 1 :]


def _cases_for(kind: str, samples: Mapping[str, CborValue]) -> list[Case]:
    cases = [
        _case(name, "valid", "Valid", encode(value))
        for name, value in samples.items()
        if isinstance(value, dict) and value["type"] == kind
    ]
    top = next(v for v in samples.values() if isinstance(v, dict) and v["type"] == kind)
    good = encode(top)
    limits = wire_limits(_CONFIG)

    def mutated(comment: str, flag: str, path: tuple[Any, ...], new: CborValue) -> None:
        cases.append(_case(comment, "invalid", flag, encode(_set(top, path, new))))

    cases.append(_case("a trailing zero byte", "invalid", "NonCanonical", good + b"\x00"))
    cases.append(_case("the last byte cut", "invalid", "NonCanonical", good[:-1]))
    cases.append(
        _case(
            "an integer in a non-shortest form (0x1801 for 1)",
            "invalid",
            "NonCanonical",
            _non_shortest_one(kind),
        )
    )
    mutated("the body has an extra field", "BadField", ("body", "zz"), 0)
    if kind == "report":
        body = ("body", "monitor_body")
        columns = _get(top, body)
        mutated(
            "five body entries, max_agents is 4",
            "OverLimit",
            body,
            {key: tuple(range(5)) for key in columns},
        )
        mutated("agent ids not increasing", "BadField", (*body, "agent_ids"), (9, 5))
        mutated("an agent id of -1", "BadField", (*body, "agent_ids"), (-1, 5))
        mutated("columns of different lengths", "BadField", (*body, "counts"), (1,))
        mutated("the monitor body field missing", "BadField", body, _DROP)
        mutated("tier 'global'", "BadField", ("body", "report", "tier"), "global")
        mutated("epoch true", "BadField", ("body", "report", "epoch"), True)
        mutated("a 65-byte signature", "BadField", ("body", "report", "signature"), bytes(65))
        mutated("a 31-byte root", "BadField", ("body", "report", "root"), bytes(31))
        mutated(
            "llr total 2**63 (past the signed range)",
            "BadField",
            ("body", "report", "totals"),
            (0, 0, 1 << 63),
        )
    elif kind == "receipt":
        leaves = _get(top, ("body", "leaves"))
        mutated(
            "four leaves, max_aggregation_ratio is 3",
            "OverLimit",
            ("body", "leaves"),
            (*leaves, leaves[0]),
        )
        siblings = _get(top, ("body", "proof", "siblings"))
        mutated(
            f"a proof of {limits.inputs_depth + 1} siblings (at most {limits.inputs_depth})",
            "OverLimit",
            ("body", "proof", "siblings"),
            (siblings[0],) * (limits.inputs_depth + 1),
        )
        mutated(
            f"padded past the receipt limit of {limits.max_size['receipt']} bytes",
            "OverLimit",
            ("body", "signature"),
            bytes(limits.max_size["receipt"]),
        )
        mutated("a leaf of two items", "BadField", ("body", "leaves", 0), leaves[0][:2])
        mutated("child -1", "BadField", ("body", "child"), -1)
        mutated("entries root not a map", "BadField", ("body", "entries"), 7)
    else:
        replicas = _get(top, ("body", "replicas"))
        mutated(
            "four replicas, replicas is 3",
            "OverLimit",
            ("body", "replicas"),
            (*replicas, replicas[0]),
        )
        mutated("a negative count", "BadField", ("body", "count"), -1)
        mutated("agent id true", "BadField", ("body", "agent_id"), True)
        mutated("next entry of two items", "BadField", ("body", "next_entry"), (1, 2))
        mutated(
            "a replica's count past 2**64",
            "BadField",
            ("body", "replicas", 0, "count"),
            -(1 << 64),
        )
    return cases


def _build() -> Iterator[Group]:
    samples = _epoch()
    limits = wire_limits(_CONFIG)
    for kind in ("report", "receipt", "opening"):
        cases = _cases_for(kind, samples)
        if kind == "report":
            cases += [
                _case("not a map", "invalid", "BadEnvelope", encode([1, 2])),
                _case(
                    "unknown type 'vote'",
                    "invalid",
                    "BadEnvelope",
                    encode({"type": "vote", "body": {}}),
                ),
                _case("a type field only", "invalid", "BadEnvelope", encode({"type": "report"})),
            ]
        yield Group(
            type="ShapWireMessage",
            fields={
                "messageType": kind,
                "maxAgents": _CONFIG.max_agents,
                "maxAggregationRatio": _CONFIG.max_aggregation_ratio,
                "replicas": _CONFIG.replicas,
                "configHash": _CONFIG.config_hash.hex(),
                "sizeLimit": limits.max_size[kind],
                "example": diagnostic(
                    next(v for v in samples.values() if isinstance(v, dict) and v["type"] == kind)
                ),
            },
            cases=tuple(cases),
        )


def _verify(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    config = ShapConfig(
        max_agents=group["maxAgents"],
        max_aggregation_ratio=group["maxAggregationRatio"],
        replicas=group["replicas"],
    )
    if config.config_hash.hex() != group["configHash"]:
        return "configHash is not the hash of the group's configuration"
    if wire_limits(config).max_size[group["messageType"]] != group["sizeLimit"]:
        return "sizeLimit differs from the configuration's"
    data = bytes.fromhex(test["encoding"])
    try:
        message = decode_message(data, config)
    except RemoteProtocolError as exc:
        return None if test["result"] == "invalid" else f"refused: {exc}"
    if encode_message(message) != data:
        return "decodes, but does not re-encode to the same bytes"
    kind = {"ReceiveReport": "report", "Receipt": "receipt", "AuditOpening": "opening"}
    if test["result"] == "valid" and kind[type(message).__name__] != group["messageType"]:
        return "decodes to another message type"
    return None if test["result"] == "valid" else "accepted, expected invalid"


SHAP_WIRE_FAMILY = Family(
    name="shap_wire",
    algorithm="SHAP wire codec: canonical CBOR {type, body} messages with per-type limits",
    header=(
        "Every SHAP message travels as canonical CBOR (see canonical_cbor) of {type, body}, type one of 'report', 'receipt', 'opening'; docs/protocols/shap.md gives each body's schema.",
        "Limits come from the group's configuration: a monitor body has at most maxAgents entries, a receipt at most maxAggregationRatio leaves, an opening at most replicas replicas, a proof at most as many siblings as its largest tree is deep, and a message at most sizeLimit bytes.",
        "A test is valid when the encoding decodes under those limits and re-encodes to the same bytes; every invalid test breaks one rule and must be refused. Signatures are not part of this family (see shap_reports).",
    ),
    notes=_NOTES,
    group_schema={
        "type": {"enum": ["ShapWireMessage"]},
        "properties": {
            "messageType": {"enum": ["report", "receipt", "opening"]},
            "maxAgents": {"type": "integer", "minimum": 1},
            "maxAggregationRatio": {"type": "integer", "minimum": 1},
            "replicas": {"type": "integer", "minimum": 1},
            "configHash": hex_string("SHA-256 of the SHAP configuration's canonical encoding"),
            "sizeLimit": {"type": "integer", "minimum": 1},
            "example": {
                "type": "string",
                "description": "a valid message of the type, in CBOR diagnostic notation",
            },
        },
    },
    test_schema={
        "properties": {"encoding": hex_string("the message bytes")},
        "required": ["encoding"],
    },
    build=_build,
    verify_case=_verify,
)
