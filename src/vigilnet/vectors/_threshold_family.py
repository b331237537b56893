"""Vector family ``quorum_thresholds``: exact quorum arithmetic.

For each threshold ``t`` (an exact fraction) and group size ``n`` in 1..64:
the quorum ``ceil(t*n)``, the blocking size ``n - q + 1``, the most
Byzantine members agreement tolerates ``2q - n - 1`` and the most faulty
members liveness tolerates ``n - q``.  Invalid cases are configurations a
node must refuse.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any

from vigilnet.errors import LocalProtocolError
from vigilnet.thresholds import blocking, max_live_faults, max_safe_faults, parse_threshold, quorum
from vigilnet.vectors._envelope import Case, Family, Group, Note

__all__ = ["THRESHOLD_FAMILY"]

_THRESHOLDS = ["51/100", "14/25", "3/5", "2/3", "7/10", "3/4", "4/5", "1"]
_INVALID = [
    ("1/2", 5, "ThresholdAtMostHalf"),
    ("2/5", 5, "ThresholdAtMostHalf"),
    ("0", 4, "ThresholdAtMostHalf"),
    ("5/4", 4, "ThresholdAboveOne"),
    ("3/4", 0, "EmptyGroup"),
]

_NOTES = {
    "Exact": Note(
        bug_type="BASIC",
        description="Exact integer ceiling; a float computation can be off by one (ceil(0.56 * 25) is 15 in binary floating point, 14 exactly).",
    ),
    "FloatTrap": Note(
        bug_type="EDGE_CASE",
        description="t * n is an integer, or a binary float rounds it across one: exactly where floating point gives the wrong quorum.",
        effect="A quorum one too small breaks agreement; one too large breaks liveness.",
    ),
    "ThresholdAtMostHalf": Note(
        bug_type="MISCONFIGURATION",
        description="t <= 1/2: two quorums need not intersect.",
        effect="Agreement cannot hold.",
    ),
    "ThresholdAboveOne": Note(
        bug_type="MISCONFIGURATION",
        description="t > 1: the quorum exceeds the group.",
        effect="No decision is ever possible.",
    ),
    "EmptyGroup": Note(bug_type="MISCONFIGURATION", description="n = 0."),
}


def _float_trap(t: Fraction, n: int) -> bool:
    return (t * n).denominator == 1 or math.ceil(float(t) * n) != math.ceil(t * n)


def _build() -> Iterator[Group]:
    for text in _THRESHOLDS:
        t = parse_threshold(text)
        cases = []
        for n in range(1, 65):
            q = quorum(t, n)
            cases.append(
                Case(
                    comment=f"t = {text}, n = {n}",
                    result="valid",
                    flags=("FloatTrap",) if _float_trap(t, n) else ("Exact",),
                    fields={
                        "n": n,
                        "quorum": q,
                        "blocking": blocking(n, q),
                        "maxSafeFaults": max_safe_faults(n, q),
                        "maxLiveFaults": max_live_faults(n, q),
                    },
                )
            )
        yield Group(type="QuorumThresholds", fields={"threshold": text}, cases=tuple(cases))
    for text, n, flag in _INVALID:
        yield Group(
            type="QuorumThresholds",
            fields={"threshold": text},
            cases=(
                Case(
                    comment=f"t = {text}, n = {n} must be refused",
                    result="invalid",
                    flags=(flag,),
                    fields={"n": n},
                ),
            ),
        )


def _verify(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    try:
        t = parse_threshold(group["threshold"])
        q = quorum(t, test["n"])
        got = {
            "quorum": q,
            "blocking": blocking(test["n"], q),
            "maxSafeFaults": max_safe_faults(test["n"], q),
            "maxLiveFaults": max_live_faults(test["n"], q),
        }
    except LocalProtocolError as exc:
        return None if test["result"] == "invalid" else f"refused a valid configuration: {exc}"
    if test["result"] == "invalid":
        return "accepted a configuration that must be refused"
    wrong = [
        f"{name} {got[name]} != {test.get(name)}" for name in got if got[name] != test.get(name)
    ]
    return "; ".join(wrong) or None


THRESHOLD_FAMILY = Family(
    name="quorum_thresholds",
    algorithm="vigilnet quorum thresholds q = ceil(t * n)",
    header=(
        "quorum = ceil(t * n) computed exactly (t = a/b: -(-a * n // b)); blocking = n - q + 1;",
        "maxSafeFaults = 2q - n - 1 (agreement); maxLiveFaults = n - q (liveness).",
        "A threshold must satisfy 1/2 < t <= 1 and n >= 1; invalid tests must be refused.",
    ),
    notes=_NOTES,
    group_schema={
        "type": {"enum": ["QuorumThresholds"]},
        "properties": {"threshold": {"type": "string", "pattern": "^[0-9]+(/[0-9]+)?$"}},
    },
    test_schema={
        "properties": {
            "n": {"type": "integer", "minimum": 0},
            "quorum": {"type": "integer"},
            "blocking": {"type": "integer"},
            "maxSafeFaults": {"type": "integer"},
            "maxLiveFaults": {"type": "integer"},
        },
        "required": ["n"],
    },
    build=_build,
    verify_case=_verify,
)
