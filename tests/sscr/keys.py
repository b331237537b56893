"""Deterministic source keys for the SSCR tests, and signing helpers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from vigilnet.crypto import SigningKey
from vigilnet.evidence import EvidenceStats
from vigilnet.protocols.sscr import EvidenceState, SourceEntry, SscrConfig, sign_entry

__all__ = ["key_of", "resign", "sign_state", "signed", "source_keys"]


def key_of(source: str) -> SigningKey:
    """The test key of ``source`` (a seed derived from its name)."""
    return SigningKey(hashlib.sha256(b"vigilnet-test/sscr/source\x00" + source.encode()).digest())


def source_keys(sources: Iterable[tuple[str, str]]) -> tuple[tuple[str, bytes], ...]:
    """``SscrConfig.source_keys`` for ``sources`` (``(name, home)`` pairs)."""
    return tuple((name, bytes(key_of(name).verify_key)) for name, _ in sources)


def signed(
    config: SscrConfig, agent: str, source: str, sequence: int, count: int, llr_sum: int
) -> SourceEntry:
    """The entry ``source`` signs (with its test key) for ``agent``."""
    return sign_entry(
        key_of(source),
        config.config_hash,
        agent=agent,
        source=source,
        sequence=sequence,
        stats=EvidenceStats(count=count, llr_sum=llr_sum),
    )


def resign(config: SscrConfig, agent: str, source: str, entry: SourceEntry) -> SourceEntry:
    """``entry`` as ``source`` would sign it for ``agent``."""
    return signed(config, agent, source, entry.sequence, entry.stats.count, entry.stats.llr_sum)


def sign_state(config: SscrConfig, state: EvidenceState) -> EvidenceState:
    """Every entry of ``state`` signed by its own source."""
    return EvidenceState.of(
        ((agent, source), resign(config, agent, source, entry))
        for (agent, source), entry in state.items()
    )
