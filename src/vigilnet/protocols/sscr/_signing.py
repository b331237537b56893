"""SSCR entry signatures: what a source signs and how a node checks it.

A source (a local monitor) signs each cumulative report it publishes::

    sign_bytes = "vigilnet/sscr/entry/v1" || 0x00 || canonical_cbor({
        "config_hash": 32 bytes,   # SscrConfig.config_hash of the deployment
        "agent": text, "source": text,
        "sequence": uint >= 1, "count": uint, "llr_sum": int,
    })

with Ed25519 (:mod:`vigilnet.crypto`, the pinned validation rule).  The
fields name the agent, the source and the configuration, so a signature on
one agent's entry, another source's entry or another deployment's entry can
never be replayed as this one.  A :class:`~._crdt.Conviction` is two such
entries of one source that conflict (rule SSCR-CRDT-7); every receiver checks
both signatures and the conflict, so a conviction is evidence only the
source itself can have produced.
"""

from __future__ import annotations

from vigilnet.crypto import SigningKey, verify_signature
from vigilnet.encoding import register_tag, sign_bytes
from vigilnet.evidence import EvidenceStats
from vigilnet.protocols.sscr._crdt import SourceEntry

__all__ = ["ENTRY_TAG", "entry_sign_bytes", "entry_verifies", "sign_entry"]

ENTRY_TAG = register_tag(
    "sscr", "entry", 1, {"config_hash", "agent", "source", "sequence", "count", "llr_sum"}
)


def entry_sign_bytes(
    config_hash: bytes, agent: str, source: str, sequence: int, stats: EvidenceStats
) -> bytes:
    """The bytes a source signs for its ``sequence``-th entry on ``agent``."""
    return sign_bytes(
        ENTRY_TAG,
        {
            "config_hash": config_hash,
            "agent": agent,
            "source": source,
            "sequence": sequence,
            "count": stats.count,
            "llr_sum": stats.llr_sum,
        },
    )


def sign_entry(
    key: SigningKey,
    config_hash: bytes,
    *,
    agent: str,
    source: str,
    sequence: int,
    stats: EvidenceStats,
) -> SourceEntry:
    """The signed entry a source publishes (what an honest monitor runs)."""
    message = entry_sign_bytes(config_hash, agent, source, sequence, stats)
    return SourceEntry(sequence=sequence, stats=stats, signature=key.sign(message))


def entry_verifies(
    public_key: bytes, config_hash: bytes, agent: str, source: str, entry: SourceEntry
) -> bool:
    """Whether ``entry`` carries ``source``'s valid signature for ``agent``."""
    return verify_signature(
        public_key,
        entry_sign_bytes(config_hash, agent, source, entry.sequence, entry.stats),
        entry.signature,
    )
