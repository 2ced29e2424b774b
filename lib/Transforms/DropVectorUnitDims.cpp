//===- DropVectorUnitDims.cpp - attn-drop-vector-unit-dims ----------------===//
//
// Implements attn-drop-vector-unit-dims: unit dimensions (batch, the
// reduction step) leave the vectors of the register tiles, so each
// accumulator is a plain [M x N] vector.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"

namespace mlir::attn {
#define GEN_PASS_DEF_DROPVECTORUNITDIMSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
struct DropVectorUnitDimsPass
    : public attn::impl::DropVectorUnitDimsPassBase<DropVectorUnitDimsPass> {
  using Base::Base;

  void runOnOperation() override {
    // (memref alias folding is not used: in LLVM 22 it folds transfers
    // through expand_shape into reads of the wrong dimensions.)
    applySimplification(getOperation(), [](RewritePatternSet &patterns) {
      vector::populateCastAwayVectorLeadingOneDimPatterns(patterns);
      vector::populateVectorReductionToContractPatterns(patterns);
      vector::populateDropUnitDimWithShapeCastPatterns(patterns);
    });
  }
};
} // namespace
