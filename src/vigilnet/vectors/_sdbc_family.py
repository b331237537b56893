"""Vector family ``sdbc``: SDBC hub consensus (DESIGN.md 4.1).

One group: five hubs from fixed seeds, threshold 3/4 (q = 4), f_live = 1,
f_safe = 1, three summary coordinates in the signed 32-bit range, and their
configuration hash.  Tests of five kinds:

* ``signBytes``: a wire message (canonical CBOR), the sign bytes it must
  give (tag, zero byte, canonical CBOR of the signed fields) and whether its
  signature verifies under the named hub's key;
* ``certificate``: a decision certificate (q precommits) that must verify,
  or not (below quorum, duplicate signer, unknown signer, wrong epoch,
  wrong configuration hash, bad signature, nil precommits);
* ``value``: a proposal whose value must pass ``valid(v)``, or not (a
  summary of another width or out of range, a next threshold that no
  quorum of the summaries proposed);
* ``evidence``: two votes that do (or do not) prove their signer equivocated;
* ``execution``: every hub correct, messages delivered in send order, three
  epochs: the decided value hash and aggregate of each epoch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import replace
from fractions import Fraction
from typing import Any

from vigilnet.aggregation import trimmed_combination
from vigilnet.encoding import CborValue, decode, encode, sign_bytes
from vigilnet.errors import RemoteProtocolError
from vigilnet.protocols.sdbc import (
    PRECOMMIT,
    PREVOTE,
    PROPOSAL_TAG,
    SUMMARY_TAG,
    VOTE_TAGS,
    BadMessage,
    Cluster,
    DecisionCertificate,
    EpochSummary,
    EquivocationEvidence,
    HubConfig,
    Message,
    Proposal,
    Value,
    Vote,
    check_signature,
    decode_message,
    encode_message,
    make_config,
    sign_proposal,
    sign_summary,
    sign_vote,
)
from vigilnet.vectors._envelope import Case, Family, Group, Note, hex_string

__all__ = ["SDBC_FAMILY"]

_HUBS = 5

_NOTES = {
    "Valid": Note(bug_type="BASIC", description="A well-formed, correctly signed object."),
    "BadSignature": Note(bug_type="AUTH_BYPASS", description="A signature that does not verify."),
    "BelowQuorum": Note(
        bug_type="EDGE_CASE",
        description="q - 1 precommits.",
        effect="Accepting it lets q - 1 hubs (some faulty) decide alone: agreement breaks.",
    ),
    "DuplicateSigner": Note(
        bug_type="EDGE_CASE",
        description="One hub's precommit counted twice.",
        effect="Counting messages instead of distinct signers breaks agreement.",
    ),
    "UnknownSigner": Note(bug_type="AUTH_BYPASS", description="A signer outside the member list."),
    "WrongEpoch": Note(
        bug_type="AUTH_BYPASS",
        description="The precommits are for another epoch than the certificate claims.",
        effect="A certificate of an old epoch replayed as a new decision.",
    ),
    "WrongConfig": Note(
        bug_type="AUTH_BYPASS", description="Signed under another configuration hash."
    ),
    "NotConflicting": Note(bug_type="EDGE_CASE", description="The same vote twice: no evidence."),
    "DifferentSlot": Note(
        bug_type="EDGE_CASE",
        description="Two votes of different rounds: lawful, not equivocation.",
        effect="Accepting it frames a correct hub.",
    ),
    "NotProposer": Note(
        bug_type="AUTH_BYPASS",
        description="A correctly signed proposal by a hub that is not the round's proposer (hub (epoch + round) mod n).",
        effect="Accepting it lets any hub propose in any round: two proposals per round, and a faulty hub steers every decision.",
    ),
    "DifferentHub": Note(
        bug_type="AUTH_BYPASS",
        description="Conflicting prevotes of one slot signed by two different hubs: each hub voted once.",
        effect="Accepting it frames a correct hub with another hub's vote.",
    ),
    "DifferentKind": Note(
        bug_type="EDGE_CASE",
        description="A prevote and a precommit of one round with different values: different slots, so lawful.",
        effect="Accepting it frames a correct hub that prevoted one value and then precommitted another, after a quorum of prevotes for it.",
    ),
    "NilCertificate": Note(
        bug_type="EDGE_CASE",
        description="q nil precommits: a certificate of no value.",
        effect="Accepting it treats a round nobody decided in as a decision.",
    ),
    "SummaryWidth": Note(
        bug_type="MALFORMED_INPUT",
        description="A summary with another number of coordinates than the configuration's.",
        effect="A narrower one made every honest hub decide an invalid value; a wider one "
        "crashed the proposer.",
    ),
    "SummaryRange": Note(
        bug_type="MALFORMED_INPUT",
        description="A summary coordinate outside its configured range.",
    ),
    "ThresholdNotAgreed": Note(
        bug_type="AUTH_BYPASS",
        description="A next-epoch threshold that fewer than q embedded summaries proposed.",
        effect="One proposer would choose the next epoch's threshold (1: no hub can start; "
        "51/100: no value can be built).",
    ),
    "ThresholdAgreed": Note(
        bug_type="FUNCTIONALITY",
        description="A next-epoch threshold proposed by q embedded summaries.",
    ),
    "Execution": Note(bug_type="FUNCTIONALITY", description="A full run of the protocol."),
}


def _seed(h: int) -> bytes:
    return hashlib.sha256(b"vigilnet sdbc vector hub %d" % h).digest()


def _setup() -> tuple[HubConfig, list[Any]]:
    return make_config([_seed(h) for h in range(_HUBS)])


def _summaries(epoch: int) -> dict[int, tuple[int, ...]]:
    return {h: (10 * h + epoch, 1000 - h * h, -h * epoch) for h in range(_HUBS)}


def _cert_bytes(cert: DecisionCertificate) -> bytes:
    return encode(
        {
            "epoch": cert.epoch,
            "config_hash": cert.config_hash,
            "round": cert.round,
            "value_hash": cert.value_hash,
            "precommits": tuple(encode_message(v) for v in cert.precommits),
        }
    )


def _cert_from(data: bytes) -> DecisionCertificate:
    d = decode(data)
    if not isinstance(d, dict):
        raise BadMessage("certificate not a map")
    votes = []
    for raw in d["precommits"]:  # type: ignore[union-attr]
        v = decode_message(raw)  # type: ignore[arg-type]
        if not isinstance(v, Vote):
            raise BadMessage("certificate holds a non-vote")
        votes.append(v)
    return DecisionCertificate(
        epoch=d["epoch"],  # type: ignore[arg-type]
        config_hash=d["config_hash"],  # type: ignore[arg-type]
        round=d["round"],  # type: ignore[arg-type]
        value_hash=d["value_hash"],  # type: ignore[arg-type]
        precommits=tuple(votes),
    )


def _bad_extra(cert: DecisionCertificate, keys: list[Any], config: HubConfig) -> Vote:
    """A precommit on the certificate's slot by a hub not yet in it, its
    signature zeroed: a verifier that skips bad precommits still counts q."""
    hub = next(h for h in range(_HUBS) if h not in {v.hub for v in cert.precommits})
    vote = sign_vote(keys[hub], config, PRECOMMIT, cert.epoch, cert.round, hub, cert.value_hash)
    return replace(vote, signature=bytes(64))


def _tag(message: Message) -> Any:
    if isinstance(message, EpochSummary):
        return SUMMARY_TAG
    if isinstance(message, Proposal):
        return PROPOSAL_TAG
    return VOTE_TAGS[message.kind]


def _case(comment: str, result: str, flag: str, **fields: Any) -> Case:
    base = {"kind": "", "message": "", "signBytes": "", "object": "", "expected": ""}
    base.update(fields)
    return Case(comment=comment, result=result, flags=(flag,), fields=base)


def _build() -> Iterator[Group]:
    config, keys = _setup()
    cluster = Cluster(config=config, keys=keys, correct=tuple(range(_HUBS)))
    for epoch in (1, 2, 3):
        cluster.run_epoch(epoch, _summaries(epoch))
    cases: list[Case] = []
    # sign bytes: one summary, one proposal, one prevote, one precommit
    wanted: dict[str, Message] = {}
    for m in cluster.sent:
        name = type(m).__name__ if not isinstance(m, Vote) else m.kind
        wanted.setdefault(name, m)
    for name, m in sorted(wanted.items()):
        sb = sign_bytes(_tag(m), m.fields())
        cases.append(
            _case(
                f"{name} of epoch {m.epoch}",
                "valid",
                "Valid",
                kind="signBytes",
                message=encode_message(m).hex(),
                signBytes=sb.hex(),
            )
        )
        bad = replace(m, signature=bytes(reversed(m.signature)))
        cases.append(
            _case(
                f"{name}, signature reversed",
                "invalid",
                "BadSignature",
                kind="signBytes",
                message=encode_message(bad).hex(),
                signBytes=sb.hex(),
            )
        )
    proposal = wanted["Proposal"]
    assert isinstance(proposal, Proposal)
    usurper = (proposal.hub + 1) % _HUBS
    forged = sign_proposal(
        keys[usurper],
        config,
        proposal.epoch,
        proposal.round,
        usurper,
        proposal.value,
        proposal.valid_round,
    )
    cases.append(
        _case(
            f"Proposal signed by hub {usurper}, not the round's proposer",
            "invalid",
            "NotProposer",
            kind="signBytes",
            message=encode_message(forged).hex(),
            signBytes=sign_bytes(PROPOSAL_TAG, forged.fields()).hex(),
        )
    )
    # certificates
    cert = cluster.decisions[0][0].certificate
    other, _ = make_config([_seed(h) for h in range(_HUBS)], threshold=Fraction(4, 5))
    p0 = cert.precommits[0]
    cert_cases = [
        ("decision certificate of epoch 1", "valid", "Valid", cert),
        (
            "q - 1 precommits",
            "invalid",
            "BelowQuorum",
            replace(cert, precommits=cert.precommits[:3]),
        ),
        (
            "one precommit twice",
            "invalid",
            "DuplicateSigner",
            replace(cert, precommits=(p0, *cert.precommits[:3])),
        ),
        (
            "a signer outside the members",
            "invalid",
            "UnknownSigner",
            replace(cert, precommits=(*cert.precommits[:3], replace(p0, hub=9))),
        ),
        ("claims epoch 2", "invalid", "WrongEpoch", replace(cert, epoch=2)),
        (
            "precommits under another configuration",
            "invalid",
            "WrongConfig",
            replace(
                cert,
                config_hash=other.config_hash,
                precommits=tuple(
                    sign_vote(keys[v.hub], other, PRECOMMIT, v.epoch, v.round, v.hub, v.value_hash)
                    for v in cert.precommits
                ),
            ),
        ),
        (
            "one precommit's signature zeroed",
            "invalid",
            "BadSignature",
            replace(cert, precommits=(replace(p0, signature=bytes(64)), *cert.precommits[1:])),
        ),
        (
            "q good precommits and a fifth, badly signed",
            "invalid",
            "BadSignature",
            replace(cert, precommits=(*cert.precommits, _bad_extra(cert, keys, config))),
        ),
    ]
    nils = tuple(sign_vote(keys[h], config, PRECOMMIT, 1, 0, h, None) for h in range(4))
    cert_cases.append(
        (
            "q nil precommits",
            "invalid",
            "NilCertificate",
            replace(cert, value_hash=None, precommits=nils),  # type: ignore[arg-type]
        )
    )
    for comment, result, flag, c in cert_cases:
        cases.append(_case(comment, result, flag, kind="certificate", object=_cert_bytes(c).hex()))
    # evidence
    a = sign_vote(keys[2], config, PREVOTE, 4, 1, 2, hashlib.sha256(b"a").digest())
    b = sign_vote(keys[2], config, PREVOTE, 4, 1, 2, hashlib.sha256(b"b").digest())
    c2 = sign_vote(keys[2], config, PREVOTE, 4, 2, 2, hashlib.sha256(b"b").digest())
    for comment, result, flag, pair in (
        ("two prevotes of one round, different values", "valid", "Valid", (a, b)),
        ("the same prevote twice", "invalid", "NotConflicting", (a, a)),
        ("prevotes of two rounds", "invalid", "DifferentSlot", (a, c2)),
        (
            "prevotes of one round by two hubs",
            "invalid",
            "DifferentHub",
            (a, sign_vote(keys[3], config, PREVOTE, 4, 1, 3, hashlib.sha256(b"b").digest())),
        ),
        (
            "a prevote and a precommit of one round",
            "invalid",
            "DifferentKind",
            (a, sign_vote(keys[2], config, PRECOMMIT, 4, 1, 2, hashlib.sha256(b"b").digest())),
        ),
        (
            "second vote badly signed",
            "invalid",
            "BadSignature",
            (a, replace(b, signature=bytes(64))),
        ),
    ):
        obj = encode({"first": encode_message(pair[0]), "second": encode_message(pair[1])})
        cases.append(_case(comment, result, flag, kind="evidence", object=obj.hex()))
    # values: a proposal of round 0 by epoch 5's proposer
    cases.extend(_value_cases(config, keys))
    # executions
    for first in (1, 7):
        expected = _execution(config, keys, first)
        obj = encode({"epochs": tuple(range(first, first + 3))})
        cases.append(
            _case(
                f"three epochs from {first}, all hubs correct",
                "valid",
                "Execution",
                kind="execution",
                object=obj.hex(),
                expected=expected,
            )
        )
    yield Group(
        type="SdbcHubs",
        fields={
            "seeds": [_seed(h).hex() for h in range(_HUBS)],
            "publicKeys": [bytes(k).hex() for k in config.members],
            "threshold": "3/4",
            "fLive": 1,
            "fSafe": 1,
            "summaryRanges": [list(r) for r in config.summary_ranges],
            "configHash": config.config_hash.hex(),
        },
        cases=tuple(cases),
    )


def _value_cases(config: HubConfig, keys: list[Any]) -> Iterator[Case]:
    epoch = 5
    proposer = config.proposer(epoch, 0)
    rows = _summaries(epoch)

    def summaries(
        changed: dict[int, tuple[int, ...]] | None = None, next_t: Fraction | None = None
    ) -> tuple[EpochSummary, ...]:
        values = {**rows, **(changed or {})}
        return tuple(sign_summary(keys[h], config, epoch, h, values[h], next_t) for h in range(4))

    honest = Value.build(config, epoch, summaries())
    agreed = Value.build(config, epoch, summaries(next_t=Fraction(2, 3)))
    two = summaries({h: rows[h][:2] for h in range(4)})
    narrow = Value(
        epoch=epoch,
        config_hash=config.config_hash,
        summaries=two,
        aggregate=tuple(
            trimmed_combination([x.values[k] for x in two], config.trim) for k in range(2)
        ),
    )
    out_of_range = Value.build(config, epoch, summaries({0: (2**40, 0, 0)}))
    rows_values = [
        ("a value of q summaries, threshold unchanged", "valid", "Valid", honest),
        ("q summaries propose 2/3 for the next epoch", "valid", "ThresholdAgreed", agreed),
        (
            "the proposer alone sets next threshold 1",
            "invalid",
            "ThresholdNotAgreed",
            replace(honest, next_threshold=Fraction(1)),
        ),
        (
            "the proposer alone sets next threshold 51/100",
            "invalid",
            "ThresholdNotAgreed",
            replace(honest, next_threshold=Fraction(51, 100)),
        ),
        (
            "q summaries propose 2/3 but the value says unchanged",
            "invalid",
            "ThresholdNotAgreed",
            replace(agreed, next_threshold=None),
        ),
        (
            "summaries of two coordinates, the configuration has three",
            "invalid",
            "SummaryWidth",
            narrow,
        ),
        (
            "a summary coordinate of 2**40, the range is signed 32-bit",
            "invalid",
            "SummaryRange",
            out_of_range,
        ),
    ]
    return iter(
        _case(
            comment,
            result,
            flag,
            kind="value",
            message=encode_message(
                sign_proposal(keys[proposer], config, epoch, 0, proposer, value, -1)
            ).hex(),
        )
        for comment, result, flag, value in rows_values
    )


def _execution(config: HubConfig, keys: list[Any], first: int) -> str:
    cluster = Cluster(config=config, keys=keys, correct=tuple(range(_HUBS)))
    lines = []
    for epoch in range(first, first + 3):
        cluster.run_epoch(epoch, _summaries(epoch))
        d = cluster.decisions[0][-1]
        agg = ",".join(f"{x.numerator}/{x.denominator}" for x in d.value.aggregate)
        lines.append(f"{epoch}:{d.value.value_hash.hex()}:{agg}")
    return ";".join(lines)


def _verify(group: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    config, keys = _setup()
    if config.config_hash.hex() != group["configHash"]:
        return "configuration hash differs"
    kind = test["kind"]
    verdict = "valid"
    try:
        if kind == "signBytes":
            m = decode_message(bytes.fromhex(test["message"]))
            if sign_bytes(_tag(m), m.fields()).hex() != test["signBytes"]:
                return "sign bytes differ"
            check_signature(config, m)
            if isinstance(m, Proposal) and m.hub != config.proposer(m.epoch, m.round):
                raise BadMessage("proposal not by the round's proposer")
        elif kind == "value":
            m = decode_message(bytes.fromhex(test["message"]))
            if not isinstance(m, Proposal):
                return "value test is not a proposal"
            check_signature(config, m)
            m.value.check_valid(config, m.epoch)
        elif kind == "certificate":
            _cert_from(bytes.fromhex(test["object"])).verify(config)
        elif kind == "evidence":
            d = decode(bytes.fromhex(test["object"]))
            if not isinstance(d, dict):
                return "evidence is not a map"
            first, second = (decode_message(d[k]) for k in ("first", "second"))  # type: ignore[arg-type]
            if not (isinstance(first, Vote) and isinstance(second, Vote)):
                return "evidence is not two votes"
            EquivocationEvidence(first=first, second=second).verify(config)
        elif kind == "execution":
            d = decode(bytes.fromhex(test["object"]))
            epochs: CborValue = d["epochs"] if isinstance(d, dict) else None
            if not (isinstance(epochs, tuple) and epochs and isinstance(epochs[0], int)):
                return "execution has no epochs"
            if _execution(config, keys, epochs[0]) != test["expected"]:
                return "execution decided something else"
        else:
            return f"unknown kind {kind}"
    except RemoteProtocolError:
        verdict = "invalid"
    if verdict != test["result"]:
        return f"{kind} is {verdict}, expected {test['result']}"
    return None


SDBC_FAMILY = Family(
    name="sdbc",
    algorithm="SDBC hub consensus: signed messages, decision certificates, equivocation evidence, executions",
    header=(
        "Five hubs from the group's seeds, threshold 3/4 (q = 4), f_live = 1, f_safe = 1, summaryRanges (one inclusive [low, high] per coordinate); configHash binds them.",
        "Messages are canonical CBOR {type, body}; sign bytes are 'vigilnet/sdbc/<message>/v<n>' (summary v2, proposal, prevote, precommit v1), 0x00, canonical CBOR of the signed fields.",
        "A certificate is valid iff it holds q precommits by distinct members on its (epoch, config_hash, round, value_hash), each correctly signed, and value_hash names a value (not nil).",
        "A value test is a proposal: valid iff its signature verifies and its value passes valid(v): q summaries of distinct members, each of the configured width and ranges, the aggregate recomputes, and next_threshold is the one proposed by at least q of the summaries (else null).",
        "A signBytes proposal is valid only if body.hub is the round's proposer, (epoch + round) mod 5.",
        "Evidence is valid iff the two votes share (kind, epoch, round, hub, config_hash), differ in value_hash and are both correctly signed.",
        "An execution's expected is epoch:valueHash:aggregate per decided epoch (aggregate as exact fractions), messages delivered in send order.",
    ),
    notes=_NOTES,
    group_schema={
        "type": {"enum": ["SdbcHubs"]},
        "properties": {
            "seeds": {"type": "array", "items": hex_string("RFC 8032 seed")},
            "publicKeys": {"type": "array", "items": hex_string("public key")},
            "threshold": {"type": "string"},
            "fLive": {"type": "integer"},
            "fSafe": {"type": "integer"},
            "summaryRanges": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "integer"}},
            },
            "configHash": hex_string("SHA-256 of the configuration"),
        },
    },
    test_schema={
        "properties": {
            "kind": {"enum": ["signBytes", "certificate", "value", "evidence", "execution"]},
            "message": hex_string("a wire message (signBytes and value tests)"),
            "signBytes": hex_string("the sign bytes of message"),
            "object": hex_string("canonical CBOR of a certificate, evidence or run"),
            "expected": {"type": "string"},
        },
        "required": ["kind", "message", "signBytes", "object", "expected"],
    },
    build=_build,
    verify_case=_verify,
)
