"""SHAP: one aggregation step of the Secure Hierarchical Aggregation Protocol
(``spec/SHAP.tla``; the implementation is :mod:`vigilnet.protocols.shap`).

One aggregator (a regional: the tier that sees all replicas) and ``N``
children (monitors) that each observe the same agent, of which ``R``
replicas are combined by the lower median.  Variables carry the TLA+ names::

    aggByz    \\in BOOLEAN                  \\* chosen at Init when AggMayLie
    msgs      \\subseteq [src: Children, epoch: {0, 1}, val: Values,
                          body: {"own", "forged", "bad"}]
    accepted  \\in [Children -> Values \\cup {NONE}]
    banned    \\subseteq Children              \\* proven equivocators
    phase     \\in {"collecting", "closed"}
    tree      \\in Seq(Children \\X Values)      \\* committed input leaves, sorted
    total     \\in Nat                         \\* the committed inputs total
    out       \\in Values \\cup {NONE}           \\* the combined value (median)
    checked   \\in [Children -> {"wait", "ok", "alarm"}]
    struck    \\subseteq Children              \\* children with a strike this epoch
                                            \\* (without Forger: exactly banned)

The current epoch is 1; epoch 0 is the past (a replayed report).  Values are
``0..V`` with ``V = 2``: a Byzantine monitor sends only the extremes 0 and
``V`` (extreme values, two of them in one epoch is equivocation) and may
replay a report of epoch 0.

A message's ``body`` abstracts the monitor body sent with the signed report
(issue 10, item 5): ``"own"`` is the body the signer signed the digest of;
``"forged"`` is a network forger's pairing of a signed report with another
body (``Forge``); ``"bad"`` is a body a Byzantine monitor signed and that is
still wrong (out of range, wrong agents, inconsistent with its root).  Both
appear only when the constant ``Forger`` is TRUE (configuration ``forger``),
so every other configuration explores exactly the states it did before.

Actions (the rules of :mod:`vigilnet.protocols.shap._state`):

* ``Send(c)``: honest ``c`` sends its report ``[c, 1, Truth[c]]``.
* ``ByzSend(c, e, v, b)``: Byzantine ``c`` sends any ``[c, e, v, b]``, ``v``
  in ``{0, V}``, ``b`` its own body or (with ``Forger``, at epoch 1) a bad
  body it signed.  The network keeps every message (duplicates, reorders).
* ``Forge(m)``: with ``Forger``, the network pairs an honest child's sent
  report with a body its signer never signed (``body = "forged"``; a
  Byzantine signer's reports need no forger: it signs any body itself).
* ``Receive(c, e, v, b)``: rule 1: wrong epoch, below reputation
  (``LowRep`` or banned), duplicate (the same signed report: a forged copy
  signs what its original does): no change; a different signed report from an
  accepted child is equivocation (withdrawn, banned, struck); fan-in full: no
  change; else a signed bad body is struck (``struck``), a forged body is
  refused with no change (its signer did not sign it), and the own body is
  accepted.
* ``Close``: rules 3 and 4: an honest aggregator commits the accepted leaves
  and their sum and the median of exactly ``R`` replicas; a lying one
  (``aggByz``) may drop, alter (``v -> (v + 1) % (V + 1)``) or duplicate one
  child's leaf (reordering is invisible to the abstraction: leaves are
  sorted).  Its total is still the real sum of its committed leaves, because
  node hashes bind both children's sums.
* ``Check(c)``: rule 6: honest ``c`` that sent finds its own leaf
  ``<<c, Truth[c]>>`` in the tree (``"ok"``) or not (``"alarm"``: dropped,
  altered, never accepted).

Properties (always, each with its witness):

* ``Integrity``: once closed, ``total`` is the sum of the committed leaves,
  and an honest aggregator's leaves are exactly what it accepted
  (witness ``SomeCommitted``).
* ``Detectability``: an honest child whose check passed is counted,
  unaltered (witnesses ``SomeConfirmed``; with a lying aggregator
  ``AttackDetected``: an accepted honest leaf dropped or altered, and its
  child alarmed).
* ``BoundedInfluence``: an honest aggregator's combined value lies within the
  accepted honest replicas' range (witnesses ``SomeCombined``; with a
  Byzantine monitor ``ByzantineOutvoted``: its value outside that range was
  accepted and the combined value is still inside).
* ``FanInBound``: at most ``MaxFanIn`` children accepted (witness
  ``FanInReached``).
* ``ReputationGate``: no child in ``LowRep`` or ``banned`` is accepted
  (witness ``GateExercised``: such a child has a current report out).
* ``NoFraming``: no honest child is ever struck (witnesses, with
  ``Forger``: ``StrikeExercised``, a Byzantine child struck for a bad body
  it signed (not only banned for equivocation), and ``ForgeryRefused``, an honest child's report forged with
  another body and its own report still accepted).

Mutants (each killed in the default configuration ``attack``; the test
asserts the violated property and the trace length):

* ``sum_only_node_hash``: nodes hash only their total (ePrint 2018/1139): a
  lying aggregator may commit any total up to the leaves' sum (shown
  siblings with invented sums) -> ``Integrity``.
* ``no_child_inclusion_check``: the child accepts any receipt ->
  ``Detectability``.
* ``mean_not_median``: the combined value is the mean -> ``BoundedInfluence``.
* ``no_reputation_gate``: banned children are accepted -> ``ReputationGate``.
* ``no_fan_in_check``: the fan-in bound is not enforced -> ``FanInBound``.
* ``strike_unsigned_body``: the signature does not cover the body (report v1
  of issue 10, item 5), so a body that does not match counts against the
  report's signer -> ``NoFraming`` (killed in configuration ``forger``).

Distinct states (pinned in ``tests/shap/test_model.py``; TLC with the
shipped ``.cfg`` is expected to report the same, not run here): see
:data:`PINNED_COUNTS`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from vigilnet.aggregation import replica_median
from vigilnet.checker import Action, Assumption, Constants, Model, ModelFamily, Property
from vigilnet.protocols.shap import (
    bounded_influence,
    detectability,
    fan_in_bound,
    integrity,
    no_framing,
    reputation_gate,
)

__all__ = [
    "FAMILY",
    "MUTANTS",
    "MUTANT_CONFIGS",
    "MUTANT_KILLS",
    "NONE",
    "PINNED_COUNTS",
    "Message",
    "ShapState",
    "build",
]

NONE = -1
V = 2
EXTREMES = (0, V)
VALUES = tuple(range(V + 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """``[src |-> c, epoch |-> e, val |-> v, body |-> b]`` (for traces;
    states hold tuples)."""

    src: int
    epoch: int
    val: int
    body: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ShapState:
    aggByz: bool
    msgs: frozenset[tuple[int, int, int, str]]
    accepted: tuple[int, ...]
    banned: frozenset[int]
    phase: str
    tree: tuple[tuple[int, int], ...]
    total: int
    out: int | Fraction
    checked: tuple[str, ...]
    struck: frozenset[int] = frozenset()


Succ = Iterator[tuple[tuple[Hashable, ...], ShapState]]


def _set(values: tuple[Any, ...], index: int, value: Any) -> tuple[Any, ...]:
    return (*values[:index], value, *values[index + 1 :])


def _constants(constants: Constants) -> dict[str, Any]:
    def ints(key: str) -> tuple[int, ...]:
        raw = constants[key]
        if isinstance(raw, str):
            return tuple(int(x) for x in raw.split(",") if x != "")
        return tuple(int(x) for x in raw)  # type: ignore[attr-defined]

    return {
        "N": int(str(constants["N"])),
        "R": int(str(constants["R"])),
        "MaxFanIn": int(str(constants["MaxFanIn"])),
        "Byz": frozenset(ints("Byz")),
        "LowRep": frozenset(ints("LowRep")),
        "AggMayLie": str(constants["AggMayLie"]).lower() in ("true", "1"),
        "Truth": ints("Truth"),
        "Forger": str(constants["Forger"]).lower() in ("true", "1"),
    }


def _build(constants: Constants, mutant: str | None) -> Model[ShapState]:
    c = _constants(constants)
    n: int = c["N"]
    r: int = c["R"]
    fan_in: int = c["MaxFanIn"]
    byz: frozenset[int] = c["Byz"]
    low_rep: frozenset[int] = c["LowRep"]
    truth: tuple[int, ...] = c["Truth"]
    forger: bool = c["Forger"]
    byz_bodies = ("own", "bad") if forger else ("own",)
    children = range(n)
    honest = tuple(i for i in children if i not in byz)
    honest_set = frozenset(honest)

    def init() -> Iterator[ShapState]:
        for lying in (False, True) if c["AggMayLie"] else (False,):
            yield ShapState(
                aggByz=lying,
                msgs=frozenset(),
                accepted=(NONE,) * n,
                banned=frozenset(),
                phase="collecting",
                tree=(),
                total=0,
                out=NONE,
                checked=("wait",) * n,
                struck=frozenset(),
            )

    def send(s: ShapState) -> Succ:
        if s.phase != "collecting":
            return
        for i in honest:
            message = (i, 1, truth[i], "own")
            if message not in s.msgs:
                yield (i,), _with(s, msgs=s.msgs | {message})

    def byz_send(s: ShapState) -> Succ:
        if s.phase != "collecting":
            return
        for i in sorted(byz):
            for epoch in (0, 1):
                for value in EXTREMES:
                    # A bad body of a past epoch is refused as WRONG_EPOCH
                    # like its own one: only current bad bodies are new.
                    for body in byz_bodies if epoch == 1 else ("own",):
                        message = (i, epoch, value, body)
                        if message not in s.msgs:
                            yield (i, epoch, value, body), _with(s, msgs=s.msgs | {message})

    def forge(s: ShapState) -> Succ:
        if not forger or s.phase != "collecting":
            return
        for i, epoch, value, body in sorted(s.msgs):
            forged = (i, epoch, value, "forged")
            # Only honest reports: a Byzantine signer can sign any body itself.
            if i in honest_set and body == "own" and forged not in s.msgs:
                yield (i, epoch, value, body), _with(s, msgs=s.msgs | {forged})

    def count_accepted(accepted: tuple[int, ...]) -> int:
        return sum(1 for v in accepted if v != NONE)

    def receive(s: ShapState) -> Succ:
        if s.phase != "collecting":
            return
        for message in sorted(s.msgs):
            i, epoch, value, body = message
            if epoch != 1:
                continue  # WRONG_EPOCH: rejected, nothing changes
            if mutant != "no_reputation_gate" and (i in low_rep or i in s.banned):
                continue  # BELOW_REPUTATION
            held = s.accepted[i]
            # A forged copy carries its original's signed fields; a bad body
            # is another signed report.
            if held == value and body != "bad":
                continue  # DUPLICATE
            if held != NONE:  # EQUIVOCATION: withdrawn, banned and struck
                yield (
                    message,
                    _with(
                        s,
                        accepted=_set(s.accepted, i, NONE),
                        banned=s.banned | {i},
                        struck=s.struck | {i},
                    ),
                )
                continue
            if mutant != "no_fan_in_check" and count_accepted(s.accepted) >= fan_in:
                continue  # FAN_IN_EXCEEDED
            if body == "own":
                yield message, _with(s, accepted=_set(s.accepted, i, value))
            elif (body == "bad" or mutant == "strike_unsigned_body") and i not in s.struck:
                # OUT_OF_RANGE etc.: a strike (attributable)
                yield message, _with(s, struck=s.struck | {i})
            # else BODY_MISMATCH: nobody's provable fault, nothing changes

    def combine(accepted: tuple[int, ...]) -> int | Fraction:
        values = [v for v in accepted if v != NONE]
        if len(values) != r:
            return NONE
        if mutant == "mean_not_median":
            mean = Fraction(sum(values), len(values))
            return int(mean) if mean.denominator == 1 else mean
        return replica_median(values)

    def close(s: ShapState) -> Succ:
        if s.phase != "collecting":
            return
        leaves = tuple((i, v) for i, v in enumerate(s.accepted) if v != NONE)
        out = combine(s.accepted)
        trees: list[tuple[tuple[Hashable, ...], tuple[tuple[int, int], ...]]] = [
            (("honest",), leaves)
        ]
        if s.aggByz:
            for k, (i, v) in enumerate(leaves):
                trees.append((("drop", i), leaves[:k] + leaves[k + 1 :]))
                trees.append((("alter", i), _set(leaves, k, (i, (v + 1) % (V + 1)))))
                trees.append((("duplicate", i), tuple(sorted((*leaves, (i, v))))))
        for args, tree in trees:
            real = sum(v for _, v in tree)
            totals = [real]
            if mutant == "sum_only_node_hash" and s.aggByz:
                totals = list(range(real + 1))  # any total the shown siblings allow
            for total in totals:
                yield (*args, total), _with(s, phase="closed", tree=tree, total=total, out=out)

    def check(s: ShapState) -> Succ:
        if s.phase != "closed":
            return
        for i in honest:
            if s.checked[i] == "wait" and (i, 1, truth[i], "own") in s.msgs:
                counted = (i, truth[i]) in s.tree
                verdict = "ok" if counted or mutant == "no_child_inclusion_check" else "alarm"
                yield (i,), _with(s, checked=_set(s.checked, i, verdict))

    def honest_range(s: ShapState) -> tuple[int, int] | None:
        values = [s.accepted[i] for i in honest if s.accepted[i] != NONE]
        return (min(values), max(values)) if values else None

    # -- properties: the shared predicates of vigilnet.protocols.shap ------
    def integrity_holds(s: ShapState) -> bool:
        if s.phase != "closed":
            return True
        leaves = tuple((i, v) for i, v in enumerate(s.accepted) if v != NONE)
        return integrity(s.total, (v for _, v in s.tree)) and (s.aggByz or s.tree == leaves)

    def detectability_holds(s: ShapState) -> bool:
        return all(detectability(s.checked[i] == "ok", (i, truth[i]) in s.tree) for i in honest)

    def bounded_influence_holds(s: ShapState) -> bool:
        if s.aggByz or s.out == NONE:
            return True
        return bounded_influence(s.out, [s.accepted[i] for i in honest if s.accepted[i] != NONE])

    def fan_in_bound_holds(s: ShapState) -> bool:
        return fan_in_bound(count_accepted(s.accepted), fan_in)

    def reputation_gate_holds(s: ShapState) -> bool:
        accepted = [i for i in children if s.accepted[i] != NONE]
        return reputation_gate(accepted, low_rep | s.banned)

    def no_framing_holds(s: ShapState) -> bool:
        return no_framing(s.struck, honest)

    def strike_exercised(s: ShapState) -> bool:
        return bool(s.struck - s.banned)  # a strike for a signed bad body

    def forgery_refused(s: ShapState) -> bool:
        return any(
            (i, 1, truth[i], "forged") in s.msgs and s.accepted[i] == truth[i] for i in honest
        )

    def attack_detected(s: ShapState) -> bool:
        return any(
            s.checked[i] == "alarm" and s.accepted[i] == truth[i] and (i, truth[i]) not in s.tree
            for i in honest
        )

    def byzantine_outvoted(s: ShapState) -> bool:
        if s.aggByz or s.out == NONE:
            return False
        bounds = honest_range(s)
        return bounds is not None and any(
            s.accepted[b] != NONE and not bounds[0] <= s.accepted[b] <= bounds[1] for b in byz
        )

    def gate_exercised(s: ShapState) -> bool:
        return any(
            (i, 1, v, "own") in s.msgs
            for i in children
            if i in low_rep or i in s.banned
            for v in VALUES
        )

    properties: list[Property[ShapState]] = [
        Property.always("Integrity", integrity_holds),
        Property.always("Detectability", detectability_holds),
        Property.always("BoundedInfluence", bounded_influence_holds),
        Property.always("FanInBound", fan_in_bound_holds),
        Property.always("ReputationGate", reputation_gate_holds),
        Property.always("NoFraming", no_framing_holds),
        Property.sometimes("SomeCommitted", lambda s: s.phase == "closed" and s.tree != ()),
        Property.sometimes("SomeConfirmed", lambda s: "ok" in s.checked),
        Property.sometimes("SomeCombined", lambda s: not s.aggByz and s.out != NONE),
        Property.sometimes("FanInReached", lambda s: count_accepted(s.accepted) == fan_in),
    ]
    if c["AggMayLie"]:
        properties.append(Property.sometimes("AttackDetected", attack_detected))
    if byz:
        properties.append(Property.sometimes("ByzantineOutvoted", byzantine_outvoted))
    if byz or low_rep:
        properties.append(Property.sometimes("GateExercised", gate_exercised))
    if forger:
        properties.append(Property.sometimes("ForgeryRefused", forgery_refused))
    if forger and byz:
        properties.append(Property.sometimes("StrikeExercised", strike_exercised))

    def view(s: ShapState) -> Mapping[str, object]:
        return {
            "aggByz": s.aggByz,
            "msgs": frozenset(Message(src=i, epoch=e, val=v, body=b) for i, e, v, b in s.msgs),
            "accepted": {i: s.accepted[i] for i in children},
            "banned": s.banned,
            "phase": s.phase,
            "tree": s.tree,
            "total": s.total,
            "out": s.out if isinstance(s.out, int) else str(s.out),
            "checked": {i: s.checked[i] for i in children},
            "struck": s.struck,
        }

    return Model(
        name="shap",
        constants=dict(c),
        variables=(
            "aggByz",
            "msgs",
            "accepted",
            "banned",
            "phase",
            "tree",
            "total",
            "out",
            "checked",
            "struck",
        ),
        init_states=init,
        actions=(
            Action(name="Send", step=send),
            Action(name="ByzSend", step=byz_send),
            Action(name="Forge", step=forge),
            Action(name="Receive", step=receive),
            Action(name="Close", step=close),
            Action(name="Check", step=check),
        ),
        properties=tuple(properties),
        view=view,
        assumptions=(
            Assumption(name="ReplicasOdd", holds=r >= 1 and r % 2 == 1),
            Assumption(name="FanInCoversReplicas", holds=fan_in >= r),
            Assumption(name="TruthTyped", holds=len(truth) == n and set(truth) <= set(VALUES)),
            Assumption(name="ByzWithinChildren", holds=byz <= frozenset(children)),
            Assumption(name="MedianTolerates", holds=len(byz) <= (r - 1) // 2),
        ),
    )


def _with(s: ShapState, **changes: Any) -> ShapState:
    fields = {name: getattr(s, name) for name in ShapState.__dataclass_fields__}
    fields.update(changes)
    return ShapState(**fields)


def build(constants: Constants) -> Model[ShapState]:
    return _build(constants, None)


def _mutant(name: str) -> Any:
    def builder(constants: Constants) -> Model[ShapState]:
        return _build(constants, name)

    return builder


MUTANTS = (
    "sum_only_node_hash",
    "no_child_inclusion_check",
    "mean_not_median",
    "no_reputation_gate",
    "no_fan_in_check",
    "strike_unsigned_body",
)

#: The property each mutant breaks in the default configuration.
MUTANT_KILLS: Mapping[str, str] = {
    "sum_only_node_hash": "Integrity",
    "no_child_inclusion_check": "Detectability",
    "mean_not_median": "BoundedInfluence",
    "no_reputation_gate": "ReputationGate",
    "no_fan_in_check": "FanInBound",
    "strike_unsigned_body": "NoFraming",
}

#: Mutants killed outside the default configuration.
MUTANT_CONFIGS: Mapping[str, str] = {"strike_unsigned_body": "forger"}

_CONFIGS: Mapping[str, Constants] = {
    "attack": {
        "N": 4,
        "R": 3,
        "MaxFanIn": 3,
        "Byz": "3",
        "LowRep": "",
        "AggMayLie": True,
        "Truth": "1,1,1,0",
        "Forger": False,
    },
    "honest": {
        "N": 3,
        "R": 3,
        "MaxFanIn": 3,
        "Byz": "",
        "LowRep": "",
        "AggMayLie": False,
        "Truth": "0,1,2",
        "Forger": False,
    },
    "byzantine_monitor": {
        "N": 3,
        "R": 3,
        "MaxFanIn": 3,
        "Byz": "2",
        "LowRep": "",
        "AggMayLie": False,
        "Truth": "0,1,0",
        "Forger": False,
    },
    "byzantine_aggregator": {
        "N": 3,
        "R": 3,
        "MaxFanIn": 3,
        "Byz": "",
        "LowRep": "",
        "AggMayLie": True,
        "Truth": "0,1,2",
        "Forger": False,
    },
    "low_reputation": {
        "N": 4,
        "R": 3,
        "MaxFanIn": 3,
        "Byz": "",
        "LowRep": "3",
        "AggMayLie": False,
        "Truth": "0,1,2,1",
        "Forger": False,
    },
    "forger": {
        "N": 3,
        "R": 3,
        "MaxFanIn": 3,
        "Byz": "2",
        "LowRep": "",
        "AggMayLie": False,
        "Truth": "0,1,0",
        "Forger": True,
    },
}

#: Distinct states per configuration (``vigilnet check shap --config NAME``).
#: ``honest`` is derived by hand: before ``Close`` each of the 3 children is
#: unsent, sent, or accepted (``3**3 = 27`` states); after it, a child that
#: never sent has one state and one that sent has two (accepted or not) times
#: two (checked or not), ``5**3 = 125``: 152.  The others are the checker's
#: counts, a change to any of them is a change to the model.
PINNED_COUNTS: Mapping[str, int] = {
    "attack": 31_320,
    "honest": 152,
    "byzantine_monitor": 1_224,
    "byzantine_aggregator": 754,
    "low_reputation": 429,
    # The checker's count (TLC not run on SHAP_forger.cfg yet); adding the
    # Forger constant, the Forge action and the struck variable left the
    # five counts above unchanged (no forged or bad body exists there, so
    # struck is always equal to banned: no new distinct state).
    "forger": 27_984,
}

FAMILY = ModelFamily(
    name="shap",
    summary="SHAP aggregation step: Integrity, Detectability, BoundedInfluence, FanInBound, ReputationGate",
    build=build,
    configs=_CONFIGS,
    default_config="attack",
    mutants={name: _mutant(name) for name in MUTANTS},
    mutant_configs=MUTANT_CONFIGS,
)
