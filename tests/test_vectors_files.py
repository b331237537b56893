"""Vector files from anywhere: ``vigilnet vectors verify | lint`` answer a
file they cannot walk with one ``error:`` line and exit status 2, and a test
whose fields are hostile with a finding, never a traceback (issue 10, item
14).  A crash would show as ``exit_code`` 1 with ``result.exception`` set
(click's runner catches it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.conftest import REPO_ROOT
from vigilnet.cli import main
from vigilnet.vectors import FAMILIES, verify

COMMITTED = REPO_ROOT / "vectors"
#: The file each damage goes into (any family's would do).
TARGET = "quorum_thresholds_test.json"


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "vectors"
    shutil.copytree(COMMITTED, target)
    return target


def _assert_one_error_line(result: Result) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")


def _skeleton(test: str) -> bytes:
    return (
        '{"schema": "quorum_thresholds_v1.json", "testGroups": [{"tests": [' + test + "]}]}"
    ).encode()


def _deep(depth: int) -> bytes:
    return _skeleton('{"tcId": 1, "n": ' + "[" * depth + "]" * depth + "}")


@pytest.mark.parametrize("command", ["verify", "lint"])
@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("deep nesting", _deep(100_000)),
        ("nesting past the bound", _deep(500)),
        ("non-utf-8", _skeleton('{"tcId": 1, "comment": "X"}').replace(b"X", b"\xff\xfe")),
        ("5000-digit number", _skeleton('{"tcId": 1, "n": ' + "9" * 5000 + "}")),
        ("overflowing float", _skeleton('{"tcId": 1, "n": 1e999}')),
        ("NaN", _skeleton('{"tcId": 1, "n": NaN}')),
        ("top-level list", b"[]"),
        ("testGroups an object", b'{"testGroups": {}}'),
        ("group a list", b'{"testGroups": [[]]}'),
        ("tests a string", b'{"testGroups": [{"tests": "none"}]}'),
        ("non-object test", _skeleton("[1, 2]")),
        ("test a number", _skeleton("7")),
        ("unhashable tcId (array)", _skeleton('{"tcId": [1]}, {"tcId": [1]}')),
        ("unhashable tcId (object)", _skeleton('{"tcId": {"a": 1}}')),
        ("tcId a bool", _skeleton('{"tcId": true}')),
        ("tcId a string", _skeleton('{"tcId": "1"}')),
    ],
)
def test_a_file_that_cannot_be_walked_is_an_error(
    tmp_path: Path, command: str, name: str, content: bytes
) -> None:
    directory = _copy(tmp_path)
    (directory / TARGET).write_bytes(content)
    _assert_one_error_line(CliRunner().invoke(main, ["vectors", command, str(directory)]))


@pytest.mark.parametrize("command", ["verify", "lint"])
@pytest.mark.parametrize(
    "where",
    [
        "directory in place of a vector file",
        "directory in place of a schema",
        "directory argument is a file",
        "directory argument is missing",
    ],
)
def test_a_directory_where_a_file_belongs_is_an_error(
    tmp_path: Path, command: str, where: str
) -> None:
    directory = _copy(tmp_path)
    if where == "directory in place of a vector file":
        (directory / TARGET).unlink()
        (directory / TARGET).mkdir()
    elif where == "directory in place of a schema":
        schema = directory / "schemas" / TARGET.replace("_test.json", "_v1.json")
        schema.unlink()
        schema.mkdir()
        if command == "verify":  # verify reads no schema: damage a vector file too
            (directory / TARGET).unlink()
            (directory / TARGET).mkdir()
    elif where == "directory argument is a file":
        directory = directory / TARGET
    else:
        directory = tmp_path / "absent"
    _assert_one_error_line(CliRunner().invoke(main, ["vectors", command, str(directory)]))


_HOSTILE: list[Any] = [None, True, -1, 2**64, "zz", "", [], [[[]]], {}, {"tcId": 1}]


@pytest.mark.parametrize("value", _HOSTILE, ids=[repr(v)[:20] for v in _HOSTILE])
def test_hostile_fields_are_findings_not_crashes(tmp_path: Path, value: Any) -> None:
    """Every field of the first test of every family replaced by a hostile
    value: ``verify`` reports the test (or agrees with it), never raises."""
    directory = _copy(tmp_path)
    for family in FAMILIES:
        path = directory / family.file_name
        document = json.loads(path.read_text())
        test = document["testGroups"][0]["tests"][0]
        for key in test:
            if key != "tcId":
                test[key] = value
        group = document["testGroups"][0]
        for key in group:
            if key not in ("tests", "type"):
                group[key] = value
        path.write_text(json.dumps(document))
    replayed, findings = verify(directory)
    assert replayed > 0
    for finding in findings:
        assert finding.file.endswith("_test.json")
    result = CliRunner().invoke(main, ["vectors", "verify", str(directory)])
    assert result.exit_code in (0, 1), (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    result = CliRunner().invoke(main, ["vectors", "lint", str(directory)])
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)
