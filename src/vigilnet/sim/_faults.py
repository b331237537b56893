"""Fault injection: the adversary drivers of ``[faults]``.

Theory of operation
===================

A Byzantine node is a *driver*, never a change to a protocol: it runs next
to the honest drivers of :mod:`vigilnet.sim._deployment` (it subclasses
them, so it speaks the same wire) and sends what an attacker holding only
its own key can send.  The honest nodes receive its bytes through their
unmodified protocol state machines; what they refuse, report or alarm on
is recorded by the honest drivers as a detection of the signer
(:meth:`~vigilnet.sim._deployment.Deployment.detect`).

The attacks are those the protocol tests perform (``tests/sdbc/test_attacks.py``,
``tests/shap/test_attacks.py``), moved from a test's hand to a node's:

Hubs (``byzantine_hubs``, at most ``f_safe`` of them):

* ``equivocate``: every vote its SDBC core casts is sent together with a
  conflicting vote for the same slot (nil for a value, a value for nil),
  signed with its own key, to every other hub; half the hubs get the
  conflicting one first.  An honest hub that receives both holds
  equivocation evidence (SDBC rule 2).
* ``bad_value``: its epoch summary goes out with a coordinate above the
  configured range, and each proposal of its own carries an aggregate that
  is not ``Agg(S)``; both signed by it.  Honest hubs refuse the summary
  (rule 2) and prevote nil on the proposal (rule 3b): either, signed, is
  proof.
* ``silent``: it sends nothing to the other hubs, catch-up included (no
  proof is possible; it is never detected, by design).

A Byzantine hub's catch-up (:class:`~vigilnet.sim._deployment.CatchUp`)
re-sends the original signed messages as an honest hub's does: it cannot
forge the other signers' precommits, and withholding them is ``silent``.

Monitors (``byzantine_monitor_share`` of all monitors, drawn from the
stream ``("faults", "monitors")``):

* ``lie_high`` / ``lie_low``: a correctly signed body whose every sum is
  ``+count * lambda_max`` / ``-count * lambda_max`` (the largest lie the
  bounds allow).  Honest replicas outvote it (median; BoundedInfluence), so
  nothing proves it: a lying monitor is not *detected*, and its attack
  succeeds only where it owns a median.
* ``garbage_body``: a body it signs whose first entry breaks the evidence
  bound (count 0, sum 1).  The regional refuses it with a strike
  (SHAP rule 2, attributable): proof.

Regionals (``byzantine_regionals``), at close, over the reports of its
lowest site (all ``r`` replicas, so that the median moves):

* ``drop_child``: those reports are left out of the commitment and get no
  receipt; the children alarm at the receipt deadline (no proof: silence);
* ``alter_child``: their bodies' sums are replaced with ``-count *
  lambda_max`` (hiding misbehaviour) and their leaves with the altered
  ones; the receipts it signs fail the children's inclusion check: proof;
* ``lying_sums``: the commitment is honest but the totals it signs are not
  its tree's; every child's receipt check fails: proof.

An *attempt* is one Byzantine node's hostile messages of one epoch
(:meth:`~vigilnet.sim._deployment.Deployment.attacked`); :func:`score_epoch`
says after the epoch whether it succeeded (see its docstring).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import numpy as np

from vigilnet.protocols import sdbc, shap
from vigilnet.sim._deployment import (
    REGIONAL_BASE,
    Deployment,
    _Aggregator,
    _Monitor,
)
from vigilnet.sim._engine import Host

__all__ = [
    "ByzantineHub",
    "ByzantineMonitor",
    "ByzantineRegional",
    "choose_byzantine",
    "score_epoch",
]


def choose_byzantine(d: Deployment) -> None:
    """Fill ``d.byzantine`` from the scenario's ``[faults]``."""
    f = d.scenario.faults
    topo = d.scenario.topology
    for h in f.byzantine_hubs:
        d.byzantine[f"hub-{h}"] = f.hub_attack
    for g in f.byzantine_regionals:
        d.byzantine[f"regional-{g}"] = f.regional_attack
    monitors = topo.sites * topo.replicas
    k = int(f.byzantine_monitor_share * monitors)
    if k:
        stream = d.seeds.generator("faults", "monitors")
        chosen = stream.choice(monitors, size=k, replace=False)
        for m in sorted(int(x) for x in chosen):
            d.byzantine[f"monitor-{m}"] = f.monitor_attack


# --------------------------------------------------------------------------
# Monitors


@dataclass(slots=True)
class ByzantineMonitor(_Monitor):
    attack: str = "lie_high"

    def _report(self, host: Host, epoch: int) -> tuple[shap.Report, shap.MonitorBody]:
        d = self.d
        honest = self._body(epoch)
        d.attacked(host.name, epoch, host.now_us())
        host.record("attack", attack=self.attack, epoch=epoch)
        lam = d.shap_config.lambda_max
        key = d.key(self.node_id, epoch)
        if self.attack in ("lie_high", "lie_low"):
            sign = 1 if self.attack == "lie_high" else -1
            body = replace(honest, llr_sums=tuple(sign * c * lam for c in honest.counts))
            report = shap.monitor_report(
                signing_key=key, node_id=self.node_id, epoch=epoch, config=d.shap_config, body=body
            )
            return report, body
        # garbage_body: signed by us, out of the evidence bounds (|1| > 0 * lambda_max)
        genuine = shap.monitor_report(
            signing_key=key, node_id=self.node_id, epoch=epoch, config=d.shap_config, body=honest
        )
        bad = replace(honest, counts=(0, *honest.counts[1:]), llr_sums=(1, *honest.llr_sums[1:]))
        report = shap.sign_report(
            key,
            epoch=epoch,
            config_hash=d.shap_config.config_hash,
            node_id=self.node_id,
            tier=shap.Tier.MONITOR,
            root=genuine.root,
            totals=genuine.totals,
            body_digest=bad.digest,
        )
        return report, bad


# --------------------------------------------------------------------------
# Regionals


@dataclass(slots=True)
class ByzantineRegional(_Aggregator):
    attack: str = "alter_child"

    def _close_outputs(self, host: Host) -> tuple[shap.Output, ...]:
        d = self.d
        assert self.state is not None
        before = self.state
        # Its own state machine moves on as an honest one would ...
        self.state, honest = shap.step(self.setup, before, shap.CloseEpoch())
        accepted = list(before.accepted)
        if not accepted:
            return honest
        # ... but what it signs and sends is the attack.
        epoch = before.epoch
        d.attacked(self.name, epoch, host.now_us())
        host.record("attack", attack=self.attack, epoch=epoch)
        r = d.scenario.topology.replicas
        site = min(child // r for child, _, _ in accepted)
        victims = {child for child, _, _ in accepted if child // r == site}
        key = self.setup.signing_key
        cfg = d.shap_config
        receivers = [child for child, _, _ in accepted]
        if self.attack == "drop_child":
            accepted = [a for a in accepted if a[0] not in victims]
            receivers = [child for child, _, _ in accepted]
        elif self.attack == "alter_child":
            accepted = [_altered(cfg, a) if a[0] in victims else a for a in accepted]
        commitment = shap.commit_regional(accepted, replicas=r)
        totals = commitment.totals
        if self.attack == "lying_sums":
            totals = (totals[0], totals[1], totals[2] - 1 - abs(totals[2]))
        report = shap.sign_report(
            key,
            epoch=epoch,
            config_hash=cfg.config_hash,
            node_id=self.setup.node_id,
            tier=shap.Tier.REGIONAL,
            root=commitment.root,
            totals=totals,
        )
        commitment = commitment.signed(report)
        self.state = replace(self.state, report=report)
        receipts = tuple(
            shap.SendReceipt(child=child, receipt=commitment.receipt(child, key))
            for child in receivers
        )
        return (shap.Committed(commitment=commitment), shap.SendReport(report=report), *receipts)


def _altered(
    cfg: shap.ShapConfig, accepted: tuple[int, shap.Report, shap.MonitorBody | None]
) -> tuple[int, shap.Report, shap.MonitorBody | None]:
    """A child's report with its sums replaced (its leaf is the forged one:
    the regional cannot sign for the child, only put another leaf in)."""
    child, report, body = accepted
    assert body is not None
    lam = cfg.lambda_max
    forged = replace(body, llr_sums=tuple(-c * lam for c in body.counts))
    tree = shap.entries_tree(
        np.asarray(forged.agent_ids, dtype=np.uint64),
        np.asarray(forged.counts, dtype=np.int64),
        np.asarray(forged.llr_sums, dtype=np.int64),
    )
    t = tree.root.totals
    leaf = replace(
        report,
        root=shap.commitment_hash(None, tree.root),
        totals=(t[0], t[1], t[2]),
        body_digest=forged.digest,
    )
    return child, leaf, forged


# --------------------------------------------------------------------------
# Hubs


@dataclass(slots=True)
class ByzantineHub(_Aggregator):
    attack: str = "equivocate"

    def _resend(self, host: Host, peer: int, messages: tuple[sdbc.Message, ...]) -> None:
        if self.attack != "silent":
            _Aggregator._resend(self, host, peer, messages)

    def _broadcast(self, host: Host, message: sdbc.Message) -> None:
        d = self.d
        assert self.hub is not None
        d.attacked(self.name, message.epoch, host.now_us())
        key, cfg, me = d.hub_keys[self.index], self.hub.config, self.index
        if self.attack == "silent":
            return
        if self.attack == "equivocate" and isinstance(message, sdbc.Vote):
            other = (
                None
                if message.value_hash is not None
                else hashlib.sha256(b"vigilnet/sim/equivocation" + message.signature).digest()
            )
            twin = sdbc.sign_vote(key, cfg, message.kind, message.epoch, message.round, me, other)
            host.record("attack", attack="equivocate", epoch=message.epoch, round=message.round)
            real, fake = sdbc.encode_message(message), sdbc.encode_message(twin)
            for h in range(d.scenario.topology.hubs):
                if h != me:
                    for payload in (fake, real) if h % 2 else (real, fake):
                        d.meter.send(host, "hub->hub", f"hub-{h}", payload)
            return
        if self.attack == "bad_value":
            if isinstance(message, sdbc.EpochSummary):
                values = list(message.values)
                values[0] = cfg.summary_ranges[0][1] + 1
                message = sdbc.sign_summary(
                    key, cfg, message.epoch, me, tuple(values), message.next_threshold
                )
                host.record("attack", attack="bad_summary", epoch=message.epoch)
            elif isinstance(message, sdbc.Proposal):
                value = message.value
                bad = replace(value, aggregate=(value.aggregate[0] + 1, *value.aggregate[1:]))
                message = sdbc.sign_proposal(
                    key, cfg, message.epoch, message.round, me, bad, message.valid_round
                )
                host.record("attack", attack="bad_proposal", epoch=message.epoch)
        _Aggregator._broadcast(self, host, message)


# --------------------------------------------------------------------------
# Scoring


def score_epoch(
    d: Deployment,
    epoch: int,
    counted: frozenset[int],
    partitioned: bool,
    started: frozenset[int],
) -> None:
    """Decide whether each attempt of ``epoch`` succeeded.

    An attempt succeeds when a hostile message of it was *accepted and
    counted* by honest nodes, or when it cost an outcome:

    * a monitor's lie: some agent of its site has a counted combined entry
      other than the honest replicas' value (it owned a median); a garbage
      body: its regional counted it;
    * a regional's: its hub admitted its (dropped, altered or lying) report
      into the hub's commitment for the epoch (so the hub's root, and the
      decided value that binds it, carry the lie), whether or not the judge
      later counts its entries;
    * a hub's: two honest hubs decided differently, an honest hub decided a
      value that fails ``valid(v)``, or (outside a partition) some honest
      hub that started SDBC for the epoch (``started``) did not decide it; a
      hub still stuck in an earlier epoch is not a new loss of this one.
    """
    topo = d.scenario.topology
    r = topo.replicas
    for (node, e), _ in list(d.attempts.items()):
        if e != epoch:
            continue
        kind, _, index_text = node.partition("-")
        index = int(index_text)
        success = False
        if kind == "monitor":
            g = d.monitor_regional[index]
            if g in counted:
                if d.byzantine[node] == "garbage_body":
                    success = index in d.regional_inputs.get((epoch, g), ())
                else:
                    success = _owned_a_median(d, epoch, g, index // r)
        elif kind == "regional":
            h = d.regional_hub[index]
            success = REGIONAL_BASE + index in d.hub_inputs.get((epoch, h), ())
        else:
            honest = [h for h in range(topo.hubs) if d.honest(f"hub-{h}")]
            decided = [d.decisions[(epoch, h)] for h in honest if (epoch, h) in d.decisions]
            disagree = len({x.value.value_hash for x in decided}) > 1
            undecided = not partitioned and any(
                (epoch, h) not in d.decisions for h in honest if h in started
            )
            invalid = False
            for x in decided:
                try:
                    x.value.check_valid(d.hub_config, epoch)
                except sdbc.BadMessage:
                    invalid = True
            success = disagree or invalid or undecided
        d.attempts[(node, epoch)] = success


def _owned_a_median(d: Deployment, epoch: int, g: int, site: int) -> bool:
    combined = d.combined.get((epoch, g))
    if combined is None:
        return False
    agents = np.asarray(d.site_agents[site], dtype=np.uint64)
    position = np.searchsorted(combined.agent_ids, agents)
    position = np.minimum(position, max(len(combined.agent_ids) - 1, 0))
    if not len(combined.agent_ids):
        return False
    present = combined.agent_ids[position] == agents
    counts, llrs = d.site_behaviour(epoch, site)
    moved = (combined.llr_sums[position] != llrs) | (combined.counts[position] != counts)
    return bool((present & moved).any())
