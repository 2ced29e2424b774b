//===- ApproximateMath.cpp - inline approximations of exp, tanh, erf ------===//
//
// Implements attn-approximate-math: the transcendental functions attention
// graphs use become arithmetic that LLVM can keep in registers and
// vectorise, instead of scalar libm calls.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::attn {
#define GEN_PASS_DEF_APPROXIMATEMATHPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

namespace {
struct ApproximateMathPass
    : public attn::impl::ApproximateMathPassBase<ApproximateMathPass> {
  void runOnOperation() override {
    auto approximated = [](StringRef name) {
      return name == math::ExpOp::getOperationName() ||
             name == math::TanhOp::getOperationName() ||
             name == math::ErfOp::getOperationName();
    };
    RewritePatternSet patterns(&getContext());
    // Half-precision operands are widened to f32 first: the approximations
    // are written for f32.
    populateMathF32ExpansionPatterns(patterns, approximated);
    populateMathPolynomialApproximationPatterns(patterns, approximated);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
