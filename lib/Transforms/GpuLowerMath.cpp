//===- GpuLowerMath.cpp - math in GPU kernels without libdevice -----------===//
//
// Implements attn-gpu-lower-math.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::attn {
#define GEN_PASS_DEF_GPULOWERMATHPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

namespace {

/// Lowers math ops in kernels without libdevice: convert-gpu-to-nvvm
/// turns them into __nv_* calls that only libdevice.bc (from a CUDA toolkit)
/// defines, and PTX with unresolved calls does not load. f32 exp becomes
/// the hardware ex2.approx (2^(x log2 e); softmax arguments are <= 0, where
/// its 2-ulp error is far below bf16/f16 rounding); the rest become upstream's
/// polynomial approximations in plain arithmetic.
struct GpuLowerMathPass
    : public attn::impl::GpuLowerMathPassBase<GpuLowerMathPass> {

  void runOnOperation() override {
    SmallVector<math::ExpOp> exps;
    getOperation().walk([&](math::ExpOp exp) {
      if (exp.getType().isF32())
        exps.push_back(exp);
    });
    for (math::ExpOp exp : exps) {
      OpBuilder b(exp);
      Location loc = exp.getLoc();
      Value log2e = arith::ConstantOp::create(
          b, loc, b.getF32FloatAttr(1.4426950408889634));
      Value scaled = arith::MulFOp::create(b, loc, exp.getOperand(), log2e);
      auto ex2 = LLVM::CallIntrinsicOp::create(
          b, loc, b.getF32Type(), b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f"),
          ValueRange{scaled});
      exp.replaceAllUsesWith(ex2.getResult(0));
      exp.erase();
    }
    RewritePatternSet patterns(&getContext());
    auto all = [](StringRef) { return true; };
    populateMathF32ExpansionPatterns(patterns, all);
    populateMathPolynomialApproximationPatterns(patterns, all);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};


} // namespace
