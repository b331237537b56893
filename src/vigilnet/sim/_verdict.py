"""Verdict proofs: one agent's verdict, checkable offline from the hub keys.

Theory of operation
===================

An agent's verdict after epoch ``E`` is Wald's SPRT on its log-odds
``L_k = sum of its combined llr entries of epochs 1..k`` (prior 0): FLAGGED
from the first ``k <= E`` with ``L_k >= A`` (final), else CLEARED if
``L_E <= B``, else UNDECIDED (DESIGN.md 3; what
:func:`~vigilnet.sim._deployment.run_deployment` computes).  A verdict proof
carries, for every epoch ``k`` in ``1..E``, the chain that binds the agent's
entry of ``k`` to the hubs' decision of ``k`` (DESIGN.md 4.5)::

    q precommits          DecisionCertificate.verify           (sdbc)
      -> decided value    Value.check_valid: >= q hub-signed summaries
      -> hub h's summary  (totals, hub root as eight 32-bit words)
      -> hub root         commitment_hash(hub inputs root, absent)   (shap)
      -> regional leaf    verify_sum_inclusion in the hub's inputs tree
      -> regional root    commitment_hash(inputs root, entries root)
      -> agent's entry    audit_entry: the entry in the entries tree, its next
                          entry (ids increase), its r replicas each in its
                          monitor's signed entries tree, each monitor's leaf in
                          the regional's inputs tree, the entry their median

Every link is checked by the protocols' own functions
(:meth:`DecisionCertificate.verify`, :meth:`Value.check_valid`,
:func:`~vigilnet.merkle.verify_sum_inclusion`,
:func:`~vigilnet.protocols.shap.audit_entry`), never by a copy.

Trust roots
-----------

* **The hub keys** (pinned by the verifier, ``--hub-keys``): the proof's
  hub configuration must list exactly those keys, in order; its threshold,
  ``f_live``, ``f_safe`` and summary layout are bound by the configuration
  hash that every precommit and summary signs.
* With those alone the chain from the certificate down to the monitors'
  entries is bound by hashes: the decided value names hub ``h``'s root, the
  root commits to the regional's leaf (node id, root, totals), the regional
  root to its entries and its monitors' leaves, each monitor root to its
  entries.  A proof cannot show an entry the hubs did not decide.
* **Monitor and regional keys are not certified by the hubs today**: they
  are configuration (:class:`~vigilnet.protocols.shap.AggregatorSetup`),
  and no hub-signed structure lists them.  The proof carries them and the
  verifier checks each report's signature under the carried key, which
  proves only that the holder of that key signed it; binding a key to a
  node id needs a registry the hubs sign (not built).  The SHAP
  configuration (so ``r``, the replica count of the median check) is bound
  by the reports' signed ``config_hash``, so by those keys too, not by the
  hubs.
* The SPRT error rates are the verifier's policy (``--alpha``, ``--beta``),
  not part of the proof.

The file
--------

Strict JSON, one canonical form: UTF-8, keys sorted, no whitespace, a final
newline (``json.dumps(..., sort_keys=True, separators=(",", ":"))``);
bytes as lowercase hex of their exact length, integers exact (no floats),
fractions as ``[numerator, denominator]`` in lowest terms, every object with
exactly its keys.  Anything derivable is left out and recomputed (a
report's epoch, tier, root and totals; the value's aggregate and agreed
threshold; the certificate's value hash), so every byte of a proof is one
that a check reads: a file that parses but is not byte-identical to its
canonical re-serialisation is refused, and so is every other change of one
byte (``tests/sim/test_verdict.py`` tries each position).

Where it lives: the verifying half imports only the protocols (``sdbc``,
``shap``, ``merkle``) and :func:`~vigilnet.sim._deployment.words_root`; the
format is a protocol artefact and moves to a package of its own
(``vigilnet.verdict``) when the node runtime emits proofs too.  It stays
beside its one producer, the simulator, for now: a new package is a change
to ``pyproject.toml``'s package list, and one emitter does not justify it.

The decided value embeds ``q`` of the ``N`` summaries (the first ``q`` the
proposer holds, the lowest hubs' if it holds more), so in an honest epoch
at ``N = 5`` at least one hub's root is not decided.  An entry under such a
hub is bound by that hub's own signed summary (``own_summary``, checked by
:func:`~vigilnet.protocols.sdbc.check_signature`): one hub's word, not the
decision.  The verifier refuses such a link unless told to accept it
(``allow_hub_signed``; ``--allow-hub-signed``), and the fact says which
epochs are bound how.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import numpy as np

from vigilnet._jsonfile import MAX_INT_DIGITS, too_deep
from vigilnet.crypto import VerifyKey
from vigilnet.errors import LocalProtocolError, RemoteProtocolError
from vigilnet.evidence import ReputationPolicy, SprtThresholds, Verdict
from vigilnet.merkle import SumInclusionProof, SumNode, SumProofError, SumRoot, verify_sum_inclusion
from vigilnet.protocols import sdbc, shap
from vigilnet.sim._deployment import ROOT_WORDS, RunResult, words_root

__all__ = [
    "HUB_KEYS_SCHEMA",
    "MAX_PROOF_BYTES",
    "SCHEMA",
    "EpochLink",
    "ProofUnavailable",
    "VerdictFact",
    "VerdictProofError",
    "canonical_json",
    "hub_keys_json",
    "read_hub_keys",
    "verdict_proof",
    "verify_proof",
    "write_proofs",
]

SCHEMA: Final = "vigilnet/verdict-proof/v1"
HUB_KEYS_SCHEMA: Final = "vigilnet/hub-keys/v1"
#: A proof larger than this is refused before it is parsed.
MAX_PROOF_BYTES: Final = 8 << 20
_MAX_DEPTH: Final = 12
_MAX_EPOCHS: Final = 1 << 16
_MAX_PATH: Final = 64
_MAX_ITEMS: Final = 1 << 10
_REGIONAL_BASE: Final = 1 << 40  # as in _deployment (node ids of regionals)
_HEX: Final = re.compile(r"[0-9a-f]*")


class VerdictProofError(RemoteProtocolError, ValueError):
    """A proof (or a hub-keys file) is malformed, or one of its checks
    failed: the message says which."""


class ProofUnavailable(LocalProtocolError):
    """No proof can be made for this agent and epoch from this run."""


# --------------------------------------------------------------------------
# Canonical JSON


def canonical_json(value: Any) -> bytes:
    """The one serialisation of a proof or a hub-keys file."""
    return (
        json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n"
    ).encode("ascii")


def _fail(what: str) -> VerdictProofError:
    return VerdictProofError(what)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _fail(f"duplicate key {k!r}")
        out[k] = v
    return out


def _no_float(text: str) -> Any:
    raise _fail(f"a non-integer number {text[:40]}")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _fail("an integer with too many digits")
    return int(text)


def _parse(data: bytes, what: str) -> Any:
    if type(data) is not bytes:
        raise _fail(f"{what} is not bytes")
    if len(data) > MAX_PROOF_BYTES:
        raise _fail(f"{what} is larger than {MAX_PROOF_BYTES:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(f"{what} is not UTF-8 (byte {exc.start})") from None
    if too_deep(text, _MAX_DEPTH):
        raise _fail(f"{what} nests more than {_MAX_DEPTH} deep")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_float=_no_float,
            parse_int=_parse_int,
            parse_constant=_no_float,
        )
    except VerdictProofError as exc:
        raise _fail(f"{what}: {exc}") from None
    except (json.JSONDecodeError, ValueError, RecursionError) as exc:
        raise _fail(f"{what} is not JSON: {exc}") from None
    if canonical_json(value) != data:
        raise _fail(f"{what} is not in canonical form (sorted keys, no whitespace, final newline)")
    return value


# -- strict readers ----------------------------------------------------------


def _obj(x: Any, keys: set[str], where: str) -> dict[str, Any]:
    if not isinstance(x, dict):
        raise _fail(f"{where}: not an object")
    if set(x) != keys:
        extra, missing = sorted(set(x) - keys), sorted(keys - set(x))
        raise _fail(f"{where}: unexpected keys {extra}, missing {missing}")
    return x


def _int(x: Any, where: str, low: int = 0, high: int = (1 << 64) - 1) -> int:
    if type(x) is not int or not low <= x <= high:
        raise _fail(f"{where}: not an integer in {low}..{high}")
    return x


def _hex(x: Any, size: int, where: str) -> bytes:
    if not (isinstance(x, str) and len(x) == 2 * size and _HEX.fullmatch(x)):
        raise _fail(f"{where}: not {size} bytes of lowercase hex")
    return bytes.fromhex(x)


def _list(x: Any, where: str, high: int = _MAX_ITEMS, low: int = 0) -> list[Any]:
    if not isinstance(x, list) or not low <= len(x) <= high:
        raise _fail(f"{where}: not a list of {low}..{high} items")
    return x


def _fraction(x: Any, where: str) -> Fraction:
    pair = _list(x, where, 2, 2)
    num = _int(pair[0], where, -(1 << 64), 1 << 64)
    den = _int(pair[1], where, 1, 1 << 64)
    f = Fraction(num, den)
    if f.denominator != den:
        raise _fail(f"{where}: fraction not in lowest terms")
    return f


def _frac_json(f: Fraction) -> list[int]:
    return [f.numerator, f.denominator]


def _sums(x: Any, where: str) -> tuple[int, int, int]:
    items = _list(x, where, 3, 3)
    a, b, c = (_int(v, where, -(1 << 63), (1 << 63) - 1) for v in items)
    return (a, b, c)


def _root(x: Any, where: str) -> SumRoot:
    d = _obj(x, {"size", "hash", "totals"}, where)
    return SumRoot(
        size=_int(d["size"], f"{where}.size"),
        hash=_hex(d["hash"], 32, f"{where}.hash"),
        totals=_sums(d["totals"], f"{where}.totals"),
    )


def _root_json(r: SumRoot) -> dict[str, Any]:
    return {"size": r.size, "hash": r.hash.hex(), "totals": list(r.totals)}


def _path(x: Any, where: str) -> SumInclusionProof:
    d = _obj(x, {"leaf_index", "tree_size", "siblings"}, where)
    siblings = []
    for i, s in enumerate(_list(d["siblings"], f"{where}.siblings", _MAX_PATH)):
        n = _obj(s, {"hash", "sums"}, f"{where}.siblings[{i}]")
        siblings.append(
            SumNode(
                hash=_hex(n["hash"], 32, f"{where}.siblings[{i}].hash"),
                sums=_sums(n["sums"], f"{where}.siblings[{i}].sums"),
            )
        )
    return SumInclusionProof(
        leaf_index=_int(d["leaf_index"], f"{where}.leaf_index"),
        tree_size=_int(d["tree_size"], f"{where}.tree_size"),
        siblings=tuple(siblings),
    )


def _path_json(p: SumInclusionProof) -> dict[str, Any]:
    return {
        "leaf_index": p.leaf_index,
        "tree_size": p.tree_size,
        "siblings": [{"hash": n.hash.hex(), "sums": list(n.sums)} for n in p.siblings],
    }


# --------------------------------------------------------------------------
# Configurations in the proof


def _hub_config_json(c: sdbc.HubConfig) -> dict[str, Any]:
    return {
        "members": [bytes(k).hex() for k in c.members],
        "threshold": _frac_json(c.threshold),
        "f_live": c.f_live,
        "f_safe": c.f_safe,
        "summary_ranges": [[lo, hi] for lo, hi in c.summary_ranges],
    }


def _hub_config(x: Any) -> sdbc.HubConfig:
    d = _obj(x, {"members", "threshold", "f_live", "f_safe", "summary_ranges"}, "hub_config")
    members = tuple(
        VerifyKey(_hex(k, 32, f"hub_config.members[{i}]"))
        for i, k in enumerate(_list(d["members"], "hub_config.members", 256, 1))
    )
    ranges = []
    for i, r in enumerate(_list(d["summary_ranges"], "hub_config.summary_ranges", 64, 1)):
        lo, hi = _list(r, f"hub_config.summary_ranges[{i}]", 2, 2)
        ranges.append(
            (
                _int(lo, "hub_config.summary_ranges", -(1 << 63), (1 << 63) - 1),
                _int(hi, "hub_config.summary_ranges", -(1 << 63), (1 << 63) - 1),
            )
        )
    try:
        return sdbc.HubConfig(
            members=members,
            threshold=_fraction(d["threshold"], "hub_config.threshold"),
            f_live=_int(d["f_live"], "hub_config.f_live", 0, 256),
            f_safe=_int(d["f_safe"], "hub_config.f_safe", 0, 256),
            summary_ranges=tuple(ranges),
        )
    except LocalProtocolError as exc:
        raise _fail(f"hub_config: {exc}") from None


_SHAP_KEYS: Final = {
    "max_aggregation_ratio",
    "replicas",
    "lambda_max",
    "audit_checks",
    "max_agents",
    "reputation_threshold",
    "reputation_forgetting",
    "reputation_ban_epochs",
    "reputation_prior",
}


def _shap_config_json(c: shap.ShapConfig) -> dict[str, Any]:
    rep = c.reputation
    return {
        "max_aggregation_ratio": c.max_aggregation_ratio,
        "replicas": c.replicas,
        "lambda_max": c.lambda_max,
        "audit_checks": c.audit_checks,
        "max_agents": c.max_agents,
        "reputation_threshold": _frac_json(rep.threshold),
        "reputation_forgetting": _frac_json(rep.forgetting),
        "reputation_ban_epochs": rep.ban_epochs,
        "reputation_prior": rep.prior_consistent,
    }


def _shap_config(x: Any) -> shap.ShapConfig:
    d = _obj(x, set(_SHAP_KEYS), "shap_config")
    try:
        return shap.ShapConfig(
            max_aggregation_ratio=_int(d["max_aggregation_ratio"], "shap_config"),
            replicas=_int(d["replicas"], "shap_config.replicas", 1, 255),
            lambda_max=_int(d["lambda_max"], "shap_config"),
            audit_checks=_int(d["audit_checks"], "shap_config"),
            max_agents=_int(d["max_agents"], "shap_config"),
            reputation=ReputationPolicy(
                threshold=_fraction(d["reputation_threshold"], "shap_config"),
                forgetting=_fraction(d["reputation_forgetting"], "shap_config"),
                ban_epochs=_int(d["reputation_ban_epochs"], "shap_config"),
                prior_consistent=_int(d["reputation_prior"], "shap_config"),
            ),
        )
    except LocalProtocolError as exc:
        raise _fail(f"shap_config: {exc}") from None


# --------------------------------------------------------------------------
# What a verified proof says


@dataclass(frozen=True, slots=True, kw_only=True)
class EpochLink:
    """One verified epoch of a proof: the agent's entry and where it is bound."""

    epoch: int
    count: int
    llr_sum: int
    log_odds: int
    regional: int
    hub: int
    round: int
    signers: tuple[int, ...]
    #: the hub's root is in the decided value (else: its own signature only)
    decided: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class VerdictFact:
    """What a verified proof proves."""

    agent: int
    epoch: int
    verdict: Verdict
    flagged_at: int | None
    log_odds: int
    thresholds: SprtThresholds
    links: tuple[EpochLink, ...]
    hubs: int
    quorum: int
    monitor_keys: tuple[tuple[int, bytes], ...]
    regional_keys: tuple[tuple[int, bytes], ...]

    def lines(self) -> list[str]:
        """The fact in words (what ``vigilnet verdict verify`` prints)."""
        t = self.thresholds
        if self.verdict is Verdict.FLAGGED:
            at = self.links[(self.flagged_at or 1) - 1].log_odds
            why = f"log-odds {at} >= A = {t.upper} at epoch {self.flagged_at}; final"
        elif self.verdict is Verdict.CLEARED:
            why = f"log-odds {self.log_odds} <= B = {t.lower}"
        else:
            why = f"B = {t.lower} < log-odds {self.log_odds} < A = {t.upper}"
        out = [
            f"agent {self.agent} after epoch {self.epoch}: {self.verdict.value.upper()} ({why})",
            f"SPRT alpha {t.alpha}, beta {t.beta} (the verifier's policy); "
            f"log-odds in fixed point, 2**16 = 1",
        ]
        for link in self.links:
            bound = (
                f"hub {link.hub} -> decided in round {link.round}"
                if link.decided
                else f"hub {link.hub}'s own signed summary ONLY (not in the value decided "
                f"in round {link.round})"
            )
            out.append(
                f"  epoch {link.epoch}: entry (count {link.count}, llr {link.llr_sum}), "
                f"log-odds {link.log_odds}; regional node {link.regional} -> {bound}, "
                f"precommits of hubs {','.join(map(str, link.signers))}"
            )
        decided = sum(link.decided for link in self.links)
        out.append(
            f"bound by: {len(self.links)} decision certificate(s) of the {self.hubs} pinned hub "
            f"keys (quorum {self.quorum}), hub-signed roots, and hashes only below them"
        )
        if decided < len(self.links):
            out.append(
                f"WEAKER: in {len(self.links) - decided} epoch(s) the hub root is bound by "
                "one hub's signature, not by the decision"
            )
        out.append(
            f"signed but not certified by the hubs: {len(self.monitor_keys)} monitor keys and "
            f"{len(self.regional_keys)} regional key(s) carried in the proof"
        )
        return out


# --------------------------------------------------------------------------
# Verifying


def read_hub_keys(data: bytes) -> tuple[VerifyKey, ...]:
    """The pinned hub keys: ``{"schema": HUB_KEYS_SCHEMA, "members": [hex]}``."""
    d = _obj(_parse(data, "hub-keys file"), {"schema", "members"}, "hub-keys file")
    if d["schema"] != HUB_KEYS_SCHEMA:
        raise _fail(f"hub-keys file: schema is not {HUB_KEYS_SCHEMA!r}")
    return tuple(
        VerifyKey(_hex(k, 32, f"members[{i}]"))
        for i, k in enumerate(_list(d["members"], "hub-keys members", 256, 1))
    )


def hub_keys_json(config: sdbc.HubConfig) -> bytes:
    """The hub-keys file of ``config`` (to pin)."""
    return canonical_json(
        {"schema": HUB_KEYS_SCHEMA, "members": [bytes(k).hex() for k in config.members]}
    )


_EPOCH_KEYS: Final = {
    "epoch",
    "round",
    "precommits",
    "summaries",
    "hub",
    "own_summary",
    "hub_inputs",
    "regional_in_hub",
    "regional",
    "opening",
}


def _value(config: sdbc.HubConfig, epoch: int, x: Any, where: str) -> sdbc.Value:
    summaries = []
    for i, s in enumerate(_list(x, where, config.n, 1)):
        d = _obj(s, {"hub", "values", "next_threshold", "signature"}, f"{where}[{i}]")
        nt = d["next_threshold"]
        summaries.append(
            sdbc.EpochSummary(
                epoch=epoch,
                config_hash=config.config_hash,
                hub=_int(d["hub"], f"{where}[{i}].hub", 0, config.n - 1),
                values=tuple(
                    _int(v, f"{where}[{i}].values", -(1 << 63), (1 << 63) - 1)
                    for v in _list(d["values"], f"{where}[{i}].values", config.summary_width)
                ),
                signature=_hex(d["signature"], 64, f"{where}[{i}].signature"),
                next_threshold=None
                if nt is None
                else _fraction(nt, f"{where}[{i}].next_threshold"),
            )
        )
    hubs = [s.hub for s in summaries]
    if hubs != sorted(set(hubs)):
        raise _fail(f"{where}: not of distinct hubs in increasing order")
    try:
        value = sdbc.Value.build(config, epoch, tuple(summaries))
        value.check_valid(config, epoch)
    except sdbc.BadMessage as exc:
        raise _fail(f"{where}: the decided value is not valid: {exc}") from None
    return value


def _epoch(
    config: sdbc.HubConfig,
    shap_config: shap.ShapConfig,
    agent: int,
    epoch: int,
    x: Any,
    monitor_keys: dict[int, bytes],
    regional_keys: dict[int, bytes],
) -> tuple[EpochLink, int]:
    where = f"epochs[{epoch - 1}]"
    d = _obj(x, set(_EPOCH_KEYS), where)
    if _int(d["epoch"], f"{where}.epoch") != epoch:
        raise _fail(f"{where}: epoch {d['epoch']} out of order (expected {epoch})")
    # the decided value and its certificate (sdbc)
    value = _value(config, epoch, d["summaries"], f"{where}.summaries")
    rnd = _int(d["round"], f"{where}.round")
    precommits = []
    for i, p in enumerate(_list(d["precommits"], f"{where}.precommits", config.n, 1)):
        v = _obj(p, {"hub", "signature"}, f"{where}.precommits[{i}]")
        precommits.append(
            sdbc.Vote(
                kind=sdbc.PRECOMMIT,
                epoch=epoch,
                config_hash=config.config_hash,
                round=rnd,
                hub=_int(v["hub"], f"{where}.precommits[{i}].hub", 0, config.n - 1),
                value_hash=value.value_hash,
                signature=_hex(v["signature"], 64, f"{where}.precommits[{i}].signature"),
            )
        )
    signers = [v.hub for v in precommits]
    if signers != sorted(set(signers)):
        raise _fail(f"{where}.precommits: not of distinct hubs in increasing order")
    certificate = sdbc.DecisionCertificate(
        epoch=epoch,
        config_hash=config.config_hash,
        round=rnd,
        value_hash=value.value_hash,
        precommits=tuple(precommits),
    )
    try:
        certificate.verify(config)
    except sdbc.BadMessage as exc:
        raise _fail(f"{where}: decision certificate refused: {exc}") from None
    # the hub's root in the decided value
    hub = _int(d["hub"], f"{where}.hub", 0, config.n - 1)
    found = [s for s in value.summaries if s.hub == hub]
    own = d["own_summary"]
    if own is None:
        if not found:
            raise _fail(f"{where}: hub {hub}'s summary is not in the decided value")
        words = found[0].values
    else:
        # the value embeds q of the N summaries: hub h's root is then bound
        # by h's own signed summary alone (present only when it must be)
        if found:
            raise _fail(f"{where}: own_summary given, but hub {hub} is in the decided value")
        o = _obj(own, {"values", "next_threshold", "signature"}, f"{where}.own_summary")
        nt = o["next_threshold"]
        signed = sdbc.EpochSummary(
            epoch=epoch,
            config_hash=config.config_hash,
            hub=hub,
            values=tuple(
                _int(v, f"{where}.own_summary.values", -(1 << 63), (1 << 63) - 1)
                for v in _list(o["values"], f"{where}.own_summary.values", config.summary_width)
            ),
            signature=_hex(o["signature"], 64, f"{where}.own_summary.signature"),
            next_threshold=None
            if nt is None
            else _fraction(nt, f"{where}.own_summary.next_threshold"),
        )
        try:
            sdbc.check_summary_content(config, signed)
            sdbc.check_signature(config, signed)
        except sdbc.BadMessage as exc:
            raise _fail(f"{where}: hub {hub}'s own summary refused: {exc}") from None
        words = signed.values
    if len(words) != 3 + ROOT_WORDS:
        raise _fail(f"{where}: the summary layout is not (3 totals, {ROOT_WORDS} root words)")
    try:
        hub_root = words_root(tuple(words[3:]))
    except LocalProtocolError as exc:
        raise _fail(f"{where}: hub root: {exc}") from None
    h = _obj(d["hub_inputs"], {"size", "hash"}, f"{where}.hub_inputs")
    try:
        hub_inputs = SumRoot(
            size=_int(h["size"], f"{where}.hub_inputs.size"),
            hash=_hex(h["hash"], 32, f"{where}.hub_inputs.hash"),
            totals=(words[0], words[1], words[2]),
        )
    except SumProofError as exc:
        raise _fail(f"{where}.hub_inputs: {exc}") from None
    if shap.commitment_hash(hub_inputs, None) != hub_root:
        raise _fail(f"{where}: hub inputs root is not hub {hub}'s decided root")
    # the regional's report in the hub's inputs tree (shap, merkle)
    r = _obj(
        d["regional"], {"node_id", "key", "inputs", "entries", "signature"}, f"{where}.regional"
    )
    node_id = _int(r["node_id"], f"{where}.regional.node_id")
    key = _hex(r["key"], 32, f"{where}.regional.key")
    inputs = _root(r["inputs"], f"{where}.regional.inputs")
    entries = _root(r["entries"], f"{where}.regional.entries")
    regional_root = shap.commitment_hash(inputs, entries)
    try:
        report = shap.Report(
            epoch=epoch,
            config_hash=shap_config.config_hash,
            node_id=node_id,
            tier=shap.Tier.REGIONAL,
            root=regional_root,
            totals=(entries.totals[0], entries.totals[1], entries.totals[2]),
            body_digest=shap.ABSENT,
            signature=_hex(r["signature"], 64, f"{where}.regional.signature"),
        )
        verify_sum_inclusion(
            layout=shap.LAYOUT,
            leaf=shap.child_leaf(node_id, regional_root, report.totals),
            proof=_path(d["regional_in_hub"], f"{where}.regional_in_hub"),
            root=hub_inputs,
        )
    except (SumProofError, shap.ReportRejected) as exc:
        raise _fail(f"{where}: regional {node_id} in hub {hub}'s commitment: {exc}") from None
    # the agent's entry, its replicas and the monitors' signed reports (shap audit)
    o = _obj(
        d["opening"],
        {"count", "llr_sum", "entry_proof", "next_entry", "next_proof", "replicas"},
        f"{where}.opening",
    )
    replicas = []
    keys: dict[int, VerifyKey] = {}
    for i, rep in enumerate(
        _list(o["replicas"], f"{where}.opening.replicas", shap_config.replicas)
    ):
        w = f"{where}.opening.replicas[{i}]"
        m = _obj(
            rep,
            {"node_id", "key", "entries", "body_digest", "signature", "count", "llr_sum",
             "entry_proof", "input_proof"},
            w,
        )  # fmt: skip
        mid = _int(m["node_id"], f"{w}.node_id")
        mkey = _hex(m["key"], 32, f"{w}.key")
        if mid in keys:
            raise _fail(f"{w}: monitor {mid} twice")
        keys[mid] = VerifyKey(mkey)
        if monitor_keys.setdefault(mid, mkey) != mkey:
            raise _fail(f"{w}: monitor {mid} carries two keys")
        mentries = _root(m["entries"], f"{w}.entries")
        try:
            replicas.append(
                shap.ReplicaOpening(
                    monitor=shap.Report(
                        epoch=epoch,
                        config_hash=shap_config.config_hash,
                        node_id=mid,
                        tier=shap.Tier.MONITOR,
                        root=shap.commitment_hash(None, mentries),
                        totals=(mentries.totals[0], mentries.totals[1], mentries.totals[2]),
                        body_digest=_hex(m["body_digest"], 32, f"{w}.body_digest"),
                        signature=_hex(m["signature"], 64, f"{w}.signature"),
                    ),
                    monitor_entries=mentries,
                    count=_int(m["count"], f"{w}.count", -(1 << 63), (1 << 63) - 1),
                    llr_sum=_int(m["llr_sum"], f"{w}.llr_sum", -(1 << 63), (1 << 63) - 1),
                    entry_proof=_path(m["entry_proof"], f"{w}.entry_proof"),
                    input_proof=_path(m["input_proof"], f"{w}.input_proof"),
                )
            )
        except shap.ReportRejected as exc:
            raise _fail(f"{w}: {exc}") from None
    nxt = o["next_entry"]
    next_entry = None
    if nxt is not None:
        a, c, v = _list(nxt, f"{where}.opening.next_entry", 3, 3)
        next_entry = (
            _int(a, f"{where}.opening.next_entry"),
            _int(c, f"{where}.opening.next_entry", -(1 << 63), (1 << 63) - 1),
            _int(v, f"{where}.opening.next_entry", -(1 << 63), (1 << 63) - 1),
        )
    next_proof = (
        None if o["next_proof"] is None else _path(o["next_proof"], f"{where}.opening.next_proof")
    )
    opening = shap.AuditOpening(
        agent_id=agent,
        count=_int(o["count"], f"{where}.opening.count", -(1 << 63), (1 << 63) - 1),
        llr_sum=_int(o["llr_sum"], f"{where}.opening.llr_sum", -(1 << 63), (1 << 63) - 1),
        entry_proof=_path(o["entry_proof"], f"{where}.opening.entry_proof"),
        replicas=tuple(replicas),
        next_entry=next_entry,
        next_proof=next_proof,
    )
    try:
        shap.audit_entry(
            regional=report,
            regional_key=VerifyKey(key),
            inputs=inputs,
            entries=entries,
            monitor_keys=keys,
            replicas=shap_config.replicas,
            opening=opening,
        )
    except shap.AuditFailure as exc:
        raise _fail(f"{where}: agent {agent}'s entry: {exc}") from None
    if regional_keys.setdefault(node_id, key) != key:
        raise _fail(f"{where}: regional {node_id} carries two keys")
    link = EpochLink(
        epoch=epoch,
        count=opening.count,
        llr_sum=opening.llr_sum,
        log_odds=0,
        regional=node_id,
        hub=hub,
        round=rnd,
        signers=tuple(signers),
        decided=own is None,
    )
    return link, opening.llr_sum


def verify_proof(
    data: bytes,
    hub_keys: Sequence[VerifyKey],
    thresholds: SprtThresholds,
    *,
    agent: int | None = None,
    epoch: int | None = None,
    allow_hub_signed: bool = False,
) -> VerdictFact:
    """Verify a proof file's bytes against the pinned ``hub_keys``; return
    the fact it proves or raise :class:`VerdictProofError` saying why not
    (whatever the file holds, nothing else is raised).  With ``agent`` /
    ``epoch``, a proof about another agent or epoch is refused.  An epoch
    whose hub root is bound by that hub's own signed summary, not by the
    decided value, is refused unless ``allow_hub_signed``."""
    try:
        return _verify(data, hub_keys, thresholds, agent, epoch, allow_hub_signed)
    except VerdictProofError:
        raise
    except (RemoteProtocolError, LocalProtocolError) as exc:
        # the readers check shapes first, so this is a protocol check's refusal
        raise _fail(f"refused: {exc}") from None


def _verify(
    data: bytes,
    hub_keys: Sequence[VerifyKey],
    thresholds: SprtThresholds,
    agent: int | None,
    epoch: int | None,
    allow_hub_signed: bool,
) -> VerdictFact:
    top = _obj(
        _parse(data, "verdict proof"),
        {"schema", "agent", "epoch", "hub_config", "shap_config", "epochs"},
        "verdict proof",
    )
    if top["schema"] != SCHEMA:
        raise _fail(f"schema is not {SCHEMA!r}")
    claimed_agent = _int(top["agent"], "agent")
    last = _int(top["epoch"], "epoch", 1, _MAX_EPOCHS)
    if agent is not None and claimed_agent != agent:
        raise _fail(f"the proof is about agent {claimed_agent}, not {agent}")
    if epoch is not None and last != epoch:
        raise _fail(f"the proof is about epoch {last}, not {epoch}")
    config = _hub_config(top["hub_config"])
    if tuple(bytes(k) for k in config.members) != tuple(bytes(k) for k in hub_keys):
        raise _fail("the proof's hub keys are not the pinned hub keys")
    shap_config = _shap_config(top["shap_config"])
    links_json = _list(top["epochs"], "epochs", _MAX_EPOCHS)
    if len(links_json) != last:
        raise _fail(f"{len(links_json)} epochs proven, the verdict after epoch {last} needs {last}")
    monitor_keys: dict[int, bytes] = {}
    regional_keys: dict[int, bytes] = {}
    links = []
    log_odds = 0
    flagged_at = None
    for k, x in enumerate(links_json, start=1):
        link, llr = _epoch(config, shap_config, claimed_agent, k, x, monitor_keys, regional_keys)
        log_odds += llr
        links.append(
            EpochLink(
                epoch=link.epoch,
                count=link.count,
                llr_sum=link.llr_sum,
                log_odds=log_odds,
                regional=link.regional,
                hub=link.hub,
                round=link.round,
                signers=link.signers,
                decided=link.decided,
            )
        )
        if not (link.decided or allow_hub_signed):
            raise _fail(
                f"epochs[{k - 1}]: hub {link.hub}'s root is bound by its own signature only, "
                "not by the decision (accept such links with allow_hub_signed)"
            )
        if flagged_at is None and log_odds >= thresholds.upper:
            flagged_at = k
    verdict = Verdict.FLAGGED if flagged_at is not None else thresholds.verdict(log_odds)
    return VerdictFact(
        agent=claimed_agent,
        epoch=last,
        verdict=verdict,
        flagged_at=flagged_at,
        log_odds=log_odds,
        thresholds=thresholds,
        links=tuple(links),
        hubs=config.n,
        quorum=config.quorum,
        monitor_keys=tuple(sorted(monitor_keys.items())),
        regional_keys=tuple(sorted(regional_keys.items())),
    )


# --------------------------------------------------------------------------
# Making proofs from a simulated run


def _epoch_json(result: RunResult, agent: int, epoch: int) -> dict[str, Any]:
    d = result.deployment
    topo = d.scenario.topology
    site = agent // topo.agents_per_site
    g = site // topo.sites_per_regional
    h = d.regional_hub[g]
    rc = d.regional_commitments.get((epoch, g))
    if rc is None:
        raise ProofUnavailable(f"epoch {epoch}: regional {g} committed nothing")
    hc = d.hub_commitments.get((epoch, h))
    if hc is None:
        raise ProofUnavailable(f"epoch {epoch}: hub {h} committed nothing")
    decided = [d.decisions[k] for k in sorted(d.decisions) if k[0] == epoch]
    if not decided:
        raise ProofUnavailable(f"epoch {epoch} was not decided")
    decide = decided[0]
    value, cert = decide.value, decide.certificate
    own: dict[str, Any] | None = None
    if all(s.hub != h for s in value.summaries):
        mine = [
            x
            for hub, _event, _outputs, state in d.sdbc_steps
            if hub == h and state.epoch == epoch
            for x in state.summaries
            if x.hub == h
        ]
        if not mine:
            raise ProofUnavailable(
                f"epoch {epoch}: hub {h}'s summary is neither in the decided value "
                f"(it embeds hubs {[s.hub for s in value.summaries]}) nor recorded"
            )
        own = {
            "values": list(mine[0].values),
            "next_threshold": None
            if mine[0].next_threshold is None
            else _frac_json(mine[0].next_threshold),
            "signature": mine[0].signature.hex(),
        }
    node_id = _REGIONAL_BASE + g
    children = [c for c, _, _ in hc.accepted]
    if node_id not in children:
        raise ProofUnavailable(f"epoch {epoch}: hub {h} did not accept regional {g}")
    index = children.index(node_id)
    assert rc.report is not None and rc.entries is not None
    try:
        opening = rc.opening(agent)
    except LocalProtocolError as exc:
        raise ProofUnavailable(f"epoch {epoch}: {exc}") from None
    return {
        "epoch": epoch,
        "round": cert.round,
        "precommits": [{"hub": v.hub, "signature": v.signature.hex()} for v in cert.precommits],
        "summaries": [
            {
                "hub": s.hub,
                "values": list(s.values),
                "next_threshold": None
                if s.next_threshold is None
                else _frac_json(s.next_threshold),
                "signature": s.signature.hex(),
            }
            for s in value.summaries
        ],
        "hub": h,
        "own_summary": own,
        "hub_inputs": {"size": hc.inputs.root.size, "hash": hc.inputs.root.hash.hex()},
        "regional_in_hub": _path_json(hc.inputs.inclusion_proof(index)),
        "regional": {
            "node_id": node_id,
            "key": bytes(d.verify_key(node_id, epoch)).hex(),
            "inputs": _root_json(rc.inputs.root),
            "entries": _root_json(rc.entries.root),
            "signature": rc.report.signature.hex(),
        },
        "opening": {
            "count": opening.count,
            "llr_sum": opening.llr_sum,
            "entry_proof": _path_json(opening.entry_proof),
            "next_entry": None if opening.next_entry is None else list(opening.next_entry),
            "next_proof": None if opening.next_proof is None else _path_json(opening.next_proof),
            "replicas": [
                {
                    "node_id": r.monitor.node_id,
                    "key": bytes(d.verify_key(r.monitor.node_id, epoch)).hex(),
                    "entries": _root_json(r.monitor_entries),
                    "body_digest": r.monitor.body_digest.hex(),
                    "signature": r.monitor.signature.hex(),
                    "count": r.count,
                    "llr_sum": r.llr_sum,
                    "entry_proof": _path_json(r.entry_proof),
                    "input_proof": _path_json(r.input_proof),
                }
                for r in opening.replicas
            ],
        },
    }


def verdict_proof(result: RunResult, agent: int, epoch: int) -> bytes:
    """The canonical proof file of ``agent``'s verdict after ``epoch`` (its
    entries of epochs ``1..epoch``), from a run with ``record_proofs``.
    Raises :class:`ProofUnavailable` when some epoch's link is missing."""
    d = result.deployment
    if not d.record_proofs:
        raise ProofUnavailable("the run kept no regional commitments (run with record_proofs)")
    if not (type(agent) is int and 0 <= agent < d.scenario.topology.agents):
        raise ProofUnavailable(f"no agent {agent!r} in this run")
    if not (type(epoch) is int and 1 <= epoch <= d.scenario.epochs):
        raise ProofUnavailable(f"no epoch {epoch!r} in this run")
    return canonical_json(
        {
            "schema": SCHEMA,
            "agent": agent,
            "epoch": epoch,
            "hub_config": _hub_config_json(d.hub_config),
            "shap_config": _shap_config_json(d.shap_config),
            "epochs": [_epoch_json(result, agent, k) for k in range(1, epoch + 1)],
        }
    )


def _first_flagged(result: RunResult, thresholds: SprtThresholds) -> dict[int, int]:
    """Agent -> the first epoch its log-odds reached ``A`` (from the
    regionals' commitments, as the run judged them)."""
    d = result.deployment
    log_odds = np.zeros(d.scenario.topology.agents, dtype=np.int64)
    first: dict[int, int] = {}
    for epoch in range(1, d.scenario.epochs + 1):
        for g in range(d.scenario.topology.regionals):
            combined = d.combined.get((epoch, g))
            if combined is not None:
                log_odds[combined.agent_ids.astype(np.int64)] += combined.llr_sums
        for a in np.flatnonzero(log_odds >= thresholds.upper).tolist():
            first.setdefault(int(a), epoch)
    return first


def write_proofs(
    result: RunResult, directory: Path, thresholds: SprtThresholds, limit: int = 3
) -> list[Path]:
    """Write ``hub-keys.json`` and the proofs of up to ``limit`` flagged
    agents (lowest ids first, at the epoch each was first flagged); return
    the proof paths.  Agents whose chain is unavailable are skipped, and so
    are proofs that do not verify: under a Byzantine regional that altered
    a monitor's report, the chain rests on a report the monitor did not
    sign, and the verifier refuses it (which is the point of a proof, but
    not one to hand out as a verdict)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "hub-keys.json").write_bytes(hub_keys_json(result.deployment.hub_config))
    written: list[Path] = []
    for agent, epoch in sorted(_first_flagged(result, thresholds).items()):
        if len(written) >= limit:
            break
        try:
            proof = verdict_proof(result, agent, epoch)
            verify_proof(proof, result.deployment.hub_config.members, thresholds)
        except (ProofUnavailable, VerdictProofError):
            continue
        path = directory / f"verdict-agent-{agent}-epoch-{epoch}.json"
        path.write_bytes(proof)
        written.append(path)
    return written
