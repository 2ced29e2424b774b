//===- FuseAttention.cpp - recognise attention chains as attn.attention ---===//
//
// Implements `attn-fuse-attention`: einsum(q, k) -> optional mask -> softmax
// over the key axis -> einsum(p, v), in any label layout, becomes one
// attn.attention, which later lowers to flash-tiled loops.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdio>
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

/// What the matcher found: the ops of the chain, the roles of the score
/// labels, and why it gave up when it did.
struct Match {
  EinsumOp scores;            // s = einsum(q, k)
  Operation *maskOp = nullptr; // arith.select or arith.addf, if any
  Value mask;                  // the boolean or additive mask
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

static bool hasRepeatedLabel(ArrayRef<std::string> labels) {
  for (size_t i = 0; i < labels.size(); ++i)
    for (size_t j = i + 1; j < labels.size(); ++j)
      if (labels[i] == labels[j])
        return true;
  return false;
}

/// The einsum's terms with ellipses expanded, or nullopt when an operand
/// broadcasts a size-1 dimension (attn.attention has no broadcasting of q,
/// k or v) or a term repeats a label (a diagonal).
static std::optional<::attn::EinsumPlan> getStrictPlan(EinsumOp op) {
  auto plan = op.getPlan();
  if (!plan)
    return std::nullopt;
  for (auto [input, labels] : llvm::zip(op.getInputs(), plan->inputs)) {
    ArrayRef<int64_t> shape = cast<RankedTensorType>(input.getType()).getShape();
    for (auto [size, label] : llvm::zip(shape, labels))
      if (size != plan->sizes[label])
        return std::nullopt;
    if (hasRepeatedLabel(labels))
      return std::nullopt;
  }
  if (hasRepeatedLabel(plan->output))
    return std::nullopt;
  return plan;
}

static bool isNegInfSplat(Value value) {
  DenseElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)) || !attr.isSplat() ||
      !isa<FloatType>(attr.getElementType()))
    return false;
  APFloat v = attr.getSplatValue<APFloat>();
  return v.isInfinity() && v.isNegative();
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

  // The producer: scores, possibly masked.
  Value input = softmax.getInput();
  Operation *producer = input.getDefiningOp();
  if (!producer)
    return Failure{};
  EinsumOp scores;
  if (auto einsum = dyn_cast<EinsumOp>(producer)) {
    scores = einsum;
  } else if (auto select = dyn_cast<arith::SelectOp>(producer)) {
    scores = select.getTrueValue().getDefiningOp<EinsumOp>();
    if (!scores)
      return Failure{};
    if (!isa<RankedTensorType>(select.getCondition().getType()) ||
        !isNegInfSplat(select.getFalseValue()))
      return Failure{"unsupported mask form: arith.select must pick the "
                     "scores where a boolean tensor is true and a splat -inf "
                     "elsewhere"};
    match.maskOp = select;
    match.mask = select.getCondition();
  } else if (auto add = dyn_cast<arith::AddFOp>(producer)) {
    scores = add.getLhs().getDefiningOp<EinsumOp>();
    match.mask = add.getRhs();
    if (!scores || scores.getInputs().size() != 2) {
      scores = add.getRhs().getDefiningOp<EinsumOp>();
      match.mask = add.getLhs();
    }
    if (!scores)
      return Failure{};
    match.maskOp = add;
  } else {
    // Something else sits between the scores and the softmax.
    for (Value operand : producer->getOperands())
      if (operand.getDefiningOp<EinsumOp>())
        return Failure{llvm::formatv("unsupported mask form: '{0}' between "
                                     "the scores and the softmax",
                                     producer->getName().getStringRef())
                           .str()};
    return Failure{};
  }
  match.scores = scores;
  if (scores.getInputs().size() != 2)
    return Failure{"the score einsum does not have two operands"};
  if (!scores.getResult().hasOneUse() ||
      (match.maskOp && !match.maskOp->getResult(0).hasOneUse()))
    return Failure{"the scores are used elsewhere"};

  auto sPlan = getStrictPlan(scores);
  auto oPlan = getStrictPlan(output);
  if (!sPlan || !oPlan)
    return Failure{"an einsum broadcasts or takes a diagonal"};
  const Labels qTerm(sPlan->inputs[0].begin(), sPlan->inputs[0].end());
  const Labels kTerm(sPlan->inputs[1].begin(), sPlan->inputs[1].end());
  const Labels sTerm(sPlan->output.begin(), sPlan->output.end());

  // Roles in the score einsum: batch (q, k, s), rows of q (q, s), rows of k
  // (k, s), contracted (q, k). Anything else is not Q Kᵀ.
  Labels batch, qRows, kRows, contracted;
  for (const std::string &l : qTerm) {
    bool inK = llvm::is_contained(kTerm, l), inS = llvm::is_contained(sTerm, l);
    if (inK && inS)
      batch.push_back(l);
    else if (inK)
      contracted.push_back(l);
    else if (inS)
      qRows.push_back(l);
    else
      return Failure{"the score einsum sums over a query-only axis"};
  }
  for (const std::string &l : kTerm) {
    if (llvm::is_contained(qTerm, l))
      continue;
    if (!llvm::is_contained(sTerm, l))
      return Failure{"the score einsum sums over a key-only axis"};
    kRows.push_back(l);
  }
  if (qRows.size() != 1 || kRows.size() != 1 || contracted.size() != 1)
    return Failure{"the score einsum is not a batched Q Kᵀ (one query axis, "
                   "one key axis, one contracted axis)"};
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
  // v = [batch..., key, e] and o = [batch..., query, e] up to permutation.
  Labels vWant = orderedBatch, oWant = orderedBatch;
  vWant.append({kRows[0], fresh});
  oWant.append({qRows[0], fresh});
  auto samePermutation = [](Labels a, Labels b) {
    llvm::sort(a);
    llvm::sort(b);
    return a == b;
  };
  if (llvm::count(vTerm, fresh) != 1 || !samePermutation(vTerm, vWant) ||
      !samePermutation(oTerm, oWant))
    return Failure{"the P·V einsum is not a batched P V with one value axis"};
  if (output.getScaleValue() != 1.0)
    return Failure{"the P·V einsum has a scale"};
  if (match.mask) {
    auto maskType = dyn_cast<RankedTensorType>(match.mask.getType());
    if (!maskType || maskType.getShape() != scores.getType().getShape())
      return Failure{"unsupported mask form: the mask does not have the "
                     "scores' shape"};
  }

  match.query = scores.getInputs()[0];
  match.key = scores.getInputs()[1];
  match.value = output.getInputs()[1 - pIndex];
  match.batch = orderedBatch;
  match.queryLabel = qRows[0];
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

/// Permutes `value` (laid out as `from`) into the layout `to` with an
/// attn.rearrange; returns `value` itself when the layouts agree.
static Value permute(OpBuilder &b, Location loc, Value value,
                     ArrayRef<std::string> from, ArrayRef<std::string> to) {
  if (from == to)
    return value;
  // Axis names of our own: einsum labels may be ellipsis placeholders or
  // letters that are not einops identifiers.
  std::string lhs, rhs;
  for (size_t i = 0; i < from.size(); ++i)
    lhs += (i ? " a" : "a") + std::to_string(i);
  for (size_t i = 0; i < to.size(); ++i) {
    size_t source = llvm::find(from, to[i]) - from.begin();
    rhs += (i ? " a" : "a") + std::to_string(source);
  }
  return RearrangeOp::create(b, loc, value, lhs + " -> " + rhs,
                             DictionaryAttr())
      .getResult();
}

/// Rewrites the matched chain; returns the new attn.attention.
static AttentionOp fuse(RewriterBase &rewriter, Match &m) {
  Location loc = m.output.getLoc();
  rewriter.setInsertionPoint(m.output);
  auto withBatch = [&](std::initializer_list<std::string> rest) {
    Labels labels = m.batch;
    labels.append(rest.begin(), rest.end());
    return labels;
  };
  Value q = permute(rewriter, loc, m.query, m.queryTerm,
                    withBatch({m.queryLabel, m.depthLabel}));
  Value k = permute(rewriter, loc, m.key, m.keyTerm,
                    withBatch({m.keyLabel, m.depthLabel}));
  Value v = permute(rewriter, loc, m.value, m.valueTerm,
                    withBatch({m.keyLabel, m.valueLabel}));
  Value mask;
  if (m.mask)
    mask = permute(rewriter, loc, m.mask, m.scoreTerm,
                   withBatch({m.queryLabel, m.keyLabel}));
  Labels canonicalOut = withBatch({m.queryLabel, m.valueLabel});
  SmallVector<int64_t> outShape;
  auto oType = cast<RankedTensorType>(m.output.getType());
  for (const std::string &label : canonicalOut)
    outShape.push_back(
        oType.getDimSize(llvm::find(m.outputTerm, label) - m.outputTerm.begin()));
  auto fusedType = RankedTensorType::get(outShape, oType.getElementType());
  auto attention = AttentionOp::create(
      rewriter, loc, fusedType, q, k, v, mask, /*weight=*/Value(),
      rewriter.getF64FloatAttr(m.scores.getScaleValue()));
  Value result =
      permute(rewriter, loc, attention.getResult(), canonicalOut, m.outputTerm);
  rewriter.replaceOp(m.output, result);
  rewriter.eraseOp(m.softmax);
  if (m.maskOp)
    rewriter.eraseOp(m.maskOp);
  rewriter.eraseOp(m.scores);
  return attention;
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
        if (remarks && !failure->reason.empty())
          softmax.emitRemark("attention not fused: ") << failure->reason;
        continue;
      }
      // Said in the user's own equations, before they are erased.
      char scale[32];
      std::snprintf(scale, sizeof(scale), "%g",
                    match.scores.getScaleValue());
      std::string description =
          llvm::formatv("fused attention: '{0}' scale {1}{2}, softmax over "
                        "key axis '{3}', '{4}'",
                        match.scores.getEquation(), scale,
                        !match.mask ? ""
                        : isa<arith::SelectOp>(match.maskOp)
                            ? ", boolean mask"
                            : ", additive mask",
                        match.keyLabel, match.output.getEquation())
              .str();
      AttentionOp fused = fuse(rewriter, match);
      if (remarks)
        fused.emitRemark(description);
    }
  }
};

} // namespace
