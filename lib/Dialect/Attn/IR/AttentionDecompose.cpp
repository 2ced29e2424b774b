//===- AttentionDecompose.cpp - attention ops as linalg on tensors --------===//
//
// The AggregatedOpInterface of attn.attention (the unfused computation:
// scores, masks, softmax, P V) and attn.online_attention (one flash step:
// scores, masks, running max and sum, rescaled P V). Both build their scores
// and masks the same way, from the ops' indexing maps.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "attn/Dialect/Attn/Utils/FloatUtils.h"
#include "attn/Dialect/Attn/Utils/ScoreTerms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

#include <limits>

using namespace mlir;
using namespace mlir::attn;

namespace {

using IT = utils::IteratorType;

/// The pieces both decompositions share: the op's domain and maps, and the
/// spaces their intermediate tensors live in (lists of domain dimensions).
template <typename OpTy> struct Decomposer {
  Decomposer(OpBuilder &b, OpTy op)
      : b(b), op(op), loc(op.getLoc()), ctx(op.getContext()),
        nb(op.getNumBatchDims()), compute(op.getComputeType()) {
    for (Range range : op.getIterationDomain(b))
      extents.push_back(range.size);
    maps = op.getIndexingMapsArray();
    for (int64_t d = 0; d < nb; ++d) {
      scoreSpace.push_back(d);
      rowSpace.push_back(d);
      outSpace.push_back(d);
    }
    scoreSpace.append({m(), k2()});
    rowSpace.push_back(m());
    outSpace.append({m(), n()});
  }

  int64_t m() const { return nb; }
  int64_t k1() const { return nb + 1; }
  int64_t k2() const { return nb + 2; }
  int64_t n() const { return nb + 3; }

  /// The map of the operand with `role` (operands may be one value in
  /// several roles, as self-attention's q, k and v).
  AffineMap mapOf(AttentionRole role) {
    for (auto [entry, map] :
         llvm::zip(getAttentionOperands(op), op.getIndexingMapsArray()))
      if (entry.first == role)
        return map;
    return AffineMap();
  }

  /// `map` (over the domain) as a map over the loops `space` (a list of
  /// domain dimensions); every dimension it reads must be in `space`.
  AffineMap restrict(AffineMap map, ArrayRef<int64_t> space) {
    SmallVector<AffineExpr> exprs;
    for (AffineExpr expr : map.getResults()) {
      if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
        auto it = llvm::find(space, static_cast<int64_t>(dim.getPosition()));
        exprs.push_back(getAffineDimExpr(it - space.begin(), ctx));
      } else {
        exprs.push_back(expr);
      }
    }
    return AffineMap::get(space.size(), 0, exprs, ctx);
  }

  /// The domain map of a tensor laid out as `space`.
  AffineMap domainMap(ArrayRef<int64_t> space) {
    SmallVector<AffineExpr> exprs;
    for (int64_t dim : space)
      exprs.push_back(getAffineDimExpr(dim, ctx));
    return AffineMap::get(nb + 4, 0, exprs, ctx);
  }

  /// The identity over `space` seen from the loops `loops`.
  AffineMap spaceMap(ArrayRef<int64_t> space, ArrayRef<int64_t> loops) {
    SmallVector<AffineExpr> exprs;
    for (int64_t dim : space)
      exprs.push_back(
          getAffineDimExpr(llvm::find(loops, dim) - loops.begin(), ctx));
    return AffineMap::get(loops.size(), 0, exprs, ctx);
  }

  SmallVector<OpFoldResult> sizesOf(ArrayRef<int64_t> space) {
    SmallVector<OpFoldResult> sizes;
    for (int64_t dim : space)
      sizes.push_back(extents[dim]);
    return sizes;
  }

  /// An uninitialised tensor over `space`, or filled with `value`.
  Value createTensor(ArrayRef<int64_t> space, Type type,
                     std::optional<double> value) {
    Value empty = tensor::EmptyOp::create(b, loc, sizesOf(space), type);
    if (!value)
      return empty;
    Value cst = createFloatConstant(b, loc, type, *value);
    return linalg::FillOp::create(b, loc, ValueRange{cst}, ValueRange{empty})
        .getResult(0);
  }

  /// A linalg.generic over `loops` (a list of domain dimensions) into
  /// `init`, yielding `body(args)`.
  Value
  createGeneric(ValueRange inputs, ArrayRef<AffineMap> inputMaps, Value init,
                AffineMap initMap, ArrayRef<IT> iterators,
                function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
    SmallVector<AffineMap> allMaps(inputMaps);
    allMaps.push_back(initMap);
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()}, inputs, ValueRange{init},
               allMaps, iterators,
               [&](OpBuilder &nb, Location nl, ValueRange args) {
                 linalg::YieldOp::create(nb, nl, body(nb, nl, args));
               })
        .getResult(0);
  }

  /// Whether `map` over the two loops of a 2-D matmul operand reads
  /// (`first`, `second`) in that order.
  static bool reads(AffineMap map, unsigned first, unsigned second) {
    return map.getNumResults() == 2 &&
           map.getResult(0) == getAffineDimExpr(first, map.getContext()) &&
           map.getResult(1) == getAffineDimExpr(second, map.getContext());
  }

  /// out + a * b over `space` x `reduced`, as a linalg.matmul when the
  /// operands are 2-D matrices in any layout (named ops carry the
  /// conversion of f16/bf16 operands themselves), a generic otherwise.
  Value contract(Value lhs, AffineMap lhsMap, Value rhs, AffineMap rhsMap,
                 Value init, AffineMap initMap, ArrayRef<int64_t> space,
                 int64_t reduced) {
    SmallVector<int64_t> loops(space);
    loops.push_back(reduced);
    AffineMap a = restrict(lhsMap, loops), bMap = restrict(rhsMap, loops);
    AffineMap c = restrict(initMap, loops);
    if (space.size() == 2 && a.isProjectedPermutation() &&
        bMap.isProjectedPermutation() && a.getNumResults() == 2 &&
        bMap.getNumResults() == 2) {
      // (m, n, k): A (m, k), B (k, n), C (m, n) are the named op's default.
      bool isDefault = reads(a, 0, 2) && reads(bMap, 2, 1) && reads(c, 0, 1);
      SmallVector<NamedAttribute> attrs;
      if (!isDefault)
        attrs.push_back(b.getNamedAttr("indexing_maps",
                                       b.getAffineMapArrayAttr({a, bMap, c})));
      return linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                      ValueRange{lhs, rhs}, ValueRange{init},
                                      attrs)
          .getResult(0);
    }
    SmallVector<IT> iterators(space.size(), IT::parallel);
    iterators.push_back(IT::reduction);
    return createGeneric(
        {lhs, rhs}, {a, bMap}, init, c, iterators,
        [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
          Value x = convertFloat(gb, gl, args[0], compute);
          Value y = convertFloat(gb, gl, args[1], compute);
          Value p = arith::MulFOp::create(gb, gl, x, y);
          return arith::AddFOp::create(gb, gl, args[2], p);
        });
  }

  /// The raw scores over the score space (unscaled, compute type).
  Value emitScores() {
    Value init = createTensor(scoreSpace, compute, 0.0);
    AffineMap qMap = mapOf(AttentionRole::Query), kMap = mapOf(AttentionRole::Key);
    ScoreKind kind = op.getScore();
    if (kind == ScoreKind::Dot)
      return contract(op.getQuery(), qMap, op.getKey(), kMap, init,
                      domainMap(scoreSpace), scoreSpace, k1());
    // S[.., i, j] = sum_d f(q[i, d], k[j, d], w[d]) over (.., i, j, d): the
    // elementwise tanh / square sits between the operands and the sum, so
    // this is no contraction. Terms are summed in the compute type.
    SmallVector<int64_t> loops(scoreSpace);
    loops.push_back(k1());
    SmallVector<Value> inputs = {op.getQuery(), op.getKey()};
    SmallVector<AffineMap> inputMaps = {restrict(qMap, loops),
                                        restrict(kMap, loops)};
    Value weight = op.getWeight();
    if (weight) {
      inputs.push_back(weight);
      inputMaps.push_back(restrict(mapOf(AttentionRole::Weight), loops));
    }
    SmallVector<IT> iterators(scoreSpace.size(), IT::parallel);
    iterators.push_back(IT::reduction);
    return createGeneric(
        inputs, inputMaps, init, spaceMap(scoreSpace, loops), iterators,
        [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
          Value q = convertFloat(gb, gl, args[0], compute);
          Value k = convertFloat(gb, gl, args[1], compute);
          Value w = weight ? convertFloat(gb, gl, args[2], compute) : Value();
          Value term = createScoreTerm(gb, gl, kind, q, k, w);
          return arith::AddFOp::create(gb, gl, args.back(), term);
        });
  }

  /// The factor applied to the summed score: the Gaussian's -1/2 folds
  /// into it, so the (.., i, j, d) reduction only sums squares.
  double getFactor() {
    double scale = op.getScale().convertToDouble();
    return op.getScore() == ScoreKind::Gaussian ? -scale / 2 : scale;
  }

  /// The global position (an index) of domain dimension `dim` at the
  /// generic's loop `loop`: the op's position plus linalg.index.
  Value positionAt(OpBuilder &gb, Location gl, int64_t dim, unsigned loop) {
    Value index = linalg::IndexOp::create(gb, gl, loop);
    OpFoldResult start = op.getPosition(gb, dim);
    if (isConstantIntValue(start, 0))
      return index;
    return arith::AddIOp::create(gb, gl, cast<Value>(start), index);
  }

  /// Scale, score_mod, masks: one elementwise op over the score space.
  Value emitMaskedScores(Value scores) {
    double factor = getFactor();
    Value mask = op.getMask(), lengths = op.getKeyLengths(),
          blockMask = op.getBlockMask();
    bool causal = op.getCausal();
    std::optional<std::pair<int64_t, int64_t>> window = op.getWindowBounds();
    if (factor == 1.0 && !mask && !causal && !window && !lengths &&
        !blockMask && !op.hasScoreMod())
      return scores;
    unsigned numLoops = scoreSpace.size();
    unsigned iLoop = nb, jLoop = nb + 1;
    SmallVector<Value> inputs = {scores};
    SmallVector<AffineMap> inputMaps = {
        AffineMap::getMultiDimIdentityMap(numLoops, ctx)};
    if (mask) {
      inputs.push_back(mask);
      inputMaps.push_back(restrict(mapOf(AttentionRole::Mask), scoreSpace));
    }
    if (lengths) {
      inputs.push_back(lengths);
      inputMaps.push_back(restrict(mapOf(AttentionRole::KeyLengths), scoreSpace));
    }
    SmallVector<IT> iterators(numLoops, IT::parallel);
    Value init = createTensor(scoreSpace, compute, std::nullopt);
    return createGeneric(
        inputs, inputMaps, init, spaceMap(scoreSpace, scoreSpace), iterators,
        [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
          Value s = args[0];
          if (factor != 1.0)
            s = arith::MulFOp::create(
                gb, gl, s, createFloatConstant(gb, gl, compute, factor));
          if (op.hasScoreMod())
            s = inlineScoreMod(gb, gl, s);
          Value minusInf = createFloatConstant(
              gb, gl, compute, -std::numeric_limits<double>::infinity());
          unsigned next = 1;
          if (mask) {
            Value element = args[next++];
            if (element.getType().isInteger(1)) {
              s = arith::SelectOp::create(gb, gl, element, s, minusInf);
            } else if (op.getKeepOrDrop()) {
              // -inf replaces the score rather than being added: a masked
              // key is ignored whatever its score (NaN + -inf is NaN).
              Value drop = arith::CmpFOp::create(
                  gb, gl, arith::CmpFPredicate::OEQ,
                  convertFloat(gb, gl, element, compute), minusInf);
              s = arith::SelectOp::create(gb, gl, drop, minusInf, s);
            } else {
              s = arith::AddFOp::create(gb, gl, s,
                                        convertFloat(gb, gl, element, compute));
            }
          }
          // The structured masks compare global positions.
          Value i, j;
          auto positions = [&] {
            if (!i) {
              i = positionAt(gb, gl, m(), iLoop);
              j = positionAt(gb, gl, k2(), jLoop);
            }
          };
          auto dropWhere = [&](Value condition) {
            s = arith::SelectOp::create(gb, gl, condition, minusInf, s);
          };
          if (causal) {
            positions();
            dropWhere(
                arith::CmpIOp::create(gb, gl, arith::CmpIPredicate::ugt, j, i));
          }
          if (window) {
            positions();
            Value left = arith::ConstantIndexOp::create(gb, gl, window->first);
            Value right =
                arith::ConstantIndexOp::create(gb, gl, window->second);
            // Keep i - left <= j <= i + right.
            Value jPlusLeft = arith::AddIOp::create(gb, gl, j, left);
            Value iPlusRight = arith::AddIOp::create(gb, gl, i, right);
            Value before = arith::CmpIOp::create(
                gb, gl, arith::CmpIPredicate::slt, jPlusLeft, i);
            Value after = arith::CmpIOp::create(
                gb, gl, arith::CmpIPredicate::sgt, j, iPlusRight);
            dropWhere(arith::OrIOp::create(gb, gl, before, after));
          }
          if (lengths) {
            positions();
            Value length = args[next++];
            if (!length.getType().isIndex())
              length =
                  arith::IndexCastOp::create(gb, gl, gb.getIndexType(), length);
            dropWhere(arith::CmpIOp::create(gb, gl, arith::CmpIPredicate::sge,
                                            j, length));
          }
          if (blockMask) {
            positions();
            ArrayRef<int64_t> blocks = *op.getBlockSizes();
            Value bi = arith::DivUIOp::create(
                gb, gl, i, arith::ConstantIndexOp::create(gb, gl, blocks[0]));
            Value bj = arith::DivUIOp::create(
                gb, gl, j, arith::ConstantIndexOp::create(gb, gl, blocks[1]));
            SmallVector<Value> indices;
            for (AffineExpr expr : mapOf(AttentionRole::BlockMask).getResults()) {
              auto dim = dyn_cast<AffineDimExpr>(expr);
              if (!dim)
                indices.push_back(arith::ConstantIndexOp::create(gb, gl, 0));
              else if (dim.getPosition() == m())
                indices.push_back(bi);
              else if (dim.getPosition() == k2())
                indices.push_back(bj);
              else
                indices.push_back(
                    linalg::IndexOp::create(gb, gl, dim.getPosition()));
            }
            Value keep = tensor::ExtractOp::create(gb, gl, blockMask, indices);
            Value drop = arith::XOrIOp::create(
                gb, gl, keep,
                arith::ConstantOp::create(gb, gl, gb.getBoolAttr(true)));
            dropWhere(drop);
          }
          return s;
        });
  }

  /// The score_mod region's ops, cloned with its arguments bound to the
  /// score and the global positions of this element.
  Value inlineScoreMod(OpBuilder &gb, Location gl, Value score) {
    Block &block = op.getScoreMod().front();
    IRMapping mapping;
    mapping.map(block.getArgument(0), score);
    OperandRange offsets = op.getOffsets();
    int64_t positions = offsets.empty() ? nb : offsets.size() - 2;
    int64_t outer = positions - nb;
    for (int64_t p = 0; p < positions; ++p) {
      Value position =
          p < outer ? offsets[p] : positionAt(gb, gl, p - outer, p - outer);
      mapping.map(block.getArgument(1 + p), position);
    }
    mapping.map(block.getArgument(1 + positions), positionAt(gb, gl, m(), nb));
    mapping.map(block.getArgument(2 + positions),
                positionAt(gb, gl, k2(), nb + 1));
    for (Operation &inner : block.without_terminator())
      gb.clone(inner, mapping);
    return mapping.lookup(cast<YieldOp>(block.getTerminator()).getValues()[0]);
  }

  /// max over the key axis of `scores` into a -inf-filled row tensor,
  /// ignoring NaN (maxnumf): the max only shifts the exponents, and a NaN
  /// score still makes its row NaN through exp(NaN - m) in the sum and in
  /// P V. A NaN-ignoring max needs no NaN propagation per element, which
  /// lets the CPU path reduce a row with one vmaxps per vector
  /// (attn-vectorize-flash-steps).
  Value emitRowMax(Value scores, Value into) {
    SmallVector<IT> iterators(scoreSpace.size(), IT::parallel);
    iterators.back() = IT::reduction;
    return createGeneric(
        scores, {spaceMap(scoreSpace, scoreSpace)}, into,
        spaceMap(rowSpace, scoreSpace), iterators,
        [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
          return arith::MaxNumFOp::create(gb, gl, args[0], args[1]);
        });
  }

  /// exp(s - max), 0 where the max is still -inf.
  Value emitExponentials(Value scores, Value maxes) {
    SmallVector<IT> iterators(scoreSpace.size(), IT::parallel);
    return createGeneric(
        ValueRange{scores, maxes},
        {spaceMap(scoreSpace, scoreSpace), spaceMap(rowSpace, scoreSpace)},
        createTensor(scoreSpace, compute, std::nullopt),
        spaceMap(scoreSpace, scoreSpace), iterators,
        [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
          return createExpBelowMax(gb, gl, args[0], args[1]);
        });
  }

  /// into + rowsum p.
  Value emitAddRowSums(Value p, Value into) {
    SmallVector<IT> iterators(scoreSpace.size(), IT::parallel);
    iterators.back() = IT::reduction;
    return createGeneric(
        p, {spaceMap(scoreSpace, scoreSpace)}, into,
        spaceMap(rowSpace, scoreSpace), iterators,
        [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
          return arith::AddFOp::create(gb, gl, args[0], args[1]);
        });
  }

  OpBuilder &b;
  OpTy op;
  Location loc;
  MLIRContext *ctx;
  int64_t nb;
  Type compute;
  SmallVector<OpFoldResult> extents;
  SmallVector<AffineMap> maps;
  /// (B..., M, K2), (B..., M) and (B..., M, N).
  SmallVector<int64_t> scoreSpace, rowSpace, outSpace;
};

/// Whether `value` is a linalg.fill of `fill`.
bool isFilledWith(Value value, double fill) {
  auto op = value.getDefiningOp<linalg::FillOp>();
  if (!op)
    return false;
  auto cst = op.getInputs()[0].getDefiningOp<arith::ConstantOp>();
  auto attr = cst ? dyn_cast<FloatAttr>(cst.getValue()) : FloatAttr();
  return attr && attr.getValueAsDouble() == fill;
}

} // namespace

//===----------------------------------------------------------------------===//
// attn.online_attention: one flash step
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<Value>>
OnlineAttentionOp::decomposeOperation(OpBuilder &b) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(*this);
  Decomposer<OnlineAttentionOp> d(b, *this);
  AffineMap accMap = d.mapOf(AttentionRole::Acc), maxMap = d.mapOf(AttentionRole::Max),
            sumMap = d.mapOf(AttentionRole::Sum);
  // The running values are read and written in place (outs = the incoming
  // values, read only before they are overwritten) so that one-shot
  // bufferization keeps one buffer per loop-carried value.
  Value scores = d.emitMaskedScores(d.emitScores());
  Value rowMax = d.emitRowMax(
      scores, d.createTensor(d.rowSpace, d.compute,
                             -std::numeric_limits<double>::infinity()));
  // The destinations' maps over the spaces they live in.
  SmallVector<int64_t> rowLoops(d.rowSpace), outLoops(d.outSpace);
  AffineMap maxOut = d.restrict(maxMap, rowLoops);
  AffineMap sumOut = d.restrict(sumMap, rowLoops);
  AffineMap accOut = d.restrict(accMap, outLoops);
  AffineMap rowId = d.spaceMap(d.rowSpace, rowLoops);
  // into + P V, summing over the keys. With bf16 values (left bf16 for
  // AMX by attn-widen-attention-operands keep-bf16), P is rounded to bf16
  // first, as PyTorch's bf16 attention rounds its probabilities: the
  // product is then a bf16 x bf16 -> f32 contraction. The row sums keep
  // the unrounded P.
  Type valueType = getElementTypeOrSelf(getValue().getType());
  auto addMixedValues = [&](Value p, Value into) {
    if (valueType.isBF16() && d.compute != valueType) {
      SmallVector<IT> iterators(d.scoreSpace.size(), IT::parallel);
      AffineMap id = d.spaceMap(d.scoreSpace, d.scoreSpace);
      p = d.createGeneric(
          p, {id}, d.createTensor(d.scoreSpace, valueType, std::nullopt), id,
          iterators, [&](OpBuilder &gb, Location gl, ValueRange args) {
            return convertFloat(gb, gl, args[0], valueType);
          });
    }
    return d.contract(p, d.domainMap(d.scoreSpace), getValue(),
                      d.mapOf(AttentionRole::Value), into, accMap, d.outSpace, d.k2());
  };

  // Nothing to rescale when the running values are the initial ones (a
  // first key block): m_new = rowmax S, l = rowsum P, acc = P V. This keeps
  // a single-block attention a plain softmax.
  if (isFilledWith(getMax(), -std::numeric_limits<double>::infinity()) &&
      isFilledWith(getSum(), 0.0) && isFilledWith(getAcc(), 0.0) &&
      maxOut == rowId && sumOut == rowId) {
    Value p = d.emitExponentials(scores, rowMax);
    return SmallVector<Value>{addMixedValues(p, getAcc()), rowMax,
                              d.emitAddRowSums(p, getSum())};
  }
  SmallVector<IT> rowIterators(d.rowSpace.size(), IT::parallel);
  // alpha = exp(m - m_new) rescales what earlier blocks summed; it is 0
  // while the row has seen only -inf (l and acc are 0 then).
  Value alpha = d.createGeneric(
      ValueRange{getMax(), rowMax}, {maxOut, rowId},
      d.createTensor(d.rowSpace, d.compute, std::nullopt), rowId, rowIterators,
      [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
        Value mNew = arith::MaximumFOp::create(gb, gl, args[0], args[1]);
        return createExpBelowMax(gb, gl, args[0], mNew);
      });
  Value mNew = d.createGeneric(
      rowMax, {rowId}, getMax(), maxOut, rowIterators,
      [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
        return arith::MaximumFOp::create(gb, gl, args[1], args[0]);
      });
  Value p = d.emitExponentials(scores, mNew);
  Value lScaled = d.createGeneric(
      alpha, {rowId}, getSum(), sumOut, rowIterators,
      [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
        return arith::MulFOp::create(gb, gl, args[1], args[0]);
      });
  Value lNew = d.emitAddRowSums(p, lScaled);
  SmallVector<IT> outIterators(d.outSpace.size(), IT::parallel);
  Value accScaled = d.createGeneric(
      alpha, {d.spaceMap(d.rowSpace, outLoops)}, getAcc(), accOut, outIterators,
      [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
        return arith::MulFOp::create(gb, gl, args[1], args[0]);
      });
  Value accNew = addMixedValues(p, accScaled);
  return SmallVector<Value>{accNew, mNew, lNew};
}

//===----------------------------------------------------------------------===//
// attn.attention: the unfused computation
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<Value>> AttentionOp::decomposeOperation(OpBuilder &b) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(*this);
  Decomposer<AttentionOp> d(b, *this);
  Type compute = d.compute;
  // softmax(S) with the Sq x Sk scores materialised.
  Value scores = d.emitMaskedScores(d.emitScores());
  Value maxes = d.emitRowMax(
      scores, d.createTensor(d.rowSpace, compute,
                             -std::numeric_limits<double>::infinity()));
  Value p = d.emitExponentials(scores, maxes);
  Value sums = d.emitAddRowSums(p, d.createTensor(d.rowSpace, compute, 0.0));
  // out = (P V) / l; for rows whose keys are all masked (l == 0) P V
  // itself, the sum of 0 * v: 0, or NaN where a value is NaN or infinite,
  // as softmax(s) @ v computes it.
  Value unnormalised =
      d.contract(p, d.domainMap(d.scoreSpace), getValue(), d.mapOf(AttentionRole::Value),
                 d.createTensor(d.outSpace, compute, 0.0),
                 d.domainMap(d.outSpace), d.outSpace, d.k2());
  SmallVector<int64_t> outLoops(d.outSpace), rowLoops(d.rowSpace);
  Type outType = getOutput().getType().getElementType();
  SmallVector<Value> results;
  results.push_back(d.createGeneric(
      ValueRange{unnormalised, sums},
      {d.spaceMap(d.outSpace, outLoops), d.spaceMap(d.rowSpace, outLoops)},
      getOutput(), d.restrict(d.mapOf(AttentionRole::Output), outLoops),
      SmallVector<IT>(outLoops.size(), IT::parallel),
      [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
        Value zero = createFloatConstant(gb, gl, compute, 0.0);
        Value isZero = arith::CmpFOp::create(gb, gl, arith::CmpFPredicate::OEQ,
                                             args[1], zero);
        Value quotient = arith::DivFOp::create(gb, gl, args[0], args[1]);
        Value result =
            arith::SelectOp::create(gb, gl, isZero, args[0], quotient);
        return convertFloat(gb, gl, result, outType);
      }));
  if (Value lse = getLse()) {
    // lse = m + log(l); -inf for a row whose keys are all masked.
    Type lseType = getElementTypeOrSelf(lse.getType());
    results.push_back(d.createGeneric(
        ValueRange{maxes, sums},
        {d.spaceMap(d.rowSpace, rowLoops), d.spaceMap(d.rowSpace, rowLoops)},
        lse, d.restrict(d.mapOf(AttentionRole::Lse), rowLoops),
        SmallVector<IT>(rowLoops.size(), IT::parallel),
        [&](OpBuilder &gb, Location gl, ValueRange args) -> Value {
          Value log = math::LogOp::create(gb, gl, args[1]);
          Value sum = arith::AddFOp::create(gb, gl, args[0], log);
          return convertFloat(gb, gl, sum, lseType);
        }));
  }
  return results;
}
