//===- SerializeNestedParallelLoops.cpp - nested scf.parallel to scf.for --===//
//
// Implements attn-serialize-nested-parallel-loops: an scf.parallel inside
// another becomes nested scf.for loops, so that only the outermost one
// becomes an OpenMP region.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::attn {
#define GEN_PASS_DEF_SERIALIZENESTEDPARALLELLOOPSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

/// `op` as scf.for loops, outermost dimension first, around its body.
static void serialize(RewriterBase &rewriter, scf::ParallelOp op) {
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  SmallVector<Value> ivs;
  for (auto [lb, ub, step] :
       llvm::zip(op.getLowerBound(), op.getUpperBound(), op.getStep())) {
    auto loop = scf::ForOp::create(rewriter, loc, lb, ub, step);
    ivs.push_back(loop.getInductionVar());
    rewriter.setInsertionPoint(loop.getBody()->getTerminator());
  }
  Block *body = op.getBody();
  // The body's scf.reduce has no operands (no reductions): drop it, then
  // move the rest in front of the innermost loop's scf.yield.
  rewriter.eraseOp(body->getTerminator());
  rewriter.inlineBlockBefore(body, rewriter.getInsertionBlock(),
                             rewriter.getInsertionPoint(), ivs);
  rewriter.eraseOp(op);
}

namespace {
struct SerializeNestedParallelLoopsPass
    : public attn::impl::SerializeNestedParallelLoopsPassBase<
          SerializeNestedParallelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<scf::ParallelOp> nested;
    getOperation().walk([&](scf::ParallelOp op) {
      if (op->getParentOfType<scf::ParallelOp>() && op.getNumResults() == 0 &&
          op.getInitVals().empty())
        nested.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    // Innermost first (a post-order walk): each is rewritten before the
    // loops around it, which keeps every collected op valid.
    for (scf::ParallelOp op : nested)
      serialize(rewriter, op);
  }
};
} // namespace
