//===- FoldAttentionBroadcasts.cpp - attn-fold-attention-broadcasts -------===//
//
// Implements attn-fold-attention-broadcasts: keys, values and masks that are
// broadcasts (repeated key/value heads of GQA/MQA) are read in place through
// attn.attention's indexing maps instead of being materialised.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/Transforms/Passes.h"

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Support/Einops.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <map>
#include <string>

namespace mlir::attn {
#define GEN_PASS_DEF_FOLDATTENTIONBROADCASTSPASS
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

/// The roles whose maps may leave out batch dimensions (and read size-1
/// dimensions through a constant 0), so a broadcast over them can be read in
/// place.
static bool mayOmitBatchDims(AttentionRole role) {
  return role == AttentionRole::Key || role == AttentionRole::Value ||
         role == AttentionRole::Mask;
}

/// Whether `role` may stop reading the domain dimension of `expr` (a map
/// result that a fold removes): a constant 0, a batch dimension, or any
/// dimension of a mask.
static bool mayDrop(AttentionRole role, AffineExpr expr, int64_t nb) {
  auto dim = dyn_cast<AffineDimExpr>(expr);
  if (!dim)
    return true;
  return role == AttentionRole::Mask ||
         static_cast<int64_t>(dim.getPosition()) < nb;
}

/// The attention rebuilt from `parts` replaces `op`; `parts.maps` must be
/// complete (one map per tensor operand).
static Operation *replaceAttention(PatternRewriter &rewriter, AttentionOp op,
                                   const AttentionParts &parts) {
  Operation *created = parts.create(rewriter, op.getLoc());
  rewriter.replaceOp(op, created->getResults());
  return created;
}

namespace {

/// An operand defined by `linalg.broadcast` is replaced by the broadcast's
/// source, read through the operand's map without the added dimensions:
/// element [i...] of the broadcast is element [i... without the added
/// dimensions] of the source, so the op reads the same values.
struct FoldBroadcastOperand : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getOffsets().empty())
      return rewriter.notifyMatchFailure(op, "a tile");
    int64_t nb = op.getNumBatchDims();
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    auto operands = getAttentionOperands(op);
    for (auto [i, entry] : llvm::enumerate(operands)) {
      AttentionRole role = entry.first;
      if (!mayOmitBatchDims(role))
        continue;
      auto broadcast = entry.second->get().getDefiningOp<linalg::BroadcastOp>();
      if (!broadcast)
        continue;
      ArrayRef<int64_t> added = broadcast.getDimensions();
      SmallVector<AffineExpr> kept;
      bool legal = true;
      for (auto [pos, expr] : llvm::enumerate(maps[i].getResults())) {
        if (!llvm::is_contained(added, static_cast<int64_t>(pos))) {
          kept.push_back(expr);
          continue;
        }
        legal &= mayDrop(role, expr, nb);
      }
      if (!legal)
        continue;
      AttentionParts parts = AttentionParts::fromOp(op);
      maps[i] = AffineMap::get(maps[i].getNumDims(), 0, kept, getContext());
      parts.maps = maps;
      *parts.getOperand(role) = broadcast.getInput();
      replaceAttention(rewriter, op, parts);
      return success();
    }
    return rewriter.notifyMatchFailure(op, "no broadcast operand to fold");
  }
};

/// A dimension of an operand's view that merges several axes of its source:
/// the domain dimension it reads is split into them.
struct Split {
  int64_t dim = -1;            // the domain dimension (a batch dimension)
  SmallVector<int64_t> sizes;  // the factors, outermost first
};

/// An operand defined by an `attn.rearrange` of a broadcast (any view: the
/// maps absorb a transposition), or by one that only adds or drops size-1
/// dimensions the operand reads through constant 0s, is replaced by the
/// rearrange's input.
/// A merged dimension (`b h g s d -> b (h g) s d`, or `(g h)`) splits the
/// domain dimension it reads into the merged factors; every other operand
/// reading that dimension is viewed split too (a rearrange, no copy), and
/// the results are merged back, so FoldBroadcastOperand can then drop the
/// broadcast factor from the operand's map.
struct FoldRearrangedOperand : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getOffsets().empty())
      return rewriter.notifyMatchFailure(op, "a tile");
    auto operands = getAttentionOperands(op);
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    for (auto [i, entry] : llvm::enumerate(operands)) {
      if (!mayOmitBatchDims(entry.first))
        continue;
      auto rearrange = entry.second->get().getDefiningOp<RearrangeOp>();
      if (!rearrange)
        continue;
      if (succeeded(fold(rewriter, op, i, rearrange, maps)))
        return success();
    }
    return rewriter.notifyMatchFailure(op, "no rearranged operand to fold");
  }

private:
  LogicalResult fold(PatternRewriter &rewriter, AttentionOp op, size_t index,
                     RearrangeOp rearrange,
                     SmallVector<AffineMap> maps) const {
    MLIRContext *ctx = getContext();
    auto broadcast = rearrange.getInput().getDefiningOp<linalg::BroadcastOp>();
    // A view that moves elements (eager Llama's k.transpose after
    // repeat_kv) folds only to reach a broadcast: the maps read any layout,
    // but which layout to read an ordinary operand in is not this pass's
    // choice.
    std::optional<::attn::RearrangePlan> plan = rearrange.getPlan();
    if (!plan || (!plan->isReshapeOnly() && !broadcast))
      return failure();
    int64_t nb = op.getNumBatchDims();
    AttentionRole role = getAttentionOperands(op)[index].first;
    AffineMap map = maps[index];
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();

    // The domain expression each elementary axis of the view is read at,
    // with the split dimension's factors as placeholders (symbols) first.
    size_t numAxes = plan->elementarySizes.size();
    SmallVector<AffineExpr> axisExpr(numAxes);
    std::optional<Split> split;
    SmallVector<int64_t> splitAxes;
    for (auto [j, group] : llvm::enumerate(plan->outputGroups)) {
      AffineExpr expr = map.getResult(j);
      if (group.empty()) {
        // A size-1 dimension the view adds: it may go if it is read at a
        // constant 0 or is a dimension of extent 1 the role need not read.
        auto dim = dyn_cast<AffineDimExpr>(expr);
        if (dim && (ranges[dim.getPosition()] != 1 || !mayDrop(role, expr, nb)))
          return failure();
        continue;
      }
      if (group.size() == 1) {
        axisExpr[group[0]] = expr;
        continue;
      }
      auto dim = dyn_cast<AffineDimExpr>(expr);
      if (!dim || static_cast<int64_t>(dim.getPosition()) >= nb || split)
        return failure();
      split = Split{static_cast<int64_t>(dim.getPosition()), {}};
      for (int64_t axis : group) {
        split->sizes.push_back(plan->elementarySizes[axis]);
        splitAxes.push_back(axis);
      }
    }
    // Splitting pays only to expose a broadcast dimension; without a split
    // the fold only removes size-1 dimensions.
    if (split) {
      if (!broadcast)
        return failure();
      // The broadcast's added dimensions, as elementary axes.
      bool exposes = false;
      for (int64_t d : broadcast.getDimensions())
        for (int64_t axis : plan->inputGroups[d])
          exposes |= llvm::is_contained(splitAxes, axis);
      if (!exposes)
        return failure();
    }

    // The new domain: the split dimension becomes its factors.
    int64_t extra = split ? static_cast<int64_t>(split->sizes.size()) - 1 : 0;
    int64_t numDims = nb + 4 + extra;
    auto remapDim = [&](AffineExpr expr) -> AffineExpr {
      auto dim = dyn_cast<AffineDimExpr>(expr);
      if (!dim)
        return expr;
      int64_t pos = dim.getPosition();
      return getAffineDimExpr(split && pos > split->dim ? pos + extra : pos,
                              ctx);
    };
    for (auto [k, axis] : llvm::enumerate(splitAxes))
      axisExpr[axis] = getAffineDimExpr(split->dim + k, ctx);

    // The source's map: one elementary axis per source dimension; size-1
    // axes the view drops are read at 0.
    SmallVector<AffineExpr> sourceExprs;
    for (const auto &group : plan->inputGroups) {
      if (group.size() != 1)
        return failure();
      AffineExpr expr = axisExpr[group[0]];
      if (!expr) {
        if (plan->elementarySizes[group[0]] != 1)
          return failure();
        expr = getAffineConstantExpr(0, ctx);
      } else if (!llvm::is_contained(splitAxes, group[0])) {
        expr = remapDim(expr);
      }
      sourceExprs.push_back(expr);
    }
    // Without a broadcast to expose, the fold must only remove size-1
    // dimensions, never add constant 0s to the map.
    auto constants = [](ArrayRef<AffineExpr> exprs) {
      return llvm::count_if(
          exprs, [](AffineExpr e) { return isa<AffineConstantExpr>(e); });
    };
    if (!broadcast && constants(sourceExprs) > constants(map.getResults()))
      return failure();
    // Dropped results must be ones the role need not read.
    for (AffineExpr expr : map.getResults())
      if (!llvm::is_contained(sourceExprs, remapDim(expr)) && !split &&
          !mayDrop(role, expr, nb))
        return failure();

    // Every operand in the new domain: the folded one reads the view's
    // input, the others reading the split dimension are viewed split.
    AttentionParts parts = AttentionParts::fromOp(op);
    auto operands = getAttentionOperands(op);
    Location loc = op.getLoc();
    SmallVector<std::pair<AttentionRole, Value>> newValues;
    SmallVector<AffineMap> newMaps;
    for (auto [i, entry] : llvm::enumerate(operands)) {
      Value value = entry.second->get();
      if (i == index) {
        newValues.push_back({entry.first, rearrange.getInput()});
        newMaps.push_back(AffineMap::get(numDims, 0, sourceExprs, ctx));
        continue;
      }
      SmallVector<AffineExpr> exprs;
      std::optional<int64_t> splitPos;
      for (auto [pos, expr] : llvm::enumerate(maps[i].getResults())) {
        auto dim = dyn_cast<AffineDimExpr>(expr);
        if (split && dim &&
            static_cast<int64_t>(dim.getPosition()) == split->dim) {
          splitPos = pos;
          for (int64_t k = 0; k <= extra; ++k)
            exprs.push_back(getAffineDimExpr(split->dim + k, ctx));
          continue;
        }
        exprs.push_back(remapDim(expr));
      }
      if (splitPos)
        value = createSplit(rewriter, loc, value, *splitPos, split->sizes,
                            /*merge=*/false);
      newValues.push_back({entry.first, value});
      newMaps.push_back(AffineMap::get(numDims, 0, exprs, ctx));
    }
    parts.inits.clear();
    SmallVector<std::optional<int64_t>> initSplitPos;
    for (auto [entry, value, newMap, oldMap] :
         llvm::zip(operands, newValues, newMaps, maps)) {
      bool isInit = entry.first == AttentionRole::Output ||
                    entry.first == AttentionRole::Lse;
      if (!isInit) {
        *parts.getOperand(entry.first) = value.second;
        continue;
      }
      parts.inits.push_back(value.second);
      std::optional<int64_t> pos;
      if (split)
        for (auto [p, expr] : llvm::enumerate(oldMap.getResults()))
          if (auto dim = dyn_cast<AffineDimExpr>(expr);
              dim && static_cast<int64_t>(dim.getPosition()) == split->dim)
            pos = p;
      initSplitPos.push_back(pos);
    }
    parts.maps = newMaps;
    // A score_mod reads the batch indices: its merged index is recomputed
    // from the factors.
    Region *scoreMod = parts.scoreMod;
    parts.scoreMod = nullptr;
    Operation *created = parts.create(rewriter, loc);
    if (scoreMod && !scoreMod->empty())
      rebuildScoreMod(rewriter, *scoreMod, created->getRegion(0), nb, split);
    SmallVector<Value> results;
    for (auto [result, pos] : llvm::zip(created->getResults(), initSplitPos))
      results.push_back(pos ? createSplit(rewriter, loc, result, *pos,
                                          split->sizes, /*merge=*/true)
                            : result);
    rewriter.replaceOp(op, results);
    return success();
  }

  /// `value` with dimension `pos` split into `sizes` (or, with `merge`,
  /// the dimensions from `pos` merged back): an attn.rearrange, a view.
  static Value createSplit(PatternRewriter &rewriter, Location loc,
                           Value value, int64_t pos, ArrayRef<int64_t> sizes,
                           bool merge) {
    auto type = cast<RankedTensorType>(value.getType());
    int64_t rank = type.getRank();
    std::string whole, parts, group = "(";
    SmallVector<NamedAttribute> sizeAttrs;
    for (auto [k, size] : llvm::enumerate(sizes)) {
      std::string name = "s" + std::to_string(k);
      group += (k ? " " : "") + name;
      parts += (k ? " " : "") + name;
      sizeAttrs.emplace_back(rewriter.getStringAttr(name),
                             rewriter.getI64IntegerAttr(size));
    }
    group += ")";
    SmallVector<int64_t> shape;
    int64_t mergedRank = merge ? rank - (sizes.size() - 1) : rank;
    std::string lhs, rhs;
    for (int64_t d = 0; d < mergedRank; ++d) {
      std::string name = "a" + std::to_string(d);
      lhs += (d ? " " : "") + (d == pos ? group : name);
      rhs += (d ? " " : "") + (d == pos ? parts : name);
    }
    if (merge)
      std::swap(lhs, rhs);
    for (int64_t d = 0; d < rank; ++d) {
      if (d == pos && !merge) {
        llvm::append_range(shape, sizes);
        continue;
      }
      if (d == pos && merge) {
        int64_t product = 1;
        for (int64_t size : sizes)
          product *= size;
        shape.push_back(product);
        d += sizes.size() - 1;
        continue;
      }
      shape.push_back(type.getDimSize(d));
    }
    auto resultType = RankedTensorType::get(shape, type.getElementType());
    return RearrangeOp::create(rewriter, loc, resultType, value,
                               rewriter.getStringAttr(lhs + " -> " + rhs),
                               rewriter.getDictionaryAttr(sizeAttrs));
  }

  /// `from`'s body in `to`, whose block has one index per batch dimension
  /// more where `split` split one: the original index is recomputed
  /// (row-major over the factors).
  static void rebuildScoreMod(PatternRewriter &rewriter, Region &from,
                              Region &to, int64_t nb,
                              const std::optional<Split> &split) {
    Block &old = from.front();
    IRMapping mapping;
    if (!split) {
      from.cloneInto(&to, mapping);
      return;
    }
    OpBuilder::InsertionGuard guard(rewriter);
    SmallVector<Type> types;
    SmallVector<Location> locs;
    int64_t extra = static_cast<int64_t>(split->sizes.size()) - 1;
    for (auto [i, arg] : llvm::enumerate(old.getArguments())) {
      int64_t count = (static_cast<int64_t>(i) == split->dim + 1) ? extra + 1 : 1;
      for (int64_t k = 0; k < count; ++k) {
        types.push_back(arg.getType());
        locs.push_back(arg.getLoc());
      }
    }
    Block *block = rewriter.createBlock(&to, to.end(), types, locs);
    // Argument 0 is the score, then the batch indices.
    int64_t first = split->dim + 1;
    Value index = block->getArgument(first);
    for (auto [k, size] : llvm::enumerate(ArrayRef(split->sizes).drop_front())) {
      Location loc = old.getArgument(first).getLoc();
      Value scaled = arith::MulIOp::create(
          rewriter, loc, index,
          arith::ConstantIndexOp::create(rewriter, loc, size));
      index = arith::AddIOp::create(rewriter, loc, scaled,
                                    block->getArgument(first + 1 + k));
    }
    for (auto [i, arg] : llvm::enumerate(old.getArguments())) {
      int64_t pos = static_cast<int64_t>(i);
      if (pos == first)
        mapping.map(arg, index);
      else
        mapping.map(arg, block->getArgument(pos > first ? pos + extra : pos));
    }
    for (Operation &inner : old)
      rewriter.clone(inner, mapping);
  }
};

struct FoldAttentionBroadcastsPass
    : public mlir::attn::impl::FoldAttentionBroadcastsPassBase<
          FoldAttentionBroadcastsPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldBroadcastOperand, FoldRearrangedOperand>(&getContext());
    // A split view of the other repeated operand (the values, when the keys
    // split the head dimension) composes with its merge to the broadcast
    // itself, which FoldBroadcastOperand then reads in place.
    RearrangeOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
