"""The SSCR evidence state: a state-based CRDT with delta propagation.

Theory of operation
===================

Every *source* (a local monitor) reports, per *agent*, a cumulative summary
of what it has observed: after its ``n``-th report on that agent it publishes
``SourceEntry(sequence=n, stats=EvidenceStats(count, llr_sum))`` where the
statistics are the sum of *all* its clamped log-likelihood ratios so far.  A
replica keeps, for each ``(agent, source)``, only the entry it has seen with
the highest sequence number.  Because each entry is cumulative, the newest one
already contains every older one: evidence is combined across sources by
addition (:meth:`EvidenceState.agent_stats`) but *never* across sequence
numbers of the same source, so no observation is counted twice however often
or in whatever order deltas arrive.

Rules (cited as ``SSCR-CRDT-n`` elsewhere):

1. **Order.**  Entries of one ``(agent, source)`` are totally ordered by
   :func:`entry_key`, ``(sequence, count, llr_sum)`` lexicographically.
2. **Merge** (:func:`merge`) keeps, per key, the larger entry under rule 1 and
   every key present on either side.  A pointwise maximum over a total order
   is a join-semilattice, so merge is commutative, associative and idempotent
   (proved in ``proofs/`` and tested with Hypothesis in ``tests/sscr``).
3. **Equivocation.**  Two different entries with the *same* sequence number
   can only come from a Byzantine source (an honest source never reuses a
   sequence number).  Merge resolves them deterministically by rule 1 (the
   larger statistics win), so every replica still converges on the same
   state whichever copy it saw first; :func:`equivocations` reports the pair
   as evidence so the node can penalise the source (DESIGN.md section 3: two
   signed conflicting messages).  Detection is best effort: a replica that only
   ever saw the winning entry cannot know a losing one existed.  The pair is
   also a conviction (rule 7): an equivocating source stops counting where it
   is caught, and finality tolerates it like any Byzantine source
   (``_consistency.py``, derivation step 6).
4. **Bounded memory.**  A state holds at most one entry per ``(agent,
   source)``: its size is at most ``agents x registered sources`` whatever the
   number of deltas received.  The node refuses entries from unregistered
   sources and any entry that would take its table past ``max_agents`` agents,
   on every path in, so memory is at most ``max_agents x sources`` entries.
   The state is a persistent trie keyed by agent, so one update costs
   ``O(log agents)``: per-event cost does not grow with the table.
5. **Deltas.**  :func:`digest` summarises a state by its entry keys;
   :func:`delta` returns the part of a state newer than a peer's digest.  A
   delta is itself a state, and ``merge(peer, delta(mine, digest(peer)))``
   equals ``merge(peer, mine)``: after a heal only the missing entries
   travel.
6. **Extension.**  An honest source's statistics only ever grow: a later
   report ``e'`` of one source on one agent *extends* an earlier ``e``
   (:func:`extends`) when ``e'.sequence > e.sequence``, ``e'.count >=
   e.count`` and ``|e'.llr_sum - e.llr_sum| <= lambda_max * (e'.count -
   e.count)``: the new terms are clamped terms added to the old sum.
   Extension is transitive (the triangle inequality), so a replica whose held
   entry only ever moved to extensions holds an extension of every entry it
   ever held.
7. **Conviction.**  Two different entries of one ``(agent, source)`` where the
   larger under rule 1 does not extend the smaller (an equivocation at one
   sequence number, or a *history rewrite* across sequence numbers: a lower
   count, or a sum that moved more than the new terms allow) can only come
   from a Byzantine source.  :func:`conflicts` finds such pairs where two
   states meet; a :class:`Conviction` keeps the pair as evidence and is
   self-certifying (anyone can re-check it with :meth:`Conviction.holds`).
   Convictions live in a second CRDT beside the evidence,
   :class:`ConvictionSet`: per source at most one conviction, the smallest
   under :func:`conviction_key`, joined by :func:`merge_convictions` (union of
   sources, pointwise minimum: again a join-semilattice).  The evidence merge
   of rule 2 is unchanged, so refusing nothing keeps replicas convergent: a
   replica that never held the older entry keeps the newer one exactly as
   one that did, and learns of the conviction by the union.  Which sources a
   verdict counts is the node's business (``_state.py``, rule SSCR-5).

8. **Signatures.**  Every entry carries its source's signature
   (:class:`SourceEntry`); a node admits only entries that verify under the
   source's registered key, so every entry in every replica, and both
   entries of every conviction, were signed by their source: a peer can
   relay, delay or withhold a source's entries but cannot forge, rewrite or
   equivocate for it, so no peer can convict an honest source.  The laws
   above ignore signatures except as the last tie-break of rule 1 (two
   signatures of the same statistics), which keeps merge a join.

Everything here is pure and exact (integers only).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from rpds import HashTrieMap

from vigilnet.errors import LocalProtocolError, ensure
from vigilnet.evidence import EvidenceStats

__all__ = [
    "Conviction",
    "ConvictionKey",
    "ConvictionSet",
    "Digest",
    "EntryKey",
    "Equivocation",
    "EvidenceState",
    "SourceEntry",
    "conflicts",
    "conviction_key",
    "delta",
    "digest",
    "entry_key",
    "equivocations",
    "extends",
    "merge",
    "merge_convictions",
]

#: ``(agent, source)``.
EntryKey = tuple[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceEntry:
    """The latest cumulative report of one source on one agent, with the
    source's Ed25519 ``signature`` over its sign bytes (``_signing.py``: the
    agent, the source, the sequence number, the statistics and the
    configuration hash).  The CRDT laws below never look at the signature;
    the node refuses every entry whose signature does not verify under the
    source's key (rule SSCR-1), so no peer can put words in a source's mouth.
    ``b""`` is an unsigned entry: fine for the pure CRDT, refused by a node."""

    sequence: int
    stats: EvidenceStats
    signature: bytes = b""

    def __post_init__(self) -> None:
        ensure(
            type(self.sequence) is int and self.sequence >= 1,
            f"sequence must be an integer >= 1, got {self.sequence!r}",
            LocalProtocolError,
        )
        ensure(
            isinstance(self.stats, EvidenceStats),
            "stats must be EvidenceStats",
            LocalProtocolError,
        )
        ensure(isinstance(self.signature, bytes), "signature must be bytes", LocalProtocolError)


def entry_key(entry: SourceEntry) -> tuple[int, int, int]:
    """The total order of rule SSCR-CRDT-1: ``(sequence, count, llr_sum)``."""
    return (entry.sequence, entry.stats.count, entry.stats.llr_sum)


def _wins(mine: SourceEntry, theirs: SourceEntry) -> bool:
    """Rule SSCR-CRDT-1 on whole entries: the larger :func:`entry_key`, and
    between two signatures of the same statistics (Ed25519 signers may
    randomise) the larger signature bytes, so merge stays a join."""
    return (entry_key(mine), mine.signature) >= (entry_key(theirs), theirs.signature)


def _check_name(name: object, what: str) -> None:
    ensure(
        isinstance(name, str) and name != "",
        f"{what} must be a non-empty str",
        LocalProtocolError,
    )


#: One agent's row: ``(source, entry)`` sorted by source, one per source (at
#: most the registered sources, so small).
Row = tuple[tuple[str, SourceEntry], ...]


def _merge_rows(left: Row, right: Row) -> Row:
    if left == right or not right:
        return left
    if not left:
        return right
    chosen = dict(left)
    for source, entry in right:
        old = chosen.get(source)
        if old is None or not _wins(old, entry):
            chosen[source] = entry
    return tuple(sorted(chosen.items()))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class EvidenceState:
    """A replica's evidence: per agent, per source, one entry.

    Representation (rule SSCR-CRDT-4 and the cost bound of ``_state.py``):
    a persistent hash-array-mapped trie (:class:`rpds.HashTrieMap`) from agent
    to its :data:`Row`.  Adding or replacing one agent's row shares every
    other node of the trie, so an update costs ``O(log agents + sources)``
    whatever the size of the table, and old states stay valid (the node is a
    pure function).  Equality and hashing are by content (independent of
    insertion order); :attr:`entries` gives the sorted view.  Build one with
    :meth:`of` from any iterable."""

    rows: HashTrieMap[str, Row] = field(default_factory=HashTrieMap)
    size: int = 0

    def __post_init__(self) -> None:
        ensure(isinstance(self.rows, HashTrieMap), "rows must be a HashTrieMap", LocalProtocolError)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EvidenceState):
            return NotImplemented
        return self.size == other.size and self.rows == other.rows

    def __hash__(self) -> int:
        return hash((EvidenceState, self.rows))

    def __repr__(self) -> str:
        return f"EvidenceState.of({dict(self.entries)!r})"

    @staticmethod
    def of(
        items: Mapping[EntryKey, SourceEntry] | Iterable[tuple[EntryKey, SourceEntry]],
    ) -> EvidenceState:
        """Build a state from ``{(agent, source): entry}`` (or pairs); a key
        given twice keeps the larger entry (rule SSCR-CRDT-2)."""
        pairs = items.items() if isinstance(items, Mapping) else items
        chosen: dict[str, dict[str, SourceEntry]] = {}
        for key, entry in pairs:
            ensure(
                isinstance(key, tuple) and len(key) == 2,
                "keys are (agent, source)",
                LocalProtocolError,
            )
            agent, source = key
            _check_name(agent, "agent")
            _check_name(source, "source")
            ensure(isinstance(entry, SourceEntry), "entries hold SourceEntry", LocalProtocolError)
            row = chosen.setdefault(agent, {})
            old = row.get(source)
            if old is None or not _wins(old, entry):
                row[source] = entry
        return EvidenceState(
            rows=HashTrieMap({agent: tuple(sorted(row.items())) for agent, row in chosen.items()}),
            size=sum(len(row) for row in chosen.values()),
        )

    @property
    def entries(self) -> tuple[tuple[EntryKey, SourceEntry], ...]:
        """Every ``((agent, source), entry)``, sorted by key.  ``O(n log n)``:
        for tests, vectors and reports, not for the node's hot paths."""
        return tuple(
            ((agent, source), entry)
            for agent in sorted(self.rows)
            for source, entry in self.rows[agent]
        )

    def items(self) -> Iterator[tuple[EntryKey, SourceEntry]]:
        """Every ``((agent, source), entry)`` in no particular order (``O(n)``)."""
        for agent, row in self.rows.items():
            for source, entry in row:
                yield (agent, source), entry

    def as_dict(self) -> dict[EntryKey, SourceEntry]:
        return dict(self.items())

    def get(self, agent: str, source: str) -> SourceEntry | None:
        for name, entry in self.rows.get(agent, ()):
            if name == source:
                return entry
        return None

    def has_agent(self, agent: str) -> bool:
        return agent in self.rows

    def agent_count(self) -> int:
        return len(self.rows)

    def agents(self) -> tuple[str, ...]:
        return tuple(sorted(self.rows))

    def sources(self, agent: str) -> Iterator[tuple[str, SourceEntry]]:
        yield from self.rows.get(agent, ())

    def agent_stats(self, agent: str, excluding: frozenset[str] = frozenset()) -> EvidenceStats:
        """The agent's evidence over every source not in ``excluding`` (the
        convicted ones): the exact sum of each source's latest cumulative
        statistics (one term per source)."""
        total = EvidenceStats()
        for source, entry in self.sources(agent):
            if source not in excluding:
                total = total + entry.stats
        return total

    def with_entry(self, agent: str, source: str, entry: SourceEntry) -> EvidenceState:
        """This state merged with the single entry ``(agent, source) -> entry``."""
        return merge(self, EvidenceState.of({(agent, source): entry}))

    def __len__(self) -> int:
        return self.size


def merge(left: EvidenceState, right: EvidenceState) -> EvidenceState:
    """The CRDT join (rules SSCR-CRDT-1 and -2).

    Contract (what ``proofs/`` proves and ``tests/sscr`` tests):

    * the result has exactly the keys of ``left`` and ``right`` together;
    * for a key on one side only, the result holds that side's entry;
    * for a key on both sides, the result holds the entry with the larger
      :func:`entry_key` (equal keys: the larger signature bytes);
    * hence ``merge(a, b) == merge(b, a)``, ``merge(a, merge(b, c)) ==
      merge(merge(a, b), c)`` and ``merge(a, a) == a``; and for every key the
      result's entry is one of the inputs' entries, never a combination, so
      statistics are never added across sequence numbers (NoDoubleCount).

    Cost: the smaller side's rows are merged into the larger one, so a delta
    of ``k`` entries costs ``O(k (log n + sources))``, not ``O(n)``.
    """
    if not left.rows:
        return right
    if not right.rows:
        return left
    big, small = (left, right) if len(left.rows) >= len(right.rows) else (right, left)
    rows, size = big.rows, big.size
    for agent, row in small.rows.items():
        held = rows.get(agent)
        if held is None:
            rows = rows.insert(agent, row)
            size += len(row)
            continue
        merged = _merge_rows(held, row)
        if merged is not held:
            rows = rows.insert(agent, merged)
            size += len(merged) - len(held)
    return EvidenceState(rows=rows, size=size)


@dataclass(frozen=True, slots=True, kw_only=True)
class Equivocation:
    """Two different entries one source published under one sequence number."""

    agent: str
    source: str
    sequence: int
    kept: EvidenceStats
    dropped: EvidenceStats


def equivocations(left: EvidenceState, right: EvidenceState) -> tuple[Equivocation, ...]:
    """Every key where ``left`` and ``right`` hold different entries with the
    same sequence number (rule SSCR-CRDT-3), with the one merge keeps."""
    found = []
    for key, other in right.items():
        mine = left.get(*key)
        if mine is not None and other.sequence == mine.sequence and other.stats != mine.stats:
            kept, dropped = (mine, other) if entry_key(mine) > entry_key(other) else (other, mine)
            found.append(
                Equivocation(
                    agent=key[0],
                    source=key[1],
                    sequence=mine.sequence,
                    kept=kept.stats,
                    dropped=dropped.stats,
                )
            )
    return tuple(sorted(found, key=lambda e: (e.agent, e.source)))


#: ``{(agent, source): entry_key}``: what a replica already has.
Digest = Mapping[EntryKey, tuple[int, int, int]]


def digest(state: EvidenceState) -> dict[EntryKey, tuple[int, int, int]]:
    """The :func:`entry_key` held per key (rule SSCR-CRDT-5): three integers
    per key, much smaller than the statistics' history it stands for."""
    return {key: entry_key(entry) for key, entry in state.items()}


def delta(state: EvidenceState, peer_digest: Digest) -> EvidenceState:
    """The entries of ``state`` that a peer with ``peer_digest`` lacks: those
    whose key it does not hold or holds with a smaller :func:`entry_key`.

    Comparing whole entry keys, not just sequence numbers, matters for
    equivocation: if the peer holds the losing copy of an equivocated
    sequence number it is sent the winning one, so replicas converge.
    """
    return EvidenceState.of(
        (key, entry)
        for key, entry in state.items()
        if peer_digest.get(key, (0, 0, 0)) < entry_key(entry)
    )


# -- extension and conviction (rules SSCR-CRDT-6 and -7) --------------------------


def extends(older: SourceEntry, newer: SourceEntry, lambda_max: int) -> bool:
    """Rule SSCR-CRDT-6: could ``newer`` be a later report of the honest source
    that sent ``older``?  A higher sequence number, no fewer terms, and a sum
    that moved by at most ``lambda_max`` per new term."""
    grown = newer.stats.count - older.stats.count
    return (
        newer.sequence > older.sequence
        and grown >= 0
        and abs(newer.stats.llr_sum - older.stats.llr_sum) <= lambda_max * grown
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Conviction:
    """Evidence that ``source`` is Byzantine (rule SSCR-CRDT-7): two entries it
    published on ``agent``, ``lower`` before ``higher`` under :func:`entry_key`,
    where ``higher`` does not extend ``lower``.  Same sequence numbers: an
    equivocation; different ones: a history rewrite."""

    agent: str
    source: str
    lower: SourceEntry
    higher: SourceEntry

    def __post_init__(self) -> None:
        _check_name(self.agent, "agent")
        _check_name(self.source, "source")
        ensure(
            isinstance(self.lower, SourceEntry) and isinstance(self.higher, SourceEntry),
            "a conviction holds two SourceEntry",
            LocalProtocolError,
        )
        ensure(
            entry_key(self.lower) < entry_key(self.higher),
            "a conviction's lower entry must come before its higher one",
            LocalProtocolError,
        )

    @property
    def kind(self) -> str:
        """``"equivocation"`` or ``"history_rewrite"``."""
        return "equivocation" if self.lower.sequence == self.higher.sequence else "history_rewrite"

    def holds(self, lambda_max: int) -> bool:
        """The pair really is evidence: ``higher`` does not extend ``lower``."""
        return not extends(self.lower, self.higher, lambda_max)


#: ``(agent, entry_key(lower), entry_key(higher))``.
ConvictionKey = tuple[str, tuple[int, int, int], tuple[int, int, int]]


def conviction_key(conviction: Conviction) -> ConvictionKey:
    """The total order that picks one conviction per source (rule SSCR-CRDT-7)."""
    return (conviction.agent, entry_key(conviction.lower), entry_key(conviction.higher))


def _evidence_order(conviction: Conviction) -> tuple[ConvictionKey, bytes, bytes]:
    """:func:`conviction_key`, ties broken by the signatures (a join needs a
    total order on whole convictions)."""
    return (conviction_key(conviction), conviction.lower.signature, conviction.higher.signature)


def conflicts(left: EvidenceState, right: EvidenceState, lambda_max: int) -> tuple[Conviction, ...]:
    """Every key where ``left`` and ``right`` hold different entries and the
    larger does not extend the smaller (rule SSCR-CRDT-7), as convictions.
    Symmetric: ``conflicts(a, b)`` and ``conflicts(b, a)`` hold the same pairs."""
    found = []
    for (agent, source), other in right.items():
        mine = left.get(agent, source)
        if mine is None or entry_key(other) == entry_key(mine):
            continue
        lower, higher = (mine, other) if entry_key(mine) < entry_key(other) else (other, mine)
        if not extends(lower, higher, lambda_max):
            found.append(Conviction(agent=agent, source=source, lower=lower, higher=higher))
    return tuple(sorted(found, key=lambda c: (c.agent, c.source)))


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvictionSet:
    """The convicted sources, each with one piece of evidence: ``convictions``
    sorted by source, one per source.  Build one with :meth:`of`."""

    convictions: tuple[tuple[str, Conviction], ...] = ()

    def __post_init__(self) -> None:
        sources = [source for source, _ in self.convictions]
        ensure(
            sources == sorted(set(sources)),
            "convictions must be sorted by source without repeats",
            LocalProtocolError,
        )
        for source, conviction in self.convictions:
            ensure(
                isinstance(conviction, Conviction) and conviction.source == source,
                "each conviction is filed under its own source",
                LocalProtocolError,
            )

    @staticmethod
    def of(convictions: Iterable[Conviction]) -> ConvictionSet:
        """One conviction per source, the smallest under :func:`conviction_key`."""
        chosen: dict[str, Conviction] = {}
        for conviction in convictions:
            old = chosen.get(conviction.source)
            if old is None or _evidence_order(conviction) < _evidence_order(old):
                chosen[conviction.source] = conviction
        return ConvictionSet(convictions=tuple(sorted(chosen.items(), key=lambda kv: kv[0])))

    def sources(self) -> frozenset[str]:
        return frozenset(source for source, _ in self.convictions)

    def get(self, source: str) -> Conviction | None:
        return dict(self.convictions).get(source)

    def digest(self) -> dict[str, ConvictionKey]:
        """The :func:`conviction_key` held per source (like rule SSCR-CRDT-5)."""
        return {source: conviction_key(c) for source, c in self.convictions}

    def newer_than(self, peer_digest: Mapping[str, ConvictionKey]) -> ConvictionSet:
        """The convictions a peer with ``peer_digest`` lacks: sources it has
        not convicted, or convicted on evidence that the join would replace
        with ours (so replicas converge on the same evidence, not just the
        same sources)."""
        return ConvictionSet(
            convictions=tuple(
                (s, c)
                for s, c in self.convictions
                if s not in peer_digest or conviction_key(c) < peer_digest[s]
            )
        )

    def __len__(self) -> int:
        return len(self.convictions)


def merge_convictions(left: ConvictionSet, right: ConvictionSet) -> ConvictionSet:
    """The join of rule SSCR-CRDT-7: every source convicted on either side,
    with the smaller piece of evidence.  Commutative, associative, idempotent;
    a source once convicted stays convicted (grow-only)."""
    if not right.convictions:
        return left
    if not left.convictions:
        return right
    return ConvictionSet.of(c for _, c in (*left.convictions, *right.convictions))
