"""The simulator's HTML report (``vigilnet simulate --html``) in chromium:
the page loads, every figure decodes to a nonzero natural size, the console
stays free of errors (the page's Content-Security-Policy would log any
external load), and the negative control shows both checks can fail."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser import _chromium
from tests.sim._small import small
from vigilnet.sim._deployment import run_deployment
from vigilnet.sim._html import write_html
from vigilnet.sim._report import make_report

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

BYZANTINE = {
    "byzantine_hubs": (4,),
    "hub_attack": "equivocate",
    "byzantine_regionals": (1,),
    "regional_attack": "alter_child",
}


@pytest.fixture(scope="module")
def reports() -> dict[str, dict[str, Any]]:
    return {
        "baseline": make_report(run_deployment(small(epochs=2))),
        "byzantine": make_report(run_deployment(small(epochs=3, faults=BYZANTINE))),
    }


def _load(browser: WebDriver, page: Path) -> None:
    _chromium.console_errors(browser)  # drain what an earlier page logged
    browser.get(page.as_uri())
    _chromium.wait_for(browser, "document.readyState === 'complete'")


def _count(browser: WebDriver, selector: str) -> int:
    return int(browser.execute_script(f"return document.querySelectorAll({selector!r}).length;"))


@pytest.mark.parametrize(("name", "figures"), [("baseline", 4), ("byzantine", 5)])
def test_every_figure_of_the_report_renders_without_console_errors(
    browser: WebDriver,
    reports: dict[str, dict[str, Any]],
    tmp_path: Path,
    name: str,
    figures: int,
) -> None:
    page = write_html(reports[name], tmp_path / name, compute="compute: not timed in this test")
    _load(browser, page)
    sizes = _chromium.image_sizes(browser)
    assert len(sizes) == figures == _count(browser, "figure img")
    for image in sizes:
        assert image["complete"], image
        assert image["width"] > 100 and image["height"] > 100, image
    assert _chromium.console_errors(browser) == []
    # The not-measured targets are shown as such, and a baseline run (no
    # attack, no Byzantine node) has no rate to compare either.
    assert _count(browser, "td.not-measured") == (3 if name == "byzantine" else 5)
    detection_text = browser.execute_script("return document.body.innerText;")
    assert ("No Byzantine node in this scenario" in detection_text) == (name == "baseline")
    png = _chromium.screenshot(browser, tmp_path / f"html-report-{name}.png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_the_checks_see_a_broken_figure_and_a_refused_load(
    browser: WebDriver, tmp_path: Path
) -> None:
    """Negative control: an undecodable image has natural size 0, and a
    script from outside the page, which the report's policy forbids, is
    logged as a console error."""
    broken = base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'><unclosed").decode()
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:\">"
        "</head><body>"
        f"<figure><img src='data:image/svg+xml;base64,{broken}' alt='broken'></figure>"
        "<script src='https://example.invalid/x.js'></script></body></html>",
        encoding="utf-8",
    )
    _load(browser, page)
    sizes = _chromium.image_sizes(browser)
    assert len(sizes) == 1 and sizes[0]["width"] == 0
    assert _chromium.console_errors(browser) != []
