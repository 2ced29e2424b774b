//===- VectorizeRows.cpp - attn-vectorize-rows ----------------------------===//
//
// Implements attn-vectorize-rows: row-wise linalg ops on buffers outside the
// flash nest (head split/merge, bias adds, broadcasts, row statistics)
// become an scf.forall over rows, each row a vector per operand.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::attn {
#define GEN_PASS_DEF_VECTORIZEROWSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

/// Operations a body may have before its rows are cut into kShortChunk
/// pieces; a bias add, a residual or a LayerNorm's final scale has fewer.
constexpr int64_t kMaxOpsPerLongRow = 8;
constexpr int64_t kShortChunk = 64;

/// Whether `op`'s body is long once lowered: more than kMaxOpsPerLongRow
/// operations, or a math function (erf, exp, tanh become polynomials of a
/// dozen or more operations in attn-approximate-math).
static bool hasLongBody(linalg::LinalgOp op) {
  Block *body = op.getBlock();
  if (int64_t(body->getOperations().size()) - 1 > kMaxOpsPerLongRow)
    return true;
  return llvm::any_of(body->without_terminator(), [](Operation &inner) {
    return isa<math::MathDialect>(inner.getDialect());
  });
}

/// Rows shorter than this (one AVX-512 vector) are merged with the
/// dimension before them when every operand allows it.
constexpr int64_t kShortRow = 16;

/// `op` with its two innermost loops merged into one, as long as the
/// innermost is shorter than kShortRow and a row loop stays outside, every operand stores those two
/// dimensions consecutively and contiguously (or does not use them) and
/// the op is all parallel: an elementwise op over 7x7 windows then has
/// rows of 49 (or 196 for 4 windows' worth), not 7, which the row
/// vectoriser below would leave as scalar loops. Returns `op` unchanged
/// when nothing merges.
static linalg::LinalgOp mergeShortRows(RewriterBase &rewriter,
                                       linalg::LinalgOp op) {
  // A transpose that keeps its two innermost dimensions in place merges as
  // a generic (linalg::collapseOpIterationDims would clone a named
  // transpose with its permutation of the old rank): bf16 heads merged into
  // the pairs a prepared weight reads ("b h n (d e) -> b n h d e", e = 2)
  // were otherwise copied one 2-byte element at a time (7% of G1's bf16
  // time).
  if (auto transpose = dyn_cast<linalg::TransposeOp>(op.getOperation())) {
    ArrayRef<int64_t> perm = transpose.getPermutation();
    int64_t rank = perm.size();
    if (rank >= 3 && perm[rank - 1] == rank - 1 &&
        perm[rank - 2] == rank - 2 && op.hasPureBufferSemantics() &&
        !op.hasDynamicShape() &&
        op.getStaticLoopRanges().back() < kShortRow) {
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::GenericOp> generic =
          linalg::generalizeNamedOp(rewriter, op);
      if (succeeded(generic))
        op = *generic;
    }
  }
  while (isa<linalg::GenericOp, linalg::CopyOp>(op.getOperation()) &&
         op.hasPureBufferSemantics() && !op.hasDynamicShape() &&
         op.getNumLoops() >= 3 &&
         op.getNumLoops() == op.getNumParallelLoops() && !getFlashNest(op)) {
    if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation()))
      if (generic.hasIndexSemantics())
        break;
    unsigned inner = op.getNumLoops() - 1;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (ranges[inner] >= kShortRow)
      break;
    // A merged row past 1024 must still split into equal chunks (below).
    int64_t mergedSize = ranges[inner - 1] * ranges[inner];
    if (mergedSize > 1024 && mergedSize % kShortChunk != 0)
      break;
    // A long body needs its rows cut into chunks of 16 to 64 (below).
    if (hasLongBody(op) && mergedSize > kShortChunk && mergedSize % 16 != 0)
      break;
    SmallVector<ReassociationIndices> merged = {{inner - 1, inner}};
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    if (!llvm::all_of(maps,
                      [](AffineMap m) { return m.isProjectedPermutation(); }) ||
        !linalg::areDimSequencesPreserved(maps, merged))
      break;
    bool collapsible = true;
    for (OpOperand &operand : op->getOpOperands()) {
      auto type = dyn_cast<MemRefType>(operand.get().getType());
      if (!type)
        continue;
      AffineMap map = op.getMatchingIndexingMap(&operand);
      std::optional<unsigned> pos = map.getResultPosition(
          rewriter.getAffineDimExpr(inner - 1));
      if (!pos)
        continue;
      if (!collapsesInPlace(type, *pos, 2))
        collapsible = false;
    }
    if (!collapsible)
      break;
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::CollapseResult> collapsed =
        linalg::collapseOpIterationDims(op, merged, rewriter);
    if (failed(collapsed))
      break;
    rewriter.replaceOp(op, collapsed->results);
    op = collapsed->collapsedOp;
  }
  return op;
}

/// An all-parallel linalg op on buffers whose operands all keep the
/// innermost loop dimension innermost (or do not use it): a transpose that
/// keeps rows (attention's head split "b n (h d) -> b h n d"), a broadcast
/// of a bias, an elementwise add. It becomes one scf.forall iteration per
/// row, each row vectorised (one vector per operand row), instead of scalar
/// loops.
static void vectorizeRows(RewriterBase &rewriter, linalg::LinalgOp op,
                          const FrozenRewritePatternSet &rowReductions) {
  if (!isa<linalg::TransposeOp, linalg::BroadcastOp, linalg::GenericOp,
           linalg::ReduceOp, linalg::FillOp, linalg::CopyOp>(
          op.getOperation()) ||
      !op.hasPureBufferSemantics() || op.hasDynamicShape() ||
      op.getNumLoops() < 2 || op.getNumDpsInits() != 1 || getFlashNest(op))
    return;
  // All parallel, or a reduction of each row (LayerNorm's mean and
  // variance, with the elementwise ops fused into them): only the innermost
  // loop may reduce, and each input is read either at every loop (the row)
  // or at none of the reduced ones (its mean). A contraction's operands
  // each leave out a parallel loop; they are register-tiled instead.
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (auto [dim, iterator] : llvm::enumerate(iterators))
    if (iterator != utils::IteratorType::parallel &&
        dim + 1 != iterators.size())
      return;
  if (op.getNumReductionLoops() > 0)
    for (OpOperand *input : op.getDpsInputOperands()) {
      AffineMap map = op.getMatchingIndexingMap(input);
      if (map.getNumResults() != op.getNumLoops() &&
          map.isFunctionOfDim(iterators.size() - 1))
        return;
    }
  if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation()))
    if (generic.hasIndexSemantics())
      return;
  unsigned inner = op.getNumLoops() - 1;
  int64_t rowSize = op.getStaticLoopRanges()[inner];
  if (rowSize < 8)
    return;
  // Rows longer than 1024 elements (ViT's 3072-wide MLP activations) are
  // split into equal chunks, each one vector: a longer vector would only
  // be split again by LLVM, at a cost in compile time.
  int64_t chunk = rowSize;
  if (rowSize > 1024) {
    if (op.getNumReductionLoops() > 0)
      return;
    chunk = 0;
    for (int64_t c = 1024; c >= 64 && !chunk; c /= 2)
      if (rowSize % c == 0)
        chunk = c;
    if (!chunk)
      return;
  }
  // A body with more than a few operations (GELU's erf polynomial) keeps
  // dozens of values live per element; on a row of 768 that is hundreds of
  // zmm registers' worth, which LLVM spills to the stack and reloads for
  // every step (ViT-Tiny's GELU: 7% of the model). Chunks of 64 elements
  // (four registers per value) stay in registers. Parallel rows only: a
  // reduction's chunks would be a sequential loop.
  if (hasLongBody(op) && op.getNumReductionLoops() == 0)
    for (int64_t c = kShortChunk; c >= 16; c /= 2)
      if (chunk > c && chunk % c == 0) {
        chunk = c;
        break;
      }
  // A bf16 row of 8k + 1 elements (9, 17, 49, 65: a Swin window of 7 x 7)
  // as one vector makes LLVM 22's x86 backend abort when the target
  // converts bf16 natively ("Do not know how to soft promote this
  // operator's operand", on loads, adds and stores of such vectors). Such a
  // row runs as its multiple of 16 and the rest (splitAtVectorMultiple, as
  // the flash steps and register tiles cut their rows of 49); a row of 9,
  // with no multiple of 16 in it, stays a loop.
  bool oddBf16Row =
      chunk > 8 && chunk % 8 == 1 &&
      llvm::any_of(op->getOperandTypes(),
                   [](Type t) { return getElementTypeOrSelf(t).isBF16(); });
  if (oddBf16Row && chunk < 16)
    return;
  for (OpOperand &operand : op->getOpOperands()) {
    // A scalar (linalg.fill's value) is broadcast into every row.
    if (operand.get().getType().isIntOrFloat())
      continue;
    if (!isa<MemRefType>(operand.get().getType()) ||
        !readsRows(op, operand, inner, /*allowBroadcast=*/false))
      return;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    // Rows of every operand contiguous: unit innermost stride. No i1
    // buffers: a vector<Nxi1> load reads bits, not the buffer's bytes.
    auto type = cast<MemRefType>(operand.get().getType());
    if (!type.getElementType().isIntOrFloat() ||
        type.getElementTypeBitWidth() < 8)
      return;
    if (map.isFunctionOfDim(inner) && !type.isLastDimUnitStride())
      return;
  }
  bool reduces = op.getNumReductionLoops() > 0;
  SmallVector<OpFoldResult> sizes(inner, rewriter.getIndexAttr(1));
  sizes.push_back(rewriter.getIndexAttr(chunk == rowSize ? 0 : chunk));
  scf::SCFTilingOptions options;
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp)
      .setTileSizes(sizes);
  FailureOr<scf::SCFTilingResult> tiled = tileAndErase(rewriter, op, options);
  if (failed(tiled))
    return;
  auto row = cast<linalg::LinalgOp>(tiled->tiledOps.back());
  SmallVector<Operation *> pieces = {row};
  if (oddBf16Row)
    pieces = splitAtVectorMultiple(rewriter, row, inner);
  for (Operation *piece : pieces) {
    rewriter.setInsertionPoint(piece);
    if (failed(linalg::vectorize(rewriter, piece)))
      return;
    rewriter.eraseOp(piece);
  }
  // A row's reduction becomes a 1-D vector.reduction now: left a
  // vector.multi_reduction of a product (the variance's sum of squares
  // once (x - mean)^2 is fused into it), attn-drop-vector-unit-dims would
  // take it for a dot product and attn-lower-vectors would unroll it into
  // one scalar FMA per element.
  if (reduces)
    (void)applyPatternsGreedily(tiled->loops.front(), rowReductions);
}

namespace {
struct VectorizeRowsPass
    : public attn::impl::VectorizeRowsPassBase<VectorizeRowsPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    RewritePatternSet patterns(&getContext());
    vector::populateVectorMultiReductionLoweringPatterns(
        patterns, vector::VectorMultiReductionLowering::InnerReduction);
    FrozenRewritePatternSet rowReductions(std::move(patterns));
    forEachCollected<linalg::LinalgOp>(
        getOperation(), [&](linalg::LinalgOp op) {
          vectorizeRows(rewriter, mergeShortRows(rewriter, op),
                        rowReductions);
        });
  }
};
} // namespace
