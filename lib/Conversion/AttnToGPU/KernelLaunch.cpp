//===- KernelLaunch.cpp - launching generated kernels on tensors ----------===//
//
// Implements the host-side helpers declared in KernelLaunch.h.
//
//===----------------------------------------------------------------------===//

#include "KernelLaunch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

gpu::GPUModuleOp mlir::attn::getOrCreateKernelModule(ModuleOp module) {
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(module.getContext()));
  if (auto existing = module.lookupSymbol<gpu::GPUModuleOp>("attn_kernels"))
    return existing;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  return gpu::GPUModuleOp::create(b, module.getLoc(), "attn_kernels");
}

/// The data pointer of a memref as an LLVM pointer for a kernel argument.
static Value getDataPointer(OpBuilder &b, Location loc, Value memref) {
  Value index = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  Value address = arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  return LLVM::IntToPtrOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext()), address);
}

/// The identity-layout memref type of a tensor: to_buffer of a strided
/// tensor (a slice) then makes bufferization copy it contiguous.
static MemRefType getContiguousType(Type tensorType) {
  auto type = cast<RankedTensorType>(tensorType);
  return MemRefType::get(type.getShape(), type.getElementType());
}

Value mlir::attn::createKernelLaunch(OpBuilder &b, Location loc,
                                     gpu::GPUFuncOp kernel, ValueRange inputs,
                                     Type resultType, unsigned resultPosition,
                                     std::array<int64_t, 3> grid,
                                     int64_t threads, int64_t sharedBytes) {
  SmallVector<Value> args;
  for (Value tensor : inputs) {
    Value buffer = bufferization::ToBufferOp::create(
        b, loc, getContiguousType(tensor.getType()), tensor,
        /*read_only=*/true);
    args.push_back(getDataPointer(b, loc, buffer));
  }
  Value out = memref::AllocOp::create(b, loc, getContiguousType(resultType),
                                      b.getI64IntegerAttr(128));
  args.insert(args.begin() + resultPosition, getDataPointer(b, loc, out));
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  Value one = index(1);
  gpu::KernelDim3 gridSize{index(grid[0]), index(grid[1]), index(grid[2])};
  gpu::KernelDim3 blockSize{index(threads), one, one};
  Value shared = arith::ConstantIntOp::create(b, loc, sharedBytes, 32);
  gpu::LaunchFuncOp::create(b, loc, kernel, gridSize, blockSize, shared, args);
  return bufferization::ToTensorOp::create(b, loc, resultType, out,
                                           /*restrict=*/true,
                                           /*writable=*/true);
}
