"""Admission: a node joins only on a fresh, valid TPM quote (issue 16).

The model of :class:`vigilnet.attest.Admission` and the caller's step after
it (:func:`vigilnet.attest.enrol`).  One verifier and two nodes: ``a`` has a
TPM whose PCRs match the policy, ``b`` has not (every quote ``b``'s TPM
makes is over the wrong PCR values).  The network is the adversary: it
delivers any quote ever made as the answer of any node to any nonce ever
drawn, any number of times (replay, reordering, relabelling).  Quotes are
abstracted to records ``(nonce, signer, good)``: a quote's signature binds
its ``extraData`` (``nonce``) and its signer (the attestation key pinned for
``signer``), and cannot be forged; ``good`` says whether its PCR digest is
the policy's.  :mod:`tests.attest.test_model` attacks that abstraction with
real and forged quote bytes on the real :class:`~vigilnet.attest.Admission`.

Variables (TLA+ style names)::

    nextNonce   how many nonces the verifier has drawn (0 .. MaxNonces)
    pending     the verifier's outstanding challenges: (nonce, node, age)
    quotes      every quote a node has made: (nonce, signer, good)
    admitted    the nodes the verifier has admitted
    registered  the nodes whose key is in the key registry
    answered    ghost: every nonce some answer has named
    admissions  ghost: one record per admitting answer,
                (node, nonce, valid, fresh, first)

Actions: ``Challenge(n)`` (draw the next nonce for ``n``), ``Tick`` (every
outstanding challenge ages by one, capped at ``MaxAge + 1``), ``Quote(n,
k)`` (``n`` quotes an outstanding challenge of its own), ``Answer(n, k,
q)`` (the verifier judges quote ``q`` as ``n``'s answer to nonce ``k``:
the nonce is consumed whatever the verdict; refused when ``k`` is not
outstanding, was issued to another node, is older than ``MaxAge``, or
``q`` is not a good quote by ``n`` over ``k``), ``Register(n)`` (the caller
enters an admitted node's key in the registry).

Properties:

* ``NoAdmissionWithoutValidQuote``: every admission was on a good quote by
  the node over the nonce it answered;
* ``NoReplayAdmitted``: no admission named a nonce an earlier answer named;
* ``NoStaleAdmitted``: every admission answered a challenge issued to that
  node at most ``MaxAge`` ticks before;
* ``KeyOnlyAfterAdmission``: ``registered`` is a subset of ``admitted``;
* witnesses: ``SomeAdmitted`` (``a`` admitted and registered),
  ``SomeBadQuoteAnswered`` (a quote by ``b`` was judged),
  ``SomeStaleChallenge`` (a challenge outlived ``MaxAge``).

Distinct states (pinned in :data:`PINNED` and ``tests/attest/test_model.py``;
our own numbers, no TLC run): ``small`` (MaxNonces = 2, MaxAge = 1): 243,
depth 8; ``default`` (MaxNonces = 3, MaxAge = 1): 3,161, depth 11.  No
symmetry (``a`` and ``b`` differ).  The test recomputes both by a plain
breadth-first search over the actions, independent of the checker's
engine.  Without the ghosts ``answered`` and ``admissions`` the ``default``
configuration has 2,977 distinct protocol states (the ghosts split 184 of
them by which nonce an answer named).

Mutants (each must be killed by ``vigilnet check --all``):

* ``nonce_not_consumed``: ``Answer`` leaves the nonce outstanding: a
  replayed quote is admitted again (``NoReplayAdmitted``);
* ``stale_check_dropped``: ``Answer`` does not check the challenge's age
  (``NoStaleAdmitted``);
* ``pcr_check_dropped``: ``Answer`` does not check the PCR digest: ``b`` is
  admitted (``NoAdmissionWithoutValidQuote``);
* ``register_before_verify``: the key enters the registry when an answer to
  an outstanding challenge arrives, before the verdict
  (``KeyOnlyAfterAdmission``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from vigilnet.checker import (
    Action,
    Assumption,
    Constants,
    Model,
    ModelFamily,
    Property,
)

__all__ = ["FAMILY", "NODES", "PINNED", "AdmState", "build", "build_mutant"]

#: ``a``'s TPM matches the policy; ``b``'s does not
NODES = ("a", "b")
GOOD = frozenset({"a"})

MUTANTS = (
    "nonce_not_consumed",
    "stale_check_dropped",
    "pcr_check_dropped",
    "register_before_verify",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AdmState:
    nextNonce: int
    pending: frozenset[tuple[int, str, int]]
    quotes: frozenset[tuple[int, str, bool]]
    admitted: frozenset[str]
    registered: frozenset[str]
    answered: frozenset[int]
    admissions: frozenset[tuple[str, int, bool, bool, bool]]


Succ = Iterator[tuple[tuple[Hashable, ...], AdmState]]


def _build(constants: Constants, mutant: str | None) -> Model[AdmState]:
    max_nonces = int(str(constants["MaxNonces"]))
    max_age = int(str(constants["MaxAge"]))

    def init() -> Iterator[AdmState]:
        yield AdmState(
            nextNonce=0,
            pending=frozenset(),
            quotes=frozenset(),
            admitted=frozenset(),
            registered=frozenset(),
            answered=frozenset(),
            admissions=frozenset(),
        )

    def challenge(s: AdmState) -> Succ:
        if s.nextNonce >= max_nonces:
            return
        for n in NODES:
            yield (
                (n,),
                replace(s, nextNonce=s.nextNonce + 1, pending=s.pending | {(s.nextNonce, n, 0)}),
            )

    def tick(s: AdmState) -> Succ:
        aged = frozenset((k, n, min(age + 1, max_age + 1)) for k, n, age in s.pending)
        if aged != s.pending:
            yield (), replace(s, pending=aged)

    def quote(s: AdmState) -> Succ:
        for k, n, _age in sorted(s.pending):
            q = (k, n, n in GOOD)
            if q not in s.quotes:
                yield (n, k), replace(s, quotes=s.quotes | {q})

    def answer(s: AdmState) -> Succ:
        for n in NODES:
            for k in range(s.nextNonce):
                for q in sorted(s.quotes):
                    yield (n, k, q), _judge(s, n, k, q)

    def _judge(s: AdmState, n: str, k: int, q: tuple[int, str, bool]) -> AdmState:
        entry = next((p for p in s.pending if p[0] == k), None)
        answered = s.answered | {k}
        pending = s.pending if mutant == "nonce_not_consumed" else s.pending - {entry}
        refused = replace(s, pending=pending, answered=answered)
        if entry is None:
            return replace(s, answered=answered)
        if mutant == "register_before_verify":
            refused = replace(refused, registered=refused.registered | {n})
        _k, issued_to, age = entry
        if issued_to != n:
            return refused
        if age > max_age and mutant != "stale_check_dropped":
            return refused
        q_nonce, q_signer, q_good = q
        if q_nonce != k or q_signer != n:  # extraData, signature under n's AK
            return refused
        if not q_good and mutant != "pcr_check_dropped":
            return refused
        record = (n, k, q_good, age <= max_age, k not in s.answered)
        return replace(
            refused,
            admitted=refused.admitted | {n},
            admissions=refused.admissions | {record},
        )

    def register(s: AdmState) -> Succ:
        for n in sorted(s.admitted - s.registered):
            yield (n,), replace(s, registered=s.registered | {n})

    def type_ok(s: AdmState) -> bool:
        return (
            0 <= s.nextNonce <= max_nonces
            and all(0 <= k < s.nextNonce and 0 <= age <= max_age + 1 for k, _, age in s.pending)
            and len({k for k, _, _ in s.pending}) == len(s.pending)
            and s.admitted <= set(NODES)
            and s.registered <= set(NODES)
        )

    def view(s: AdmState) -> Mapping[str, object]:
        return {
            "nextNonce": s.nextNonce,
            "pending": s.pending,
            "quotes": s.quotes,
            "admitted": s.admitted,
            "registered": s.registered,
            "answered": s.answered,
            "admissions": s.admissions,
        }

    return Model(
        name="admission",
        constants={"MaxNonces": max_nonces, "MaxAge": max_age},
        variables=(
            "nextNonce",
            "pending",
            "quotes",
            "admitted",
            "registered",
            "answered",
            "admissions",
        ),
        init_states=init,
        actions=(
            Action(name="Challenge", step=challenge),
            Action(name="Tick", step=tick),
            Action(name="Quote", step=quote),
            Action(name="Answer", step=answer),
            Action(name="Register", step=register),
        ),
        properties=(
            Property.always("TypeOK", type_ok),
            Property.always(
                "NoAdmissionWithoutValidQuote", lambda s: all(r[2] for r in s.admissions)
            ),
            Property.always("NoReplayAdmitted", lambda s: all(r[4] for r in s.admissions)),
            Property.always("NoStaleAdmitted", lambda s: all(r[3] for r in s.admissions)),
            Property.always("KeyOnlyAfterAdmission", lambda s: s.registered <= s.admitted),
            Property.sometimes("SomeAdmitted", lambda s: "a" in s.registered),
            Property.sometimes(
                "SomeBadQuoteAnswered",
                lambda s: any(q[1] == "b" and q[0] in s.answered for q in s.quotes),
            ),
            Property.sometimes(
                "SomeStaleChallenge", lambda s: any(age > max_age for _, _, age in s.pending)
            ),
        ),
        view=view,
        assumptions=(
            Assumption(name="SomeNonces", holds=1 <= max_nonces <= 4),
            Assumption(name="AgeNonNegative", holds=0 <= max_age <= 3),
        ),
    )


def build(constants: Constants) -> Model[AdmState]:
    return _build(constants, None)


def build_mutant(name: str) -> Any:
    if name not in MUTANTS:
        raise ValueError(f"unknown mutant {name!r}")

    def builder(constants: Constants) -> Model[AdmState]:
        return _build(constants, name)

    return builder


#: distinct states per configuration (module docstring)
PINNED: dict[str, int] = {"small": 243, "default": 3_161}

FAMILY = ModelFamily(
    name="admission",
    summary="TPM-quote admission (no admission without a fresh valid quote; key after admission)",
    build=build,
    configs={
        "small": {"MaxNonces": 2, "MaxAge": 1},
        "default": {"MaxNonces": 3, "MaxAge": 1},
    },
    default_config="default",
    mutants={name: build_mutant(name) for name in MUTANTS},
)
