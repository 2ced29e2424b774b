//===- ScoreTerms.h - per-feature terms of the attention scores -*- C++ -*-===//
//
// The additive and Gaussian scores are sums over the feature axis; the
// decompositions of both attention ops build the same per-feature term here.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_UTILS_SCORETERMS_H
#define ATTN_DIALECT_ATTN_UTILS_SCORETERMS_H

#include "attn/Dialect/Attn/Utils/FloatUtils.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"


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

} // namespace mlir::attn

#endif // ATTN_DIALECT_ATTN_UTILS_SCORETERMS_H
