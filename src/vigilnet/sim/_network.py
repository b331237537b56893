"""The simulated network: per-tier links, loss, duplication, reordering,
partitions between any groups of nodes, and healing.

Theory of operation
===================

A message is a byte string (the sender's canonical wire encoding: nothing a
peer sends is a bare Python object) on its way from one named node to
another.  :meth:`Network.transmit` decides, at send time, what becomes of
it, and returns the simulated times (integer microseconds) at which copies
arrive:

1. If an active partition separates sender and receiver, the message is
   dropped (``partitioned``).
2. Otherwise it is lost with the link's ``loss`` probability (``lost``).
3. Otherwise one copy arrives after ``base_us`` plus a jitter drawn from
   an exponential distribution of mean ``jitter_us``; two messages on one
   link may therefore arrive in either order (reordering).
4. With the link's ``duplicate`` probability a second copy arrives after
   its own independent delay (``duplicated``).
5. Every copy to or from a node in :attr:`Network.slow` takes that node's
   extra delay longer (both ends' if both are slow; ``slowed``).  The extra
   delay draws nothing, so slowing one node changes no other link's draws.

At delivery time the simulator asks :meth:`Network.separated` again, so a
partition that starts while a message is in flight also drops it.

Which link profile applies is the tier of the pair: every node is placed in
a tier (``"agent"``, ``"local"``, ``"regional"``, ``"hub"``, ...) and a
profile is looked up for the unordered pair of tiers, falling back to the
``default`` profile.

Probabilities are exact fractions, compared against integer draws, so a
run's losses do not depend on floating-point rounding.  Every draw for a
link comes from the stream ``("net", sender, receiver)`` of the run's
:class:`~vigilnet.sim.SeedTree`: adding traffic on one link does not change
what happens on another.

A partition is a named cut: a list of disjoint groups of nodes; nodes in no
group form one more group of their own.  Two nodes are separated while any
active cut puts them in different groups.  ``heal(name)`` removes a cut.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from vigilnet.errors import LocalProtocolError, ensure
from vigilnet.sim._seeds import SeedTree

__all__ = ["Cut", "LinkProfile", "Network"]

_PROBABILITY_SCALE = 1 << 32


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkProfile:
    """How one kind of link behaves.  Times in microseconds."""

    base_us: int
    jitter_us: int = 0
    loss: Fraction = Fraction(0)
    duplicate: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        ensure(self.base_us >= 0 and self.jitter_us >= 0, "link delays must be >= 0",
               LocalProtocolError)  # fmt: skip
        for name in ("loss", "duplicate"):
            p = getattr(self, name)
            ensure(
                isinstance(p, Fraction) and 0 <= p < 1,
                f"link {name} must be a Fraction in [0, 1), got {p!r}",
                LocalProtocolError,
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Cut:
    """A partition: disjoint groups; nodes in none form their own group."""

    name: str
    groups: tuple[frozenset[str], ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for group in self.groups:
            ensure(not (seen & group), f"cut {self.name}: groups overlap", LocalProtocolError)
            seen |= group

    def side(self, node: str) -> int:
        for i, group in enumerate(self.groups):
            if node in group:
                return i
        return -1

    def separates(self, a: str, b: str) -> bool:
        return self.side(a) != self.side(b)


def _chance(draw: int, p: Fraction) -> bool:
    """``draw`` uniform in [0, 2**32): true with probability ``p`` rounded
    down to a multiple of 2**-32 (exact integer comparison)."""
    return draw * p.denominator < p.numerator * _PROBABILITY_SCALE


@dataclass(slots=True)
class Network:
    """Links between named nodes, with partitions and counters."""

    seeds: SeedTree
    tiers: dict[str, str] = field(default_factory=dict)
    profiles: dict[frozenset[str], LinkProfile] = field(default_factory=dict)
    default: LinkProfile = field(default_factory=lambda: LinkProfile(base_us=1_000))
    cuts: dict[str, Cut] = field(default_factory=dict)
    #: node -> extra microseconds on every message to or from it (a slow node)
    slow: dict[str, int] = field(default_factory=dict)
    counters: Counter[str] = field(default_factory=Counter)

    def place(self, node: str, tier: str) -> None:
        """Put ``node`` in ``tier`` (once)."""
        ensure(node not in self.tiers, f"node {node} is already placed", LocalProtocolError)
        self.tiers[node] = tier

    def set_profile(self, tier_a: str, tier_b: str, profile: LinkProfile) -> None:
        self.profiles[frozenset((tier_a, tier_b))] = profile

    def profile(self, src: str, dst: str) -> LinkProfile:
        pair = frozenset((self.tiers.get(src, ""), self.tiers.get(dst, "")))
        return self.profiles.get(pair, self.default)

    # -- partitions ----------------------------------------------------------

    def cut(self, name: str, groups: Iterable[Iterable[str]]) -> None:
        """Start the partition ``name``."""
        ensure(name not in self.cuts, f"cut {name} is already active", LocalProtocolError)
        self.cuts[name] = Cut(name=name, groups=tuple(frozenset(g) for g in groups))

    def heal(self, name: str) -> None:
        """End the partition ``name``."""
        ensure(name in self.cuts, f"no active cut {name}", LocalProtocolError)
        del self.cuts[name]

    def separated(self, a: str, b: str) -> bool:
        return any(cut.separates(a, b) for cut in self.cuts.values())

    # -- transmission --------------------------------------------------------

    def transmit(self, src: str, dst: str, size: int) -> tuple[int, ...]:
        """The delays (microseconds) after which copies of a ``size``-byte
        message from ``src`` arrive at ``dst``: none, one or two."""
        self.counters["sent"] += 1
        self.counters["bytes_sent"] += size
        if self.separated(src, dst):
            self.counters["partitioned"] += 1
            return ()
        profile = self.profile(src, dst)
        stream = self.seeds.generator("net", src, dst)
        if profile.loss and _chance(int(stream.integers(0, _PROBABILITY_SCALE)), profile.loss):
            self.counters["lost"] += 1
            return ()
        delays = [self._delay(profile, stream)]
        if profile.duplicate and _chance(
            int(stream.integers(0, _PROBABILITY_SCALE)), profile.duplicate
        ):
            self.counters["duplicated"] += 1
            delays.append(self._delay(profile, stream))
        extra = self.slow.get(src, 0) + self.slow.get(dst, 0)
        if extra:
            self.counters["slowed"] += 1
            return tuple(delay + extra for delay in delays)
        return tuple(delays)

    @staticmethod
    def _delay(profile: LinkProfile, stream: np.random.Generator) -> int:
        if not profile.jitter_us:
            return profile.base_us
        # Exponential jitter, rounded to whole microseconds at once: the
        # float never leaves this line.
        jitter = int(stream.exponential(profile.jitter_us))
        return profile.base_us + jitter

    def snapshot(self) -> Mapping[str, int]:
        return dict(sorted(self.counters.items()))
