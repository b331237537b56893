"""C kernels for evidence processing, bound with cffi, and their
pure-Python reference (DESIGN.md section 6, STYLE.md habit 7).

Three layers, as in PyNaCl: ``csrc/vigilnet_kernels.h`` (declarations only)
and ``csrc/kernels.c``; :mod:`._bindings` (thin 1:1 wrappers, no cdata
escapes); the checked functions below (:mod:`._api`), which run on the
backend in :data:`BACKEND`: ``"avx2"``, ``"scalar"`` or ``"reference"``.

* :func:`ct_equal`, :func:`ct_select`: constant-time byte comparison and
  conditional select;
* :func:`llr_accumulate`: clamped fixed-point evidence scatter-added into
  per-agent ``(counts, sums)``;
* :func:`lower_median`, :func:`trimmed_sum`: replica combination by sorting
  networks, across agents;
* :func:`sprt_classify`: SPRT verdicts of many agents;
* :func:`sha256_rows`: SHA-256 of many fixed-width rows in one call (a
  Merkle-sum tree level), through OpenSSL's libcrypto
  (``vigilnet.kernels._sha256``, a separate extension) or ``hashlib``.

Every backend is bit-identical to :mod:`._reference`; ``docs/kernels.md``
says what "constant time" covers.
"""

from vigilnet.kernels._api import (
    BACKENDS,
    CLEARED,
    ENV_VAR,
    FLAGGED,
    MAX_ROWS,
    UNDECIDED,
    available_backends,
    backend,
    ct_equal,
    ct_select,
    llr_accumulate,
    lower_median,
    select_backend,
    sha256_backend,
    sha256_rows,
    sprt_classify,
    trimmed_sum,
)

__all__ = [
    "BACKEND",
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


def __getattr__(name: str) -> str:
    # BACKEND follows select_backend (a plain re-export would be a stale copy).
    if name == "BACKEND":
        return backend()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
