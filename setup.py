"""Build of the optional C kernels; every other setting lives in pyproject.toml.

The kernels (``vigilnet.kernels._native``, and ``vigilnet.kernels._sha256``
which links OpenSSL's libcrypto) are built by cffi from ``csrc/``.
They are optional: where no C compiler exists, or with
``VIGILNET_BUILD_KERNELS=0``, the package installs without them and runs on
the pure-Python reference (``vigilnet.kernels`` says so once, on first use).
"""

from __future__ import annotations

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """``build_ext`` whose failure is a warning, not an install failure."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, missing headers, ...
            self._skipped(exc)

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skipped(exc)

    @staticmethod
    def _skipped(exc: BaseException) -> None:
        print(
            f"WARNING: vigilnet's C kernels were not built ({exc!r}); "
            "the package falls back to its pure-Python reference kernels.",
            file=sys.stderr,
        )


build_kernels = os.environ.get("VIGILNET_BUILD_KERNELS", "1") != "0"

setup(
    cffi_modules=(
        ["csrc/build_kernels.py:ffibuilder", "csrc/build_sha256.py:ffibuilder"]
        if build_kernels
        else []
    ),
    cmdclass={"build_ext": OptionalBuildExt},
)
