"""64-bit state fingerprints and TLC's collision-probability estimates.

The seen-set of the generic engine holds fingerprints, not states.  A state's
fingerprint is Python's structural hash of the state taken as a 64-bit word
(SipHash-1-3 for ``str`` and ``bytes``, the xxHash-derived combiner for
tuples and frozen dataclasses, value identity for small ints).  Where the
bits must look random (sharding by ``% workers``, the gap-based collision
estimate) the SplitMix64 finaliser :func:`mix64` is applied first; it is a
bijection on 64-bit words, so it does not change which states collide.
String hashes are salted per interpreter (``PYTHONHASHSEED``): fingerprints
are compared only within one run, and worker processes are forked, so they
share the salt.

Two distinct states with the same fingerprint make the checker believe the
second was already seen, so part of the state space may go unexplored.  As TLC
does, the checker reports two estimates of the probability that this
happened:

* *optimistic*: ``distinct * (generated - distinct) / 2**64``, every
  already-seen lookup being a chance to hit a wrong fingerprint;
* *observed*: ``1 / min_gap``, the smallest distance between two sorted
  fingerprints (fingerprints that bunch up make a collision more likely).

The vectorised engine packs each state into a 64-bit word exactly, so its
collision probability is 0.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import numpy as np
import numpy.typing as npt

__all__ = ["MASK64", "collision_observed", "collision_optimistic", "fingerprint", "mix64"]

MASK64 = (1 << 64) - 1


def mix64(value: int) -> int:
    """SplitMix64's finaliser: a bijective avalanche on 64-bit words."""
    z = value & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def fingerprint(state: Hashable) -> int:
    """The 64-bit fingerprint of a (hashable, value-compared) state."""
    return hash(state) & MASK64


def mix64_array(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """:func:`mix64` on a whole array."""
    z = keys.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def collision_optimistic(distinct: int, generated: int) -> float:
    """TLC's "calculated (optimistic)" fingerprint collision probability."""
    return distinct * max(generated - distinct, 0) / 2.0**64


def collision_observed(fingerprints: Iterable[int]) -> float:
    """TLC's estimate "based on the actual fingerprints": ``1 / min gap``."""
    array = mix64_array(np.fromiter(fingerprints, dtype=np.uint64))
    if array.size < 2:
        return 0.0
    array.sort()
    gaps = np.diff(array)
    smallest = int(gaps.min())
    return 1.0 if smallest == 0 else 1.0 / smallest
