"""The SHAP wire codec: every message round-trips, the limits come from the
configuration, and anything else is refused with a RemoteProtocolError."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.shap._corpus import make_corpus
from vigilnet.encoding import MalformedEncoding, decode, encode
from vigilnet.errors import RemoteProtocolError
from vigilnet.protocols.shap import (
    MonitorBody,
    Reason,
    ReceiveReport,
    ReportRejected,
    ShapConfig,
    decode_message,
    encode_message,
    wire_limits,
)

CORPUS = make_corpus()
CONFIG = CORPUS.world.config


def test_every_message_type_round_trips() -> None:
    messages: list[Any] = [
        *CORPUS.monitor_reports,
        ReceiveReport(report=CORPUS.regional_report),
        *CORPUS.receipts.values(),
        CORPUS.opening,
    ]
    kinds = set()
    for message in messages:
        data = encode_message(message)
        assert decode_message(data, CONFIG) == message
        assert encode_message(decode_message(data, CONFIG)) == data
        top = decode(data)
        assert isinstance(top, dict)
        kinds.add(top["type"])
    assert kinds == {"report", "receipt", "opening"}


def test_limits_follow_the_configuration() -> None:
    small = wire_limits(ShapConfig(max_agents=10, max_aggregation_ratio=3))
    large = wire_limits(ShapConfig(max_agents=2000, max_aggregation_ratio=10))
    assert small.max_body_entries == 10 and large.max_body_entries == 2000
    assert small.max_leaves == 3 and small.inputs_depth == 2  # 3 leaves: paths of 2
    assert large.inputs_depth == 4 and large.monitor_depth == 11
    for kind in ("report", "receipt", "opening"):
        assert small.max_size[kind] < large.max_size[kind]
    # A report with max_agents entries of the longest integers is the limit.
    assert large.max_size["report"] > 2000 * 27


def _reencoded(message: Any, **body_changes: Any) -> bytes:
    top = decode(encode_message(message))
    assert isinstance(top, dict) and isinstance(top["body"], dict)
    return encode({"type": top["type"], "body": {**top["body"], **body_changes}})


def test_a_monitor_body_over_max_agents_is_refused() -> None:
    config = dataclasses.replace(CONFIG, max_agents=2)
    event = CORPUS.monitor_reports[0]
    assert event.body is not None and len(event.body.agent_ids) == 3
    with pytest.raises(ReportRejected, match="more than 2"):
        decode_message(encode_message(event), config)
    decode_message(encode_message(event), dataclasses.replace(CONFIG, max_agents=3))


def test_a_receipt_with_more_leaves_than_the_fan_in_is_refused() -> None:
    receipt = CORPUS.receipts[0]
    config = dataclasses.replace(CONFIG, max_aggregation_ratio=3)  # 3 leaves: fits
    decode_message(encode_message(receipt), config)
    extra = dataclasses.replace(receipt, leaves=(*receipt.leaves, receipt.leaves[0]))
    with pytest.raises(ReportRejected, match="more than 3"):
        decode_message(encode_message(extra), config)


def test_a_proof_longer_than_the_tree_allows_is_refused() -> None:
    receipt = CORPUS.receipts[0]
    long_proof = dataclasses.replace(
        receipt.proof, siblings=receipt.proof.siblings * (1 + wire_limits(CONFIG).inputs_depth)
    )
    with pytest.raises(ReportRejected, match="siblings"):
        decode_message(encode_message(dataclasses.replace(receipt, proof=long_proof)), CONFIG)


def test_oversized_input_is_refused_before_parsing() -> None:
    limit = max(wire_limits(CONFIG).max_size.values())
    padded = encode({"type": "report", "body": {"pad": bytes(limit)}})
    with pytest.raises(MalformedEncoding, match="too large"):
        decode_message(padded, CONFIG)


def test_each_type_has_its_own_size_limit() -> None:
    limits = wire_limits(CONFIG)
    assert limits.max_size["receipt"] < limits.max_size["report"]
    pad = bytes(limits.max_size["receipt"])
    data = _reencoded(CORPUS.receipts[0], signature=pad)
    with pytest.raises(ReportRejected, match="receipt limit"):
        decode_message(data, CONFIG)


BAD_REPORT_FIELDS = {
    "epoch -1": {"epoch": -1},
    "epoch bool": {"epoch": True},
    "node negative": {"node_id": -5},
    "node bytes": {"node_id": b"\x01"},
    "short root": {"root": b"x"},
    "long signature": {"signature": bytes(65)},
    "unknown tier": {"tier": "global"},
    "totals too short": {"totals": (1, 2)},
    "negative agents": {"totals": (-1, 0, 0)},
    "llr past int64": {"totals": (0, 0, 1 << 63)},
    "extra field": {"extra": 0},
}


@pytest.mark.parametrize("bad", sorted(BAD_REPORT_FIELDS))
def test_a_malformed_report_is_refused_with_a_reason(bad: str) -> None:
    event = CORPUS.monitor_reports[0]
    top = decode(encode_message(event))
    assert isinstance(top, dict) and isinstance(top["body"], dict)
    report = top["body"]["report"]
    assert isinstance(report, dict)
    changed = {**report, **BAD_REPORT_FIELDS[bad]}
    data = encode({"type": "report", "body": {**top["body"], "report": changed}})
    with pytest.raises(ReportRejected) as caught:
        decode_message(data, CONFIG)
    assert caught.value.reason is Reason.MALFORMED


BAD_ENVELOPES: dict[str, Any] = {
    "not a map": [1, 2],
    "unknown type": {"type": "vote", "body": {}},
    "type not text": {"type": 1, "body": {}},
    "missing body": {"type": "report"},
    "body not a map": {"type": "receipt", "body": 3},
    "opening missing fields": {"type": "opening", "body": {"agent_id": 1}},
}


@pytest.mark.parametrize("bad", sorted(BAD_ENVELOPES))
def test_a_malformed_envelope_is_refused(bad: str) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_message(encode(BAD_ENVELOPES[bad]), CONFIG)


def test_non_canonical_bytes_are_refused() -> None:
    data = encode_message(CORPUS.monitor_reports[0])
    with pytest.raises(MalformedEncoding):
        decode_message(data + b"\x00", CONFIG)  # trailing bytes
    with pytest.raises(MalformedEncoding):
        decode_message(data[:-1], CONFIG)  # truncated


def test_a_body_with_unsorted_ids_is_refused_as_malformed() -> None:
    event = CORPUS.monitor_reports[0]
    assert event.body is not None
    bad = {"agent_ids": (2, 1, 0), "counts": event.body.counts, "llr_sums": event.body.llr_sums}
    with pytest.raises(ReportRejected, match="malformed"):
        decode_message(_reencoded(event, monitor_body=bad), CONFIG)
    assert MonitorBody(agent_ids=(0, 1, 2), counts=(0, 0, 0), llr_sums=(0, 0, 0))


def test_each_vector_is_refused_for_the_reason_its_comment_names() -> None:
    """The shap_wire cases "non-shortest integer", "trailing zero byte" and
    "last byte cut" are refused by the codec for exactly that reason (an
    earlier generator cut the type string instead, so the non-shortest case
    was refused as trailing bytes)."""
    import json

    from tests.conftest import REPO_ROOT
    from vigilnet.vectors._shap_wire_family import _CONFIG

    expected = {
        "an integer in a non-shortest form (0x1801 for 1)": "non-canonical integer",
        "a trailing zero byte": "trailing bytes",
    }
    seen = 0
    data = json.loads((REPO_ROOT / "vectors" / "shap_wire_test.json").read_text())
    for group in data["testGroups"]:
        for test in group["tests"]:
            reason = expected.get(test["comment"])
            if reason is None:
                continue
            with pytest.raises(RemoteProtocolError, match=reason):
                decode_message(bytes.fromhex(test["encoding"]), _CONFIG)
            seen += 1
    assert seen == 2 * len(data["testGroups"])
