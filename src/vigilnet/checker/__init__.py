"""The explicit-state model checker behind ``vigilnet check``.

Model (``Model``, ``Action``, ``Property`` ...), checker engines (generic BFS,
vectorised BFS, DFS, simulation, liveness, parallel), traces (ITF, replay)
and report are kept apart, after Stateright.  See ``docs/checker.md``.
"""

from vigilnet.checker._common import Options
from vigilnet.checker._model import (
    Action,
    Assumption,
    Constants,
    Kind,
    Model,
    ModelError,
    ModelFamily,
    Property,
    WeakFairness,
)
from vigilnet.checker._result import (
    STUTTER,
    ActionCoverage,
    CheckResult,
    PropertyResult,
    Status,
    Step,
    Trace,
)

__all__ = [
    "STUTTER",
    "Action",
    "ActionCoverage",
    "Assumption",
    "CheckResult",
    "Constants",
    "Kind",
    "Model",
    "ModelError",
    "ModelFamily",
    "Options",
    "Property",
    "PropertyResult",
    "Status",
    "Step",
    "Trace",
    "WeakFairness",
]
