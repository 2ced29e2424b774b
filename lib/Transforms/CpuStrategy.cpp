//===- CpuStrategy.cpp - attn-cpu-strategy --------------------------------===//
//
// Implements attn-cpu-strategy: chooses the tile sizes of every contraction
// the CPU micro-kernel computes and records them as attn.lowering_config,
// which the tiling passes after it read. All the heuristics live here.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"
#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::attn {
#define GEN_PASS_DEF_CPUSTRATEGYPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

/// Tile sizes per loop dimension: `m` and `n` for the plan's M and N
/// dimensions, `other` for the remaining parallel ones and `reduction` for
/// reductions (0 = not tiled).
static SmallVector<int64_t> getTileSizes(linalg::LinalgOp op,
                                         const ContractionPlan &plan, int64_t m,
                                         int64_t n, int64_t other,
                                         int64_t reduction) {
  SmallVector<int64_t> sizes;
  for (auto [dim, iterator] : llvm::enumerate(op.getIteratorTypesArray())) {
    int64_t size = reduction;
    if (iterator == utils::IteratorType::parallel)
      size = dim == plan.nDim ? n : (plan.mDim == dim ? m : other);
    sizes.push_back(size);
  }
  return sizes;
}

namespace {
struct CpuStrategyPass
    : public attn::impl::CpuStrategyPassBase<CpuStrategyPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (parallelTileM < 1 || parallelTileN < 1 || registerTileM < 1 ||
        registerTileN < 1) {
      func.emitError("attn-cpu-strategy: tile sizes must be positive");
      return signalPassFailure();
    }
    func.walk([&](linalg::LinalgOp op) {
      if (std::optional<ContractionPlan> plan = planContraction(op))
        setLoweringConfig(op, chooseConfig(op, *plan));
    });
  }

  LoweringConfigAttr chooseConfig(linalg::LinalgOp op,
                                  const ContractionPlan &plan) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    // Coarse parallel tiles, one OpenMP chunk each, unless the flash nest
    // around the op already distributes the work.
    SmallVector<int64_t> parallel;
    if (!getFlashNest(op)) {
      // At least `min-parallel-tiles` output tiles, so that every thread of
      // a small machine gets some and the dynamic schedule can even them
      // out: narrower tiles first (their rows still share the whole lhs
      // block), then shorter ones (Swin's last stage: 49 rows x 768
      // columns was 3 tiles of 256 for 2 threads).
      int64_t tileM = parallelTileM, tileN = parallelTileN;
      if (!ShapedType::isDynamicShape(ranges)) {
        auto countTiles = [&] {
          int64_t count = 1;
          for (auto [dim, iterator] :
               llvm::enumerate(op.getIteratorTypesArray())) {
            if (iterator != utils::IteratorType::parallel)
              continue;
            int64_t tile = dim == plan.nDim                 ? tileN
                           : plan.mDim && dim == *plan.mDim ? tileM
                                                            : 1;
            count *= llvm::divideCeil(ranges[dim], tile);
          }
          return count;
        };
        while (countTiles() < minParallelTiles && tileN > 2 * registerTileN)
          tileN /= 2;
        while (countTiles() < minParallelTiles && tileM > registerTileM)
          tileM = std::max<int64_t>(registerTileM, tileM / 2);
      }
      parallel = getTileSizes(op, plan, tileM, tileN, 1, 0);
    }

    // Blocks of `reduction-tile` steps of the reduction: the rhs rows one
    // register tile streams (reduction-tile x register-tile-n) then stay in
    // L1 while the tile's other register tiles reuse them, and the rhs
    // block of the whole output tile in L2, whatever K is.
    SmallVector<int64_t> reduction;
    if (reductionTile > 0) {
      bool tileReduction = false;
      for (auto [dim, iterator] : llvm::enumerate(op.getIteratorTypesArray())) {
        bool reduce = iterator != utils::IteratorType::parallel &&
                      !ShapedType::isDynamic(ranges[dim]) &&
                      ranges[dim] > reductionTile;
        tileReduction |= reduce;
        reduction.push_back(reduce ? reductionTile : 0);
      }
      if (!tileReduction)
        reduction.clear();
    }

    SmallVector<int64_t> registers =
        getTileSizes(op, plan, registerTileM, registerTileN, 1, 1);
    return LoweringConfigAttr::get(op.getContext(), parallel, reduction,
                                   registers, /*vector=*/{});
  }
};
} // namespace
