"""One root seed, a tree of independent random streams.

Every random choice of a simulated run (network latencies, losses, the
randomness a node draws, agents' behaviour) comes from a stream named by a
path such as ``("net", "hub-0", "hub-3")`` or ``("node", "monitor-17",
"csprng")``.  A stream is ``numpy.random.SeedSequence(root, spawn_key=path)``:
its numbers depend only on the root seed and the path, never on how many
other streams exist or in which order they were used, so adding a node or
reordering the simulator's loops does not change what the others draw.

Path components are non-negative integers or text; text is mapped to a
64-bit integer through SHA-256 (domain-separated), so the mapping is stable
across Python versions and platforms (unlike ``hash``).

The simulator's "CSPRNG draws" (the explicit randomness input a protocol
node receives, for example SSCR's jittered deadlines) are drawn from such a
stream: reproducible, which is the point of a simulation, and not secret.
The node runtime draws them from the operating system instead.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from vigilnet.errors import LocalProtocolError, ensure

__all__ = ["PathPart", "SeedTree", "path_key"]

PathPart = int | str

_DOMAIN = b"vigilnet/sim/seed-path/v1\x00"


def path_key(path: tuple[PathPart, ...]) -> tuple[int, ...]:
    """The ``spawn_key`` of a stream path (each part a 64-bit integer)."""
    key: list[int] = []
    for part in path:
        if isinstance(part, bool) or not isinstance(part, (int, str)):
            raise LocalProtocolError(f"seed path parts are int or str, got {part!r}")
        if isinstance(part, int):
            # Integers and text never collide: integers stay below 2**63 and
            # text keys have the top bit set.
            ensure(0 <= part < 1 << 63, f"seed path int {part} out of range", LocalProtocolError)
            key.append(part)
        else:
            digest = hashlib.sha256(_DOMAIN + part.encode("utf-8")).digest()
            key.append(int.from_bytes(digest[:8], "big") | 1 << 63)
    return tuple(key)


@dataclass(frozen=True, slots=True)
class SeedTree:
    """The random streams of one run, derived from ``root``."""

    root: int
    _cache: dict[tuple[int, ...], np.random.Generator] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        ensure(
            isinstance(self.root, int) and not isinstance(self.root, bool) and self.root >= 0,
            f"the root seed must be a non-negative int, got {self.root!r}",
            LocalProtocolError,
        )

    def sequence(self, *path: PathPart) -> np.random.SeedSequence:
        """A fresh ``SeedSequence`` for ``path`` (the same every time)."""
        return np.random.SeedSequence(self.root, spawn_key=path_key(path))

    def generator(self, *path: PathPart) -> np.random.Generator:
        """The stream for ``path``: one generator per path per run, so
        successive calls continue the same stream."""
        key = path_key(path)
        stream = self._cache.get(key)
        if stream is None:
            stream = np.random.Generator(np.random.PCG64(self.sequence(*path)))
            self._cache[key] = stream
        return stream

    def random_bytes(self, n: int, *path: PathPart) -> bytes:
        """``n`` bytes from the stream ``path`` (the explicit randomness
        input of a node)."""
        ensure(n >= 0, "n must be non-negative", LocalProtocolError)
        return bytes(self.generator(*path).bytes(n))

    def below(self, bound: int, *path: PathPart) -> int:
        """A uniform integer in ``[0, bound)`` from the stream ``path``."""
        ensure(bound >= 1, "bound must be at least 1", LocalProtocolError)
        return int(self.generator(*path).integers(0, bound))
