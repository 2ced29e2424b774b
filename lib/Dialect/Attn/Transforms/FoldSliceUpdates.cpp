//===- FoldSliceUpdates.cpp - attn-fold-slice-updates ---------------------===//
//
// Implements attn-fold-slice-updates: `insert_slice(x[s] + d, into x)`
// becomes `x + pad(d)`, so that an in-place update of part of the scores
// (MViTv2's relative position terms on all but the class token) is an
// elementwise chain that attention recognition can follow.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::attn {
#define GEN_PASS_DEF_FOLDSLICEUPDATESPASS
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

namespace {

/// One elementwise step on the path from the inserted value down to the
/// slice it updates: `op` with the path through operand `pathOperand`.
struct Step {
  Operation *op;
  unsigned pathOperand;
};

/// Whether `read` reads exactly the part of `dest` that `insert` writes.
/// Equivalent extract ops of one source count as one (canonicalisation does
/// not CSE the two slices that `x[1:] = x[1:] + d` traces to).
bool readsInsertedSlice(tensor::ExtractSliceOp read, tensor::InsertSliceOp insert) {
  Value dest = insert.getDest();
  Value source = read.getSource();
  if (source != dest) {
    Operation *a = source.getDefiningOp(), *b = dest.getDefiningOp();
    if (!a || !b || !isa<tensor::ExtractSliceOp>(a) ||
        !OperationEquivalence::isEquivalentTo(
            a, b, OperationEquivalence::IgnoreLocations))
      return false;
  }
  return read.getStaticOffsets() == insert.getStaticOffsets() &&
         read.getStaticSizes() == insert.getStaticSizes() &&
         read.getStaticStrides() == insert.getStaticStrides() &&
         read.getType() == insert.getSourceType();
}

/// The steps from `value` (outermost first) down to a read of the inserted
/// slice, or failure. arith.addf may have the path on either side,
/// arith.subf only on the left.
LogicalResult findPath(Value value, tensor::InsertSliceOp insert,
                       SmallVectorImpl<Step> &steps, unsigned depth = 0) {
  if (auto read = value.getDefiningOp<tensor::ExtractSliceOp>())
    return success(readsInsertedSlice(read, insert));
  Operation *op = value.getDefiningOp();
  // A few terms at most in practice; the bound keeps a long chain linear.
  if (!op || depth > 16 || !isa<arith::AddFOp, arith::SubFOp>(op))
    return failure();
  unsigned candidates = isa<arith::AddFOp>(op) ? 2 : 1;
  for (unsigned k = 0; k < candidates; ++k) {
    SmallVector<Step> inner;
    if (succeeded(findPath(op->getOperand(k), insert, inner, depth + 1))) {
      steps.push_back({op, k});
      steps.append(inner.begin(), inner.end());
      return success();
    }
  }
  return failure();
}

struct FoldSliceUpdate : OpRewritePattern<tensor::InsertSliceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tensor::InsertSliceOp insert,
                                PatternRewriter &rewriter) const override {
    auto destType = dyn_cast<RankedTensorType>(insert.getDestType());
    RankedTensorType sliceType = insert.getSourceType();
    if (!destType || !destType.hasStaticShape() ||
        !isa<FloatType>(destType.getElementType()) ||
        sliceType.getRank() != destType.getRank() ||
        ShapedType::isDynamicShape(insert.getStaticOffsets()) ||
        ShapedType::isDynamicShape(insert.getStaticSizes()) ||
        llvm::any_of(insert.getStaticStrides(),
                     [](int64_t s) { return s != 1; }))
      return rewriter.notifyMatchFailure(insert, "not a static unit-stride "
                                                 "update of a float tensor");
    SmallVector<Step> steps;
    if (failed(findPath(insert.getSource(), insert, steps)))
      return rewriter.notifyMatchFailure(
          insert, "the inserted value is not the slice plus or minus terms");

    Location loc = insert.getLoc();
    SmallVector<OpFoldResult> low, high;
    for (auto [offset, size, full] :
         llvm::zip(insert.getStaticOffsets(), insert.getStaticSizes(),
                   destType.getShape())) {
      low.push_back(rewriter.getIndexAttr(offset));
      high.push_back(rewriter.getIndexAttr(full - offset - size));
    }
    Value zero = arith::ConstantOp::create(
        rewriter, loc, rewriter.getFloatAttr(destType.getElementType(), 0.0));
    // Innermost step first: each applies its term to the whole tensor.
    Value current = insert.getDest();
    for (const Step &step : llvm::reverse(steps)) {
      Value term = step.op->getOperand(1 - step.pathOperand);
      Value padded = tensor::PadOp::create(rewriter, loc, destType, term, low,
                                           high, zero);
      SmallVector<Value, 2> operands = {current, padded};
      if (step.pathOperand == 1)
        std::swap(operands[0], operands[1]);
      Operation *full = rewriter.create(
          step.op->getLoc(), step.op->getName().getIdentifier(), operands,
          TypeRange{destType}, step.op->getAttrs());
      current = full->getResult(0);
    }
    rewriter.replaceOp(insert, current);
    return success();
  }
};

struct FoldSliceUpdatesPass
    : public attn::impl::FoldSliceUpdatesPassBase<FoldSliceUpdatesPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldSliceUpdate>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
