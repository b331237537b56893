"""``vigilnet audit``: keygen, create, append (one and a batch), checkpoint,
prove (checked here with the plain RFC 9162 verifier), verify, prune, show;
a flipped byte in an entry's body is found and named; bad input changes
nothing."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from vigilnet.cli import main
from vigilnet.crypto.cli import PASSPHRASE_ENV
from vigilnet.merkle import (
    ConsistencyProof,
    InclusionProof,
    verify_consistency,
    verify_inclusion,
)
from vigilnet.store import read_origin

ENV = {PASSPHRASE_ENV: "correct horse battery staple"}


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["audit", *args], env=ENV, input=input)


def _root(note: str) -> tuple[int, bytes]:
    lines = note.split("\n")
    return int(lines[1]), base64.b64decode(lines[2])


@pytest.fixture
def log(tmp_path: Path) -> tuple[Path, list[str]]:
    keys = tmp_path / "keys"
    made = run("keygen", "--keystore", str(keys), "--key", "hub-0")
    assert made.exit_code == 0, made.output
    public = made.output.strip()
    assert len(bytes.fromhex(public)) == 32
    path = tmp_path / "audit.db"
    pub = ["--public-key", public]
    signer = ["--keystore", str(keys), "--key", "hub-0"]
    assert run("create", str(path), "--origin", "vigilnet.example/hub-0", *pub).exit_code == 0
    one = run(
        "append",
        str(path),
        *pub,
        "--kind",
        "decision",
        "--time-ms",
        "1000",
        "--body",
        '{"epoch": 1, "root": h\'00ff\'}',
    )
    assert one.output.strip() == "0"
    batch = "\n".join(
        json.dumps(
            {
                "kind": "key-event",
                "time_ms": 2000 + i,
                "body": f'{{"n": {i}, "mark": h\'{f"MARKER-{i}".encode().hex()}\'}}',
            }
        )
        for i in range(6)
    )
    many = run("append", str(path), *pub, "--batch", "-", input=batch)
    assert many.exit_code == 0, many.output
    assert many.output.split() == ["1", "2", "3", "4", "5", "6"]
    assert run("checkpoint", str(path), *signer).exit_code == 0
    assert (
        run(
            "append",
            str(path),
            *pub,
            "--kind",
            "certificate",
            "--time-ms",
            "9000",
            "--body",
            "[1, 2, 3]",
        ).exit_code
        == 0
    )
    assert run("checkpoint", str(path), *signer).exit_code == 0
    return path, pub


def test_prove_gives_proofs_the_plain_verifier_accepts(log: tuple[Path, list[str]]) -> None:
    path, pub = log
    out = run("prove", str(path), *pub, "--index", "3")
    assert out.exit_code == 0, out.output
    proof = json.loads(out.output)
    size, root = _root(proof["checkpoint"])
    assert (size, proof["treeSize"]) == (8, 8)
    verify_inclusion(
        leaf_hash=base64.b64decode(proof["leafHash"]),
        proof=InclusionProof(
            leaf_index=3, tree_size=8, audit_path=tuple(base64.b64decode(h) for h in proof["path"])
        ),
        root=root,
    )
    out = run("prove", str(path), *pub, "--from", "7")
    assert out.exit_code == 0, out.output
    proof = json.loads(out.output)
    old_size, old_root = _root(proof["oldCheckpoint"])
    verify_consistency(
        proof=ConsistencyProof(
            old_size=old_size,
            new_size=8,
            consistency_path=tuple(base64.b64decode(h) for h in proof["path"]),
        ),
        old_root=old_root,
        new_root=_root(proof["checkpoint"])[1],
    )


def test_verify_show_and_prune(log: tuple[Path, list[str]]) -> None:
    path, pub = log
    ok = run("verify", str(path), *pub)
    assert ok.exit_code == 0
    assert ok.output.strip() == f"OK {path}: 8 entries (0 pruned), 7 nodes, 2 checkpoints"
    shown = run("show", str(path), *pub, "--index", "0")
    assert shown.output.strip() == 'entry 0: decision at 1000 ms: {"root": h\'00ff\', "epoch": 1}'
    assert (
        run("prune", str(path), *pub, "--now-ms", str(2003 + 365 * 86_400_000)).output.strip()
        == "pruned 4 bodies"
    )
    assert (
        run("show", str(path), *pub, "--index", "2").output.strip()
        == "entry 2: key-event at 2001 ms: (pruned)"
    )
    again = run("verify", str(path), *pub)
    assert again.exit_code == 0 and "(4 pruned)" in again.output
    # proofs still served for a pruned entry
    assert run("prove", str(path), *pub, "--index", "2").exit_code == 0
    assert read_origin(path) == "vigilnet.example/hub-0"


def test_a_flipped_byte_in_a_body_is_named(log: tuple[Path, list[str]]) -> None:
    path, pub = log
    data = bytearray(path.read_bytes())
    at = data.find(b"MARKER-4")
    assert at > 0, "the body is in the main file (the WAL was checkpointed on close)"
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    bad = run("verify", str(path), *pub)
    assert bad.exit_code == 1
    assert bad.output.strip() == f"FAIL {path}: entry 5: body does not match its leaf hash"
    assert run("prove", str(path), *pub, "--index", "5").exit_code == 1


def test_another_key_refuses_the_checkpoints(log: tuple[Path, list[str]]) -> None:
    path, _pub = log
    other = run("verify", str(path), "--public-key", "11" * 32)
    assert other.exit_code == 1
    assert other.output.strip() == f"FAIL {path}: checkpoint at size 7: no signature by a known key"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "nonsense", "--time-ms", "1", "--body", "1"], "unknown kind 'nonsense'"),
        (["--kind", "decision", "--time-ms", "1", "--body", "1.5"], "bad entry"),
        (["--kind", "decision", "--time-ms", "-1", "--body", "1"], "time_ms -1 out of range"),
        (["--kind", "decision", "--body", "1"], "append needs --kind, --time-ms and --body"),
    ],
)
def test_bad_appends_change_nothing(
    log: tuple[Path, list[str]], args: list[str], message: str
) -> None:
    path, pub = log
    before = sqlite3.connect(path).execute("SELECT COUNT(*) FROM entries").fetchone()
    out = run("append", str(path), *pub, *args)
    assert out.exit_code == 2
    assert message in out.output
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM entries").fetchone() == before


def test_signing_needs_the_passphrase(log: tuple[Path, list[str]], tmp_path: Path) -> None:
    path, _pub = log
    out = CliRunner().invoke(
        main,
        ["audit", "checkpoint", str(path), "--keystore", str(tmp_path / "keys"), "--key", "hub-0"],
        env={PASSPHRASE_ENV: None},  # type: ignore[dict-item]
    )
    assert out.exit_code == 2
    assert f"set {PASSPHRASE_ENV}" in out.output
    wrong = CliRunner().invoke(
        main,
        ["audit", "checkpoint", str(path), "--keystore", str(tmp_path / "keys"), "--key", "hub-0"],
        env={PASSPHRASE_ENV: "the wrong passphrase"},
    )
    assert wrong.exit_code == 2
