"""The simulator's HTML report (``vigilnet simulate --html DIR``).

Theory of operation
-------------------
:func:`render_html` turns the report mapping of
:func:`~vigilnet.sim._report.make_report` into one self-contained page:

1. **Only what the report measured is drawn.**  Every number on the page is
   read from the report (or, for the optional compute line, from the caller's
   own clock).  Nothing is interpolated, extrapolated or filled in: a tier
   absent from an epoch's ``latency_us`` is a gap in its line, a figure with
   nothing to draw (no Byzantine node, so no detection) is replaced by a
   sentence saying so, and a seed target that the report has no figure for
   is written ``not measured`` with the reason.
2. **The seed's targets beside the measured values** are one table
   (:func:`targets_table`), computed with exact arithmetic: rates compare as
   :class:`~fractions.Fraction` read from the report's ``"n/d"`` strings,
   latencies as integer microseconds.  A row's verdict is ``met``, ``missed``
   or ``not measured``.
3. **Self-contained.**  Each figure is a matplotlib SVG embedded as a
   ``data:`` URI in an ``<img>``; the page has no script, no external
   resource and a Content-Security-Policy that forbids loading any, so it
   reads the same offline, attached to a mail or in a CI artifact.  The SVG
   text is drawn as paths (no font needed) and its ids are salted with a
   fixed string, so the same report gives the same bytes.
4. **Hostile text is escaped.**  Scenario names and node names come from a
   user's TOML file; every string goes through :func:`html.escape`.

matplotlib is imported lazily and drawn through :class:`matplotlib.figure.
Figure` with no pyplot, so no global figure state and no display backend are
involved.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from vigilnet.sim._deployment import SecurityCost

__all__ = ["HTML_NAME", "TargetRow", "render_html", "targets_table", "write_html"]

#: The file written inside ``--html DIR``.
HTML_NAME = "index.html"

#: Latency tiers in the order of an epoch (``docs/simulation.md``).
_TIER_ORDER = (
    "regional_reports_in",
    "regional_commit",
    "monitor_receipts",
    "hub_reports_in",
    "hub_commit",
    "regional_receipts",
    "consensus_decided",
)

_US = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetRow:
    """One seed target beside what the report measured.

    ``unit`` is ``"s"`` (simulated seconds, lower is better), ``"%"`` (a
    rate; ``below`` says whether lower is better) or ``"/s"`` (a throughput,
    higher is better).  ``measured`` is ``None`` when the report has no
    figure for the target; ``note`` then says why."""

    name: str
    unit: str
    target: Fraction
    below: bool
    measured: Fraction | None
    #: the measured value's counts (``"k / n"``) for a rate, else empty
    counts: str
    #: where the figure comes from, or why there is none
    note: str

    @property
    def met(self) -> bool | None:
        """``True`` met, ``False`` missed, ``None`` not measured."""
        if self.measured is None:
            return None
        return self.measured < self.target if self.below else self.measured > self.target

    @property
    def verdict(self) -> str:
        return {True: "met", False: "missed", None: "not measured"}[self.met]

    def target_text(self) -> str:
        word = "under" if self.below else "over"
        if self.unit == "%":
            return f"{word} {float(self.target * 100):g}%"
        if self.unit == "s":
            return f"{word} {float(self.target):g} s"
        return f"{word} {int(self.target):,}{self.unit}"

    def measured_text(self) -> str:
        if self.measured is None:
            return "not measured"
        if self.unit == "%":
            return f"{self.counts} = {float(self.measured * 100):.2f}%"
        if self.unit == "/s":
            return f"{float(self.measured):,.0f}/s"
        return f"{float(self.measured):.3f} s"


def _fraction(value: Mapping[str, str] | None) -> Fraction | None:
    return None if value is None else Fraction(value["exact"])


def _max_latency(report: Mapping[str, Any], tier: str) -> int | None:
    entry = report["latency_us"].get(tier)
    return None if entry is None else int(entry["max"])


def targets_table(report: Mapping[str, Any], cost: SecurityCost | None = None) -> list[TargetRow]:
    """The seed's targets (issue 12, DESIGN.md section 7) beside the report's
    measured values; ``not measured`` where the report has no figure.  The
    compute figures (security overhead, evidence points and verifications
    per second) come from ``cost``, the run's meter, which the JSON report
    does not hold: without it they are not measured."""
    faults = report["faults"]
    success = _fraction(faults["attack_success_rate"])
    detection = _fraction(faults["detection_rate"])
    rows = [
        TargetRow(
            name="attack success rate",
            unit="%",
            target=Fraction(1, 100),
            below=True,
            measured=success,
            counts=f"{faults['attacks_succeeded']} / {faults['attempts']}",
            note="faults.attack_success_rate"
            if success is not None
            else "no attack was tried in this scenario",
        ),
        TargetRow(
            name="Byzantine detection rate",
            unit="%",
            target=Fraction(99, 100),
            below=False,
            measured=detection,
            counts=f"{faults['detected_with_proof']} / {faults['byzantine_nodes']}",
            note="faults.detection_rate (with proof)"
            if detection is not None
            else "no Byzantine node in this scenario",
        ),
        TargetRow(
            name="security overhead",
            unit="%",
            target=Fraction(5, 100),
            below=True,
            measured=None if cost is None else cost.share,
            counts=""
            if cost is None
            else f"{sum(cost.primitive_ns.values()) / 1e9:.2f} s / {cost.total_ns / 1e9:.2f} s CPU",
            note="no compute figures (the JSON report holds none)"
            if cost is None
            else "CPU in Ed25519 signing and verifying and SHA-256 over the run's CPU "
            "(a lower bound: the checks around them are not counted)",
        ),
    ]
    decided = _max_latency(report, "consensus_decided")
    start_us = int(report["deadlines_ms"]["consensus_start"]) * 1_000
    for name, us, limit, source in (
        (
            "local aggregation",
            _max_latency(report, "regional_reports_in"),
            1,
            "latency_us.regional_reports_in.max: the last monitor report in at its regional",
        ),
        (
            "regional tier",
            _max_latency(report, "hub_reports_in"),
            5,
            "latency_us.hub_reports_in.max: the last regional report in at its hub",
        ),
        (
            "global: epoch start to the last hub's decision",
            None if decided is None else start_us + decided,
            30,
            "deadlines_ms.consensus_start + latency_us.consensus_decided.max",
        ),
    ):
        rows.append(
            TargetRow(
                name=name,
                unit="s",
                target=Fraction(limit),
                below=True,
                measured=None if us is None else Fraction(us, _US),
                counts="",
                note=f"{source} (simulated time)" if us is not None else "no epoch reached it",
            )
        )
    rows += [
        TargetRow(
            name="evidence points per second",
            unit="/s",
            target=Fraction(1_000_000),
            below=False,
            measured=None if cost is None else cost.evidence_points_per_second,
            counts="",
            note="no compute figures (the JSON report holds none)"
            if cost is None
            else f"{cost.evidence_points:,} evidence terms committed by the monitors over the "
            f"monitor tier's CPU ({cost.monitor_ns / 1e9:.2f} s; one core)",
        ),
        TargetRow(
            name="signature verifications per second per node",
            unit="/s",
            target=Fraction(10_000),
            below=False,
            measured=None if cost is None else cost.verifications_per_second,
            counts="",
            note="no compute figures (the JSON report holds none)"
            if cost is None
            else f"{cost.primitive_calls.get('ed25519_verify', 0):,} verifications over the CPU "
            "spent in them (what one core sustains)",
        ),
    ]
    return rows


# -- figures ---------------------------------------------------------------


def _svg(figure: Figure) -> str:
    """The figure as a base64 ``data:`` URI of reproducible SVG."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "vigilnet", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _new_figure(width: float = 7.5, height: float = 3.6) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _latency_figure(report: Mapping[str, Any]) -> Figure | None:
    rows = report["per_epoch"]
    tiers = [t for t in _TIER_ORDER if any(t in row["latency_us"] for row in rows)]
    if not tiers:
        return None
    figure = _new_figure()
    axes = figure.add_subplot()
    for tier in tiers:
        points = [
            (row["epoch"], row["latency_us"][tier] / 1_000)
            for row in rows
            if tier in row["latency_us"]
        ]
        label = tier + (" (from consensus start)" if tier == "consensus_decided" else "")
        axes.plot([e for e, _ in points], [v for _, v in points], marker="o", label=label)
    axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("simulated ms from the epoch's start")
    axes.set_xticks([row["epoch"] for row in rows])
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes.grid(True, which="both", alpha=0.3)
    return figure


def _consensus_figure(report: Mapping[str, Any]) -> Figure | None:
    rows = report["per_epoch"]
    if not rows:
        return None
    figure = _new_figure(height=3.0)
    axes = figure.add_subplot()
    epochs = [row["epoch"] for row in rows]
    decided = [row["hubs_decided"] for row in rows]
    colours = ["tab:green" if row["agreement"] else "tab:red" for row in rows]
    axes.bar(epochs, decided, color=colours)
    axes.axhline(report["consensus"]["quorum"], color="black", linestyle="--", label="quorum q")
    axes.set_ylim(0, report["scenario"]["hubs"] + 0.5)
    axes.set_xticks(epochs)
    axes.set_xlabel("epoch")
    axes.set_ylabel("hubs that decided")
    axes.legend(fontsize=8, loc="lower right")
    return figure


def _detection_figure(report: Mapping[str, Any]) -> Figure | None:
    nodes = report["faults"]["nodes"]
    incidents = report["healing"]["incidents"]
    if not nodes:
        return None
    figure = _new_figure(height=1.2 + 0.45 * len(nodes))
    axes = figure.add_subplot()
    names = sorted(nodes)
    labelled: set[str] = set()

    def mark(x_us: int, y: int, style: str, colour: str, label: str) -> None:
        axes.plot(
            [x_us / _US],
            [y],
            style,
            color=colour,
            markersize=8,
            label=None if label in labelled else label,
        )
        labelled.add(label)

    for y, name in enumerate(names):
        node = nodes[name]
        first, delay = node["first_attack_us"], node["time_to_detection_us"]
        if first is not None:
            mark(first, y, "o", "tab:orange", "first hostile message")
        if first is not None and delay is not None:
            axes.plot([first / _US, (first + delay) / _US], [y, y], color="tab:red")
            mark(first + delay, y, "X", "tab:red", "detected with proof")
        for incident in incidents:
            if f"regional-{incident['regional']}" == name and incident["healed_us"] is not None:
                axes.plot(
                    [incident["detected_us"] / _US, incident["healed_us"] / _US],
                    [y, y],
                    color="tab:green",
                    linestyle=":",
                )
                mark(incident["healed_us"], y, "^", "tab:green", "healed (standby admitted)")
    epoch_s = report["scenario"]["epoch_ms"] / 1_000
    for epoch in range(report["scenario"]["epochs"] + 1):
        axes.axvline(epoch * epoch_s, color="grey", alpha=0.3, linewidth=0.8)
    axes.set_yticks(range(len(names)))
    axes.set_yticklabels([f"{n} ({nodes[n]['attack']})" for n in names], fontsize=8)
    axes.set_ylim(len(names) - 0.4, -0.6)  # the table's order, top to bottom
    axes.set_xlim(0, report["scenario"]["epochs"] * epoch_s)
    axes.set_xlabel("simulated seconds since the run's start (grey lines: epoch starts)")
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure


def _verdict_figure(report: Mapping[str, Any]) -> Figure:
    k = report["classification"]
    figure = _new_figure(height=3.2)
    left, right = figure.subplots(1, 2)
    names = ("true_positives", "false_positives", "false_negatives", "true_negatives")
    counts = [k[n] for n in names]
    left.bar(
        ["TP", "FP", "FN", "TN"], counts, color=["tab:green", "tab:red", "tab:orange", "tab:blue"]
    )
    left.set_yscale("symlog", linthresh=1)
    left.set_ylabel("agents (symlog)")
    left.set_title("against ground truth", fontsize=9)
    for x, count in enumerate(counts):
        left.annotate(f"{count:,}", (x, count), ha="center", va="bottom", fontsize=8)
    profiles = sorted(p for p, v in k["by_profile"].items() if v["agents"])
    shares = [
        float(Fraction(k["by_profile"][p]["flagged"], k["by_profile"][p]["agents"]))
        for p in profiles
    ]
    right.bar(profiles, shares, color="tab:purple")
    right.set_ylim(0, 1.05)
    right.set_ylabel("share flagged")
    right.set_title("flagged by profile", fontsize=9)
    right.tick_params(axis="x", labelsize=8)
    for x, p in enumerate(profiles):
        v = k["by_profile"][p]
        right.annotate(
            f"{v['flagged']:,}/{v['agents']:,}",
            (x, shares[x]),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    return figure


def _targets_figure(rows: list[TargetRow]) -> Figure:
    figure = _new_figure(height=3.2)
    panels = figure.subplots(1, 2, width_ratios=(3, 2))
    for axes, unit in zip(panels, ("s", "%"), strict=True):
        chosen = [r for r in rows if r.unit == unit]
        scale = 100 if unit == "%" else 1
        for y, row in enumerate(chosen):
            limit = float(row.target * scale)
            axes.plot([limit], [y], "|", color="black", markersize=18, markeredgewidth=2)
            if row.measured is None:
                where = limit if unit == "s" else 50.0
                axes.annotate("not measured", (where, y), ha="center", va="center", fontsize=8)
            else:
                colour = "tab:green" if row.met else "tab:red"
                axes.barh([y], [float(row.measured * scale)], color=colour, height=0.5)
        axes.set_yticks(range(len(chosen)))
        axes.set_yticklabels(
            [r.name.split(":")[0].removesuffix(" rate") for r in chosen], fontsize=8
        )
        axes.set_ylim(-0.6, len(chosen) - 0.4)
    for axes in panels:
        axes.invert_yaxis()  # the table's order, top to bottom
    panels[0].set_xscale("log")
    panels[0].set_xlabel("simulated seconds (bar: measured, |: target)")
    panels[1].set_xlim(0, 100)
    panels[1].set_xlabel("% (bar: measured, |: target)")
    return figure


# -- the page ---------------------------------------------------------------

_CSS = """
body { font-family: sans-serif; margin: 2em auto; max-width: 68em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #eee; }
td.met { background: #d8f0d8; } td.missed { background: #f6d4d4; }
td.not-measured { background: #eee; font-style: italic; }
figure { margin: 1em 0; } figcaption { font-size: 0.9em; color: #555; max-width: 60em; }
img { max-width: 100%; height: auto; }
p.none { font-style: italic; color: #555; }
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _roc_figure(points: list[dict[str, Any]]) -> Figure:
    fig = _new_figure(9.0, 3.6)
    left, right = fig.subplots(1, 2)
    styles = {"cusum": ("tab:blue", "o"), "phi": ("tab:orange", "s")}
    for attack, line in (("timing", "-"), ("partition", ":")):
        for detector, (colour, marker) in styles.items():
            pts = [p for p in points if p["detector"] == detector and p["attack"] == attack]
            fa = [p["false_alarms"] / p["seeds"] for p in pts]
            left.plot(fa, [p["detected"] / p["seeds"] for p in pts], line, color=colour,
                      marker=marker, label=f"{detector}, {attack}")  # fmt: skip
            timed = [p for p in pts if p["mean_delay_ticks"] is not None]
            right.plot([p["false_alarms"] / p["seeds"] for p in timed],
                       [p["mean_delay_ticks"] for p in timed], line, color=colour, marker=marker,
                       label=f"{detector}, {attack}")  # fmt: skip
    left.set_xlabel("false-alarm rate (honest link)")
    left.set_ylabel("detection rate")
    left.set_title("ROC over the threshold")
    right.set_xlabel("false-alarm rate (honest link)")
    right.set_ylabel("mean detection delay (ticks)")
    right.set_yscale("log")
    right.set_title("delay against false alarms")
    left.legend(fontsize=7)
    return fig


def _detection_section(points: list[dict[str, Any]]) -> list[str]:
    seeds = points[0]["seeds"]
    rows = []
    for p in points:
        low, high = p["detection_ci95"]
        flow, fhigh = p["false_alarm_ci95"]
        delay = p["mean_delay_ticks"]
        rows.append((
            p["detector"], p["attack"], str(p["threshold"]),
            f"{p['detected']}/{p['seeds']} [{low:.2f}, {high:.2f}]",
            f"{p['false_alarms']}/{p['seeds']} [{flow:.2f}, {fhigh:.2f}]",
            "" if delay is None else f"{delay:,.0f}",
        ))  # fmt: skip
    return [
        "<h2>Attack-pattern detection: CUSUM against the fixed-threshold detector</h2>",
        f"<p>One observer checking one peer at SSCR's jittered deadlines, {seeds} seeds, "
        "honest link with 2% heartbeat loss (docs/simulation.md, 'Change-point "
        "detection'). Thresholds: CUSUM in ticks of accumulated excess gap, phi in "
        "fixed point (2**-16). Intervals are 95% Wilson.</p>",
        _figure(
            lambda: _roc_figure(points),
            "ROC of CUSUM and phi detectors",
            "Left: detection rate against false-alarm rate as the threshold moves. Right: "
            "mean detection delay (ticks after the cut) against the false-alarm rate. Solid: "
            "the timing attack (leaked heartbeats); dotted: a plain partition.",
            "",
        ),
        _table(
            ("detector", "attack", "threshold", "detected", "false alarms", "mean delay (ticks)"),
            rows,
        ),
    ]


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(
    head: tuple[str, ...], rows: Sequence[tuple[str, ...]], classes: list[str] | None = None
) -> str:
    out = ["<table>", "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    for i, row in enumerate(rows):
        cells = []
        for j, cell in enumerate(row):
            cls = f' class="{classes[i]}"' if classes is not None and j == len(row) - 1 else ""
            cells.append(f"<td{cls}>{_e(cell)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _figure(build: Callable[[], Figure | None], alt: str, caption: str, empty: str) -> str:
    figure = build()
    if figure is None:
        return f'<p class="none">{_e(empty)}</p>'
    return (
        f'<figure><img src="{_svg(figure)}" alt="{_e(alt)}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _ratio_text(value: Mapping[str, str] | None) -> str:
    return "n/a" if value is None else f"{value['decimal']} ({value['exact']})"


def _compute_table(tier_cpu: Mapping[str, float], report: Mapping[str, Any]) -> str:
    total = sum(tier_cpu.values())
    verifications = report["signature_verifications"]
    rows = [
        (
            tier,
            f"{seconds:.3f}",
            "" if total <= 0 else f"{100 * seconds / total:.1f}%",
            f"{verifications.get(tier, 0):,}",
        )
        for tier, seconds in tier_cpu.items()
    ]
    return "<h2>Compute per tier (not in the JSON report)</h2>\n" + _table(
        ("tier", "CPU seconds", "share", "signature verifications"), rows
    )


def render_html(
    report: Mapping[str, Any],
    *,
    compute: str | None = None,
    tier_cpu: Mapping[str, float] | None = None,
    cost: SecurityCost | None = None,
    detection: list[dict[str, Any]] | None = None,
) -> str:
    """The self-contained page for one run's report (module docstring).

    ``compute`` is an optional line about the run's wall and CPU time and
    ``tier_cpu`` the CPU seconds charged to each tier, neither of which the
    JSON report holds; they are printed as given, in a section that says
    so."""
    s, c, k = report["scenario"], report["consensus"], report["classification"]
    targets = targets_table(report, cost)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">',
        f"<title>vigilnet simulate: {_e(s['name'])} (seed {_e(s['seed'])})</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>vigilnet simulate: {_e(s['name'])} (seed {_e(s['seed'])})</h1>",
        f"<p>{int(s['agents']):,} agents, {_e(s['monitors'])} monitors, "
        f"{_e(s['regionals'])} regionals, {_e(s['hubs'])} hubs; {_e(s['epochs'])} epochs of "
        f"{_e(s['epoch_ms'])} ms simulated time; report schema {_e(report['schema'])}. "
        "Every figure below is read from the run's JSON report; see docs/simulation.md "
        "for each field.</p>",
    ]
    if compute is not None:
        parts.append(f"<p>{_e(compute)}</p>")
    parts += [
        "<h2>The seed's targets beside the measured values</h2>",
        _table(
            ("target", "seed target", "measured", "from", "verdict"),
            [(r.name, r.target_text(), r.measured_text(), r.note, r.verdict) for r in targets],
            [r.verdict.replace(" ", "-") for r in targets],
        ),
        _figure(
            lambda: _targets_figure(targets),
            "seed targets beside measured values",
            "Latency targets (left, log scale) and rate targets (right): the bar is the "
            "measured value (green: met, red: missed), the black tick the seed's target. "
            "Targets the report has no figure for are marked not measured.",
            "",
        ),
        "<h2>Latency per tier</h2>",
        _figure(
            lambda: _latency_figure(report),
            "latency per tier and epoch",
            "Simulated milliseconds from each epoch's start to the last event of each tier "
            "(consensus_decided: from the consensus start), per epoch, log scale. A missing "
            "point is an epoch in which the tier never completed.",
            "No tier completed in any epoch: nothing to plot.",
        ),
        "<h2>Consensus per epoch</h2>",
        f"<p>Epochs decided by every hub: {_e(c['epochs_decided'])} / {_e(s['epochs'])}; "
        f"by a quorum: {_e(c['epochs_decided_by_quorum'])}; hub-epochs decided: "
        f"{_e(c['hub_epochs_decided'])}; decided within the epoch (some hub holds the "
        f"certificate before its end): {_e(c['epochs_decided_in_time'])}; hub-epochs decided "
        f"within the epoch: {_e(c['hub_epochs_decided_in_time'])}; agreement: "
        f"{_e(c['agreement'])}; equivocation "
        f"evidence: {_e(c['equivocation_evidence'])}.</p>",
        _figure(
            lambda: _consensus_figure(report),
            "hubs that decided per epoch",
            "Hubs that decided each epoch (red: the decided values disagree); dashed: the quorum q.",
            "No epoch was simulated.",
        ),
        "<h2>Detection over time</h2>",
        _figure(
            lambda: _detection_figure(report),
            "Byzantine nodes: first hostile message, detection and healing",
            "Each Byzantine node: its first hostile message (circle), its detection with proof "
            "(cross, red line: time to detection) and, for a convicted regional, the hub's "
            "first admission of its standby's report (triangle, dotted: time to heal).",
            "No Byzantine node in this scenario: no detection to plot.",
        ),
    ]
    nodes = report["faults"]["nodes"]
    if nodes:
        parts.append(
            _table(
                (
                    "node",
                    "attack",
                    "attempts",
                    "succeeded",
                    "detected",
                    "evidence",
                    "time to detection",
                ),
                [
                    (
                        name,
                        n["attack"],
                        str(n["attempts"]),
                        str(n["succeeded"]),
                        "yes"
                        if n["detected"]
                        else ("suspected" if n["suspected_without_proof"] else "no"),
                        n["evidence"] or "",
                        ""
                        if n["time_to_detection_us"] is None
                        else f"{n['time_to_detection_us'] / 1_000:.1f} ms",
                    )
                    for name, n in sorted(nodes.items())
                ],
            )
        )
    parts += [
        "<h2>Verdict quality</h2>",
        f"<p>Flagged {_e(report['flagged_agents'])} agents; precision "
        f"{_e(_ratio_text(k['precision']))}, recall {_e(_ratio_text(k['recall']))}, false "
        f"positive rate {_e(_ratio_text(k['false_positive_rate']))}; SPRT alpha "
        f"{_e(s['sprt_alpha'])}, beta {_e(s['sprt_beta'])}.</p>",
        _figure(
            lambda: _verdict_figure(report),
            "verdict quality against ground truth",
            "Left: agents by outcome against ground truth (positive: misbehaved in at least one "
            "simulated epoch; FN includes agents not decided yet). Right: the share of each "
            "profile's agents flagged by the end of the run.",
            "",
        ),
    ]
    if detection:
        parts += _detection_section(detection)
    if tier_cpu:
        parts.append(_compute_table(tier_cpu, report))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html(
    report: Mapping[str, Any],
    directory: Path,
    *,
    compute: str | None = None,
    tier_cpu: Mapping[str, float] | None = None,
    cost: SecurityCost | None = None,
    detection: list[dict[str, Any]] | None = None,
) -> Path:
    """Write :func:`render_html` to ``directory/index.html`` (the folder is
    created) and return the file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / HTML_NAME
    path.write_text(
        render_html(report, compute=compute, tier_cpu=tier_cpu, cost=cost, detection=detection),
        encoding="utf-8",
    )
    return path
