"""DieHard: the water-jug puzzle of the TLA+ video course.

A 5-gallon and a 3-gallon jug, a fountain, and the task of measuring exactly
4 gallons.  Transcribes ``DieHard.tla`` (variables ``big``, ``small``; actions
``FillSmallJug`` ... ``BigToSmall``), generalised to constants ``BIG``,
``SMALL`` and ``GOAL``.  ``TypeOK`` is the invariant; ``BigIsGoal`` (``big =
4``) is the sometimes-property whose witness is the puzzle's shortest
solution (6 steps).  At the default constants the model has 16 distinct
states (pinned in ``tests/checker``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass

from vigilnet.checker import (
    Action,
    Assumption,
    Constants,
    Model,
    ModelFamily,
    Property,
)

__all__ = ["FAMILY", "DieHardState", "build"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DieHardState:
    big: int
    small: int


Succ = Iterator[tuple[tuple[Hashable, ...], DieHardState]]


def build(constants: Constants) -> Model[DieHardState]:
    big_cap = int(str(constants["BIG"]))
    small_cap = int(str(constants["SMALL"]))
    goal = int(str(constants["GOAL"]))

    def init() -> Iterator[DieHardState]:
        yield DieHardState(big=0, small=0)

    def fill_small(s: DieHardState) -> Succ:
        yield (), DieHardState(big=s.big, small=small_cap)

    def fill_big(s: DieHardState) -> Succ:
        yield (), DieHardState(big=big_cap, small=s.small)

    def empty_small(s: DieHardState) -> Succ:
        yield (), DieHardState(big=s.big, small=0)

    def empty_big(s: DieHardState) -> Succ:
        yield (), DieHardState(big=0, small=s.small)

    def small_to_big(s: DieHardState) -> Succ:
        big = min(s.big + s.small, big_cap)
        yield (), DieHardState(big=big, small=s.small - (big - s.big))

    def big_to_small(s: DieHardState) -> Succ:
        small = min(s.big + s.small, small_cap)
        yield (), DieHardState(big=s.big - (small - s.small), small=small)

    def type_ok(s: DieHardState) -> bool:
        return 0 <= s.small <= small_cap and 0 <= s.big <= big_cap

    return Model(
        name="diehard",
        constants={"BIG": big_cap, "SMALL": small_cap, "GOAL": goal},
        variables=("big", "small"),
        init_states=init,
        actions=(
            Action(name="FillSmallJug", step=fill_small),
            Action(name="FillBigJug", step=fill_big),
            Action(name="EmptySmallJug", step=empty_small),
            Action(name="EmptyBigJug", step=empty_big),
            Action(name="SmallToBig", step=small_to_big),
            Action(name="BigToSmall", step=big_to_small),
        ),
        properties=(
            Property.always("TypeOK", type_ok),
            Property.sometimes("BigIsGoal", lambda s: s.big == goal),
        ),
        view=lambda s: {"big": s.big, "small": s.small},
        assumptions=(
            Assumption(name="JugsArePositive", holds=big_cap > 0 and small_cap > 0),
            Assumption(name="GoalFitsBigJug", holds=0 <= goal <= big_cap),
        ),
    )


FAMILY = ModelFamily(
    name="diehard",
    summary="the DieHard water-jug puzzle (TypeOK; sometimes big = GOAL)",
    build=build,
    configs={"default": {"BIG": 5, "SMALL": 3, "GOAL": 4}},
    default_config="default",
)
