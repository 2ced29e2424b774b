//===- MatchUtils.h - helpers of the attention matchers ---------*- C++ -*-===//
//
// What attn-fuse-attention's matchers (the single-pass chain and the
// two-pass re-attention) both ask of an einsum's labels or a constant.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_DIALECT_ATTN_TRANSFORMS_MATCHUTILS_H
#define ATTN_LIB_DIALECT_ATTN_TRANSFORMS_MATCHUTILS_H

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>

namespace mlir::attn {

inline bool hasRepeatedLabel(ArrayRef<std::string> labels) {
  for (size_t i = 0; i < labels.size(); ++i)
    for (size_t j = i + 1; j < labels.size(); ++j)
      if (labels[i] == labels[j])
        return true;
  return false;
}

/// The einsum's terms with ellipses expanded, or nullopt when an operand
/// broadcasts a size-1 dimension (attn.attention has no broadcasting of q,
/// k or v) or a term repeats a label (a diagonal).
inline std::optional<::attn::EinsumPlan> getStrictPlan(EinsumOp op) {
  auto plan = op.getPlanWithoutBroadcast();
  if (!plan)
    return std::nullopt;
  for (const std::vector<std::string> &labels : plan->inputs)
    if (hasRepeatedLabel(labels))
      return std::nullopt;
  if (hasRepeatedLabel(plan->output))
    return std::nullopt;
  return plan;
}

/// The labels of a score einsum `q, k -> s` by role: batch (in q, k and
/// s), rows of q (q and s), rows of k (k and s), contracted (q and k), and
/// whether q or k has a label it sums alone (in neither of the others).
struct ScoreLabels {
  SmallVector<std::string, 6> batch, qRows, kRows, contracted;
  bool queryOnlySum = false, keyOnlySum = false;
};

inline ScoreLabels classifyScoreLabels(ArrayRef<std::string> q,
                                       ArrayRef<std::string> k,
                                       ArrayRef<std::string> s) {
  ScoreLabels roles;
  for (const std::string &l : q) {
    bool inK = llvm::is_contained(k, l), inS = llvm::is_contained(s, l);
    if (inK && inS)
      roles.batch.push_back(l);
    else if (inK)
      roles.contracted.push_back(l);
    else if (inS)
      roles.qRows.push_back(l);
    else
      roles.queryOnlySum = true;
  }
  for (const std::string &l : k) {
    if (llvm::is_contained(q, l))
      continue;
    if (llvm::is_contained(s, l))
      roles.kRows.push_back(l);
    else
      roles.keyOnlySum = true;
  }
  return roles;
}

/// The map of an operand laid out as `term` over the domain `domain` (both
/// lists of labels).
inline AffineMap getTermMap(MLIRContext *ctx, ArrayRef<std::string> domain,
                            ArrayRef<std::string> term) {
  SmallVector<AffineExpr> exprs;
  for (const std::string &label : term)
    exprs.push_back(
        getAffineDimExpr(llvm::find(domain, label) - domain.begin(), ctx));
  return AffineMap::get(domain.size(), 0, exprs, ctx);
}

/// The value of a splat floating-point constant.
inline std::optional<double> getSplatFloat(Value value) {
  DenseElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)) || !attr.isSplat() ||
      !isa<FloatType>(attr.getElementType()))
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

} // namespace mlir::attn

#endif // ATTN_LIB_DIALECT_ATTN_TRANSFORMS_MATCHUTILS_H
