//===- AttnToGPU.cpp - attn.attention to tensor-core GPU kernels ----------===//
//
// Implements convert-attn-to-gpu: each supported attn.attention becomes a
// launch of a generated flash-attention kernel, on tensors, so that one-shot
// bufferization and the rest of the GPU pipeline treat it like any op.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/AttnToGPU/AttnToGPU.h"

#include "KernelLaunch.h"

#include "attn/Conversion/Passes.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::attn {
#define GEN_PASS_DEF_CONVERTATTNTOGPUPASS
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

/// The kernel spec of `op`, or the reason why the tensor-core kernel does
/// not apply.
FailureOr<FlashAttentionSpec> getSpec(AttentionOp op, int64_t warps,
                                      int64_t stages, bool sm90a,
                                      std::string &reason) {
  if (op.getScore() != ScoreKind::Dot) {
    reason = "the score is not a dot product";
    return failure();
  }
  // The kernels read [B..., S, D] operands and apply no score region or
  // structured mask; other forms take the generic flash lowering.
  if (op.getIndexingMaps()) {
    reason = "an operand is not in the [batch..., sequence, feature] layout";
    return failure();
  }
  if (op.hasScoreMod() || op.getWindow() || op.getKeyLengths() ||
      op.getBlockMask() || op.getLse() || !op.getOffsets().empty()) {
    reason = "a score region, window, key lengths, block mask, lse or tile "
             "offsets";
    return failure();
  }
  auto q = cast<RankedTensorType>(op.getQuery().getType());
  auto k = cast<RankedTensorType>(op.getKey().getType());
  auto v = cast<RankedTensorType>(op.getValue().getType());
  if (k.getElementType() != q.getElementType() ||
      v.getElementType() != q.getElementType() ||
      op.getOutput().getType().getElementType() != q.getElementType()) {
    reason = "the operands do not share one element type";
    return failure();
  }
  if (!q.hasStaticShape() || !k.hasStaticShape() || !v.hasStaticShape()) {
    reason = "dynamic shapes";
    return failure();
  }
  int64_t rank = q.getRank();
  FlashAttentionSpec spec;
  spec.elementType = q.getElementType();
  for (int64_t i = 0; i < rank - 2; ++i)
    spec.batch *= q.getDimSize(i);
  spec.seqQ = q.getDimSize(rank - 2);
  spec.seqK = k.getDimSize(rank - 2);
  spec.headDim = q.getDimSize(rank - 1);
  spec.scale = op.getScale().convertToDouble();
  spec.causal = op.getCausal();
  spec.warps = warps;
  spec.stages = stages;
  spec.wgmma = sm90a;
  if (v.getDimSize(rank - 1) != spec.headDim) {
    reason = "value and query head dimensions differ";
    return failure();
  }
  if (Value mask = op.getMask()) {
    auto type = cast<RankedTensorType>(mask.getType());
    if (!type.hasStaticShape()) {
      reason = "a dynamically shaped mask";
      return failure();
    }
    spec.maskKind = type.getElementType().isInteger(1)
                        ? FlashAttentionSpec::MaskKind::Boolean
                        : FlashAttentionSpec::MaskKind::Additive;
    spec.maskElementType = type.getElementType();
    // Row-major strides of the mask tensor; a size-1 dimension broadcasts.
    SmallVector<int64_t> strides(rank, 0);
    int64_t stride = 1;
    for (int64_t i = rank - 1; i >= 0; --i) {
      strides[i] = type.getDimSize(i) == 1 ? 0 : stride;
      stride *= type.getDimSize(i);
    }
    spec.maskStrides = strides;
    spec.maskBatchShape.assign(q.getShape().begin(),
                               q.getShape().end() - 2);
  }
  reason = checkFlashAttentionSpec(spec);
  if (!reason.empty())
    return failure();
  return spec;
}

struct ConvertAttnToGPUPass
    : public mlir::attn::impl::ConvertAttnToGPUPassBase<ConvertAttnToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    int64_t capability = getComputeCapability(chip);
    if (capability < 80) {
      module.emitError("convert-attn-to-gpu: chip '")
          << chip << "' is not sm_80 or later (mma.sync m16n8k16 bf16, "
                     "ldmatrix and cp.async need Ampere)";
      return signalPassFailure();
    }
    // sm_90a has warpgroup MMA; plain sm_90 runs the mma.sync kernel.
    bool sm90a = StringRef(chip).ends_with("a") && capability >= 90;
    SmallVector<AttentionOp> ops;
    module.walk([&](AttentionOp op) { ops.push_back(op); });
    gpu::GPUModuleOp kernels;
    for (AttentionOp op : ops) {
      std::string reason;
      FailureOr<FlashAttentionSpec> spec =
          getSpec(op, warps, stages, sm90a, reason);
      if (failed(spec)) {
        if (remarks)
          op.emitRemark("not a tensor-core kernel: ") << reason;
        continue;
      }
      if (!kernels)
        kernels = getOrCreateKernelModule(module);
      gpu::GPUFuncOp kernel = getOrCreateKernel(kernels, op.getLoc(), *spec);
      if (remarks)
        op.emitRemark("tensor-core flash attention: ")
            << kernel.getName() << ", " << spec->getNumQueryBlocks() << "x"
            << spec->batch << " CTAs of " << spec->getThreads()
            << " threads, " << spec->getSharedBytes()
            << " bytes of shared memory";
      replaceWithLaunch(op, kernel, *spec);
    }
  }

  gpu::GPUFuncOp getOrCreateKernel(gpu::GPUModuleOp kernels, Location loc,
                                   const FlashAttentionSpec &spec) {
    if (auto existing =
            kernels.lookupSymbol<gpu::GPUFuncOp>(spec.getKernelName()))
      return existing;
    OpBuilder b(kernels.getContext());
    return buildFlashAttentionSm80Kernel(b, loc, kernels, spec);
  }

  void replaceWithLaunch(AttentionOp op, gpu::GPUFuncOp kernel,
                         const FlashAttentionSpec &spec) {
    OpBuilder b(op);
    SmallVector<Value> inputs = {op.getQuery(), op.getKey(), op.getValue()};
    if (Value mask = op.getMask())
      inputs.push_back(mask);
    // Kernel arguments: q, k, v, out [, mask].
    Value result = createKernelLaunch(
        b, op.getLoc(), kernel, inputs, op.getResult().getType(),
        /*resultPosition=*/3, {spec.getNumQueryBlocks(), spec.batch, 1},
        spec.getThreads(), spec.getSharedBytes());
    op.getResult().replaceAllUsesWith(result);
    // The kernel allocates its output: the destination's empty tensor goes.
    Operation *init = op.getOutput().getDefiningOp();
    op.erase();
    if (isa_and_nonnull<tensor::EmptyOp>(init) && init->use_empty())
      init->erase();
  }
};

} // namespace
