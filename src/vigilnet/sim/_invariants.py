"""Invariant monitors, checked after every simulated epoch.

Theory of operation
===================

The protocols' invariants are model-checked on small models
(``models/``); here the same properties are checked on the composed
deployment as it runs, over the honest nodes only (a Byzantine node may do
anything), after every epoch.  A violation stops the run at once with
:class:`RunStopped` (an :class:`~vigilnet.errors.InvariantViolation`) naming
the property, the root seed, the epoch, what was found, and the last events
the nodes recorded (decisions, alarms, equivocations, attacks), so the run
can be repeated with ``--seed`` and read backwards from the failure.

The properties (TLA+ names where a spec has one):

``Agreement``
    no two honest hubs decide different values in one epoch (SDBC);
``Validity``
    every honest hub's decision is a value that passes ``valid(v)`` under
    that hub's configuration, with a decision certificate that verifies;
``Integrity``
    in every honest decision, the summary of every honest hub bound in it
    carries that hub's own committed SHAP root and totals;
``NoDoubleCount``
    every honest aggregator's commitment counts each child once, and each
    agent's combined entry is counted at most once per epoch by the judge
    (across all regionals);
``FinalNeverFlips``
    a FLAGGED verdict stays FLAGGED (the judge makes FLAGGED final; this
    checks that nothing else rewrote it);
``InclusionChecked``
    no honest child's check of a receipt signed by an honest parent
    failed (SHAP Detectability's other side: honest parents pass it; a
    receipt lost on the way is a deadline alarm, not a failed check);
``NoFraming``
    no honest node was caught "with proof";
``NoStaleKey``
    no hub admitted a message signed by a key that the key registry says
    was not valid at the message's epoch (rotated out, revoked: the
    key-rotation scenario's attacker sends such messages every epoch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigilnet.errors import InvariantViolation, RemoteProtocolError
from vigilnet.protocols import sdbc
from vigilnet.sim._deployment import Deployment, root_words
from vigilnet.sim._engine import Observation, Simulator

__all__ = ["INVARIANTS", "InvariantMonitor", "RunStopped"]

INVARIANTS = (
    "Agreement",
    "Validity",
    "Integrity",
    "NoDoubleCount",
    "FinalNeverFlips",
    "InclusionChecked",
    "NoFraming",
    "NoStaleKey",
)

#: how many of the nodes' latest recorded events a violation shows
RECENT_EVENTS = 20


class RunStopped(InvariantViolation):
    """A simulated run broke an invariant (see the module docstring)."""

    def __init__(
        self,
        invariant: str,
        seed: int,
        epoch: int,
        detail: str,
        events: tuple[Observation, ...],
    ) -> None:
        self.invariant = invariant
        self.seed = seed
        self.epoch = epoch
        self.detail = detail
        self.events = events
        lines = [
            f"invariant {invariant} violated: seed {seed}, epoch {epoch}: {detail}",
            f"last {len(events)} recorded events:",
            *(
                f"  t={e.time_us}us {e.node} {e.kind} "
                + " ".join(f"{k}={v}" for k, v in sorted(e.fields.items()))
                for e in events
            ),
        ]
        super().__init__("\n".join(lines))


@dataclass(slots=True)
class InvariantMonitor:
    """Checks one run's invariants after each epoch."""

    d: Deployment
    sim: Simulator

    def fail(self, invariant: str, epoch: int, detail: str) -> None:
        events = tuple(self.sim.observations[-RECENT_EVENTS:])
        raise RunStopped(invariant, self.d.scenario.seed, epoch, detail, events)

    def check_epoch(
        self,
        epoch: int,
        hits: npt.NDArray[np.int32],
        flagged_before: npt.NDArray[np.bool_],
        flagged: npt.NDArray[np.bool_],
    ) -> None:
        """Every invariant for ``epoch`` (``hits``: how often the judge
        counted each agent this epoch)."""
        d = self.d
        hubs = d.scenario.topology.hubs
        honest = [h for h in range(hubs) if d.honest(f"hub-{h}")]
        decided = {h: d.decisions[(epoch, h)] for h in honest if (epoch, h) in d.decisions}
        # NoStaleKey first: a stale key admitted is the cause of what else breaks
        # (the thief's votes then read as the honest hub's equivocation)
        if d.keyplan is not None and d.keyplan.accepted:
            self.fail(
                "NoStaleKey",
                epoch,
                f"{d.keyplan.accepted} messages signed by stale keys were admitted",
            )
        # Agreement
        hashes = {x.value.value_hash for x in decided.values()}
        if len(hashes) > 1:
            split = {h: x.value.value_hash.hex()[:16] for h, x in sorted(decided.items())}
            self.fail("Agreement", epoch, f"honest hubs decided different values {split}")
        for h, x in sorted(decided.items()):
            # Validity
            config = self._config(h)
            if d.keyplan is not None:
                config = config.with_members(d.keyplan.members(epoch))
            try:
                x.value.check_valid(config, epoch)
                x.certificate.verify(config)
            except RemoteProtocolError as exc:
                self.fail("Validity", epoch, f"hub-{h} decided an invalid value: {exc}")
            if x.certificate.value_hash != x.value.value_hash:
                self.fail("Validity", epoch, f"hub-{h}'s certificate is for another value")
            # Integrity
            for summary in x.value.summaries:
                if not d.honest(f"hub-{summary.hub}"):
                    continue
                own = d.hub_roots.get((epoch, summary.hub))
                expected = None if own is None else (*own[1], *root_words(own[0]))
                if tuple(summary.values) != expected:
                    self.fail(
                        "Integrity",
                        epoch,
                        f"hub-{h}'s decision binds for honest hub-{summary.hub} a root "
                        "other than the one it committed",
                    )
        # NoDoubleCount
        for table, tier in ((d.regional_inputs, "regional"), (d.hub_inputs, "hub")):
            for (e, index), children in table.items():
                if e != epoch or not d.honest(f"{tier}-{index}"):
                    continue
                if len(set(children)) != len(children):
                    twice = sorted({c for c in children if children.count(c) > 1})
                    self.fail(
                        "NoDoubleCount", epoch, f"{tier}-{index} counted children {twice} twice"
                    )
        if hits.size and int(hits.max()) > 1:
            agent = int(np.argmax(hits))
            self.fail("NoDoubleCount", epoch, f"agent {agent} counted {int(hits[agent])} times")
        # FinalNeverFlips
        flipped = flagged_before & ~flagged
        if flipped.any():
            self.fail(
                "FinalNeverFlips", epoch, f"agent {int(np.argmax(flipped))} was FLAGGED, is not"
            )
        # InclusionChecked
        for e, child, parent, reason, proof in d.alarms:
            if e == epoch and proof and d.honest(child) and d.honest(parent):
                self.fail(
                    "InclusionChecked",
                    epoch,
                    f"honest {child}'s receipt from honest {parent} failed: {reason}",
                )
        # NoFraming
        for node, detection in sorted(d.detections.items()):
            if d.honest(node):
                self.fail(
                    "NoFraming",
                    epoch,
                    f"honest {node} convicted by {detection.by} ({detection.kind})",
                )

    def _config(self, hub: int) -> sdbc.HubConfig:
        state = getattr(self.sim.drivers[f"hub-{hub}"], "hub", None)
        return self.d.hub_config if not isinstance(state, sdbc.NodeState) else state.config
