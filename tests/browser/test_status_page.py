"""A hub's status page in chromium: it loads, shows the hubs, and an
equivocation alert appears without a reload once the snapshot carries one;
hostile text in the snapshot is shown as text, never run.  The snapshot is a
function the test controls; the server runs on its own event loop in a
thread, as it would inside a node."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser import _chromium
from vigilnet.runtime._metrics import NodeMetrics
from vigilnet.runtime._status import StatusServer

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

HUBS = [
    {"name": f"hub-{i}", "state": "decided", "epoch": 12, "round": 0, "last_seen_ms": 25 * i}
    for i in range(5)
]


class Snapshot:
    """The value the server reads, replaced by the test."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value: dict[str, Any] = {
            "node": "hub-0",
            "epoch": 12,
            "hubs": HUBS,
            "partitions": [],
            "alerts": [],
        }

    def __call__(self) -> Mapping[str, Any]:
        with self.lock:
            return dict(self.value)

    def update(self, **changes: Any) -> None:
        with self.lock:
            self.value = {**self.value, **changes}


@pytest.fixture
def served() -> Iterator[tuple[StatusServer, Snapshot]]:
    snapshot = Snapshot()
    server = StatusServer(
        "127.0.0.1", 0, snapshot, NodeMetrics("hub-0", "hub").registry, poll_s=0.1
    )
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield server, snapshot
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _text(browser: WebDriver, selector: str) -> list[str]:
    texts: list[str] = browser.execute_script(
        f"return Array.from(document.querySelectorAll({selector!r})).map(e => e.textContent);"
    )
    return texts


def test_the_page_shows_the_hubs_then_an_alert_without_a_reload(
    browser: WebDriver, served: tuple[StatusServer, Snapshot], tmp_path: Path
) -> None:
    server, snapshot = served
    _chromium.console_errors(browser)
    browser.get(server.url + "/")
    _chromium.wait_for(browser, "document.querySelectorAll('tr.hub').length === 5")
    assert _text(browser, "tr.hub td.name") == [h["name"] for h in HUBS]
    assert _text(browser, "#epoch") == ["12"]
    assert _text(browser, "li.alert") == []
    _chromium.wait_for(browser, "document.getElementById('connection').textContent === 'live'")
    browser.execute_script("window.vigilnetMarker = 'same page';")
    screenshot = _chromium.screenshot(browser, tmp_path / "status-page-calm.png")
    assert screenshot.startswith(b"\x89PNG")

    snapshot.update(
        epoch=13,
        hubs=[*HUBS[:4], {**HUBS[4], "state": "faulty", "epoch": 13}],
        alerts=[
            {
                "kind": "equivocation",
                "subject": "hub-4",
                "epoch": 13,
                "detail": "two signed precommits for round 0",
            }
        ],
    )
    _chromium.wait_for(browser, "document.querySelectorAll('li.alert').length === 1")
    assert browser.execute_script("return window.vigilnetMarker;") == "same page"  # no reload
    assert _text(browser, "li.alert .kind") == ["equivocation"]
    assert "hub-4 in epoch 13" in _text(browser, "li.alert")[0]
    assert _text(browser, "#epoch") == ["13"]
    assert browser.execute_script(
        "return document.getElementById('alerts-section').classList.contains('active');"
    )
    assert _text(browser, "tr.hub[data-hub='hub-4'] td.state") == ["faulty"]
    assert _chromium.console_errors(browser) == []
    _chromium.screenshot(browser, tmp_path / "status-page-alert.png")


def test_hostile_snapshot_text_is_shown_never_run(
    browser: WebDriver, served: tuple[StatusServer, Snapshot]
) -> None:
    server, snapshot = served
    hostile = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    snapshot.update(
        hubs=[{**HUBS[0], "name": hostile, "state": hostile}],
        alerts=[{"kind": "partition", "subject": hostile, "epoch": 1, "detail": hostile}],
        partitions=[{"hubs": ["hub-1"], "state": "confirmed"}],
    )
    _chromium.console_errors(browser)
    browser.get(server.url + "/")
    _chromium.wait_for(browser, "document.querySelectorAll('li.alert').length === 1")
    assert _text(browser, "tr.hub td.name") == [hostile]
    assert _text(browser, "li.alert .detail") == [hostile]
    assert _text(browser, "li.partition") == ['hubs=["hub-1"], state="confirmed"']
    assert browser.execute_script("return window.pwned === undefined;")
    assert (
        browser.execute_script("return document.querySelectorAll('img, script:not([src])').length;")
        == 0
    )
