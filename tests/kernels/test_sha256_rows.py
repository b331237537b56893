"""The batched SHA-256 kernel: the digests hashlib gives, row by row, on the
libcrypto kernel and on the reference; refusals of malformed arrays."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vigilnet.kernels as kernels
from vigilnet.errors import LocalProtocolError
from vigilnet.kernels import _bindings


def _expected(rows: np.ndarray) -> np.ndarray:
    out = np.empty((rows.shape[0], 32), dtype=np.uint8)
    for i in range(rows.shape[0]):
        out[i] = np.frombuffer(hashlib.sha256(rows[i].tobytes()).digest(), np.uint8)
    return out


@pytest.fixture(params=["openssl", "hashlib"], scope="module")
def sha_backend(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    if request.param == "openssl":
        if _bindings.sha256_native is None:
            pytest.skip(f"the SHA-256 kernel is not built: {_bindings.sha256_import_error}")
        previous = kernels.select_backend(
            "avx2" if "avx2" in kernels.available_backends() else "scalar"
        )
    else:
        previous = kernels.select_backend("reference")
    try:
        assert kernels.sha256_backend() == request.param
        yield request.param
    finally:
        kernels.select_backend(previous)


rows_strategy = st.tuples(st.integers(0, 40), st.integers(0, 300)).flatmap(
    lambda shape: st.binary(min_size=shape[0] * shape[1], max_size=shape[0] * shape[1]).map(
        lambda data: np.frombuffer(data, dtype=np.uint8).reshape(shape).copy()
    )
)


@settings(max_examples=60, deadline=None)
@given(rows=rows_strategy)
def test_digests_equal_hashlib_row_by_row(sha_backend: str, rows: np.ndarray) -> None:
    got = kernels.sha256_rows(rows)
    assert got.shape == (rows.shape[0], 32) and got.dtype == np.uint8
    assert np.array_equal(got, _expected(rows))


@pytest.mark.parametrize("width", [0, 1, 55, 56, 63, 64, 65, 119, 128, 1000])
def test_block_boundaries(sha_backend: str, width: int) -> None:
    # SHA-256 pads at 56 bytes mod 64: the widths around block edges
    rows = np.arange(7 * width, dtype=np.uint64).astype(np.uint8).reshape(7, width)
    assert np.array_equal(kernels.sha256_rows(rows), _expected(rows))


def test_known_answer(sha_backend: str) -> None:
    # FIPS 180-2 example: SHA-256("abc")
    rows = np.frombuffer(b"abc", dtype=np.uint8).reshape(1, 3)
    assert kernels.sha256_rows(rows)[0].tobytes().hex() == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"abc", "numpy array"),
        (np.zeros((2, 3), dtype=np.int8), "dtype uint8"),
        (np.zeros(6, dtype=np.uint8), "2 dimension"),
        (np.zeros((3, 4), dtype=np.uint8)[:, ::2], "C-contiguous"),
    ],
)
def test_malformed_arrays_are_refused(sha_backend: str, value: object, message: str) -> None:
    with pytest.raises(LocalProtocolError, match=message):
        kernels.sha256_rows(value)  # type: ignore[arg-type]
