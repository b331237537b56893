"""Constant time under valgrind memcheck (STYLE.md habit 7).

``csrc/ct/harness.c`` loads the built extension, marks every secret input
undefined (``VALGRIND_MAKE_MEM_UNDEFINED``) and calls each kernel on the
chosen dispatch path; memcheck reports any branch or memory address that
depends on a secret.  The real kernels must run clean on both paths; the
deliberately leaky variants (``csrc/ct/leaky.c``: an early-exit compare, a
branchy median of three) must be flagged, which shows the check can see a
leak.  Without valgrind, a C compiler or the extension the tests skip with
the reason, except under ``VIGILNET_REQUIRE_VALGRIND=1`` (``.ci/run``),
where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import vigilnet.kernels as kernels
from tests.conftest import REPO_ROOT
from vigilnet.kernels import _bindings

HARNESS_DIR = REPO_ROOT / "csrc" / "ct"
PATHS = {"scalar": 1, "avx2": 2}
FLAGGED = "depends on uninitialised value"
VALGRIND_ERROR = 99


def _missing() -> str:
    if _bindings.native is None:
        return f"the C kernels are not built: {_bindings.import_error}"
    if shutil.which("valgrind") is None:
        return "valgrind is not installed (apt-get install valgrind)"
    if shutil.which(os.environ.get("CC", "cc")) is None:
        return "no C compiler to build the harness"
    return ""


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = _missing()
    if reason:
        if os.environ.get("VIGILNET_REQUIRE_VALGRIND") == "1":
            pytest.fail(f"VIGILNET_REQUIRE_VALGRIND=1 but {reason}")
        pytest.skip(reason)
    binary = tmp_path_factory.mktemp("ct") / "harness"
    subprocess.run(
        [
            os.environ.get("CC", "cc"),
            "-O1",
            "-g",
            "-Wall",
            "-rdynamic",
            f"-I{REPO_ROOT / 'csrc'}",
            str(HARNESS_DIR / "harness.c"),
            str(HARNESS_DIR / "leaky.c"),
            "-ldl",
            "-o",
            str(binary),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return binary


def _memcheck(harness: Path, path: str, mode: str) -> subprocess.CompletedProcess[str]:
    if path not in kernels.available_backends():
        pytest.skip(f"this CPU cannot run the {path} path")
    return subprocess.run(
        [
            "valgrind",
            "--tool=memcheck",
            f"--error-exitcode={VALGRIND_ERROR}",
            "--track-origins=yes",
            str(harness),
            str(_bindings.native.__file__),
            str(PATHS[path]),
            mode,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_kernel_is_clean_on_each_path(harness: Path, path: str) -> None:
    run = _memcheck(harness, path, "kernels")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ERROR SUMMARY: 0 errors" in run.stderr
    assert f"path {PATHS[path]} mode kernels: 0 wrong results" in run.stdout


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("variant", ["leaky-equal", "leaky-median"])
def test_the_leaky_variants_are_flagged(harness: Path, path: str, variant: str) -> None:
    run = _memcheck(harness, path, variant)
    assert run.returncode == VALGRIND_ERROR, run.stdout + run.stderr
    assert FLAGGED in run.stderr
