/* Batched SHA-256 over fixed-width rows (see vigilnet_sha256.h).
 *
 * OpenSSL 3's EVP interface: the algorithm is fetched once per call and one
 * context is re-initialised per row (EVP_DigestInit_ex2), which avoids the
 * per-call fetch of the one-shot SHA256() and the allocation of a Python
 * bytes object per digest.  The data hashed is public (tree nodes), so
 * timing is not a concern here; OpenSSL's SHA-256 does not branch on data.
 */

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "vigilnet_sha256.h"

int vn_sha256_rows(const uint8_t *rows, size_t n, size_t width, uint8_t *out) {
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int status = (md != NULL && ctx != NULL) ? 0 : -1;
    for (size_t i = 0; status == 0 && i < n; i++) {
        unsigned int length = 0;
        if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
            EVP_DigestUpdate(ctx, rows + i * width, width) != 1 ||
            EVP_DigestFinal_ex(ctx, out + 32 * i, &length) != 1 || length != 32) {
            status = -1;
        }
    }
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
    return status;
}
