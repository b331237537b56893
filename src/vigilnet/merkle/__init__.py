"""Merkle commitments: the RFC 9162 log (:mod:`vigilnet.merkle._log`) for
plain event logs and the audit trail, and the Merkle-sum tree
(:mod:`vigilnet.merkle._sumtree`) that SHAP aggregators commit to.

See ``docs/merkle.md``.
"""

from __future__ import annotations

from vigilnet.merkle._errors import (
    ConsistencyProofError,
    InclusionProofError,
    MerkleProofError,
    SumProofError,
)
from vigilnet.merkle._log import (
    EMPTY_ROOT,
    HASH_SIZE,
    LEAF_PREFIX,
    MAX_TREE_SIZE,
    NODE_PREFIX,
    ConsistencyProof,
    InclusionProof,
    MerkleLog,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_PREFIX",
    "MAX_TREE_SIZE",
    "NODE_PREFIX",
    "ConsistencyProof",
    "ConsistencyProofError",
    "InclusionProof",
    "InclusionProofError",
    "MerkleLog",
    "MerkleProofError",
    "SumProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]
