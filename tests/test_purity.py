"""Protocol code is pure (STYLE.md habit 1): nothing under
``src/vigilnet/protocols/`` imports I/O, clocks or randomness."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

FORBIDDEN = {
    "socket",
    "asyncio",
    "time",
    "random",
    "os",
    "secrets",
    "threading",
    "subprocess",
    "datetime",
}
PROTOCOL_FILES = sorted((REPO_ROOT / "src" / "vigilnet" / "protocols").rglob("*.py"))


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_there_are_protocol_files() -> None:
    assert len(PROTOCOL_FILES) > 10


@pytest.mark.parametrize("path", PROTOCOL_FILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_protocol_module_is_pure(path: Path) -> None:
    assert _imported_roots(path) & FORBIDDEN == set()


def test_the_scan_sees_imports() -> None:
    probe = REPO_ROOT / "src" / "vigilnet" / "cli.py"
    assert "importlib" in _imported_roots(probe)
