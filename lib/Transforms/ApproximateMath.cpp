//===- ApproximateMath.cpp - inline approximations of exp, tanh, erf ------===//
//
// Implements attn-approximate-math: the transcendental functions attention
// graphs use become arithmetic that LLVM can keep in registers and
// vectorise, instead of scalar libm calls.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "attn/Dialect/Attn/IR/AttnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::attn {
#define GEN_PASS_DEF_APPROXIMATEMATHPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

namespace {
/// f32 exp on vectors of 16k lanes as p(r) * 2^k with the scaling done by
/// AVX-512's vscalefps, which rounds once and overflows to +inf by itself,
/// and whose zeroing mask gives the results below the smallest normal float
/// (and exp(-inf)) as 0: the portable expansion spends about as many
/// instructions building 2^k from exponent bits and clamping it as on the
/// polynomial. Softmax (the flash nest's rows) is its user: exp was ~10% of
/// the samples of h8 n4096 d64 on one thread.
///
/// Subnormal results are flushed to 0 (as the portable expansion does) not
/// for accuracy but for speed: vscalefps producing a subnormal or an
/// underflow to 0 takes a microcode assist, and softmax over spread-out
/// scores makes many (G1, whose scores span more than 87: 48 -> 104 ms on
/// one thread when vscalefps underflowed by itself).
///
/// vscalefps is called as its LLVM intrinsic: LLVM 22's
/// `x86vector.avx512.mask.scalef` passes its operands in declaration order
/// (src, a, b, ...) to `llvm.x86.avx512.mask.scalef.ps.512`, which takes
/// (a, b, src, ...), so it computes scalef(src, a) (found here: its results
/// were p * 2^floor(p)).
struct ExpScalefApproximation : public OpRewritePattern<math::ExpOp> {
  static constexpr int64_t kLanes = 16;

  ExpScalefApproximation(MLIRContext *context)
      : OpRewritePattern(context, /*benefit=*/2) {}

  LogicalResult matchAndRewrite(math::ExpOp op,
                                PatternRewriter &rewriter) const override {
    auto type = dyn_cast<VectorType>(op.getType());
    if (!type || !type.getElementType().isF32() || type.isScalable() ||
        type.getNumElements() % kLanes != 0)
      return rewriter.notifyMatchFailure(op, "not an f32 vector of 16k lanes");
    Location loc = op.getLoc();
    auto splat = [&](double value) -> Value {
      return arith::ConstantOp::create(
          rewriter, loc,
          DenseElementsAttr::get(type, rewriter.getF32FloatAttr(value)));
    };
    auto fma = [&](Value a, Value b, Value c) -> Value {
      return math::FmaOp::create(rewriter, loc, a, b, c);
    };
    // Lanes below ln(FLT_MIN) = -87.3365 (and -inf) are zeroed by the
    // scaling's mask; NaN is unordered and stays computed. Above, clamped so
    // that p(r) 2^128 overflows to +inf for every argument above 88.73 (so
    // does +inf); a NaN compares false and passes through the select. An
    // argument marked attn.nonpositive_argument (softmax's s - max) cannot
    // get there: one instruction fewer per 16 lanes.
    Value x = op.getOperand();
    Value lo = splat(-87.33654), hi = splat(88.8);
    Value kept =
        arith::CmpFOp::create(rewriter, loc, arith::CmpFPredicate::UGE, x, lo);
    if (!op->hasAttr(attn::AttnDialect::NonpositiveArgumentAttrHelper::getNameStr())) {
      Value above = arith::CmpFOp::create(rewriter, loc,
                                          arith::CmpFPredicate::OGT, x, hi);
      x = arith::SelectOp::create(rewriter, loc, above, hi, x);
    }
    // x = k ln2 + r, |r| <= ln2 / 2; ln2 as a float and the float nearest
    // the rest, each product with k rounded once by the FMA.
    Value k = math::RoundEvenOp::create(
        rewriter, loc, arith::MulFOp::create(rewriter, loc, x, splat(M_LOG2E)));
    float ln2Hi = static_cast<float>(M_LN2);
    float ln2Lo = static_cast<float>(M_LN2 - static_cast<double>(ln2Hi));
    Value r = fma(k, splat(-ln2Hi), x);
    r = fma(k, splat(-ln2Lo), r);
    // exp on [-ln2/2, ln2/2], minimax for the relative error (a Lawson
    // fit): at most 1.9e-9 relative before rounding; with the f32
    // evaluation the whole function is within 1.03 ulp of exp over
    // [-87.3365, 88.7] (checked against f64 at 4M points), and exp(0) = 1.
    static constexpr float kCoefficients[] = {1.0f,           1.0f,
                                              0.4999999106f,  0.1666641980f,
                                              0.04166822880f, 0.008374857716f,
                                              0.001383678988f};
    Value p = splat(kCoefficients[6]);
    for (int i = 5; i >= 0; --i)
      p = fma(p, r, splat(kCoefficients[i]));
    // p * 2^k, 16 lanes at a time (vscalefps takes k as a float).
    int64_t n = type.getNumElements();
    auto flat = VectorType::get({n}, rewriter.getF32Type());
    auto piece = VectorType::get({kLanes}, rewriter.getF32Type());
    Value flatP = vector::ShapeCastOp::create(rewriter, loc, flat, p);
    Value flatK = vector::ShapeCastOp::create(rewriter, loc, flat, k);
    Value flatKept = vector::ShapeCastOp::create(
        rewriter, loc, VectorType::get({n}, rewriter.getI1Type()), kept);
    Value zeros = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(piece, rewriter.getF32FloatAttr(0)));
    // _MM_FROUND_CUR_DIRECTION: round to nearest under the default MXCSR.
    Value rounding =
        arith::ConstantOp::create(rewriter, loc, rewriter.getI32IntegerAttr(4));
    Value result = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(flat, rewriter.getF32FloatAttr(0)));
    for (int64_t offset = 0; offset < n; offset += kLanes) {
      auto slice = [&](Value v) -> Value {
        return vector::ExtractStridedSliceOp::create(
            rewriter, loc, v, ArrayRef<int64_t>{offset},
            ArrayRef<int64_t>{kLanes}, ArrayRef<int64_t>{1});
      };
      // (a, b, src, mask, rounding): a * 2^floor(b), src (0) where the
      // mask is clear; the 16 lanes' bits as an i16.
      Value mask = vector::ExtractOp::create(
          rewriter, loc,
          vector::BitCastOp::create(rewriter, loc,
                                    VectorType::get({1}, rewriter.getI16Type()),
                                    slice(flatKept)),
          ArrayRef<int64_t>{0});
      Value scaled =
          LLVM::CallIntrinsicOp::create(
              rewriter, loc, piece,
              rewriter.getStringAttr("llvm.x86.avx512.mask.scalef.ps.512"),
              ValueRange{slice(flatP), slice(flatK), zeros, mask, rounding})
              .getResult(0);
      result = vector::InsertStridedSliceOp::create(
          rewriter, loc, scaled, result, ArrayRef<int64_t>{offset},
          ArrayRef<int64_t>{1});
    }
    rewriter.replaceOpWithNewOp<vector::ShapeCastOp>(op, type, result);
    return success();
  }
};

struct ApproximateMathPass
    : public attn::impl::ApproximateMathPassBase<ApproximateMathPass> {
  using Base::Base;

  void runOnOperation() override {
    auto approximated = [](StringRef name) {
      return name == math::ExpOp::getOperationName() ||
             name == math::TanhOp::getOperationName() ||
             name == math::ErfOp::getOperationName();
    };
    RewritePatternSet patterns(&getContext());
    if (x86Avx512)
      patterns.add<ExpScalefApproximation>(&getContext());
    // Half-precision operands are widened to f32 first: the approximations
    // are written for f32.
    populateMathF32ExpansionPatterns(patterns, approximated);
    populateMathPolynomialApproximationPatterns(patterns, approximated);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
