"""A small deployment for the fault, invariant and seed tests.

2,000 agents in 10 sites of 200, 5 sites per regional: regionals 0 and 1
under hubs 0 and 1, 30 monitors, 5 hubs, one standby regional per hub.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any

from vigilnet.sim._scenario import Faults, Link, Network, Partition, Scenario, Topology

TOPOLOGY = Topology(agents=2_000, agents_per_site=200, sites_per_regional=5)


def small(
    *, seed: int = 7, epochs: int = 3, faults: dict[str, Any] | None = None, **links: Link
) -> Scenario:
    """The small scenario with ``faults`` (``Faults`` fields) and link overrides."""
    scenario = Scenario(name="small", seed=seed, epochs=epochs, topology=TOPOLOGY)
    if faults:
        values = dict(faults)
        if "byzantine_monitor_share" in values:
            values["byzantine_monitor_share"] = Fraction(values["byzantine_monitor_share"])
        scenario = replace(scenario, faults=Faults(**values))
    if links:
        merged = dict(scenario.network.links)
        merged.update(links)
        scenario = replace(scenario, network=Network(links=merged))
    return scenario


def partitioned(*, hubs: tuple[int, ...], start: int, heal: int, epochs: int = 4) -> Scenario:
    return replace(
        small(epochs=epochs),
        partitions=(Partition(name="cut", hubs=hubs, start_epoch=start, heal_epoch=heal),),
    )
