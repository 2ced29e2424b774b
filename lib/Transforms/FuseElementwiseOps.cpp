//===- FuseElementwiseOps.cpp - elementwise fusion that keeps results -----===//
//
// Implements attn-fuse-elementwise-ops: upstream's linalg elementwise fusion
// and reshape folding, with a control function that refuses the fusions
// upstream gets wrong (a producer reading its own outs, fused into a
// consumer that visits its elements more than once) and those that would
// recompute a computing producer inside a contraction or, through a
// broadcast, at the broadcast's size. Named broadcasts and reductions outside
// the flash nest are generalised first, so that they take part.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SmallBitVector.h"

namespace mlir::attn {
#define GEN_PASS_DEF_FUSEELEMENTWISEOPSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

/// True if fusing the producer of `fusedOperand` into its consumer computes
/// what the two ops compute apart. The fused op keeps every producer init
/// whose value the producer's body reads as an output of its own and
/// updates it once per iteration of the fused loops; that is the producer's
/// result only when each producer element is visited once, i.e. when the
/// consumer indexes the fused operand with a permutation of its loops.
static bool fusionKeepsResult(OpOperand *fusedOperand) {
  auto producer = fusedOperand->get().getDefiningOp<linalg::GenericOp>();
  auto consumer = dyn_cast<linalg::GenericOp>(fusedOperand->getOwner());
  if (!producer || !consumer)
    return true; // not an elementwise fusion; other patterns decide
  bool readsInit = llvm::any_of(
      producer.getDpsInitsMutable(), [&](OpOperand &init) {
        return producer.payloadUsesValueFromOperand(&init);
      });
  if (!readsInit)
    return true;
  return consumer.getMatchingIndexingMap(fusedOperand).isPermutation();
}

/// True when `producer`'s body only moves or converts its inputs (a
/// broadcast, a transpose, one dtype cast): fused into a contraction, it adds
/// no arithmetic per multiply-add, and the consumer stays a contraction.
static bool onlyMovesData(linalg::LinalgOp producer) {
  auto ops = producer.getBlock()->without_terminator();
  if (std::distance(ops.begin(), ops.end()) > 1)
    return false;
  return llvm::all_of(ops, [](Operation &op) {
    return isa<arith::ExtFOp, arith::TruncFOp, arith::SIToFPOp,
               arith::UIToFPOp>(op);
  });
}

/// Whether `consumer` visits each element of `operand` more than once while
/// reducing: it has a reduction, and the operand's indexing map leaves out
/// some loop (a matmul's lhs is indexed by (m, k) and re-read for every n).
static bool rereadsOperand(linalg::LinalgOp consumer, OpOperand *operand) {
  if (consumer.getNumReductionLoops() == 0)
    return false;
  AffineMap map = consumer.getMatchingIndexingMap(operand);
  llvm::SmallBitVector used(consumer.getNumLoops());
  for (AffineExpr result : map.getResults())
    result.walk([&](AffineExpr e) {
      if (auto dim = dyn_cast<AffineDimExpr>(e))
        used.set(dim.getPosition());
    });
  return !used.all();
}

/// True unless fusing would put a computing producer (`x + c`, a GELU, a
/// `cat`) into a contraction's inner loop: recomputed once per output
/// column, and the fused op no longer a contraction, so no micro-kernel
/// (one addf feeding "b n i, i o -> b n o": 2.7 vs 120 GFLOP/s).
/// Materialising the producer costs one pass over its result, O(M·K)
/// against the contraction's O(M·N·K).
static bool keepsContraction(OpOperand *fusedOperand) {
  auto consumer = dyn_cast<linalg::LinalgOp>(fusedOperand->getOwner());
  auto producer = fusedOperand->get().getDefiningOp<linalg::LinalgOp>();
  if (!consumer || !producer || !rereadsOperand(consumer, fusedOperand))
    return true;
  return onlyMovesData(producer);
}

/// True unless fusing would turn a broadcast that feeds a contraction into
/// an op that computes: fused into the broadcast, `x + c` would be
/// recomputed at the broadcast's size and materialised there, since a
/// computing producer does not fuse into the contraction (keepsContraction).
/// Refused here, the broadcast fuses into the contraction as an indexing map
/// and the contraction reads the sum in place, computed once at its own
/// size. Broadcasts feeding elementwise ops are unaffected (the producer
/// fuses into that consumer once the broadcast has).
static bool keepsDataMovement(OpOperand *fusedOperand) {
  auto consumer = dyn_cast<linalg::GenericOp>(fusedOperand->getOwner());
  auto producer = fusedOperand->get().getDefiningOp<linalg::GenericOp>();
  if (!consumer || !producer || !onlyMovesData(consumer) ||
      onlyMovesData(producer) ||
      consumer.getMatchingIndexingMap(fusedOperand).isPermutation() ||
      !consumer->hasOneUse())
    return true;
  OpOperand &use = *consumer->getUses().begin();
  auto user = dyn_cast<linalg::LinalgOp>(use.getOwner());
  return !(user && user.isDpsInput(&use) && rereadsOperand(user, &use));
}

/// Upstream's fusion only fuses linalg.generic ops. A named broadcast (a bias,
/// LayerNorm's mean, rstd, weight and bias) or reduction (LayerNorm's
/// statistics) would otherwise stay an op of its own: the broadcast
/// materialised at the consumer's full size, the reduction unable to absorb
/// the elementwise op that feeds it (`(x - mean)^2`). Generalised, a broadcast
/// becomes an indexing map of its consumer and the producer of a reduction's
/// input fuses into it (ViT-Tiny: a LayerNorm went from 10 loops over the
/// activations to 4). Ops in the flash nest keep their named form, which
/// attn-vectorize-flash-steps reads; transposes stay named for
/// attn-vectorize-transposes.
static void generalizeBroadcastsAndReductions(Operation *root) {
  SmallVector<linalg::LinalgOp> named;
  root->walk([&](linalg::LinalgOp op) {
    if (isa<linalg::BroadcastOp, linalg::ReduceOp>(op.getOperation()) &&
        op.hasPureTensorSemantics() && !attn::getFlashNest(op))
      named.push_back(op);
  });
  IRRewriter rewriter(root->getContext());
  for (linalg::LinalgOp op : named) {
    rewriter.setInsertionPoint(op);
    (void)linalg::generalizeNamedOp(rewriter, op);
  }
}

namespace {
struct FuseElementwiseOpsPass
    : public attn::impl::FuseElementwiseOpsPassBase<FuseElementwiseOpsPass> {
  void runOnOperation() override {
    Operation *op = getOperation();
    MLIRContext *context = op->getContext();
    generalizeBroadcastsAndReductions(op);
    // Like upstream's pass: fuse a producer into its only user, so no work
    // is duplicated.
    linalg::ControlFusionFn singleUse = [](OpOperand *fusedOperand) {
      Operation *producer = fusedOperand->get().getDefiningOp();
      return producer && producer->hasOneUse();
    };
    linalg::ControlFusionFn safeFusion = [=](OpOperand *fusedOperand) {
      return singleUse(fusedOperand) && fusionKeepsResult(fusedOperand) &&
             keepsContraction(fusedOperand) && keepsDataMovement(fusedOperand);
    };

    RewritePatternSet patterns(context);
    linalg::populateElementwiseOpsFusionPatterns(patterns, safeFusion);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, singleUse);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, context);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, context);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, context);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, context);
    context->getLoadedDialect<linalg::LinalgDialect>()
        ->getCanonicalizationPatterns(patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, singleUse);
    (void)applyPatternsGreedily(op, std::move(patterns),
                                GreedyRewriteConfig().setUseTopDownTraversal());
  }
};
} // namespace
