"""``vigilnet verdict verify``: check a verdict proof offline (docs/verdict.md)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import click

__all__ = ["verdict"]


def _rate(text: str, name: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise click.BadParameter(f"{text!r} is not an exact fraction", param_hint=name) from None
    if not 0 < value < Fraction(1, 2):
        raise click.BadParameter(f"{value} must lie in (0, 1/2)", param_hint=name)
    return value


def _read(path: Path, what: str, limit: int) -> bytes:
    try:
        if not path.is_file():
            raise click.ClickException(f"{what} {path} is not a regular file")
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise click.ClickException(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise click.ClickException(f"{what} {path} is larger than {limit:,} bytes")
    return data


@click.group()
def verdict() -> None:
    """Verdict proofs: one agent's verdict, from the monitors' signed
    reports up to the hubs' decision certificates."""


@verdict.command()
@click.argument("proof", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--hub-keys",
    "hub_keys_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the pinned hub keys (vigilnet/hub-keys/v1 JSON): the trust root",
)
@click.option("--alpha", default="1/100", show_default=True, help="SPRT false-positive rate")
@click.option("--beta", default="1/100", show_default=True, help="SPRT false-negative rate")
@click.option("--agent", type=click.IntRange(min=0), help="refuse a proof about another agent")
@click.option("--epoch", type=click.IntRange(min=1), help="refuse a proof about another epoch")
@click.option(
    "--allow-hub-signed",
    is_flag=True,
    help="accept epochs whose hub root is bound by that hub's own signature, not the decision",
)
def verify(
    proof: Path,
    hub_keys_path: Path,
    alpha: str,
    beta: str,
    agent: int | None,
    epoch: int | None,
    allow_hub_signed: bool,
) -> None:
    """Verify PROOF against the pinned hub keys; print the verdict it proves
    (exit 0) or why it is refused (exit 1)."""
    from vigilnet.evidence import SprtThresholds
    from vigilnet.sim._verdict import (
        MAX_PROOF_BYTES,
        VerdictProofError,
        read_hub_keys,
        verify_proof,
    )

    thresholds = SprtThresholds(alpha=_rate(alpha, "--alpha"), beta=_rate(beta, "--beta"))
    try:
        keys = read_hub_keys(_read(hub_keys_path, "hub-keys file", 1 << 20))
        fact = verify_proof(
            _read(proof, "proof", MAX_PROOF_BYTES),
            keys,
            thresholds,
            agent=agent,
            epoch=epoch,
            allow_hub_signed=allow_hub_signed,
        )
    except VerdictProofError as exc:
        click.echo(f"REFUSED: {proof}: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"VALID: {proof}")
    for line in fact.lines():
        click.echo(line)
