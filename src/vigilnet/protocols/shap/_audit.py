"""Auditor spot-checks (DESIGN.md 4.2, step 6).

An auditor holds a regional aggregator's signed report and the keys of the
regional and its monitors.  It picks ``k`` output entries at random and asks
the aggregator to open each (:meth:`EpochCommitment.opening`); for each it
checks, from signed roots alone, that the entry is in the regional's entries
tree, that every one of the ``r`` replica entries is in its monitor's signed
entries tree, that each monitor's report is in the regional's inputs tree,
and that the entry is the lower median of the replicas, coordinate by
coordinate.

Randomness is an explicit input (``randomness``, from a beacon or a CSPRNG
the caller owns): :func:`select_entries` expands it with SHA-256 into ``k``
indices drawn independently and uniformly (with replacement, by rejection
sampling, so with no modulo bias).  An aggregator that alters a fraction
``x`` of its entries escapes all ``k`` checks with probability exactly
``(1 - x)**k`` (:func:`escape_probability`), so ``k >= ln(1 - p) / ln(1 - x)``
checks catch it with probability at least ``p`` (:func:`checks_needed`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from fractions import Fraction

from vigilnet.aggregation import replica_median
from vigilnet.crypto import VerifyKey
from vigilnet.errors import LocalProtocolError, RemoteProtocolError, ensure
from vigilnet.merkle import SumInclusionProof, SumProofError, SumRoot, verify_sum_inclusion
from vigilnet.protocols.shap._combine import AuditOpening, ReplicaOpening
from vigilnet.protocols.shap._commit import LAYOUT, child_leaf, commitment_hash, entry_leaf
from vigilnet.protocols.shap._messages import Report, ReportRejected, Tier

__all__ = [
    "AUDIT_TAG",
    "AuditFailure",
    "audit_entry",
    "checks_needed",
    "escape_probability",
    "select_entries",
]

AUDIT_TAG = b"vigilnet/shap/audit-select/v1\x00"


class AuditFailure(RemoteProtocolError):
    """An opening did not check out: the aggregator altered the entry, or
    could not prove it."""


def select_entries(randomness: bytes, k: int, size: int) -> tuple[int, ...]:
    """``k`` indices in ``[0, size)``, each uniform and independent, from
    ``SHA-256(AUDIT_TAG || randomness || uint64(counter))`` read as a
    256-bit integer, rejecting draws in the last incomplete block."""
    ensure(
        type(randomness) is bytes and len(randomness) >= 16,
        "need >= 16 bytes of randomness",
        LocalProtocolError,
    )
    ensure(k >= 0 and size >= 1, "need k >= 0 and a non-empty tree", LocalProtocolError)
    limit = (1 << 256) - (1 << 256) % size
    picks: list[int] = []
    counter = 0
    while len(picks) < k:
        draw = int.from_bytes(
            hashlib.sha256(AUDIT_TAG + randomness + counter.to_bytes(8, "big")).digest(), "big"
        )
        counter += 1
        if draw < limit:
            picks.append(draw % size)
    return tuple(picks)


def escape_probability(altered: Fraction, k: int) -> Fraction:
    """``(1 - x)**k``: the chance that ``k`` independent uniform checks all
    miss a fraction ``x`` of altered entries."""
    ensure(0 <= altered <= 1 and k >= 0, "x in [0, 1], k >= 0", LocalProtocolError)
    return (1 - altered) ** k


def checks_needed(altered: Fraction, confidence: Fraction) -> int:
    """The least ``k`` with ``1 - (1 - x)**k >= confidence`` (exact)."""
    ensure(0 < altered <= 1 and 0 <= confidence < 1, "x in (0, 1], p in [0, 1)", LocalProtocolError)
    k = 0
    while 1 - escape_probability(altered, k) < confidence:
        k += 1
    return k


def _fail(condition: bool, agent: object, what: str) -> None:
    if not condition:
        raise AuditFailure(f"agent {agent!r}: {what}")


def _is_uint64(value: object) -> bool:
    return type(value) is int and 0 <= value < 1 << 64


def _is_entry_sums(count: object, llr_sum: object) -> bool:
    """A ``(1, count, llr_sum)`` that fits :data:`LAYOUT` (``bool`` is not an int here)."""
    return LAYOUT.accepts((1, count, llr_sum))


def _check_shape(opening: object, replicas: int) -> None:
    """Everything in an opening has the type and range its checks read, so
    that a hostile opening fails as :class:`AuditFailure` and nothing else."""
    _fail(isinstance(opening, AuditOpening), None, "not an audit opening")
    assert isinstance(opening, AuditOpening)
    agent = opening.agent_id
    _fail(_is_uint64(agent), agent, "agent id is not a uint64")
    _fail(_is_entry_sums(opening.count, opening.llr_sum), agent, "entry out of range")
    _fail(isinstance(opening.entry_proof, SumInclusionProof), agent, "entry proof malformed")
    following = opening.next_entry
    _fail(
        following is None
        or (
            type(following) is tuple
            and len(following) == 3
            and _is_uint64(following[0])
            and _is_entry_sums(following[1], following[2])
        ),
        agent,
        "next entry malformed",
    )
    _fail(
        opening.next_proof is None or isinstance(opening.next_proof, SumInclusionProof),
        agent,
        "next proof malformed",
    )
    _fail(
        type(opening.replicas) is tuple and len(opening.replicas) <= max(replicas, 0),
        agent,
        f"more than {replicas} replicas opened",
    )
    for replica in opening.replicas:
        _fail(
            isinstance(replica, ReplicaOpening)
            and isinstance(replica.monitor, Report)
            and isinstance(replica.monitor_entries, SumRoot)
            and _is_entry_sums(replica.count, replica.llr_sum)
            and isinstance(replica.entry_proof, SumInclusionProof)
            and isinstance(replica.input_proof, SumInclusionProof),
            agent,
            "replica opening malformed",
        )


def audit_entry(
    *,
    regional: Report,
    regional_key: VerifyKey,
    inputs: SumRoot,
    entries: SumRoot,
    monitor_keys: Mapping[int, VerifyKey],
    replicas: int,
    opening: AuditOpening,
    index: int | None = None,
) -> None:
    """Check one opening against the signed roots; raise :class:`AuditFailure`.

    ``index`` is the entry the auditor selected (:func:`select_entries`);
    the opening must be for that position.  The next entry's proof must show
    a strictly larger agent id (the last entry has none), so a duplicated or
    out-of-order entry is caught whenever its position is checked.

    Whatever the opening holds (ids of ``2**64`` or ``-1``, a ``bool``
    count, a malformed next entry or proof), the only error is
    :class:`AuditFailure`, so an auditor that convicts on it lets no
    cheater off through another exception type."""
    _check_shape(opening, replicas)
    agent = opening.agent_id
    _fail(
        isinstance(regional, Report)
        and isinstance(inputs, SumRoot)
        and isinstance(entries, SumRoot),
        agent,
        "regional report or roots malformed",
    )
    try:
        regional.verify(regional_key)
    except ReportRejected as exc:
        raise AuditFailure(f"regional report: {exc}") from None
    _fail(regional.tier is Tier.REGIONAL, agent, "not a regional report")
    _fail(
        commitment_hash(inputs, entries) == regional.root,
        agent,
        "roots do not match the signed root",
    )
    try:
        verify_sum_inclusion(
            layout=LAYOUT,
            leaf=entry_leaf(agent, opening.count, opening.llr_sum),
            proof=opening.entry_proof,
            root=entries,
        )
    except SumProofError as exc:
        raise AuditFailure(f"agent {agent}: output entry: {exc}") from None
    position = opening.entry_proof.leaf_index
    _fail(index is None or position == index, agent, f"opened position {position}, not {index}")
    last = position == entries.size - 1
    _fail(
        (opening.next_entry is None) == last and (opening.next_proof is None) == last,
        agent,
        "the next entry is missing or claimed past the end",
    )
    if opening.next_entry is not None and opening.next_proof is not None:
        next_agent, next_count, next_llr = opening.next_entry
        _fail(opening.next_proof.leaf_index == position + 1, agent, "next proof is not adjacent")
        _fail(next_agent > agent, agent, "agent ids do not increase: duplicated or reordered entry")
        try:
            verify_sum_inclusion(
                layout=LAYOUT,
                leaf=entry_leaf(next_agent, next_count, next_llr),
                proof=opening.next_proof,
                root=entries,
            )
        except SumProofError as exc:
            raise AuditFailure(f"agent {agent}: next entry: {exc}") from None
    monitors = {replica.monitor.node_id for replica in opening.replicas}
    _fail(
        len(opening.replicas) == replicas and len(monitors) == replicas,
        agent,
        f"{len(monitors)} distinct replicas opened, {replicas} required",
    )
    for replica in opening.replicas:
        monitor = replica.monitor
        key = monitor_keys.get(monitor.node_id)
        if key is None:
            raise AuditFailure(f"agent {agent}: monitor {monitor.node_id} unknown")
        try:
            monitor.verify(key)
            _fail(
                monitor.epoch == regional.epoch and monitor.tier is Tier.MONITOR,
                agent,
                f"monitor {monitor.node_id}: wrong epoch or tier",
            )
            _fail(
                commitment_hash(None, replica.monitor_entries) == monitor.root,
                agent,
                f"monitor {monitor.node_id}: entries root not the signed root",
            )
            verify_sum_inclusion(
                layout=LAYOUT,
                leaf=entry_leaf(agent, replica.count, replica.llr_sum),
                proof=replica.entry_proof,
                root=replica.monitor_entries,
            )
            verify_sum_inclusion(
                layout=LAYOUT,
                leaf=child_leaf(monitor.node_id, monitor.root, monitor.totals),
                proof=replica.input_proof,
                root=inputs,
            )
        except (ReportRejected, SumProofError) as exc:
            raise AuditFailure(f"agent {agent}: replica {monitor.node_id}: {exc}") from None
    _fail(
        opening.count == replica_median([r.count for r in opening.replicas])
        and opening.llr_sum == replica_median([r.llr_sum for r in opening.replicas]),
        agent,
        "entry is not the median of its replicas",
    )
