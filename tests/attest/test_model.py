"""The admission model: pinned counts, every mutant killed by the property it
breaks, and the abstraction (quotes as ``(nonce, signer, good)`` records)
attacked with real quote bytes on the real :class:`Admission`.

Pinned distinct-state counts (``models.admission.PINNED``, explained in the
model's docstring): ``small`` 243, ``default`` 3,161.
"""

from __future__ import annotations

import os
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from vigilnet.models import admission

from tests.attest.test_quote import PCRS, make_attest, sign
from vigilnet.attest import Admission, Policy, qualified_name
from vigilnet.attest._quote import TPM_ALG_SHA256
from vigilnet.checker import Status
from vigilnet.checker._run import check


def _bfs(config: str) -> int:
    """Reachable states by a plain BFS over the model's actions."""
    model = admission.FAMILY.instantiate(config=config)
    seen = set(model.init_states())
    frontier = list(seen)
    while frontier:
        nxt = []
        for state in frontier:
            for action in model.actions:
                for _args, succ in action.step(state):
                    if succ not in seen:
                        seen.add(succ)
                        nxt.append(succ)
        frontier = nxt
    return len(seen)


@pytest.mark.parametrize("config", ["small", "default"])
def test_configs_hold_with_pinned_counts(config: str) -> None:
    result = check(admission.FAMILY.instantiate(config=config))
    statuses = {p.name: p.status for p in result.properties}
    assert result.ok and result.complete, statuses
    assert result.distinct_states == admission.PINNED[config] == _bfs(config)
    assert all(
        status is (Status.HOLDS if kind == "always" else Status.WITNESSED)
        for (name, status), kind in zip(
            statuses.items(),
            (p.kind.value for p in admission.FAMILY.instantiate().properties),
            strict=True,
        )
    )


#: mutant -> (the property it breaks, the shortest counterexample's length)
KILLS = {
    "nonce_not_consumed": ("NoReplayAdmitted", 4),
    "stale_check_dropped": ("NoStaleAdmitted", 5),
    "pcr_check_dropped": ("NoAdmissionWithoutValidQuote", 3),
    "register_before_verify": ("KeyOnlyAfterAdmission", 3),
}


@pytest.mark.parametrize("mutant", sorted(KILLS))
def test_mutant_is_killed(mutant: str) -> None:
    prop, length = KILLS[mutant]
    result = check(admission.FAMILY.instantiate(mutant=mutant))
    assert not result.ok
    outcome = {p.name: p for p in result.properties}[prop]
    assert outcome.status is Status.VIOLATED
    assert outcome.trace is not None and len(outcome.trace) == length
    assert set(KILLS) == set(admission.FAMILY.mutants)


def test_replay_counterexample_answers_one_quote_twice() -> None:
    result = check(admission.FAMILY.instantiate(mutant="nonce_not_consumed"))
    trace = {p.name: p for p in result.properties}["NoReplayAdmitted"].trace
    assert trace is not None
    actions = [(step.action, step.args) for step in trace.steps[1:]]
    assert actions[-1] == actions[-2] and actions[-1][0] == "Answer"


# -- the abstraction, attacked with quote bytes -------------------------------


def _ak() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    name = struct.pack(">H", TPM_ALG_SHA256) + os.urandom(32)
    return ec.generate_private_key(ec.SECP256R1()), qualified_name(name)


def _pinned() -> tuple[Admission, dict[str, tuple[ec.EllipticCurvePrivateKey, bytes]]]:
    keys = {"a": _ak(), "b": _ak()}
    aks = {n: (k.public_key(), qn) for n, (k, qn) in keys.items()}
    return Admission(Policy(PCRS, max_age=3, aks=aks)), keys


def test_forged_quote_under_another_key_is_refused() -> None:
    """The model's quotes cannot be forged: a quote over the right nonce,
    name and PCRs signed by a key that is not the node's pinned AK is
    refused, whether the answer offers the forger's key or the pinned one."""
    adm, keys = _pinned()
    forger, _ = _ak()
    qn = keys["a"][1]
    nonce = adm.challenge("a", os.urandom(32), now=0)
    attest = make_attest(nonce, qn, PCRS)
    forged = sign(forger, attest)
    v = adm.answer("a", nonce, attest, forged, forger.public_key(), qn, now=1)
    assert not v.admitted and "not the one enrolled" in v.reason
    nonce = adm.challenge("a", os.urandom(32), now=1)
    attest = make_attest(nonce, qn, PCRS)
    v = adm.answer("a", nonce, attest, sign(forger, attest), keys["a"][0].public_key(), qn, now=1)
    assert not v.admitted and "signature" in v.reason
    assert adm.admitted == set()


def test_quote_binds_its_nonce_and_signer() -> None:
    """``q.nonce = k`` and ``q.signer = n``: a's genuine quote over one nonce
    does not answer another nonce of a's, nor b's challenge."""
    adm, keys = _pinned()
    key_a, qn_a = keys["a"]
    k1 = adm.challenge("a", os.urandom(32), now=0)
    k2 = adm.challenge("a", os.urandom(32), now=0)
    kb = adm.challenge("b", os.urandom(32), now=0)
    attest = make_attest(k1, qn_a, PCRS)
    sig = sign(key_a, attest)
    other_nonce = adm.answer("a", k2, attest, sig, key_a.public_key(), qn_a, now=1)
    assert not other_nonce.admitted and "nonce" in other_nonce.reason
    as_b = adm.answer("b", kb, attest, sig, key_a.public_key(), qn_a, now=1)
    assert not as_b.admitted and "not the one enrolled" in as_b.reason
    ok = adm.answer("a", k1, attest, sig, key_a.public_key(), qn_a, now=1)
    assert ok.admitted
    assert adm.admitted == {"a"}


def test_good_flag_is_the_pcr_digest_and_unpinned_nodes_are_refused() -> None:
    adm, keys = _pinned()
    key_b, qn_b = keys["b"]
    bad = dict(PCRS)
    bad[(TPM_ALG_SHA256, 7)] = b"\x07" * 32
    kb = adm.challenge("b", os.urandom(32), now=0)
    attest = make_attest(kb, qn_b, bad)
    v = adm.answer("b", kb, attest, sign(key_b, attest), key_b.public_key(), qn_b, now=1)
    assert not v.admitted and "PCR digest" in v.reason
    stranger, qn = _ak()
    kc = adm.challenge("c", os.urandom(32), now=0)
    attest = make_attest(kc, qn, PCRS)
    v = adm.answer("c", kc, attest, sign(stranger, attest), stranger.public_key(), qn, now=1)
    assert not v.admitted and "no attestation key enrolled" in v.reason
    assert adm.admitted == set()
