//===- CollapseParallelDims.cpp - attn-collapse-parallel-dims -------------===//
//
// Implements attn-collapse-parallel-dims: consecutive row (M) or column (N)
// dimensions of a contraction that every operand stores contiguously become
// one, so that the tiling and micro-kernel passes see one long M or N.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::attn {
#define GEN_PASS_DEF_COLLAPSEPARALLELDIMSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

/// The runs of two or more consecutive loops in `loops` (any order).
static SmallVector<ReassociationIndices> consecutiveRuns(ArrayRef<unsigned> loops) {
  SmallVector<unsigned> sorted(loops);
  llvm::sort(sorted);
  SmallVector<ReassociationIndices> runs;
  ReassociationIndices run;
  auto flush = [&]() {
    if (run.size() > 1)
      runs.push_back(run);
    run.clear();
  };
  for (unsigned d : sorted) {
    if (!run.empty() && run.back() + 1 != int64_t(d))
      flush();
    run.push_back(d);
  }
  flush();
  return runs;
}

/// Collapses the runs of consecutive M loops (those of the first input and
/// the result) and of N loops (the second input's and the result's) that
/// every operand stores contiguously. A Linear on Swin's windows, "a b c d
/// i, i o -> a b c d o" over 8 x 8 windows of 7 x 7 tokens, is otherwise
/// tiled and called per innermost M loop: 7 rows per micro-kernel call, each
/// re-reading the whole weight panel for them (and 1 of the 7 in a one-row
/// register tile); collapsed, it is one 3136-row product like any Linear.
static void collapseParallels(RewriterBase &rewriter, linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.hasDynamicShape() ||
      !linalg::isaContractionOpInterface(op) ||
      op->getParentOfType<scf::ForallOp>())
    return;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims))
    return;
  SmallVector<ReassociationIndices> groups = consecutiveRuns(dims->m);
  groups.append(consecutiveRuns(dims->n));
  collapseContiguousLoops(rewriter, op, groups);
}

namespace {
struct CollapseParallelDimsPass
    : public attn::impl::CollapseParallelDimsPassBase<
          CollapseParallelDimsPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachCollected<linalg::GenericOp>(
        getOperation(),
        [&](linalg::GenericOp op) { collapseParallels(rewriter, op); });
  }
};
} // namespace
