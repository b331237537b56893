"""Hypothesis strategies for SSCR states (shared by the SSCR tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from vigilnet.evidence import EvidenceStats
from vigilnet.protocols.sscr import EvidenceState, SourceEntry

__all__ = ["AGENTS", "SOURCES", "entries", "states"]

AGENTS = ("agent-0", "agent-1", "agent-2")
SOURCES = ("m0", "m1", "m2", "m3")


@st.composite
def entries(draw: st.DrawFn) -> SourceEntry:
    # small ranges on purpose: equal sequence numbers (equivocations) and
    # equal entries on both sides must be common
    sequence = draw(st.integers(1, 4))
    count = draw(st.integers(0, 4))
    llr_sum = draw(st.integers(-4 * count, 4 * count))
    return SourceEntry(sequence=sequence, stats=EvidenceStats(count=count, llr_sum=llr_sum))


def states() -> st.SearchStrategy[EvidenceState]:
    keys = st.tuples(st.sampled_from(AGENTS), st.sampled_from(SOURCES))
    return st.lists(st.tuples(keys, entries()), max_size=8).map(EvidenceState.of)
