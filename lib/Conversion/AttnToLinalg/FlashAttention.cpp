//===- FlashAttention.cpp - flash-tiled lowering of attn.attention --------===//
//
// Lowers attn.attention (every score kind) to a flash-attention loop nest on
// tensors: scf.forall over (batch..., query blocks), scf.for over key blocks
// with an online softmax, so that no Sq x Sk buffer ever exists.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/AttnToLinalg/AttnToLinalg.h"

#include "FloatUtils.h"
#include "ScoreTerms.h"
#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

using namespace mlir;
using namespace mlir::attn;

static Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// The static extent of a tile size: its value when constant, else dynamic.
static int64_t staticSize(OpFoldResult size) {
  if (auto attr = dyn_cast<Attribute>(size))
    return cast<IntegerAttr>(attr).getInt();
  return ShapedType::kDynamic;
}

/// A 2-D slice `[rows, cols]` of `source` at batch index `batch` (size-1
/// batch dimensions of `source`, which broadcast, are read at 0). Rows or
/// columns of size 1 in `source` broadcast too and are read at offset 0.
static Value extractTile(OpBuilder &b, Location loc, Value source,
                         ValueRange batch, OpFoldResult rowOffset,
                         OpFoldResult rows, OpFoldResult colOffset,
                         OpFoldResult cols) {
  auto type = cast<RankedTensorType>(source.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets, sizes;
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  for (int64_t d = 0; d < rank - 2; ++d) {
    offsets.push_back(type.getDimSize(d) == 1 ? OpFoldResult(b.getIndexAttr(0))
                                              : OpFoldResult(batch[d]));
    sizes.push_back(b.getIndexAttr(1));
  }
  auto addDim = [&](int64_t dim, OpFoldResult offset, OpFoldResult size) {
    if (type.getDimSize(dim) == 1) {
      offsets.push_back(b.getIndexAttr(0));
      sizes.push_back(b.getIndexAttr(1));
    } else {
      offsets.push_back(offset);
      sizes.push_back(size);
    }
  };
  addDim(rank - 2, rowOffset, rows);
  addDim(rank - 1, colOffset, cols);
  auto tileType = RankedTensorType::get(
      {staticSize(sizes[rank - 2]), staticSize(sizes[rank - 1])},
      type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, tileType, source, offsets,
                                        sizes, strides);
}

/// A `[rows, cols]` (or `[rows]` when `cols` is null) tensor of `type`,
/// filled with `value` unless `value` is NaN (then left uninitialised).
static Value createTile(OpBuilder &b, Location loc, OpFoldResult rows,
                        OpFoldResult cols, Type type,
                        std::optional<double> value) {
  SmallVector<OpFoldResult> sizes = {rows};
  if (cols)
    sizes.push_back(cols);
  Value empty = tensor::EmptyOp::create(b, loc, sizes, type);
  if (!value)
    return empty;
  Value cst = createFloatConstant(b, loc, type, *value);
  return linalg::FillOp::create(b, loc, ValueRange{cst}, ValueRange{empty})
      .getResult(0);
}

/// A 2-D linalg.generic over (i, j) with `iterators`, yielding `body(args)`.
static Value
createGeneric2D(OpBuilder &b, Location loc, ValueRange inputs,
                ArrayRef<AffineMap> inputMaps, Value init, AffineMap initMap,
                ArrayRef<utils::IteratorType> iterators,
                function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(initMap);
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, body(nb, nl, args));
      });
  return op.getResult(0);
}

/// m when finite, 0 when m is -inf: subtracting it from a row whose scores
/// are all -inf gives exp(-inf) = 0 instead of exp(NaN).
static Value guardedMax(OpBuilder &b, Location loc, Value m) {
  Type type = m.getType();
  Value negInf = createFloatConstant(b, loc, type,
                                     -std::numeric_limits<double>::infinity());
  Value isNegInf =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m, negInf);
  return arith::SelectOp::create(b, loc, isNegInf,
                                 createFloatConstant(b, loc, type, 0.0), m);
}

namespace {

/// attn.attention -> flash attention (FlashAttention-2's forward loop
/// order). Per (batch..., query block) in parallel:
///   m = -inf, l = 0, acc = 0                      (f32 for f16/bf16)
///   for each key block (causal: only blocks with a key <= the last query):
///     S = factor * score(Q_blk, K_blk), masked  [q-tile x kv-tile]
///     m_new = max(m, rowmax S); P = exp(S - m_new)
///     alpha = exp(m - m_new); l = l * alpha + rowsum P
///     acc = acc * alpha + P V_blk; m = m_new
///   out = acc / l (0 where l == 0: every key masked)
/// Only the block of scores depends on the score kind: a matmul for `dot`,
/// a (i, j, d) generic reducing over d for `additive` and `gaussian`.
struct FlashAttentionLowering : OpRewritePattern<AttentionOp> {
  FlashAttentionLowering(MLIRContext *ctx, int64_t qTile, int64_t kvTile,
                         bool transposeKeys, bool additiveMasks)
      : OpRewritePattern(ctx, /*benefit=*/2), qTile(qTile), kvTile(kvTile),
        transposeKeys(transposeKeys), additiveMasks(additiveMasks) {}

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (qTile <= 0 || kvTile <= 0)
      return rewriter.notifyMatchFailure(op, "tile sizes must be positive");
    auto qType = cast<RankedTensorType>(op.getQuery().getType());
    auto kType = cast<RankedTensorType>(op.getKey().getType());
    auto vType = cast<RankedTensorType>(op.getValue().getType());
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    Value mask = op.getMask();
    for (Value operand : op->getOperands())
      if (!cast<RankedTensorType>(operand.getType()).hasStaticShape())
        return rewriter.notifyMatchFailure(op, "dynamic shape");
    int64_t rank = qType.getRank();
    int64_t numBatch = rank - 2;
    int64_t sq = qType.getDimSize(numBatch), sk = kType.getDimSize(numBatch);
    int64_t d = qType.getDimSize(numBatch + 1);
    int64_t dv = vType.getDimSize(numBatch + 1);
    if (resultType.getNumElements() == 0 || sk == 0 || d == 0)
      return rewriter.notifyMatchFailure(op, "empty dimension");

    Location loc = op.getLoc();
    Type elementType = resultType.getElementType();
    Type accType = getComputeType(elementType);
    bool causal = op.getCausal();
    ScoreKind kind = op.getScore();
    Value weight = op.getWeight();
    // The factor applied to the summed score: the gaussian's -1/2 is folded
    // into it so that the (i, j, d) reduction only sums squares.
    double scale = op.getScale().convertToDouble();
    if (kind == ScoreKind::Gaussian)
      scale = -scale / 2;
    double negInf = -std::numeric_limits<double>::infinity();
    // Tiles larger than the sequence would only add masking work.
    int64_t tq = std::min(qTile, sq), tk = std::min(kvTile, sk);
    MLIRContext *ctx = rewriter.getContext();
    AffineExpr i = getAffineDimExpr(0, ctx), j = getAffineDimExpr(1, ctx);
    AffineMap ij = AffineMap::get(2, 0, {i, j}, ctx);
    AffineMap rowOf = AffineMap::get(2, 0, {i}, ctx);
    AffineMap row1D = AffineMap::get(1, 0, {i}, ctx);
    using IT = utils::IteratorType;
    SmallVector<IT> par2 = {IT::parallel, IT::parallel};
    SmallVector<IT> reduceCols = {IT::parallel, IT::reduction};
    SmallVector<IT> par1 = {IT::parallel};

    // f16/bf16 keys and values widened to f32 once, O(Sk (d + dv)), with the
    // keys' transpose (CPU, dot score): every block product is then an f32
    // matmul, which the CPU micro-kernel vectorises (with bf16 operands it
    // stayed scalar, at ~2.6 instead of ~136 GFLOP/s). The widening is exact
    // and the products were computed in f32 anyway.
    bool widen = kind == ScoreKind::Dot && transposeKeys &&
                 qType.getElementType() != accType;
    // An elementwise map of a whole tensor into one of `accType`, once
    // before the loop nest.
    auto mapToAcc = [&](Value input,
                        function_ref<Value(OpBuilder &, Location, Value)> fn) {
      auto type = cast<RankedTensorType>(input.getType());
      AffineMap id = AffineMap::getMultiDimIdentityMap(type.getRank(), ctx);
      Value empty =
          tensor::EmptyOp::create(rewriter, loc, type.getShape(), accType);
      return linalg::GenericOp::create(
                 rewriter, loc, TypeRange{empty.getType()}, ValueRange{input},
                 ValueRange{empty}, ArrayRef<AffineMap>{id, id},
                 SmallVector<utils::IteratorType>(
                     type.getRank(), utils::IteratorType::parallel),
                 [&](OpBuilder &gb, Location gl, ValueRange args) {
                   linalg::YieldOp::create(gb, gl, fn(gb, gl, args[0]));
                 })
          .getResult(0);
    };
    auto widened = [&](Value input) -> Value {
      if (!widen ||
          cast<RankedTensorType>(input.getType()).getElementType() == accType)
        return input;
      return mapToAcc(input, [&](OpBuilder &gb, Location gl, Value x) {
        return convertFloat(gb, gl, x, accType);
      });
    };
    Value keys = widened(op.getKey());
    Value values = widened(op.getValue());
    // Kᵀ once, O(Sk d), rather than a transposed copy of every key block
    // inside the block product, once per query block.
    Value keysT;
    if (kind == ScoreKind::Dot && transposeKeys) {
      SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank));
      std::swap(perm[rank - 2], perm[rank - 1]);
      auto keysType = cast<RankedTensorType>(keys.getType());
      SmallVector<int64_t> shape(keysType.getShape());
      std::swap(shape[rank - 2], shape[rank - 1]);
      Value empty = tensor::EmptyOp::create(rewriter, loc, shape,
                                            keysType.getElementType());
      keysT = linalg::TransposeOp::create(rewriter, loc, keys, empty, perm)
                  .getResult()[0];
    }
    // A boolean mask as 0 / -inf once, O(mask): the per-block masking is
    // then a compare and select on f32 tiles, which vectorises (a vector of
    // i1 would load bits, not the mask's bytes). -inf replaces the score
    // (keepOrDrop) rather than being added: NaN + -inf is NaN, and a masked
    // key must be ignored whatever it holds.
    bool keepOrDrop = false;
    if (mask && additiveMasks &&
        cast<RankedTensorType>(mask.getType()).getElementType().isInteger(1)) {
      keepOrDrop = true;
      mask = mapToAcc(mask, [&](OpBuilder &gb, Location gl, Value keep) {
        Value zero = createFloatConstant(gb, gl, accType, 0.0);
        Value drop = createFloatConstant(gb, gl, accType, negInf);
        return arith::SelectOp::create(gb, gl, keep, zero, drop).getResult();
      });
    }
    // The scale multiplies each query block once rather than every block of
    // scores (f32, or f16/bf16 widened to f32: a product in the input type
    // would be rounded to it first).
    bool scaleQueries = kind == ScoreKind::Dot && scale != 1.0 &&
                        (qType.getElementType().isF32() || widen);

    // The full query blocks and the last, partial one are separate loop
    // nests, and so are the full key blocks and the last partial one: every
    // tile then has a static shape, which attn-tile-and-vectorize needs.
    auto emitQueryBlocks = [&](Value dest, int64_t firstRow, int64_t numBlocks,
                               int64_t rows) -> Value {
      SmallVector<OpFoldResult> upperBounds;
      for (int64_t b = 0; b < numBatch; ++b)
        upperBounds.push_back(rewriter.getIndexAttr(qType.getDimSize(b)));
      upperBounds.push_back(rewriter.getIndexAttr(numBlocks));
      // The mapping marks the loops as a flash nest for the passes after
      // bufferisation (see FlashNestAttr). A nest of one iteration gets
      // none: canonicalisation then inlines its body, whose steps run as
      // whole-tensor ops, each spread over the threads, as one block of
      // work should (a mapped loop would be kept, on one thread).
      int64_t iterations = numBlocks;
      for (int64_t b = 0; b < numBatch; ++b)
        iterations *= qType.getDimSize(b);
      std::optional<ArrayAttr> mapping;
      if (iterations > 1)
        mapping = getFlashNestMapping(ctx, upperBounds.size());
      auto forall = scf::ForallOp::create(rewriter, loc, upperBounds,
                                          ValueRange{dest}, mapping);

      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(forall.getBody());
      SmallVector<Value> ivs = forall.getInductionVars();
      ValueRange batch = ValueRange(ivs).drop_back();
      // The partial block (numBlocks == 1) starts at a constant row.
      Value qStart =
          numBlocks == 1
              ? indexConstant(rewriter, loc, firstRow)
              : arith::MulIOp::create(rewriter, loc, ivs.back(),
                                      indexConstant(rewriter, loc, rows))
                    .getResult();
      OpFoldResult qSize = rewriter.getIndexAttr(rows);
      OpFoldResult zero = rewriter.getIndexAttr(0);
      Value qTileValue =
          extractTile(rewriter, loc, op.getQuery(), batch, qStart, qSize, zero,
                      rewriter.getIndexAttr(d));
      // The query block in f32, times the scale, once per block.
      double scoreScale = scaleQueries ? 1.0 : scale;
      if (widen || scaleQueries)
        qTileValue = createGeneric2D(
            rewriter, loc, qTileValue, ij,
            createTile(rewriter, loc, qSize, rewriter.getIndexAttr(d), accType,
                       std::nullopt),
            ij, par2,
            [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
              Value q = convertFloat(gb, gl, args[0], accType);
              if (!scaleQueries)
                return q;
              return arith::MulFOp::create(
                  gb, gl, q, createFloatConstant(gb, gl, accType, scale));
            });

      Value m0 = createTile(rewriter, loc, qSize, {}, accType, negInf);
      Value l0 = createTile(rewriter, loc, qSize, {}, accType, 0.0);
      Value acc0 = createTile(rewriter, loc, qSize, rewriter.getIndexAttr(dv),
                              accType, 0.0);

      // One key block: scores, online-softmax update, P V. The first block
      // (`first`: the iter args are still m0, l0, acc0) has nothing to
      // rescale: m_new = rowmax S, l = rowsum P, acc = P V. Besides saving
      // the rescaling, this keeps a single-block attention (Swin's 49-token
      // windows) a plain softmax whose steps all vectorise row by row.
      auto step = [&](OpBuilder &b, Location nl, Value kStart,
                      OpFoldResult kSize, ValueRange iterArgs,
                      bool first = false) -> SmallVector<Value> {
        Value m = iterArgs[0], l = iterArgs[1], acc = iterArgs[2];
        Value kTileValue = keysT ? extractTile(b, nl, keysT, batch, zero,
                                               b.getIndexAttr(d), kStart, kSize)
                                 : extractTile(b, nl, keys, batch, kStart,
                                               kSize, zero, b.getIndexAttr(d));
        Value vTileValue = extractTile(b, nl, values, batch, kStart, kSize,
                                       zero, b.getIndexAttr(dv));

        AffineExpr mm = getAffineDimExpr(0, ctx), nn = getAffineDimExpr(1, ctx),
                   kk = getAffineDimExpr(2, ctx);
        AffineMap qMap = AffineMap::get(3, 0, {mm, kk}, ctx);
        AffineMap kMap = AffineMap::get(3, 0, {nn, kk}, ctx);
        AffineMap sMap = AffineMap::get(3, 0, {mm, nn}, ctx);
        Value sInit = createTile(b, nl, qSize, kSize, accType, 0.0);
        Value s;
        if (kind == ScoreKind::Dot && keysT) {
          // S = Q_blk (Kᵀ)_blk.
          s = linalg::MatmulOp::create(b, nl, TypeRange{sInit.getType()},
                                       ValueRange{qTileValue, kTileValue},
                                       ValueRange{sInit})
                  .getResult(0);
        } else if (kind == ScoreKind::Dot) {
          // S = Q_blk K_blkᵀ; the named op extends f16/bf16 operands to
          // the f32 accumulator itself.
          SmallVector<Attribute> qkMaps = {AffineMapAttr::get(qMap),
                                           AffineMapAttr::get(kMap),
                                           AffineMapAttr::get(sMap)};
          s = linalg::MatmulOp::create(
                  b, nl, TypeRange{sInit.getType()},
                  ValueRange{qTileValue, kTileValue}, ValueRange{sInit},
                  {b.getNamedAttr("indexing_maps", b.getArrayAttr(qkMaps))})
                  .getResult(0);
        } else {
          // S[i, j] = sum_d f(q[i, d], k[j, d], w[d]) over (i, j, d): the
          // elementwise tanh / square sits between the operands and the
          // sum, so this is no contraction. Terms are summed in f32 for
          // f16/bf16 operands, as in the unfused lowering.
          SmallVector<Value> inputs = {qTileValue, kTileValue};
          SmallVector<AffineMap> maps = {qMap, kMap};
          if (weight) {
            inputs.push_back(weight);
            maps.push_back(AffineMap::get(3, 0, {kk}, ctx));
          }
          maps.push_back(sMap);
          s = linalg::GenericOp::create(
                  b, nl, TypeRange{sInit.getType()}, inputs, ValueRange{sInit},
                  maps, ArrayRef<IT>{IT::parallel, IT::parallel, IT::reduction},
                  [&](OpBuilder &gb, Location gl, ValueRange args) {
                    Value q = convertFloat(gb, gl, args[0], accType);
                    Value k = convertFloat(gb, gl, args[1], accType);
                    Value w = weight ? convertFloat(gb, gl, args[2], accType)
                                     : Value();
                    Value term = createScoreTerm(gb, gl, kind, q, k, w);
                    linalg::YieldOp::create(
                        gb, gl,
                        arith::AddFOp::create(gb, gl, args.back(), term)
                            .getResult());
                  })
                  .getResult(0);
        }

        // Scale, mask and causal mask in one elementwise op.
        SmallVector<Value> inputs = {s};
        SmallVector<AffineMap> maps = {ij};
        if (mask) {
          Value maskTile =
              extractTile(b, nl, mask, batch, qStart, qSize, kStart, kSize);
          auto maskShape = cast<RankedTensorType>(mask.getType()).getShape();
          // Broadcast mask rows/columns are read at index 0.
          AffineExpr mi =
              maskShape[rank - 2] == 1 ? getAffineConstantExpr(0, ctx) : i;
          AffineExpr mj =
              maskShape[rank - 1] == 1 ? getAffineConstantExpr(0, ctx) : j;
          inputs.push_back(maskTile);
          maps.push_back(AffineMap::get(2, 0, {mi, mj}, ctx));
        }
        Value scores = s;
        if (scoreScale != 1.0 || mask || causal)
          scores = createGeneric2D(
              b, nl, inputs, maps,
              createTile(b, nl, qSize, kSize, accType, std::nullopt), ij, par2,
              [&](OpBuilder &gb, Location gl, ValueRange args) {
                auto isFuture = [&](OpBuilder &fb, Location fl) -> Value {
                  Value qi = arith::AddIOp::create(
                      fb, fl, qStart, linalg::IndexOp::create(fb, fl, 0));
                  Value kj = arith::AddIOp::create(
                      fb, fl, kStart, linalg::IndexOp::create(fb, fl, 1));
                  return arith::CmpIOp::create(
                      fb, fl, arith::CmpIPredicate::ugt, kj, qi);
                };
                return createMaskedScore(
                    gb, gl, accType, args[0], scoreScale,
                    mask ? args[1] : Value(),
                    causal
                        ? function_ref<Value(OpBuilder &, Location)>(isFuture)
                        : nullptr,
                    keepOrDrop);
              });

        // The running values are updated in place (outs = the iter_args,
        // read only before they are overwritten) so that one-shot
        // bufferization keeps one buffer per loop-carried value instead
        // of reallocating them for every key block.
        Value rowMax = createGeneric2D(
            b, nl, scores, ij, createTile(b, nl, qSize, {}, accType, negInf),
            rowOf, reduceCols,
            [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
              return arith::MaximumFOp::create(gb, gl, args[0], args[1]);
            });
        // P = exp(S - max), 0 where the max is still -inf.
        auto exponentials = [&](Value maxes) {
          return createGeneric2D(
              b, nl, ValueRange{scores, maxes}, {ij, rowOf},
              createTile(b, nl, qSize, kSize, accType, std::nullopt), ij, par2,
              [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
                Value shifted = arith::SubFOp::create(
                    gb, gl, args[0], guardedMax(gb, gl, args[1]));
                return math::ExpOp::create(gb, gl, shifted);
              });
        };
        // into + rowsum P, and into + P V.
        auto addRowSums = [&](Value p, Value into) {
          return createGeneric2D(
              b, nl, p, ij, into, rowOf, reduceCols,
              [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
                return arith::AddFOp::create(gb, gl, args[0], args[1]);
              });
        };
        auto addMixedValues = [&](Value p, Value into) {
          return linalg::MatmulOp::create(b, nl, TypeRange{into.getType()},
                                          ValueRange{p, vTileValue},
                                          ValueRange{into})
              .getResult(0);
        };
        if (first) {
          Value p = exponentials(rowMax);
          return {rowMax, addRowSums(p, l), addMixedValues(p, acc)};
        }
        // alpha = exp(m - m_new) rescales what earlier blocks summed; it is
        // 0 while the row has seen only -inf (l and acc are 0 then).
        Value alpha = createGeneric2D(
            b, nl, ValueRange{m, rowMax}, {row1D, row1D},
            createTile(b, nl, qSize, {}, accType, std::nullopt), row1D, par1,
            [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
              Value mNew = arith::MaximumFOp::create(gb, gl, args[0], args[1]);
              Value shifted = arith::SubFOp::create(gb, gl, args[0],
                                                    guardedMax(gb, gl, mNew));
              return math::ExpOp::create(gb, gl, shifted);
            });
        Value mNew = createGeneric2D(
            b, nl, rowMax, row1D, m, row1D, par1,
            [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
              return arith::MaximumFOp::create(gb, gl, args[1], args[0]);
            });
        Value p = exponentials(mNew);
        Value lScaled = createGeneric2D(
            b, nl, alpha, row1D, l, row1D, par1,
            [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
              return arith::MulFOp::create(gb, gl, args[1], args[0]);
            });
        Value lNew = addRowSums(p, lScaled);
        Value accScaled = createGeneric2D(
            b, nl, alpha, rowOf, acc, ij, par2,
            [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
              return arith::MulFOp::create(gb, gl, args[1], args[0]);
            });
        Value accNew = addMixedValues(p, accScaled);
        return {mNew, lNew, accNew};
      };

      // Key blocks [lb, ub) in steps of Tk, of size `size`, or of
      // min(Tk, ub - start) when `size` is null.
      SmallVector<Value> carried = {m0, l0, acc0};
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
      // Causal: query i only sees keys j <= i, so keys at or past the
      // block's last query + 1 are never visited. The bound is static for
      // non-causal attention and for the single partial query block.
      std::optional<int64_t> kvEndStatic;
      if (!causal)
        kvEndStatic = sk;
      else if (numBlocks == 1)
        kvEndStatic = std::min(sk, firstRow + rows);
      Value c0 = indexConstant(rewriter, loc, 0);
      if (kvEndStatic) {
        // The full key blocks, then the partial last one as one step. A
        // loop of one iteration is a step too: a single-block attention
        // (Swin's 49-token windows) then has no online-softmax rescaling.
        int64_t full = *kvEndStatic / tk * tk;
        bool first = true;
        if (full == tk) {
          carried = step(rewriter, loc, c0, rewriter.getIndexAttr(tk), carried,
                         /*first=*/true);
          first = false;
        } else if (full > 0) {
          emitKeyLoop(c0, indexConstant(rewriter, loc, full),
                      rewriter.getIndexAttr(tk));
          first = false;
        }
        if (*kvEndStatic > full)
          carried =
              step(rewriter, loc, indexConstant(rewriter, loc, full),
                   rewriter.getIndexAttr(*kvEndStatic - full), carried, first);
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
      // the sum of 0 * v: 0, or NaN where a value read is NaN or infinite,
      // as in the unfused softmax(s) @ v.
      Value out = createGeneric2D(
          rewriter, loc, ValueRange{carried[2], carried[1]}, {ij, rowOf},
          createTile(rewriter, loc, qSize, rewriter.getIndexAttr(dv),
                     elementType, std::nullopt),
          ij, par2, [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
            Value zeroF = createFloatConstant(gb, gl, accType, 0.0);
            Value isZero = arith::CmpFOp::create(
                gb, gl, arith::CmpFPredicate::OEQ, args[1], zeroF);
            Value quotient = arith::DivFOp::create(gb, gl, args[0], args[1]);
            Value result =
                arith::SelectOp::create(gb, gl, isZero, args[0], quotient);
            return convertFloat(gb, gl, result, elementType);
          });

      rewriter.setInsertionPointToEnd(forall.getTerminator().getBody());
      SmallVector<OpFoldResult> offsets(batch.begin(), batch.end());
      SmallVector<OpFoldResult> sizes(numBatch, rewriter.getIndexAttr(1));
      offsets.push_back(qStart);
      offsets.push_back(zero);
      sizes.push_back(qSize);
      sizes.push_back(rewriter.getIndexAttr(dv));
      SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
      tensor::ParallelInsertSliceOp::create(rewriter, loc, out,
                                            forall.getRegionIterArgs()[0],
                                            offsets, sizes, strides);
      return forall.getResult(0);
    };

    Value result = tensor::EmptyOp::create(rewriter, loc, resultType.getShape(),
                                           elementType);
    int64_t numFull = sq / tq;
    if (numFull > 0)
      result = emitQueryBlocks(result, 0, numFull, tq);
    if (sq % tq != 0)
      result = emitQueryBlocks(result, numFull * tq, 1, sq % tq);
    rewriter.replaceOp(op, result);
    return success();
  }

  int64_t qTile, kvTile;
  bool transposeKeys, additiveMasks;
};

} // namespace

void mlir::attn::populateFlashAttentionPatterns(RewritePatternSet &patterns,
                                                int64_t qTile, int64_t kvTile,
                                                bool transposeKeys,
                                                bool additiveMasks) {
  patterns.add<FlashAttentionLowering>(patterns.getContext(), qTile, kvTile,
                                       transposeKeys, additiveMasks);
}
