"""SSCR: the Secure Statistical CAP Resolver for partitions (DESIGN.md 4.3).

* :mod:`._crdt`: the evidence CRDT (per ``(agent, source)`` the latest
  ``(sequence, cumulative statistics)``), :func:`merge`, digests and deltas;
* :mod:`._detector`: fixed-point phi accrual, jittered staleness deadlines,
  partition confirmation;
* :mod:`._consistency`: the hidden-evidence bound and the finality rule;
* :mod:`._state`: the node state machine (modes NORMAL / DEGRADED / HEALING).

See ``docs/protocols/sscr.md``.
"""

from vigilnet.protocols.sscr._consistency import (
    Judgement,
    consistency_bound,
    judge,
    max_unseen_terms,
)
from vigilnet.protocols.sscr._crdt import (
    Digest,
    EntryKey,
    Equivocation,
    EvidenceState,
    SourceEntry,
    delta,
    digest,
    entry_key,
    equivocations,
    merge,
)
from vigilnet.protocols.sscr._detector import (
    DRAW_BITS,
    LOG10_E_Q32,
    HeartbeatWindow,
    PeerWatch,
    phi,
    staleness_deadline,
)
from vigilnet.protocols.sscr._state import (
    MODE_TRANSITIONS,
    DeadlineFired,
    Decide,
    EquivocationFound,
    Evaluate,
    Event,
    HeartbeatArrived,
    LocalReport,
    Mode,
    ModeChanged,
    NodeState,
    Output,
    Send,
    SetTimer,
    SscrConfig,
    StartSync,
    SuspicionReported,
    SyncRequest,
    SyncRequestArrived,
    SyncResponse,
    SyncResponseArrived,
    VerdictRecord,
    initial_state,
    judgement,
    step,
)

__all__ = [
    "DRAW_BITS",
    "LOG10_E_Q32",
    "MODE_TRANSITIONS",
    "DeadlineFired",
    "Decide",
    "Digest",
    "EntryKey",
    "Equivocation",
    "EquivocationFound",
    "Evaluate",
    "Event",
    "EvidenceState",
    "HeartbeatArrived",
    "HeartbeatWindow",
    "Judgement",
    "LocalReport",
    "Mode",
    "ModeChanged",
    "NodeState",
    "Output",
    "PeerWatch",
    "Send",
    "SetTimer",
    "SourceEntry",
    "SscrConfig",
    "StartSync",
    "SuspicionReported",
    "SyncRequest",
    "SyncRequestArrived",
    "SyncResponse",
    "SyncResponseArrived",
    "VerdictRecord",
    "consistency_bound",
    "delta",
    "digest",
    "entry_key",
    "equivocations",
    "initial_state",
    "judge",
    "judgement",
    "max_unseen_terms",
    "merge",
    "phi",
    "staleness_deadline",
    "step",
]
