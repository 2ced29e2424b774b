//===- FuseReAttention.cpp - two-pass flash form of re-attention ----------===//
//
// DeepViT's re-attention mixes the softmax probabilities across heads with a
// learnt [H, H] matrix and normalises the mix with a LayerNorm over the heads
// before P·V. Each probability needs the final softmax denominator of every
// head, so there is no single-pass online form; this file rewrites the chain
// into the exact two-pass form that never materialises the [.., H, N, N]
// probabilities: pass 1 is an attn.attention whose only used result is the
// scores' row log-sum-exp, pass 2 recomputes a block of scores for all heads,
// exp(s - lse), the head mix, the LayerNorm and P'·V, tiled with upstream
// tile-and-fuse over (batch, query block) and key blocks.
//
//===----------------------------------------------------------------------===//

#include "MatchUtils.h"
#include "HeadMixNest.h"
#include "ReAttention.h"

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Support/Einops.h"
#include "attn/Support/Einsum.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdio>
#include <map>

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Where a tensor's elements sit in terms of the score einsum's labels: per
/// dimension, the non-unit score axes merged into it, outermost first (empty
/// for a size-1 dimension). Views (attn.rearrange) only move these around.
using Atoms = SmallVector<std::string, 2>;
using Layout = SmallVector<Atoms, 6>;

/// The LayerNorm over the heads, as the frontend writes nn.LayerNorm.
struct LayerNormMatch {
  double eps = 0;
  Value gamma, beta; // [H], either may be absent
  llvm::SetVector<Operation *> ops;
};

} // namespace

/// The layout of a rearrange's result, or nullopt when the view splits a
/// score axis (its elementary axes do not fall on axis boundaries).
static std::optional<Layout>
throughRearrange(RearrangeOp op, const Layout &in,
                 const std::map<std::string, int64_t> &sizes) {
  std::optional<::attn::RearrangePlan> plan = op.getPlan();
  if (!plan || plan->inputGroups.size() != in.size())
    return std::nullopt;
  SmallVector<Atoms> elementary(plan->elementarySizes.size());
  for (auto [d, group] : llvm::enumerate(plan->inputGroups)) {
    const Atoms &atoms = in[d];
    size_t next = 0;
    for (int64_t e : group) {
      int64_t size = plan->elementarySizes[e], covered = 1;
      while (covered < size && next < atoms.size()) {
        covered *= sizes.at(atoms[next]);
        elementary[e].push_back(atoms[next++]);
      }
      if (covered != size)
        return std::nullopt;
    }
    if (next != atoms.size())
      return std::nullopt;
  }
  Layout out;
  for (const std::vector<int64_t> &group : plan->outputGroups) {
    Atoms atoms;
    for (int64_t e : group)
      llvm::append_range(atoms, elementary[e]);
    out.push_back(atoms);
  }
  return out;
}

/// `v` = linalg.broadcast of a tensor along exactly `dims` (sorted).
static Value getBroadcastSource(Value v, ArrayRef<int64_t> dims) {
  auto broadcast = v.getDefiningOp<linalg::BroadcastOp>();
  if (!broadcast)
    return {};
  SmallVector<int64_t> got(broadcast.getDimensions());
  llvm::sort(got);
  if (ArrayRef<int64_t>(got) != dims)
    return {};
  return broadcast.getInput();
}

/// Matches `v` = mean over dimension `hd` of some z (reduce-sum times 1/H or
/// divided by H); returns z.
static Value matchHeadMean(Value v, int64_t hd, int64_t heads,
                           llvm::SetVector<Operation *> &ops) {
  Value sum;
  Operation *scaleOp = v.getDefiningOp();
  auto near = [](double a, double b) {
    return std::abs(a - b) <= 1e-6 * std::abs(b);
  };
  if (auto mul = dyn_cast_or_null<arith::MulFOp>(scaleOp)) {
    for (auto [a, b] : {std::pair(mul.getLhs(), mul.getRhs()),
                        std::pair(mul.getRhs(), mul.getLhs())})
      if (std::optional<double> c = getSplatFloat(b);
          c && near(*c, 1.0 / heads))
        sum = a;
  } else if (auto div = dyn_cast_or_null<arith::DivFOp>(scaleOp)) {
    if (std::optional<double> c = getSplatFloat(div.getRhs());
        c && near(*c, heads))
      sum = div.getLhs();
  }
  if (!sum)
    return {};
  auto reduce = sum.getDefiningOp<linalg::ReduceOp>();
  if (!reduce || reduce.getInputs().size() != 1 ||
      reduce.getInits().size() != 1 ||
      reduce.getDimensions() != ArrayRef<int64_t>{hd})
    return {};
  auto fill = reduce.getInits()[0].getDefiningOp<linalg::FillOp>();
  if (!fill || !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
    return {};
  Block &body = reduce.getCombiner().front();
  auto add = dyn_cast<arith::AddFOp>(&body.front());
  if (!add || body.getOperations().size() != 2 ||
      !llvm::is_contained(add->getOperands(), body.getArgument(0)) ||
      !llvm::is_contained(add->getOperands(), body.getArgument(1)) ||
      body.getTerminator()->getOperand(0) != add.getResult())
    return {};
  ops.insert(scaleOp);
  ops.insert(reduce);
  return reduce.getInputs()[0];
}

/// Matches y = LayerNorm over dimension `hd` of x: (x - mean) * rsqrt(var +
/// eps) (or / sqrt(var + eps)), then optionally * gamma and + beta, with
/// mean and var reduce-sums over `hd` scaled by 1/H, as the frontend writes
/// nn.LayerNorm. Operand order of the commutative ops does not matter.
static std::optional<std::string>
matchLayerNorm(Value y, Value x, int64_t hd, int64_t heads, LayerNormMatch &m) {
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<int64_t> allButHead;
  for (int64_t d = 0; d < rank; ++d)
    if (d != hd)
      allButHead.push_back(d);
  auto headVector = [&](Value v) -> Value {
    Value source = getBroadcastSource(v, allButHead);
    auto type = source ? dyn_cast<RankedTensorType>(source.getType())
                       : RankedTensorType();
    if (!type || type.getRank() != 1 || type.getDimSize(0) != heads)
      return {};
    return source;
  };
  // Peels `op(t, headVector)` into the vector; returns the other operand.
  auto peel = [&](Value t, auto opTag, Value &vector) -> Value {
    using OpTy = decltype(opTag);
    auto op = t.getDefiningOp<OpTy>();
    if (!op)
      return t;
    for (auto [a, b] : {std::pair(op.getLhs(), op.getRhs()),
                        std::pair(op.getRhs(), op.getLhs())})
      if (Value v = headVector(b)) {
        vector = v;
        m.ops.insert(op);
        return a;
      }
    return t;
  };
  Value t = peel(y, arith::AddFOp(), m.beta);
  t = peel(t, arith::MulFOp(), m.gamma);

  // (x - mean) * bcast(rsqrt(var + eps)), or (x - mean) / bcast(sqrt(..)).
  Value centered, root;
  bool reciprocal = false;
  if (auto mul = t.getDefiningOp<arith::MulFOp>()) {
    for (auto [a, b] : {std::pair(mul.getLhs(), mul.getRhs()),
                        std::pair(mul.getRhs(), mul.getLhs())})
      if (Value source = getBroadcastSource(b, {hd})) {
        centered = a;
        root = source;
        m.ops.insert(b.getDefiningOp());
      }
    reciprocal = true;
    m.ops.insert(mul);
  } else if (auto div = t.getDefiningOp<arith::DivFOp>()) {
    if (Value source = getBroadcastSource(div.getRhs(), {hd})) {
      centered = div.getLhs();
      root = source;
      m.ops.insert(div.getRhs().getDefiningOp());
    }
    m.ops.insert(div);
  }
  if (!centered)
    return std::string("the P·V einsum's probabilities are not a LayerNorm "
                       "over the heads of the head-mixed ones (no "
                       "normalisation by a broadcast standard deviation)");
  Value shifted;
  if (reciprocal) {
    if (auto rsqrt = root.getDefiningOp<math::RsqrtOp>()) {
      shifted = rsqrt.getOperand();
      m.ops.insert(rsqrt);
    }
  } else if (auto sqrt = root.getDefiningOp<math::SqrtOp>()) {
    shifted = sqrt.getOperand();
    m.ops.insert(sqrt);
  }
  Value variance;
  if (auto add =
          shifted ? shifted.getDefiningOp<arith::AddFOp>() : arith::AddFOp()) {
    for (auto [a, b] : {std::pair(add.getLhs(), add.getRhs()),
                        std::pair(add.getRhs(), add.getLhs())})
      if (std::optional<double> eps = getSplatFloat(b)) {
        m.eps = *eps;
        variance = a;
      }
    m.ops.insert(add);
  }
  if (!variance)
    return std::string("the LayerNorm over the heads has no rsqrt(var + eps) "
                       "with a constant eps");
  Value squares = matchHeadMean(variance, hd, heads, m.ops);
  auto square =
      squares ? squares.getDefiningOp<arith::MulFOp>() : arith::MulFOp();
  if (!square || square.getLhs() != centered || square.getRhs() != centered)
    return std::string("the LayerNorm's variance is not the mean over the "
                       "heads of the squared centred values");
  m.ops.insert(square);
  auto sub = centered.getDefiningOp<arith::SubFOp>();
  Value meanSource = sub ? getBroadcastSource(sub.getRhs(), {hd}) : Value();
  if (!sub || sub.getLhs() != x || !meanSource ||
      matchHeadMean(meanSource, hd, heads, m.ops) != x)
    return std::string("the LayerNorm does not centre the head-mixed "
                       "probabilities by their mean over the heads");
  m.ops.insert(sub);
  m.ops.insert(sub.getRhs().getDefiningOp());
  return std::nullopt;
}


AttentionOp mlir::attn::fuseReAttention(RewriterBase &rewriter,
                                        SoftmaxOp softmax,
                                        const ReAttentionOptions &options,
                                        std::string &description,
                                        std::string &reason) {
  reason.clear();
  // Is the softmax followed, through views, by a head mix (an einsum with a
  // two-dimensional matrix)? If not, this is not a re-attention at all.
  SmallVector<RearrangeOp> leadingViews;
  Value cur = softmax.getResult();
  EinsumOp mix;
  while (cur.hasOneUse()) {
    Operation *user = *cur.getUsers().begin();
    if (auto view = dyn_cast<RearrangeOp>(user)) {
      leadingViews.push_back(view);
      cur = view.getResult();
      continue;
    }
    auto einsum = dyn_cast<EinsumOp>(user);
    if (einsum && einsum.getInputs().size() == 2 &&
        softmax.getInput().getDefiningOp<EinsumOp>() &&
        softmax.getType().getRank() >= 3) {
      Value other = einsum.getInputs()[0] == cur ? einsum.getInputs()[1]
                                                 : einsum.getInputs()[0];
      auto type = dyn_cast<RankedTensorType>(other.getType());
      if (type && type.getRank() == 2 && other != cur)
        mix = einsum;
    }
    break;
  }
  if (!mix)
    return {};
  auto fail = [&](const Twine &why) -> AttentionOp {
    reason = ("re-attention (probabilities mixed across heads by '" +
              mix.getEquation() + "'): " + why)
                 .str();
    return {};
  };

  // The scores: a batched Q Kᵀ straight into the softmax.
  auto scores = softmax.getInput().getDefiningOp<EinsumOp>();
  if (!scores || scores.getInputs().size() != 2)
    return fail("the softmax's input is not a score einsum (the two-pass "
                "form takes no ops between the scores and the softmax)");
  if (!scores.getResult().hasOneUse())
    return fail("the scores are used elsewhere");
  auto sPlan = getStrictPlan(scores);
  if (!sPlan)
    return fail("the score einsum broadcasts or takes a diagonal");
  const Labels qTerm(sPlan->inputs[0].begin(), sPlan->inputs[0].end());
  const Labels kTerm(sPlan->inputs[1].begin(), sPlan->inputs[1].end());
  const Labels sTerm(sPlan->output.begin(), sPlan->output.end());
  // A label q or k sums alone fails the size checks below.
  ScoreLabels roles = classifyScoreLabels(qTerm, kTerm, sTerm);
  const Labels &batch = roles.batch, &qRows = roles.qRows,
               &kRows = roles.kRows, &contracted = roles.contracted;
  if (qRows.size() != 1 || kRows.size() != 1 || contracted.size() != 1 ||
      batch.size() + 2 != sTerm.size() || qTerm.size() != batch.size() + 2 ||
      kTerm.size() != batch.size() + 2)
    return fail("the score einsum is not a batched Q Kᵀ with the same batch "
                "axes for queries and keys");
  const std::string queryLabel = qRows[0], keyLabel = kRows[0],
                    depthLabel = contracted[0];
  if (sTerm[softmax.getNormalizedAxis()] != keyLabel)
    return fail("the softmax is not over the key axis");
  std::map<std::string, int64_t> sizes = sPlan->sizes;

  // Views and the head mix.
  Layout layout;
  for (const std::string &l : sTerm)
    layout.push_back(sizes[l] > 1 ? Atoms{l} : Atoms{});
  llvm::SetVector<Operation *> chain; // between the softmax and P·V
  for (RearrangeOp view : leadingViews) {
    std::optional<Layout> next = throughRearrange(view, layout, sizes);
    if (!next)
      return fail("a view of the probabilities splits an axis");
    layout = *next;
    chain.insert(view);
  }
  auto mPlan = getStrictPlan(mix);
  if (!mPlan)
    return fail("the head mix broadcasts or takes a diagonal");
  size_t pIndex = mix.getInputs()[0] == cur ? 0 : 1;
  const std::vector<std::string> &pTerm = mPlan->inputs[pIndex];
  const std::vector<std::string> &wTerm = mPlan->inputs[1 - pIndex];
  const std::vector<std::string> &mixOut = mPlan->output;
  std::vector<std::string> summed;
  for (const std::string &l : pTerm)
    if (!llvm::is_contained(mixOut, l))
      summed.push_back(l);
  if (summed.size() != 1 || !llvm::is_contained(wTerm, summed[0]))
    return fail("the mix does not sum over one axis of the probabilities "
                "against the matrix");
  const std::string inHead = summed[0];
  std::string outHead = wTerm[0] == inHead ? wTerm[1] : wTerm[0];
  if (outHead == inHead || llvm::is_contained(pTerm, outHead) ||
      !llvm::is_contained(mixOut, outHead) || mixOut.size() != pTerm.size())
    return fail("the mix is not probabilities × [H, H] matrix over the head "
                "axis");
  const Atoms &summedAtoms = layout[llvm::find(pTerm, inHead) - pTerm.begin()];
  // Summing over the keys against a matrix is P·V with a square value,
  // not a head mix: the P·V matcher's reason stands.
  if (summedAtoms == Atoms{keyLabel})
    return {};
  if (summedAtoms.size() != 1 || !llvm::is_contained(batch, summedAtoms[0]))
    return fail("the mix does not sum over the head axis of the scores");
  const std::string headLabel = summedAtoms[0];
  const int64_t heads = sizes[headLabel];
  if (mPlan->sizes.at(outHead) != heads)
    return fail("the mixing matrix is not square");
  Layout mixed;
  for (const std::string &l : mixOut)
    mixed.push_back(l == outHead
                        ? Atoms{headLabel}
                        : layout[llvm::find(pTerm, l) - pTerm.begin()]);
  layout = mixed;
  chain.insert(mix);
  cur = mix.getResult();
  while (cur.hasOneUse()) {
    auto view = dyn_cast<RearrangeOp>(*cur.getUsers().begin());
    if (!view)
      break;
    std::optional<Layout> next = throughRearrange(view, layout, sizes);
    if (!next)
      return fail("a view of the mixed probabilities splits an axis");
    layout = *next;
    chain.insert(view);
    cur = view.getResult();
  }
  const Value x = cur;
  const Layout xLayout = layout;

  // Everything that uses the mixed probabilities, up to the P·V einsum.
  llvm::SetVector<Operation *> reach;
  llvm::SetVector<Operation *> einsums;
  SmallVector<Value> worklist = {x};
  while (!worklist.empty() && reach.size() < 64) {
    Value v = worklist.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (isa<EinsumOp>(user)) {
        einsums.insert(user);
        continue;
      }
      if (reach.insert(user))
        llvm::append_range(worklist, user->getResults());
    }
  }
  if (einsums.size() != 1 || reach.size() >= 64)
    return fail("the mixed probabilities do not reach exactly one einsum "
                "(P·V)");
  auto output = cast<EinsumOp>(einsums.front());
  if (output.getInputs().size() != 2)
    return fail("the P·V einsum has more than two operands");
  size_t probIndex = 2;
  for (auto [i, operand] : llvm::enumerate(output.getInputs()))
    if (operand == x ||
        (operand.getDefiningOp() && reach.contains(operand.getDefiningOp())))
      probIndex = probIndex == 2 ? i : 3;
  if (probIndex > 1)
    return fail("the P·V einsum reads the mixed probabilities twice");
  // Views between the LayerNorm and P·V.
  SmallVector<RearrangeOp> trailingViews;
  Value y = output.getInputs()[probIndex];
  while (auto view = y.getDefiningOp<RearrangeOp>()) {
    if (y == x || !reach.contains(view))
      break;
    trailingViews.insert(trailingViews.begin(), view);
    y = view.getInput();
  }
  LayerNormMatch norm;
  bool hasNorm = y != x;
  if (hasNorm) {
    auto headDim = llvm::find(xLayout, Atoms{headLabel});
    if (headDim == xLayout.end())
      return fail("the head axis is merged with another axis before the "
                  "LayerNorm");
    if (std::optional<std::string> why =
            matchLayerNorm(y, x, headDim - xLayout.begin(), heads, norm))
      return fail(*why);
  }
  for (RearrangeOp view : trailingViews)
    norm.ops.insert(view);
  for (Operation *op : reach)
    if (!norm.ops.contains(op))
      return fail(llvm::formatv("'{0}' uses the mixed probabilities outside "
                                "the LayerNorm over the heads",
                                op->getName().getStringRef())
                      .str());
  for (RearrangeOp view : trailingViews) {
    std::optional<Layout> next = throughRearrange(view, layout, sizes);
    if (!next)
      return fail("a view of the normalised probabilities splits an axis");
    layout = *next;
  }
  chain.insert(norm.ops.begin(), norm.ops.end());

  // The P·V einsum in score naming.
  auto oPlan = getStrictPlan(output);
  if (!oPlan)
    return fail("the P·V einsum broadcasts or takes a diagonal");
  const std::vector<std::string> &probTerm = oPlan->inputs[probIndex];
  std::map<std::string, std::string> rename;
  Labels units;
  for (const std::string &l : sTerm)
    if (sizes[l] == 1)
      units.push_back(l);
  for (auto [d, l] : llvm::enumerate(probTerm)) {
    if (layout[d].size() > 1)
      return fail("the P·V einsum reads merged axes of the probabilities");
    if (layout[d].size() == 1) {
      rename[l] = layout[d][0];
      continue;
    }
    if (units.empty())
      return fail("the P·V einsum's probabilities have more unit axes than "
                  "the scores");
    rename[l] = units.front();
    units.erase(units.begin());
  }
  std::optional<ValueTerms> pvTerms = translateValueEinsum(
      *oPlan, probIndex, rename, sTerm, queryLabel, keyLabel,
      {sTerm, qTerm, kTerm});
  if (!pvTerms)
    return fail("the P·V einsum is not a batched P V over the key axis with "
                "one value axis");
  const std::string &valueLabel = pvTerms->valueLabel;
  const Labels &vTerm = pvTerms->vTerm, &oTerm = pvTerms->oTerm;
  if (output.getScaleValue() != 1.0)
    return fail("the P·V einsum has a scale");
  sizes[valueLabel] = pvTerms->valueSize;

  // Element types and shapes the two-pass form is built for.
  Value query = scores.getInputs()[0], key = scores.getInputs()[1];
  Value value = output.getInputs()[1 - probIndex];
  Value weights = mix.getInputs()[1 - pIndex];
  Type f32 = rewriter.getF32Type();
  SmallVector<Value> tensors = {query, key, value, weights, output.getResult()};
  if (norm.gamma)
    tensors.push_back(norm.gamma);
  if (norm.beta)
    tensors.push_back(norm.beta);
  for (Value t : tensors) {
    auto type = dyn_cast<RankedTensorType>(t.getType());
    if (!type || type.getElementType() != f32 || !type.hasStaticShape())
      return fail("the two-pass form is built for statically shaped f32 "
                  "tensors");
  }
  for (Operation *op : chain)
    if (op->getBlock() != softmax->getBlock())
      return fail("the chain spans several blocks");

  // Said in the user's own equations, before they are erased.
  char scale[32];
  std::snprintf(scale, sizeof(scale), "%g", scores.getScaleValue());
  char eps[32];
  std::snprintf(eps, sizeof(eps), "%g", norm.eps);
  description =
      llvm::formatv(
          "fused attention (two-pass re-attention): '{0}' scale {1}, softmax "
          "over key axis '{2}', heads mixed by '{3}', {4}, '{5}'",
          scores.getEquation(), scale, keyLabel, mix.getEquation(),
          hasNorm ? llvm::formatv("LayerNorm over the heads (eps {0}{1}{2})",
                                  eps, norm.gamma ? ", weight" : "",
                                  norm.beta ? ", bias" : "")
                        .str()
                  : std::string("no LayerNorm"),
          output.getEquation())
          .str();

  // Pass 1: the row log-sum-exp of the scores, from attn.attention with a
  // one-column value of ones (its output is not used).
  MLIRContext *ctx = rewriter.getContext();
  Location loc = output.getLoc();
  rewriter.setInsertionPoint(output);
  NestBuilder build{rewriter, loc, sizes, f32};
  Labels attnBatch;
  for (const std::string &l : sTerm)
    if (l != queryLabel && l != keyLabel)
      attnBatch.push_back(l);
  const std::string column = freshLabel("c", {sTerm, qTerm, kTerm, {valueLabel}});
  sizes[column] = 1;
  Labels domain = attnBatch;
  domain.append({queryLabel, depthLabel, keyLabel, column});
  Labels ones = attnBatch, unused = attnBatch, lseTerm = attnBatch;
  ones.append({keyLabel, column});
  unused.append({queryLabel, column});
  lseTerm.push_back(queryLabel);
  AttentionParts parts;
  parts.query = query;
  parts.key = key;
  parts.value = build.filled(ones, 1.0);
  parts.inits = {build.empty(unused), build.empty(lseTerm)};
  parts.maps = {getTermMap(ctx, domain, qTerm), getTermMap(ctx, domain, kTerm),
                getTermMap(ctx, domain, ones), getTermMap(ctx, domain, unused),
                getTermMap(ctx, domain, lseTerm)};
  parts.scale = scores.getScaleValue();
  auto pass1 = cast<AttentionOp>(parts.create(rewriter, loc));
  Value lse = pass1->getResult(1);

  // Pass 2 on whole tensors, tiled below: scores, exp(s - lse), the head
  // mix, the LayerNorm, P'·V.
  SmallVector<Operation *> pass2;
  auto record = [&](linalg::GenericOp op) {
    pass2.push_back(op);
    return op.getResult(0);
  };
  double sScale = scores.getScaleValue();
  Labels sDomain = sTerm;
  sDomain.push_back(depthLabel);
  Value s = record(
      build.generic(sDomain, {depthLabel}, {{query, qTerm}, {key, kTerm}},
                    build.filled(sTerm, 0.0), sTerm,
                    [](OpBuilder &b, Location l, ValueRange a) -> Value {
                      Value prod = arith::MulFOp::create(b, l, a[0], a[1]);
                      return arith::AddFOp::create(b, l, a[2], prod);
                    }));
  Value p = record(build.generic(
      sTerm, {}, {{s, sTerm}, {lse, lseTerm}}, build.empty(sTerm), sTerm,
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value c = arith::ConstantOp::create(b, l, b.getF32FloatAttr(sScale));
        Value scaled = arith::MulFOp::create(b, l, a[0], c);
        return math::ExpOp::create(b, l,
                                   arith::SubFOp::create(b, l, scaled, a[1]));
      }));
  const std::string mixLabel =
      freshLabel("h_in", {sTerm, qTerm, kTerm, {valueLabel, column}});
  sizes[mixLabel] = heads;
  Labels mixDomain = sTerm, pFrom = sTerm;
  mixDomain.push_back(mixLabel);
  *llvm::find(pFrom, headLabel) = mixLabel;
  Labels wFrom = wTerm[0] == inHead ? Labels{mixLabel, headLabel}
                                    : Labels{headLabel, mixLabel};
  double mixScale = mix.getScaleValue();
  Value m = record(build.generic(
      mixDomain, {mixLabel}, {{p, pFrom}, {weights, wFrom}},
      build.filled(sTerm, 0.0), sTerm,
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value prod = arith::MulFOp::create(b, l, a[0], a[1]);
        if (mixScale != 1.0)
          prod = arith::MulFOp::create(
              b, l, prod,
              arith::ConstantOp::create(b, l, b.getF32FloatAttr(mixScale)));
        return arith::AddFOp::create(b, l, a[2], prod);
      }));
  Value normed = m;
  if (hasNorm) {
    Labels rowTerm;
    for (const std::string &l : sTerm)
      if (l != headLabel)
        rowTerm.push_back(l);
    float invHeads = 1.0f / static_cast<float>(heads);
    auto centre = [invHeads](OpBuilder &b, Location l, Value v, Value sum) {
      Value c = arith::ConstantOp::create(b, l, b.getF32FloatAttr(invHeads));
      return arith::SubFOp::create(b, l, v,
                                   arith::MulFOp::create(b, l, sum, c));
    };
    Value sum = record(build.generic(
        sTerm, {headLabel}, {{m, sTerm}}, build.filled(rowTerm, 0.0), rowTerm,
        [](OpBuilder &b, Location l, ValueRange a) -> Value {
          return arith::AddFOp::create(b, l, a[1], a[0]);
        }));
    Value squares = record(
        build.generic(sTerm, {headLabel}, {{m, sTerm}, {sum, rowTerm}},
                      build.filled(rowTerm, 0.0), rowTerm,
                      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                        Value c = centre(b, l, a[0], a[1]);
                        return arith::AddFOp::create(
                            b, l, a[2], arith::MulFOp::create(b, l, c, c));
                      }));
    SmallVector<std::pair<Value, Labels>> inputs = {
        {m, sTerm}, {sum, rowTerm}, {squares, rowTerm}};
    if (norm.gamma)
      inputs.push_back({norm.gamma, Labels{headLabel}});
    if (norm.beta)
      inputs.push_back({norm.beta, Labels{headLabel}});
    double epsilon = norm.eps;
    bool gamma = bool(norm.gamma), beta = bool(norm.beta);
    normed = record(build.generic(
        sTerm, {}, inputs, build.empty(sTerm), sTerm,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value inv =
              arith::ConstantOp::create(b, l, b.getF32FloatAttr(invHeads));
          Value e = arith::ConstantOp::create(
              b, l, b.getF32FloatAttr(static_cast<float>(epsilon)));
          Value variance = arith::MulFOp::create(b, l, a[2], inv);
          Value rstd = math::RsqrtOp::create(
              b, l, arith::AddFOp::create(b, l, variance, e));
          Value r = arith::MulFOp::create(b, l, centre(b, l, a[0], a[1]), rstd);
          size_t next = 3;
          if (gamma)
            r = arith::MulFOp::create(b, l, r, a[next++]);
          if (beta)
            r = arith::AddFOp::create(b, l, r, a[next++]);
          return r;
        }));
  }
  Labels oDomain = sTerm;
  oDomain.push_back(valueLabel);
  linalg::GenericOp pv =
      build.generic(oDomain, {keyLabel}, {{normed, sTerm}, {value, vTerm}},
                    build.filled(oTerm, 0.0), oTerm,
                    [](OpBuilder &b, Location l, ValueRange a) -> Value {
                      Value prod = arith::MulFOp::create(b, l, a[0], a[1]);
                      return arith::AddFOp::create(b, l, a[2], prod);
                    });
  rewriter.replaceOp(output, pv.getResult(0));

  // Erase the unfused chain (users first).
  SmallVector<Operation *> dead(chain.begin(), chain.end());
  dead.push_back(softmax);
  dead.push_back(scores);
  llvm::sort(dead,
             [](Operation *a, Operation *b) { return b->isBeforeInBlock(a); });
  for (Operation *op : dead)
    rewriter.eraseOp(op);

  // Tile P'·V over the batch (all but the heads) and query blocks in an
  // scf.forall, then over key blocks in an scf.for, fusing every pass-2
  // producer into the innermost loop: one block of scores of all heads
  // lives at a time.
  SmallVector<int64_t> outer, inner;
  for (const std::string &l : oDomain) {
    int64_t size = sizes[l];
    bool batchDim =
        l != headLabel && l != queryLabel && l != keyLabel && l != valueLabel;
    outer.push_back(batchDim && size > 1 ? 1
                    : l == queryLabel    ? std::min(options.qTile, size)
                                         : 0);
    inner.push_back(l == keyLabel ? std::min(options.kvTile, size) : 0);
  }
  FailureOr<Operation *> tiled =
      tileAndFuse(rewriter, pv, outer, /*forall=*/true, {});
  if (failed(tiled))
    description += " (not tiled: pass 2 stays on whole tensors)";
  if (succeeded(tiled)) {
    Operation *blockOp = *tiled;
    Operation *nest = blockOp->getParentOp();
    pass2.push_back(pv);
    eraseDead(rewriter, pass2);
    Operation *accumulator =
        cast<linalg::GenericOp>(blockOp).getDpsInits()[0].getDefiningOp();
    if (succeeded(tileAndFuse(rewriter, blockOp, inner, /*forall=*/false,
                              {accumulator})))
      eraseDead(rewriter, nestedOps(nest));
    // Fusion recomputes a producer for each of its uses (the head mix for
    // the LayerNorm's mean, variance and normalisation): one is enough.
    simplifyNest(rewriter, nest);
  }
  return pass1;
}
