"""The CrossHair contracts pass within a reduced budget, and a wrong contract
is caught (so a pass means something)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from vigilnet.proofs.contracts import TARGETS, check_contracts


def test_contracts_pass_within_a_reduced_budget() -> None:
    results = check_contracts(per_condition_timeout=1.0, max_iterations=5, wall_limit=120.0)
    assert [r.target for r in results] == list(TARGETS)
    failing = {r.target: r.output for r in results if not r.ok}
    assert not failing, failing


def test_wrong_contract_is_reported(tmp_path: Path) -> None:
    module = tmp_path / "wrong_contract.py"
    module.write_text(
        textwrap.dedent(
            '''
            def double(x: int) -> int:
                """
                post: __return__ > x
                """
                return 2 * x
            '''
        )
    )
    (result,) = check_contracts((str(module),), per_condition_timeout=2.0, max_iterations=20)
    assert result.status == "failed"
    assert "double" in result.output
