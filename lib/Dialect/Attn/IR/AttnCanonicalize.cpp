//===- AttnCanonicalize.cpp - canonicalization patterns of attn ops -------===//
//
// Rewrites that bring attention graphs to one normal form before recognition:
// rearrange chains collapse to one rearrange, pure permutations feeding an
// einsum disappear into its equation, and a scalar multiplying an einsum
// result or one of its operands becomes the einsum's scale. An attention
// mask that is a constant causal pattern becomes the `causal` flag, a
// constant band (a sliding window) the `window` attribute (no mask tensor at
// run time, and masked blocks are skipped), one that keeps every key goes
// away.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

#include <functional>
#include <set>

using namespace mlir;
using namespace mlir::attn;

/// Creates a rearrange of `input` that performs `plan`, with the pattern and
/// axis sizes printed from the plan.
static RearrangeOp createRearrange(PatternRewriter &rewriter, Location loc,
                                   Value input,
                                   const ::attn::RearrangePlan &plan) {
  std::map<std::string, int64_t> sizes;
  std::string pattern = ::attn::printRearrangePlan(plan, sizes);
  SmallVector<NamedAttribute> entries;
  for (auto &[name, size] : sizes)
    entries.emplace_back(rewriter.getStringAttr(name),
                         rewriter.getI64IntegerAttr(size));
  auto type = RankedTensorType::get(
      plan.outputShape,
      cast<RankedTensorType>(input.getType()).getElementType());
  return RearrangeOp::create(
      rewriter, loc, type, input, rewriter.getStringAttr(pattern),
      entries.empty() ? DictionaryAttr() : rewriter.getDictionaryAttr(entries));
}

namespace {

/// rearrange(rearrange(x, p1), p2) -> rearrange(x, p1 ∘ p2), when one einops
/// pattern can express both. The inner op stays if it has other users.
struct ComposeRearranges : OpRewritePattern<RearrangeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RearrangeOp op,
                                PatternRewriter &rewriter) const override {
    auto producer = op.getInput().getDefiningOp<RearrangeOp>();
    if (!producer)
      return rewriter.notifyMatchFailure(op, "input is not a rearrange");
    auto first = producer.getPlan();
    auto second = op.getPlan();
    if (!first || !second)
      return rewriter.notifyMatchFailure(op, "pattern does not solve");
    RankedTensorType inputType = producer.getInput().getType();
    std::vector<int64_t> inputShape(inputType.getShape().begin(),
                                    inputType.getShape().end());
    auto composed = ::attn::composeRearranges(*first, *second, inputShape);
    if (!composed)
      return rewriter.notifyMatchFailure(op, "not expressible as one pattern");

    auto replacement =
        createRearrange(rewriter, op.getLoc(), producer.getInput(), *composed);
    rewriter.replaceOp(op, replacement.getResult());
    return success();
  }
};

/// einsum(..., rearrange(x, "a (b c) -> c a b"), ...)
///   -> einsum(..., rearrange(x, "a (b c) -> a b c"), ...)
/// with the operand's labels permuted; with no split at all the rearrange
/// disappears. Applies to rearranges that split and move axes but merge none
/// and add no units: the einsum then reads the data in its original order and
/// the transpose is never materialised.
struct FoldPermutationIntoEinsum : OpRewritePattern<EinsumOp> {
  using OpRewritePattern::OpRewritePattern;

  /// The axis permutation a split-and-permute rearrange applies after the
  /// split, or nullopt if the rearrange merges axes, or the permutation is
  /// the identity (nothing to fold). Unit axes ("1", which the Python
  /// frontend writes for a batch of one) count as axes when the rearrange
  /// splits nothing and has as many units on each side: "1 h n d -> 1 h d n"
  /// permutes like "b h n d -> b h d n", the units taken in order.
  static std::optional<std::vector<int64_t>>
  getPermutation(const ::attn::RearrangePlan &plan) {
    SmallVector<int64_t> units;
    for (auto [axis, name] : llvm::enumerate(plan.elementaryNames))
      if (name.empty())
        units.push_back(axis);
    if (!units.empty() &&
        llvm::any_of(plan.inputGroups,
                     [](const auto &g) { return g.size() != 1; }))
      return std::nullopt;
    std::vector<int64_t> permutation;
    size_t nextUnit = 0;
    for (const auto &group : plan.outputGroups) {
      if (group.empty() && nextUnit < units.size()) {
        permutation.push_back(units[nextUnit++]);
        continue;
      }
      if (group.size() != 1)
        return std::nullopt;
      permutation.push_back(group[0]);
    }
    if (nextUnit != units.size())
      return std::nullopt;
    if (permutation.size() != plan.elementarySizes.size())
      return std::nullopt;
    if (llvm::equal(permutation, llvm::seq<int64_t>(0, permutation.size())))
      return std::nullopt;
    return permutation;
  }

  /// The operand to feed the einsum instead of `rearrange`'s result: its
  /// input when the rearrange only permutes, else a split-only rearrange.
  static Value getUnpermutedOperand(PatternRewriter &rewriter,
                                    RearrangeOp rearrange,
                                    const ::attn::RearrangePlan &plan) {
    bool splits = llvm::any_of(plan.inputGroups,
                               [](const auto &g) { return g.size() != 1; });
    if (!splits)
      return rearrange.getInput();
    ::attn::RearrangePlan splitOnly = plan;
    splitOnly.outputGroups.clear();
    for (int64_t i = 0, e = plan.elementarySizes.size(); i < e; ++i)
      splitOnly.outputGroups.push_back({i});
    splitOnly.outputShape = plan.elementarySizes;
    return createRearrange(rewriter, rearrange.getLoc(), rearrange.getInput(),
                           splitOnly);
  }

  /// Rewrites the ellipses of `op`'s equation into explicit labels, so a
  /// permutation can move the axes they stand for. Only legal when no
  /// ellipsis dimension broadcasts: explicit labels must match exactly.
  static std::optional<::attn::EinsumEquation>
  makeEllipsisExplicit(EinsumOp op, const ::attn::EinsumEquation &equation) {
    auto plan = op.getPlanWithoutBroadcast();
    if (!plan)
      return std::nullopt;
    // Fresh names for the ellipsis axes: letters in compact spelling, words
    // in spaced spelling; never one the equation already uses.
    std::set<std::string> used;
    for (const auto &term : equation.inputs)
      used.insert(term.begin(), term.end());
    std::map<std::string, std::string> rename;
    std::string letters =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    size_t next = 0;
    auto freshName = [&]() -> std::optional<std::string> {
      while (next < 1000) {
        std::string name;
        if (equation.spaced)
          name = "e" + std::to_string(next++);
        else if (next < letters.size())
          name = std::string(1, letters[next++]);
        else
          return std::nullopt;
        if (!used.count(name))
          return name;
      }
      return std::nullopt;
    };
    auto mapLabel =
        [&](const std::string &label) -> std::optional<std::string> {
      if (label.rfind("...", 0) != 0)
        return label;
      auto it = rename.find(label);
      if (it != rename.end())
        return it->second;
      auto name = freshName();
      if (!name)
        return std::nullopt;
      rename[label] = *name;
      return *name;
    };
    ::attn::EinsumEquation result;
    result.spaced = equation.spaced;
    result.explicitOutput = true;
    for (const auto &term : plan->inputs) {
      result.inputs.emplace_back();
      for (const auto &label : term) {
        auto name = mapLabel(label);
        if (!name)
          return std::nullopt;
        result.inputs.back().push_back(*name);
      }
    }
    for (const auto &label : plan->output) {
      auto name = mapLabel(label);
      if (!name)
        return std::nullopt;
      result.output.push_back(*name);
    }
    return result;
  }

  LogicalResult matchAndRewrite(EinsumOp op,
                                PatternRewriter &rewriter) const override {
    auto equation = op.getParsedEquation();
    if (!equation)
      return failure();
    bool feedsEllipsis = false;
    for (auto [input, term] : llvm::zip(op.getInputs(), equation->inputs)) {
      auto rearrange = input.getDefiningOp<RearrangeOp>();
      if (!rearrange || !llvm::is_contained(term, ::attn::kEinsumEllipsis))
        continue;
      if (auto plan = rearrange.getPlan(); plan && getPermutation(*plan))
        feedsEllipsis = true;
    }
    if (feedsEllipsis) {
      auto explicitEquation = makeEllipsisExplicit(op, *equation);
      if (!explicitEquation)
        return rewriter.notifyMatchFailure(op, "ellipsis broadcasts");
      equation = std::move(explicitEquation);
    }
    SmallVector<Value> inputs(op.getInputs());
    bool changed = false;
    for (size_t i = 0; i < inputs.size(); ++i) {
      auto rearrange = inputs[i].getDefiningOp<RearrangeOp>();
      if (!rearrange)
        continue;
      auto plan = rearrange.getPlan();
      if (!plan)
        continue;
      auto permutation = getPermutation(*plan);
      if (!permutation)
        continue;
      auto permuted = ::attn::permuteEinsumOperand(*equation, i, *permutation);
      if (!permuted)
        continue;
      *equation = std::move(*permuted);
      inputs[i] = getUnpermutedOperand(rewriter, rearrange, *plan);
      changed = true;
    }
    if (!changed)
      return rewriter.notifyMatchFailure(op, "no permutation to fold");
    auto replacement =
        EinsumOp::create(rewriter, op.getLoc(), op.getType(), inputs,
                         rewriter.getStringAttr(::attn::printEinsum(*equation)),
                         op.getScaleAttr());
    rewriter.replaceOp(op, replacement.getResult());
    return success();
  }
};

/// Returns the splat value of a constant tensor, if `value` is one.
static std::optional<double> getSplatConstant(Value value) {
  DenseElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  if (!isa<FloatType>(attr.getElementType()))
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

/// `base * c`, `c * base` or `base / c'` with a splat constant: the value is
/// `base` scaled by `factor` (c, or 1/c').
struct ScaledValue {
  Value base;
  double factor;
};

/// Matches a multiplication or division of a tensor by a finite, non-zero
/// splat constant.
static std::optional<ScaledValue> matchScaledValue(Operation *op) {
  std::optional<ScaledValue> result;
  if (auto mul = dyn_cast_or_null<arith::MulFOp>(op)) {
    if (std::optional<double> c = getSplatConstant(mul.getRhs()))
      result = ScaledValue{mul.getLhs(), *c};
    else if (std::optional<double> c = getSplatConstant(mul.getLhs()))
      result = ScaledValue{mul.getRhs(), *c};
  } else if (auto div = dyn_cast_or_null<arith::DivFOp>(op)) {
    if (std::optional<double> c = getSplatConstant(div.getRhs()))
      result = ScaledValue{div.getLhs(), 1.0 / *c};
  }
  if (!result || !std::isfinite(result->factor) || result->factor == 0.0)
    return std::nullopt;
  return result;
}

/// Builds `op` again with its scale multiplied by `factor` and `inputs`.
static EinsumOp createRescaledEinsum(PatternRewriter &rewriter, Location loc,
                                     EinsumOp op, ValueRange inputs,
                                     double factor) {
  return EinsumOp::create(
      rewriter, loc, op.getType(), inputs, op.getEquationAttr(),
      rewriter.getF64FloatAttr(op.getScaleValue() * factor));
}

/// mulf(einsum(...), splat c) -> einsum(...) scale(c), and divf by a splat
/// likewise with 1/c. Legal when the einsum has no other user (otherwise the
/// unscaled value is still needed).
template <typename ArithOp>
struct FoldScaledEinsumResult : OpRewritePattern<ArithOp> {
  using OpRewritePattern<ArithOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(ArithOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<ScaledValue> scaled = matchScaledValue(op);
    auto einsum = scaled ? scaled->base.getDefiningOp<EinsumOp>() : EinsumOp();
    if (!einsum || !einsum->hasOneUse())
      return rewriter.notifyMatchFailure(op, "not an einsum times a splat");
    if (!isRepresentableScale(einsum.getScaleValue() * scaled->factor,
                              einsum.getType().getElementType()))
      return rewriter.notifyMatchFailure(op, "the combined scale overflows");
    auto replacement = createRescaledEinsum(rewriter, op.getLoc(), einsum,
                                            einsum.getInputs(), scaled->factor);
    rewriter.replaceOp(op, replacement.getResult());
    rewriter.eraseOp(einsum);
    return success();
  }
};

/// einsum(q / c, k) -> einsum(q, k) scale(1/c): an einsum is linear in each
/// operand, so a splat factor on any operand (`q * d**-0.5` before the
/// score, as nn.MultiheadAttention writes it) moves into the scale. Legal
/// when the scaling op has no other user.
struct FoldScaledEinsumOperand : OpRewritePattern<EinsumOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(EinsumOp op,
                                PatternRewriter &rewriter) const override {
    SmallVector<Value> inputs(op.getInputs());
    double factor = 1.0;
    for (Value &input : inputs) {
      Operation *producer = input.getDefiningOp();
      std::optional<ScaledValue> scaled = matchScaledValue(producer);
      if (!scaled || !producer->hasOneUse())
        continue;
      input = scaled->base;
      factor *= scaled->factor;
    }
    if (factor == 1.0 && llvm::equal(inputs, op.getInputs()))
      return rewriter.notifyMatchFailure(op, "no scaled operand");
    // (q * 1e30) . (k * 1e30) may be finite where a scale of 1e60 is not.
    if (!isRepresentableScale(op.getScaleValue() * factor,
                              op.getType().getElementType()))
      return rewriter.notifyMatchFailure(op, "the combined scale overflows");
    rewriter.replaceOp(
        op, createRescaledEinsum(rewriter, op.getLoc(), op, inputs, factor)
                .getResult());
    return success();
  }
};

/// What a constant attention mask does: keep every key, the causal
/// pattern (j <= i), a band i - left <= j <= i + right (a sliding window),
/// or something else.
struct MaskPattern {
  enum Kind { KeepAll, Causal, Window, Other } kind = Other;
  int64_t left = 0, right = 0;
  static MaskPattern get(Kind kind) {
    MaskPattern p;
    p.kind = kind;
    return p;
  }
  bool isStructured() const { return kind == Causal || kind == Window; }
};

/// Whether an additive mask value (or a masked_fill fill) of a causal mask
/// masks its key: -inf, or a fill at or below -1e9. A causal row always
/// keeps key 0, so exp(fill - max) is 0 there for any score of sane size,
/// exactly as with -inf.
static bool masksKey(double value) { return value <= -1e9; }

/// The constant an attention mask is built from, looking through broadcasts
/// over batch dimensions (the last two dimensions stay the query and key
/// axes) and negations (`arith.xori` with true), with whether it is negated.
static std::optional<std::pair<DenseElementsAttr, bool>>
traceConstantMask(Value mask) {
  bool negated = false;
  for (;;) {
    DenseElementsAttr attr;
    if (matchPattern(mask, m_Constant(&attr)))
      return std::make_pair(attr, negated);
    if (auto broadcast = mask.getDefiningOp<linalg::BroadcastOp>()) {
      int64_t rank = broadcast.getInit().getType().getRank();
      if (llvm::any_of(broadcast.getDimensions(),
                       [&](int64_t dim) { return dim >= rank - 2; }))
        return std::nullopt;
      mask = broadcast.getInput();
      continue;
    }
    if (auto xorOp = mask.getDefiningOp<arith::XOrIOp>()) {
      Value other;
      if (matchPattern(xorOp.getRhs(), m_One()))
        other = xorOp.getLhs();
      else if (matchPattern(xorOp.getLhs(), m_One()))
        other = xorOp.getRhs();
      if (!other)
        return std::nullopt;
      negated = !negated;
      mask = other;
      continue;
    }
    return std::nullopt;
  }
}

/// Classifies a constant mask of an attention with `sq` queries and `sk`
/// keys. Boolean: true keeps the key (after `negated`). Floating point: 0
/// keeps it, a value masksKey accepts masks it.
static MaskPattern classifyMask(DenseElementsAttr attr, bool negated,
                                int64_t sq, int64_t sk) {
  auto type = cast<ShapedType>(attr.getType());
  int64_t rank = type.getRank();
  if (rank < 2)
    return MaskPattern::get(MaskPattern::Other);
  int64_t rows = type.getDimSize(rank - 2), cols = type.getDimSize(rank - 1);
  // keep(i, j) as 1, masked as 0, anything else as -1.
  std::function<int(int64_t)> keep;
  if (type.getElementType().isInteger(1)) {
    auto values = attr.getValues<bool>();
    keep = [=](int64_t index) { return values[index] != negated ? 1 : 0; };
  } else if (isa<FloatType>(type.getElementType()) && !negated) {
    auto values = attr.getValues<APFloat>();
    keep = [=](int64_t index) {
      double value = APFloat(values[index]).convertToDouble();
      return value == 0 ? 1 : masksKey(value) ? 0 : -1;
    };
  } else {
    return MaskPattern::get(MaskPattern::Other);
  }
  if (attr.isSplat())
    return MaskPattern::get(keep(0) == 1 ? MaskPattern::KeepAll
                                         : MaskPattern::Other);
  // A structured pattern needs the full [Sq, Sk] plane, the same in every
  // plane of a batched constant.
  if (rows != sq || cols != sk)
    return MaskPattern::get(MaskPattern::Other);
  // Every row must keep one contiguous, non-empty range of keys [a, b].
  // A row whose range is not clipped by the first key fixes `left`
  // (= i - a), one not clipped by the last key fixes `right` (= b - i);
  // clipped rows only bound them from below.
  std::optional<int64_t> left, right;
  int64_t leftMin = 0, rightMin = 0;
  bool keepAll = true;
  int64_t count = type.getNumElements();
  for (int64_t rowStart = 0; rowStart < count; rowStart += cols) {
    int64_t i = (rowStart / cols) % rows;
    int64_t first = -1, last = -1, kept = 0;
    for (int64_t j = 0; j < cols; ++j) {
      int k = keep(rowStart + j);
      if (k < 0)
        return MaskPattern::get(MaskPattern::Other);
      if (k == 0) {
        keepAll = false;
        continue;
      }
      if (first < 0)
        first = j;
      last = j;
      ++kept;
    }
    if (kept == 0 || kept != last - first + 1)
      return MaskPattern::get(MaskPattern::Other);
    auto fix = [](std::optional<int64_t> &bound, int64_t value) {
      if (value < 0 || (bound && *bound != value))
        return false;
      bound = value;
      return true;
    };
    if (first > 0 ? !fix(left, i - first) : false)
      return MaskPattern::get(MaskPattern::Other);
    if (first == 0)
      leftMin = std::max(leftMin, i);
    if (last < cols - 1 ? !fix(right, last - i) : false)
      return MaskPattern::get(MaskPattern::Other);
    if (last == cols - 1)
      rightMin = std::max(rightMin, cols - 1 - i);
  }
  if (keepAll)
    return MaskPattern::get(MaskPattern::KeepAll);
  if ((left && *left < leftMin) || (right && *right < rightMin))
    return MaskPattern::get(MaskPattern::Other);
  if (!left && right && *right == 0)
    return MaskPattern::get(MaskPattern::Causal);
  MaskPattern pattern = MaskPattern::get(MaskPattern::Window);
  pattern.left = left.value_or(leftMin);
  pattern.right = right.value_or(rightMin);
  return pattern;
}

/// What a value used as (part of) an attention mask is, when it traces back
/// to a constant.
static MaskPattern classifyMaskValue(Value mask, int64_t sq, int64_t sk) {
  auto constant = traceConstantMask(mask);
  if (!constant)
    return MaskPattern::get(MaskPattern::Other);
  return classifyMask(constant->first, constant->second, sq, sk);
}

/// attention(q, k, v, mask = constant causal pattern) ->
/// attention(q, k, v) causal, and a constant band (every row keeps keys
/// i - l .. i + r, clipped to the keys, none empty) -> window(l, r); a
/// constant mask that keeps every key goes. A causal or band constant
/// combined with another mask (a decoder's causal tgt_mask merged with its
/// key padding mask) is split off the same way:
///   addf(causal, m) -> m          (additive: -inf + m = -inf)
///   andi(causal, m) -> m          (boolean)
///   select(c, fill, causal) -> select(c, fill, 0)   (masked_fill of it)
/// each with the causal flag or window, which masks exactly what the
/// constant did.
struct FoldConstantMask : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Value mask = op.getMask();
    // A tile (offsets) sees a window of the pattern, not the pattern; a
    // keep_or_drop mask is only ever made by the lowering.
    if (!mask || !op.getOffsets().empty() || op.getKeepOrDrop())
      return failure();
    // The constant's last two dimensions must be the queries and the keys.
    // (A constant 0 there broadcasts a size-1 dimension.)
    AffineMap maskMap = op.getMatchingIndexingMap(&op.getMaskMutable()[0]);
    unsigned results = maskMap.getNumResults();
    auto readsOrBroadcasts = [&](unsigned result, int64_t dim) {
      AffineExpr expr = maskMap.getResult(result);
      return expr == getAffineDimExpr(dim, op.getContext()) ||
             expr == getAffineConstantExpr(0, op.getContext());
    };
    if (results < 2 || !readsOrBroadcasts(results - 2, op.getQueryDim()) ||
        !readsOrBroadcasts(results - 1, op.getKeyDim()))
      return failure();
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    int64_t sq = ranges[op.getQueryDim()], sk = ranges[op.getKeyDim()];
    // An op that already has a window keeps its mask (the two bands would
    // have to be intersected; with the causal flag that is simple, below).
    if (op.getWindow())
      return failure();
    auto replace = [&](Value newMask, MaskPattern pattern) {
      AttentionParts parts = AttentionParts::fromOp(op);
      AffineMap map = parts.getMap(AttentionRole::Mask);
      if (newMask)
        parts.setMask(newMask, map);
      else
        parts.dropMask();
      if (pattern.kind == MaskPattern::Causal)
        parts.causal = true;
      if (pattern.kind == MaskPattern::Window) {
        // With the causal flag the band's right side is 0 anyway.
        if (parts.causal)
          pattern.right = 0;
        parts.window = std::make_pair(pattern.left, pattern.right);
      }
      Operation *replacement = parts.create(rewriter, op.getLoc());
      rewriter.replaceOp(op, replacement->getResults());
      return success();
    };
    MaskPattern pattern = classifyMaskValue(mask, sq, sk);
    if (pattern.kind != MaskPattern::Other)
      return replace(Value(), pattern);

    auto structured = [&](Value v) {
      return classifyMaskValue(v, sq, sk);
    };
    Operation *def = mask.getDefiningOp();
    if (isa_and_nonnull<arith::AddFOp, arith::AndIOp>(def)) {
      Value lhs = def->getOperand(0), rhs = def->getOperand(1);
      if (MaskPattern p = structured(lhs); p.isStructured())
        return replace(rhs, p);
      if (MaskPattern p = structured(rhs); p.isStructured())
        return replace(lhs, p);
      return failure();
    }
    if (auto select = dyn_cast_if_present<arith::SelectOp>(def)) {
      auto isFill = [](Value v) {
        std::optional<double> fill = getSplatConstant(v);
        return fill && masksKey(*fill);
      };
      MaskPattern onTrue = structured(select.getTrueValue());
      MaskPattern onFalse = structured(select.getFalseValue());
      bool structuredTrue =
          onTrue.isStructured() && isFill(select.getFalseValue());
      bool structuredFalse =
          onFalse.isStructured() && isFill(select.getTrueValue());
      if (!structuredTrue && !structuredFalse)
        return failure();
      auto type = cast<RankedTensorType>(mask.getType());
      Value zeros = arith::ConstantOp::create(
          rewriter, op.getLoc(), type,
          DenseElementsAttr::get(
              type, rewriter.getFloatAttr(type.getElementType(), 0.0)));
      Value rest = arith::SelectOp::create(
          rewriter, op.getLoc(), select.getCondition(),
          structuredTrue ? zeros : select.getTrueValue(),
          structuredTrue ? select.getFalseValue() : zeros);
      return replace(rest, structuredTrue ? onTrue : onFalse);
    }
    return failure();
  }
};

} // namespace

void AttentionOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<FoldConstantMask>(context);
}

void RearrangeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<ComposeRearranges>(context);
}

void EinsumOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<FoldPermutationIntoEinsum, FoldScaledEinsumOperand,
              FoldScaledEinsumResult<arith::MulFOp>,
              FoldScaledEinsumResult<arith::DivFOp>>(context);
}
