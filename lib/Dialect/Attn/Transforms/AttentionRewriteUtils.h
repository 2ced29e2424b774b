//===- AttentionRewriteUtils.h - helpers of the attention rewrites -*- C++
//-*-===//
//
// What the passes that rewrite an attention op's operands share: mapping a
// whole tensor elementwise, replacing the op, and which ops they apply to.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_DIALECT_ATTN_TRANSFORMS_ATTENTIONREWRITEUTILS_H
#define ATTN_LIB_DIALECT_ATTN_TRANSFORMS_ATTENTIONREWRITEUTILS_H

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::attn {

/// An elementwise map of a whole tensor into one of `type`.
inline Value mapTensor(OpBuilder &b, Location loc, Value input, Type type,
                       function_ref<Value(OpBuilder &, Location, Value)> fn) {
  auto inputType = cast<RankedTensorType>(input.getType());
  AffineMap id =
      AffineMap::getMultiDimIdentityMap(inputType.getRank(), b.getContext());
  Value empty = tensor::EmptyOp::create(b, loc, inputType.getShape(), type);
  return linalg::GenericOp::create(
             b, loc, TypeRange{empty.getType()}, ValueRange{input},
             ValueRange{empty}, ArrayRef<AffineMap>{id, id},
             SmallVector<utils::IteratorType>(inputType.getRank(),
                                              utils::IteratorType::parallel),
             [&](OpBuilder &gb, Location gl, ValueRange args) {
               linalg::YieldOp::create(gb, gl, fn(gb, gl, args[0]));
             })
      .getResult(0);
}

/// Replaces `op` by the op `parts` describe.
inline void replaceAttention(RewriterBase &rewriter, AttentionOp op,
                             const AttentionParts &parts) {
  rewriter.setInsertionPoint(op);
  Operation *created = parts.create(rewriter, op.getLoc());
  rewriter.replaceOp(op, created->getResults());
}

inline bool isTopLevel(AttentionOp op) {
  return op.getOffsets().empty() &&
         llvm::all_of(op->getOperandTypes(), [](Type type) {
           auto shaped = dyn_cast<ShapedType>(type);
           return !shaped || shaped.hasStaticShape();
         });
}

/// Runs `apply` on every attn.attention under `root`, collected first.
template <typename Fn>
void forEachAttention(Operation *root, RewriterBase &rewriter, Fn apply) {
  SmallVector<AttentionOp> ops;
  root->walk([&](AttentionOp op) { ops.push_back(op); });
  for (AttentionOp op : ops)
    (void)apply(rewriter, op);
}

} // namespace mlir::attn

#endif // ATTN_LIB_DIALECT_ATTN_TRANSFORMS_ATTENTIONREWRITEUTILS_H
