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

namespace {
/// Rewrites memref.copy between non-identity layouts (strided slices, as a
/// head split of a sliced qkv projection or a partial flash tile produces)
/// into linalg.copy, which becomes loops. Left alone, memref-to-llvm turns
/// such a copy into a call to MLIR's `memrefCopy` runtime function, which
/// ahead-of-time libraries must not depend on (only libc, libm and libomp).
/// Contiguous copies stay memref.copy: they become llvm.memcpy.
struct LowerStridedCopiesPass
    : public PassWrapper<LowerStridedCopiesPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(LowerStridedCopiesPass)

  StringRef getArgument() const final { return "attn-lower-strided-copies"; }
  StringRef getDescription() const final {
    return "Rewrite memref.copy of non-identity layouts into linalg.copy";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<linalg::LinalgDialect>();
  }

  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp copy) {
      auto source = cast<MemRefType>(copy.getSource().getType());
      auto target = cast<MemRefType>(copy.getTarget().getType());
      if (!source.getLayout().isIdentity() || !target.getLayout().isIdentity())
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      OpBuilder builder(copy);
      linalg::CopyOp::create(builder, copy.getLoc(),
                             ValueRange{copy.getSource()},
                             ValueRange{copy.getTarget()});
      copy.erase();
    }
  }
};

/// Lowers the linalg ops inside scf.forall bodies (the per-tile work of the
/// flash attention loop nest) to sequential scf.for loops. The forall is the
/// parallel loop: lowering its body to scf.parallel as well would give nested
/// OpenMP regions, each a fork/join that nested-off OpenMP runs serially.
struct LowerForallBodiesToLoopsPass
    : public PassWrapper<LowerForallBodiesToLoopsPass,
                         OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(LowerForallBodiesToLoopsPass)

  StringRef getArgument() const final {
    return "attn-lower-forall-bodies-to-loops";
  }
  StringRef getDescription() const final {
    return "Lower linalg ops inside scf.forall to sequential scf.for loops";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<scf::SCFDialect>();
  }

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op->getParentOfType<scf::ForallOp>() && op.hasPureBufferSemantics())
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToLoops(rewriter, op))) {
        op->emitOpError("could not be lowered to loops");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
    }
  }
};
} // namespace

void mlir::attn::buildCpuPipeline(OpPassManager &pm,
                                  const CpuPipelineOptions &options) {
  // Keys transposed once, so each block product's rhs has N innermost and
  // attn-tile-and-vectorize needs no per-block transposed copy; boolean
  // masks made additive once, so the per-block masking vectorises.
  ConvertAttnToLinalgPassOptions toLinalg;
  toLinalg.transposeKeys = true;
  toLinalg.additiveMasks = true;
  addTensorStages(pm, toLinalg);

  // Tensors -> buffers.
  addBufferizeStage(pm);
  bufferization::buildBufferDeallocationPipeline(pm);
  // The deallocation pipeline clones buffers that escape through a return
  // while aliasing an argument; lower those clones to alloc + copy.
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(std::make_unique<LowerStridedCopiesPass>());

  // Buffers -> loops. Every linalg op becomes one scf.parallel over its
  // parallel dimensions (reductions stay sequential inside), which
  // convert-scf-to-openmp turns into one omp.wsloop; its static schedule
  // hands each thread one contiguous chunk of the iteration space.
  //
  // --- attn-tile-and-vectorize (owned by the codegen work) ---------------
  // Contractions become scf.forall output tiles around register-tiled,
  // FMA-vectorised micro-kernels; what it leaves (partial tiles, other
  // linalg ops) is lowered to loops below.
  if (options.vectorize)
    pm.addNestedPass<func::FuncOp>(attn::createTileAndVectorizePass());
  // --- end attn-tile-and-vectorize ------------------------------------------
  // The flash loop nest's scf.forall is the parallel loop; its per-tile work
  // runs sequentially inside it.
  pm.addPass(std::make_unique<LowerForallBodiesToLoopsPass>());
  pm.addPass(createForallToParallelLoopPass());
  pm.addPass(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
  if (options.openmp) {
    pm.addPass(createConvertSCFToOpenMPPass());
    pm.addPass(attn::createOmpDynamicSchedulePass());
  }
  // exp (softmax), erf (GELU), tanh (additive scores) as arithmetic: no
  // libm call per element, and vectorisable.
  if (options.approximateMath)
    pm.addPass(attn::createApproximateMathPass());

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
  pm.addPass(createConvertVectorToLLVMPass());
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
