//===- Ukernels.h - matrix-product micro-kernels called by generated code -===//
//
// The C ABI of attn-opt's CPU micro-kernel library (libattn_ukernels): the
// functions `attn-contractions-to-ukernels` makes generated code call. Plain
// C++ without LLVM, exceptions, RTTI or the C++ library, so ahead-of-time
// shared libraries link it statically and still need only libc, libm and
// libomp.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_UKERNELS_H
#define ATTN_RUNTIME_UKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A rank-2 f32 memref descriptor, laid out as MLIR's LLVM lowering passes it
/// to `_mlir_ciface_` functions.
typedef struct AttnMemRef2F32 {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} AttnMemRef2F32;

/// C += A · B on f32: A is M x K, B is K x N, C is M x N, each with any
/// strides. C with unit column stride takes the vector path; any other C a
/// scalar one. Each element is accumulated from its value in C, over k in
/// increasing order with fused multiply-adds: the order of the loop nest
/// `c[i][j] = fma(a[i][k], b[k][j], c[i][j])` that linalg.matmul means.
void _mlir_ciface_attn_uk_matmul_f32(AttnMemRef2F32 *a, AttnMemRef2F32 *b,
                                     AttnMemRef2F32 *c);

/// The same on plain pointers and element strides, for C callers and tests.
void attn_uk_matmul_f32(int64_t m, int64_t n, int64_t k, const float *a,
                        int64_t aRowStride, int64_t aColStride, const float *b,
                        int64_t bRowStride, int64_t bColStride, float *c,
                        int64_t cRowStride, int64_t cColStride);

/// C = A · B: the same sums started from +0 instead of from C, whose values
/// are never read (bit for bit a zero fill followed by attn_uk_matmul_f32,
/// without the pass over C). An empty sum (K = 0) leaves C all zero.
void _mlir_ciface_attn_uk_matmul_f32_overwrite(AttnMemRef2F32 *a,
                                               AttnMemRef2F32 *b,
                                               AttnMemRef2F32 *c);

/// The same on plain pointers and element strides.
void attn_uk_matmul_f32_overwrite(int64_t m, int64_t n, int64_t k,
                                  const float *a, int64_t aRowStride,
                                  int64_t aColStride, const float *b,
                                  int64_t bRowStride, int64_t bColStride,
                                  float *c, int64_t cRowStride,
                                  int64_t cColStride);

/// A rank-3 f32 memref descriptor.
typedef struct AttnMemRef3F32 {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[3];
  int64_t strides[3];
} AttnMemRef3F32;

/// C[g] += A · B[g] for every group g: A is M x K, B is G x K x N, C is
/// G x M x N, each with any strides; the same sums, bit for bit, as G calls
/// of attn_uk_matmul_f32. For N narrower than a vector (a 1x1 convolution
/// on windows of 2 x 2 positions: N = 4 of 16 lanes), the groups' columns
/// are gathered side by side into one G·N-column product and C scattered
/// back.
void _mlir_ciface_attn_uk_matmul_f32_groups(AttnMemRef2F32 *a,
                                            AttnMemRef3F32 *b,
                                            AttnMemRef3F32 *c);

/// C[g] = A · B[g] for every group g (C never read).
void _mlir_ciface_attn_uk_matmul_f32_groups_overwrite(AttnMemRef2F32 *a,
                                                      AttnMemRef3F32 *b,
                                                      AttnMemRef3F32 *c);

/// attn_uk_matmul_f32_groups (or its overwrite form) on plain pointers and
/// element strides.
void attn_uk_matmul_f32_groups(int64_t g, int64_t m, int64_t n, int64_t k,
                               const float *a, int64_t aRowStride,
                               int64_t aColStride, const float *b,
                               int64_t bGroupStride, int64_t bRowStride,
                               int64_t bColStride, float *c,
                               int64_t cGroupStride, int64_t cRowStride,
                               int64_t cColStride, int overwrite);

/// A rank-2 bf16 memref descriptor (elements as their 16-bit patterns).
typedef struct AttnMemRef2Bf16 {
  uint16_t *allocated;
  uint16_t *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} AttnMemRef2Bf16;

/// C += A · B with bf16 A (M x K) and B (K x N) and an f32 C, any strides:
/// on AMX tiles where the CPU and OS allow them, otherwise A and B widened
/// to f32 (exactly) and attn_uk_matmul_f32. The products are exact in f32;
/// the AMX path sums each block of 32 k steps in the tile unit's order.
void _mlir_ciface_attn_uk_matmul_bf16(AttnMemRef2Bf16 *a, AttnMemRef2Bf16 *b,
                                      AttnMemRef2F32 *c);

/// The same on plain pointers and element strides.
void attn_uk_matmul_bf16(int64_t m, int64_t n, int64_t k, const uint16_t *a,
                         int64_t aRowStride, int64_t aColStride,
                         const uint16_t *b, int64_t bRowStride,
                         int64_t bColStride, float *c, int64_t cRowStride,
                         int64_t cColStride);

/// C = A · B on bf16 inputs: the same sums started from +0 instead of from
/// C, whose values are never read (a zero fill followed by
/// attn_uk_matmul_bf16, bit for bit, without the pass over C; on AMX the
/// accumulator tiles start zeroed instead of loaded). K = 0 leaves C all
/// zero.
void _mlir_ciface_attn_uk_matmul_bf16_overwrite(AttnMemRef2Bf16 *a,
                                                AttnMemRef2Bf16 *b,
                                                AttnMemRef2F32 *c);
/// The same on plain pointers and element strides.
void attn_uk_matmul_bf16_overwrite(int64_t m, int64_t n, int64_t k,
                                   const uint16_t *a, int64_t aRowStride,
                                   int64_t aColStride, const uint16_t *b,
                                   int64_t bRowStride, int64_t bColStride,
                                   float *c, int64_t cRowStride,
                                   int64_t cColStride);

/// C += A · B like attn_uk_matmul_bf16, with B (k x n, k even) given in the
/// VNNI form AMX tiles load: `pairs` is (k / 2) x (2 n), its row r holding
/// B[2r][j] and B[2r + 1][j] at columns 2 j and 2 j + 1 (a weight prepared so
/// at load time). On AMX its tiles are loaded where they are, so no call
/// packs B; elsewhere B is unpacked and both inputs widened to f32.
void _mlir_ciface_attn_uk_matmul_bf16_pairs(AttnMemRef2Bf16 *a,
                                            AttnMemRef2Bf16 *pairs,
                                            AttnMemRef2F32 *c);
/// The same on plain pointers and element strides (of the pairs matrix).
void attn_uk_matmul_bf16_pairs(int64_t m, int64_t n, int64_t k,
                               const uint16_t *a, int64_t aRowStride,
                               int64_t aColStride, const uint16_t *pairs,
                               int64_t pairRowStride, int64_t pairColStride,
                               float *c, int64_t cRowStride,
                               int64_t cColStride);
/// C = A · B with B as pairs of rows: attn_uk_matmul_bf16_pairs' sums
/// started from +0, C not read (as attn_uk_matmul_bf16_overwrite).
void _mlir_ciface_attn_uk_matmul_bf16_pairs_overwrite(AttnMemRef2Bf16 *a,
                                                      AttnMemRef2Bf16 *pairs,
                                                      AttnMemRef2F32 *c);
/// The same on plain pointers and element strides.
void attn_uk_matmul_bf16_pairs_overwrite(
    int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t aRowStride,
    int64_t aColStride, const uint16_t *pairs, int64_t pairRowStride,
    int64_t pairColStride, float *c, int64_t cRowStride, int64_t cColStride);
/// The bf16 path in use: "amx" where the CPU and OS have AMX; else
/// "avx512bf16" (VDPBF16PS) where the CPU issues it at the f32 FMA's rate
/// (AMD Zen 4 and later); else "widen" (both inputs widened to f32: faster
/// than VDPBF16PS on the Intel CPUs measured without AMX, see the README).
/// The environment variable ATTN_UKERNEL_BF16 may ask for "widen" or, where
/// the CPU has AVX512-BF16, "avx512bf16".
const char *attn_uk_bf16_path(void);

/// Uses `name` ("amx", "avx512bf16" or "widen") from now on; returns 0 (and
/// changes nothing) when this machine cannot run it. For tests and
/// comparisons.
int attn_uk_force_bf16_path(const char *name);

/// Which implementation the micro-kernels dispatch to on this CPU:
/// "avx512", "avx2" or "generic", the widest the CPU and OS support unless
/// the environment variable ATTN_UKERNEL_ISA names a narrower one.
const char *attn_uk_isa(void);

/// Uses `name` ("avx512", "avx2" or "generic") from now on; returns 0 (and
/// changes nothing) when this CPU cannot run it. For tests and comparisons.
int attn_uk_force_isa(const char *name);

#ifdef __cplusplus
}
#endif

#endif // ATTN_RUNTIME_UKERNELS_H
