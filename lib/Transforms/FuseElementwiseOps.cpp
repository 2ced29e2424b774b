//===- FuseElementwiseOps.cpp - elementwise fusion that keeps results -----===//
//
// Implements attn-fuse-elementwise-ops: upstream's linalg elementwise fusion
// and reshape folding, with a control function that refuses the fusions
// upstream gets wrong (a producer reading its own outs, fused into a
// consumer that visits its elements more than once).
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

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

namespace {
struct FuseElementwiseOpsPass
    : public attn::impl::FuseElementwiseOpsPassBase<FuseElementwiseOpsPass> {
  void runOnOperation() override {
    Operation *op = getOperation();
    MLIRContext *context = op->getContext();
    // Like upstream's pass: fuse a producer into its only user, so no work
    // is duplicated.
    linalg::ControlFusionFn singleUse = [](OpOperand *fusedOperand) {
      Operation *producer = fusedOperand->get().getDefiningOp();
      return producer && producer->hasOneUse();
    };
    linalg::ControlFusionFn safeFusion = [=](OpOperand *fusedOperand) {
      return singleUse(fusedOperand) && fusionKeepsResult(fusedOperand);
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
