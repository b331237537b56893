"""The key-rotation scenario: hub keys that rotate, are revoked and are
recovered during a run, and an attacker who signs with every stale key.

Theory of operation
===================

With ``[key_rotation] enabled``, the hubs' consensus keys come from a
:class:`~vigilnet.crypto.KeyRegistry` and nowhere else:

* at build, every hub ``hub-h`` has an *identity* key (the hubs' identity
  keys are also the cosigners of every key event: the registry's
  :class:`~vigilnet.crypto.KeyPolicy`) and a serial-0 operational key, the
  one ``make_config`` made, certified by its identity key and cosigned by
  every hub.  The identity key of ``revoke_hub`` is split ``shares_k`` of
  ``shares_n`` (Shamir over GF(256), dealer-signed shares); share ``i`` is
  held by custodian ``i``, never by the hub itself;
* at the start of ``rotate_epoch`` every hub rotates: a new key, certified
  by the previous one (``signer = "previous"``) and cosigned by a quorum;
* at the start of ``revoke_epoch`` the operational key of ``revoke_hub`` is
  compromised: a quorum revokes it from that epoch on; the hub's identity
  key is recovered from ``shares_k`` shares (their tags checked before any
  arithmetic, the result checked against the enrolled identity) and signs
  the successor (``signer = "identity"``).  The compromised key then tries
  to certify a successor of its own, and the registry refuses it;
* every hub starts every epoch with ``Start.members`` = the keys
  :meth:`KeyRegistry.key_at` returns for that epoch, and its own key among
  them (SDBC then signs and verifies under those only);
* SHAP's keys go through the same registry: every monitor, regional and hub
  has a SHAP key (registry name ``shap.<node>``), all rotated at
  ``rotate_epoch``; each aggregator starts each epoch with its own key and
  its children's keys of that epoch (``Deployment.epoch_setup``), and each
  child checks its parent's receipt under the parent's key of that epoch;
* with ``stale_attack``, an on-path attacker holding every key that stopped
  being valid (rotated out, or revoked) signs a prevote of the current epoch
  with it, under the epoch's configuration hash, and sends it to every other
  hub as the hub it belonged to; and with every rotated-out monitor key it
  signs a monitor report of the current epoch and sends it to the monitor's
  regional, as the monitor, at the epoch's start; and with every rotated-out
  regional key of a regional in use a regional report of the current epoch
  (an empty commitment) to the regional's hub, as the regional.  Each such message must be refused: the
  run counts what was sent, refused and accepted, and the invariant monitor
  stops a run in which one was accepted.

Every certificate, revocation, recovery and refusal is a key event of the
run (:attr:`KeyPlan.events`): the report lists them and ``--audit-log``
writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vigilnet.crypto import (
    KeyCertificate,
    KeyLifecycleError,
    KeyPolicy,
    KeyRegistry,
    Revocation,
    SigningKey,
    VerifyKey,
    cosign,
    recover_signing_key,
    split_signing_key,
)
from vigilnet.protocols import sdbc, shap

if TYPE_CHECKING:
    from vigilnet.sim._deployment import Deployment
    from vigilnet.sim._engine import Simulator

__all__ = ["KeyPlan"]


def _hub(h: int) -> str:
    return f"hub-{h}"


def shap_nodes(d: Deployment) -> list[tuple[int, str]]:
    """Every SHAP node of the deployment and its registry name."""
    from vigilnet.sim._deployment import _HUB_BASE, _REGIONAL_BASE

    topo = d.scenario.topology
    out = [(m, f"shap.monitor-{m}") for m in range(topo.sites * topo.replicas)]
    regionals = topo.regionals + topo.hubs * topo.standby_regionals
    out += [(_REGIONAL_BASE + g, f"shap.regional-{g}") for g in range(regionals)]
    out += [(_HUB_BASE + h, f"shap.hub-{h}") for h in range(topo.hubs)]
    return out


@dataclass(slots=True)
class KeyPlan:
    """The registry, the keys by serial and what happened to them."""

    policy: KeyPolicy
    registry: KeyRegistry
    identities: list[SigningKey]
    #: hub -> its operational signing keys, by serial
    keys: dict[int, list[SigningKey]]
    #: custodian index -> its share of ``revoke_hub``'s identity key
    shares: list[Any]
    #: key events, in order: dicts with epoch, kind, node and details
    events: list[dict[str, Any]] = field(default_factory=list)
    #: keys that stopped being valid: (hub, serial, signing key, void from epoch)
    stale: list[tuple[int, int, SigningKey, int]] = field(default_factory=list)
    #: SHAP node id -> its SHAP signing keys, by serial
    shap_keys: dict[int, list[SigningKey]] = field(default_factory=dict)
    #: SHAP node id -> registry name
    shap_names: dict[int, str] = field(default_factory=dict)
    #: rotated-out monitor keys: (monitor, signing key, void from epoch)
    stale_monitors: list[tuple[int, SigningKey, int]] = field(default_factory=list)
    #: rotated-out regional keys: (regional node id, signing key, void from epoch)
    stale_regionals: list[tuple[int, SigningKey, int]] = field(default_factory=list)
    #: signatures of the attacker's messages (to tell them apart on arrival)
    stale_signatures: set[bytes] = field(default_factory=set)
    shap_certificates: int = 0
    sent: int = 0
    shap_sent: int = 0
    refused: int = 0
    accepted: int = 0
    #: refusal reason -> how many of the attacker's messages it refused
    refused_by_reason: dict[str, int] = field(default_factory=dict)

    @classmethod
    def create(cls, d: Deployment) -> KeyPlan:
        rot = d.scenario.key_rotation
        hubs = d.scenario.topology.hubs
        identities = [
            SigningKey(d.seeds.random_bytes(32, "key", "identity", h)) for h in range(hubs)
        ]
        policy = KeyPolicy(
            hubs=tuple(k.verify_key for k in identities),
            threshold=d.hub_config.threshold,
            validity_epochs=rot.validity_epochs,
        )
        registry = KeyRegistry(policy)
        plan = cls(
            policy=policy,
            registry=registry,
            identities=identities,
            keys={h: [d.hub_keys[h]] for h in range(hubs)},
            shares=[],
        )
        for h in range(hubs):
            registry.enroll(_hub(h), identities[h].verify_key)
            plan._certify_hub(h, d.hub_keys[h], 0, 0, identities[h], "identity")
        for node_id, name in shap_nodes(d):
            identity = SigningKey(d.seeds.random_bytes(32, "key", "identity", name))
            registry.enroll(name, identity.verify_key)
            plan.shap_names[node_id] = name
            plan.shap_keys[node_id] = [d.key(node_id)]
            plan._certify_shap(node_id, d.key(node_id), 0, 0, identity, "identity")
        stream = d.seeds.generator("key", "shamir", rot.revoke_hub)
        plan.shares = list(
            split_signing_key(
                identities[rot.revoke_hub],
                rot.shares_k,
                rot.shares_n,
                random=lambda n: stream.bytes(n),
            )
        )
        return plan

    # -- key events ----------------------------------------------------------

    def _cosigners(self, subject: int) -> list[int]:
        """A quorum of hubs, the subject last (any quorum would do)."""
        n = len(self.identities)
        order = [h for h in range(n) if h != subject] + [subject]
        return sorted(order[: self.policy.quorum])

    def _certify(
        self,
        node: str,
        key: SigningKey,
        serial: int,
        epoch: int,
        signer: SigningKey,
        kind: str,
        subject: int | None,
    ) -> None:
        """Certify ``key`` as ``node``'s key ``serial`` from ``epoch`` on,
        signed by ``signer`` (``kind``: previous or identity) and cosigned by
        a quorum of hubs (``subject``: the hub certified, cosigning last)."""
        cert = KeyCertificate.issue(
            node=node,
            serial=serial,
            key=key.verify_key,
            valid_from=epoch,
            valid_until=epoch + self.policy.validity_epochs,
            signed_by=signer,
            signer=kind,
            policy=self.policy,
        )
        cosigners = self._cosigners(-1 if subject is None else subject)
        cert = cert.with_cosignatures({c: cosign(self.identities[c], cert) for c in cosigners})
        self.registry.add(cert)
        self.events.append(
            {
                "epoch": epoch,
                "kind": "certificate",
                "node": node,
                "serial": serial,
                "signer": kind,
                "key": bytes(key.verify_key).hex(),
                "cosigners": [c for c, _ in cert.cosignatures],
            }
        )

    def _certify_hub(
        self, h: int, key: SigningKey, serial: int, epoch: int, signer: SigningKey, kind: str
    ) -> None:
        self._certify(_hub(h), key, serial, epoch, signer, kind, h)

    def _certify_shap(
        self, node_id: int, key: SigningKey, serial: int, epoch: int, signer: SigningKey, kind: str
    ) -> None:
        """A SHAP key's certificate, cosigned by the hubs like the hubs' own."""
        self._certify(self.shap_names[node_id], key, serial, epoch, signer, kind, None)
        self.shap_certificates += 1

    def rotate(self, d: Deployment, epoch: int) -> None:
        """Every hub's routine rotation at the start of ``epoch``."""
        for h in sorted(self.keys):
            old = self.keys[h][-1]
            new = SigningKey(d.seeds.random_bytes(32, "key", "rotated", h, epoch))
            serial = len(self.keys[h])
            self._certify_hub(h, new, serial, epoch, old, "previous")
            self.keys[h].append(new)
            self.stale.append((h, serial - 1, old, epoch))
        for node_id in sorted(self.shap_keys):
            old = self.shap_keys[node_id][-1]
            new = SigningKey(d.seeds.random_bytes(32, "key", "rotated-shap", node_id, epoch))
            serial = len(self.shap_keys[node_id])
            self._certify_shap(node_id, new, serial, epoch, old, "previous")
            self.shap_keys[node_id].append(new)
            if self.shap_names[node_id].startswith("shap.monitor-"):
                self.stale_monitors.append((node_id, old, epoch))
            elif self.shap_names[node_id].startswith("shap.regional-"):
                self.stale_regionals.append((node_id, old, epoch))

    def revoke_and_recover(self, d: Deployment, epoch: int) -> None:
        """``revoke_hub``'s key is compromised at ``epoch``: revoke it,
        recover the identity key from shares, certify a successor; then the
        thief's own successor certificate is refused."""
        rot = d.scenario.key_rotation
        h = rot.revoke_hub
        serial = len(self.keys[h]) - 1
        revocation = Revocation(
            node=_hub(h), serial=serial, from_epoch=epoch, hubs_hash=self.policy.hubs_hash
        )
        revocation = revocation.with_cosignatures(
            {c: cosign(self.identities[c], revocation) for c in self._cosigners(h)}
        )
        self.registry.revoke(revocation)
        self.events.append(
            {"epoch": epoch, "kind": "revocation", "node": _hub(h), "serial": serial}
        )
        stolen = self.keys[h][-1]
        self.stale.append((h, serial, stolen, epoch))
        # k custodians, none of them the hub itself, send their shares
        holders = sorted(range(len(self.shares)), key=lambda i: (i == h, i))[: rot.shares_k]
        identity = recover_signing_key(
            [self.shares[i] for i in holders], self.identities[h].verify_key
        )
        self.events.append(
            {
                "epoch": epoch,
                "kind": "recovery",
                "node": _hub(h),
                "shares": [self.shares[i].x for i in holders],
            }
        )
        new = SigningKey(d.seeds.random_bytes(32, "key", "recovered", h, epoch))
        self._certify_hub(h, new, serial + 1, epoch, identity, "identity")
        self.keys[h].append(new)
        # the thief certifies a key of its own with the revoked key, with
        # every cosignature it could get (a quorum of honest hubs cosigns
        # nothing they did not decide): refused by the registry
        forged = KeyCertificate.issue(
            node=_hub(h),
            serial=serial + 2,
            key=SigningKey(d.seeds.random_bytes(32, "key", "thief", h)).verify_key,
            valid_from=epoch,
            valid_until=epoch + self.policy.validity_epochs,
            signed_by=stolen,
            signer="previous",
            policy=self.policy,
        )
        try:
            self.registry.add(forged)
        except KeyLifecycleError as exc:
            self.events.append(
                {"epoch": epoch, "kind": "refused", "node": _hub(h), "reason": str(exc)}
            )
        else:  # pragma: no cover - the registry's rule 3 refuses it
            raise AssertionError("the registry accepted a certificate signed by a revoked key")

    def before_epoch(self, d: Deployment, sim: Simulator, epoch: int) -> None:
        """Key events due at the start of ``epoch``, then the attacker's
        messages of this epoch (after the hubs have started consensus)."""
        rot = d.scenario.key_rotation
        if epoch == rot.rotate_epoch:
            self.rotate(d, epoch)
        if epoch == rot.revoke_epoch:
            self.revoke_and_recover(d, epoch)
        if rot.stale_attack and self.stale_monitors:

            def attack_shap(s: Simulator) -> None:
                self._attack_shap(d, s, epoch)

            sim.at((epoch - 1) * d.epoch_us, attack_shap)
        if rot.stale_attack and self.stale_regionals:
            # 1 ms into the epoch: every hub has started it, and no regional
            # report is in yet (the monitors' are still on their way)
            regionals_at = (epoch - 1) * d.epoch_us + 1_000

            def attack_regional(s: Simulator) -> None:
                self._attack_regional(d, s, epoch)

            sim.at(regionals_at, attack_regional)
        if rot.stale_attack and self.stale:
            when = (epoch - 1) * d.epoch_us + d.deadlines.consensus_start_ms * 1_000 + 1_000

            def attack(s: Simulator) -> None:
                self._attack(d, s, epoch)

            sim.at(when, attack)

    # -- what the hubs use ---------------------------------------------------

    def members(self, epoch: int) -> tuple[VerifyKey, ...]:
        """The hub keys valid at ``epoch``, through the registry."""
        return tuple(self.registry.key_at(_hub(h), epoch) for h in sorted(self.keys))

    def signing_key(self, h: int, epoch: int) -> SigningKey:
        valid = self.registry.key_at(_hub(h), epoch)
        for key in self.keys[h]:
            if key.verify_key == valid:
                return key
        raise KeyLifecycleError(f"hub {h} holds no key valid at epoch {epoch}")

    def config(self, base: sdbc.HubConfig, epoch: int) -> sdbc.HubConfig:
        return base.with_members(self.members(epoch))

    def shap_verify_key(self, node_id: int, epoch: int) -> VerifyKey:
        """The SHAP key of ``node_id`` valid at ``epoch``, through the registry."""
        return self.registry.key_at(self.shap_names[node_id], epoch)

    def shap_signing_key(self, node_id: int, epoch: int) -> SigningKey:
        valid = self.shap_verify_key(node_id, epoch)
        for key in self.shap_keys[node_id]:
            if key.verify_key == valid:
                return key
        raise KeyLifecycleError(f"node {node_id} holds no SHAP key valid at epoch {epoch}")

    # -- the attacker --------------------------------------------------------

    def _attack(self, d: Deployment, sim: Simulator, epoch: int) -> None:
        config = self.config(d.hub_config, epoch)
        for h, _serial, key, void_from in self.stale:
            if epoch < void_from:
                continue
            vote = sdbc.sign_vote(key, config, sdbc.PREVOTE, epoch, 0, h, None)
            self.stale_signatures.add(vote.signature)
            payload = sdbc.encode_message(vote)
            for dst in range(d.scenario.topology.hubs):
                if dst != h:
                    self.sent += 1
                    sim.spoof(_hub(h), _hub(dst), payload)

    def _attack_shap(self, d: Deployment, sim: Simulator, epoch: int) -> None:
        for m, key, void_from in self.stale_monitors:
            if epoch < void_from:
                continue
            agents = d.site_agents[m // d.scenario.topology.replicas]
            zeros = (0,) * len(agents)
            body = shap.MonitorBody(agent_ids=agents, counts=zeros, llr_sums=zeros)
            report = shap.monitor_report(
                signing_key=key, node_id=m, epoch=epoch, config=d.shap_config, body=body
            )
            self.stale_signatures.add(report.signature)
            payload = shap.encode_message(shap.ReceiveReport(report=report, body=body))
            self.sent += 1
            self.shap_sent += 1
            sim.spoof(f"monitor-{m}", f"regional-{d.monitor_regional[m]}", payload)

    def _attack_regional(self, d: Deployment, sim: Simulator, epoch: int) -> None:
        from vigilnet.sim._deployment import _REGIONAL_BASE

        idle = {g for free in d.standby_free.values() for g in free}
        for node_id, key, void_from in self.stale_regionals:
            if epoch < void_from or node_id - _REGIONAL_BASE in idle:
                continue  # a standby not in use is no hub's child yet
            # A well-formed regional report of this epoch (an empty
            # commitment, zero totals) signed by the regional's old key, sent
            # to its hub as the regional: only the key may stop it.
            report = shap.sign_report(
                key,
                epoch=epoch,
                config_hash=d.shap_config.config_hash,
                node_id=node_id,
                tier=shap.Tier.REGIONAL,
                root=shap.commitment_hash(None, None),
                totals=(0, 0, 0),
            )
            self.stale_signatures.add(report.signature)
            payload = shap.encode_message(shap.ReceiveReport(report=report))
            self.sent += 1
            self.shap_sent += 1
            regional = node_id - _REGIONAL_BASE
            sim.spoof(f"regional-{regional}", f"hub-{d.regional_hub[regional]}", payload)

    def _observe(self, protocol: str, signature: bytes, refusal: str | None) -> None:
        if signature not in self.stale_signatures:
            return
        if refusal is None:
            self.accepted += 1
        else:
            self.refused += 1
            key = f"{protocol}: {refusal}"
            self.refused_by_reason[key] = self.refused_by_reason.get(key, 0) + 1

    def observe_report(self, report: shap.Report, refusal: str | None) -> None:
        """A regional (or, for a regional's report, a hub) admitted
        ``report`` (``refusal`` None) or refused it."""
        protocol = "shap" if report.tier is shap.Tier.MONITOR else "shap regional"
        self._observe(protocol, report.signature, refusal)

    def observe(self, message: sdbc.Message, refusal: str | None) -> None:
        """A hub admitted ``message`` (``refusal`` None) or refused it."""
        self._observe("sdbc", message.signature, refusal)

    def report(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "stale_keys": len(self.stale),
            "stale_monitor_keys": len(self.stale_monitors),
            "stale_regional_keys": len(self.stale_regionals),
            "shap_certificates": self.shap_certificates,
            "stale_shap_reports_sent": self.shap_sent,
            "stale_messages_sent": self.sent,
            "stale_messages_refused": self.refused,
            "stale_messages_accepted": self.accepted,
            "stale_refused_by_reason": dict(sorted(self.refused_by_reason.items())),
            "registry_refusals": self.registry.refusals,
        }
