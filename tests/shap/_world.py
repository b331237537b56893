"""A small SHAP tree for the tests: one hub, regionals, monitors.

Monitors are grouped in triples; every monitor of a triple observes the
same agents (the triple is those agents' three replicas).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from vigilnet.crypto import SigningKey, VerifyKey
from vigilnet.protocols.shap import (
    AggregatorSetup,
    MonitorBody,
    Report,
    ShapConfig,
    Tier,
    monitor_report,
)

__all__ = ["World", "key", "make_world"]


def key(node_id: int) -> SigningKey:
    return SigningKey(hashlib.sha256(b"vigilnet shap test key %d" % node_id).digest())


@dataclass
class World:
    config: ShapConfig
    hub: AggregatorSetup
    regionals: dict[int, AggregatorSetup]
    monitor_region: dict[int, int]
    placement: dict[int, tuple[int, ...]]
    epoch: int = 1
    keys: dict[int, VerifyKey] = field(default_factory=dict)

    def honest_body(self, monitor: int, values: dict[int, tuple[int, int]]) -> MonitorBody:
        agents = self.placement[monitor]
        return MonitorBody(
            agent_ids=agents,
            counts=tuple(values[a][0] for a in agents),
            llr_sums=tuple(values[a][1] for a in agents),
        )

    def report(self, monitor: int, body: MonitorBody, epoch: int | None = None) -> Report:
        return monitor_report(
            signing_key=key(monitor),
            node_id=monitor,
            epoch=self.epoch if epoch is None else epoch,
            config=self.config,
            body=body,
        )


def make_world(
    *,
    regions: int = 2,
    triples_per_region: int = 1,
    agents_per_triple: int = 3,
    config: ShapConfig | None = None,
) -> World:
    config = config or ShapConfig(max_aggregation_ratio=6)
    hub_id = 1000
    regionals: dict[int, AggregatorSetup] = {}
    monitor_region: dict[int, int] = {}
    placement: dict[int, tuple[int, ...]] = {}
    agent = 0
    for r in range(regions):
        region_id = 100 + r
        children: dict[int, VerifyKey] = {}
        region_placement: dict[int, tuple[int, ...]] = {}
        for _ in range(triples_per_region):
            agents = tuple(range(agent, agent + agents_per_triple))
            agent += agents_per_triple
            for _ in range(3):
                monitor = len(monitor_region)
                monitor_region[monitor] = region_id
                placement[monitor] = agents
                children[monitor] = key(monitor).verify_key
                region_placement[monitor] = agents
        regionals[region_id] = AggregatorSetup(
            node_id=region_id,
            tier=Tier.REGIONAL,
            config=config,
            signing_key=key(region_id),
            children=children,
            placement=region_placement,
        )
    hub = AggregatorSetup(
        node_id=hub_id,
        tier=Tier.HUB,
        config=config,
        signing_key=key(hub_id),
        children={r: key(r).verify_key for r in regionals},
    )
    keys = {n: key(n).verify_key for n in (*monitor_region, *regionals, hub_id)}
    return World(
        config=config,
        hub=hub,
        regionals=regionals,
        monitor_region=monitor_region,
        placement=placement,
        keys=keys,
    )


def agents_of(world: World) -> Sequence[int]:
    return sorted({a for agents in world.placement.values() for a in agents})
