"""A node's Prometheus metrics: the exposition text, parsed back with
prometheus_client's own parser, carries exactly what the runtime reported;
two nodes in one process do not share figures; label values stay bounded;
bad calls are refused and change nothing."""

from __future__ import annotations

from fractions import Fraction

import pytest
from prometheus_client.parser import text_string_to_metric_families

from vigilnet.errors import LocalProtocolError
from vigilnet.runtime._metrics import MAX_LABEL_VALUES, OTHER, NodeMetrics


def _samples(metrics: NodeMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode("utf-8")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(metrics: NodeMetrics, name: str, **labels: str) -> float:
    return _samples(metrics)[(name, tuple(sorted(labels.items())))]


def test_a_fresh_node_exposes_its_name_and_zero_counts() -> None:
    m = NodeMetrics("hub-0", "hub")
    assert _value(m, "vigilnet_node_info", node="hub-0", role="hub") == 1
    assert _value(m, "vigilnet_epochs_decided_total") == 0
    assert _value(m, "vigilnet_verdicts_total", verdict="flagged") == 0
    assert _value(m, "vigilnet_signatures_verified_total", result="invalid") == 0


def test_consensus_progress_is_counted() -> None:
    m = NodeMetrics("hub-1", "hub")
    m.round_entered(3, 0)
    m.round_entered(3, 1)
    m.epoch_decided(3, 1)
    m.round_entered(4, 0)
    m.epoch_decided(4, 0)
    assert _value(m, "vigilnet_epoch") == 4
    assert _value(m, "vigilnet_round") == 0
    assert _value(m, "vigilnet_rounds_total") == 3
    assert _value(m, "vigilnet_epochs_decided_total") == 2
    assert _value(m, "vigilnet_decision_round_count") == 2
    assert _value(m, "vigilnet_decision_round_sum") == 1
    assert _value(m, "vigilnet_decision_round_bucket", le="0.0") == 1
    assert _value(m, "vigilnet_decision_round_bucket", le="1.0") == 2


def test_verdicts_signatures_rejections_equivocations_and_partitions() -> None:
    m = NodeMetrics("regional-0", "regional")
    m.verdicts("flagged", 3)
    m.verdicts("cleared", 1_000)
    m.verdicts("flagged")
    m.signatures_verified(valid=40, invalid=2)
    m.signatures_verified(valid=2)
    for reason in ("malformed_frame", "malformed_frame", "unauthenticated"):
        m.message_rejected(reason)
    m.equivocation()
    m.partitions(suspected=2, confirmed=1)
    m.partitions(suspected=1, confirmed=0)
    assert _value(m, "vigilnet_verdicts_total", verdict="flagged") == 4
    assert _value(m, "vigilnet_verdicts_total", verdict="cleared") == 1_000
    assert _value(m, "vigilnet_verdicts_total", verdict="undecided") == 0
    assert _value(m, "vigilnet_signatures_verified_total", result="valid") == 42
    assert _value(m, "vigilnet_signatures_verified_total", result="invalid") == 2
    assert _value(m, "vigilnet_rejected_messages_total", reason="malformed_frame") == 2
    assert _value(m, "vigilnet_rejected_messages_total", reason="unauthenticated") == 1
    assert _value(m, "vigilnet_equivocations_total") == 1
    assert _value(m, "vigilnet_partitions_suspected") == 1
    assert _value(m, "vigilnet_partitions_confirmed") == 0


def test_reputation_and_latency() -> None:
    m = NodeMetrics("hub-2", "hub")
    m.set_reputation("regional-3", Fraction(9, 10))
    m.set_reputation("regional-4", Fraction(1, 3))
    m.set_reputation("regional-4", 0)
    m.observe_latency("regional", 0.2)
    m.observe_latency("regional", 3.0)
    m.observe_latency("consensus", 0.04)
    assert _value(m, "vigilnet_peer_reputation", peer="regional-3") == 0.9
    assert _value(m, "vigilnet_peer_reputation", peer="regional-4") == 0
    assert _value(m, "vigilnet_tier_latency_seconds_count", tier="regional") == 2
    assert _value(m, "vigilnet_tier_latency_seconds_sum", tier="regional") == pytest.approx(3.2)
    assert _value(m, "vigilnet_tier_latency_seconds_bucket", tier="regional", le="0.25") == 1
    assert _value(m, "vigilnet_tier_latency_seconds_bucket", tier="regional", le="5.0") == 2
    assert _value(m, "vigilnet_tier_latency_seconds_count", tier="consensus") == 1


def test_two_nodes_in_one_process_keep_their_own_figures() -> None:
    a, b = NodeMetrics("hub-0", "hub"), NodeMetrics("hub-1", "hub")
    a.epoch_decided(1, 0)
    a.message_rejected("oversize")
    assert _value(a, "vigilnet_epochs_decided_total") == 1
    assert _value(b, "vigilnet_epochs_decided_total") == 0
    assert ("vigilnet_rejected_messages_total", (("reason", "oversize"),)) not in _samples(b)
    assert ("vigilnet_node_info", (("node", "hub-0"), ("role", "hub"))) not in _samples(b)


def test_distinct_reasons_are_bounded() -> None:
    m = NodeMetrics("hub-0", "hub")
    for i in range(MAX_LABEL_VALUES + 10):
        m.message_rejected(f"reason_{i}")
    m.message_rejected("reason_0")  # a reason already admitted keeps its own series
    rejected = {
        labels: v
        for (name, labels), v in _samples(m).items()
        if name == "vigilnet_rejected_messages_total"
    }
    assert len(rejected) == MAX_LABEL_VALUES + 1
    assert rejected[(("reason", OTHER),)] == 10
    assert rejected[(("reason", "reason_0"),)] == 2


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.verdicts("guilty"),
        lambda m: m.verdicts("flagged", -1),
        lambda m: m.verdicts("flagged", True),
        lambda m: m.signatures_verified(valid=-3),
        lambda m: m.signatures_verified(valid=5, invalid=-1),
        lambda m: m.epoch_decided(7, -1),
        lambda m: m.round_entered(8, -2),
        lambda m: m.message_rejected("Bad Reason\n"),
        lambda m: m.message_rejected('x"} 1\nvigilnet_epoch 99'),
        lambda m: m.set_reputation("regional-0", Fraction(3, 2)),
        lambda m: m.set_reputation("{peer}", Fraction(1, 2)),
        lambda m: m.observe_latency("planet", 1.0),
        lambda m: m.observe_latency("local", -0.5),
        lambda m: m.observe_latency("local", float("nan")),
        lambda m: m.round_entered(-1, 0),
        lambda m: m.partitions(suspected=-1, confirmed=0),
        lambda m: m.partitions(suspected=3, confirmed=-1),
    ],
)
def test_a_bad_call_is_refused_and_changes_nothing(call: object) -> None:
    m = NodeMetrics("hub-0", "hub")
    m.verdicts("flagged", 2)
    before = m.exposition()
    with pytest.raises(LocalProtocolError):
        call(m)  # type: ignore[operator]
    assert m.exposition() == before


def test_a_bad_role_or_node_name_is_refused() -> None:
    with pytest.raises(LocalProtocolError):
        NodeMetrics("hub-0", "king")
    with pytest.raises(LocalProtocolError):
        NodeMetrics("Hub 0", "hub")
