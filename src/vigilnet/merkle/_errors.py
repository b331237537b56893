"""Errors raised when a Merkle proof or commitment fails to verify.

All of them are :class:`vigilnet.errors.RemoteProtocolError`: a proof is input
from someone else (a log, an aggregator, a vector file), and a proof that does
not verify is that party's fault.  The message names the reason ("proof too
long", "root mismatch", ...), so a test can tell the failures apart.
"""

from __future__ import annotations

from vigilnet.errors import RemoteProtocolError

__all__ = [
    "ConsistencyProofError",
    "InclusionProofError",
    "MerkleProofError",
    "SumProofError",
]


class MerkleProofError(RemoteProtocolError):
    """Root of the Merkle verification failures."""


class InclusionProofError(MerkleProofError):
    """An RFC 9162 inclusion proof (section 2.1.3.2) did not verify."""


class ConsistencyProofError(MerkleProofError):
    """An RFC 9162 consistency proof (section 2.1.4.2) did not verify."""


class SumProofError(MerkleProofError):
    """A Merkle-sum tree inclusion proof did not verify."""
