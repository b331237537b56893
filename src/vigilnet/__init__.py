"""vigilnet: formally specified protocols for Byzantine-robust,
partition-tolerant monitoring of AI agents, with the tools that make them
trustworthy (model checker, proofs, test vectors)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("vigilnet")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
