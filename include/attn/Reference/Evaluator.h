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
#include <functional>
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

/// An argument of the evaluated function, read on demand: the evaluator
/// copies only the parts it needs (a sampled row of a long attention needs
/// one query row and all keys, never a whole n x n mask).
struct ReferenceInput {
  std::vector<int64_t> shape;
  /// Copies the `count` elements starting at C-order position `begin`,
  /// widened to double, to `out`.
  std::function<void(int64_t begin, int64_t count, double *out)> read;
};

struct ReferenceOptions {
  /// The most memory the evaluation may hold at once; 0 means half of the
  /// memory available when it starts (MemAvailable in /proc/meminfo).
  uint64_t memoryLimitBytes = 0;
  /// When the whole evaluation would need more than that: how many rows of
  /// each result to evaluate instead (0: fail instead of sampling).
  unsigned sampleRows = 16;
  /// Which rows are sampled (the first and the last always are).
  uint64_t seed = 0;
};

/// One result of the evaluated function. A row is the last dimension (one
/// element for a rank-0 or rank-1 result). `rows` lists, ascending, the flat
/// indices (over the leading dimensions) of the rows held in `data`, each
/// `rowLength` elements long; it is empty when `data` holds every element.
struct ReferenceResult {
  std::vector<int64_t> shape;
  int64_t rowLength = 1;
  std::vector<int64_t> rows;
  std::vector<double> data;
  bool isSampled() const { return !rows.empty() || sampled; }
  bool sampled = false;
};

/// How an evaluation went, for the caller to report.
struct ReferenceReport {
  /// Peak memory the whole evaluation would need, by the evaluator's count
  /// (freed intermediates and splat constants accounted for).
  uint64_t fullEvaluationBytes = 0;
  uint64_t memoryLimitBytes = 0;
  /// Rows were sampled because the whole evaluation did not fit.
  bool sampled = false;
  /// The peak of the largest single-row evaluation when sampled.
  uint64_t sampledRowBytes = 0;
};

/// Evaluates `func` on `inputs` (one per argument, shaped as the argument
/// type) and appends one result per returned value to `results`. Every op
/// is computed in double precision whatever its element type, so the result
/// is the exact-arithmetic answer for the given (already rounded) inputs up
/// to f64 rounding. Intermediates are freed after their last use, splat
/// constants and fills stay one element, and only the parts of each value
/// that the results depend on are computed. When the whole evaluation would
/// exceed the memory limit, `options.sampleRows` rows of each result are
/// computed exactly instead, each from just the data it depends on. On an
/// unsupported op, a dynamic shape, a malformed input or an evaluation that
/// does not fit even row by row, emits an error at the op's location (or
/// the function's) and returns failure.
LogicalResult evaluateReference(func::FuncOp func,
                                ArrayRef<ReferenceInput> inputs,
                                const ReferenceOptions &options,
                                std::vector<ReferenceResult> &results,
                                ReferenceReport *report = nullptr);

/// The same on dense inputs, always evaluating every result element (no
/// memory limit, no sampling).
LogicalResult evaluateReference(func::FuncOp func, ArrayRef<RefTensor> inputs,
                                std::vector<RefTensor> &results);

} // namespace mlir::attn

#endif // ATTN_REFERENCE_EVALUATOR_H
