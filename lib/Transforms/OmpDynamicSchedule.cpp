//===- OmpDynamicSchedule.cpp - dynamic schedules for work-sharing loops --===//
//
// Implements attn-omp-dynamic-schedule: omp.wsloop ops that carry no
// schedule get schedule(dynamic), so uneven parallel tiles balance.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"

namespace mlir::attn {
#define GEN_PASS_DEF_OMPDYNAMICSCHEDULEPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

/// Loops with more iterations than this keep the static schedule.
static constexpr int64_t kMaxDynamicTrips = 4096;

/// The number of iterations of `nest` when its bounds and steps are
/// constants.
static std::optional<int64_t> getTripCount(omp::LoopNestOp nest) {
  int64_t total = 1;
  for (auto [lb, ub, step] :
       llvm::zip(nest.getLoopLowerBounds(), nest.getLoopUpperBounds(),
                 nest.getLoopSteps())) {
    APInt l, u, s;
    if (!matchPattern(lb, m_ConstantInt(&l)) ||
        !matchPattern(ub, m_ConstantInt(&u)) ||
        !matchPattern(step, m_ConstantInt(&s)) || s.getSExtValue() <= 0)
      return std::nullopt;
    int64_t n = u.getSExtValue() - l.getSExtValue();
    total *= n <= 0 ? 0 : llvm::divideCeil(n, s.getSExtValue());
  }
  return total;
}

namespace {
struct OmpDynamicSchedulePass
    : public attn::impl::OmpDynamicSchedulePassBase<OmpDynamicSchedulePass> {
  void runOnOperation() override {
    getOperation()->walk([](omp::WsloopOp loop) {
      // An explicit schedule is the author's choice: keep it.
      if (loop.getScheduleKind())
        return;
      // Only loops over coarse tiles of matrix products (the GEMM output
      // tiles, the flash-attention blocks: their bodies hold the
      // micro-kernels' vector.fma): every dispatch costs an atomic add on
      // a counter shared by the threads (attn-omp-thread-ranges; without
      // it a runtime call, which Debian's libomp formats a string in), which
      // a loop over rows or elements of a cheap elementwise op would pay
      // once per iteration.
      auto nest = dyn_cast<omp::LoopNestOp>(loop.getWrappedLoop());
      std::optional<int64_t> trips = nest ? getTripCount(nest) : std::nullopt;
      if (!trips || *trips > kMaxDynamicTrips)
        return;
      bool hasMicroKernel =
          loop->walk([](vector::FMAOp) { return WalkResult::interrupt(); })
              .wasInterrupted();
      if (!hasMicroKernel)
        return;
      loop.setScheduleKind(omp::ClauseScheduleKind::Dynamic);
    });
  }
};
} // namespace
