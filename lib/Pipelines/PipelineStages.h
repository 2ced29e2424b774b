//===- PipelineStages.h - stages shared by the CPU and GPU pipelines -*- C++ -*-===//
//
// The CPU and GPU pipelines start and end alike: recognise and lower attn on
// tensors, then bufferize. These builders
// keep the two pipelines from drifting apart.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_PIPELINES_PIPELINESTAGES_H
#define ATTN_LIB_PIPELINES_PIPELINESTAGES_H

#include "attn/Conversion/Passes.h"

#include "mlir/Pass/PassManager.h"

namespace mlir::attn {

/// attn on tensors -> linalg on tensors: canonical form, attention fusion,
/// the attn lowering (flash tiling with `toLinalg`'s tile sizes),
/// elementwise ops on tensors as linalg, and (with `fuseElementwise`)
/// producer/consumer fusion. `beforeLowering`, when given, adds passes that
/// see the fused attn ops before the attn lowering (the GPU pipeline's
/// tensor-core kernels). `reattention` enables attn-fuse-attention's
/// two-pass re-attention and talking-heads row-block nests (CPU only so
/// far).
void addTensorStages(
    OpPassManager &pm, const ConvertAttnToLinalgPassOptions &toLinalg,
    llvm::function_ref<void(OpPassManager &)> beforeLowering = nullptr,
    bool fuseElementwise = true, bool reattention = true);

/// One-shot bufferization with identity layouts at function boundaries, so
/// signatures are plain memrefs that C callers can build.
void addBufferizeStage(OpPassManager &pm);

} // namespace mlir::attn

#endif // ATTN_LIB_PIPELINES_PIPELINESTAGES_H
