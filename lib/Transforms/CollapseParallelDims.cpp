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
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
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

/// Whether every operand of `op` that reads `group` reads its loops
/// consecutively, in order, from dimensions that collapse without a copy.
static bool collapsesEverywhere(linalg::GenericOp op,
                                const ReassociationIndices &group) {
  if (!linalg::areDimSequencesPreserved(op.getIndexingMapsArray(), {group}))
    return false;
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    std::optional<unsigned> first =
        map.getResultPosition(getAffineDimExpr(group.front(), op.getContext()));
    if (!first)
      continue;
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type || !collapsesInPlace(type, *first, group.size()))
      return false;
  }
  return true;
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
  SmallVector<ReassociationIndices> groups;
  for (ArrayRef<unsigned> loops : {ArrayRef<unsigned>(dims->m),
                                   ArrayRef<unsigned>(dims->n)})
    for (ReassociationIndices &run : consecutiveRuns(loops))
      if (collapsesEverywhere(op, run))
        groups.push_back(std::move(run));
  if (groups.empty())
    return;
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::CollapseResult> collapsed =
      linalg::collapseOpIterationDims(op, groups, rewriter);
  if (succeeded(collapsed))
    rewriter.replaceOp(op, collapsed->results);
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
