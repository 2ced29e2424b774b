//===- DecomposeAttention.cpp - attn-decompose-attention ------------------===//
//
// Implements attn-decompose-attention: attn.online_attention steps (and any
// attn.attention left untiled) become linalg ops on tensors through their
// AggregatedOpInterface.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Dialect/Attn/Transforms/Transforms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::attn {
#define GEN_PASS_DEF_DECOMPOSEATTENTIONPASS
#include "attn/Dialect/Attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

LogicalResult mlir::attn::decomposeAttention(RewriterBase &rewriter,
                                             Operation *op) {
  auto aggregated = dyn_cast<linalg::AggregatedOpInterface>(op);
  if (!aggregated)
    return failure();
  rewriter.setInsertionPoint(op);
  FailureOr<SmallVector<Value>> results =
      aggregated.decomposeOperation(rewriter);
  if (failed(results))
    return failure();
  rewriter.replaceOp(op, *results);
  return success();
}

namespace {
struct DecomposeAttentionPass
    : public mlir::attn::impl::DecomposeAttentionPassBase<
          DecomposeAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<AttentionOp, OnlineAttentionOp>(op))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : ops)
      if (failed(decomposeAttention(rewriter, op))) {
        op->emitOpError("could not be decomposed");
        return signalPassFailure();
      }
  }
};
} // namespace
