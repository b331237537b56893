"""The explicit-state model checker behind ``vigilnet check``.

Model (``Model``, ``Action``, ``Property`` ...), checker engines (generic BFS,
vectorised BFS, DFS, simulation, liveness, parallel), traces (ITF, replay)
and report are kept apart, after Stateright.  See ``docs/checker.md``.
"""

from vigilnet.checker._common import Options
from vigilnet.checker._itf import trace_to_itf, write_itf
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
from vigilnet.checker._registry import load_family
from vigilnet.checker._replay import Replay, replay_document, replay_file
from vigilnet.checker._report import format_result, format_trace, result_to_json
from vigilnet.checker._result import (
    STUTTER,
    ActionCoverage,
    CheckResult,
    PropertyResult,
    Status,
    Step,
    Trace,
)
from vigilnet.checker._run import check
from vigilnet.checker._vector import VectorKernel

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
    "Replay",
    "Status",
    "Step",
    "Trace",
    "VectorKernel",
    "WeakFairness",
    "check",
    "format_result",
    "format_trace",
    "load_family",
    "replay_document",
    "replay_file",
    "result_to_json",
    "trace_to_itf",
    "write_itf",
]
