"""The pure-Python reference of every C kernel: the definition each kernel
is held to, bit for bit, by ``tests/kernels/``.

Each function takes the already-validated arrays of :mod:`._api` and
computes with Python integers, one element at a time, in the most obvious
way (it reuses :func:`vigilnet.fixedpoint.clamp` and
:func:`vigilnet.aggregation.replica_median`).  Status flags use the C
kernels' codes, so that a refusal is also bit-identical.  Nothing here is
constant time: the reference runs when the extension is absent or switched
off (``VIGILNET_KERNELS=off``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

from vigilnet.aggregation import replica_median
from vigilnet.fixedpoint import clamp

__all__ = [
    "COUNT_OVERFLOW",
    "INDEX",
    "SUM_OVERFLOW",
    "ct_equal",
    "ct_select",
    "llr_accumulate",
    "lower_median",
    "sha256_rows",
    "sprt_classify",
    "trimmed_sum",
]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]

INDEX = 1
COUNT_OVERFLOW = 2
SUM_OVERFLOW = 4

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def _wrap(value: int) -> tuple[int, bool]:
    """``value`` reduced to int64 (two's complement), and whether it moved."""
    wrapped = (value - _INT64_MIN) % (1 << 64) + _INT64_MIN
    return wrapped, wrapped != value


def ct_equal(a: bytes, b: bytes) -> bool:
    return a == b


def ct_select(choose_a: int, a: bytes, b: bytes) -> bytes:
    return a if choose_a else b


def llr_accumulate(
    agents: I64, evidence: I32, accumulators: I64, lambda_max: int, max_count: int
) -> int:
    """Scatter-add in place into ``accumulators[agent] = (count, sum)``;
    returns the status flags."""
    n_agents = accumulators.shape[0]
    if any(not 0 <= a < n_agents for a in agents.tolist()):
        return INDEX
    status = 0
    count = accumulators[:, 0].tolist()
    total = accumulators[:, 1].tolist()
    for agent, value in zip(agents.tolist(), evidence.tolist(), strict=True):
        if count[agent] >= max_count:
            status |= COUNT_OVERFLOW
        count[agent] += 1
        total[agent], moved = _wrap(total[agent] + clamp(value, lambda_max))
        if moved:
            status |= SUM_OVERFLOW
    accumulators[:, 0] = count
    accumulators[:, 1] = total
    return status


def lower_median(values: I64, out: I64) -> int:
    for i, column in enumerate(values.T.tolist()):
        out[i] = replica_median(column)
    return 0


def trimmed_sum(values: I64, f: int, out: I64) -> int:
    status = 0
    m = values.shape[0]
    for i, column in enumerate(values.T.tolist()):
        out[i], moved = _wrap(sum(sorted(column)[f : m - f]))
        if moved:
            status |= SUM_OVERFLOW
    return status


def sprt_classify(log_odds: I64, prior: int, lower: int, upper: int, out: I8) -> int:
    status = 0
    for i, llr in enumerate(log_odds.tolist()):
        value, moved = _wrap(prior + llr)
        if moved:
            status |= SUM_OVERFLOW
        out[i] = 1 if value >= upper else -1 if value <= lower else 0
    return status


def sha256_rows(rows: npt.NDArray[np.uint8], out: npt.NDArray[np.uint8]) -> int:
    """SHA-256 of every row of ``rows`` into ``out`` (hashlib, one call each)."""
    n, width = rows.shape
    data = memoryview(rows.tobytes())
    for i in range(n):
        out[i] = np.frombuffer(hashlib.sha256(data[i * width : (i + 1) * width]).digest(), np.uint8)
    return 0
