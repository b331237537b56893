"""Scenarios: what a simulated run deploys, which faults it injects, when.

A scenario is a TOML file (the embedded ones are in
``vigilnet/sim/scenarios/``; ``vigilnet simulate --list`` names them and a
user copies one to edit it).  Every number is configuration; every key is
checked: an unknown key, a wrong type or an impossible value is an error
naming the key, never a silent default.  Exact fractions are written as
strings (``"1/100"``) and parsed with :class:`fractions.Fraction`.

Sections (all optional but ``[scenario]``):

``[scenario]``  ``name``, ``description``, ``seed``, ``epochs``, ``epoch_ms``
``[topology]``  ``agents``, ``replicas``, ``agents_per_site``,
                ``sites_per_regional``, ``regionals_per_hub``, ``hubs``,
                ``standby_regionals``
``[agents]``    the :class:`~vigilnet.sim.AgentMix` fields
``[sprt]``      ``alpha``, ``beta``
``[network.<tiers>]``  ``base_ms``, ``jitter_ms``, ``loss``, ``duplicate``
                for ``monitor_regional``, ``regional_hub``, ``hub_hub``
``[faults]``    ``byzantine_hubs`` (hub indices), ``hub_attack``;
                ``byzantine_monitor_share``, ``monitor_attack``;
                ``byzantine_regionals`` (regional indices),
                ``regional_attack``
``[[partition]]``  ``name``, ``hubs`` (the cut-off hub indices: each with
                its whole subtree), ``start_epoch``, ``heal_epoch``,
                ``flap_every`` (0: one cut; n: the cut toggles every n
                epochs in the window)
``[[hub_fault]]``  ``kind`` (``crash``: the hubs stop at ``at_ms`` into
                ``start_epoch``, losing what they held in memory but not
                what they persisted, and restart at the start of
                ``end_epoch``; ``slow``: every message to or from them takes
                ``delay_ms`` longer from ``at_ms`` into ``start_epoch`` to
                the start of ``end_epoch``), ``hubs``, ``start_epoch``,
                ``end_epoch``, ``at_ms``, ``delay_ms``
``[timing_attack]``  ``enabled``, ``hub`` (whose heartbeats the attacker
                times), ``start_epoch``, ``epochs``
``[key_rotation]``  ``enabled``, ``rotate_epoch`` (every hub's operational
                key rotates at its start), ``revoke_hub``, ``revoke_epoch``
                (that hub's key is revoked and its identity key recovered
                from ``shares_k`` of ``shares_n`` shares), ``validity_epochs``,
                ``stale_attack`` (an attacker signs votes with every stale
                key and sends them as the hub they belonged to)
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

from vigilnet.errors import RemoteProtocolError
from vigilnet.sim._agents import AgentMix

__all__ = [
    "HUB_ATTACKS",
    "HUB_FAULTS",
    "MONITOR_ATTACKS",
    "REGIONAL_ATTACKS",
    "Faults",
    "HubFault",
    "KeyRotation",
    "Link",
    "Network",
    "Partition",
    "Scenario",
    "ScenarioError",
    "Sprt",
    "TimingAttack",
    "Topology",
    "embedded_scenarios",
    "load_scenario",
]

HUB_ATTACKS = ("equivocate", "bad_value", "silent")
MONITOR_ATTACKS = ("lie_high", "lie_low", "garbage_body")
REGIONAL_ATTACKS = ("drop_child", "alter_child", "lying_sums")


class ScenarioError(RemoteProtocolError):
    """A scenario file that is malformed or impossible (names the key)."""


def _fraction(value: object, key: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ScenarioError(f'{key}: an exact fraction as a string like "1/100", got {value!r}')
    try:
        return Fraction(value)
    except (ValueError, ZeroDivisionError) as exc:
        raise ScenarioError(f"{key}: not a fraction: {value!r}") from exc


def _int(value: object, key: str, low: int = 0, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{key}: an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ScenarioError(f"{key}: {value} not in {bound}")
    return value


def _ints(value: object, key: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise ScenarioError(f"{key}: a list of integers, got {value!r}")
    out = tuple(_int(v, f"{key}[{i}]") for i, v in enumerate(value))
    if len(set(out)) != len(out):
        raise ScenarioError(f"{key}: duplicate entries {list(out)}")
    return out


def _str(value: object, key: str, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str):
        raise ScenarioError(f"{key}: a string, got {value!r}")
    if choices is not None and value not in choices:
        raise ScenarioError(f"{key}: {value!r} is not one of {', '.join(choices)}")
    return value


def _table(data: object, key: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ScenarioError(f"[{key}]: a table, got {type(data).__name__}")
    unknown = set(data) - allowed
    if unknown:
        raise ScenarioError(f"[{key}]: unknown key(s) {', '.join(sorted(unknown))}")
    return data


def _names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Topology:
    agents: int = 20_000
    replicas: int = 3
    agents_per_site: int = 2_000
    sites_per_regional: int = 10
    regionals_per_hub: int = 10
    hubs: int = 5
    standby_regionals: int = 1

    @property
    def sites(self) -> int:
        return -(-self.agents // self.agents_per_site)

    @property
    def regionals(self) -> int:
        return -(-self.sites // self.sites_per_regional)

    def check(self) -> None:
        if self.regionals > self.hubs * self.regionals_per_hub:
            raise ScenarioError(
                f"topology: {self.agents} agents need {self.regionals} regionals, more than "
                f"hubs x regionals_per_hub = {self.hubs * self.regionals_per_hub}"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Sprt:
    alpha: Fraction = Fraction(1, 100)
    beta: Fraction = Fraction(1, 100)


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    base_ms: int
    jitter_ms: int = 0
    loss: Fraction = Fraction(0)
    duplicate: Fraction = Fraction(0)


def _default_links() -> dict[str, Link]:
    return {
        "monitor_regional": Link(base_ms=5, jitter_ms=5),
        "regional_hub": Link(base_ms=20, jitter_ms=10),
        "hub_hub": Link(base_ms=80, jitter_ms=40),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Network:
    links: Mapping[str, Link] = field(default_factory=_default_links)


@dataclass(frozen=True, slots=True, kw_only=True)
class Faults:
    byzantine_hubs: tuple[int, ...] = ()
    hub_attack: str = "equivocate"
    byzantine_monitor_share: Fraction = Fraction(0)
    monitor_attack: str = "lie_high"
    byzantine_regionals: tuple[int, ...] = ()
    regional_attack: str = "alter_child"


@dataclass(frozen=True, slots=True, kw_only=True)
class Partition:
    name: str
    hubs: tuple[int, ...]
    start_epoch: int
    heal_epoch: int
    flap_every: int = 0


HUB_FAULTS = ("crash", "slow")


@dataclass(frozen=True, slots=True, kw_only=True)
class HubFault:
    kind: str
    hubs: tuple[int, ...]
    start_epoch: int
    end_epoch: int
    at_ms: int = 0
    delay_ms: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class TimingAttack:
    enabled: bool = False
    hub: int = 0
    start_epoch: int = 1
    epochs: int = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyRotation:
    enabled: bool = False
    rotate_epoch: int = 3
    revoke_hub: int = 1
    revoke_epoch: int = 5
    shares_k: int = 3
    shares_n: int = 5
    validity_epochs: int = 90 * 24 * 60
    stale_attack: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One run's whole configuration (see the module docstring)."""

    name: str
    description: str = ""
    seed: int = 1
    epochs: int = 6
    epoch_ms: int = 60_000
    topology: Topology = field(default_factory=Topology)
    agents: AgentMix = field(default_factory=AgentMix)
    sprt: Sprt = field(default_factory=Sprt)
    network: Network = field(default_factory=Network)
    faults: Faults = field(default_factory=Faults)
    partitions: tuple[Partition, ...] = ()
    hub_faults: tuple[HubFault, ...] = ()
    timing_attack: TimingAttack = field(default_factory=TimingAttack)
    key_rotation: KeyRotation = field(default_factory=KeyRotation)

    @classmethod
    def from_toml(cls, data: Mapping[str, Any], origin: str = "<scenario>") -> Scenario:
        try:
            return _build(data)
        except ScenarioError as exc:
            raise ScenarioError(f"{origin}: {exc}") from None

    def with_overrides(
        self, *, agents: int | None = None, seed: int | None = None, epochs: int | None = None
    ) -> Scenario:
        """The same scenario at another scale, seed or length."""
        from dataclasses import replace

        topology = self.topology if agents is None else replace(self.topology, agents=agents)
        out = replace(
            self,
            topology=topology,
            seed=self.seed if seed is None else seed,
            epochs=self.epochs if epochs is None else epochs,
        )
        _check(out)
        return out


def _build(data: Mapping[str, Any]) -> Scenario:
    top = _table(
        dict(data),
        "top level",
        {
            "scenario",
            "topology",
            "agents",
            "sprt",
            "network",
            "faults",
            "partition",
            "hub_fault",
            "timing_attack",
            "key_rotation",
        },
    )
    head = _table(
        top.get("scenario"), "scenario", {"name", "description", "seed", "epochs", "epoch_ms"}
    )
    if "name" not in head:
        raise ScenarioError("[scenario]: name is required")
    topo_data = _table(top.get("topology", {}), "topology", _names(Topology))
    topology = Topology(
        **{
            k: _int(v, f"topology.{k}", low=0 if k == "standby_regionals" else 1)
            for k, v in topo_data.items()
        }
    )
    mix_data = _table(top.get("agents", {}), "agents", _names(AgentMix))
    mix_kwargs: dict[str, Any] = {}
    for k, v in mix_data.items():
        if k in ("drift_first_epoch", "drift_last_epoch"):
            mix_kwargs[k] = _int(v, f"agents.{k}")
        else:
            mix_kwargs[k] = _fraction(v, f"agents.{k}")
    try:
        mix = AgentMix(**mix_kwargs)
    except Exception as exc:
        raise ScenarioError(f"[agents]: {exc}") from None
    sprt_data = _table(top.get("sprt", {}), "sprt", {"alpha", "beta"})
    sprt = Sprt(**{k: _fraction(v, f"sprt.{k}") for k, v in sprt_data.items()})
    links = _default_links()
    net_data = _table(top.get("network", {}), "network", set(links))
    for tier, spec in net_data.items():
        spec = _table(spec, f"network.{tier}", _names(Link))
        base = links[tier]
        links[tier] = Link(
            base_ms=_int(spec.get("base_ms", base.base_ms), f"network.{tier}.base_ms"),
            jitter_ms=_int(spec.get("jitter_ms", base.jitter_ms), f"network.{tier}.jitter_ms"),
            loss=_fraction(spec.get("loss", "0"), f"network.{tier}.loss"),
            duplicate=_fraction(spec.get("duplicate", "0"), f"network.{tier}.duplicate"),
        )
    fault_data = _table(top.get("faults", {}), "faults", _names(Faults))
    faults = Faults(
        byzantine_hubs=_ints(fault_data.get("byzantine_hubs", []), "faults.byzantine_hubs"),
        hub_attack=_str(
            fault_data.get("hub_attack", "equivocate"), "faults.hub_attack", HUB_ATTACKS
        ),
        byzantine_monitor_share=_fraction(
            fault_data.get("byzantine_monitor_share", "0"), "faults.byzantine_monitor_share"
        ),
        monitor_attack=_str(
            fault_data.get("monitor_attack", "lie_high"), "faults.monitor_attack", MONITOR_ATTACKS
        ),
        byzantine_regionals=_ints(
            fault_data.get("byzantine_regionals", []), "faults.byzantine_regionals"
        ),
        regional_attack=_str(
            fault_data.get("regional_attack", "alter_child"),
            "faults.regional_attack",
            REGIONAL_ATTACKS,
        ),
    )
    parts_data = top.get("partition", [])
    if not isinstance(parts_data, list):
        raise ScenarioError("[[partition]]: an array of tables")
    partitions = []
    for i, p in enumerate(parts_data):
        p = _table(p, f"partition[{i}]", _names(Partition))
        for required in ("name", "hubs", "start_epoch", "heal_epoch"):
            if required not in p:
                raise ScenarioError(f"[[partition]] {i}: {required} is required")
        partitions.append(
            Partition(
                name=_str(p["name"], f"partition[{i}].name"),
                hubs=_ints(p["hubs"], f"partition[{i}].hubs"),
                start_epoch=_int(p["start_epoch"], f"partition[{i}].start_epoch"),
                heal_epoch=_int(p["heal_epoch"], f"partition[{i}].heal_epoch"),
                flap_every=_int(p.get("flap_every", 0), f"partition[{i}].flap_every"),
            )
        )
    fault_list = top.get("hub_fault", [])
    if not isinstance(fault_list, list):
        raise ScenarioError("[[hub_fault]]: an array of tables")
    hub_faults = []
    for i, h in enumerate(fault_list):
        where = f"hub_fault[{i}]"
        h = _table(h, where, _names(HubFault))
        for required in ("kind", "hubs", "start_epoch", "end_epoch"):
            if required not in h:
                raise ScenarioError(f"[[hub_fault]] {i}: {required} is required")
        hub_faults.append(
            HubFault(
                kind=_str(h["kind"], f"{where}.kind", HUB_FAULTS),
                hubs=_ints(h["hubs"], f"{where}.hubs"),
                start_epoch=_int(h["start_epoch"], f"{where}.start_epoch", low=1),
                end_epoch=_int(h["end_epoch"], f"{where}.end_epoch", low=1),
                at_ms=_int(h.get("at_ms", 0), f"{where}.at_ms", low=0),
                delay_ms=_int(h.get("delay_ms", 0), f"{where}.delay_ms", low=0),
            )
        )
    timing_data = _table(top.get("timing_attack", {}), "timing_attack", _names(TimingAttack))
    enabled = timing_data.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ScenarioError("timing_attack.enabled: true or false")
    timing = TimingAttack(
        enabled=enabled,
        hub=_int(timing_data.get("hub", 0), "timing_attack.hub"),
        start_epoch=_int(timing_data.get("start_epoch", 1), "timing_attack.start_epoch"),
        epochs=_int(timing_data.get("epochs", 3), "timing_attack.epochs", low=1),
    )
    rot = _table(top.get("key_rotation", {}), "key_rotation", _names(KeyRotation))
    for flag in ("enabled", "stale_attack"):
        if not isinstance(rot.get(flag, True), bool):
            raise ScenarioError(f"key_rotation.{flag}: true or false")
    default = KeyRotation()
    rotation = KeyRotation(
        enabled=rot.get("enabled", False),
        stale_attack=rot.get("stale_attack", True),
        **{
            name: _int(rot.get(name, getattr(default, name)), f"key_rotation.{name}", low=1)
            for name in (
                "rotate_epoch",
                "revoke_epoch",
                "shares_k",
                "shares_n",
                "validity_epochs",
            )
        },
        revoke_hub=_int(rot.get("revoke_hub", default.revoke_hub), "key_rotation.revoke_hub"),
    )
    scenario = Scenario(
        name=_str(head["name"], "scenario.name"),
        description=_str(head.get("description", ""), "scenario.description"),
        seed=_int(head.get("seed", 1), "scenario.seed"),
        epochs=_int(head.get("epochs", 6), "scenario.epochs", low=1, high=10_000),
        epoch_ms=_int(head.get("epoch_ms", 60_000), "scenario.epoch_ms", low=1),
        topology=topology,
        agents=mix,
        sprt=sprt,
        network=Network(links=links),
        faults=faults,
        partitions=tuple(partitions),
        hub_faults=tuple(hub_faults),
        timing_attack=timing,
        key_rotation=rotation,
    )
    _check(scenario)
    return scenario


def _check(s: Scenario) -> None:
    s.topology.check()
    hubs = s.topology.hubs
    for h in s.faults.byzantine_hubs:
        if h >= hubs:
            raise ScenarioError(f"faults.byzantine_hubs: hub {h} >= hubs = {hubs}")
    for r in s.faults.byzantine_regionals:
        if r >= s.topology.regionals:
            raise ScenarioError(
                f"faults.byzantine_regionals: regional {r} >= regionals = {s.topology.regionals}"
            )
    if not 0 <= s.faults.byzantine_monitor_share < 1:
        raise ScenarioError("faults.byzantine_monitor_share: must be in [0, 1)")
    for name, prob in (("alpha", s.sprt.alpha), ("beta", s.sprt.beta)):
        if not 0 < prob < Fraction(1, 2):
            raise ScenarioError(f"sprt.{name}: must be in (0, 1/2)")
    for tier, link in s.network.links.items():
        for attr in ("loss", "duplicate"):
            if not 0 <= getattr(link, attr) < 1:
                raise ScenarioError(f"network.{tier}.{attr}: must be in [0, 1)")
    for p in s.partitions:
        if not p.start_epoch < p.heal_epoch:
            raise ScenarioError(f"partition {p.name}: start_epoch must be before heal_epoch")
        bad = [h for h in p.hubs if h >= hubs]
        if bad or not p.hubs:
            raise ScenarioError(f"partition {p.name}: hubs must be a non-empty list below {hubs}")
    if len({p.name for p in s.partitions}) != len(s.partitions):
        raise ScenarioError("partition names must be distinct")
    for i, f in enumerate(s.hub_faults):
        where = f"hub_fault[{i}]"
        if not f.start_epoch < f.end_epoch:
            raise ScenarioError(f"{where}: start_epoch must be before end_epoch")
        if not f.hubs or any(h >= hubs for h in f.hubs) or len(set(f.hubs)) != len(f.hubs):
            raise ScenarioError(
                f"{where}: hubs must be a non-empty list of distinct hubs below {hubs}"
            )
        if f.at_ms >= s.epoch_ms:
            raise ScenarioError(f"{where}: at_ms must be below epoch_ms = {s.epoch_ms}")
        if (f.kind == "slow") != (f.delay_ms > 0):
            raise ScenarioError(f'{where}: delay_ms > 0 is for (and required by) kind = "slow"')
    crashes = [(h, f) for f in s.hub_faults if f.kind == "crash" for h in f.hubs]
    for j, (h, f) in enumerate(crashes):
        for h2, g in crashes[j + 1 :]:
            if h == h2 and f.start_epoch < g.end_epoch and g.start_epoch < f.end_epoch:
                raise ScenarioError(f"hub_fault: hub {h} has overlapping crash windows")
    if s.timing_attack.enabled and s.timing_attack.hub >= hubs:
        raise ScenarioError(f"timing_attack.hub: {s.timing_attack.hub} >= hubs = {hubs}")
    k = s.key_rotation
    if k.enabled:
        if k.revoke_hub >= hubs:
            raise ScenarioError(f"key_rotation.revoke_hub: {k.revoke_hub} >= hubs = {hubs}")
        if not 2 <= k.shares_k <= k.shares_n <= 255:
            raise ScenarioError("key_rotation: need 2 <= shares_k <= shares_n <= 255")
        if k.shares_k > hubs - 1:
            raise ScenarioError(
                f"key_rotation.shares_k: {k.shares_k} holders besides the revoked hub, "
                f"but only {hubs - 1} other hubs"
            )
        if not 1 < k.rotate_epoch < k.revoke_epoch:
            raise ScenarioError("key_rotation: need 1 < rotate_epoch < revoke_epoch")
        if s.faults.byzantine_hubs:
            raise ScenarioError(
                "key_rotation: Byzantine hubs are another scenario (the stale-key attacker "
                "is the adversary here)"
            )


def embedded_scenarios() -> dict[str, Path]:
    """The scenarios shipped with vigilnet, by name."""
    folder = resources.files("vigilnet.sim").joinpath("scenarios")
    out: dict[str, Path] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            out[entry.name[: -len(".toml")]] = Path(str(entry))
    return dict(sorted(out.items()))


def load_scenario(name: str | None = None, path: str | Path | None = None) -> Scenario:
    """An embedded scenario by name, or a scenario file."""
    if (name is None) == (path is None):
        raise ScenarioError("name exactly one of a scenario or a scenario file")
    if name is not None:
        known = embedded_scenarios()
        if name not in known:
            raise ScenarioError(f"no scenario {name!r} (known: {', '.join(known)})")
        path = known[name]
    assert path is not None
    origin = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{origin}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > 1 << 20:
        raise ScenarioError(f"{origin}: larger than 1 MiB")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(f"{origin}: not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{origin}: not TOML: {exc}") from None
    return Scenario.from_toml(data, origin)
