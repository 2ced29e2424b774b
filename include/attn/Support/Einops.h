//===- Einops.h - einops rearrange pattern parser and solver ----*- C++ -*-===//
//
// Parses einops `rearrange` patterns ("b n (h d) -> b h n d") and solves them
// against a concrete input shape. Plain C++ with no MLIR types so that op
// verifiers, the reference evaluator, the Python frontend tests and the fuzzer
// can all share it.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SUPPORT_EINOPS_H
#define ATTN_SUPPORT_EINOPS_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

/// An error in a pattern or equation. `column` is a 0-based byte offset into
/// the text that was parsed; `hasColumn` is false for errors that concern the
/// whole pattern (for example a size mismatch against the input shape).
struct PatternError {
  bool hasColumn = false;
  size_t column = 0;
  std::string message;
};

/// One token inside a dimension of an einops expression.
struct EinopsAxis {
  enum class Kind {
    Named,    // an identifier such as `h` or `head_dim`
    Ellipsis, // `...`
    Unit,     // the literal `1`
  };
  Kind kind = Kind::Named;
  std::string name; // only for Named
  size_t column = 0;
};

/// One dimension of an einops expression: a bare axis, or a parenthesised
/// group `(h d)`. An empty group `()` is a unit dimension.
struct EinopsDim {
  std::vector<EinopsAxis> axes;
  bool isGroup = false;
  size_t column = 0;
};

/// One side of a rearrange pattern.
struct EinopsExpr {
  std::vector<EinopsDim> dims;
  /// Index into `dims` of the dimension holding `...`, if any.
  std::optional<size_t> ellipsisDim;
};

/// A parsed `lhs -> rhs` rearrange pattern. Parsing enforces every rule that
/// does not depend on shapes, with einops' own error wording where it has one:
/// identifiers on one side only, duplicate identifiers, more than one
/// ellipsis, an ellipsis inside parentheses on the left, unbalanced or nested
/// parentheses, non-unit anonymous axes such as `(h 2)`, bad identifiers.
struct RearrangePattern {
  EinopsExpr lhs;
  EinopsExpr rhs;
};

/// Parses `pattern`. On failure returns std::nullopt and fills `error` with a
/// column.
std::optional<RearrangePattern> parseRearrangePattern(std::string_view pattern,
                                                      PatternError &error);

/// The result of solving a pattern against an input shape.
///
/// The input is viewed as a tensor of "elementary" axes: every named axis,
/// every axis the ellipsis stands for, and one size-1 axis per unit (`1` or
/// `()`) on the left. `inputGroups[i]` lists, in order, the elementary axes
/// that input dimension i is split into (never empty). `outputGroups[j]` lists
/// the elementary axes merged into output dimension j, in order; it is empty
/// for a unit dimension created on the right. Left-hand unit axes appear in
/// no output group. A rearrange is therefore: expand the input to
/// `elementarySizes`, transpose, reshape to `outputShape`.
struct RearrangePlan {
  std::vector<std::string> elementaryNames; // "…0", "…1" for ellipsis axes,
                                            // "" for left-hand units
  std::vector<int64_t> elementarySizes;
  std::vector<std::vector<int64_t>> inputGroups;
  std::vector<std::vector<int64_t>> outputGroups;
  std::vector<int64_t> outputShape;

  /// The permutation of elementary axes taken by the transpose: the
  /// concatenation of `outputGroups` (left-hand units are dropped).
  std::vector<int64_t> outputAxisOrder() const;
  /// True if the rearrange moves no element (output is a reshape of input).
  bool isReshapeOnly() const;
  /// True if input and output shapes and element order are identical.
  bool isIdentity(const std::vector<int64_t> &inputShape) const;
};

/// Solves `pattern` for `inputShape` (all sizes static and >= 0) with the
/// user-given axis sizes `sizes`. Fails, with einops-like messages, on a rank
/// mismatch, a size that contradicts the input, an axis that cannot be
/// inferred (two unknown axes in one group), a group that does not divide the
/// input dimension, or a size given for an unknown axis.
std::optional<RearrangePlan>
solveRearrange(const RearrangePattern &pattern,
               const std::vector<int64_t> &inputShape,
               const std::map<std::string, int64_t> &sizes,
               PatternError &error);

/// Composes two rearranges applied one after the other (`first` on a tensor of
/// shape `inputShape`, then `second` on its result) into one plan, when a
/// single rearrange can express both; returns std::nullopt otherwise (for
/// example `(a b) -> b a` followed by a split of the result into factors that
/// straddle `a` and `b`).
std::optional<RearrangePlan>
composeRearranges(const RearrangePlan &first, const RearrangePlan &second,
                  const std::vector<int64_t> &inputShape);

/// Prints a solved plan back as a pattern string with axis sizes, so a
/// composed plan can be stored on an op: returns the pattern, and in `sizes`
/// the sizes needed to make it unambiguous. Names of elementary axes are kept
/// where they are identifiers and unique, otherwise fresh names are made.
std::string printRearrangePlan(const RearrangePlan &plan,
                               std::map<std::string, int64_t> &sizes);

} // namespace attn

#endif // ATTN_SUPPORT_EINOPS_H
