"""Shared fixtures.

Known-answer vectors written by other projects are read from
``../shared/vectors-external/`` (relative to the repository root), never
copied into the repository.  ``VIGILNET_EXTERNAL_VECTORS`` overrides the
location.  A missing directory is an error, not a skip: those tests are the
reason the implementation can be trusted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# CI runs on shared, noisy machines: no per-example deadline, and a fixed
# seed so that a red build is reproducible.  Developers get the random default.
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

REPO_ROOT = Path(__file__).resolve().parent.parent


def external_vectors_dir() -> Path:
    override = os.environ.get("VIGILNET_EXTERNAL_VECTORS")
    path = Path(override) if override else REPO_ROOT.parent / "shared" / "vectors-external"
    if not path.is_dir():
        raise FileNotFoundError(
            f"external known-answer vectors not found at {path}; "
            "set VIGILNET_EXTERNAL_VECTORS to their directory"
        )
    return path


def load_external(name: str) -> Any:
    with open(external_vectors_dir() / name, encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="session")
def external_vectors() -> Path:
    return external_vectors_dir()
