"""CrossHair contracts of the pure functions ``vigilnet prove --crosshair`` checks.

The contracts are ``pre:``/``post:`` lines in the functions' own docstrings
(CrossHair's PEP 316 syntax), so they stay beside the code they describe.
:data:`TARGETS` lists the functions; :func:`check_contracts` runs
``crosshair check`` on each in a subprocess with a per-condition timeout and a
cap on uninteresting iterations, several at a time, and reports one
:class:`ContractResult` per function.  CrossHair explores paths symbolically
and gives up at the budget: a pass means "no counterexample found within the
budget", not a proof (the Z3 obligations are the proofs).

CrossHair 0.0.113 builds symbolic :class:`~fractions.Fraction` arguments
unreliably (an internal error on some runs, a failure on ``Fraction | int``),
so ``quorum`` and ``from_fraction`` are checked through harnesses,
:func:`quorum_of_ratio` and :func:`from_ratio`, which take the numerator and
denominator as integers and state the same contracts as the functions'
docstrings.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from vigilnet.fixedpoint import LAMBDA_MAX_LIMIT, SCALE, from_fraction
from vigilnet.thresholds import quorum

__all__ = ["TARGETS", "ContractResult", "check_contracts", "from_ratio", "quorum_of_ratio"]

#: Fully qualified names of the functions whose contracts are checked.
TARGETS: tuple[str, ...] = (
    "vigilnet.proofs.contracts.quorum_of_ratio",
    "vigilnet.thresholds.intersection",
    "vigilnet.thresholds.blocking",
    "vigilnet.thresholds.max_safe_faults",
    "vigilnet.thresholds.max_live_faults",
    "vigilnet.aggregation.trimmed_combination",
    "vigilnet.aggregation.replica_median",
    "vigilnet.fixedpoint.clamp",
    "vigilnet.proofs.contracts.from_ratio",
)


def quorum_of_ratio(numerator: int, denominator: int, n: int) -> int:
    """``quorum(Fraction(numerator, denominator), n)``.

    pre: 0 < denominator < 2 * numerator <= 2 * denominator
    pre: n >= 1
    post: __return__ * denominator >= numerator * n > (__return__ - 1) * denominator
    post: n < 2 * __return__ <= 2 * n
    """
    return quorum(Fraction(numerator, denominator), n)


def from_ratio(numerator: int, denominator: int, lambda_max: int) -> int:
    """``from_fraction(Fraction(numerator, denominator), lambda_max)``.

    pre: denominator > 0
    pre: 0 < lambda_max <= LAMBDA_MAX_LIMIT
    post: -lambda_max <= __return__ <= lambda_max
    post: abs(Fraction(numerator, denominator) * SCALE - __return__) <= Fraction(1, 2) or abs(__return__) == lambda_max
    """
    return from_fraction(Fraction(numerator, denominator), lambda_max)


# Names the contract lines above use, kept visibly in use for linters.
_CONTRACT_NAMES = (LAMBDA_MAX_LIMIT, SCALE)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractResult:
    target: str
    #: "passed" (no counterexample within the budget), "failed" (CrossHair
    #: reported a counterexample or an error), "timeout" (the wall-clock cap).
    status: str
    seconds: float
    output: str

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": f"crosshair.{self.target}",
            "kind": "contract",
            "status": self.status,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "output": self.output,
        }


def _check_one(
    target: str, per_condition_timeout: float, max_iterations: int, wall_limit: float
) -> ContractResult:
    command = [
        sys.executable,
        "-m",
        "crosshair",
        "check",
        "--analysis_kind=PEP316",
        f"--per_condition_timeout={per_condition_timeout}",
        f"--max_uninteresting_iterations={max_iterations}",
        target,
    ]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=wall_limit, check=False
        )
    except subprocess.TimeoutExpired:
        return ContractResult(
            target=target, status="timeout", seconds=time.perf_counter() - started, output=""
        )
    output = (done.stdout + done.stderr).strip()
    status = "passed" if done.returncode == 0 and not done.stdout.strip() else "failed"
    return ContractResult(
        target=target, status=status, seconds=time.perf_counter() - started, output=output[-4000:]
    )


def check_contracts(
    targets: tuple[str, ...] = TARGETS,
    *,
    per_condition_timeout: float = 3.0,
    max_iterations: int = 20,
    wall_limit: float = 100.0,
    workers: int = 4,
) -> list[ContractResult]:
    """Run CrossHair on each target; results in the order of ``targets``."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(
            pool.map(
                lambda t: _check_one(t, per_condition_timeout, max_iterations, wall_limit), targets
            )
        )
