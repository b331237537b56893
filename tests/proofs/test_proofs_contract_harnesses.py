"""The CrossHair harnesses of ``proofs/contracts.py`` for the SSCR merge and the
CBOR canonical checks: they build what they claim to, a broken merge is
caught, and the scanner claim holds exhaustively on short inputs."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import cbor2
import pytest
from vigilnet.proofs.contracts import (
    CBOR_ALPHABET,
    cbor_input,
    cbor_int_round_trip,
    cbor_scan_admits_only_canonical,
    check_contracts,
    evidence_state,
    sscr_merge,
)

from vigilnet.encoding import MalformedEncoding, decode, encode
from vigilnet.errors import VigilnetError
from vigilnet.evidence import EvidenceStats
from vigilnet.protocols.sscr import SourceEntry, merge


def test_evidence_state_reads_small_values() -> None:
    state = evidence_state((2, 5, -3), (0, 1, 1))
    assert state.as_dict() == {
        ("agent", "source0"): SourceEntry(sequence=2, stats=EvidenceStats(count=2, llr_sum=-1))
    }
    assert len(evidence_state((1, 0, 1), (1, 1, 2))) == 2
    assert len(evidence_state((0, 0, 0), (-7, 0, 0))) == 0


def test_sscr_merge_harness_is_the_real_merge_on_an_equivocation() -> None:
    left, right = ((1, 1, 2), (0, 0, 0)), ((1, 2, 0), (2, 0, 1))
    merged = sscr_merge(*left, *right)
    assert merged == merge(evidence_state(*left), evidence_state(*right))
    kept = merged.get("agent", "source0")
    assert kept == SourceEntry(sequence=1, stats=EvidenceStats(count=2, llr_sum=-1))


def test_a_merge_comparing_sequence_numbers_only_is_caught(tmp_path: Path) -> None:
    """The sscr_merge contract's commutativity line, on a merge where the left
    side wins equal sequence numbers: CrossHair must find an equivocation."""
    module = tmp_path / "left_wins_merge.py"
    module.write_text(
        textwrap.dedent(
            '''
            from vigilnet.proofs.contracts import EntryTriple, evidence_state
            from vigilnet.protocols.sscr import EvidenceState, merge


            def left_wins(
                left0: EntryTriple, left1: EntryTriple, right0: EntryTriple, right1: EntryTriple
            ) -> EvidenceState:
                """
                post: __return__ == merge(evidence_state(right0, right1), evidence_state(left0, left1))
                """
                mine = evidence_state(left0, left1).as_dict()
                for key, entry in evidence_state(right0, right1).entries:
                    if key not in mine or mine[key].sequence < entry.sequence:
                        mine[key] = entry
                return EvidenceState.of(mine)
            '''
        )
    )
    (result,) = check_contracts((str(module),), per_condition_timeout=3.0, max_iterations=20)
    assert result.status == "failed", result.output
    assert "left_wins" in result.output


@pytest.mark.parametrize("value", [0, 23, 24, 255, 256, -1, -25, 2**64 - 1, -(2**64)])
def test_int_round_trip_harness_at_the_head_boundaries(value: int) -> None:
    assert cbor_int_round_trip(value) == value


def test_cbor_input_uses_the_alphabet() -> None:
    assert cbor_input((0, 0, 0, 0, 0), 0) == b""
    assert cbor_input((3, 0, 0, 0, 0), 2) == bytes([CBOR_ALPHABET[3], CBOR_ALPHABET[0]])
    assert cbor_input((99, 99, 99, 99, 99), 99) == bytes([CBOR_ALPHABET[-1]] * 5)
    assert cbor_scan_admits_only_canonical((3, 0, 0, 0, 0), 2) == b"\x18\x00"


def _frozen(value: object) -> object:
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, dict):
        return {key: _frozen(item) for key, item in value.items()}
    return value


def _accepts(data: bytes) -> bool:
    try:
        decode(data, max_depth=16, max_items=1 << 16)
    except MalformedEncoding:
        return False
    return True


def _scanner_claim_holds(data: bytes, *, ignore: str | None = None) -> bool:
    """If the decoder accepts ``data`` (optionally ignoring one rule), an
    independent decoder (cbor2) reads the same value from it and the
    canonical re-encoding is ``data``."""
    value: object = None
    try:
        value = decode(data, max_depth=16, max_items=1 << 16)
    except MalformedEncoding as refused:
        if refused.reason != ignore:
            return True
        value = None
    try:
        independent = _frozen(cbor2.loads(data))
        same = value is None or value == independent
        return same and encode(independent) == data  # type: ignore[arg-type]
    except (cbor2.CBORDecodeError, ValueError, VigilnetError):
        return False


def _short_inputs() -> itertools.chain[bytes]:
    every_short = (bytes(t) for n in range(3) for t in itertools.product(range(256), repeat=n))
    three = (bytes(t) for t in itertools.product(CBOR_ALPHABET, repeat=3))
    return itertools.chain(every_short, three)


def test_scanner_admits_only_canonical_cbor_exhaustively_on_short_inputs() -> None:
    """Every byte string of length <= 2 and every 3-byte string over the
    harness's alphabet: what the scanner accepts, cbor2 reads and re-encodes
    to the same bytes (the two guards ``decode`` marks ``pragma: no cover``)."""
    accepted = 0
    for data in _short_inputs():
        assert _scanner_claim_holds(data), data
        accepted += _accepts(data)
    assert accepted > 1000


def test_exhaustive_check_catches_a_scanner_without_the_shortest_form_rule() -> None:
    broken = [
        d for d in _short_inputs() if not _scanner_claim_holds(d, ignore="non-canonical integer")
    ]
    assert b"\x18\x00" in broken
