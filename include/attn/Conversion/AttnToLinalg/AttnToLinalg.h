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

/// Adds the patterns that rewrite attn.rearrange, attn.einsum, attn.softmax
/// and attn.attention into tensor/linalg/arith/math ops. The patterns only
/// match ops with static shapes.
void populateAttnToLinalgPatterns(RewritePatternSet &patterns);

/// Adds the flash-attention lowering of attn.attention (every score kind):
/// scf.forall over batch dimensions and blocks of `qTile` queries, scf.for
/// over blocks of `kvTile` keys with an online softmax. It has a higher
/// benefit than the unfused lowering of populateAttnToLinalgPatterns, which
/// remains the fallback for shapes it does not handle. With `transposeKeys`,
/// `dot` attention transposes its keys once before the loop nest, so that
/// every block product reads Kᵀ with the key axis innermost. With
/// `additiveMasks`, a boolean mask becomes an additive one once, before it.
void populateFlashAttentionPatterns(RewritePatternSet &patterns,
                                    int64_t qTile, int64_t kvTile,
                                    bool transposeKeys = false,
                                    bool additiveMasks = false);

} // namespace attn
} // namespace mlir

#endif // ATTN_CONVERSION_ATTNTOLINALG_ATTNTOLINALG_H
