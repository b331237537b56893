"""The committed vectors are exactly what the generator writes, replay
through the implementation, and every kind of damage is caught."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import REPO_ROOT
from vigilnet.cli import main
from vigilnet.vectors import dump_json, expected_tree, generate, lint, verify

COMMITTED = REPO_ROOT / "vectors"


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_generate_is_deterministic_and_matches_committed(tmp_path: Path) -> None:
    generate(tmp_path / "a")
    generate(tmp_path / "b")
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    assert _tree(tmp_path / "a") == _tree(COMMITTED), (
        "committed vectors differ from the generator: run `vigilnet vectors generate --out vectors`"
    )


def test_committed_vectors_verify_and_lint_clean() -> None:
    replayed, findings = verify(COMMITTED)
    assert findings == []
    assert replayed == sum(
        json.loads(t)["numberOfTests"]
        for n, t in expected_tree().items()
        if n.endswith("_test.json")
    )
    assert lint(COMMITTED) == []


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "vectors"
    shutil.copytree(COMMITTED, target)
    return target


def _edit(directory: Path, name: str, edit: object) -> None:
    path = directory / name
    document = json.loads(path.read_text())
    edit(document)  # type: ignore[operator]
    path.write_text(dump_json(document))


def test_flipping_one_byte_fails_verify_naming_the_tcid(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    path = directory / "ed25519_sign_bytes_test.json"
    document = json.loads(path.read_text())
    test = document["testGroups"][1]["tests"][0]
    assert test["result"] == "valid"
    signature = bytearray.fromhex(test["signature"])
    signature[10] ^= 0x01
    test["signature"] = signature.hex()
    path.write_text(dump_json(document))
    result = CliRunner().invoke(main, ["vectors", "verify", str(directory)])
    assert result.exit_code == 1
    assert (
        f"ed25519_sign_bytes_test.json tcId {test['tcId']}: signature is invalid, expected valid"
        in result.output
    )
    assert "1 failures" in result.output


@pytest.mark.parametrize(
    ("name", "path", "value", "message"),
    [
        ("quorum_thresholds_test.json", (0, 3, "quorum"), 5, "quorum 3 != 5"),
        ("canonical_cbor_test.json", (0, 0, "cbor"), "01", "decoded 1, expected 0"),
        ("canonical_cbor_test.json", (0, 40, "cbor"), "00", "invalid encoding accepted"),
        ("ed25519_sign_bytes_test.json", (0, 0, "fields"), "{}", "cannot build sign bytes"),
    ],
)
def test_verify_names_each_damaged_case(
    tmp_path: Path, name: str, path: tuple[int, int, str], value: object, message: str
) -> None:
    directory = _copy(tmp_path)
    group, index, key = path
    assert group == 0  # tcIds below count from the first group

    def edit(document: dict) -> None:  # type: ignore[type-arg]
        document["testGroups"][group]["tests"][index][key] = value

    _edit(directory, name, edit)
    _, findings = verify(directory)
    assert len(findings) == 1
    assert findings[0].file == name
    assert findings[0].tc_id == index + 1
    assert message in findings[0].message


def test_lint_catches_damage(tmp_path: Path) -> None:
    directory = _copy(tmp_path)

    def duplicate_id(document: dict) -> None:  # type: ignore[type-arg]
        document["testGroups"][0]["tests"][1]["tcId"] = 1

    def extra_field(document: dict) -> None:  # type: ignore[type-arg]
        document["testGroups"][0]["tests"][2]["surprise"] = True

    def wrong_count(document: dict) -> None:  # type: ignore[type-arg]
        document["numberOfTests"] += 1

    def unknown_flag(document: dict) -> None:  # type: ignore[type-arg]
        document["testGroups"][0]["tests"][3]["flags"] = ["NoSuchFlag"]

    _edit(directory, "canonical_cbor_test.json", duplicate_id)
    _edit(directory, "quorum_thresholds_test.json", extra_field)
    _edit(directory, "ed25519_sign_bytes_test.json", wrong_count)
    _edit(directory, "ed25519_sign_bytes_test.json", unknown_flag)
    (directory / "stray.json").write_text("{}\n")
    reformatted = directory / "quorum_thresholds_test.json"
    reformatted.write_text(json.dumps(json.loads(reformatted.read_text())))
    messages = [str(f) for f in lint(directory)]
    assert "canonical_cbor_test.json tcId 1: duplicate tcId" in messages
    assert "canonical_cbor_test.json: tcIds are not numbered 1..n in order" in messages
    assert any("quorum_thresholds_test.json: schema:" in m and "surprise" in m for m in messages)
    assert "quorum_thresholds_test.json: not in canonical JSON format" in messages
    assert any(m.startswith("ed25519_sign_bytes_test.json: numberOfTests") for m in messages)
    assert "ed25519_sign_bytes_test.json tcId 4: flag 'NoSuchFlag' has no note" in messages
    assert "stray.json: not a file vigilnet generates" in messages
    result = CliRunner().invoke(main, ["vectors", "lint", str(directory)])
    assert result.exit_code == 1


def test_missing_file_is_a_failure(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    (directory / "canonical_cbor_test.json").unlink()
    _, findings = verify(directory)
    assert [str(f) for f in findings] == ["canonical_cbor_test.json: missing"]


def test_cli_generate_verify_lint(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["vectors", "generate", "--out", str(tmp_path)]).exit_code == 0
    verified = runner.invoke(main, ["vectors", "verify", str(tmp_path)])
    assert verified.exit_code == 0, verified.output
    assert "0 failures" in verified.output
    assert runner.invoke(main, ["vectors", "lint", str(tmp_path)]).exit_code == 0
