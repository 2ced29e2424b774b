//===- Transforms.h - rewrites of attn.attention ----------------*- C++ -*-===//
//
// The rewrites behind the attention passes, for passes and pipelines that
// apply them to chosen ops (convert-attn-to-linalg's flash lowering).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_TRANSFORMS_TRANSFORMS_H
#define ATTN_DIALECT_ATTN_TRANSFORMS_TRANSFORMS_H

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/PatternMatch.h"

namespace mlir::attn {

/// attn-tile-attention on one op: an scf.forall over (batch..., blocks of
/// `qTile` queries), mapped #attn.flash_nest, whose tiles reduce blocks of
/// `kvTile` keys with attn.online_attention steps. Fails (leaving the op)
/// on dynamic or empty shapes.
LogicalResult tileAttention(RewriterBase &rewriter, AttentionOp op,
                            int64_t qTile, int64_t kvTile);

/// attn-decompose-attention on one op: its AggregatedOpInterface
/// decomposition replaces it.
LogicalResult decomposeAttention(RewriterBase &rewriter, Operation *op);

/// attn-transpose-attention-keys on one op: dot-score keys are transposed
/// once to (..., K1, K2), which the op then reads through its key map.
LogicalResult transposeAttentionKeys(RewriterBase &rewriter, AttentionOp op);

/// attn-widen-attention-operands on one op: f16/bf16 keys and values of a
/// dot score are widened to the compute type once (bf16 ones left as they
/// are with `keepBf16`).
LogicalResult widenAttentionOperands(RewriterBase &rewriter, AttentionOp op,
                                     bool keepBf16 = false);

/// attn-make-attention-masks-additive on one op: a boolean mask becomes
/// 0 / -inf in the compute type once.
LogicalResult makeAttentionMaskAdditive(RewriterBase &rewriter,
                                        AttentionOp op);

} // namespace mlir::attn

#endif // ATTN_DIALECT_ATTN_TRANSFORMS_TRANSFORMS_H
