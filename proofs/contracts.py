"""CrossHair contracts of the pure functions ``vigilnet prove --crosshair`` checks.

The contracts are ``pre:``/``post:`` lines in the functions' own docstrings
(CrossHair's PEP 316 syntax), so they stay beside the code they describe.
:data:`TARGETS` lists the functions; :func:`check_contracts` runs
``crosshair check`` on each in a subprocess with a per-condition timeout and a
cap on uninteresting iterations, several at a time, and reports one
:class:`ContractResult` per function.  CrossHair explores paths symbolically
and gives up at the budget: a pass means "no counterexample found within the
budget", not a proof (the Z3 obligations are the proofs).

CrossHair 0.0.113 builds symbolic :class:`~fractions.Fraction` arguments
unreliably (an internal error on some runs, a failure on ``Fraction | int``),
so ``quorum`` and ``from_fraction`` are checked through harnesses,
:func:`quorum_of_ratio` and :func:`from_ratio`, which take the numerator and
denominator as integers and state the same contracts as the functions'
docstrings.

Three more harnesses cover functions whose arguments CrossHair cannot build
well (frozen dataclasses with validated fields, C-backed CBOR):

* :func:`sscr_merge` builds two small :class:`EvidenceState` objects from
  integer tuples (source index, sequence, count, llr_sum) and states that the
  real ``merge`` is commutative, idempotent and absorbing on them;
* :func:`cbor_int_round_trip`: ``decode(encode(x)) == x`` for every integer
  of the encoding's range;
* :func:`cbor_scan_admits_only_canonical`: for any short byte string, if the
  strict scanner of ``vigilnet.encoding`` (``_scan``, which runs before
  anything is built) accepts it, then cbor2 reads it and the canonical
  re-encoding of the value is the input itself.  These are the two claims
  ``decode`` marks ``pragma: no cover`` (its last guards); the public
  ``decode`` would pass the same contract trivially, because the last guard
  re-encodes and compares.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from vigilnet.encoding import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_ITEMS,
    MalformedEncoding,
    decode,
    encode,
)
from vigilnet.evidence import EvidenceStats
from vigilnet.fixedpoint import LAMBDA_MAX_LIMIT, MAX_EVIDENCE_COUNT, SCALE, from_fraction
from vigilnet.protocols.sscr import EvidenceState, SourceEntry, merge
from vigilnet.thresholds import quorum

__all__ = [
    "CBOR_ALPHABET",
    "TARGETS",
    "ContractResult",
    "cbor_input",
    "cbor_int_round_trip",
    "cbor_scan_admits_only_canonical",
    "check_contracts",
    "evidence_state",
    "from_ratio",
    "quorum_of_ratio",
    "sscr_merge",
]

#: Fully qualified names of the functions whose contracts are checked.
TARGETS: tuple[str, ...] = (
    "vigilnet.proofs.contracts.quorum_of_ratio",
    "vigilnet.thresholds.intersection",
    "vigilnet.thresholds.blocking",
    "vigilnet.thresholds.max_safe_faults",
    "vigilnet.thresholds.max_live_faults",
    "vigilnet.aggregation.trimmed_combination",
    "vigilnet.aggregation.replica_median",
    "vigilnet.fixedpoint.clamp",
    "vigilnet.proofs.contracts.from_ratio",
    "vigilnet.proofs.contracts.sscr_merge",
    "vigilnet.proofs.contracts.cbor_int_round_trip",
    "vigilnet.proofs.contracts.cbor_scan_admits_only_canonical",
)


def quorum_of_ratio(numerator: int, denominator: int, n: int) -> int:
    """``quorum(Fraction(numerator, denominator), n)``.

    pre: 0 < denominator < 2 * numerator <= 2 * denominator
    pre: n >= 1
    post: __return__ * denominator >= numerator * n > (__return__ - 1) * denominator
    post: n < 2 * __return__ <= 2 * n
    """
    return quorum(Fraction(numerator, denominator), n)


def from_ratio(numerator: int, denominator: int, lambda_max: int) -> int:
    """``from_fraction(Fraction(numerator, denominator), lambda_max)``.

    pre: denominator > 0
    pre: 0 < lambda_max <= LAMBDA_MAX_LIMIT
    post: -lambda_max <= __return__ <= lambda_max
    post: abs(Fraction(numerator, denominator) * SCALE - __return__) <= Fraction(1, 2) or abs(__return__) == lambda_max
    """
    return from_fraction(Fraction(numerator, denominator), lambda_max)


#: ``(sequence, count, llr_sum)`` of one source's entry, each read through
#: :func:`_small`.
EntryTriple = tuple[int, int, int]


def _small(x: int) -> int:
    """0, 1 or 2, by branching on ``x`` (so the value is concrete on each path:
    the dataclasses' validation messages format their fields, which would
    otherwise pin a symbolic value to whatever the solver picked first)."""
    if x <= 0:
        return 0
    return 1 if x == 1 else 2


def evidence_state(source0: EntryTriple, source1: EntryTriple) -> EvidenceState:
    """A one-agent SSCR state with up to two sources, from unconstrained
    integers: sequence 0 is no entry, else sequence 1 or 2, count 0 to 2,
    llr_sum -1 to 1.  Small enough that CrossHair's paths hit equal sequence
    numbers (equivocations) and equal entries often."""
    entries = {}
    for source, (sequence, count, llr_sum) in (("source0", source0), ("source1", source1)):
        if _small(sequence):
            stats = EvidenceStats(count=_small(count), llr_sum=_small(llr_sum) - 1)
            entries[("agent", source)] = SourceEntry(sequence=_small(sequence), stats=stats)
    return EvidenceState.of(entries)


def sscr_merge(
    left0: EntryTriple, left1: EntryTriple, right0: EntryTriple, right1: EntryTriple
) -> EvidenceState:
    """``merge`` of two small SSCR states (one agent, two sources).

    post: __return__ == merge(evidence_state(right0, right1), evidence_state(left0, left1))
    post: merge(__return__, __return__) == __return__
    post: merge(evidence_state(left0, left1), __return__) == __return__
    post: all(entry in (evidence_state(left0, left1).as_dict().get(key), evidence_state(right0, right1).as_dict().get(key)) for key, entry in __return__.entries)
    """
    return merge(evidence_state(left0, left1), evidence_state(right0, right1))


def cbor_int_round_trip(value: int) -> int:
    """``decode(encode(value))``.

    pre: -(2**64) <= value < 2**64
    post: __return__ == value
    post: type(__return__) is int
    """
    from crosshair import realize  # cbor2 encodes in C: hand it a concrete int

    decoded = decode(encode(realize(value)))
    assert isinstance(decoded, int)
    return decoded


#: The bytes :func:`cbor_scan_admits_only_canonical` builds its inputs from:
#: heads of every major type with short, 1/2/4/8-byte, reserved and
#: indefinite arguments, tags, every simple-value class and float width, and
#: payload bytes (small integers, ASCII, a UTF-8 lead byte without its
#: continuation).
CBOR_ALPHABET: tuple[int, ...] = (
    0x00, 0x01, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1F,
    0x20, 0x38,
    0x40, 0x41, 0x58, 0x5F,
    0x60, 0x61, 0x78, 0x7F,
    0x80, 0x81, 0x82, 0x98, 0x9F,
    0xA0, 0xA1, 0xB8, 0xBF,
    0xC0, 0xC3,
    0xE0, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFF,
)  # fmt: skip


def _choose(x: int, low: int, high: int) -> int:
    """An index in ``[low, high]`` by binary branching on ``x``: concrete on
    every path (CrossHair realizes bytes handed to ``int.from_bytes`` or to
    cbor2's C code, which would pin them to the first value the solver picks)."""
    while low < high:
        middle = (low + high) // 2
        if x <= middle:
            high = middle
        else:
            low = middle + 1
    return low


def cbor_input(choices: tuple[int, int, int, int, int], length: int) -> bytes:
    """``min(max(length, 0), 5)`` bytes of :data:`CBOR_ALPHABET`, chosen by ``choices``."""
    size = _choose(length, 0, len(choices))
    last = len(CBOR_ALPHABET) - 1
    return bytes(CBOR_ALPHABET[_choose(choice, 0, last)] for choice in choices[:size])


def cbor_scan_admits_only_canonical(choices: tuple[int, int, int, int, int], length: int) -> bytes:
    """For ``data = cbor_input(choices, length)``: the canonical re-encoding of
    the value the strict decoder builds from ``data`` if it accepts ``data``;
    ``data`` itself if it refuses it.  (The decoder checks and builds in one
    pass; this is the property that pass must keep: what it accepts is
    exactly what :func:`encode` produces.)

    post: __return__ == cbor_input(choices, length)
    """
    data = cbor_input(choices, length)
    try:
        value = decode(data, max_depth=DEFAULT_MAX_DEPTH, max_items=DEFAULT_MAX_ITEMS)
    except MalformedEncoding:
        return data
    return encode(value)


# Names the contract lines above use, kept visibly in use for linters.
_CONTRACT_NAMES = (LAMBDA_MAX_LIMIT, SCALE, MAX_EVIDENCE_COUNT)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractResult:
    target: str
    #: "passed" (no counterexample within the budget), "failed" (CrossHair
    #: reported a counterexample or an error), "timeout" (the wall-clock cap).
    status: str
    seconds: float
    output: str

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": f"crosshair.{self.target}",
            "kind": "contract",
            "status": self.status,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "output": self.output,
        }


def _check_one(
    target: str, per_condition_timeout: float, max_iterations: int, wall_limit: float
) -> ContractResult:
    command = [
        sys.executable,
        "-m",
        "crosshair",
        "check",
        "--analysis_kind=PEP316",
        f"--per_condition_timeout={per_condition_timeout}",
        f"--max_uninteresting_iterations={max_iterations}",
        target,
    ]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=wall_limit, check=False
        )
    except subprocess.TimeoutExpired:
        return ContractResult(
            target=target, status="timeout", seconds=time.perf_counter() - started, output=""
        )
    output = (done.stdout + done.stderr).strip()
    status = "passed" if done.returncode == 0 and not done.stdout.strip() else "failed"
    return ContractResult(
        target=target, status=status, seconds=time.perf_counter() - started, output=output[-4000:]
    )


def check_contracts(
    targets: tuple[str, ...] = TARGETS,
    *,
    per_condition_timeout: float = 3.0,
    max_iterations: int = 20,
    wall_limit: float = 100.0,
    workers: int = 4,
) -> list[ContractResult]:
    """Run CrossHair on each target; results in the order of ``targets``."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(
            pool.map(
                lambda t: _check_one(t, per_condition_timeout, max_iterations, wall_limit), targets
            )
        )
