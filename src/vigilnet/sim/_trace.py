"""Trace validation: the hubs' recorded SDBC history replayed on the model.

Theory of operation
===================

The simulator records every admitted step of every hub's SDBC node, in the
order the engine ran them: ``(hub, input, outputs, state after)``
(:attr:`~vigilnet.sim._deployment.Deployment.sdbc_steps`; a refused input
raises and changes nothing, so it is not a step).  :func:`validate_trace`
checks, epoch by epoch, that this execution of the implementation is a
behaviour of ``models/sdbc.py`` (``spec/SDBC.tla``): every implementation
step maps, under the abstraction :func:`abstract_cluster`, to a short
sequence of model steps by the same hub, or to a stutter, and every
invariant the model claims holds of every abstract state.  The refinement
harness of the SDBC tests (``tests/sdbc/harness.py``) uses the same
:func:`abstract_cluster`, :func:`model_path` and :func:`check_step`; they
live here so that a trace from the simulator (and later from the node
runtime, DESIGN.md 4.5) is judged by exactly the mapping the exhaustive
refinement check validates.

The mapping of one simulated epoch ``e`` onto the model's constants:

* ``N`` is the number of hubs, ``T`` the configuration's threshold (so the
  model's ``Q`` is the implementation's quorum), ``FLive`` its ``f_live``;
  ``F = 0``: every hub of the simulator runs the real :func:`sdbc.step`
  (the model's faulty hubs are an injection of every message of the model's
  values; a simulated Byzantine hub sends messages of its own making, which
  this mapping does not name, so a scenario with Byzantine hubs is refused
  as outside the mapping rather than passed);
* hubs are rotated: implementation hub ``h`` is model hub ``(h - e) mod N``,
  because the implementation's proposer of round ``r`` is
  ``(e + r) mod N`` and the model's is ``r mod N``;
* ``MaxRound`` is the highest round any hub reached in ``e``;
* ``ProposerMayStall`` is TRUE: the implementation's proposer prevotes nil
  when its propose timeout fires before it holds ``q`` summaries (rule 4),
  and the model (which starts after the summary exchange) allows that
  step only with this constant (``n4f1stall`` checks it; the shipped
  configurations other than that one leave it FALSE);
* values: each distinct value proposed in ``e`` is named by first
  appearance in the trace: valid ones (``Value.check_valid`` under the hub
  configuration, the implementation's own ``valid(v)``) ``v0`` then ``v1``,
  an invalid one ``vX``; a third valid or a second invalid value has no
  model name and is refused as outside the mapping;
* a hub that has not started ``e`` abstracts to the model's initial state
  (round 0, step propose, nothing locked, nothing sent), and a hub that has
  moved on to ``e + 1`` keeps its last state of ``e``; summaries, timers and
  the decision itself are not model variables (the model's decision is a
  function of the message sets, ``Decidable``), so receiving a summary, a
  stale timeout or a late message is a stutter unless it fires an upon-rule.

Beyond the state mapping, the outputs of each step are tied to it: every
message a step broadcasts is one of the hub's own messages in its state
after the step and was not in its state before, every own message that
appears in a step was broadcast by it, and a ``Decide`` names a value the
model lets that hub decide (``Decidable``) in the abstract state after.

(``models/`` installs as ``vigilnet.models`` through a package directory
that mypy's path does not see, so the model's names are untyped here.)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

from vigilnet.errors import InvariantViolation, LocalProtocolError
from vigilnet.models.sdbc import NIL, SDBCSpec, SDBCState  # type: ignore[import-not-found]
from vigilnet.protocols import sdbc
from vigilnet.sim._deployment import RunResult

__all__ = [
    "TraceReport",
    "TraceScopeError",
    "abstract_cluster",
    "check_step",
    "epoch_spec",
    "model_path",
    "validate_run",
    "validate_trace",
]


class TraceScopeError(LocalProtocolError):
    """The trace holds something the mapping onto the model cannot name (a
    third valid value, a Byzantine hub): neither passed nor failed."""


# --------------------------------------------------------------------------
# The abstraction (shared with tests/sdbc/harness.py)


def _name(names: Mapping[bytes, str], value_hash: bytes | None) -> str:
    return NIL if value_hash is None else names.get(value_hash, "?")


def abstract_cluster(
    spec: SDBCSpec,
    nodes: Sequence[sdbc.NodeState],
    injected: frozenset[int],
    names: Mapping[bytes, str],
    previous: SDBCState | None = None,
    model_hub: Callable[[int], int] = lambda h: h,
) -> SDBCState:
    """The model state of the correct hubs ``nodes`` (model index ``i`` is
    model hub ``spec.corr[i]``) and the faulty hubs that injected.

    ``names`` maps a value hash to its model name (``v0``, ``v1``, ``vX``);
    ``model_hub`` maps an implementation hub index to its model hub.  What a
    hub sent is what it signed (every hub keeps its own messages); its step
    is read from its own votes of its current round.  One piece of history
    is needed: the model writes ``validValue`` only for a hub that proposes
    a later round of the scope, the implementation always, so ``previous``'s
    ``validValue`` is kept where the model would not write it."""
    rounds, steps, lv, lr, vv, vr, qs = [], [], [], [], [], [], []
    propose: set[tuple[int, int, str, int]] = set()
    prevote: set[tuple[int, int, str]] = set()
    precommit: set[tuple[int, int, str]] = set()
    for i, s in enumerate(nodes):
        p = model_hub(s.hub)
        own = [v for v in s.votes if v.hub == s.hub]
        for v in own:
            target = prevote if v.kind == sdbc.PREVOTE else precommit
            target.add((v.round, p, _name(names, v.value_hash)))
        for x in s.proposals:
            if x.hub == s.hub:
                propose.add((x.round, p, _name(names, x.value.value_hash), x.valid_round))
        kinds = {v.kind for v in own if v.round == s.round}
        steps.append(
            "precommit"
            if sdbc.PRECOMMIT in kinds
            else "prevote"
            if sdbc.PREVOTE in kinds
            else "propose"
        )
        rounds.append(s.round)
        lv.append(NIL if s.locked_value is None else _name(names, s.locked_value.value_hash))
        lr.append(s.locked_round)
        qs.append(s.quorum)
        if s.valid_round >= 0 and spec.later_proposer.get((p, s.valid_round), False):
            assert s.valid_value is not None
            vv.append(_name(names, s.valid_value.value_hash))
            vr.append(s.valid_round)
        elif previous is not None:
            vv.append(previous.validValue[i])
            vr.append(previous.validRound[i])
        else:
            vv.append(NIL)
            vr.append(-1)
    return SDBCState(
        round=tuple(rounds),
        step=tuple(steps),
        lockedValue=tuple(lv),
        lockedRound=tuple(lr),
        validValue=tuple(vv),
        validRound=tuple(vr),
        quorumOf=tuple(qs),
        msgsPropose=frozenset(propose),
        msgsPrevote=frozenset(prevote),
        msgsPrecommit=frozenset(precommit),
        injected=injected,
    )


def model_path(
    spec: SDBCSpec, a: SDBCState, b: SDBCState, hub: int | None, depth: int = 4
) -> int | None:
    """The length of a shortest path of model steps from ``a`` to ``b``
    (0: a stutter), all by model hub ``hub`` (``None``: the Inject action),
    of at most ``depth`` steps; ``None`` when there is none."""
    if a == b:
        return 0
    frontier = {a}
    for k in range(1, depth + 1):
        nxt = set()
        for s in frontier:
            for name, args, t in spec.successors(s):
                mine = (name == "Inject") if hub is None else (name != "Inject" and args[0] == hub)
                if not mine:
                    continue
                if t == b:
                    return k
                nxt.add(t)
        frontier = nxt
    return None


def check_step(
    spec: SDBCSpec, previous: SDBCState, after: SDBCState, hub: int | None, label: Hashable
) -> int:
    """Raise :class:`InvariantViolation` unless ``previous -> after`` is a
    stutter or at most four model steps of model hub ``hub`` (``None``: an
    injection), after which every invariant the model claims holds; return
    the number of model steps (0: a stutter)."""
    k = model_path(spec, previous, after, hub)
    if k is None:
        raise InvariantViolation(
            f"implementation step {label} is no model step:\n{previous}\n->\n{after}"
        )
    invariants = spec.invariants()
    for name in spec.claimed_invariants():
        if not invariants[name](after):
            raise InvariantViolation(f"{name} violated after {label}")
    return k


# --------------------------------------------------------------------------
# Replaying a simulated run

Step = tuple[int, sdbc.Input, tuple[sdbc.Output, ...], sdbc.NodeState]


def epoch_spec(config: sdbc.HubConfig, max_round: int) -> SDBCSpec:
    """The model's constants for one simulated epoch (module docstring)."""
    t = config.threshold
    return SDBCSpec(
        {
            "N": config.n,
            "F": 0,
            "T": f"{t.numerator}/{t.denominator}",
            "MaxRound": max_round,
            "FLive": config.f_live,
            "ProposerMayStall": True,
        }
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceReport:
    """What :func:`validate_trace` checked."""

    epochs: int
    steps: int
    model_steps: int
    stutters: int
    decisions: int
    max_round: int


def _own(s: sdbc.NodeState) -> frozenset[sdbc.Message]:
    votes = frozenset(v for v in s.votes if v.hub == s.hub)
    return votes | frozenset(p for p in s.proposals if p.hub == s.hub)


def _value_names(config: sdbc.HubConfig, epoch: int, steps: Sequence[Step]) -> dict[bytes, str]:
    names: dict[bytes, str] = {}
    valid = ["v0", "v1"]
    invalid = ["vX"]
    for _hub, _event, _outputs, state in steps:
        for p in sorted(state.proposals, key=lambda p: (p.round, p.hub)):
            vh = p.value.value_hash
            if vh in names:
                continue
            try:
                p.value.check_valid(config, epoch)
                pool = valid
            except sdbc.BadMessage:
                pool = invalid
            if not pool:
                raise TraceScopeError(
                    f"epoch {epoch}: more distinct values proposed than the model names"
                )
            names[vh] = pool.pop(0)
    return names


def _check_outputs(label: str, before: sdbc.NodeState, step: Step) -> None:
    _hub, _event, outputs, after = step
    sent = {o.message for o in outputs if isinstance(o, sdbc.Broadcast)}
    new = _own(after) - _own(before)
    sent_messages = {m for m in sent if not isinstance(m, sdbc.EpochSummary)}
    if sent_messages != new:
        raise InvariantViolation(
            f"implementation step {label}: broadcast {len(sent_messages)} protocol messages, "
            f"its state gained {len(new)} of its own"
        )


def validate_trace(
    config: sdbc.HubConfig,
    steps: Sequence[Step],
    byzantine_hubs: frozenset[int] = frozenset(),
    configs: Mapping[int, sdbc.HubConfig] | None = None,
) -> TraceReport:
    """Replay the recorded SDBC steps of a simulated run on the model, epoch
    by epoch (module docstring); raise :class:`InvariantViolation` at the
    first step that is no model step, breaks a claimed invariant or does not
    match its own outputs, and :class:`TraceScopeError` for a trace outside
    the mapping.  ``configs`` gives an epoch's configuration where it is not
    ``config`` (keys rotated through the key registry: the model abstracts
    keys, so each epoch is checked under its own)."""
    if byzantine_hubs:
        raise TraceScopeError(
            f"hubs {sorted(byzantine_hubs)} are Byzantine: the mapping covers honest hubs only"
        )
    n = config.n
    by_epoch: dict[int, list[Step]] = {}
    for st in steps:
        by_epoch.setdefault(st[3].epoch, []).append(st)
    keys = {(st[3].epoch, st[0]): st[3].key for st in steps}
    base = config
    total = model_total = stutters = decisions = top = 0
    for epoch in sorted(by_epoch):
        config = base if configs is None else configs.get(epoch, base)
        epoch_steps = by_epoch[epoch]
        max_round = max(st[3].round for st in epoch_steps)
        top = max(top, max_round)
        spec = epoch_spec(config, max_round)
        names = _value_names(config, epoch, epoch_steps)

        def model_hub(h: int, e: int = epoch) -> int:
            return (h - e) % n

        # model hub p -> the hub's state (a fresh one until it starts e)
        impl = [(p + epoch) % n for p in range(n)]
        nodes: list[sdbc.NodeState] = []
        for h in impl:
            key = keys.get((epoch, h)) or next(
                (k for k in keys.values() if k.verify_key == config.members[h]), None
            )
            if key is None:
                raise TraceScopeError(f"hub {h} took no step in the whole trace")
            nodes.append(sdbc.initial_state(key, h, config))
        abstract = abstract_cluster(spec, nodes, frozenset(), names, model_hub=model_hub)
        if abstract != spec.init():
            raise InvariantViolation(f"epoch {epoch}: the initial abstraction is not Init")
        for st in epoch_steps:
            h, event, outputs, after = st
            p = model_hub(h)
            label = f"(epoch {epoch}, hub {h}, {type(event).__name__})"
            if after.config != config:
                # a raised quorum within the epoch is the model's RaiseQuorum;
                # a decided change of T for the next epoch is another model
                raise TraceScopeError(
                    f"{label}: the hub runs another configuration than the trace's"
                )
            _check_outputs(label, nodes[p], st)
            nodes[p] = after
            b = abstract_cluster(spec, nodes, frozenset(), names, abstract, model_hub)
            k = check_step(spec, abstract, b, p, label)
            total += 1
            model_total += k
            stutters += k == 0
            for out in outputs:
                if isinstance(out, sdbc.Decide):
                    decisions += 1
                    name = _name(names, out.value.value_hash)
                    if name not in spec.decidable(b, p):
                        raise InvariantViolation(
                            f"implementation step {label} decides {name}, "
                            "which the model does not let this hub decide"
                        )
            abstract = b
    return TraceReport(
        epochs=len(by_epoch),
        steps=total,
        model_steps=model_total,
        stutters=stutters,
        decisions=decisions,
        max_round=top,
    )


def validate_run(result: RunResult) -> TraceReport:
    """:func:`validate_trace` of a run's recorded steps, with the scenario's
    Byzantine hubs (whose honest core is recorded too: only the mapping's
    refusal keeps a Byzantine run from passing as an honest one)."""
    d = result.deployment
    configs = {e: d.hub_config_at(e) for e in range(1, d.scenario.epochs + 1)}
    return validate_trace(
        d.hub_config, d.sdbc_steps, frozenset(d.scenario.faults.byzantine_hubs), configs
    )
