/* Batched SHA-256 over fixed-width rows, through OpenSSL's libcrypto.
 *
 * Declarations only (csrc/build_sha256.py reads this file for cffi's cdef).
 * The Merkle-sum trees of SHAP hash one row per leaf and per node
 * (vigilnet/merkle/_sumtree.py); this kernel hashes all rows of a level in
 * one call, with one digest context reused across rows.
 */

/* Hash rows[i * width .. (i + 1) * width) into out[32 * i .. 32 * i + 32)
 * for every i < n.  Returns 0, or -1 if libcrypto failed (out is then
 * unspecified). */
int vn_sha256_rows(const uint8_t *rows, size_t n, size_t width, uint8_t *out);
