/* dudect-style timing test (Reparaz, Balasch, Verbauwhede, "Dude, is my code
   constant time?", 2017) of each kernel of the built extension, and of the
   leaky variants (leaky.c).

   usage: dudect EXTENSION.so PATH MEASUREMENTS
     PATH  1 (scalar) or 2 (AVX2)

   For each kernel, MEASUREMENTS calls are timed with the time-stamp
   counter, each on an input of one of two classes picked at random: class 0
   a fixed secret, class 1 a fresh random secret (the public parts, lengths
   and indices, are the same for both).  Welch's t statistic between the two
   classes' timings is printed, over all measurements below the 50th, 90th
   and 99th percentile (the crops drop interrupts and migrations); the
   largest |t| is the figure.  |t| above about 4.5 is dudect's threshold for
   "a leak is likely"; the leaky variants must show much more.

   Output: one line per kernel, "name max_abs_t t50 t90 t99 n". */

#include <dlfcn.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "vigilnet_kernels.h"

char _Py_NoneStruct[64]; /* see harness.c */

int leaky_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);
int64_t leaky_median3(int64_t a, int64_t b, int64_t c);

static void *handle;
static void *need(const char *name) {
    void *symbol = dlsym(handle, name);
    if (!symbol) {
        fprintf(stderr, "dudect: missing %s\n", name);
        exit(2);
    }
    return symbol;
}

static uint64_t rng_state = 0x2545f4914f6cdd1du;
static uint64_t next_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* the secret of one measurement: random for class 1, zero for class 0; the
   same work either way, so the preparation itself does not differ by class */
static inline uint64_t secret(int cls) {
    uint64_t r = next_random();
    return r & ((uint64_t)0 - (uint64_t)cls);
}

static inline uint64_t ticks(void) {
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
}

#define BYTES 512
#define AGENTS 64
#define POINTS 256

static uint8_t buf_a[BYTES], buf_b[BYTES], buf_out[BYTES];
static int64_t values[16 * AGENTS], result[AGENTS], agents_idx[POINTS], acc[2 * AGENTS];
static int32_t evidence[POINTS];
static int8_t codes[POINTS];
static uint32_t choice;
static volatile int64_t sink;

static int (*k_equal)(const uint8_t *, const uint8_t *, size_t);
static void (*k_select)(uint8_t *, const uint8_t *, const uint8_t *, size_t, uint32_t);
static int (*k_llr)(const int64_t *, const int32_t *, size_t, int64_t *, size_t, int32_t,
                    int64_t);
static int (*k_median)(const int64_t *, size_t, size_t, int64_t *);
static int (*k_trimmed)(const int64_t *, size_t, size_t, size_t, int64_t *);
static int (*k_sprt)(const int64_t *, size_t, int64_t, int64_t, int64_t, int8_t *);

typedef struct {
    const char *name;
    void (*prepare)(int cls); /* untimed: the inputs of one measurement */
    void (*run)(void);        /* timed */
} kernel_case;

/* byte comparison: class 0 b == a (the whole length is compared), class 1
   b random (differs almost at once) */
static void prep_equal(int cls) {
    for (size_t i = 0; i < BYTES; i++) buf_a[i] = 0x5a;
    for (size_t i = 0; i < BYTES; i++) buf_b[i] = (uint8_t)(0x5a ^ secret(cls));
}
static void run_equal(void) { sink = k_equal(buf_a, buf_b, BYTES); }
static void run_leaky_equal(void) { sink = leaky_ct_equal(buf_a, buf_b, BYTES); }

static void prep_select(int cls) {
    for (size_t i = 0; i < BYTES; i++) buf_a[i] = (uint8_t)i, buf_b[i] = (uint8_t)~i;
    choice = (uint32_t)(secret(cls) & 1);
}
static void run_select(void) { k_select(buf_out, buf_a, buf_b, BYTES, choice); }

static void prep_rows(int cls, size_t rows) {
    for (size_t i = 0; i < rows * AGENTS; i++)
        values[i] = (int64_t)(secret(cls) >> 12);
}
static void prep_rows3(int cls) { prep_rows(cls, 3); }
static void prep_rows5(int cls) { prep_rows(cls, 5); }
static void prep_rows16(int cls) { prep_rows(cls, 16); }
static void run_median3(void) { sink = k_median(values, 3, AGENTS, result); }
static void run_median5(void) { sink = k_median(values, 5, AGENTS, result); }
static void run_trimmed16(void) { sink = k_trimmed(values, 16, AGENTS, 5, result); }
static void run_leaky_median3(void) {
    int64_t acc = 0;
    for (size_t i = 0; i < AGENTS; i++)
        acc += leaky_median3(values[i], values[AGENTS + i], values[2 * AGENTS + i]);
    sink = acc;
}

static void prep_llr(int cls) {
    for (size_t i = 0; i < POINTS; i++) {
        agents_idx[i] = (int64_t)(i % AGENTS);
        evidence[i] = (int32_t)secret(cls);
    }
    memset(acc, 0, sizeof acc);
}
static void run_llr(void) {
    sink = k_llr(agents_idx, evidence, POINTS, acc, AGENTS, 1 << 19, (int64_t)1 << 39);
}

static void prep_sprt(int cls) {
    for (size_t i = 0; i < POINTS; i++)
        values[i] = (int64_t)(secret(cls) % 4001) - 2000;
}
static void run_sprt(void) { sink = k_sprt(values, POINTS, 0, -1000, 1000, codes); }

static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

static double welch(const uint64_t *t, const uint8_t *cls, size_t n, uint64_t below) {
    double mean[2] = {0, 0}, m2[2] = {0, 0};
    double count[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        if (t[i] >= below) continue;
        int c = cls[i];
        count[c] += 1;
        double delta = (double)t[i] - mean[c];
        mean[c] += delta / count[c];
        m2[c] += delta * ((double)t[i] - mean[c]);
    }
    if (count[0] < 2 || count[1] < 2) return 0;
    double v0 = m2[0] / (count[0] - 1), v1 = m2[1] / (count[1] - 1);
    double se = sqrt(v0 / count[0] + v1 / count[1]);
    return se > 0 ? (mean[0] - mean[1]) / se : 0;
}

static void measure(const kernel_case *k, size_t n) {
    uint64_t *t = malloc(n * sizeof *t), *sorted = malloc(n * sizeof *sorted);
    uint8_t *cls = malloc(n);
    for (size_t i = 0; i < 1000; i++) { /* warm up */
        k->prepare((int)(i & 1));
        k->run();
    }
    for (size_t i = 0; i < n; i++) {
        cls[i] = (uint8_t)(next_random() & 1);
        k->prepare(cls[i]);
        uint64_t start = ticks();
        k->run();
        t[i] = ticks() - start;
    }
    memcpy(sorted, t, n * sizeof *t);
    qsort(sorted, n, sizeof *sorted, cmp_u64);
    double t50 = welch(t, cls, n, sorted[n / 2]);
    double t90 = welch(t, cls, n, sorted[n * 9 / 10]);
    double t99 = welch(t, cls, n, sorted[n * 99 / 100]);
    double worst = fmax(fabs(t50), fmax(fabs(t90), fabs(t99)));
    printf("%s %.2f %.2f %.2f %.2f %zu\n", k->name, worst, t50, t90, t99, n);
    fflush(stdout);
    free(t), free(sorted), free(cls);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s EXTENSION.so PATH MEASUREMENTS\n", argv[0]);
        return 2;
    }
    handle = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
    if (!handle) {
        fprintf(stderr, "dudect: cannot load %s: %s\n", argv[1], dlerror());
        return 2;
    }
    int (*select_path)(int) = need("vn_select");
    int path = atoi(argv[2]);
    if (select_path(path) != path) {
        fprintf(stderr, "dudect: path %d unavailable\n", path);
        return 3;
    }
    size_t n = (size_t)strtoull(argv[3], NULL, 10);
    k_equal = need("vn_ct_equal");
    k_select = need("vn_ct_select");
    k_llr = need("vn_llr_accumulate");
    k_median = need("vn_lower_median");
    k_trimmed = need("vn_trimmed_sum");
    k_sprt = need("vn_sprt_classify");
    const kernel_case cases[] = {
        {"ct_equal", prep_equal, run_equal},
        {"ct_select", prep_select, run_select},
        {"llr_accumulate", prep_llr, run_llr},
        {"lower_median_r3", prep_rows3, run_median3},
        {"lower_median_r5", prep_rows5, run_median5},
        {"trimmed_sum_m16_f5", prep_rows16, run_trimmed16},
        {"sprt_classify", prep_sprt, run_sprt},
        {"LEAKY_early_exit_compare", prep_equal, run_leaky_equal},
        {"LEAKY_branchy_median3", prep_rows3, run_leaky_median3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) measure(&cases[i], n);
    return 0;
}
