"""The flat baseline (every monitor straight to every hub) at 2,000 agents."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vigilnet.sim._deployment import run_deployment
from vigilnet.sim._flat import FlatRun, flat_counts, hierarchy_counts, run_flat
from vigilnet.sim._scenario import Faults, Partition, Scenario, ScenarioError, load_scenario


def _scenario(agents_per_site: int = 2000, seed: int = 1) -> Scenario:
    """2,000 agents, 1 epoch: one site of 2,000 (3 monitors), or ten of 200
    (30 monitors), under one regional in the hierarchy."""
    base = load_scenario("baseline").with_overrides(agents=2000, epochs=1, seed=seed)
    return replace(base, topology=replace(base.topology, agents_per_site=agents_per_site))


@pytest.fixture(scope="module")
def ten_sites() -> tuple[Scenario, FlatRun]:
    s = _scenario(agents_per_site=200)
    return s, run_flat(s)


@pytest.mark.parametrize("agents_per_site", [2000, 200])
def test_counts_match_the_closed_form(agents_per_site: int) -> None:
    s = _scenario(agents_per_site)
    run = run_flat(s)
    want = flat_counts(s)
    monitors = s.topology.sites * s.topology.replicas
    assert want.messages == {"monitor->hub": monitors * 5, "hub->monitor": monitors * 5}
    got = dict(run.meter.messages)
    assert got.pop("hub->hub") > 0  # SDBC's, not in the closed form
    assert got == want.messages
    verified = dict(run.meter.verifications)
    assert verified.pop("consensus") > 0
    assert verified == want.verifications
    assert run.network["sent"] == sum(run.meter.messages.values())
    assert run.network.get("lost", 0) == 0


def test_hierarchy_counts_match_the_closed_form() -> None:
    s = _scenario(agents_per_site=200)
    d = run_deployment(s).deployment
    want = hierarchy_counts(s)
    got = dict(d.meter.messages)
    assert got.pop("hub->hub") > 0
    assert (
        got
        == want.messages
        == {
            "monitor->regional": 30,
            "regional->monitor": 30,
            "regional->hub": 1,
            "hub->regional": 1,
        }
    )
    skip = ("consensus", "invariants")
    verified = {t: n for t, n in d.meter.verifications.items() if t not in skip}
    assert verified == want.verifications


def test_flat_sends_the_hierarchys_report_bytes_to_every_hub(
    ten_sites: tuple[Scenario, FlatRun],
) -> None:
    """Same population, keys and evidence: each monitor's report and body
    are the hierarchy's bytes in length, sent once per hub; and SDBC costs
    the same in both."""
    s, flat = ten_sites
    d = run_deployment(s).deployment
    hubs = s.topology.hubs
    assert (
        flat.meter.message_bytes["monitor->hub"]
        == hubs * d.meter.message_bytes["monitor->regional"]
    )
    assert flat.meter.messages["hub->hub"] == d.meter.messages["hub->hub"]
    assert flat.meter.verifications["consensus"] == d.meter.verifications["consensus"]


def test_flat_decides_and_binds_every_hubs_root(ten_sites: tuple[Scenario, FlatRun]) -> None:
    s, run = ten_sites
    hubs = s.topology.hubs
    monitors = s.topology.sites * s.topology.replicas
    assert sorted(run.decisions) == [(1, h) for h in range(hubs)]
    hashes = {run.decisions[(1, h)].value.value_hash for h in range(hubs)}
    assert len(hashes) == 1  # agreement
    roots = {run.hub_roots[(1, h)] for h in range(hubs)}
    assert len(roots) == 1  # every hub committed the same population
    for h in range(hubs):
        bound = run.bound_roots(1, h)
        assert len(bound) >= 4  # at least q = 4 hub-signed summaries
        assert all(root == run.hub_roots[(1, signer)][0] for signer, root in bound.items())
    assert run.counts["monitor_receipts_confirmed"] == monitors * hubs
    assert run.counts["monitor_alarms"] == 0
    # the totals are the population's: 2,000 agents' entries
    _root, totals = run.hub_roots[(1, 0)]
    assert totals[0] == 2000
    t = run.times
    assert 0 < t[(1, "hub_reports_in")] == t[(1, "hub_commit")] < t[(1, "monitor_receipts")]
    assert t[(1, "consensus_decided")] > 0


def test_flat_is_deterministic_for_a_seed(ten_sites: tuple[Scenario, FlatRun]) -> None:
    s, first = ten_sites
    again = run_flat(s)
    other = run_flat(_scenario(agents_per_site=200, seed=2))

    def fingerprint(run: FlatRun) -> tuple[object, ...]:
        return (
            sorted((k, v.value.value_hash) for k, v in run.decisions.items()),
            sorted(run.hub_roots.items()),
            sorted(run.times.items()),
            sorted(run.meter.message_bytes.items()),
            sorted(run.meter.verifications.items()),
        )

    assert fingerprint(again) == fingerprint(first)
    assert other.hub_roots[(1, 0)] != first.hub_roots[(1, 0)]
    assert fingerprint(other) != fingerprint(first)


def test_flat_refuses_faults() -> None:
    s = _scenario()
    with pytest.raises(ScenarioError, match="honest scenarios only"):
        run_flat(replace(s, faults=Faults(byzantine_hubs=(1,))))
    cut = Partition(name="cut", hubs=(0,), start_epoch=1, heal_epoch=2, flap_every=0)
    with pytest.raises(ScenarioError, match="partition"):
        run_flat(replace(s, partitions=(cut,)))
