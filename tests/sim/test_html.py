"""The simulator's HTML report without a browser: the targets table's
verdicts by exact comparison, ``not measured`` where the report has no
figure, escaping of hostile names, no external resource, reproducible bytes,
figures drawn from the report, and ``vigilnet simulate --html``.  The
browser checks are in ``tests/browser/test_html_report.py``."""

from __future__ import annotations

import copy
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.sim._small import small
from vigilnet.cli import main
from vigilnet.sim._deployment import run_deployment
from vigilnet.sim._html import HTML_NAME, render_html, targets_table, write_html
from vigilnet.sim._report import make_report

BYZANTINE = {"byzantine_hubs": (4,), "hub_attack": "equivocate"}


@pytest.fixture(scope="module")
def baseline() -> dict[str, Any]:
    return make_report(run_deployment(small(epochs=2)))


@pytest.fixture(scope="module")
def byzantine() -> dict[str, Any]:
    return make_report(run_deployment(small(epochs=2, faults=BYZANTINE)))


def _rows(report: dict[str, Any]) -> dict[str, Any]:
    return {row.name.split(":")[0]: row for row in targets_table(report)}


def test_targets_without_a_figure_are_not_measured(baseline: dict[str, Any]) -> None:
    rows = _rows(baseline)
    for name in (
        "attack success rate",  # no attack in a baseline run
        "Byzantine detection rate",  # no Byzantine node
        "security overhead",
        "evidence points per second",
        "signature verifications per second per node",
    ):
        assert rows[name].measured is None and rows[name].verdict == "not measured", name
        assert rows[name].measured_text() == "not measured"
    for name in ("local aggregation", "regional tier", "global"):
        assert rows[name].measured is not None, name


def test_measured_values_are_the_reports(byzantine: dict[str, Any]) -> None:
    rows = _rows(byzantine)
    f = byzantine["faults"]
    assert rows["attack success rate"].measured == Fraction(f["attack_success_rate"]["exact"])
    assert rows["Byzantine detection rate"].measured == Fraction(f["detection_rate"]["exact"])
    assert rows["Byzantine detection rate"].counts == f"{f['detected_with_proof']} / 1"
    lat = byzantine["latency_us"]
    assert rows["local aggregation"].measured * 1_000_000 == lat["regional_reports_in"]["max"]
    assert rows["regional tier"].measured * 1_000_000 == lat["hub_reports_in"]["max"]
    start_us = byzantine["deadlines_ms"]["consensus_start"] * 1_000
    assert rows["global"].measured * 1_000_000 == start_us + lat["consensus_decided"]["max"]


@pytest.mark.parametrize(
    ("exact", "verdict"), [("1/100", "missed"), ("99/10000", "met"), ("0/1", "met")]
)
def test_attack_success_must_be_strictly_under_one_percent(
    byzantine: dict[str, Any], exact: str, verdict: str
) -> None:
    report = copy.deepcopy(byzantine)
    report["faults"]["attack_success_rate"] = {"exact": exact, "decimal": "unused"}
    assert _rows(report)["attack success rate"].verdict == verdict


@pytest.mark.parametrize(("max_us", "verdict"), [(5_000_000, "missed"), (4_999_999, "met")])
def test_regional_latency_must_be_strictly_under_five_seconds(
    byzantine: dict[str, Any], max_us: int, verdict: str
) -> None:
    report = copy.deepcopy(byzantine)
    report["latency_us"]["hub_reports_in"]["max"] = max_us
    assert _rows(report)["regional tier"].verdict == verdict


def test_a_tier_no_epoch_reached_is_not_measured(byzantine: dict[str, Any]) -> None:
    report = copy.deepcopy(byzantine)
    del report["latency_us"]["consensus_decided"]
    row = _rows(report)["global"]
    assert row.measured is None and row.note == "no epoch reached it"


def test_hostile_names_are_escaped(byzantine: dict[str, Any]) -> None:
    report = copy.deepcopy(byzantine)
    report["scenario"]["name"] = "<script>alert(1)</script>"
    node = report["faults"]["nodes"].pop("hub-4")
    report["faults"]["nodes"]['"><img src=x>'] = node
    page = render_html(report)
    assert "<script" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x&gt;" in page


def test_the_page_is_self_contained(byzantine: dict[str, Any]) -> None:
    page = render_html(byzantine)
    links = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert len(links) == 5 and all(link.startswith("data:image/svg+xml;base64,") for link in links)
    assert "<script" not in page and "<link" not in page
    assert 'content="default-src &#x27;none&#x27;; img-src data:;' in page


def test_same_report_same_bytes_and_figures_follow_the_report(byzantine: dict[str, Any]) -> None:
    page = render_html(byzantine)
    assert render_html(copy.deepcopy(byzantine)) == page
    changed = copy.deepcopy(byzantine)
    changed["per_epoch"][0]["latency_us"]["hub_commit"] += 7_000
    before = re.findall(r'src="([^"]*)"', page)
    after = re.findall(r'src="([^"]*)"', render_html(changed))
    # Only the latency figure draws per-epoch latencies.
    assert [a != b for a, b in zip(before, after, strict=True)] == [
        False,
        True,
        False,
        False,
        False,
    ]


def test_a_run_without_byzantine_nodes_says_there_is_nothing_to_plot(
    baseline: dict[str, Any],
) -> None:
    page = render_html(baseline)
    assert "No Byzantine node in this scenario: no detection to plot." in page
    assert page.count("<img ") == 4


def test_simulate_html_writes_the_page(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        main, ["simulate", "--agents", "2000", "--epochs", "1", "--html", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = (out / HTML_NAME).read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Compute (not in the JSON report)" in page
    assert "<h2>Compute per tier (not in the JSON report)</h2>" in page
    assert f"HTML report written to {out / HTML_NAME}" in result.output


def test_simulate_html_is_refused_with_seeds(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["simulate", "--seeds", "2", "--html", str(tmp_path / "x")])
    assert result.exit_code != 0 and "--html is for one run" in result.output
    assert not (tmp_path / "x").exists()


def test_write_html_creates_the_folder(byzantine: dict[str, Any], tmp_path: Path) -> None:
    path = write_html(byzantine, tmp_path / "a" / "b")
    assert path == tmp_path / "a" / "b" / HTML_NAME and path.read_text(encoding="utf-8") == (
        render_html(byzantine)
    )


def test_compute_per_tier_is_shown_as_given_beside_the_verifications(
    byzantine: dict[str, Any],
) -> None:
    assert "Compute per tier" not in render_html(byzantine)
    page = render_html(byzantine, tier_cpu={"hub": 1.5, "consensus": 0.5})
    hub = byzantine["signature_verifications"]["hub"]
    assert f"<td>hub</td><td>1.500</td><td>75.0%</td><td>{hub:,}</td>" in page
    assert "<td>consensus</td><td>0.500</td><td>25.0%</td>" in page
