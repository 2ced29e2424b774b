//===- KernelBuilder.h - building NVVM kernels op by op --------*- C++ -*-===//
//
// A thin layer over ImplicitLocOpBuilder for the tensor-core kernels: i32
// index arithmetic, byte-addressed global/shared pointers, and one call per
// warp-level instruction (cp.async, ldmatrix, mma.sync, shfl.sync), so that
// the kernels read as the algorithm rather than as operation plumbing.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTOGPU_KERNELBUILDER_H
#define ATTN_LIB_CONVERSION_ATTNTOGPU_KERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <array>

namespace mlir::attn::gpu_kernel {

/// Address spaces of NVPTX.
enum AddressSpace : unsigned { Generic = 0, Global = 1, Shared = 3 };

/// Four registers of an mma fragment (A: 4 x b32, accumulators: 4 x f32).
using Frag4 = std::array<Value, 4>;

class KernelBuilder {
public:
  explicit KernelBuilder(ImplicitLocOpBuilder &b) : b(b) {}

  ImplicitLocOpBuilder &b;

  Type i32() { return b.getI32Type(); }
  Type i64() { return b.getI64Type(); }
  Type f32() { return b.getF32Type(); }
  Type ptr(unsigned space) {
    return LLVM::LLVMPointerType::get(b.getContext(), space);
  }

  Value c32(int64_t value) {
    return arith::ConstantIntOp::create(b, value, 32);
  }
  Value c64(int64_t value) {
    return arith::ConstantIntOp::create(b, value, 64);
  }
  Value cf32(double value) {
    return arith::ConstantFloatOp::create(b, b.getF32Type(),
                                          llvm::APFloat(float(value)));
  }
  Value negInf() {
    return arith::ConstantFloatOp::create(
        b, b.getF32Type(), llvm::APFloat::getInf(llvm::APFloat::IEEEsingle(),
                                                 /*Negative=*/true));
  }

  // i32 arithmetic (no wrap: all values are small non-negative indices).
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value add(Value x, int64_t y) { return y ? add(x, c32(y)) : x; }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
  Value mul(Value x, int64_t y) {
    return arith::MulIOp::create(b, x, c32(y));
  }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value andi(Value x, int64_t y) {
    return arith::AndIOp::create(b, x, c32(y));
  }
  Value xori(Value x, Value y) { return arith::XOrIOp::create(b, x, y); }
  Value xori(Value x, int64_t y) { return y ? xori(x, c32(y)) : x; }
  Value shl(Value x, int64_t y) {
    return y ? Value(arith::ShLIOp::create(b, x, c32(y))) : x;
  }
  Value shr(Value x, int64_t y) {
    return y ? Value(arith::ShRUIOp::create(b, x, c32(y))) : x;
  }
  Value divu(Value x, int64_t y) {
    return arith::DivUIOp::create(b, x, c32(y));
  }
  Value remu(Value x, int64_t y) {
    return arith::RemUIOp::create(b, x, c32(y));
  }
  Value minsi(Value x, Value y) { return arith::MinSIOp::create(b, x, y); }
  Value cmp(arith::CmpIPredicate predicate, Value x, Value y) {
    return arith::CmpIOp::create(b, predicate, x, y);
  }
  Value select(Value condition, Value x, Value y) {
    return arith::SelectOp::create(b, condition, x, y);
  }
  Value zext64(Value x) { return arith::ExtUIOp::create(b, i64(), x); }

  // f32 arithmetic.
  Value addf(Value x, Value y) { return arith::AddFOp::create(b, x, y); }
  Value mulf(Value x, Value y) { return arith::MulFOp::create(b, x, y); }
  Value maxf(Value x, Value y) { return arith::MaxNumFOp::create(b, x, y); }
  /// x * y + z rounded once (FFMA); llvm.intr.fma rather than math.fma,
  /// which convert-gpu-to-nvvm would turn into a libdevice call.
  Value fma(Value x, Value y, Value z) {
    return LLVM::FMAOp::create(b, x, y, z);
  }
  /// 2^x with the hardware approximation (MUFU.EX2, 2 ulp, flushes
  /// denormals: far below the bf16/f16 rounding of the probabilities).
  Value exp2(Value x) {
    return LLVM::CallIntrinsicOp::create(
               b, f32(), b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f"),
               ValueRange{x})
        .getResult(0);
  }

  /// `base + offset` bytes (offset i32 or i64).
  Value gep(Value base, Value offset) {
    return LLVM::GEPOp::create(b, base.getType(), b.getI8Type(), base,
                               ArrayRef<LLVM::GEPArg>{offset},
                               LLVM::GEPNoWrapFlags::inbounds);
  }
  Value gep(Value base, int64_t offset) {
    return offset ? gep(base, c32(offset)) : base;
  }
  Value toGlobal(Value generic) {
    return LLVM::AddrSpaceCastOp::create(b, ptr(Global), generic);
  }

  Value load(Type type, Value address, unsigned alignment) {
    return LLVM::LoadOp::create(b, type, address, alignment);
  }
  void store(Value value, Value address, unsigned alignment) {
    LLVM::StoreOp::create(b, value, address, alignment);
  }

  /// 16-byte asynchronous copy global -> shared, bypassing L1; with
  /// `srcBytes` (0 or 16) the rest of the 16 bytes is zero-filled.
  void cpAsync16(Value sharedDst, Value globalSrc, Value srcBytes = {}) {
    NVVM::CpAsyncOp::create(b, sharedDst, globalSrc, 16,
                            NVVM::LoadCacheModifierKind::CG, srcBytes);
  }
  void cpAsyncCommit() { NVVM::CpAsyncCommitGroupOp::create(b); }
  void cpAsyncWait(int64_t pendingGroups) {
    NVVM::CpAsyncWaitGroupOp::create(b, uint32_t(pendingGroups));
  }
  void barrier() { NVVM::Barrier0Op::create(b); }
  void syncWarp() { NVVM::SyncWarpOp::create(b, c32(-1)); }

  /// Four 8x8 b16 matrices, lane l giving the address of row l % 8 of
  /// matrix l / 8; `transpose` loads them transposed (ldmatrix.trans).
  Frag4 ldmatrixX4(Value sharedAddress, bool transpose) {
    Type i32Type = i32();
    auto structType = LLVM::LLVMStructType::getLiteral(
        b.getContext(), {i32Type, i32Type, i32Type, i32Type});
    Value fragment = NVVM::LdMatrixOp::create(
        b, structType, sharedAddress, 4,
        transpose ? NVVM::MMALayout::col : NVVM::MMALayout::row,
        NVVM::LdStMatrixShapeAttr::get(b.getContext(), 8, 8),
        NVVM::LdStMatrixEltType::B16);
    return unpack4(fragment);
  }

  Frag4 unpack4(Value structValue) {
    Frag4 parts;
    for (int64_t i = 0; i < 4; ++i)
      parts[i] = LLVM::ExtractValueOp::create(b, structValue, i);
    return parts;
  }

  /// The warp-wide D = A B + C of mma.sync m16n8k16.row.col with f32
  /// accumulators; `a` (4) and `b` (2) are b32 registers of packed f16/bf16
  /// pairs, as ldmatrix and packPair make them.
  std::array<Value, 4> mma16816(Type elementType, ArrayRef<Value> a,
                                ArrayRef<Value> bRegs,
                                ArrayRef<Value> accumulator) {
    SmallVector<Value, 4> aOps, bOps;
    for (Value v : a)
      aOps.push_back(asMmaOperand(elementType, v));
    for (Value v : bRegs)
      bOps.push_back(asMmaOperand(elementType, v));
    Type f32Type = f32();
    auto structType = LLVM::LLVMStructType::getLiteral(
        b.getContext(), {f32Type, f32Type, f32Type, f32Type});
    NVVM::MMATypes type = elementType.isBF16() ? NVVM::MMATypes::bf16
                                               : NVVM::MMATypes::f16;
    Value d = NVVM::MmaOp::create(
        b, structType, aOps, bOps, accumulator, {16, 8, 16}, std::nullopt,
        std::nullopt, std::array<NVVM::MMATypes, 2>{type, type},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                       NVVM::MMALayout::col});
    return unpack4(d);
  }

  /// Two f32 rounded to f16/bf16 and packed into one b32 register, `low`
  /// in the low half (the element with the smaller column index).
  Value packPair(Type elementType, Value low, Value high) {
    auto wide = VectorType::get({2}, f32());
    auto narrow = VectorType::get({2}, elementType);
    Value pair = LLVM::PoisonOp::create(b, wide);
    pair = LLVM::InsertElementOp::create(b, pair, low, c32(0));
    pair = LLVM::InsertElementOp::create(b, pair, high, c32(1));
    Value rounded = arith::TruncFOp::create(b, narrow, pair);
    return LLVM::BitcastOp::create(b, i32(), rounded);
  }

  /// Butterfly shuffle within the warp: the value of lane `lane ^ offset`.
  Value shflXor(Value value, int64_t offset) {
    return NVVM::ShflOp::create(b, value.getType(), c32(-1), value,
                                c32(offset), c32(31), NVVM::ShflKind::bfly,
                                UnitAttr());
  }

  /// The wgmma shared-memory matrix descriptor of an operand whose 8-row x
  /// 128-byte swizzle atoms start at `address` (1024-byte aligned atoms):
  /// bits 0-13 address >> 4, 16-29 leading byte offset >> 4, 32-45 stride
  /// byte offset >> 4, 62-63 swizzle mode 1 (128 bytes). K-major operands
  /// take stride 1024 (the next 8 rows) and an unused leading offset of 16;
  /// MN-major ones the offset of the next 64-element atom along MN as the
  /// leading one and 1024 (the next 8 rows of K) as the stride.
  Value wgmmaDescriptor(Value address, int64_t leadingBytes,
                        int64_t strideBytes) {
    Value shared32 = arith::TruncIOp::create(
        b, i32(), LLVM::PtrToIntOp::create(b, i64(), address));
    Value start = andi(shr(shared32, 4), 0x3FFF);
    int64_t fixed = (((leadingBytes >> 4) & 0x3FFF) << 16) |
                    (((strideBytes >> 4) & 0x3FFF) << 32) |
                    (int64_t(1) << 62);
    return arith::OrIOp::create(b, zext64(start), c64(fixed));
  }

  /// D = A B + D by one warpgroup, A and B in shared memory behind
  /// descriptors: A K-major, B K-major or (`transposeB`) MN-major.
  Value wgmma(Type elementType, Value accumulator, Value aDescriptor,
              Value bDescriptor, int64_t n, bool transposeB) {
    MLIRContext *ctx = b.getContext();
    NVVM::WGMMATypes type = elementType.isBF16() ? NVVM::WGMMATypes::bf16
                                                 : NVVM::WGMMATypes::f16;
    return NVVM::WgmmaMmaAsyncOp::create(
        b, accumulator.getType(), accumulator, aDescriptor, bDescriptor,
        NVVM::MMAShapeAttr::get(ctx, 64, n, 16),
        NVVM::WGMMATypesAttr::get(ctx, type),
        NVVM::WGMMATypesAttr::get(ctx, type),
        NVVM::WGMMATypesAttr::get(ctx, NVVM::WGMMATypes::f32),
        NVVM::WGMMAScaleOutAttr::get(ctx, NVVM::WGMMAScaleOut::one),
        NVVM::WGMMAScaleInAttr::get(ctx, NVVM::WGMMAScaleIn::one),
        NVVM::WGMMAScaleInAttr::get(ctx, NVVM::WGMMAScaleIn::one),
        NVVM::MMALayoutAttr::get(ctx, NVVM::MMALayout::row),
        NVVM::MMALayoutAttr::get(ctx, transposeB ? NVVM::MMALayout::row
                                                 : NVVM::MMALayout::col),
        NVVM::MMAIntOverflowAttr());
  }

  /// An LLVM struct of `values` (wgmma accumulators) and back.
  Value packStruct(ArrayRef<Value> values) {
    SmallVector<Type> fields(values.size(), values.front().getType());
    Value s = LLVM::UndefOp::create(
        b, LLVM::LLVMStructType::getLiteral(b.getContext(), fields));
    for (auto [i, v] : llvm::enumerate(values))
      s = LLVM::InsertValueOp::create(b, s, v, int64_t(i));
    return s;
  }
  SmallVector<Value> unpackStruct(Value s, int64_t count) {
    SmallVector<Value> values;
    for (int64_t i = 0; i < count; ++i)
      values.push_back(LLVM::ExtractValueOp::create(b, s, i));
    return values;
  }

  /// Orders generic-proxy writes to shared memory (stores, cp.async) before
  /// async-proxy reads of it (wgmma).
  void fenceProxyAsyncShared() {
    NVVM::FenceProxyOp::create(
        b, NVVM::ProxyKind::async_shared,
        NVVM::SharedSpaceAttr::get(b.getContext(),
                                   NVVM::SharedSpace::shared_cta));
  }

private:
  /// f16 mma operands are typed vector<2xf16>; bf16 ones are plain i32.
  Value asMmaOperand(Type elementType, Value b32) {
    if (elementType.isBF16())
      return b32;
    return LLVM::BitcastOp::create(
        b, VectorType::get({2}, b.getF16Type()), b32);
  }
};

} // namespace mlir::attn::gpu_kernel

#endif // ATTN_LIB_CONVERSION_ATTNTOGPU_KERNELBUILDER_H
