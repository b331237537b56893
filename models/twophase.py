"""TwoPhase: Lamport's two-phase commit (``TwoPhase.tla``), constant ``RM``.

A transaction manager (TM) and ``RM`` resource managers.  Variables, actions
and invariants carry the TLA+ names::

    rmState    \\in [RM -> {"working", "prepared", "committed", "aborted"}]
    tmState    \\in {"init", "committed", "aborted"}
    tmPrepared \\subseteq RM
    msgs       \\subseteq [type: {"Prepared"}, rm: RM] \\cup [type: {"Commit", "Abort"}]

    TPNext == TMCommit \\/ TMAbort
              \\/ \\E rm \\in RM : TMRcvPrepared(rm) \\/ RMPrepare(rm)
                              \\/ RMChooseToAbort(rm) \\/ RMRcvCommitMsg(rm)
                              \\/ RMRcvAbortMsg(rm)

Invariants: ``TPTypeOK`` and ``TCConsistent`` (no RM aborted while another
committed); witnesses: ``SomeCommitted`` and ``SomeAborted``.  TwoPhase
implements ``TCommit`` (``TC!TCSpec``): :func:`tc_next` is TCommit's next-state
relation on ``rmState``; the test suite checks that every transition of every
reachable state maps to a ``TCNext`` step or a stutter.

Distinct states (TLC agrees): RM = 3: 288, 5: 8,832, 7: 296,448,
8: 1,745,408, 9: 10,340,352.  Symmetry: the RMs are interchangeable; the
canonical representative sorts the RMs by ``(rmState[rm], rm \\in tmPrepared,
Prepared(rm) \\in msgs)``.

Mutants (each must break ``TCConsistent``):

* ``commit_without_all_prepared``: ``TMCommit`` forgets ``tmPrepared = RM``.
* ``abort_after_prepare``: ``RMChooseToAbort`` is allowed from "prepared".

The model has a vectorised kernel (:class:`TwoPhaseKernel`): per RM a nibble
``rmState code << 2 | tmPrepared bit << 1 | Prepared-message bit`` (codes in
alphabetical order, so numeric order of nibbles is the order of the symmetry's
sort key), then ``tmState`` (2 bits), the Commit and the Abort message: 4 RM + 4
bits, 40 bits at RM = 9, no collisions.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from vigilnet.checker import (
    Action,
    Assumption,
    Constants,
    Model,
    ModelFamily,
    Property,
)

__all__ = [
    "FAMILY",
    "Message",
    "TPState",
    "TwoPhaseKernel",
    "build",
    "build_mutant",
    "tc_next",
]

RM_STATES = ("aborted", "committed", "prepared", "working")
TM_STATES = ("init", "committed", "aborted")


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """``[type |-> "Prepared", rm |-> rm]``, ``[type |-> "Commit"]`` or
    ``[type |-> "Abort"]`` (``rm`` is ``None`` for the last two)."""

    type: str
    rm: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TPState:
    rmState: tuple[str, ...]
    tmState: str
    tmPrepared: frozenset[int]
    msgs: frozenset[Message]


COMMIT = Message(type="Commit")
ABORT = Message(type="Abort")
Succ = Iterator[tuple[tuple[Hashable, ...], TPState]]


def rm_name(index: int) -> str:
    return f"r{index + 1}"


def tc_next(before: tuple[str, ...], after: tuple[str, ...]) -> bool:
    """``TCNext \\/ UNCHANGED rmState`` of ``TCommit.tla`` on ``rmState``."""
    if before == after:
        return True
    changed = [i for i in range(len(before)) if before[i] != after[i]]
    if len(changed) != 1:
        return False
    (i,) = changed
    old, new = before[i], after[i]
    if old == "working" and new == "prepared":  # Prepare(rm)
        return True
    if old == "prepared" and new == "committed":  # Decide(rm), canCommit
        return all(s in ("prepared", "committed") for s in before)
    if old in ("working", "prepared") and new == "aborted":  # Decide(rm), notCommitted
        return all(s != "committed" for s in before)
    return False


def _build(constants: Constants, mutant: str | None) -> Model[TPState]:
    n = int(str(constants["RM"]))
    rms = range(n)
    prepared_msg = tuple(Message(type="Prepared", rm=rm_name(i)) for i in rms)
    everyone = frozenset(rms)

    def init() -> Iterator[TPState]:
        yield TPState(
            rmState=("working",) * n, tmState="init", tmPrepared=frozenset(), msgs=frozenset()
        )

    def tm_rcv_prepared(s: TPState) -> Succ:
        if s.tmState != "init":
            return
        for rm in rms:
            if prepared_msg[rm] in s.msgs:
                yield (
                    (rm_name(rm),),
                    replace(s, tmPrepared=s.tmPrepared | {rm}),
                )

    def tm_commit(s: TPState) -> Succ:
        if s.tmState == "init" and (
            mutant == "commit_without_all_prepared" or s.tmPrepared == everyone
        ):
            yield (
                (),
                replace(s, tmState="committed", msgs=s.msgs | {COMMIT}),
            )

    def tm_abort(s: TPState) -> Succ:
        if s.tmState == "init":
            yield (
                (),
                replace(s, tmState="aborted", msgs=s.msgs | {ABORT}),
            )

    def set_rm(s: TPState, rm: int, value: str) -> tuple[str, ...]:
        return (*s.rmState[:rm], value, *s.rmState[rm + 1 :])

    def rm_prepare(s: TPState) -> Succ:
        for rm in rms:
            if s.rmState[rm] == "working":
                yield (
                    (rm_name(rm),),
                    replace(s, rmState=set_rm(s, rm, "prepared"), msgs=s.msgs | {prepared_msg[rm]}),
                )

    def rm_choose_to_abort(s: TPState) -> Succ:
        for rm in rms:
            if s.rmState[rm] == "working" or (
                mutant == "abort_after_prepare" and s.rmState[rm] == "prepared"
            ):
                yield (
                    (rm_name(rm),),
                    replace(s, rmState=set_rm(s, rm, "aborted")),
                )

    def rm_rcv_commit(s: TPState) -> Succ:
        if COMMIT in s.msgs:
            for rm in rms:
                yield (
                    (rm_name(rm),),
                    replace(s, rmState=set_rm(s, rm, "committed")),
                )

    def rm_rcv_abort(s: TPState) -> Succ:
        if ABORT in s.msgs:
            for rm in rms:
                yield (
                    (rm_name(rm),),
                    replace(s, rmState=set_rm(s, rm, "aborted")),
                )

    valid_msgs = frozenset((*prepared_msg, COMMIT, ABORT))

    def type_ok(s: TPState) -> bool:
        return (
            len(s.rmState) == n
            and all(v in RM_STATES for v in s.rmState)
            and s.tmState in TM_STATES
            and s.tmPrepared <= everyone
            and s.msgs <= valid_msgs
        )

    def consistent(s: TPState) -> bool:
        return not ("aborted" in s.rmState and "committed" in s.rmState)

    def symmetry(s: TPState) -> TPState:
        keys = sorted((s.rmState[rm], rm in s.tmPrepared, prepared_msg[rm] in s.msgs) for rm in rms)
        msgs = {m for m in s.msgs if m.rm is None}
        msgs.update(prepared_msg[i] for i, key in enumerate(keys) if key[2])
        return replace(
            s,
            rmState=tuple(key[0] for key in keys),
            tmPrepared=frozenset(i for i, key in enumerate(keys) if key[1]),
            msgs=frozenset(msgs),
        )

    def view(s: TPState) -> Mapping[str, object]:
        return {
            "rmState": {rm_name(rm): s.rmState[rm] for rm in rms},
            "tmState": s.tmState,
            "tmPrepared": frozenset(rm_name(rm) for rm in s.tmPrepared),
            "msgs": s.msgs,
        }

    return Model(
        name="twophase",
        constants={"RM": n},
        variables=("rmState", "tmState", "tmPrepared", "msgs"),
        init_states=init,
        actions=(
            Action(name="TMCommit", step=tm_commit),
            Action(name="TMAbort", step=tm_abort),
            Action(name="TMRcvPrepared", step=tm_rcv_prepared),
            Action(name="RMPrepare", step=rm_prepare),
            Action(name="RMChooseToAbort", step=rm_choose_to_abort),
            Action(name="RMRcvCommitMsg", step=rm_rcv_commit),
            Action(name="RMRcvAbortMsg", step=rm_rcv_abort),
        ),
        properties=(
            Property.always("TPTypeOK", type_ok),
            Property.always("TCConsistent", consistent),
            Property.sometimes("SomeCommitted", lambda s: "committed" in s.rmState),
            Property.sometimes("SomeAborted", lambda s: "aborted" in s.rmState),
        ),
        view=view,
        assumptions=(Assumption(name="RMNonEmpty", holds=1 <= n <= 15),),
        symmetry=symmetry,
        kernel=TwoPhaseKernel(n) if mutant is None and 1 <= n <= 15 else None,
    )


def build(constants: Constants) -> Model[TPState]:
    return _build(constants, None)


def build_mutant(name: str) -> Any:
    def builder(constants: Constants) -> Model[TPState]:
        return _build(constants, name)

    return builder


U64 = npt.NDArray[np.uint64]
Bools = npt.NDArray[np.bool_]


class TwoPhaseKernel:
    """Vectorised TwoPhase: whole BFS frontiers of packed states at once.

    Instance order is the generic model's enumeration order: TMCommit,
    TMAbort, TMRcvPrepared(r1..rN), RMPrepare(r1..rN), RMChooseToAbort(...),
    RMRcvCommitMsg(...), RMRcvAbortMsg(...).
    """

    __slots__ = ("abort_bit", "commit_bit", "instances", "n", "tm_shift", "value_bits")

    def __init__(self, n: int) -> None:
        self.n = n
        self.tm_shift = 4 * n
        self.value_bits = 4 * n + 4
        self.commit_bit = 1 << (4 * n + 2)
        self.abort_bit = 1 << (4 * n + 3)
        names: list[tuple[str, tuple[Hashable, ...]]] = [("TMCommit", ()), ("TMAbort", ())]
        for action in (
            "TMRcvPrepared",
            "RMPrepare",
            "RMChooseToAbort",
            "RMRcvCommitMsg",
            "RMRcvAbortMsg",
        ):
            names.extend((action, (rm_name(i),)) for i in range(n))
        self.instances: tuple[tuple[str, tuple[Hashable, ...]], ...] = tuple(names)

    # -- scalar encoding -------------------------------------------------------
    def encode(self, state: Any) -> int:
        s: TPState = state
        value = 0
        for rm in range(self.n):
            nibble = RM_STATES.index(s.rmState[rm]) << 2
            nibble |= (rm in s.tmPrepared) << 1
            nibble |= Message(type="Prepared", rm=rm_name(rm)) in s.msgs
            value |= nibble << (4 * rm)
        value |= TM_STATES.index(s.tmState) << self.tm_shift
        if COMMIT in s.msgs:
            value |= self.commit_bit
        if ABORT in s.msgs:
            value |= self.abort_bit
        return value

    def decode(self, value: int) -> TPState:
        rm_state = []
        prepared = set()
        msgs: set[Message] = set()
        for rm in range(self.n):
            nibble = (value >> (4 * rm)) & 0xF
            rm_state.append(RM_STATES[nibble >> 2])
            if nibble & 2:
                prepared.add(rm)
            if nibble & 1:
                msgs.add(Message(type="Prepared", rm=rm_name(rm)))
        if value & self.commit_bit:
            msgs.add(COMMIT)
        if value & self.abort_bit:
            msgs.add(ABORT)
        return TPState(
            rmState=tuple(rm_state),
            tmState=TM_STATES[(value >> self.tm_shift) & 3],
            tmPrepared=frozenset(prepared),
            msgs=frozenset(msgs),
        )

    # -- vectorised ------------------------------------------------------------
    def expand(self, frontier: U64) -> tuple[U64, Bools]:
        """Successors of every state per instance: an ``(instances, n)``
        array of packed successors and an enabled mask of the same shape
        (row ``i`` is instance ``i`` applied to the whole frontier)."""
        n = self.n
        size = frontier.shape[0]
        width = len(self.instances)
        out = np.empty((width, size), dtype=np.uint64)
        ok = np.empty((width, size), dtype=np.bool_)
        u = np.uint64
        band, bor, eq, ne = np.bitwise_and, np.bitwise_or, np.equal, np.not_equal
        tm_init = eq(band(frontier, u(3 << self.tm_shift)), u(0))
        has_commit = ne(band(frontier, u(self.commit_bit)), u(0))
        has_abort = ne(band(frontier, u(self.abort_bit)), u(0))
        all_prepared = u(sum(2 << (4 * i) for i in range(n)))
        cleared_tm = band(frontier, ~u(3 << self.tm_shift))
        # TMCommit
        np.logical_and(tm_init, eq(band(frontier, all_prepared), all_prepared), out=ok[0])
        bor(cleared_tm, u((1 << self.tm_shift) | self.commit_bit), out=out[0])
        # TMAbort
        ok[1] = tm_init
        bor(cleared_tm, u((2 << self.tm_shift) | self.abort_bit), out=out[1])
        rcv, prep, choose, commit, abort = (2 + k * n for k in range(5))
        scratch = np.empty(size, dtype=np.uint64)
        for rm in range(n):
            shift = 4 * rm
            # TMRcvPrepared(rm): tmState = "init" and Prepared(rm) in msgs.
            np.logical_and(tm_init, ne(band(frontier, u(1 << shift)), u(0)), out=ok[rcv + rm])
            bor(frontier, u(2 << shift), out=out[rcv + rm])
            # RMPrepare(rm) / RMChooseToAbort(rm): rmState[rm] = "working" (3).
            eq(band(frontier, u(0xC << shift)), u(0xC << shift), out=ok[prep + rm])
            ok[choose + rm] = ok[prep + rm]
            band(frontier, ~u(0xC << shift), out=scratch)  # rmState[rm] := "aborted" (0)
            bor(scratch, u(0x9 << shift), out=out[prep + rm])  # "prepared" + Prepared msg
            out[choose + rm] = scratch
            # RMRcvCommitMsg(rm) / RMRcvAbortMsg(rm).
            ok[commit + rm] = has_commit
            bor(scratch, u(0x4 << shift), out=out[commit + rm])  # "committed" (1)
            ok[abort + rm] = has_abort
            out[abort + rm] = scratch
        return out, ok

    def _codes(self, values: U64) -> npt.NDArray[np.uint64]:
        shifts = np.arange(self.n, dtype=np.uint64) * np.uint64(4) + np.uint64(2)
        codes: npt.NDArray[np.uint64] = (values[:, None] >> shifts[None, :]) & np.uint64(3)
        return codes

    def check(self, values: U64) -> dict[str, Bools]:
        """Every property of the model on packed states."""
        codes = self._codes(values)
        aborted = (codes == 0).any(axis=1)
        committed = (codes == 1).any(axis=1)
        tm = (values >> np.uint64(self.tm_shift)) & np.uint64(3)
        return {
            "TPTypeOK": tm != np.uint64(3),
            "TCConsistent": ~(aborted & committed),
            "SomeCommitted": committed,
            "SomeAborted": aborted,
        }

    def canonical(self, values: U64) -> U64:
        """The symmetry's canonical representative: nibbles sorted ascending."""
        shifts = np.arange(self.n, dtype=np.uint64) * np.uint64(4)
        nibbles = (values[:, None] >> shifts[None, :]) & np.uint64(0xF)
        nibbles.sort(axis=1)
        rest = values & ~np.uint64((1 << (4 * self.n)) - 1)
        packed: U64 = (nibbles << shifts[None, :]).sum(axis=1, dtype=np.uint64)
        return packed | rest


FAMILY = ModelFamily(
    name="twophase",
    summary="Lamport's TwoPhase.tla (TPTypeOK, TCConsistent; refines TCommit)",
    build=build,
    configs={"rm3": {"RM": 3}, "rm5": {"RM": 5}, "rm7": {"RM": 7}},
    default_config="rm3",
    mutants={
        "commit_without_all_prepared": build_mutant("commit_without_all_prepared"),
        "abort_after_prepare": build_mutant("abort_after_prepare"),
    },
)
