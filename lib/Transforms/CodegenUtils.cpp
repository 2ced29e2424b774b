//===- CodegenUtils.cpp - helpers shared by the CPU codegen passes --------===//
//
// Implements the helpers declared in CodegenUtils.h.
//
//===----------------------------------------------------------------------===//

#include "CodegenUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;
using namespace mlir::attn;

std::optional<ContractionPlan>
mlir::attn::planContraction(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op))
    return std::nullopt;
  Type elementType =
      getElementTypeOrSelf(op.getDpsInitOperand(0)->get().getType());
  if (!isa<FloatType>(elementType))
    return std::nullopt;
  for (Value input : op.getDpsInputs())
    if (getElementTypeOrSelf(input.getType()) != elementType)
      return std::nullopt;

  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap outMap = maps.back();
  if (!outMap.isProjectedPermutation() || outMap.getNumResults() == 0)
    return std::nullopt;
  auto dimAt = [](AffineMap map, unsigned i) {
    return cast<AffineDimExpr>(map.getResult(i)).getPosition();
  };
  ContractionPlan plan;
  plan.nDim = dimAt(outMap, outMap.getNumResults() - 1);
  bool inLhs = maps[0].isFunctionOfDim(plan.nDim);
  bool inRhs = maps[1].isFunctionOfDim(plan.nDim);
  // A batch dimension innermost in the result is not a matrix product
  // layout the micro-kernel handles.
  if (inLhs == inRhs)
    return std::nullopt;
  plan.rhsIndex = inRhs ? 1 : 0;
  unsigned lhsIndex = 1 - plan.rhsIndex;
  // Every reduction must run along both inputs (a K dimension): one summed
  // in a single input ("ab,cd->bd" sums a in the lhs alone) leaves that
  // input a scalar in the register tile, which vector.contract rejects.
  for (auto [dim, iterator] : llvm::enumerate(op.getIteratorTypesArray()))
    if (iterator == utils::IteratorType::reduction &&
        (!maps[0].isFunctionOfDim(dim) || !maps[1].isFunctionOfDim(dim)))
      return std::nullopt;
  // The innermost such dimension, skipping size-1 ones ("b n c, o c -> b n
  // o" with n = 1): a unit M would make every register tile one row.
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  for (int i = outMap.getNumResults() - 1; i >= 0; --i) {
    unsigned dim = dimAt(outMap, i);
    if (maps[lhsIndex].isFunctionOfDim(dim) &&
        !maps[plan.rhsIndex].isFunctionOfDim(dim)) {
      if (!plan.mDim)
        plan.mDim = dim;
      if (ranges[dim] != 1) {
        plan.mDim = dim;
        break;
      }
    }
  }
  return plan;
}

linalg::GenericOp
mlir::attn::replaceByContraction(RewriterBase &rewriter, linalg::LinalgOp op,
                                 ValueRange inputs, ArrayRef<AffineMap> maps,
                                 bool outFirst, ArrayRef<Value> temporaries) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  auto contraction = linalg::GenericOp::create(
      rewriter, loc, inputs, op.getDpsInits(), maps, op.getIteratorTypesArray(),
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value prod = arith::MulFOp::create(b, l, args[0], args[1]);
        Value sum = outFirst ? arith::AddFOp::create(b, l, args[2], prod)
                             : arith::AddFOp::create(b, l, prod, args[2]);
        linalg::YieldOp::create(b, l, sum);
      });
  rewriter.setInsertionPointAfter(contraction);
  for (Value temporary : temporaries)
    memref::DeallocOp::create(rewriter, loc, temporary);
  rewriter.eraseOp(op);
  return contraction;
}

FailureOr<scf::SCFTilingResult>
mlir::attn::tileAndErase(RewriterBase &rewriter, linalg::LinalgOp op,
                         const scf::SCFTilingOptions &options) {
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (failed(tiled) || tiled->tiledOps.empty())
    return failure();
  rewriter.eraseOp(op);
  return tiled;
}

SmallVector<OpFoldResult> mlir::attn::getIndexAttrs(OpBuilder &b,
                                                    ArrayRef<int64_t> sizes) {
  SmallVector<OpFoldResult> attrs;
  for (int64_t size : sizes)
    attrs.push_back(b.getIndexAttr(size));
  return attrs;
}

bool mlir::attn::readsRows(linalg::LinalgOp op, OpOperand &operand,
                           unsigned inner, bool allowBroadcast) {
  AffineMap map = op.getMatchingIndexingMap(&operand);
  if (!map.isProjectedPermutation(allowBroadcast))
    return false;
  return !map.isFunctionOfDim(inner) ||
         map.getResult(map.getNumResults() - 1) ==
             getAffineDimExpr(inner, op.getContext());
}

bool mlir::attn::collapsesInPlace(MemRefType type, unsigned first,
                                  unsigned count) {
  SmallVector<ReassociationIndices> groups;
  for (int64_t r = 0; r < type.getRank(); ++r) {
    if (r > first && r < first + count)
      groups.back().push_back(r);
    else
      groups.push_back({r});
  }
  return memref::CollapseShapeOp::isGuaranteedCollapsible(type, groups);
}

void mlir::attn::collapseContiguousLoops(
    RewriterBase &rewriter, linalg::GenericOp op,
    ArrayRef<ReassociationIndices> groups) {
  auto collapses = [&](const ReassociationIndices &group) {
    if (!linalg::areDimSequencesPreserved(op.getIndexingMapsArray(), {group}))
      return false;
    for (OpOperand &operand : op->getOpOperands()) {
      AffineMap map = op.getMatchingIndexingMap(&operand);
      std::optional<unsigned> first = map.getResultPosition(
          getAffineDimExpr(group.front(), op.getContext()));
      if (!first)
        continue;
      auto type = dyn_cast<MemRefType>(operand.get().getType());
      if (!type || !collapsesInPlace(type, *first, group.size()))
        return false;
    }
    return true;
  };
  SmallVector<ReassociationIndices> kept;
  for (const ReassociationIndices &group : groups)
    if (group.size() > 1 && collapses(group))
      kept.push_back(group);
  if (kept.empty())
    return;
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::CollapseResult> collapsed =
      linalg::collapseOpIterationDims(op, kept, rewriter);
  if (succeeded(collapsed))
    rewriter.replaceOp(op, collapsed->results);
}

SmallVector<Operation *>
mlir::attn::splitAtVectorMultiple(RewriterBase &rewriter, linalg::LinalgOp row,
                                  unsigned inner) {
  constexpr int64_t kVector = 16;
  int64_t length = row.getStaticLoopRanges()[inner];
  int64_t head = length / kVector * kVector;
  auto generic = dyn_cast<linalg::GenericOp>(row.getOperation());
  if (head == 0 || head == length || row.hasDynamicShape() ||
      (generic && generic.hasIndexSemantics()))
    return {row};
  Location loc = row.getLoc();
  MLIRContext *ctx = row.getContext();
  auto piece = [&](int64_t offset, int64_t size) -> Operation * {
    SmallVector<Value> operands;
    for (OpOperand &operand : row->getOpOperands()) {
      Value value = operand.get();
      auto type = dyn_cast<MemRefType>(value.getType());
      AffineMap map = type ? row.getMatchingIndexingMap(&operand) : AffineMap();
      std::optional<unsigned> position =
          map ? map.getResultPosition(getAffineDimExpr(inner, ctx))
              : std::nullopt;
      if (!position) {
        operands.push_back(value);
        continue;
      }
      SmallVector<OpFoldResult> offsets(type.getRank(),
                                        rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes,
          strides(type.getRank(), rewriter.getIndexAttr(1));
      for (int64_t dimSize : type.getShape())
        sizes.push_back(rewriter.getIndexAttr(dimSize));
      offsets[*position] = rewriter.getIndexAttr(offset);
      sizes[*position] = rewriter.getIndexAttr(size);
      operands.push_back(memref::SubViewOp::create(rewriter, loc, value,
                                                   offsets, sizes, strides));
    }
    return clone(rewriter, row, TypeRange{}, operands);
  };
  rewriter.setInsertionPoint(row);
  SmallVector<Operation *> pieces = {piece(0, head),
                                     piece(head, length - head)};
  rewriter.eraseOp(row);
  return pieces;
}

void mlir::attn::applySimplification(
    Operation *root, function_ref<void(RewritePatternSet &)> extra,
    bool canonicalize) {
  MLIRContext *ctx = root->getContext();
  RewritePatternSet patterns(ctx);
  for (Dialect *dialect :
       canonicalize ? ctx->getLoadedDialects() : std::vector<Dialect *>{})
    dialect->getCanonicalizationPatterns(patterns);
  if (canonicalize)
    for (RegisteredOperationName name : ctx->getRegisteredOperations())
      name.getCanonicalizationPatterns(patterns, ctx);
  if (extra)
    extra(patterns);
  // Not converging within the driver's iteration limit still leaves valid
  // IR; only a broken op would be worth failing the pass for.
  (void)applyPatternsGreedily(root, std::move(patterns));
}
