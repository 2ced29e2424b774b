//===- GpuMappingUtils.cpp - helpers of the GPU mapping passes ------------===//

#include "GpuMappingUtils.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;

namespace mlir::attn::gpu_mapping {

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

Value tripCount(OpBuilder &b, Location loc, Value lb, Value ub, Value step) {
  Value extent = arith::SubIOp::create(b, loc, ub, lb);
  return arith::CeilDivSIOp::create(b, loc, extent, step);
}

void delinearizeInto(OpBuilder &b, Location loc, Value linear,
                     ValueRange ivs, ValueRange lbs, ValueRange steps,
                     ValueRange counts, IRMapping &mapping) {
  SmallVector<OpFoldResult> basis(counts.begin(), counts.end());
  ValueRange indices = ivs.size() == 1
                           ? ValueRange(linear)
                           : affine::AffineDelinearizeIndexOp::create(
                                 b, loc, linear, basis, /*hasOuterBound=*/true)
                                 .getResults();
  for (auto [iv, index, lb, step] : llvm::zip(ivs, indices, lbs, steps)) {
    Value scaled = arith::MulIOp::create(b, loc, index, step);
    mapping.map(iv, arith::AddIOp::create(b, loc, lb, scaled));
  }
}

Value getRootBuffer(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      break;
    value = view.getViewSource();
  }
  return value;
}

FailureOr<SmallVector<Operation *>> linalgToParallelLoops(Operation *root) {
  SmallVector<linalg::LinalgOp> ops;
  root->walk([&](linalg::LinalgOp op) { ops.push_back(op); });
  IRRewriter rewriter(root->getContext());
  SmallVector<Operation *> outer;
  for (linalg::LinalgOp op : ops) {
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::LinalgLoops> loops =
        linalg::linalgOpToParallelLoops(rewriter, op);
    if (failed(loops)) {
      op->emitOpError("could not be lowered to parallel loops");
      return failure();
    }
    rewriter.eraseOp(op);
    // A linalg op without parallel dimensions (a full reduction) yields a
    // plain scf.for nest; it is recorded so it still runs on the device.
    if (!loops->empty())
      outer.push_back(loops->front());
  }
  return outer;
}

} // namespace mlir::attn::gpu_mapping
