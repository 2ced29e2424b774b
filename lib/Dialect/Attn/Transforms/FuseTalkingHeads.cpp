//===- FuseTalkingHeads.cpp - row-block form of talking-heads attention ---===//
//
// CaiT's talking heads mix the scores across heads with a learnt [H, H]
// matrix before the softmax and the probabilities with another after it.
// Every mixed head's softmax needs every head's scores, and every mixed
// probability every head's final softmax denominator, so there is no
// single-pass online form, and the two-pass form of re-attention would
// need the log-sum-exp of mixed scores that no attn.attention computes.
// This file rewrites the chain into a nest that never materialises the
// [.., H, N, N] scores either: an scf.forall over (batch, query block)
// computes, for one block of queries and all heads, the scores against
// every key, the first mix, an exact softmax over the whole key row, the
// second mix and P·V. A block holds H x q-tile x N scores, so the working
// set grows with the key count but not with its square.
//
//===----------------------------------------------------------------------===//

#include "TalkingHeads.h"

#include "HeadMixNest.h"
#include "MatchUtils.h"

#include "attn/Support/Einsum.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/Support/FormatVariadic.h"

#include <cstdio>
#include <limits>
#include <map>

using namespace mlir;
using namespace mlir::attn;

namespace {

/// `add` = addf(x, linalg.broadcast(source)): a bias added to the scores or
/// probabilities, in their layout.
struct Bias {
  arith::AddFOp add;
  linalg::BroadcastOp broadcast;
};

/// A mix across heads: `op` sums the head axis of its `input` operand
/// against a square matrix and writes the mixed head in its place.
struct HeadMix {
  EinsumOp op;
  unsigned inputIndex = 0;
  Value matrix;
  /// Whether the matrix is [input head, output head] (else transposed).
  bool rowsIn = true;
};

} // namespace

/// `v` = addf of something and a broadcast: peels the bias off.
static Value peelBias(Value v, std::optional<Bias> &bias) {
  auto add = v.getDefiningOp<arith::AddFOp>();
  if (!add)
    return v;
  for (auto [x, b] : {std::pair(add.getLhs(), add.getRhs()),
                      std::pair(add.getRhs(), add.getLhs())})
    if (auto broadcast = b.getDefiningOp<linalg::BroadcastOp>()) {
      bias = Bias{add, broadcast};
      return x;
    }
  return v;
}

/// Whether `op` is a two-operand einsum of a square matrix and a tensor
/// whose one summed axis is the matrix's; sets `mix` when it is.
static bool isHeadMix(EinsumOp op, HeadMix &mix) {
  if (!op || op.getInputs().size() != 2)
    return false;
  std::optional<::attn::EinsumPlan> plan = getStrictPlan(op);
  if (!plan)
    return false;
  for (unsigned x = 0; x < 2; ++x) {
    auto matrix = dyn_cast<RankedTensorType>(op.getInputs()[1 - x].getType());
    if (!matrix || matrix.getRank() != 2 ||
        matrix.getDimSize(0) != matrix.getDimSize(1))
      continue;
    const std::vector<std::string> &xTerm = plan->inputs[x];
    const std::vector<std::string> &wTerm = plan->inputs[1 - x];
    SmallVector<std::string> summed;
    for (const std::string &l : xTerm)
      if (!llvm::is_contained(plan->output, l))
        summed.push_back(l);
    if (summed.size() != 1 || !llvm::is_contained(wTerm, summed[0]) ||
        wTerm[0] == wTerm[1])
      continue;
    mix = HeadMix{op, x, op.getInputs()[1 - x], wTerm[0] == summed[0]};
    return true;
  }
  return false;
}

/// Whether `mix` keeps its input's layout: the input's axes are the score
/// term's, position by position, and the output is the input with the axis
/// at `hd` (the summed one) replaced by the matrix's other axis.
static bool keepsLayout(const HeadMix &mix, size_t rank, int64_t hd) {
  std::optional<::attn::EinsumPlan> plan = getStrictPlan(mix.op);
  const std::vector<std::string> &in = plan->inputs[mix.inputIndex];
  const std::vector<std::string> &w = plan->inputs[1 - mix.inputIndex];
  const std::vector<std::string> &out = plan->output;
  if (in.size() != rank || out.size() != rank)
    return false;
  const std::string &outHead = mix.rowsIn ? w[1] : w[0];
  for (size_t d = 0; d < rank; ++d)
    if (out[d] != (static_cast<int64_t>(d) == hd ? outHead : in[d]) ||
        (static_cast<int64_t>(d) == hd) != (in[d] == (mix.rowsIn ? w[0] : w[1])))
      return false;
  return true;
}

/// The labels of a bias's source, in the score term's naming (the scores,
/// the mixed scores and probabilities share its layout).
static std::optional<Labels> biasTerm(Bias bias,
                                      ArrayRef<std::string> sTerm) {
  auto source = dyn_cast<RankedTensorType>(bias.broadcast.getInput().getType());
  ArrayRef<int64_t> dims = bias.broadcast.getDimensions();
  Labels term;
  for (auto [d, l] : llvm::enumerate(sTerm))
    if (!llvm::is_contained(dims, static_cast<int64_t>(d)))
      term.push_back(l);
  if (!source || source.getRank() != static_cast<int64_t>(term.size()))
    return std::nullopt;
  return term;
}

Operation *mlir::attn::fuseTalkingHeads(RewriterBase &rewriter,
                                        SoftmaxOp softmax,
                                        const TalkingHeadsOptions &options,
                                        std::string &description,
                                        std::string &reason) {
  reason.clear();
  // Does the softmax read (optionally plus a bias) a head mix of a score
  // einsum, the head being a batch axis of both its operands? If not, this
  // is not talking heads at all.
  std::optional<Bias> preBias, postBias;
  Value mixedScores = peelBias(softmax.getInput(), preBias);
  HeadMix pre, post;
  if (!isHeadMix(mixedScores.getDefiningOp<EinsumOp>(), pre))
    return nullptr;
  auto scores = pre.op.getInputs()[pre.inputIndex].getDefiningOp<EinsumOp>();
  std::optional<::attn::EinsumPlan> sPlan =
      scores && scores.getInputs().size() == 2 ? getStrictPlan(scores)
                                               : std::nullopt;
  if (!sPlan)
    return nullptr;
  const Labels qTerm(sPlan->inputs[0].begin(), sPlan->inputs[0].end());
  const Labels kTerm(sPlan->inputs[1].begin(), sPlan->inputs[1].end());
  const Labels sTerm(sPlan->output.begin(), sPlan->output.end());
  const ::attn::EinsumPlan prePlan = *getStrictPlan(pre.op);
  const std::vector<std::string> &pTerm = prePlan.inputs[pre.inputIndex];
  ScoreLabels roles = classifyScoreLabels(qTerm, kTerm, sTerm);
  const int64_t heads =
      cast<RankedTensorType>(pre.matrix.getType()).getDimSize(0);
  int64_t hd = -1;
  for (auto [d, l] : llvm::enumerate(pTerm))
    if (!llvm::is_contained(prePlan.output, l))
      hd = d;
  if (pTerm.size() != sTerm.size() || hd < 0 ||
      !llvm::is_contained(roles.batch, sTerm[hd]) ||
      sPlan->sizes.at(sTerm[hd]) != heads)
    return nullptr;
  auto fail = [&](const Twine &why) -> Operation * {
    reason = ("talking heads (the scores mixed across heads by '" +
              pre.op.getEquation() + "' before the softmax): " + why)
                 .str();
    return nullptr;
  };

  // The scores: a batched Q Kᵀ straight into the first mix.
  if (roles.qRows.size() != 1 || roles.kRows.size() != 1 ||
      roles.contracted.size() != 1 ||
      roles.batch.size() + 2 != sTerm.size() ||
      qTerm.size() != roles.batch.size() + 2 ||
      kTerm.size() != roles.batch.size() + 2)
    return fail("the score einsum is not a batched Q Kᵀ with the same batch "
                "axes for queries and keys");
  const std::string headLabel = sTerm[hd], queryLabel = roles.qRows[0],
                    keyLabel = roles.kRows[0],
                    depthLabel = roles.contracted[0];
  if (!keepsLayout(pre, sTerm.size(), hd))
    return fail("the mix does not write the mixed head in place of the "
                "summed one");
  if (!scores.getResult().hasOneUse() || !mixedScores.hasOneUse() ||
      !softmax.getInput().hasOneUse())
    return fail("the scores or the mixed scores are used elsewhere");
  if (sTerm[softmax.getNormalizedAxis()] != keyLabel)
    return fail("the softmax is not over the key axis");

  // The second mix, its bias and P·V.
  Value probs = softmax.getResult();
  auto postOp = probs.hasOneUse()
                    ? dyn_cast<EinsumOp>(*probs.getUsers().begin())
                    : EinsumOp();
  if (!isHeadMix(postOp, post) || postOp.getInputs()[post.inputIndex] != probs)
    return fail("the probabilities are not mixed across heads by a square "
                "matrix before P·V (the row-block form takes no views "
                "between the softmax and the mix)");
  if (cast<RankedTensorType>(post.matrix.getType()).getDimSize(0) != heads ||
      !keepsLayout(post, sTerm.size(), hd))
    return fail(llvm::formatv("the probabilities' mix '{0}' does not mix the "
                              "same head axis in place",
                              postOp.getEquation())
                    .str());
  Value mixedProbs = postOp.getResult();
  if (!mixedProbs.hasOneUse())
    return fail("the mixed probabilities are used elsewhere");
  Operation *user = *mixedProbs.getUsers().begin();
  if (auto add = dyn_cast<arith::AddFOp>(user)) {
    Value other = add.getLhs() == mixedProbs ? add.getRhs() : add.getLhs();
    auto broadcast = other.getDefiningOp<linalg::BroadcastOp>();
    if (!broadcast || !add.getResult().hasOneUse())
      return fail("the mixed probabilities are added to something other "
                  "than a broadcast bias, or the sum is used elsewhere");
    postBias = Bias{add, broadcast};
    mixedProbs = add.getResult();
    user = *mixedProbs.getUsers().begin();
  }
  auto output = dyn_cast<EinsumOp>(user);
  std::optional<::attn::EinsumPlan> oPlan =
      output && output.getInputs().size() == 2 ? getStrictPlan(output)
                                               : std::nullopt;
  if (!oPlan)
    return fail("the mixed probabilities are not read by a two-operand "
                "einsum (P·V)");
  if (output.getInputs()[0] == output.getInputs()[1])
    return fail("the P·V einsum reads the mixed probabilities twice");
  const unsigned probIndex = output.getInputs()[0] == mixedProbs ? 0 : 1;
  const std::vector<std::string> &probTerm = oPlan->inputs[probIndex];
  std::map<std::string, int64_t> sizes = sPlan->sizes;
  if (probTerm.size() != sTerm.size())
    return fail("the P·V einsum views the mixed probabilities");
  std::map<std::string, std::string> rename;
  for (auto [d, l] : llvm::enumerate(probTerm))
    rename[l] = sTerm[d];
  std::optional<ValueTerms> pvTerms = translateValueEinsum(
      *oPlan, probIndex, rename, sTerm, queryLabel, keyLabel,
      {sTerm, qTerm, kTerm});
  if (!pvTerms)
    return fail("the P·V einsum is not a batched P V over the key axis with "
                "one value axis");
  const std::string &valueLabel = pvTerms->valueLabel;
  const Labels &vTerm = pvTerms->vTerm, &oTerm = pvTerms->oTerm;
  sizes[valueLabel] = pvTerms->valueSize;
  if (output.getScaleValue() != 1.0)
    return fail("the P·V einsum has a scale");
  std::optional<Labels> preBiasTerm, postBiasTerm;
  if (preBias && !(preBiasTerm = biasTerm(*preBias, sTerm)))
    return fail("the bias of the mixed scores is not a broadcast in their "
                "layout");
  if (postBias && !(postBiasTerm = biasTerm(*postBias, sTerm)))
    return fail("the bias of the mixed probabilities is not a broadcast in "
                "their layout");

  // Element types and shapes the nest is built for.
  Value query = scores.getInputs()[0], key = scores.getInputs()[1];
  Value value = output.getInputs()[1 - probIndex];
  Type f32 = rewriter.getF32Type();
  SmallVector<Value> tensors = {query,       key,         value,
                                pre.matrix,  post.matrix, output.getResult(),
                                softmax.getResult()};
  for (std::optional<Bias> bias : {preBias, postBias})
    if (bias)
      tensors.push_back(bias->broadcast.getInput());
  for (Value t : tensors) {
    auto type = dyn_cast<RankedTensorType>(t.getType());
    if (!type || type.getElementType() != f32 || !type.hasStaticShape())
      return fail("the row-block form is built for statically shaped f32 "
                  "tensors");
  }
  SmallVector<Operation *> chain = {scores, pre.op, softmax, post.op, output};
  for (std::optional<Bias> bias : {preBias, postBias})
    if (bias)
      chain.push_back(bias->add);
  for (Operation *op : chain)
    if (op->getBlock() != softmax->getBlock())
      return fail("the chain spans several blocks");

  // Said in the user's own equations, before they are erased.
  char scale[32];
  std::snprintf(scale, sizeof(scale), "%g", scores.getScaleValue());
  std::string biases;
  if (preBias || postBias)
    biases = preBias && postBias ? ", both mixes with a bias"
             : preBias           ? ", the first mix with a bias"
                                 : ", the second mix with a bias";
  description =
      llvm::formatv("fused attention (talking heads, row blocks): '{0}' "
                    "scale {1}, heads mixed by '{2}' before and '{3}' after "
                    "the softmax over key axis '{4}'{5}, '{6}'",
                    scores.getEquation(), scale, pre.op.getEquation(),
                    postOp.getEquation(), keyLabel, biases,
                    output.getEquation())
          .str();

  // The chain on whole tensors, tiled below.
  Location loc = output.getLoc();
  rewriter.setInsertionPoint(output);
  NestBuilder build{rewriter, loc, sizes, f32};
  SmallVector<Operation *> built;
  auto record = [&](linalg::GenericOp op) {
    built.push_back(op);
    return op.getResult(0);
  };
  auto multiplyAdd = [](OpBuilder &b, Location l, ValueRange a) -> Value {
    return arith::AddFOp::create(b, l, a[2],
                                 arith::MulFOp::create(b, l, a[0], a[1]));
  };
  auto addBias = [&](Value x, std::optional<Bias> bias,
                     const std::optional<Labels> &term) {
    if (!bias)
      return x;
    return record(build.generic(
        sTerm, {}, {{x, sTerm}, {bias->broadcast.getInput(), *term}},
        build.empty(sTerm), sTerm,
        [](OpBuilder &b, Location l, ValueRange a) -> Value {
          return arith::AddFOp::create(b, l, a[0], a[1]);
        }));
  };
  // Scaled matrices are computed once, outside the nest.
  SmallVector<Operation *> scaledMatrices;
  // One mix: Σ_h x[.., h, ..] W'[h, g], W' = W · factor (the score scale
  // folded into the first mix's). A pure contraction, so that it runs on
  // the matrix-product micro-kernel like the score and P·V products.
  auto mixHeads = [&](Value x, const HeadMix &mix, double factor,
                      StringRef name) {
    std::string in = freshLabel(name.str(), {sTerm, qTerm, kTerm,
                                             {valueLabel}});
    sizes[in] = heads;
    Labels wFrom = mix.rowsIn ? Labels{in, headLabel} : Labels{headLabel, in};
    Value matrix = mix.matrix;
    if (factor != 1.0) {
      linalg::GenericOp scaled = build.generic(
          wFrom, {}, {{matrix, wFrom}}, build.empty(wFrom), wFrom,
          [factor](OpBuilder &b, Location l, ValueRange a) -> Value {
            return arith::MulFOp::create(
                b, l, a[0],
                arith::ConstantOp::create(b, l, b.getF32FloatAttr(factor)));
          });
      scaledMatrices.push_back(scaled);
      matrix = scaled.getResult(0);
    }
    Labels domain = sTerm, from = sTerm;
    domain.push_back(in);
    from[hd] = in;
    return record(build.generic(domain, {in}, {{x, from}, {matrix, wFrom}},
                                build.filled(sTerm, 0.0), sTerm, multiplyAdd));
  };
  Labels sDomain = sTerm;
  sDomain.push_back(depthLabel);
  Value s = record(build.generic(sDomain, {depthLabel},
                                 {{query, qTerm}, {key, kTerm}},
                                 build.filled(sTerm, 0.0), sTerm, multiplyAdd));
  Value m = mixHeads(s, pre, scores.getScaleValue() * pre.op.getScaleValue(),
                     "h_in");
  m = addBias(m, preBias, preBiasTerm);
  // The exact softmax over the whole key row: exp(m - max) times 1 / Σ exp.
  Labels rowTerm;
  for (const std::string &l : sTerm)
    if (l != keyLabel)
      rowTerm.push_back(l);
  Value rowMax = record(build.generic(
      sTerm, {keyLabel}, {{m, sTerm}},
      build.filled(rowTerm, -std::numeric_limits<double>::infinity()), rowTerm,
      [](OpBuilder &b, Location l, ValueRange a) -> Value {
        return arith::MaximumFOp::create(b, l, a[1], a[0]);
      }));
  Value e = record(build.generic(
      sTerm, {}, {{m, sTerm}, {rowMax, rowTerm}}, build.empty(sTerm), sTerm,
      [](OpBuilder &b, Location l, ValueRange a) -> Value {
        return math::ExpOp::create(b, l,
                                   arith::SubFOp::create(b, l, a[0], a[1]));
      }));
  Value rowSum = record(build.generic(
      sTerm, {keyLabel}, {{e, sTerm}}, build.filled(rowTerm, 0.0), rowTerm,
      [](OpBuilder &b, Location l, ValueRange a) -> Value {
        return arith::AddFOp::create(b, l, a[1], a[0]);
      }));
  Value rowScale = record(build.generic(
      rowTerm, {}, {{rowSum, rowTerm}}, build.empty(rowTerm), rowTerm,
      [](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value one = arith::ConstantOp::create(b, l, b.getF32FloatAttr(1.0f));
        return arith::DivFOp::create(b, l, one, a[0]);
      }));
  Value p = record(build.generic(
      sTerm, {}, {{e, sTerm}, {rowScale, rowTerm}}, build.empty(sTerm), sTerm,
      [](OpBuilder &b, Location l, ValueRange a) -> Value {
        return arith::MulFOp::create(b, l, a[0], a[1]);
      }));
  Value a = mixHeads(p, post, post.op.getScaleValue(), "g_in");
  a = addBias(a, postBias, postBiasTerm);
  Labels oDomain = sTerm;
  oDomain.push_back(valueLabel);
  linalg::GenericOp pv =
      build.generic(oDomain, {keyLabel}, {{a, sTerm}, {value, vTerm}},
                    build.filled(oTerm, 0.0), oTerm, multiplyAdd);
  rewriter.replaceOp(output, pv.getResult(0));

  // Erase the unfused chain (users first), then the biases' broadcasts.
  SmallVector<Operation *> dead;
  if (postBias)
    dead.push_back(postBias->add);
  dead.append({post.op, softmax});
  if (preBias)
    dead.push_back(preBias->add);
  dead.append({pre.op, scores});
  SmallVector<Operation *> broadcasts;
  for (std::optional<Bias> bias : {preBias, postBias})
    if (bias)
      broadcasts.push_back(bias->broadcast);
  for (Operation *op : dead)
    rewriter.eraseOp(op);
  eraseDead(rewriter, broadcasts);

  // Tile P·V over the batch (all but the heads) and query blocks, fusing
  // every producer into the block: one block of queries' scores of all
  // heads against all keys lives at a time.
  SmallVector<int64_t> tiles;
  for (const std::string &l : oDomain) {
    int64_t size = sizes[l];
    bool batchDim =
        l != headLabel && l != queryLabel && l != keyLabel && l != valueLabel;
    tiles.push_back(batchDim && size > 1 ? 1
                    : l == queryLabel    ? std::min(options.qTile, size)
                                         : 0);
  }
  FailureOr<Operation *> tiled =
      tileAndFuse(rewriter, pv, tiles, /*forall=*/true, scaledMatrices);
  if (failed(tiled)) {
    description += " (not tiled: the chain stays on whole tensors)";
    return pv;
  }
  Operation *nest = (*tiled)->getParentOp();
  // Fusion leaves the slices of producers it fused for another use; once
  // they are gone, the whole-tensor chain is dead.
  eraseDead(rewriter, nestedOps(nest));
  built.push_back(pv);
  eraseDead(rewriter, built);
  simplifyNest(rewriter, nest);
  return nest;
}
