//===- AttentionOps.cpp - attn.attention and attn.online_attention --------===//
//
// The structured attention ops: their indexing maps and iteration domain,
// the verifier of their numbered constraints, and their TilingInterface.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "attn/Dialect/Attn/Utils/FloatUtils.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/TypeUtilities.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallBitVector.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;

//===----------------------------------------------------------------------===//
// Operands, roles and maps
//===----------------------------------------------------------------------===//

static StringRef getRoleName(AttentionRole role) {
  switch (role) {
  case AttentionRole::Query:
    return "query";
  case AttentionRole::Key:
    return "key";
  case AttentionRole::Value:
    return "value";
  case AttentionRole::Mask:
    return "mask";
  case AttentionRole::Weight:
    return "weight";
  case AttentionRole::KeyLengths:
    return "key_lengths";
  case AttentionRole::BlockMask:
    return "block_mask";
  case AttentionRole::Output:
    return "output";
  case AttentionRole::Lse:
    return "lse";
  case AttentionRole::Acc:
    return "acc";
  case AttentionRole::Max:
    return "max";
  case AttentionRole::Sum:
    return "sum";
  }
  return "operand";
}

SmallVector<std::pair<AttentionRole, OpOperand *>>
mlir::attn::getAttentionOperands(Operation *op) {
  SmallVector<std::pair<AttentionRole, OpOperand *>> result;
  auto addAll = [&](auto typed) {
    auto add = [&](AttentionRole role, MutableOperandRange range) {
      for (OpOperand &operand : range)
        result.push_back({role, &operand});
    };
    add(AttentionRole::Query, typed.getQueryMutable());
    add(AttentionRole::Key, typed.getKeyMutable());
    add(AttentionRole::Value, typed.getValueMutable());
    add(AttentionRole::Mask, typed.getMaskMutable());
    add(AttentionRole::Weight, typed.getWeightMutable());
    add(AttentionRole::KeyLengths, typed.getKeyLengthsMutable());
    add(AttentionRole::BlockMask, typed.getBlockMaskMutable());
  };
  if (auto attention = dyn_cast<AttentionOp>(op)) {
    addAll(attention);
    result.push_back({AttentionRole::Output, &attention.getOutputMutable()});
    for (OpOperand &lse : attention.getLseMutable())
      result.push_back({AttentionRole::Lse, &lse});
  } else if (auto online = dyn_cast<OnlineAttentionOp>(op)) {
    addAll(online);
    result.push_back({AttentionRole::Acc, &online.getAccMutable()});
    result.push_back({AttentionRole::Max, &online.getMaxMutable()});
    result.push_back({AttentionRole::Sum, &online.getSumMutable()});
  }
  return result;
}

/// The domain dimensions `role` uses, in its default layout; masks add a
/// constant 0 for dimensions of size 1 (broadcast) in `type`.
static AffineMap getDefaultMap(MLIRContext *ctx, int64_t nb, AttentionRole role,
                               Type type) {
  int64_t m = nb, k1 = nb + 1, k2 = nb + 2, n = nb + 3;
  SmallVector<int64_t> dims;
  auto batch = [&] {
    for (int64_t d = 0; d < nb; ++d)
      dims.push_back(d);
  };
  switch (role) {
  case AttentionRole::Query:
    batch();
    dims.append({m, k1});
    break;
  case AttentionRole::Key:
    batch();
    dims.append({k2, k1});
    break;
  case AttentionRole::Value:
    batch();
    dims.append({k2, n});
    break;
  case AttentionRole::Mask:
  case AttentionRole::BlockMask:
    batch();
    dims.append({m, k2});
    break;
  case AttentionRole::Weight:
    dims.push_back(k1);
    break;
  case AttentionRole::KeyLengths:
    batch();
    break;
  case AttentionRole::Output:
  case AttentionRole::Acc:
    batch();
    dims.append({m, n});
    break;
  case AttentionRole::Lse:
  case AttentionRole::Max:
  case AttentionRole::Sum:
    batch();
    dims.push_back(m);
    break;
  }
  SmallVector<AffineExpr> exprs;
  auto shaped = dyn_cast<RankedTensorType>(type);
  bool broadcasts = role == AttentionRole::Mask ||
                    role == AttentionRole::BlockMask ||
                    role == AttentionRole::KeyLengths;
  for (auto [i, dim] : llvm::enumerate(dims)) {
    // A mask dimension of size 1 broadcasts (PyTorch's [B, 1, Sk] padding
    // masks); a block mask's block dimensions never do.
    bool isBlockDim =
        role == AttentionRole::BlockMask && (dim == m || dim == k2);
    if (broadcasts && !isBlockDim && shaped &&
        static_cast<int64_t>(i) < shaped.getRank() && shaped.getDimSize(i) == 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(dim, ctx));
  }
  return AffineMap::get(nb + 4, 0, exprs, ctx);
}

SmallVector<AffineMap>
mlir::attn::getDefaultAttentionMaps(MLIRContext *ctx, int64_t numBatch,
                                    ArrayRef<AttentionRole> roles,
                                    ArrayRef<Type> types) {
  SmallVector<AffineMap> maps;
  for (auto [role, type] : llvm::zip(roles, types))
    maps.push_back(getDefaultMap(ctx, numBatch, role, type));
  return maps;
}

template <typename OpTy> static int64_t getNumBatchDimsImpl(OpTy op) {
  if (std::optional<ArrayAttr> maps = op.getIndexingMaps();
      maps && !maps->empty())
    return static_cast<int64_t>(
               cast<AffineMapAttr>((*maps)[0]).getValue().getNumDims()) -
           4;
  return op.getQuery().getType().getRank() - 2;
}

template <typename OpTy>
static SmallVector<AffineMap> getIndexingMapsImpl(OpTy op) {
  if (std::optional<ArrayAttr> maps = op.getIndexingMaps())
    return llvm::to_vector(llvm::map_range(*maps, [](Attribute attr) {
      return cast<AffineMapAttr>(attr).getValue();
    }));
  SmallVector<AttentionRole> roles;
  SmallVector<Type> types;
  for (auto [role, operand] : getAttentionOperands(op)) {
    roles.push_back(role);
    types.push_back(operand->get().getType());
  }
  return getDefaultAttentionMaps(op.getContext(), getNumBatchDimsImpl(op),
                                 roles, types);
}

template <typename OpTy>
static AffineMap getMatchingMapImpl(OpTy op, OpOperand *operand) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  for (auto [index, entry] : llvm::enumerate(getAttentionOperands(op)))
    if (entry.second == operand)
      return maps[index];
  return AffineMap();
}

/// The operand and dimension that define each domain dimension's extent:
/// the query for B..., M and K1, the key for K2, the value for N.
template <typename OpTy>
static SmallVector<std::pair<Value, int64_t>> getExtentSources(OpTy op) {
  int64_t nb = op.getNumBatchDims();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<std::pair<Value, int64_t>> sources(nb + 4, {Value(), -1});
  auto record = [&](Value value, AffineMap map, ArrayRef<int64_t> dims) {
    for (int64_t dim : dims)
      if (std::optional<unsigned> pos =
              map.getResultPosition(getAffineDimExpr(dim, op.getContext())))
        sources[dim] = {value, *pos};
  };
  SmallVector<int64_t> queryDims = llvm::to_vector(llvm::seq<int64_t>(0, nb));
  queryDims.append({nb, nb + 1});
  record(op.getQuery(), maps[0], queryDims);
  record(op.getKey(), maps[1], {nb + 2});
  record(op.getValue(), maps[2], {nb + 3});
  return sources;
}

template <typename OpTy>
static SmallVector<int64_t> getStaticLoopRangesImpl(OpTy op) {
  SmallVector<int64_t> ranges;
  for (auto [value, dim] : getExtentSources(op)) {
    if (!value || dim < 0) {
      ranges.push_back(ShapedType::kDynamic);
      continue;
    }
    ranges.push_back(cast<RankedTensorType>(value.getType()).getDimSize(dim));
  }
  return ranges;
}

template <typename OpTy>
static OpFoldResult getPositionImpl(OpTy op, OpBuilder &b, int64_t dim) {
  // Offsets list the batch positions (those of dropped leading dimensions
  // first), then the query's and the key's.
  int64_t nb = op.getNumBatchDims();
  OperandRange offsets = op.getOffsets();
  if (offsets.empty())
    return b.getIndexAttr(0);
  int64_t positions = offsets.size() - 2;
  if (dim == nb)
    return offsets[positions];
  if (dim == nb + 2)
    return offsets[positions + 1];
  return offsets[positions - nb + dim];
}

#define ATTENTION_COMMON_METHODS(OpTy)                                         \
  int64_t OpTy::getNumBatchDims() { return getNumBatchDimsImpl(*this); }       \
  SmallVector<AffineMap> OpTy::getIndexingMapsArray() {                        \
    return getIndexingMapsImpl(*this);                                         \
  }                                                                            \
  AffineMap OpTy::getMatchingIndexingMap(OpOperand *operand) {                 \
    return getMatchingMapImpl(*this, operand);                                 \
  }                                                                            \
  SmallVector<int64_t> OpTy::getStaticLoopRanges() {                           \
    return getStaticLoopRangesImpl(*this);                                     \
  }                                                                            \
  OpFoldResult OpTy::getPosition(OpBuilder &b, int64_t dim) {                  \
    return getPositionImpl(*this, b, dim);                                     \
  }                                                                            \
  std::optional<std::pair<int64_t, int64_t>> OpTy::getWindowBounds() {         \
    if (std::optional<ArrayRef<int64_t>> window = getWindow();                 \
        window && window->size() == 2)                                         \
      return std::make_pair((*window)[0], (*window)[1]);                       \
    return std::nullopt;                                                       \
  }

ATTENTION_COMMON_METHODS(AttentionOp)
ATTENTION_COMMON_METHODS(OnlineAttentionOp)
#undef ATTENTION_COMMON_METHODS

Type AttentionOp::getComputeType() {
  return mlir::attn::getComputeType(getOutput().getType().getElementType());
}

Type OnlineAttentionOp::getComputeType() {
  return getAcc().getType().getElementType();
}

MutableOperandRange AttentionOp::getDpsInitsMutable() {
  return MutableOperandRange(getOperation(),
                             getODSOperandIndexAndLength(8).first,
                             1 + (getLse() ? 1 : 0));
}

//===----------------------------------------------------------------------===//
// Verifier
//===----------------------------------------------------------------------===//

template <typename OpTy> static LogicalResult verifyAttention(OpTy op) {
  auto operands = getAttentionOperands(op);
  Operation *operation = op.getOperation();
  MLIRContext *ctx = op.getContext();

  // 1. The domain and the maps.
  int64_t nb;
  SmallVector<AffineMap> maps;
  if (std::optional<ArrayAttr> attr = op.getIndexingMaps()) {
    if (attr->size() != operands.size())
      return op.emitOpError() << "has " << attr->size() << " indexing maps but "
                              << operands.size() << " tensor operands";
    maps = op.getIndexingMapsArray();
    nb = static_cast<int64_t>(maps[0].getNumDims()) - 4;
    if (nb < 0)
      return op.emitOpError() << "indexing maps must have at least 4 "
                                 "dimensions (B..., M, K1, K2, N), got "
                              << maps[0].getNumDims();
    for (auto [map, entry] : llvm::zip(maps, operands))
      if (map.getNumDims() != nb + 4 || map.getNumSymbols() != 0)
        return op.emitOpError() << "the " << getRoleName(entry.first) << " map "
                                << AffineMapAttr::get(map) << " must have "
                                << nb + 4 << " dimensions and no symbols";
  } else {
    nb = op.getQuery().getType().getRank() - 2;
    if (nb < 0)
      return op.emitOpError() << "query must have rank >= 2, got "
                              << op.getQuery().getType().getRank();
    maps = op.getIndexingMapsArray();
  }
  int64_t m = nb, k1 = nb + 1, k2 = nb + 2, n = nb + 3;

  // 2. Which domain dimensions each operand reads.
  for (auto [map, entry] : llvm::zip(maps, operands)) {
    AttentionRole role = entry.first;
    bool mayBroadcast =
        role == AttentionRole::Key || role == AttentionRole::Value ||
        role == AttentionRole::Mask || role == AttentionRole::KeyLengths ||
        role == AttentionRole::BlockMask;
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/mayBroadcast))
      return op.emitOpError()
             << "the " << getRoleName(role) << " map "
             << AffineMapAttr::get(map) << " must be a projected permutation"
             << (mayBroadcast ? " (constant 0 allowed for size-1 dimensions)"
                              : "");
    llvm::SmallBitVector used(nb + 4);
    for (AffineExpr expr : map.getResults())
      if (auto dim = dyn_cast<AffineDimExpr>(expr))
        used.set(dim.getPosition());
    llvm::SmallBitVector required(nb + 4), allowed(nb + 4);
    auto allBatch = [&](llvm::SmallBitVector &bits) {
      for (int64_t d = 0; d < nb; ++d)
        bits.set(d);
    };
    switch (role) {
    case AttentionRole::Query:
      allBatch(required);
      required.set(m);
      required.set(k1);
      allowed = required;
      break;
    case AttentionRole::Key:
      required.set(k2);
      required.set(k1);
      allBatch(allowed);
      allowed |= required;
      break;
    case AttentionRole::Value:
      required.set(k2);
      required.set(n);
      allBatch(allowed);
      allowed |= required;
      break;
    case AttentionRole::Mask:
    case AttentionRole::BlockMask:
      allBatch(allowed);
      allowed.set(m);
      allowed.set(k2);
      break;
    case AttentionRole::Weight:
      required.set(k1);
      allowed = required;
      break;
    case AttentionRole::KeyLengths:
      allBatch(allowed);
      break;
    case AttentionRole::Output:
    case AttentionRole::Acc:
      allBatch(required);
      required.set(m);
      required.set(n);
      allowed = required;
      break;
    case AttentionRole::Lse:
    case AttentionRole::Max:
    case AttentionRole::Sum:
      allBatch(required);
      required.set(m);
      allowed = required;
      break;
    }
    if ((used & required) != required || (used & ~allowed).any()) {
      static const char *names[] = {"M", "K1", "K2", "N"};
      auto describe = [&](const llvm::SmallBitVector &bits) {
        std::string text;
        for (int d : bits.set_bits()) {
          if (!text.empty())
            text += ", ";
          text += d < nb ? "B" + std::to_string(d) : names[d - nb];
        }
        return text.empty() ? std::string("none") : text;
      };
      return op.emitOpError()
             << "the " << getRoleName(role) << " map "
             << AffineMapAttr::get(map) << " reads domain dimensions {"
             << describe(used) << "}; it must read {" << describe(required)
             << "} and may read {" << describe(allowed) << "}";
    }
  }

  // 3. Ranks and extents.
  SmallVector<int64_t> extents = op.getStaticLoopRanges();
  for (auto [map, entry] : llvm::zip(maps, operands)) {
    auto type = cast<RankedTensorType>(entry.second->get().getType());
    StringRef name = getRoleName(entry.first);
    if (type.getRank() != map.getNumResults())
      return op.emitOpError()
             << "the " << name << " has rank " << type.getRank()
             << " but its map " << AffineMapAttr::get(map) << " has "
             << map.getNumResults() << " results";
    for (auto [i, expr] : llvm::enumerate(map.getResults())) {
      int64_t size = type.getDimSize(i);
      if (ShapedType::isDynamic(size))
        continue;
      if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
        // A block mask's block dimensions count blocks, not elements.
        if (entry.first == AttentionRole::BlockMask &&
            (dim.getPosition() == m || dim.getPosition() == k2))
          continue;
        int64_t extent = extents[dim.getPosition()];
        if (!ShapedType::isDynamic(extent) && extent != size)
          return op.emitOpError()
                 << "the " << name << "'s dimension " << i << " is " << size
                 << " but the domain dimension it reads is " << extent;
      } else if (size != 1) {
        return op.emitOpError() << "the " << name << "'s dimension " << i
                                << " is read at 0 but has size " << size;
      }
    }
  }

  // 4. Element types.
  for (auto [role, operand] : operands) {
    Type element = getElementTypeOrSelf(operand->get().getType());
    StringRef name = getRoleName(role);
    switch (role) {
    case AttentionRole::Mask:
      if (!element.isInteger(1) && !isa<FloatType>(element))
        return op.emitOpError()
               << "mask element type must be i1 or a float, got " << element;
      if (op.getKeepOrDrop() && !isa<FloatType>(element))
        return op.emitOpError() << "keep_or_drop needs a float mask (0 / "
                                   "-inf), got "
                                << element;
      break;
    case AttentionRole::KeyLengths:
      if (!isa<IntegerType, IndexType>(element))
        return op.emitOpError()
               << "key_lengths must have an integer or index element type, "
                  "got "
               << element;
      break;
    case AttentionRole::BlockMask:
      if (!element.isInteger(1))
        return op.emitOpError()
               << "block_mask element type must be i1, got " << element;
      break;
    default:
      if (!isa<FloatType>(element))
        return op.emitOpError() << "the " << name
                                << " must have a floating-point element "
                                   "type, got "
                                << element;
    }
  }
  if constexpr (std::is_same_v<OpTy, OnlineAttentionOp>) {
    // 10. Accumulators in the compute type.
    Type compute = op.getComputeType();
    for (Value acc : {op.getMax(), op.getSum()})
      if (getElementTypeOrSelf(acc.getType()) != compute)
        return op.emitOpError()
               << "acc, max and sum must share one element type, got "
               << compute << " and " << getElementTypeOrSelf(acc.getType());
  }

  // 5. The score weight.
  ScoreKind kind = op.getScore();
  if (op.getWeight()) {
    if (kind == ScoreKind::Dot)
      return op.emitOpError() << "weight is not allowed with the dot score";
  } else if (kind == ScoreKind::Additive) {
    return op.emitOpError() << "the additive score requires a weight";
  }

  // 6. Scale and structured masks.
  double scale = op.getScale().convertToDouble();
  if (!std::isfinite(scale))
    return op.emitOpError() << "scale must be finite";
  Type queryElement = getElementTypeOrSelf(op.getQuery().getType());
  if (!isRepresentableScale(scale, queryElement))
    return op.emitOpError()
           << "scale " << scale << " overflows " << queryElement
           << " (largest finite value "
           << APFloat::getLargest(
                  cast<FloatType>(queryElement).getFloatSemantics())
                  .convertToDouble()
           << ")";
  if (op.getKeepOrDrop() && !op.getMask())
    return op.emitOpError() << "keep_or_drop needs a mask";
  if (std::optional<ArrayRef<int64_t>> window = op.getWindow())
    if (window->size() != 2 || (*window)[0] < 0 || (*window)[1] < 0)
      return op.emitOpError() << "window must be [left, right] with "
                                 "non-negative entries";
  std::optional<ArrayRef<int64_t>> blockSizes = op.getBlockSizes();
  if (blockSizes.has_value() != static_cast<bool>(op.getBlockMask()))
    return op.emitOpError()
           << "block_sizes must be given exactly when block_mask is";
  if (blockSizes &&
      (blockSizes->size() != 2 || (*blockSizes)[0] < 1 || (*blockSizes)[1] < 1))
    return op.emitOpError()
           << "block_sizes must be [query block, key block], both positive";

  // 7. Offsets.
  int64_t numOffsets = op.getOffsets().size();
  if (numOffsets != 0 && numOffsets < nb + 2)
    return op.emitOpError()
           << "offsets must be empty or give at least " << nb + 2
           << " positions (batch..., query, key), got " << numOffsets;
  int64_t positions = numOffsets ? numOffsets - 2 : nb;

  // 8. The score region.
  Region &region = op.getScoreMod();
  if (!region.empty()) {
    if (!region.hasOneBlock())
      return op.emitOpError() << "score_mod must have one block";
    Block &block = region.front();
    Type compute = op.getComputeType();
    SmallVector<Type> expected = {compute};
    expected.append(positions + 2, IndexType::get(ctx));
    if (block.getArgumentTypes() != ArrayRef<Type>(expected))
      return op.emitOpError()
             << "score_mod arguments must be (" << compute << ", "
             << positions + 2 << " x index: batch..., query, key)";
    auto yield = dyn_cast<YieldOp>(block.getTerminator());
    if (!yield || yield.getValues().size() != 1 ||
        yield.getValues()[0].getType() != compute)
      return op.emitOpError()
             << "score_mod must yield one value of type " << compute;
  }

  // 9. Results.
  if (operation->getNumResults() != op.getDpsInits().size())
    return op.emitOpError()
           << "has " << operation->getNumResults() << " results but "
           << op.getDpsInits().size() << " destinations";
  for (auto [result, init] :
       llvm::zip(operation->getResults(), op.getDpsInits()))
    if (result.getType() != init.getType())
      return op.emitOpError()
             << "result type " << result.getType()
             << " differs from its destination's " << init.getType();
  return success();
}

LogicalResult AttentionOp::verify() { return verifyAttention(*this); }
LogicalResult OnlineAttentionOp::verify() { return verifyAttention(*this); }

//===----------------------------------------------------------------------===//
// AttentionParts
//===----------------------------------------------------------------------===//

AttentionParts AttentionParts::fromOp(Operation *op) {
  AttentionParts parts;
  auto read = [&](auto typed) {
    parts.query = typed.getQuery();
    parts.key = typed.getKey();
    parts.value = typed.getValue();
    parts.mask = typed.getMask();
    parts.weight = typed.getWeight();
    parts.keyLengths = typed.getKeyLengths();
    parts.blockMask = typed.getBlockMask();
    parts.offsets = llvm::to_vector(typed.getOffsets());
    parts.scale = typed.getScale().convertToDouble();
    parts.causal = typed.getCausal();
    parts.keepOrDrop = typed.getKeepOrDrop();
    parts.window = typed.getWindowBounds();
    if (std::optional<ArrayRef<int64_t>> sizes = typed.getBlockSizes())
      parts.blockSizes = std::make_pair((*sizes)[0], (*sizes)[1]);
    parts.score = typed.getScore();
    parts.scoreMod = &typed.getScoreMod();
    if (typed.getIndexingMaps())
      parts.maps = typed.getIndexingMapsArray();
    else
      parts.maps.assign(getAttentionOperands(op).size(), AffineMap());
    parts.inits = llvm::to_vector(typed.getDpsInits());
  };
  if (auto attention = dyn_cast<AttentionOp>(op)) {
    read(attention);
  } else {
    parts.online = true;
    read(cast<OnlineAttentionOp>(op));
  }
  return parts;
}

SmallVector<AttentionRole> AttentionParts::getRoles() const {
  SmallVector<AttentionRole> roles = {AttentionRole::Query, AttentionRole::Key,
                                      AttentionRole::Value};
  if (mask)
    roles.push_back(AttentionRole::Mask);
  if (weight)
    roles.push_back(AttentionRole::Weight);
  if (keyLengths)
    roles.push_back(AttentionRole::KeyLengths);
  if (blockMask)
    roles.push_back(AttentionRole::BlockMask);
  if (online) {
    roles.append({AttentionRole::Acc, AttentionRole::Max, AttentionRole::Sum});
  } else {
    roles.push_back(AttentionRole::Output);
    if (inits.size() > 1)
      roles.push_back(AttentionRole::Lse);
  }
  return roles;
}

AffineMap AttentionParts::getMap(AttentionRole role) const {
  for (auto [r, map] : llvm::zip(getRoles(), maps))
    if (r == role)
      return map;
  return AffineMap();
}

void AttentionParts::setMap(AttentionRole role, AffineMap map) {
  for (auto [index, r] : llvm::enumerate(getRoles()))
    if (r == role)
      maps[index] = map;
}

void AttentionParts::dropMask() {
  if (!mask)
    return;
  SmallVector<AttentionRole> roles = getRoles();
  maps.erase(maps.begin() +
             (llvm::find(roles, AttentionRole::Mask) - roles.begin()));
  mask = Value();
  keepOrDrop = false;
}

void AttentionParts::setMask(Value newMask, AffineMap map) {
  dropMask();
  // The mask's map follows the value's.
  maps.insert(maps.begin() + 3, map);
  mask = newMask;
}

Value *AttentionParts::getOperand(AttentionRole role) {
  switch (role) {
  case AttentionRole::Query:
    return &query;
  case AttentionRole::Key:
    return &key;
  case AttentionRole::Value:
    return &value;
  case AttentionRole::Mask:
    return &mask;
  case AttentionRole::Weight:
    return &weight;
  case AttentionRole::KeyLengths:
    return &keyLengths;
  case AttentionRole::BlockMask:
    return &blockMask;
  default:
    return nullptr;
  }
}

Operation *AttentionParts::create(OpBuilder &b, Location loc) const {
  MLIRContext *ctx = b.getContext();
  SmallVector<AttentionRole> roles = getRoles();
  SmallVector<Type> types;
  SmallVector<Value> tensors;
  for (AttentionRole role : roles)
    if (const Value *v = getOperand(role); v && *v)
      tensors.push_back(*v);
  llvm::append_range(tensors, inits);
  for (Value v : tensors)
    types.push_back(v.getType());
  // The number of batch dimensions: from an explicit map, else the query.
  int64_t nb = cast<RankedTensorType>(query.getType()).getRank() - 2;
  for (AffineMap map : maps)
    if (map)
      nb = static_cast<int64_t>(map.getNumDims()) - 4;
  SmallVector<AffineMap> defaults =
      getDefaultAttentionMaps(ctx, nb, roles, types);
  SmallVector<AffineMap> resolved;
  bool allDefault = true;
  for (auto [map, fallback] : llvm::zip(maps, defaults)) {
    resolved.push_back(map ? map : fallback);
    allDefault &= resolved.back() == fallback;
  }
  ArrayAttr mapsAttr;
  if (!allDefault)
    mapsAttr = b.getAffineMapArrayAttr(resolved);
  FloatAttr scaleAttr = b.getF64FloatAttr(scale);
  UnitAttr causalAttr = causal ? b.getUnitAttr() : UnitAttr();
  UnitAttr keepOrDropAttr = keepOrDrop ? b.getUnitAttr() : UnitAttr();
  DenseI64ArrayAttr windowAttr =
      window ? b.getDenseI64ArrayAttr({window->first, window->second})
             : DenseI64ArrayAttr();
  DenseI64ArrayAttr blockAttr =
      blockSizes
          ? b.getDenseI64ArrayAttr({blockSizes->first, blockSizes->second})
          : DenseI64ArrayAttr();
  ScoreKindAttr scoreAttr = ScoreKindAttr::get(ctx, score);
  Operation *created;
  if (online) {
    created = OnlineAttentionOp::create(
        b, loc, inits[0].getType(), inits[1].getType(), inits[2].getType(),
        query, key, value, mask, weight, keyLengths, blockMask, offsets,
        inits[0], inits[1], inits[2], scaleAttr, causalAttr, keepOrDropAttr,
        windowAttr, blockAttr, scoreAttr, mapsAttr);
  } else {
    created = AttentionOp::create(
        b, loc, ValueRange(inits).getTypes(), query, key, value, mask, weight,
        keyLengths, blockMask, offsets, inits[0],
        inits.size() > 1 ? inits[1] : Value(), scaleAttr, causalAttr,
        keepOrDropAttr, windowAttr, blockAttr, scoreAttr, mapsAttr);
  }
  if (scoreMod && !scoreMod->empty()) {
    IRMapping mapping;
    scoreMod->cloneInto(&created->getRegion(0), mapping);
  }
  return created;
}

//===----------------------------------------------------------------------===//
// Tiling
//===----------------------------------------------------------------------===//

/// Whether the op's scores depend on global positions.
template <typename OpTy> static bool usesPositions(OpTy op) {
  return op.getCausal() || op.getWindow() || op.hasScoreMod() ||
         op.getKeyLengths() || op.getBlockMask();
}

static Value getValue(OpBuilder &b, Location loc, OpFoldResult ofr) {
  return getValueOrCreateConstantIndexOp(b, loc, ofr);
}

template <typename OpTy>
static FailureOr<Operation *>
createTileImpl(OpBuilder &b, OpTy op, ArrayRef<OpFoldResult> offsets,
               ArrayRef<OpFoldResult> sizes, bool dropUnitBatchDims) {
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  int64_t nb = op.getNumBatchDims();
  int64_t m = nb, k2 = nb + 2;
  // The leading batch dimensions of tile size 1 that the slices drop.
  int64_t dropped = 0;
  if (dropUnitBatchDims)
    while (dropped < nb && isConstantIntValue(sizes[dropped], 1))
      ++dropped;
  AttentionParts parts = AttentionParts::fromOp(op);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto operands = getAttentionOperands(op);
  SmallVector<AffineMap> tileMaps;
  SmallVector<Value> slices;
  for (auto [map, entry] : llvm::zip(maps, operands)) {
    AttentionRole role = entry.first;
    Value source = entry.second->get();
    auto type = cast<RankedTensorType>(source.getType());
    SmallVector<OpFoldResult> sliceOffsets, sliceSizes, strides;
    SmallVector<int64_t> shape;
    SmallVector<AffineExpr> exprs;
    for (auto [i, expr] : llvm::enumerate(map.getResults())) {
      strides.push_back(b.getIndexAttr(1));
      auto dimExpr = dyn_cast<AffineDimExpr>(expr);
      // A block mask is indexed by global positions along M and K2; it is
      // only sliced along its batch dimensions.
      bool whole =
          !dimExpr ||
          (role == AttentionRole::BlockMask &&
           (dimExpr.getPosition() == m || dimExpr.getPosition() == k2));
      if (whole) {
        sliceOffsets.push_back(b.getIndexAttr(0));
        OpFoldResult size =
            type.isDynamicDim(i)
                ? OpFoldResult(
                      tensor::DimOp::create(b, loc, source, i).getResult())
                : OpFoldResult(b.getIndexAttr(type.getDimSize(i)));
        sliceSizes.push_back(size);
        // A size-1 dimension read through a constant 0 (a broadcast) is
        // dropped with the unit batch dimensions: it stands for domain
        // dimensions the tile may no longer have, and keeping it could leave
        // the map with more results than the tile has dimensions.
        if (!dimExpr && dropUnitBatchDims)
          continue;
        shape.push_back(type.getDimSize(i));
        exprs.push_back(
            dimExpr ? getAffineDimExpr(dimExpr.getPosition() - dropped, ctx)
                    : expr);
        continue;
      }
      int64_t dim = dimExpr.getPosition();
      sliceOffsets.push_back(offsets[dim]);
      sliceSizes.push_back(sizes[dim]);
      if (dim < dropped)
        continue; // a dropped unit batch dimension
      std::optional<int64_t> size = getConstantIntValue(sizes[dim]);
      shape.push_back(size ? *size : ShapedType::kDynamic);
      exprs.push_back(getAffineDimExpr(dim - dropped, ctx));
    }
    auto sliceType = RankedTensorType::get(shape, type.getElementType());
    slices.push_back(tensor::ExtractSliceOp::create(
        b, loc, sliceType, source, sliceOffsets, sliceSizes, strides));
    tileMaps.push_back(AffineMap::get(nb + 4 - dropped, 0, exprs, ctx));
  }

  // The tile's operands, in role order.
  unsigned next = 0;
  auto take = [&](Value &field) {
    if (field)
      field = slices[next++];
  };
  take(parts.query);
  take(parts.key);
  take(parts.value);
  take(parts.mask);
  take(parts.weight);
  take(parts.keyLengths);
  take(parts.blockMask);
  for (Value &init : parts.inits)
    init = slices[next++];
  parts.maps = tileMaps;

  // Global positions of the tile's first element.
  parts.offsets.clear();
  if (usesPositions(op)) {
    AffineExpr s0, s1;
    bindSymbols(ctx, s0, s1);
    auto add = [&](int64_t dim) {
      OpFoldResult sum = affine::makeComposedFoldedAffineApply(
          b, loc, s0 + s1, {op.getPosition(b, dim), offsets[dim]});
      return getValue(b, loc, sum);
    };
    // Positions of batch dimensions the op itself had dropped come first.
    int64_t outer =
        op.getOffsets().empty() ? 0 : op.getOffsets().size() - 2 - nb;
    for (int64_t p = 0; p < outer; ++p)
      parts.offsets.push_back(op.getOffsets()[p]);
    for (int64_t d = 0; d < nb; ++d)
      parts.offsets.push_back(add(d));
    parts.offsets.push_back(add(m));
    parts.offsets.push_back(add(k2));
  }
  return parts.create(b, loc);
}

FailureOr<Operation *> mlir::attn::createAttentionTile(
    OpBuilder &b, Operation *op, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, bool dropUnitBatchDims) {
  if (auto attention = dyn_cast<AttentionOp>(op))
    return createTileImpl(b, attention, offsets, sizes, dropUnitBatchDims);
  if (auto online = dyn_cast<OnlineAttentionOp>(op))
    return createTileImpl(b, online, offsets, sizes, dropUnitBatchDims);
  return failure();
}

template <typename OpTy>
static SmallVector<utils::IteratorType> getIteratorTypesImpl(OpTy op) {
  int64_t nb = op.getNumBatchDims();
  SmallVector<utils::IteratorType> iterators(nb + 4,
                                             utils::IteratorType::parallel);
  iterators[nb + 1] = utils::IteratorType::reduction;
  iterators[nb + 2] = utils::IteratorType::reduction;
  return iterators;
}

template <typename OpTy>
static SmallVector<Range> getIterationDomainImpl(OpTy op, OpBuilder &b) {
  Location loc = op.getLoc();
  SmallVector<Range> domain;
  for (auto [value, dim] : getExtentSources(op)) {
    OpFoldResult size = tensor::getMixedSize(b, loc, value, dim);
    domain.push_back(Range{b.getIndexAttr(0), size, b.getIndexAttr(1)});
  }
  return domain;
}

/// Whether the tile covers domain dimension `dim` completely.
template <typename OpTy>
static bool isWhole(OpTy op, int64_t dim, ArrayRef<OpFoldResult> offsets,
                    ArrayRef<OpFoldResult> sizes) {
  int64_t extent = op.getStaticLoopRanges()[dim];
  return isConstantIntValue(offsets[dim], 0) &&
         !ShapedType::isDynamic(extent) &&
         isConstantIntValue(sizes[dim], extent);
}

template <typename OpTy>
static FailureOr<TilingResult>
getTiledImplementationImpl(OpTy op, OpBuilder &b,
                           ArrayRef<OpFoldResult> offsets,
                           ArrayRef<OpFoldResult> sizes) {
  int64_t nb = op.getNumBatchDims();
  // Scores reduce all of K1; the softmax needs all of K2 unless the op is
  // the online form, whose key dimension is an associative reduction.
  if (!isWhole(op, nb + 1, offsets, sizes))
    return failure();
  if (std::is_same_v<OpTy, AttentionOp> && !isWhole(op, nb + 2, offsets, sizes))
    return failure();
  FailureOr<Operation *> tile =
      createTileImpl(b, op, offsets, sizes, /*dropUnitBatchDims=*/false);
  if (failed(tile))
    return failure();
  SmallVector<Operation *> slices;
  for (Value operand : (*tile)->getOperands())
    if (Operation *def = operand.getDefiningOp<tensor::ExtractSliceOp>())
      slices.push_back(def);
  return TilingResult{{*tile},
                      SmallVector<Value>((*tile)->getResults().begin(),
                                         (*tile)->getResults().end()),
                      slices};
}

template <typename OpTy>
static LogicalResult getResultTilePositionImpl(
    OpTy op, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  OpOperand *init = op.getDpsInitOperand(resultNumber);
  AffineMap map = op.getMatchingIndexingMap(init);
  resultOffsets.clear();
  resultSizes.clear();
  for (AffineExpr expr : map.getResults()) {
    unsigned dim = cast<AffineDimExpr>(expr).getPosition();
    resultOffsets.push_back(offsets[dim]);
    resultSizes.push_back(sizes[dim]);
  }
  return success();
}

template <typename OpTy>
static FailureOr<TilingResult>
generateResultTileValueImpl(OpTy op, OpBuilder &b, unsigned resultNumber,
                            ArrayRef<OpFoldResult> offsets,
                            ArrayRef<OpFoldResult> sizes) {
  // The domain tile of a result tile: the result's dimensions as given, all
  // others whole.
  SmallVector<Range> domain = op.getIterationDomain(b);
  SmallVector<OpFoldResult> domainOffsets, domainSizes;
  for (Range range : domain) {
    domainOffsets.push_back(range.offset);
    domainSizes.push_back(range.size);
  }
  AffineMap map = op.getMatchingIndexingMap(op.getDpsInitOperand(resultNumber));
  for (auto [i, expr] : llvm::enumerate(map.getResults())) {
    unsigned dim = cast<AffineDimExpr>(expr).getPosition();
    domainOffsets[dim] = offsets[i];
    domainSizes[dim] = sizes[i];
  }
  return getTiledImplementationImpl(op, b, domainOffsets, domainSizes);
}

#define ATTENTION_TILING_METHODS(OpTy)                                         \
  SmallVector<utils::IteratorType> OpTy::getLoopIteratorTypes() {              \
    return getIteratorTypesImpl(*this);                                        \
  }                                                                            \
  SmallVector<Range> OpTy::getIterationDomain(OpBuilder &b) {                  \
    return getIterationDomainImpl(*this, b);                                   \
  }                                                                            \
  FailureOr<TilingResult> OpTy::getTiledImplementation(                        \
      OpBuilder &b, ArrayRef<OpFoldResult> offsets,                            \
      ArrayRef<OpFoldResult> sizes) {                                          \
    return getTiledImplementationImpl(*this, b, offsets, sizes);               \
  }                                                                            \
  LogicalResult OpTy::getResultTilePosition(                                   \
      OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,     \
      ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,  \
      SmallVector<OpFoldResult> &resultSizes) {                                \
    return getResultTilePositionImpl(*this, resultNumber, offsets, sizes,      \
                                     resultOffsets, resultSizes);              \
  }                                                                            \
  FailureOr<TilingResult> OpTy::generateResultTileValue(                       \
      OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,     \
      ArrayRef<OpFoldResult> sizes) {                                          \
    return generateResultTileValueImpl(*this, b, resultNumber, offsets,        \
                                       sizes);                                 \
  }

ATTENTION_TILING_METHODS(AttentionOp)
ATTENTION_TILING_METHODS(OnlineAttentionOp)
#undef ATTENTION_TILING_METHODS
