"""Admission of a node on a fresh TPM quote: a pure state machine.

Theory of operation: the verifier calls :meth:`Admission.challenge` with a
nonce it drew (the caller supplies randomness, so the machine stays pure and
replayable); the node answers with a quote over that nonce, its attestation
public key and name.  :meth:`Admission.answer` accepts an answer only for an
outstanding nonce, consumes the nonce whatever the verdict (so a replayed
quote, or a second answer to the same challenge, is refused), checks the
offered attestation key against the one pinned for the node (when the
policy pins keys), verifies the quote against the policy's expected PCR
values and returns a :class:`Verdict`.  A challenge older than ``policy.max_age`` ticks is stale
and refused.  Only an admitted verdict may lead the caller to enter the
node's key in the key registry; that step and the audit-log entry are the
caller's (:func:`vigilnet.attest.enrol`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vigilnet.attest._quote import QuoteError, verify_quote


@dataclass(frozen=True)
class Policy:
    """Expected PCR values of a vigilnet release, the challenge lifetime and,
    when not empty, each node's pinned attestation key and qualified name
    (recorded at enrolment): an answer under another key is refused."""

    expected_pcrs: dict[tuple[int, int], bytes]
    max_age: int = 10
    aks: dict[str, tuple[ec.EllipticCurvePublicKey, bytes]] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """Outcome of one admission answer (``reason`` is empty when admitted)."""

    node: str
    admitted: bool
    reason: str


@dataclass
class Admission:
    """Outstanding challenges of one verifier."""

    policy: Policy
    _pending: dict[bytes, tuple[str, int]] = field(default_factory=dict)
    admitted: set[str] = field(default_factory=set)

    def challenge(self, node: str, nonce: bytes, now: int) -> bytes:
        """Record a fresh challenge for ``node``; return the nonce to send."""
        if len(nonce) < 16:
            raise ValueError("nonce shorter than 16 bytes")
        if nonce in self._pending:
            raise ValueError("nonce reused")
        self._pending[nonce] = (node, now)
        return nonce

    def cancel(self, nonce: bytes) -> None:
        """Withdraw an outstanding challenge (its answer was unreadable)."""
        self._pending.pop(nonce, None)

    def answer(
        self,
        node: str,
        nonce: bytes,
        attest: bytes,
        signature: bytes,
        key: ec.EllipticCurvePublicKey,
        ak_name: bytes,
        now: int,
    ) -> Verdict:
        """Judge a node's answer; the nonce is consumed whatever the verdict."""
        pending = self._pending.pop(nonce, None)
        if pending is None:
            return Verdict(node, False, "no outstanding challenge with this nonce")
        if pending[0] != node:
            return Verdict(node, False, "challenge was issued to another node")
        if now - pending[1] > self.policy.max_age:
            return Verdict(node, False, "challenge is stale")
        if self.policy.aks:
            pinned = self.policy.aks.get(node)
            if pinned is None:
                return Verdict(node, False, "no attestation key enrolled for this node")
            if _point(pinned[0]) != _point(key) or pinned[1] != ak_name:
                return Verdict(node, False, "attestation key is not the one enrolled")
        try:
            verify_quote(
                attest,
                signature,
                key,
                nonce=nonce,
                expected_pcrs=self.policy.expected_pcrs,
                ak_name=ak_name,
            )
        except QuoteError as exc:
            return Verdict(node, False, str(exc))
        self.admitted.add(node)
        return Verdict(node, True, "")


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
