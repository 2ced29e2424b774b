//===- EinsumToGPU.cpp - matrix-product einsums to tensor-core GEMMs ------===//
//
// Implements convert-einsum-to-gpu: each attn.einsum that is a (batched)
// matrix product of contiguous f16/bf16 operands becomes a launch of a
// generated GEMM kernel, on tensors, like convert-attn-to-gpu does for
// attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/AttnToGPU/AttnToGPU.h"

#include "KernelLaunch.h"

#include "attn/Conversion/Passes.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include "llvm/ADT/STLExtras.h"

namespace mlir::attn {
#define GEN_PASS_DEF_CONVERTEINSUMTOGPUPASS
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

using Labels = std::vector<std::string>;

Labels concat(std::initializer_list<const Labels *> parts) {
  Labels out;
  for (const Labels *p : parts)
    out.insert(out.end(), p->begin(), p->end());
  return out;
}

/// The GEMM spec of `op`, or why it is not a contiguous matrix product.
FailureOr<MatmulSpec> getSpec(EinsumOp op, int64_t stages, bool sm90a,
                              std::string &reason) {
  if (op.getInputs().size() != 2) {
    reason = "not two operands";
    return failure();
  }
  auto a = cast<RankedTensorType>(op.getInputs()[0].getType());
  auto b = cast<RankedTensorType>(op.getInputs()[1].getType());
  auto c = cast<RankedTensorType>(op.getResult().getType());
  if (!a.hasStaticShape() || !b.hasStaticShape() || !c.hasStaticShape()) {
    reason = "dynamic shapes";
    return failure();
  }
  std::optional<::attn::EinsumPlan> plan = op.getPlanWithoutBroadcast();
  if (!plan) {
    reason = "operands broadcast";
    return failure();
  }
  const Labels &la = plan->inputs[0], &lb = plan->inputs[1];
  const Labels &lc = plan->output;
  auto in = [](const Labels &labels, const std::string &l) {
    return llvm::is_contained(labels, l);
  };
  // batch: A, B and C; M: A and C; N: B and C; K: A and B.
  Labels batch, m, n, k;
  for (const std::string &l : lc) {
    if (in(la, l) && in(lb, l))
      batch.push_back(l);
    else if (in(la, l))
      m.push_back(l);
    else
      n.push_back(l);
  }
  for (const std::string &l : la)
    if (!in(lc, l)) {
      if (!in(lb, l)) {
        reason = "label '" + l + "' is summed in one operand only";
        return failure();
      }
      k.push_back(l);
    }
  for (const std::string &l : lb)
    if (!in(lc, l) && !in(la, l)) {
      reason = "label '" + l + "' is summed in one operand only";
      return failure();
    }
  if (la != concat({&batch, &m, &k}) || lc != concat({&batch, &m, &n})) {
    reason = "the operands are not laid out as [batch, M, K] x B -> "
             "[batch, M, N]";
    return failure();
  }
  MatmulSpec spec;
  if (lb == concat({&batch, &n, &k})) {
    spec.bTransposed = true;
  } else if (lb == concat({&batch, &k, &n})) {
    spec.bTransposed = false;
  } else {
    reason = "the second operand is neither [batch, N, K] nor [batch, K, N]";
    return failure();
  }
  auto product = [&](const Labels &labels) {
    int64_t p = 1;
    for (const std::string &l : labels)
      p *= plan->sizes.at(l);
    return p;
  };
  spec.elementType = a.getElementType();
  spec.batch = product(batch);
  spec.m = product(m);
  spec.n = product(n);
  spec.k = product(k);
  spec.scale = op.getScaleValue();
  if (spec.batch > 1) {
    spec.batchStrideA = spec.m * spec.k;
    spec.batchStrideB = spec.n * spec.k;
  }
  spec.stages = stages;
  // Warpgroup MMA where the chip has it (sm_90a) and the weights are
  // [N, K]; the [K, N] case keeps mma.sync.
  spec.wgmma = sm90a && spec.bTransposed;
  reason = checkMatmulSpec(spec);
  if (!reason.empty())
    return failure();
  return spec;
}

struct ConvertEinsumToGPUPass
    : public mlir::attn::impl::ConvertEinsumToGPUPassBase<
          ConvertEinsumToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool sm90a = StringRef(chip).ends_with("a") &&
                 getComputeCapability(chip) >= 90;
    if (getComputeCapability(chip) < 80) {
      module.emitError("convert-einsum-to-gpu: chip '")
          << chip << "' is not sm_80 or later";
      return signalPassFailure();
    }
    SmallVector<EinsumOp> ops;
    module.walk([&](EinsumOp op) { ops.push_back(op); });
    gpu::GPUModuleOp kernels;
    for (EinsumOp op : ops) {
      std::string reason;
      FailureOr<MatmulSpec> spec = getSpec(op, stages, sm90a, reason);
      if (failed(spec)) {
        if (remarks)
          op.emitRemark("not a tensor-core GEMM: ") << reason;
        continue;
      }
      if (!kernels)
        kernels = getOrCreateKernelModule(module);
      auto kernel =
          kernels.lookupSymbol<gpu::GPUFuncOp>(spec->getKernelName());
      if (!kernel) {
        OpBuilder b(module.getContext());
        kernel = buildMatmulSm80Kernel(b, op.getLoc(), kernels, *spec);
      }
      std::array<int64_t, 3> grid = {
          int64_t(llvm::divideCeil(spec->n, MatmulSpec::kBlockN)),
          int64_t(llvm::divideCeil(spec->m, MatmulSpec::kBlockM)), spec->batch};
      if (remarks)
        op.emitRemark("tensor-core GEMM: ")
            << kernel.getName() << ", " << grid[0] << "x" << grid[1] << "x"
            << grid[2] << " CTAs";
      OpBuilder b(op);
      Value result = createKernelLaunch(
          b, op.getLoc(), kernel, op.getInputs(), op.getResult().getType(),
          /*resultPosition=*/2, grid, MatmulSpec::kThreads,
          spec->getSharedBytes());
      op.getResult().replaceAllUsesWith(result);
      op.erase();
    }
  }
};

} // namespace
