"""What a check returns: traces, per-property outcomes, coverage, totals.

Kept apart from the engines (as Stateright keeps ``Path`` and the report apart
from its checkers) so that every engine, the report, the JSON output and the
ITF writer share one vocabulary.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "STUTTER",
    "ActionCoverage",
    "CheckResult",
    "PropertyResult",
    "Status",
    "Step",
    "Trace",
]

#: The pseudo-action of a lasso that ends by stuttering forever (TLA+ allows
#: any behaviour to stutter; only fairness forbids it).
STUTTER = "<stutter>"


class Status(enum.Enum):
    """The outcome of one property."""

    HOLDS = "holds"
    VIOLATED = "violated"
    WITNESSED = "witnessed"
    UNWITNESSED = "unwitnessed"
    #: The search stopped (first violation, depth bound) before deciding it.
    UNKNOWN = "unknown"

    @property
    def failed(self) -> bool:
        return self in (Status.VIOLATED, Status.UNWITNESSED)


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One state of a trace and the action instance that produced it
    (``action`` is ``None`` for the initial state)."""

    action: str | None
    args: tuple[Hashable, ...]
    state: Any

    @property
    def label(self) -> str:
        if self.action is None:
            return "<init>"
        if not self.args:
            return self.action
        return f"{self.action}({', '.join(str(arg) for arg in self.args)})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Trace:
    """A finite behaviour, or a lasso when ``loop`` is set: after the last
    step, ``loop_action`` leads back to ``steps[loop].state`` and the cycle
    ``steps[loop:]`` repeats forever (``loop_action`` is :data:`STUTTER` when
    the behaviour stutters in its last state)."""

    steps: tuple[Step, ...]
    loop: int | None = None
    loop_action: str | None = None
    loop_args: tuple[Hashable, ...] = ()

    def __len__(self) -> int:
        """The number of transitions (a 7-state trace has 6 steps)."""
        return len(self.steps) - 1

    @property
    def states(self) -> tuple[Any, ...]:
        return tuple(step.state for step in self.steps)


@dataclass(frozen=True, slots=True, kw_only=True)
class PropertyResult:
    name: str
    kind: str
    status: Status
    trace: Trace | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionCoverage:
    """``enabled``: transitions the action generated (TLC's "states found");
    ``new``: distinct states it reached first (TLC's "distinct states")."""

    enabled: int
    new: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """The whole outcome of one check."""

    model: str
    config: str
    mutant: str | None
    constants: Mapping[str, object]
    engine: str
    strategy: str
    workers: int
    symmetry: bool
    distinct_states: int
    generated_states: int
    depth: int
    seconds: float
    complete: bool
    properties: tuple[PropertyResult, ...]
    coverage: Mapping[str, ActionCoverage]
    collision_optimistic: float
    collision_observed: float
    deadlock: Trace | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.deadlock is None and not any(p.status.failed for p in self.properties)

    @property
    def result(self) -> str:
        return "ok" if self.ok else "violation"

    @property
    def never_enabled(self) -> tuple[str, ...]:
        return tuple(name for name, cov in self.coverage.items() if cov.enabled == 0)
