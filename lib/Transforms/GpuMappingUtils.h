//===- GpuMappingUtils.h - helpers of the GPU mapping passes ----*- C++ -*-===//
//
// What attn-gpu-map-forall and attn-gpu-map-host-loops share: trip counts,
// delinearised induction variables, and linalg ops lowered to parallel loops
// that the passes then distribute over blocks and threads.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_TRANSFORMS_GPUMAPPINGUTILS_H
#define ATTN_LIB_TRANSFORMS_GPUMAPPINGUTILS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Value.h"

namespace mlir::attn::gpu_mapping {

/// An index constant.
Value indexConstant(OpBuilder &b, Location loc, int64_t value);

/// The number of iterations of `[lb, ub)` by `step`, as an index value.
Value tripCount(OpBuilder &b, Location loc, Value lb, Value ub, Value step);

/// Replaces the induction variables `ivs` (bounds `lbs`, `steps`, extents
/// `counts`) by the multi-index that `linear` stands for in row-major order.
void delinearizeInto(OpBuilder &b, Location loc, Value linear,
                     ValueRange ivs, ValueRange lbs, ValueRange steps,
                     ValueRange counts, IRMapping &mapping);

/// The buffer a view-like chain starts from.
Value getRootBuffer(Value value);

/// Lowers every linalg op under `root` to scf.parallel (reductions stay
/// sequential scf.for inside) and returns the outermost parallel loops.
FailureOr<SmallVector<Operation *>> linalgToParallelLoops(Operation *root);

} // namespace mlir::attn::gpu_mapping

#endif // ATTN_LIB_TRANSFORMS_GPUMAPPINGUTILS_H
