//===- AttnOps.h - attn dialect operations ----------------------*- C++ -*-===//
//
// Declares the operations of the attn dialect.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_IR_ATTNOPS_H
#define ATTN_DIALECT_ATTN_IR_ATTNOPS_H

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Support/Einops.h"
#include "attn/Support/Einsum.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <map>
#include <optional>
#include <string>

#include "attn/Dialect/Attn/IR/AttnEnums.h.inc"

#define GET_OP_CLASSES
#include "attn/Dialect/Attn/IR/AttnOps.h.inc"

namespace mlir::attn {
/// True if `scale` is a valid `scale` of an attn.einsum or attn.attention
/// on `elementType`: finite and not overflowing the type, as an
/// arith.constant of that type would have to be (`scale(3.5e38)` on f32
/// rounds to +inf). Rewrites that combine scales check it before building
/// the op.
bool isRepresentableScale(double scale, Type elementType);
} // namespace mlir::attn

#endif // ATTN_DIALECT_ATTN_IR_ATTNOPS_H
