"""64-bit state fingerprints and TLC's collision-probability estimates.

The seen-set of the generic engine holds fingerprints, not states.  A state's
fingerprint is Python's structural hash of the state taken as a 64-bit word
(SipHash-1-3 for ``str`` and ``bytes``, the xxHash-derived combiner for
tuples and frozen dataclasses, value identity for small ints).  Where the
bits must look random (sharding by ``% workers``, the gap-based collision
estimate) the SplitMix64 finaliser :func:`mix64` is applied first; it is a
bijection on 64-bit words, so it does not change which states collide.
String hashes are salted per interpreter (``PYTHONHASHSEED``) and, before
Python 3.12, ``hash(None)`` is the object's address (different in every
process under address-space randomisation): fingerprints are compared only
within one run, and worker processes are forked, so they share both.

Workers that are separately started interpreters (Ray actors) share
neither, so they use :func:`stable_fingerprint`: a 64-bit hash computed from
the state's value alone (BLAKE2b for strings and bytes, SplitMix64 combining
for the structure), the same in every process, salt and Python version.  It
respects equality as ``hash()`` does (equal states, equal fingerprints;
``1``, ``True``, ``1.0`` and ``Fraction(1)`` alike), so the distinct counts
are those of ``hash()`` barring a 64-bit collision.  It is 16 to 26 times
slower than ``hash()`` (5.0 against 0.32 us per TwoPhase RM = 7 state, 12.2
against 0.47 us per SDBC n4f1 state: ``bench/checker/ray_generic.py``), so
the local engines keep ``hash()``.

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

import dataclasses
import enum
import hashlib
import math
from collections.abc import Hashable, Iterable
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from vigilnet.errors import ModelError

__all__ = [
    "MASK64",
    "collision_observed",
    "collision_optimistic",
    "fingerprint",
    "mix64",
    "stable_fingerprint",
]

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


def _blake(tag: bytes, data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, person=tag).digest(), "little")


_PRIME = 0x100000001B3
_INT = 0x9E3779B97F4A7C15
_TUPLE = _blake(b"tuple", b"")
_SET = _blake(b"frozenset", b"")
_NONE = _blake(b"none", b"")
_FRACTION = _blake(b"fraction", b"")
#: Fingerprints of strings, tuples and frozensets met before, by value (a
#: state's parts recur in many states); cleared when it grows past the bound.
_MEMO: dict[object, int] = {}
_MEMO_LIMIT = 1 << 18
#: Per dataclass: the tag of its qualified name and the compared fields.
_CLASSES: dict[type, tuple[int, tuple[str, ...]]] = {}
#: Types seen that are not dataclasses (``is_dataclass`` is slow to ask).
_NOT_CLASSES: set[type] = set()


def _int(value: int) -> int:
    if -(1 << 63) <= value < 1 << 63:
        return mix64(value ^ _INT)
    return _blake(b"int", str(value).encode())


def _class(kind: type) -> tuple[int, tuple[str, ...]]:
    names = tuple(f.name for f in dataclasses.fields(kind) if f.compare)
    entry = (_blake(b"class", f"{kind.__module__}.{kind.__qualname__}".encode()), names)
    _CLASSES[kind] = entry
    return entry


def _number(value: object) -> int | None:
    """Numbers that compare equal get one fingerprint, as with ``hash()``."""
    if isinstance(value, int):
        return _int(int(value))
    if isinstance(value, Fraction | float):
        if isinstance(value, float) and not math.isfinite(value):
            return _blake(b"float", repr(value).encode())
        exact = Fraction(value)
        if exact.denominator == 1:
            return _int(exact.numerator)
        return mix64(
            mix64(_FRACTION * _PRIME + _int(exact.numerator)) * _PRIME + _int(exact.denominator)
        )
    return None


def stable_fingerprint(state: object) -> int:
    """A 64-bit fingerprint of ``state`` that every process computes alike.

    Supported values: ``None``, ``bool``, ``int``, ``float``, ``Fraction``,
    ``str``, ``bytes``, enumeration members, tuples (named tuples too),
    frozensets and dataclass instances (over their compared fields) of
    these.  Anything else raises :class:`ModelError`."""
    kind = type(state)
    if kind is int or kind is bool:
        return _int(state)  # type: ignore[arg-type]
    entry = _CLASSES.get(kind)
    if entry is None and kind not in _NOT_CLASSES:
        if dataclasses.is_dataclass(state) and not isinstance(state, type):
            entry = _class(kind)
        else:
            _NOT_CLASSES.add(kind)
    if entry is not None:
        h, names = entry
        for name in names:
            # mix64 inlined: this loop is the hot path
            z = (h * _PRIME + stable_fingerprint(getattr(state, name))) & MASK64
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
            h = z ^ (z >> 31)
        return h
    try:
        return _MEMO[state]
    except KeyError:
        pass
    except TypeError:
        raise ModelError(f"a state holds an unhashable {kind.__name__}") from None
    h = _compute(state)
    if len(_MEMO) >= _MEMO_LIMIT:
        _MEMO.clear()
    _MEMO[state] = h
    return h


def _compute(state: object) -> int:
    if isinstance(state, str):
        return _blake(b"str", state.encode("utf-8", "surrogatepass"))
    if isinstance(state, tuple):
        h = _TUPLE
        for item in state:
            h = mix64(h * _PRIME + stable_fingerprint(item))
        return h
    if isinstance(state, frozenset):
        total = 0
        for item in state:
            total += mix64(stable_fingerprint(item) ^ _SET)
        return mix64((total ^ len(state)) & MASK64)
    if state is None:
        return _NONE
    if isinstance(state, bytes):
        return _blake(b"bytes", state)
    number = _number(state)
    if number is not None:
        return number
    if isinstance(state, enum.Enum):
        kind = type(state)
        return mix64(
            _blake(b"enum", f"{kind.__module__}.{kind.__qualname__}".encode()) * _PRIME
            + stable_fingerprint(state.name)
        )
    raise ModelError(
        f"a state holds a {type(state).__name__}, which has no stable fingerprint "
        "(--backend ray takes None, bool, int, float, Fraction, str, bytes, enum members, "
        "tuples, frozensets and dataclasses of these)"
    )


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
