/* Calls an attention graph compiled ahead of time by attn-run --emit=so
   through its generated header, and checks it against a plain C loop. */

#include "small_attention.h"

#include <math.h>
#include <stdio.h>

enum { B = 2, S = 8, D = 16 };

/* softmax(q k^T * 0.25, causal) v, one batch at a time. */
static void reference(const float *q, const float *k, const float *v,
                      float *out) {
  for (int b = 0; b < B; ++b) {
    for (int i = 0; i < S; ++i) {
      double s[S], m = -INFINITY, sum = 0;
      for (int j = 0; j <= i; ++j) {
        s[j] = 0;
        for (int d = 0; d < D; ++d)
          s[j] += (double)q[(b * S + i) * D + d] * k[(b * S + j) * D + d];
        s[j] *= 0.25;
        if (s[j] > m)
          m = s[j];
      }
      for (int j = 0; j <= i; ++j) {
        s[j] = exp(s[j] - m);
        sum += s[j];
      }
      for (int d = 0; d < D; ++d) {
        double acc = 0;
        for (int j = 0; j <= i; ++j)
          acc += s[j] / sum * v[(b * S + j) * D + d];
        out[(b * S + i) * D + d] = (float)acc;
      }
    }
  }
}

int main(void) {
  static float q[B * S * D], k[B * S * D], v[B * S * D];
  static float got[B * S * D], want[B * S * D];
  unsigned state = 12345;
  for (int i = 0; i < B * S * D; ++i) {
    /* A small LCG: deterministic inputs in [-1, 1). */
    state = state * 1664525u + 1013904223u;
    q[i] = (float)((state >> 8) / 8388608.0 - 1.0);
    state = state * 1664525u + 1013904223u;
    k[i] = (float)((state >> 8) / 8388608.0 - 1.0);
    state = state * 1664525u + 1013904223u;
    v[i] = (float)((state >> 8) / 8388608.0 - 1.0);
  }
  small_attention_run(q, k, v, got);
  reference(q, k, v, want);
  double max_error = 0;
  for (int i = 0; i < B * S * D; ++i) {
    double e = fabs((double)got[i] - want[i]);
    if (!(e <= max_error))
      max_error = isnan(e) ? INFINITY : e;
  }
  printf("max abs error %g\n", max_error);
  if (!(max_error < 1e-5)) {
    printf("FAIL\n");
    return 1;
  }
  printf("OK\n");
  return 0;
}
