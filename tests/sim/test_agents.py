"""Synthetic agents: profiles, ground truth, and evidence that separates them."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from vigilnet.errors import LocalProtocolError
from vigilnet.evidence import DEFAULT_BEHAVIOUR_MODEL
from vigilnet.sim import AgentMix, Population, Profile, SeedTree

MIX = AgentMix(
    misbehaving=Fraction(1, 10),
    drifting=Fraction(1, 10),
    intermittent=Fraction(1, 10),
    drift_first_epoch=2,
    drift_last_epoch=4,
    intermittent_rate=Fraction(1, 2),
)


def test_profile_counts_are_exact_and_assignment_seeded() -> None:
    pop = Population.create(SeedTree(5), 1_003, MIX)
    counts = {p: int((pop.profiles == p).sum()) for p in Profile}
    assert counts == {
        Profile.BENIGN: 1_003 - 3 * 100,
        Profile.MISBEHAVING: 100,
        Profile.DRIFTING: 100,
        Profile.INTERMITTENT: 100,
    }
    again = Population.create(SeedTree(5), 1_003, MIX)
    assert np.array_equal(pop.profiles, again.profiles)
    other = Population.create(SeedTree(6), 1_003, MIX)
    assert not np.array_equal(pop.profiles, other.profiles)
    drift = pop.drift_epoch[pop.profiles == Profile.DRIFTING]
    assert drift.min() >= 2 and drift.max() <= 4
    assert (pop.drift_epoch[pop.profiles != Profile.DRIFTING] == -1).all()


def test_ground_truth_per_profile() -> None:
    pop = Population.create(SeedTree(1), 2_000, MIX)
    profiles = pop.profiles
    for epoch in range(6):
        bad = pop.misbehaving_in(epoch, 0, 2_000)
        assert not bad[profiles == Profile.BENIGN].any()
        assert bad[profiles == Profile.MISBEHAVING].all()
        drifting = profiles == Profile.DRIFTING
        assert np.array_equal(bad[drifting], pop.drift_epoch[drifting] <= epoch)
        share = bad[profiles == Profile.INTERMITTENT].mean()
        assert 0.35 < share < 0.65  # rate 1/2 over 200 agents
    assert np.array_equal(pop.ever_misbehaving(), profiles != Profile.BENIGN)


def test_a_block_does_not_depend_on_other_blocks() -> None:
    pop = Population.create(SeedTree(3), 4_000, MIX)
    alone, truth_alone = pop.behaviour(2, 2_000, 4_000)
    fresh = Population.create(SeedTree(3), 4_000, MIX)
    fresh.behaviour(2, 0, 2_000)
    fresh.behaviour(1, 2_000, 4_000)
    after, truth_after = fresh.behaviour(2, 2_000, 4_000)
    assert np.array_equal(truth_alone, truth_after)
    assert np.array_equal(alone, after)


def test_evidence_separates_benign_from_misbehaving() -> None:
    pop = Population.create(SeedTree(9), 5_000, MIX)
    rows, bad = pop.behaviour(3, 0, 5_000)
    assert rows.shape == (5_000, len(DEFAULT_BEHAVIOUR_MODEL.features))
    _counts, llr = DEFAULT_BEHAVIOUR_MODEL.evidence(rows)
    assert llr[bad].mean() > 0 > llr[~bad].mean()
    # The models are informative: a median misbehaving epoch carries more
    # evidence than 95% of benign ones.
    assert np.median(llr[bad]) > np.quantile(llr[~bad], 0.95)


@pytest.mark.parametrize(
    "kwargs",
    [
        {
            "misbehaving": Fraction(1, 2),
            "drifting": Fraction(1, 2),
            "intermittent": Fraction(1, 10),
        },
        {"misbehaving": Fraction(-1, 10)},
        {"drift_first_epoch": 3, "drift_last_epoch": 2},
        {"intermittent_rate": Fraction(3, 2)},
        {"misbehaving": 0.1},
    ],
)
def test_bad_mixes_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        AgentMix(**kwargs)  # type: ignore[arg-type]


def test_blocks_outside_the_population_are_refused() -> None:
    pop = Population.create(SeedTree(0), 10)
    for first, stop in ((0, 11), (5, 5), (-1, 3)):
        with pytest.raises(LocalProtocolError):
            pop.behaviour(0, first, stop)


def test_ground_truth_is_the_same_however_often_it_is_asked() -> None:
    """misbehaving_in is a function of (epoch, block): asking again, or
    asking after other blocks and epochs, gives the same answer (it once
    continued a cached random stream for the intermittent agents)."""
    pop = Population.create(SeedTree(9), 3_000, MIX)
    first = pop.misbehaving_in(4, 1_000, 2_000).copy()
    assert pop.misbehaving_in(4, 1_000, 2_000).tolist() == first.tolist()
    pop.misbehaving_in(5, 0, 1_000)
    assert pop.misbehaving_in(4, 1_000, 2_000).tolist() == first.tolist()
    intermittent = pop.profiles[1_000:2_000] == Profile.INTERMITTENT
    assert intermittent.any() and first[intermittent].any() and not first[intermittent].all()
