"""The Merkle-sum node rule, stated abstractly (DESIGN.md section 4.2, step 3).

Theory of operation
-------------------

A Merkle-sum node commits to both children's hashes *and* both children's
sums, ``H(tag || h_left || sum_left || h_right || sum_right)``, and its sum is
``sum_left + sum_right``.  Counts are range-checked non-negative.  Hashes are
abstract and collision-free: two checks against one node hash see the same
preimage, component by component (the hash itself never appears).

Obligations:

1. **Path step**: a verifier walking an inclusion proof from its leaf to the
   root holds ``current >= 0``, checks ``sibling >= 0`` and computes
   ``parent = current + sibling``; then ``parent >= 0`` and
   ``parent >= current``.  By induction on the path (the rule applied outside
   Z3), every sum on a verified path is non-negative and the root total is at
   least the leaf's count.  The same is checked unrolled for every path of
   depth ``1..PATH_DEPTH``.
2. **Tree step**: if each child's sum equals the sum of its leaves, so does
   the parent's; unrolled, the root of a complete tree of depth
   ``TREE_DEPTH`` equals the sum of its ``2**TREE_DEPTH`` leaves (Integrity
   with honest aggregators).
3. **Binding**: the two children of one node, each checking its own inclusion
   proof against the same node hash, see the same pair of sums; so the total
   both accept is the sum of the two real child sums.

Mutants: no range check on the sibling (a negative sibling hides a leaf;
the countermodel is replayed against :func:`vigilnet.merkle.verify_sum_inclusion`,
which must refuse it by its range check),
and a node that commits to the total only (ePrint 2018/1139: the prover shows
each child a different sibling sum, and the total drops below the sum of the
honest children).
"""

from __future__ import annotations

import dataclasses

import z3

from vigilnet.errors import InvariantViolation, ensure
from vigilnet.merkle import (
    COUNT_MAX,
    SumLayout,
    SumLeaf,
    SumProofError,
    SumTree,
    verify_sum_inclusion,
)

from ._obligation import Check, Kind, implication, int_of, register

__all__ = ["PATH_DEPTH", "TREE_DEPTH"]

PREFIX = "merkle_sum"

#: Inclusion paths of every depth up to this are checked unrolled.
PATH_DEPTH = 32
#: A complete tree of this depth is checked unrolled.
TREE_DEPTH = 5


# --- 1. counts never negative along a verified path ---------------------------


def _path_step(range_check: bool) -> tuple[list[z3.BoolRef], z3.BoolRef]:
    current, sibling, parent = z3.Ints("current sibling parent")
    hypotheses = [current >= 0, parent == current + sibling]
    if range_check:
        hypotheses.append(sibling >= 0)
    return hypotheses, z3.And(parent >= 0, parent >= current)


implication(
    f"{PREFIX}.path.step",
    "One verified step of an inclusion proof: current >= 0, range-checked sibling >= 0 and "
    "parent = current + sibling give parent >= 0 and parent >= current.",
    lambda: _path_step(True)[0],
    lambda: _path_step(True)[1],
    witness=lambda: [z3.Int("sibling") >= 1],
)


def _path(depth: int) -> tuple[list[z3.BoolRef], z3.BoolRef]:
    sums = [z3.Int(f"d{depth}.node{i}") for i in range(depth + 1)]  # node0 is the leaf
    siblings = [z3.Int(f"d{depth}.sibling{i}") for i in range(depth)]
    hypotheses = [sums[0] >= 0]
    for i in range(depth):
        hypotheses += [siblings[i] >= 0, sums[i + 1] == sums[i] + siblings[i]]
    conclusion = z3.And(*(s >= 0 for s in sums), sums[depth] >= sums[0])
    return hypotheses, conclusion


register(
    Check(
        name=f"{PREFIX}.path.unrolled",
        kind=Kind.OBLIGATION,
        statement=f"Every verified inclusion path of depth 1..{PATH_DEPTH}: every sum on it is "
        "non-negative and the root total is at least the leaf's count.",
        formula=lambda: z3.And(
            *(z3.Implies(z3.And(*_path(d)[0]), _path(d)[1]) for d in range(1, PATH_DEPTH + 1))
        ),
    )
)


def _replay_negative_sibling(model: z3.ModelRef) -> None:
    """The countermodel's step, played against the real verifier: a two-leaf
    count tree whose proof shows the countermodel's negative sibling sum must
    be refused by the sibling range check."""
    current, sibling = int_of(model, "current"), int_of(model, "sibling")
    ensure(
        0 <= current <= COUNT_MAX and sibling < 0, "not a negative-sibling step", InvariantViolation
    )
    layout = SumLayout.counts(1)
    leaves = [SumLeaf(payload=b"leaf", sums=(current,)), SumLeaf(payload=b"sibling", sums=(0,))]
    tree = SumTree(layout=layout, leaves=leaves)
    proof = tree.inclusion_proof(0)
    forged = dataclasses.replace(
        proof, siblings=(dataclasses.replace(proof.siblings[0], sums=(sibling,)),)
    )
    try:
        verify_sum_inclusion(layout=layout, leaf=tree.leaf(0), proof=forged, root=tree.root)
    except SumProofError as refused:
        ensure("sibling 0 sums out of range" in str(refused), str(refused), InvariantViolation)
        return
    raise InvariantViolation(f"verify_sum_inclusion accepted sibling sum {sibling}")


register(
    Check(
        name=f"{PREFIX}.path.mutant.no_range_check",
        kind=Kind.MUTANT,
        statement="Mutant: without the sibling range check, a verified path still has "
        "parent >= current (a negative sibling hides the leaf's count).",
        formula=lambda: z3.Implies(z3.And(*_path_step(False)[0]), _path_step(False)[1]),
        replay=_replay_negative_sibling,
    )
)


# --- 2. the root total is the sum of the leaves -------------------------------


def _tree_step() -> tuple[list[z3.BoolRef], z3.BoolRef]:
    left, right, parent, leaves_left, leaves_right = z3.Ints(
        "sum_left sum_right sum_parent leaves_left leaves_right"
    )
    return (
        [left == leaves_left, right == leaves_right, parent == left + right],
        parent == leaves_left + leaves_right,
    )


implication(
    f"{PREFIX}.tree.step",
    "The node rule composes: if each child's sum is the sum of its leaves, the parent's sum is "
    "the sum of all its leaves.",
    lambda: _tree_step()[0],
    lambda: _tree_step()[1],
)


def _complete_tree() -> tuple[list[z3.BoolRef], z3.BoolRef]:
    leaves = [z3.Int(f"leaf{i}") for i in range(1 << TREE_DEPTH)]
    level: list[z3.ArithRef] = list(leaves)
    rules: list[z3.BoolRef] = [leaf >= 0 for leaf in leaves]
    for depth in range(TREE_DEPTH, 0, -1):
        parents = [z3.Int(f"level{depth - 1}.node{i}") for i in range(len(level) // 2)]
        rules += [p == level[2 * i] + level[2 * i + 1] for i, p in enumerate(parents)]
        level = list(parents)
    return rules, level[0] == z3.Sum(*leaves)


implication(
    f"{PREFIX}.tree.unrolled",
    f"A complete tree of depth {TREE_DEPTH} built by the node rule has root total equal to the "
    f"sum of its {1 << TREE_DEPTH} leaves.",
    lambda: _complete_tree()[0],
    lambda: _complete_tree()[1],
    witness=lambda: [z3.Int(f"leaf{i}") >= 1 for i in range(1 << TREE_DEPTH)],
)


# --- 3. binding: both children see the same sums ------------------------------


def _same_preimage(
    left: tuple[z3.ArithRef, ...], right: tuple[z3.ArithRef, ...]
) -> list[z3.BoolRef]:
    """Two inclusion checks against one node hash: with a collision-free hash,
    equal hashes mean equal preimages, component by component."""
    return [x == y for x, y in zip(left, right, strict=True)]


def _views(commit_both_sums: bool) -> tuple[list[z3.BoolRef], z3.BoolRef]:
    """The left child (hash hl, real sum a) and the right child (hr, b) each verify
    against the same node hash; the prover chooses the sibling sums it shows."""
    hl, hr, a, b = z3.Ints("h_left h_right a b")
    shown_right, shown_left = z3.Ints("sibling_sum_shown_to_left sibling_sum_shown_to_right")
    total = z3.Int("accepted_total")
    if commit_both_sums:
        # H(tag || h_left || sum_left || h_right || sum_right)
        checks = _same_preimage((hl, a, hr, shown_right), (hl, shown_left, hr, b))
    else:
        # H(tag || h_left || h_right || total)
        checks = _same_preimage((hl, hr, a + shown_right), (hl, hr, shown_left + b))
    hypotheses = [
        a >= 0,
        b >= 0,
        shown_right >= 0,
        shown_left >= 0,
        *checks,
        total == a + shown_right,
    ]
    return hypotheses, total == a + b


implication(
    f"{PREFIX}.node.binding",
    "Two children of one node that verify against the same node hash see each other's real "
    "sums, so the total both accept is the sum of their real sums (collision-free hash).",
    lambda: _views(True)[0],
    lambda: _views(True)[1],
)

register(
    Check(
        name=f"{PREFIX}.node.mutant.commit_total_only",
        kind=Kind.MUTANT,
        statement="Mutant (ePrint 2018/1139): a node that commits to its total only lets the "
        "prover show each child a different sibling sum; the accepted total differs from the "
        "sum of the children.",
        formula=lambda: z3.Implies(z3.And(*_views(False)[0]), _views(False)[1]),
    )
)

register(
    Check(
        name=f"{PREFIX}.path.unrolled.nonvacuous",
        kind=Kind.NON_VACUITY,
        statement=f"A verified path of depth {PATH_DEPTH} with a positive leaf and positive "
        "siblings exists.",
        formula=lambda: z3.And(
            *_path(PATH_DEPTH)[0],
            z3.Int(f"d{PATH_DEPTH}.node0") >= 1,
            *(z3.Int(f"d{PATH_DEPTH}.sibling{i}") >= 1 for i in range(PATH_DEPTH)),
        ),
    )
)
