//===- MakeRhsRowMajor.cpp - attn-make-rhs-row-major ----------------------===//
//
// Implements attn-make-rhs-row-major: a contraction that the strategy
// configured for the micro-kernel reads an rhs stored reduction-innermost
// through an N-innermost copy.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::attn {
#define GEN_PASS_DEF_MAKERHSROWMAJORPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

/// Copies the rhs into a temporary with N innermost when it is stored with
/// another dimension innermost, so each reduction step reads one contiguous
/// rhs row instead of a strided column. Named ops are generalised first to
/// carry the new indexing map. Returns the op to tile (maybe `op` itself).
static linalg::LinalgOp makeRhsRowMajor(RewriterBase &rewriter,
                                        linalg::LinalgOp op,
                                        const ContractionPlan &plan) {
  MLIRContext *ctx = op.getContext();
  AffineMap rhsMap = op.getIndexingMapsArray()[plan.rhsIndex];
  std::optional<unsigned> pos =
      rhsMap.getResultPosition(getAffineDimExpr(plan.nDim, ctx));
  if (!pos || *pos == rhsMap.getNumResults() - 1)
    return op;

  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  linalg::GenericOp generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic) {
    FailureOr<linalg::GenericOp> generalized =
        linalg::generalizeNamedOp(rewriter, op);
    if (failed(generalized))
      return op;
    generic = *generalized;
  }

  Value rhs = generic.getDpsInputOperand(plan.rhsIndex)->get();
  auto type = cast<MemRefType>(rhs.getType());
  SmallVector<int64_t> perm;
  for (unsigned i = 0, e = type.getRank(); i < e; ++i)
    if (i != *pos)
      perm.push_back(i);
  perm.push_back(*pos);
  // Generalisation replaced `op`: insert before its replacement.
  rewriter.setInsertionPoint(generic);
  SmallVector<int64_t> shape;
  SmallVector<Value> dynamicSizes;
  SmallVector<AffineExpr> exprs;
  for (int64_t p : perm) {
    shape.push_back(type.getDimSize(p));
    if (type.isDynamicDim(p))
      dynamicSizes.push_back(memref::DimOp::create(rewriter, loc, rhs, p));
    exprs.push_back(rhsMap.getResult(p));
  }
  Value copy = memref::AllocOp::create(
      rewriter, loc, MemRefType::get(shape, type.getElementType()),
      dynamicSizes, rewriter.getI64IntegerAttr(64));
  linalg::TransposeOp::create(rewriter, loc, rhs, copy, perm);
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  maps[plan.rhsIndex] = AffineMap::get(rhsMap.getNumDims(), 0, exprs, ctx);
  rewriter.modifyOpInPlace(generic, [&] {
    generic.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
    generic->setOperand(plan.rhsIndex, copy);
  });
  rewriter.setInsertionPointAfter(generic);
  memref::DeallocOp::create(rewriter, loc, copy);
  return cast<linalg::LinalgOp>(generic.getOperation());
}

namespace {
struct MakeRhsRowMajorPass
    : public attn::impl::MakeRhsRowMajorPassBase<MakeRhsRowMajorPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachCollected<linalg::LinalgOp>(
        getOperation(), [&](linalg::LinalgOp op) {
          LoweringConfigAttr config = getLoweringConfig(op);
          if (!config)
            return;
          // A generalised named op does not inherit the config by itself.
          if (std::optional<ContractionPlan> plan = planContraction(op))
            setLoweringConfig(makeRhsRowMajor(rewriter, op, *plan), config);
        });
  }
};
} // namespace
