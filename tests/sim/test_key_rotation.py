"""The key-rotation scenario: hub keys rotate, one is revoked and recovered
from shares, the hubs take their keys from the key registry every epoch,
and no message under a stale key is admitted."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.sim._small import small
from vigilnet.crypto import KeyLifecycleError
from vigilnet.protocols import sdbc
from vigilnet.sim._deployment import run_deployment
from vigilnet.sim._invariants import RunStopped
from vigilnet.sim._keys import KeyPlan
from vigilnet.sim._report import make_report
from vigilnet.sim._scenario import KeyRotation, Scenario, ScenarioError, load_scenario
from vigilnet.sim._trace import validate_run

ROTATION = KeyRotation(enabled=True, rotate_epoch=2, revoke_hub=1, revoke_epoch=3)


def rotating(seed: int = 7, **changes: object) -> Scenario:
    return replace(small(seed=seed, epochs=4), key_rotation=replace(ROTATION, **changes))


@pytest.fixture(scope="module")
def run() -> tuple[object, dict[str, object]]:
    result = run_deployment(rotating())
    return result, make_report(result)


def test_every_epoch_is_decided_under_the_registry_keys(run: tuple[object, dict]) -> None:
    result, report = run
    d = result.deployment  # type: ignore[attr-defined]
    assert report["consensus"]["epochs_decided_by_quorum"] == 4
    for (epoch, _hub), decision in d.decisions.items():
        config = d.hub_config_at(epoch)
        decision.certificate.verify(config)
        # the members of an epoch are what the registry says
        assert config.members == d.keyplan.members(epoch)
    members = [d.hub_config_at(e).members for e in range(1, 5)]
    assert members[0] == d.hub_config.members
    assert all(a != b for a, b in zip(members[0], members[1], strict=True))  # every hub rotated
    changed = [h for h in range(5) if members[1][h] != members[2][h]]
    assert changed == [1]  # only the revoked hub's key changed at epoch 3
    assert members[2] == members[3]
    # every certificate counts: the epoch-1 certificate does not verify
    # under the epoch-2 keys
    first = d.decisions[(1, 0)].certificate
    with pytest.raises(sdbc.BadMessage, match="another configuration"):
        first.verify(d.hub_config_at(2))


def test_stale_keys_attack_every_epoch_and_every_message_is_refused(
    run: tuple[object, dict],
) -> None:
    _, report = run
    keys = report["keys"]
    # 5 rotated-out hub keys from epoch 2, plus the revoked one from epoch 3
    assert keys["stale_keys"] == 6
    # SDBC: epochs 2..4: 5 stale keys in epoch 2, 6 in epochs 3 and 4, each to 4 hubs;
    # SHAP: 30 rotated-out monitor keys, one report each in epochs 2..4, and
    # 7 regional keys (2 in use, 5 standbys no hub has as a child): the 2 in
    # use sign a regional report each in epochs 2..4, sent to their hubs
    assert keys["stale_monitor_keys"] == 30
    assert keys["stale_regional_keys"] == 7
    assert keys["stale_shap_reports_sent"] == 30 * 3 + 2 * 3
    assert keys["stale_messages_sent"] == (5 + 6 + 6) * 4 + 30 * 3 + 2 * 3
    assert keys["stale_messages_accepted"] == 0
    delivered = keys["stale_messages_refused"]
    assert 0 < delivered <= keys["stale_messages_sent"]
    reasons = keys["stale_refused_by_reason"]
    assert sum(reasons.values()) == delivered
    # every SDBC one for its signature; SHAP ones for their signature unless
    # the receiver had already closed the epoch (the honest report, on a
    # faster draw of the link's latency, came first): nothing else
    assert set(reasons) <= {
        "sdbc: bad signature",
        "shap: bad signature",
        "shap: epoch closed",
        "shap regional: bad signature",
        "shap regional: epoch closed",
    }
    assert reasons["sdbc: bad signature"] > 0 and reasons["shap: bad signature"] > 0
    assert reasons["shap regional: bad signature"] > 0
    assert "NoStaleKey" in report["invariants"]["checked"]
    # the honest monitors' receipts verify under the regionals' new keys
    assert report["receipts"]["monitor_alarms"] == 0
    assert report["receipts"]["monitor_confirmed"] == 30 * 4


def test_the_key_events_are_rotation_revocation_recovery_and_a_refused_forgery(
    run: tuple[object, dict],
) -> None:
    _, report = run
    everything = report["keys"]["events"]
    shap_events = [e for e in everything if e["node"].startswith("shap.")]
    events = [e for e in everything if not e["node"].startswith("shap.")]
    assert [(e["epoch"], e["kind"], e["serial"]) for e in shap_events] == [
        (0, "certificate", 0)
    ] * 42 + [(2, "certificate", 1)] * 42
    kinds = [(e["epoch"], e["kind"], e["node"]) for e in events]
    assert kinds[:5] == [(0, "certificate", f"hub-{h}") for h in range(5)]
    assert kinds[5:10] == [(2, "certificate", f"hub-{h}") for h in range(5)]
    assert kinds[10:] == [
        (3, "revocation", "hub-1"),
        (3, "recovery", "hub-1"),
        (3, "certificate", "hub-1"),
        (3, "refused", "hub-1"),
    ]
    recovery = events[11]
    assert len(recovery["shares"]) == 3 and 2 not in recovery["shares"]  # not hub 1's own
    assert events[12]["signer"] == "identity" and events[12]["serial"] == 2
    assert all(e["signer"] == "previous" for e in events[5:10])
    assert report["keys"]["registry_refusals"] == 1
    # 30 monitors, 2 regionals + 5 standbys, 5 hubs: a SHAP key each, rotated once
    assert report["keys"]["shap_certificates"] == 2 * (30 + 7 + 5)


def test_the_recorded_histories_refine_the_model_across_rotations(
    run: tuple[object, dict],
) -> None:
    result, _ = run
    trace = validate_run(result)  # type: ignore[arg-type]
    assert trace.epochs == 4 and trace.decisions == 20


def test_same_seed_same_report_other_seed_other_keys() -> None:
    a = make_report(run_deployment(rotating(seed=3)))
    b = make_report(run_deployment(rotating(seed=3)))
    c = make_report(run_deployment(rotating(seed=4)))
    assert a["keys"] == b["keys"]
    assert a["keys"]["events"][0]["key"] != c["keys"]["events"][0]["key"]


def test_a_hub_that_accepts_a_stale_key_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    # break the registry lookup: the hubs keep using the keys of epoch 1
    monkeypatch.setattr(KeyPlan, "members", lambda self, epoch: self._first_members())
    monkeypatch.setattr(
        KeyPlan,
        "_first_members",
        lambda self: tuple(self.keys[h][0].verify_key for h in sorted(self.keys)),
        raising=False,
    )
    monkeypatch.setattr(KeyPlan, "signing_key", lambda self, h, epoch: self.keys[h][0])
    with pytest.raises(RunStopped, match="NoStaleKey"):
        run_deployment(rotating())


def test_a_hub_that_accepts_a_stale_regional_key_is_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # break the SHAP lookup for regionals only: their first key stays valid
    # everywhere, so a hub admits the attacker's regional report when it
    # arrives before the honest one
    original = KeyPlan.shap_verify_key

    def first_regional_key(self: KeyPlan, node_id: int, epoch: int) -> object:
        if self.shap_names[node_id].startswith("shap.regional-"):
            return self.shap_keys[node_id][0].verify_key
        return original(self, node_id, epoch)

    monkeypatch.setattr(KeyPlan, "shap_verify_key", first_regional_key)
    with pytest.raises(RunStopped, match="NoStaleKey"):
        run_deployment(rotating())


def test_the_registry_refuses_a_key_outside_its_validity() -> None:
    result = run_deployment(rotating(validity_epochs=3, revoke_epoch=3))
    plan = result.deployment.keyplan
    assert plan is not None
    assert make_report(result)["consensus"]["epochs_decided_by_quorum"] == 4
    with pytest.raises(KeyLifecycleError, match="expired"):
        plan.registry.key_at("hub-0", 5)  # the epoch-2 key ends at epoch 5
    # the revoked key of hub 1 signs nothing that verifies at epoch 3 or later
    stolen = plan.keys[1][1]
    config = result.deployment.hub_config_at(3)
    vote = sdbc.sign_vote(stolen, config, sdbc.PREVOTE, 3, 0, 1, None)
    tag = sdbc.VOTE_TAGS[sdbc.PREVOTE]
    with pytest.raises(KeyLifecycleError, match="bad signature"):
        plan.registry.verify("hub-1", 3, tag, vote.fields(), vote.signature)
    plan.registry.verify("hub-1", 2, tag, vote.fields(), vote.signature)  # valid at 2


def test_the_embedded_scenario_loads_and_bad_sections_are_refused() -> None:
    s = load_scenario("key-rotation")
    assert s.key_rotation.enabled and s.key_rotation.revoke_hub == 1
    base = {"scenario": {"name": "x", "epochs": 6}}
    for section, message in (
        ({"enabled": True, "revoke_hub": 9}, "revoke_hub"),
        ({"enabled": True, "shares_k": 6}, "shares_k"),
        ({"enabled": True, "rotate_epoch": 5, "revoke_epoch": 4}, "rotate_epoch"),
        ({"enabled": "yes"}, "enabled"),
        ({"enabled": True, "frequency": 2}, "frequency"),
    ):
        with pytest.raises(ScenarioError, match=message):
            Scenario.from_toml({**base, "key_rotation": section})
    with pytest.raises(ScenarioError, match="Byzantine hubs"):
        Scenario.from_toml(
            {**base, "key_rotation": {"enabled": True}, "faults": {"byzantine_hubs": [0]}}
        )


def test_the_seed_sweep_pools_the_stale_key_messages() -> None:
    from vigilnet.sim._sweep import run_seeds

    sweep = run_seeds(rotating(), 2, workers=1)
    rate = sweep["rates"]["stale_key_accepted"]
    per_seed = [r["stale_key_messages"] for r in sweep["per_seed"]]
    assert rate["successes"] == sum(x["accepted"] for x in per_seed) == 0
    assert rate["trials"] == sum(x["refused"] for x in per_seed) > 0
    assert run_seeds(small(epochs=2), 1, workers=1)["rates"]["stale_key_accepted"] is None
