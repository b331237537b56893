"""One local Ray instance shared by every test under tests/ray.

Ray's start-up takes seconds, so the instance is session-scoped.  Without
Ray the tests skip with the reason, except under ``VIGILNET_REQUIRE_RAY=1``
(``.ci/run``), where that is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def ray_instance() -> Iterator[Any]:
    try:
        import ray
    except ImportError:
        reason = "Ray is not installed (pip install 'vigilnet[ray]')"
        if os.environ.get("VIGILNET_REQUIRE_RAY") == "1":
            pytest.fail(f"VIGILNET_REQUIRE_RAY=1 but {reason}")
        pytest.skip(reason)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
