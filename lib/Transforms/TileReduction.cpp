//===- TileReduction.cpp - attn-tile-reduction ----------------------------===//
//
// Implements attn-tile-reduction: every op with a `reduction` level in its
// attn.lowering_config gets its reduction blocked by scf.for loops.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"
#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::attn {
#define GEN_PASS_DEF_TILEREDUCTIONPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
struct TileReductionPass
    : public attn::impl::TileReductionPassBase<TileReductionPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachCollected<linalg::LinalgOp>(
        getOperation(), [&](linalg::LinalgOp op) {
          LoweringConfigAttr config = getLoweringConfig(op);
          if (!config || config.getReduction().empty())
            return;
          // The tiled op inherits the attribute: without this level.
          setLoweringConfig(op, LoweringConfigAttr::get(
                                    op.getContext(), config.getParallel(), {},
                                    config.getRegisters(), config.getVector()));
          scf::SCFTilingOptions options;
          options.setLoopType(scf::SCFTilingOptions::LoopType::ForOp)
              .setTileSizes(getIndexAttrs(rewriter, config.getReduction()));
          if (failed(tileAndErase(rewriter, op, options)))
            setLoweringConfig(op, nullptr);
        });
  }
};
} // namespace
