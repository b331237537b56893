"""swtpm instances for tests: start, make a persistent AK, read PCRs, stop.

Without swtpm or tpm2-tools a test using :func:`require_tools` skips with
the reason, except under ``VIGILNET_REQUIRE_SWTPM=1`` (CI), where it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from vigilnet.attest import qualified_name

TOOLS = ("swtpm", "tpm2_createprimary", "tpm2_evictcontrol", "tpm2_readpublic", "tpm2_quote",
         "tpm2_pcrread", "tpm2_pcrextend")  # fmt: skip
AK_HANDLE = "0x81010001"


def require_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        reason = f"swtpm/tpm2-tools not installed ({', '.join(missing)} missing)"
        if os.environ.get("VIGILNET_REQUIRE_SWTPM") == "1":
            pytest.fail(f"VIGILNET_REQUIRE_SWTPM=1 but {reason}")
        pytest.skip(reason)


def _free_port_pair() -> int:
    """A free port p with p + 1 also free (the swtpm TCTI's control port)."""
    for _ in range(50):
        with socket.socket() as a, socket.socket() as b:
            a.bind(("127.0.0.1", 0))
            port: int = a.getsockname()[1]
            try:
                b.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    pytest.fail("no two adjacent free loopback ports")


@dataclass
class SwTpm:
    """One running swtpm with its state in ``folder``."""

    folder: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def tcti(self) -> str:
        return f"swtpm:host=127.0.0.1,port={self.port}"

    def start(self) -> SwTpm:
        self.port = _free_port_pair()
        state = self.folder / "tpmstate"
        state.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["swtpm", "socket", "--tpm2",
             "--server", f"type=tcp,port={self.port},bindaddr=127.0.0.1",
             "--ctrl", f"type=tcp,port={self.port + 1},bindaddr=127.0.0.1",
             "--tpmstate", f"dir={state}", "--flags", "not-need-init,startup-clear"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    pytest.fail("swtpm exited at start")
                time.sleep(0.05)
        pytest.fail("swtpm did not listen within 5 s")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def run(self, *args: str) -> bytes:
        env = dict(os.environ, TPM2TOOLS_TCTI=self.tcti)
        done = subprocess.run(args, env=env, cwd=self.folder, capture_output=True, timeout=30,
                              check=False)  # fmt: skip
        if done.returncode != 0:
            pytest.fail(f"{args[0]} failed: {done.stderr.decode(errors='replace')}")
        return done.stdout

    def make_ak(self) -> tuple[bytes, bytes]:
        """A persistent ECC P-256 restricted signing AK: ``(PEM, qualified name)``."""
        self.run("tpm2_createprimary", "-Q", "-C", "o", "-G", "ecc256:ecdsa-sha256:null",
                 "-a", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign",
                 "-c", "ak.ctx")  # fmt: skip
        self.run("tpm2_evictcontrol", "-Q", "-C", "o", "-c", "ak.ctx", AK_HANDLE)
        self.run("tpm2_readpublic", "-Q", "-c", AK_HANDLE, "-f", "pem", "-o", "ak.pem",
                 "-n", "ak.name")  # fmt: skip
        return (self.folder / "ak.pem").read_bytes(), qualified_name(
            (self.folder / "ak.name").read_bytes()
        )

    def pcrs(self, indices: tuple[int, ...]) -> dict[int, bytes]:
        self.run("tpm2_pcrread", "-Q", "sha256:" + ",".join(map(str, indices)), "-o", "pcrs.bin")
        raw = (self.folder / "pcrs.bin").read_bytes()
        return {p: raw[32 * k : 32 * k + 32] for k, p in enumerate(indices)}

    def extend(self, pcr: int, digest: bytes) -> None:
        self.run("tpm2_pcrextend", f"{pcr}:sha256={digest.hex()}")
