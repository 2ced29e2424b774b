//===- Evaluator.h - f64 reference evaluator for attn graphs ----*- C++ -*-===//
//
// Evaluates a func.func at the tensor level in double precision by direct
// loops over each op's specification, independently of the compiler's
// lowering, so `attn-run --check` has something trustworthy to compare with.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_REFERENCE_EVALUATOR_H
#define ATTN_REFERENCE_EVALUATOR_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <vector>

namespace mlir::attn {

/// A tensor value of the evaluator: C-ordered elements widened to double
/// (booleans are 0 or 1). A scalar is a rank-0 tensor.
struct RefTensor {
  std::vector<int64_t> shape;
  std::vector<double> data;

  int64_t getNumElements() const {
    int64_t count = 1;
    for (int64_t dim : shape)
      count *= dim;
    return count;
  }
};

/// Evaluates `func` on `inputs` (one per argument, shaped as the argument
/// type) and appends one tensor per returned value to `results`. Every op is
/// computed in double precision whatever its element type, so the result is
/// the exact-arithmetic answer for the given (already rounded) inputs up to
/// f64 rounding. On an unsupported op, a dynamic shape or a malformed input
/// emits an error at the op's location and returns failure.
LogicalResult evaluateReference(func::FuncOp func, ArrayRef<RefTensor> inputs,
                                std::vector<RefTensor> &results);

} // namespace mlir::attn

#endif // ATTN_REFERENCE_EVALUATOR_H
