"""Verdict proofs from a simulated run (issue 12, item 3; docs/verdict.md).

A proof verifies with the pinned hub keys; every one-byte change of a proof
file is refused (every position is tried); every field changed and the file
re-serialised canonically is refused by a check of its meaning, not by the
canonical-form rule; a proof for another agent or epoch, or under other hub
keys, is refused; the verifier calls the protocols' own checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import CliRunner

from vigilnet.cli import main
from vigilnet.crypto import SigningKey, VerifyKey
from vigilnet.evidence import SprtThresholds, Verdict
from vigilnet.protocols import sdbc, shap
from vigilnet.sim import _verdict
from vigilnet.sim._deployment import RunResult, run_deployment
from vigilnet.sim._scenario import load_scenario
from vigilnet.sim._verdict import (
    ProofUnavailable,
    VerdictProofError,
    canonical_json,
    hub_keys_json,
    read_hub_keys,
    verdict_proof,
    verify_proof,
    write_proofs,
)

# 20 agents in 5 sites of 4, one site per regional, one regional per hub:
# small trees, so the byte-by-byte test stays short.
TINY = """
[scenario]
name = "verdict"
seed = 3
epochs = 3
epoch_ms = 60000

[topology]
agents = 20
replicas = 3
agents_per_site = 4
sites_per_regional = 1
regionals_per_hub = 10
hubs = 5

[agents]
misbehaving = "1/2"
drifting = "0"
intermittent = "0"
"""

THRESHOLDS = SprtThresholds(alpha=Fraction(1, 100), beta=Fraction(1, 100))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    path = tmp_path_factory.mktemp("verdict") / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return run_deployment(load_scenario(path=path), record_proofs=True)


@pytest.fixture(scope="module")
def keys(run: RunResult) -> tuple[VerifyKey, ...]:
    return read_hub_keys(hub_keys_json(run.deployment.hub_config))


def _provable(run: RunResult, epoch: int = 1) -> list[int]:
    """Agents whose hub's summary is in the decided values of epochs 1..epoch
    (their proofs verify without allow_hub_signed)."""
    out = []
    for agent in range(run.deployment.scenario.topology.agents):
        try:
            verify_proof(verdict_proof(run, agent, epoch), _keys(run), THRESHOLDS)
        except VerdictProofError:
            continue
        out.append(agent)
    return out


@pytest.fixture(scope="module")
def flagged(run: RunResult) -> tuple[int, bytes]:
    """A flagged agent whose first epoch's proof already proves it."""
    for agent in _provable(run):
        if run.flagged[agent]:
            proof = verdict_proof(run, agent, 1)
            if verify_proof(proof, _keys(run), THRESHOLDS).verdict is Verdict.FLAGGED:
                return agent, proof
    raise AssertionError("no agent flagged at epoch 1")


def _keys(run: RunResult) -> tuple[VerifyKey, ...]:
    return tuple(run.deployment.hub_config.members)


def test_proof_of_every_epoch_verifies_and_states_the_run_s_verdict(
    run: RunResult, keys: tuple[VerifyKey, ...]
) -> None:
    d = run.deployment
    epochs = d.scenario.epochs
    checked = 0
    for agent in range(d.scenario.topology.agents):
        fact = verify_proof(
            verdict_proof(run, agent, epochs), keys, THRESHOLDS, allow_hub_signed=True
        )
        assert (fact.agent, fact.epoch, len(fact.links)) == (agent, epochs, epochs)
        # the proven verdict is the one the run reached
        assert (fact.verdict is Verdict.FLAGGED) == bool(run.flagged[agent])
        # the proven entries are the regional's combined entries of each epoch
        for link in fact.links:
            combined = d.combined[(link.epoch, agent // 4)]
            at = list(combined.agent_ids).index(agent)
            assert (link.count, link.llr_sum) == (
                int(combined.counts[at]),
                int(combined.llr_sums[at]),
            )
        # an epoch is decided-bound exactly when the hub's summary is in the value
        for link in fact.links:
            value = d.decisions[min(k for k in d.decisions if k[0] == link.epoch)].value
            assert link.decided == any(s.hub == link.hub for s in value.summaries)
        checked += 1
    assert checked == 20


def test_a_hub_left_out_of_the_decided_value_is_bound_by_its_own_signature(
    run: RunResult, keys: tuple[VerifyKey, ...]
) -> None:
    # epoch 1's value embeds the q = 4 lowest hubs' summaries: not hub 4's
    assert sorted(set(range(20)) - set(_provable(run))) == [16, 17, 18, 19]
    proof = verdict_proof(run, 16, 1)
    with pytest.raises(VerdictProofError, match="hub 4's root is bound by its own signature only"):
        verify_proof(proof, keys, THRESHOLDS)
    fact = verify_proof(proof, keys, THRESHOLDS, allow_hub_signed=True)
    assert [link.decided for link in fact.links] == [False]
    assert any(line.startswith("WEAKER:") for line in fact.lines())
    # own_summary where the hub is in the value, or missing where it is not
    body = json.loads(proof)
    body["epochs"][0]["own_summary"] = None
    with pytest.raises(VerdictProofError, match="not in the decided value"):
        verify_proof(canonical_json(body), keys, THRESHOLDS, allow_hub_signed=True)
    decided = json.loads(verdict_proof(run, 0, 1))
    decided["epochs"][0]["own_summary"] = json.loads(proof)["epochs"][0]["own_summary"]
    with pytest.raises(VerdictProofError, match="own_summary given"):
        verify_proof(canonical_json(decided), keys, THRESHOLDS, allow_hub_signed=True)


def test_a_proof_for_another_agent_or_epoch_is_refused(
    run: RunResult, keys: tuple[VerifyKey, ...], flagged: tuple[int, bytes]
) -> None:
    agent, proof = flagged
    assert verify_proof(proof, keys, THRESHOLDS, agent=agent, epoch=1).agent == agent
    with pytest.raises(VerdictProofError, match=f"about agent {agent}, not {agent + 1}"):
        verify_proof(proof, keys, THRESHOLDS, agent=agent + 1)
    with pytest.raises(VerdictProofError, match="about epoch 1, not 2"):
        verify_proof(proof, keys, THRESHOLDS, epoch=2)
    # the claim itself rewritten: the chain is another agent's (or epoch's)
    other = next(a for a in _provable(run) if a != agent)
    for field, wrong, reason in (
        ("agent", other, "entry"),
        ("epoch", 2, "2 epochs|1 epochs"),
    ):
        body = json.loads(proof)
        body[field] = wrong
        with pytest.raises(VerdictProofError, match=reason):
            verify_proof(canonical_json(body), keys, THRESHOLDS)
    # epoch 2's chain put where epoch 1's belongs
    two = json.loads(verdict_proof(run, agent, 2))
    two["epochs"] = [two["epochs"][1]]
    two["epoch"] = 1
    with pytest.raises(VerdictProofError, match="out of order"):
        verify_proof(canonical_json(two), keys, THRESHOLDS)


def test_other_hub_keys_are_refused(
    flagged: tuple[int, bytes], keys: tuple[VerifyKey, ...]
) -> None:
    _, proof = flagged
    stranger = SigningKey(bytes(range(32))).verify_key
    for pinned in ((stranger, *keys[1:]), tuple(reversed(keys)), keys[:4]):
        with pytest.raises(VerdictProofError, match="not the pinned hub keys"):
            verify_proof(proof, pinned, THRESHOLDS)


def _mutant_byte(b: int) -> int:
    """Another byte, chosen to keep the file JSON where possible: a hex
    digit becomes the next hex digit, a decimal digit the next digit, a
    letter the next letter, anything else a space."""
    c = chr(b)
    if c in "0123456789abcdef":
        return ord("0123456789abcdef0"["0123456789abcdef".index(c) + 1])
    if c.isalpha():
        return b + 1 if c not in "zZ" else b - 1
    return ord(" ") if c != " " else ord("x")


def test_every_one_byte_change_is_refused(
    flagged: tuple[int, bytes], keys: tuple[VerifyKey, ...]
) -> None:
    """Every position of the proof file, changed to another byte, is refused
    (no exception but the refusal), and so is every position changed to
    0xff (not UTF-8) and the file cut short at every tenth position."""
    _, proof = flagged
    assert 3_000 < len(proof) < 12_000
    reasons: dict[str, int] = {}
    for i in range(len(proof)):
        for b in (_mutant_byte(proof[i]), 0xFF):
            mutated = proof[:i] + bytes([b]) + proof[i + 1 :]
            try:
                verify_proof(mutated, keys, THRESHOLDS)
            except VerdictProofError as exc:
                kind = "canonical" if "canonical form" in str(exc) else str(exc).split(":")[0]
                reasons[kind] = reasons.get(kind, 0) + 1
            else:
                raise AssertionError(f"byte {i} ({proof[i : i + 1]!r} -> {bytes([b])!r}) accepted")
    for i in range(0, len(proof), 10):
        with pytest.raises(VerdictProofError):
            verify_proof(proof[:i], keys, THRESHOLDS)
    # most same-shape changes reach a check of meaning, not the form rule
    semantic = sum(n for k, n in reasons.items() if k not in ("canonical",))
    assert semantic > len(proof) // 2


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        yield path, value
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    else:
        yield path, value


def _set(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(body))
    target = copy
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = value
    return copy


def _changed(value: Any) -> list[Any]:
    if isinstance(value, bool) or value is None:
        return [0]
    if isinstance(value, int):
        return [value + 1, value - 1]
    if isinstance(value, str):
        flipped = ("1" if value[:1] != "1" else "2") + value[1:]
        return [flipped, value + "00"]
    if isinstance(value, list):
        return [value[:-1]] if value else [[0]]
    raise AssertionError(value)


@pytest.mark.parametrize("hub_signed", [False, True], ids=["decided", "hub-signed"])
def test_every_field_changed_is_refused_by_a_check(
    run: RunResult, keys: tuple[VerifyKey, ...], flagged: tuple[int, bytes], hub_signed: bool
) -> None:
    """A proof of two epochs bound by the decisions (and one of an agent of
    hub 4, bound by hub 4's own summary, accepted with allow_hub_signed):
    every scalar changed (+1, -1; a hex string's first digit, or two more
    digits), every list shortened by one, every object with a key removed:
    each, re-serialised canonically, is refused by a check (never by the
    form rule, never accepted)."""
    agent, _ = flagged
    proof = verdict_proof(run, 16, 1) if hub_signed else verdict_proof(run, agent, 2)
    body = json.loads(proof)

    def verify_proof(data: bytes, keys: tuple[VerifyKey, ...], t: SprtThresholds) -> object:
        return _verdict.verify_proof(data, keys, t, allow_hub_signed=hub_signed)

    verify_proof(proof, keys, THRESHOLDS)  # the unchanged proof verifies
    tried = 0
    for path, value in _leaves(body):
        if not path:
            continue
        for wrong in _changed(value):
            if path[-1] == "schema" or wrong == value:
                continue
            with pytest.raises(VerdictProofError) as refused:
                verify_proof(canonical_json(_set(body, path, wrong)), keys, THRESHOLDS)
            assert "canonical" not in str(refused.value), path
            tried += 1
    schema = _set(body, ("schema",), "vigilnet/verdict-proof/v2")
    with pytest.raises(VerdictProofError, match="schema"):
        verify_proof(canonical_json(schema), keys, THRESHOLDS)

    def objects(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        if isinstance(value, dict):
            yield path
            for k, v in value.items():
                yield from objects(v, (*path, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from objects(v, (*path, i))

    for path in objects(body):
        target: Any = body
        for k in path:
            target = target[k]
        for key in list(target):
            smaller = {k: v for k, v in target.items() if k != key}
            mutated = _set(body, path, smaller) if path else smaller
            with pytest.raises(VerdictProofError, match="missing"):
                verify_proof(canonical_json(mutated), keys, THRESHOLDS)
            tried += 1
    assert tried > 500


def test_malformed_files_are_refused_clearly(keys: tuple[VerifyKey, ...]) -> None:
    for data, reason in (
        (b"", "not JSON"),
        (b"\xff\n", "UTF-8"),
        (b"[1.5]\n", "non-integer"),
        (b'{"a":1,"a":1}\n', "duplicate key"),
        (b"[" * 100 + b"]" * 100 + b"\n", "nests"),
        (b"[NaN]\n", "non-integer"),
        (b'{"schema": "x"}\n', "canonical"),
        (b"[]\n", "not an object"),
        (b"{}\n", "missing"),
        ("9" * 2000 + "\n", "not bytes"),
    ):
        with pytest.raises(VerdictProofError, match=reason):
            verify_proof(data, keys, THRESHOLDS)  # type: ignore[arg-type]


def test_the_protocols_own_checks_are_called(
    flagged: tuple[int, bytes], keys: tuple[VerifyKey, ...]
) -> None:
    _, proof = flagged
    with (
        mock.patch.object(
            sdbc.DecisionCertificate,
            "verify",
            autospec=True,
            side_effect=sdbc.DecisionCertificate.verify,
        ) as certificate,
        mock.patch.object(
            sdbc.Value, "check_valid", autospec=True, side_effect=sdbc.Value.check_valid
        ) as valid,
        mock.patch.object(shap, "audit_entry", wraps=shap.audit_entry) as audit,
        mock.patch.object(
            _verdict, "verify_sum_inclusion", wraps=_verdict.verify_sum_inclusion
        ) as inclusion,
    ):
        verify_proof(proof, keys, THRESHOLDS)
    assert (certificate.call_count, valid.call_count, audit.call_count) == (1, 1, 1)
    assert inclusion.call_count == 1  # the regional in the hub's tree (the rest: in audit_entry)


def test_no_proof_without_recorded_commitments(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.replace("epochs = 3", "epochs = 1"), encoding="utf-8")
    result = run_deployment(load_scenario(path=path))
    with pytest.raises(ProofUnavailable, match="record_proofs"):
        verdict_proof(result, 0, 1)


def test_cli_verifies_and_refuses(
    run: RunResult, tmp_path: Path, flagged: tuple[int, bytes]
) -> None:
    paths = write_proofs(run, tmp_path, THRESHOLDS, limit=2)
    assert len(paths) == 2
    keys_file = tmp_path / "hub-keys.json"
    good = CliRunner().invoke(
        main, ["verdict", "verify", str(paths[0]), "--hub-keys", str(keys_file)]
    )
    assert good.exit_code == 0, good.output
    assert good.output.startswith(f"VALID: {paths[0]}\n")
    assert ": FLAGGED (log-odds " in good.output
    bad = tmp_path / "bad.json"
    data = bytearray(paths[0].read_bytes())
    data[len(data) // 2] ^= 1
    bad.write_bytes(bytes(data))
    refused = CliRunner().invoke(
        main, ["verdict", "verify", str(bad), "--hub-keys", str(keys_file)]
    )
    assert refused.exit_code == 1
    assert "REFUSED" in refused.output
    agent = int(paths[0].name.split("-")[2])
    other = CliRunner().invoke(
        main,
        [
            "verdict",
            "verify",
            str(paths[0]),
            "--hub-keys",
            str(keys_file),
            "--agent",
            str(agent + 1),
        ],
    )
    assert other.exit_code == 1 and f"not {agent + 1}" in other.output
    weak = tmp_path / "weak.json"
    weak.write_bytes(verdict_proof(run, 16, 1))  # hub 4: not in epoch 1's value
    args = ["verdict", "verify", str(weak), "--hub-keys", str(keys_file)]
    strict = CliRunner().invoke(main, args)
    assert strict.exit_code == 1 and "own signature only" in strict.output
    allowed = CliRunner().invoke(main, [*args, "--allow-hub-signed"])
    assert allowed.exit_code == 0 and "\nWEAKER: in 1 epoch(s)" in allowed.output
    missing = CliRunner().invoke(main, ["verdict", "verify", str(paths[0])])
    assert missing.exit_code == 2  # --hub-keys is required: no proof verifies without a pin


def test_simulate_writes_proofs_that_verify(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY, encoding="utf-8")
    out = tmp_path / "proofs"
    ran = CliRunner().invoke(
        main, ["simulate", "--scenario-file", str(scenario), "--proofs", str(out), "--json", "-"]
    )
    assert ran.exit_code == 0, ran.output
    json.loads(ran.stdout)  # the report on stdout stays JSON
    proofs = sorted(out.glob("verdict-agent-*.json"))
    assert 1 <= len(proofs) <= 3
    for proof in proofs:
        checked = CliRunner().invoke(
            main, ["verdict", "verify", str(proof), "--hub-keys", str(out / "hub-keys.json")]
        )
        assert checked.exit_code == 0, checked.output
        assert "FLAGGED" in checked.output


HOSTILE: tuple[Any, ...] = (None, True, -1, 2**70, "zz", [[]], {"a": 1})


def test_hostile_values_raise_only_the_refusal(
    flagged: tuple[int, bytes], keys: tuple[VerifyKey, ...]
) -> None:
    """Every value of a proof replaced by each of seven hostile values
    (wrong types, out of range, wrong lengths, containers): only
    VerdictProofError, never a TypeError, KeyError or IndexError."""
    _, proof = flagged
    body = json.loads(proof)
    tried = 0
    for path, value in _leaves(body):
        if not path:
            continue
        for hostile in HOSTILE:
            if hostile == value and type(hostile) is type(value):
                continue
            with pytest.raises(VerdictProofError):
                verify_proof(canonical_json(_set(body, path, hostile)), keys, THRESHOLDS)
            tried += 1
    assert tried > 1500


def test_a_byzantine_regional_s_altered_report_is_refused(tmp_path: Path) -> None:
    """The embedded Byzantine scenario (small): regional 0 alters a
    monitor's report before committing it.  The proof of an agent under it
    is built from what the regional committed, and refused: the entry rests
    on a monitor report that the monitor did not sign.  write_proofs hands
    out no refused proof."""
    scenario = load_scenario("byzantine").with_overrides(agents=2000, epochs=1)
    result = run_deployment(scenario, record_proofs=True)
    pinned = tuple(result.deployment.hub_config.members)
    with pytest.raises(VerdictProofError, match=r"replica \d: report from node \d+ rejected: bad"):
        verify_proof(verdict_proof(result, 0, 1), pinned, THRESHOLDS)
    for path in write_proofs(result, tmp_path, THRESHOLDS):
        verify_proof(path.read_bytes(), pinned, THRESHOLDS)
