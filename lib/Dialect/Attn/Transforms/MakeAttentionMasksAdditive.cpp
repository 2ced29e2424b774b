//===- MakeAttentionMasksAdditive.cpp - attn-make-attention-masks-additive
//---===//
//
// Implements attn-make-attention-masks-additive: a boolean attention mask
// becomes 0 / -inf in the compute type once.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Dialect/Attn/Transforms/Transforms.h"

#include "AttentionRewriteUtils.h"

#include "attn/Dialect/Attn/Utils/FloatUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <limits>

namespace mlir::attn {
#define GEN_PASS_DEF_MAKEATTENTIONMASKSADDITIVEPASS
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

LogicalResult mlir::attn::makeAttentionMaskAdditive(RewriterBase &rewriter,
                                                    AttentionOp op) {
  // A boolean mask as 0 / -inf once, O(mask): the per-block masking is then
  // a compare and select on f32 tiles, which vectorises (a vector of i1
  // would load bits, not the mask's bytes). The op is marked keep_or_drop:
  // -inf replaces the score rather than being added to it, since NaN + -inf
  // is NaN and a masked key must be ignored whatever it holds.
  Value mask = op.getMask();
  if (!mask || !isTopLevel(op) ||
      !cast<RankedTensorType>(mask.getType()).getElementType().isInteger(1))
    return failure();
  Type compute = op.getComputeType();
  rewriter.setInsertionPoint(op);
  AttentionParts parts = AttentionParts::fromOp(op);
  parts.mask = mapTensor(
      rewriter, op.getLoc(), mask, compute,
      [&](OpBuilder &gb, Location gl, Value keep) {
        Value zero = createFloatConstant(gb, gl, compute, 0.0);
        Value drop = createFloatConstant(
            gb, gl, compute, -std::numeric_limits<double>::infinity());
        return arith::SelectOp::create(gb, gl, keep, zero, drop).getResult();
      });
  parts.keepOrDrop = true;
  replaceAttention(rewriter, op, parts);
  return success();
}

namespace {
struct MakeAttentionMasksAdditivePass
    : public mlir::attn::impl::MakeAttentionMasksAdditivePassBase<
          MakeAttentionMasksAdditivePass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachAttention(getOperation(), rewriter, makeAttentionMaskAdditive);
  }
};
} // namespace
