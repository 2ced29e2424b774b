//===- VectorizeTransposes.cpp - attn-vectorize-transposes ----------------===//
//
// Implements attn-vectorize-transposes: transposes that move the innermost
// dimension become 16 x 16 blocks transposed in registers.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::attn {
#define GEN_PASS_DEF_VECTORIZETRANSPOSESPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

/// A transpose that moves the innermost dimension (the flash lowering's Kᵀ,
/// a "b n h d -> b h d n" layout change) is a strided gather element by
/// element. It becomes 16 x 16 blocks instead: 16 rows of the source read as
/// vectors, transposed in registers (vector.transpose, lowered to AVX-512
/// shuffles) and written as 16 rows of the result. Edge blocks use masked
/// transfers.
static void vectorizeTranspose(RewriterBase &rewriter, linalg::TransposeOp op) {
  constexpr int64_t kBlock = 16;
  ArrayRef<int64_t> perm = op.getPermutation();
  int64_t rank = perm.size();
  if (!op.hasPureBufferSemantics() || op.hasDynamicShape() || rank < 2 ||
      perm.back() == rank - 1)
    return;
  auto inType = cast<MemRefType>(op.getInput().getType());
  auto outType = cast<MemRefType>(op.getInit().getType());
  Type elementType = inType.getElementType();
  if (!inType.isLastDimUnitStride() || !outType.isLastDimUnitStride() ||
      !elementType.isIntOrFloat() || elementType.getIntOrFloatBitWidth() < 8)
    return;
  // The output dimension that reads the input's innermost one, and the input
  // dimension the output's innermost one reads.
  int64_t outRows = llvm::find(perm, rank - 1) - perm.begin();
  int64_t inRows = perm.back();
  SmallVector<OpFoldResult> sizes(rank, rewriter.getIndexAttr(1));
  sizes[rank - 1] = sizes[outRows] = rewriter.getIndexAttr(kBlock);
  scf::SCFTilingOptions options;
  options
      .setLoopType(getFlashNest(op) ? scf::SCFTilingOptions::LoopType::ForOp
                                    : scf::SCFTilingOptions::LoopType::ForallOp)
      .setTileSizes(sizes);
  FailureOr<scf::SCFTilingResult> tiled = tileAndErase(rewriter, op, options);
  if (failed(tiled))
    return;
  auto block = cast<linalg::TransposeOp>(tiled->tiledOps.back());
  Location loc = block.getLoc();
  rewriter.setInsertionPoint(block);
  // The block's two non-unit dimensions as a 2-D view.
  auto view2D = [&](Value buffer, int64_t rowDim) -> Value {
    auto type = cast<MemRefType>(buffer.getType());
    SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    SmallVector<OpFoldResult> viewSizes =
        memref::getMixedSizes(rewriter, loc, buffer);
    MemRefType viewType = memref::SubViewOp::inferRankReducedResultType(
        {type.getDimSize(rowDim), type.getDimSize(rank - 1)}, type, offsets,
        viewSizes, strides);
    return memref::SubViewOp::create(rewriter, loc, viewType, buffer, offsets,
                                     viewSizes, strides);
  };
  Value source = view2D(block.getInput(), inRows);
  Value result = view2D(block.getInit(), outRows);
  auto inBounds = [](Value view) {
    auto shape = cast<MemRefType>(view.getType()).getShape();
    return SmallVector<bool>{shape[0] == kBlock, shape[1] == kBlock};
  };
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value padding = arith::ConstantOp::create(rewriter, loc,
                                            rewriter.getZeroAttr(elementType));
  Value rows = vector::TransferReadOp::create(
      rewriter, loc, VectorType::get({kBlock, kBlock}, elementType), source,
      ValueRange{zero, zero}, padding, inBounds(source));
  Value transposed =
      vector::TransposeOp::create(rewriter, loc, rows, ArrayRef<int64_t>{1, 0});
  vector::TransferWriteOp::create(rewriter, loc, transposed, result,
                                  ValueRange{zero, zero}, inBounds(result));
  rewriter.eraseOp(block);
}

namespace {
struct VectorizeTransposesPass
    : public attn::impl::VectorizeTransposesPassBase<VectorizeTransposesPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachCollected<linalg::TransposeOp>(
        getOperation(),
        [&](linalg::TransposeOp op) { vectorizeTranspose(rewriter, op); });
  }
};
} // namespace
