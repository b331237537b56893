"""Quote + verify round-trip time against swtpm (tpm2-tools), and verify alone.

Run: ``python bench/attest/run.py [N]``.  Each quote is one ``tpm2_quote``
process (so the figure includes process start and the TCTI connection); the
verify figure is ``verify_quote`` alone on those quotes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from vigilnet.attest import qualified_name, verify_quote

AK = "0x81010001"


def _port() -> int:
    while True:
        with socket.socket() as a, socket.socket() as b:
            a.bind(("127.0.0.1", 0))
            p: int = a.getsockname()[1]
            try:
                b.bind(("127.0.0.1", p + 1))
            except OSError:
                continue
            return p


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        port = _port()
        proc = subprocess.Popen(
            ["swtpm", "socket", "--tpm2",
             "--server", f"type=tcp,port={port},bindaddr=127.0.0.1",
             "--ctrl", f"type=tcp,port={port + 1},bindaddr=127.0.0.1",
             "--tpmstate", f"dir={d}", "--flags", "not-need-init,startup-clear"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        env = dict(os.environ, TPM2TOOLS_TCTI=f"swtpm:host=127.0.0.1,port={port}")

        def run(*args: str) -> None:
            subprocess.run(args, env=env, cwd=d, check=True, capture_output=True)

        try:
            time.sleep(0.3)
            run("tpm2_createprimary", "-Q", "-C", "o", "-G", "ecc256:ecdsa-sha256:null",
                "-a", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign",
                "-c", "ak.ctx")  # fmt: skip
            run("tpm2_evictcontrol", "-Q", "-C", "o", "-c", "ak.ctx", AK)
            run("tpm2_readpublic", "-Q", "-c", AK, "-f", "pem", "-o", "ak.pem", "-n", "ak.name")
            run("tpm2_pcrread", "-Q", "sha256:0,1,7", "-o", "pcrs.bin")
            key = load_pem_public_key((d / "ak.pem").read_bytes())
            assert isinstance(key, ec.EllipticCurvePublicKey)
            qn = qualified_name((d / "ak.name").read_bytes())
            raw = (d / "pcrs.bin").read_bytes()
            pcrs = {(0x000B, p): raw[32 * k : 32 * k + 32] for k, p in enumerate((0, 1, 7))}
            quotes = []
            t0 = time.perf_counter()
            for _ in range(n):
                nonce = os.urandom(32)
                run("tpm2_quote", "-Q", "-c", AK, "-l", "sha256:0,1,7", "-q", nonce.hex(),
                    "-m", "q.msg", "-s", "q.sig", "-g", "sha256")  # fmt: skip
                msg, sig = (d / "q.msg").read_bytes(), (d / "q.sig").read_bytes()
                verify_quote(msg, sig, key, nonce=nonce, expected_pcrs=pcrs, ak_name=qn)
                quotes.append((nonce, msg, sig))
            round_trip = (time.perf_counter() - t0) / n
            t0 = time.perf_counter()
            for nonce, msg, sig in quotes:
                verify_quote(msg, sig, key, nonce=nonce, expected_pcrs=pcrs, ak_name=qn)
            verify = (time.perf_counter() - t0) / n
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"quotes: {n}")
    print(f"quote + verify round trip: {round_trip * 1e3:.2f} ms")
    print(f"verify_quote alone: {verify * 1e6:.1f} us")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
