//===- TalkingHeads.h - talking-heads attention for attn-fuse-attention -*-===//
//
// CaiT's talking heads: the scores mixed across heads by a learnt [H, H]
// matrix before the softmax and the probabilities mixed by another after
// it (each optionally plus a per-head bias), then P·V. attn-fuse-attention
// rewrites the chain into a row-block loop nest.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_DIALECT_ATTN_TRANSFORMS_TALKINGHEADS_H
#define ATTN_LIB_DIALECT_ATTN_TRANSFORMS_TALKINGHEADS_H

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/PatternMatch.h"

#include <string>

namespace mlir::attn {

struct TalkingHeadsOptions {
  int64_t qTile = 32;
};

/// Rewrites the talking-heads chain whose softmax is `softmax` into an
/// scf.forall over (batch, query block) that computes, for one block of
/// queries and all heads at a time, the scores against every key, the
/// pre-softmax mix, an exact softmax over the whole key row, the
/// post-softmax mix and P·V. On success returns the op the remark goes on
/// and sets `description`. On failure returns null; `reason` is empty when
/// the softmax does not read head-mixed scores at all, else it names the
/// near miss.
Operation *fuseTalkingHeads(RewriterBase &rewriter, SoftmaxOp softmax,
                            const TalkingHeadsOptions &options,
                            std::string &description, std::string &reason);

} // namespace mlir::attn

#endif // ATTN_LIB_DIALECT_ATTN_TRANSFORMS_TALKINGHEADS_H
