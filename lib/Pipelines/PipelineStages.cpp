//===- PipelineStages.cpp - stages shared by the CPU and GPU pipelines ----===//
//
// Implements the pipeline stages declared in PipelineStages.h.
//
//===----------------------------------------------------------------------===//

#include "PipelineStages.h"

#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::attn::addTensorStages(
    OpPassManager &pm, const ConvertAttnToLinalgPassOptions &toLinalg,
    llvm::function_ref<void(OpPassManager &)> beforeLowering,
    bool fuseElementwise, bool reattention) {
  // Canonical form first (transposes in einsum equations, scalar factors in
  // einsum scales), so that attention chains in any layout are recognised as
  // attn.attention (which reads every layout through its maps).
  pm.addPass(createCanonicalizerPass());
  // In-place updates of part of the scores become elementwise terms that
  // fusion can follow.
  pm.addPass(createFoldSliceUpdatesPass());
  FuseAttentionPassOptions fuse;
  fuse.reattention = reattention;
  fuse.talkingHeads = reattention;
  pm.addPass(createFuseAttentionPass(fuse));
  pm.addPass(createCanonicalizerPass());
  // Target-specific rewrites of attn ops (the GPU's tensor-core kernels)
  // come first; what they leave is lowered below.
  if (beforeLowering)
    beforeLowering(pm);
  // Repeated key/value heads (GQA/MQA) are read in place through the maps;
  // canonicalisation then erases the broadcasts. After the GPU kernels,
  // which read only default-layout operands and so keep taking repeated
  // heads as they are.
  pm.addPass(createFoldAttentionBroadcastsPass());
  pm.addPass(createCanonicalizerPass());
  // attn.attention -> the flash nest on tensors: the operand layouts the
  // target reads fastest (the CPU's), query blocks x key blocks of
  // attn.online_attention steps with O(Sq + Sk) memory, each step then
  // decomposed into linalg.
  if (toLinalg.flash) {
    if (toLinalg.transposeKeys) {
      WidenAttentionOperandsPassOptions widen;
      widen.keepBf16 = toLinalg.keepBf16;
      pm.addPass(createWidenAttentionOperandsPass(widen));
      pm.addPass(createTransposeAttentionKeysPass());
    }
    if (toLinalg.additiveMasks)
      pm.addPass(createMakeAttentionMasksAdditivePass());
    TileAttentionPassOptions tiles;
    tiles.qTile = toLinalg.qTile;
    tiles.kvTile = toLinalg.kvTile;
    pm.addPass(createTileAttentionPass(tiles));
  }
  pm.addPass(createDecomposeAttentionPass());
  // The rest of attn -> linalg on tensors, cleaned up and fused while still
  // in SSA form, where producer/consumer fusion is a local rewrite.
  pm.addPass(createConvertAttnToLinalgPass());
  // Model graphs also carry arith/math ops on whole tensors (bias adds,
  // GELU, residuals); bufferization only understands them as linalg ops.
  pm.addPass(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Upstream's elementwise fusion with guards against the fusions it gets
  // wrong or makes slow (see attn-fuse-elementwise-ops); fuse-elementwise=0
  // turns it off, the baseline bench/ compares fused graphs with.
  if (fuseElementwise) {
    pm.addPass(createFuseElementwiseOpsPass());
    pm.addPass(createCanonicalizerPass());
  }
}

void mlir::attn::addBufferizeStage(OpPassManager &pm) {
  // Each contraction fills its own accumulator (CSE shared them, which
  // bufferization turns into a fill and one copy per contraction).
  pm.addNestedPass<func::FuncOp>(createDuplicateSharedFillsPass());
  bufferization::OneShotBufferizePassOptions options;
  options.bufferizeFunctionBoundaries = true;
  options.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(options));
}
