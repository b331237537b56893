"""Pieces every engine shares: search options, the property ledger, the
final :class:`CheckResult`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vigilnet.checker._model import Kind, Model
from vigilnet.checker._progress import NullProgress, Progress
from vigilnet.checker._result import (
    ActionCoverage,
    CheckResult,
    PropertyResult,
    Status,
    Trace,
)

__all__ = ["Ledger", "Options", "make_result", "safety_outcomes"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """How to search.  ``max_depth`` bounds the number of steps from an
    initial state; ``stop_on_violation`` ends the search at the first
    violated always-property (as TLC does)."""

    max_depth: int | None = None
    symmetry: bool = True
    stop_on_violation: bool = True
    progress: Progress = field(default_factory=NullProgress)


class Ledger:
    """Which always-properties are violated and which sometimes-properties
    are witnessed so far, with the key of the first state that did it."""

    def __init__(self, model: Model[Any]) -> None:
        self.always = [(i, p) for i, p in enumerate(model.properties) if p.kind is Kind.ALWAYS]
        self.sometimes = [
            (i, p) for i, p in enumerate(model.properties) if p.kind is Kind.SOMETIMES
        ]
        self.found: dict[int, object] = {}
        self.pending_sometimes = {i for i, _ in self.sometimes}

    @property
    def violated(self) -> bool:
        return any(i in self.found for i, _ in self.always)

    def check(self, state: Any, key: object) -> bool:
        """Record what ``state`` shows; True when it violates something."""
        bad = False
        for i, prop in self.always:
            if i not in self.found and not prop.holds(state):
                self.found[i] = key
                bad = True
        if self.pending_sometimes:
            for i, prop in self.sometimes:
                if i in self.pending_sometimes and prop.holds(state):
                    self.found[i] = key
                    self.pending_sometimes.discard(i)
        return bad


def make_result(
    *,
    model: Model[Any],
    engine: str,
    strategy: str,
    workers: int,
    symmetry: bool,
    distinct: int,
    generated: int,
    depth: int,
    seconds: float,
    complete: bool,
    outcomes: Mapping[str, tuple[Status, Trace | None]],
    coverage: Mapping[str, ActionCoverage],
    collision_optimistic: float,
    collision_observed: float,
    deadlock: Trace | None = None,
    notes: tuple[str, ...] = (),
) -> CheckResult:
    props = tuple(
        PropertyResult(
            name=prop.name,
            kind=prop.kind.value,
            status=outcomes.get(prop.name, (Status.UNKNOWN, None))[0],
            trace=outcomes.get(prop.name, (Status.UNKNOWN, None))[1],
        )
        for prop in model.properties
    )
    return CheckResult(
        model=model.source or model.name,
        config=model.config,
        mutant=model.mutant,
        constants=dict(model.constants),
        engine=engine,
        strategy=strategy,
        workers=workers,
        symmetry=symmetry,
        distinct_states=distinct,
        generated_states=generated,
        depth=depth,
        seconds=seconds,
        complete=complete,
        properties=props,
        coverage=coverage,
        collision_optimistic=collision_optimistic,
        collision_observed=collision_observed,
        deadlock=deadlock,
        notes=notes,
    )


def safety_outcomes(
    model: Model[Any],
    ledger: Ledger,
    traces: Mapping[int, Trace],
    *,
    complete: bool,
) -> dict[str, tuple[Status, Trace | None]]:
    """Statuses of the always/sometimes properties at the end of a search."""
    out: dict[str, tuple[Status, Trace | None]] = {}
    stopped_early = ledger.violated and not complete
    for i, prop in ledger.always:
        if i in ledger.found:
            out[prop.name] = (Status.VIOLATED, traces[i])
        else:
            out[prop.name] = (Status.HOLDS if not stopped_early else Status.UNKNOWN, None)
    for i, prop in ledger.sometimes:
        if i in ledger.found:
            out[prop.name] = (Status.WITNESSED, traces[i])
        else:
            out[prop.name] = (Status.UNWITNESSED if not stopped_early else Status.UNKNOWN, None)
    return out
