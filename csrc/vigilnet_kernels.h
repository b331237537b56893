/* vigilnet C kernels: declarations only (read by cffi's cdef and by the C
   sources and harnesses).  No macros, no includes: the including file
   provides <stddef.h> and <stdint.h>.

   Every kernel is constant time in its secret inputs (the evidence values,
   the replica values, the log-odds, the compared and selected bytes): no
   branch and no memory address depends on them.  Agent indices, lengths and
   the parameters r, m, f, lambda_max and the thresholds are public.

   Status codes (or-ed together, computed without branching on secrets). */

/* dispatch: 0 = auto (AVX2 when the CPU has it), 1 = scalar, 2 = AVX2.
   Returns the path now in use (1 or 2), or -1 if AVX2 was asked for and the
   CPU lacks it (the path is then left unchanged). */
int vn_select(int path);
int vn_active_path(void);
int vn_cpu_has_avx2(void);

/* 1 when the n bytes of a and b are equal, else 0. */
int vn_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);

/* out = choose_a ? a : b (choose_a is 0 or 1), n bytes. */
void vn_ct_select(uint8_t *out, const uint8_t *a, const uint8_t *b, size_t n, uint32_t choose_a);

/* For i < n: v = clamp(evidence[i], -lambda_max, lambda_max) and, with
   a = agents[i], accumulators[2a] += 1 (the count) and accumulators[2a + 1]
   += v (the sum): counts and sums interleaved, so each point touches one
   cache line.  accumulators holds 2 * n_agents values.
   Returns 0, or VN_INDEX (1: some agent index outside 0..n_agents-1; the
   kernel stops there, nothing outside accumulators is written), or the or of VN_COUNT_OVERFLOW (2: a count reached max_count before
   an addition) and VN_SUM_OVERFLOW (4: a partial sum left int64); after an
   overflow the accumulators hold unspecified values. */
int vn_llr_accumulate(const int64_t *agents, const int32_t *evidence, size_t n,
                      int64_t *accumulators, size_t n_agents, int32_t lambda_max,
                      int64_t max_count);

/* values is replica-major, r rows of n: values[k * n + i] is replica k of
   agent i.  out[i] = the lower median (sorted[(r - 1) / 2]) of agent i's r
   values.  1 <= r <= 16.  Returns 0, or 8 (VN_BAD_SHAPE) for an r out of
   range. */
int vn_lower_median(const int64_t *values, size_t r, size_t n, int64_t *out);

/* values is replica-major, m rows of n.  out[i] = the sum of sorted[f ..
   m - f - 1] of agent i's m values (the f-trimmed mean is out[i] / (m - 2f),
   exactly).  1 <= m <= 16, 2f + 1 <= m.  Returns 0, VN_SUM_OVERFLOW (4) when
   some exact sum leaves int64 (out[i] then wraps), or VN_BAD_SHAPE (8). */
int vn_trimmed_sum(const int64_t *values, size_t m, size_t n, size_t f, int64_t *out);

/* out[i] = 1 (flagged) when prior + llr[i] >= upper, else -1 (cleared) when
   prior + llr[i] <= lower, else 0 (undecided).  Returns 0, or
   VN_SUM_OVERFLOW (4) when some prior + llr[i] leaves int64. */
int vn_sprt_classify(const int64_t *llr, size_t n, int64_t prior, int64_t lower, int64_t upper,
                     int8_t *out);
