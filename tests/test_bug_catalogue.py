"""Each catalogued implementer bug makes at least one committed vector fail.

The second verifier (tests/second_verifier/) re-checks the vector files from
the format pages, without vigilnet's code.  Clean, it must agree with every
case it covers; with any one bug of docs/vectors/bugs.md switched on, it
must get at least one case wrong, or the vectors do not test for that bug.
"""

from __future__ import annotations

import re
from functools import cache

import pytest

from tests.conftest import REPO_ROOT
from tests.second_verifier import BUGS, FAMILIES, verify_file

VECTORS = REPO_ROOT / "vectors"
CATALOGUE = REPO_ROOT / "docs" / "vectors" / "bugs.md"
_FILE_OF = {family: name for name, (family, _verifier) in FAMILIES.items()}


@cache
def _wrong(family: str, bugs: frozenset[str]) -> tuple[int, ...]:
    return tuple(
        tc_id
        for tc_id, expected, verdict in verify_file(VECTORS / _FILE_OF[family], bugs)
        if verdict is not None and verdict != expected
    )


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_clean_second_verifier_agrees_with_every_vector(name: str) -> None:
    family = FAMILIES[name][0]
    assert _wrong(family, frozenset()) == ()
    covered = [v for _tc, _e, v in verify_file(VECTORS / name) if v is not None]
    assert covered, f"{name}: the second verifier covers no case"


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_every_bug_fails_some_vector(bug: str) -> None:
    wrong = _wrong(BUGS[bug].family, frozenset({bug}))
    assert wrong, f"{bug}: no vector of {_FILE_OF[BUGS[bug].family]} catches it"


def _catalogue_rows() -> list[list[str]]:
    rows = []
    for line in CATALOGUE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 5:
            rows.append(cells)
    return rows


def test_catalogue_lists_exactly_the_switches() -> None:
    rows = _catalogue_rows()
    names = [re.sub(r"`", "", row[0]) for row in rows]
    assert len(names) == len(set(names))
    assert set(names) == set(BUGS)
    assert len(names) >= 40


def test_catalogue_rows_name_the_family_and_a_catching_tcid() -> None:
    for row in _catalogue_rows():
        bug = BUGS[row[0].strip("`")]
        assert row[1] == f"`{_FILE_OF[bug.family]}`", row
        tc_id = int(row[4])
        assert tc_id in _wrong(bug.family, frozenset({bug.name})), row


def test_catalogue_flags_exist_in_the_files() -> None:
    import json

    for row in _catalogue_rows():
        bug = BUGS[row[0].strip("`")]
        notes = json.loads((VECTORS / _FILE_OF[bug.family]).read_text())["notes"]
        for flag in re.findall(r"`([A-Za-z0-9]+)`", row[3]):
            assert flag in notes, (row[0], flag)


def test_the_verifier_has_no_switch_outside_the_catalogue() -> None:
    source = "\n".join(
        p.read_text() for p in sorted((REPO_ROOT / "tests" / "second_verifier").glob("*.py"))
    )
    switches = set(re.findall(r'"([a-z0-9]+_[a-z0-9_]+)" (?:not )?in (?:self\.)?bugs', source))
    assert switches == set(BUGS)
