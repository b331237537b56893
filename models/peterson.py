"""Peterson's mutual exclusion for two processes (Lamport's PlusCal version).

::

    variables flag = [i \\in {0, 1} |-> FALSE], turn = 0;
    process (proc \\in {0, 1}) {
    a0: while (TRUE) {
    a1:   flag[self] := TRUE;
    a2:   turn := 1 - self;
    a3a:  if (flag[1 - self]) {goto a3b} else {goto cs};
    a3b:  if (turn = 1 - self) {goto a3a} else {goto cs};
    cs:   skip;  \\* the critical section
    a4:   flag[self] := FALSE;
        }
    }

Each label is an action taking ``self``; ``Spec`` has ``WF_vars(proc(p))``
for both processes.  Properties: ``MutualExclusion`` (always), ``SomeoneInCS``
(sometimes), and ``StarvationFree(p)``: ``pc[p] = "a1" ~> pc[p] = "cs"``,
which holds under weak fairness.  The mutant ``no_fairness`` drops the
fairness conditions: starvation freedom then fails, with a lasso in which
one process loops through its critical section forever while the other
never moves.  The model has 58 distinct states (pinned in the tests).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass

from vigilnet.checker import (
    Action,
    Constants,
    Model,
    ModelFamily,
    Property,
    WeakFairness,
)

__all__ = ["FAMILY", "LABELS", "PetersonState", "build"]

LABELS = ("a0", "a1", "a2", "a3a", "a3b", "cs", "a4")


@dataclass(frozen=True, slots=True, kw_only=True)
class PetersonState:
    pc: tuple[str, str]
    flag: tuple[bool, bool]
    turn: int


Succ = Iterator[tuple[tuple[Hashable, ...], PetersonState]]
Body = Callable[[PetersonState, int], PetersonState]


def _with(pair: tuple[str, str] | tuple[bool, bool], index: int, value: object) -> tuple:  # type: ignore[type-arg]
    items = list(pair)
    items[index] = value
    return tuple(items)


def _goto(s: PetersonState, p: int, label: str) -> PetersonState:
    return PetersonState(pc=_with(s.pc, p, label), flag=s.flag, turn=s.turn)


def _a0(s: PetersonState, p: int) -> PetersonState:
    return _goto(s, p, "a1")


def _a1(s: PetersonState, p: int) -> PetersonState:
    return PetersonState(pc=_with(s.pc, p, "a2"), flag=_with(s.flag, p, True), turn=s.turn)


def _a2(s: PetersonState, p: int) -> PetersonState:
    return PetersonState(pc=_with(s.pc, p, "a3a"), flag=s.flag, turn=1 - p)


def _a3a(s: PetersonState, p: int) -> PetersonState:
    return _goto(s, p, "a3b" if s.flag[1 - p] else "cs")


def _a3b(s: PetersonState, p: int) -> PetersonState:
    return _goto(s, p, "a3a" if s.turn == 1 - p else "cs")


def _cs(s: PetersonState, p: int) -> PetersonState:
    return _goto(s, p, "a4")


def _a4(s: PetersonState, p: int) -> PetersonState:
    return PetersonState(pc=_with(s.pc, p, "a0"), flag=_with(s.flag, p, False), turn=s.turn)


BODIES: dict[str, Body] = {
    "a0": _a0,
    "a1": _a1,
    "a2": _a2,
    "a3a": _a3a,
    "a3b": _a3b,
    "cs": _cs,
    "a4": _a4,
}


def _action(label: str) -> Action[PetersonState]:
    body = BODIES[label]

    def step(s: PetersonState) -> Succ:
        for p in (0, 1):
            if s.pc[p] == label:
                yield (p,), body(s, p)

    return Action(name=label, step=step)


def _build(fair: bool) -> Callable[[Constants], Model[PetersonState]]:
    def build(constants: Constants) -> Model[PetersonState]:
        def init() -> Iterator[PetersonState]:
            yield PetersonState(pc=("a0", "a0"), flag=(False, False), turn=0)

        def starvation_free(p: int) -> Property[PetersonState]:
            return Property.leads_to(
                f"StarvationFree({p})",
                lambda s: s.pc[p] == "a1",
                lambda s: s.pc[p] == "cs",
            )

        fairness = tuple(
            WeakFairness(name=f"proc({p})", actions=frozenset(LABELS), args=(p,)) for p in (0, 1)
        )
        return Model(
            name="peterson",
            constants={},
            variables=("pc", "flag", "turn"),
            init_states=init,
            actions=tuple(_action(label) for label in LABELS),
            properties=(
                Property.always(
                    "TypeOK",
                    lambda s: all(pc in LABELS for pc in s.pc) and s.turn in (0, 1),
                ),
                Property.always("MutualExclusion", lambda s: s.pc != ("cs", "cs")),
                Property.sometimes("SomeoneInCS", lambda s: "cs" in s.pc),
                starvation_free(0),
                starvation_free(1),
            ),
            view=lambda s: {
                "pc": dict(enumerate(s.pc)),
                "flag": dict(enumerate(s.flag)),
                "turn": s.turn,
            },
            fairness=fairness if fair else (),
        )

    return build


build = _build(True)

FAMILY = ModelFamily(
    name="peterson",
    summary="Peterson's mutex (MutualExclusion; StarvationFree under weak fairness)",
    build=build,
    configs={"default": {}},
    default_config="default",
    mutants={"no_fairness": _build(False)},
)
