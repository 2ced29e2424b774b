//===- HeadMixNest.cpp - loop nests of head-mixed attention ---------------===//
//
// Tile-and-fuse and clean-up shared by the re-attention and talking-heads
// nests of attn-fuse-attention (HeadMixNest.h).
//
//===----------------------------------------------------------------------===//

#include "HeadMixNest.h"

#include "attn/Dialect/Attn/IR/AttnAttrs.h"

#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;
using namespace mlir::attn;

std::string mlir::attn::freshLabel(std::string name, ArrayRef<Labels> taken) {
  while (llvm::any_of(taken, [&](const Labels &labels) {
    return llvm::is_contained(labels, name);
  }))
    name += "_";
  return name;
}

FailureOr<Operation *> mlir::attn::tileAndFuse(RewriterBase &rewriter,
                                               Operation *consumer,
                                               ArrayRef<int64_t> sizes,
                                               bool forall,
                                               ArrayRef<Operation *> keepOutside) {
  scf::SCFTilingOptions tiling;
  tiling.setLoopType(forall ? scf::SCFTilingOptions::LoopType::ForallOp
                            : scf::SCFTilingOptions::LoopType::ForOp);
  tiling.setTileSizes(getAsIndexOpFoldResult(rewriter.getContext(), sizes));
  scf::SCFTileAndFuseOptions options;
  options.setTilingOptions(tiling);
  options.setFusionControlFn(
      [keepOutside](tensor::ExtractSliceOp, OpResult producer, bool)
          -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
        if (isa<AttentionOp>(producer.getOwner()) ||
            llvm::is_contained(keepOutside, producer.getOwner()))
          return std::nullopt;
        return scf::SCFTileAndFuseOptions::ControlFnResult{};
      });
  rewriter.setInsertionPoint(consumer);
  FailureOr<scf::SCFTileAndFuseResult> result =
      scf::tileConsumerAndFuseProducersUsingSCF(
          rewriter, cast<TilingInterface>(consumer), options);
  if (failed(result))
    return failure();
  Value replacement = result->replacements.lookup(consumer->getResult(0));
  if (!replacement)
    return failure();
  rewriter.replaceAllUsesWith(consumer->getResult(0), replacement);
  if (forall && !result->loops.empty())
    if (auto loop =
            dyn_cast<scf::ForallOp>(result->loops.front().getOperation()))
      loop.setMappingAttr(
          getFlashNestMapping(rewriter.getContext(), loop.getRank()));
  return result->tiledAndFusedOps.front();
}

void mlir::attn::eraseDead(RewriterBase &rewriter, ArrayRef<Operation *> ops) {
  SmallVector<Operation *> worklist(ops.begin(), ops.end());
  llvm::SmallPtrSet<Operation *, 32> queued(ops.begin(), ops.end());
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    queued.erase(op);
    if (!isOpTriviallyDead(op))
      continue;
    SmallVector<Operation *> producers;
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp())
        producers.push_back(def);
    rewriter.eraseOp(op);
    for (Operation *def : producers)
      if (queued.insert(def).second)
        worklist.push_back(def);
  }
}

SmallVector<Operation *> mlir::attn::nestedOps(Operation *root) {
  SmallVector<Operation *> ops;
  root->walk([&](Operation *op) {
    if (op != root)
      ops.push_back(op);
  });
  return ops;
}
void mlir::attn::simplifyNest(RewriterBase &rewriter, Operation *nest) {
  DominanceInfo dominance;
  eliminateCommonSubExpressions(rewriter, dominance, nest);
  // The fused producers write slices of whole-size tensor.empty
  // destinations: slicing the empty instead keeps bufferization from
  // allocating the [.., H, N, N] tensors the nest exists to avoid.
  RewritePatternSet patterns(rewriter.getContext());
  tensor::populateFoldTensorEmptyPatterns(patterns);
  // A partial block's sizes are read with tensor.dim of the outer block's
  // (now dead) producers; read them from their destinations instead.
  memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
  (void)applyPatternsGreedily(nest, std::move(patterns));
}

std::optional<ValueTerms> mlir::attn::translateValueEinsum(
    const ::attn::EinsumPlan &plan, unsigned probIndex,
    const std::map<std::string, std::string> &rename,
    ArrayRef<std::string> sTerm, StringRef queryLabel, StringRef keyLabel,
    ArrayRef<Labels> taken) {
  ValueTerms terms;
  terms.valueLabel = freshLabel("e", taken);
  auto translate = [&](const std::vector<std::string> &term) {
    Labels result;
    for (const std::string &l : term) {
      auto it = rename.find(l);
      result.push_back(it != rename.end() ? it->second : terms.valueLabel);
    }
    return result;
  };
  terms.vTerm = translate(plan.inputs[1 - probIndex]);
  terms.oTerm = translate(plan.output);
  int64_t valueAxes = 0;
  for (const std::vector<std::string> &term :
       {plan.inputs[1 - probIndex], plan.output})
    for (const std::string &l : term)
      if (!rename.count(l)) {
        ++valueAxes;
        terms.valueSize = plan.sizes.at(l);
      }
  const Labels probs = translate(plan.inputs[probIndex]);
  Labels want;
  for (const std::string &l : sTerm)
    if (l != keyLabel && llvm::is_contained(probs, l))
      want.push_back(l);
  want.push_back(terms.valueLabel);
  Labels got = terms.oTerm;
  llvm::sort(got);
  llvm::sort(want);
  if (valueAxes != 2 || llvm::count(terms.vTerm, terms.valueLabel) != 1 ||
      !llvm::is_contained(terms.vTerm, keyLabel) ||
      llvm::is_contained(terms.vTerm, queryLabel) || got != want)
    return std::nullopt;
  return terms;
}
