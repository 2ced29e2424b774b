//===- WidenContractionInputs.cpp - attn-widen-contraction-inputs ---------===//
//
// Implements attn-widen-contraction-inputs: the f16/bf16 inputs of a
// contraction into an f32 result are widened into f32 buffers first, so the
// contraction takes the f32 micro-kernel.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::attn {
#define GEN_PASS_DEF_WIDENCONTRACTIONINPUTSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

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
      getFlashNest(op))
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

namespace {
struct WidenContractionInputsPass
    : public attn::impl::WidenContractionInputsPassBase<
          WidenContractionInputsPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachCollected<linalg::LinalgOp>(
        getOperation(),
        [&](linalg::LinalgOp op) { widenNarrowInputs(rewriter, op); });
  }
};
} // namespace
