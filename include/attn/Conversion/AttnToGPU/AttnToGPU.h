//===- AttnToGPU.h - tensor-core kernels for attn ops ----------*- C++ -*-===//
//
// The kernel generators behind convert-attn-to-gpu: what a kernel computes
// (a spec with every shape static) and the builders that write it as a
// gpu.func of NVVM operations (mma.sync, ldmatrix, cp.async, shfl.sync).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CONVERSION_ATTNTOGPU_ATTNTOGPU_H
#define ATTN_CONVERSION_ATTNTOGPU_ATTNTOGPU_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

#include <string>

namespace mlir::attn {

/// One fused attention `softmax(scale * Q Kᵀ + mask) V` over contiguous
/// row-major `[batch, S, D]` f16/bf16 tensors (the batch dimensions
/// flattened), computed with f32 accumulation by the sm_80 tensor-core
/// kernel: one CTA per (query block, batch), `warps` warps of 16 query rows.
struct FlashAttentionSpec {
  enum class MaskKind { None, Boolean, Additive };

  Type elementType;           ///< f16 or bf16 (q, k, v, result)
  int64_t batch = 1;          ///< product of the batch dimensions
  int64_t seqQ = 0, seqK = 0; ///< query and key lengths
  int64_t headDim = 0;        ///< D of q, k and v (64 or 128)
  double scale = 1.0;
  bool causal = false;        ///< keep j <= i (top-left aligned)

  MaskKind maskKind = MaskKind::None;
  Type maskElementType;       ///< i1 (stored as i8) or elementType
  /// Mask strides in elements for [batch dims..., Sq, Sk], 0 where the mask
  /// broadcasts; `maskBatchShape` are the batch dimensions they go with.
  SmallVector<int64_t> maskStrides;
  SmallVector<int64_t> maskBatchShape;

  int64_t warps = 4;          ///< 16 query rows each
  int64_t blockN = 64;        ///< keys per step
  int64_t stages = 2;         ///< K/V shared-memory ring depth (cp.async)
  /// sm_90a: S = Q Kᵀ and O += P V by warpgroup MMA (wgmma.mma_async) from
  /// shared memory (P goes through a per-warpgroup tile), tiles in 64-column
  /// planes of 128-byte-swizzled rows; else ldmatrix + mma.sync.
  bool wgmma = false;

  int64_t getBlockM() const { return 16 * warps; }
  int64_t getThreads() const { return 32 * warps; }
  int64_t getNumQueryBlocks() const {
    return (seqQ + getBlockM() - 1) / getBlockM();
  }
  /// Dynamic shared memory of one CTA: the Q tile (reused to stage the
  /// output) and `stages` K and V tiles.
  int64_t getSharedBytes() const {
    int64_t rowBytes = headDim * 2;
    int64_t pBytes = wgmma ? (warps / 4) * 64 * blockN * 2 : 0;
    return getBlockM() * rowBytes + 2 * stages * blockN * rowBytes + pBytes;
  }
  /// A symbol name that identifies the kernel's code: equal specs share it.
  std::string getKernelName() const;
};

/// Why `spec` cannot be generated (an empty string when it can).
std::string checkFlashAttentionSpec(const FlashAttentionSpec &spec);

/// Appends the sm_80 (mma.sync m16n8k16) or, with `spec.wgmma`, sm_90a
/// (wgmma) flash-attention kernel for `spec` to `module`. Kernel arguments: q, k, v, out [, mask] as generic pointers
/// to the (contiguous) tensors' data.
gpu::GPUFuncOp buildFlashAttentionSm80Kernel(OpBuilder &builder, Location loc,
                                             gpu::GPUModuleOp module,
                                             const FlashAttentionSpec &spec);

/// One (batched) matrix product `C = scale * A B` of f16/bf16 row-major
/// tensors with f32 accumulation: A `[batch, M, K]`, B `[batch, N, K]`
/// (`bTransposed`, the layout of nn.Linear weights) or `[batch, K, N]`, C
/// `[batch, M, N]`; a batch stride of 0 shares the operand across the batch
/// (weights). Computed by the sm_80 tensor-core GEMM kernel: CTA tiles of
/// 128 x 128, 4 warps of 64 x 64, K in steps of 64 staged by cp.async.
struct MatmulSpec {
  Type elementType;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  bool bTransposed = true;
  double scale = 1.0;
  int64_t batchStrideA = 0, batchStrideB = 0; ///< elements
  int64_t stages = 3;
  /// sm_90a: warpgroup MMA (wgmma.mma_async m64n128k16, both operands read
  /// from shared memory through 128-byte-swizzle descriptors) instead of
  /// ldmatrix + mma.sync; [N, K] B only.
  bool wgmma = false;

  static constexpr int64_t kBlockM = 128, kBlockN = 128, kBlockK = 64;
  static constexpr int64_t kThreads = 128;
  int64_t getSharedBytes() const {
    return stages * (kBlockM + kBlockN) * kBlockK * 2;
  }
  std::string getKernelName() const;
};

/// Why `spec` cannot be generated (an empty string when it can).
std::string checkMatmulSpec(const MatmulSpec &spec);

/// Appends the sm_80 (mma.sync m16n8k16) or, with `spec.wgmma`, sm_90a
/// (wgmma) GEMM kernel for `spec` to `module`. Kernel arguments: a, b, c as
/// generic pointers.
gpu::GPUFuncOp buildMatmulSm80Kernel(OpBuilder &builder, Location loc,
                                     gpu::GPUModuleOp module,
                                     const MatmulSpec &spec);

/// The module's dynamic shared memory symbol (declared on first use).
StringRef getOrCreateDynamicSharedMemory(OpBuilder &builder, Location loc,
                                         gpu::GPUModuleOp module);

} // namespace mlir::attn

#endif // ATTN_CONVERSION_ATTNTOGPU_ATTNTOGPU_H
