//===- FloatUtils.h - float helpers shared by the attn lowerings -*- C++ -*-===//
//
// Compute-type choice and scalar float conversions used by both the unfused
// and the flash lowering of attn ops, so both round the same way.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_UTILS_FLOATUTILS_H
#define ATTN_DIALECT_ATTN_UTILS_FLOATUTILS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

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

} // namespace mlir::attn

#endif // ATTN_DIALECT_ATTN_UTILS_FLOATUTILS_H
