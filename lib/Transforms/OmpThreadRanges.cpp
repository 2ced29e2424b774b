//===- OmpThreadRanges.cpp - work-sharing loops without schedule calls ----===//
//
// Implements attn-omp-thread-ranges: an omp.parallel whose only work is one
// omp.wsloop becomes an omp.parallel in which every thread walks its own
// range of the loop's iterations (a static schedule) or takes iterations
// from a shared counter (a dynamic one), with no call into the OpenMP
// runtime's loop scheduler.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::attn {
#define GEN_PASS_DEF_OMPTHREADRANGESPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

/// The work-sharing loop `parallel` consists of, when the rewrite applies: a
/// region of one block holding just the loop and the terminator, neither with
/// clauses beyond a static or dynamic schedule without chunk, and a loop nest
/// over `index` of one block that yields nothing.
static omp::WsloopOp getSoleWorksharingLoop(omp::ParallelOp parallel) {
  Region &region = parallel.getRegion();
  if (!region.hasOneBlock() || !parallel.getReductionVars().empty() ||
      !parallel.getPrivateVars().empty())
    return {};
  Block &block = region.front();
  if (block.getNumArguments() != 0 || !llvm::hasNItems(block, 2))
    return {};
  auto loop = dyn_cast<omp::WsloopOp>(block.front());
  if (!loop || !loop.getReductionVars().empty() ||
      !loop.getPrivateVars().empty() || !loop.getLinearVars().empty() ||
      loop.getOrdered() || loop.getOrder() || loop.getScheduleChunk() ||
      loop.getScheduleMod() || loop.getScheduleSimd())
    return {};
  if (std::optional<omp::ClauseScheduleKind> kind = loop.getScheduleKind())
    if (*kind != omp::ClauseScheduleKind::Static &&
        *kind != omp::ClauseScheduleKind::Dynamic)
      return {};
  auto nest = dyn_cast<omp::LoopNestOp>(loop.getWrappedLoop());
  if (!nest || nest.getLoopInclusive() || !nest.getRegion().hasOneBlock())
    return {};
  auto yield = dyn_cast<omp::YieldOp>(nest.getRegion().front().getTerminator());
  if (!yield || yield.getNumOperands() != 0 ||
      llvm::any_of(nest.getIVs(),
                   [](Value iv) { return !iv.getType().isIndex(); }))
    return {};
  return loop;
}

/// Whether `symbol` declares an OpenMP runtime query: () -> i32.
static bool isRuntimeQuery(Operation *symbol) {
  auto func = dyn_cast<func::FuncOp>(symbol);
  if (!func)
    return false;
  FunctionType type = func.getFunctionType();
  return type.getNumInputs() == 0 && type.getNumResults() == 1 &&
         type.getResult(0).isInteger(32);
}

/// The declaration of the OpenMP runtime query `name`, created when the
/// module has none (the caller checked that no other symbol has the name).
static func::FuncOp getRuntimeQuery(ModuleOp module, StringRef name) {
  if (auto func = module.lookupSymbol<func::FuncOp>(name))
    return func;
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  auto func = func::FuncOp::create(
      b, module.getLoc(), name,
      b.getFunctionType({}, {b.getI32Type()}));
  func.setPrivate();
  return func;
}

namespace {
struct OmpThreadRangesPass
    : public attn::impl::OmpThreadRangesPassBase<OmpThreadRangesPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<omp::ParallelOp, omp::WsloopOp>> loops;
    module.walk([&](omp::ParallelOp parallel) {
      // A region nested in another would share the dynamic counter (in the
      // function's frame) with the outer region's threads: left alone.
      if (parallel->getParentOfType<omp::ParallelOp>())
        return;
      if (omp::WsloopOp loop = getSoleWorksharingLoop(parallel))
        loops.push_back({parallel, loop});
    });
    if (loops.empty())
      return;
    // The module defines these names otherwise: keep the runtime's schedule
    // (and add nothing).
    for (StringRef name : {"omp_get_thread_num", "omp_get_num_threads"})
      if (Operation *symbol = module.lookupSymbol(name);
          symbol && !isRuntimeQuery(symbol))
        return;
    func::FuncOp threadNum = getRuntimeQuery(module, "omp_get_thread_num");
    func::FuncOp numThreads = getRuntimeQuery(module, "omp_get_num_threads");
    IRRewriter rewriter(&getContext());
    for (auto [parallel, loop] : loops)
      rewrite(rewriter, parallel, loop, threadNum, numThreads);
  }

  void rewrite(RewriterBase &rewriter, omp::ParallelOp parallel,
               omp::WsloopOp loop, func::FuncOp threadNum,
               func::FuncOp numThreads) {
    auto nest = cast<omp::LoopNestOp>(loop.getWrappedLoop());
    Location loc = loop.getLoc();
    bool dynamic =
        loop.getScheduleKind() == omp::ClauseScheduleKind::Dynamic;
    Type i64 = rewriter.getI64Type();

    // A dynamic schedule's counter of handed-out iterations lives in the
    // frame of the function around the region (shared by its threads),
    // allocated once at its entry and reset before each entry of the region.
    Value counter;
    if (dynamic) {
      Region *scope = parallel->getParentRegion();
      while (!isa<FunctionOpInterface>(scope->getParentOp()))
        scope = scope->getParentRegion();
      rewriter.setInsertionPointToStart(&scope->front());
      counter = memref::AllocaOp::create(rewriter, loc,
                                         MemRefType::get({}, i64));
      rewriter.setInsertionPoint(parallel);
      Value zero = arith::ConstantIntOp::create(rewriter, loc, i64, 0);
      memref::StoreOp::create(rewriter, loc, zero, counter);
    }

    // The iteration count of each loop of the nest and of the whole nest
    // (a loop whose upper bound is at most its lower bound has none).
    rewriter.setInsertionPoint(loop);
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    SmallVector<Value> trips;
    Value total = one;
    for (auto [lb, ub, step] :
         llvm::zip(nest.getLoopLowerBounds(), nest.getLoopUpperBounds(),
                   nest.getLoopSteps())) {
      Value span = arith::SubIOp::create(rewriter, loc, ub, lb);
      span = arith::MaxSIOp::create(rewriter, loc, span, zero);
      Value trip = arith::CeilDivSIOp::create(rewriter, loc, span, step);
      trips.push_back(trip);
      total = arith::MulIOp::create(rewriter, loc, total, trip);
    }

    Block *body;
    Value linear;
    if (dynamic) {
      // Each thread takes the next iteration until none are left.
      Value totalI64 = arith::IndexCastOp::create(rewriter, loc, i64, total);
      Value oneI64 = arith::ConstantIntOp::create(rewriter, loc, i64, 1);
      auto whileOp = scf::WhileOp::create(rewriter, loc, TypeRange{i64},
                                          ValueRange{});
      rewriter.createBlock(&whileOp.getBefore());
      Value taken = memref::AtomicRMWOp::create(
          rewriter, loc, arith::AtomicRMWKind::addi, oneI64, counter,
          ValueRange{});
      Value more = arith::CmpIOp::create(rewriter, loc,
                                         arith::CmpIPredicate::slt, taken,
                                         totalI64);
      scf::ConditionOp::create(rewriter, loc, more, ValueRange{taken});
      body = rewriter.createBlock(&whileOp.getAfter(), {}, {i64}, {loc});
      linear = arith::IndexCastOp::create(rewriter, loc,
                                          rewriter.getIndexType(),
                                          body->getArgument(0));
      scf::YieldOp::create(rewriter, loc);
    } else {
      // Thread t of T walks iterations [total·t/T, total·(t+1)/T).
      Value t = func::CallOp::create(rewriter, loc, threadNum).getResult(0);
      Value n = func::CallOp::create(rewriter, loc, numThreads).getResult(0);
      Type index = rewriter.getIndexType();
      t = arith::IndexCastOp::create(rewriter, loc, index, t);
      n = arith::IndexCastOp::create(rewriter, loc, index, n);
      Value next = arith::AddIOp::create(rewriter, loc, t, one);
      Value lo = arith::DivUIOp::create(
          rewriter, loc, arith::MulIOp::create(rewriter, loc, total, t), n);
      Value hi = arith::DivUIOp::create(
          rewriter, loc, arith::MulIOp::create(rewriter, loc, total, next),
          n);
      auto forOp = scf::ForOp::create(rewriter, loc, lo, hi, one);
      body = forOp.getBody();
      linear = forOp.getInductionVar();
    }

    // The induction variables of iteration `linear`, the last loop's
    // varying fastest.
    rewriter.setInsertionPoint(body->getTerminator());
    SmallVector<Value> ivs(trips.size());
    Value rest = linear;
    for (int64_t d = trips.size() - 1; d >= 0; --d) {
      Value index = rest;
      if (d > 0) {
        index = arith::RemUIOp::create(rewriter, loc, rest, trips[d]);
        rest = arith::DivUIOp::create(rewriter, loc, rest, trips[d]);
      }
      Value offset = arith::MulIOp::create(rewriter, loc, index,
                                           nest.getLoopSteps()[d]);
      ivs[d] = arith::AddIOp::create(rewriter, loc,
                                     nest.getLoopLowerBounds()[d], offset);
    }
    // The body in an scf.execute_region: it may hold several blocks once
    // memref-to-llvm inlines the memref.alloca_scope convert-scf-to-openmp
    // wraps it in, which an scf.for body may not.
    auto region = scf::ExecuteRegionOp::create(rewriter, loc, TypeRange{});
    Block &nestBody = nest.getRegion().front();
    Block *inner = rewriter.createBlock(&region.getRegion());
    scf::YieldOp::create(rewriter, loc);
    rewriter.eraseOp(nestBody.getTerminator());
    rewriter.inlineBlockBefore(&nestBody, inner->getTerminator(), ivs);
    rewriter.eraseOp(loop);
  }
};
} // namespace
