"""hub-0 behind TCP proxies (both directions) that drop, then delay, then
pass its traffic: the others decide throughout, hub-0 catches up after the
heal, and every stored decision agrees."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sqlite3
from pathlib import Path

from tests.runtime.ports import free_base
from vigilnet.runtime import _cluster
from vigilnet.runtime._node import HubNode, NodeConfig


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Proxy:
    """Forwards one listening port to ``target``; ``mode`` is ``pass``,
    ``drop`` (connections cut and refused) or ``delay`` (each chunk held
    ``delay_s``)."""

    def __init__(self, target: int, port: int) -> None:
        self.target = target
        self.port = port
        self.mode = "pass"
        self.delay_s = 0.05
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    def drop(self) -> None:
        self.mode = "drop"
        for w in list(self._writers):
            w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while self.mode != "drop" and (data := await reader.read(65536)):
                if self.mode == "delay":
                    await asyncio.sleep(self.delay_s)
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "drop":
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def close(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()


def _decisions(f: Path) -> dict[int, bytes]:
    with sqlite3.connect(f / "data" / "state.db") as c:
        return {e: bytes(h) for e, h in c.execute("SELECT epoch, value_hash FROM decisions")}


def test_drop_then_delay_then_heal(tmp_path: Path) -> None:
    base = free_base()
    paths = _cluster.generate(tmp_path, 5, base)
    proxies: dict[str, Proxy] = {}
    proxy_base = free_base(8)
    for path in paths:  # every link touching hub-0 goes through a proxy
        config = json.loads(path.read_text())
        for peer in config["peers"]:
            if config["name"] == "hub-0" or peer["name"] == "hub-0":
                key = f"{config['name']}->{peer['name']}"
                proxies[key] = Proxy(peer["port"], proxy_base + len(proxies))
                peer["port"] = proxies[key].port
        path.write_text(json.dumps(config))
    phases: dict[str, int] = {}

    async def scenario() -> None:
        for p in proxies.values():
            await p.start()
        nodes = [HubNode(NodeConfig.load(p)) for p in paths]
        tasks = [asyncio.ensure_future(n.run()) for n in nodes]
        try:
            await asyncio.sleep(1.0)
            for p in proxies.values():
                p.drop()
            phases["cut"] = nodes[0].decided
            others_before = min(n.decided for n in nodes[1:])
            # hold the cut until the other 4 decide (a quorum); if hub-0 is
            # the epoch's proposer that takes the 3 s propose timeout first
            for _ in range(100):
                await asyncio.sleep(0.1)
                if min(n.decided for n in nodes[1:]) > others_before:
                    break
            await asyncio.sleep(1.0)
            phases["cut_end"] = nodes[0].decided
            phases["others_during_cut"] = min(n.decided for n in nodes[1:]) - others_before
            for p in proxies.values():
                p.mode = "delay"  # a slow link: 50 ms per chunk
            await asyncio.sleep(2.0)
            for p in proxies.values():
                p.mode = "pass"
            target = max(n.state.epoch for n in nodes[1:]) + 2
            for _ in range(300):
                if nodes[0].state.epoch >= target:
                    break
                await asyncio.sleep(0.1)
            phases["healed_epoch"] = nodes[0].state.epoch
            phases["target"] = target
        finally:
            for n in nodes:
                n.stopped.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 20)
            for p in proxies.values():
                await p.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    assert phases["others_during_cut"] >= 1, phases  # 4 of 5 are a quorum
    assert phases["healed_epoch"] >= phases["target"], phases  # hub-0 caught up
    per_hub = [_decisions(f) for f in _cluster.hub_folders(tmp_path)]
    for epoch in set().union(*per_hub):
        assert len({d[epoch] for d in per_hub if epoch in d}) == 1, epoch
