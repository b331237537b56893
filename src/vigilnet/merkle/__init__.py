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
from vigilnet.merkle._sumtree import (
    COUNT_MAX,
    SIGNED_MAX,
    SIGNED_MIN,
    SUM_LEAF_TAG,
    SUM_NODE_TAG,
    SUM_ROOT_TAG,
    SumInclusionProof,
    SumKind,
    SumLayout,
    SumLeaf,
    SumNode,
    SumRoot,
    SumTree,
    sum_leaf_hash,
    sum_node_hash,
    sum_root_hash,
    verify_sum_inclusion,
)

__all__ = [
    "COUNT_MAX",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_PREFIX",
    "MAX_TREE_SIZE",
    "NODE_PREFIX",
    "SIGNED_MAX",
    "SIGNED_MIN",
    "SUM_LEAF_TAG",
    "SUM_NODE_TAG",
    "SUM_ROOT_TAG",
    "ConsistencyProof",
    "ConsistencyProofError",
    "InclusionProof",
    "InclusionProofError",
    "MerkleLog",
    "MerkleProofError",
    "SumInclusionProof",
    "SumKind",
    "SumLayout",
    "SumLeaf",
    "SumNode",
    "SumProofError",
    "SumRoot",
    "SumTree",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "sum_leaf_hash",
    "sum_node_hash",
    "sum_root_hash",
    "verify_consistency",
    "verify_inclusion",
    "verify_sum_inclusion",
]
