//===- AttnAttrs.h - attn dialect attributes --------------------*- C++ -*-===//
//
// Declares the attn attributes that code generation records in the IR, and
// the queries passes use to read them.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_IR_ATTNATTRS_H
#define ATTN_DIALECT_ATTN_IR_ATTNATTRS_H

#include "mlir/Dialect/SCF/IR/DeviceMappingInterface.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"

#define GET_ATTRDEF_CLASSES
#include "attn/Dialect/Attn/IR/AttnAttrs.h.inc"

namespace mlir {
class Operation;
namespace scf {
class ForallOp;
} // namespace scf
namespace attn {

/// The `mapping` of an scf.forall with `rank` loops that marks it as a
/// flash-attention nest.
ArrayAttr getFlashNestMapping(MLIRContext *ctx, int64_t rank);

/// Whether `forall` is a flash-attention nest (its mapping is FlashNestAttr).
bool isFlashNest(scf::ForallOp forall);

/// The flash-attention nest enclosing `op`, or null.
scf::ForallOp getFlashNest(Operation *op);

/// The lowering config recorded on `op`, or null.
LoweringConfigAttr getLoweringConfig(Operation *op);

/// Records `config` on `op`; a null config removes it.
void setLoweringConfig(Operation *op, LoweringConfigAttr config);

} // namespace attn
} // namespace mlir

#endif // ATTN_DIALECT_ATTN_IR_ATTNATTRS_H
