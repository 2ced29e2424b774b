//===- DuplicateSharedFills.cpp - attn-duplicate-shared-fills -------------===//
//
// Implements attn-duplicate-shared-fills: a tensor linalg.fill that several
// ops write into gets one copy per user, so bufferization fills each
// destination in place instead of filling once and copying.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::attn {
#define GEN_PASS_DEF_DUPLICATESHAREDFILLSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

namespace {
struct DuplicateSharedFillsPass
    : public attn::impl::DuplicateSharedFillsPassBase<
          DuplicateSharedFillsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::FillOp> fills;
    getOperation().walk([&](linalg::FillOp fill) {
      if (fill.hasPureTensorSemantics() && !fill->getResult(0).hasOneUse())
        fills.push_back(fill);
    });
    for (linalg::FillOp fill : fills) {
      // Every user that writes into the fill (a contraction's
      // zeroed accumulator) gets its own fill, placed just before it. The
      // destination is re-created when it is a tensor.empty, so each fill
      // becomes its own allocation.
      auto empty = fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>();
      Value filled = fill->getResult(0);
      SmallVector<OpOperand *> writes;
      for (OpOperand &use : filled.getUses())
        if (auto dps = dyn_cast<DestinationStyleOpInterface>(use.getOwner()))
          if (dps.isDpsInit(&use))
            writes.push_back(&use);
      // One writer keeps the original when nothing else reads the fill
      // (which one does not matter: every clone is placed just before its
      // user, and the fill's operands dominate all of them).
      bool keepFirst =
          writes.size() == static_cast<size_t>(llvm::range_size(filled.getUses()));
      for (OpOperand *use : llvm::drop_begin(writes, keepFirst ? 1 : 0)) {
        OpBuilder builder(use->getOwner());
        IRMapping mapping;
        if (empty)
          mapping.map(empty.getResult(), builder.clone(*empty)->getResult(0));
        Operation *copy = builder.clone(*fill, mapping);
        use->set(copy->getResult(0));
      }
    }
  }
};
} // namespace
