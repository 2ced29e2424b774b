//===- AttnToLinalg.h - attn to linalg lowering patterns --------*- C++ -*-===//
//
// Exposes the attn-to-linalg rewrite patterns so other passes and pipelines
// can mix them with their own.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CONVERSION_ATTNTOLINALG_ATTNTOLINALG_H
#define ATTN_CONVERSION_ATTNTOLINALG_ATTNTOLINALG_H

#include <cstdint>

namespace mlir {
class RewritePatternSet;
namespace attn {

/// Adds the patterns that rewrite attn.rearrange, attn.einsum and
/// attn.softmax into tensor/linalg/arith/math ops. The patterns only match
/// ops with static shapes. (attn.attention lowers through its own passes:
/// attn-tile-attention and attn-decompose-attention.)
void populateAttnToLinalgPatterns(RewritePatternSet &patterns);

} // namespace attn
} // namespace mlir

#endif // ATTN_CONVERSION_ATTNTOLINALG_ATTNTOLINALG_H
