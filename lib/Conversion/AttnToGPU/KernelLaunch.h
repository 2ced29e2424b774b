//===- KernelLaunch.h - launching generated kernels on tensors -*- C++ -*-===//
//
// The host side shared by the passes that replace ops by generated kernels:
// operands as read-only buffers, a fresh result buffer, one gpu.launch_func,
// and the result back as a tensor, so that one-shot bufferization and the
// rest of the GPU pipeline see an ordinary tensor program.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTOGPU_KERNELLAUNCH_H
#define ATTN_LIB_CONVERSION_ATTNTOGPU_KERNELLAUNCH_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

#include <array>

namespace mlir::attn {

/// The compute capability of "sm_XY[a]" (80 for sm_80), or 0.
inline int64_t getComputeCapability(StringRef chip) {
  int64_t value = 0;
  if (!chip.consume_front("sm_"))
    return 0;
  chip.consume_back("a");
  if (chip.getAsInteger(10, value))
    return 0;
  return value;
}

/// The module's `gpu.module @attn_kernels`, created on first use (the module
/// becomes a gpu.container_module).
gpu::GPUModuleOp getOrCreateKernelModule(ModuleOp module);

/// Launches `kernel` on a `grid` of CTAs of `threads` threads with
/// `sharedBytes` of dynamic shared memory, passing the data pointers of the
/// contiguous tensors `inputs` with that of a fresh `resultType` buffer
/// inserted at `resultPosition`; returns the result as a tensor. The buffer
/// is 128-byte aligned and the kernel must write all of it.
Value createKernelLaunch(OpBuilder &b, Location loc, gpu::GPUFuncOp kernel,
                         ValueRange inputs, Type resultType,
                         unsigned resultPosition, std::array<int64_t, 3> grid,
                         int64_t threads, int64_t sharedBytes);

} // namespace mlir::attn

#endif // ATTN_LIB_CONVERSION_ATTNTOGPU_KERNELLAUNCH_H
