"""The SDBC model (models/sdbc.py, spec/SDBC.tla): pinned counts, properties,
witnesses, symmetry, mutants.

Pinned distinct-state counts (``vigilnet check sdbc --config C``; with and
without the symmetry over the correct hubs that propose no round of the
scope).  A change to one of them is a change to the protocol model and must
be explained.

=========  ==========  ============  ===========  =====
config     N F Q  R    symmetric     no symmetry  depth
=========  ==========  ============  ===========  =====
n4f1       4 1 3  0..1 68,458        134,457      18
n5f1       5 1 4  0..0 321           3,580        9
n5f2       5 2 4  0..0 236           944          8
n5f3       5 3 4  0..0 144           248          7
n5f1raise  5 1 4  0..0 3,600         57,280       13
n4f1stall  4 1 3  0..1 75,604        148,389      18
n4live     4 0 3  0..3 (liveness)    469,845      48
=========  ==========  ============  ===========  =====

``n4f1stall`` is n4f1 with ``ProposerMayStall = TRUE``: round 1's correct
proposer (h1) may time out without proposing and prevote nil, as the
implementation's does when it holds fewer than ``q`` summaries (every other
configuration has it FALSE, so their counts are the model's before the
constant).  The constant only adds steps, so its states include n4f1's
(``test_proposer_may_stall_only_adds_states``) and every n4f1 mutant dies
there too.  Its no-symmetry count is the Python checker's only: real TLC
has not run ``SDBC_n4f1stall.cfg``.

``n4live`` has GST = 1 (rounds 1..3 synchronous) and claims
``EventuallyAllDecide`` under weak fairness; liveness needs the whole graph,
so it is checked without symmetry (slow tests below).

``n5f1raise`` is n5f1 with ``FLive = 0``: a hub may raise its quorum to 5
within the epoch (``RaiseQuorum`` is dead code at the other configurations,
where ``N - FLive`` equals ``Q``).

Two mutants stand for issue 10's SDBC attacks the model's abstraction hid
(it has no summary widths and no thresholds in values).  Searched to the
end (``Options(stop_on_violation=False)``, with symmetry), their state
counts are pinned in :data:`MUTANT_FULL` (from ``vigilnet check``'s own
search, run once and copied here):

* ``proposer_skips_own_check`` (item 1: the proposer marks its own value
  valid without ``valid(v)``): at n4f1, 73,790 states; round 1's correct
  proposer proposes vX and prevotes it: ``CorrectVotesValid`` fails;
* ``next_threshold_by_proposer`` (item 2: one proposer chooses the next
  threshold): at n5f1, 720 states; the faulty proposer's vT (threshold 1)
  is decided: ``Validity``, ``CorrectVotesValid`` and the new
  ``NextThresholdSafe`` fail.

``NextThresholdSafe`` is an always-property of every configuration (a new
property, no new state: the counts above are unchanged).

Why round 1 only at N = 4: one round of N = 5 is 3,580 states, two rounds
are several hundred thousand even under symmetry (four correct hubs, each
free to move to round 1 at any point); the two-round behaviours that the
lock and unlock rules need are explored at N = 4.  The symmetric counts are
orbit counts: ``test_symmetric_count_is_orbit_count`` recomputes them from
the full reachable set.
"""

from __future__ import annotations

import pytest
from vigilnet.models import sdbc
from vigilnet.models.sdbc import FAMILY, MUTANT_CONFIG, MUTANTS, SDBCSpec

from tests.conftest import REPO_ROOT
from vigilnet.checker import Options, Status
from vigilnet.checker._run import check


def reachable(
    config: str, overrides: dict[str, object] | None = None
) -> tuple[SDBCSpec, list[sdbc.SDBCState]]:
    """Every reachable state, by a plain search over SDBCSpec (no checker)."""
    spec = SDBCSpec(FAMILY.configs[config] | (overrides or {}))
    seen = {spec.init()}
    frontier = [spec.init()]
    while frontier:
        nxt = []
        for s in frontier:
            for _name, _args, t in spec.successors(s):
                if t not in seen:
                    seen.add(t)
                    nxt.append(t)
        frontier = nxt
    return spec, list(seen)


PINNED = {
    "n4f1": (68_458, 134_457),
    "n5f1": (321, 3_580),
    "n5f2": (236, 944),
    "n5f3": (144, 248),
    "n5f1raise": (3_600, 57_280),
    "n4f1stall": (75_604, 148_389),
}


@pytest.mark.parametrize("config", ["n5f1", "n5f2", "n5f3", "n5f1raise", "n4f1", "n4f1stall"])
def test_config_holds_with_pinned_symmetric_count(config: str) -> None:
    result = check(FAMILY.instantiate(config=config))
    failed = [(p.name, p.status) for p in result.properties if p.status.failed]
    assert failed == []
    assert result.ok
    assert result.complete
    assert result.distinct_states == PINNED[config][0]


@pytest.mark.parametrize("config", ["n5f1", "n5f2", "n5f3"])
def test_pinned_count_without_symmetry(config: str) -> None:
    result = check(FAMILY.instantiate(config=config), Options(symmetry=False))
    assert result.ok
    assert result.distinct_states == PINNED[config][1]


@pytest.mark.slow
def test_n5_two_rounds_holds_with_pinned_count() -> None:
    """The deployment's size, N = 5, with a second round, so locking,
    unlocking and ``valid_round`` are explored at N = 5 too (round 0 alone
    reaches no lock that matters).  399,282 distinct states with symmetry,
    depth 23: 136 s on a shared 2-core machine (``vigilnet check sdbc
    --config n5f1 --const MaxRound=1``)."""
    result = check(FAMILY.instantiate(config="n5f1", overrides={"MaxRound": 1}))
    failed = [(p.name, p.status) for p in result.properties if p.status.failed]
    assert failed == []
    assert result.ok
    assert result.complete
    assert result.distinct_states == 399_282
    assert {p.name: p.status.value for p in result.properties}["SomeLocked"] == "witnessed"


@pytest.mark.slow
@pytest.mark.parametrize("config", ["n4f1", "n5f1raise", "n4f1stall"])
def test_pinned_count_without_symmetry_slow(config: str) -> None:
    result = check(FAMILY.instantiate(config=config), Options(symmetry=False))
    assert result.ok
    assert result.distinct_states == PINNED[config][1]


def test_proposer_may_stall_only_adds_states() -> None:
    """``ProposerMayStall`` adds steps and removes none: at N = 4, no faulty
    hub, round 0 (h0 proposes), every state of the model without it is a
    state with it, some are new, and exactly the new ones include a
    proposer's nil prevote without a proposal (``ProposerStalled``).  At
    n4f1 the pinned counts agree (n4f1stall has at least n4f1's states)."""
    scope = {"F": 0, "MaxRound": 0}
    spec, without = reachable("n4f1", scope)
    stall_spec, with_ = reachable("n4f1", scope | {"ProposerMayStall": True})
    assert not spec.proposer_may_stall and stall_spec.proposer_may_stall
    assert set(without) < set(with_)
    assert not any(spec.proposer_stalled(s) for s in without)
    assert all(stall_spec.proposer_stalled(s) for s in set(with_) - set(without))
    assert PINNED["n4f1stall"][0] >= PINNED["n4f1"][0]
    assert PINNED["n4f1stall"][1] >= PINNED["n4f1"][1]
    # claimed (so checked witnessed by the pinned-count test) only there
    claimed = {c: SDBCSpec(FAMILY.configs[c]).claimed_witnesses() for c in FAMILY.configs}
    assert [c for c, names in claimed.items() if "ProposerStalled" in names] == ["n4f1stall"]


@pytest.mark.parametrize("mutant", [m for m in MUTANTS if MUTANT_CONFIG[m] == "n4f1"])
def test_mutant_is_killed_with_proposer_stall(mutant: str) -> None:
    """Every mutant killed at n4f1 is killed at n4f1stall as well (about
    4 s for all of them)."""
    result = check(FAMILY.instantiate(config="n4f1stall", mutant=mutant))
    assert [p.name for p in result.properties if p.status is Status.VIOLATED]


def test_raising_to_n_is_safe_but_can_stall() -> None:
    """Why the cap is N - f_live: with FLive = 0 the correct hubs may raise
    their quorum to N = 5 and, with the faulty hub silent, never reach it."""
    result = check(FAMILY.instantiate(config="n5f1raise"))
    assert result.ok
    assert result.coverage["RaiseQuorum"].new > 0
    status = {p.name: p.status for p in result.properties}
    assert status["Stalled"] is Status.WITNESSED
    assert status["Agreement"] is Status.HOLDS


@pytest.mark.parametrize("config", ["n5f1", "n5f2", "n5f3"])
def test_symmetric_count_is_orbit_count(config: str) -> None:
    spec, states = reachable(config)
    assert len(states) == PINNED[config][1]
    orbits = {spec.canonical(s) for s in states}
    assert len(orbits) == PINNED[config][0]
    for s in states[:: max(1, len(states) // 50)]:
        assert {spec.canonical(t) for t in spec.orbit(s)} == {spec.canonical(s)}


def _status(config: str) -> dict[str, Status]:
    result = check(FAMILY.instantiate(config=config))
    return {p.name: p.status for p in result.properties}


def test_claims_per_config() -> None:
    """n5f2: safe but stalled; n5f3: a fork, accountable, nobody framed."""
    f2 = _status("n5f2")
    assert f2["Agreement"] is Status.HOLDS
    assert f2["Stalled"] is Status.WITNESSED
    assert "BoxValidity" not in f2
    f3 = _status("n5f3")
    assert "Agreement" not in f3
    assert f3["ForkDetected"] is Status.WITNESSED
    assert f3["Accountability"] is Status.HOLDS
    assert f3["NoFraming"] is Status.HOLDS
    f1 = _status("n5f1")
    assert "Stalled" not in f1 and f1["BoxValidity"] is Status.HOLDS
    assert f1["DecidedWithFaultySummary"] is Status.WITNESSED


def test_stalled_unreachable_when_live() -> None:
    """With N - F >= Q no reachable state is stalled (n5f1, every state)."""
    spec, states = reachable("n5f1")
    assert not any(spec.stalled(s) for s in states)
    spec2, states2 = reachable("n5f2")
    assert any(spec2.stalled(s) for s in states2)


def test_box_validity_needs_f_at_most_trim() -> None:
    """At n5f2 (F = 2 > TrimF = 1) BoxValidity is not claimed, and rightly:
    a decided value can lie outside the honest range."""
    spec, states = reachable("n5f2")
    assert any(not spec.box_validity(s) for s in states)
    assert all(spec.agreement(s) for s in states)


MUTANT_FULL = {
    "proposer_skips_own_check": ("n4f1", 73_790, {"CorrectVotesValid"}),
    "next_threshold_by_proposer": (
        "n5f1",
        720,
        {"Validity", "CorrectVotesValid", "NextThresholdSafe"},
    ),
}


@pytest.mark.parametrize("mutant", sorted(MUTANT_FULL))
def test_issue10_mutants_searched_to_the_end(mutant: str) -> None:
    config, count, violated = MUTANT_FULL[mutant]
    assert MUTANT_CONFIG[mutant] == config
    result = check(
        FAMILY.instantiate(config=config, mutant=mutant), Options(stop_on_violation=False)
    )
    assert result.complete
    assert result.distinct_states == count
    assert {p.name for p in result.properties if p.status is Status.VIOLATED} == violated


def test_next_threshold_safe_holds_and_is_not_vacuous() -> None:
    """In the specification every decided value keeps the next epoch
    runnable (and some value is decided); the mutant's vT does not."""
    spec, states = reachable("n5f1")
    assert any(spec.decided_values(s) for s in states)
    assert all(spec.next_threshold_safe(s) for s in states)
    bad = SDBCSpec(FAMILY.configs["n5f1"], mutant="next_threshold_by_proposer")
    assert bad.next_q["vT"] == bad.n > bad.n - bad.f_live


def test_at_least_eleven_mutants() -> None:
    assert len(MUTANTS) >= 11
    assert set(MUTANT_CONFIG) == set(MUTANTS)


@pytest.mark.parametrize("mutant", MUTANTS)
def test_mutant_is_killed(mutant: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = MUTANT_CONFIG[mutant]
    result = check(FAMILY.instantiate(config=config, mutant=mutant))
    assert not result.ok
    violated = [p for p in result.properties if p.status is Status.VIOLATED]
    assert violated, f"{mutant} is not killed at {config}"
    trace = violated[0].trace
    assert trace is not None
    with capsys.disabled():
        print(f"\n  {mutant} killed at {config}: {violated[0].name}, trace length {len(trace)}")


def test_property_names_match_the_spec() -> None:
    text = (REPO_ROOT / "spec" / "SDBC.tla").read_text()
    for name in (
        *sdbc.PROPERTY_NAMES,
        *sdbc.PROPERTY_NAMES.values(),
        "Stalled",
        "ProposerStalled",
        *sdbc.ACTION_NAMES,
    ):
        assert f"\n{name}" in text or f" {name}(" in text, name
    for variable in sdbc.VARIABLES:
        assert variable in text
    # every constant of a configuration is a CONSTANT of the module (T is
    # TNum / TDen there)
    constants = text.split("CONSTANTS", 1)[1].split("ASSUME", 1)[0]
    for key in set().union(*FAMILY.configs.values()) - {"T"}:
        assert f"    {key}" in constants, key


# -- liveness after GST (configuration n4live) -------------------------------


def test_dropped_timeout_breaks_liveness_only() -> None:
    """``dropped_precommit_timeout`` (a hub never leaves a round on a quorum
    of precommits) is safe: every always-property holds, and only
    ``EventuallyAllDecide`` fails, with a lasso that stutters in a state
    where no hub has decided and every hub is stuck in round 0."""
    result = check(FAMILY.instantiate(config="n4live", mutant="dropped_precommit_timeout"))
    status = {p.name: p.status for p in result.properties}
    assert status["EventuallyAllDecide"] is Status.VIOLATED
    assert [n for n, s in status.items() if s is Status.VIOLATED] == ["EventuallyAllDecide"]
    trace = next(p.trace for p in result.properties if p.name == "EventuallyAllDecide")
    assert trace is not None and trace.loop is not None
    spec = SDBCSpec(FAMILY.configs["n4live"], mutant="dropped_precommit_timeout")
    last = trace.states[-1]
    assert not spec.decided_values(last)
    assert set(last.round) == {0}


def test_liveness_is_claimed_only_at_the_liveness_config() -> None:
    """The other configurations keep the safety model exactly: no GST round
    in scope, no fairness, no eventually-property (their pinned counts)."""
    for config in FAMILY.configs:
        spec = SDBCSpec(FAMILY.configs[config])
        model = FAMILY.instantiate(config=config)
        live = config == "n4live"
        assert spec.liveness_claimed() is live
        assert model.has_liveness is live
        assert bool(model.fairness) is live
        assert (spec.gst <= spec.max_round) is live


@pytest.mark.slow
def test_liveness_holds_with_pinned_count() -> None:
    """Every correct hub decides under weak fairness of each hub's steps
    once the rounds from GST = 1 on are synchronous: 469,845 distinct
    states, depth 48, no symmetry (liveness needs the whole graph); about
    130 s on a shared 2-core machine (``vigilnet check sdbc --config
    n4live``).  ``RoundZeroFails`` shows that round 0 does fail."""
    result = check(FAMILY.instantiate(config="n4live"))
    status = {p.name: p.status for p in result.properties}
    assert [n for n, s in status.items() if s.failed] == []
    assert status["EventuallyAllDecide"] is Status.HOLDS
    assert status["RoundZeroFails"] is Status.WITNESSED
    assert result.complete
    assert result.distinct_states == 469_845


@pytest.mark.slow
def test_liveness_needs_three_synchronous_rounds() -> None:
    """With only two synchronous rounds (MaxRound = 2) liveness fails: round
    0 leaves h0 and h3 locked on v0, h1 and h2 propose other values in
    rounds 1 and 2, which the locked hubs refuse, and h3 would repropose v0
    only in round 3.  About 75 s."""
    result = check(FAMILY.instantiate(config="n4live", overrides={"MaxRound": 2}))
    live = next(p for p in result.properties if p.name == "EventuallyAllDecide")
    assert live.status is Status.VIOLATED
    assert live.trace is not None and live.trace.loop is not None
    last = live.trace.states[-1]
    spec = SDBCSpec(FAMILY.configs["n4live"] | {"MaxRound": 2})
    assert not spec.decided_values(last)
    assert list(last.round) == [2, 2, 2, 2]
    locked = [p for p, r in zip(spec.corr, last.lockedRound, strict=True) if r == 0]
    assert len(locked) == 2 and all(spec.proposer(r) not in locked for r in (1, 2))
