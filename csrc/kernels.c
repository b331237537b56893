/* vigilnet C kernels: a portable scalar path and an AVX2 path per kernel,
   one chosen at run time (vn_select).  See vigilnet_kernels.h for the
   contract of each function and docs/kernels.md for what "constant time"
   covers.

   Rules kept throughout (they are what the valgrind harness checks):
   - no branch, loop bound or memory index depends on a secret value;
   - comparisons of secrets become all-ones / all-zeros masks, combined
     with and / xor / blend, and a value barrier (vn_barrier) keeps the
     compiler from turning a mask back into a branch;
   - status flags are accumulated with bit operations and returned, never
     tested here: the caller (Python) decides what to do with them. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vigilnet_kernels.h"

#define VN_INDEX 1
#define VN_COUNT_OVERFLOW 2
#define VN_SUM_OVERFLOW 4
#define VN_BAD_SHAPE 8
#define VN_MAX_ROWS 16

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define VN_HAVE_AVX2 1
#include <immintrin.h>
#define VN_AVX2 __attribute__((target("avx2")))
#else
#define VN_HAVE_AVX2 0
#endif

/* Hide a value from the optimiser so that mask arithmetic stays arithmetic. */
#if defined(__GNUC__)
#define VN_BARRIER(x) __asm__("" : "+r"(x))
#else
#define VN_BARRIER(x) ((void)0)
#endif

/* ---------------------------------------------------------------- helpers */

/* all ones when x > y (signed), else zero */
static inline uint64_t vn_gt_mask(int64_t x, int64_t y) {
    uint64_t m = (uint64_t)0 - (uint64_t)(x > y);
    VN_BARRIER(m);
    return m;
}

/* compare-exchange: afterwards *a <= *b */
static inline void vn_cswap(int64_t *a, int64_t *b) {
    uint64_t x = (uint64_t)*a, y = (uint64_t)*b;
    uint64_t d = (x ^ y) & vn_gt_mask(*a, *b);
    *a = (int64_t)(x ^ d);
    *b = (int64_t)(y ^ d);
}

/* 1 when x != 0, else 0, by arithmetic */
static inline int vn_nonzero(uint64_t x) {
    VN_BARRIER(x);
    return (int)((x | ((uint64_t)0 - x)) >> 63);
}

/* sign-bit carry of s = a + b (wrapping): +1 on positive overflow, -1 on
   negative overflow, else 0 */
static inline int64_t vn_wrap(uint64_t a, uint64_t b, uint64_t s) {
    uint64_t pos = (~a & ~b & s) >> 63;
    uint64_t neg = (a & b & ~s) >> 63;
    return (int64_t)pos - (int64_t)neg;
}

/* The comparator network for r inputs: Batcher's odd-even merge sort on the
   next power of two, less the comparators that reach past r (the missing
   inputs are +infinity and never move).  3 and 5 inputs get 3 and 9
   comparators (optimal), 16 get 63.  Public: depends on r only. */
typedef struct {
    uint8_t i, j;
} vn_pair;

static const vn_pair VN_NET5[] = {{0, 1}, {2, 3}, {0, 2}, {1, 3}, {1, 2},
                                  {0, 4}, {2, 4}, {1, 2}, {3, 4}};

static size_t vn_network(size_t r, vn_pair *out) {
    size_t width = 1, k = 0;
    while (width < r) width <<= 1;
    for (size_t p = 1; p < width; p <<= 1) {
        for (size_t step = p; step >= 1; step >>= 1) {
            for (size_t j = step % p; j + step < width; j += 2 * step) {
                for (size_t i = 0; i < step && i + j + step < width; i++) {
                    size_t lo = i + j, hi = i + j + step;
                    if (lo / (2 * p) == hi / (2 * p) && hi < r) {
                        out[k].i = (uint8_t)lo;
                        out[k].j = (uint8_t)hi;
                        k++;
                    }
                }
            }
        }
    }
    return k;
}

#define VN_MAX_PAIRS 64 /* Batcher's network on 16 inputs has 63 */

/* ------------------------------------------------------------ scalar path */

static int ct_equal_scalar(const uint8_t *a, const uint8_t *b, size_t n) {
    uint32_t diff = 0;
    for (size_t i = 0; i < n; i++) diff |= (uint32_t)(a[i] ^ b[i]);
    VN_BARRIER(diff);
    return (int)(1 & ((diff - 1) >> 8));
}

static void ct_select_scalar(uint8_t *out, const uint8_t *a, const uint8_t *b, size_t n,
                             uint32_t choose_a) {
    uint8_t mask = (uint8_t)(0u - (choose_a & 1u));
    VN_BARRIER(mask);
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)((a[i] & mask) | (b[i] & (uint8_t)~mask));
}

/* Agents go through the network VN_BLOCK at a time, so that each comparator
   works on independent agents (the scalar path's instruction-level
   parallelism); the last n % VN_BLOCK agents one at a time. */
#define VN_BLOCK 8

static int sorted_rows_scalar(const int64_t *values, size_t r, size_t n, size_t lo, size_t hi,
                              int64_t *out) {
    vn_pair net[VN_MAX_PAIRS];
    size_t pairs = vn_network(r, net);
    int64_t carry_any = 0;
    for (size_t i = 0; i < n; i += VN_BLOCK) {
        size_t lanes = n - i < VN_BLOCK ? n - i : VN_BLOCK;
        int64_t v[VN_MAX_ROWS][VN_BLOCK];
        for (size_t k = 0; k < r; k++)
            for (size_t b = 0; b < lanes; b++) v[k][b] = values[k * n + i + b];
        for (size_t p = 0; p < pairs; p++) {
            int64_t *x = v[net[p].i], *y = v[net[p].j];
            for (size_t b = 0; b < lanes; b++) vn_cswap(&x[b], &y[b]);
        }
        for (size_t b = 0; b < lanes; b++) {
            uint64_t s = 0;
            int64_t carry = 0;
            for (size_t k = lo; k < hi; k++) {
                uint64_t t = s + (uint64_t)v[k][b];
                carry += vn_wrap(s, (uint64_t)v[k][b], t);
                s = t;
            }
            out[i + b] = (int64_t)s;
            carry_any |= carry;
        }
    }
    return vn_nonzero((uint64_t)carry_any) * VN_SUM_OVERFLOW;
}

static int lower_median_scalar(const int64_t *values, size_t r, size_t n, int64_t *out) {
    size_t mid = (r - 1) / 2;
    return sorted_rows_scalar(values, r, n, mid, mid + 1, out);
}

static int trimmed_sum_scalar(const int64_t *values, size_t m, size_t n, size_t f, int64_t *out) {
    return sorted_rows_scalar(values, m, n, f, m - f, out);
}

static int sprt_classify_scalar(const int64_t *llr, size_t n, int64_t prior, int64_t lower,
                                int64_t upper, int8_t *out) {
    int64_t carry_any = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t s = (uint64_t)prior + (uint64_t)llr[i];
        carry_any |= vn_wrap((uint64_t)prior, (uint64_t)llr[i], s);
        int64_t l = (int64_t)s;
        uint64_t flagged = ~vn_gt_mask(upper, l);  /* l >= upper */
        uint64_t cleared = ~vn_gt_mask(l, lower) & ~flagged; /* l <= lower */
        out[i] = (int8_t)((flagged & 1) - (cleared & 1));
    }
    return vn_nonzero((uint64_t)carry_any) * VN_SUM_OVERFLOW;
}

/* -------------------------------------------------------------- AVX2 path */

#if VN_HAVE_AVX2

VN_AVX2 static int ct_equal_avx2(const uint8_t *a, const uint8_t *b, size_t n) {
    __m256i acc = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i y = _mm256_loadu_si256((const __m256i *)(b + i));
        acc = _mm256_or_si256(acc, _mm256_xor_si256(x, y));
    }
    uint32_t diff = 0;
    for (; i < n; i++) diff |= (uint32_t)(a[i] ^ b[i]);
    /* fold the vector into 32 bits without a test-and-branch */
    __m128i h = _mm_or_si128(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    h = _mm_or_si128(h, _mm_srli_si128(h, 8));
    h = _mm_or_si128(h, _mm_srli_si128(h, 4));
    uint32_t folded = (uint32_t)_mm_cvtsi128_si32(h);
    folded |= folded >> 16;
    folded |= folded >> 8;
    diff |= folded & 0xff;
    VN_BARRIER(diff);
    return (int)(1 & ((diff - 1) >> 8));
}

VN_AVX2 static void ct_select_avx2(uint8_t *out, const uint8_t *a, const uint8_t *b, size_t n,
                                   uint32_t choose_a) {
    uint8_t mask = (uint8_t)(0u - (choose_a & 1u));
    VN_BARRIER(mask);
    __m256i m = _mm256_set1_epi8((char)mask);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i y = _mm256_loadu_si256((const __m256i *)(b + i));
        _mm256_storeu_si256((__m256i *)(out + i), _mm256_blendv_epi8(y, x, m));
    }
    for (; i < n; i++) out[i] = (uint8_t)((a[i] & mask) | (b[i] & (uint8_t)~mask));
}

VN_AVX2 static inline void vn_cswap4(__m256i *a, __m256i *b) {
    __m256i gt = _mm256_cmpgt_epi64(*a, *b);
    __m256i lo = _mm256_blendv_epi8(*a, *b, gt);
    __m256i hi = _mm256_blendv_epi8(*b, *a, gt);
    *a = lo;
    *b = hi;
}

/* signed overflow carry of s = a + b, as -1 / 0 / +1 per lane */
VN_AVX2 static inline __m256i vn_wrap4(__m256i a, __m256i b, __m256i s) {
    __m256i ones = _mm256_set1_epi64x(-1);
    __m256i pos = _mm256_and_si256(_mm256_andnot_si256(a, _mm256_xor_si256(b, ones)), s);
    __m256i neg = _mm256_andnot_si256(s, _mm256_and_si256(a, b));
    return _mm256_sub_epi64(_mm256_srli_epi64(pos, 63), _mm256_srli_epi64(neg, 63));
}

VN_AVX2 static int sorted_rows_avx2(const int64_t *values, size_t r, size_t n, size_t lo,
                                    size_t hi, int64_t *out) {
    vn_pair net[VN_MAX_PAIRS];
    size_t pairs = vn_network(r, net);
    __m256i carry_any = _mm256_setzero_si256();
    size_t i = 0;
    if (r == 3 && lo == 1 && hi == 2) {
        for (; i + 4 <= n; i += 4) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(values + i));
            __m256i b = _mm256_loadu_si256((const __m256i *)(values + n + i));
            __m256i c = _mm256_loadu_si256((const __m256i *)(values + 2 * n + i));
            vn_cswap4(&a, &b);
            vn_cswap4(&b, &c);
            vn_cswap4(&a, &b);
            _mm256_storeu_si256((__m256i *)(out + i), b);
        }
    } else if (r == 5 && lo == 2 && hi == 3) {
        for (; i + 4 <= n; i += 4) {
            __m256i v[5];
            for (size_t k = 0; k < 5; k++)
                v[k] = _mm256_loadu_si256((const __m256i *)(values + k * n + i));
            for (size_t p = 0; p < sizeof VN_NET5 / sizeof VN_NET5[0]; p++)
                vn_cswap4(&v[VN_NET5[p].i], &v[VN_NET5[p].j]);
            _mm256_storeu_si256((__m256i *)(out + i), v[2]);
        }
    } else {
        for (; i + 4 <= n; i += 4) {
            __m256i v[VN_MAX_ROWS];
            for (size_t k = 0; k < r; k++)
                v[k] = _mm256_loadu_si256((const __m256i *)(values + k * n + i));
            for (size_t p = 0; p < pairs; p++) vn_cswap4(&v[net[p].i], &v[net[p].j]);
            __m256i s = _mm256_setzero_si256();
            __m256i carry = _mm256_setzero_si256();
            for (size_t k = lo; k < hi; k++) {
                __m256i t = _mm256_add_epi64(s, v[k]);
                carry = _mm256_add_epi64(carry, vn_wrap4(s, v[k], t));
                s = t;
            }
            carry_any = _mm256_or_si256(carry_any, carry);
            _mm256_storeu_si256((__m256i *)(out + i), s);
        }
    }
    int64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, carry_any);
    int flags = vn_nonzero((uint64_t)(lanes[0] | lanes[1] | lanes[2] | lanes[3])) * VN_SUM_OVERFLOW;
    if (i < n) {
        /* the last n % 4 agents: the scalar code on the tail of each row */
        int64_t tail[VN_MAX_ROWS * 4];
        size_t rest = n - i;
        for (size_t k = 0; k < r; k++)
            for (size_t j = 0; j < rest; j++) tail[k * rest + j] = values[k * n + i + j];
        flags |= sorted_rows_scalar(tail, r, rest, lo, hi, out + i);
    }
    return flags;
}

VN_AVX2 static int lower_median_avx2(const int64_t *values, size_t r, size_t n, int64_t *out) {
    size_t mid = (r - 1) / 2;
    return sorted_rows_avx2(values, r, n, mid, mid + 1, out);
}

VN_AVX2 static int trimmed_sum_avx2(const int64_t *values, size_t m, size_t n, size_t f,
                                    int64_t *out) {
    return sorted_rows_avx2(values, m, n, f, m - f, out);
}

VN_AVX2 static int sprt_classify_avx2(const int64_t *llr, size_t n, int64_t prior, int64_t lower,
                                      int64_t upper, int8_t *out) {
    __m256i p = _mm256_set1_epi64x(prior);
    __m256i lo = _mm256_set1_epi64x(lower);
    __m256i up = _mm256_set1_epi64x(upper);
    __m256i one = _mm256_set1_epi64x(1);
    __m256i carry_any = _mm256_setzero_si256();
    /* gathers byte 0 of each 64-bit lane into the low 4 bytes of each half */
    __m256i pick = _mm256_setr_epi8(0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                    0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(llr + i));
        __m256i l = _mm256_add_epi64(p, x);
        carry_any = _mm256_or_si256(carry_any, vn_wrap4(p, x, l));
        __m256i below_upper = _mm256_cmpgt_epi64(up, l);  /* l < upper */
        __m256i above_lower = _mm256_cmpgt_epi64(l, lo);  /* l > lower */
        /* flagged: +1; cleared (and not flagged): -1; else 0 */
        __m256i flagged = _mm256_andnot_si256(below_upper, one);
        __m256i cleared = _mm256_and_si256(_mm256_andnot_si256(above_lower, below_upper), one);
        __m256i code = _mm256_sub_epi64(flagged, cleared);
        __m256i bytes = _mm256_shuffle_epi8(code, pick);
        uint32_t packed = (uint32_t)(uint16_t)_mm256_extract_epi16(bytes, 0) |
                          ((uint32_t)(uint16_t)_mm256_extract_epi16(bytes, 8) << 16);
        memcpy(out + i, &packed, 4);
    }
    int64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, carry_any);
    int flags = vn_nonzero((uint64_t)(lanes[0] | lanes[1] | lanes[2] | lanes[3])) * VN_SUM_OVERFLOW;
    return flags | sprt_classify_scalar(llr + i, n - i, prior, lower, upper, out + i);
}

#endif

/* ---------------------------------------------------- LLR accumulation */

#ifndef VN_PREFETCH
#define VN_PREFETCH 32 /* points ahead: the best of 8, 16, 32, 64 here */
#endif
#if defined(__GNUC__)
#define VN_PREFETCH_WRITE(p) __builtin_prefetch((p), 1)
#else
#define VN_PREFETCH_WRITE(p) ((void)0)
#endif

/* One path for both: the scatter-add is bound by cache misses, and AVX2 has
   no scatter.  The clamp is mask arithmetic, never a branch. */
static int llr_accumulate_impl(const int64_t *agents, const int32_t *evidence, size_t n,
                               int64_t *acc, size_t n_agents, int32_t lambda_max,
                               int64_t max_count) {
    int32_t hi = lambda_max, lo = -lambda_max;
    uint64_t count_over = 0;
    int64_t carry_any = 0;
    for (size_t i = 0; i < n; i++) {
        size_t a = (size_t)agents[i];
        /* agent indices are public: a bad one stops the kernel (a branch on
           public data); the caller discards the accumulators */
        if (a >= n_agents) return VN_INDEX;
        /* ask now for the line of a later point (its index is public) */
        if (i + VN_PREFETCH < n) {
            size_t later = (size_t)agents[i + VN_PREFETCH];
            VN_PREFETCH_WRITE(&acc[2 * (later < n_agents ? later : 0)]);
        }
        int32_t v = evidence[i];
        uint32_t below = (uint32_t)0 - (uint32_t)(v < lo);
        uint32_t above = (uint32_t)0 - (uint32_t)(v > hi);
        VN_BARRIER(below);
        VN_BARRIER(above);
        v = (int32_t)(((uint32_t)v & ~below & ~above) | ((uint32_t)lo & below) |
                      ((uint32_t)hi & above));
        int64_t c = acc[2 * a];
        count_over |= (uint64_t)((uint64_t)c >= (uint64_t)max_count);
        acc[2 * a] = c + 1;
        uint64_t s = (uint64_t)acc[2 * a + 1];
        uint64_t t = s + (uint64_t)(int64_t)v;
        carry_any |= vn_wrap(s, (uint64_t)(int64_t)v, t);
        acc[2 * a + 1] = (int64_t)t;
    }
    return vn_nonzero(count_over) * VN_COUNT_OVERFLOW |
           vn_nonzero((uint64_t)carry_any) * VN_SUM_OVERFLOW;
}

/* ------------------------------------------------------------- dispatch */

typedef int (*vn_equal_fn)(const uint8_t *, const uint8_t *, size_t);
typedef void (*vn_select_fn)(uint8_t *, const uint8_t *, const uint8_t *, size_t, uint32_t);
typedef int (*vn_median_fn)(const int64_t *, size_t, size_t, int64_t *);
typedef int (*vn_trim_fn)(const int64_t *, size_t, size_t, size_t, int64_t *);
typedef int (*vn_sprt_fn)(const int64_t *, size_t, int64_t, int64_t, int64_t, int8_t *);

static int vn_path = 0;
static vn_equal_fn vn_equal_impl = ct_equal_scalar;
static vn_select_fn vn_select_impl = ct_select_scalar;
static vn_median_fn vn_median_impl = lower_median_scalar;
static vn_trim_fn vn_trim_impl = trimmed_sum_scalar;
static vn_sprt_fn vn_sprt_impl = sprt_classify_scalar;

int vn_cpu_has_avx2(void) {
#if VN_HAVE_AVX2
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

int vn_select(int path) {
    int want = path;
    if (want == 0) want = vn_cpu_has_avx2() ? 2 : 1;
    if (want == 2 && !vn_cpu_has_avx2()) return -1;
    if (want == 1) {
        vn_equal_impl = ct_equal_scalar;
        vn_select_impl = ct_select_scalar;
        vn_median_impl = lower_median_scalar;
        vn_trim_impl = trimmed_sum_scalar;
        vn_sprt_impl = sprt_classify_scalar;
        vn_path = 1;
    }
#if VN_HAVE_AVX2
    else if (want == 2) {
        vn_equal_impl = ct_equal_avx2;
        vn_select_impl = ct_select_avx2;
        vn_median_impl = lower_median_avx2;
        vn_trim_impl = trimmed_sum_avx2;
        vn_sprt_impl = sprt_classify_avx2;
        vn_path = 2;
    }
#endif
    else {
        return -1;
    }
    return vn_path;
}

int vn_active_path(void) {
    if (vn_path == 0) vn_select(0);
    return vn_path;
}

/* ------------------------------------------------------ public entries */

int vn_ct_equal(const uint8_t *a, const uint8_t *b, size_t n) {
    if (vn_path == 0) vn_select(0);
    return vn_equal_impl(a, b, n);
}

void vn_ct_select(uint8_t *out, const uint8_t *a, const uint8_t *b, size_t n, uint32_t choose_a) {
    if (vn_path == 0) vn_select(0);
    vn_select_impl(out, a, b, n, choose_a);
}

int vn_llr_accumulate(const int64_t *agents, const int32_t *evidence, size_t n,
                      int64_t *accumulators, size_t n_agents, int32_t lambda_max,
                      int64_t max_count) {
    if (lambda_max < 0) return VN_BAD_SHAPE;
    return llr_accumulate_impl(agents, evidence, n, accumulators, n_agents, lambda_max,
                               max_count);
}

int vn_lower_median(const int64_t *values, size_t r, size_t n, int64_t *out) {
    if (r < 1 || r > VN_MAX_ROWS) return VN_BAD_SHAPE;
    if (vn_path == 0) vn_select(0);
    return vn_median_impl(values, r, n, out);
}

int vn_trimmed_sum(const int64_t *values, size_t m, size_t n, size_t f, int64_t *out) {
    if (m < 1 || m > VN_MAX_ROWS || 2 * f + 1 > m) return VN_BAD_SHAPE;
    if (vn_path == 0) vn_select(0);
    return vn_trim_impl(values, m, n, f, out);
}

int vn_sprt_classify(const int64_t *llr, size_t n, int64_t prior, int64_t lower, int64_t upper,
                     int8_t *out) {
    if (vn_path == 0) vn_select(0);
    return vn_sprt_impl(llr, n, prior, lower, upper, out);
}
