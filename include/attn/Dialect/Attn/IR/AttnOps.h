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

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"

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

/// The role of a tensor operand of attn.attention / attn.online_attention.
enum class AttentionRole {
  Query,
  Key,
  Value,
  Mask,
  Weight,
  KeyLengths,
  BlockMask,
  Output,
  Lse,
  Acc,
  Max,
  Sum
};

/// The tensor operands of an attention op with their roles, in operand
/// (and indexing map) order.
SmallVector<std::pair<AttentionRole, OpOperand *>>
getAttentionOperands(Operation *op);

/// Everything an attention op is made of, to rebuild one with a few parts
/// changed: `fromOp` reads an op, `create` makes a new one (taking
/// `scoreMod`'s blocks). A null map is the default map of its role.
struct AttentionParts {
  bool online = false;
  Value query, key, value, mask, weight, keyLengths, blockMask;
  /// attn.attention: output and optional lse; online: acc, max, sum.
  SmallVector<Value> inits;
  SmallVector<Value> offsets;
  /// One map per tensor operand present, in operand order (null: default).
  SmallVector<AffineMap> maps;
  double scale = 1.0;
  bool causal = false;
  /// The float mask holds a boolean one as 0 / -inf (see the op).
  bool keepOrDrop = false;
  std::optional<std::pair<int64_t, int64_t>> window;
  std::optional<std::pair<int64_t, int64_t>> blockSizes;
  ScoreKind score = ScoreKind::Dot;
  Region *scoreMod = nullptr;

  static AttentionParts fromOp(Operation *op);
  /// The field holding the input operand of `role` (query ... blockMask);
  /// null for the roles of inits and results.
  Value *getOperand(AttentionRole role);
  const Value *getOperand(AttentionRole role) const {
    return const_cast<AttentionParts *>(this)->getOperand(role);
  }
  /// The map of `role` (null when the role is absent or its map default).
  AffineMap getMap(AttentionRole role) const;
  void setMap(AttentionRole role, AffineMap map);
  /// Removes the mask, its map and keepOrDrop.
  void dropMask();
  /// Sets the mask (and its map, null for the default); an additive or
  /// boolean one (keepOrDrop is cleared).
  void setMask(Value newMask, AffineMap map);
  Operation *create(OpBuilder &b, Location loc) const;
  /// The roles present, in operand order.
  SmallVector<AttentionRole> getRoles() const;
};

/// The default indexing maps of an attention op's tensor operands (`roles`,
/// in operand order, of the given types) over a domain with `numBatch`
/// batch dimensions.
SmallVector<AffineMap> getDefaultAttentionMaps(MLIRContext *ctx,
                                               int64_t numBatch,
                                               ArrayRef<AttentionRole> roles,
                                               ArrayRef<Type> types);

/// Slices of the operands of `op` (an attention op) for the tile of its
/// iteration domain at `offsets` with `sizes`, and the op that computes that
/// tile, inserted at `b`'s insertion point; the tile reads global positions
/// through its `offsets` operand whenever its result depends on them. With
/// `dropUnitBatchDims`, batch dimensions whose tile size is 1 are removed
/// from the slices (rank-reducing) and the tile's maps, and so are the
/// size-1 dimensions an operand reads through a constant 0 (broadcasts);
/// the positions stay among the tile's offsets. Returns the tile op.
FailureOr<Operation *> createAttentionTile(OpBuilder &b, Operation *op,
                                           ArrayRef<OpFoldResult> offsets,
                                           ArrayRef<OpFoldResult> sizes,
                                           bool dropUnitBatchDims);

} // namespace mlir::attn

#endif // ATTN_DIALECT_ATTN_IR_ATTNOPS_H
