//===- Einops.cpp - einops rearrange pattern parser and solver ------------===//
//
// Implements the einops `rearrange` pattern grammar and shape inference with
// einops' own error wording, plus plan composition and printing.
//
//===----------------------------------------------------------------------===//

#include "attn/Support/Einops.h"

#include "ParseUtils.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

using namespace attn;
using namespace attn::detail;

namespace {

/// The spelling einops itself uses for the ellipsis in error messages and in
/// the names of the axes it stands for.
const char *const kEllipsisSymbol = "\xE2\x80\xA6"; // U+2026 '…'

bool isIdentifierStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}

bool isIdentifier(std::string_view s) {
  if (s.empty() || !isIdentifierStart(s[0]))
    return false;
  return std::all_of(s.begin(), s.end(), isIdentifierChar);
}

bool isDecimal(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c));
         });
}

/// einops compares `int(x) == 1`, so "01" is a unit as well.
bool isDecimalOne(std::string_view s) {
  size_t firstNonZero = s.find_first_not_of('0');
  return firstNonZero != std::string_view::npos &&
         s.substr(firstNonZero) == "1";
}

bool fail(PatternError &error, size_t column, std::string message) {
  error.hasColumn = true;
  error.column = column;
  error.message = std::move(message);
  return false;
}

/// Formats names like a Python set repr, e.g. {'a', 'b'}.
std::string formatSet(const std::vector<std::string> &names) {
  std::string result = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i)
      result += ", ";
    result += "'" + names[i] + "'";
  }
  return result + "}";
}

/// What parsing one side records besides the expression, for the checks that
/// look at both sides.
struct SideInfo {
  std::optional<size_t> ellipsisColumn;
  bool ellipsisParenthesized = false;
  std::optional<size_t> anonymousColumn; // first non-unit anonymous axis
  /// Named identifiers in order of appearance, with their columns.
  std::vector<std::pair<std::string, size_t>> names;
};

/// Parses one side of the pattern; `offset` is the column of `text[0]` in the
/// whole pattern so that errors point into the original string.
bool parseSide(std::string_view text, size_t offset, EinopsExpr &expr,
               SideInfo &info, PatternError &error) {
  std::optional<EinopsDim> group;
  std::set<std::string> seen;

  auto addWord = [&](std::string_view word, size_t column) -> bool {
    EinopsAxis axis;
    axis.column = column;
    if (word.find('.') != std::string_view::npos) {
      if (word != "...")
        return fail(error, column,
                    "Expression may contain dots only inside ellipsis (...)");
      if (info.ellipsisColumn)
        return fail(error, column,
                    "Unexpected ellipsis ...; only one ellipsis for tensor");
      info.ellipsisColumn = column;
      info.ellipsisParenthesized = group.has_value();
      axis.kind = EinopsAxis::Kind::Ellipsis;
    } else if (isDecimal(word)) {
      if (!isDecimalOne(word)) {
        // einops reports this after both sides are parsed; remember where.
        if (!info.anonymousColumn)
          info.anonymousColumn = column;
      }
      axis.kind = EinopsAxis::Kind::Unit;
    } else if (isIdentifier(word)) {
      // einops: "axis name should should not start or end with underscore"
      // (`_`, `_pre` and `post_` are Python identifiers all the same).
      if (word.front() == '_' || word.back() == '_')
        return fail(error, column,
                    "Invalid axis identifier: " + std::string(word) +
                        "\naxis name should should not start or end with "
                        "underscore");
      std::string name(word);
      if (!seen.insert(name).second)
        return fail(error, column,
                    "Indexing expression contains duplicate dimension \"" +
                        name + "\"");
      info.names.emplace_back(name, column);
      axis.kind = EinopsAxis::Kind::Named;
      axis.name = std::move(name);
    } else {
      return fail(error, column,
                  "Invalid axis identifier: " + std::string(word) +
                      "\nnot a valid python identifier");
    }

    if (group) {
      group->axes.push_back(std::move(axis));
      return true;
    }
    EinopsDim dim;
    dim.column = column;
    dim.axes.push_back(std::move(axis));
    if (dim.axes.back().kind == EinopsAxis::Kind::Ellipsis)
      expr.ellipsisDim = expr.dims.size();
    expr.dims.push_back(std::move(dim));
    return true;
  };

  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    size_t column = offset + i;
    // einops separates axes by spaces only: a tab or a newline is an
    // unknown character.
    if (c == ' ') {
      ++i;
      continue;
    }
    if (c == '(') {
      if (group)
        return fail(error, column,
                    "Axis composition is one-level (brackets inside brackets "
                    "not allowed)");
      group.emplace();
      group->isGroup = true;
      group->column = column;
      ++i;
      continue;
    }
    if (c == ')') {
      if (!group)
        return fail(error, column, "Brackets are not balanced");
      bool hasEllipsis = std::any_of(
          group->axes.begin(), group->axes.end(), [](const EinopsAxis &a) {
            return a.kind == EinopsAxis::Kind::Ellipsis;
          });
      if (hasEllipsis)
        expr.ellipsisDim = expr.dims.size();
      expr.dims.push_back(std::move(*group));
      group.reset();
      ++i;
      continue;
    }
    if (isIdentifierChar(c) || c == '.') {
      size_t start = i;
      while (i < text.size() && (isIdentifierChar(text[i]) || text[i] == '.'))
        ++i;
      if (!addWord(text.substr(start, i - start), offset + start))
        return false;
      continue;
    }
    // einops takes any Python identifier, Unicode ones included; telling
    // those from other non-ASCII text needs Unicode tables we do not carry.
    if (static_cast<unsigned char>(c) >= 0x80)
      return fail(error, column,
                  "Unknown character " + quoteChar(c) +
                      ": axis names must be ASCII identifiers (einops also "
                      "accepts other Python identifiers)");
    return fail(error, column, "Unknown character " + quoteChar(c));
  }
  if (group)
    return fail(error, group->column,
                "Imbalanced parentheses in expression: \"" +
                    std::string(text) + "\"");
  return true;
}

bool checkedMul(int64_t a, int64_t b, int64_t &result) {
  return !__builtin_mul_overflow(a, b, &result);
}

std::string joinInts(const std::vector<int64_t> &values) {
  std::string result;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i)
      result += ", ";
    result += std::to_string(values[i]);
  }
  return result;
}

} // namespace

std::optional<RearrangePattern>
attn::parseRearrangePattern(std::string_view pattern, PatternError &error) {
  size_t arrow = pattern.find("->");
  if (arrow == std::string_view::npos) {
    fail(error, pattern.size(), "Pattern must contain '->'");
    return std::nullopt;
  }
  size_t secondArrow = pattern.find("->", arrow + 2);
  if (secondArrow != std::string_view::npos) {
    fail(error, secondArrow, "Pattern must contain '->' only once");
    return std::nullopt;
  }

  RearrangePattern result;
  SideInfo left, right;
  if (!parseSide(pattern.substr(0, arrow), 0, result.lhs, left, error))
    return std::nullopt;
  if (!parseSide(pattern.substr(arrow + 2), arrow + 2, result.rhs, right,
                 error))
    return std::nullopt;

  // The cross-side checks, in the order einops performs them.
  if (!left.ellipsisColumn && right.ellipsisColumn) {
    fail(error, *right.ellipsisColumn,
         "Ellipsis found in right side, but not left side of a pattern");
    return std::nullopt;
  }
  if (left.ellipsisColumn && left.ellipsisParenthesized) {
    fail(error, *left.ellipsisColumn,
         "Ellipsis inside parenthesis in the left side is not allowed");
    return std::nullopt;
  }
  if (left.anonymousColumn || right.anonymousColumn) {
    fail(error,
         left.anonymousColumn ? *left.anonymousColumn : *right.anonymousColumn,
         "Non-unitary anonymous axes are not supported in rearrange "
         "(exception is length 1)");
    return std::nullopt;
  }

  std::set<std::string> leftNames, rightNames;
  for (auto &entry : left.names)
    leftNames.insert(entry.first);
  for (auto &entry : right.names)
    rightNames.insert(entry.first);
  std::vector<std::string> oneSided;
  std::optional<size_t> firstColumn;
  for (auto &entry : left.names) {
    if (rightNames.count(entry.first))
      continue;
    oneSided.push_back(entry.first);
    if (!firstColumn)
      firstColumn = entry.second;
  }
  if (left.ellipsisColumn && !right.ellipsisColumn) {
    oneSided.push_back(kEllipsisSymbol);
    if (!firstColumn || *left.ellipsisColumn < *firstColumn)
      firstColumn = *left.ellipsisColumn;
  }
  for (auto &entry : right.names) {
    if (leftNames.count(entry.first))
      continue;
    oneSided.push_back(entry.first);
    if (!firstColumn)
      firstColumn = entry.second;
  }
  if (!oneSided.empty()) {
    fail(error, *firstColumn,
         "Identifiers only on one side of expression (should be on both): " +
             formatSet(oneSided));
    return std::nullopt;
  }
  return result;
}

std::vector<int64_t> RearrangePlan::outputAxisOrder() const {
  std::vector<int64_t> order;
  for (const auto &group : outputGroups)
    order.insert(order.end(), group.begin(), group.end());
  return order;
}

bool RearrangePlan::isReshapeOnly() const {
  // Axes of size 1 can move freely without moving any element, and a tensor
  // with no elements has nothing to move.
  for (int64_t size : elementarySizes)
    if (size == 0)
      return true;
  int64_t last = -1;
  for (int64_t axis : outputAxisOrder()) {
    if (axis < 0 || static_cast<size_t>(axis) >= elementarySizes.size())
      return false;
    if (elementarySizes[axis] == 1)
      continue;
    if (axis < last)
      return false;
    last = axis;
  }
  return true;
}

bool RearrangePlan::isIdentity(const std::vector<int64_t> &inputShape) const {
  return outputShape == inputShape && isReshapeOnly();
}

std::optional<RearrangePlan>
attn::solveRearrange(const RearrangePattern &pattern,
                     const std::vector<int64_t> &inputShape,
                     const std::map<std::string, int64_t> &sizes,
                     PatternError &error) {
  // Collect the named axes of the pattern (both sides hold the same set).
  std::set<std::string> patternNames;
  for (const EinopsDim &dim : pattern.lhs.dims)
    for (const EinopsAxis &axis : dim.axes)
      if (axis.kind == EinopsAxis::Kind::Named)
        patternNames.insert(axis.name);
  for (const auto &entry : sizes) {
    if (!patternNames.count(entry.first))
      return failNoColumn(error, "Axis " + entry.first +
                                     " is not used in transform");
    if (entry.second < 0)
      return failNoColumn(error, "Size of axis " + entry.first +
                                     " must be non-negative, got " +
                                     std::to_string(entry.second));
  }

  // einops rejects groups with two unknown axes before looking at the shape.
  for (const EinopsDim &dim : pattern.lhs.dims) {
    std::vector<std::string> unknown;
    for (const EinopsAxis &axis : dim.axes)
      if (axis.kind == EinopsAxis::Kind::Named && !sizes.count(axis.name))
        unknown.push_back(axis.name);
    if (unknown.size() > 1)
      return failNoColumn(error,
                          "Could not infer sizes for " + formatSet(unknown));
  }

  for (int64_t size : inputShape)
    if (size < 0)
      return failNoColumn(error, "Input shape must have non-negative sizes, "
                                 "got [" +
                                     joinInts(inputShape) + "]");

  size_t numDims = pattern.lhs.dims.size();
  size_t ellipsisRank = 0;
  if (pattern.lhs.ellipsisDim) {
    if (inputShape.size() < numDims - 1)
      return failNoColumn(error, "Expected at least " +
                                     std::to_string(numDims - 1) +
                                     " dimensions, got " +
                                     std::to_string(inputShape.size()));
    ellipsisRank = inputShape.size() - (numDims - 1);
  } else if (inputShape.size() != numDims) {
    return failNoColumn(error, "Expected " + std::to_string(numDims) +
                                   " dimensions, got " +
                                   std::to_string(inputShape.size()));
  }

  RearrangePlan plan;
  std::map<std::string, int64_t> nameToAxis;
  std::vector<int64_t> ellipsisAxes;
  auto addAxis = [&](std::string name, int64_t size) {
    plan.elementaryNames.push_back(std::move(name));
    plan.elementarySizes.push_back(size);
    return static_cast<int64_t>(plan.elementarySizes.size() - 1);
  };

  size_t inputDim = 0;
  for (size_t d = 0; d < numDims; ++d) {
    const EinopsDim &dim = pattern.lhs.dims[d];
    if (pattern.lhs.ellipsisDim && *pattern.lhs.ellipsisDim == d) {
      // Parsing guarantees a left-hand ellipsis is a bare dimension.
      for (size_t k = 0; k < ellipsisRank; ++k) {
        int64_t axis = addAxis(kEllipsisSymbol + std::to_string(k),
                               inputShape[inputDim]);
        ellipsisAxes.push_back(axis);
        plan.inputGroups.push_back({axis});
        ++inputDim;
      }
      continue;
    }
    int64_t length = inputShape[inputDim++];
    std::vector<int64_t> group;
    int64_t knownProduct = 1;
    const EinopsAxis *unknownAxis = nullptr;
    for (const EinopsAxis &axis : dim.axes) {
      if (axis.kind == EinopsAxis::Kind::Named) {
        auto it = sizes.find(axis.name);
        if (it == sizes.end()) {
          unknownAxis = &axis;
          continue;
        }
        if (!checkedMul(knownProduct, it->second, knownProduct))
          return failNoColumn(error, "Axis sizes overflow");
      }
    }
    int64_t inferred = 0;
    if (!unknownAxis) {
      if (knownProduct != length)
        return failNoColumn(error, "Shape mismatch, " + std::to_string(length) +
                                       " != " + std::to_string(knownProduct));
    } else {
      if (knownProduct == 0 || length % knownProduct != 0)
        return failNoColumn(error,
                            "Shape mismatch, can't divide axis of length " +
                                std::to_string(length) + " in chunks of " +
                                std::to_string(knownProduct));
      inferred = length / knownProduct;
    }
    // Each left-hand unit, bare or inside a group, and each `()` is a size-1
    // elementary axis of its own so that every input dim has a non-empty
    // group and printing the plan reproduces the same groups.
    if (dim.axes.empty())
      group.push_back(addAxis("", 1));
    for (const EinopsAxis &axis : dim.axes) {
      if (axis.kind == EinopsAxis::Kind::Unit) {
        group.push_back(addAxis("", 1));
        continue;
      }
      auto it = sizes.find(axis.name);
      int64_t size = it == sizes.end() ? inferred : it->second;
      int64_t index = addAxis(axis.name, size);
      nameToAxis[axis.name] = index;
      group.push_back(index);
    }
    plan.inputGroups.push_back(std::move(group));
  }

  for (const EinopsDim &dim : pattern.rhs.dims) {
    std::vector<int64_t> group;
    int64_t size = 1;
    for (const EinopsAxis &axis : dim.axes) {
      if (axis.kind == EinopsAxis::Kind::Unit)
        continue;
      if (axis.kind == EinopsAxis::Kind::Ellipsis) {
        for (int64_t e : ellipsisAxes) {
          if (!checkedMul(size, plan.elementarySizes[e], size))
            return failNoColumn(error, "Axis sizes overflow");
          if (dim.isGroup) {
            group.push_back(e);
          } else {
            plan.outputGroups.push_back({e});
            plan.outputShape.push_back(plan.elementarySizes[e]);
          }
        }
        continue;
      }
      auto found = nameToAxis.find(axis.name);
      if (found == nameToAxis.end())
        return failNoColumn(error, "Identifiers only on one side of "
                                   "expression (should be on both): {'" +
                                       axis.name + "'}");
      int64_t index = found->second;
      if (!checkedMul(size, plan.elementarySizes[index], size))
        return failNoColumn(error, "Axis sizes overflow");
      group.push_back(index);
    }
    bool bareEllipsis = !dim.isGroup && !dim.axes.empty() &&
                        dim.axes[0].kind == EinopsAxis::Kind::Ellipsis;
    if (bareEllipsis)
      continue;
    plan.outputGroups.push_back(std::move(group));
    plan.outputShape.push_back(size);
  }
  return plan;
}

//===----------------------------------------------------------------------===//
// Composition
//===----------------------------------------------------------------------===//

namespace {

/// Checks that `plan` is internally consistent and matches `inputShape`, so
/// that composition can index freely.
bool isWellFormed(const RearrangePlan &plan,
                  const std::vector<int64_t> &inputShape) {
  size_t numAxes = plan.elementarySizes.size();
  if (plan.elementaryNames.size() != numAxes ||
      plan.inputGroups.size() != inputShape.size() ||
      plan.outputGroups.size() != plan.outputShape.size())
    return false;
  std::vector<int> inputUses(numAxes, 0), outputUses(numAxes, 0);
  for (size_t i = 0; i < plan.inputGroups.size(); ++i) {
    int64_t product = 1;
    for (int64_t axis : plan.inputGroups[i]) {
      if (axis < 0 || static_cast<size_t>(axis) >= numAxes)
        return false;
      ++inputUses[axis];
      if (!checkedMul(product, plan.elementarySizes[axis], product))
        return false;
    }
    if (product != inputShape[i])
      return false;
  }
  for (size_t j = 0; j < plan.outputGroups.size(); ++j) {
    int64_t product = 1;
    for (int64_t axis : plan.outputGroups[j]) {
      if (axis < 0 || static_cast<size_t>(axis) >= numAxes)
        return false;
      ++outputUses[axis];
      if (!checkedMul(product, plan.elementarySizes[axis], product))
        return false;
    }
    if (product != plan.outputShape[j])
      return false;
  }
  for (size_t a = 0; a < numAxes; ++a) {
    if (plan.elementarySizes[a] < 0 || inputUses[a] != 1 || outputUses[a] > 1)
      return false;
    // Only size-1 axes may be dropped by the transpose.
    if (outputUses[a] == 0 && plan.elementarySizes[a] != 1)
      return false;
  }
  return true;
}

} // namespace

std::optional<RearrangePlan>
attn::composeRearranges(const RearrangePlan &first, const RearrangePlan &second,
                        const std::vector<int64_t> &inputShape) {
  if (!isWellFormed(first, inputShape) ||
      !isWellFormed(second, first.outputShape))
    return std::nullopt;
  // With no elements the factor boundaries are meaningless (every prefix
  // product is 0), so there is no canonical refinement to build.
  for (int64_t size : first.elementarySizes)
    if (size == 0)
      return std::nullopt;

  // pieces1[a] / pieces2[a]: the refined axes (ids into `refinedSizes`) that
  // elementary axis `a` of `first` / `second` splits into. Size-1 axes split
  // into nothing: they are dropped and re-added as units on the input side.
  std::vector<std::vector<int64_t>> pieces1(first.elementarySizes.size());
  std::vector<std::vector<int64_t>> pieces2(second.elementarySizes.size());
  std::vector<int64_t> refinedSizes;
  std::vector<std::string> refinedNames;

  for (size_t j = 0; j < first.outputShape.size(); ++j) {
    // Both factorizations of intermediate dim j, size-1 factors dropped.
    std::vector<int64_t> axes1, axes2;
    for (int64_t a : first.outputGroups[j])
      if (first.elementarySizes[a] != 1)
        axes1.push_back(a);
    for (int64_t a : second.inputGroups[j])
      if (second.elementarySizes[a] != 1)
        axes2.push_back(a);

    // Merge the prefix products (factor boundaries, outermost first); a
    // common refinement exists iff together they form a divisibility chain.
    std::vector<int64_t> bounds1, bounds2;
    int64_t product = 1;
    for (int64_t a : axes1)
      bounds1.push_back(product *= first.elementarySizes[a]);
    product = 1;
    for (int64_t a : axes2)
      bounds2.push_back(product *= second.elementarySizes[a]);
    std::vector<int64_t> chain;
    std::merge(bounds1.begin(), bounds1.end(), bounds2.begin(), bounds2.end(),
               std::back_inserter(chain));
    chain.erase(std::unique(chain.begin(), chain.end()), chain.end());
    int64_t previous = 1;
    std::vector<int64_t> pieceIds;
    for (int64_t bound : chain) {
      if (bound % previous != 0)
        return std::nullopt;
      pieceIds.push_back(static_cast<int64_t>(refinedSizes.size()));
      refinedSizes.push_back(bound / previous);
      refinedNames.emplace_back();
      previous = bound;
    }

    // Assign the pieces between consecutive boundaries to each factor.
    auto assign = [&](const std::vector<int64_t> &axes,
                      const std::vector<int64_t> &bounds,
                      std::vector<std::vector<int64_t>> &pieces) {
      size_t p = 0;
      int64_t reached = 1;
      for (size_t k = 0; k < axes.size(); ++k) {
        while (reached != bounds[k]) {
          pieces[axes[k]].push_back(pieceIds[p]);
          reached *= refinedSizes[pieceIds[p]];
          ++p;
        }
      }
    };
    assign(axes1, bounds1, pieces1);
    assign(axes2, bounds2, pieces2);

    // Keep a readable name where a piece is exactly one original axis.
    for (int64_t a : axes1)
      if (pieces1[a].size() == 1)
        refinedNames[pieces1[a][0]] = first.elementaryNames[a];
    for (int64_t a : axes2)
      if (pieces2[a].size() == 1 && refinedNames[pieces2[a][0]].empty())
        refinedNames[pieces2[a][0]] = second.elementaryNames[a];
    for (int64_t a : axes1) {
      if (pieces1[a].size() < 2)
        continue;
      for (size_t k = 0; k < pieces1[a].size(); ++k)
        if (refinedNames[pieces1[a][k]].empty())
          refinedNames[pieces1[a][k]] =
              first.elementaryNames[a] + "_" + std::to_string(k);
    }
  }

  // Renumber the refined axes in input order, the order the plan's
  // elementary axes must have.
  RearrangePlan result;
  std::vector<int64_t> newIndex(refinedSizes.size(), -1);
  for (const auto &group : first.inputGroups) {
    std::vector<int64_t> newGroup;
    for (int64_t a : group) {
      if (first.elementarySizes[a] == 1) {
        newGroup.push_back(static_cast<int64_t>(result.elementarySizes.size()));
        result.elementaryNames.emplace_back();
        result.elementarySizes.push_back(1);
        continue;
      }
      for (int64_t piece : pieces1[a]) {
        newIndex[piece] = static_cast<int64_t>(result.elementarySizes.size());
        newGroup.push_back(newIndex[piece]);
        result.elementaryNames.push_back(refinedNames[piece]);
        result.elementarySizes.push_back(refinedSizes[piece]);
      }
    }
    result.inputGroups.push_back(std::move(newGroup));
  }
  for (const auto &group : second.outputGroups) {
    std::vector<int64_t> newGroup;
    for (int64_t a : group)
      for (int64_t piece : pieces2[a])
        newGroup.push_back(newIndex[piece]);
    result.outputGroups.push_back(std::move(newGroup));
  }
  result.outputShape = second.outputShape;
  return result;
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

std::string attn::printRearrangePlan(const RearrangePlan &plan,
                                     std::map<std::string, int64_t> &sizes) {
  sizes.clear();
  size_t numAxes = plan.elementarySizes.size();
  std::vector<bool> inOutput(numAxes, false);
  for (const auto &group : plan.outputGroups)
    for (int64_t a : group)
      if (a >= 0 && static_cast<size_t>(a) < numAxes)
        inOutput[a] = true;

  // Keep names that are identifiers and unique; make fresh ones otherwise.
  std::map<std::string, int> nameCount;
  for (size_t a = 0; a < numAxes; ++a)
    if (inOutput[a])
      ++nameCount[plan.elementaryNames[a]];
  std::vector<std::string> names(numAxes);
  std::set<std::string> used;
  for (size_t a = 0; a < numAxes; ++a) {
    const std::string &name = plan.elementaryNames[a];
    if (inOutput[a] && isIdentifier(name) && nameCount[name] == 1) {
      names[a] = name;
      used.insert(name);
    }
  }
  int fresh = 0;
  for (size_t a = 0; a < numAxes; ++a) {
    if (!inOutput[a] || !names[a].empty())
      continue;
    std::string candidate;
    do
      candidate = "e" + std::to_string(fresh++);
    while (used.count(candidate));
    used.insert(candidate);
    names[a] = candidate;
  }

  // An axis that appears in no output group is a size-1 unit on the left.
  auto axisText = [&](int64_t a) -> std::string {
    if (a < 0 || static_cast<size_t>(a) >= numAxes || !inOutput[a])
      return "1";
    return names[a];
  };

  std::string result;
  for (size_t i = 0; i < plan.inputGroups.size(); ++i) {
    const auto &group = plan.inputGroups[i];
    if (i)
      result += ' ';
    if (group.size() == 1) {
      result += axisText(group[0]);
      continue;
    }
    result += '(';
    size_t namedCount = 0;
    for (int64_t a : group)
      if (a >= 0 && static_cast<size_t>(a) < numAxes && inOutput[a])
        ++namedCount;
    for (size_t k = 0; k < group.size(); ++k) {
      if (k)
        result += ' ';
      result += axisText(group[k]);
      // Grouped axes need explicit sizes for the split to be inferable.
      if (namedCount > 1 && axisText(group[k]) != "1")
        sizes[names[group[k]]] = plan.elementarySizes[group[k]];
    }
    result += ')';
  }
  result += " ->";
  for (const auto &group : plan.outputGroups) {
    result += ' ';
    if (group.empty()) {
      result += "1";
      continue;
    }
    if (group.size() == 1) {
      result += axisText(group[0]);
      continue;
    }
    result += '(';
    for (size_t k = 0; k < group.size(); ++k) {
      if (k)
        result += ' ';
      result += axisText(group[k]);
    }
    result += ')';
  }
  return result;
}
