"""``vigilnet keys`` refuses what it must: a tampered or missing share, a
certificate one cosignature short, a cosigner outside the policy, a file
that is not JSON; and a refused file changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from vigilnet.cli import main
from vigilnet.crypto.cli import PASSPHRASE_ENV

ENV = {PASSPHRASE_ENV: "a passphrase for the tests"}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["keys", *args], env=ENV)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("keys")
    hubs = []
    for i in range(5):
        made = run("keygen", "--keystore", str(d / "keys"), "--key", f"hub-{i}")
        assert made.exit_code == 0, made.output
        hubs += ["--hub", made.output.strip()]
    assert run("policy", *hubs, "--out", str(d / "policy.json")).exit_code == 0
    identity = run("keygen", "--keystore", str(d / "keys"), "--key", "id").output.strip()
    (d / "identity").write_text(identity)
    assert run("keygen", "--keystore", str(d / "keys"), "--key", "op").exit_code == 0
    assert (
        run(
            "split", "--keystore", str(d / "keys"), "--key", "id", "--out", str(d / "shares")
        ).exit_code
        == 0
    )
    made = run(
        "certify", "--keystore", str(d / "keys"), "--policy", str(d / "policy.json"),
        "--node", "n-1", "--serial", "0", "--new-key", "op", "--signed-by", "id",
        "--signer", "identity", "--from", "0", "--until", "100", "--out", str(d / "cert.json"),
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    for i in range(3):
        cosigned = run("cosign", "--keystore", str(d / "keys"), "--policy", str(d / "policy.json"), "--key", f"hub-{i}", str(d / "cert.json"))  # fmt: skip
        assert cosigned.exit_code == 0, cosigned.output
    return d


def test_one_cosignature_short_fails_the_check(world: Path) -> None:
    out = run("check", "--policy", str(world / "policy.json"), "--identity", (world / "identity").read_text(), str(world / "cert.json"))  # fmt: skip
    assert out.exit_code == 1
    assert out.output.strip() == f"FAIL {world / 'cert.json'}: 3 cosignatures, the quorum is 4"


def test_a_key_outside_the_policy_cannot_cosign(world: Path) -> None:
    before = (world / "cert.json").read_bytes()
    out = run("cosign", "--keystore", str(world / "keys"), "--policy", str(world / "policy.json"), "--key", "op", str(world / "cert.json"))  # fmt: skip
    assert out.exit_code == 2
    assert "is not one of the policy's hubs" in out.output
    assert (world / "cert.json").read_bytes() == before


def test_a_tampered_share_is_refused_before_recovery(world: Path, tmp_path: Path) -> None:
    shares = sorted((world / "shares").glob("*.json"))
    bad = json.loads(shares[0].read_text())
    bad["y"] = ("00" if bad["y"][:2] != "00" else "01") + bad["y"][2:]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    identity = (world / "identity").read_text()
    out = run("recover", "--keystore", str(tmp_path / "k"), "--key", "id", "--public-key", identity, str(tmp_path / "bad.json"), str(shares[1]), str(shares[2]))  # fmt: skip
    assert out.exit_code == 2
    assert "not signed by the dealer" in out.output
    two = run("recover", "--keystore", str(tmp_path / "k"), "--key", "id", "--public-key", identity, str(shares[1]), str(shares[2]))  # fmt: skip
    assert two.exit_code == 2
    assert not (tmp_path / "k").exists() or not list((tmp_path / "k").iterdir())


def test_a_file_that_is_not_json_is_refused(world: Path, tmp_path: Path) -> None:
    (tmp_path / "junk.json").write_text("{not json")
    out = run("check", "--policy", str(world / "policy.json"), "--identity", (world / "identity").read_text(), str(tmp_path / "junk.json"))  # fmt: skip
    assert out.exit_code == 2
    assert out.output.startswith("error: ")
