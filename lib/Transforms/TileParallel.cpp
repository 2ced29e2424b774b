//===- TileParallel.cpp - attn-tile-parallel ------------------------------===//
//
// Implements attn-tile-parallel: every op with a `parallel` level in its
// attn.lowering_config is tiled with scf.forall, one output tile per thread
// task.
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
#define GEN_PASS_DEF_TILEPARALLELPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
struct TileParallelPass
    : public attn::impl::TileParallelPassBase<TileParallelPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachCollected<linalg::LinalgOp>(
        getOperation(), [&](linalg::LinalgOp op) {
          LoweringConfigAttr config = getLoweringConfig(op);
          if (!config || config.getParallel().empty())
            return;
          // The tiled op inherits the attribute: without this level.
          LoweringConfigAttr rest = LoweringConfigAttr::get(
              op.getContext(), {}, config.getReduction(), config.getRegisters(),
              config.getVector());
          setLoweringConfig(op, rest);
          scf::SCFTilingOptions options;
          options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp)
              .setTileSizes(getIndexAttrs(rewriter, config.getParallel()));
          // An op that cannot be tiled keeps its loops (lowered later).
          if (failed(tileAndErase(rewriter, op, options)))
            setLoweringConfig(op, nullptr);
        });
  }
};
} // namespace
