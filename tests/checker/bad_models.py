"""Two deliberately broken models for the exit-code contract of
``vigilnet check`` (run as ``vigilnet check tests/checker/bad_models.py:ATTR``).

* ``UNREACHABLE``: a counter that counts 0, 1, 2 and wraps to 0; its
  sometimes-property ``ReachesThree`` (``count = 3``) is never witnessed, so
  the check exits 1 and says so.
* ``FALSE_ASSUMPTION``: the same counter with ``ASSUME LIMIT > 5`` while
  ``LIMIT = 3``: the check exits 2 before searching.
* ``RAISING``: an action raises ``KeyError``: a model error, exit 2.
* ``DEADLOCK``: a counter that stops, with deadlock checking: exit 1.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

from vigilnet.checker import (
    Action,
    Assumption,
    Constants,
    Model,
    ModelFamily,
    Property,
)

__all__ = ["DEADLOCK", "FALSE_ASSUMPTION", "RAISING", "UNREACHABLE", "build"]


def build(constants: Constants, *, assume: bool = False) -> Model[int]:
    limit = int(str(constants["LIMIT"]))

    def init() -> Iterator[int]:
        yield 0

    def tick(count: int) -> Iterator[tuple[tuple[Hashable, ...], int]]:
        yield (), (count + 1) % limit

    return Model(
        name="counter",
        constants={"LIMIT": limit},
        variables=("count",),
        init_states=init,
        actions=(Action(name="Tick", step=tick),),
        properties=(
            Property.always("InRange", lambda c: 0 <= c < limit),
            Property.sometimes("ReachesThree", lambda c: c == 3),
        ),
        view=lambda c: {"count": c},
        assumptions=(Assumption(name="LimitAboveFive", holds=limit > 5),) if assume else (),
    )


UNREACHABLE = ModelFamily(
    name="unreachable",
    summary="a counter mod 3 that never reaches 3",
    build=build,
    configs={"default": {"LIMIT": 3}},
    default_config="default",
)

FALSE_ASSUMPTION = ModelFamily(
    name="false_assumption",
    summary="a counter whose ASSUME is false",
    build=lambda constants: build(constants, assume=True),
    configs={"default": {"LIMIT": 3}},
    default_config="default",
)


def _raising(constants: Constants) -> Model[int]:
    model = build(constants)

    def explode(count: int) -> Iterator[tuple[tuple[Hashable, ...], int]]:
        if count == 2:
            raise KeyError("a bug in the model")
        yield (), count + 1

    from dataclasses import replace

    return replace(model, actions=(Action(name="Explode", step=explode),))


#: A model whose action raises: a model error, exit 2 (never 1).
RAISING = ModelFamily(
    name="raising",
    summary="an action that raises",
    build=_raising,
    configs={"default": {"LIMIT": 5}},
    default_config="default",
)


def _stopping(constants: Constants) -> Model[int]:
    limit = int(str(constants["LIMIT"]))

    def init() -> Iterator[int]:
        yield 0

    def tick(count: int) -> Iterator[tuple[tuple[Hashable, ...], int]]:
        if count < limit:
            yield (), count + 1

    return Model(
        name="stopping",
        constants={"LIMIT": limit},
        variables=("count",),
        init_states=init,
        actions=(Action(name="Tick", step=tick),),
        properties=(
            Property.always("InRange", lambda c: 0 <= c <= limit),
            Property.sometimes("Moves", lambda c: c == 1),
        ),
        view=lambda c: {"count": c},
        check_deadlock=True,
    )


#: A counter that stops at LIMIT with deadlock checking on: exit 1, with a
#: trace to the deadlock.
DEADLOCK = ModelFamily(
    name="deadlock",
    summary="a counter that stops",
    build=_stopping,
    configs={"default": {"LIMIT": 3}},
    default_config="default",
)
