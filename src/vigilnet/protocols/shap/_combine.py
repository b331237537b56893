"""Combination and commitment of one epoch at an aggregator (rules 3 to 5
of :mod:`vigilnet.protocols.shap._state`).

* :func:`combine_replicas`: per agent, the lower median of each coordinate
  over its ``r`` replicas, vectorised (one ``lexsort`` per coordinate);
  :func:`combine_replicas_reference` is the same rule one agent at a time
  through :func:`vigilnet.aggregation.replica_median`, and a differential test
  holds the two equal.
* :func:`commit_regional` / :func:`commit_hub`: the inputs tree, the entries
  tree (regional), the commitment hash and totals, as an
  :class:`EpochCommitment`, which also makes each child's :class:`Receipt`
  and each agent's :class:`AuditOpening`.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from vigilnet.aggregation import replica_median
from vigilnet.crypto import SigningKey
from vigilnet.errors import LocalProtocolError, ensure
from vigilnet.merkle import SumInclusionProof, SumRoot
from vigilnet.protocols.shap._commit import (
    CommittedTree,
    children_tree,
    commitment_hash,
    entries_tree,
)
from vigilnet.protocols.shap._messages import MonitorBody, Receipt, Report, sign_receipt

__all__ = [
    "AuditOpening",
    "CombinedEntries",
    "EpochCommitment",
    "ReplicaOpening",
    "combine_columns",
    "combine_replicas",
    "combine_replicas_reference",
    "commit_hub",
    "commit_regional",
]

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Accepted = Sequence[tuple[int, Report, MonitorBody | None]]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CombinedEntries:
    """Per-agent combined entries (sorted by agent id, read as uint64: the
    one id domain of SHAP) and the agents seen with fewer than ``r``
    replicas (no entry this epoch)."""

    agent_ids: U64
    counts: I64
    llr_sums: I64
    incomplete: tuple[int, ...]


def _columns(bodies: Sequence[MonitorBody]) -> tuple[U64, I64, I64]:
    if not bodies:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.uint64), empty, empty
    agents = np.concatenate([np.asarray(b.agent_ids, dtype=np.uint64) for b in bodies])
    counts = np.concatenate([np.asarray(b.counts, dtype=np.int64) for b in bodies])
    llrs = np.concatenate([np.asarray(b.llr_sums, dtype=np.int64) for b in bodies])
    return agents, counts, llrs


def combine_columns(agents: U64, counts: I64, llrs: I64, replicas: int) -> CombinedEntries:
    """:func:`combine_replicas` on concatenated columns (one row per
    (monitor, agent)); no agent appears twice for one monitor.  Agent ids
    are uint64 (a signed column would sort ids at or above ``2**63`` first,
    as negatives, and the entries tree would disagree with the audit's
    unsigned order)."""
    agents = np.asarray(agents, dtype=np.uint64)
    ensure(replicas >= 1 and replicas % 2 == 1, "replicas must be odd", LocalProtocolError)
    by_count = np.lexsort((counts, agents))
    by_llr = np.lexsort((llrs, agents))
    sorted_agents = agents[by_count]
    unique, starts, sizes = np.unique(sorted_agents, return_index=True, return_counts=True)
    complete = sizes == replicas
    pick = starts[complete] + (replicas - 1) // 2
    return CombinedEntries(
        agent_ids=unique[complete],
        counts=counts[by_count][pick],
        llr_sums=llrs[by_llr][pick],
        incomplete=tuple(int(a) for a in unique[~complete]),
    )


def combine_replicas(bodies: Sequence[MonitorBody], replicas: int) -> CombinedEntries:
    """Rule 3 at a regional: per agent with exactly ``replicas`` reports, the
    lower median of its counts and, separately, of its sums."""
    agents, counts, llrs = _columns(bodies)
    return combine_columns(agents, counts, llrs, replicas)


def combine_replicas_reference(
    bodies: Sequence[MonitorBody], replicas: int
) -> dict[int, tuple[int, int]]:
    """The same rule, one agent at a time, with :func:`replica_median`."""
    seen: dict[int, list[tuple[int, int]]] = {}
    for body in bodies:
        for agent, count, llr in zip(body.agent_ids, body.counts, body.llr_sums, strict=True):
            seen.setdefault(agent, []).append((count, llr))
    return {
        agent: (replica_median([c for c, _ in values]), replica_median([v for _, v in values]))
        for agent, values in sorted(seen.items())
        if len(values) == replicas
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaOpening:
    """One replica of an audited agent: the monitor's signed report, its
    entries root, the agent's entry and proof there, and the monitor's leaf
    proof in the regional's inputs tree."""

    monitor: Report
    monitor_entries: SumRoot
    count: int
    llr_sum: int
    entry_proof: SumInclusionProof
    input_proof: SumInclusionProof


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditOpening:
    """What an aggregator must show an auditor for one output entry: the
    entry and its proof, its ``r`` replicas, and the *next* entry of the
    entries tree with its proof (``None`` for the last entry), which shows
    that agent ids strictly increase there (no duplicated or reordered
    entries at the checked position)."""

    agent_id: int
    count: int
    llr_sum: int
    entry_proof: SumInclusionProof
    replicas: tuple[ReplicaOpening, ...]
    next_entry: tuple[int, int, int] | None = None
    next_proof: SumInclusionProof | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class EpochCommitment:
    """An aggregator's commitment for one epoch (rule 4), with what it needs
    to make receipts (rule 5) and audit openings (rule 6 of DESIGN.md 4.2)."""

    accepted: tuple[tuple[int, Report, MonitorBody | None], ...]
    inputs: CommittedTree
    entries: CommittedTree | None
    combined: CombinedEntries | None
    root: bytes
    totals: tuple[int, int, int]
    report: Report | None = None
    _monitor_trees: dict[int, CommittedTree] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def _monitor_tree(self, index: int, body: MonitorBody) -> CommittedTree:
        """The entries tree of accepted child ``index``, built once (audit
        openings of many agents share it)."""
        tree = self._monitor_trees.get(index)
        if tree is None:
            tree = entries_tree(
                np.asarray(body.agent_ids, dtype=np.uint64),
                np.asarray(body.counts, dtype=np.int64),
                np.asarray(body.llr_sums, dtype=np.int64),
            )
            self._monitor_trees[index] = tree
        return tree

    @property
    def inputs_root(self) -> SumRoot:
        return self.inputs.root

    @property
    def entries_root(self) -> SumRoot | None:
        return None if self.entries is None else self.entries.root

    def signed(self, report: Report) -> EpochCommitment:
        ensure(report.root == self.root, "report signs another root", LocalProtocolError)
        signed = replace(self, report=report)
        signed._monitor_trees.update(self._monitor_trees)
        return signed

    def receipt(self, child: int, signing_key: SigningKey) -> Receipt:
        """Rule 5: ``child``'s inclusion proof with the signed report, the
        whole receipt signed with ``signing_key`` (the report's signer)."""
        if self.report is None:
            raise LocalProtocolError("sign the commitment first")
        index = [c for c, _, _ in self.accepted].index(child)
        return sign_receipt(
            signing_key,
            child=child,
            parent=self.report,
            inputs=self.inputs_root,
            entries=self.entries_root,
            proof=self.inputs.inclusion_proof(index),
            leaves=tuple((c, r.root, r.totals) for c, r, _ in self.accepted),
        )

    def opening(self, agent_id: int) -> AuditOpening:
        """The audit opening of ``agent_id``'s output entry (regional only)."""
        agent_id = int(agent_id)
        combined, entries = self.combined, self.entries
        if combined is None or entries is None:
            raise LocalProtocolError("only a regional has entries")
        ensure(0 <= agent_id < 1 << 64, f"agent {agent_id} is not a uint64", LocalProtocolError)
        position = int(np.searchsorted(combined.agent_ids, np.uint64(agent_id)))
        ensure(
            position < len(combined.agent_ids) and int(combined.agent_ids[position]) == agent_id,
            f"agent {agent_id} has no entry",
            LocalProtocolError,
        )
        replicas = []
        for index, (_, report, body) in enumerate(self.accepted):
            if body is None:
                continue
            at = bisect.bisect_left(body.agent_ids, agent_id)  # ids strictly increase
            if at == len(body.agent_ids) or body.agent_ids[at] != agent_id:
                continue
            tree = self._monitor_tree(index, body)
            replicas.append(
                ReplicaOpening(
                    monitor=report,
                    monitor_entries=tree.root,
                    count=body.counts[at],
                    llr_sum=body.llr_sums[at],
                    entry_proof=tree.inclusion_proof(at),
                    input_proof=self.inputs.inclusion_proof(index),
                )
            )
        following = position + 1
        has_next = following < len(combined.agent_ids)
        return AuditOpening(
            agent_id=agent_id,
            count=int(combined.counts[position]),
            llr_sum=int(combined.llr_sums[position]),
            entry_proof=entries.inclusion_proof(position),
            replicas=tuple(replicas),
            next_entry=(
                (
                    int(combined.agent_ids[following]),
                    int(combined.counts[following]),
                    int(combined.llr_sums[following]),
                )
                if has_next
                else None
            ),
            next_proof=entries.inclusion_proof(following) if has_next else None,
        )


def _inputs(accepted: Accepted) -> CommittedTree:
    return children_tree(
        [child for child, _, _ in accepted],
        [report.root for _, report, _ in accepted],
        [report.totals for _, report, _ in accepted],
    )


def commit_regional(accepted: Accepted, *, replicas: int) -> EpochCommitment:
    """Rules 3 and 4 at a regional: replica medians, both trees, the root."""
    bodies = []
    for child, _, body in accepted:
        if body is None:
            raise LocalProtocolError(f"monitor {child} has no body")
        bodies.append(body)
    combined = combine_replicas(bodies, replicas)
    inputs = _inputs(accepted)
    entries = entries_tree(combined.agent_ids, combined.counts, combined.llr_sums)
    totals = entries.root.totals
    return EpochCommitment(
        accepted=tuple(accepted),
        inputs=inputs,
        entries=entries,
        combined=combined,
        root=commitment_hash(inputs.root, entries.root),
        totals=(totals[0], totals[1], totals[2]),
    )


def commit_hub(accepted: Accepted) -> EpochCommitment:
    """Rules 3 and 4 at a hub: exact sums (the inputs tree's totals)."""
    inputs = _inputs(accepted)
    root = inputs.root
    totals = root.totals
    return EpochCommitment(
        accepted=tuple(accepted),
        inputs=inputs,
        entries=None,
        combined=None,
        root=commitment_hash(root, None),
        totals=(totals[0], totals[1], totals[2]),
    )
