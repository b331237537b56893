"""The simulator's engine, network model and seed tree."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigilnet.errors import LocalProtocolError
from vigilnet.sim import Host, LinkProfile, Network, SeedTree, Simulator, path_key

# -- seeds ---------------------------------------------------------------------


def test_a_stream_depends_on_root_and_path_only() -> None:
    a, b = SeedTree(7), SeedTree(7)
    # Draw in opposite orders, with an unrelated stream in between.
    x1 = a.random_bytes(16, "node", "m-1")
    a.random_bytes(1000, "net", "m-1", "r-0")
    y1 = a.random_bytes(16, "node", "m-2")
    y2 = b.random_bytes(16, "node", "m-2")
    x2 = b.random_bytes(16, "node", "m-1")
    assert (x1, y1) == (x2, y2)
    assert x1 != y1
    assert SeedTree(8).random_bytes(16, "node", "m-1") != x1


def test_a_stream_continues_across_calls() -> None:
    tree = SeedTree(1)
    first, second = tree.random_bytes(8, "s"), tree.random_bytes(8, "s")
    assert first != second
    assert SeedTree(1).random_bytes(16, "s") == first + second


@given(st.text(max_size=20), st.integers(min_value=0, max_value=(1 << 63) - 1))
def test_text_and_int_parts_never_collide(text: str, number: int) -> None:
    assert path_key((text,)) != path_key((number,))
    assert path_key((text,))[0] >= 1 << 63 > path_key((number,))[0]


@pytest.mark.parametrize("part", [-1, 1 << 63, True, 1.5, b"x"])
def test_bad_path_parts_are_refused(part: object) -> None:
    with pytest.raises(LocalProtocolError):
        path_key((part,))  # type: ignore[arg-type]


@pytest.mark.parametrize("root", [-1, True, "3"])
def test_bad_roots_are_refused(root: object) -> None:
    with pytest.raises(LocalProtocolError):
        SeedTree(root)  # type: ignore[arg-type]


# -- network -------------------------------------------------------------------


def _net(seed: int = 0, **profile: object) -> Network:
    net = Network(SeedTree(seed))
    for node, tier in (("a", "local"), ("b", "regional"), ("c", "regional")):
        net.place(node, tier)
    net.set_profile("local", "regional", LinkProfile(**profile))  # type: ignore[arg-type]
    return net


def test_loss_and_duplication_rates_match_their_fractions() -> None:
    net = _net(base_us=100, loss=Fraction(1, 4), duplicate=Fraction(1, 10))
    sends = 20_000
    copies = [len(net.transmit("a", "b", 10)) for _ in range(sends)]
    lost, dup = copies.count(0), copies.count(2)
    # Binomial bounds at about 6 standard deviations.
    assert abs(lost - sends / 4) < 6 * (sends * 0.25 * 0.75) ** 0.5
    delivered = sends - lost
    assert abs(dup - delivered / 10) < 6 * (delivered * 0.1 * 0.9) ** 0.5
    assert net.counters["lost"] == lost and net.counters["duplicated"] == dup
    assert net.counters["bytes_sent"] == 10 * sends


def test_jitter_reorders_and_no_jitter_does_not() -> None:
    jittery = _net(base_us=100, jitter_us=500)
    delays = [jittery.transmit("a", "b", 1)[0] for _ in range(200)]
    assert min(delays) >= 100
    assert delays != sorted(delays)
    fixed = _net(base_us=100)
    assert {fixed.transmit("a", "b", 1)[0] for _ in range(50)} == {100}


def test_the_tier_pair_chooses_the_profile() -> None:
    net = _net(base_us=100)
    assert net.transmit("a", "b", 1) == (100,)
    assert net.transmit("b", "c", 1) == (net.default.base_us,)


def test_traffic_on_one_link_does_not_change_another() -> None:
    quiet, busy = _net(3, base_us=10, jitter_us=50), _net(3, base_us=10, jitter_us=50)
    for _ in range(100):
        busy.transmit("b", "a", 1)
    assert [quiet.transmit("a", "b", 1) for _ in range(20)] == [
        busy.transmit("a", "b", 1) for _ in range(20)
    ]


def test_partitions_separate_groups_and_heal() -> None:
    net = _net(base_us=1)
    net.cut("west", [{"a"}])
    assert net.separated("a", "b") and net.separated("b", "a")
    assert not net.separated("b", "c")  # both in the implicit rest group
    assert net.transmit("a", "b", 1) == ()
    assert net.counters["partitioned"] == 1
    with pytest.raises(LocalProtocolError):
        net.cut("west", [{"b"}])
    net.heal("west")
    assert net.transmit("a", "b", 1) == (1,)
    with pytest.raises(LocalProtocolError):
        net.heal("west")
    with pytest.raises(LocalProtocolError):
        net.cut("bad", [{"a", "b"}, {"b"}])


@pytest.mark.parametrize(
    "profile",
    [
        {"base_us": -1},
        {"base_us": 1, "loss": Fraction(1)},
        {"base_us": 1, "duplicate": Fraction(-1, 2)},
        {"base_us": 1, "loss": 0.5},
    ],
)
def test_bad_link_profiles_are_refused(profile: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        LinkProfile(**profile)  # type: ignore[arg-type]


# -- engine --------------------------------------------------------------------


@dataclass
class Gossip:
    """A toy driver: forwards every new rumour to its peers, and on each
    timer starts a rumour of its own with random bytes."""

    peers: list[str]
    rounds: int
    seen: set[bytes] = field(default_factory=set)

    def start(self, host: Host) -> None:
        host.set_timer(1_000, 0)

    def on_message(self, host: Host, src: str, payload: bytes) -> None:
        if payload in self.seen:
            host.record("duplicate", src=src)
            return
        self.seen.add(payload)
        host.record("rumour", src=src, rumour=payload.hex())
        for peer in self.peers:
            if peer != src:
                host.send(peer, payload)

    def on_timer(self, host: Host, token: Hashable) -> None:
        assert isinstance(token, int)
        rumour = host.random_bytes(4)
        self.on_message(host, host.name, rumour)
        if token + 1 < self.rounds:
            host.set_timer(1_000, token + 1)


def _gossip_run(seed: int, crash: bool = False) -> Simulator:
    net = Network(SeedTree(seed))
    net.set_profile("x", "x", LinkProfile(base_us=50, jitter_us=400, duplicate=Fraction(1, 5)))
    sim = Simulator(SeedTree(seed), net)
    names = [f"n{i}" for i in range(5)]
    for name in names:
        sim.add(name, Gossip([p for p in names if p != name], rounds=4), tier="x")
    if crash:
        sim.at(1_500, lambda s: s.crash("n4"))
    sim.start()
    sim.run(until_us=20_000)
    return sim


def _log(sim: Simulator) -> list[tuple[int, str, str, tuple[tuple[str, object], ...]]]:
    return [(o.time_us, o.node, o.kind, tuple(sorted(o.fields.items()))) for o in sim.observations]


def test_the_same_seed_gives_the_same_run_and_another_seed_differs() -> None:
    first, again, other = _gossip_run(11), _gossip_run(11), _gossip_run(12)
    assert _log(first) == _log(again)
    assert _log(first) != _log(other)
    # Every node heard every rumour (20 rumours, 5 nodes, no loss).
    rumours = [o for o in first.observations if o.kind == "rumour"]
    assert len(rumours) == 5 * 20
    assert first.network.counters["duplicated"] > 0
    assert any(o.kind == "duplicate" for o in first.observations)
    assert first.now_us == 20_000 and first.pending == 0


def test_a_crashed_node_receives_nothing_and_its_timers_are_void() -> None:
    sim = _gossip_run(11, crash=True)
    late = [o for o in sim.observations if o.node == "n4" and o.time_us > 1_500]
    assert late == []
    assert sim.counters["dropped_at_delivery"] > 0
    # n4 started one rumour (at 1,000 us) before crashing; the others made 4 each.
    own = {
        o.fields["rumour"]
        for o in sim.observations
        if o.kind == "rumour" and o.fields["src"] == o.node
    }
    assert len(own) == 4 * 4 + 1


def test_the_engine_refuses_bad_requests() -> None:
    sim = Simulator(SeedTree(0), Network(SeedTree(0)))
    sim.add("a", Gossip([], rounds=1), tier="x")
    with pytest.raises(LocalProtocolError):
        sim.add("a", Gossip([], rounds=1), tier="x")
    with pytest.raises(LocalProtocolError):
        sim.host("a").send("nobody", b"x")
    with pytest.raises(LocalProtocolError):
        sim.host("a").send("a", "text")  # type: ignore[arg-type]
    sim.run(until_us=10)
    with pytest.raises(LocalProtocolError):
        sim.run(until_us=5)
    with pytest.raises(LocalProtocolError):
        sim.at(1, lambda s: None)
