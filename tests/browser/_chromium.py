"""Debian's chromium, headless, driven through chromium-driver by selenium.

The harness for the browser tests (the simulator's HTML report, a hub's
status page).  :func:`missing` names what is absent (the browser, the
driver or selenium); the ``browser`` fixture in ``conftest.py`` skips with
that reason, except under ``VIGILNET_REQUIRE_CHROMIUM=1`` (``.ci/run``),
where it is a failure.

The browser runs with a fresh profile folder and the flags that keep it off
the network (no background networking, component updates, sync or QUIC), so
a test sees only what the page itself loads.  Its console is recorded
(``goog:loggingPrefs``): :func:`console_errors` returns the SEVERE entries,
which include script errors, failed loads and Content-Security-Policy
refusals.  With ``VIGILNET_SCREENSHOTS=DIR`` set, :func:`screenshot` also
keeps a copy of each PNG there for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

__all__ = [
    "FLAGS",
    "console_errors",
    "image_sizes",
    "missing",
    "screenshot",
    "start",
    "wait_for",
]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1600",
)

_BROWSERS = ("chromium", "chromium-browser")
_DRIVERS = ("chromedriver", "chromium-driver")


def _which(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name) or (
            f"/usr/lib/chromium/{name}" if Path(f"/usr/lib/chromium/{name}").exists() else None
        )
        if found:
            return found
    return None


def missing() -> str:
    """Why the browser tests cannot run here, or ``""``."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if _which(_BROWSERS) is None:
        return "chromium is not installed (apt-get install chromium chromium-driver)"
    if _which(_DRIVERS) is None:
        return "chromium-driver is not installed (apt-get install chromium-driver)"
    return ""


def start(profile: Path) -> WebDriver:
    """A headless chromium on a fresh profile in ``profile``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    browser = _which(_BROWSERS)
    driver = _which(_DRIVERS)
    assert browser is not None and driver is not None, missing()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver path is given, so selenium never looks for one to download.
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def console_errors(driver: WebDriver) -> list[dict[str, Any]]:
    """The console's SEVERE entries since the last call (the log drains)."""
    entries: list[dict[str, Any]] = driver.get_log("browser")
    return [e for e in entries if e.get("level") == "SEVERE"]


def image_sizes(driver: WebDriver) -> list[dict[str, Any]]:
    """Every ``<img>``: whether it finished loading and its natural size in
    pixels (zero for an image the browser could not decode)."""
    sizes: list[dict[str, Any]] = driver.execute_script(
        "return Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete,"
        " width: i.naturalWidth, height: i.naturalHeight}));"
    )
    return sizes


def wait_for(driver: WebDriver, script: str, timeout_s: float = 10.0) -> Any:
    """Poll ``script`` (a JavaScript expression) until it is truthy."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout_s, poll_frequency=0.1).until(
        lambda d: d.execute_script(f"return ({script});")
    )


def screenshot(driver: WebDriver, path: Path) -> bytes:
    """A PNG of the whole page (beyond the window), written to ``path`` and,
    with ``VIGILNET_SCREENSHOTS`` set, copied into that folder."""
    height = int(driver.execute_script("return document.documentElement.scrollHeight;"))
    width = int(driver.execute_script("return document.documentElement.scrollWidth;"))
    driver.set_window_size(max(width, 1280), min(max(height + 120, 800), 8000))
    png = driver.get_screenshot_as_png()
    path.write_bytes(png)
    keep = os.environ.get("VIGILNET_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / path.name).write_bytes(png)
    return png
