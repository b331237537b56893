"""cffi builder for ``vigilnet.kernels._sha256`` (API mode, out of line).

A separate extension from ``_native`` because it links OpenSSL's libcrypto
(the C implementation behind Python's own ``hashlib``): where its headers
are missing, only this one is skipped and ``vigilnet.merkle`` hashes with
``hashlib`` (the same digests, slower).
"""

from __future__ import annotations

import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
HEADER = HERE / "vigilnet_sha256.h"


def _declarations() -> str:
    return "\n".join(
        line for line in HEADER.read_text().splitlines() if not line.lstrip().startswith("#")
    )


ffibuilder = FFI()
ffibuilder.cdef(_declarations())
ffibuilder.set_source(
    "vigilnet.kernels._sha256",
    '#include <stddef.h>\n#include <stdint.h>\n#include "vigilnet_sha256.h"\n',
    sources=["csrc/sha256_rows.c"],
    include_dirs=["csrc"],
    libraries=["crypto"],
    extra_compile_args=[] if sys.platform == "win32" else ["-O3", "-std=c99", "-Wall"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
