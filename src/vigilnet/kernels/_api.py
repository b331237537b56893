"""The kernels as vigilnet calls them: checked inputs, one backend.

**Backends.** ``"avx2"`` and ``"scalar"`` are the two dispatch paths of the C
extension; ``"reference"`` is the pure-Python reference
(:mod:`vigilnet.kernels._reference`).  The backend is chosen once, at import:

* ``VIGILNET_KERNELS`` unset or ``auto``: AVX2 when the CPU has it, else
  scalar; the reference when the extension is not built (a
  :class:`RuntimeWarning` says so once, on the first kernel call);
* ``VIGILNET_KERNELS=scalar`` or ``avx2``: that path (``avx2`` on a CPU
  without it falls back to scalar, with a warning);
* ``VIGILNET_KERNELS=off``: the reference, even when the extension is built.

:func:`select_backend` switches at run time (the differential tests use
it).  Every backend gives bit-identical results and refusals.

**Checks.** Every function validates its arrays before any backend sees
them: the exact dtype, the number of dimensions, C-contiguity and the
lengths; a wrong input raises :class:`~vigilnet.errors.LocalProtocolError`
naming the argument.  Nothing is converted silently (a cast could truncate,
a copy could hide a slow path).  Overflows raise the same error: a count
beyond :data:`~vigilnet.fixedpoint.MAX_EVIDENCE_COUNT`, a sum outside int64.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from vigilnet.errors import LocalProtocolError, UnavailableError, ensure
from vigilnet.fixedpoint import DEFAULT_LAMBDA_MAX, LAMBDA_MAX_LIMIT, MAX_EVIDENCE_COUNT
from vigilnet.kernels import _bindings, _reference

__all__ = [
    "BACKENDS",
    "CLEARED",
    "ENV_VAR",
    "FLAGGED",
    "MAX_ROWS",
    "UNDECIDED",
    "available_backends",
    "backend",
    "ct_equal",
    "ct_select",
    "llr_accumulate",
    "lower_median",
    "select_backend",
    "sha256_backend",
    "sha256_rows",
    "sprt_classify",
    "trimmed_sum",
]

I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]

ENV_VAR = "VIGILNET_KERNELS"
BACKENDS = ("avx2", "scalar", "reference")
#: The most replicas (rows) the median and the trimmed sum take.
MAX_ROWS = 16
#: :func:`sprt_classify`'s codes.
FLAGGED = 1
CLEARED = -1
UNDECIDED = 0

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_PATHS = {"scalar": 1, "avx2": 2}

_backend = "reference"
_fallback_reason = ""


def available_backends() -> tuple[str, ...]:
    """The backends this build and this CPU can run."""
    if _bindings.native is None:
        return ("reference",)
    if _bindings.cpu_has_avx2():
        return BACKENDS
    return ("scalar", "reference")


def backend() -> str:
    """The backend in use: ``"avx2"``, ``"scalar"`` or ``"reference"``."""
    return _backend


def select_backend(name: str) -> str:
    """Switch every kernel to ``name``; returns the previous backend.
    Raises :class:`~vigilnet.errors.UnavailableError` for a backend this
    build or CPU cannot run."""
    global _backend
    ensure(name in BACKENDS, f"unknown kernel backend {name!r}", LocalProtocolError)
    ensure(
        name in available_backends(),
        f"kernel backend {name!r} is not available here ({_bindings.import_error or 'no AVX2'})",
        UnavailableError,
    )
    previous = _backend
    if name != "reference":
        chosen = _bindings.select_path(_PATHS[name])
        ensure(chosen == _PATHS[name], f"the extension refused path {name!r}", UnavailableError)
    _backend = name
    return previous


def _initial_backend() -> None:
    global _fallback_reason
    wanted = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if wanted in ("off", "reference"):
        select_backend("reference")
        return
    if _bindings.native is None:
        _fallback_reason = f"the C kernels are not built ({_bindings.import_error})"
        select_backend("reference")
        return
    if wanted not in ("auto", "scalar", "avx2"):
        warnings.warn(
            f"{ENV_VAR}={wanted!r} is not one of auto, avx2, scalar, off: using auto",
            RuntimeWarning,
            stacklevel=2,
        )
        wanted = "auto"
    if wanted == "avx2" and "avx2" not in available_backends():
        warnings.warn(
            f"{ENV_VAR}=avx2 but this CPU has no AVX2: using the scalar path",
            RuntimeWarning,
            stacklevel=2,
        )
        wanted = "scalar"
    if wanted == "auto":
        wanted = "avx2" if "avx2" in available_backends() else "scalar"
    select_backend(wanted)


def _announce() -> None:
    """Say once that the reference runs because the extension is missing."""
    global _fallback_reason
    if _fallback_reason:
        warnings.warn(
            f"vigilnet.kernels: {_fallback_reason}; using the pure-Python reference",
            RuntimeWarning,
            stacklevel=4,  # the caller of the public function
        )
        _fallback_reason = ""


def _impl() -> Any:
    _announce()
    return _reference if _backend == "reference" else _bindings


def _bytes(name: str, value: object) -> bytes:
    ensure(
        isinstance(value, bytes | bytearray | memoryview),
        f"{name} must be bytes-like, got {type(value).__name__}",
        LocalProtocolError,
    )
    assert isinstance(value, bytes | bytearray | memoryview)
    return bytes(value)


def _array(name: str, value: object, dtype: type[np.generic], ndim: int) -> Any:
    ensure(
        isinstance(value, np.ndarray),
        f"{name} must be a numpy array, got {type(value).__name__}",
        LocalProtocolError,
    )
    assert isinstance(value, np.ndarray)
    ensure(
        value.dtype == np.dtype(dtype),
        f"{name} must have dtype {np.dtype(dtype)}, got {value.dtype}",
        LocalProtocolError,
    )
    ensure(
        value.ndim == ndim,
        f"{name} must have {ndim} dimension(s), got shape {value.shape}",
        LocalProtocolError,
    )
    ensure(value.flags.c_contiguous, f"{name} must be C-contiguous", LocalProtocolError)
    return value


def _int(name: str, value: object, low: int, high: int) -> int:
    ensure(
        isinstance(value, int | np.integer) and not isinstance(value, bool),
        f"{name} must be an integer, got {type(value).__name__}",
        LocalProtocolError,
    )
    assert isinstance(value, int | np.integer)
    number = int(value)
    ensure(
        low <= number <= high, f"{name} must lie in {low}..{high}, got {number}", LocalProtocolError
    )
    return number


def _overflow(status: int, what: str) -> None:
    ensure(
        status & _reference.INDEX == 0,
        "an agent index is outside 0..n_agents-1",
        LocalProtocolError,
    )
    ensure(
        status & _reference.COUNT_OVERFLOW == 0,
        f"an accumulator would hold more than {MAX_EVIDENCE_COUNT} terms",
        LocalProtocolError,
    )
    ensure(status & _reference.SUM_OVERFLOW == 0, f"{what} leaves int64", LocalProtocolError)
    ensure(status == 0, f"kernel status {status}", LocalProtocolError)


def ct_equal(a: bytes | bytearray | memoryview, b: bytes | bytearray | memoryview) -> bool:
    """Whether ``a == b``, in time independent of their contents (the length
    is public: unequal lengths are unequal, as in :func:`hmac.compare_digest`)."""
    left, right = _bytes("a", a), _bytes("b", b)
    if len(left) != len(right):
        return False
    return bool(_impl().ct_equal(left, right))


def ct_select(
    choose_a: int, a: bytes | bytearray | memoryview, b: bytes | bytearray | memoryview
) -> bytes:
    """``a`` when ``choose_a`` is 1, ``b`` when it is 0, without a branch on
    ``choose_a``; ``a`` and ``b`` must have the same length."""
    choice = _int("choose_a", choose_a, 0, 1)
    left, right = _bytes("a", a), _bytes("b", b)
    ensure(
        len(left) == len(right),
        f"a and b must have the same length, got {len(left)} and {len(right)}",
        LocalProtocolError,
    )
    result: bytes = _impl().ct_select(choice, left, right)
    return result


def llr_accumulate(
    agents: npt.NDArray[np.int64],
    evidence: npt.NDArray[np.int32],
    n_agents: int,
    *,
    lambda_max: int = DEFAULT_LAMBDA_MAX,
    counts: npt.NDArray[np.int64] | None = None,
    sums: npt.NDArray[np.int64] | None = None,
) -> tuple[I64, I64]:
    """Per agent, the ``(counts, sums)`` of its clamped evidence.

    Observation ``i`` is the fixed-point log-likelihood ratio
    ``evidence[i]`` of agent ``agents[i]``; it is clamped to
    ``[-lambda_max, +lambda_max]`` (:func:`vigilnet.fixedpoint.clamp`) and
    added to that agent's sum, and the agent's count grows by one.  The
    optional ``counts`` and ``sums`` (length ``n_agents``) are the starting
    accumulators; they are not modified.  The returned ``counts`` and
    ``sums`` are the two columns of one ``(n_agents, 2)`` array (the kernel
    keeps an agent's count and sum in one cache line), so they are strided
    views: ``np.ascontiguousarray`` them where a contiguous array is needed.
    Refuses an agent index outside ``0..n_agents-1``, a count beyond
    :data:`~vigilnet.fixedpoint.MAX_EVIDENCE_COUNT` and a partial sum outside
    int64; a refusal returns nothing, and the inputs are never modified.
    """
    agent_column = _array("agents", agents, np.int64, 1)
    evidence_column = _array("evidence", evidence, np.int32, 1)
    ensure(
        len(agent_column) == len(evidence_column),
        f"agents and evidence must have the same length, got {len(agent_column)} and {len(evidence_column)}",
        LocalProtocolError,
    )
    size = _int("n_agents", n_agents, 0, _INT64_MAX)
    clamp_bound = _int("lambda_max", lambda_max, 1, LAMBDA_MAX_LIMIT)
    accumulators = np.zeros((size, 2), dtype=np.int64)
    for column, name, given in ((0, "counts", counts), (1, "sums", sums)):
        if given is not None:
            ensure(
                isinstance(given, np.ndarray) and given.dtype == np.int64 and given.ndim == 1,
                f"{name} must be a one-dimensional int64 numpy array",
                LocalProtocolError,
            )
            ensure(
                len(given) == size,
                f"{name} must have length n_agents = {size}, got {len(given)}",
                LocalProtocolError,
            )
            if column == 0:
                ensure(
                    bool(np.all((given >= 0) & (given <= MAX_EVIDENCE_COUNT))),
                    f"counts must lie in 0..{MAX_EVIDENCE_COUNT}",
                    LocalProtocolError,
                )
            accumulators[:, column] = given
    status = _impl().llr_accumulate(
        agent_column, evidence_column, accumulators, clamp_bound, MAX_EVIDENCE_COUNT
    )
    _overflow(status, "a partial sum")
    return accumulators[:, 0], accumulators[:, 1]


def _rows(name: str, values: object) -> Any:
    table = _array(name, values, np.int64, 2)
    ensure(
        1 <= table.shape[0] <= MAX_ROWS,
        f"{name} must have 1..{MAX_ROWS} rows (replicas), got {table.shape[0]}",
        LocalProtocolError,
    )
    return table


def lower_median(values: npt.NDArray[np.int64]) -> I64:
    """Per agent (column), the lower median of its ``r`` replica values
    (rows): ``sorted(column)[(r - 1) // 2]``, as
    :func:`vigilnet.aggregation.replica_median`.  ``values`` has shape
    ``(r, n_agents)``, ``1 <= r <= 16``: one row per replica."""
    table = _rows("values", values)
    out = np.empty(table.shape[1], dtype=np.int64)
    _overflow(_impl().lower_median(table, out), "a median")
    return out


def trimmed_sum(values: npt.NDArray[np.int64], f: int) -> I64:
    """Per agent (column), the sum of its ``m`` values (rows) less the ``f``
    lowest and the ``f`` highest; ``Fraction(trimmed_sum(v, f)[i], m - 2 * f)``
    is exactly :func:`vigilnet.aggregation.trimmed_combination` of column
    ``i``.  ``values`` has shape ``(m, n_agents)``, ``2f + 1 <= m <= 16``.
    Refuses a sum outside int64."""
    table = _rows("values", values)
    m = table.shape[0]
    trim = _int("f", f, 0, (m - 1) // 2)
    out = np.empty(table.shape[1], dtype=np.int64)
    _overflow(_impl().trimmed_sum(table, trim, out), "a trimmed sum")
    return out


def sprt_classify(log_odds: npt.NDArray[np.int64], *, lower: int, upper: int, prior: int = 0) -> I8:
    """Wald's SPRT verdict of many agents at once: per agent,
    :data:`FLAGGED` when ``prior + log_odds[i] >= upper``, else
    :data:`CLEARED` when it is ``<= lower``, else :data:`UNDECIDED` (the
    order of :meth:`vigilnet.evidence.SprtThresholds.verdict`).  Refuses a
    ``prior + log_odds[i]`` outside int64."""
    column = _array("log_odds", log_odds, np.int64, 1)
    bounds = [
        _int(name, v, _INT64_MIN, _INT64_MAX)
        for name, v in (("lower", lower), ("upper", upper), ("prior", prior))
    ]
    out = np.empty(len(column), dtype=np.int8)
    _overflow(_impl().sprt_classify(column, bounds[2], bounds[0], bounds[1], out), "a log-odds")
    return out


_initial_backend()


def sha256_backend() -> str:
    """``"openssl"`` when :func:`sha256_rows` runs the C kernel (built, and
    the kernels not switched off), else ``"hashlib"``."""
    if _backend == "reference" or _bindings.sha256_native is None:
        return "hashlib"
    return "openssl"


def sha256_rows(rows: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """SHA-256 of every row of a C-contiguous ``(n, width)`` uint8 array, as
    an ``(n, 32)`` uint8 array: one call for a whole level of a Merkle tree.
    The same digests as ``hashlib.sha256(row).digest()`` on every backend."""
    checked = _array("rows", rows, np.uint8, 2)
    out = np.empty((checked.shape[0], 32), dtype=np.uint8)
    if checked.shape[0] == 0:
        return out
    impl = _bindings if sha256_backend() == "openssl" else _reference
    status = impl.sha256_rows(checked, out)
    ensure(status == 0, "libcrypto failed to hash", UnavailableError)
    return out
