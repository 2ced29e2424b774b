//===- FuseAttention.cpp - recognise attention chains as attn.attention ---===//
//
// Implements `attn-fuse-attention`: einsum(q, k) -> optional mask -> softmax
// over the key axis -> einsum(p, v), in any label layout, becomes one
// attn.attention, which later lowers to flash-tiled loops. The additive
// (Bahdanau) and Gaussian (Nadaraya-Watson) scores, written elementwise on
// broadcast queries and keys as the Python frontend emits them, become
// attn.attention with score(additive) / score(gaussian).
//
//===----------------------------------------------------------------------===//

#include "ReAttention.h"
#include "TalkingHeads.h"

#include "MatchUtils.h"

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"

#include "attn/Dialect/Attn/Utils/FloatUtils.h"
#include "attn/Support/Einops.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <string>

namespace mlir::attn {
#define GEN_PASS_DEF_FUSEATTENTIONPASS
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

using Labels = SmallVector<std::string, 6>;

namespace {

/// A boolean mask applied as arith.select between the scores and a splat
/// fill: `select(c, s, fill)` keeps the scores where c holds,
/// `select(c, fill, s)` (PyTorch's `masked_fill(c, fill)`) where it does not.
struct SelectMask {
  Value condition;
  bool keepWhereTrue = true;
  /// A finite fill (below -1e4) instead of -inf.
  std::optional<double> finiteFill;
  Value scores; // the select's other operand
};

/// What the matcher found: the ops of the chain, the roles of the score
/// labels, and why it gave up when it did.
struct Match {
  EinsumOp scores; // s = einsum(q, k)
  /// A boolean mask applied with arith.select, outermost, if any.
  std::optional<SelectMask> select;
  /// Additive masks, outermost first (Swin adds its relative position bias
  /// and then its shift mask): the fused mask is their sum.
  SmallVector<Value> additiveMasks;
  /// The select and arith.addf ops between the scores and the softmax,
  /// outermost first; they go away with the chain.
  SmallVector<Operation *> maskOps;
  /// The elementwise steps between the scores and the masks, in block
  /// order (the score region), and the last one's result.
  SmallVector<Operation *> chainOps;
  Value chainTop;
  SoftmaxOp softmax;
  EinsumOp output; // o = einsum(p, v)

  Value query, key, value;
  /// Labels in the score einsum's naming.
  Labels batch; // in the order of the score layout
  std::string queryLabel, keyLabel, depthLabel;
  Labels queryTerm, keyTerm, scoreTerm;
  /// The value and output terms, translated into the score naming (p's
  /// labels renamed to the score labels at the same position); the value's
  /// own axis keeps its name, made unique.
  Labels valueTerm, outputTerm;
  std::string valueLabel;
};

/// A match failure that is worth a remark (a near miss) or not (the softmax
/// simply is not part of an attention chain).
struct Failure {
  std::string reason; // empty: not attention-like, stay silent
};

} // namespace

/// Matches `select` as a boolean mask on scores: one side a splat -inf, or a
/// finite fill so negative (the frontends' masked_fill(-1e6), -1e9, finfo.min)
/// that exp(fill - max) is 0 in any row that keeps a key; the other side the
/// scores.
static std::optional<SelectMask> matchSelectMask(arith::SelectOp select) {
  if (!isa<RankedTensorType>(select.getCondition().getType()))
    return std::nullopt;
  auto isFill = [](Value v) {
    std::optional<double> fill = getSplatFloat(v);
    return fill && *fill < -1e4;
  };
  SelectMask mask;
  mask.condition = select.getCondition();
  Value fill;
  if (isFill(select.getFalseValue()) && !isFill(select.getTrueValue())) {
    mask.scores = select.getTrueValue();
    fill = select.getFalseValue();
  } else if (isFill(select.getTrueValue()) && !isFill(select.getFalseValue())) {
    mask.keepWhereTrue = false;
    mask.scores = select.getFalseValue();
    fill = select.getTrueValue();
  } else {
    return std::nullopt;
  }
  double value = *getSplatFloat(fill);
  if (!std::isinf(value))
    mask.finiteFill = value;
  return mask;
}

/// The fused mask of a select mask and additive masks (in the order the
/// scores received them): the condition itself when that is all (negated
/// for `masked_fill`), else an additive mask that is their sum where the
/// select keeps the score and the fill where it does not.
///
/// A finite fill becomes part of an additive mask: in a row that keeps a
/// key whose score is above fill + ~100, masked keys get exp(s + fill - max)
/// = 0 just as exp(fill - max) = 0. A row that keeps no key averages v
/// uniformly in the frontend's graph but with weights exp(s + fill - max)
/// here, so it differs when the scores differ.
static Value buildFusedMask(OpBuilder &b, Location loc,
                            const std::optional<SelectMask> &select,
                            ArrayRef<Value> additive) {
  Value sum;
  for (Value mask : additive)
    sum = sum ? arith::AddFOp::create(b, loc, sum, mask).getResult() : mask;
  if (!select)
    return sum;
  Value condition = select->condition;
  auto condType = cast<RankedTensorType>(condition.getType());
  if (!sum && !select->finiteFill) {
    if (select->keepWhereTrue)
      return condition;
    Value ones = arith::ConstantOp::create(
        b, loc, condType,
        DenseElementsAttr::get(condType, b.getBoolAttr(true)));
    return arith::XOrIOp::create(b, loc, condition, ones);
  }
  auto floatType = condType.clone(
      cast<ShapedType>(select->scores.getType()).getElementType());
  auto splat = [&](double value) -> Value {
    return arith::ConstantOp::create(
        b, loc, floatType,
        DenseElementsAttr::get(
            floatType, b.getFloatAttr(floatType.getElementType(), value)));
  };
  if (!sum)
    sum = splat(0.0);
  Value fill =
      splat(select->finiteFill ? *select->finiteFill
                               : -std::numeric_limits<double>::infinity());
  if (select->keepWhereTrue)
    return arith::SelectOp::create(b, loc, condition, sum, fill);
  return arith::SelectOp::create(b, loc, condition, fill, sum);
}

/// Whether `op` computes elements of a tensor of `type`'s shape one by one:
/// an arith/math op on tensors (the frontends write bias adds, softcaps and
/// masks that way), which the score region can compute per score.
static bool isElementwiseStep(Operation *op, RankedTensorType type) {
  if (!op || op->getNumResults() != 1 || op->getNumRegions() != 0 ||
      !OpTrait::hasElementwiseMappableTraits(op) ||
      !isa_and_nonnull<arith::ArithDialect, math::MathDialect>(
          op->getDialect()))
    return false;
  auto resultType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  return resultType && resultType.getShape() == type.getShape();
}

/// The two-operand einsum of `type`'s shape that `root` is an elementwise
/// function of, if there is exactly one; `nearMiss` names an op other than
/// an elementwise one that stands between such an einsum and `root`.
static EinsumOp findScores(Value root, RankedTensorType type,
                           std::string &nearMiss) {
  SmallVector<Value> worklist = {root};
  llvm::SmallPtrSet<Operation *, 16> seen;
  EinsumOp found;
  bool ambiguous = false;
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (!def || !seen.insert(def).second)
      continue;
    if (auto einsum = dyn_cast<EinsumOp>(def)) {
      auto resultType = cast<RankedTensorType>(einsum.getType());
      if (einsum.getInputs().size() == 2 &&
          resultType.getShape() == type.getShape()) {
        ambiguous |= found && found != einsum;
        found = einsum;
      }
      continue;
    }
    if (!isElementwiseStep(def, type)) {
      if (nearMiss.empty() && def->getNumResults() == 1 &&
          llvm::any_of(def->getOperands(),
                       [](Value v) { return v.getDefiningOp<EinsumOp>(); }))
        nearMiss = def->getName().getStringRef().str();
      continue;
    }
    llvm::append_range(worklist, def->getOperands());
  }
  return ambiguous ? EinsumOp() : found;
}

/// Matches the chain ending in `softmax`. Fills `match` on success.
static std::optional<Failure> matchChain(SoftmaxOp softmax, Match &match) {
  match.softmax = softmax;
  // The consumer: the P·V einsum.
  Value probs = softmax.getResult();
  EinsumOp output;
  for (Operation *user : probs.getUsers())
    if (auto einsum = dyn_cast<EinsumOp>(user))
      output = einsum;
  if (!output)
    return Failure{};
  if (!probs.hasOneUse())
    return Failure{"the probabilities are used elsewhere"};
  if (output.getInputs().size() != 2)
    return Failure{"the P·V einsum has more than two operands"};
  match.output = output;

  // The producer: the scores, then elementwise steps (the score region),
  // additive masks and an outermost select mask.
  auto scoreType = cast<RankedTensorType>(softmax.getInput().getType());
  std::string nearMiss;
  EinsumOp scores = findScores(softmax.getInput(), scoreType, nearMiss);
  if (!scores) {
    if (!nearMiss.empty())
      return Failure{llvm::formatv("unsupported op '{0}' between the scores "
                                   "and the softmax (only elementwise arith "
                                   "and math ops are moved into the score "
                                   "region)",
                                   nearMiss)
                         .str()};
    return Failure{};
  }
  // Which values are functions of the scores.
  llvm::DenseMap<Value, bool> dependent;
  std::function<bool(Value)> depends = [&](Value v) -> bool {
    if (v == scores.getResult())
      return true;
    auto it = dependent.find(v);
    if (it != dependent.end())
      return it->second;
    Operation *def = v.getDefiningOp();
    bool result = def && isElementwiseStep(def, scoreType) &&
                  llvm::any_of(def->getOperands(), depends);
    dependent[v] = result;
    return result;
  };

  Value x = softmax.getInput();
  if (auto select = x.getDefiningOp<arith::SelectOp>()) {
    std::optional<SelectMask> mask = matchSelectMask(select);
    if (mask && depends(mask->scores) && !depends(mask->condition)) {
      match.select = mask;
      match.maskOps.push_back(select);
      x = mask->scores;
    }
  }
  // s + m, or (s + m1) + m2 ...: each addf has one side leading to the
  // scores and the other is an additive mask.
  while (auto add = x.getDefiningOp<arith::AddFOp>()) {
    Value scoresSide = add.getLhs(), maskSide = add.getRhs();
    if (!depends(scoresSide))
      std::swap(scoresSide, maskSide);
    if (!depends(scoresSide) || depends(maskSide))
      break;
    match.additiveMasks.push_back(maskSide);
    match.maskOps.push_back(add);
    x = scoresSide;
  }
  // Whatever else stands between the scores and the masks is the score
  // region: every op on a path from the scores to `x`, in block order.
  if (x != scores.getResult()) {
    SmallVector<Value> worklist = {x};
    llvm::SetVector<Operation *> chain;
    while (!worklist.empty()) {
      Value v = worklist.pop_back_val();
      if (v == scores.getResult() || !depends(v))
        continue;
      Operation *def = v.getDefiningOp();
      if (def->getBlock() != softmax->getBlock())
        return Failure{"the score region's ops are in another block"};
      if (chain.insert(def))
        llvm::append_range(worklist, def->getOperands());
    }
    match.chainOps = chain.takeVector();
    llvm::sort(match.chainOps, [](Operation *a, Operation *b) {
      return a->isBeforeInBlock(b);
    });
    match.chainTop = x;
    // Every step's result feeds only later steps (or the masks above).
    llvm::SmallPtrSet<Operation *, 8> chainSet(match.chainOps.begin(),
                                               match.chainOps.end());
    for (Operation *op : match.chainOps)
      for (Operation *user : op->getResult(0).getUsers())
        if (!chainSet.contains(user) &&
            !(op->getResult(0) == x &&
              (user == softmax.getOperation() ||
               llvm::is_contained(match.maskOps, user))))
          return Failure{llvm::formatv("the score region's '{0}' is used "
                                       "elsewhere",
                                       op->getName().getStringRef())
                             .str()};
  }
  match.scores = scores;
  if (llvm::any_of(match.maskOps,
                   [](Operation *op) { return !op->getResult(0).hasOneUse(); }))
    return Failure{"the masked scores are used elsewhere"};
  if (match.chainOps.empty()
          ? !scores.getResult().hasOneUse()
          : llvm::any_of(scores.getResult().getUsers(), [&](Operation *user) {
              return !llvm::is_contained(match.chainOps, user);
            }))
    return Failure{"the scores are used elsewhere"};

  auto sPlan = getStrictPlan(scores);
  auto oPlan = getStrictPlan(output);
  if (!sPlan || !oPlan)
    return Failure{"an einsum broadcasts or takes a diagonal"};
  const Labels qTerm(sPlan->inputs[0].begin(), sPlan->inputs[0].end());
  const Labels kTerm(sPlan->inputs[1].begin(), sPlan->inputs[1].end());
  const Labels sTerm(sPlan->output.begin(), sPlan->output.end());

  // Roles in the score einsum: batch (q, k, s), query-like (q, s), rows of
  // k (k, s), contracted (q, k). The innermost query-like label of the
  // scores is the query axis; the others are batch axes the keys do not
  // have (grouped queries: GQA/MQA read each key head for several query
  // heads). Anything else is not Q Kᵀ.
  ScoreLabels roles = classifyScoreLabels(qTerm, kTerm, sTerm);
  if (roles.queryOnlySum)
    return Failure{"the score einsum sums over a query-only axis"};
  if (roles.keyOnlySum)
    return Failure{"the score einsum sums over a key-only axis"};
  Labels &batch = roles.batch, &qRows = roles.qRows, &kRows = roles.kRows,
         &contracted = roles.contracted;
  if (qRows.empty() || kRows.size() != 1 || contracted.size() != 1)
    return Failure{"the score einsum is not a batched Q Kᵀ (query axes, one "
                   "key axis, one contracted axis)"};
  std::string queryLabel;
  for (const std::string &l : sTerm)
    if (llvm::is_contained(qRows, l))
      queryLabel = l;
  for (const std::string &l : qRows)
    if (l != queryLabel)
      batch.push_back(l);
  // Batch labels in the order of the score layout.
  Labels orderedBatch;
  for (const std::string &l : sTerm)
    if (llvm::is_contained(batch, l))
      orderedBatch.push_back(l);

  // The P·V einsum: which operand is p, and p's labels in score naming.
  size_t pIndex = output.getInputs()[0] == probs ? 0 : 1;
  if (output.getInputs()[1 - pIndex] == probs)
    return Failure{"the probabilities are used twice by the P·V einsum"};
  const std::vector<std::string> &pTerm = oPlan->inputs[pIndex];
  const std::vector<std::string> &vTermRaw = oPlan->inputs[1 - pIndex];
  std::map<std::string, std::string> rename; // P·V naming -> score naming
  for (auto [pl, sl] : llvm::zip(pTerm, sTerm))
    rename[pl] = sl;
  // The value's own axis gets a name no score label uses.
  std::string fresh = "e";
  while (llvm::is_contained(sTerm, fresh) || llvm::is_contained(qTerm, fresh) ||
         llvm::is_contained(kTerm, fresh))
    fresh += "_";
  auto translate = [&](const std::vector<std::string> &term) {
    Labels result;
    for (const std::string &l : term) {
      auto it = rename.find(l);
      result.push_back(it != rename.end() ? it->second : fresh);
    }
    return result;
  };
  Labels vTerm = translate(vTermRaw), oTerm = translate(oPlan->output);

  // The softmax axis and the axis P·V sums over must both be the key axis.
  std::string softmaxLabel = sTerm[softmax.getNormalizedAxis()];
  Labels summed;
  for (const std::string &l : sTerm)
    if (llvm::is_contained(vTerm, l) && !llvm::is_contained(oTerm, l))
      summed.push_back(l);
  if (softmaxLabel != kRows[0])
    return Failure{llvm::formatv("softmax over a non-key axis: '{0}' instead "
                                 "of the key axis '{1}'",
                                 softmaxLabel, kRows[0])
                       .str()};
  if (summed.size() != 1 || summed[0] != kRows[0])
    return Failure{llvm::formatv("the P·V einsum does not sum over the key "
                                 "axis '{0}' alone",
                                 kRows[0])
                       .str()};
  // v = [some batch..., key, e] and o = [batch..., query, e], up to
  // permutation.
  Labels oWant = orderedBatch;
  oWant.append({queryLabel, fresh});
  auto samePermutation = [](Labels a, Labels b) {
    llvm::sort(a);
    llvm::sort(b);
    return a == b;
  };
  bool valueOk = llvm::count(vTerm, fresh) == 1 &&
                 llvm::count(vTerm, kRows[0]) == 1 &&
                 llvm::all_of(vTerm, [&](const std::string &l) {
                   return l == fresh || l == kRows[0] ||
                          llvm::is_contained(orderedBatch, l);
                 });
  if (!valueOk || !samePermutation(oTerm, oWant))
    return Failure{"the P·V einsum is not a batched P V with one value axis"};
  if (output.getScaleValue() != 1.0)
    return Failure{"the P·V einsum has a scale"};
  SmallVector<Value> masks(match.additiveMasks);
  if (match.select)
    masks.push_back(match.select->condition);
  for (Value mask : masks) {
    auto maskType = dyn_cast<RankedTensorType>(mask.getType());
    if (!maskType || maskType.getShape() != scores.getType().getShape())
      return Failure{"unsupported mask form: the mask does not have the "
                     "scores' shape"};
  }

  match.query = scores.getInputs()[0];
  match.key = scores.getInputs()[1];
  match.value = output.getInputs()[1 - pIndex];
  match.batch = orderedBatch;
  match.queryLabel = queryLabel;
  match.keyLabel = kRows[0];
  match.depthLabel = contracted[0];
  match.valueLabel = fresh;
  match.queryTerm = qTerm;
  match.keyTerm = kTerm;
  match.scoreTerm = sTerm;
  match.valueTerm = vTerm;
  match.outputTerm = oTerm;
  return std::nullopt;
}

/// Builds the score region of `attention` from the matched elementwise
/// steps: each step's scalar form, on the score (block argument 0) and on
/// the elements of the other operands at this score's indices (splat
/// constants as scalars, broadcasts read from their input).
static void buildScoreRegion(OpBuilder &b, AttentionOp attention, Match &m) {
  Location loc = attention.getLoc();
  int64_t nb = m.batch.size();
  Type compute = attention.getComputeType();
  Region &region = attention.getScoreMod();
  SmallVector<Type> argTypes = {compute};
  argTypes.append(nb + 2, b.getIndexType());
  Block *block = b.createBlock(&region, region.end(), argTypes,
                               SmallVector<Location>(argTypes.size(), loc));
  b.setInsertionPointToStart(block);
  // The block argument of each label of the scores' layout.
  auto indexOf = [&](const std::string &label) -> Value {
    if (label == m.queryLabel)
      return block->getArgument(1 + nb);
    if (label == m.keyLabel)
      return block->getArgument(2 + nb);
    return block->getArgument(1 +
                              (llvm::find(m.batch, label) - m.batch.begin()));
  };
  Type scoreType = getElementTypeOrSelf(m.scores.getType());
  IRMapping mapping;
  mapping.map(m.scores.getResult(),
              convertFloat(b, loc, block->getArgument(0), scoreType));
  auto scoresType = cast<RankedTensorType>(m.scores.getType());
  std::function<Value(Value)> scalarOf = [&](Value tensor) -> Value {
    if (Value mapped = mapping.lookupOrNull(tensor))
      return mapped;
    // An elementwise function of other operands (ALiBi's slope[h] * |i - j|
    // from two broadcasts) is computed per score too, so the operands are
    // read in place instead of a score-sized tensor.
    if (Operation *def = tensor.getDefiningOp();
        def && isElementwiseStep(def, scoresType)) {
      for (Value operand : def->getOperands())
        (void)scalarOf(operand);
      Operation *scalar = b.clone(*def, mapping);
      scalar->getResult(0).setType(getElementTypeOrSelf(tensor.getType()));
      return scalar->getResult(0);
    }
    DenseElementsAttr attr;
    if (matchPattern(tensor, m_Constant(&attr)) && attr.isSplat()) {
      Value scalar = arith::ConstantOp::create(
          b, loc, cast<TypedAttr>(attr.getSplatValue<Attribute>()));
      mapping.map(tensor, scalar);
      return scalar;
    }
    // A broadcast reads its input at the dimensions it keeps.
    Value source = tensor;
    SmallVector<Value> indices;
    if (auto broadcast = tensor.getDefiningOp<linalg::BroadcastOp>()) {
      source = broadcast.getInput();
      for (auto [d, label] : llvm::enumerate(m.scoreTerm))
        if (!llvm::is_contained(broadcast.getDimensions(),
                                static_cast<int64_t>(d)))
          indices.push_back(indexOf(label));
    } else {
      for (const std::string &label : m.scoreTerm)
        indices.push_back(indexOf(label));
    }
    Value scalar = tensor::ExtractOp::create(b, loc, source, indices);
    mapping.map(tensor, scalar);
    return scalar;
  };
  for (Operation *op : m.chainOps) {
    for (Value operand : op->getOperands())
      (void)scalarOf(operand);
    Operation *scalar = b.clone(*op, mapping);
    scalar->getResult(0).setType(
        getElementTypeOrSelf(op->getResult(0).getType()));
  }
  Value top = mapping.lookup(m.chainTop);
  YieldOp::create(b, loc, ValueRange{convertFloat(b, loc, top, compute)});
}

/// Rewrites the matched chain; returns the new attn.attention.
static AttentionOp fuse(RewriterBase &rewriter, Match &m) {
  Location loc = m.output.getLoc();
  MLIRContext *ctx = rewriter.getContext();
  rewriter.setInsertionPoint(m.output);
  // The domain (B..., M, K1, K2, N) in the chain's own labels: every
  // operand is read in its own layout.
  Labels domain = m.batch;
  domain.append({m.queryLabel, m.depthLabel, m.keyLabel, m.valueLabel});
  AttentionParts parts;
  parts.query = m.query;
  parts.key = m.key;
  parts.value = m.value;
  parts.maps = {getTermMap(ctx, domain, m.queryTerm),
                getTermMap(ctx, domain, m.keyTerm),
                getTermMap(ctx, domain, m.valueTerm)};
  if (Value mask =
          buildFusedMask(rewriter, loc, m.select,
                         llvm::to_vector(llvm::reverse(m.additiveMasks)))) {
    parts.mask = mask;
    parts.maps.push_back(getTermMap(ctx, domain, m.scoreTerm));
  }
  auto oType = cast<RankedTensorType>(m.output.getType());
  parts.inits = {tensor::EmptyOp::create(rewriter, loc, oType.getShape(),
                                         oType.getElementType())};
  parts.maps.push_back(getTermMap(ctx, domain, m.outputTerm));
  parts.scale = m.scores.getScaleValue();
  auto attention = cast<AttentionOp>(parts.create(rewriter, loc));
  if (!m.chainOps.empty()) {
    OpBuilder::InsertionGuard guard(rewriter);
    buildScoreRegion(rewriter, attention, m);
  }
  rewriter.replaceOp(m.output, attention.getResult());
  rewriter.eraseOp(m.softmax);
  for (Operation *op : m.maskOps)
    rewriter.eraseOp(op);
  for (Operation *op : llvm::reverse(m.chainOps))
    rewriter.eraseOp(op);
  rewriter.eraseOp(m.scores);
  return attention;
}

//===----------------------------------------------------------------------===//
// Additive and Gaussian scores
//===----------------------------------------------------------------------===//
//
// The frontend writes these scores elementwise on S-shaped tensors (S being
// the softmax input, laid out [batch..., query i, key j]):
//   additive: squeeze(einsum(tanh(bcast(q) + bcast(k)), w_v))   [.., i, j, h]
//   gaussian: -(((bcast(q) - bcast(k)) * w)^2) / 2              [.., i, j]
// where bcast(q) inserts the key axis j and bcast(k) the query axis i. Splat
// factors (negf, mulf / divf by a splat) around the score fold into the
// scale. The mask is arith.select(cond, s, splat fill) as for the dot form.

namespace {

struct KernelMatch {
  ScoreKind kind = ScoreKind::Dot;
  SoftmaxOp softmax;
  EinsumOp output;
  Value query, key, value; // as found: q/k without a feature axis for G8
  bool hasFeatureAxis = false;
  bool hasValueAxis = false;
  Value weight;                      // additive: [h], [1, h] or [h, 1]
  Labels weightTerm;                 // its labels in the weighting einsum
  std::string featureLabel;          // additive: the label summed with w
  std::optional<double> splatWeight; // gaussian, a constant
  Value scalarWeight;                // gaussian, a one-element tensor
  double factor = 1.0;               // multiplies the summed score
  std::optional<SelectMask> select;  // a boolean mask, if any
  int64_t rank = 0;                  // of the scores
  /// The scores have no query axis: each row of S is one query, with its
  /// own keys (d2l 0.17's Nadaraya-Watson class: S = [batch..., j], keys and
  /// values [batch..., j]). P·V reads P through a unit query axis inserted
  /// before the key axis, so the attention's batch is S's rows and each
  /// batch element has one query.
  bool impliedQuery = false;
  RearrangeOp unitQuery; // that rearrange of P
};

} // namespace

/// Finds which of `lhs`, `rhs` broadcasts the query (inserting the key axis
/// `rank - 1`) and which the key (inserting the query axis `rank - 2`).
static std::optional<Failure> matchBroadcastPair(Value lhs, Value rhs,
                                                 int64_t rank, Value &query,
                                                 Value &key) {
  auto q = lhs.getDefiningOp<linalg::BroadcastOp>();
  auto k = rhs.getDefiningOp<linalg::BroadcastOp>();
  if (!q || !k)
    return Failure{"the score's query and key operands are not "
                   "linalg.broadcast ops"};
  if (q.getDimensions() == ArrayRef<int64_t>{rank - 2} &&
      k.getDimensions() == ArrayRef<int64_t>{rank - 1})
    std::swap(q, k);
  if (q.getDimensions() != ArrayRef<int64_t>{rank - 1} ||
      k.getDimensions() != ArrayRef<int64_t>{rank - 2})
    return Failure{"the score's operands do not broadcast the query over "
                   "the key axis and the key over the query axis"};
  query = q.getInput();
  key = k.getInput();
  return std::nullopt;
}

/// `pattern` inserts one unit axis before the last axis and moves nothing
/// else: `a0 .. an -> a0 .. 1 an` in any naming.
static bool isUnitBeforeLast(StringRef pattern) {
  ::attn::PatternError error;
  std::optional<::attn::RearrangePattern> parsed =
      ::attn::parseRearrangePattern(pattern.str(), error);
  if (!parsed)
    return false;
  auto named = [](const ::attn::EinopsDim &dim) {
    return !dim.isGroup && dim.axes.size() == 1 &&
           dim.axes[0].kind == ::attn::EinopsAxis::Kind::Named;
  };
  const std::vector<::attn::EinopsDim> &in = parsed->lhs.dims;
  const std::vector<::attn::EinopsDim> &out = parsed->rhs.dims;
  if (in.empty() || out.size() != in.size() + 1 || !llvm::all_of(in, named))
    return false;
  const ::attn::EinopsDim &unit = out[out.size() - 2];
  if (unit.isGroup || unit.axes.size() != 1 ||
      unit.axes[0].kind != ::attn::EinopsAxis::Kind::Unit)
    return false;
  for (size_t i = 0; i < in.size(); ++i) {
    const ::attn::EinopsDim &kept = out[i + 1 == in.size() ? i + 1 : i];
    if (!named(kept) || kept.axes[0].name != in[i].axes[0].name)
      return false;
  }
  return true;
}

/// The Gaussian score's operands when the scores have no query axis: one
/// broadcasts the query (a row of S: [batch...]) over the key axis, the
/// other already has S's shape (each row's own keys).
static std::optional<Failure> matchRowQuery(Value lhs, Value rhs,
                                            RankedTensorType sType,
                                            Value &query, Value &key) {
  int64_t rank = sType.getRank();
  for (auto [qSide, kSide] : {std::pair(lhs, rhs), std::pair(rhs, lhs)}) {
    auto q = qSide.getDefiningOp<linalg::BroadcastOp>();
    if (!q || q.getDimensions() != ArrayRef<int64_t>{rank - 1} ||
        cast<RankedTensorType>(kSide.getType()).getShape() != sType.getShape())
      continue;
    query = q.getInput();
    key = kSide;
    return std::nullopt;
  }
  return Failure{"the score's operands do not broadcast the query over the "
                 "key axis"};
}

/// `pattern`'s right-hand side is its left-hand side without a trailing
/// unit axis: a pure squeeze `... 1 -> ...`.
static bool isTrailingSqueeze(StringRef pattern) {
  auto [lhs, rhs] = pattern.split("->");
  lhs = lhs.trim();
  rhs = rhs.trim();
  return lhs.consume_back("1") && lhs.trim() == rhs;
}

/// Matches the chain ending in `softmax` with an additive or Gaussian score.
static std::optional<Failure> matchKernelChain(SoftmaxOp softmax,
                                               KernelMatch &m) {
  m.softmax = softmax;
  Value probs = softmax.getResult();
  if (!probs.hasOneUse())
    return Failure{};
  auto sType = cast<RankedTensorType>(probs.getType());
  if (auto unit = dyn_cast<RearrangeOp>(*probs.getUsers().begin());
      unit && isUnitBeforeLast(unit.getPattern()) &&
      unit.getResult().hasOneUse() && sType.getRank() >= 2) {
    // P·V of a per-row query: P gets its unit query axis from this view.
    m.impliedQuery = true;
    m.unitQuery = unit;
    probs = unit.getResult();
  }
  auto output = dyn_cast<EinsumOp>(*probs.getUsers().begin());
  if (!output || output.getInputs().size() != 2)
    return Failure{};
  // The rank of P as P·V reads it (with the implied query axis).
  m.rank = cast<RankedTensorType>(probs.getType()).getRank();
  if (m.rank < 2)
    return Failure{};

  // The mask: select(cond, s, fill) or select(cond, fill, s).
  Value x = softmax.getInput();
  if (auto select = x.getDefiningOp<arith::SelectOp>()) {
    m.select = matchSelectMask(select);
    if (!m.select)
      return Failure{};
    x = m.select->scores;
  }

  // Splat factors around the score, outermost first.
  for (;;) {
    Operation *op = x.getDefiningOp();
    if (!op || !x.hasOneUse())
      break;
    if (auto neg = dyn_cast<arith::NegFOp>(op)) {
      m.factor = -m.factor;
      x = neg.getOperand();
      continue;
    }
    if (auto div = dyn_cast<arith::DivFOp>(op)) {
      std::optional<double> c = getSplatFloat(div.getRhs());
      if (!c || *c == 0)
        break;
      m.factor /= *c;
      x = div.getLhs();
      continue;
    }
    if (auto mul = dyn_cast<arith::MulFOp>(op)) {
      if (std::optional<double> c = getSplatFloat(mul.getRhs())) {
        m.factor *= *c;
        x = mul.getLhs();
        continue;
      }
      if (std::optional<double> c = getSplatFloat(mul.getLhs())) {
        m.factor *= *c;
        x = mul.getRhs();
        continue;
      }
    }
    break;
  }
  Operation *scoreOp = x.getDefiningOp();
  if (!scoreOp)
    return Failure{};

  if (auto square = dyn_cast<arith::MulFOp>(scoreOp);
      square && square.getLhs() == square.getRhs()) {
    // Gaussian: ((bq - bk) * w)^2 over [batch..., i, j].
    m.kind = ScoreKind::Gaussian;
    Value t = square.getLhs();
    if (!t.hasOneUse() && !llvm::all_of(t.getUsers(), [&](Operation *user) {
          return user == square.getOperation();
        }))
      return Failure{"the Gaussian score's difference is used elsewhere"};
    if (auto mul = t.getDefiningOp<arith::MulFOp>()) {
      Value other = mul.getLhs();
      m.splatWeight = getSplatFloat(mul.getRhs());
      if (!m.splatWeight) {
        m.splatWeight = getSplatFloat(mul.getLhs());
        other = mul.getRhs();
      }
      if (!m.splatWeight) {
        // A learnt scalar weight (a parameter passed at run time):
        // broadcast from a one-element tensor.
        for (Value side : {mul.getRhs(), mul.getLhs()}) {
          auto bcast = side.getDefiningOp<linalg::BroadcastOp>();
          auto inType = bcast ? dyn_cast<RankedTensorType>(
                                    bcast.getInput().getType())
                              : RankedTensorType();
          if (inType && inType.hasStaticShape() &&
              inType.getNumElements() == 1) {
            m.scalarWeight = bcast.getInput();
            other = side == mul.getRhs() ? mul.getLhs() : mul.getRhs();
            break;
          }
        }
      }
      if (!m.splatWeight && !m.scalarWeight)
        return Failure{"the Gaussian score's weight is neither a splat "
                       "constant nor a broadcast scalar"};
      t = other;
    }
    auto sub = t.getDefiningOp<arith::SubFOp>();
    if (!sub)
      return Failure{};
    if (std::optional<Failure> failure =
            m.impliedQuery
                ? matchRowQuery(sub.getLhs(), sub.getRhs(), sType, m.query,
                                m.key)
                : matchBroadcastPair(sub.getLhs(), sub.getRhs(), m.rank,
                                     m.query, m.key))
      return failure;
    m.hasFeatureAxis = false;
  } else if (isa<RearrangeOp, EinsumOp>(scoreOp)) {
    // Additive: [squeeze] einsum(tanh(bq + bk), w) over the feature axis.
    if (m.impliedQuery)
      return Failure{};
    EinsumOp weighted = dyn_cast<EinsumOp>(scoreOp);
    if (auto squeeze = dyn_cast<RearrangeOp>(scoreOp)) {
      weighted = squeeze.getInput().getDefiningOp<EinsumOp>();
      if (!weighted)
        return Failure{};
      if (!isTrailingSqueeze(squeeze.getPattern()))
        return Failure{"the additive score's rearrange is not a squeeze of "
                       "a trailing unit axis"};
    }
    if (weighted.getInputs().size() != 2)
      return Failure{};
    auto tanhAt = [&](unsigned index) {
      return weighted.getInputs()[index].getDefiningOp<math::TanhOp>();
    };
    unsigned tIndex = tanhAt(0) ? 0 : 1;
    math::TanhOp tanh = tanhAt(tIndex);
    if (!tanh)
      return Failure{};
    auto add = tanh.getOperand().getDefiningOp<arith::AddFOp>();
    if (!add)
      return Failure{"the additive score's tanh is not of a sum"};
    if (!tanh->hasOneUse() || !add->hasOneUse() || !weighted->hasOneUse())
      return Failure{"the additive score's features are used elsewhere"};
    auto plan = getStrictPlan(weighted);
    if (!plan)
      return Failure{"the additive score's einsum broadcasts or takes a "
                     "diagonal"};
    const std::vector<std::string> &tTerm = plan->inputs[tIndex];
    const std::vector<std::string> &wTerm = plan->inputs[1 - tIndex];
    if (static_cast<int64_t>(tTerm.size()) != m.rank + 1)
      return Failure{"the additive score's features are not [batch..., "
                     "query, key, feature]"};
    // Output: the feature label replaced by w's unit axis, if any.
    std::string feature = tTerm.back();
    Labels expected(tTerm.begin(), tTerm.end() - 1);
    Labels unit;
    for (const std::string &l : wTerm)
      if (l != feature)
        unit.push_back(l);
    bool wOk = llvm::is_contained(wTerm, feature) && wTerm.size() <= 2 &&
               llvm::all_of(unit, [&](const std::string &l) {
                 return plan->sizes[l] == 1 && !llvm::is_contained(tTerm, l);
               });
    expected.append(unit.begin(), unit.end());
    if (!wOk || Labels(plan->output.begin(), plan->output.end()) != expected)
      return Failure{"the additive score's einsum does not weight the "
                     "trailing feature axis by a vector"};
    if (!unit.empty() && !isa<RearrangeOp>(scoreOp))
      return Failure{};
    m.kind = ScoreKind::Additive;
    m.factor *= weighted.getScaleValue();
    m.weight = weighted.getInputs()[1 - tIndex];
    m.weightTerm = Labels(wTerm.begin(), wTerm.end());
    m.featureLabel = feature;
    if (std::optional<Failure> failure = matchBroadcastPair(
            add.getLhs(), add.getRhs(), m.rank, m.query, m.key))
      return failure;
    m.hasFeatureAxis = true;
  } else {
    return Failure{};
  }
  if (m.softmax.getNormalizedAxis() != sType.getRank() - 1)
    return Failure{"softmax over a non-key axis of the additive/Gaussian "
                   "score"};

  // The P·V einsum: v = [batch..., j(, e)], o = [batch..., i(, e)].
  auto oPlan = getStrictPlan(output);
  if (!oPlan)
    return Failure{"an einsum broadcasts or takes a diagonal"};
  size_t pIndex = output.getInputs()[0] == probs ? 0 : 1;
  const std::vector<std::string> &pTerm = oPlan->inputs[pIndex];
  Labels vTerm(oPlan->inputs[1 - pIndex].begin(),
               oPlan->inputs[1 - pIndex].end());
  Labels oTerm(oPlan->output.begin(), oPlan->output.end());
  Labels vWant(pTerm.begin(), pTerm.end() - 2), oWant = vWant;
  vWant.push_back(pTerm[m.rank - 1]);
  oWant.push_back(pTerm[m.rank - 2]);
  m.hasValueAxis = vTerm.size() == vWant.size() + 1;
  if (m.hasValueAxis) {
    vWant.push_back(vTerm.back());
    oWant.push_back(vTerm.back());
  }
  if (vTerm != vWant || oTerm != oWant || output.getScaleValue() != 1.0 ||
      (m.hasValueAxis && llvm::is_contained(pTerm, vTerm.back())))
    return Failure{"the P·V einsum is not [batch..., key(, e)] -> "
                   "[batch..., query(, e)]"};
  m.output = output;
  m.value = output.getInputs()[1 - pIndex];
  if (m.select &&
      cast<RankedTensorType>(m.select->condition.getType()).getShape() !=
          sType.getShape())
    return Failure{"unsupported mask form: the mask does not have the "
                   "scores' shape"};

  // q, k and v must share the batch dimensions of the scores.
  auto qType = cast<RankedTensorType>(m.query.getType());
  auto kType = cast<RankedTensorType>(m.key.getType());
  if (qType.getElementType() != sType.getElementType() ||
      kType.getElementType() != sType.getElementType())
    return Failure{"the query, key and scores differ in element type"};
  if (m.kind == ScoreKind::Additive &&
      cast<RankedTensorType>(m.weight.getType()).getElementType() !=
          sType.getElementType())
    return Failure{"the additive weight differs in element type"};
  if (!isRepresentableScale(
          m.kind == ScoreKind::Gaussian ? -2 * m.factor : m.factor,
          sType.getElementType()))
    return Failure{"the score's scale is not finite in the element type"};
  return std::nullopt;
}

/// A fresh einops axis list `a0 a1 ... a<n-1>`.
static std::string axes(int64_t n) {
  std::string result;
  for (int64_t i = 0; i < n; ++i)
    result += (i ? " a" : "a") + std::to_string(i);
  return result;
}

/// `value` with a trailing unit axis appended.
static Value expandTrailing(OpBuilder &b, Location loc, Value value) {
  int64_t rank = cast<RankedTensorType>(value.getType()).getRank();
  return RearrangeOp::create(b, loc, value,
                             axes(rank) + " -> " + axes(rank) + " 1",
                             DictionaryAttr())
      .getResult();
}

/// Erases `root` and, transitively, the producers it leaves unused.
static void eraseDeadChain(RewriterBase &rewriter, Operation *root) {
  llvm::SetVector<Operation *> worklist;
  worklist.insert(root);
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (!isOpTriviallyDead(op))
      continue;
    for (Value operand : op->getOperands())
      if (Operation *producer = operand.getDefiningOp())
        worklist.insert(producer);
    rewriter.eraseOp(op);
  }
}

/// Rewrites a matched additive/Gaussian chain; returns the attn.attention.
static AttentionOp fuseKernel(RewriterBase &rewriter, KernelMatch &m) {
  Location loc = m.output.getLoc();
  rewriter.setInsertionPoint(m.output);
  auto sType = cast<RankedTensorType>(m.softmax.getType());
  Type elementType = sType.getElementType();
  Value q = m.query, k = m.key, v = m.value;
  // A row of S is one query: its unit query axis.
  if (m.impliedQuery)
    q = expandTrailing(rewriter, loc, q);
  // The Gaussian form has no feature axis: D = 1.
  if (!m.hasFeatureAxis) {
    q = expandTrailing(rewriter, loc, q);
    k = expandTrailing(rewriter, loc, k);
  }
  if (!m.hasValueAxis)
    v = expandTrailing(rewriter, loc, v);

  Value weight;
  double scale = m.factor;
  if (m.kind == ScoreKind::Additive) {
    weight = m.weight;
    if (m.weightTerm.size() == 2)
      weight =
          RearrangeOp::create(rewriter, loc, weight,
                              m.weightTerm[0] == m.featureLabel ? "a0 1 -> a0"
                                                                : "1 a0 -> a0",
                              DictionaryAttr())
              .getResult();
  } else {
    // -factor * sum (..)^2 = -scale / 2 * sum (..)^2.
    scale = -2 * m.factor;
    if (m.scalarWeight) {
      // One element of any rank -> tensor<1xT>.
      auto wType = RankedTensorType::get({1}, elementType);
      auto inType = cast<RankedTensorType>(m.scalarWeight.getType());
      if (inType.getRank() == 0)
        weight = tensor::ExpandShapeOp::create(
            rewriter, loc, wType, m.scalarWeight,
            ArrayRef<ReassociationIndices>{});
      else if (inType.getRank() == 1)
        weight = m.scalarWeight;
      else
        weight = tensor::CollapseShapeOp::create(
            rewriter, loc, wType, m.scalarWeight,
            ArrayRef<ReassociationIndices>{llvm::to_vector(
                llvm::seq<int64_t>(0, inType.getRank()))});
    } else if (m.splatWeight) {
      auto wType = RankedTensorType::get({1}, elementType);
      weight = arith::ConstantOp::create(
          rewriter, loc, wType,
          DenseElementsAttr::get(
              wType, rewriter.getFloatAttr(elementType, *m.splatWeight)));
    }
  }

  Value mask = buildFusedMask(rewriter, loc, m.select, {});
  if (mask && m.impliedQuery)
    mask = RearrangeOp::create(rewriter, loc, mask, m.unitQuery.getPattern(),
                               DictionaryAttr())
               .getResult();

  auto oType = cast<RankedTensorType>(m.output.getType());
  SmallVector<int64_t> shape(oType.getShape());
  if (!m.hasValueAxis)
    shape.push_back(1);
  AttentionParts parts;
  parts.query = q;
  parts.key = k;
  parts.value = v;
  parts.mask = mask;
  parts.weight = weight;
  parts.inits = {
      tensor::EmptyOp::create(rewriter, loc, shape, oType.getElementType())};
  parts.maps.assign(parts.getRoles().size(), AffineMap());
  parts.scale = scale;
  parts.score = m.kind;
  auto attention = cast<AttentionOp>(parts.create(rewriter, loc));
  Value result = attention.getResult();
  if (!m.hasValueAxis)
    result = RearrangeOp::create(rewriter, loc, result,
                                 axes(shape.size() - 1) + " 1 -> " +
                                     axes(shape.size() - 1),
                                 DictionaryAttr())
                 .getResult();
  rewriter.replaceOp(m.output, result);
  eraseDeadChain(rewriter, m.impliedQuery ? m.unitQuery.getOperation()
                                        : m.softmax.getOperation());
  return attention;
}

/// `v` through the attn.rearrange views that produce it.
static Value throughViews(Value v) {
  while (auto view = v.getDefiningOp<RearrangeOp>())
    v = view.getInput();
  return v;
}

/// Talking heads (CaiT): the softmax reads, through views and an optional
/// bias added as a broadcast, a mix of batched scores across their heads by
/// a square [H, H] matrix (an einsum summing one axis of the scores against
/// it, H being the size of a batch axis of the score einsum). Returns the
/// mix's equation. Every mixed head's score needs every head's, so no
/// single-pass flash form computes them; the row-block nest of
/// FuseTalkingHeads.cpp does, when the chain has the form it takes. This
/// wider match names the near misses it leaves.
static std::optional<std::string> matchHeadMixedScores(SoftmaxOp softmax) {
  Value v = throughViews(softmax.getInput());
  if (auto add = v.getDefiningOp<arith::AddFOp>()) {
    if (add.getRhs().getDefiningOp<linalg::BroadcastOp>())
      v = throughViews(add.getLhs());
    else if (add.getLhs().getDefiningOp<linalg::BroadcastOp>())
      v = throughViews(add.getRhs());
  }
  auto mix = v.getDefiningOp<EinsumOp>();
  std::optional<::attn::EinsumPlan> plan =
      mix && mix.getInputs().size() == 2 ? getStrictPlan(mix) : std::nullopt;
  if (!plan)
    return std::nullopt;
  for (int x = 0; x < 2; ++x) {
    auto matrix = dyn_cast<RankedTensorType>(mix.getInputs()[1 - x].getType());
    auto scores = throughViews(mix.getInputs()[x]).getDefiningOp<EinsumOp>();
    std::optional<::attn::EinsumPlan> sPlan =
        scores && scores.getInputs().size() == 2 ? getStrictPlan(scores)
                                                 : std::nullopt;
    if (!matrix || matrix.getRank() != 2 ||
        matrix.getDimSize(0) != matrix.getDimSize(1) || !sPlan)
      continue;
    const std::vector<std::string> &xTerm = plan->inputs[x];
    SmallVector<std::string> summed;
    for (const std::string &l : xTerm)
      if (!llvm::is_contained(plan->output, l))
        summed.push_back(l);
    if (summed.size() != 1 ||
        !llvm::is_contained(plan->inputs[1 - x], summed[0]) ||
        plan->sizes.at(summed[0]) != matrix.getDimSize(0))
      continue;
    for (const std::string &l : sPlan->output)
      if (llvm::is_contained(sPlan->inputs[0], l) &&
          llvm::is_contained(sPlan->inputs[1], l) &&
          sPlan->sizes.at(l) == matrix.getDimSize(0))
        return mix.getEquation().str();
  }
  return std::nullopt;
}

/// Why a softmax that no matcher recognised is not an attention, when the
/// matchers had nothing more specific to say: every softmax gets a remark.
static std::string unmatchedReason(SoftmaxOp softmax) {
  Value probs = softmax.getResult();
  auto user = probs.hasOneUse() ? dyn_cast<EinsumOp>(*probs.getUsers().begin())
                                : EinsumOp();
  if (!user || user.getInputs().size() != 2)
    return "the probabilities are not used by exactly one two-operand einsum "
           "(P V)";
  return "the softmax's input is not a score einsum (Q Kᵀ, or an additive or "
         "Gaussian score) followed only by elementwise ops and masks";
}

/// The masks of a fused chain, for its remark.
static std::string describeMasks(const std::optional<SelectMask> &select,
                                 size_t additive) {
  std::string text;
  if (select)
    text += select->finiteFill ? ", boolean mask with a finite fill (additive)"
                               : ", boolean mask";
  if (select && !select->keepWhereTrue)
    text += " (masked_fill form)";
  if (additive == 1)
    text += ", additive mask";
  else if (additive > 1)
    text += llvm::formatv(", {0} additive masks (summed)", additive).str();
  return text;
}

namespace {

struct FuseAttentionPass
    : public mlir::attn::impl::FuseAttentionPassBase<FuseAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<SoftmaxOp> softmaxes;
    getOperation()->walk([&](SoftmaxOp op) { softmaxes.push_back(op); });
    IRRewriter rewriter(&getContext());
    // A fusion erases only ops of its own chain (a softmax belongs to one
    // chain), so the collected softmaxes stay valid.
    for (SoftmaxOp softmax : softmaxes) {
      Match match;
      if (std::optional<Failure> failure = matchChain(softmax, match)) {
        // Not a dot-product chain: maybe an additive or Gaussian one. Its
        // score einsum (w_v over the features) can look like a failed Q Kᵀ,
        // so this runs whatever the dot matcher said, and its reason wins
        // when it has one: it only gives one on a recognised tanh or
        // squared-difference score.
        {
          KernelMatch kernel;
          std::optional<Failure> kernelFailure =
              matchKernelChain(softmax, kernel);
          if (kernelFailure && !kernelFailure->reason.empty())
            failure = kernelFailure;
          if (!kernelFailure) {
            char scale[32];
            std::snprintf(scale, sizeof(scale), "%g",
                          kernel.kind == ScoreKind::Gaussian
                              ? -2 * kernel.factor
                              : kernel.factor);
            std::string description =
                llvm::formatv(
                    "fused attention: {0} score scale {1}{2}{3}, softmax "
                    "over the key axis, '{4}'",
                    stringifyScoreKind(kernel.kind), scale,
                    kernel.weight || kernel.splatWeight || kernel.scalarWeight
                        ? ", weight"
                        : "",
                    describeMasks(kernel.select, 0),
                    kernel.output.getEquation())
                    .str();
            AttentionOp fused = fuseKernel(rewriter, kernel);
            if (remarks)
              fused.emitRemark(description);
            continue;
          }
        }
        // Scores and probabilities mixed across heads (CaiT's talking
        // heads) have a row-block form; its near miss is the most specific.
        std::string talkingReason;
        if (talkingHeads) {
          TalkingHeadsOptions options;
          options.qTile = talkingHeadsQTile;
          std::string description;
          if (Operation *fused = fuseTalkingHeads(
                  rewriter, softmax, options, description, talkingReason)) {
            if (remarks)
              fused->emitRemark(description);
            continue;
          }
        }
        // Probabilities mixed across heads (DeepViT's re-attention) have
        // a two-pass form; its near miss is more specific than the P·V
        // matcher's.
        if (reattention) {
          ReAttentionOptions options;
          options.qTile = reattentionQTile;
          options.kvTile = reattentionKvTile;
          std::string description, reason;
          if (AttentionOp fused = fuseReAttention(rewriter, softmax, options,
                                                  description, reason)) {
            if (remarks)
              fused.emitRemark(description);
            continue;
          }
          if (!reason.empty())
            failure->reason = reason;
        }
        // Head-mixed scores make the matchers fail on the mix (taken for
        // the score einsum); the mix is the reason.
        if (!talkingReason.empty())
          failure->reason = talkingReason;
        else if (std::optional<std::string> mixEquation =
                     matchHeadMixedScores(softmax))
          failure->reason =
              "talking heads: the scores are mixed across heads by '" +
              *mixEquation + "' before the softmax, " +
              (talkingHeads ? "through views or ops the row-block nest does "
                              "not take"
                            : "and the row-block nest is off "
                              "(talking-heads=false)");
        if (remarks)
          softmax.emitRemark("attention not fused: ")
              << (failure->reason.empty() ? unmatchedReason(softmax)
                                          : failure->reason);
        continue;
      }
      // Said in the user's own equations, before they are erased.
      char scale[32];
      std::snprintf(scale, sizeof(scale), "%g", match.scores.getScaleValue());
      std::string region;
      if (!match.chainOps.empty()) {
        region = ", score_mod (";
        for (auto [i, op] : llvm::enumerate(match.chainOps))
          region += (i ? ", " : "") + op->getName().getStringRef().str();
        region += ")";
      }
      std::string description =
          llvm::formatv("fused attention: '{0}' scale {1}{2}{3}, softmax over "
                        "key axis '{4}', '{5}'",
                        match.scores.getEquation(), scale, region,
                        describeMasks(match.select, match.additiveMasks.size()),
                        match.keyLabel, match.output.getEquation())
              .str();
      AttentionOp fused = fuse(rewriter, match);
      if (remarks)
        fused.emitRemark(description);
    }
  }
};

} // namespace
