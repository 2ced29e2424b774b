// Issue rate of AVX512-BF16's VDPBF16PS against AVX-512 FMA on this core:
// twelve independent accumulator chains of each in a register-only loop
// (no memory traffic), timed in thread CPU time. Decides whether the bf16
// micro-kernel's VDPBF16PS path can beat widening to f32 (it needs more
// than half the FMA's issue rate: each VDPBF16PS does 32 products, an FMA
// 16).
//
//   clang-22 -O2 bench/dot_throughput.c -o /tmp/dot_throughput && /tmp/dot_throughput
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

__attribute__((target("avx512f,avx512bw,avx512bf16"))) static float
dpbf16(long n) {
#define DECL(i) __m512 a##i = _mm512_setzero_ps();
  CHAINS(DECL)
  __m512i x = _mm512_set1_epi32(0x3f803f80), y = _mm512_set1_epi32(0x3f803f81);
  for (long i = 0; i < n; ++i) {
    __asm__ volatile("" : "+v"(x), "+v"(y));
#define DOT(i) a##i = _mm512_dpbf16_ps(a##i, (__m512bh)x, (__m512bh)y);
    CHAINS(DOT)
  }
#define SUM(i) s = _mm512_add_ps(s, a##i);
  __m512 s = _mm512_setzero_ps();
  CHAINS(SUM)
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx512f"))) static float fma32(long n) {
  CHAINS(DECL)
  __m512 x = _mm512_set1_ps(1.0001f), y = _mm512_set1_ps(0.9999f);
  for (long i = 0; i < n; ++i) {
    __asm__ volatile("" : "+v"(x), "+v"(y));
#define FMA(i) a##i = _mm512_fmadd_ps(x, y, a##i);
    CHAINS(FMA)
  }
  __m512 s = _mm512_setzero_ps();
  CHAINS(SUM)
  return _mm512_reduce_add_ps(s);
}

int main(void) {
  if (!__builtin_cpu_supports("avx512bf16")) {
    printf("this CPU has no AVX512-BF16\n");
    return 1;
  }
  long n = 100000000;
  double t = now();
  float r1 = dpbf16(n);
  double tb = now() - t;
  t = now();
  float r2 = fma32(n);
  double tf = now() - t;
  printf("VDPBF16PS zmm: %.2f G/s (%.1f GFLOP/s)\n", 12 * n / tb / 1e9,
         12 * n * 64 / tb / 1e9);
  printf("VFMADD231PS zmm: %.2f G/s (%.1f GFLOP/s)\n", 12 * n / tf / 1e9,
         12 * n * 32 / tf / 1e9);
  return r1 + r2 == 0.0f; // keep the sums live
}
