//===- TileAndVectorize.cpp - register-tiled, vectorised contractions -----===//
//
// Implements attn-tile-and-vectorize: linalg contractions on buffers become
// a BLIS-like nest (scf.forall over output tiles, scf.for over register tiles
// and the reduction) whose micro-kernel is a vector.contract lowered to FMAs.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallBitVector.h"

namespace mlir::attn {
#define GEN_PASS_DEF_TILEANDVECTORIZEPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

/// Marks the register tiles this pass created, so that only they are
/// vectorised (other linalg ops keep their loop lowering).
static constexpr StringLiteral kRegisterTileAttr = "attn.register_tile";

namespace {
/// How the loop dimensions of a contraction map onto the micro-kernel.
struct ContractionPlan {
  /// The input holding the result's innermost dimension; its rows are what
  /// the micro-kernel loads as vectors.
  unsigned rhsIndex;
  /// The result's innermost dimension (vectorised).
  unsigned nDim;
  /// The innermost result dimension used by the other input only (the rows
  /// of the register tile); absent for matrix-vector products.
  std::optional<unsigned> mDim;
};
} // namespace

/// Accepts contractions on buffers, all operands of one float type, whose
/// result's innermost dimension belongs to exactly one input.
static std::optional<ContractionPlan> planContraction(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op))
    return std::nullopt;
  Type elementType =
      getElementTypeOrSelf(op.getDpsInitOperand(0)->get().getType());
  if (!isa<FloatType>(elementType))
    return std::nullopt;
  for (Value input : op.getDpsInputs())
    if (getElementTypeOrSelf(input.getType()) != elementType)
      return std::nullopt;

  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap outMap = maps.back();
  if (!outMap.isProjectedPermutation() || outMap.getNumResults() == 0)
    return std::nullopt;
  auto dimAt = [](AffineMap map, unsigned i) {
    return cast<AffineDimExpr>(map.getResult(i)).getPosition();
  };
  ContractionPlan plan;
  plan.nDim = dimAt(outMap, outMap.getNumResults() - 1);
  bool inLhs = maps[0].isFunctionOfDim(plan.nDim);
  bool inRhs = maps[1].isFunctionOfDim(plan.nDim);
  // A batch dimension innermost in the result is not a matrix product
  // layout the micro-kernel handles.
  if (inLhs == inRhs)
    return std::nullopt;
  plan.rhsIndex = inRhs ? 1 : 0;
  unsigned lhsIndex = 1 - plan.rhsIndex;
  // Every reduction must run along both inputs (a K dimension): one summed
  // in a single input ("ab,cd->bd" sums a in the lhs alone) leaves that
  // input a scalar in the register tile, which vector.contract rejects.
  for (auto [dim, iterator] : llvm::enumerate(op.getIteratorTypesArray()))
    if (iterator == utils::IteratorType::reduction &&
        (!maps[0].isFunctionOfDim(dim) || !maps[1].isFunctionOfDim(dim)))
      return std::nullopt;
  // The innermost such dimension, skipping size-1 ones ("b n c, o c -> b n
  // o" with n = 1): a unit M would make every register tile one row.
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  for (int i = outMap.getNumResults() - 1; i >= 0; --i) {
    unsigned dim = dimAt(outMap, i);
    if (maps[lhsIndex].isFunctionOfDim(dim) &&
        !maps[plan.rhsIndex].isFunctionOfDim(dim)) {
      if (!plan.mDim)
        plan.mDim = dim;
      if (ranges[dim] != 1) {
        plan.mDim = dim;
        break;
      }
    }
  }
  return plan;
}

/// Replaces the contraction `op` on buffers by a linalg.generic computing
/// out + a * b (`outFirst`) or a * b + out over `inputs`, read through `maps`
/// (the output's last), then frees `temporaries`: buffers made for it.
static linalg::GenericOp
replaceByContraction(RewriterBase &rewriter, linalg::LinalgOp op,
                     ValueRange inputs, ArrayRef<AffineMap> maps, bool outFirst,
                     ArrayRef<Value> temporaries) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  auto contraction = linalg::GenericOp::create(
      rewriter, loc, inputs, op.getDpsInits(), maps, op.getIteratorTypesArray(),
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value prod = arith::MulFOp::create(b, l, args[0], args[1]);
        Value sum = outFirst ? arith::AddFOp::create(b, l, args[2], prod)
                             : arith::AddFOp::create(b, l, prod, args[2]);
        linalg::YieldOp::create(b, l, sum);
      });
  rewriter.setInsertionPointAfter(contraction);
  for (Value temporary : temporaries)
    memref::DeallocOp::create(rewriter, loc, temporary);
  rewriter.eraseOp(op);
  return contraction;
}

/// Undoes the fusion of elementwise producers into a contraction: a generic
/// on buffers whose body is `out + f(args...) * g(args...)` with more than
/// two inputs (linalg elementwise fusion merges a LayerNorm's scale or any
/// other producer into the matmul that reads it, which
/// linalg::isaContractionOpInterface then rejects and the product runs as
/// scalar loops). Each factor that is not a plain input is computed into a
/// temporary over the loop dimensions its inputs use, by an all-parallel
/// generic, and the contraction reads the temporaries: the same values in
/// the same order of summation. Returns the new contraction, or null.
static linalg::GenericOp splitFusedFactors(RewriterBase &rewriter,
                                           linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumDpsInputs() <= 2 || op.getNumReductionLoops() == 0 ||
      op.hasDynamicShape() || op.hasIndexSemantics())
    return {};
  for (AffineMap map : op.getIndexingMapsArray())
    if (!map.isProjectedPermutation())
      return {};
  Block *body = op.getBody();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  BlockArgument outArg = op.getMatchingBlockArgument(op.getDpsInitOperand(0));
  auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  if (!add || !outArg.hasOneUse())
    return {};
  Value product = add.getLhs() == outArg ? add.getRhs() : add.getLhs();
  if (product == outArg || (add.getLhs() != outArg && add.getRhs() != outArg))
    return {};
  auto mul = product.getDefiningOp<arith::MulFOp>();
  if (!mul || mul->getBlock() != body || !isa<FloatType>(mul.getType()))
    return {};

  // The body ops each factor needs, in block order, and the inputs it reads.
  struct Factor {
    Value value;
    SetVector<Operation *> ops;
    SetVector<unsigned> inputs; // operand numbers
  };
  auto collect = [&](Value value, Factor &factor) -> bool {
    factor.value = value;
    SmallVector<Value> worklist = {value};
    while (!worklist.empty()) {
      Value v = worklist.pop_back_val();
      if (auto arg = dyn_cast<BlockArgument>(v)) {
        if (arg.getOwner() != body)
          continue; // defined above the op
        if (arg == outArg)
          return false;
        factor.inputs.insert(arg.getArgNumber());
        continue;
      }
      Operation *def = v.getDefiningOp();
      if (def->getBlock() != body)
        continue;
      if (def->getNumRegions() != 0 || !isMemoryEffectFree(def))
        return false;
      if (factor.ops.insert(def))
        llvm::append_range(worklist, def->getOperands());
    }
    return !factor.inputs.empty();
  };
  Factor factors[2];
  if (!collect(mul.getLhs(), factors[0]) || !collect(mul.getRhs(), factors[1]))
    return {};

  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  // A factor mixing both sides (`(x * w) * s`) would need a temporary of
  // the whole iteration space: only split factors no larger than an input.
  int64_t largestInput = 0;
  for (Value input : op.getDpsInputs())
    largestInput = std::max<int64_t>(
        largestInput, cast<MemRefType>(input.getType()).getNumElements());
  for (Factor &factor : factors) {
    llvm::SmallBitVector used(op.getNumLoops());
    for (unsigned input : factor.inputs)
      for (AffineExpr expr : maps[input].getResults())
        used.set(cast<AffineDimExpr>(expr).getPosition());
    int64_t size = 1;
    for (int d : used.set_bits())
      size *= ranges[d];
    if (size > largestInput)
      return {};
  }
  SmallVector<Value> newInputs;
  SmallVector<AffineMap> newMaps;
  rewriter.setInsertionPoint(op);
  SmallVector<Value> temporaries;
  for (Factor &factor : factors) {
    if (auto arg = dyn_cast<BlockArgument>(factor.value);
        arg && arg.getOwner() == body) {
      newInputs.push_back(op->getOperand(arg.getArgNumber()));
      newMaps.push_back(maps[arg.getArgNumber()]);
      continue;
    }
    // The loop dimensions the factor's inputs use, in order.
    llvm::SmallBitVector used(op.getNumLoops());
    for (unsigned input : factor.inputs)
      for (AffineExpr expr : maps[input].getResults())
        used.set(cast<AffineDimExpr>(expr).getPosition());
    SmallVector<AffineExpr> dims;
    SmallVector<int64_t> shape;
    DenseMap<unsigned, unsigned> newPos;
    for (unsigned d = 0; d < op.getNumLoops(); ++d) {
      if (!used.test(d))
        continue;
      newPos[d] = dims.size();
      dims.push_back(getAffineDimExpr(d, ctx));
      shape.push_back(ranges[d]);
    }
    unsigned rank = dims.size();
    SmallVector<Value> producerInputs;
    SmallVector<AffineMap> producerMaps;
    for (unsigned input : factor.inputs) {
      SmallVector<AffineExpr> exprs;
      for (AffineExpr expr : maps[input].getResults())
        exprs.push_back(getAffineDimExpr(
            newPos[cast<AffineDimExpr>(expr).getPosition()], ctx));
      producerInputs.push_back(op->getOperand(input));
      producerMaps.push_back(AffineMap::get(rank, 0, exprs, ctx));
    }
    producerMaps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
    Value temp = memref::AllocOp::create(
        rewriter, loc, MemRefType::get(shape, factor.value.getType()),
        ValueRange{}, rewriter.getI64IntegerAttr(64));
    temporaries.push_back(temp);
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    SmallVector<unsigned> inputList(factor.inputs.begin(), factor.inputs.end());
    linalg::GenericOp::create(
        rewriter, loc, producerInputs, ValueRange{temp}, producerMaps,
        iterators, [&](OpBuilder &b, Location, ValueRange args) {
          IRMapping mapping;
          for (auto [i, input] : llvm::enumerate(inputList))
            mapping.map(body->getArgument(input), args[i]);
          // Block order keeps every use after its definition.
          for (Operation &bodyOp : body->without_terminator())
            if (factor.ops.contains(&bodyOp))
              b.clone(bodyOp, mapping);
          linalg::YieldOp::create(b, loc,
                                  mapping.lookupOrDefault(factor.value));
        });
    newInputs.push_back(temp);
    newMaps.push_back(AffineMap::get(op.getNumLoops(), 0, dims, ctx));
  }
  newMaps.push_back(maps.back());
  return replaceByContraction(rewriter, op, newInputs, newMaps,
                              /*outFirst=*/add.getLhs() == outArg, temporaries);
}

static FailureOr<scf::SCFTilingResult>
tileAndErase(RewriterBase &rewriter, linalg::LinalgOp op,
             const scf::SCFTilingOptions &options);

/// Whether `op` reads `operand` one row at a time along loop `inner`: its
/// indexing map is a projected permutation (constant-0 results, which read a
/// size-1 broadcast dimension, only if `allowBroadcast`) whose last result
/// is `inner` whenever it uses `inner`.
static bool readsRows(linalg::LinalgOp op, OpOperand &operand, unsigned inner,
                      bool allowBroadcast) {
  AffineMap map = op.getMatchingIndexingMap(&operand);
  if (!map.isProjectedPermutation(allowBroadcast))
    return false;
  return !map.isFunctionOfDim(inner) ||
         map.getResult(map.getNumResults() - 1) ==
             getAffineDimExpr(inner, op.getContext());
}

/// An all-parallel linalg op on buffers whose operands all keep the
/// innermost loop dimension innermost (or do not use it): a transpose that
/// keeps rows (attention's head split "b n (h d) -> b h n d"), a broadcast
/// of a bias, an elementwise add. It becomes one scf.forall iteration per
/// row, each row vectorised (one vector per operand row), instead of scalar
/// loops.
static void vectorizeRows(RewriterBase &rewriter, linalg::LinalgOp op) {
  if (!isa<linalg::TransposeOp, linalg::BroadcastOp, linalg::GenericOp,
           linalg::ReduceOp, linalg::FillOp>(op.getOperation()) ||
      !op.hasPureBufferSemantics() || op.hasDynamicShape() ||
      op.getNumLoops() < 2 || op.getNumDpsInits() != 1 ||
      op->getParentOfType<scf::ForallOp>())
    return;
  // All parallel, or a reduction of each row of one input (LayerNorm's mean
  // and variance): only the innermost loop may reduce. (Contractions are
  // register-tiled instead.)
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (auto [dim, iterator] : llvm::enumerate(iterators))
    if (iterator != utils::IteratorType::parallel &&
        dim + 1 != iterators.size())
      return;
  if (op.getNumReductionLoops() > 0 && op.getNumDpsInputs() != 1)
    return;
  if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation()))
    if (generic.hasIndexSemantics())
      return;
  unsigned inner = op.getNumLoops() - 1;
  int64_t rowSize = op.getStaticLoopRanges()[inner];
  if (rowSize < 8)
    return;
  // Rows longer than 1024 elements (ViT's 3072-wide MLP activations) are
  // split into equal chunks, each one vector: a longer vector would only
  // be split again by LLVM, at a cost in compile time.
  int64_t chunk = rowSize;
  if (rowSize > 1024) {
    if (op.getNumReductionLoops() > 0)
      return;
    chunk = 0;
    for (int64_t c = 1024; c >= 64 && !chunk; c /= 2)
      if (rowSize % c == 0)
        chunk = c;
    if (!chunk)
      return;
  }
  for (OpOperand &operand : op->getOpOperands()) {
    // A scalar (linalg.fill's value) is broadcast into every row.
    if (operand.get().getType().isIntOrFloat())
      continue;
    if (!isa<MemRefType>(operand.get().getType()) ||
        !readsRows(op, operand, inner, /*allowBroadcast=*/false))
      return;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    // Rows of every operand contiguous: unit innermost stride. No i1
    // buffers: a vector<Nxi1> load reads bits, not the buffer's bytes.
    auto type = cast<MemRefType>(operand.get().getType());
    if (!type.getElementType().isIntOrFloat() ||
        type.getElementTypeBitWidth() < 8)
      return;
    if (map.isFunctionOfDim(inner) && !type.isLastDimUnitStride())
      return;
  }
  SmallVector<OpFoldResult> sizes(inner, rewriter.getIndexAttr(1));
  sizes.push_back(rewriter.getIndexAttr(chunk == rowSize ? 0 : chunk));
  scf::SCFTilingOptions options;
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp)
      .setTileSizes(sizes);
  FailureOr<scf::SCFTilingResult> tiled = tileAndErase(rewriter, op, options);
  if (failed(tiled))
    return;
  Operation *row = tiled->tiledOps.back();
  rewriter.setInsertionPoint(row);
  if (succeeded(linalg::vectorize(rewriter, row)))
    rewriter.eraseOp(row);
}

/// A transpose that moves the innermost dimension (the flash lowering's Kᵀ,
/// a "b n h d -> b h d n" layout change) is a strided gather element by
/// element. It becomes 16 x 16 blocks instead: 16 rows of the source read as
/// vectors, transposed in registers (vector.transpose, lowered to AVX-512
/// shuffles) and written as 16 rows of the result. Edge blocks use masked
/// transfers.
static void vectorizeTranspose(RewriterBase &rewriter, linalg::TransposeOp op) {
  constexpr int64_t kBlock = 16;
  ArrayRef<int64_t> perm = op.getPermutation();
  int64_t rank = perm.size();
  if (!op.hasPureBufferSemantics() || op.hasDynamicShape() || rank < 2 ||
      perm.back() == rank - 1)
    return;
  auto inType = cast<MemRefType>(op.getInput().getType());
  auto outType = cast<MemRefType>(op.getInit().getType());
  Type elementType = inType.getElementType();
  if (!inType.isLastDimUnitStride() || !outType.isLastDimUnitStride() ||
      !elementType.isIntOrFloat() || elementType.getIntOrFloatBitWidth() < 8)
    return;
  // The output dimension that reads the input's innermost one, and the input
  // dimension the output's innermost one reads.
  int64_t outRows = llvm::find(perm, rank - 1) - perm.begin();
  int64_t inRows = perm.back();
  SmallVector<OpFoldResult> sizes(rank, rewriter.getIndexAttr(1));
  sizes[rank - 1] = sizes[outRows] = rewriter.getIndexAttr(kBlock);
  scf::SCFTilingOptions options;
  options
      .setLoopType(op->getParentOfType<scf::ForallOp>()
                       ? scf::SCFTilingOptions::LoopType::ForOp
                       : scf::SCFTilingOptions::LoopType::ForallOp)
      .setTileSizes(sizes);
  FailureOr<scf::SCFTilingResult> tiled = tileAndErase(rewriter, op, options);
  if (failed(tiled))
    return;
  auto block = cast<linalg::TransposeOp>(tiled->tiledOps.back());
  Location loc = block.getLoc();
  rewriter.setInsertionPoint(block);
  // The block's two non-unit dimensions as a 2-D view.
  auto view2D = [&](Value buffer, int64_t rowDim) -> Value {
    auto type = cast<MemRefType>(buffer.getType());
    SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    SmallVector<OpFoldResult> viewSizes =
        memref::getMixedSizes(rewriter, loc, buffer);
    MemRefType viewType = memref::SubViewOp::inferRankReducedResultType(
        {type.getDimSize(rowDim), type.getDimSize(rank - 1)}, type, offsets,
        viewSizes, strides);
    return memref::SubViewOp::create(rewriter, loc, viewType, buffer, offsets,
                                     viewSizes, strides);
  };
  Value source = view2D(block.getInput(), inRows);
  Value result = view2D(block.getInit(), outRows);
  auto inBounds = [](Value view) {
    auto shape = cast<MemRefType>(view.getType()).getShape();
    return SmallVector<bool>{shape[0] == kBlock, shape[1] == kBlock};
  };
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value padding = arith::ConstantOp::create(rewriter, loc,
                                            rewriter.getZeroAttr(elementType));
  Value rows = vector::TransferReadOp::create(
      rewriter, loc, VectorType::get({kBlock, kBlock}, elementType), source,
      ValueRange{zero, zero}, padding, inBounds(source));
  Value transposed =
      vector::TransposeOp::create(rewriter, loc, rows, ArrayRef<int64_t>{1, 0});
  vector::TransferWriteOp::create(rewriter, loc, transposed, result,
                                  ValueRange{zero, zero}, inBounds(result));
  rewriter.eraseOp(block);
}

/// A contraction of f16/bf16 operands into an f32 result (what an
/// attn.einsum on bf16 tensors lowers to) has no vector micro-kernel: its
/// body extends every element as it goes, and it ran as scalar loops (a bf16
/// 512^3 matmul: 3.3 against 194 GFLOP/s in f32). Its narrow inputs are
/// widened into f32 buffers first, O(inputs) work that the row vectoriser
/// turns into vector loads and extensions, and the contraction, now on f32
/// operands, takes the register-tiled path. The widening is exact, and the
/// products and sums were done in f32 before too.
static void widenNarrowInputs(RewriterBase &rewriter, linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op) ||
      op->getParentOfType<scf::ForallOp>())
    return;
  Type accType = getElementTypeOrSelf(op.getDpsInitOperand(0)->get().getType());
  if (!isa<FloatType>(accType))
    return;
  bool narrow = false;
  for (Value input : op.getDpsInputs()) {
    auto type = dyn_cast<MemRefType>(input.getType());
    if (!type || !type.hasStaticShape() ||
        !isa<FloatType>(type.getElementType()) ||
        type.getElementTypeBitWidth() > accType.getIntOrFloatBitWidth())
      return;
    narrow |= type.getElementType() != accType;
  }
  if (!narrow)
    return;
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  SmallVector<Value> inputs, temporaries;
  for (Value input : op.getDpsInputs()) {
    auto type = cast<MemRefType>(input.getType());
    if (type.getElementType() == accType) {
      inputs.push_back(input);
      continue;
    }
    Value wide = memref::AllocOp::create(
        rewriter, loc, MemRefType::get(type.getShape(), accType),
        rewriter.getI64IntegerAttr(64));
    AffineMap id =
        AffineMap::getMultiDimIdentityMap(type.getRank(), op.getContext());
    linalg::GenericOp::create(
        rewriter, loc, TypeRange{}, ValueRange{input}, ValueRange{wide},
        ArrayRef<AffineMap>{id, id},
        SmallVector<utils::IteratorType>(type.getRank(),
                                         utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          linalg::YieldOp::create(
              b, l, arith::ExtFOp::create(b, l, accType, args[0]).getResult());
        });
    inputs.push_back(wide);
    temporaries.push_back(wide);
  }
  // isaContractionOpInterface: the body is out + a * b (up to the casts
  // that are gone now).
  replaceByContraction(rewriter, op, inputs, op.getIndexingMapsArray(),
                       /*outFirst=*/true, temporaries);
}

/// Collapses consecutive reduction dimensions of a contraction on buffers
/// into one when every operand stores them contiguously: the head merge
/// "b n (h d)" folded into an out-projection leaves "b n h d, o h d -> b n o",
/// whose two reduction loops would otherwise become two nested loops around
/// the register tile, with the accumulator going through memory in between.
static void collapseReductions(RewriterBase &rewriter, linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumReductionLoops() < 2 ||
      !linalg::isaContractionOpInterface(op))
    return;
  ReassociationIndices group;
  for (auto [dim, iterator] : llvm::enumerate(op.getIteratorTypesArray())) {
    if (iterator != utils::IteratorType::reduction)
      continue;
    if (!group.empty() && group.back() + 1 != static_cast<int64_t>(dim))
      return;
    group.push_back(dim);
  }
  SmallVector<ReassociationIndices> groups = {group};
  if (!linalg::areDimSequencesPreserved(op.getIndexingMapsArray(), groups))
    return;
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::CollapseResult> collapsed =
      linalg::collapseOpIterationDims(op, groups, rewriter);
  if (succeeded(collapsed))
    rewriter.replaceOp(op, collapsed->results);
}

/// A static elementwise or row-reduction linalg op inside an scf.forall
/// (the flash-attention loop nest's softmax steps: scale and mask, row max,
/// exp, row sum, rescaling) becomes vector ops on its whole tile. Each
/// operand must read rows contiguously, as in vectorizeRows; reductions
/// over the innermost dimension become one horizontal reduction per row.
/// Dynamic tiles (the last partial block) keep their loops.
/// An op on static buffers whose loop `inner` (a row, or a register tile's
/// columns) is longer than 16 but not a multiple of 16 (Swin's 49 keys: a
/// row of 49, a register tile of 17 columns) as two ops on static sub-ranges,
/// the multiple of 16 and the rest. LLVM builds a vector<49xf32> or
/// vector<17xf32> element by element through the stack; a vector<48xf32> is
/// three registers. The pieces run in order on the same buffers, so a
/// reduction along `inner` continues from where the first piece left its
/// accumulator. Ops that read linalg.index (the causal mask's column) stay
/// whole. Returns the ops to vectorise.
static SmallVector<Operation *> splitAtVectorMultiple(RewriterBase &rewriter,
                                                      linalg::LinalgOp row,
                                                      unsigned inner) {
  constexpr int64_t kVector = 16;
  int64_t length = row.getStaticLoopRanges()[inner];
  int64_t head = length / kVector * kVector;
  auto generic = dyn_cast<linalg::GenericOp>(row.getOperation());
  if (head == 0 || head == length || row.hasDynamicShape() ||
      (generic && generic.hasIndexSemantics()))
    return {row};
  Location loc = row.getLoc();
  MLIRContext *ctx = row.getContext();
  auto piece = [&](int64_t offset, int64_t size) -> Operation * {
    SmallVector<Value> operands;
    for (OpOperand &operand : row->getOpOperands()) {
      Value value = operand.get();
      auto type = dyn_cast<MemRefType>(value.getType());
      AffineMap map = type ? row.getMatchingIndexingMap(&operand) : AffineMap();
      std::optional<unsigned> position =
          map ? map.getResultPosition(getAffineDimExpr(inner, ctx))
              : std::nullopt;
      if (!position) {
        operands.push_back(value);
        continue;
      }
      SmallVector<OpFoldResult> offsets(type.getRank(),
                                        rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes,
          strides(type.getRank(), rewriter.getIndexAttr(1));
      for (int64_t dimSize : type.getShape())
        sizes.push_back(rewriter.getIndexAttr(dimSize));
      offsets[*position] = rewriter.getIndexAttr(offset);
      sizes[*position] = rewriter.getIndexAttr(size);
      operands.push_back(memref::SubViewOp::create(rewriter, loc, value,
                                                   offsets, sizes, strides));
    }
    return clone(rewriter, row, TypeRange{}, operands);
  };
  rewriter.setInsertionPoint(row);
  SmallVector<Operation *> pieces = {piece(0, head),
                                     piece(head, length - head)};
  rewriter.eraseOp(row);
  return pieces;
}

static void vectorizeTileOp(RewriterBase &rewriter, linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.hasDynamicShape() ||
      op.getNumLoops() == 0 || op.getNumLoops() > 2 ||
      op.getNumDpsInits() != 1 || !op->getParentOfType<scf::ForallOp>() ||
      isa<linalg::TransposeOp>(op.getOperation()) || planContraction(op))
    return;
  int64_t elements = 1;
  for (int64_t range : op.getStaticLoopRanges())
    elements *= range;
  if (elements > 64 * 256)
    return;
  unsigned inner = op.getNumLoops() - 1;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type) {
      if (!operand.get().getType().isIntOrFloat())
        return;
      continue;
    }
    // Constant-0 results read a broadcast (size-1) dimension: a padding
    // mask's single row.
    if (!isa<FloatType>(type.getElementType()) || !type.isLastDimUnitStride() ||
        !readsRows(op, operand, inner, /*allowBroadcast=*/true))
      return;
  }
  // One row per iteration: a per-row operand (the running max) is then a
  // scalar broadcast into the row's vector, not a 2-D broadcast-transpose.
  Operation *row = op;
  if (op.getNumLoops() == 2) {
    scf::SCFTilingOptions options;
    options.setLoopType(scf::SCFTilingOptions::LoopType::ForOp)
        .setTileSizes({rewriter.getIndexAttr(1), rewriter.getIndexAttr(0)});
    FailureOr<scf::SCFTilingResult> tiled = tileAndErase(rewriter, op, options);
    if (failed(tiled))
      return;
    row = tiled->tiledOps.back();
  }
  for (Operation *piece :
       splitAtVectorMultiple(rewriter, cast<linalg::LinalgOp>(row), inner)) {
    rewriter.setInsertionPoint(piece);
    if (succeeded(linalg::vectorize(rewriter, piece)))
      rewriter.eraseOp(piece);
  }
}

/// Copies the rhs into a temporary with N innermost when it is stored with
/// another dimension innermost, so each reduction step reads one contiguous
/// rhs row instead of a strided column. Named ops are generalised first to
/// carry the new indexing map. Returns the op to tile (maybe `op` itself).
static linalg::LinalgOp makeRhsRowMajor(RewriterBase &rewriter,
                                        linalg::LinalgOp op,
                                        const ContractionPlan &plan) {
  MLIRContext *ctx = op.getContext();
  AffineMap rhsMap = op.getIndexingMapsArray()[plan.rhsIndex];
  std::optional<unsigned> pos =
      rhsMap.getResultPosition(getAffineDimExpr(plan.nDim, ctx));
  if (!pos || *pos == rhsMap.getNumResults() - 1)
    return op;

  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  linalg::GenericOp generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic) {
    FailureOr<linalg::GenericOp> generalized =
        linalg::generalizeNamedOp(rewriter, op);
    if (failed(generalized))
      return op;
    generic = *generalized;
  }

  Value rhs = generic.getDpsInputOperand(plan.rhsIndex)->get();
  auto type = cast<MemRefType>(rhs.getType());
  SmallVector<int64_t> perm;
  for (unsigned i = 0, e = type.getRank(); i < e; ++i)
    if (i != *pos)
      perm.push_back(i);
  perm.push_back(*pos);
  SmallVector<int64_t> shape;
  SmallVector<Value> dynamicSizes;
  SmallVector<AffineExpr> exprs;
  for (int64_t p : perm) {
    shape.push_back(type.getDimSize(p));
    if (type.isDynamicDim(p))
      dynamicSizes.push_back(memref::DimOp::create(rewriter, loc, rhs, p));
    exprs.push_back(rhsMap.getResult(p));
  }
  rewriter.setInsertionPoint(generic);
  Value copy = memref::AllocOp::create(
      rewriter, loc, MemRefType::get(shape, type.getElementType()),
      dynamicSizes, rewriter.getI64IntegerAttr(64));
  linalg::TransposeOp::create(rewriter, loc, rhs, copy, perm);
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  maps[plan.rhsIndex] = AffineMap::get(rhsMap.getNumDims(), 0, exprs, ctx);
  rewriter.modifyOpInPlace(generic, [&] {
    generic.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
    generic->setOperand(plan.rhsIndex, copy);
  });
  rewriter.setInsertionPointAfter(generic);
  memref::DeallocOp::create(rewriter, loc, copy);
  return cast<linalg::LinalgOp>(generic.getOperation());
}

/// Tile sizes per loop dimension: `m` and `n` for the plan's M and N
/// dimensions, `other` for the remaining parallel ones and `reduction` for
/// reductions (0 = not tiled).
static SmallVector<OpFoldResult> tileSizes(OpBuilder &b, linalg::LinalgOp op,
                                           const ContractionPlan &plan,
                                           int64_t m, int64_t n, int64_t other,
                                           int64_t reduction) {
  SmallVector<OpFoldResult> sizes;
  for (auto [dim, iterator] : llvm::enumerate(op.getIteratorTypesArray())) {
    int64_t size = reduction;
    if (iterator == utils::IteratorType::parallel)
      size = dim == plan.nDim ? n : (plan.mDim == dim ? m : other);
    sizes.push_back(b.getIndexAttr(size));
  }
  return sizes;
}

/// Tiles `op` and erases it (buffer semantics: it has no results to
/// replace). Returns the tiling result.
static FailureOr<scf::SCFTilingResult>
tileAndErase(RewriterBase &rewriter, linalg::LinalgOp op,
             const scf::SCFTilingOptions &options) {
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (failed(tiled) || tiled->tiledOps.empty())
    return failure();
  rewriter.eraseOp(op);
  return tiled;
}

/// A constant upper bound of dimension `dim` of `buffer`: its static size,
/// or the smallest constant among the results of the affine.min that gives a
/// subview its size (what tiling produces for partial tiles).
static std::optional<int64_t> getSizeUpperBound(Value buffer, unsigned dim) {
  auto type = cast<MemRefType>(buffer.getType());
  if (!type.isDynamicDim(dim))
    return type.getDimSize(dim);
  auto subview = buffer.getDefiningOp<memref::SubViewOp>();
  if (!subview)
    return std::nullopt;
  llvm::SmallBitVector dropped = subview.getDroppedDims();
  SmallVector<OpFoldResult> sizes = subview.getMixedSizes();
  unsigned seen = 0;
  for (auto [i, size] : llvm::enumerate(sizes)) {
    if (dropped.test(i))
      continue;
    if (seen++ != dim)
      continue;
    if (std::optional<int64_t> constant = getConstantIntValue(size))
      return constant;
    auto min = cast<Value>(size).getDefiningOp<affine::AffineMinOp>();
    if (!min)
      return std::nullopt;
    std::optional<int64_t> bound;
    for (AffineExpr expr : min.getMap().getResults())
      if (auto c = dyn_cast<AffineConstantExpr>(expr))
        bound = bound ? std::min(*bound, c.getValue()) : c.getValue();
    return bound;
  }
  return std::nullopt;
}

/// Copies a 2-D rhs block (reduction rows x N columns, read in place with
/// the matrix's row stride) into a buffer allocated at `allocPoint` whose
/// rows are 16 floats longer than the block: the micro-kernel then streams
/// rows that are contiguous in memory, and, because the padded stride is no
/// multiple of 4 KiB, rows that do not all fall into the same L1 set (a
/// matrix of 1024 or 2048 f32 columns read in place does that, and every
/// register tile misses L1). The copy is one vector row
/// per step, masked for partial blocks. Returns the op reading the copy.
static void packRhs(RewriterBase &rewriter, linalg::LinalgOp op,
                    const ContractionPlan &plan, Operation *allocPoint) {
  OpOperand *rhsOperand = op.getDpsInputOperand(plan.rhsIndex);
  Value rhs = rhsOperand->get();
  auto type = dyn_cast<MemRefType>(rhs.getType());
  if (!type || type.getRank() != 2 || !type.isLastDimUnitStride() ||
      !isa<FloatType>(type.getElementType()))
    return;
  // Only rows whose stride is a multiple of 4 KiB (1024, 2048, 3072 f32
  // columns ...) all map to one L1 set; other strides spread over the sets
  // and the copy, repeated for every output tile that shares the block,
  // costs more than it saves (measured: no gain at 512, 768 or 1536
  // columns, 2048^3 matmul 122-132 -> 144-149 GFLOP/s).
  SmallVector<int64_t> rhsStrides;
  int64_t rhsOffset;
  if (failed(type.getStridesAndOffset(rhsStrides, rhsOffset)) ||
      ShapedType::isDynamic(rhsStrides[0]) ||
      (rhsStrides[0] * type.getElementTypeBitWidth() / 8) % 4096 != 0)
    return;
  std::optional<int64_t> rowsBound = getSizeUpperBound(rhs, 0);
  std::optional<int64_t> colsBound = getSizeUpperBound(rhs, 1);
  if (!rowsBound || !colsBound || *colsBound < 32 || *colsBound > 1024 ||
      *rowsBound < 8)
    return;

  Location loc = op.getLoc();
  Type elementType = type.getElementType();
  int64_t stride = *colsBound + 16;
  rewriter.setInsertionPoint(allocPoint);
  Value buffer = memref::AllocOp::create(
      rewriter, loc, MemRefType::get({*rowsBound, stride}, elementType),
      rewriter.getI64IntegerAttr(64));
  rewriter.setInsertionPointAfter(allocPoint);
  memref::DeallocOp::create(rewriter, loc, buffer);

  rewriter.setInsertionPoint(op);
  Value rows = memref::DimOp::create(rewriter, loc, rhs, 0);
  Value cols = memref::DimOp::create(rewriter, loc, rhs, 1);
  Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
  SmallVector<OpFoldResult> offsets(2, rewriter.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = {rows, cols};
  SmallVector<OpFoldResult> strides(2, rewriter.getIndexAttr(1));
  Value packed =
      memref::SubViewOp::create(rewriter, loc, buffer, offsets, sizes, strides);
  auto rowType = VectorType::get({*colsBound}, elementType);
  bool fullRows = !type.isDynamicDim(1);
  Value padding = arith::ConstantOp::create(
      rewriter, loc, elementType, rewriter.getFloatAttr(elementType, 0.0));
  scf::ForOp::create(
      rewriter, loc, c0, rows, c1, ValueRange{},
      [&](OpBuilder &b, Location nl, Value row, ValueRange) {
        SmallVector<bool> inBounds = {fullRows};
        Value v = vector::TransferReadOp::create(b, nl, rowType, rhs,
                                                 ValueRange{row, c0}, padding,
                                                 ArrayRef<bool>(inBounds));
        vector::TransferWriteOp::create(b, nl, v, packed, ValueRange{row, c0},
                                        ArrayRef<bool>(inBounds));
        scf::YieldOp::create(b, nl);
      });
  rewriter.modifyOpInPlace(op, [&] { rhsOperand->set(packed); });
}

/// Tiles one contraction down to register tiles marked with
/// kRegisterTileAttr; the M and N register loops are peeled so that all but
/// the last tile of each have static sizes.
static void tileRegisters(RewriterBase &rewriter, linalg::LinalgOp op,
                          const ContractionPlan &plan,
                          const attn::TileAndVectorizePassOptions &options);

static void tileContraction(RewriterBase &rewriter, linalg::LinalgOp op,
                            const attn::TileAndVectorizePassOptions &options) {
  std::optional<ContractionPlan> plan = planContraction(op);
  if (!plan)
    return;
  if (options.transposeRhs)
    op = makeRhsRowMajor(rewriter, op, *plan);

  // Coarse parallel tiles, one OpenMP chunk each, unless a surrounding
  // scf.forall (the flash-attention nest) already distributes the work.
  Operation *outputTile = nullptr;
  if (!op->getParentOfType<scf::ForallOp>()) {
    // At least `min-parallel-tiles` output tiles, so that every thread of a
    // small machine gets some and the dynamic schedule can even them out:
    // narrower tiles first
    // (their rows still share the whole lhs block), then shorter ones
    // (Swin's last stage: 49 rows x 768 columns was 3 tiles of 256 for 2
    // threads).
    int64_t tileM = options.parallelTileM, tileN = options.parallelTileN;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (!ShapedType::isDynamicShape(ranges)) {
      auto countTiles = [&] {
        int64_t count = 1;
        for (auto [dim, iterator] :
             llvm::enumerate(op.getIteratorTypesArray())) {
          if (iterator != utils::IteratorType::parallel)
            continue;
          int64_t tile = dim == plan->nDim                  ? tileN
                         : plan->mDim && dim == *plan->mDim ? tileM
                                                            : 1;
          count *= llvm::divideCeil(ranges[dim], tile);
        }
        return count;
      };
      while (countTiles() < options.minParallelTiles &&
             tileN > 2 * options.registerTileN)
        tileN /= 2;
      while (countTiles() < options.minParallelTiles &&
             tileM > options.registerTileM)
        tileM = std::max<int64_t>(options.registerTileM, tileM / 2);
    }
    scf::SCFTilingOptions forallOptions;
    forallOptions.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp)
        .setTileSizes(tileSizes(rewriter, op, *plan, tileM, tileN, 1, 0));
    FailureOr<scf::SCFTilingResult> tiled =
        tileAndErase(rewriter, op, forallOptions);
    if (failed(tiled))
      return;
    op = cast<linalg::LinalgOp>(tiled->tiledOps.back());
    outputTile = op;
  }

  // Blocks of `reduction-tile` steps of the reduction: the rhs rows one
  // register tile streams (reduction-tile x register-tile-n) then stay in
  // L1 while the tile's other register tiles reuse them, and the rhs block
  // of the whole output tile in L2, whatever K is.
  if (options.reductionTile > 0) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<OpFoldResult> sizes;
    bool tileReduction = false;
    for (auto [dim, iterator] : llvm::enumerate(op.getIteratorTypesArray())) {
      bool reduce = iterator != utils::IteratorType::parallel &&
                    !ShapedType::isDynamic(ranges[dim]) &&
                    ranges[dim] > options.reductionTile;
      tileReduction |= reduce;
      sizes.push_back(
          rewriter.getIndexAttr(reduce ? options.reductionTile : 0));
    }
    if (tileReduction) {
      scf::SCFTilingOptions kOptions;
      kOptions.setLoopType(scf::SCFTilingOptions::LoopType::ForOp)
          .setTileSizes(sizes);
      FailureOr<scf::SCFTilingResult> tiled =
          tileAndErase(rewriter, op, kOptions);
      if (failed(tiled))
        return;
      op = cast<linalg::LinalgOp>(tiled->tiledOps.back());
      if (outputTile)
        outputTile = tiled->loops.front();
    }
  }
  // The rhs block of each output tile (and reduction block) copied into a
  // contiguous buffer, allocated once per output tile.
  if (outputTile && options.packRhs)
    packRhs(rewriter, op, *plan, outputTile);

  // Columns not a multiple of 16 (a flash block of 49 keys) are split first
  // so that no register tile is 17 wide (see splitAtVectorMultiple); each
  // piece gets its own register tiles and reduction loop, so each
  // accumulator can still be hoisted into registers.
  for (Operation *piece : splitAtVectorMultiple(rewriter, op, plan->nDim))
    tileRegisters(rewriter, cast<linalg::LinalgOp>(piece), *plan, options);
}

/// Register tiles of a contraction, the reduction innermost: the
/// accumulator tile stays loop-invariant across the reduction loop so it can
/// live in registers. Every dimension gets a loop; N (inner) then M are
/// peeled so the full tiles are static.
static void tileRegisters(RewriterBase &rewriter, linalg::LinalgOp op,
                          const ContractionPlan &plan,
                          const attn::TileAndVectorizePassOptions &options) {
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
      .setTileSizes(tileSizes(rewriter, op, plan, options.registerTileM,
                              options.registerTileN, 1, 1))
      .setInterchange(interchange);
  FailureOr<scf::SCFTilingResult> tiled =
      tileAndErase(rewriter, op, forOptions);
  if (failed(tiled))
    return;
  tiled->tiledOps.back()->setAttr(kRegisterTileAttr, rewriter.getUnitAttr());

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

/// Hoists the accumulator of a vectorised reduction loop into a loop-carried
/// vector: `loop` must hold exactly one transfer_write, a transfer_read of
/// the same memref, indices, type and map, both loop-invariant, and nothing
/// else that touches memory except reads of other buffers. Upstream
/// linalg::hoistRedundantVectorTransfers gives up as soon as the memref has
/// any view user anywhere (our partial tiles' subviews), so the register
/// tiles this pass built, whose operands never alias the accumulator, are
/// matched here directly.
static bool hoistAccumulator(RewriterBase &rewriter, scf::ForOp loop) {
  vector::TransferWriteOp write;
  for (Operation &op : loop.getBody()->without_terminator()) {
    if (auto candidate = dyn_cast<vector::TransferWriteOp>(op)) {
      if (write)
        return false;
      write = candidate;
      continue;
    }
    if (op.getNumRegions() != 0 ||
        (!isMemoryEffectFree(&op) && !isa<vector::TransferReadOp>(op)))
      return false;
  }
  if (!write || write.getMask() || !isa<MemRefType>(write.getBase().getType()))
    return false;
  vector::TransferReadOp read;
  for (auto candidate : loop.getBody()->getOps<vector::TransferReadOp>()) {
    if (candidate.getBase() != write.getBase())
      continue;
    // A second read of the accumulator would see stale memory.
    if (read)
      return false;
    read = candidate;
  }
  if (!read || read.getMask() || read.getIndices() != write.getIndices() ||
      read.getVectorType() != write.getVectorType() ||
      read.getPermutationMap() != write.getPermutationMap() ||
      !read->isBeforeInBlock(write))
    return false;
  for (Value operand : read->getOperands())
    if (!loop.isDefinedOutsideOfLoop(operand))
      return false;

  rewriter.moveOpBefore(read, loop);
  FailureOr<LoopLikeOpInterface> newLoop = loop.replaceWithAdditionalYields(
      rewriter, read.getResult(), /*replaceInitOperandUsesInLoop=*/true,
      [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
        return SmallVector<Value>{write.getValueToStore()};
      });
  if (failed(newLoop))
    return false;
  rewriter.moveOpAfter(write, *newLoop);
  rewriter.modifyOpInPlace(write, [&] {
    write.getValueToStoreMutable().assign(newLoop->getLoopResults()->back());
  });
  return true;
}

/// Rewrites a register tile as transfer_reads of whole operands, one
/// vector.contract with the op's own indexing maps, and a transfer_write.
/// linalg::vectorize only emits vector.contract for named ops; for generic
/// contractions with unit reduction steps it emits mulf/addf, which LLVM
/// may not fuse into FMAs without fast-math flags. A partial tile (the
/// peeled remainder of the M or N loop, of dynamic size at most the
/// register tile's) is computed as a whole register tile: its transfers are
/// out of bounds along that dimension, reading zeros and writing only the
/// rows and columns that exist.
static LogicalResult vectorizeTile(RewriterBase &rewriter, linalg::LinalgOp op,
                                   int64_t registerTileM,
                                   int64_t registerTileN) {
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  if (op.hasDynamicShape()) {
    std::optional<ContractionPlan> plan = planContraction(op);
    if (!plan)
      return failure();
    for (auto [dim, bound] : llvm::enumerate(bounds)) {
      if (!ShapedType::isDynamic(bound))
        continue;
      if (dim == plan->nDim)
        bound = registerTileN;
      else if (plan->mDim && dim == *plan->mDim)
        bound = registerTileM;
      else
        return failure();
    }
  }
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  auto shapeOf = [&](OpOperand &operand, SmallVector<bool> &inBounds) {
    auto type = cast<MemRefType>(operand.get().getType());
    SmallVector<int64_t> shape;
    for (auto [i, expr] :
         llvm::enumerate(op.getMatchingIndexingMap(&operand).getResults())) {
      shape.push_back(bounds[cast<AffineDimExpr>(expr).getPosition()]);
      inBounds.push_back(type.getDimSize(i) == shape.back());
    }
    return VectorType::get(shape, type.getElementType());
  };
  auto readWhole = [&](OpOperand &operand) -> Value {
    Value memref = operand.get();
    auto type = cast<MemRefType>(memref.getType());
    SmallVector<bool> inBounds;
    VectorType vectorType = shapeOf(operand, inBounds);
    SmallVector<Value> indices(type.getRank(), zero);
    Value padding = arith::ConstantOp::create(
        rewriter, loc, rewriter.getZeroAttr(type.getElementType()));
    return vector::TransferReadOp::create(rewriter, loc, vectorType, memref,
                                          indices, padding, inBounds);
  };
  Value lhs = readWhole(*op.getDpsInputOperand(0));
  Value rhs = readWhole(*op.getDpsInputOperand(1));
  OpOperand &outOperand = *op.getDpsInitOperand(0);
  Value out = outOperand.get();
  Value acc = readWhole(outOperand);
  SmallVector<Attribute> iterators;
  for (utils::IteratorType iterator : op.getIteratorTypesArray())
    iterators.push_back(vector::IteratorTypeAttr::get(
        ctx, iterator == utils::IteratorType::parallel
                 ? vector::IteratorType::parallel
                 : vector::IteratorType::reduction));
  Value result = vector::ContractionOp::create(
      rewriter, loc, lhs, rhs, acc,
      rewriter.getAffineMapArrayAttr(op.getIndexingMapsArray()),
      rewriter.getArrayAttr(iterators));
  auto outType = cast<MemRefType>(out.getType());
  SmallVector<Value> indices(outType.getRank(), zero);
  SmallVector<bool> inBounds;
  (void)shapeOf(outOperand, inBounds);
  vector::TransferWriteOp::create(rewriter, loc, result, out, indices,
                                  inBounds);
  rewriter.eraseOp(op);
  return success();
}

/// Canonicalisation of everything loaded plus `extra`.
static LogicalResult simplify(Operation *root,
                              function_ref<void(RewritePatternSet &)> extra,
                              bool canonicalize = true) {
  MLIRContext *ctx = root->getContext();
  RewritePatternSet patterns(ctx);
  for (Dialect *dialect :
       canonicalize ? ctx->getLoadedDialects() : std::vector<Dialect *>{})
    dialect->getCanonicalizationPatterns(patterns);
  if (canonicalize)
    for (RegisteredOperationName name : ctx->getRegisteredOperations())
      name.getCanonicalizationPatterns(patterns, ctx);
  if (extra)
    extra(patterns);
  // Not converging within the driver's iteration limit still leaves valid
  // IR; only a broken op would be worth failing the pass for.
  (void)applyPatternsGreedily(root, std::move(patterns));
  return success();
}

/// Applies `transform` to every `OpTy` under `root`, collected first: the
/// transforms erase the op they are given and create others, which a walk
/// in progress must not visit.
template <typename OpTy, typename Transform>
static void forEachCollected(Operation *root, Transform transform) {
  SmallVector<OpTy> ops;
  root->walk([&](OpTy op) { ops.push_back(op); });
  for (OpTy op : ops)
    transform(op);
}

namespace {
struct TileAndVectorizePass
    : public attn::impl::TileAndVectorizePassBase<TileAndVectorizePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (parallelTileM < 1 || parallelTileN < 1 || registerTileM < 1 ||
        registerTileN < 1) {
      func.emitError("attn-tile-and-vectorize: tile sizes must be positive");
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());

    forEachCollected<linalg::GenericOp>(func, [&](linalg::GenericOp op) {
      if (!linalg::isaContractionOpInterface(op))
        (void)splitFusedFactors(rewriter, op);
    });
    forEachCollected<linalg::LinalgOp>(
        func, [&](linalg::LinalgOp op) { widenNarrowInputs(rewriter, op); });
    forEachCollected<linalg::GenericOp>(
        func, [&](linalg::GenericOp op) { collapseReductions(rewriter, op); });
    // After the split: the factors it computes into temporaries (a GELU
    // fused into the linear that reads it) are row ops too.
    forEachCollected<linalg::LinalgOp>(
        func, [&](linalg::LinalgOp op) { vectorizeRows(rewriter, op); });
    forEachCollected<linalg::TransposeOp>(func, [&](linalg::TransposeOp op) {
      vectorizeTranspose(rewriter, op);
    });

    attn::TileAndVectorizePassOptions options;
    options.parallelTileM = parallelTileM;
    options.parallelTileN = parallelTileN;
    options.registerTileM = registerTileM;
    options.registerTileN = registerTileN;
    options.transposeRhs = transposeRhs;
    options.reductionTile = reductionTile;
    options.packRhs = packRhs;
    options.minParallelTiles = minParallelTiles;
    forEachCollected<linalg::LinalgOp>(func, [&](linalg::LinalgOp op) {
      if (planContraction(op))
        tileContraction(rewriter, op, options);
    });
    // Folds the peeled loops' tile sizes into static subview types.
    if (failed(simplify(func, nullptr)))
      return signalPassFailure();

    // Vectorise the static register tiles; partial ones stay linalg ops.
    forEachCollected<linalg::LinalgOp>(func, [&](linalg::LinalgOp op) {
      if (op->removeAttr(kRegisterTileAttr))
        (void)vectorizeTile(rewriter, op, registerTileM, registerTileN);
    });
    forEachCollected<linalg::LinalgOp>(
        func, [&](linalg::LinalgOp op) { vectorizeTileOp(rewriter, op); });

    // Unit dimensions (batch, the reduction step) out of the vectors, so the
    // accumulator is a plain [M x N] vector. (memref alias folding is not
    // used: in LLVM 22 it folds transfers through expand_shape into reads
    // of the wrong dimensions.)
    if (failed(simplify(func, [](RewritePatternSet &patterns) {
          vector::populateCastAwayVectorLeadingOneDimPatterns(patterns);
          vector::populateVectorReductionToContractPatterns(patterns);
          vector::populateDropUnitDimWithShapeCastPatterns(patterns);
        })))
      return signalPassFailure();
    // The accumulator's read/write pair is invariant in the reduction loop:
    // hoisting it turns it into a loop-carried vector (registers).
    // Hoisting compares the transfers' index values, so equal indices must
    // be one SSA value.
    DominanceInfo dominance(func);
    eliminateCommonSubExpressions(rewriter, dominance, func);
    func.walk([](LoopLikeOpInterface loop) { moveLoopInvariantCode(loop); });
    forEachCollected<scf::ForOp>(
        func, [&](scf::ForOp loop) { (void)hoistAccumulator(rewriter, loop); });

    if (!lowerVectors)
      return;
    // vector.contract -> vector.outerproduct -> vector.fma, transfers ->
    // 1-D loads/stores, all unrolled. No canonicalisation here: it would
    // fold the accumulator's row inserts into a from_elements of every
    // scalar.
    if (failed(simplify(
            func,
            [](RewritePatternSet &patterns) {
              vector::populateVectorContractLoweringPatterns(
                  patterns, vector::VectorContractLowering::OuterProduct);
              vector::populateVectorOuterProductLoweringPatterns(patterns);
              vector::populateVectorTransferPermutationMapLoweringPatterns(
                  patterns);
              // 16 x 16 transposes (vectorizeTranspose's blocks) as
              // AVX-512 unpack/shuffle sequences, other 2-D ones as one
              // shuffle, the rest element by element.
              vector::populateVectorTransposeLoweringPatterns(
                  patterns, vector::VectorTransposeLowering::Shuffle16x16);
              vector::populateVectorBroadcastLoweringPatterns(patterns);
              vector::populateVectorShapeCastLoweringPatterns(patterns);
              vector::populateVectorMultiReductionLoweringPatterns(
                  patterns,
                  vector::VectorMultiReductionLowering::InnerReduction);
              vector::populateVectorTransferLoweringPatterns(
                  patterns, /*maxTransferRank=*/1);
              populateVectorToSCFConversionPatterns(
                  patterns, VectorTransferToSCFOptions().enableFullUnroll());
              // Partial tiles' 1-D transfers that are out of bounds along N
              // become masked loads/stores here, while memref.dim (their
              // bound) can still be lowered by the rest of the pipeline.
              vector::populateVectorMaskMaterializationPatterns(
                  patterns, /*force32BitVectorIndices=*/true);
            },
            /*canonicalize=*/false)))
      return signalPassFailure();
  }
};
} // namespace
