//===- VectorizeFlashSteps.cpp - attn-vectorize-flash-steps ---------------===//
//
// Implements attn-vectorize-flash-steps: the elementwise and row-reduction
// steps of a flash-attention nest's online softmax become vector ops, one
// row per scf.for iteration.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"
#include "attn/Dialect/Attn/IR/AttnAttrs.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::attn {
#define GEN_PASS_DEF_VECTORIZEFLASHSTEPSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

/// A static elementwise or row-reduction linalg op inside the flash nest
/// (its softmax steps: scale and mask, row max, exp, row sum, rescaling)
/// becomes vector ops on its whole tile. Each operand must read rows
/// contiguously, as in attn-vectorize-rows; reductions over the innermost
/// dimension become one horizontal reduction per row. Dynamic tiles (the
/// last partial block) keep their loops.
static void vectorizeFlashStep(RewriterBase &rewriter, linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.hasDynamicShape() ||
      op.getNumLoops() == 0 || op.getNumLoops() > 2 ||
      op.getNumDpsInits() != 1 || !getFlashNest(op) ||
      isa<linalg::TransposeOp>(op.getOperation()) || planContraction(op))
    return;
  int64_t elements = 1;
  for (int64_t range : op.getStaticLoopRanges())
    elements *= range;
  if (elements > 64 * 256)
    return;
  unsigned inner = op.getNumLoops() - 1;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type) {
      if (!operand.get().getType().isIntOrFloat())
        return;
      continue;
    }
    // Constant-0 results read a broadcast (size-1) dimension: a padding
    // mask's single row.
    if (!isa<FloatType>(type.getElementType()) || !type.isLastDimUnitStride() ||
        !readsRows(op, operand, inner, /*allowBroadcast=*/true))
      return;
  }
  // One row per iteration: a per-row operand (the running max) is then a
  // scalar broadcast into the row's vector, not a 2-D broadcast-transpose.
  Operation *row = op;
  if (op.getNumLoops() == 2) {
    scf::SCFTilingOptions options;
    options.setLoopType(scf::SCFTilingOptions::LoopType::ForOp)
        .setTileSizes({rewriter.getIndexAttr(1), rewriter.getIndexAttr(0)});
    FailureOr<scf::SCFTilingResult> tiled = tileAndErase(rewriter, op, options);
    if (failed(tiled))
      return;
    row = tiled->tiledOps.back();
  }
  for (Operation *piece :
       splitAtVectorMultiple(rewriter, cast<linalg::LinalgOp>(row), inner)) {
    rewriter.setInsertionPoint(piece);
    if (succeeded(linalg::vectorize(rewriter, piece)))
      rewriter.eraseOp(piece);
  }
}

namespace {
struct VectorizeFlashStepsPass
    : public attn::impl::VectorizeFlashStepsPassBase<VectorizeFlashStepsPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachCollected<linalg::LinalgOp>(
        getOperation(),
        [&](linalg::LinalgOp op) { vectorizeFlashStep(rewriter, op); });
  }
};
} // namespace
