//===- VectorizeRows.cpp - attn-vectorize-rows ----------------------------===//
//
// Implements attn-vectorize-rows: row-wise linalg ops on buffers outside the
// flash nest (head split/merge, bias adds, broadcasts, row statistics)
// become an scf.forall over rows, each row a vector per operand.
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
#define GEN_PASS_DEF_VECTORIZEROWSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

/// An all-parallel linalg op on buffers whose operands all keep the
/// innermost loop dimension innermost (or do not use it): a transpose that
/// keeps rows (attention's head split "b n (h d) -> b h n d"), a broadcast
/// of a bias, an elementwise add. It becomes one scf.forall iteration per
/// row, each row vectorised (one vector per operand row), instead of scalar
/// loops.
static void vectorizeRows(RewriterBase &rewriter, linalg::LinalgOp op) {
  if (!isa<linalg::TransposeOp, linalg::BroadcastOp, linalg::GenericOp,
           linalg::ReduceOp, linalg::FillOp>(op.getOperation()) ||
      !op.hasPureBufferSemantics() || op.hasDynamicShape() ||
      op.getNumLoops() < 2 || op.getNumDpsInits() != 1 || getFlashNest(op))
    return;
  // All parallel, or a reduction of each row of one input (LayerNorm's mean
  // and variance): only the innermost loop may reduce. (Contractions are
  // register-tiled instead.)
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (auto [dim, iterator] : llvm::enumerate(iterators))
    if (iterator != utils::IteratorType::parallel &&
        dim + 1 != iterators.size())
      return;
  if (op.getNumReductionLoops() > 0 && op.getNumDpsInputs() != 1)
    return;
  if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation()))
    if (generic.hasIndexSemantics())
      return;
  unsigned inner = op.getNumLoops() - 1;
  int64_t rowSize = op.getStaticLoopRanges()[inner];
  if (rowSize < 8)
    return;
  // Rows longer than 1024 elements (ViT's 3072-wide MLP activations) are
  // split into equal chunks, each one vector: a longer vector would only
  // be split again by LLVM, at a cost in compile time.
  int64_t chunk = rowSize;
  if (rowSize > 1024) {
    if (op.getNumReductionLoops() > 0)
      return;
    chunk = 0;
    for (int64_t c = 1024; c >= 64 && !chunk; c /= 2)
      if (rowSize % c == 0)
        chunk = c;
    if (!chunk)
      return;
  }
  for (OpOperand &operand : op->getOpOperands()) {
    // A scalar (linalg.fill's value) is broadcast into every row.
    if (operand.get().getType().isIntOrFloat())
      continue;
    if (!isa<MemRefType>(operand.get().getType()) ||
        !readsRows(op, operand, inner, /*allowBroadcast=*/false))
      return;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    // Rows of every operand contiguous: unit innermost stride. No i1
    // buffers: a vector<Nxi1> load reads bits, not the buffer's bytes.
    auto type = cast<MemRefType>(operand.get().getType());
    if (!type.getElementType().isIntOrFloat() ||
        type.getElementTypeBitWidth() < 8)
      return;
    if (map.isFunctionOfDim(inner) && !type.isLastDimUnitStride())
      return;
  }
  SmallVector<OpFoldResult> sizes(inner, rewriter.getIndexAttr(1));
  sizes.push_back(rewriter.getIndexAttr(chunk == rowSize ? 0 : chunk));
  scf::SCFTilingOptions options;
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp)
      .setTileSizes(sizes);
  FailureOr<scf::SCFTilingResult> tiled = tileAndErase(rewriter, op, options);
  if (failed(tiled))
    return;
  Operation *row = tiled->tiledOps.back();
  rewriter.setInsertionPoint(row);
  if (succeeded(linalg::vectorize(rewriter, row)))
    rewriter.eraseOp(row);
}

namespace {
struct VectorizeRowsPass
    : public attn::impl::VectorizeRowsPassBase<VectorizeRowsPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachCollected<linalg::LinalgOp>(
        getOperation(),
        [&](linalg::LinalgOp op) { vectorizeRows(rewriter, op); });
  }
};
} // namespace
