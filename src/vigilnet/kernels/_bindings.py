"""Thin 1:1 wrappers over the cffi extension ``vigilnet.kernels._native``.

Each takes arrays that :mod:`._api` has already checked (dtype, shape,
C-contiguity, lengths), hands their buffers to the C function and returns
the C status code; outputs are written into numpy arrays the caller owns.
No cdata leaves this module.  :data:`native` is ``None`` when the
extension is not built.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import numpy.typing as npt

from vigilnet.errors import UnavailableError, ensure

__all__ = [
    "active_path",
    "cpu_has_avx2",
    "ct_equal",
    "ct_select",
    "import_error",
    "llr_accumulate",
    "lower_median",
    "native",
    "select_path",
    "sha256_import_error",
    "sha256_native",
    "sha256_rows",
    "sprt_classify",
    "trimmed_sum",
]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]

native: Any
import_error: str
try:
    native = importlib.import_module("vigilnet.kernels._native")
    import_error = ""
except ImportError as exc:
    native = None
    import_error = repr(exc)

# The batched SHA-256 links libcrypto: a separate extension, built or not
# independently of the other kernels.
sha256_native: Any
sha256_import_error: str
try:
    sha256_native = importlib.import_module("vigilnet.kernels._sha256")
    sha256_import_error = ""
except ImportError as exc:
    sha256_native = None
    sha256_import_error = repr(exc)


def _lib() -> Any:
    ensure(native is not None, f"the C kernels are not built ({import_error})", UnavailableError)
    return native.lib


def _ffi() -> Any:
    ensure(native is not None, f"the C kernels are not built ({import_error})", UnavailableError)
    return native.ffi


def cpu_has_avx2() -> bool:
    return bool(_lib().vn_cpu_has_avx2())


def select_path(path: int) -> int:
    return int(_lib().vn_select(path))


def active_path() -> int:
    return int(_lib().vn_active_path())


def ct_equal(a: bytes, b: bytes) -> bool:
    ffi = _ffi()
    return bool(_lib().vn_ct_equal(ffi.from_buffer(a), ffi.from_buffer(b), len(a)))


def ct_select(choose_a: int, a: bytes, b: bytes) -> bytes:
    ffi = _ffi()
    out = bytearray(len(a))
    _lib().vn_ct_select(
        ffi.from_buffer(out), ffi.from_buffer(a), ffi.from_buffer(b), len(a), choose_a
    )
    return bytes(out)


def llr_accumulate(
    agents: I64, evidence: I32, accumulators: I64, lambda_max: int, max_count: int
) -> int:
    ffi = _ffi()
    return int(
        _lib().vn_llr_accumulate(
            ffi.from_buffer("int64_t[]", agents),
            ffi.from_buffer("int32_t[]", evidence),
            len(agents),
            ffi.from_buffer("int64_t[]", accumulators, require_writable=True),
            accumulators.shape[0],
            lambda_max,
            max_count,
        )
    )


def lower_median(values: I64, out: I64) -> int:
    ffi = _ffi()
    r, n = values.shape
    return int(
        _lib().vn_lower_median(
            ffi.from_buffer("int64_t[]", values),
            r,
            n,
            ffi.from_buffer("int64_t[]", out, require_writable=True),
        )
    )


def trimmed_sum(values: I64, f: int, out: I64) -> int:
    ffi = _ffi()
    m, n = values.shape
    return int(
        _lib().vn_trimmed_sum(
            ffi.from_buffer("int64_t[]", values),
            m,
            n,
            f,
            ffi.from_buffer("int64_t[]", out, require_writable=True),
        )
    )


def sprt_classify(log_odds: I64, prior: int, lower: int, upper: int, out: I8) -> int:
    ffi = _ffi()
    return int(
        _lib().vn_sprt_classify(
            ffi.from_buffer("int64_t[]", log_odds),
            len(log_odds),
            prior,
            lower,
            upper,
            ffi.from_buffer("int8_t[]", out, require_writable=True),
        )
    )


def sha256_rows(rows: npt.NDArray[np.uint8], out: npt.NDArray[np.uint8]) -> int:
    ensure(
        sha256_native is not None,
        f"the SHA-256 kernel is not built ({sha256_import_error})",
        UnavailableError,
    )
    ffi, lib = sha256_native.ffi, sha256_native.lib
    n, width = rows.shape
    return int(
        lib.vn_sha256_rows(
            ffi.from_buffer("uint8_t[]", rows),
            n,
            width,
            ffi.from_buffer("uint8_t[]", out, require_writable=True),
        )
    )
