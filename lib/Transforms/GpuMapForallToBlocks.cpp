//===- GpuMapForallToBlocks.cpp - flash nests onto GPU blocks -------------===//
//
// Implements attn-gpu-map-forall: each bufferized flash nest becomes a
// gpu.launch with one block per iteration, its tiles in shared memory and
// its linalg ops distributed over the block's threads.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "GpuMappingUtils.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"

#include <limits>

namespace mlir::attn {
#define GEN_PASS_DEF_GPUMAPFORALLTOBLOCKSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn::gpu_mapping;

/// Static shared memory per block; more needs the dynamic-shared-memory
/// opt-in (cuFuncSetAttribute), which the launch path does not do yet.
static constexpr int64_t kStaticSharedMemoryBytes = 48 * 1024;

namespace {

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

/// Maps the flash attention loop nest onto the GPU: every top-level
/// scf.forall (batch..., query block) becomes a gpu.launch with one block per
/// iteration; the linalg ops of its body become thread-distributed loops
/// separated by barriers; the per-tile buffers live in shared memory, and the
/// operands that contractions read from global memory (Q, K and V tiles) are
/// staged into shared memory first, so each element is loaded from DRAM once
/// per tile rather than once per use.
struct GpuMapForallToBlocksPass
    : public attn::impl::GpuMapForallToBlocksPassBase<
          GpuMapForallToBlocksPass> {
  using Base::Base;

  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
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
};


} // namespace
