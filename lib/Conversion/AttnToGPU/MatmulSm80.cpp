//===- MatmulSm80.cpp - mma.sync GEMM kernel ------------------------------===//
//
// Writes the tensor-core GEMM kernel for sm_80 and later as a gpu.func of
// NVVM operations, with the machinery of the flash-attention kernel: CTA
// tiles of 128 x 128 over K steps of 64 that cp.async copies `stages` steps
// ahead into XOR-swizzled shared memory, ldmatrix fragments, mma.sync
// m16n8k16 with f32 accumulators kept in registers for the whole K loop.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/AttnToGPU/AttnToGPU.h"

#include "KernelBuilder.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::gpu_kernel;
using Pred = arith::CmpIPredicate;

std::string MatmulSpec::getKernelName() const {
  uint64_t bits;
  std::memcpy(&bits, &scale, sizeof(bits));
  return llvm::formatv("attn_gemm_{10}_{0}_{1}_b{2}_m{3}_n{4}_k{5}_sa{6}_"
                       "sb{7}_s{8}_x{9:x-}",
                       elementType.isBF16() ? "bf16" : "f16",
                       bTransposed ? "nt" : "nn", batch, m, n, k,
                       batchStrideA, batchStrideB, stages, bits,
                       wgmma ? "sm90a" : "sm80")
      .str();
}

std::string mlir::attn::checkMatmulSpec(const MatmulSpec &spec) {
  if (!spec.elementType ||
      !(spec.elementType.isF16() || spec.elementType.isBF16()))
    return "element type is not f16 or bf16";
  if (spec.m <= 0 || spec.n <= 0 || spec.k <= 0 || spec.batch <= 0)
    return "empty operands";
  // 16-byte copies of rows and 4-byte stores of column pairs.
  if (spec.k % 8 != 0)
    return "K = " + std::to_string(spec.k) + " is not a multiple of 8";
  if (spec.n % 8 != 0)
    return "N = " + std::to_string(spec.n) + " is not a multiple of 8";
  if (spec.stages < 2 || spec.stages > 4)
    return "stages must be 2, 3 or 4";
  if (spec.batch > 65535 ||
      (spec.m + MatmulSpec::kBlockM - 1) / MatmulSpec::kBlockM > 65535)
    return "too many CTAs along the batch or M (grid z, y)";
  // 32-bit offsets within one batch entry.
  auto fits = [](int64_t elements) { return elements * 2 < (1ll << 31); };
  if (!fits((spec.m + 128) * spec.k) || !fits((spec.n + 128) * spec.k) ||
      !fits((spec.m + 128) * spec.n))
    return "an operand larger than 32-bit offsets allow";
  if (!std::isfinite(spec.scale))
    return "scale is not finite";
  if (spec.wgmma && !spec.bTransposed)
    return "the sm_90a kernel takes [N, K] weights only";
  return "";
}

namespace {

class MatmulSm80Emitter {
public:
  MatmulSm80Emitter(ImplicitLocOpBuilder &b, const MatmulSpec &spec)
      : b(b), k(b), spec(spec) {}

  void emit(gpu::GPUFuncOp func, Value sharedBase);

private:
  static constexpr int64_t kBM = MatmulSpec::kBlockM;
  static constexpr int64_t kBN = MatmulSpec::kBlockN;
  static constexpr int64_t kBK = MatmulSpec::kBlockK;
  static constexpr int64_t kThreads = MatmulSpec::kThreads;
  // A and NT-B tiles: 128 rows of 64 elements (8 chunks, 128 bytes); NN-B
  // tiles: 64 rows of 128 elements (16 chunks, 256 bytes).
  static constexpr int64_t kTileBytes = kBM * kBK * 2;

  ImplicitLocOpBuilder &b;
  KernelBuilder k;
  const MatmulSpec &spec;

  Value tid, lane, warpM, warpN, group, quadLane;
  Value m0, n0, aBase, bBase, cBase, sharedA, sharedB;
  Value aFragOffset, bFragOffset, xorA, xorB;

  /// Copies a `rows` x (`chunks` x 16 bytes) tile whose rows are
  /// `globalRowBytes` apart into shared memory (chunk c of row r at chunk
  /// c ^ (r % 8)); rows at or past `rowsValid` and chunks at or past
  /// `chunksValid` (when given) are zero-filled.
  void loadTile(Value shared, Value global, int64_t rows, int64_t chunks,
                int64_t globalRowBytes, Value rowsValid, Value chunksValid);
  void loadStage(Value kTile);
  Value stageOffset(Value kTile);

  /// One accumulator value of the thread and the C element it is.
  struct AccElement {
    Value value;
    Value row;   ///< within the CTA tile
    int64_t col; ///< within the warp's columns, plus colBase
    Value colBase;
  };
  /// The K loop with ldmatrix + mma.sync (4 warps of 64 x 64).
  SmallVector<AccElement> emitMmaSyncLoop(int64_t kTiles);
  /// The K loop with wgmma (one warpgroup, two m64n128 halves).
  SmallVector<AccElement> emitWgmmaLoop(int64_t kTiles);
  /// The shared-memory matrix descriptor of a K-major tile whose 8-row,
  /// 128-byte swizzle atoms start at `address` and follow each other.
  Value wgmmaDescriptor(Value address);
  void emitEpilogue(ArrayRef<AccElement> acc);
};

void MatmulSm80Emitter::loadTile(Value shared, Value global, int64_t rows,
                                 int64_t chunks, int64_t globalRowBytes,
                                 Value rowsValid, Value chunksValid) {
  int64_t rowsPerPass = kThreads / chunks;
  Value row0 = k.shr(tid, llvm::Log2_64(chunks));
  Value chunk = k.andi(tid, chunks - 1);
  Value sharedOffset =
      k.add(k.mul(row0, chunks * 16),
            k.shl(k.xori(chunk, k.andi(row0, 7)), 4));
  Value globalOffset = k.add(k.mul(row0, globalRowBytes), k.shl(chunk, 4));
  Value chunkOk =
      chunksValid ? k.cmp(Pred::slt, chunk, chunksValid) : Value();
  for (int64_t pass = 0; pass < rows / rowsPerPass; ++pass) {
    int64_t row = pass * rowsPerPass;
    Value dst = k.gep(shared, k.add(sharedOffset, row * chunks * 16));
    Value src = k.gep(global, k.add(globalOffset, row * globalRowBytes));
    Value valid = chunkOk;
    if (rowsValid) {
      Value rowOk = k.cmp(Pred::slt, k.add(row0, row), rowsValid);
      valid = valid ? Value(arith::AndIOp::create(b, valid, rowOk)) : rowOk;
    }
    if (!valid) {
      k.cpAsync16(dst, src);
      continue;
    }
    k.cpAsync16(dst, k.select(valid, src, global),
                k.select(valid, k.c32(16), k.c32(0)));
  }
}

Value MatmulSm80Emitter::stageOffset(Value kTile) {
  Value stage = llvm::isPowerOf2_64(spec.stages)
                    ? k.andi(kTile, spec.stages - 1)
                    : k.remu(kTile, spec.stages);
  return k.mul(stage, kTileBytes);
}

void MatmulSm80Emitter::loadStage(Value kTile) {
  Value k0 = k.mul(kTile, kBK);
  Value stage = stageOffset(kTile);
  // Partial tiles only where the shapes leave them.
  Value mValid = spec.m % kBM ? k.sub(k.c32(spec.m), m0) : Value();
  Value kChunks =
      spec.k % kBK ? k.sub(k.c32(spec.k / 8), k.shr(k0, 3)) : Value();
  loadTile(k.gep(sharedA, stage), k.gep(aBase, k.shl(k0, 1)), kBM, kBK / 8,
           spec.k * 2, mValid, kChunks);
  if (spec.bTransposed) {
    Value nValid = spec.n % kBN ? k.sub(k.c32(spec.n), n0) : Value();
    loadTile(k.gep(sharedB, stage), k.gep(bBase, k.shl(k0, 1)), kBN, kBK / 8,
             spec.k * 2, nValid, kChunks);
  } else {
    Value kRows = spec.k % kBK ? k.sub(k.c32(spec.k), k0) : Value();
    Value nChunks = spec.n % kBN ? k.sub(k.c32(spec.n / 8), k.shr(n0, 3))
                                 : Value();
    loadTile(k.gep(sharedB, stage), k.gep(bBase, k.mul(k0, spec.n * 2)), kBK,
             kBN / 8, spec.n * 2, kRows, nChunks);
  }
}

void MatmulSm80Emitter::emit(gpu::GPUFuncOp func, Value sharedBase) {
  MLIRContext *ctx = b.getContext();
  Type i32 = k.i32();
  auto range = [&](int64_t upper) {
    return LLVM::ConstantRangeAttr::get(ctx, 32, 0, upper);
  };
  int64_t tilesN = llvm::divideCeil(spec.n, kBN);
  int64_t tilesM = llvm::divideCeil(spec.m, kBM);
  tid = NVVM::ThreadIdXOp::create(b, i32, range(kThreads));
  Value blockN = NVVM::BlockIdXOp::create(b, i32, range(tilesN));
  Value blockM = NVVM::BlockIdYOp::create(b, i32, range(tilesM));
  Value batch = NVVM::BlockIdZOp::create(b, i32, range(spec.batch));
  lane = k.andi(tid, 31);
  Value warp = k.shr(tid, 5);
  warpM = k.shr(warp, 1);
  warpN = k.andi(warp, 1);
  group = k.shr(lane, 2);
  quadLane = k.andi(lane, 3);
  m0 = k.mul(blockM, kBM);
  n0 = k.mul(blockN, kBN);

  Value batch64 = k.zext64(batch);
  auto operand = [&](int64_t index, int64_t batchStride) {
    Value global = k.toGlobal(func.getArgument(index));
    if (!batchStride)
      return global;
    return k.gep(global, arith::MulIOp::create(b, batch64,
                                               k.c64(batchStride * 2)));
  };
  aBase = k.gep(operand(0, spec.batchStrideA), k.mul(m0, spec.k * 2));
  bBase = operand(1, spec.batchStrideB);
  bBase = spec.bTransposed ? k.gep(bBase, k.mul(n0, spec.k * 2))
                           : k.gep(bBase, k.shl(n0, 1));
  cBase = operand(2, spec.m * spec.n);
  sharedA = sharedBase;
  sharedB = k.gep(sharedBase, spec.stages * kTileBytes);

  // ldmatrix lane addresses (see the attention kernel): the swizzled chunk
  // is the logical one XOR (row % 8) = lane & 7.
  Value lane7 = k.andi(lane, 7);
  Value lane15 = k.andi(lane, 15);
  Value half = k.shr(lane, 4);
  aFragOffset = k.mul(k.add(k.mul(warpM, 64), lane15), kBK * 2);
  xorA = k.shl(k.xori(half, lane7), 4);
  if (spec.bTransposed) {
    // B rows are n: lane reads row (l & 7) + 8 (l >> 4), chunk
    // 2kk + ((l >> 3) & 1).
    bFragOffset = k.mul(k.add(k.mul(warpN, 64), k.add(lane7, k.shl(half, 3))),
                        kBK * 2);
    xorB = k.shl(k.xori(k.andi(k.shr(lane, 3), 1), lane7), 4);
  } else {
    // B rows are k: lane reads row l & 15 at chunk 8 warpN + 2p + (l >> 4).
    bFragOffset = k.mul(lane15, kBN * 2);
    xorB = k.shl(k.xori(k.add(k.mul(warpN, 8), half), lane7), 4);
  }

  int64_t kTiles = llvm::divideCeil(spec.k, kBK);
  for (int64_t s = 0; s < spec.stages - 1; ++s) {
    if (s < kTiles)
      loadStage(k.c32(s));
    k.cpAsyncCommit();
  }
  emitEpilogue(spec.wgmma ? emitWgmmaLoop(kTiles) : emitMmaSyncLoop(kTiles));
}

SmallVector<MatmulSm80Emitter::AccElement>
MatmulSm80Emitter::emitMmaSyncLoop(int64_t kTiles) {
  Value zero = k.cf32(0.0);
  // acc[i][j]: the m16n8 tile i (of 4 along M) and j (of 8 along N) of the
  // warp's 64 x 64.
  SmallVector<Value> init(4 * 8 * 4, zero);
  Type elementType = spec.elementType;
  auto loop = scf::ForOp::create(
      b, k.c32(0), k.c32(kTiles), k.c32(1), init,
      [&](OpBuilder &nested, Location, Value kTile, ValueRange args) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nested.getInsertionBlock(),
                            nested.getInsertionPoint());
        SmallVector<Value> acc(args.begin(), args.end());
        // As in the attention kernel: this step's copies have landed; after
        // the barrier no warp still reads the stage the next copies reuse.
        k.cpAsyncWait(spec.stages - 2);
        k.barrier();
        Value next = k.add(kTile, spec.stages - 1);
        auto ifOp = scf::IfOp::create(
            b, k.cmp(Pred::slt, next, k.c32(kTiles)), false);
        {
          OpBuilder::InsertionGuard g(b);
          b.setInsertionPointToStart(ifOp.thenBlock());
          loadStage(next);
        }
        k.cpAsyncCommit();
        Value stage = stageOffset(kTile);
        Value aLane = k.gep(k.gep(sharedA, stage), aFragOffset);
        Value bLane = k.gep(k.gep(sharedB, stage), bFragOffset);
        for (int64_t kk = 0; kk < kBK / 16; ++kk) {
          std::array<Frag4, 4> a;
          for (int64_t i = 0; i < 4; ++i)
            a[i] = k.ldmatrixX4(
                k.gep(aLane, k.add(k.xori(xorA, 32 * kk), i * 16 * kBK * 2)),
                /*transpose=*/false);
          std::array<Value, 16> bRegs;
          for (int64_t p = 0; p < 4; ++p) {
            Frag4 f;
            if (spec.bTransposed)
              f = k.ldmatrixX4(
                  k.gep(bLane,
                        k.add(k.xori(xorB, 32 * kk), p * 16 * kBK * 2)),
                  false);
            else
              f = k.ldmatrixX4(
                  k.gep(bLane, k.add(k.xori(xorB, 32 * p), kk * 16 * kBN * 2)),
                  /*transpose=*/true);
            for (int64_t r = 0; r < 4; ++r)
              bRegs[4 * p + r] = f[r];
          }
          for (int64_t i = 0; i < 4; ++i)
            for (int64_t j = 0; j < 8; ++j) {
              Value *c = &acc[(i * 8 + j) * 4];
              std::array<Value, 4> d = k.mma16816(
                  elementType, a[i], {bRegs[2 * j], bRegs[2 * j + 1]},
                  {c[0], c[1], c[2], c[3]});
              for (int64_t e = 0; e < 4; ++e)
                c[e] = d[e];
            }
        }
        scf::YieldOp::create(b, acc);
      });
  // Tile (i, j) of the warp: rows 16i + g (+8), columns 8j + 2t (+1).
  SmallVector<AccElement> out;
  Value colBase = k.add(k.mul(warpN, 64), k.shl(quadLane, 1));
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t r = 0; r < 2; ++r) {
      Value row = k.add(k.add(k.mul(warpM, 64), group), 16 * i + 8 * r);
      for (int64_t j = 0; j < 8; ++j)
        for (int64_t e = 0; e < 2; ++e)
          out.push_back({loop.getResult((i * 8 + j) * 4 + 2 * r + e), row,
                         8 * j + e, colBase});
    }
  return out;
}

Value MatmulSm80Emitter::wgmmaDescriptor(Value address) {
  // K-major 128-byte-swizzle tiles: the next 8 rows 1024 bytes on.
  return k.wgmmaDescriptor(address, 16, 1024);
}

SmallVector<MatmulSm80Emitter::AccElement>
MatmulSm80Emitter::emitWgmmaLoop(int64_t kTiles) {
  MLIRContext *ctx = b.getContext();
  SmallVector<Type> fields(64, k.f32());
  auto accType = LLVM::LLVMStructType::getLiteral(ctx, fields);
  Value zero = k.cf32(0.0);
  Value init = LLVM::UndefOp::create(b, accType);
  for (int64_t i = 0; i < 64; ++i)
    init = LLVM::InsertValueOp::create(b, init, zero, i);
  auto loop = scf::ForOp::create(
      b, k.c32(0), k.c32(kTiles), k.c32(1), ValueRange{init, init},
      [&](OpBuilder &nested, Location, Value kTile, ValueRange args) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nested.getInsertionBlock(),
                            nested.getInsertionPoint());
        // This step's copies have landed; the proxy fence makes them
        // visible to the asynchronous proxy that wgmma reads through, the
        // barrier makes every thread's visible. The previous step's wgmma
        // were waited for, so the next copies may reuse its stage.
        k.cpAsyncWait(spec.stages - 2);
        k.fenceProxyAsyncShared();
        k.barrier();
        Value next = k.add(kTile, spec.stages - 1);
        auto ifOp = scf::IfOp::create(
            b, k.cmp(Pred::slt, next, k.c32(kTiles)), false);
        {
          OpBuilder::InsertionGuard g(b);
          b.setInsertionPointToStart(ifOp.thenBlock());
          loadStage(next);
        }
        k.cpAsyncCommit();
        Value stage = stageOffset(kTile);
        Value aStage = k.gep(sharedA, stage);
        Value bStage = k.gep(sharedB, stage);
        SmallVector<Value> acc(args.begin(), args.end());
        NVVM::WgmmaFenceAlignedOp::create(b);
        for (int64_t kk = 0; kk < kBK / 16; ++kk) {
          // K advances 16 elements = 32 bytes inside the swizzled rows.
          Value bDesc = wgmmaDescriptor(k.gep(bStage, 32 * kk));
          for (int64_t h = 0; h < 2; ++h) {
            Value aDesc =
                wgmmaDescriptor(k.gep(aStage, h * 64 * kBK * 2 + 32 * kk));
            acc[h] = k.wgmma(spec.elementType, acc[h], aDesc, bDesc, 128,
                             /*transposeB=*/false);
          }
        }
        NVVM::WgmmaGroupSyncAlignedOp::create(b);
        NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
        scf::YieldOp::create(b, acc);
      });
  // Half h, warp w: rows 64h + 16w + g (+8); accumulator 4j + e is column
  // 8j + 2t + (e & 1) of row g + 8 (e >> 1).
  Value warp = k.shr(tid, 5);
  SmallVector<AccElement> out;
  Value colBase = k.shl(quadLane, 1);
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t r = 0; r < 2; ++r) {
      Value row = k.add(k.add(k.mul(warp, 16), group), 64 * h + 8 * r);
      for (int64_t j = 0; j < 16; ++j)
        for (int64_t e = 0; e < 2; ++e)
          out.push_back(
              {LLVM::ExtractValueOp::create(b, loop.getResult(h),
                                            4 * j + 2 * r + e),
               row, 8 * j + e, colBase});
    }
  return out;
}

void MatmulSm80Emitter::emitEpilogue(ArrayRef<AccElement> acc) {
  // Scale, round, 4-byte stores of column pairs inside the bounds.
  Value scale = spec.scale != 1.0 ? k.cf32(spec.scale) : Value();
  Type elementType = spec.elementType;
  for (size_t i = 0; i + 1 < acc.size(); i += 2) {
    const AccElement &lo = acc[i], &hi = acc[i + 1];
    Value row = k.add(m0, lo.row);
    Value col = k.add(n0, k.add(lo.colBase, lo.col));
    Value loValue = lo.value, hiValue = hi.value;
    if (scale) {
      loValue = k.mulf(loValue, scale);
      hiValue = k.mulf(hiValue, scale);
    }
    Value packed = k.packPair(elementType, loValue, hiValue);
    Value address = k.gep(cBase, k.add(k.mul(row, spec.n * 2), k.shl(col, 1)));
    Value ok;
    if (spec.m % kBM)
      ok = k.cmp(Pred::slt, row, k.c32(spec.m));
    if (spec.n % kBN) {
      Value colOk = k.cmp(Pred::slt, col, k.c32(spec.n));
      ok = ok ? Value(arith::AndIOp::create(b, ok, colOk)) : colOk;
    }
    if (!ok) {
      k.store(packed, address, 4);
      continue;
    }
    auto ifOp = scf::IfOp::create(b, ok, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    k.store(packed, address, 4);
  }
}

} // namespace

gpu::GPUFuncOp mlir::attn::buildMatmulSm80Kernel(OpBuilder &builder,
                                                 Location loc,
                                                 gpu::GPUModuleOp module,
                                                 const MatmulSpec &spec) {
  MLIRContext *ctx = builder.getContext();
  ImplicitLocOpBuilder b(loc, builder);
  OpBuilder::InsertionGuard guard(b);
  StringRef sharedName = getOrCreateDynamicSharedMemory(b, loc, module);
  b.setInsertionPointToEnd(module.getBody());
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  SmallVector<Type> argTypes(3, ptrType);
  auto func = gpu::GPUFuncOp::create(b, spec.getKernelName(),
                                     b.getFunctionType(argTypes, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  int32_t threads = int32_t(MatmulSpec::kThreads);
  func.setKnownBlockSizeAttr(DenseI32ArrayAttr::get(ctx, {threads, 1, 1}));
  for (int64_t i = 0; i < 3; ++i) {
    func.setArgAttr(i, LLVM::LLVMDialect::getNoAliasAttrName(),
                    b.getUnitAttr());
    func.setArgAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                    b.getI64IntegerAttr(16));
    if (i != 2)
      func.setArgAttr(i, LLVM::LLVMDialect::getReadonlyAttrName(),
                      b.getUnitAttr());
  }
  b.setInsertionPointToStart(&func.getBody().front());
  Value shared = LLVM::AddressOfOp::create(
      b, LLVM::LLVMPointerType::get(ctx, AddressSpace::Shared), sharedName);
  MatmulSm80Emitter(b, spec).emit(func, shared);
  gpu::ReturnOp::create(b);
  return func;
}
