/* Constant-time harness for valgrind memcheck.

   usage: harness EXTENSION.so PATH MODE
     PATH  1 (scalar) or 2 (AVX2): the dispatch path to check
     MODE  "kernels": every kernel of the built extension, secrets undefined
           "leaky-equal", "leaky-median": a deliberately leaky variant
           (leaky.c, compiled only here) on the same undefined secrets

   The secrets (compared and selected bytes, the select bit, evidence values,
   replica values, log-odds) are marked undefined with
   VALGRIND_MAKE_MEM_UNDEFINED.  memcheck then reports any conditional jump
   or memory address that depends on them ("Conditional jump or move depends
   on uninitialised value(s)", "Use of uninitialised value"): run under
   `valgrind --error-exitcode=...`, a clean exit means no secret-dependent
   branch or index was executed.  Outputs are declassified
   (VALGRIND_MAKE_MEM_DEFINED) before the harness looks at them, after
   checking with VALGRIND_GET_VBITS that they do carry the secrets' taint
   (so that the check is not vacuous).

   The extension is loaded with dlopen(RTLD_LAZY): its Python entry points
   are never called, and the one data symbol they need is stubbed below. */

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/memcheck.h>

#include "vigilnet_kernels.h"

/* the cffi module refers to Python's None; nothing here touches it */
char _Py_NoneStruct[64];

int leaky_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);
int64_t leaky_median3(int64_t a, int64_t b, int64_t c);

static void *handle;

static void *need(const char *name) {
    void *symbol = dlsym(handle, name);
    if (!symbol) {
        fprintf(stderr, "harness: missing symbol %s: %s\n", name, dlerror());
        exit(2);
    }
    return symbol;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t next_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

#define SECRET(ptr, bytes) VALGRIND_MAKE_MEM_UNDEFINED((ptr), (bytes))

static int failures = 0;

/* The output must carry the taint of the secrets (else the harness marked
   nothing and proved nothing); then it is declassified. */
static void declassify(const char *what, void *ptr, size_t bytes) {
    if (RUNNING_ON_VALGRIND && bytes > 0) {
        unsigned char *vbits = malloc(bytes);
        int got = VALGRIND_GET_VBITS(ptr, vbits, bytes);
        int tainted = 0;
        for (size_t i = 0; i < bytes; i++) tainted |= vbits[i];
        free(vbits);
        if (got == 1 && !tainted) {
            fprintf(stderr, "harness: %s carries no secret taint (vacuous check)\n", what);
            failures++;
        }
    }
    VALGRIND_MAKE_MEM_DEFINED(ptr, bytes);
}

#define N 1003

static void check_kernels(void) {
    int (*ct_equal)(const uint8_t *, const uint8_t *, size_t) = need("vn_ct_equal");
    void (*ct_select)(uint8_t *, const uint8_t *, const uint8_t *, size_t, uint32_t) =
        need("vn_ct_select");
    int (*llr)(const int64_t *, const int32_t *, size_t, int64_t *, size_t, int32_t, int64_t) =
        need("vn_llr_accumulate");
    int (*median)(const int64_t *, size_t, size_t, int64_t *) = need("vn_lower_median");
    int (*trimmed)(const int64_t *, size_t, size_t, size_t, int64_t *) = need("vn_trimmed_sum");
    int (*sprt)(const int64_t *, size_t, int64_t, int64_t, int64_t, int8_t *) =
        need("vn_sprt_classify");

    /* byte comparison: equal, differing first, differing last */
    uint8_t *a = malloc(N), *b = malloc(N), *out = malloc(N);
    for (int variant = 0; variant < 3; variant++) {
        for (size_t i = 0; i < N; i++) a[i] = b[i] = (uint8_t)next_random();
        if (variant == 1) b[0] ^= 1;
        if (variant == 2) b[N - 1] ^= 0x80;
        SECRET(a, N);
        SECRET(b, N);
        int equal = ct_equal(a, b, N);
        declassify("ct_equal", &equal, sizeof equal);
        if (equal != (variant == 0)) failures++;
    }

    /* conditional select: the choice bit and both inputs secret */
    uint32_t *choice = malloc(sizeof *choice);
    for (uint32_t c = 0; c < 2; c++) {
        for (size_t i = 0; i < N; i++) a[i] = (uint8_t)next_random(), b[i] = (uint8_t)~a[i];
        *choice = c;
        SECRET(a, N);
        SECRET(b, N);
        SECRET(choice, sizeof *choice);
        ct_select(out, a, b, N, *choice);
        declassify("ct_select", out, N);
        VALGRIND_MAKE_MEM_DEFINED(a, N);
        VALGRIND_MAKE_MEM_DEFINED(b, N);
        if (memcmp(out, c ? a : b, N) != 0) failures++;
    }

    /* LLR accumulation: agent indices public, evidence secret; clamp hit
       both ways, and a sum overflow flagged */
    size_t n_agents = 37;
    int64_t *agents = malloc(N * sizeof *agents), *acc = calloc(2 * n_agents, 8);
    int32_t *evidence = malloc(N * sizeof *evidence);
    for (size_t i = 0; i < N; i++) {
        agents[i] = (int64_t)(next_random() % n_agents);
        evidence[i] = (int32_t)next_random();
    }
    SECRET(evidence, N * sizeof *evidence);
    int status = llr(agents, evidence, N, acc, n_agents, 1 << 19, (int64_t)1 << 39);
    declassify("llr accumulators", acc, 2 * n_agents * 8);
    VALGRIND_MAKE_MEM_DEFINED(&status, sizeof status); /* a status may be constant */
    if (status != 0) failures++;
    acc[2 * 3 + 1] = INT64_MAX; /* agent 3's sum: one more point overflows */
    agents[0] = 3;
    evidence[0] = 1000;
    SECRET(evidence, N * sizeof *evidence);
    SECRET(acc, 2 * n_agents * 8);
    status = llr(agents, evidence, 1, acc, n_agents, 1 << 19, (int64_t)1 << 39);
    VALGRIND_MAKE_MEM_DEFINED(&status, sizeof status);
    VALGRIND_MAKE_MEM_DEFINED(acc, 2 * n_agents * 8);
    if (status != 4) failures++;

    /* replica medians (r = 1, 3, 5, and a generic 7) and trimmed sums */
    int64_t *values = malloc(16 * N * sizeof *values), *result = malloc(N * sizeof *result);
    size_t sizes[] = {1, 3, 5, 7, 16};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t r = sizes[s];
        for (size_t i = 0; i < r * N; i++) values[i] = (int64_t)next_random();
        SECRET(values, r * N * 8);
        status = median(values, r, N, result);
        declassify("median", result, N * 8);
        VALGRIND_MAKE_MEM_DEFINED(&status, sizeof status); /* a status may be constant */
        if (status != 0) failures++;
        for (size_t f = 0; 2 * f + 1 <= r; f += (r > 3 ? 2 : 1)) {
            for (size_t i = 0; i < r * N; i++) values[i] = (int64_t)(next_random() >> 8) - (1LL << 55);
            SECRET(values, r * N * 8);
            status = trimmed(values, r, N, f, result);
            declassify("trimmed", result, N * 8);
            VALGRIND_MAKE_MEM_DEFINED(&status, sizeof status); /* a status may be constant */
            if (status != 0) failures++;
        }
    }

    /* SPRT classification: log-odds secret, thresholds public */
    int64_t *log_odds = malloc(N * sizeof *log_odds);
    int8_t *codes = malloc(N);
    for (size_t i = 0; i < N; i++) log_odds[i] = (int64_t)(next_random() % 2001) - 1000;
    SECRET(log_odds, N * 8);
    status = sprt(log_odds, N, 7, -300, 300, codes);
    declassify("sprt codes", codes, N);
    VALGRIND_MAKE_MEM_DEFINED(&status, sizeof status); /* a status may be constant */
    VALGRIND_MAKE_MEM_DEFINED(log_odds, N * 8);
    for (size_t i = 0; i < N; i++) {
        int64_t l = log_odds[i] + 7;
        int expected = l >= 300 ? 1 : l <= -300 ? -1 : 0;
        if (codes[i] != expected) failures++;
    }

    free(a), free(b), free(out), free(choice), free(agents), free(acc);
    free(evidence), free(values), free(result), free(log_odds), free(codes);
}

static void check_leaky_equal(void) {
    uint8_t *a = malloc(N), *b = malloc(N);
    for (size_t i = 0; i < N; i++) a[i] = b[i] = (uint8_t)next_random();
    b[N / 2] ^= 1;
    SECRET(a, N);
    SECRET(b, N);
    int equal = leaky_ct_equal(a, b, N);
    VALGRIND_MAKE_MEM_DEFINED(&equal, sizeof equal);
    if (equal) failures++;
    free(a), free(b);
}

static void check_leaky_median(void) {
    int64_t *v = malloc(3 * sizeof *v);
    for (int i = 0; i < 3; i++) v[i] = (int64_t)next_random();
    SECRET(v, 3 * sizeof *v);
    int64_t m = leaky_median3(v[0], v[1], v[2]);
    VALGRIND_MAKE_MEM_DEFINED(&m, sizeof m);
    free(v);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s EXTENSION.so PATH(1|2) MODE\n", argv[0]);
        return 2;
    }
    handle = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
    if (!handle) {
        fprintf(stderr, "harness: cannot load %s: %s\n", argv[1], dlerror());
        return 2;
    }
    int (*select_path)(int) = need("vn_select");
    int path = atoi(argv[2]);
    if (select_path(path) != path) {
        fprintf(stderr, "harness: dispatch path %d unavailable\n", path);
        return 3;
    }
    if (strcmp(argv[3], "kernels") == 0)
        check_kernels();
    else if (strcmp(argv[3], "leaky-equal") == 0)
        check_leaky_equal();
    else if (strcmp(argv[3], "leaky-median") == 0)
        check_leaky_median();
    else {
        fprintf(stderr, "harness: unknown mode %s\n", argv[3]);
        return 2;
    }
    printf("harness: path %d mode %s: %d wrong results\n", path, argv[3], failures);
    return failures ? 1 : 0;
}
