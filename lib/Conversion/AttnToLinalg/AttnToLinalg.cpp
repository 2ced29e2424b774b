//===- AttnToLinalg.cpp - lower attn ops to linalg on tensors -------------===//
//
// Rewrites attn.rearrange, attn.einsum, attn.softmax and attn.attention into
// tensor reshapes and linalg ops, so that upstream bufferization and loop
// lowering can take attn programs to code.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/AttnToLinalg/AttnToLinalg.h"

#include "attn/Dialect/Attn/Utils/FloatUtils.h"
#include "attn/Dialect/Attn/Transforms/Transforms.h"
#include "attn/Conversion/Passes.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>

namespace mlir::attn {
#define GEN_PASS_DEF_CONVERTATTNTOLINALGPASS
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

using Labels = SmallVector<std::string, 4>;
using SizeMap = std::map<std::string, int64_t>;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// A tensor of `shape` filled with `value`: the init of a reduction.
static Value createFilled(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                          Type type, double value) {
  Value empty = tensor::EmptyOp::create(b, loc, shape, type);
  Value cst = createFloatConstant(b, loc, type, value);
  return linalg::FillOp::create(b, loc, ValueRange{cst}, ValueRange{empty})
      .getResult(0);
}

/// Creates a single-result linalg.generic whose body yields `body(args)`.
static Value
createGeneric(OpBuilder &b, Location loc, ValueRange inputs, Value init,
              ArrayRef<AffineMap> maps,
              ArrayRef<utils::IteratorType> iterators,
              function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        linalg::YieldOp::create(nested, nestedLoc,
                                body(nested, nestedLoc, args));
      });
  return op.getResult(0);
}

/// Reshapes a static tensor to or from 1-D with a single reassociation
/// group, which is valid for every static shape, zero-size ones included (a
/// rank-0 tensor is the empty group).
static Value reshapeThroughFlat(OpBuilder &b, Location loc, Value value,
                                ArrayRef<int64_t> shape) {
  auto srcType = cast<RankedTensorType>(value.getType());
  Type elementType = srcType.getElementType();
  auto allDims = [](int64_t rank) {
    SmallVector<ReassociationIndices> groups;
    if (rank > 0)
      groups.push_back(llvm::to_vector(llvm::seq<int64_t>(0, rank)));
    return groups;
  };
  auto flatType =
      RankedTensorType::get({srcType.getNumElements()}, elementType);
  Value flat = value;
  if (srcType.getRank() == 0)
    flat = tensor::ExpandShapeOp::create(b, loc, flatType, value,
                                         allDims(0));
  else if (srcType.getRank() > 1)
    flat = tensor::CollapseShapeOp::create(b, loc, flatType, value,
                                           allDims(srcType.getRank()));
  auto dstType = RankedTensorType::get(shape, elementType);
  if (dstType.getRank() == 0)
    return tensor::CollapseShapeOp::create(b, loc, dstType, flat, allDims(0));
  if (dstType.getRank() == 1)
    return flat;
  return tensor::ExpandShapeOp::create(b, loc, dstType, flat,
                                       allDims(dstType.getRank()));
}

/// Reshapes a static tensor to `shape` (same element count and order).
/// A pure merge or split becomes one collapse/expand_shape; anything else
/// goes through a 1-D tensor, which is always expressible.
static Value reshapeTo(OpBuilder &b, Location loc, Value value,
                       ArrayRef<int64_t> shape) {
  auto srcType = cast<RankedTensorType>(value.getType());
  if (srcType.getShape() == shape)
    return value;
  auto dstType = RankedTensorType::get(shape, srcType.getElementType());
  if (srcType.getRank() > dstType.getRank()) {
    if (auto re = getReassociationIndicesForCollapse(srcType.getShape(), shape))
      return tensor::CollapseShapeOp::create(b, loc, dstType, value, *re);
  } else if (srcType.getRank() < dstType.getRank()) {
    if (auto re = getReassociationIndicesForCollapse(shape, srcType.getShape()))
      return tensor::ExpandShapeOp::create(b, loc, dstType, value, *re);
  }
  // Without their size-1 dims, source and target often agree ("b n 1 d ->
  // b 1 n d"): drop them, then add the target's back.
  auto squeeze = [](ArrayRef<int64_t> dims) {
    SmallVector<int64_t> result;
    for (int64_t dim : dims)
      if (dim != 1)
        result.push_back(dim);
    return result;
  };
  SmallVector<int64_t> squeezed = squeeze(srcType.getShape());
  if (squeezed == squeeze(shape) && squeezed.size() < shape.size() &&
      squeezed.size() < static_cast<size_t>(srcType.getRank()))
    return reshapeTo(b, loc, reshapeTo(b, loc, value, squeezed), shape);
  return reshapeThroughFlat(b, loc, value, shape);
}

/// Applies `fn` elementwise to `value`, producing a tensor of `elementType`.
static Value
mapElementwise(OpBuilder &b, Location loc, Value value, Type elementType,
               function_ref<Value(OpBuilder &, Location, Value)> fn) {
  auto type = cast<RankedTensorType>(value.getType());
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(), elementType);
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  return createGeneric(b, loc, value, init, {id, id}, iterators,
                       [&](OpBuilder &nb, Location nl, ValueRange args) {
                         return fn(nb, nl, args[0]);
                       });
}

/// Multiplies by `scale` (when not 1) and converts to `elementType` (when
/// different) in one elementwise op.
static Value scaleAndConvert(OpBuilder &b, Location loc, Value value,
                             double scale, Type elementType) {
  Type from = cast<RankedTensorType>(value.getType()).getElementType();
  if (scale == 1.0 && from == elementType)
    return value;
  return mapElementwise(b, loc, value, elementType,
                        [&](OpBuilder &nb, Location nl, Value x) {
                          if (scale != 1.0)
                            x = arith::MulFOp::create(
                                nb, nl, x,
                                createFloatConstant(nb, nl, from, scale));
                          return convertFloat(nb, nl, x, elementType);
                        });
}

//===----------------------------------------------------------------------===//
// Contractions (einsum and the matrix products of attention)
//===----------------------------------------------------------------------===//

namespace {
/// One operand of a contraction: a tensor and the label of each dimension.
struct Term {
  Value value;
  Labels labels;
};
} // namespace

static bool hasRepeatedLabel(const Labels &labels) {
  llvm::StringSet<> seen;
  for (const std::string &label : labels)
    if (!seen.insert(label).second)
      return true;
  return false;
}

static bool contains(ArrayRef<std::string> labels, StringRef label) {
  return llvm::is_contained(labels, label);
}

static SmallVector<int64_t> shapeOf(ArrayRef<std::string> labels,
                                    const SizeMap &sizes) {
  SmallVector<int64_t> shape;
  for (const std::string &label : labels)
    shape.push_back(sizes.at(label));
  return shape;
}

/// Reshapes `value`, whose dims are labelled `labels`, to one dim per group
/// of `groups` (consecutive runs of `labels`, in order).
static Value collapseGroups(OpBuilder &b, Location loc, Value value,
                            ArrayRef<Labels> groups, const SizeMap &sizes) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<ReassociationIndices> reassociation;
  SmallVector<int64_t> shape;
  int64_t dim = 0;
  for (const Labels &group : groups) {
    ReassociationIndices indices;
    int64_t size = 1;
    for (const std::string &label : group) {
      indices.push_back(dim++);
      size *= sizes.at(label);
    }
    reassociation.push_back(indices);
    shape.push_back(size);
  }
  if (static_cast<int64_t>(shape.size()) == type.getRank())
    return value;
  auto dstType = RankedTensorType::get(shape, type.getElementType());
  return tensor::CollapseShapeOp::create(b, loc, dstType, value,
                                         reassociation);
}

/// The transpose of a 2-D constant, computed at compile time: a weight
/// stored [out, in] (nn.Linear) becomes [in, out], so the matmul reads it
/// rows-innermost without a transposed copy per call. Null when `value` is
/// not such a constant.
static Value transposeConstant(OpBuilder &b, Location loc, Value value) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return {};
  auto attr = dyn_cast<DenseIntOrFPElementsAttr>(constant.getValue());
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!attr || !type || type.getRank() != 2 || !type.hasStaticShape())
    return {};
  int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
  auto newType = RankedTensorType::get({cols, rows}, type.getElementType());
  DenseElementsAttr result;
  if (attr.isSplat()) {
    result = attr.resizeSplat(newType);
  } else {
    unsigned bits = type.getElementTypeBitWidth();
    if (bits % 8 != 0)
      return {};
    size_t bytes = bits / 8;
    ArrayRef<char> raw = attr.getRawData();
    if (raw.size() != static_cast<size_t>(rows * cols) * bytes)
      return {};
    std::vector<char> data(raw.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        std::memcpy(&data[(c * rows + r) * bytes],
                    &raw[(r * cols + c) * bytes], bytes);
    result = DenseElementsAttr::getFromRawBuffer(newType, data);
  }
  return arith::ConstantOp::create(b, loc, newType, result);
}

/// Emits `out[outLabels] = sum prod_t terms[t]` as linalg.matmul or
/// linalg.batch_matmul, with operand transposes in `indexing_maps`, when the
/// two terms form a (batched) matrix product whose result is laid out
/// [batch..., m..., n...] or [batch..., n..., m...]. Size-1 labels are
/// dropped first ("b n c, o c -> b n o" with b = 1 is a plain matrix
/// product), and each group of labels (batch, M, N, K) that is contiguous
/// and in the same order in both places it occurs is collapsed into one
/// dimension: nn.Linear's "b n c, o c -> b n o" becomes one
/// [(b n), c] x [o, c]^T matmul. Returns a null value when the equation has
/// another shape.
static Value tryEmitMatmul(OpBuilder &b, Location loc, Term lhs, Term rhs,
                           ArrayRef<std::string> fullOutLabels,
                           const SizeMap &sizes, Type computeType) {
  if (hasRepeatedLabel(lhs.labels) || hasRepeatedLabel(rhs.labels))
    return {};
  // Drop size-1 labels, except batch labels (in every operand), which
  // batch_matmul keeps: they index nothing.
  llvm::StringSet<> units;
  for (const std::string &label : lhs.labels)
    if (sizes.at(label) == 1 &&
        !(contains(rhs.labels, label) && contains(fullOutLabels, label)))
      units.insert(label);
  for (const std::string &label : rhs.labels)
    if (sizes.at(label) == 1 && !contains(lhs.labels, label))
      units.insert(label);
  for (const std::string &label : fullOutLabels)
    if (sizes.at(label) == 1 && !contains(lhs.labels, label) &&
        !contains(rhs.labels, label))
      units.insert(label);
  auto isUnit = [&](const std::string &label) {
    return units.contains(label);
  };
  auto squeeze = [&](Term &term) {
    Labels kept;
    for (const std::string &label : term.labels)
      if (!isUnit(label))
        kept.push_back(label);
    // The value itself is reshaped once the equation is known to match.
    term.labels = kept;
  };
  squeeze(lhs);
  squeeze(rhs);
  Labels outLabels;
  for (const std::string &label : fullOutLabels)
    if (!isUnit(label))
      outLabels.push_back(label);

  Labels batch, m, n, k;
  for (const std::string &label : lhs.labels) {
    bool inRhs = contains(rhs.labels, label), inOut = contains(outLabels, label);
    if (inRhs && inOut)
      batch.push_back(label);
    else if (inRhs)
      k.push_back(label);
    else if (inOut)
      m.push_back(label);
    else
      return {}; // summed over one operand only: not a matrix product
  }
  for (const std::string &label : rhs.labels) {
    if (contains(lhs.labels, label))
      continue;
    if (!contains(outLabels, label))
      return {};
    n.push_back(label);
  }
  if (m.empty() || n.empty() || k.empty())
    return {};
  size_t numBatch = batch.size();
  if (outLabels.size() != numBatch + m.size() + n.size())
    return {};
  // Batch labels lead every operand in the same order, so they can be merged.
  for (size_t i = 0; i < numBatch; ++i)
    if (lhs.labels[i] != batch[i] || rhs.labels[i] != batch[i] ||
        outLabels[i] != batch[i])
      return {};
  // M and N in the result's order, K in the lhs's order.
  ArrayRef<std::string> outTail = ArrayRef(outLabels).drop_front(numBatch);
  auto concat = [](ArrayRef<std::string> x, ArrayRef<std::string> y) {
    Labels result(x.begin(), x.end());
    result.append(y.begin(), y.end());
    return result;
  };
  auto inOrderOf = [](Labels group, ArrayRef<std::string> order) {
    llvm::stable_sort(group, [&](const std::string &x, const std::string &y) {
      return llvm::find(order, x) < llvm::find(order, y);
    });
    return group;
  };
  m = inOrderOf(m, outTail);
  n = inOrderOf(n, outTail);
  // The result must be [batch..., m..., n...]; [batch..., n..., m...] is the
  // same product with the operands swapped.
  if (ArrayRef<std::string>(concat(n, m)) == outTail &&
      ArrayRef<std::string>(concat(m, n)) != outTail) {
    std::swap(lhs, rhs);
    std::swap(m, n);
  }
  if (ArrayRef<std::string>(concat(m, n)) != outTail)
    return {};
  ArrayRef<std::string> lhsTail = ArrayRef(lhs.labels).drop_front(numBatch);
  ArrayRef<std::string> rhsTail = ArrayRef(rhs.labels).drop_front(numBatch);
  k = inOrderOf(k, lhsTail);
  bool lhsTransposed;
  if (lhsTail == ArrayRef<std::string>(concat(m, k)))
    lhsTransposed = false;
  else if (lhsTail == ArrayRef<std::string>(concat(k, m)))
    lhsTransposed = true;
  else
    return {};
  bool rhsTransposed;
  if (rhsTail == ArrayRef<std::string>(concat(k, n)))
    rhsTransposed = false;
  else if (rhsTail == ArrayRef<std::string>(concat(n, k)))
    rhsTransposed = true;
  else
    return {};

  auto groups = [&](const Labels &first, const Labels &second) {
    SmallVector<Labels> result;
    if (numBatch > 0)
      result.push_back(batch);
    result.push_back(first);
    result.push_back(second);
    return result;
  };
  lhs.value = reshapeTo(b, loc, lhs.value, shapeOf(lhs.labels, sizes));
  rhs.value = reshapeTo(b, loc, rhs.value, shapeOf(rhs.labels, sizes));
  Value lhsValue = collapseGroups(b, loc, lhs.value,
                                  lhsTransposed ? groups(k, m) : groups(m, k),
                                  sizes);
  Value rhsValue = collapseGroups(b, loc, rhs.value,
                                  rhsTransposed ? groups(n, k) : groups(k, n),
                                  sizes);
  // nn.Linear's constant weight: transposed once here instead of by
  // attn-tile-and-vectorize's copy on every call.
  if (!batch.size() && rhsTransposed)
    if (Value transposed = transposeConstant(b, loc, rhsValue)) {
      rhsValue = transposed;
      rhsTransposed = false;
    }
  auto product = [&](const Labels &labels) {
    int64_t size = 1;
    for (const std::string &label : labels)
      size *= sizes.at(label);
    return size;
  };

  MLIRContext *ctx = b.getContext();
  bool batched = numBatch > 0;
  unsigned numDims = batched ? 4 : 3;
  AffineExpr bd = getAffineDimExpr(0, ctx);
  AffineExpr md = getAffineDimExpr(numDims - 3, ctx);
  AffineExpr nd = getAffineDimExpr(numDims - 2, ctx);
  AffineExpr kd = getAffineDimExpr(numDims - 1, ctx);
  auto makeMap = [&](AffineExpr x, AffineExpr y) {
    SmallVector<AffineExpr> exprs;
    if (batched)
      exprs.push_back(bd);
    exprs.push_back(x);
    exprs.push_back(y);
    return AffineMap::get(numDims, 0, exprs, ctx);
  };
  SmallVector<Attribute> maps = {
      AffineMapAttr::get(lhsTransposed ? makeMap(kd, md) : makeMap(md, kd)),
      AffineMapAttr::get(rhsTransposed ? makeMap(nd, kd) : makeMap(kd, nd)),
      AffineMapAttr::get(makeMap(md, nd))};
  NamedAttribute mapsAttr =
      b.getNamedAttr("indexing_maps", b.getArrayAttr(maps));

  SmallVector<int64_t> outShape;
  if (batched)
    outShape.push_back(product(batch));
  outShape.push_back(product(m));
  outShape.push_back(product(n));
  Value init = createFilled(b, loc, outShape, computeType, 0.0);
  // The named ops extend their operands to the accumulator's type, so mixed
  // f16 operands with an f32 accumulator need no separate cast.
  Value result;
  if (batched)
    result = linalg::BatchMatmulOp::create(b, loc, TypeRange{init.getType()},
                                           ValueRange{lhsValue, rhsValue},
                                           ValueRange{init}, {mapsAttr})
                 .getResult(0);
  else
    result = linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                      ValueRange{lhsValue, rhsValue},
                                      ValueRange{init}, {mapsAttr})
                 .getResult(0);
  // Back to the result's groups, then its size-1 dims.
  SmallVector<Labels> outGroups = groups(m, n);
  SmallVector<ReassociationIndices> reassociation;
  int64_t dim = 0;
  for (const Labels &group : outGroups) {
    ReassociationIndices indices;
    for (size_t i = 0; i < group.size(); ++i)
      indices.push_back(dim++);
    reassociation.push_back(indices);
  }
  if (static_cast<size_t>(dim) != outGroups.size()) {
    auto type = RankedTensorType::get(shapeOf(outLabels, sizes),
                                      cast<RankedTensorType>(result.getType())
                                          .getElementType());
    result = tensor::ExpandShapeOp::create(b, loc, type, result, reassociation);
  }
  return reshapeTo(b, loc, result, shapeOf(fullOutLabels, sizes));
}

/// Emits `out[outLabels] = sum prod_t terms[t]` as one linalg.generic: the
/// iteration space is the output labels followed by the summed labels, and a
/// label repeated inside a term (a diagonal) indexes that term twice with the
/// same loop.
static Value emitGenericContraction(OpBuilder &b, Location loc,
                                    ArrayRef<Term> terms,
                                    ArrayRef<std::string> outLabels,
                                    const SizeMap &sizes, Type computeType) {
  Labels loops(outLabels.begin(), outLabels.end());
  for (const Term &term : terms)
    for (const std::string &label : term.labels)
      if (!contains(loops, label))
        loops.push_back(label);
  MLIRContext *ctx = b.getContext();
  auto mapFor = [&](ArrayRef<std::string> labels) {
    SmallVector<AffineExpr> exprs;
    for (const std::string &label : labels)
      exprs.push_back(getAffineDimExpr(
          llvm::find(loops, label) - loops.begin(), ctx));
    return AffineMap::get(loops.size(), 0, exprs, ctx);
  };
  SmallVector<AffineMap> maps;
  SmallVector<Value> inputs;
  for (const Term &term : terms) {
    maps.push_back(mapFor(term.labels));
    inputs.push_back(term.value);
  }
  maps.push_back(mapFor(outLabels));
  SmallVector<utils::IteratorType> iterators;
  for (size_t i = 0; i < loops.size(); ++i)
    iterators.push_back(i < outLabels.size() ? utils::IteratorType::parallel
                                             : utils::IteratorType::reduction);
  // Without a summed label (an outer or elementwise product) every output
  // element is one product: the op is elementwise and must not read its
  // init, or elementwise fusion would treat it as a read-modify-write.
  bool reduces = loops.size() > outLabels.size();
  SmallVector<int64_t> outShape = shapeOf(outLabels, sizes);
  Value init = reduces ? createFilled(b, loc, outShape, computeType, 0)
                       : tensor::EmptyOp::create(b, loc, outShape, computeType)
                             .getResult();
  return createGeneric(
      b, loc, inputs, init, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value product = convertFloat(nb, nl, args[0], computeType);
        for (Value arg : args.drop_front().drop_back())
          product = arith::MulFOp::create(
              nb, nl, product, convertFloat(nb, nl, arg, computeType));
        if (!reduces)
          return product;
        return arith::AddFOp::create(nb, nl, args.back(), product);
      });
}

/// Term `t` of `terms` with its private labels summed out: those that
/// appear once in it and in no other term nor the output. Returns the term
/// unchanged when it has none.
static Term sumOutPrivateLabels(OpBuilder &b, Location loc,
                                ArrayRef<Term> terms, size_t t,
                                ArrayRef<std::string> outLabels,
                                const SizeMap &sizes, Type computeType) {
  const Term &term = terms[t];
  auto isPrivate = [&](const std::string &label) {
    if (contains(outLabels, label) || llvm::count(term.labels, label) != 1)
      return false;
    for (size_t other = 0; other < terms.size(); ++other)
      if (other != t && contains(terms[other].labels, label))
        return false;
    return true;
  };
  Labels kept;
  for (const std::string &label : term.labels)
    if (!isPrivate(label))
      kept.push_back(label);
  if (kept.size() == term.labels.size())
    return term;
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineExpr> keptExprs;
  SmallVector<utils::IteratorType> iterators;
  for (auto [dim, label] : llvm::enumerate(term.labels)) {
    bool keep = !isPrivate(label);
    iterators.push_back(keep ? utils::IteratorType::parallel
                             : utils::IteratorType::reduction);
    if (keep)
      keptExprs.push_back(getAffineDimExpr(dim, ctx));
  }
  unsigned rank = term.labels.size();
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap reduced = AffineMap::get(rank, 0, keptExprs, ctx);
  Value init = createFilled(b, loc, shapeOf(kept, sizes), computeType, 0);
  Value sum = createGeneric(
      b, loc, term.value, init, {id, reduced}, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        return arith::AddFOp::create(
            nb, nl, args[1], convertFloat(nb, nl, args[0], computeType));
      });
  return Term{sum, kept};
}

/// Emits a contraction of any number of terms, in `computeType`.
static Value emitContraction(OpBuilder &b, Location loc, ArrayRef<Term> terms,
                             ArrayRef<std::string> outLabels,
                             const SizeMap &sizes, Type computeType) {
  if (terms.size() == 2)
    if (Value v = tryEmitMatmul(b, loc, terms[0], terms[1], outLabels, sizes,
                                computeType))
      return v;
  return emitGenericContraction(b, loc, terms, outLabels, sizes, computeType);
}

/// Contracts three or more terms pairwise. Like opt_einsum's "greedy"
/// strategy, each step picks the pair whose intermediate result is smallest:
/// small intermediates keep memory and the flops of later steps low, and the
/// search is quadratic per step rather than exponential.
static Value emitGreedyContraction(OpBuilder &b, Location loc,
                                   SmallVector<Term> terms,
                                   ArrayRef<std::string> outLabels,
                                   const SizeMap &sizes, Type computeType) {
  while (terms.size() > 2) {
    size_t bestI = 0, bestJ = 1;
    int64_t bestSize = std::numeric_limits<int64_t>::max();
    Labels bestLabels;
    for (size_t i = 0; i < terms.size(); ++i) {
      for (size_t j = i + 1; j < terms.size(); ++j) {
        // Keep the labels still needed by another term or the output; batch
        // labels (in both) first, then those of i, then those of j, so that a
        // pair forming a matrix product is laid out for linalg.batch_matmul.
        auto needed = [&](const std::string &label) {
          if (contains(outLabels, label))
            return true;
          for (size_t t = 0; t < terms.size(); ++t)
            if (t != i && t != j && contains(terms[t].labels, label))
              return true;
          return false;
        };
        Labels shared, onlyI, onlyJ;
        for (const std::string &label : terms[i].labels) {
          if (!needed(label) || contains(shared, label) ||
              contains(onlyI, label))
            continue;
          (contains(terms[j].labels, label) ? shared : onlyI).push_back(label);
        }
        for (const std::string &label : terms[j].labels)
          if (needed(label) && !contains(terms[i].labels, label) &&
              !contains(onlyJ, label))
            onlyJ.push_back(label);
        Labels labels = shared;
        labels.append(onlyI.begin(), onlyI.end());
        labels.append(onlyJ.begin(), onlyJ.end());
        int64_t size = 1;
        for (const std::string &label : labels)
          size *= sizes.at(label);
        if (size < bestSize) {
          bestSize = size;
          bestI = i;
          bestJ = j;
          bestLabels = labels;
        }
      }
    }
    Value partial =
        emitContraction(b, loc, {terms[bestI], terms[bestJ]}, bestLabels,
                        sizes, computeType);
    terms.erase(terms.begin() + bestJ);
    terms.erase(terms.begin() + bestI);
    terms.push_back(Term{partial, bestLabels});
  }
  return emitContraction(b, loc, terms, outLabels, sizes, computeType);
}

//===----------------------------------------------------------------------===//
// Softmax
//===----------------------------------------------------------------------===//

/// Softmax of `input` along `axis`, returned in `computeType`. Four generics:
/// m = max, e = exp(x - m), s = sum e, e / s. A slice that is all -inf has
/// m = -inf and x - m = NaN, so m is replaced by 0 there (e becomes 0), and
/// the division by s = 0 is replaced by 0: a fully masked row yields zeros.
static Value emitSoftmax(OpBuilder &b, Location loc, Value input, int64_t axis,
                         Type computeType) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<int64_t> reducedShape;
  SmallVector<AffineExpr> reducedExprs;
  SmallVector<utils::IteratorType> reduceIterators, parallelIterators;
  for (int64_t d = 0; d < rank; ++d) {
    parallelIterators.push_back(utils::IteratorType::parallel);
    reduceIterators.push_back(d == axis ? utils::IteratorType::reduction
                                        : utils::IteratorType::parallel);
    if (d == axis)
      continue;
    reducedShape.push_back(type.getDimSize(d));
    reducedExprs.push_back(getAffineDimExpr(d, ctx));
  }
  AffineMap id = b.getMultiDimIdentityMap(rank);
  AffineMap reduced = AffineMap::get(rank, 0, reducedExprs, ctx);
  double negInf = -std::numeric_limits<double>::infinity();

  Value maxInit = createFilled(b, loc, reducedShape, computeType, negInf);
  Value max = createGeneric(
      b, loc, input, maxInit, {id, reduced}, reduceIterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        return arith::MaximumFOp::create(
            nb, nl, convertFloat(nb, nl, args[0], computeType), args[1]);
      });

  Value expInit =
      tensor::EmptyOp::create(b, loc, type.getShape(), computeType);
  Value exp = createGeneric(
      b, loc, ValueRange{input, max}, expInit, {id, reduced, id},
      parallelIterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        return createExpBelowMax(
            nb, nl, convertFloat(nb, nl, args[0], computeType), args[1]);
      });

  Value sumInit = createFilled(b, loc, reducedShape, computeType, 0.0);
  Value sum = createGeneric(
      b, loc, exp, sumInit, {id, reduced}, reduceIterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        return arith::AddFOp::create(nb, nl, args[0], args[1]);
      });

  Value divInit =
      tensor::EmptyOp::create(b, loc, type.getShape(), computeType);
  return createGeneric(
      b, loc, ValueRange{exp, sum}, divInit, {id, reduced, id},
      parallelIterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value zero = createFloatConstant(nb, nl, computeType, 0.0);
        Value isZero = arith::CmpFOp::create(
            nb, nl, arith::CmpFPredicate::OEQ, args[1], zero);
        Value quotient = arith::DivFOp::create(nb, nl, args[0], args[1]);
        return arith::SelectOp::create(nb, nl, isZero, zero, quotient);
      });
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

namespace {

/// attn.rearrange -> expand_shape to the elementary axes, linalg.transpose,
/// reshape to the result. Size-1 axes never need to move, so they are left
/// out of the transpose and re-created by the final reshape; a rearrange
/// that only moves size-1 axes is a pure reshape.
struct RearrangeToLinalg : OpRewritePattern<RearrangeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RearrangeOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<::attn::RearrangePlan> plan = op.getPlan();
    if (!plan)
      return rewriter.notifyMatchFailure(op, "pattern does not solve");
    Location loc = op.getLoc();
    const std::vector<int64_t> &sizes = plan->elementarySizes;
    std::vector<int64_t> order = plan->outputAxisOrder();

    // The non-unit elementary axes, in input order and in output order.
    SmallVector<int64_t> inputOrder, outputOrder;
    for (int64_t axis : order)
      if (sizes[axis] != 1)
        outputOrder.push_back(axis);
    inputOrder = outputOrder;
    llvm::sort(inputOrder);
    SmallVector<int64_t> elementaryShape;
    for (int64_t axis : inputOrder)
      elementaryShape.push_back(sizes[axis]);

    Value value = op.getInput();
    if (inputOrder != outputOrder) {
      value = reshapeTo(rewriter, loc, value, elementaryShape);
      SmallVector<int64_t> permutation, transposedShape;
      for (int64_t axis : outputOrder) {
        permutation.push_back(llvm::find(inputOrder, axis) -
                              inputOrder.begin());
        transposedShape.push_back(sizes[axis]);
      }
      Value init = tensor::EmptyOp::create(
          rewriter, loc, transposedShape,
          op.getInput().getType().getElementType());
      value = linalg::TransposeOp::create(rewriter, loc, value, init,
                                          permutation)
                  ->getResult(0);
    } else if (elementaryShape.size() >
               static_cast<size_t>(op.getInput().getType().getRank())) {
      // Split first so that a merge of different factors ("(a b) c ->
      // a (b c)") becomes expand + collapse rather than a 1-D round trip.
      value = reshapeTo(rewriter, loc, value, elementaryShape);
    }
    // Otherwise reshapeTo finds the collapse/expand pair itself.
    value = reshapeTo(rewriter, loc, value, plan->outputShape);
    rewriter.replaceOp(op, value);
    return success();
  }
};

/// attn.einsum -> linalg.matmul / batch_matmul / generic (see above), then
/// one elementwise op for `scale` and the rounding to the result type.
struct EinsumToLinalg : OpRewritePattern<EinsumOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(EinsumOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<::attn::EinsumPlan> plan = op.getPlan();
    if (!plan)
      return rewriter.notifyMatchFailure(op, "equation does not solve");
    Location loc = op.getLoc();
    Type elementType = op.getResult().getType().getElementType();
    Type computeType = getComputeType(elementType);
    // Spell labels as the plan does; rename nothing, since labels only need
    // to be distinct strings here.
    SmallVector<Term> terms;
    bool anyDiagonal = false;
    for (auto [value, planLabels] :
         llvm::zip(op.getInputs(), plan->inputs)) {
      // A size-1 dimension broadcast against a larger one contributes the
      // same element for every index of that label: drop it, so the term
      // simply does not depend on the label.
      auto shape = cast<RankedTensorType>(value.getType()).getShape();
      Term term;
      SmallVector<int64_t> keptShape;
      for (auto [dim, label] : llvm::enumerate(planLabels)) {
        if (shape[dim] == 1 && plan->sizes.at(label) != 1)
          continue;
        term.labels.push_back(label);
        keptShape.push_back(shape[dim]);
      }
      term.value = reshapeTo(rewriter, loc, value, keptShape);
      anyDiagonal |= hasRepeatedLabel(term.labels);
      terms.push_back(std::move(term));
    }
    Labels outLabels(plan->output.begin(), plan->output.end());
    // A label summed in one operand only ("ab,cd->bd" sums a in the first
    // and c in the second) is summed there first, as torch.einsum does:
    // a*b + c*d + b*d work instead of a*b*c*d, and the contraction left is
    // a product whose reductions all run along both operands.
    if (terms.size() >= 2)
      for (size_t t = 0; t < terms.size(); ++t)
        terms[t] = sumOutPrivateLabels(rewriter, loc, terms, t, outLabels,
                                       plan->sizes, computeType);
    Value result;
    // Diagonals are handled by the generic op only; a pairwise split of them
    // would have to carry the repeated label through intermediates.
    if (terms.size() > 2 && !anyDiagonal)
      result = emitGreedyContraction(rewriter, loc, terms, outLabels,
                                     plan->sizes, computeType);
    else
      result = emitContraction(rewriter, loc, terms, outLabels, plan->sizes,
                               computeType);
    result = scaleAndConvert(rewriter, loc, result, op.getScaleValue(),
                             elementType);
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// attn.softmax -> the four generics of emitSoftmax, rounded at the end.
struct SoftmaxToLinalg : OpRewritePattern<SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SoftmaxOp op,
                                PatternRewriter &rewriter) const override {
    Type elementType = op.getType().getElementType();
    Value result =
        emitSoftmax(rewriter, op.getLoc(), op.getInput(),
                    op.getNormalizedAxis(), getComputeType(elementType));
    rewriter.replaceOp(op, scaleAndConvert(rewriter, op.getLoc(), result, 1.0,
                                           elementType));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

struct ConvertAttnToLinalgPass
    : public mlir::attn::impl::ConvertAttnToLinalgPassBase<
          ConvertAttnToLinalgPass> {
  using Base::Base;

  void runOnOperation() override {
    // The patterns assume static shapes (the plans are solved from them);
    // say so instead of leaving the op behind.
    bool hasDynamic = false;
    getOperation()->walk([&](Operation *op) {
      if (!isa_and_nonnull<AttnDialect>(op->getDialect()))
        return;
      auto isDynamic = [](Type type) {
        auto shaped = dyn_cast<ShapedType>(type);
        return shaped && !shaped.hasStaticShape();
      };
      if (llvm::any_of(op->getOperandTypes(), isDynamic) ||
          llvm::any_of(op->getResultTypes(), isDynamic)) {
        op->emitOpError("has a dynamic shape, which convert-attn-to-linalg "
                        "does not support yet");
        hasDynamic = true;
      }
    });
    if (hasDynamic)
      return signalPassFailure();

    if (flash && (qTile <= 0 || kvTile <= 0)) {
      getOperation()->emitError("convert-attn-to-linalg: q-tile and kv-tile "
                                "must be positive");
      return signalPassFailure();
    }

    // attn.attention: with `flash`, the CPU operand layouts the options ask
    // for, then the flash nest; every attention op left (and every step of
    // the nest) is decomposed into linalg.
    IRRewriter rewriter(&getContext());
    auto forEachAttention = [&](auto fn) {
      SmallVector<AttentionOp> ops;
      getOperation()->walk([&](AttentionOp op) { ops.push_back(op); });
      for (AttentionOp op : ops)
        (void)fn(op);
    };
    if (flash) {
      if (transposeKeys) {
        forEachAttention([&](AttentionOp op) {
          return widenAttentionOperands(rewriter, op, keepBf16);
        });
        forEachAttention([&](AttentionOp op) {
          return transposeAttentionKeys(rewriter, op);
        });
      }
      if (additiveMasks)
        forEachAttention([&](AttentionOp op) {
          return makeAttentionMaskAdditive(rewriter, op);
        });
      forEachAttention([&](AttentionOp op) {
        return tileAttention(rewriter, op, qTile, kvTile);
      });
    }
    SmallVector<Operation *> attentions;
    getOperation()->walk([&](Operation *op) {
      if (isa<AttentionOp, OnlineAttentionOp>(op))
        attentions.push_back(op);
    });
    for (Operation *op : attentions)
      if (failed(decomposeAttention(rewriter, op)))
        op->emitOpError("could not be decomposed");

    RewritePatternSet patterns(&getContext());
    populateAttnToLinalgPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();

    WalkResult remaining = getOperation()->walk([&](Operation *op) {
      if (!isa_and_nonnull<AttnDialect>(op->getDialect()))
        return WalkResult::advance();
      op->emitOpError("could not be lowered to linalg");
      return WalkResult::interrupt();
    });
    if (remaining.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace

void mlir::attn::populateAttnToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<RearrangeToLinalg, EinsumToLinalg, SoftmaxToLinalg>(
      patterns.getContext());
}
