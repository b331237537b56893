"""Must show (issue 16): five hubs over TLS on loopback, each with its own
swtpm; hub-4's TPM has PCR 7 extended with another measurement, so its
quotes do not match the policy.  The other four admit each other and
decide; hub-4's frames are refused with the reason counted, its key never
enters their key registries, and each refusal is on their audit logs.

swtpm is required under ``VIGILNET_REQUIRE_SWTPM=1`` (CI), else the test
skips with the reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from tests.attest.swtpm import AK_HANDLE, SwTpm, require_tools
from tests.runtime.ports import free_base
from vigilnet.runtime import _cluster
from vigilnet.runtime._node import HubNode, NodeConfig
from vigilnet.store import AuditLog, EntryKind

HUBS = 5
BAD = "hub-4"
PCR_LIST = (0, 1, 7)
EPOCHS = 3


def _attest_configs(folder: Path, tpms: dict[str, SwTpm]) -> None:
    aks = {name: tpm.make_ak() for name, tpm in tpms.items()}
    policy = tpms["hub-0"].pcrs(PCR_LIST)
    tpms[BAD].extend(7, hashlib.sha256(b"not the vigilnet release").digest())
    assert tpms[BAD].pcrs(PCR_LIST)[7] != policy[7]
    for name in tpms:
        (folder / name / "ak.pem").write_bytes(aks[name][0])
    for name, tpm in tpms.items():
        path = folder / name / "node.json"
        config = json.loads(path.read_text())
        config["attestation"] = {
            "pcrs": {str(i): v.hex() for i, v in policy.items()},
            "max_age_s": 10,
            "peers": {other: {"ak": f"../{other}/ak.pem", "ak_name": aks[other][1].hex()}
                      for other in tpms if other != name},
            "tcti": tpm.tcti,
            "ak_handle": AK_HANDLE,
        }  # fmt: skip
        path.write_text(json.dumps(config, indent=2))


def _verdicts(folder: Path, node: NodeConfig) -> list[tuple[str, bool, str]]:
    log = AuditLog(folder / "data" / "audit.db", f"vigilnet/{node.name}", node.members[node.hub])
    out = []
    for i in range(log.size):
        if log.entry(i).kind is EntryKind.ATTESTATION:
            body = log.body(i)
            assert isinstance(body, dict)
            out.append((str(body["node"]), bool(body["admitted"]), str(body["reason"])))
    log.close()
    return out


# A liveness bound, not a speed claim: alone the cluster decides in seconds.
# On two loaded cores a dialler once missed its challenge (then waited 2 s) and
# the verifier dropped its frames on that connection for good, so the run hung;
# now an unadmitted connection ends after the gate's quote timeout and the
# redial is challenged afresh (tests/runtime/test_admit.py).
LIVENESS_BOUND_S = 240


# It hit the bound in a full CI run once more after the quote-timeout fix
# (a second stall, cause not found), so it stays under -m slow.
@pytest.mark.slow
def test_hub_with_changed_pcr_is_refused(tmp_path: Path) -> None:
    require_tools()
    paths = _cluster.generate(tmp_path, HUBS, free_base(HUBS))
    names = [f"hub-{i}" for i in range(HUBS)]
    tpms = {name: SwTpm(tmp_path / name / "tpm") for name in names}
    try:
        for tpm in tpms.values():
            tpm.start()
        _attest_configs(tmp_path, tpms)
        nodes = [HubNode(NodeConfig.load(p)) for p in paths]
        honest = [n for n in nodes if n.name != BAD]

        async def scenario() -> None:
            tasks = [asyncio.ensure_future(n.run()) for n in nodes]
            try:
                while not all(n.decided >= EPOCHS for n in honest):
                    await asyncio.sleep(0.05)
            finally:
                for n in nodes:
                    n.stopped.set()
                await asyncio.gather(*tasks)

        asyncio.run(asyncio.wait_for(scenario(), LIVENESS_BOUND_S))
    finally:
        for tpm in tpms.values():
            tpm.stop()
    others = {n.name for n in honest}
    for n in honest:
        assert n.decided >= EPOCHS
        assert n.gate is not None
        assert set(n.gate.registry.nodes()) == others - {n.name}
        assert BAD not in n.gate.registry.nodes()
        assert n.transport.rejected["attestation_refused"] >= 1
        assert n._views[BAD].last_seen is None  # no frame of hub-4 reached the protocol
        verdicts = _verdicts(tmp_path / n.name, n.config)
        admitted = {peer for peer, ok, _ in verdicts if ok}
        assert admitted == others - {n.name}
        refused = [(peer, why) for peer, ok, why in verdicts if not ok]
        assert refused and all(peer == BAD and "PCR digest" in why for peer, why in refused)
    # hub-4's own policy is sound: it admits the four honest hubs.
    bad = next(n for n in nodes if n.name == BAD)
    assert bad.gate is not None and set(bad.gate.registry.nodes()) == others
    # the decisions agree
    hashes: dict[int, set[bytes]] = {}
    for n in honest:
        for line in (n.config.data_dir / "history.jsonl").read_text().splitlines():
            rec = json.loads(line)
            if rec["kind"] == "decide":
                hashes.setdefault(rec["epoch"], set()).add(bytes.fromhex(rec["value_hash"]))
    assert len(hashes) >= EPOCHS and all(len(v) == 1 for v in hashes.values())
