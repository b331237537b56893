"""Fixtures of the kernel tests: each native dispatch path, selected in
process through :func:`vigilnet.kernels.select_backend` and restored after.

Without the extension (a machine without a C compiler) the native tests skip
with that reason; ``.ci/run`` asserts the extension was built, so CI never
skips them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import vigilnet.kernels as kernels
from vigilnet.kernels import _bindings

NATIVE_PATHS = ("avx2", "scalar")


@pytest.fixture(params=NATIVE_PATHS, scope="module")
def native_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    name = str(request.param)
    if _bindings.native is None:
        pytest.skip(f"the C kernels are not built: {_bindings.import_error}")
    if name not in kernels.available_backends():
        pytest.skip(f"this CPU cannot run the {name} path")
    previous = kernels.select_backend(name)
    try:
        yield name
    finally:
        kernels.select_backend(previous)
