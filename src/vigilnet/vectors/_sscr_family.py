"""Vector family ``sscr``: the partition resolver's exact arithmetic.

Four group types:

* ``CrdtMerge``: replicas receive deltas (in the order given: duplicated,
  out of order, equivocating) starting from an empty state; the result is the
  state every conforming replica holds.  Entries are ``{agent, source,
  sequence, count, llrSum}``.
* ``PhiAccrual``: heartbeat arrival times, the window parameters and a time
  ``now``; ``phi`` is the fixed-point suspicion level
  ``floor(elapsed * n * LOG10_E_Q32 / (interval_sum * 2**16))`` with
  ``LOG10_E_Q32 = 1865280597``.
* ``StalenessDeadline``: ``floor(base * (2**63 + draw) / 2**64)``; the draw is
  a decimal string (64-bit integers do not survive JSON numbers in every
  language).
* ``Finality``: the bound ``lambda_max * ceil(rate * staleness) *
  unreachable`` and the verdict with its finality for given log-odds.

Generated through :mod:`vigilnet.protocols.sscr`; verified by recomputing
every answer with :class:`fractions.Fraction` arithmetic written here, and
merges by folding every delta entry through :meth:`EvidenceState.of`, a
different path from :func:`merge`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction
from typing import Any

from vigilnet.errors import VigilnetError
from vigilnet.evidence import EvidenceStats, Verdict
from vigilnet.fixedpoint import SCALE
from vigilnet.protocols.sscr import (
    LOG10_E_Q32,
    EvidenceState,
    HeartbeatWindow,
    SourceEntry,
    consistency_bound,
    judge,
    merge,
    staleness_deadline,
)
from vigilnet.vectors._envelope import Case, Family, Group, Note

__all__ = ["SSCR_FAMILY"]

_NOTES = {
    "Disjoint": Note(bug_type="BASIC", description="The deltas hold different keys."),
    "DuplicateDelta": Note(
        bug_type="EDGE_CASE",
        description="A delta is delivered more than once.",
        effect="Adding statistics instead of keeping the newest entry counts evidence twice.",
    ),
    "OutOfOrderDelta": Note(
        bug_type="EDGE_CASE",
        description="An older entry of a source arrives after a newer one.",
        effect="Taking the last arrival instead of the highest sequence goes back in time.",
    ),
    "Equivocation": Note(
        bug_type="BYZANTINE",
        description="Two different entries with one sequence number: the larger (sequence, count, llrSum) wins on every replica.",
        effect="Any other tie rule lets replicas diverge.",
    ),
    "Phi": Note(bug_type="BASIC", description="Fixed-point phi accrual, floored."),
    "GapNotSampled": Note(
        bug_type="EDGE_CASE",
        description="An interval longer than maxInterval is a gap: it moves the last arrival but is not a sample.",
    ),
    "Bootstrap": Note(
        bug_type="EDGE_CASE",
        description="No interval yet: the bootstrap interval stands in for the mean; time counts from watchingSince.",
    ),
    "Deadline": Note(bug_type="BASIC", description="Exact base * U(0.5, 1.5) from a 64-bit draw."),
    "DrawOutOfRange": Note(
        bug_type="INVALID_INPUT", description="A draw of 2**64 or more must be refused."
    ),
    "Final": Note(
        bug_type="BASIC", description="The bound cannot move L back across the threshold."
    ),
    "Provisional": Note(
        bug_type="BASIC", description="The bound could move L back: the verdict is not final."
    ),
    "Undecided": Note(
        bug_type="BASIC", description="L between the thresholds: UNDECIDED, never final."
    ),
    "AtTheBound": Note(
        bug_type="EDGE_CASE",
        description="L - bound equals the upper threshold (or L + bound the lower): final, by >=.",
    ),
    "BadEntry": Note(
        bug_type="INVALID_INPUT", description="A delta entry with sequence 0 must be refused."
    ),
}


def _entry(agent: str, source: str, sequence: int, count: int, llr_sum: int) -> dict[str, Any]:
    return {
        "agent": agent,
        "source": source,
        "sequence": sequence,
        "count": count,
        "llrSum": llr_sum,
    }


def _to_state(entries: Sequence[Mapping[str, Any]]) -> EvidenceState:
    return EvidenceState.of(
        [
            (
                (e["agent"], e["source"]),
                SourceEntry(
                    sequence=e["sequence"],
                    stats=EvidenceStats(count=e["count"], llr_sum=e["llrSum"]),
                ),
            )
            for e in entries
        ]
    )


def _from_state(state: EvidenceState) -> list[dict[str, Any]]:
    return [
        _entry(agent, source, e.sequence, e.stats.count, e.stats.llr_sum)
        for (agent, source), e in state.entries
    ]


_S = SCALE
_MERGES: list[tuple[str, tuple[str, ...], list[list[dict[str, Any]]]]] = [
    (
        "two sources, one delta each",
        ("Disjoint",),
        [[_entry("a", "m0", 1, 1, _S)], [_entry("a", "m1", 2, 2, -_S)]],
    ),
    (
        "the same delta three times",
        ("DuplicateDelta",),
        [[_entry("a", "m0", 3, 3, 2 * _S)]] * 3,
    ),
    (
        "newer entry first, then the older one",
        ("OutOfOrderDelta",),
        [[_entry("a", "m0", 5, 5, 3 * _S)], [_entry("a", "m0", 2, 2, 2 * _S)]],
    ),
    (
        "duplicates and reordering over two agents",
        ("DuplicateDelta", "OutOfOrderDelta"),
        [
            [_entry("a", "m0", 2, 2, _S), _entry("b", "m1", 1, 1, -_S)],
            [_entry("a", "m0", 1, 1, _S)],
            [_entry("b", "m1", 4, 4, -3 * _S), _entry("a", "m0", 2, 2, _S)],
            [_entry("b", "m1", 1, 1, -_S)],
        ],
    ),
    (
        "equivocation: same sequence, different sums",
        ("Equivocation",),
        [[_entry("a", "m2", 4, 4, -4 * _S)], [_entry("a", "m2", 4, 4, 4 * _S)]],
    ),
    (
        "equivocation: same sequence, different counts, other order",
        ("Equivocation",),
        [[_entry("a", "m2", 4, 3, 0)], [_entry("a", "m2", 4, 2, 2 * _S)]],
    ),
]

#: (comment, flags, arrivals, now, capacity, bootstrap, max_interval, watching_since)
_PHIS: list[tuple[str, tuple[str, ...], list[int], int, int, int, int | None, int]] = [
    (
        "regular 1000-tick heartbeats, 1 interval late",
        ("Phi",),
        [0, 1000, 2000, 3000],
        4000,
        100,
        1000,
        None,
        0,
    ),
    ("regular, 5 intervals late", ("Phi",), [0, 1000, 2000, 3000], 8000, 100, 1000, None, 0),
    ("irregular arrivals", ("Phi",), [0, 700, 1900, 2500, 3600, 4100], 5000, 100, 1000, None, 0),
    (
        "window keeps the last 3 intervals",
        ("Phi",),
        [0, 100, 200, 1200, 2200, 3200],
        4000,
        3,
        100,
        None,
        0,
    ),
    ("right at the last heartbeat", ("Phi",), [0, 10, 20], 20, 8, 10, None, 0),
    (
        "a long gap is not a sample",
        ("GapNotSampled",),
        [0, 10, 20, 30, 500, 510],
        560,
        8,
        10,
        20,
        0,
    ),
    ("no heartbeat yet", ("Bootstrap",), [], 1500, 8, 1000, None, 500),
    ("one heartbeat, no interval yet", ("Bootstrap",), [300], 2300, 8, 1000, None, 0),
]

_DEADLINES: list[tuple[int, int]] = [
    (1000, 0),
    (1000, 1 << 63),
    (1000, (1 << 64) - 1),
    (1000, 0x0123456789ABCDEF),
    (60_000, 0xFEDCBA9876543210),
    (3, (1 << 63) - 1),
    (2, 0),
    (7, 0x5555555555555555),
]

#: (log_odds, lambda_max, rate, staleness, unreachable)
_FINALITY: list[tuple[int, int, str, int, int]] = [
    (10 * _S, _S, "1/10", 30, 2),
    (8 * _S, _S, "1/10", 30, 2),
    (9 * _S, _S, "1/10", 30, 2),
    (-12 * _S, _S, "1/4", 10, 3),
    (-4 * _S, _S, "1/4", 10, 3),
    (5 * _S, 8 * _S, "1/1000", 999, 1),
    (5 * _S, 8 * _S, "1/1000", 1001, 1),
    (-20 * _S, _S, "1/4", 10, 3),
    (3 * _S, _S, "3", 5, 0),
    (2 * _S, _S, "3", 5, 0),
    (_S // 2, _S, "1", 1, 1),
]
_UPPER, _LOWER = 3 * _S, -3 * _S
#: Every group carries the constants (the envelope's group objects are closed
#: and list every property as required).
_CONSTANTS = {"log10EQ32": LOG10_E_Q32, "upper": _UPPER, "lower": _LOWER}


def _build() -> Iterator[Group]:
    merges = []
    for comment, flags, deltas in _MERGES:
        state = EvidenceState()
        for delta in deltas:
            state = merge(state, _to_state(delta))
        merges.append(
            Case(
                comment=comment,
                result="valid",
                flags=flags,
                fields={"deltas": deltas, "merged": _from_state(state)},
            )
        )
    merges.append(
        Case(
            comment="an entry with sequence 0",
            result="invalid",
            flags=("BadEntry",),
            fields={"deltas": [[_entry("a", "m0", 0, 0, 0)]], "merged": []},
        )
    )
    yield Group(type="CrdtMerge", fields=_CONSTANTS, cases=tuple(merges))

    phis = []
    for comment, flags, arrivals, now, capacity, bootstrap, max_interval, since in _PHIS:
        window = HeartbeatWindow(
            capacity=capacity, bootstrap_interval=bootstrap, max_interval=max_interval
        )
        for at in arrivals:
            window = window.arrive(at)
        phis.append(
            Case(
                comment=comment,
                result="valid",
                flags=flags,
                fields={
                    "arrivals": arrivals,
                    "now": now,
                    "capacity": capacity,
                    "bootstrapInterval": bootstrap,
                    "maxInterval": max_interval,
                    "watchingSince": since,
                    "phi": window.phi_at(now, since),
                },
            )
        )
    yield Group(type="PhiAccrual", fields=_CONSTANTS, cases=tuple(phis))

    deadlines = [
        Case(
            comment=f"base {base}, draw {draw:#018x}",
            result="valid",
            flags=("Deadline",),
            fields={"base": base, "draw": str(draw), "deadline": staleness_deadline(base, draw)},
        )
        for base, draw in _DEADLINES
    ]
    deadlines.append(
        Case(
            comment="draw 2**64",
            result="invalid",
            flags=("DrawOutOfRange",),
            fields={"base": 1000, "draw": str(1 << 64)},
        )
    )
    yield Group(type="StalenessDeadline", fields=_CONSTANTS, cases=tuple(deadlines))

    finals = []
    for log_odds, lambda_max, rate, staleness, unreachable in _FINALITY:
        bound = consistency_bound(lambda_max, Fraction(rate), staleness, unreachable)
        judgement = judge(log_odds, upper=_UPPER, lower=_LOWER, margin=bound)
        at_bound = log_odds - bound == _UPPER or log_odds + bound == _LOWER
        if judgement.verdict is Verdict.UNDECIDED:
            flags = ("Undecided",)
        elif at_bound:
            flags = ("AtTheBound",)
        else:
            flags = ("Final",) if judgement.final else ("Provisional",)
        finals.append(
            Case(
                comment=f"L = {Fraction(log_odds, SCALE)} nats, bound over {unreachable} sources",
                result="valid",
                flags=flags,
                fields={
                    "logOdds": log_odds,
                    "lambdaMax": lambda_max,
                    "rate": rate,
                    "staleness": staleness,
                    "unreachable": unreachable,
                    "bound": bound,
                    "verdict": judgement.verdict.value,
                    "final": judgement.final,
                },
            )
        )
    yield Group(type="Finality", fields=_CONSTANTS, cases=tuple(finals))


def _verify_merge(test: Mapping[str, Any]) -> str | None:
    try:
        state = _to_state([e for delta in test["deltas"] for e in delta])
    except VigilnetError as exc:
        return None if test["result"] == "invalid" else f"refused a valid delta: {exc}"
    if test["result"] == "invalid":
        return "accepted an entry that must be refused"
    got = _from_state(state)
    return None if got == test["merged"] else f"merged {got} != {test['merged']}"


def _verify_phi(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    intervals: list[int] = []
    last = None
    for at in test["arrivals"]:
        if last is not None and at > last:
            gap = at - last
            if test["maxInterval"] is None or gap <= test["maxInterval"]:
                intervals.append(gap)
        last = at
    intervals = intervals[-test["capacity"] :] if intervals else []
    start = last if last is not None else test["watchingSince"]
    count, total = (len(intervals), sum(intervals)) if intervals else (1, test["bootstrapInterval"])
    exact = Fraction((test["now"] - start) * count * group["log10EQ32"], total * SCALE)
    want = exact.numerator // exact.denominator
    return None if want == test["phi"] else f"phi {want} != {test['phi']}"


def _verify_deadline(test: Mapping[str, Any]) -> str | None:
    draw = int(test["draw"])
    if not 0 <= draw < 1 << 64:
        return None if test["result"] == "invalid" else "a valid test has an invalid draw"
    if test["result"] == "invalid":
        return "accepted a draw that must be refused"
    exact = Fraction(test["base"]) * (Fraction(1, 2) + Fraction(draw, 1 << 64))
    want = exact.numerator // exact.denominator
    return None if want == test["deadline"] else f"deadline {want} != {test['deadline']}"


def _verify_finality(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    terms = Fraction(test["rate"]) * test["staleness"]
    bound = test["lambdaMax"] * -(-terms.numerator // terms.denominator) * test["unreachable"]
    log_odds, upper, lower = test["logOdds"], group["upper"], group["lower"]
    if log_odds >= upper:
        verdict, final = "flagged", log_odds - bound >= upper
    elif log_odds <= lower:
        verdict, final = "cleared", log_odds + bound <= lower
    else:
        verdict, final = "undecided", False
    got = (bound, verdict, final)
    want = (test["bound"], test["verdict"], test["final"])
    return None if got == want else f"(bound, verdict, final) {got} != {want}"


def _verify(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    kind = group["type"]
    if kind == "CrdtMerge":
        return _verify_merge(test)
    if kind == "PhiAccrual":
        return _verify_phi(group, test)
    if kind == "StalenessDeadline":
        return _verify_deadline(test)
    if kind == "Finality":
        return _verify_finality(group, test)
    return f"unknown group type {kind}"


_ENTRY_SCHEMA = {
    "type": "object",
    "properties": {
        "agent": {"type": "string"},
        "source": {"type": "string"},
        "sequence": {"type": "integer"},
        "count": {"type": "integer"},
        "llrSum": {"type": "integer"},
    },
    "required": ["agent", "source", "sequence", "count", "llrSum"],
    "additionalProperties": False,
}

SSCR_FAMILY = Family(
    name="sscr",
    algorithm="vigilnet SSCR: evidence CRDT merge, fixed-point phi accrual, jittered deadlines, finality bound",
    header=(
        "CrdtMerge: apply the deltas in order to an empty replica; per (agent, source) keep the entry with the",
        "largest (sequence, count, llrSum); the result is sorted by (agent, source).",
        "PhiAccrual: phi = floor(elapsed * n * log10EQ32 / (intervalSum * 65536)) over the last `capacity`",
        "intervals (longer than maxInterval: a gap, not a sample); none yet: n = 1, intervalSum = bootstrapInterval.",
        "StalenessDeadline: deadline = floor(base * (2**63 + draw) / 2**64); draw is a decimal string < 2**64.",
        "Finality: bound = lambdaMax * ceil(rate * staleness) * unreachable; FLAGGED if L >= upper (final iff",
        "L - bound >= upper), CLEARED if L <= lower (final iff L + bound <= lower), else UNDECIDED, never final.",
        "All LLR quantities are fixed point with 16 fraction bits (65536 = 1 nat).",
        "Every group carries the constants log10EQ32, upper and lower (the Finality thresholds).",
    ),
    notes=_NOTES,
    group_schema={
        "type": {"enum": ["CrdtMerge", "PhiAccrual", "StalenessDeadline", "Finality"]},
        "properties": {
            "log10EQ32": {"type": "integer"},
            "upper": {"type": "integer"},
            "lower": {"type": "integer"},
        },
    },
    test_schema={
        "properties": {
            "deltas": {"type": "array", "items": {"type": "array", "items": _ENTRY_SCHEMA}},
            "merged": {"type": "array", "items": _ENTRY_SCHEMA},
            "arrivals": {"type": "array", "items": {"type": "integer"}},
            "now": {"type": "integer"},
            "capacity": {"type": "integer"},
            "bootstrapInterval": {"type": "integer"},
            "maxInterval": {"type": ["integer", "null"]},
            "watchingSince": {"type": "integer"},
            "phi": {"type": "integer"},
            "base": {"type": "integer"},
            "draw": {"type": "string", "pattern": "^[0-9]+$"},
            "deadline": {"type": "integer"},
            "logOdds": {"type": "integer"},
            "lambdaMax": {"type": "integer"},
            "rate": {"type": "string", "pattern": "^[0-9]+(/[0-9]+)?$"},
            "staleness": {"type": "integer"},
            "unreachable": {"type": "integer"},
            "bound": {"type": "integer"},
            "verdict": {"enum": ["flagged", "cleared", "undecided"]},
            "final": {"type": "boolean"},
        },
        "required": [],
    },
    build=_build,
    verify_case=_verify,
)
