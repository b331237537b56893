"""TPM 2.0 quote verification (hardware attestation, issue 16).

Theory of operation: a node's TPM signs a ``TPMS_ATTEST`` structure of type
``TPM_ST_ATTEST_QUOTE`` that binds the verifier's fresh nonce (``extraData``)
to a digest over selected PCR values.  :func:`verify_quote` parses that
structure with bounds checks on every field, checks the magic, the type, the
nonce, the signer's TPM name, the PCR digest against the expected values and
the ECDSA P-256/SHA-256 signature under the attestation key.  Every malformed
or mismatching input raises :class:`QuoteError`; nothing else escapes.

The admission state machine (:class:`Admission`) judges a node's answer to
a fresh nonce; :func:`enrol` records the verdict in the audit log and only
then, on admission, enters the node's key in the key registry.  The model
is ``models/admission.py``; the runtime's use is
:mod:`vigilnet.runtime._admit`.
"""

from vigilnet.attest._admission import Admission, Policy, Verdict
from vigilnet.attest._enrol import enrol
from vigilnet.attest._quote import (
    QuoteError,
    QuoteInfo,
    parse_attest,
    parse_signature,
    pcr_digest,
    qualified_name,
    verify_quote,
)

__all__ = [
    "Admission",
    "Policy",
    "QuoteError",
    "QuoteInfo",
    "Verdict",
    "enrol",
    "parse_attest",
    "parse_signature",
    "pcr_digest",
    "qualified_name",
    "verify_quote",
]
