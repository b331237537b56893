"""cffi builder for ``vigilnet.kernels._native`` (API mode, out of line).

``setup.py`` names ``csrc/build_kernels.py:ffibuilder`` in ``cffi_modules``;
the declarations come from the declaration-only header, the code from
``kernels.c``.  Flags: ``-O3`` and nothing machine-specific; the AVX2 code is
enabled per function by a target attribute and chosen at run time.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
HEADER = HERE / "vigilnet_kernels.h"


def _declarations() -> str:
    return "\n".join(
        line for line in HEADER.read_text().splitlines() if not line.lstrip().startswith("#")
    )


ffibuilder = FFI()
ffibuilder.cdef(_declarations())
ffibuilder.set_source(
    "vigilnet.kernels._native",
    '#include <stddef.h>\n#include <stdint.h>\n#include "vigilnet_kernels.h"\n',
    sources=["csrc/kernels.c"],
    include_dirs=["csrc"],
    extra_compile_args=[] if sys.platform == "win32" else ["-O3", "-std=c99", "-Wall"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
