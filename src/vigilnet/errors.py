"""The one error hierarchy of vigilnet.

Every error vigilnet raises on purpose derives from :class:`VigilnetError`.
The split that matters to a caller is *who* broke the protocol:

* :class:`RemoteProtocolError`: a peer (or a file, or a vector) sent something
  malformed, mis-signed, stale or replayed.  This is the error bad input gets.
  It never leaves local state changed.
* :class:`LocalProtocolError`: *we* were asked to do something the protocol
  forbids (sign a vote twice in one round, decide without a quorum).  It is a
  bug in the caller.

Crypto failures form their own tree, and each class also inherits the matching
builtin (as PyNaCl's exceptions do), so ``except ValueError`` keeps working for
callers that do not know about vigilnet.

:func:`ensure` is the single guard used everywhere in place of ``assert``
(which ``python -O`` removes).
"""

from __future__ import annotations

from typing import NoReturn

__all__ = [
    "BadSignatureError",
    "CryptoError",
    "InvalidKeyError",
    "InvariantViolation",
    "LocalProtocolError",
    "ModelError",
    "ProtocolError",
    "RemoteProtocolError",
    "UnavailableError",
    "VigilnetError",
    "ensure",
]


class VigilnetError(Exception):
    """Root of every error vigilnet raises on purpose."""


class ProtocolError(VigilnetError):
    """A protocol rule was broken.  Use one of the two subclasses."""


class LocalProtocolError(ProtocolError):
    """We (the caller of this library) tried to break the protocol."""


class RemoteProtocolError(ProtocolError):
    """A peer, file or vector broke the protocol: malformed, mis-signed,
    stale or replayed input.  Raising it never changes local state."""


class CryptoError(VigilnetError):
    """Root of cryptographic failures."""


class BadSignatureError(CryptoError, ValueError):
    """A signature did not verify under the given key and message."""


class InvalidKeyError(CryptoError, ValueError):
    """Key material is malformed (wrong length, not a valid encoding)."""


class InvariantViolation(VigilnetError, AssertionError):
    """A property that must always hold did not.  Always a bug."""


class ModelError(VigilnetError, ValueError):
    """A model given to the checker is wrong or mis-configured: an unknown
    model, a bad constant, a false assumption, an action that raises.
    ``vigilnet check`` exits with status 2."""


class UnavailableError(VigilnetError, RuntimeError):
    """A component needed for the operation is not available (for example no
    TPM, or no quorum reachable).  Retrying later may succeed."""


def ensure(
    condition: object,
    message: str,
    raising: type[VigilnetError] = RemoteProtocolError,
) -> None:
    """Raise ``raising(message)`` unless ``condition`` is true.

    The default is :class:`RemoteProtocolError` because most checks guard
    input from outside.
    """
    if not condition:
        _fail(raising, message)


def _fail(raising: type[VigilnetError], message: str) -> NoReturn:
    raise raising(message)
