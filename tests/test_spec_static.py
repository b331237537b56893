"""Every TLA+ module and TLC configuration passes the static checks of
``tests/tla_static.py``: no sibling bounds, no undefined names, only TLC's
cfg grammar.  The checks themselves are shown to find each defect they
exist for, on small broken inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.tla_static import cfg_problems, module_problems

SPEC = REPO_ROOT / "spec"


@pytest.mark.parametrize("module", sorted(SPEC.glob("*.tla")), ids=lambda p: p.name)
def test_module_has_no_static_problems(module: Path) -> None:
    assert module_problems(module.read_bytes()) == []


@pytest.mark.parametrize("config", sorted(SPEC.glob("*.cfg")), ids=lambda p: p.name)
def test_cfg_uses_only_tlc_grammar(config: Path) -> None:
    assert cfg_problems(config.read_text()) == []


def _module(body: str, extends: str = "Integers") -> bytes:
    return f"---- MODULE M ----\nEXTENDS {extends}\nCONSTANT N\nVARIABLE x\n{body}\n====\n".encode()


def test_a_sibling_bound_is_found() -> None:
    broken = _module("S(r) == {r}\nP == \\E r \\in 1..N, m \\in S(r) : m = x")
    assert any("sibling" in p for p in module_problems(broken))
    fixed = _module("S(r) == {r}\nP == \\E r \\in 1..N : \\E m \\in S(r) : m = x")
    assert module_problems(fixed) == []
    in_set_map = _module("Q == {a + b : a \\in 1..N, b \\in 1..a}")
    assert any("sibling" in p for p in module_problems(in_set_map))


def test_undefined_and_out_of_order_names_are_found() -> None:
    assert any("Undefined" in p for p in module_problems(_module("P == Undefined(x)")))
    # Used before its definition, without RECURSIVE.
    assert any("Later" in p for p in module_problems(_module("P == Later\nLater == 1")))
    # A standard operator only with its module.
    assert module_problems(_module("P == Len(<<x>>)", extends="Integers, Sequences")) == []
    assert any("Len" in p for p in module_problems(_module("P == Len(<<x>>)")))
    # Scope: a bound variable does not leak out of its quantifier.
    leaky = _module("P == (\\E y \\in 1..N : y = x) /\\ y = 1")
    assert any("y is not defined" in p for p in module_problems(leaky))
    ok = _module(
        "RECURSIVE F(_)\nF(s) == IF s = 0 THEN 0 ELSE F(s - 1)\n"
        "G(H(_), y) == H(y)\n"
        "P == LET k == 1 IN [i \\in 1..N |-> F(i) + k] /\\ [x EXCEPT !.f = @ + 1].f\n"
        "Q == CHOOSE c \\in 1..N : c = x /\\ [a |-> 1] = [a |-> 1] /\\ [b : {1}] = {}"
    )
    assert module_problems(ok) == []


def test_cfg_problems_are_found() -> None:
    good = "CONSTANTS\n    N = 3\n    Hubs = {h1, h2}\nINIT Init\nNEXT Next\nSYMMETRY Sym\nCHECK_DEADLOCK FALSE\n"
    assert cfg_problems(good) == []
    assert any("negative" in p for p in cfg_problems(good.replace("N = 3", "N = -1")))
    assert any(
        "CHECK_DEADLOCK" in p for p in cfg_problems(good.replace("CHECK_DEADLOCK FALSE", ""))
    )
    integer_hubs = good.replace("{h1, h2}", "{0, 1}")
    assert any("SYMMETRY" in p for p in cfg_problems(integer_hubs))
    assert cfg_problems(good.replace("N = 3", "N <- Neg1")) == []
