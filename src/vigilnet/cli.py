"""The ``vigilnet`` command.

Subcommands live beside the code they drive and are imported only when
invoked, so ``vigilnet --help`` stays fast and a subcommand's heavy imports
(z3, numpy) cost nothing to the others.  To add one, map its name to
``"module:attribute"`` (a :class:`click.Command`) in :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import importlib

import click

from vigilnet import __version__

__all__ = ["SUBCOMMANDS", "main"]

#: name -> "module:attribute" of a click command.
SUBCOMMANDS: dict[str, str] = {
    "audit": "vigilnet.store.cli:audit",
    "check": "vigilnet.checker.cli:check",
    "cluster": "vigilnet.runtime.cli:cluster",
    "keys": "vigilnet.crypto.cli:keys",
    "node": "vigilnet.runtime.cli:node",
    "prove": "vigilnet.proofs.cli:prove",
    "replay": "vigilnet.checker.cli:replay",
    "simulate": "vigilnet.sim.cli:simulate",
    "verdict": "vigilnet.sim.verdict_cli:verdict",
    "vectors": "vigilnet.vectors.cli:vectors",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(SUBCOMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vigilnet")
def main() -> None:
    """vigilnet: Byzantine-robust, partition-tolerant monitoring of AI agents.

    Model-check the protocols, prove their thresholds, generate and verify
    the test vectors.
    """
