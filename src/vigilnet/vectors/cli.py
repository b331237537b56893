"""``vigilnet vectors generate | verify | lint``.

Exit status: 0 when every test agrees (``verify``) or the tree is clean
(``lint``); 1 with one ``FAIL`` / ``LINT`` line per finding; 2 with one
``error: ...`` line when the directory or a file in it cannot be read as
vectors at all (see :mod:`vigilnet.vectors._runner`), or ``generate`` cannot
write.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vigilnet.vectors._runner import FAMILIES, VectorFileError, generate, lint, verify

__all__ = ["vectors"]


def _error(message: str) -> None:
    click.echo(f"error: {' '.join(message.split())}", err=True)
    sys.exit(2)


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
    try:
        written = generate(out)
    except OSError as error:
        _error(f"cannot write vectors under {out}: {error}")
        return
    for path in written:
        click.echo(str(path))


@vectors.command("verify")
@_DIRECTORY
def verify_command(directory: Path) -> None:
    """Replay every test in DIRECTORY (default: vectors) through vigilnet."""
    try:
        replayed, findings = verify(directory)
    except VectorFileError as error:
        _error(str(error))
        return
    for finding in findings:
        click.echo(f"FAIL {finding}", err=True)
    click.echo(f"{replayed} tests in {len(FAMILIES)} families replayed, {len(findings)} failures")
    sys.exit(1 if findings else 0)


@vectors.command("lint")
@_DIRECTORY
def lint_command(directory: Path) -> None:
    """Check the form of every file in DIRECTORY (default: vectors)."""
    try:
        findings = lint(directory)
    except VectorFileError as error:
        _error(str(error))
        return
    for finding in findings:
        click.echo(f"LINT {finding}", err=True)
    click.echo(f"{len(findings)} problems")
    sys.exit(1 if findings else 0)
