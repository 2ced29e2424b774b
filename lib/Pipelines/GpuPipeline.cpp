//===- GpuPipeline.cpp - attn to PTX for NVIDIA GPUs ----------------------===//
//
// Builds and registers `attn-gpu-pipeline`: attn on tensors down to an LLVM
// dialect host module that embeds PTX and launches it through the mgpu*
// runtime functions (libattn_cuda_runtime.so).
//
//===----------------------------------------------------------------------===//

#include "attn/Pipelines/Pipelines.h"

#include "PipelineStages.h"

#include "attn/Conversion/Passes.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/Transforms/OptimizeForNVVM.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

#include <limits>

using namespace mlir;

/// Static shared memory per block; more needs the dynamic-shared-memory
/// opt-in (cuFuncSetAttribute), which the launch path does not do yet.
static constexpr int64_t kStaticSharedMemoryBytes = 48 * 1024;

namespace {

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// The number of iterations of `[lb, ub)` by `step`, as an index value.
Value tripCount(OpBuilder &b, Location loc, Value lb, Value ub, Value step) {
  Value extent = arith::SubIOp::create(b, loc, ub, lb);
  return arith::CeilDivSIOp::create(b, loc, extent, step);
}

/// Replaces the induction variables `ivs` (bounds `lbs`, `steps`, extents
/// `counts`) by the multi-index that `linear` stands for in row-major order.
void delinearizeInto(OpBuilder &b, Location loc, Value linear,
                     ValueRange ivs, ValueRange lbs, ValueRange steps,
                     ValueRange counts, IRMapping &mapping) {
  SmallVector<OpFoldResult> basis(counts.begin(), counts.end());
  ValueRange indices = ivs.size() == 1
                           ? ValueRange(linear)
                           : affine::AffineDelinearizeIndexOp::create(
                                 b, loc, linear, basis, /*hasOuterBound=*/true)
                                 .getResults();
  for (auto [iv, index, lb, step] : llvm::zip(ivs, indices, lbs, steps)) {
    Value scaled = arith::MulIOp::create(b, loc, index, step);
    mapping.map(iv, arith::AddIOp::create(b, loc, lb, scaled));
  }
}

/// The buffer a view-like chain starts from.
Value getRootBuffer(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      break;
    value = view.getViewSource();
  }
  return value;
}

bool isWorkgroupMemory(Value value) {
  auto type = dyn_cast<BaseMemRefType>(getRootBuffer(value).getType());
  return type && gpu::GPUDialect::isWorkgroupMemoryAddressSpace(
                     type.getMemorySpace());
}

int64_t getSizeInBytes(MemRefType type) {
  return type.getNumElements() *
         int64_t(llvm::divideCeil(type.getElementTypeBitWidth(), 8));
}

/// A constant upper bound of the tile size `value`: partial tiles are
/// `min(T, n - offset)`, whose bound T the value-bounds analysis may not see
/// through the GPU block index the offset derives from.
FailureOr<int64_t> getConstantUpperBound(Value value) {
  if (std::optional<int64_t> cst = getConstantIntValue(value))
    return *cst;
  Operation *def = value.getDefiningOp();
  if (isa_and_nonnull<arith::MinSIOp, arith::MinUIOp>(def)) {
    FailureOr<int64_t> best = failure();
    for (Value operand : def->getOperands()) {
      FailureOr<int64_t> bound = getConstantUpperBound(operand);
      if (succeeded(bound) && (failed(best) || *bound < *best))
        best = bound;
    }
    if (succeeded(best))
      return best;
  }
  if (auto min = dyn_cast_or_null<affine::AffineMinOp>(def)) {
    int64_t best = std::numeric_limits<int64_t>::max();
    for (AffineExpr expr : min.getAffineMap().getResults())
      if (auto cst = dyn_cast<AffineConstantExpr>(expr))
        best = std::min(best, cst.getValue());
    if (best != std::numeric_limits<int64_t>::max())
      return best;
  }
  return ValueBoundsConstraintSet::computeConstantBound(
      presburger::BoundType::UB, value, /*stopCondition=*/nullptr,
      /*closedUB=*/true);
}

/// Lowers memref.copy to linalg.copy so that copies become thread-parallel
/// loops like every other linalg op instead of a host runtime call.
void copiesToLinalg(Operation *root) {
  SmallVector<memref::CopyOp> copies;
  root->walk([&](memref::CopyOp copy) { copies.push_back(copy); });
  for (memref::CopyOp copy : copies) {
    OpBuilder b(copy);
    linalg::CopyOp::create(b, copy.getLoc(), copy.getSource(),
                           copy.getTarget());
    copy.erase();
  }
}

/// Runs the iterations of `loop` round-robin over the `count` threads of a
/// block, `tid` being this thread's index: the parallel dimensions are
/// linearised so that a [Tq x Tk] tile keeps all threads busy whatever its
/// aspect ratio.
void distributeOverThreads(scf::ParallelOp loop, Value tid, Value count) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  Value total = indexConstant(b, loc, 1);
  SmallVector<Value> counts;
  for (auto [lb, ub, step] : llvm::zip(loop.getLowerBound(),
                                       loop.getUpperBound(), loop.getStep())) {
    counts.push_back(tripCount(b, loc, lb, ub, step));
    total = arith::MulIOp::create(b, loc, total, counts.back());
  }
  auto forOp = scf::ForOp::create(b, loc, tid, total, count);
  b.setInsertionPointToStart(forOp.getBody());
  IRMapping mapping;
  delinearizeInto(b, loc, forOp.getInductionVar(), loop.getInductionVars(),
                  loop.getLowerBound(), loop.getStep(), counts, mapping);
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, mapping);
  // The next loop of the block may read what this one wrote, and the first
  // loop of the next kv step overwrites what this one read.
  b.setInsertionPointAfter(forOp);
  gpu::BarrierOp::create(b, loc);
  loop.erase();
}

/// Lowers every linalg op under `root` to scf.parallel (reductions stay
/// sequential scf.for inside) and returns the outermost parallel loops.
FailureOr<SmallVector<Operation *>> linalgToParallelLoops(Operation *root) {
  SmallVector<linalg::LinalgOp> ops;
  root->walk([&](linalg::LinalgOp op) { ops.push_back(op); });
  IRRewriter rewriter(root->getContext());
  SmallVector<Operation *> outer;
  for (linalg::LinalgOp op : ops) {
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::LinalgLoops> loops =
        linalg::linalgOpToParallelLoops(rewriter, op);
    if (failed(loops)) {
      op->emitOpError("could not be lowered to parallel loops");
      return failure();
    }
    rewriter.eraseOp(op);
    // A linalg op without parallel dimensions (a full reduction) yields a
    // plain scf.for nest; it is recorded so it still runs on the device.
    if (!loops->empty())
      outer.push_back(loops->front());
  }
  return outer;
}

/// Maps the flash attention loop nest onto the GPU: every top-level
/// scf.forall (batch..., query block) becomes a gpu.launch with one block per
/// iteration; the linalg ops of its body become thread-distributed loops
/// separated by barriers; the per-tile buffers live in shared memory, and the
/// operands that contractions read from global memory (Q, K and V tiles) are
/// staged into shared memory first, so each element is loaded from DRAM once
/// per tile rather than once per use.
struct MapForallToBlocksPass
    : public PassWrapper<MapForallToBlocksPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(MapForallToBlocksPass)

  MapForallToBlocksPass(int64_t threads) : threads(threads) {}
  StringRef getArgument() const final { return "attn-gpu-map-forall"; }
  StringRef getDescription() const final {
    return "Map bufferized flash-attention scf.forall loops to GPU blocks";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<gpu::GPUDialect, scf::SCFDialect, affine::AffineDialect,
                    linalg::LinalgDialect, memref::MemRefDialect>();
    // gpu-module-to-binary at the end of the pipeline translates the
    // kernels to LLVM IR: registered here, the pipeline works in any tool
    // (attn-opt, attn-run, a user's compiler) without the tool knowing.
    registerBuiltinDialectTranslation(registry);
    registerGPUDialectTranslation(registry);
    registerLLVMDialectTranslation(registry);
    registerNVVMDialectTranslation(registry);
    NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  }

  void runOnOperation() override {
    SmallVector<scf::ForallOp> foralls;
    getOperation().walk([&](scf::ForallOp forall) {
      if (!forall->getParentOfType<scf::ForallOp>() &&
          !forall->getParentOfType<gpu::LaunchOp>())
        foralls.push_back(forall);
    });
    for (scf::ForallOp forall : foralls)
      if (failed(mapForall(forall)))
        return signalPassFailure();
  }

  LogicalResult mapForall(scf::ForallOp forall) {
    if (forall.getNumResults() != 0)
      return forall.emitOpError("must be bufferized before GPU mapping");
    OpBuilder b(forall);
    Location loc = forall.getLoc();
    SmallVector<Value> lbs = getValueOrCreateConstantIndexOp(
        b, loc, forall.getMixedLowerBound());
    SmallVector<Value> ubs = getValueOrCreateConstantIndexOp(
        b, loc, forall.getMixedUpperBound());
    SmallVector<Value> steps =
        getValueOrCreateConstantIndexOp(b, loc, forall.getMixedStep());
    Value blocks = indexConstant(b, loc, 1);
    SmallVector<Value> counts;
    for (auto [lb, ub, step] : llvm::zip(lbs, ubs, steps)) {
      counts.push_back(tripCount(b, loc, lb, ub, step));
      blocks = arith::MulIOp::create(b, loc, blocks, counts.back());
    }
    Value one = indexConstant(b, loc, 1);
    Value threadCount = indexConstant(b, loc, threads);
    // All iterations on grid x (2^31 - 1 blocks) so any batch rank fits.
    auto launch = gpu::LaunchOp::create(b, loc, blocks, one, one, threadCount,
                                        one, one);
    Block &body = launch.getBody().front();
    b.setInsertionPointToEnd(&body);
    auto terminator = gpu::TerminatorOp::create(b, loc);
    b.setInsertionPoint(terminator);
    IRMapping mapping;
    delinearizeInto(b, loc, launch.getBlockIds().x, forall.getInductionVars(),
                    lbs, steps, counts, mapping);
    for (Operation &op : forall.getBody()->without_terminator())
      b.clone(op, mapping);
    forall.erase();

    copiesToLinalg(launch);
    int64_t sharedBytes = 0;
    if (failed(promoteAllocsToShared(launch, sharedBytes)))
      return failure();
    stageContractionOperands(launch, sharedBytes);

    FailureOr<SmallVector<Operation *>> loops = linalgToParallelLoops(launch);
    if (failed(loops))
      return failure();
    Value tid = launch.getThreadIds().x;
    Value count = launch.getBlockSizeX();
    for (Operation *loop : *loops) {
      if (auto parallel = dyn_cast<scf::ParallelOp>(loop)) {
        distributeOverThreads(parallel, tid, count);
        continue;
      }
      // A loop nest with no parallel dimension: thread 0 runs it.
      OpBuilder lb(loop);
      Value isFirst = arith::CmpIOp::create(
          lb, loop->getLoc(), arith::CmpIPredicate::eq, tid,
          indexConstant(lb, loop->getLoc(), 0));
      auto ifOp = scf::IfOp::create(lb, loop->getLoc(), isFirst);
      loop->moveBefore(ifOp.thenBlock()->getTerminator());
      lb.setInsertionPointAfter(ifOp);
      gpu::BarrierOp::create(lb, loop->getLoc());
    }
    return success();
  }

  /// Every buffer allocated in the block body is a tile shared by the
  /// block's threads: it becomes a workgroup attribution (static shared
  /// memory, the bound of a dynamic size when a tile is partial), seen by the
  /// body through a cast back to the default address space so its users keep
  /// their types. The NVPTX backend's address-space inference turns the
  /// generic accesses back into ld/st.shared.
  LogicalResult promoteAllocsToShared(gpu::LaunchOp launch,
                                      int64_t &sharedBytes) {
    SmallVector<memref::AllocOp> allocs;
    launch.walk([&](memref::AllocOp alloc) { allocs.push_back(alloc); });
    Attribute workgroup = gpu::AddressSpaceAttr::get(
        launch.getContext(), gpu::AddressSpace::Workgroup);
    for (memref::AllocOp alloc : allocs) {
      MemRefType type = alloc.getType();
      if (!type.getLayout().isIdentity())
        return alloc.emitOpError("has a non-identity layout; cannot place it "
                                 "in GPU shared memory");
      SmallVector<int64_t> bound(type.getShape());
      unsigned dynamicIndex = 0;
      for (int64_t &dim : bound) {
        if (!ShapedType::isDynamic(dim))
          continue;
        Value size = alloc.getDynamicSizes()[dynamicIndex++];
        FailureOr<int64_t> ub = getConstantUpperBound(size);
        if (failed(ub))
          return alloc.emitOpError(
              "has a dynamic size with no constant upper bound; cannot place "
              "it in GPU shared memory");
        dim = *ub;
      }
      auto sharedType =
          MemRefType::get(bound, type.getElementType(), nullptr, workgroup);
      sharedBytes += getSizeInBytes(sharedType);
      if (sharedBytes > kStaticSharedMemoryBytes)
        return alloc.emitOpError("flash attention tiles need more than ")
               << kStaticSharedMemoryBytes
               << " bytes of shared memory per block; use smaller q-tile or "
                  "kv-tile";
      Value shared = launch.addWorkgroupAttribution(sharedType, alloc.getLoc());
      OpBuilder b(alloc);
      Location loc = alloc.getLoc();
      Value view = shared;
      if (!type.hasStaticShape()) {
        // The partial tile: the leading part of the bounded buffer, with the
        // identity layout of the original dynamic type.
        SmallVector<OpFoldResult> sizes = alloc.getMixedSizes();
        SmallVector<OpFoldResult> strides(sizes.size());
        OpFoldResult stride = b.getIndexAttr(1);
        for (int64_t d = int64_t(sizes.size()) - 1; d >= 0; --d) {
          strides[d] = stride;
          std::optional<int64_t> s = getConstantIntValue(stride);
          std::optional<int64_t> n = getConstantIntValue(sizes[d]);
          // Static strides where they are static: the identity layout of
          // the result type requires it.
          if (s && n) {
            stride = b.getIndexAttr(*s * *n);
            continue;
          }
          stride = arith::MulIOp::create(
                       b, loc, getValueOrCreateConstantIndexOp(b, loc, stride),
                       getValueOrCreateConstantIndexOp(b, loc, sizes[d]))
                       .getResult();
        }
        auto viewType = MemRefType::get(type.getShape(), type.getElementType(),
                                        nullptr, workgroup);
        view = memref::ReinterpretCastOp::create(b, loc, viewType, shared,
                                                 b.getIndexAttr(0), sizes,
                                                 strides);
      }
      Value generic = memref::MemorySpaceCastOp::create(b, loc, type, view);
      alloc.replaceAllUsesWith(generic);
      alloc.erase();
    }
    return success();
  }

  /// Copies the statically shaped global-memory operands of contractions in
  /// the block into shared memory, right where the operand's view is made
  /// (outside the kv loop for the Q tile, inside it for K and V), as long as
  /// the block's shared memory allows.
  void stageContractionOperands(gpu::LaunchOp launch, int64_t &sharedBytes) {
    SmallVector<linalg::LinalgOp> contractions;
    launch.walk([&](linalg::LinalgOp op) {
      if (linalg::isaContractionOpInterface(op))
        contractions.push_back(op);
    });
    Attribute workgroup = gpu::AddressSpaceAttr::get(
        launch.getContext(), gpu::AddressSpace::Workgroup);
    DenseMap<Value, Value> staged;
    for (linalg::LinalgOp op : contractions) {
      for (OpOperand *operand : op.getDpsInputOperands()) {
        Value value = operand->get();
        auto type = dyn_cast<MemRefType>(value.getType());
        if (!type || !type.hasStaticShape() || isWorkgroupMemory(value))
          continue;
        if (Value copy = staged.lookup(value)) {
          operand->set(copy);
          continue;
        }
        auto sharedType = MemRefType::get(type.getShape(),
                                          type.getElementType(), nullptr,
                                          workgroup);
        if (sharedBytes + getSizeInBytes(sharedType) >
            kStaticSharedMemoryBytes) {
          op->emitRemark("operand #")
              << operand->getOperandNumber()
              << " is read from global memory: staging it would exceed the "
                 "static shared memory of a block";
          continue;
        }
        sharedBytes += getSizeInBytes(sharedType);
        Value shared =
            launch.addWorkgroupAttribution(sharedType, value.getLoc());
        OpBuilder b(op);
        if (Operation *def = value.getDefiningOp())
          b.setInsertionPointAfter(def);
        Location loc = value.getLoc();
        auto genericType = MemRefType::get(type.getShape(),
                                           type.getElementType());
        Value generic =
            memref::MemorySpaceCastOp::create(b, loc, genericType, shared);
        linalg::CopyOp::create(b, loc, value, generic);
        staged[value] = generic;
        operand->set(generic);
      }
    }
  }

  int64_t threads;
};

/// Puts what is left of the graph on the GPU: every linalg op outside a
/// launch (unfused matmuls, bias adds, LayerNorm parts) becomes its own
/// gpu.launch over its parallel iteration space, one thread per iteration;
/// host buffers move to CUDA managed memory (gpu.alloc host_shared), which
/// the kernels and the C caller can both address, and the arguments and
/// constants the kernels read are copied into it at entry.
struct MapHostLoopsPass
    : public PassWrapper<MapHostLoopsPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(MapHostLoopsPass)

  MapHostLoopsPass(int64_t threads, bool deviceMemory)
      : threads(threads), deviceMemory(deviceMemory) {}
  StringRef getArgument() const final { return "attn-gpu-map-host-loops"; }
  StringRef getDescription() const final {
    return "Turn linalg ops outside GPU launches into kernels; move host "
           "buffers to managed memory";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<gpu::GPUDialect, scf::SCFDialect, affine::AffineDialect,
                    memref::MemRefDialect>();
  }

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

  int64_t threads;
  /// Arguments are used in place and temporaries live in device memory.
  bool deviceMemory;
};

/// Lowers math ops in kernels without libdevice: convert-gpu-to-nvvm
/// turns them into __nv_* calls that only libdevice.bc (from a CUDA toolkit)
/// defines, and PTX with unresolved calls does not load. f32 exp becomes
/// the hardware ex2.approx (2^(x log2 e); softmax arguments are <= 0, where
/// its 2-ulp error is far below bf16/f16 rounding); the rest become upstream's
/// polynomial approximations in plain arithmetic.
struct GpuLowerMathPass
    : public PassWrapper<GpuLowerMathPass, OperationPass<gpu::GPUModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(GpuLowerMathPass)

  StringRef getArgument() const final { return "attn-gpu-lower-math"; }
  StringRef getDescription() const final {
    return "Lower math ops in GPU kernels to ex2.approx and polynomials";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<LLVM::LLVMDialect, arith::ArithDialect,
                    math::MathDialect>();
  }

  void runOnOperation() override {
    SmallVector<math::ExpOp> exps;
    getOperation().walk([&](math::ExpOp exp) {
      if (exp.getType().isF32())
        exps.push_back(exp);
    });
    for (math::ExpOp exp : exps) {
      OpBuilder b(exp);
      Location loc = exp.getLoc();
      Value log2e = arith::ConstantOp::create(
          b, loc, b.getF32FloatAttr(1.4426950408889634));
      Value scaled = arith::MulFOp::create(b, loc, exp.getOperand(), log2e);
      auto ex2 = LLVM::CallIntrinsicOp::create(
          b, loc, b.getF32Type(), b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f"),
          ValueRange{scaled});
      exp.replaceAllUsesWith(ex2.getResult(0));
      exp.erase();
    }
    RewritePatternSet patterns(&getContext());
    auto all = [](StringRef) { return true; };
    populateMathF32ExpansionPatterns(patterns, all);
    populateMathPolynomialApproximationPatterns(patterns, all);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::attn::buildGpuPipeline(OpPassManager &pm,
                                  const GpuPipelineOptions &options) {
  // The same front half as the CPU pipeline: recognise and fuse attention,
  // flash-tile it, everything else becomes linalg on tensors.
  ConvertAttnToLinalgPassOptions toLinalg;
  toLinalg.qTile = options.qTile;
  toLinalg.kvTile = options.kvTile;
  // Attentions the tensor cores can run become kernel launches before the
  // generic lowering sees them; the others take the scalar path below.
  StringRef chip = options.chip;
  int64_t capability = 0;
  if (chip.consume_front("sm_")) {
    chip.consume_back("a");
    if (chip.getAsInteger(10, capability))
      capability = 0;
  }
  addTensorStages(pm, toLinalg, [&](OpPassManager &nested) {
    if (!options.tensorCores || capability < 80)
      return;
    ConvertAttnToGPUPassOptions tensorCore;
    tensorCore.chip = options.chip;
    tensorCore.warps = options.warps;
    tensorCore.stages = options.stages;
    nested.addPass(createConvertAttnToGPUPass(tensorCore));
    // The projections and MLPs of model graphs.
    ConvertEinsumToGPUPassOptions gemm;
    gemm.chip = options.chip;
    nested.addPass(createConvertEinsumToGPUPass(gemm));
  });

  // Tensors -> buffers. No deallocation pipeline: tiles inside the flash
  // loop become static shared memory and host buffers become managed
  // memory whose lifetime MapHostLoopsPass handles (function-local code is
  // straight-line once every loop nest is a kernel).
  addBufferizeStage(pm);
  pm.addPass(createCanonicalizerPass());
  if (options.deviceMemory) {
    // Results become trailing out-parameters the caller allocates (e.g. as
    // torch tensors); the buffer computing each result is the caller's.
    bufferization::BufferResultsToOutParamsPassOptions outParams;
    outParams.hoistStaticAllocs = true;
    outParams.modifyPublicFunctions = true;
    pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
    pm.addPass(createCanonicalizerPass());
  }

  // Buffers -> kernels.
  pm.addNestedPass<func::FuncOp>(
      std::make_unique<MapForallToBlocksPass>(options.threads));
  pm.addNestedPass<func::FuncOp>(std::make_unique<MapHostLoopsPass>(
      options.threads, options.deviceMemory));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.emitCInterface)
    pm.addPass(createEmitCInterfacePass());

  // Kernels -> NVVM -> PTX, host -> LLVM with mgpu* calls; upstream's
  // gpu-lower-to-nvvm-pipeline with the host memref lowering it lacks.
  pm.addPass(createGpuKernelOutliningPass());
  if (options.deviceMemory)
    // One stream per call (the caller's, see attnCudaSetStream): launches,
    // copies and temporaries are enqueued on it, with one wait at the end
    // instead of one per launch.
    pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertFuncToLLVMPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  pm.addNestedPass<gpu::GPUModuleOp>(std::make_unique<GpuLowerMathPass>());
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps());
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());

  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions toBinary;
  toBinary.compilationTarget = options.format;
  pm.addPass(createGpuModuleToBinaryPass(toBinary));
  pm.addPass(createCanonicalizerPass());
}

void mlir::attn::registerGpuPipeline() {
  PassPipelineRegistration<GpuPipelineOptions>(
      "attn-gpu-pipeline",
      "Lower attn (tensors) to PTX for NVIDIA GPUs: flash tiling, one-shot "
      "bufferization, GPU blocks and threads with shared-memory tiles, NVVM, "
      "PTX embedded in an LLVM-dialect host module",
      buildGpuPipeline);
}
