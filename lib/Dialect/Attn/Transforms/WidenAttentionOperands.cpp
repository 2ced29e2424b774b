//===- WidenAttentionOperands.cpp - attn-widen-attention-operands ---------===//
//
// Implements attn-widen-attention-operands: f16/bf16 keys and values of a
// dot-score attention are widened to the compute type once.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Dialect/Attn/Transforms/Transforms.h"

#include "AttentionRewriteUtils.h"

#include "attn/Dialect/Attn/Utils/FloatUtils.h"

namespace mlir::attn {
#define GEN_PASS_DEF_WIDENATTENTIONOPERANDSPASS
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

LogicalResult mlir::attn::widenAttentionOperands(RewriterBase &rewriter,
                                                 AttentionOp op,
                                                 bool keepBf16) {
  // f16/bf16 keys and values widened once, O(Sk (d + dv)): every block
  // product is then an f32 matmul, which the CPU micro-kernel vectorises
  // (with bf16 operands it stayed scalar, ~2.6 instead of ~136 GFLOP/s).
  // The widening is exact and the products were computed in f32 anyway.
  Type compute = op.getComputeType();
  if (op.getScore() != ScoreKind::Dot || !isTopLevel(op) ||
      op.getQuery().getType().getElementType() == compute)
    return failure();
  AttentionParts parts = AttentionParts::fromOp(op);
  rewriter.setInsertionPoint(op);
  bool changed = false;
  for (Value *operand : {&parts.key, &parts.value}) {
    Type element = cast<RankedTensorType>(operand->getType()).getElementType();
    // bf16 x bf16 -> f32 is what AMX tiles multiply: kept, the block
    // products run there instead of on the f32 FMA units.
    if (element == compute || (keepBf16 && element.isBF16()))
      continue;
    *operand = mapTensor(rewriter, op.getLoc(), *operand, compute,
                         [&](OpBuilder &gb, Location gl, Value x) {
                           return convertFloat(gb, gl, x, compute);
                         });
    changed = true;
  }
  if (!changed)
    return failure();
  replaceAttention(rewriter, op, parts);
  return success();
}

namespace {
struct WidenAttentionOperandsPass
    : public mlir::attn::impl::WidenAttentionOperandsPassBase<
          WidenAttentionOperandsPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachAttention(getOperation(), rewriter,
                     [&](RewriterBase &r, AttentionOp op) {
                       return widenAttentionOperands(r, op, keepBf16);
                     });
  }
};
} // namespace
