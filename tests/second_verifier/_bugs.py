"""The catalogue of implementer bugs: each is a switch of the second verifier.
docs/vectors/bugs.md is the prose table of the same names."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUGS", "Bug"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Bug:
    name: str
    family: str
    does: str


def _bugs(family: str, **does: str) -> dict[str, Bug]:
    return {name: Bug(name=name, family=family, does=text) for name, text in does.items()}


BUGS: dict[str, Bug] = {
    **_bugs(
        "canonical_cbor",
        cbor_ignores_trailing_bytes="decodes the first item and ignores what follows",
        cbor_accepts_long_integers="accepts an integer in a longer head than needed",
        cbor_accepts_long_lengths="accepts a string, array or map length in a longer head than needed",
        cbor_accepts_indefinite_lengths="accepts indefinite-length strings, arrays and maps",
        cbor_reserved_info_as_8_byte="reads additional information 28-30 as an 8-byte argument",
        cbor_accepts_floats="decodes half, single and double floats",
        cbor_ignores_tags="skips a tag and returns the tagged item",
        cbor_accepts_undefined="reads simple value 23 (undefined) as null",
        cbor_accepts_two_byte_simple="reads f8 00..1f as the one-byte simple value (f8 14 as false)",
        cbor_no_utf8_check="decodes text with replacement characters instead of refusing bad UTF-8",
        cbor_accepts_utf8_surrogates="decodes UTF-8 with surrogatepass: encoded surrogates accepted",
        cbor_accepts_non_text_keys="accepts integer and byte-string map keys",
        cbor_accepts_duplicate_keys="keeps the last value of a repeated map key",
        cbor_no_key_order_check="accepts map keys in any order",
        cbor_keys_sorted_as_strings="checks key order on the decoded strings, not on their encodings (length first)",
        cbor_no_depth_limit="no nesting limit",
        cbor_depth_limit_off_by_one="refuses exactly max_depth nested containers",
        cbor_no_item_limit="no per-container item limit",
        cbor_counts_map_keys_and_values="counts a map's keys and values (2 per entry) against max_items",
        cbor_no_size_limit="decodes an input over max_size",
        cbor_strips_utf8_bom="strips a leading UTF-8 byte-order mark before decoding",
        cbor_uint64_as_signed="reads an unsigned argument of 2**63 or more as a signed 64-bit integer",
        cbor_negative_off_by_one="decodes major type 1 as -n instead of -1 - n",
    ),
    **_bugs(
        "ed25519_sign_bytes",
        ed25519_no_s_range_check="accepts S >= L",
        ed25519_reduces_s="reduces S modulo L instead of refusing it",
        ed25519_accepts_small_order_a="no small-order check on the public key A",
        ed25519_accepts_small_order_r="no small-order check on R",
        ed25519_noncanonical_points_as_blocklist="decodes A and R with y reduced mod p, refuses small order only by the canonical encodings, and compares R as a point",
        ed25519_cofactored="uses the cofactored equation [8][S]B = [8]R + [8][k]A",
        ed25519_hash_omits_public_key="hashes R and M but not A into k",
        sign_bytes_any_registered_tag="accepts the signature if it verifies under any registered tag",
        sign_bytes_without_zero_byte="builds sign bytes as the tag then the CBOR, without the zero byte",
        sign_bytes_without_tag="signs the canonical CBOR of the fields alone",
    ),
    **_bugs(
        "quorum_thresholds",
        quorum_float_ceil="computes ceil(t * n) in floating point",
        quorum_floor_plus_one="computes floor(t * n) + 1",
        quorum_rounds_to_nearest="computes round(t * n)",
        quorum_blocking_off_by_one="blocking = n - q",
        quorum_safe_faults_off_by_one="maxSafeFaults = 2q - n",
        quorum_live_faults_off_by_one="maxLiveFaults = n - q + 1",
        quorum_accepts_half="accepts t = 1/2",
        quorum_accepts_above_one="accepts t > 1",
        quorum_accepts_empty_group="accepts n = 0",
    ),
    **_bugs(
        "shap_merkle_log",
        mlog_no_leaf_prefix="hashes a leaf without the 0x00 prefix",
        mlog_no_node_prefix="hashes a node without the 0x01 prefix",
        mlog_ignores_extra_path="stops at the root and ignores the rest of the path",
        mlog_accepts_consistency_from_empty="drops vigilnet's size-0 rule: an empty proof from size 0 is consistent",
        mlog_equal_sizes_any_proof="accepts any consistency proof when both sizes are equal",
    ),
    **_bugs(
        "shap_merkle_sum",
        msum_sums_wrap_mod_2_64="adds sums modulo 2**64 instead of range-checking them",
        msum_no_range_check="accepts negative counts and out-of-range sums",
        msum_sums_not_hashed="hashes nodes without their sums",
        msum_ignores_proof_size="walks the path for the root's size and ignores the proof's",
        msum_trusts_claimed_totals="takes the claimed totals instead of the recomputed sums",
    ),
    **_bugs(
        "shap_replica_median",
        median_upper="takes the upper median of an even count",
        median_mean="takes the integer mean",
        median_unsorted="takes the middle of the values as received",
    ),
    **_bugs(
        "shap_sprt",
        sprt_strict_boundaries="flags only L > upper and clears only L < lower",
        sprt_truncates="truncates the thresholds toward zero instead of rounding half to even",
    ),
    **_bugs(
        "sdbc",
        sdbc_summary_tag_v1="signs an epoch summary under version 1 of its tag",
        sdbc_accepts_any_proposer="accepts a correctly signed proposal from a hub that is not the round's proposer",
        sdbc_cert_skips_bad_precommits="skips a badly signed precommit and counts the good ones",
        sdbc_cert_counts_messages="counts precommits, not distinct signers",
        sdbc_cert_majority_quorum="takes a simple majority of the hubs as the quorum",
        sdbc_cert_ignores_epoch="does not check that each precommit is of the certificate's epoch",
        sdbc_cert_trusts_its_config_hash="checks precommits against the certificate's configuration hash, not its own",
        sdbc_cert_accepts_nil="accepts a certificate of nil precommits",
        sdbc_evidence_across_hubs="does not check that both votes are by one hub",
        sdbc_evidence_across_kinds="accepts a prevote and a precommit as one slot",
        sdbc_evidence_ignores_round="does not compare the rounds of the two votes",
        sdbc_evidence_same_value="accepts two votes for the same value",
        sdbc_evidence_checks_first_signature_only="verifies only the first vote's signature",
    ),
}
