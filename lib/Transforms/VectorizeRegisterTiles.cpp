//===- VectorizeRegisterTiles.cpp - attn-vectorize-register-tiles ---------===//
//
// Implements attn-vectorize-register-tiles: the register tiles that
// attn-tile-registers made (those with a `vector` level in their
// attn.lowering_config) become one vector.contract between transfers.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"
#include "attn/Dialect/Attn/IR/AttnAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::attn {
#define GEN_PASS_DEF_VECTORIZEREGISTERTILESPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

/// Rewrites a register tile as transfer_reads of whole operands, one
/// vector.contract with the op's own indexing maps, and a transfer_write.
/// linalg::vectorize only emits vector.contract for named ops; for generic
/// contractions with unit reduction steps it emits mulf/addf, which LLVM
/// may not fuse into FMAs without fast-math flags. A partial tile (the
/// peeled remainder of the M or N loop, of dynamic size at most the
/// register tile's) is computed as a whole register tile: its transfers are
/// out of bounds along that dimension, reading zeros and writing only the
/// rows and columns that exist.
static LogicalResult vectorizeTile(RewriterBase &rewriter, linalg::LinalgOp op,
                                   ArrayRef<int64_t> vectorSizes) {
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  if (op.hasDynamicShape()) {
    std::optional<ContractionPlan> plan = planContraction(op);
    if (!plan)
      return failure();
    for (auto [dim, bound] : llvm::enumerate(bounds)) {
      if (!ShapedType::isDynamic(bound))
        continue;
      if (dim == plan->nDim || (plan->mDim && dim == *plan->mDim))
        bound = vectorSizes[dim];
      else
        return failure();
    }
  }
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  auto shapeOf = [&](OpOperand &operand, SmallVector<bool> &inBounds) {
    auto type = cast<MemRefType>(operand.get().getType());
    SmallVector<int64_t> shape;
    for (auto [i, expr] :
         llvm::enumerate(op.getMatchingIndexingMap(&operand).getResults())) {
      shape.push_back(bounds[cast<AffineDimExpr>(expr).getPosition()]);
      inBounds.push_back(type.getDimSize(i) == shape.back());
    }
    return VectorType::get(shape, type.getElementType());
  };
  auto readWhole = [&](OpOperand &operand) -> Value {
    Value memref = operand.get();
    auto type = cast<MemRefType>(memref.getType());
    SmallVector<bool> inBounds;
    VectorType vectorType = shapeOf(operand, inBounds);
    SmallVector<Value> indices(type.getRank(), zero);
    Value padding = arith::ConstantOp::create(
        rewriter, loc, rewriter.getZeroAttr(type.getElementType()));
    return vector::TransferReadOp::create(rewriter, loc, vectorType, memref,
                                          indices, padding, inBounds);
  };
  Value lhs = readWhole(*op.getDpsInputOperand(0));
  Value rhs = readWhole(*op.getDpsInputOperand(1));
  OpOperand &outOperand = *op.getDpsInitOperand(0);
  Value out = outOperand.get();
  Value acc = readWhole(outOperand);
  SmallVector<Attribute> iterators;
  for (utils::IteratorType iterator : op.getIteratorTypesArray())
    iterators.push_back(vector::IteratorTypeAttr::get(
        ctx, iterator == utils::IteratorType::parallel
                 ? vector::IteratorType::parallel
                 : vector::IteratorType::reduction));
  Value result = vector::ContractionOp::create(
      rewriter, loc, lhs, rhs, acc,
      rewriter.getAffineMapArrayAttr(op.getIndexingMapsArray()),
      rewriter.getArrayAttr(iterators));
  auto outType = cast<MemRefType>(out.getType());
  SmallVector<Value> indices(outType.getRank(), zero);
  SmallVector<bool> inBounds;
  (void)shapeOf(outOperand, inBounds);
  vector::TransferWriteOp::create(rewriter, loc, result, out, indices,
                                  inBounds);
  rewriter.eraseOp(op);
  return success();
}

namespace {
struct VectorizeRegisterTilesPass
    : public attn::impl::VectorizeRegisterTilesPassBase<
          VectorizeRegisterTilesPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    // Partial tiles that cannot be vectorised stay linalg ops (lowered to
    // loops later).
    forEachCollected<linalg::LinalgOp>(
        getOperation(), [&](linalg::LinalgOp op) {
          LoweringConfigAttr config = getLoweringConfig(op);
          if (!config || config.getVector().empty())
            return;
          SmallVector<int64_t> sizes(config.getVector());
          setLoweringConfig(op, nullptr);
          if (sizes.size() == op.getNumLoops())
            (void)vectorizeTile(rewriter, op, sizes);
        });
  }
};
} // namespace
