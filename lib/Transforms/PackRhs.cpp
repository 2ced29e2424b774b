//===- PackRhs.cpp - attn-pack-rhs ----------------------------------------===//
//
// Implements attn-pack-rhs: inside each output tile, a contraction's rhs
// block whose rows are a multiple of 4 KiB apart is copied into a buffer
// with padded rows that the register tiles read instead.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/SmallBitVector.h"

namespace mlir::attn {
#define GEN_PASS_DEF_PACKRHSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

/// A constant upper bound of dimension `dim` of `buffer`: its static size,
/// or the smallest constant among the results of the affine.min that gives a
/// subview its size (what tiling produces for partial tiles).
static std::optional<int64_t> getSizeUpperBound(Value buffer, unsigned dim) {
  auto type = cast<MemRefType>(buffer.getType());
  if (!type.isDynamicDim(dim))
    return type.getDimSize(dim);
  auto subview = buffer.getDefiningOp<memref::SubViewOp>();
  if (!subview)
    return std::nullopt;
  llvm::SmallBitVector dropped = subview.getDroppedDims();
  SmallVector<OpFoldResult> sizes = subview.getMixedSizes();
  unsigned seen = 0;
  for (auto [i, size] : llvm::enumerate(sizes)) {
    if (dropped.test(i))
      continue;
    if (seen++ != dim)
      continue;
    if (std::optional<int64_t> constant = getConstantIntValue(size))
      return constant;
    auto min = cast<Value>(size).getDefiningOp<affine::AffineMinOp>();
    if (!min)
      return std::nullopt;
    std::optional<int64_t> bound;
    for (AffineExpr expr : min.getMap().getResults())
      if (auto c = dyn_cast<AffineConstantExpr>(expr))
        bound = bound ? std::min(*bound, c.getValue()) : c.getValue();
    return bound;
  }
  return std::nullopt;
}

/// Copies a 2-D rhs block (reduction rows x N columns, read in place with
/// the matrix's row stride) into a buffer allocated at `allocPoint` whose
/// rows are 16 floats longer than the block: the micro-kernel then streams
/// rows that are contiguous in memory, and, because the padded stride is no
/// multiple of 4 KiB, rows that do not all fall into the same L1 set (a
/// matrix of 1024 or 2048 f32 columns read in place does that, and every
/// register tile misses L1). The copy is one vector row
/// per step, masked for partial blocks. Returns the op reading the copy.
static void packRhs(RewriterBase &rewriter, linalg::LinalgOp op,
                    const ContractionPlan &plan, Operation *allocPoint) {
  OpOperand *rhsOperand = op.getDpsInputOperand(plan.rhsIndex);
  Value rhs = rhsOperand->get();
  auto type = dyn_cast<MemRefType>(rhs.getType());
  if (!type || type.getRank() != 2 || !type.isLastDimUnitStride() ||
      !isa<FloatType>(type.getElementType()))
    return;
  // Only rows whose stride is a multiple of 4 KiB (1024, 2048, 3072 f32
  // columns ...) all map to one L1 set; other strides spread over the sets
  // and the copy, repeated for every output tile that shares the block,
  // costs more than it saves (measured: no gain at 512, 768 or 1536
  // columns, 2048^3 matmul 122-132 -> 144-149 GFLOP/s).
  SmallVector<int64_t> rhsStrides;
  int64_t rhsOffset;
  if (failed(type.getStridesAndOffset(rhsStrides, rhsOffset)) ||
      ShapedType::isDynamic(rhsStrides[0]) ||
      (rhsStrides[0] * type.getElementTypeBitWidth() / 8) % 4096 != 0)
    return;
  std::optional<int64_t> rowsBound = getSizeUpperBound(rhs, 0);
  std::optional<int64_t> colsBound = getSizeUpperBound(rhs, 1);
  if (!rowsBound || !colsBound || *colsBound < 32 || *colsBound > 1024 ||
      *rowsBound < 8)
    return;

  Location loc = op.getLoc();
  Type elementType = type.getElementType();
  int64_t stride = *colsBound + 16;
  rewriter.setInsertionPoint(allocPoint);
  Value buffer = memref::AllocOp::create(
      rewriter, loc, MemRefType::get({*rowsBound, stride}, elementType),
      rewriter.getI64IntegerAttr(64));
  rewriter.setInsertionPointAfter(allocPoint);
  memref::DeallocOp::create(rewriter, loc, buffer);

  rewriter.setInsertionPoint(op);
  Value rows = memref::DimOp::create(rewriter, loc, rhs, 0);
  Value cols = memref::DimOp::create(rewriter, loc, rhs, 1);
  Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
  SmallVector<OpFoldResult> offsets(2, rewriter.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = {rows, cols};
  SmallVector<OpFoldResult> strides(2, rewriter.getIndexAttr(1));
  Value packed =
      memref::SubViewOp::create(rewriter, loc, buffer, offsets, sizes, strides);
  auto rowType = VectorType::get({*colsBound}, elementType);
  bool fullRows = !type.isDynamicDim(1);
  Value padding = arith::ConstantOp::create(
      rewriter, loc, elementType, rewriter.getFloatAttr(elementType, 0.0));
  scf::ForOp::create(
      rewriter, loc, c0, rows, c1, ValueRange{},
      [&](OpBuilder &b, Location nl, Value row, ValueRange) {
        SmallVector<bool> inBounds = {fullRows};
        Value v = vector::TransferReadOp::create(b, nl, rowType, rhs,
                                                 ValueRange{row, c0}, padding,
                                                 ArrayRef<bool>(inBounds));
        vector::TransferWriteOp::create(b, nl, v, packed, ValueRange{row, c0},
                                        ArrayRef<bool>(inBounds));
        scf::YieldOp::create(b, nl);
      });
  rewriter.modifyOpInPlace(op, [&] { rhsOperand->set(packed); });
}

/// The op an output tile's packed rhs is allocated before and freed after:
/// the outermost loop inside the output tile's scf.forall (the reduction
/// blocks), or the op itself; null when `op` is in no output tile (the
/// flash nest distributes its own work and packs nothing).
static Operation *getOutputTileRoot(Operation *op) {
  if (getFlashNest(op))
    return nullptr;
  Operation *root = op;
  while (Operation *parent = root->getParentOp()) {
    if (isa<scf::ForallOp>(parent))
      return root;
    root = parent;
  }
  return nullptr;
}

namespace {
struct PackRhsPass : public attn::impl::PackRhsPassBase<PackRhsPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachCollected<linalg::LinalgOp>(
        getOperation(), [&](linalg::LinalgOp op) {
          if (!getLoweringConfig(op))
            return;
          std::optional<ContractionPlan> plan = planContraction(op);
          Operation *allocPoint = getOutputTileRoot(op);
          if (plan && allocPoint)
            packRhs(rewriter, op, *plan, allocPoint);
        });
  }
};
} // namespace
