"""The ``browser`` fixture: one headless chromium per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser import _chromium

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    reason = _chromium.missing()
    if reason:
        if os.environ.get("VIGILNET_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"VIGILNET_REQUIRE_CHROMIUM=1 but {reason}")
        pytest.skip(reason)
    driver = _chromium.start(Path(tmp_path_factory.mktemp("chromium-profile")))
    try:
        yield driver
    finally:
        driver.quit()
