//===- UkernelsBf16.cpp - bf16 matrix products on AMX ---------------------===//
//
// The bf16 micro-kernel generated code calls for contractions of bf16
// operands into an f32 accumulator (attn-contractions-to-ukernels): C += A · B
// on Intel AMX tiles (TDPBF16PS) where the CPU has AMX-BF16 and the OS grants
// the tile state, else with AVX512-BF16's VDPBF16PS (a pair of bf16 products
// per f32 lane: twice the f32 FMA's products per instruction), otherwise both
// inputs widened to f32 (exactly) and the f32 micro-kernel. Products of bf16
// values are exact in f32 on every path; AMX sums each 32-step block of k in
// its own order and VDPBF16PS each pair, within bf16 tolerance.
//
//===----------------------------------------------------------------------===//

#include "attn/Runtime/Ukernels.h"

#include <cpuid.h>
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

/// Rows and columns of one C block: 2 x 2 AMX tiles of 16 x 16 f32.
constexpr int64_t kBlock = 32;
/// k steps per TDPBF16PS: a tile row holds 64 bytes = 32 bf16.
constexpr int64_t kStep = 32;

enum class Bf16Path { Unknown = -1, Widen = 0, Amx = 1, Avx512Bf16 = 2 };

/// Whether this CPU has AMX-TILE and AMX-BF16, the OS saves the tile state
/// (XCR0 bits 17 and 18) and lets this process use it (Linux asks each
/// process to request the tile data state with arch_prctl first).
bool amxUsable() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
    return false;
  bool amxBf16 = edx & (1u << 22), amxTile = edx & (1u << 24);
  if (!amxBf16 || !amxTile)
    return false;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE))
    return false;
  unsigned xcr0Lo, xcr0Hi;
  __asm__("xgetbv" : "=a"(xcr0Lo), "=d"(xcr0Hi) : "c"(0));
  if ((xcr0Lo & (3u << 17)) != (3u << 17))
    return false;
#ifdef SYS_arch_prctl
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

/// Whether this CPU has AVX512-BF16 with AVX512-F/BW (CPUID leaf 7) and the
/// OS saves the zmm state (XCR0 bits 1, 2 and 5-7). Virtual machines often
/// hide AMX from the guest but pass AVX512-BF16 through. CPUID directly, not
/// __builtin_cpu_supports: that needs compiler-rt's __cpu_model, which the
/// shared libraries attn-run links from this archive do not get.
bool avx512Bf16Usable() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
    return false;
  bool avx512f = ebx & (1u << 16), avx512bw = ebx & (1u << 30);
  if (!avx512f || !avx512bw || eax < 1)
    return false;
  if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) || !(eax & (1u << 5)))
    return false;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE))
    return false;
  unsigned xcr0Lo, xcr0Hi;
  __asm__("xgetbv" : "=a"(xcr0Lo), "=d"(xcr0Hi) : "c"(0));
  return (xcr0Lo & 0xe6u) == 0xe6u;
}

/// Whether VDPBF16PS issues at least at the f32 FMA's rate, so that its 32
/// products an instruction beat widening to f32 (16 an FMA): AMD's Zen 4 and
/// later (CPUID vendor AuthenticAMD, family 0x19 and up). bench/dot_throughput.c
/// on a Zen 4 guest: 3.60 G VDPBF16PS zmm/s against 3.63 G FMAs; on the Intel
/// CPUs measured without AMX (an Emerald Rapids guest whose hypervisor hides
/// it) one every two cycles against two FMAs a cycle, so widening wins there.
bool avx512Bf16FullRate() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx))
    return false;
  // "AuthenticAMD" in EBX, EDX, ECX.
  if (ebx != 0x68747541u || edx != 0x69746e65u || ecx != 0x444d4163u)
    return false;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
    return false;
  unsigned family = (eax >> 8) & 0xfu;
  if (family == 0xfu)
    family += (eax >> 20) & 0xffu;
  return family >= 0x19u && avx512Bf16Usable();
}

int currentPath = int(Bf16Path::Unknown);

Bf16Path selectedPath() {
  int path = __atomic_load_n(&currentPath, __ATOMIC_RELAXED);
  if (path >= 0)
    return Bf16Path(path);
  // AMX where it is; else AVX512-BF16 where VDPBF16PS runs at the FMA's
  // rate (2.2x the widened kernel on a Zen 4 guest, one thread, 1024^3);
  // else widened: on the Emerald Rapids guest the AVX512-BF16 path was
  // written on (AMX hidden by the hypervisor), VDPBF16PS issues once every
  // two cycles against two FMAs a cycle, so the widened f32 products are
  // ~1.6x faster (bench/ukernel_one_thread.py; see the README).
  Bf16Path chosen = amxUsable()            ? Bf16Path::Amx
                    : avx512Bf16FullRate() ? Bf16Path::Avx512Bf16
                                           : Bf16Path::Widen;
  // The environment may ask for another path the machine has.
  const char *forced = getenv("ATTN_UKERNEL_BF16");
  if (forced && strcmp(forced, "widen") == 0)
    chosen = Bf16Path::Widen;
  if (forced && strcmp(forced, "avx512bf16") == 0 && avx512Bf16Usable())
    chosen = Bf16Path::Avx512Bf16;
  __atomic_store_n(&currentPath, int(chosen), __ATOMIC_RELAXED);
  return chosen;
}

/// A per-thread, 64-byte aligned scratch buffer of at least `bytes`, one per
/// `slot`, kept between calls (OpenMP threads live as long as the process).
void *scratch(int slot, int64_t bytes) {
  static thread_local void *buffers[5] = {};
  static thread_local int64_t capacity[5] = {};
  if (bytes > capacity[slot]) {
    free(buffers[slot]);
    int64_t rounded = ((bytes + 63) / 64) * 64;
    buffers[slot] = aligned_alloc(64, rounded);
    capacity[slot] = buffers[slot] ? rounded : 0;
  }
  return buffers[slot];
}

inline float widen(uint16_t x) {
  uint32_t bits = uint32_t(x) << 16;
  float f;
  memcpy(&f, &bits, sizeof(f));
  return f;
}

/// Both inputs widened into f32 buffers, then the f32 micro-kernel: what the
/// generated code did before this entry existed (bit for bit). B's element
/// (p, j) is `bAt(p, j)`, so B may be stored plainly or as pairs of rows.
/// With `overwrite`, C = A · B: the sums start from +0 and C is not read.
template <typename BAt>
void matmulWidenedAt(int64_t m, int64_t n, int64_t k, const uint16_t *a,
                     int64_t ars, int64_t acs, BAt bAt, float *c, int64_t crs,
                     int64_t ccs, bool overwrite) {
  auto *wa = static_cast<float *>(scratch(0, m * k * 4));
  auto *wb = static_cast<float *>(scratch(1, k * n * 4));
  if (!wa || !wb) {
    // No memory for the copies: plain loops, same order as linalg.matmul.
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        float acc = overwrite ? 0.0f : c[i * crs + j * ccs];
        for (int64_t p = 0; p < k; ++p)
          acc = fmaf(widen(a[i * ars + p * acs]), widen(bAt(p, j)), acc);
        c[i * crs + j * ccs] = acc;
      }
    return;
  }
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p)
      wa[i * k + p] = widen(a[i * ars + p * acs]);
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < n; ++j)
      wb[p * n + j] = widen(bAt(p, j));
  (overwrite ? attn_uk_matmul_f32_overwrite : attn_uk_matmul_f32)(
      m, n, k, wa, k, 1, wb, n, 1, c, crs, ccs);
}

void matmulWidened(int64_t m, int64_t n, int64_t k, const uint16_t *a,
                   int64_t ars, int64_t acs, const uint16_t *b, int64_t brs,
                   int64_t bcs, float *c, int64_t crs, int64_t ccs,
                   bool overwrite) {
  matmulWidenedAt(
      m, n, k, a, ars, acs,
      [&](int64_t p, int64_t j) { return b[p * brs + j * bcs]; }, c, crs, ccs,
      overwrite);
}

/// The rows of the two 16-row halves of a C block (the bottom one 0 when
/// the block has 16 rows or fewer) and the columns of its two 16-column
/// halves: the last block of a call may be partial either way.
struct BlockShape {
  int64_t top, bottom, left, right;
  bool operator!=(const BlockShape &o) const {
    return top != o.top || bottom != o.bottom || left != o.left ||
           right != o.right;
  }
};

/// The shape of the C block of `rows` x `cols` (each at most 32).
BlockShape blockShape(int64_t rows, int64_t cols) {
  return {rows < 16 ? rows : 16, rows > 16 ? rows - 16 : 0,
          cols < 16 ? cols : 16, cols > 16 ? cols - 16 : 0};
}

/// The tile configuration (palette 1) for a C block of `shape`: tiles 0-3
/// its 2 x 2 C tiles (f32; top left, top right, bottom left, bottom right),
/// 4-5 the 16-row halves of A (32 bf16 of k each), 6-7 the 16-column halves
/// of B (16 pairs of k rows, one 32-bit pair per column). A partial block
/// gets tiles of fewer rows and columns, loaded from and stored to C and A
/// in place (no zero-padded copies); tiles of a missing half stay
/// unconfigured (0 rows), and the loop never touches them.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t startRow = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

#define ATTN_AMX_TARGET                                                        \
  __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw")))

/// Loads the configuration for `shape` (which also zeroes every tile).
ATTN_AMX_TARGET void configureTiles(const BlockShape &shape) {
  TileConfig config;
  int64_t rows[2] = {shape.top, shape.bottom};
  int64_t cols[2] = {shape.left, shape.right};
  for (int r = 0; r < 2; ++r)
    for (int h = 0; h < 2; ++h)
      if (rows[r] && cols[h]) {
        config.rows[2 * r + h] = uint8_t(rows[r]);
        config.colsb[2 * r + h] = uint16_t(cols[h] * 4);
      }
  for (int r = 0; r < 2; ++r)
    if (rows[r]) {
      config.rows[4 + r] = uint8_t(rows[r]);
      config.colsb[4 + r] = 64;
    }
  for (int h = 0; h < 2; ++h)
    if (cols[h]) {
      config.rows[6 + h] = 16;
      config.colsb[6 + h] = uint16_t(cols[h] * 4);
    }
  _tile_loadconfig(&config);
}

/// Packs B[0:k, 0:n] into the VNNI form of AMX tiles: 32-column blocks jb,
/// each with two 16-column tiles t per 32-step block s of k; row pr of tile
/// (jb, s, t) holds, for its 16 columns j, the pair (B[2p][j], B[2p+1][j])
/// with p = 16 s + pr as one 32-bit word; zero beyond k and n. The loops run
/// along B's rows (all columns of rows 2p and 2p+1, then the next pair), so
/// a row-major weight is read as one stream: walking each 32-column block
/// down its rows, N elements apart, defeated the hardware prefetchers (the
/// packing loads ran at 2 GB/s). Whole 16-column pieces take vector paths:
/// rows with unit column stride widen two 16-element rows into words;
/// columns with unit row stride (an nn.Linear weight read transposed) hold
/// each pair as one word already.
ATTN_AMX_TARGET void packB(int64_t k, int64_t kp, int64_t n,
                           const uint16_t *b, int64_t brs, int64_t bcs,
                           uint16_t *pb) {
  int64_t steps = kp / kStep, halves = (n + kBlock - 1) / kBlock * 2;
  for (int64_t s = 0; s < steps; ++s)
    for (int64_t pr = 0; pr < 16; ++pr) {
      int64_t p = s * kStep + 2 * pr;
      for (int64_t h = 0; h < halves; ++h) {
        int64_t jb = h / 2, t = h % 2, col0 = h * 16;
        uint16_t *out = pb + (((jb * steps + s) * 2 + t) * 16 + pr) * 32;
        bool full = p + 1 < k && col0 + 16 <= n;
        if (full && bcs == 1) {
          const uint16_t *r0 = b + p * brs + col0;
          __m512i lo = _mm512_cvtepu16_epi32(
              _mm256_loadu_si256(reinterpret_cast<const __m256i *>(r0)));
          __m512i hi = _mm512_cvtepu16_epi32(
              _mm256_loadu_si256(reinterpret_cast<const __m256i *>(r0 + brs)));
          _mm512_storeu_si512(out,
                              _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
          continue;
        }
        if (full && brs == 1) {
          for (int64_t j = 0; j < 16; ++j)
            memcpy(out + 2 * j, b + p + (col0 + j) * bcs, 4);
          continue;
        }
        for (int64_t e = 0; e < 2; ++e)
          for (int64_t j = 0; j < 16; ++j) {
            int64_t col = col0 + j;
            out[j * 2 + e] = p + e < k && col < n
                                 ? b[(p + e) * brs + col * bcs]
                                 : uint16_t(0);
          }
      }
    }
}

/// Copies A into rows of kp elements, zero beyond k: for A with a non-unit
/// column stride, or a k that is no multiple of 32 (the last k step's tile
/// would read past the row; the zeros meet B's zero padding).
ATTN_AMX_TARGET void packA(int64_t m, int64_t k, int64_t kp, const uint16_t *a,
                           int64_t ars, int64_t acs, uint16_t *pa) {
  for (int64_t i = 0; i < m; ++i) {
    uint16_t *row = pa + i * kp;
    const uint16_t *src = a + i * ars;
    if (acs == 1) {
      memcpy(row, src, k * 2);
    } else {
      for (int64_t p = 0; p < k; ++p)
        row[p] = src[p * acs];
    }
    memset(row + k, 0, (kp - k) * 2);
  }
}

/// The tile loop shared by both B layouts: C[m x n] (unit column stride,
/// rows ldc apart) += A[m x kp] (unit column stride, rows lda apart; kp a
/// multiple of 32) · B, every 32 x 32 block of C as 2 x 2 tiles over kp / 32
/// steps of TDPBF16PS, read and written in place; blocks at the bottom and
/// right edges get smaller tiles (configureTiles). `bTile(j0, s, t, bytes)`
/// gives the VNNI tile of B for columns j0 + 16 t and step s (and its row
/// stride in bytes). Row blocks outside, column blocks inside: one block of
/// A serves both halves of a 64-column panel while it is still in L1.
/// `aheadBytes` bytes from address `ahead` are prefetched into L2 along the
/// way, a few lines per k step of the full blocks: the memory the caller's
/// next call will read (prefetches never fault, so a guess past the end of
/// a buffer costs bandwidth only; an integer address, as it may lie outside
/// every object). With `overwrite`, C = A · B: the C tiles
/// start from zero instead of C's values, which are never read.
template <typename BTile>
ATTN_AMX_TARGET void amxLoop(int64_t m, int64_t n, int64_t kp,
                             const uint16_t *a, int64_t lda, float *c,
                             int64_t ldc, bool overwrite, BTile bTile,
                             uintptr_t ahead = 0, int64_t aheadBytes = 0) {
  BlockShape current = blockShape(kBlock, kBlock);
  configureTiles(current);
  int64_t steps = kp / kStep, cStride = ldc * 4, aStride = lda * 2;
  int64_t totalSteps =
      (m + kBlock - 1) / kBlock * ((n + kBlock - 1) / kBlock) * steps;
  int64_t perStep = (aheadBytes / 64 + totalSteps - 1) / totalSteps;
  int64_t cursor = 0;
  for (int64_t i0 = 0; i0 < m; i0 += kBlock) {
    int64_t rows = m - i0 < kBlock ? m - i0 : kBlock;
    const uint16_t *a0 = a + i0 * lda, *a1 = a0 + 16 * lda;
    for (int64_t j0 = 0; j0 < n; j0 += kBlock) {
      BlockShape shape = blockShape(rows, n - j0 < kBlock ? n - j0 : kBlock);
      if (shape != current) {
        current = shape;
        configureTiles(current);
      }
      float *c0 = c + i0 * ldc + j0, *c1 = c0 + 16 * ldc;
      bool bottom = shape.bottom > 0, right = shape.right > 0;
      int64_t bytes;
      if (bottom && right) {
        // The whole block: the loop every full block runs.
        if (overwrite) {
          _tile_zero(0);
          _tile_zero(1);
          _tile_zero(2);
          _tile_zero(3);
        } else {
          _tile_loadd(0, c0, cStride);
          _tile_loadd(1, c0 + 16, cStride);
          _tile_loadd(2, c1, cStride);
          _tile_loadd(3, c1 + 16, cStride);
        }
        for (int64_t s = 0; s < steps; ++s) {
          for (int64_t l = 0; l < perStep && cursor < aheadBytes;
               ++l, cursor += 64)
            _mm_prefetch(reinterpret_cast<const char *>(ahead + cursor),
                         _MM_HINT_T1);
          _tile_loadd(4, a0 + s * kStep, aStride);
          _tile_loadd(5, a1 + s * kStep, aStride);
          const uint16_t *b0 = bTile(j0, s, 0, bytes);
          _tile_loadd(6, b0, bytes);
          const uint16_t *b1 = bTile(j0, s, 1, bytes);
          _tile_loadd(7, b1, bytes);
          _tile_dpbf16ps(0, 4, 6);
          _tile_dpbf16ps(1, 4, 7);
          _tile_dpbf16ps(2, 5, 6);
          _tile_dpbf16ps(3, 5, 7);
        }
        _tile_stored(0, c0, cStride);
        _tile_stored(1, c0 + 16, cStride);
        _tile_stored(2, c1, cStride);
        _tile_stored(3, c1 + 16, cStride);
        continue;
      }
      // An edge block: only the tiles its rows and columns reach.
      if (overwrite) {
        _tile_zero(0);
        if (right)
          _tile_zero(1);
        if (bottom)
          _tile_zero(2);
      } else {
        _tile_loadd(0, c0, cStride);
        if (right)
          _tile_loadd(1, c0 + 16, cStride);
        if (bottom)
          _tile_loadd(2, c1, cStride);
      }
      for (int64_t s = 0; s < steps; ++s) {
        _tile_loadd(4, a0 + s * kStep, aStride);
        if (bottom)
          _tile_loadd(5, a1 + s * kStep, aStride);
        const uint16_t *b0 = bTile(j0, s, 0, bytes);
        _tile_loadd(6, b0, bytes);
        _tile_dpbf16ps(0, 4, 6);
        if (bottom)
          _tile_dpbf16ps(2, 5, 6);
        if (right) {
          const uint16_t *b1 = bTile(j0, s, 1, bytes);
          _tile_loadd(7, b1, bytes);
          _tile_dpbf16ps(1, 4, 7);
        }
      }
      _tile_stored(0, c0, cStride);
      if (right)
        _tile_stored(1, c0 + 16, cStride);
      if (bottom)
        _tile_stored(2, c1, cStride);
    }
  }
  _tile_release();
}

/// Runs `loop(c, ldc)` on C in place when its columns are contiguous, else
/// on a contiguous copy (copied back afterwards; not filled from C with
/// `overwrite`). False when the copy cannot be allocated.
template <typename Loop>
bool onContiguousC(int64_t m, int64_t n, float *c, int64_t crs, int64_t ccs,
                   bool overwrite, Loop loop) {
  if (ccs == 1) {
    loop(c, crs);
    return true;
  }
  auto *copy = static_cast<float *>(scratch(2, m * n * 4));
  if (!copy)
    return false;
  for (int64_t i = 0; overwrite ? false : i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      copy[i * n + j] = c[i * crs + j * ccs];
  loop(copy, n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      c[i * crs + j * ccs] = copy[i * n + j];
  return true;
}

/// A as the AMX loop reads it: in place when its rows are contiguous and k
/// needs no padding, otherwise packed into rows of kp (packA). Null when
/// the copy cannot be allocated.
const uint16_t *amxA(int64_t m, int64_t k, int64_t kp, const uint16_t *a,
                     int64_t ars, int64_t acs, int64_t &lda) {
  if (acs == 1 && k == kp) {
    lda = ars;
    return a;
  }
  auto *pa = static_cast<uint16_t *>(scratch(0, m * kp * 2));
  if (!pa)
    return nullptr;
  packA(m, k, kp, a, ars, acs, pa);
  lda = kp;
  return pa;
}

/// C += A · B (C = A · B with `overwrite`) on AMX. A is read in place or
/// packed (amxA); B is packed once per call (packB).
ATTN_AMX_TARGET void matmulAmx(int64_t m, int64_t n, int64_t k,
                               const uint16_t *a, int64_t ars, int64_t acs,
                               const uint16_t *b, int64_t brs, int64_t bcs,
                               float *c, int64_t crs, int64_t ccs,
                               bool overwrite) {
  int64_t kp = (k + kStep - 1) / kStep * kStep;
  int64_t np = (n + kBlock - 1) / kBlock * kBlock;
  int64_t lda;
  const uint16_t *ta = amxA(m, k, kp, a, ars, acs, lda);
  auto *pb = static_cast<uint16_t *>(scratch(1, kp * np * 2));
  if (!ta || !pb)
    return matmulWidened(m, n, k, a, ars, acs, b, brs, bcs, c, crs, ccs,
                         overwrite);
  packB(k, kp, n, b, brs, bcs, pb);
  int64_t steps = kp / kStep;
  bool done = onContiguousC(m, n, c, crs, ccs, overwrite,
                            [&](float *tc, int64_t ldc) {
    amxLoop(m, n, kp, ta, lda, tc, ldc, overwrite,
            [&](int64_t j0, int64_t s, int t, int64_t &bytes) {
              bytes = 64;
              return pb + ((((j0 / kBlock) * steps + s) * 2 + t) * 16) * 32;
            });
  });
  if (!done)
    matmulWidened(m, n, k, a, ars, acs, b, brs, bcs, c, crs, ccs, overwrite);
}

/// B given in VNNI form, as the AMX tiles read it: `pairs` row r holds, for
/// each column j, B[2r][j] and B[2r + 1][j] as consecutive elements
/// (pairs[r * prs + 2 j + e] = B[2r + e][j]); k = 2 * rows is even.
/// Unpacked into a plain k x n bf16 buffer for matmulAmx, which packs B
/// from how it is stored.
void unpackPairs(int64_t k, int64_t n, const uint16_t *pairs, int64_t prs,
                 int64_t pcs, uint16_t *out) {
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < n; ++j)
      out[p * n + j] = pairs[(p / 2) * prs + (2 * j + p % 2) * pcs];
}

/// C += A · B with B in VNNI form (unpackPairs), on AMX: B's tiles are
/// loaded where they are, so no call packs it (a weight prepared in this
/// form at load time: packing it on every call took half of the bf16
/// products' time), a last partial block of columns included (its tiles are
/// narrower); k must be a multiple of 32 (otherwise, or with non-unit
/// element stride, B is unpacked and packed as in matmulAmx). The loop
/// prefetches as many bytes as B spans from where B ends: generated code
/// calls this once per 64-column panel of a weight prepared as [out / 64,
/// in / 2, 64, 2], and the next call's panel follows this one in memory; a
/// model's weights come from DRAM, and without it each call's first row
/// block waited on them (one thread, weights cycling through 48 copies:
/// 197x768x2304 738 -> 865 GFLOP/s). Returns false, having done nothing,
/// when a buffer cannot be allocated.
ATTN_AMX_TARGET bool matmulAmxPairs(int64_t m, int64_t n, int64_t k,
                                    const uint16_t *a, int64_t ars,
                                    int64_t acs, const uint16_t *pairs,
                                    int64_t prs, int64_t pcs, float *c,
                                    int64_t crs, int64_t ccs, bool overwrite) {
  if (k % kStep != 0 || pcs != 1) {
    auto *plain = static_cast<uint16_t *>(scratch(3, k * n * 2));
    if (!plain)
      return false;
    unpackPairs(k, n, pairs, prs, pcs, plain);
    matmulAmx(m, n, k, a, ars, acs, plain, n, 1, c, crs, ccs, overwrite);
    return true;
  }
  int64_t lda;
  const uint16_t *ta = amxA(m, k, k, a, ars, acs, lda);
  if (!ta)
    return false;
  return onContiguousC(m, n, c, crs, ccs, overwrite,
                       [&](float *tc, int64_t ldc) {
    amxLoop(m, n, k, ta, lda, tc, ldc, overwrite,
            [&](int64_t j0, int64_t s, int t, int64_t &bytes) {
              bytes = prs * 2;
              return pairs + s * (kStep / 2) * prs + 2 * (j0 + 16 * t);
            },
            reinterpret_cast<uintptr_t>(pairs) + uintptr_t((k / 2) * prs * 2),
            (k / 2) * prs * 2);
  });
}

//===----------------------------------------------------------------------===//
// AVX512-BF16: 6 x 64 register tiles of VDPBF16PS over pairs of k
//===----------------------------------------------------------------------===//

#define ATTN_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

/// Columns per panel: four 16-lane accumulators per row.
constexpr int64_t kPanel = 64;
/// Pairs of k per block: a 64-column panel block of B is 32 KiB (L1), the
/// six rows of A 3 KiB.
constexpr int64_t kPairsPerBlock = 128;

/// C[0:MR, 0:NV·16] (+)= A · B over `pairs` pairs of k: A's rows `lda`
/// 32-bit words apart, each word a pair (A[i][2p], A[i][2p+1]); B's pair
/// rows `ldb` words apart, word j the pair (B[2p][j], B[2p+1][j]), its last
/// vector's lanes limited to `mask` like C's (a packed panel is zero-padded,
/// so any mask is safe there). Accumulators start from C, or from +0 when
/// `zero` (C not read).
template <int MR, int NV>
ATTN_BF16_TARGET void kernelBf16(int64_t pairs, const uint32_t *a, int64_t lda,
                                 const uint32_t *b, int64_t ldb, float *c,
                                 int64_t crs, __mmask16 mask, bool zero) {
  __m512 acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v)
      acc[i][v] = zero ? _mm512_setzero_ps()
                  : v == NV - 1
                      ? _mm512_maskz_loadu_ps(mask, c + i * crs + v * 16)
                      : _mm512_loadu_ps(c + i * crs + v * 16);
  for (int64_t p = 0; p < pairs; ++p) {
    __m512i bv[NV];
    for (int v = 0; v < NV; ++v) {
      const uint32_t *src = b + p * ldb + v * 16;
      bv[v] = v == NV - 1 ? _mm512_maskz_loadu_epi32(mask, src)
                          : _mm512_loadu_si512(src);
    }
    for (int i = 0; i < MR; ++i) {
      __m512i ai = _mm512_set1_epi32(int(a[i * lda + p]));
      for (int v = 0; v < NV; ++v)
        acc[i][v] = _mm512_dpbf16_ps(acc[i][v], __m512bh(ai), __m512bh(bv[v]));
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

using Bf16Kernel = void (*)(int64_t, const uint32_t *, int64_t,
                            const uint32_t *, int64_t, float *, int64_t,
                            __mmask16, bool);

template <int MR> constexpr Bf16Kernel bf16Row(int nv) {
  return nv == 1   ? kernelBf16<MR, 1>
         : nv == 2 ? kernelBf16<MR, 2>
         : nv == 3 ? kernelBf16<MR, 3>
                   : kernelBf16<MR, 4>;
}

Bf16Kernel bf16Kernel(int mr, int nv) {
  switch (mr) {
  case 1:
    return bf16Row<1>(nv);
  case 2:
    return bf16Row<2>(nv);
  case 3:
    return bf16Row<3>(nv);
  case 4:
    return bf16Row<4>(nv);
  case 5:
    return bf16Row<5>(nv);
  default:
    return bf16Row<6>(nv);
  }
}

/// Packs B[2 p0 : 2 p0 + 2 pairs, j0 : j0 + cols] (k rows in all, zero past
/// them and past `cols`) into a panel of `pairs` rows of kPanel words, word
/// j of row p the pair (B[2p][j], B[2p+1][j]). Rows with unit column stride
/// interleave 16 columns of two rows at a time; B stored transposed (unit
/// row stride, an nn.Linear weight) holds each pair as one word already.
ATTN_BF16_TARGET void packPanelBf16(int64_t k, int64_t p0, int64_t pairs,
                                    int64_t j0, int64_t cols, const uint16_t *b,
                                    int64_t brs, int64_t bcs, uint32_t *out) {
  for (int64_t p = 0; p < pairs; ++p) {
    int64_t r = 2 * (p0 + p);
    uint32_t *row = out + p * kPanel;
    bool both = r + 1 < k;
    int64_t j = 0;
    if (bcs == 1 && both) {
      const uint16_t *r0 = b + r * brs + j0, *r1 = r0 + brs;
      for (; j + 16 <= cols; j += 16) {
        __m512i lo = _mm512_cvtepu16_epi32(
            _mm256_loadu_si256(reinterpret_cast<const __m256i *>(r0 + j)));
        __m512i hi = _mm512_cvtepu16_epi32(
            _mm256_loadu_si256(reinterpret_cast<const __m256i *>(r1 + j)));
        _mm512_storeu_si512(row + j,
                            _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
      }
    } else if (brs == 1 && both) {
      for (; j < cols; ++j)
        memcpy(row + j, b + r + (j0 + j) * bcs, 4);
    }
    for (; j < cols; ++j) {
      uint32_t lo = r < k ? b[r * brs + (j0 + j) * bcs] : 0;
      uint32_t hi = both ? b[(r + 1) * brs + (j0 + j) * bcs] : 0;
      row[j] = lo | (hi << 16);
    }
    for (; j < kPanel; ++j)
      row[j] = 0;
  }
}

/// C (+)= A · B on VDPBF16PS. B is either plain (`pairsB` null: b, brs, bcs)
/// and packed one 64-column panel block at a time, or given as pairs of rows
/// with unit column stride (`pairsB`, its pair rows `prs` elements apart,
/// prs even) and read in place. A is read in place when its rows are
/// contiguous with k even (its words are then the pairs), otherwise packed
/// into rows of even length with a zero past k (an odd k's last word must
/// not read past the row: B's zero there would not cancel a NaN). Row
/// slices as even as the 6-row tiles allow, as the f32 kernel does.
/// Returns false, having done nothing, when a buffer cannot be allocated.
ATTN_BF16_TARGET bool matmulAvx512Bf16(int64_t m, int64_t n, int64_t k,
                                       const uint16_t *a, int64_t ars,
                                       int64_t acs, const uint16_t *b,
                                       int64_t brs, int64_t bcs,
                                       const uint16_t *pairsB, int64_t prs,
                                       float *c, int64_t crs, int64_t ccs,
                                       bool overwrite) {
  int64_t kPairs = (k + 1) / 2;
  const uint32_t *ta;
  int64_t lda;
  if (acs == 1 && k % 2 == 0 && ars % 2 == 0 &&
      reinterpret_cast<uintptr_t>(a) % 4 == 0) {
    ta = reinterpret_cast<const uint32_t *>(a);
    lda = ars / 2;
  } else {
    auto *pa = static_cast<uint16_t *>(scratch(0, m * kPairs * 4));
    if (!pa)
      return false;
    packA(m, k, 2 * kPairs, a, ars, acs, pa);
    ta = reinterpret_cast<const uint32_t *>(pa);
    lda = kPairs;
  }
  uint32_t *panel = nullptr;
  if (!pairsB) {
    panel = static_cast<uint32_t *>(scratch(1, kPairsPerBlock * kPanel * 4));
    if (!panel)
      return false;
  }
  return onContiguousC(m, n, c, crs, ccs, overwrite, [&](float *tc,
                                                         int64_t ldc) {
    // Row slices: ceil(m / 6) of them, as even as possible (5 or 6 rows).
    int64_t slices = (m + 5) / 6;
    for (int64_t j0 = 0; j0 < n; j0 += kPanel) {
      int64_t cols = n - j0 < kPanel ? n - j0 : kPanel;
      int nv = int((cols + 15) / 16);
      int64_t tail = cols - (nv - 1) * 16;
      __mmask16 mask = __mmask16((1u << tail) - 1);
      for (int64_t p0 = 0; p0 < kPairs; p0 += kPairsPerBlock) {
        int64_t pairs =
            kPairs - p0 < kPairsPerBlock ? kPairs - p0 : kPairsPerBlock;
        const uint32_t *bb;
        int64_t ldb;
        if (pairsB) {
          bb = reinterpret_cast<const uint32_t *>(pairsB + p0 * prs) + j0;
          ldb = prs / 2;
        } else {
          packPanelBf16(k, p0, pairs, j0, cols, b, brs, bcs, panel);
          bb = panel;
          ldb = kPanel;
        }
        bool zero = overwrite && p0 == 0;
        for (int64_t s = 0, i0 = 0; s < slices; ++s) {
          int64_t rows = (m - i0) / (slices - s);
          rows += (m - i0) % (slices - s) != 0;
          bf16Kernel(int(rows), nv)(pairs, ta + i0 * lda + p0, lda, bb, ldb,
                                    tc + i0 * ldc + j0, ldc, mask, zero);
          i0 += rows;
        }
      }
    }
  });
}

/// A product over K = 0, an empty sum: C unchanged, or all +0 with
/// `overwrite`.
void emptySum(int64_t m, int64_t n, float *c, int64_t crs, int64_t ccs,
              bool overwrite) {
  for (int64_t i = 0; overwrite && i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      c[i * crs + j * ccs] = 0.0f;
}

/// The bf16 entry points' common body: C += A · B, or C = A · B with
/// `overwrite`.
void matmulBf16(int64_t m, int64_t n, int64_t k, const uint16_t *a,
                int64_t ars, int64_t acs, const uint16_t *b, int64_t brs,
                int64_t bcs, float *c, int64_t crs, int64_t ccs,
                bool overwrite) {
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0)
    return emptySum(m, n, c, crs, ccs, overwrite);
  Bf16Path path = selectedPath();
  if (path == Bf16Path::Amx)
    return matmulAmx(m, n, k, a, ars, acs, b, brs, bcs, c, crs, ccs,
                     overwrite);
  if (path == Bf16Path::Avx512Bf16 &&
      matmulAvx512Bf16(m, n, k, a, ars, acs, b, brs, bcs, nullptr, 0, c, crs,
                       ccs, overwrite))
    return;
  matmulWidened(m, n, k, a, ars, acs, b, brs, bcs, c, crs, ccs, overwrite);
}

/// The same with B as pairs of rows.
void matmulBf16Pairs(int64_t m, int64_t n, int64_t k, const uint16_t *a,
                     int64_t ars, int64_t acs, const uint16_t *pairs,
                     int64_t prs, int64_t pcs, float *c, int64_t crs,
                     int64_t ccs, bool overwrite) {
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0)
    return emptySum(m, n, c, crs, ccs, overwrite);
  Bf16Path path = selectedPath();
  if (path == Bf16Path::Amx &&
      matmulAmxPairs(m, n, k, a, ars, acs, pairs, prs, pcs, c, crs, ccs,
                     overwrite))
    return;
  // In place when the pairs are words: unit column stride, rows an even
  // number of elements apart, 4-byte aligned; otherwise read as a plain B
  // (element (p, j) at pairs[(p / 2) prs + 2 j + p % 2]) and packed.
  if (path == Bf16Path::Avx512Bf16) {
    bool words = pcs == 1 && prs % 2 == 0 &&
                 reinterpret_cast<uintptr_t>(pairs) % 4 == 0;
    if (words && matmulAvx512Bf16(m, n, k, a, ars, acs, nullptr, 0, 0, pairs,
                                  prs, c, crs, ccs, overwrite))
      return;
  }
  matmulWidenedAt(
      m, n, k, a, ars, acs,
      [&](int64_t p, int64_t j) {
        return pairs[(p / 2) * prs + (2 * j + p % 2) * pcs];
      },
      c, crs, ccs, overwrite);
}
} // namespace

extern "C" {

void attn_uk_matmul_bf16(int64_t m, int64_t n, int64_t k, const uint16_t *a,
                         int64_t aRowStride, int64_t aColStride,
                         const uint16_t *b, int64_t bRowStride,
                         int64_t bColStride, float *c, int64_t cRowStride,
                         int64_t cColStride) {
  matmulBf16(m, n, k, a, aRowStride, aColStride, b, bRowStride, bColStride, c,
             cRowStride, cColStride, /*overwrite=*/false);
}

void attn_uk_matmul_bf16_overwrite(int64_t m, int64_t n, int64_t k,
                                   const uint16_t *a, int64_t aRowStride,
                                   int64_t aColStride, const uint16_t *b,
                                   int64_t bRowStride, int64_t bColStride,
                                   float *c, int64_t cRowStride,
                                   int64_t cColStride) {
  matmulBf16(m, n, k, a, aRowStride, aColStride, b, bRowStride, bColStride, c,
             cRowStride, cColStride, /*overwrite=*/true);
}

void _mlir_ciface_attn_uk_matmul_bf16(AttnMemRef2Bf16 *a, AttnMemRef2Bf16 *b,
                                      AttnMemRef2F32 *c) {
  attn_uk_matmul_bf16(c->sizes[0], c->sizes[1], a->sizes[1],
                      a->aligned + a->offset, a->strides[0], a->strides[1],
                      b->aligned + b->offset, b->strides[0], b->strides[1],
                      c->aligned + c->offset, c->strides[0], c->strides[1]);
}

void _mlir_ciface_attn_uk_matmul_bf16_overwrite(AttnMemRef2Bf16 *a,
                                                AttnMemRef2Bf16 *b,
                                                AttnMemRef2F32 *c) {
  attn_uk_matmul_bf16_overwrite(
      c->sizes[0], c->sizes[1], a->sizes[1], a->aligned + a->offset,
      a->strides[0], a->strides[1], b->aligned + b->offset, b->strides[0],
      b->strides[1], c->aligned + c->offset, c->strides[0], c->strides[1]);
}

void attn_uk_matmul_bf16_pairs(int64_t m, int64_t n, int64_t k,
                               const uint16_t *a, int64_t aRowStride,
                               int64_t aColStride, const uint16_t *pairs,
                               int64_t pairRowStride, int64_t pairColStride,
                               float *c, int64_t cRowStride,
                               int64_t cColStride) {
  matmulBf16Pairs(m, n, k, a, aRowStride, aColStride, pairs, pairRowStride,
                  pairColStride, c, cRowStride, cColStride,
                  /*overwrite=*/false);
}

void attn_uk_matmul_bf16_pairs_overwrite(
    int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t aRowStride,
    int64_t aColStride, const uint16_t *pairs, int64_t pairRowStride,
    int64_t pairColStride, float *c, int64_t cRowStride, int64_t cColStride) {
  matmulBf16Pairs(m, n, k, a, aRowStride, aColStride, pairs, pairRowStride,
                  pairColStride, c, cRowStride, cColStride, /*overwrite=*/true);
}

void _mlir_ciface_attn_uk_matmul_bf16_pairs(AttnMemRef2Bf16 *a,
                                            AttnMemRef2Bf16 *pairs,
                                            AttnMemRef2F32 *c) {
  attn_uk_matmul_bf16_pairs(
      c->sizes[0], c->sizes[1], a->sizes[1], a->aligned + a->offset,
      a->strides[0], a->strides[1], pairs->aligned + pairs->offset,
      pairs->strides[0], pairs->strides[1], c->aligned + c->offset,
      c->strides[0], c->strides[1]);
}

void _mlir_ciface_attn_uk_matmul_bf16_pairs_overwrite(AttnMemRef2Bf16 *a,
                                                      AttnMemRef2Bf16 *pairs,
                                                      AttnMemRef2F32 *c) {
  attn_uk_matmul_bf16_pairs_overwrite(
      c->sizes[0], c->sizes[1], a->sizes[1], a->aligned + a->offset,
      a->strides[0], a->strides[1], pairs->aligned + pairs->offset,
      pairs->strides[0], pairs->strides[1], c->aligned + c->offset,
      c->strides[0], c->strides[1]);
}

const char *attn_uk_bf16_path(void) {
  switch (selectedPath()) {
  case Bf16Path::Amx:
    return "amx";
  case Bf16Path::Avx512Bf16:
    return "avx512bf16";
  default:
    return "widen";
  }
}

int attn_uk_force_bf16_path(const char *name) {
  if (strcmp(name, "widen") == 0) {
    __atomic_store_n(&currentPath, int(Bf16Path::Widen), __ATOMIC_RELAXED);
    return 1;
  }
  if (strcmp(name, "avx512bf16") == 0 && avx512Bf16Usable()) {
    __atomic_store_n(&currentPath, int(Bf16Path::Avx512Bf16),
                     __ATOMIC_RELAXED);
    return 1;
  }
  if (strcmp(name, "amx") == 0 && amxUsable()) {
    __atomic_store_n(&currentPath, int(Bf16Path::Amx), __ATOMIC_RELAXED);
    return 1;
  }
  return 0;
}

} // extern "C"
