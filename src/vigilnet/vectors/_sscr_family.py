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
* ``EntrySignature``: a source's Ed25519 signature over the entry's sign
  bytes ``"vigilnet/sscr/entry/v1" 0x00 || canonical_cbor({config_hash,
  agent, source, sequence, count, llr_sum})``; the sign bytes are given, the
  verifier rebuilds them with :mod:`cbor2` directly and checks the signature
  with libsodium directly (a different path from ``entry_verifies``).
* ``WireDecode``: one valid encoding of every SSCR message type and
  encodings that a decoder must refuse, each with the refusal's reason and
  the limits it was decoded under (``maxEntries``, ``maxConvictions``,
  ``maxCount``).

Generated through :mod:`vigilnet.protocols.sscr`; verified by recomputing
every answer with :class:`fractions.Fraction` arithmetic written here, and
merges by folding every delta entry through :meth:`EvidenceState.of`, a
different path from :func:`merge`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction
from typing import Any

import cbor2
import nacl.bindings
import nacl.exceptions

from vigilnet.crypto import SigningKey
from vigilnet.encoding import encode
from vigilnet.errors import RemoteProtocolError, VigilnetError
from vigilnet.evidence import EvidenceStats, Verdict
from vigilnet.fixedpoint import SCALE
from vigilnet.protocols.sscr import (
    LOG10_E_Q32,
    Conviction,
    ConvictionSet,
    EvidenceState,
    Heartbeat,
    HeartbeatWindow,
    Message,
    SourceEntry,
    SourceReport,
    SscrConfig,
    SuspicionReported,
    SyncRequest,
    SyncResponse,
    WireLimits,
    consistency_bound,
    decode_message,
    encode_message,
    entry_sign_bytes,
    judge,
    merge,
    sign_entry,
    staleness_deadline,
)
from vigilnet.vectors._envelope import Case, Family, Group, Note, hex_string

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
    "SignedEntry": Note(bug_type="BASIC", description="A source's valid signature on its entry."),
    "ForgedEntry": Note(
        bug_type="BYZANTINE",
        description="A signature that is not the source's over these sign bytes: another agent, another configuration, other statistics, a damaged signature.",
        effect="Accepting it lets any peer rewrite or convict an honest source.",
    ),
    "WireMessage": Note(bug_type="BASIC", description="A valid encoding of one message type."),
    "MalformedMessage": Note(
        bug_type="INVALID_INPUT",
        description="Not a message of its type: wrong fields, types or ranges, or not canonical.",
    ),
    "OverLimit": Note(
        bug_type="RESOURCE",
        description="Beyond a per-type limit taken from the configuration (entries, convictions, bytes, depth).",
        effect="Accepting it lets a peer grow the receiver's memory and work without bound.",
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


#: The deployment the wire and signature vectors are made for: nodes a, b,
#: c; sources ma, mb, mc hosted one each, with keys from fixed seeds.
_WIRE_SOURCES = (("ma", "a"), ("mb", "b"), ("mc", "c"))
_WIRE_KEYS = {
    name: SigningKey(hashlib.sha256(b"vigilnet-vectors/sscr/source\x00" + name.encode()).digest())
    for name, _ in _WIRE_SOURCES
}
_WIRE_CONFIG = SscrConfig(
    node="a",
    peers=("b", "c"),
    sources=_WIRE_SOURCES,
    source_keys=tuple((n, bytes(k.verify_key)) for n, k in _WIRE_KEYS.items()),
    lambda_max=_S,
    rate=Fraction(1),
    upper=2 * _S,
    lower=-2 * _S,
    deadline_base=10,
    phi_threshold=4 * _S,
    max_agents=2,
)
_LIMITS = WireLimits.of(_WIRE_CONFIG)


def _signed(agent: str, source: str, sequence: int, count: int, llr_sum: int) -> SourceEntry:
    return sign_entry(
        _WIRE_KEYS[source],
        _WIRE_CONFIG.config_hash,
        agent=agent,
        source=source,
        sequence=sequence,
        stats=EvidenceStats(count=count, llr_sum=llr_sum),
    )


def _wire_messages() -> list[tuple[str, Message]]:
    equivocation = Conviction(
        agent="x",
        source="mb",
        lower=_signed("x", "mb", 2, 2, -2 * _S),
        higher=_signed("x", "mb", 2, 2, 2 * _S),
    )
    return [
        ("heartbeat", Heartbeat(sender="b")),
        ("suspicion", SuspicionReported(peer="c", observer="b")),
        ("report", SourceReport(agent="w", source="ma", entry=_signed("w", "ma", 1, 1, _S))),
        ("conviction", equivocation),
        (
            "sync_request",
            SyncRequest(
                sender="b",
                request_time=2,
                digest=((("x", "ma"), (1, 1, _S)), (("y", "mc"), (4, 4, 0))),
                convicted=(("mb", ("x", (2, 2, -2 * _S), (2, 2, 2 * _S))),),
            ),
        ),
        (
            "sync_response",
            SyncResponse(
                sender="b",
                request_time=3,
                delta=EvidenceState.of(
                    {
                        ("x", "mb"): _signed("x", "mb", 1, 1, _S),
                        ("x", "mc"): _signed("x", "mc", 2, 2, -_S),
                    }
                ),
                convictions=ConvictionSet.of([equivocation]),
            ),
        ),
    ]


def _invalid_wire() -> list[tuple[str, tuple[str, ...], str, bytes, str]]:
    """(comment, flags, type, bytes, reason)."""
    by_type = {kind: encode_message(m) for kind, m in _wire_messages()}
    report = cbor2.loads(by_type["report"])["body"]
    response = cbor2.loads(by_type["sync_response"])["body"]
    request = cbor2.loads(by_type["sync_request"])["body"]
    conviction = cbor2.loads(by_type["conviction"])["body"]

    def wire(kind: str, body: dict[str, Any]) -> bytes:
        return encode({"type": kind, "body": _tuples(body)})

    entries = [tuple(e) for e in response["entries"]]
    sig = b"\0" * 64
    bad = "MalformedMessage"
    return [
        ("a trailing byte", (bad,), "heartbeat", by_type["heartbeat"] + b"\0", "trailing bytes"),
        (
            "an unknown type",
            (bad,),
            "ping",
            encode({"type": "ping", "body": {}}),
            "unknown message type",
        ),
        (
            "an extra field",
            (bad,),
            "report",
            wire("report", {**report, "extra": 0}),
            "report fields",
        ),
        (
            "sequence 0",
            (bad,),
            "report",
            wire("report", {**report, "sequence": 0}),
            "integer out of range",
        ),
        (
            "count is a boolean",
            (bad,),
            "report",
            wire("report", {**report, "count": True}),
            "integer out of range",
        ),
        (
            "count over maxCount (2**39 // 3)",
            ("OverLimit",),
            "report",
            wire("report", {**report, "count": _LIMITS.max_count + 1}),
            "integer out of range",
        ),
        (
            "a 63-byte signature",
            (bad,),
            "report",
            wire("report", {**report, "signature": sig[:63]}),
            "bad signature field",
        ),
        (
            "an empty agent name",
            (bad,),
            "report",
            wire("report", {**report, "agent": ""}),
            "bad name",
        ),
        (
            "a 257-byte agent name",
            ("OverLimit",),
            "report",
            wire("report", {**report, "agent": "x" * 257}),
            "bad name",
        ),
        (
            "a heartbeat past its type's byte limit",
            ("OverLimit",),
            "heartbeat",
            wire("heartbeat", {"sender": "b" * 600}),
            "too large for its type",
        ),
        (
            "entries not sorted by (agent, source)",
            (bad,),
            "sync_response",
            wire("sync_response", {**response, "entries": entries[::-1]}),
            "entries not in canonical order",
        ),
        (
            "an entry twice",
            (bad,),
            "sync_response",
            wire("sync_response", {**response, "entries": [entries[0], entries[0]]}),
            "entries not in canonical order",
        ),
        (
            "7 entries: over max_agents (2) x sources (3)",
            ("OverLimit",),
            "sync_response",
            wire(
                "sync_response",
                {**response, "entries": [(f"agent-{i}", "mb", 1, 1, 0, sig) for i in range(7)]},
            ),
            "too many entries",
        ),
        (
            "4 convictions: over one per source",
            ("OverLimit",),
            "sync_response",
            wire("sync_response", {**response, "convictions": [conviction] * 4}),
            "too many convictions",
        ),
        (
            "a conviction's entries out of order",
            (bad,),
            "conviction",
            wire(
                "conviction",
                {**conviction, "lower": conviction["higher"], "higher": conviction["lower"]},
            ),
            "conviction entries not in order",
        ),
        (
            "request time 2**63",
            (bad,),
            "sync_request",
            wire("sync_request", {**request, "request_time": 1 << 63}),
            "integer out of range",
        ),
        (
            "nested six deep",
            ("OverLimit",),
            "sync_request",
            wire("sync_request", {**request, "digest": [[[[[1]]]]]}),
            "too deep",
        ),
    ]


def _tuples(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _limit_fields() -> dict[str, int]:
    return {
        "maxEntries": _LIMITS.max_entries,
        "maxConvictions": _LIMITS.max_convictions,
        "maxCount": _LIMITS.max_count,
    }


def _signature_cases() -> Iterator[Case]:
    h = _WIRE_CONFIG.config_hash
    genuine = _signed("x", "mb", 3, 3, -_S)
    other = hashlib.sha256(b"another deployment").digest()
    damaged = bytes([genuine.signature[0] ^ 1]) + genuine.signature[1:]
    rows: list[tuple[str, tuple[str, ...], str, bytes, str, int, int, int, bytes, bool]] = [
        ("mb on x", ("SignedEntry",), "x", h, "mb", 3, 3, -_S, genuine.signature, True),
        (
            "ma on y, one term",
            ("SignedEntry",),
            "y",
            h,
            "ma",
            1,
            1,
            _S,
            _signed("y", "ma", 1, 1, _S).signature,
            True,
        ),
        (
            "mb's signature on x, presented for y",
            ("ForgedEntry",),
            "y",
            h,
            "mb",
            3,
            3,
            -_S,
            genuine.signature,
            False,
        ),
        (
            "under another configuration hash",
            ("ForgedEntry",),
            "x",
            other,
            "mb",
            3,
            3,
            -_S,
            genuine.signature,
            False,
        ),
        ("other statistics", ("ForgedEntry",), "x", h, "mb", 4, 3, -_S, genuine.signature, False),
        (
            "one bit of the signature flipped",
            ("ForgedEntry",),
            "x",
            h,
            "mb",
            3,
            3,
            -_S,
            damaged,
            False,
        ),
        (
            "signed by mc, presented as mb's",
            ("ForgedEntry",),
            "x",
            h,
            "mb",
            3,
            3,
            -_S,
            sign_entry(
                _WIRE_KEYS["mc"],
                h,
                agent="x",
                source="mb",
                sequence=3,
                stats=EvidenceStats(count=3, llr_sum=-_S),
            ).signature,
            False,
        ),
    ]
    for comment, flags, agent, config_hash, source, sequence, count, llr_sum, signature, ok in rows:
        message = entry_sign_bytes(
            config_hash, agent, source, sequence, EvidenceStats(count=count, llr_sum=llr_sum)
        )
        yield Case(
            comment=comment,
            result="valid" if ok else "invalid",
            flags=flags,
            fields={
                "publicKey": bytes(_WIRE_KEYS[source].verify_key).hex(),
                "configHash": config_hash.hex(),
                "agent": agent,
                "source": source,
                "sequence": sequence,
                "count": count,
                "llrSum": llr_sum,
                "signBytes": message.hex(),
                "signature": signature.hex(),
            },
        )


def _build() -> Iterator[Group]:
    yield from _build_arithmetic()
    yield Group(type="EntrySignature", fields=_CONSTANTS, cases=tuple(_signature_cases()))
    wire = [
        Case(
            comment=f"a valid {kind}",
            result="valid",
            flags=("WireMessage",),
            fields={
                "messageType": kind,
                "message": encode_message(message).hex(),
                "reason": "",
                **_limit_fields(),
            },
        )
        for kind, message in _wire_messages()
    ]
    for comment, flags, kind, data, reason in _invalid_wire():
        wire.append(
            Case(
                comment=comment,
                result="invalid",
                flags=flags,
                fields={
                    "messageType": kind,
                    "message": data.hex(),
                    "reason": reason,
                    **_limit_fields(),
                },
            )
        )
    yield Group(type="WireDecode", fields=_CONSTANTS, cases=tuple(wire))


def _build_arithmetic() -> Iterator[Group]:
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


_ENTRY_PREFIX = b"vigilnet/sscr/entry/v1\x00"


def _verify_signature(test: Mapping[str, Any]) -> str | None:
    fields = {
        "config_hash": bytes.fromhex(test["configHash"]),
        "agent": test["agent"],
        "source": test["source"],
        "sequence": test["sequence"],
        "count": test["count"],
        "llr_sum": test["llrSum"],
    }
    message = _ENTRY_PREFIX + cbor2.dumps(fields, canonical=True)
    if message.hex() != test["signBytes"]:
        return "sign bytes differ from the fields"
    signature = bytes.fromhex(test["signature"])
    try:
        nacl.bindings.crypto_sign_open(signature + message, bytes.fromhex(test["publicKey"]))
        ok = len(signature) == 64
    except nacl.exceptions.BadSignatureError:
        ok = False
    want = test["result"] == "valid"
    return (
        None
        if ok == want
        else f"signature {'verifies' if ok else 'fails'}, expected {test['result']}"
    )


_TYPE_NAMES = {
    Heartbeat: "heartbeat",
    SuspicionReported: "suspicion",
    SourceReport: "report",
    Conviction: "conviction",
    SyncRequest: "sync_request",
    SyncResponse: "sync_response",
}


def _verify_wire(test: Mapping[str, Any]) -> str | None:
    limits = WireLimits(
        max_entries=test["maxEntries"],
        max_convictions=test["maxConvictions"],
        max_count=test["maxCount"],
    )
    data = bytes.fromhex(test["message"])
    try:
        message = decode_message(data, limits)
    except RemoteProtocolError as exc:
        if test["result"] != "invalid":
            return f"refused a valid message: {exc}"
        reason = getattr(exc, "reason", "")
        return (
            None if reason == test["reason"] else f"refused for {reason!r}, not {test['reason']!r}"
        )
    if test["result"] == "invalid":
        return "accepted a message that must be refused"
    if _TYPE_NAMES[type(message)] != test["messageType"]:
        return f"decoded as {_TYPE_NAMES[type(message)]}"
    return None if encode_message(message) == data else "re-encoding differs"


def _verify(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    kind = group["type"]
    if kind == "EntrySignature":
        return _verify_signature(test)
    if kind == "WireDecode":
        return _verify_wire(test)
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
    algorithm="vigilnet SSCR: evidence CRDT merge, fixed-point phi accrual, jittered deadlines, finality bound, entry signatures, wire codec",
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
        "EntrySignature: signBytes = 'vigilnet/sscr/entry/v1' 0x00 || canonical CBOR of {config_hash, agent,",
        "source, sequence, count, llr_sum}; valid iff the Ed25519 signature verifies under publicKey.",
        "WireDecode: decode message (hex) under maxEntries, maxConvictions and maxCount; valid ones decode as",
        "messageType and re-encode to the same bytes; invalid ones are refused for `reason`.",
    ),
    notes=_NOTES,
    group_schema={
        "type": {
            "enum": [
                "CrdtMerge",
                "PhiAccrual",
                "StalenessDeadline",
                "Finality",
                "EntrySignature",
                "WireDecode",
            ]
        },
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
            "publicKey": hex_string("the source's Ed25519 public key"),
            "configHash": hex_string("SscrConfig.config_hash"),
            "agent": {"type": "string"},
            "source": {"type": "string"},
            "sequence": {"type": "integer"},
            "count": {"type": "integer"},
            "llrSum": {"type": "integer"},
            "signBytes": hex_string("the bytes the source signs"),
            "signature": hex_string("64-byte Ed25519 signature"),
            "messageType": {"type": "string"},
            "message": hex_string("the wire bytes"),
            "reason": {"type": "string", "description": "why a decoder refuses it ('' if valid)"},
            "maxEntries": {"type": "integer"},
            "maxConvictions": {"type": "integer"},
            "maxCount": {"type": "integer"},
        },
        "required": [],
    },
    build=_build,
    verify_case=_verify,
)
