"""Files and values from outside: ``vigilnet replay`` runs no code a trace
names, and every bad trace, ``--const`` value or exiting model ends in one
``error:`` line on stderr and exit status 2, never a traceback (issue 10,
items 13 and 14).

Each test drives the real command line through click's runner.  A crash
would show as ``exit_code`` 1 with ``result.exception`` set (the runner
catches it); a model's ``sys.exit(0)`` would show as ``exit_code`` 0.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from vigilnet.cli import main

BAD = str(Path(__file__).with_name("bad_models.py"))


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _assert_one_error_line(result: Result) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")


@pytest.fixture(scope="module")
def witness(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real trace: the 6-step witness of diehard's ``BigIsGoal``."""
    directory = tmp_path_factory.mktemp("witness")
    result = _invoke("check", "diehard", "--no-progress", "--trace-out", str(directory))
    assert result.exit_code == 0
    (path,) = directory.glob("*.itf.json")
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def _write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "trace.itf.json"
    path.write_text(json.dumps(document))
    return path


def test_the_witness_replays(tmp_path: Path, witness: dict[str, Any]) -> None:
    """The documents below are damaged copies of a trace that replays."""
    result = _invoke("replay", str(_write(tmp_path, witness)))
    assert result.exit_code == 0, result.output
    assert "BigIsGoal holds in the last state" in result.output


# -- item 13: a trace is data ----------------------------------------------

_EVIL = """\
from pathlib import Path
Path({marker!r}).write_text("this code ran")
from vigilnet.models.diehard import FAMILY
"""


@pytest.mark.parametrize("form", ["file", "file:ATTR", "module:ATTR"])
def test_replay_runs_no_code_the_trace_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, witness: dict[str, Any], form: str
) -> None:
    marker = tmp_path / "marker"
    source = _EVIL.format(marker=str(marker))
    module = f"vigilnet_evil_{form.replace(':', '_').lower()}"
    evil = tmp_path / f"{module}.py"
    evil.write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    ref = {"file": str(evil), "file:ATTR": f"{evil}:FAMILY", "module:ATTR": f"{module}:FAMILY"}
    document = json.loads(json.dumps(witness))
    document["#meta"]["vigilnet"]["model"] = ref[form]
    trace = _write(tmp_path, document)

    result = _invoke("replay", str(trace))
    _assert_one_error_line(result)
    assert "not a registered model" in result.stderr
    assert not marker.exists(), "replay ran code that the trace named"

    # Given on the command line by the user, the same model is loaded.
    monkeypatch.delitem(sys.modules, module, raising=False)
    result = _invoke("replay", str(trace), "--model", ref[form])
    assert result.exit_code == 0, result.output
    assert marker.read_text() == "this code ran"


@pytest.mark.parametrize("ref", ["os:system", "subprocess:getoutput", ["diehard"], 7])
def test_replay_refuses_every_unregistered_name(
    tmp_path: Path, witness: dict[str, Any], ref: object
) -> None:
    document = json.loads(json.dumps(witness))
    document["#meta"]["vigilnet"]["model"] = ref
    _assert_one_error_line(_invoke("replay", str(_write(tmp_path, document))))


def test_check_help_says_it_runs_model_code() -> None:
    text = " ".join(_invoke("check", "--help").output.split())
    assert "A module or file MODEL is imported, so its code runs with your rights" in text
    text = " ".join(_invoke("replay", "--help").output.split())
    assert "A trace is data: it may name only a registered model" in text


# -- item 14: traces that are not JSON, or not of the right shape ------------


# A trace that names a registered model, so that only its one flaw stops it.
_HEAD = b'{"#meta": {"vigilnet": {"model": "diehard"}}, "vars": ["big", "small"], '


def _trace_with_big(big: bytes) -> bytes:
    return _HEAD + b'"states": [{"big": ' + big + b', "small": 0}]}'


def _deep(depth: int) -> bytes:
    return _trace_with_big(b"[" * depth + b"]" * depth)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("top-level list", b'[{"#meta": {"vigilnet": {"model": "diehard"}}}]'),
        ("top-level number", b"42"),
        ("not json", _HEAD + b"states"),
        ("empty file", b""),
        ("non-utf-8", _trace_with_big(b'"\xff\xfe"')),
        ("utf-16", _trace_with_big(b"0").decode().encode("utf-16")),
        ("deep nesting", _deep(100_000)),
        ("nesting past the bound", _deep(500)),
        ("5000-digit number", _trace_with_big(b"9" * 5000)),
        ("overflowing float", _trace_with_big(b"1e999")),
        ("NaN", _trace_with_big(b"NaN")),
    ],
)
def test_unreadable_trace_is_an_error(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / "trace.itf.json"
    path.write_bytes(content)
    _assert_one_error_line(_invoke("replay", str(path)))


def test_a_directory_or_missing_trace_is_an_error(tmp_path: Path) -> None:
    _assert_one_error_line(_invoke("replay", str(tmp_path)))
    _assert_one_error_line(_invoke("replay", str(tmp_path / "absent.itf.json")))


def _loop(value: object) -> Any:
    def edit(document: dict[str, Any]) -> None:
        document["loop"] = value

    return edit


def _set(path: tuple[object, ...], value: object) -> Any:
    def edit(document: Any) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _drop_variable(document: dict[str, Any]) -> None:
    del document["states"][3]["small"]


@pytest.mark.parametrize(
    ("name", "edit"),
    [
        ("missing variable", _drop_variable),
        ("loop past the end", _loop(99)),
        ("negative loop", _loop(-1)),
        ("loop not an int", _loop("2")),
        ("loop a bool", _loop(True)),
        ("loop huge", _loop(10**300)),
        ("states empty", _set(("states",), [])),
        ("states an object", _set(("states",), {"0": {}})),
        ("state a list", _set(("states", 2), [5, 0])),
        ("state #meta a list", _set(("states", 2, "#meta"), [])),
        ("action-name a list", _set(("states", 2, "#meta", "action-name"), ["BigToSmall"])),
        ("vars a string", _set(("vars",), "big")),
        ("#meta a list", _set(("#meta",), [])),
        ("vigilnet meta a string", _set(("#meta", "vigilnet"), "diehard")),
        ("mutant a list", _set(("#meta", "vigilnet", "mutant"), ["x"])),
        ("config a list", _set(("#meta", "vigilnet", "config"), ["default"])),
        ("property a list", _set(("#meta", "vigilnet", "property"), ["BigIsGoal"])),
        ("bigint not digits", _set(("states", 1, "big"), {"#bigint": "five"})),
        ("bigint a number", _set(("states", 1, "big"), {"#bigint": 5})),
        ("bigint 5000 digits", _set(("states", 1, "big"), {"#bigint": "9" * 5000})),
        ("map of non-pairs", _set(("states", 1, "big"), {"#map": [[1, 2, 3]]})),
        ("set not an array", _set(("states", 1, "big"), {"#set": 5})),
        ("tup with extra keys", _set(("states", 1, "big"), {"#tup": [], "x": 1})),
        ("float value", _set(("states", 1, "big"), 5.0)),
    ],
)
def test_malformed_trace_is_an_error(
    tmp_path: Path, witness: dict[str, Any], name: str, edit: Any
) -> None:
    document = json.loads(json.dumps(witness))
    edit(document)
    _assert_one_error_line(_invoke("replay", str(_write(tmp_path, document))))


@pytest.mark.parametrize(
    "overrides",
    [
        {"BIG": "abc"},
        {"BIG": True},
        {"BIG": {"#bigint": "9" * 30}},
        {"BIG": {"#set": []}},
        {"NOPE": 1},
        {"BIG": -5},  # a false assumption (BIG > 0): never replayed
    ],
)
def test_bad_constants_in_a_trace_are_an_error(
    tmp_path: Path, witness: dict[str, Any], overrides: dict[str, object]
) -> None:
    document = json.loads(json.dumps(witness))
    document["#meta"]["vigilnet"]["overrides"] = overrides
    _assert_one_error_line(_invoke("replay", str(_write(tmp_path, document))))


# -- item 14: --const --------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "const"),
    [
        ("twophase", "RM=abc"),
        ("twophase", "RM="),
        ("twophase", "=3"),
        ("twophase", " =3"),
        ("twophase", "R M=3"),
        ("twophase", "RM=" + "9" * 5000),
        ("twophase", "RM=99999999999999999999"),
        ("twophase", "RM=-9223372036854775809"),
        ("twophase", "RM=\uff13"),  # a fullwidth digit: not an ASCII integer
        ("twophase", "RM=TRUE"),
        ("twophase", "NOPE=1"),
        ("diehard", "BIG=1.5"),
        ("sdbc", "T=abc"),
        ("sdbc", "T=1/0"),
        ("shap", "AggMayLie=3"),
    ],
)
def test_bad_const_is_blamed_on_the_const(model: str, const: str) -> None:
    result = _invoke("check", model, "--no-progress", "--const", const)
    _assert_one_error_line(result)
    assert "--const" in result.stderr


def test_good_const_still_works() -> None:
    result = _invoke("check", "twophase", "--no-progress", "--const", "RM=2", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["constants"] == {"RM": 2}


# -- item 14: a model that exits -------------------------------------------

_EXIT_AT_IMPORT = "import sys\nsys.exit({code})\n"

_EXIT_IN_ACTION = """\
import sys
from dataclasses import replace

from vigilnet.checker import Action, ModelFamily
from vigilnet.models.diehard import FAMILY as DIEHARD


def build(constants):
    model = DIEHARD.build(constants)

    def leave(state):
        sys.exit({code})
        yield

    return replace(model, actions=(*model.actions, Action(name="Leave", step=leave)))


FAMILY = ModelFamily(
    name="exiting",
    summary="diehard with an action that exits",
    build=build,
    configs=DIEHARD.configs,
    default_config=DIEHARD.default_config,
)
"""


@pytest.mark.parametrize("code", ["0", "None", "1", "'done'"])
@pytest.mark.parametrize(
    ("where", "extra"),
    [
        ("import", ()),
        ("action", ()),
        ("action", ("--dfs", "--max-depth", "3")),
        ("action", ("--simulate", "--traces", "2")),
        ("action", ("--workers", "2")),
    ],
)
def test_a_model_that_exits_is_a_model_error(
    tmp_path: Path, code: str, where: str, extra: tuple[str, ...]
) -> None:
    source = (_EXIT_AT_IMPORT if where == "import" else _EXIT_IN_ACTION).format(code=code)
    model = tmp_path / f"exiting_{where}.py"
    model.write_text(source)
    result = _invoke("check", str(model), "--no-progress", *extra)
    _assert_one_error_line(result)
    assert "SystemExit" in result.stderr or "sys.exit" in result.stderr
    assert "Result: ok" not in result.output
