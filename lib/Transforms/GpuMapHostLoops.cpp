//===- GpuMapHostLoops.cpp - the rest of the graph onto the GPU -----------===//
//
// Implements attn-gpu-map-host-loops: linalg ops outside GPU launches become
// kernels of one thread per iteration, and host buffers move to managed (or
// device) memory.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "GpuMappingUtils.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::attn {
#define GEN_PASS_DEF_GPUMAPHOSTLOOPSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn::gpu_mapping;

namespace {

/// Puts what is left of the graph on the GPU: every linalg op outside a
/// launch (unfused matmuls, bias adds, LayerNorm parts) becomes its own
/// gpu.launch over its parallel iteration space, one thread per iteration;
/// host buffers move to CUDA managed memory (gpu.alloc host_shared), which
/// the kernels and the C caller can both address, and the arguments and
/// constants the kernels read are copied into it at entry.
struct GpuMapHostLoopsPass
    : public attn::impl::GpuMapHostLoopsPassBase<GpuMapHostLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    SmallVector<memref::CopyOp> copies;
    func.walk([&](memref::CopyOp copy) {
      if (!copy->getParentOfType<gpu::LaunchOp>())
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      OpBuilder b(copy);
      linalg::CopyOp::create(b, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
      copy.erase();
    }
    SmallVector<linalg::LinalgOp> ops;
    func.walk([&](linalg::LinalgOp op) {
      if (!op->getParentOfType<gpu::LaunchOp>())
        ops.push_back(op);
    });
    for (linalg::LinalgOp op : ops)
      if (failed(mapToKernel(op)))
        return signalPassFailure();
    if (failed(moveBuffersToManagedMemory(func)))
      return signalPassFailure();
  }

  LogicalResult mapToKernel(linalg::LinalgOp op) {
    if (!op.hasPureBufferSemantics())
      return op->emitOpError("must be bufferized before GPU mapping");
    OpBuilder b(op);
    Location loc = op.getLoc();
    Value one = indexConstant(b, loc, 1);
    // The launch is created around the op, which then lowers to loops in
    // place: its bounds are computed inside the kernel, so only the total
    // is needed here, from the op's static or dynamic loop ranges.
    SmallVector<Range> ranges = op.createLoopRanges(b, loc);
    Value total = one;
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    for (auto [range, iterator] : llvm::zip(ranges, iterators)) {
      if (iterator != utils::IteratorType::parallel)
        continue;
      Value size = getValueOrCreateConstantIndexOp(b, loc, range.size);
      total = arith::MulIOp::create(b, loc, total, size);
    }
    Value threadCount = indexConstant(b, loc, threads);
    Value blocks = arith::CeilDivSIOp::create(b, loc, total, threadCount);
    auto launch = gpu::LaunchOp::create(b, loc, blocks, one, one, threadCount,
                                        one, one);
    Block &body = launch.getBody().front();
    b.setInsertionPointToEnd(&body);
    auto terminator = gpu::TerminatorOp::create(b, loc);
    op->moveBefore(terminator);
    FailureOr<SmallVector<Operation *>> loops = linalgToParallelLoops(launch);
    if (failed(loops))
      return failure();
    b.setInsertionPointToStart(&body);
    Value bid = launch.getBlockIds().x;
    Value tid = launch.getThreadIds().x;
    Value linear = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, bid, launch.getBlockSizeX()),
        tid);
    for (Operation *loop : *loops) {
      OpBuilder lb(loop);
      auto parallel = dyn_cast<scf::ParallelOp>(loop);
      if (!parallel) {
        // No parallel dimension (a full reduction): one thread runs it.
        Value isFirst = arith::CmpIOp::create(
            lb, loc, arith::CmpIPredicate::eq, linear, indexConstant(lb, loc, 0));
        auto ifOp = scf::IfOp::create(lb, loc, isFirst);
        loop->moveBefore(ifOp.thenBlock()->getTerminator());
        continue;
      }
      // One thread per iteration of the linearised parallel space.
      SmallVector<Value> counts;
      Value count = indexConstant(lb, loc, 1);
      for (auto [l, u, s] : llvm::zip(parallel.getLowerBound(),
                                      parallel.getUpperBound(),
                                      parallel.getStep())) {
        counts.push_back(tripCount(lb, loc, l, u, s));
        count = arith::MulIOp::create(lb, loc, count, counts.back());
      }
      Value inRange = arith::CmpIOp::create(lb, loc, arith::CmpIPredicate::slt,
                                            linear, count);
      auto ifOp = scf::IfOp::create(lb, loc, inRange);
      OpBuilder ib = OpBuilder::atBlockTerminator(ifOp.thenBlock());
      IRMapping mapping;
      delinearizeInto(ib, loc, linear, parallel.getInductionVars(),
                      parallel.getLowerBound(), parallel.getStep(), counts,
                      mapping);
      for (Operation &inner : parallel.getBody()->without_terminator())
        ib.clone(inner, mapping);
      parallel.erase();
    }
    return success();
  }

  /// Host allocations become managed memory; host buffers the kernels read
  /// (arguments, constant globals) get a managed copy made at entry.
  /// Managed buffers that are not returned are freed before each return.
  /// With `deviceMemory`, arguments (the caller's device or managed
  /// buffers, outputs included) are used in place, and allocations and the
  /// copies of constants are device memory.
  LogicalResult moveBuffersToManagedMemory(func::FuncOp func) {
    MLIRContext *ctx = func.getContext();
    Type tokenType = gpu::AsyncTokenType::get(ctx);
    SmallVector<Value> managed;

    auto makeManagedCopy = [&](OpBuilder &b, Location loc,
                               Value host) -> FailureOr<Value> {
      auto type = dyn_cast<MemRefType>(host.getType());
      if (!type || !type.getLayout().isIdentity() || !type.hasStaticShape())
        return failure();
      auto alloc = gpu::AllocOp::create(b, loc, type, /*asyncToken=*/nullptr,
                                        ValueRange{}, ValueRange{},
                                        ValueRange{}, !deviceMemory);
      Value wait = gpu::WaitOp::create(b, loc, tokenType, ValueRange{})
                       .getAsyncToken();
      Value copied = gpu::MemcpyOp::create(b, loc, tokenType, ValueRange{wait},
                                           alloc.getMemref(), host)
                         .getAsyncToken();
      gpu::WaitOp::create(b, loc, Type(), ValueRange{copied});
      managed.push_back(alloc.getMemref());
      return alloc.getMemref();
    };

    // Arguments: copied at entry. A view of an argument taken on the host
    // (e.g. a collapse_shape feeding a kernel) is copied through its root.
    Block &entry = func.getBody().front();
    OpBuilder b = OpBuilder::atBlockBegin(&entry);
    for (BlockArgument arg : func.getArguments()) {
      if (deviceMemory || !isa<MemRefType>(arg.getType()) || arg.use_empty())
        continue;
      FailureOr<Value> copy = makeManagedCopy(b, arg.getLoc(), arg);
      if (failed(copy))
        return func.emitOpError("argument #")
               << arg.getArgNumber()
               << " must be a statically shaped, identity-layout memref to "
                  "be copied to the GPU";
      arg.replaceAllUsesExcept(*copy, copy->getDefiningOp()->getNextNode()
                                          ->getNextNode());
    }
    SmallVector<memref::GetGlobalOp> globals;
    func.walk([&](memref::GetGlobalOp global) {
      if (!global->getParentOfType<gpu::LaunchOp>())
        globals.push_back(global);
    });
    for (memref::GetGlobalOp global : globals) {
      OpBuilder gb(global);
      gb.setInsertionPointAfter(global);
      FailureOr<Value> copy = makeManagedCopy(gb, global.getLoc(), global);
      if (failed(copy))
        return global.emitOpError("cannot be copied to the GPU");
      global.getResult().replaceAllUsesExcept(
          *copy, copy->getDefiningOp()->getNextNode()->getNextNode());
    }

    SmallVector<memref::AllocOp> allocs;
    func.walk([&](memref::AllocOp alloc) {
      if (!alloc->getParentOfType<gpu::LaunchOp>())
        allocs.push_back(alloc);
    });
    for (memref::AllocOp alloc : allocs) {
      OpBuilder ab(alloc);
      auto gpuAlloc = gpu::AllocOp::create(
          ab, alloc.getLoc(), alloc.getType(), /*asyncToken=*/nullptr,
          ValueRange{}, alloc.getDynamicSizes(), alloc.getSymbolOperands(),
          /*hostShared=*/!deviceMemory);
      alloc.replaceAllUsesWith(gpuAlloc.getMemref());
      alloc.erase();
      managed.push_back(gpuAlloc.getMemref());
    }
    SmallVector<memref::DeallocOp> deallocs;
    func.walk([&](memref::DeallocOp dealloc) { deallocs.push_back(dealloc); });
    for (memref::DeallocOp dealloc : deallocs)
      dealloc.erase();

    // Free what does not escape. Results are owned by the caller, who frees
    // them with mgpuMemFree (or leaks them at exit).
    SmallVector<func::ReturnOp> returns;
    func.walk([&](func::ReturnOp ret) { returns.push_back(ret); });
    for (func::ReturnOp ret : returns) {
      llvm::SmallPtrSet<Value, 4> escaping;
      for (Value result : ret.getOperands())
        escaping.insert(getRootBuffer(result));
      OpBuilder rb(ret);
      for (Value buffer : managed) {
        if (escaping.contains(buffer) ||
            !buffer.getParentBlock()->getParentOp()->isAncestor(ret) ||
            buffer.getParentRegion() != ret->getParentRegion())
          continue;
        Value wait = gpu::WaitOp::create(rb, ret.getLoc(), tokenType,
                                         ValueRange{})
                         .getAsyncToken();
        Value freed = gpu::DeallocOp::create(rb, ret.getLoc(), tokenType,
                                             ValueRange{wait}, buffer)
                          .getAsyncToken();
        gpu::WaitOp::create(rb, ret.getLoc(), Type(), ValueRange{freed});
      }
    }
    return success();
  }
};


} // namespace
