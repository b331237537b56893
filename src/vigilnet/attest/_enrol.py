"""The caller's step after an admission verdict: audit, then key registry.

Theory of operation: :func:`enrol` runs :meth:`Admission.answer`, appends
the verdict (admitted or refused, with its reason) to the audit log as one
``attestation`` entry, and only then, only on an admitted verdict, enters
the node's identity key in the :class:`~vigilnet.crypto.KeyRegistry`
(``KeyRegistry.enroll``; a node already enrolled under the same key is
left as it is, under another key is refused and recorded so).  The audit
entry comes first so that no key is ever in the registry without its
admission on the log; a failing append (``AuditLogError``) propagates and
leaves the registry unchanged.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric import ec

from vigilnet.attest._admission import Admission, Verdict
from vigilnet.crypto import KeyRegistry, VerifyKey
from vigilnet.encoding import CborValue
from vigilnet.store import AuditLog, EntryKind


def enrol(
    admission: Admission,
    registry: KeyRegistry,
    audit: AuditLog,
    *,
    node: str,
    identity: VerifyKey,
    nonce: bytes,
    attest: bytes,
    signature: bytes,
    key: ec.EllipticCurvePublicKey,
    ak_name: bytes,
    now: int,
    time_ms: int,
) -> Verdict:
    """Judge ``node``'s answer, record the verdict, register on admission."""
    verdict = admission.answer(node, nonce, attest, signature, key, ak_name, now)
    if verdict.admitted and node in registry.nodes() and registry.identity(node) != identity:
        verdict = Verdict(node, False, "node is enrolled under another identity key")
    body: dict[str, CborValue] = {
        "node": node,
        "admitted": verdict.admitted,
        "reason": verdict.reason,
        "identity": bytes(identity),
        "nonce": nonce,
        "quote_sha256": hashlib.sha256(attest).digest(),
    }
    audit.append(EntryKind.ATTESTATION, body, time_ms)
    if verdict.admitted and node not in registry.nodes():
        registry.enroll(node, identity)
    return verdict
