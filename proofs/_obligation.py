"""Proof obligations, non-vacuity checks and mutants: the framework under ``vigilnet prove``.

Theory of operation
-------------------

Every fact ``proofs/`` establishes is one :class:`Check`, a named Z3 formula with
one of three kinds, and each kind has exactly one passing status:

1. An **obligation** is a claim that must hold in every model.  Z3 is asked for
   a model of its negation: ``unsat`` means **proved**; a model is a
   **countermodel** and the obligation **failed**.
2. A **non-vacuity** check is a set of hypotheses that must be satisfiable
   together (so the obligation built on them does not hold because they are
   contradictory), or a step that must be enabled.  ``sat`` passes, and the model
   is kept as the **witness**; ``unsat`` means the obligation above it is
   **vacuous**.
3. A **mutant** is a claim we know to be false: a deliberately broken protocol
   rule, a bound one too generous, the converse of a one-way implication.  Z3
   must find a countermodel (**refuted**); a mutant that is proved **survived**,
   which means the proofs cannot tell a broken rule from the real one.

``unknown`` (a timeout, or a quantified query Z3 gives up on) never passes.

A check may carry a **replay**: a function that receives the model Z3 found
(the witness or the countermodel) and re-evaluates it with the real Python
implementation (``vigilnet.thresholds``, ``vigilnet.aggregation``...).  A replay
that raises turns the result into ``error``: the Z3 statement and the Python
code disagree about a concrete case.

Modules register their checks with :func:`register` at import time;
:func:`all_checks` imports every proof module in :data:`PROOF_MODULES` and
returns the registry in registration order.  :func:`implication` is the usual
way to state an obligation: it registers the obligation ``H => C`` and the
non-vacuity check ``H`` (optionally with a constraint that makes the witness
interesting, such as "at least one Byzantine member") in one call.
"""

from __future__ import annotations

import fnmatch
import importlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import z3

__all__ = [
    "PROOF_MODULES",
    "Check",
    "Kind",
    "Result",
    "Status",
    "all_checks",
    "implication",
    "int_of",
    "register",
    "run_check",
    "run_checks",
    "select",
]

#: The proof modules ``vigilnet prove`` runs, in order (``vigilnet.proofs.<name>``).
PROOF_MODULES: tuple[str, ...] = (
    "thresholds",
    "sdbc",
    "sdbc_accountability",
    "aggregation",
    "fixedpoint",
    "merkle_sum",
    "sscr",
)

DEFAULT_TIMEOUT_MS = 30_000


class Kind(StrEnum):
    OBLIGATION = "obligation"
    NON_VACUITY = "non-vacuity"
    MUTANT = "mutant"


class Status(StrEnum):
    PROVED = "proved"
    FAILED = "failed"
    SAT = "sat"
    VACUOUS = "vacuous"
    REFUTED = "refuted"
    SURVIVED = "survived"
    UNKNOWN = "unknown"
    ERROR = "error"


#: The one status that passes, per kind.
PASSING: dict[Kind, Status] = {
    Kind.OBLIGATION: Status.PROVED,
    Kind.NON_VACUITY: Status.SAT,
    Kind.MUTANT: Status.REFUTED,
}

Replay = Callable[[z3.ModelRef], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One named Z3 query.

    ``formula`` builds the claim (obligation, mutant) or the hypotheses
    (non-vacuity); it is called once per run, so each run gets fresh terms.
    ``statement`` says in words what is checked; ``docs/proofs.md`` repeats it.
    """

    name: str
    kind: Kind
    statement: str
    formula: Callable[[], z3.BoolRef]
    replay: Replay | None = None
    #: Says in words what a model shows (for example which invariant conjunct
    #: a countermodel breaks); its text goes into the result's ``detail``.
    explain: Callable[[z3.ModelRef], str] | None = None
    timeout_ms: int = DEFAULT_TIMEOUT_MS


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    name: str
    kind: Kind
    status: Status
    seconds: float
    statement: str
    #: The witness (non-vacuity) or countermodel (failed obligation, refuted
    #: mutant), as declaration name -> value text; ``None`` when there is none.
    model: dict[str, str] | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status is PASSING[self.kind]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "status": self.status.value,
            "ok": self.ok,
            "seconds": round(self.seconds, 4),
            "statement": self.statement,
            "model": self.model,
            "detail": self.detail,
        }


_REGISTRY: dict[str, Check] = {}


def register(check: Check) -> Check:
    """Add ``check`` to the registry; names are unique."""
    if check.name in _REGISTRY and _REGISTRY[check.name] is not check:
        raise ValueError(f"duplicate proof check name {check.name!r}")
    _REGISTRY[check.name] = check
    return check


def implication(
    name: str,
    statement: str,
    hypotheses: Callable[[], Sequence[z3.BoolRef]],
    conclusion: Callable[[], z3.BoolRef],
    *,
    witness: Callable[[], Sequence[z3.BoolRef]] | None = None,
    replay_witness: Replay | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> tuple[Check, Check]:
    """Register the obligation ``And(hypotheses) => conclusion`` as ``name`` and
    the non-vacuity check ``And(hypotheses, witness)`` as ``name.nonvacuous``.

    ``hypotheses`` and ``conclusion`` are called inside one formula builder, so
    they may share the z3 constants they create by name.
    """

    def claim() -> z3.BoolRef:
        return z3.Implies(z3.And(*hypotheses()), conclusion())

    def satisfiable() -> z3.BoolRef:
        return z3.And(*hypotheses(), *(witness() if witness else ()))

    obligation = register(
        Check(
            name=name,
            kind=Kind.OBLIGATION,
            statement=statement,
            formula=claim,
            timeout_ms=timeout_ms,
        )
    )
    nonvacuous = register(
        Check(
            name=f"{name}.nonvacuous",
            kind=Kind.NON_VACUITY,
            statement=f"the hypotheses of {name} are satisfiable together",
            formula=satisfiable,
            replay=replay_witness,
            timeout_ms=timeout_ms,
        )
    )
    return obligation, nonvacuous


def all_checks() -> list[Check]:
    """Import every proof module and return all registered checks, module by module."""
    for module in PROOF_MODULES:
        importlib.import_module(f"vigilnet.proofs.{module}")
    order = {module: index for index, module in enumerate(PROOF_MODULES)}
    # In PROOF_MODULES order whatever order the modules were imported in;
    # registration order within a module (sorted() is stable).
    return sorted(
        _REGISTRY.values(), key=lambda check: order.get(check.name.split(".")[0], len(order))
    )


def select(checks: Iterable[Check], patterns: Sequence[str]) -> list[Check]:
    """The checks whose name equals a pattern, starts with ``pattern + "."``, or
    matches it as a shell glob.  No patterns selects everything."""
    chosen = list(checks)
    if not patterns:
        return chosen
    return [
        check
        for check in chosen
        if any(
            check.name == p or check.name.startswith(p + ".") or fnmatch.fnmatchcase(check.name, p)
            for p in patterns
        )
    ]


def int_of(model: z3.ModelRef, name: str) -> int:
    """The integer value of the integer or bit-vector constant ``name`` in
    ``model`` (bit-vectors read as unsigned)."""
    for decl in model.decls():
        if decl.name() == name and decl.arity() == 0:
            value = model[decl]
            if isinstance(value, z3.BitVecNumRef):
                return int(value.as_long())
            if isinstance(value, z3.IntNumRef):
                return int(value.as_long())
    # Absent from the model: any value works; z3 completes with 0.
    return 0


def _model_to_dict(model: z3.ModelRef) -> dict[str, str]:
    described: dict[str, str] = {}
    for sort in model.sorts():
        described[f"universe {sort.name()}"] = ", ".join(str(e) for e in model.get_universe(sort))
    for decl in sorted(model.decls(), key=lambda d: d.name()):
        described[decl.name()] = str(model[decl])
    return described


def _solve(check: Check) -> tuple[z3.CheckSatResult, z3.ModelRef | None, str]:
    solver = z3.Solver()
    solver.set("timeout", check.timeout_ms)
    solver.set("random_seed", 0)
    formula = check.formula()
    if check.kind is Kind.NON_VACUITY:
        solver.add(formula)
    else:
        solver.add(z3.Not(formula))
    outcome = solver.check()
    model = solver.model() if outcome == z3.sat else None
    reason = solver.reason_unknown() if outcome == z3.unknown else ""
    return outcome, model, reason


def run_check(check: Check) -> Result:
    """Run one check and classify the answer (see the module docstring)."""
    started = time.perf_counter()
    detail = ""
    model_text: dict[str, str] | None = None
    try:
        outcome, model, detail = _solve(check)
        if outcome == z3.unknown:
            status = Status.UNKNOWN
        elif check.kind is Kind.OBLIGATION:
            status = Status.PROVED if outcome == z3.unsat else Status.FAILED
        elif check.kind is Kind.NON_VACUITY:
            status = Status.SAT if outcome == z3.sat else Status.VACUOUS
        else:
            status = Status.REFUTED if outcome == z3.sat else Status.SURVIVED
        if model is not None:
            model_text = _model_to_dict(model)
            notes = []
            if check.explain is not None:
                notes.append(check.explain(model))
            if check.replay is not None:
                check.replay(model)
                notes.append("replayed against the Python implementation")
            detail = "; ".join(notes)
    except Exception as exc:  # a replay mismatch or a broken builder is a result, not a crash
        status = Status.ERROR
        detail = f"{type(exc).__name__}: {exc}"
    return Result(
        name=check.name,
        kind=check.kind,
        status=status,
        seconds=time.perf_counter() - started,
        statement=check.statement,
        model=model_text,
        detail=detail,
    )


def run_checks(checks: Iterable[Check]) -> list[Result]:
    return [run_check(check) for check in checks]
