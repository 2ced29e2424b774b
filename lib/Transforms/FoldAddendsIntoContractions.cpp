//===- FoldAddendsIntoContractions.cpp - bias adds as contraction inits ---===//
//
// Implements attn-fold-addends-into-contractions: a contraction whose result
// is only added to other values (a Linear's bias, a residual) starts from
// those values instead of from zero, so the adds need no pass of their own.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::attn {
#define GEN_PASS_DEF_FOLDADDENDSINTOCONTRACTIONSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

/// The fill of +0.0 that `value` is, looking through reshapes (a Linear over
/// tokens fills its 2-D result and expands it to `b n o`).
static bool isZeroFill(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def)) {
      value = def->getOperand(0);
      continue;
    }
    auto fill = dyn_cast<linalg::FillOp>(def);
    return fill && matchPattern(fill.value(), m_PosZeroFloat());
  }
  return false;
}

/// Whether `op` accumulates into its single init: it reduces, and its body
/// yields `out + v` with `out` used nowhere else, so starting from `c`
/// instead of 0 adds `c` to every result.
static bool accumulatesIntoInit(linalg::LinalgOp op) {
  if (op.getNumReductionLoops() == 0 || op.getNumDpsInits() != 1 ||
      op->getNumResults() != 1 || !op.hasPureTensorSemantics())
    return false;
  Block *body = op.getBlock();
  BlockArgument out = body->getArguments().back();
  auto add =
      body->getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  return add && out.hasOneUse() && (add.getLhs() == out || add.getRhs() == out);
}

/// The ops of `body` that `value` depends on, in block order; fails when
/// it depends on `excluded` (the result being folded, the generic's out) or
/// on loop indices.
static FailureOr<SmallVector<Operation *>> sliceOf(Value value, Block *body,
                                                   ArrayRef<Value> excluded) {
  llvm::SetVector<Operation *> slice;
  SmallVector<Value> work{value};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (llvm::is_contained(excluded, v))
      return failure();
    Operation *def = v.getDefiningOp();
    if (!def || def->getBlock() != body || slice.contains(def))
      continue;
    if (isa<linalg::IndexOp>(def) || def->getNumRegions() != 0)
      return failure();
    slice.insert(def);
    llvm::append_range(work, def->getOperands());
  }
  SmallVector<Operation *> ordered(slice.begin(), slice.end());
  llvm::sort(ordered,
             [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return ordered;
}

/// Folds the chain of additions that starts at `operand` (the result of a
/// contraction, read by `generic`) into the contraction's init.
static LogicalResult foldAddends(RewriterBase &rewriter,
                                 linalg::GenericOp generic,
                                 OpOperand &operand) {
  auto contraction = operand.get().getDefiningOp<linalg::LinalgOp>();
  if (!contraction || !operand.get().hasOneUse() ||
      !accumulatesIntoInit(contraction) ||
      !isZeroFill(contraction.getDpsInits()[0]) ||
      attn::getFlashNest(contraction))
    return failure();
  AffineMap resultMap = generic.getMatchingIndexingMap(&operand);
  if (!resultMap.isPermutation())
    return failure();
  Block *body = generic.getBlock();
  BlockArgument r = generic.getMatchingBlockArgument(&operand);
  BlockArgument out = body->getArguments().back();
  // Walk r + a, (r + a) + b, ... while each sum has a single use that adds
  // something that does not depend on r.
  SmallVector<Value> addends;
  Value sum = r;
  Operation *last = nullptr;
  while (sum.hasOneUse()) {
    auto add = dyn_cast<arith::AddFOp>(*sum.getUsers().begin());
    if (!add)
      break;
    Value other = add.getLhs() == sum ? add.getRhs() : add.getLhs();
    if (other == sum || failed(sliceOf(other, body, {r, out})))
      break;
    addends.push_back(other);
    sum = add.getResult();
    last = add;
  }
  if (addends.empty())
    return failure();
  // The init is computed before the contraction, so every input it reads
  // must be available there. A view of a weight made between the two (the
  // bias reshaped to the heads' layout) is moved up; anything else fails.
  SmallVector<Operation *> toHoist;
  for (OpOperand *input : generic.getDpsInputOperands()) {
    if (input == &operand)
      continue;
    Value v = input->get();
    SmallVector<Operation *> chain;
    while (Operation *def = v.getDefiningOp()) {
      if (def->getBlock() != contraction->getBlock() ||
          def->isBeforeInBlock(contraction))
        break;
      if (!isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def))
        return failure();
      chain.push_back(def);
      v = def->getOperand(0);
    }
    if (Operation *def = v.getDefiningOp();
        def && def->getBlock() == contraction->getBlock() &&
        !def->isBeforeInBlock(contraction))
      return failure();
    llvm::append_range(toHoist, llvm::reverse(chain));
  }
  for (Operation *op : toHoist)
    if (!op->isBeforeInBlock(contraction))
      rewriter.moveOpBefore(op, contraction);

  // The init: the addends summed at the contraction's output indices. The
  // generic's loop l reads r at resultMap(l), so output index i is loop
  // resultMap^-1(i) and every other operand is read at map(resultMap^-1).
  Location loc = generic.getLoc();
  Value init = contraction.getDpsInits()[0];
  auto initType = cast<RankedTensorType>(init.getType());
  AffineMap toLoops = inversePermutation(resultMap);
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  SmallVector<BlockArgument> sources;
  for (OpOperand *input : generic.getDpsInputOperands()) {
    if (input == &operand)
      continue;
    inputs.push_back(input->get());
    maps.push_back(generic.getMatchingIndexingMap(input).compose(toLoops));
    sources.push_back(generic.getMatchingBlockArgument(input));
  }
  maps.push_back(rewriter.getMultiDimIdentityMap(initType.getRank()));
  rewriter.setInsertionPoint(contraction);
  Value empty = tensor::EmptyOp::create(rewriter, loc, initType.getShape(),
                                        initType.getElementType());
  SmallVector<utils::IteratorType> parallel(initType.getRank(),
                                            utils::IteratorType::parallel);
  auto addendsOp = linalg::GenericOp::create(
      rewriter, loc, TypeRange{initType}, inputs, ValueRange{empty}, maps,
      parallel, [&](OpBuilder &b, Location bodyLoc, ValueRange args) {
        IRMapping mapping;
        for (auto [source, arg] : llvm::zip(sources, args))
          mapping.map(source, arg);
        Value total;
        for (Value addend : addends) {
          // Held in a local: a range-for over `*sliceOf(...)` would walk the
          // vector of a destroyed temporary (a chain of more than six adds,
          // past the vector's inline storage, read freed memory).
          FailureOr<SmallVector<Operation *>> slice =
              sliceOf(addend, body, {r, out});
          for (Operation *op : *slice)
            if (!mapping.contains(op->getResult(0)))
              b.clone(*op, mapping);
          Value v = mapping.lookupOrDefault(addend);
          total = total ? arith::AddFOp::create(b, bodyLoc, total, v) : v;
        }
        linalg::YieldOp::create(b, bodyLoc, total);
      });
  rewriter.modifyOpInPlace(contraction, [&] {
    contraction.getDpsInitsMutable()[0].set(addendsOp.getResult(0));
  });
  rewriter.replaceAllUsesWith(last->getResult(0), r);
  // The chain is dead now; its inputs become unused operands, which the
  // pass erases below.
  SmallVector<Operation *> ops;
  for (Operation &op : body->without_terminator())
    ops.push_back(&op);
  for (Operation *op : llvm::reverse(ops))
    if (isOpTriviallyDead(op))
      rewriter.eraseOp(op);
  return success();
}

namespace {
struct FoldAddendsIntoContractionsPass
    : public attn::impl::FoldAddendsIntoContractionsPassBase<
          FoldAddendsIntoContractionsPass> {
  void runOnOperation() override {
    // Until nothing folds: the init built for one contraction is itself a
    // sum, of the other contractions when several are added together (a
    // convolution's kernel taps), and folds into the latest of them in the
    // next round, so each starts from the sum of those before it. Each
    // fold replaces one zero-filled init, so the rounds end.
    IRRewriter rewriter(&getContext());
    for (bool changed = true; changed;) {
      changed = false;
      SmallVector<linalg::GenericOp> generics;
      getOperation()->walk([&](linalg::GenericOp op) {
        if (op.hasPureTensorSemantics() && op.getNumDpsInits() == 1 &&
            op.getNumReductionLoops() == 0 && !op.hasIndexSemantics() &&
            !attn::getFlashNest(op))
          generics.push_back(op);
      });
      for (linalg::GenericOp generic : generics)
        for (OpOperand *operand : generic.getDpsInputOperands())
          if (succeeded(foldAddends(rewriter, generic, *operand))) {
            changed = true;
            break;
          }
      // Generics left reading addends they no longer use (a GELU after its
      // bias moved) drop them, before the next round asks whether each
      // contraction has one use; one left yielding its input unchanged is
      // then an identity, which canonicalisation erases.
      RewritePatternSet patterns(&getContext());
      linalg::populateEraseUnusedOperandsAndResultsPatterns(patterns);
      if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
        return signalPassFailure();
    }
  }
};
} // namespace
