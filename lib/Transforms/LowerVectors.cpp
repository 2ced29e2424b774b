//===- LowerVectors.cpp - attn-lower-vectors ------------------------------===//
//
// Implements attn-lower-vectors: the register tiles' vector.contract become
// FMAs, and multi-dimensional transfers 1-D loads and stores, all unrolled.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"

#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"

namespace mlir::attn {
#define GEN_PASS_DEF_LOWERVECTORSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
struct LowerVectorsPass
    : public attn::impl::LowerVectorsPassBase<LowerVectorsPass> {
  using Base::Base;

  void runOnOperation() override {
    // vector.contract -> vector.outerproduct -> vector.fma, transfers ->
    // 1-D loads/stores, all unrolled. No canonicalisation here: it would
    // fold the accumulator's row inserts into a from_elements of every
    // scalar.
    applySimplification(
        getOperation(),
        [](RewritePatternSet &patterns) {
          vector::populateVectorContractLoweringPatterns(
              patterns, vector::VectorContractLowering::OuterProduct);
          vector::populateVectorOuterProductLoweringPatterns(patterns);
          vector::populateVectorTransferPermutationMapLoweringPatterns(
              patterns);
          // 16 x 16 transposes (vectorizeTranspose's blocks) as
          // AVX-512 unpack/shuffle sequences, other 2-D ones as one
          // shuffle, the rest element by element.
          vector::populateVectorTransposeLoweringPatterns(
              patterns, vector::VectorTransposeLowering::Shuffle16x16);
          vector::populateVectorBroadcastLoweringPatterns(patterns);
          vector::populateVectorShapeCastLoweringPatterns(patterns);
          vector::populateVectorMultiReductionLoweringPatterns(
              patterns, vector::VectorMultiReductionLowering::InnerReduction);
          vector::populateVectorTransferLoweringPatterns(patterns,
                                                         /*maxTransferRank=*/1);
          populateVectorToSCFConversionPatterns(
              patterns, VectorTransferToSCFOptions().enableFullUnroll());
          // Partial tiles' 1-D transfers that are out of bounds along N
          // become masked loads/stores here, while memref.dim (their
          // bound) can still be lowered by the rest of the pipeline.
          vector::populateVectorMaskMaterializationPatterns(
              patterns, /*force32BitVectorIndices=*/true);
        },
        /*canonicalize=*/false);
  }
};
} // namespace
