//===- TileRegisters.cpp - attn-tile-registers ----------------------------===//
//
// Implements attn-tile-registers: every contraction with a `registers` level
// in its attn.lowering_config is tiled into register tiles, the reduction
// innermost, with the M and N loops peeled so that all but the last tiles
// have static shapes.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"
#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"

namespace mlir::attn {
#define GEN_PASS_DEF_TILEREGISTERSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

/// Register tiles of a contraction, the reduction innermost: the
/// accumulator tile stays loop-invariant across the reduction loop so it can
/// live in registers. Every dimension gets a loop; N (inner) then M are
/// peeled so the full tiles are static. The register tiles (full and
/// partial) carry the config's register sizes as their `vector` level.
static void tileRegisters(RewriterBase &rewriter, linalg::LinalgOp op,
                          const ContractionPlan &plan,
                          ArrayRef<int64_t> sizes) {
  SmallVector<int64_t> interchange;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (auto [dim, iterator] : llvm::enumerate(iterators))
    if (iterator == utils::IteratorType::parallel)
      interchange.push_back(dim);
  for (auto [dim, iterator] : llvm::enumerate(iterators))
    if (iterator != utils::IteratorType::parallel)
      interchange.push_back(dim);
  scf::SCFTilingOptions forOptions;
  forOptions.setLoopType(scf::SCFTilingOptions::LoopType::ForOp)
      .setTileSizes(getIndexAttrs(rewriter, sizes))
      .setInterchange(interchange);
  FailureOr<scf::SCFTilingResult> tiled =
      tileAndErase(rewriter, op, forOptions);
  if (failed(tiled)) {
    setLoweringConfig(op, nullptr);
    return;
  }
  // `op` is erased: the context comes from the rewriter.
  setLoweringConfig(
      tiled->tiledOps.back(),
      LoweringConfigAttr::get(rewriter.getContext(), {}, {}, {}, sizes));

  // Every dimension got a loop, in interchange order: peel N (inner) then M.
  if (tiled->loops.size() != interchange.size())
    return;
  auto loopOf = [&](unsigned dim) -> scf::ForOp {
    auto it = llvm::find(interchange, dim);
    return dyn_cast<scf::ForOp>(
        tiled->loops[std::distance(interchange.begin(), it)].getOperation());
  };
  SmallVector<scf::ForOp> toPeel = {loopOf(plan.nDim)};
  if (plan.mDim)
    toPeel.push_back(loopOf(*plan.mDim));
  for (scf::ForOp loop : toPeel) {
    scf::ForOp partial;
    if (loop)
      (void)scf::peelForLoopAndSimplifyBounds(rewriter, loop, partial);
  }
}

namespace {
struct TileRegistersPass
    : public attn::impl::TileRegistersPassBase<TileRegistersPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachCollected<linalg::LinalgOp>(
        getOperation(), [&](linalg::LinalgOp op) {
          LoweringConfigAttr config = getLoweringConfig(op);
          if (!config || config.getRegisters().empty())
            return;
          std::optional<ContractionPlan> plan = planContraction(op);
          if (!plan) {
            setLoweringConfig(op, nullptr);
            return;
          }
          SmallVector<int64_t> sizes(config.getRegisters());
          // Columns not a multiple of 16 (a flash block of 49 keys) are
          // split first so that no register tile is 17 wide (see
          // splitAtVectorMultiple); each piece gets its own register tiles
          // and reduction loop, so each accumulator can still be hoisted
          // into registers.
          for (Operation *piece :
               splitAtVectorMultiple(rewriter, op, plan->nDim))
            tileRegisters(rewriter, cast<linalg::LinalgOp>(piece), *plan,
                          sizes);
        });
  }
};
} // namespace
