"""The package as a user meets it: its command, its errors, its layout."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
from click.testing import CliRunner

import vigilnet
from tests.conftest import REPO_ROOT
from vigilnet import errors
from vigilnet.cli import SUBCOMMANDS, main


def test_every_package_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(REPO_ROOT / "src").parts)
        for init in (REPO_ROOT / "src" / "vigilnet").rglob("__init__.py")
    } | {"vigilnet.models", "vigilnet.proofs"}
    assert found == listed


def test_typed_marker_ships() -> None:
    assert (REPO_ROOT / "src" / "vigilnet" / "py.typed").is_file()


def test_version_and_help() -> None:
    runner = CliRunner()
    version = runner.invoke(main, ["--version"])
    assert version.exit_code == 0
    assert vigilnet.__version__ in version.output
    assert vigilnet.__version__ != "0.0.0+unknown"
    shown = runner.invoke(main, ["--help"])
    assert shown.exit_code == 0
    for name in SUBCOMMANDS:
        assert name in shown.output


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_loads_and_has_help(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output


def test_python_dash_m() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "vigilnet", "--version"], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == f"vigilnet, version {vigilnet.__version__}"


def test_unknown_subcommand_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2


def test_error_hierarchy() -> None:
    assert issubclass(errors.LocalProtocolError, errors.ProtocolError)
    assert issubclass(errors.RemoteProtocolError, errors.ProtocolError)
    assert issubclass(errors.BadSignatureError, errors.CryptoError)
    assert issubclass(errors.BadSignatureError, ValueError)
    assert issubclass(errors.InvalidKeyError, ValueError)
    assert issubclass(errors.InvariantViolation, AssertionError)
    assert issubclass(errors.UnavailableError, RuntimeError)
    assert issubclass(errors.ModelError, ValueError)
    for cls in (
        errors.ProtocolError,
        errors.CryptoError,
        errors.InvariantViolation,
        errors.UnavailableError,
    ):
        assert issubclass(cls, errors.VigilnetError)


def test_ensure() -> None:
    errors.ensure(True, "never raised")
    with pytest.raises(errors.RemoteProtocolError, match="bad input"):
        errors.ensure(False, "bad input")
    with pytest.raises(errors.LocalProtocolError, match="our bug"):
        errors.ensure(0, "our bug", raising=errors.LocalProtocolError)
