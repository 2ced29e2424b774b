//===- CpuPipeline.cpp - attn to LLVM dialect for CPUs --------------------===//
//
// Builds and registers `attn-cpu-pipeline`: attn on tensors down to the LLVM
// dialect, with parallel loops on OpenMP, ready for mlir-translate and
// mlir-runner.
//
//===----------------------------------------------------------------------===//

#include "attn/Pipelines/Pipelines.h"

#include "PipelineStages.h"

#include "attn/Conversion/Passes.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Transforms/Passes.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/OpenMPToLLVM/ConvertOpenMPToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToOpenMP/SCFToOpenMP.h"
#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::attn::buildCpuPipeline(OpPassManager &pm,
                                  const CpuPipelineOptions &options) {
  // Keys transposed once, so each block product's rhs has N innermost and
  // attn-tile-and-vectorize needs no per-block transposed copy; boolean
  // masks made additive once, so the per-block masking vectorises.
  ConvertAttnToLinalgPassOptions toLinalg;
  toLinalg.transposeKeys = true;
  toLinalg.additiveMasks = true;
  toLinalg.keepBf16 = options.amxBf16;
  toLinalg.qTile = options.qTile;
  toLinalg.kvTile = options.kvTile;
  addTensorStages(pm, toLinalg, /*beforeLowering=*/nullptr,
                  options.fuseElementwise);
  // Biases and residuals as the initial values of the contractions they
  // are added to (the micro-kernel accumulates onto C), instead of a zero
  // fill and a separate pass over each result.
  if (options.fuseElementwise) {
    pm.addPass(attn::createFoldAddendsIntoContractionsPass());
    pm.addPass(createCanonicalizerPass());
  }

  // Tensors -> buffers.
  addBufferizeStage(pm);
  bufferization::buildBufferDeallocationPipeline(pm);
  // The deallocation pipeline clones buffers that escape through a return
  // while aliasing an argument; lower those clones to alloc + copy.
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLowerStridedCopiesPass());
  // Products over several contiguous row dimensions (a Linear on windows)
  // as one long M, before the passes that tile M.
  pm.addNestedPass<func::FuncOp>(attn::createCollapseParallelDimsPass());

  // Buffers -> loops. Every linalg op becomes one scf.parallel over its
  // parallel dimensions (reductions stay sequential inside), which
  // convert-scf-to-openmp turns into one omp.wsloop, which
  // attn-omp-thread-ranges then schedules in the region itself: statically,
  // one contiguous range of the iteration space per thread.
  //
  // With ukernels=1, f32 contractions first become calls of the runtime's
  // micro-kernel (libattn_ukernels, which the JIT and ahead-of-time
  // libraries link); attn-tile-and-vectorize gets the rest. With
  // flash-ukernels=1 that includes the flash nest's two block products
  // (64 x 128 x d and 64 x d x 128 with the default blocks): the 6 x 64
  // register tiles ran them at ~195 GFLOP/s a thread where the generated
  // 8 x 32 tiles reached ~175.
  if (options.ukernels) {
    ContractionsToUkernelsPassOptions ukernelOptions;
    ukernelOptions.inLoops = options.flashUkernels;
    pm.addPass(attn::createContractionsToUkernelsPass(ukernelOptions));
  }
  //
  // attn-tile-and-vectorize: contractions become scf.forall output tiles
  // around register-tiled, FMA-vectorised micro-kernels; what it leaves
  // (partial tiles, other linalg ops) is lowered to loops below.
  if (options.vectorize)
    buildTileAndVectorizePipeline(pm.nest<func::FuncOp>(),
                                  TileAndVectorizeOptions());
  // The flash loop nest's scf.forall is the parallel loop; its per-tile work
  // runs sequentially inside it.
  pm.addPass(createLowerForallBodiesToLoopsPass());
  pm.addPass(createForallToParallelLoopPass());
  pm.addPass(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
  if (options.openmp) {
    // One OpenMP region per loop nest: nested parallel loops run serially.
    pm.addPass(attn::createSerializeNestedParallelLoopsPass());
    pm.addPass(createConvertSCFToOpenMPPass());
    pm.addPass(attn::createOmpDynamicSchedulePass());
    // No loop-scheduling calls into libomp (Debian's formats debug strings
    // in each): the threads split the iterations themselves.
    pm.addPass(attn::createOmpThreadRangesPass());
  }
  // exp (softmax), erf (GELU), tanh (additive scores) as arithmetic: no
  // libm call per element, and vectorisable.
  if (options.approximateMath) {
    attn::ApproximateMathPassOptions approximate;
    approximate.x86Avx512 = options.x86Avx512;
    pm.addPass(attn::createApproximateMathPass(approximate));
  }

  // Everything -> LLVM dialect.
  if (options.emitCInterface)
    pm.addPass(createEmitCInterfacePass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // memref before scf: convert-scf-to-openmp wraps each loop body in a
  // memref.alloca_scope, which must still hold a single block (an scf.for,
  // not its cf form) when memref-to-llvm inlines it.
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createSCFToControlFlowPass());
  // Row sums (LayerNorm's statistics, softmax denominators) as trees of
  // vector adds: without reassociation LLVM keeps vector.reduction's order,
  // one dependent scalar add per element (192 for a ViT-Tiny row). A tree
  // is at least as accurate as the sequential sum.
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  vectorToLLVM.reassociateFPReductions = true;
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  // attn-tile-and-vectorize: lowering its multi-dimensional vectors leaves
  // ub.poison initial values.
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  // What math-to-llvm has no intrinsic for (tanh on some versions) becomes a
  // libm call, which the JIT and any C program resolve.
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  if (options.openmp)
    pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::attn::registerCpuPipeline() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "attn-cpu-pipeline",
      "Lower attn (tensors) to the LLVM dialect for CPUs: linalg, one-shot "
      "bufferization, parallel loops, OpenMP, LLVM",
      buildCpuPipeline);
}
