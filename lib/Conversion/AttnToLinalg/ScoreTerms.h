//===- ScoreTerms.h - per-feature terms of the attention scores -*- C++ -*-===//
//
// The additive and Gaussian scores are sums over the feature axis; both the
// unfused and the flash lowering build the same per-feature term, and the
// same scaled and masked score, here.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_CONVERSION_ATTNTOLINALG_SCORETERMS_H
#define ATTN_LIB_CONVERSION_ATTNTOLINALG_SCORETERMS_H

#include "FloatUtils.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"

#include <limits>

namespace mlir::attn {

/// The term summed over the feature axis d for one (i, j) pair, before the
/// scale: `w * tanh(q + k)` for the additive score and `((q - k) * w)^2`
/// for the Gaussian one (the -1/2 is applied with the scale). `weight` may
/// be null (w = 1).
inline Value createScoreTerm(OpBuilder &b, Location loc, ScoreKind kind,
                             Value query, Value key, Value weight) {
  if (kind == ScoreKind::Additive) {
    Value term =
        math::TanhOp::create(b, loc, arith::AddFOp::create(b, loc, query, key));
    return weight ? arith::MulFOp::create(b, loc, weight, term) : term;
  }
  Value diff = arith::SubFOp::create(b, loc, query, key);
  if (weight)
    diff = arith::MulFOp::create(b, loc, diff, weight);
  return arith::MulFOp::create(b, loc, diff, diff);
}

/// One score after its scale and masks, in `type`: `score * factor`; then
/// a boolean `mask` element keeps it or gives -inf, an additive one is
/// added; then -inf where `isFuture` (null without the causal mask) builds a
/// true flag for a key after the query. `mask` may be null. With
/// `keepOrDrop`, a floating-point mask is a boolean one made 0 / -inf: -inf
/// replaces the score rather than being added to it, so a masked key is
/// ignored whatever its score (NaN + -inf would be NaN, and so would the
/// whole row), as with select(mask, s, -inf).
inline Value
createMaskedScore(OpBuilder &b, Location loc, Type type, Value score,
                  double factor, Value mask,
                  function_ref<Value(OpBuilder &, Location)> isFuture,
                  bool keepOrDrop = false) {
  if (factor != 1.0)
    score = arith::MulFOp::create(b, loc, score,
                                  createFloatConstant(b, loc, type, factor));
  Value minusInf = createFloatConstant(
      b, loc, type, -std::numeric_limits<double>::infinity());
  if (mask) {
    if (mask.getType().isInteger(1)) {
      score = arith::SelectOp::create(b, loc, mask, score, minusInf);
    } else if (keepOrDrop) {
      Value drop = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                         mask, minusInf);
      score = arith::SelectOp::create(b, loc, drop, minusInf, score);
    } else {
      score = arith::AddFOp::create(b, loc, score,
                                    convertFloat(b, loc, mask, type));
    }
  }
  if (isFuture)
    score = arith::SelectOp::create(b, loc, isFuture(b, loc), minusInf, score);
  return score;
}

} // namespace mlir::attn

#endif // ATTN_LIB_CONVERSION_ATTNTOLINALG_SCORETERMS_H
