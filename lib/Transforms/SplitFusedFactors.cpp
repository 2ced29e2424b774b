//===- SplitFusedFactors.cpp - attn-split-fused-factors -------------------===//
//
// Implements attn-split-fused-factors: a contraction into which elementwise
// producers were fused becomes a plain contraction again, each factor
// computed into a temporary first.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallBitVector.h"

namespace mlir::attn {
#define GEN_PASS_DEF_SPLITFUSEDFACTORSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

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

namespace {
struct SplitFusedFactorsPass
    : public attn::impl::SplitFusedFactorsPassBase<SplitFusedFactorsPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachCollected<linalg::GenericOp>(
        getOperation(), [&](linalg::GenericOp op) {
          if (!linalg::isaContractionOpInterface(op))
            (void)splitFusedFactors(rewriter, op);
        });
  }
};
} // namespace
