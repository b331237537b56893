"""The checked layer: wrong inputs refused by name, backend selection by
environment variable, and the fallback when the extension is absent."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import vigilnet.kernels as kernels
from vigilnet.errors import LocalProtocolError, UnavailableError
from vigilnet.kernels import _bindings

I64 = np.int64


def test_backend_is_one_of_the_known() -> None:
    assert kernels.BACKEND in kernels.BACKENDS
    assert kernels.backend() == kernels.BACKEND
    assert "reference" in kernels.available_backends()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: kernels.lower_median(np.zeros((3, 4), dtype=np.int32)),
            "values must have dtype int64",
        ),
        (lambda: kernels.lower_median(np.zeros(4, dtype=I64)), "values must have 2 dimension"),
        (
            lambda: kernels.lower_median(np.zeros((4, 3), dtype=I64).T),
            "values must be C-contiguous",
        ),
        (lambda: kernels.lower_median(np.zeros((0, 3), dtype=I64)), "values must have 1..16 rows"),
        (lambda: kernels.lower_median(np.zeros((17, 3), dtype=I64)), "values must have 1..16 rows"),
        (lambda: kernels.lower_median([[1, 2]]), "values must be a numpy array"),  # type: ignore[arg-type]
        (lambda: kernels.trimmed_sum(np.zeros((4, 3), dtype=I64), 2), "f must lie in 0..1"),
        (lambda: kernels.trimmed_sum(np.zeros((4, 3), dtype=I64), True), "f must be an integer"),  # type: ignore[arg-type]
        (
            lambda: kernels.llr_accumulate(np.zeros(3, dtype=I64), np.zeros(2, dtype=np.int32), 4),
            "agents and evidence must have the same length",
        ),
        (
            lambda: kernels.llr_accumulate(np.zeros(2, dtype=I64), np.zeros(2, dtype=np.int64), 4),  # type: ignore[arg-type]
            "evidence must have dtype int32",
        ),
        (
            lambda: kernels.llr_accumulate(
                np.zeros(2, dtype=I64), np.zeros(2, dtype=np.int32), 4, lambda_max=0
            ),
            "lambda_max must lie in 1..",
        ),
        (
            lambda: kernels.llr_accumulate(
                np.zeros(2, dtype=I64), np.zeros(2, dtype=np.int32), 4, sums=np.zeros(3, dtype=I64)
            ),
            "sums must have length n_agents = 4",
        ),
        (
            lambda: kernels.llr_accumulate(
                np.zeros(2, dtype=I64),
                np.zeros(2, dtype=np.int32),
                1,
                counts=np.array([-1], dtype=I64),
            ),
            "counts must lie in 0..",
        ),
        (
            lambda: kernels.sprt_classify(np.zeros(2, dtype=I64), lower=0, upper=1 << 63),
            "upper must lie in",
        ),
        (lambda: kernels.ct_select(2, b"a", b"b"), "choose_a must lie in 0..1"),
        (lambda: kernels.ct_select(1, b"a", b"bc"), "a and b must have the same length"),
        (lambda: kernels.ct_equal("a", b"a"), "a must be bytes-like"),  # type: ignore[arg-type]
    ],
)
def test_wrong_inputs_are_refused_by_name(call: object, message: str) -> None:
    for name in kernels.available_backends():
        previous = kernels.select_backend(name)
        try:
            with pytest.raises(LocalProtocolError, match=message):
                call()  # type: ignore[operator]
        finally:
            kernels.select_backend(previous)


def test_starting_accumulators_are_not_modified() -> None:
    sums = np.array([5, 6], dtype=I64)
    counts = np.array([1, 2], dtype=I64)
    new_counts, new_sums = kernels.llr_accumulate(
        np.array([1], dtype=I64), np.array([3], dtype=np.int32), 2, counts=counts, sums=sums
    )
    assert (new_counts.tolist(), new_sums.tolist()) == ([1, 3], [5, 9])
    assert (counts.tolist(), sums.tolist()) == ([1, 2], [5, 6])


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(LocalProtocolError, match="unknown kernel backend"):
        kernels.select_backend("gpu")


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "always", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize(
    ("setting", "expected"), [("off", "reference"), ("scalar", "scalar"), ("auto", None)]
)
def test_environment_variable_selects_the_backend(setting: str, expected: str | None) -> None:
    if _bindings.native is None and setting != "off":
        pytest.skip(f"the C kernels are not built: {_bindings.import_error}")
    shown = _run("import vigilnet.kernels as k; print(k.BACKEND)", VIGILNET_KERNELS=setting)
    wanted = expected or ("avx2" if "avx2" in kernels.available_backends() else "scalar")
    assert shown.stdout.strip() == wanted


def test_without_the_extension_the_reference_runs_and_says_so_once() -> None:
    shown = _run(
        """
        import sys
        sys.modules["vigilnet.kernels._native"] = None  # as if never built
        import numpy as np
        import vigilnet.kernels as k
        print(k.BACKEND)
        v = np.array([[3, 1], [1, 2], [2, 9]], dtype=np.int64)
        print(k.lower_median(v).tolist(), k.lower_median(v).tolist())
        """,
        VIGILNET_KERNELS="auto",
    )
    assert shown.stdout.split("\n")[:2] == ["reference", "[2, 2] [2, 2]"]
    assert shown.stderr.count("using the pure-Python reference") == 1
    assert "the C kernels are not built" in shown.stderr


def test_avx2_unavailable_is_refused_cleanly() -> None:
    if "avx2" in kernels.available_backends():
        pytest.skip("this CPU has AVX2")
    with pytest.raises(UnavailableError):
        kernels.select_backend("avx2")


def test_cpu_detection_agrees_with_the_kernel_of_this_machine() -> None:
    if _bindings.native is None:
        pytest.skip(f"the C kernels are not built: {_bindings.import_error}")
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        pytest.skip("no /proc/cpuinfo to compare with")
    flags = {
        flag
        for line in cpuinfo.read_text().splitlines()
        if line.startswith("flags")
        for flag in line.split(":", 1)[1].split()
    }
    assert _bindings.cpu_has_avx2() == ("avx2" in flags)
    assert ("avx2" in kernels.available_backends()) == ("avx2" in flags)
