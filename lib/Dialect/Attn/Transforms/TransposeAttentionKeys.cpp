//===- TransposeAttentionKeys.cpp - attn-transpose-attention-keys ---------===//
//
// Implements attn-transpose-attention-keys: the keys of a dot-score
// attention are copied once to (batch..., K1, K2), which its key map reads.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Dialect/Attn/Transforms/Transforms.h"

#include "AttentionRewriteUtils.h"

namespace mlir::attn {
#define GEN_PASS_DEF_TRANSPOSEATTENTIONKEYSPASS
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

LogicalResult mlir::attn::transposeAttentionKeys(RewriterBase &rewriter,
                                                 AttentionOp op) {
  // Kᵀ once, O(Sk d), rather than a transposed copy of every key block in
  // every block product: the keys, in whatever layout (a head split
  // "b n h d" read in place, a "b h n d" one), are copied once to
  // (batch..., K1, K2), so each block's Q Kᵀ reads rows of Kᵀ in place.
  if (op.getScore() != ScoreKind::Dot || !isTopLevel(op))
    return failure();
  AffineMap keyMap = op.getMatchingIndexingMap(&op.getKeyMutable());
  MLIRContext *ctx = op.getContext();
  SmallVector<AffineExpr> target;
  for (int64_t d = 0; d < op.getNumBatchDims(); ++d)
    if (keyMap.isFunctionOfDim(d))
      target.push_back(getAffineDimExpr(d, ctx));
  target.push_back(getAffineDimExpr(op.getHeadDim(), ctx));
  target.push_back(getAffineDimExpr(op.getKeyDim(), ctx));
  // A broadcast (constant-0) key dimension keeps its layout.
  if (target.size() != keyMap.getNumResults() ||
      llvm::equal(target, keyMap.getResults()))
    return failure();
  SmallVector<int64_t> perm;
  for (AffineExpr expr : target)
    perm.push_back(*keyMap.getResultPosition(expr));
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  auto keyType = op.getKey().getType();
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(keyType.getDimSize(p));
  Value empty =
      tensor::EmptyOp::create(rewriter, loc, shape, keyType.getElementType());
  Value keysT =
      linalg::TransposeOp::create(rewriter, loc, op.getKey(), empty, perm)
          .getResult()[0];
  AttentionParts parts = AttentionParts::fromOp(op);
  parts.key = keysT;
  parts.setMap(AttentionRole::Key,
               AffineMap::get(keyMap.getNumDims(), 0, target, ctx));
  replaceAttention(rewriter, op, parts);
  return success();
}

namespace {
struct TransposeAttentionKeysPass
    : public mlir::attn::impl::TransposeAttentionKeysPassBase<
          TransposeAttentionKeysPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachAttention(getOperation(), rewriter, transposeAttentionKeys);
  }
};
} // namespace
