//===- CodegenUtils.h - helpers shared by the CPU codegen passes -*- C++
//-*-===//
//
// What several of the CPU tiling and vectorisation passes need alike: the
// contraction plan that maps a linalg contraction onto the micro-kernel,
// tiling an op on buffers, and the split of rows at a vector multiple.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_TRANSFORMS_CODEGENUTILS_H
#define ATTN_LIB_TRANSFORMS_CODEGENUTILS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"

#include <optional>

namespace mlir::attn {

/// How the loop dimensions of a contraction map onto the micro-kernel.
struct ContractionPlan {
  /// The input holding the result's innermost dimension; its rows are what
  /// the micro-kernel loads as vectors.
  unsigned rhsIndex;
  /// The result's innermost dimension (vectorised).
  unsigned nDim;
  /// The innermost result dimension used by the other input only (the rows
  /// of the register tile); absent for matrix-vector products.
  std::optional<unsigned> mDim;
};

/// Accepts contractions on buffers, all operands of one float type, whose
/// result's innermost dimension belongs to exactly one input.
std::optional<ContractionPlan> planContraction(linalg::LinalgOp op);

/// Replaces the contraction `op` on buffers by a linalg.generic computing
/// out + a * b (`outFirst`) or a * b + out over `inputs`, read through `maps`
/// (the output's last), then frees `temporaries`: buffers made for it.
linalg::GenericOp replaceByContraction(RewriterBase &rewriter,
                                       linalg::LinalgOp op, ValueRange inputs,
                                       ArrayRef<AffineMap> maps, bool outFirst,
                                       ArrayRef<Value> temporaries);

/// Tiles `op` and erases it (buffer semantics: it has no results to
/// replace). Returns the tiling result.
FailureOr<scf::SCFTilingResult>
tileAndErase(RewriterBase &rewriter, linalg::LinalgOp op,
             const scf::SCFTilingOptions &options);

/// Tile sizes as index attributes (0 = not tiled).
SmallVector<OpFoldResult> getIndexAttrs(OpBuilder &b, ArrayRef<int64_t> sizes);

/// Whether dimensions [first, first + count) of `type` collapse into one
/// without a copy (memref.collapse_shape of those, every other dimension
/// kept on its own).
bool collapsesInPlace(MemRefType type, unsigned first, unsigned count);

/// Collapses each of `groups` (runs of consecutive loops of `op`) into one
/// loop (`linalg::collapseOpIterationDims`) where every operand that reads
/// the group reads its loops consecutively, in order, from dimensions that
/// collapse without a copy (`collapsesInPlace`); the other groups are left
/// out. Replaces `op` when something collapsed.
void collapseContiguousLoops(RewriterBase &rewriter, linalg::GenericOp op,
                             ArrayRef<ReassociationIndices> groups);

/// Whether `op` reads `operand` one row at a time along loop `inner`: its
/// indexing map is a projected permutation (constant-0 results, which read a
/// size-1 broadcast dimension, only if `allowBroadcast`) whose last result
/// is `inner` whenever it uses `inner`.
bool readsRows(linalg::LinalgOp op, OpOperand &operand, unsigned inner,
               bool allowBroadcast);

/// An op on static buffers whose loop `inner` (a row, or a register tile's
/// columns) is longer than 16 but not a multiple of 16 (Swin's 49 keys: a
/// row of 49, a register tile of 17 columns) as two ops on static sub-ranges,
/// the multiple of 16 and the rest. LLVM builds a vector<49xf32> or
/// vector<17xf32> element by element through the stack; a vector<48xf32> is
/// three registers. The pieces run in order on the same buffers, so a
/// reduction along `inner` continues from where the first piece left its
/// accumulator. Ops that read linalg.index (the causal mask's column) stay
/// whole. Returns the ops to vectorise.
SmallVector<Operation *> splitAtVectorMultiple(RewriterBase &rewriter,
                                               linalg::LinalgOp row,
                                               unsigned inner);

/// Applies the canonicalisation patterns of everything loaded (unless
/// `canonicalize` is false) plus `extra` to `root`, greedily.
void applySimplification(Operation *root,
                         function_ref<void(RewritePatternSet &)> extra,
                         bool canonicalize = true);

/// Applies `transform` to every `OpTy` under `root`, collected first: the
/// transforms erase the op they are given and create others, which a walk
/// in progress must not visit.
template <typename OpTy, typename Transform>
void forEachCollected(Operation *root, Transform transform) {
  SmallVector<OpTy> ops;
  root->walk([&](OpTy op) { ops.push_back(op); });
  for (OpTy op : ops)
    transform(op);
}

} // namespace mlir::attn

#endif // ATTN_LIB_TRANSFORMS_CODEGENUTILS_H
