//===- TileAttention.cpp - attn-tile-attention ----------------------------===//
//
// Implements attn-tile-attention: attn.attention becomes the flash nest, an
// scf.forall over (batch..., query blocks) whose tiles reduce their keys
// with attn.online_attention steps in an scf.for, then normalise.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Dialect/Attn/Transforms/Transforms.h"

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Dialect/Attn/Utils/FloatUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace mlir::attn {
#define GEN_PASS_DEF_TILEATTENTIONPASS
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

static Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// `value` (read through `map`) sliced along domain dimension `dim` to
/// [offset, offset + size); other dimensions whole.
static Value sliceAlong(OpBuilder &b, Location loc, Value value, AffineMap map,
                        int64_t dim, OpFoldResult offset, OpFoldResult size) {
  std::optional<unsigned> pos =
      map.getResultPosition(getAffineDimExpr(dim, b.getContext()));
  if (!pos)
    return value;
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes, strides(type.getRank(), b.getIndexAttr(1));
  SmallVector<int64_t> shape(type.getShape());
  for (int64_t d = 0; d < type.getRank(); ++d)
    sizes.push_back(b.getIndexAttr(type.getDimSize(d)));
  offsets[*pos] = offset;
  sizes[*pos] = size;
  std::optional<int64_t> staticSize = getConstantIntValue(size);
  shape[*pos] = staticSize ? *staticSize : ShapedType::kDynamic;
  return tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), value,
      offsets, sizes, strides);
}

namespace {

/// How the tiles of one attention are built.
struct FlashTiler {
  FlashTiler(RewriterBase &rewriter, AttentionOp op, int64_t qTile,
             int64_t kvTile)
      : rewriter(rewriter), op(op), loc(op.getLoc()), ctx(op.getContext()),
        qTile(qTile), kvTile(kvTile) {}

  LogicalResult run() {
    for (Value operand : op->getOperands())
      if (auto type = dyn_cast<RankedTensorType>(operand.getType());
          type && !type.hasStaticShape())
        return rewriter.notifyMatchFailure(op, "dynamic shape");
    nb = op.getNumBatchDims();
    ranges = op.getStaticLoopRanges();
    sq = ranges[nb];
    sk = ranges[nb + 2];
    if (llvm::is_contained(ranges, 0))
      return rewriter.notifyMatchFailure(op, "empty dimension");
    compute = op.getComputeType();
    // Tiles larger than the sequence would only add masking work.
    tq = std::min(qTile, sq);
    tk = std::min(kvTile, sk);

    // f32 queries (or f16/bf16 ones whose keys were widened to f32 by
    // attn-widen-attention-operands) are widened and scaled once per query
    // block instead of scaling every block of scores.
    Type queryType = op.getQuery().getType().getElementType();
    Type keyType = op.getKey().getType().getElementType();
    bool dot = op.getScore() == ScoreKind::Dot;
    widenQueries = dot && queryType != compute && keyType == compute;
    scaleQueries = dot && op.getScale().convertToDouble() != 1.0 &&
                   (queryType.isF32() || widenQueries);

    // Block-sparse masks skip whole key blocks when every (query block, key
    // block) tile lies within one block of the mask.
    if (std::optional<ArrayRef<int64_t>> blocks = op.getBlockSizes())
      skipBlocks = (*blocks)[0] % tq == 0 && (*blocks)[1] % tk == 0;

    rewriter.setInsertionPoint(op);
    SmallVector<Value> dests = llvm::to_vector(op.getDpsInits());
    int64_t numFull = sq / tq;
    if (numFull > 0)
      dests = emitQueryBlocks(dests, 0, numFull, tq);
    if (sq % tq != 0)
      dests = emitQueryBlocks(dests, numFull * tq, 1, sq % tq);
    rewriter.replaceOp(op, dests);
    return success();
  }

  /// An scf.forall over (batch..., `numBlocks` query blocks of `rows`
  /// starting at `firstRow`) computing those rows of the destinations. The
  /// full query blocks and the last, partial one are separate nests, and
  /// so are the full key blocks and the last partial one: every tile then
  /// has a static shape, which the CPU vectorisation needs.
  SmallVector<Value> emitQueryBlocks(ValueRange dests, int64_t firstRow,
                                     int64_t numBlocks, int64_t rows) {
    SmallVector<OpFoldResult> upperBounds;
    int64_t iterations = numBlocks;
    for (int64_t b = 0; b < nb; ++b) {
      upperBounds.push_back(rewriter.getIndexAttr(ranges[b]));
      iterations *= ranges[b];
    }
    upperBounds.push_back(rewriter.getIndexAttr(numBlocks));
    // The mapping marks the loops as a flash nest for the passes after
    // bufferisation (see FlashNestAttr). A nest of one iteration gets none:
    // canonicalisation then inlines its body, whose steps run as
    // whole-tensor ops, each spread over the threads, as one block of work
    // should (a mapped loop would be kept, on one thread).
    std::optional<ArrayAttr> mapping;
    if (iterations > 1)
      mapping = getFlashNestMapping(ctx, upperBounds.size());
    auto forall =
        scf::ForallOp::create(rewriter, loc, upperBounds, dests, mapping);

    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(forall.getBody());
    SmallVector<Value> ivs = forall.getInductionVars();
    // The partial block (numBlocks == 1) starts at a constant row.
    qStart = numBlocks == 1
                 ? indexConstant(rewriter, loc, firstRow)
                 : arith::MulIOp::create(rewriter, loc, ivs.back(),
                                         indexConstant(rewriter, loc, rows))
                       .getResult();
    this->rows = rows;
    this->firstRow = firstRow;
    this->numBlocks = numBlocks;
    // The tile of the domain: one batch element, the query block, all of
    // K1, K2 and N. Its slices drop the unit batch dimensions.
    SmallVector<OpFoldResult> offsets, sizes;
    for (int64_t b = 0; b < nb; ++b) {
      offsets.push_back(ivs[b]);
      sizes.push_back(rewriter.getIndexAttr(1));
    }
    offsets.push_back(qStart);
    sizes.push_back(rewriter.getIndexAttr(rows));
    for (int64_t dim = nb + 1; dim < nb + 4; ++dim) {
      offsets.push_back(rewriter.getIndexAttr(0));
      sizes.push_back(rewriter.getIndexAttr(ranges[dim]));
    }
    // The forall's destinations replace the op's, so the tile writes into
    // the slice of the shared output it then inserts.
    IRMapping destMapping;
    for (auto [dest, arg] :
         llvm::zip(op.getDpsInits(), forall.getRegionIterArgs()))
      destMapping.map(dest, arg);
    AttentionParts parts = AttentionParts::fromOp(op);
    for (Value &init : parts.inits)
      init = destMapping.lookup(init);
    Operation *withSharedOuts = parts.create(rewriter, loc);
    FailureOr<Operation *> tile = createAttentionTile(
        rewriter, withSharedOuts, offsets, sizes, /*dropUnitBatchDims=*/true);
    rewriter.eraseOp(withSharedOuts);
    auto tileOp = cast<AttentionOp>(*tile);
    SmallVector<Value> results = lowerTile(tileOp);
    // Insert each result where its destination slice came from.
    rewriter.setInsertionPointToEnd(forall.getTerminator().getBody());
    for (auto [result, init, shared] :
         llvm::zip(results, tileOp.getDpsInits(), forall.getRegionIterArgs())) {
      auto slice = init.getDefiningOp<tensor::ExtractSliceOp>();
      tensor::ParallelInsertSliceOp::create(
          rewriter, loc, result, shared, slice.getMixedOffsets(),
          slice.getMixedSizes(), slice.getMixedStrides());
    }
    rewriter.eraseOp(tileOp);
    return SmallVector<Value>(forall.getResults());
  }

  /// One query block of an attention tile: the running max, sum and output
  /// through the key blocks (attn.online_attention steps), normalised.
  SmallVector<Value> lowerTile(AttentionOp tile) {
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPoint(tile);
    int64_t tileBatch = tile.getNumBatchDims();
    SmallVector<OpFoldResult> tileSizes;
    for (Range range : tile.getIterationDomain(rewriter))
      tileSizes.push_back(range.size);
    int64_t m = tileBatch, k2 = tileBatch + 2, n = tileBatch + 3;
    AttentionParts parts = AttentionParts::fromOp(tile);

    // The query block in f32, times the scale, once per block.
    Value query = tile.getQuery();
    if (widenQueries || scaleQueries) {
      auto type = cast<RankedTensorType>(query.getType());
      AffineMap id = AffineMap::getMultiDimIdentityMap(type.getRank(), ctx);
      Value empty =
          tensor::EmptyOp::create(rewriter, loc, type.getShape(), compute);
      double scale = op.getScale().convertToDouble();
      bool scaled = scaleQueries;
      query =
          linalg::GenericOp::create(
              rewriter, loc, TypeRange{empty.getType()}, ValueRange{query},
              ValueRange{empty}, ArrayRef<AffineMap>{id, id},
              SmallVector<utils::IteratorType>(type.getRank(),
                                               utils::IteratorType::parallel),
              [&](OpBuilder &gb, Location gl, ValueRange args) {
                Value q = convertFloat(gb, gl, args[0], compute);
                if (scaled)
                  q = arith::MulFOp::create(
                      gb, gl, q, createFloatConstant(gb, gl, compute, scale));
                linalg::YieldOp::create(gb, gl, q);
              })
              .getResult(0);
      if (scaleQueries)
        parts.scale = 1.0;
    }
    parts.query = query;

    // Running values: the row space (B'..., M) and the output space
    // (B'..., M, N) of the tile, in the compute type.
    SmallVector<OpFoldResult> rowSizes, outSizes;
    for (int64_t d = 0; d < tileBatch; ++d) {
      rowSizes.push_back(tileSizes[d]);
      outSizes.push_back(tileSizes[d]);
    }
    rowSizes.push_back(tileSizes[m]);
    outSizes.append({tileSizes[m], tileSizes[n]});
    auto filled = [&](ArrayRef<OpFoldResult> sizes, double value) {
      Value empty = tensor::EmptyOp::create(rewriter, loc, sizes, compute);
      Value cst = createFloatConstant(rewriter, loc, compute, value);
      return linalg::FillOp::create(rewriter, loc, ValueRange{cst},
                                    ValueRange{empty})
          .getResult(0);
    };
    Value m0 = filled(rowSizes, -std::numeric_limits<double>::infinity());
    Value l0 = filled(rowSizes, 0.0);
    Value acc0 = filled(outSizes, 0.0);

    // One key block [kStart, kStart + kSize): an online_attention step.
    // carried = (m, l, acc).
    auto step = [&](OpBuilder &b, Location nl, Value kStart, OpFoldResult kSize,
                    ValueRange carried) -> SmallVector<Value> {
      AttentionParts stepParts = parts;
      stepParts.online = true;
      SmallVector<AttentionRole> roles = parts.getRoles();
      SmallVector<AffineMap> tileMaps = tile.getIndexingMapsArray();
      auto keyMap = [&](AttentionRole role) {
        return tileMaps[llvm::find(roles, role) - roles.begin()];
      };
      stepParts.key = sliceAlong(b, nl, parts.key, keyMap(AttentionRole::Key),
                                 k2, kStart, kSize);
      stepParts.value = sliceAlong(
          b, nl, parts.value, keyMap(AttentionRole::Value), k2, kStart, kSize);
      if (parts.mask)
        stepParts.mask = sliceAlong(
            b, nl, parts.mask, keyMap(AttentionRole::Mask), k2, kStart, kSize);
      // Every map but the destinations' stays (slices keep their rank).
      SmallVector<AffineMap> maps;
      for (auto [role, map] :
           llvm::zip(parts.getRoles(), tile.getIndexingMapsArray()))
        if (role != AttentionRole::Output && role != AttentionRole::Lse)
          maps.push_back(map);
      maps.append({AffineMap(), AffineMap(), AffineMap()});
      stepParts.maps = maps;
      stepParts.inits = {carried[2], carried[0], carried[1]};
      if (!stepParts.offsets.empty())
        stepParts.offsets.back() = kStart;
      auto compute = [&](OpBuilder &sb, Location sl) -> SmallVector<Value> {
        Operation *online = stepParts.create(sb, sl);
        return {online->getResult(1), online->getResult(2),
                online->getResult(0)};
      };
      if (!skipBlocks)
        return compute(b, nl);
      // Block-sparse: a key block whose (query block, key block) entry of
      // the block mask is false is never computed.
      ArrayRef<int64_t> blocks = *tile.getBlockSizes();
      SmallVector<Value> indices;
      for (AffineExpr expr : keyMap(AttentionRole::BlockMask).getResults()) {
        auto dim = dyn_cast<AffineDimExpr>(expr);
        if (dim && dim.getPosition() == static_cast<unsigned>(m))
          indices.push_back(arith::DivUIOp::create(
              b, nl, qStart, indexConstant(b, nl, blocks[0])));
        else if (dim && dim.getPosition() == static_cast<unsigned>(k2))
          indices.push_back(arith::DivUIOp::create(
              b, nl, kStart, indexConstant(b, nl, blocks[1])));
        else
          indices.push_back(indexConstant(b, nl, 0));
      }
      Value keep = tensor::ExtractOp::create(b, nl, parts.blockMask, indices);
      auto ifOp = scf::IfOp::create(
          b, nl, keep,
          [&](OpBuilder &tb, Location tl) {
            scf::YieldOp::create(tb, tl, compute(tb, tl));
          },
          [&](OpBuilder &eb, Location el) {
            scf::YieldOp::create(eb, el, carried);
          });
      return SmallVector<Value>(ifOp.getResults());
    };

    SmallVector<Value> carried = {m0, l0, acc0};
    // Key blocks [lb, ub) in steps of Tk, of size `size`, or of
    // min(Tk, ub - start) when `size` is null.
    auto emitKeyLoop = [&](Value lb, Value ub, OpFoldResult size) {
      auto loop = scf::ForOp::create(
          rewriter, loc, lb, ub, indexConstant(rewriter, loc, tk), carried,
          [&](OpBuilder &b, Location nl, Value kStart, ValueRange iterArgs) {
            OpFoldResult kSize = size;
            if (!kSize)
              kSize = arith::MinSIOp::create(
                          b, nl, indexConstant(b, nl, tk),
                          arith::SubIOp::create(b, nl, ub, kStart))
                          .getResult();
            scf::YieldOp::create(b, nl, step(b, nl, kStart, kSize, iterArgs));
          });
      carried.assign(loop.getResults().begin(), loop.getResults().end());
    };
    // Causal: query i only sees keys j <= i, so keys at or past the block's
    // last query + 1 are never visited. The bound is static for non-causal
    // attention and for the single partial query block.
    bool causal = op.getCausal();
    std::optional<std::pair<int64_t, int64_t>> window = op.getWindowBounds();
    Value lengths = tile.getKeyLengths();
    Value c0 = indexConstant(rewriter, loc, 0);
    if (window || lengths) {
      // A sliding window and key lengths bound the visited keys by values
      // known only per block: [begin, end) with begin the first key block
      // of the window's first query and end the least of Sk, the causal
      // and window limits of the block's last query, and the length.
      Value tkValue = indexConstant(rewriter, loc, tk);
      Value end = indexConstant(rewriter, loc, sk);
      Value begin = c0;
      Value lastPlusOne = arith::AddIOp::create(
          rewriter, loc, qStart, indexConstant(rewriter, loc, rows));
      if (causal)
        end = arith::MinSIOp::create(rewriter, loc, end, lastPlusOne);
      if (window) {
        end = arith::MinSIOp::create(
            rewriter, loc, end,
            arith::AddIOp::create(
                rewriter, loc, lastPlusOne,
                indexConstant(rewriter, loc, window->second)));
        Value first = arith::MaxSIOp::create(
            rewriter, loc, c0,
            arith::SubIOp::create(rewriter, loc, qStart,
                                  indexConstant(rewriter, loc, window->first)));
        begin = arith::MulIOp::create(
            rewriter, loc,
            arith::DivUIOp::create(rewriter, loc, first, tkValue), tkValue);
      }
      if (lengths) {
        auto type = cast<RankedTensorType>(lengths.getType());
        SmallVector<Value> zeros(type.getRank(), c0);
        Value length = tensor::ExtractOp::create(rewriter, loc, lengths, zeros);
        if (!length.getType().isIndex())
          length = arith::IndexCastOp::create(rewriter, loc,
                                              rewriter.getIndexType(), length);
        end = arith::MinSIOp::create(rewriter, loc, end, length);
      }
      end = arith::MaxSIOp::create(rewriter, loc, end, begin);
      Value fullEnd = arith::AddIOp::create(
          rewriter, loc, begin,
          arith::MulIOp::create(
              rewriter, loc,
              arith::DivUIOp::create(
                  rewriter, loc,
                  arith::SubIOp::create(rewriter, loc, end, begin), tkValue),
              tkValue));
      emitKeyLoop(begin, fullEnd, rewriter.getIndexAttr(tk));
      emitKeyLoop(fullEnd, end, OpFoldResult());
    } else if (!causal || numBlocks == 1) {
      int64_t kvEnd = causal ? std::min(sk, firstRow + rows) : sk;
      // The full key blocks, then the partial last one as one step. A loop
      // of one iteration is a step too: a single-block attention (Swin's
      // 49-token windows) then has no online-softmax rescaling.
      int64_t full = kvEnd / tk * tk;
      if (full == tk) {
        carried = step(rewriter, loc, c0, rewriter.getIndexAttr(tk), carried);
      } else if (full > 0) {
        emitKeyLoop(c0, indexConstant(rewriter, loc, full),
                    rewriter.getIndexAttr(tk));
      }
      if (kvEnd > full)
        carried = step(rewriter, loc, indexConstant(rewriter, loc, full),
                       rewriter.getIndexAttr(kvEnd - full), carried);
    } else {
      Value kvEnd = arith::MinSIOp::create(
          rewriter, loc,
          arith::AddIOp::create(rewriter, loc, qStart,
                                indexConstant(rewriter, loc, rows)),
          indexConstant(rewriter, loc, sk));
      if (sk % tk == 0 && rows % tk == 0 && firstRow % tk == 0) {
        // min(Sk, qStart + rows) is a multiple of Tk.
        emitKeyLoop(c0, kvEnd, rewriter.getIndexAttr(tk));
      } else {
        Value tkValue = indexConstant(rewriter, loc, tk);
        Value fullEnd = arith::MulIOp::create(
            rewriter, loc,
            arith::DivUIOp::create(rewriter, loc, kvEnd, tkValue), tkValue);
        emitKeyLoop(c0, fullEnd, rewriter.getIndexAttr(tk));
        emitKeyLoop(fullEnd, kvEnd, OpFoldResult());
      }
    }

    // out = acc / l; for rows with every key masked (l == 0) acc itself,
    // the sum of 0 * v (0, or NaN where a value read is NaN or infinite, as
    // in the unfused softmax(s) @ v), written
    // into the tile's destination through its map.
    SmallVector<Value> results;
    SmallVector<utils::IteratorType> outIterators(
        tileBatch + 2, utils::IteratorType::parallel);
    SmallVector<int64_t> outSpace, rowSpace;
    for (int64_t d = 0; d < tileBatch; ++d) {
      outSpace.push_back(d);
      rowSpace.push_back(d);
    }
    outSpace.append({m, n});
    rowSpace.push_back(m);
    auto over = [&](AffineMap domainMap, ArrayRef<int64_t> space) {
      SmallVector<AffineExpr> exprs;
      for (AffineExpr expr : domainMap.getResults()) {
        auto dim = cast<AffineDimExpr>(expr);
        exprs.push_back(getAffineDimExpr(
            llvm::find(space, static_cast<int64_t>(dim.getPosition())) -
                space.begin(),
            ctx));
      }
      return AffineMap::get(space.size(), 0, exprs, ctx);
    };
    AffineMap outId = AffineMap::getMultiDimIdentityMap(outSpace.size(), ctx);
    AffineMap rowOfOut = AffineMap::getMultiDimIdentityMap(outSpace.size(), ctx)
                             .getMajorSubMap(rowSpace.size());
    Type elementType = tile.getOutput().getType().getElementType();
    results.push_back(
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{tile.getOutput().getType()},
            ValueRange{carried[2], carried[1]}, ValueRange{tile.getOutput()},
            ArrayRef<AffineMap>{
                outId, rowOfOut,
                over(tile.getMatchingIndexingMap(&tile.getOutputMutable()),
                     outSpace)},
            outIterators,
            [&](OpBuilder &gb, Location gl, ValueRange args) {
              Value zero = createFloatConstant(gb, gl, compute, 0.0);
              Value isZero = arith::CmpFOp::create(
                  gb, gl, arith::CmpFPredicate::OEQ, args[1], zero);
              Value quotient = arith::DivFOp::create(gb, gl, args[0], args[1]);
              Value result =
                  arith::SelectOp::create(gb, gl, isZero, args[0], quotient);
              linalg::YieldOp::create(
                  gb, gl, convertFloat(gb, gl, result, elementType));
            })
            .getResult(0));
    if (Value lse = tile.getLse()) {
      // lse = m + log(l): -inf for rows with every key masked.
      AffineMap rowId = AffineMap::getMultiDimIdentityMap(rowSpace.size(), ctx);
      Type lseType = getElementTypeOrSelf(lse.getType());
      results.push_back(
          linalg::GenericOp::create(
              rewriter, loc, TypeRange{lse.getType()},
              ValueRange{carried[0], carried[1]}, ValueRange{lse},
              ArrayRef<AffineMap>{
                  rowId, rowId,
                  over(tile.getMatchingIndexingMap(&tile.getLseMutable()[0]),
                       rowSpace)},
              SmallVector<utils::IteratorType>(rowSpace.size(),
                                               utils::IteratorType::parallel),
              [&](OpBuilder &gb, Location gl, ValueRange args) {
                Value log = math::LogOp::create(gb, gl, args[1]);
                Value sum = arith::AddFOp::create(gb, gl, args[0], log);
                linalg::YieldOp::create(gb, gl,
                                        convertFloat(gb, gl, sum, lseType));
              })
              .getResult(0));
    }
    return results;
  }

  RewriterBase &rewriter;
  AttentionOp op;
  Location loc;
  MLIRContext *ctx;
  int64_t qTile, kvTile;
  int64_t nb = 0, sq = 0, sk = 0, tq = 0, tk = 0;
  SmallVector<int64_t> ranges;
  Type compute;
  bool widenQueries = false, scaleQueries = false, skipBlocks = false;
  // The query block being built.
  Value qStart;
  int64_t rows = 0, firstRow = 0, numBlocks = 0;
};

} // namespace

LogicalResult mlir::attn::tileAttention(RewriterBase &rewriter, AttentionOp op,
                                        int64_t qTile, int64_t kvTile) {
  return FlashTiler(rewriter, op, qTile, kvTile).run();
}

namespace {
struct TileAttentionPass
    : public mlir::attn::impl::TileAttentionPassBase<TileAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    if (qTile <= 0 || kvTile <= 0) {
      getOperation()->emitError(
          "attn-tile-attention: q-tile and kv-tile must be positive");
      return signalPassFailure();
    }
    SmallVector<AttentionOp> ops;
    getOperation()->walk([&](AttentionOp op) {
      if (op.getOffsets().empty() && !op->getParentOfType<scf::ForallOp>())
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (AttentionOp op : ops)
      (void)tileAttention(rewriter, op, qTile, kvTile);
  }
};
} // namespace
