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

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

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

/// A row's NaN-ignoring max (`vector.multi_reduction <maxnumf>` of one
/// f32 row whose length is a multiple of 16) as a running maximum over its
/// 16-lane pieces, `select(x > r, x, r)` from -inf, then one horizontal
/// reduction and the accumulator. The select is one `vmaxps` (it keeps `r`
/// when `x` is NaN, exactly as maxnumf does), and since `r` can never hold
/// a NaN, the horizontal reduction is marked `nnan` and needs no NaN fix-up
/// either: LLVM expands maxnumf reductions with a compare and blend per
/// step (~70 instructions per row of 64, one 64-key block's row max took 9%
/// of h8 n4096 d64), this is ~11.
static void lowerRowMax(RewriterBase &rewriter,
                        vector::MultiDimReductionOp op) {
  constexpr int64_t kLanes = 16;
  VectorType source = op.getSourceVectorType();
  if (op.getKind() != vector::CombiningKind::MAXNUMF ||
      !source.getElementType().isF32() || source.isScalable())
    return;
  ArrayRef<int64_t> shape = source.getShape();
  int64_t length = shape.back();
  // One row: every dimension but the reduced innermost one is 1.
  if (length % kLanes != 0 || source.getNumElements() != length ||
      op.getReductionDims() != ArrayRef<int64_t>{int64_t(shape.size()) - 1})
    return;
  auto accType = dyn_cast<VectorType>(op.getAcc().getType());
  if (accType && accType.getNumElements() != 1)
    return;
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Type f32 = rewriter.getF32Type();
  auto row = VectorType::get({length}, f32);
  auto piece = VectorType::get({kLanes}, f32);
  Value flat = vector::ShapeCastOp::create(rewriter, loc, row, op.getSource());
  Value running = arith::ConstantOp::create(
      rewriter, loc,
      DenseElementsAttr::get(
          piece, rewriter.getF32FloatAttr(
                     -std::numeric_limits<float>::infinity())));
  for (int64_t offset = 0; offset < length; offset += kLanes) {
    Value x = vector::ExtractStridedSliceOp::create(
        rewriter, loc, flat, ArrayRef<int64_t>{offset},
        ArrayRef<int64_t>{kLanes}, ArrayRef<int64_t>{1});
    Value greater = arith::CmpFOp::create(
        rewriter, loc, arith::CmpFPredicate::OGT, x, running);
    running = arith::SelectOp::create(rewriter, loc, greater, x, running);
  }
  Value max = vector::ReductionOp::create(
      rewriter, loc, vector::CombiningKind::MAXNUMF, running, Value(),
      arith::FastMathFlags::nnan);
  Value acc = op.getAcc();
  if (accType)
    acc = vector::ExtractOp::create(
        rewriter, loc, acc, SmallVector<int64_t>(accType.getRank(), 0));
  Value result = arith::MaxNumFOp::create(rewriter, loc, max, acc);
  if (accType)
    result = vector::BroadcastOp::create(rewriter, loc, accType, result);
  rewriter.replaceOp(op, result);
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
    forEachCollected<vector::MultiDimReductionOp>(
        getOperation(), [&](vector::MultiDimReductionOp op) {
          if (getFlashNest(op))
            lowerRowMax(rewriter, op);
        });
  }
};
} // namespace
