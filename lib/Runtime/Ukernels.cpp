//===- Ukernels.cpp - register-tiled f32 matrix-product micro-kernels -----===//
//
// The micro-kernels generated code calls for its matrix products
// (attn-contractions-to-ukernels): C += A · B with the right-hand side packed
// into panels and a register-tiled inner kernel per instruction set, chosen at
// run time (AVX-512, AVX2 + FMA, or portable C).
//
//===----------------------------------------------------------------------===//

#include "attn/Runtime/Ukernels.h"

#include <cpuid.h>
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

namespace {

/// Reduction steps per packed block: a 6-row slice of A (6 KiB) stays in L1
/// while the kernel sweeps the packed B block (at most kKc x kNc floats,
/// 512 KiB) from L2.
constexpr int64_t kKc = 256;
/// Reduction steps per block when B is read in place (nothing to pack into a
/// bounded buffer): every block loads and stores the C tile once more, and a
/// 64-column panel of 1024 steps (256 KiB) still streams from L2. One thread,
/// 197x768 times 48 weight panels: 166 -> 185 GFLOP/s with the prefetch
/// below (256 -> 1024 steps and the prefetch each give about half); 1024 rows:
/// 135 -> 173 GFLOP/s.
constexpr int64_t kKcInPlace = 1024;
/// How many reduction steps ahead the kernels prefetch B's rows: B streams
/// from L2 (a panel is re-read by every 6-row slice of A) and the hardware
/// prefetchers do not follow rows that are a page or more apart.
constexpr int kPrefetchSteps = 8;
/// Columns per packed block.
constexpr int64_t kNc = 512;
/// Rows of A per register tile.
constexpr int kMr = 6;

enum class Isa { Generic, Avx2, Avx512 };

/// The instruction sets this CPU and OS support (the OS must save the
/// registers: XGETBV), detected with CPUID directly so that the library needs
/// nothing from libgcc or compiler-rt.
Isa detectIsa() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
    return Isa::Generic;
  bool osxsave = ecx & bit_OSXSAVE, fma = ecx & bit_FMA, avx = ecx & bit_AVX;
  if (!osxsave || !avx || !fma)
    return Isa::Generic;
  unsigned xcr0Lo, xcr0Hi;
  __asm__("xgetbv" : "=a"(xcr0Lo), "=d"(xcr0Hi) : "c"(0));
  if ((xcr0Lo & 0x6) != 0x6) // XMM and YMM state
    return Isa::Generic;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
    return Isa::Generic;
  bool avx2 = ebx & bit_AVX2, avx512f = ebx & bit_AVX512F;
  if (avx512f && (xcr0Lo & 0xe6) == 0xe6) // + opmask, ZMM_Hi256, Hi16_ZMM
    return Isa::Avx512;
  return avx2 ? Isa::Avx2 : Isa::Generic;
}

/// The implementation in use: detected on first use (ATTN_UKERNEL_ISA may
/// ask for a narrower one), or set by attn_uk_force_isa. A plain atomic, not
/// a function-local static: thread-safe statics would need the C++ runtime.
int currentIsa = -1;

Isa parseIsa(const char *name, Isa best, bool &ok) {
  ok = true;
  if (strcmp(name, "generic") == 0)
    return Isa::Generic;
  if (strcmp(name, "avx2") == 0 && best != Isa::Generic)
    return Isa::Avx2;
  if (strcmp(name, "avx512") == 0 && best == Isa::Avx512)
    return Isa::Avx512;
  ok = false;
  return best;
}

Isa selectedIsa() {
  int isa = __atomic_load_n(&currentIsa, __ATOMIC_RELAXED);
  if (isa >= 0)
    return Isa(isa);
  Isa best = detectIsa();
  bool ok;
  const char *forced = getenv("ATTN_UKERNEL_ISA");
  Isa chosen = forced ? parseIsa(forced, best, ok) : best;
  __atomic_store_n(&currentIsa, int(chosen), __ATOMIC_RELAXED);
  return chosen;
}

/// Per-thread buffer number `Slot` of at least `floats` floats, 64-byte
/// aligned, kept between calls (OpenMP threads live as long as the process);
/// null when it cannot be allocated.
template <int Slot>
float *threadBuffer(int64_t floats) {
  static thread_local float *buffer = nullptr;
  static thread_local int64_t capacity = 0;
  if (floats > capacity) {
    free(buffer);
    int64_t bytes = ((floats * 4 + 63) / 64) * 64;
    buffer = static_cast<float *>(aligned_alloc(64, bytes));
    capacity = buffer ? floats : 0;
  }
  return buffer;
}

/// The buffer for packed panels.
float *packBuffer(int64_t floats) { return threadBuffer<0>(floats); }

/// Copies B[0:kc, 0:n] (strides rs, cs) into panels of Width columns: panel
/// p holds columns [p·Width, (p+1)·Width) as kc rows of Width contiguous
/// floats, the columns past n zero.
template <int Width>
__attribute__((always_inline)) inline void packPanels(int64_t kc, int64_t n,
                                                      const float *b,
                                                      int64_t rs, int64_t cs,
                                                      float *out) {
  // Row by row, so that B is read in the order it is stored (a weight's rows
  // are kilobytes apart: walking down a column touches a new page each step).
  int64_t panels = (n + Width - 1) / Width;
  for (int64_t k = 0; k < kc; ++k) {
    const float *row = b + k * rs;
    for (int64_t p = 0; p < panels; ++p) {
      int64_t j0 = p * Width;
      int64_t cols = n - j0 < Width ? n - j0 : Width;
      float *dst = out + (p * kc + k) * Width;
      if (cs == 1 && cols == Width) {
        for (int j = 0; j < Width; ++j) // a fixed-length copy: vector moves
          dst[j] = row[j0 + j];
        continue;
      }
      for (int64_t j = 0; j < cols; ++j)
        dst[j] = row[(j0 + j) * cs];
      for (int64_t j = cols; j < Width; ++j)
        dst[j] = 0.0f;
    }
  }
}

/// Transposes the 16 x 16 block `r` (row i: 16 floats) in registers, so
/// that r[j] holds what was column j: 32-bit, then 64-bit interleaves, then
/// two rounds of 128-bit lane shuffles.
__attribute__((target("avx512f"), always_inline)) inline void
transpose16(__m512 r[16]) {
  __m512 a[16], c[16];
  for (int i = 0; i < 8; ++i) {
    a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // r[4g + e], lane L: rows 4g..4g+3 at column 4L + e.
  for (int g = 0; g < 4; ++g) {
    __m512d lo = _mm512_castps_pd(a[4 * g]), hi = _mm512_castps_pd(a[4 * g + 1]);
    __m512d lo2 = _mm512_castps_pd(a[4 * g + 2]),
            hi2 = _mm512_castps_pd(a[4 * g + 3]);
    r[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo, lo2));
    r[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo, lo2));
    r[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(hi, hi2));
    r[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(hi, hi2));
  }
  for (int e = 0; e < 4; ++e) {
    c[e] = _mm512_shuffle_f32x4(r[e], r[4 + e], 0x88);
    c[4 + e] = _mm512_shuffle_f32x4(r[e], r[4 + e], 0xdd);
    c[8 + e] = _mm512_shuffle_f32x4(r[8 + e], r[12 + e], 0x88);
    c[12 + e] = _mm512_shuffle_f32x4(r[8 + e], r[12 + e], 0xdd);
  }
  for (int e = 0; e < 4; ++e) {
    r[e] = _mm512_shuffle_f32x4(c[e], c[8 + e], 0x88);
    r[8 + e] = _mm512_shuffle_f32x4(c[e], c[8 + e], 0xdd);
    r[4 + e] = _mm512_shuffle_f32x4(c[4 + e], c[12 + e], 0x88);
    r[12 + e] = _mm512_shuffle_f32x4(c[4 + e], c[12 + e], 0xdd);
  }
}

/// packPanels<64> for a B whose columns are contiguous (unit row stride: an
/// nn.Linear weight [out, in] read as [in, out]): 16 x 16 blocks loaded as
/// 16 columns and transposed in registers, where the generic loop gathered
/// one element per load from 16-64 different cache lines (20% of G1's time
/// through attn-run).
__attribute__((target("avx512f"))) void
packPanelsTransposedAvx512(int64_t kc, int64_t n, const float *b, int64_t cs,
                           float *out) {
  constexpr int64_t width = 64;
  int64_t panels = (n + width - 1) / width;
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t k0 = 0; k0 < kc; k0 += 16) {
      int64_t steps = kc - k0 < 16 ? kc - k0 : 16;
      __mmask16 mask = __mmask16((1u << steps) - 1);
      for (int64_t q = 0; q < width; q += 16) {
        int64_t j0 = p * width + q;
        __m512 r[16];
        for (int64_t jj = 0; jj < 16; ++jj)
          r[jj] = j0 + jj < n
                      ? _mm512_maskz_loadu_ps(mask, b + (j0 + jj) * cs + k0)
                      : _mm512_setzero_ps();
        transpose16(r);
        for (int64_t kk = 0; kk < steps; ++kk)
          _mm512_store_ps(out + (p * kc + k0 + kk) * width + q, r[kk]);
      }
    }
}

/// The packing loop compiled for each vector instruction set, so that its
/// fixed-length row copies become full-width moves.
__attribute__((target("avx512f"))) void
packPanelsAvx512(int64_t kc, int64_t n, const float *b, int64_t rs, int64_t cs,
                 float *out) {
  if (rs == 1 && cs != 1)
    return packPanelsTransposedAvx512(kc, n, b, cs, out);
  packPanels<64>(kc, n, b, rs, cs, out);
}
__attribute__((target("avx2"))) void
packPanelsAvx2(int64_t kc, int64_t n, const float *b, int64_t rs, int64_t cs,
               float *out) {
  packPanels<16>(kc, n, b, rs, cs, out);
}

/// Whether the kernels read B where it is instead of packing it (B's rows
/// must have unit column stride). Packing pays when many 6-row slices of A
/// reuse each panel (a 2048^3 product: 170 against 150 GFLOP/s), not for the
/// at most few hundred rows of a Linear over tokens, where it is a separate
/// pass over a weight that comes from memory (197 x 768 x 3072 in place:
/// 183 against 150-169 GFLOP/s). Small products read B in place unless its
/// rows are a multiple of 4 KiB apart (they would all map to a few L1 sets).
bool readsBInPlace(int64_t m, int64_t n, int64_t k, int64_t brs, int64_t bcs,
                   int64_t blockCols, int64_t blockK) {
  if (bcs != 1)
    return false;
  return m <= 256 || ((brs * 4) % 4096 != 0 && n <= blockCols && k <= blockK);
}

/// The portable path, also for C without unit column stride.
void matmulGeneric(int64_t m, int64_t n, int64_t k, const float *a,
                   int64_t ars, int64_t acs, const float *b, int64_t brs,
                   int64_t bcs, float *c, int64_t crs, int64_t ccs,
                   bool overwrite) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float acc = overwrite ? 0.0f : c[i * crs + j * ccs];
      for (int64_t p = 0; p < k; ++p)
        acc = fmaf(a[i * ars + p * acs], b[p * brs + j * bcs], acc);
      c[i * crs + j * ccs] = acc;
    }
}

//===----------------------------------------------------------------------===//
// AVX-512: 6 x 64 register tiles (24 accumulators, 4 rhs vectors, one
// broadcast: 29 of the 32 zmm registers).
//===----------------------------------------------------------------------===//

constexpr int kAvx512Width = 64;

/// C[0:MR, 0:NV·16] += A[0:MR, 0:kc] · B[0:kc, 0:NV·16], B's rows `ldb`
/// floats apart (a packed panel: aligned and zero-padded; otherwise B in
/// place, its last vector's lanes limited to `mask` like C's). Accumulators
/// start from C (from +0 when `zero`: C is not read) and add over k in order.
template <int MR, int NV, bool Packed>
__attribute__((target("avx512f"))) void
kernelAvx512(int64_t kc, const float *a, int64_t ars, int64_t acs,
             const float *b, int64_t ldb, float *c, int64_t crs,
             __mmask16 mask, bool zero) {
  __m512 acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v)
      acc[i][v] = zero ? _mm512_setzero_ps()
                  : v == NV - 1
                      ? _mm512_maskz_loadu_ps(mask, c + i * crs + v * 16)
                      : _mm512_loadu_ps(c + i * crs + v * 16);
  const float *rows[MR];
  for (int i = 0; i < MR; ++i)
    rows[i] = a + i * ars;
  for (int64_t p = 0; p < kc; ++p) {
    __m512 bv[NV];
    // A prefetch never faults, so the last steps may run past B's end.
    for (int v = 0; v < NV; ++v)
      _mm_prefetch(reinterpret_cast<const char *>(b + (p + kPrefetchSteps) * ldb +
                                                  v * 16),
                   _MM_HINT_T0);
    for (int v = 0; v < NV; ++v) {
      const float *src = b + p * ldb + v * 16;
      if constexpr (Packed)
        bv[v] = _mm512_load_ps(src);
      else
        bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(mask, src)
                            : _mm512_loadu_ps(src);
    }
    for (int i = 0; i < MR; ++i) {
      __m512 ai = _mm512_set1_ps(rows[i][p * acs]);
      for (int v = 0; v < NV; ++v)
        acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) {
      if (v == NV - 1)
        _mm512_mask_storeu_ps(c + i * crs + v * 16, mask, acc[i][v]);
      else
        _mm512_storeu_ps(c + i * crs + v * 16, acc[i][v]);
    }
}

using Avx512Kernel = void (*)(int64_t, const float *, int64_t, int64_t,
                              const float *, int64_t, float *, int64_t,
                              __mmask16, bool);

template <int MR, bool Packed>
constexpr Avx512Kernel avx512Row(int nv) {
  return nv == 1   ? kernelAvx512<MR, 1, Packed>
         : nv == 2 ? kernelAvx512<MR, 2, Packed>
         : nv == 3 ? kernelAvx512<MR, 3, Packed>
                   : kernelAvx512<MR, 4, Packed>;
}

template <bool Packed>
Avx512Kernel avx512Kernel(int mr, int nv) {
  switch (mr) {
  case 1:
    return avx512Row<1, Packed>(nv);
  case 2:
    return avx512Row<2, Packed>(nv);
  case 3:
    return avx512Row<3, Packed>(nv);
  case 4:
    return avx512Row<4, Packed>(nv);
  case 5:
    return avx512Row<5, Packed>(nv);
  default:
    return avx512Row<6, Packed>(nv);
  }
}

//===----------------------------------------------------------------------===//
// AVX2 + FMA: 6 x 16 register tiles (12 accumulators, 2 rhs vectors, one
// broadcast: 15 of the 16 ymm registers).
//===----------------------------------------------------------------------===//

constexpr int kAvx2Width = 16;

template <int MR, int NV, bool Packed>
__attribute__((target("avx2,fma"))) void
kernelAvx2(int64_t kc, const float *a, int64_t ars, int64_t acs,
           const float *b, int64_t ldb, float *c, int64_t crs, int lastLanes,
           bool zero) {
  __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(lastLanes), lanes);
  __m256 acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v)
      acc[i][v] = zero           ? _mm256_setzero_ps()
                  : v == NV - 1 ? _mm256_maskload_ps(c + i * crs + v * 8, mask)
                                : _mm256_loadu_ps(c + i * crs + v * 8);
  const float *rows[MR];
  for (int i = 0; i < MR; ++i)
    rows[i] = a + i * ars;
  for (int64_t p = 0; p < kc; ++p) {
    __m256 bv[NV];
    for (int v = 0; v < NV; v += 2) // 16 floats: one cache line
      _mm_prefetch(reinterpret_cast<const char *>(b + (p + kPrefetchSteps) * ldb +
                                                  v * 8),
                   _MM_HINT_T0);
    for (int v = 0; v < NV; ++v) {
      const float *src = b + p * ldb + v * 8;
      if constexpr (Packed)
        bv[v] = _mm256_load_ps(src);
      else
        bv[v] = v == NV - 1 ? _mm256_maskload_ps(src, mask)
                            : _mm256_loadu_ps(src);
    }
    for (int i = 0; i < MR; ++i) {
      __m256 ai = _mm256_broadcast_ss(rows[i] + p * acs);
      for (int v = 0; v < NV; ++v)
        acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) {
      if (v == NV - 1)
        _mm256_maskstore_ps(c + i * crs + v * 8, mask, acc[i][v]);
      else
        _mm256_storeu_ps(c + i * crs + v * 8, acc[i][v]);
    }
}

using Avx2Kernel = void (*)(int64_t, const float *, int64_t, int64_t,
                            const float *, int64_t, float *, int64_t, int, bool);

template <bool Packed>
Avx2Kernel avx2Kernel(int mr, int nv) {
  static constexpr Avx2Kernel table[kMr][2] = {
      {kernelAvx2<1, 1, Packed>, kernelAvx2<1, 2, Packed>},
      {kernelAvx2<2, 1, Packed>, kernelAvx2<2, 2, Packed>},
      {kernelAvx2<3, 1, Packed>, kernelAvx2<3, 2, Packed>},
      {kernelAvx2<4, 1, Packed>, kernelAvx2<4, 2, Packed>},
      {kernelAvx2<5, 1, Packed>, kernelAvx2<5, 2, Packed>},
      {kernelAvx2<6, 1, Packed>, kernelAvx2<6, 2, Packed>}};
  return table[mr - 1][nv - 1];
}

//===----------------------------------------------------------------------===//
// The blocked loop nest shared by both vector paths.
//===----------------------------------------------------------------------===//

/// C (unit column stride) += A · B (= A · B with `overwrite`), blocked by
/// kNc columns and kKc reduction steps; each block of B packed into
/// Width-column panels (unless readsBInPlace), then every slice of A (at
/// most 6 rows, the slices' heights as equal as possible) times every panel.
template <Isa I>
void matmulBlocked(int64_t m, int64_t n, int64_t k, const float *a,
                   int64_t ars, int64_t acs, const float *b, int64_t brs,
                   int64_t bcs, float *c, int64_t crs, bool overwrite) {
  constexpr int width = I == Isa::Avx512 ? kAvx512Width : kAvx2Width;
  constexpr int lanes = I == Isa::Avx512 ? 16 : 8;
  bool inPlace = readsBInPlace(m, n, k, brs, bcs, kNc, kKcInPlace);
  int64_t nc = n < kNc ? n : kNc;
  float *packed =
      inPlace ? nullptr : packBuffer(kKc * ((nc + width - 1) / width) * width);
  if (!inPlace && !packed)
    return matmulGeneric(m, n, k, a, ars, acs, b, brs, bcs, c, crs, 1,
                         overwrite);
  int64_t kcMax = inPlace ? kKcInPlace : kKc;
  for (int64_t j0 = 0; j0 < n; j0 += kNc) {
    int64_t cols = n - j0 < kNc ? n - j0 : kNc;
    for (int64_t p0 = 0; p0 < k; p0 += kcMax) {
      int64_t kc = k - p0 < kcMax ? k - p0 : kcMax;
      bool zero = overwrite && p0 == 0;
      if (!inPlace)
        (I == Isa::Avx512 ? packPanelsAvx512 : packPanelsAvx2)(
            kc, cols, b + p0 * brs + j0 * bcs, brs, bcs, packed);
      // ceil(m / 6) slices of A, of heights differing by at most one: 49
      // rows (a 7 x 7 window) as 4 x 6 + 5 x 5, not 8 x 6 + 1. A slice of one
      // row has 4 accumulators: at the FMAs' latency of 4 cycles it issues
      // one FMA a cycle, half the rate of the taller ones.
      int64_t slices = (m + kMr - 1) / kMr;
      int64_t i0 = 0;
      for (int64_t s = 0; s < slices; ++s) {
        int mr = int(m / slices + (s < m % slices ? 1 : 0));
        const float *aSlice = a + i0 * ars + p0 * acs;
        for (int64_t jp = 0; jp < cols; jp += width) {
          int64_t rest = cols - jp < width ? cols - jp : width;
          int nv = int((rest + lanes - 1) / lanes);
          int last = int(rest - (nv - 1) * lanes);
          const float *panel =
              inPlace ? b + p0 * brs + j0 + jp : packed + (jp / width) * kc * width;
          int64_t ldb = inPlace ? brs : width;
          float *cTile = c + i0 * crs + j0 + jp;
          if constexpr (I == Isa::Avx512) {
            __mmask16 mask = __mmask16((1u << last) - 1);
            (inPlace ? avx512Kernel<false>(mr, nv) : avx512Kernel<true>(mr, nv))(
                kc, aSlice, ars, acs, panel, ldb, cTile, crs, mask, zero);
          } else {
            (inPlace ? avx2Kernel<false>(mr, nv) : avx2Kernel<true>(mr, nv))(
                kc, aSlice, ars, acs, panel, ldb, cTile, crs, last, zero);
          }
        }
        i0 += mr;
      }
    }
  }
}

/// C += A · B, or C = A · B with `overwrite` (C not read), on any strides.
void matmulF32(int64_t m, int64_t n, int64_t k, const float *a,
               int64_t aRowStride, int64_t aColStride, const float *b,
               int64_t bRowStride, int64_t bColStride, float *c,
               int64_t cRowStride, int64_t cColStride, bool overwrite) {
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0) {
    // An empty sum: C keeps its values, or becomes the sum's 0.
    if (overwrite)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j)
          c[i * cRowStride + j * cColStride] = 0.0f;
    return;
  }
  Isa isa = cColStride == 1 ? selectedIsa() : Isa::Generic;
  switch (isa) {
  case Isa::Avx512:
    return matmulBlocked<Isa::Avx512>(m, n, k, a, aRowStride, aColStride, b,
                                      bRowStride, bColStride, c, cRowStride,
                                      overwrite);
  case Isa::Avx2:
    return matmulBlocked<Isa::Avx2>(m, n, k, a, aRowStride, aColStride, b,
                                   bRowStride, bColStride, c, cRowStride,
                                   overwrite);
  case Isa::Generic:
    return matmulGeneric(m, n, k, a, aRowStride, aColStride, b, bRowStride,
                         bColStride, c, cRowStride, cColStride, overwrite);
  }
}
/// A second per-thread buffer (packBuffer holds B's panels meanwhile): the
/// gathered B and C of a grouped product.
float *groupBuffer(int64_t floats) { return threadBuffer<1>(floats); }

/// C[g] (+)= A · B[g] for each of `groups` groups: with N narrower than a
/// vector, B's groups gathered side by side into one K x G·N matrix (and C's
/// into one M x G·N) so that the kernel's vectors are full, then C scattered
/// back; each element's sum is the one a call per group computes (the same
/// products, in the same k order, from the same start).
void matmulGroupsF32(int64_t groups, int64_t m, int64_t n, int64_t k,
                     const float *a, int64_t ars, int64_t acs, const float *b,
                     int64_t bgs, int64_t brs, int64_t bcs, float *c,
                     int64_t cgs, int64_t crs, int64_t ccs, bool overwrite) {
  if (groups <= 0 || m <= 0 || n <= 0)
    return;
  // Up to one packed block's columns (kNc) of groups at a time: the gathered
  // C stays in L2 while the kernel fills it.
  int64_t chunk = n < 16 && k > 0 ? (kNc / n < groups ? kNc / n : groups) : 1;
  float *buffer = chunk > 1 ? groupBuffer((k + m) * chunk * n) : nullptr;
  if (!buffer) {
    for (int64_t g = 0; g < groups; ++g)
      matmulF32(m, n, k, a, ars, acs, b + g * bgs, brs, bcs, c + g * cgs, crs,
                ccs, overwrite);
    return;
  }
  for (int64_t g0 = 0; g0 < groups; g0 += chunk) {
    int64_t count = groups - g0 < chunk ? groups - g0 : chunk;
    int64_t width = count * n;
    const float *bChunk = b + g0 * bgs;
    float *cChunk = c + g0 * cgs;
    float *bAll = buffer, *cAll = buffer + k * width;
    for (int64_t p = 0; p < k; ++p)
      for (int64_t g = 0; g < count; ++g)
        for (int64_t j = 0; j < n; ++j)
          bAll[p * width + g * n + j] = bChunk[g * bgs + p * brs + j * bcs];
    if (!overwrite)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t g = 0; g < count; ++g)
          for (int64_t j = 0; j < n; ++j)
            cAll[i * width + g * n + j] = cChunk[g * cgs + i * crs + j * ccs];
    matmulF32(m, width, k, a, ars, acs, bAll, width, 1, cAll, width, 1,
              overwrite);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t g = 0; g < count; ++g)
        for (int64_t j = 0; j < n; ++j)
          cChunk[g * cgs + i * crs + j * ccs] = cAll[i * width + g * n + j];
  }
}

} // namespace

extern "C" {

void attn_uk_matmul_f32(int64_t m, int64_t n, int64_t k, const float *a,
                        int64_t aRowStride, int64_t aColStride, const float *b,
                        int64_t bRowStride, int64_t bColStride, float *c,
                        int64_t cRowStride, int64_t cColStride) {
  matmulF32(m, n, k, a, aRowStride, aColStride, b, bRowStride, bColStride, c,
            cRowStride, cColStride, /*overwrite=*/false);
}

void attn_uk_matmul_f32_overwrite(int64_t m, int64_t n, int64_t k,
                                  const float *a, int64_t aRowStride,
                                  int64_t aColStride, const float *b,
                                  int64_t bRowStride, int64_t bColStride,
                                  float *c, int64_t cRowStride,
                                  int64_t cColStride) {
  matmulF32(m, n, k, a, aRowStride, aColStride, b, bRowStride, bColStride, c,
            cRowStride, cColStride, /*overwrite=*/true);
}

void _mlir_ciface_attn_uk_matmul_f32(AttnMemRef2F32 *a, AttnMemRef2F32 *b,
                                     AttnMemRef2F32 *c) {
  attn_uk_matmul_f32(c->sizes[0], c->sizes[1], a->sizes[1],
                     a->aligned + a->offset, a->strides[0], a->strides[1],
                     b->aligned + b->offset, b->strides[0], b->strides[1],
                     c->aligned + c->offset, c->strides[0], c->strides[1]);
}

void _mlir_ciface_attn_uk_matmul_f32_overwrite(AttnMemRef2F32 *a,
                                               AttnMemRef2F32 *b,
                                               AttnMemRef2F32 *c) {
  attn_uk_matmul_f32_overwrite(
      c->sizes[0], c->sizes[1], a->sizes[1], a->aligned + a->offset,
      a->strides[0], a->strides[1], b->aligned + b->offset, b->strides[0],
      b->strides[1], c->aligned + c->offset, c->strides[0], c->strides[1]);
}

void attn_uk_matmul_f32_groups(int64_t g, int64_t m, int64_t n, int64_t k,
                               const float *a, int64_t aRowStride,
                               int64_t aColStride, const float *b,
                               int64_t bGroupStride, int64_t bRowStride,
                               int64_t bColStride, float *c,
                               int64_t cGroupStride, int64_t cRowStride,
                               int64_t cColStride, int overwrite) {
  matmulGroupsF32(g, m, n, k, a, aRowStride, aColStride, b, bGroupStride,
                  bRowStride, bColStride, c, cGroupStride, cRowStride,
                  cColStride, overwrite != 0);
}

static void groupsFromDescriptors(AttnMemRef2F32 *a, AttnMemRef3F32 *b,
                                  AttnMemRef3F32 *c, int overwrite) {
  attn_uk_matmul_f32_groups(
      c->sizes[0], c->sizes[1], c->sizes[2], a->sizes[1],
      a->aligned + a->offset, a->strides[0], a->strides[1],
      b->aligned + b->offset, b->strides[0], b->strides[1], b->strides[2],
      c->aligned + c->offset, c->strides[0], c->strides[1], c->strides[2],
      overwrite);
}

void _mlir_ciface_attn_uk_matmul_f32_groups(AttnMemRef2F32 *a,
                                            AttnMemRef3F32 *b,
                                            AttnMemRef3F32 *c) {
  groupsFromDescriptors(a, b, c, /*overwrite=*/0);
}

void _mlir_ciface_attn_uk_matmul_f32_groups_overwrite(AttnMemRef2F32 *a,
                                                      AttnMemRef3F32 *b,
                                                      AttnMemRef3F32 *c) {
  groupsFromDescriptors(a, b, c, /*overwrite=*/1);
}

int attn_uk_force_isa(const char *name) {
  bool ok;
  Isa isa = parseIsa(name, detectIsa(), ok);
  if (ok)
    __atomic_store_n(&currentIsa, int(isa), __ATOMIC_RELAXED);
  return ok;
}

const char *attn_uk_isa(void) {
  switch (selectedIsa()) {
  case Isa::Avx512:
    return "avx512";
  case Isa::Avx2:
    return "avx2";
  case Isa::Generic:
    return "generic";
  }
  return "generic";
}

} // extern "C"
