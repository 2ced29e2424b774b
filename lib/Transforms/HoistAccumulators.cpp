//===- HoistAccumulators.cpp - attn-hoist-accumulators --------------------===//
//
// Implements attn-hoist-accumulators: a register tile's accumulator, read
// and written around every reduction step, becomes a loop-carried vector.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::attn {
#define GEN_PASS_DEF_HOISTACCUMULATORSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

/// Hoists the accumulator of a vectorised reduction loop into a loop-carried
/// vector: `loop` must hold exactly one transfer_write, a transfer_read of
/// the same memref, indices, type and map, both loop-invariant, and nothing
/// else that touches memory except reads of other buffers. Upstream
/// linalg::hoistRedundantVectorTransfers gives up as soon as the memref has
/// any view user anywhere (our partial tiles' subviews), so the register
/// tiles this pass built, whose operands never alias the accumulator, are
/// matched here directly.
static bool hoistAccumulator(RewriterBase &rewriter, scf::ForOp loop) {
  vector::TransferWriteOp write;
  for (Operation &op : loop.getBody()->without_terminator()) {
    if (auto candidate = dyn_cast<vector::TransferWriteOp>(op)) {
      if (write)
        return false;
      write = candidate;
      continue;
    }
    if (op.getNumRegions() != 0 ||
        (!isMemoryEffectFree(&op) && !isa<vector::TransferReadOp>(op)))
      return false;
  }
  if (!write || write.getMask() || !isa<MemRefType>(write.getBase().getType()))
    return false;
  vector::TransferReadOp read;
  for (auto candidate : loop.getBody()->getOps<vector::TransferReadOp>()) {
    if (candidate.getBase() != write.getBase())
      continue;
    // A second read of the accumulator would see stale memory.
    if (read)
      return false;
    read = candidate;
  }
  if (!read || read.getMask() || read.getIndices() != write.getIndices() ||
      read.getVectorType() != write.getVectorType() ||
      read.getPermutationMap() != write.getPermutationMap() ||
      !read->isBeforeInBlock(write))
    return false;
  for (Value operand : read->getOperands())
    if (!loop.isDefinedOutsideOfLoop(operand))
      return false;

  rewriter.moveOpBefore(read, loop);
  FailureOr<LoopLikeOpInterface> newLoop = loop.replaceWithAdditionalYields(
      rewriter, read.getResult(), /*replaceInitOperandUsesInLoop=*/true,
      [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
        return SmallVector<Value>{write.getValueToStore()};
      });
  if (failed(newLoop))
    return false;
  rewriter.moveOpAfter(write, *newLoop);
  rewriter.modifyOpInPlace(write, [&] {
    write.getValueToStoreMutable().assign(newLoop->getLoopResults()->back());
  });
  return true;
}

namespace {
struct HoistAccumulatorsPass
    : public attn::impl::HoistAccumulatorsPassBase<HoistAccumulatorsPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachCollected<scf::ForOp>(getOperation(), [&](scf::ForOp loop) {
      (void)hoistAccumulator(rewriter, loop);
    });
  }
};
} // namespace
