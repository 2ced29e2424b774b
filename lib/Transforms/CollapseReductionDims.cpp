//===- CollapseReductionDims.cpp - attn-collapse-reduction-dims -----------===//
//
// Implements attn-collapse-reduction-dims: consecutive reduction dimensions
// of a contraction that every operand stores contiguously become one.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"

namespace mlir::attn {
#define GEN_PASS_DEF_COLLAPSEREDUCTIONDIMSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

/// Collapses consecutive reduction dimensions of a contraction on buffers
/// into one when every operand stores them contiguously: the head merge
/// "b n (h d)" folded into an out-projection leaves "b n h d, o h d -> b n o",
/// whose two reduction loops would otherwise become two nested loops around
/// the register tile, with the accumulator going through memory in between.
static void collapseReductions(RewriterBase &rewriter, linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumReductionLoops() < 2 ||
      !linalg::isaContractionOpInterface(op))
    return;
  ReassociationIndices group;
  for (auto [dim, iterator] : llvm::enumerate(op.getIteratorTypesArray())) {
    if (iterator != utils::IteratorType::reduction)
      continue;
    if (!group.empty() && group.back() + 1 != static_cast<int64_t>(dim))
      return;
    group.push_back(dim);
  }
  collapseContiguousLoops(rewriter, op, {group});
}

namespace {
struct CollapseReductionDimsPass
    : public attn::impl::CollapseReductionDimsPassBase<
          CollapseReductionDimsPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachCollected<linalg::GenericOp>(
        getOperation(),
        [&](linalg::GenericOp op) { collapseReductions(rewriter, op); });
  }
};
} // namespace
