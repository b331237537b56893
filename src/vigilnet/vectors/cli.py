"""``vigilnet vectors generate | verify | lint``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vigilnet.vectors._runner import FAMILIES, generate, lint, verify

__all__ = ["vectors"]

_DIRECTORY = click.argument(
    "directory", required=False, default="vectors", type=click.Path(path_type=Path)
)


@click.group()
def vectors() -> None:
    """Generate, verify and lint the test vectors."""


@vectors.command("generate")
@click.option(
    "--out", "out", required=True, type=click.Path(path_type=Path), help="directory to write"
)
def generate_command(out: Path) -> None:
    """Write every vector file and schema under OUT (deterministic)."""
    for path in generate(out):
        click.echo(str(path))


@vectors.command("verify")
@_DIRECTORY
def verify_command(directory: Path) -> None:
    """Replay every test in DIRECTORY (default: vectors) through vigilnet."""
    replayed, findings = verify(directory)
    for finding in findings:
        click.echo(f"FAIL {finding}", err=True)
    click.echo(f"{replayed} tests in {len(FAMILIES)} families replayed, {len(findings)} failures")
    sys.exit(1 if findings else 0)


@vectors.command("lint")
@_DIRECTORY
def lint_command(directory: Path) -> None:
    """Check the form of every file in DIRECTORY (default: vectors)."""
    findings = lint(directory)
    for finding in findings:
        click.echo(f"LINT {finding}", err=True)
    click.echo(f"{len(findings)} problems")
    sys.exit(1 if findings else 0)
