//===- TileAndVectorizePipeline.cpp - attn-tile-and-vectorize -------------===//
//
// Builds and registers `attn-tile-and-vectorize`: the CPU tiling and
// vectorisation passes on buffers in the order they depend on each other.
//
//===----------------------------------------------------------------------===//

#include "attn/Pipelines/Pipelines.h"

#include "attn/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::attn::buildTileAndVectorizePipeline(
    OpPassManager &pm, const TileAndVectorizeOptions &options) {
  // Preparation: contractions in the form the micro-kernel takes, row-wise
  // ops and transposes vectorised outside the contractions. The factors
  // split out of fused contractions are row ops too.
  pm.addPass(createSplitFusedFactorsPass());
  pm.addPass(createWidenContractionInputsPass());
  pm.addPass(createCollapseReductionDimsPass());
  pm.addPass(createVectorizeRowsPass());
  pm.addPass(createVectorizeTransposesPass());

  // Strategy, then one pass per tiling level of its config.
  CpuStrategyPassOptions strategy;
  strategy.parallelTileM = options.parallelTileM;
  strategy.parallelTileN = options.parallelTileN;
  strategy.minParallelTiles = options.minParallelTiles;
  strategy.registerTileM = options.registerTileM;
  strategy.registerTileN = options.registerTileN;
  strategy.reductionTile = options.reductionTile;
  pm.addPass(createCpuStrategyPass(strategy));
  if (options.transposeRhs)
    pm.addPass(createMakeRhsRowMajorPass());
  pm.addPass(createTileParallelPass());
  pm.addPass(createTileReductionPass());
  if (options.packRhs)
    pm.addPass(createPackRhsPass());
  pm.addPass(createTileRegistersPass());
  // Folds the peeled loops' tile sizes into static subview types.
  pm.addPass(createCanonicalizerPass());

  // Vectors: register tiles, the flash nest's softmax steps, then the
  // accumulators into registers. Hoisting compares the transfers' index
  // values, so equal indices must be one SSA value.
  pm.addPass(createVectorizeRegisterTilesPass());
  pm.addPass(createVectorizeFlashStepsPass());
  pm.addPass(createDropVectorUnitDimsPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
  pm.addPass(createHoistAccumulatorsPass());
  if (options.lowerVectors)
    pm.addPass(createLowerVectorsPass());
}

void mlir::attn::registerTileAndVectorizePipeline() {
  PassPipelineRegistration<TileAndVectorizeOptions>(
      "attn-tile-and-vectorize",
      "CPU tiling and vectorisation of bufferized linalg: register-tiled, "
      "FMA-vectorised contractions and row-vectorised elementwise ops",
      buildTileAndVectorizePipeline);
}
