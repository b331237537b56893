"""Every TLA+ module in spec/ is valid TLA+ syntax (tree-sitter-tlaplus), and
every .cfg names a module that exists."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import tree_sitter
import tree_sitter_tlaplus

from tests.conftest import REPO_ROOT

SPEC = REPO_ROOT / "spec"
MODULES = sorted(SPEC.glob("*.tla"))


def _errors(node: tree_sitter.Node) -> list[str]:
    found = []
    if node.type == "ERROR" or node.is_missing:
        found.append(f"line {node.start_point[0] + 1}: {node.type}")
    for child in node.children:
        found.extend(_errors(child))
    return found


@pytest.fixture(scope="module")
def parser() -> tree_sitter.Parser:
    with warnings.catch_warnings():
        # tree-sitter-tlaplus 1.5 hands over its grammar as an int pointer,
        # which tree-sitter 0.25+ still accepts with a DeprecationWarning.
        warnings.simplefilter("ignore", DeprecationWarning)
        language = tree_sitter.Language(tree_sitter_tlaplus.language())
    return tree_sitter.Parser(language)


def test_parser_rejects_broken_tla(parser: tree_sitter.Parser) -> None:
    tree = parser.parse(b"---- MODULE Broken ----\nInit == x = = 0\n====\n")
    assert tree.root_node.has_error


@pytest.mark.parametrize("module", MODULES, ids=[m.name for m in MODULES])
def test_module_parses(parser: tree_sitter.Parser, module: Path) -> None:
    tree = parser.parse(module.read_bytes())
    assert _errors(tree.root_node) == []
    assert f"MODULE {module.stem}" in module.read_text()


@pytest.mark.parametrize("config", sorted(SPEC.glob("*.cfg")), ids=lambda p: p.name)
def test_config_names_an_existing_module(config: Path) -> None:
    # X.cfg or X_<config>.cfg belongs to X.tla
    stem = config.stem.split("_")[0]
    assert (SPEC / f"{stem}.tla").is_file(), f"{config.name} has no module {stem}.tla"
