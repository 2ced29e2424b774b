//===- ReAttention.h - two-pass re-attention for attn-fuse-attention -*- C++
//-*-===//
//
// DeepViT's re-attention (softmax probabilities mixed across heads by a
// learnt matrix, then a LayerNorm over the heads, then P·V), which
// attn-fuse-attention rewrites into its exact two-pass flash form.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_DIALECT_ATTN_TRANSFORMS_REATTENTION_H
#define ATTN_LIB_DIALECT_ATTN_TRANSFORMS_REATTENTION_H

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/PatternMatch.h"

#include <string>

namespace mlir::attn {

struct ReAttentionOptions {
  int64_t qTile = 32;
  int64_t kvTile = 32;
};

/// Rewrites the re-attention chain that starts at `softmax`: pass 1 is an
/// attn.attention that yields the scores' row log-sum-exp, pass 2 a loop
/// nest over (batch, query block) and key blocks that recomputes the scores
/// of all heads, mixes and normalises them and accumulates P'·V. On success
/// returns pass 1's attention op and sets `description` (for the remark). On
/// failure returns null; `reason` is empty when the softmax is not followed
/// by a head mix at all (not a re-attention), else it names the near miss.
AttentionOp fuseReAttention(RewriterBase &rewriter, SoftmaxOp softmax,
                            const ReAttentionOptions &options,
                            std::string &description, std::string &reason);

} // namespace mlir::attn

#endif // ATTN_LIB_DIALECT_ATTN_TRANSFORMS_REATTENTION_H
