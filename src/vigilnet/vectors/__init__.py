"""Wycheproof-style test vectors: generate, verify, lint.

See :mod:`vigilnet.vectors._runner` for the directory layout and
``docs/vectors/`` for the provenance of each family.
"""

from vigilnet.vectors._envelope import (
    Case,
    Family,
    Group,
    Note,
    dump_json,
    envelope,
    envelope_schema,
)
from vigilnet.vectors._runner import FAMILIES, Finding, expected_tree, generate, lint, verify

__all__ = [
    "FAMILIES",
    "Case",
    "Family",
    "Finding",
    "Group",
    "Note",
    "dump_json",
    "envelope",
    "envelope_schema",
    "expected_tree",
    "generate",
    "lint",
    "verify",
]
