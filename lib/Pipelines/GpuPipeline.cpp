//===- GpuPipeline.cpp - attn to PTX for NVIDIA GPUs ----------------------===//
//
// Builds and registers `attn-gpu-pipeline`: attn on tensors down to an LLVM
// dialect host module that embeds PTX and launches it through the mgpu*
// runtime functions (libattn_cuda_runtime.so).
//
//===----------------------------------------------------------------------===//

#include "attn/Pipelines/Pipelines.h"

#include "PipelineStages.h"

#include "attn/Conversion/Passes.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::attn::buildGpuPipeline(OpPassManager &pm,
                                  const GpuPipelineOptions &options) {
  // The same front half as the CPU pipeline: recognise and fuse attention,
  // flash-tile it, everything else becomes linalg on tensors.
  ConvertAttnToLinalgPassOptions toLinalg;
  toLinalg.qTile = options.qTile;
  toLinalg.kvTile = options.kvTile;
  // Attentions the tensor cores can run become kernel launches before the
  // generic lowering sees them; the others take the scalar path below.
  StringRef chip = options.chip;
  int64_t capability = 0;
  if (chip.consume_front("sm_")) {
    chip.consume_back("a");
    if (chip.getAsInteger(10, capability))
      capability = 0;
  }
  addTensorStages(pm, toLinalg, [&](OpPassManager &nested) {
    if (!options.tensorCores || capability < 80)
      return;
    ConvertAttnToGPUPassOptions tensorCore;
    tensorCore.chip = options.chip;
    tensorCore.warps = options.warps;
    tensorCore.stages = options.stages;
    nested.addPass(createConvertAttnToGPUPass(tensorCore));
    // The projections and MLPs of model graphs.
    ConvertEinsumToGPUPassOptions gemm;
    gemm.chip = options.chip;
    nested.addPass(createConvertEinsumToGPUPass(gemm));
  }, /*fuseElementwise=*/true,
     // The re-attention nest's dynamic partial blocks do not fit the flash
     // nest's static shared-memory tiles of attn-gpu-map-forall: on GPUs
     // re-attention stays unfused.
     /*reattention=*/false);

  // Tensors -> buffers. No deallocation pipeline: tiles inside the flash
  // loop become static shared memory and host buffers become managed
  // memory whose lifetime attn-gpu-map-host-loops handles (function-local code is
  // straight-line once every loop nest is a kernel).
  addBufferizeStage(pm);
  pm.addPass(createCanonicalizerPass());
  if (options.deviceMemory) {
    // Results become trailing out-parameters the caller allocates (e.g. as
    // torch tensors); the buffer computing each result is the caller's.
    bufferization::BufferResultsToOutParamsPassOptions outParams;
    outParams.hoistStaticAllocs = true;
    outParams.modifyPublicFunctions = true;
    pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
    pm.addPass(createCanonicalizerPass());
  }

  // Buffers -> kernels.
  GpuMapForallToBlocksPassOptions blocks;
  blocks.threads = options.threads;
  pm.addNestedPass<func::FuncOp>(createGpuMapForallToBlocksPass(blocks));
  GpuMapHostLoopsPassOptions hostLoops;
  hostLoops.threads = options.threads;
  hostLoops.deviceMemory = options.deviceMemory;
  pm.addNestedPass<func::FuncOp>(createGpuMapHostLoopsPass(hostLoops));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.emitCInterface)
    pm.addPass(createEmitCInterfacePass());

  // Kernels -> NVVM -> PTX, host -> LLVM with mgpu* calls; upstream's
  // gpu-lower-to-nvvm-pipeline with the host memref lowering it lacks.
  pm.addPass(createGpuKernelOutliningPass());
  if (options.deviceMemory)
    // One stream per call (the caller's, see attnCudaSetStream): launches,
    // copies and temporaries are enqueued on it, with one wait at the end
    // instead of one per launch.
    pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertFuncToLLVMPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  pm.addNestedPass<gpu::GPUModuleOp>(createGpuLowerMathPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps());
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());

  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions toBinary;
  toBinary.compilationTarget = options.format;
  pm.addPass(createGpuModuleToBinaryPass(toBinary));
  pm.addPass(createCanonicalizerPass());
}

void mlir::attn::registerGpuPipeline() {
  PassPipelineRegistration<GpuPipelineOptions>(
      "attn-gpu-pipeline",
      "Lower attn (tensors) to PTX for NVIDIA GPUs: flash tiling, one-shot "
      "bufferization, GPU blocks and threads with shared-memory tiles, NVVM, "
      "PTX embedded in an LLVM-dialect host module",
      buildGpuPipeline);
}
