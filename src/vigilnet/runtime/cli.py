"""``vigilnet node`` and ``vigilnet cluster``."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import click

from vigilnet.runtime import _cluster
from vigilnet.runtime._node import NodeConfig, run_node


@click.command("node")
@click.option(
    "--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False)
)
def node(config_path: str) -> None:
    """Run one node from its JSON or TOML configuration until SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run_node(NodeConfig.load(config_path)))


@click.group("cluster")
def cluster() -> None:
    """A loopback cluster of hub processes."""


@cluster.command("up")
@click.option("--dir", "folder", required=True, type=click.Path(file_okay=False))
@click.option("--hubs", default=5, show_default=True)
@click.option("--base-port", default=47100, show_default=True)
@click.option("--status-base", type=int, default=None, help="first hub's status page port")
def cluster_up(folder: str, hubs: int, base_port: int, status_base: int | None) -> None:
    """Generate keys and configs in DIR (first time) and start every hub."""
    path = Path(folder)
    if not (path / "hub-0").exists():
        _cluster.generate(path, hubs, base_port, status_base=status_base)
    for pid in _cluster.up(path):
        click.echo(f"started pid {pid}")


@cluster.command("status")
@click.option("--dir", "folder", required=True, type=click.Path(exists=True, file_okay=False))
def cluster_status(folder: str) -> None:
    """Each hub's process and stored decisions, one JSON line per hub."""
    for row in _cluster.status(Path(folder)):
        click.echo(json.dumps(row, sort_keys=True))


@cluster.command("down")
@click.option("--dir", "folder", required=True, type=click.Path(exists=True, file_okay=False))
def cluster_down(folder: str) -> None:
    """Stop every hub (SIGTERM)."""
    for name in _cluster.down(Path(folder)):
        click.echo(f"stopped {name}")
