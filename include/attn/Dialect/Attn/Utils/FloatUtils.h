//===- FloatUtils.h - float helpers shared by the attn lowerings -*- C++ -*-===//
//
// Compute-type choice and scalar float conversions used by both the unfused
// and the flash lowering of attn ops, so both round the same way.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_UTILS_FLOATUTILS_H
#define ATTN_DIALECT_ATTN_UTILS_FLOATUTILS_H

#include "attn/Dialect/Attn/IR/AttnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"

#include <limits>

namespace mlir::attn {

/// The type arithmetic is done in. f16 has 11 and bf16 8 significant bits, so
/// a dot product over d = 64, a softmax sum over thousands of keys, or the
/// flash rescaling by exp(m - m_new) at every key block, rounded at every
/// step, loses most of its digits; like PyTorch's CPU kernels and cuBLAS we
/// accumulate in f32 and round once, at the end.
inline Type getComputeType(Type elementType) {
  if (elementType.isF16() || elementType.isBF16())
    return Float32Type::get(elementType.getContext());
  return elementType;
}

/// Converts a float scalar to `to` (extension or truncation).
inline Value convertFloat(OpBuilder &b, Location loc, Value value, Type to) {
  Type from = value.getType();
  if (from == to)
    return value;
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return arith::ExtFOp::create(b, loc, to, value);
  return arith::TruncFOp::create(b, loc, to, value);
}

/// A scalar float constant of `type`.
inline Value createFloatConstant(OpBuilder &b, Location loc, Type type,
                                 double value) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
}

/// exp(x - m) for a row's max m >= x (softmax, the flash steps' rescaling),
/// with m taken as 0 while it is still -inf (a row that has seen only -inf
/// scores gets exp(-inf) = 0 instead of exp(NaN)). The shift is x + s with s
/// = -m, or +0 for m = -inf: exactly x - m, but LLVM rewrites x - select(c,
/// 0, m) into select(c, x, x - m), a masked move per vector of scores,
/// where x + select(c, +0, -m) keeps the select on the row's value (+0 is
/// no identity of the addition). The exp is marked
/// `attn.nonpositive_argument`: its argument is <= 0 or NaN.
inline Value createExpBelowMax(OpBuilder &b, Location loc, Value x,
                               Value max) {
  Type type = max.getType();
  Value isNegInf = arith::CmpFOp::create(
      b, loc, arith::CmpFPredicate::OEQ, max,
      createFloatConstant(b, loc, type,
                          -std::numeric_limits<double>::infinity()));
  Value shift = arith::SelectOp::create(
      b, loc, isNegInf, createFloatConstant(b, loc, type, 0.0),
      arith::NegFOp::create(b, loc, max));
  auto exp = math::ExpOp::create(b, loc, arith::AddFOp::create(b, loc, x, shift));
  exp->setAttr(AttnDialect::NonpositiveArgumentAttrHelper::getNameStr(),
               b.getUnitAttr());
  return exp;
}

} // namespace mlir::attn

#endif // ATTN_DIALECT_ATTN_UTILS_FLOATUTILS_H
