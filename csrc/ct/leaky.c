/* Deliberately leaky variants, compiled only into the constant-time
   harnesses (never into the extension): the constant-time checks must flag
   them, which shows that they can see a leak at all. */

#include <stddef.h>
#include <stdint.h>

int leaky_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);
int64_t leaky_median3(int64_t a, int64_t b, int64_t c);

/* memcmp-style: returns at the first difference, so its time tells where
   the inputs first differ */
int leaky_ct_equal(const uint8_t *a, const uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) return 0;
    }
    return 1;
}

/* the textbook median of three, one branch per comparison; the barriers
   keep the compiler from rewriting the branches as cmov */
int64_t leaky_median3(int64_t a, int64_t b, int64_t c) {
    volatile int64_t result;
    if (a > b) {
        if (b > c)
            result = b;
        else if (a > c)
            result = c;
        else
            result = a;
    } else {
        if (a > c)
            result = a;
        else if (b > c)
            result = c;
        else
            result = b;
    }
    return result;
}
