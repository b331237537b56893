"""Decision certificates and equivocation evidence.

A **decision certificate** is ``q`` precommits, by distinct members, on the
same ``(epoch, config_hash, round, value_hash)``, where ``value_hash`` names a
value (32 bytes): ``q`` nil precommits decide nothing and certify nothing.
Anyone holding the hub keys verifies it without trusting whoever hands it
over (:meth:`verify`).

**Equivocation evidence** is two signed votes of one kind, by one member, in
one epoch, configuration and round, for different values: a correct hub
never signs both, so the pair proves its signer faulty (and, by the same
token, a correct hub can never be framed).  Amnesia (an unlawful unlock) is
shown by the model's ``Amnesiacs`` predicate; the implementation never
unlocks without a polka, which the refinement check ties to the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigilnet.protocols.sdbc._messages import (
    PRECOMMIT,
    BadMessage,
    HubConfig,
    Vote,
    check_signature,
)

__all__ = ["DecisionCertificate", "EquivocationEvidence"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionCertificate:
    epoch: int
    config_hash: bytes
    round: int
    value_hash: bytes
    precommits: tuple[Vote, ...]

    def verify(self, config: HubConfig) -> None:
        """Raise :class:`BadMessage` unless this is ``q`` valid precommits by
        distinct members on exactly this decision, which is a value (a
        certificate of nil precommits is refused)."""
        if not (isinstance(self.value_hash, bytes) and len(self.value_hash) == 32):
            raise BadMessage("certificate for no value", "nil precommits decide nothing")
        if self.config_hash != config.config_hash:
            raise BadMessage("certificate for another configuration")
        signers: set[int] = set()
        for vote in self.precommits:
            if vote.kind != PRECOMMIT:
                raise BadMessage("certificate holds a non-precommit")
            if (vote.epoch, vote.config_hash, vote.round, vote.value_hash) != (
                self.epoch,
                self.config_hash,
                self.round,
                self.value_hash,
            ):
                raise BadMessage("certificate precommit on something else")
            if vote.hub in signers:
                raise BadMessage("duplicate signer in certificate", str(vote.hub))
            check_signature(config, vote)
            signers.add(vote.hub)
        if len(signers) < config.quorum:
            raise BadMessage("certificate below quorum", f"{len(signers)} < {config.quorum}")


@dataclass(frozen=True, slots=True, kw_only=True)
class EquivocationEvidence:
    first: Vote
    second: Vote

    @property
    def hub(self) -> int:
        return self.first.hub

    def verify(self, config: HubConfig) -> None:
        """Raise :class:`BadMessage` unless the two votes are validly signed by
        one member for the same slot and differ in value."""
        a, b = self.first, self.second
        if a.slot != b.slot or a.config_hash != b.config_hash:
            raise BadMessage("evidence votes are for different slots")
        if a.config_hash != config.config_hash:
            raise BadMessage("evidence for another configuration")
        if a.value_hash == b.value_hash:
            raise BadMessage("evidence votes do not conflict")
        check_signature(config, a)
        check_signature(config, b)
