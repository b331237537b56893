"""Synthetic agents with ground truth.

Each agent of the population has one behaviour profile for the whole run:

* ``benign``: every epoch's behaviour is drawn from the benign likelihood
  model of every feature;
* ``misbehaving``: drawn from the misbehaving model every epoch;
* ``drifting``: benign until its own drift epoch (uniform in the run's drift
  window), misbehaving from then on;
* ``intermittent``: misbehaving in an epoch with probability
  ``intermittent_rate`` (independently per epoch), benign otherwise.

The behaviour of an agent in an epoch is one row of feature values, drawn
with :mod:`scipy.stats` from the same distributions the evidence core
(:class:`~vigilnet.evidence.BehaviourModel`) uses to turn behaviour into
log-likelihood ratios, so the monitors see exactly the kind of data their
models assume: the classification quality measured by the simulator is that
of the SPRT on well-specified models, no better.

Everything is vectorised across agents and drawn from the run's
:class:`~vigilnet.sim.SeedTree`: the profile assignment from the stream
``("agents", "profiles")``, an epoch's behaviour of a block of agents from
``("agents", "behaviour", epoch, block)``, so a block's behaviour does not
depend on which other blocks were simulated, or in which order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from vigilnet.errors import LocalProtocolError, ensure
from vigilnet.evidence import DEFAULT_BEHAVIOUR_MODEL, BehaviourModel
from vigilnet.sim._seeds import SeedTree

__all__ = ["AgentMix", "Population", "Profile"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


class Profile(enum.IntEnum):
    """An agent's ground-truth behaviour profile."""

    BENIGN = 0
    MISBEHAVING = 1
    DRIFTING = 2
    INTERMITTENT = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentMix:
    """Shares of each profile (exact fractions summing to at most 1; the
    rest is benign), the drift window and the intermittent rate."""

    misbehaving: Fraction = Fraction(1, 100)
    drifting: Fraction = Fraction(1, 200)
    intermittent: Fraction = Fraction(1, 200)
    drift_first_epoch: int = 1
    drift_last_epoch: int = 5
    intermittent_rate: Fraction = Fraction(1, 3)

    def __post_init__(self) -> None:
        shares = (self.misbehaving, self.drifting, self.intermittent)
        ensure(
            all(isinstance(s, Fraction) and s >= 0 for s in shares) and sum(shares) <= 1,
            "profile shares must be non-negative Fractions summing to at most 1",
            LocalProtocolError,
        )
        ensure(
            0 <= self.drift_first_epoch <= self.drift_last_epoch,
            "drift window must be 0 <= first <= last",
            LocalProtocolError,
        )
        ensure(
            isinstance(self.intermittent_rate, Fraction) and 0 <= self.intermittent_rate <= 1,
            "intermittent_rate must be a Fraction in [0, 1]",
            LocalProtocolError,
        )

    def counts(self, agents: int) -> dict[Profile, int]:
        """Exact counts per profile for a population (shares rounded down,
        the remainder benign)."""
        counts = {
            Profile.MISBEHAVING: int(self.misbehaving * agents),
            Profile.DRIFTING: int(self.drifting * agents),
            Profile.INTERMITTENT: int(self.intermittent * agents),
        }
        counts[Profile.BENIGN] = agents - sum(counts.values())
        return counts


@dataclass(frozen=True, slots=True)
class Population:
    """The agents of one run: profiles and drift epochs, fixed at creation."""

    seeds: SeedTree
    agents: int
    mix: AgentMix
    model: BehaviourModel
    profiles: npt.NDArray[np.int8]
    drift_epoch: I64

    @classmethod
    def create(
        cls,
        seeds: SeedTree,
        agents: int,
        mix: AgentMix | None = None,
        model: BehaviourModel = DEFAULT_BEHAVIOUR_MODEL,
    ) -> Population:
        ensure(agents >= 1, "a population needs at least one agent", LocalProtocolError)
        mix = mix if mix is not None else AgentMix()
        counts = mix.counts(agents)
        profiles = np.concatenate(
            [np.full(counts[p], int(p), dtype=np.int8) for p in sorted(counts)]
        )
        stream = seeds.generator("agents", "profiles")
        stream.shuffle(profiles)
        drift = stream.integers(
            mix.drift_first_epoch, mix.drift_last_epoch + 1, size=agents, dtype=np.int64
        )
        drift[profiles != Profile.DRIFTING] = -1
        return cls(seeds, agents, mix, model, profiles, drift)

    def misbehaving_in(self, epoch: int, first: int, stop: int) -> B:
        """Ground truth: which agents of ``[first, stop)`` misbehave in ``epoch``."""
        self._check_block(first, stop)
        profiles = self.profiles[first:stop]
        bad: B = profiles == Profile.MISBEHAVING
        bad |= (profiles == Profile.DRIFTING) & (self.drift_epoch[first:stop] <= epoch)
        intermittent = profiles == Profile.INTERMITTENT
        if intermittent.any():
            rate = self.mix.intermittent_rate
            # a fresh stream per (epoch, block), not the cached one: ground
            # truth is a function of its arguments, asked any number of times
            sequence = self.seeds.sequence("agents", "intermittent", epoch, first)
            stream = np.random.Generator(np.random.PCG64(sequence))
            draws = stream.integers(0, rate.denominator, size=stop - first)
            bad |= intermittent & (draws < rate.numerator)
        return bad

    def ever_misbehaving(self) -> B:
        """Ground truth for the whole run: agents whose profile is not benign."""
        result: B = self.profiles != Profile.BENIGN
        return result

    def behaviour(self, epoch: int, first: int, stop: int) -> tuple[F64, B]:
        """One epoch's behaviour of agents ``[first, stop)``: the feature
        rows (shape ``(stop - first, features)``) and the ground truth."""
        bad = self.misbehaving_in(epoch, first, stop)
        stream = self.seeds.generator("agents", "behaviour", epoch, first)
        n = stop - first
        rows = np.empty((n, len(self.model.features)), dtype=np.float64)
        for column, feature in enumerate(self.model.features):
            benign = _draw(feature.benign.frozen(), n, stream)
            misbehaving = _draw(feature.misbehaving.frozen(), n, stream)
            rows[:, column] = np.where(bad, misbehaving, benign)
        return rows, bad

    def _check_block(self, first: int, stop: int) -> None:
        ensure(
            0 <= first < stop <= self.agents,
            f"agent block [{first}, {stop}) outside [0, {self.agents})",
            LocalProtocolError,
        )


def _draw(dist: Any, n: int, stream: np.random.Generator) -> F64:
    return np.asarray(dist.rvs(size=n, random_state=stream), dtype=np.float64)
