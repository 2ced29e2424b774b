//===- EinopsTest.cpp - Tests for the einops rearrange parser -------------===//

#include "attn/Support/Einops.h"

#include "gtest/gtest.h"

#include <numeric>

using namespace attn;

namespace {

using Sizes = std::map<std::string, int64_t>;
using Shape = std::vector<int64_t>;

std::optional<RearrangePlan> solve(std::string_view pattern, const Shape &shape,
                                   const Sizes &sizes, PatternError &error) {
  auto parsed = parseRearrangePattern(pattern, error);
  if (!parsed)
    return std::nullopt;
  return solveRearrange(*parsed, shape, sizes, error);
}

RearrangePlan solveOk(std::string_view pattern, const Shape &shape,
                      const Sizes &sizes = {}) {
  PatternError error;
  auto plan = solve(pattern, shape, sizes, error);
  EXPECT_TRUE(plan.has_value()) << pattern << ": " << error.message;
  return plan ? *plan : RearrangePlan();
}

/// Expects parsing to fail with `message` at `column`.
void expectParseError(std::string_view pattern, const std::string &message,
                      size_t column) {
  PatternError error;
  auto parsed = parseRearrangePattern(pattern, error);
  EXPECT_FALSE(parsed.has_value()) << pattern;
  EXPECT_EQ(error.message, message) << pattern;
  EXPECT_TRUE(error.hasColumn) << pattern;
  EXPECT_EQ(error.column, column) << pattern;
}

/// Expects parsing to succeed and solving to fail with `message`.
void expectSolveError(std::string_view pattern, const Shape &shape,
                      const Sizes &sizes, const std::string &message) {
  PatternError error;
  auto parsed = parseRearrangePattern(pattern, error);
  ASSERT_TRUE(parsed.has_value()) << pattern << ": " << error.message;
  auto plan = solveRearrange(*parsed, shape, sizes, error);
  EXPECT_FALSE(plan.has_value()) << pattern;
  EXPECT_EQ(error.message, message) << pattern;
  EXPECT_FALSE(error.hasColumn) << pattern;
}

int64_t numElements(const Shape &shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t(1),
                         std::multiplies<int64_t>());
}

std::vector<int> iota(const Shape &shape) {
  std::vector<int> data(numElements(shape));
  std::iota(data.begin(), data.end(), 0);
  return data;
}

/// Reference semantics of a plan: view the row-major input as the tensor of
/// elementary axes (in input-group order), transpose to the output order and
/// read it out row-major.
std::vector<int> applyPlan(const RearrangePlan &plan,
                           const std::vector<int> &input) {
  size_t numAxes = plan.elementarySizes.size();
  std::vector<int64_t> strides(numAxes, 0);
  int64_t stride = 1;
  for (auto group = plan.inputGroups.rbegin(); group != plan.inputGroups.rend();
       ++group)
    for (auto axis = group->rbegin(); axis != group->rend(); ++axis) {
      strides[*axis] = stride;
      stride *= plan.elementarySizes[*axis];
    }
  EXPECT_EQ(stride, static_cast<int64_t>(input.size()));
  std::vector<int64_t> order = plan.outputAxisOrder();
  std::vector<int> output;
  std::vector<int64_t> index(order.size(), 0);
  int64_t total = numElements(plan.outputShape);
  for (int64_t n = 0; n < total; ++n) {
    int64_t offset = 0;
    for (size_t k = 0; k < order.size(); ++k)
      offset += index[k] * strides[order[k]];
    output.push_back(input[offset]);
    for (size_t k = order.size(); k-- > 0;) {
      if (++index[k] < plan.elementarySizes[order[k]])
        break;
      index[k] = 0;
    }
  }
  return output;
}

/// Shape of the input a plan expects.
Shape inputShapeOf(const RearrangePlan &plan) {
  Shape shape;
  for (const auto &group : plan.inputGroups) {
    int64_t size = 1;
    for (int64_t axis : group)
      size *= plan.elementarySizes[axis];
    shape.push_back(size);
  }
  return shape;
}

/// Prints `plan`, parses and solves the result, and checks it is the same
/// rearrange.
void expectRoundTrip(const RearrangePlan &plan) {
  Sizes sizes;
  std::string printed = printRearrangePlan(plan, sizes);
  Shape shape = inputShapeOf(plan);
  PatternError error;
  auto reparsed = solve(printed, shape, sizes, error);
  ASSERT_TRUE(reparsed.has_value()) << printed << ": " << error.message;
  EXPECT_EQ(reparsed->elementarySizes, plan.elementarySizes) << printed;
  EXPECT_EQ(reparsed->inputGroups, plan.inputGroups) << printed;
  EXPECT_EQ(reparsed->outputShape, plan.outputShape) << printed;
  std::vector<int> data = iota(shape);
  EXPECT_EQ(applyPlan(*reparsed, data), applyPlan(plan, data)) << printed;
}

const std::string kE0 = "\xE2\x80\xA6"
                        "0";
const std::string kE1 = "\xE2\x80\xA6"
                        "1";

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

TEST(EinopsParse, SplitHeads) {
  PatternError error;
  auto pattern = parseRearrangePattern("b n (h d) -> b h n d", error);
  ASSERT_TRUE(pattern);
  ASSERT_EQ(pattern->lhs.dims.size(), 3u);
  EXPECT_FALSE(pattern->lhs.dims[0].isGroup);
  EXPECT_TRUE(pattern->lhs.dims[2].isGroup);
  EXPECT_EQ(pattern->lhs.dims[2].column, 4u);
  ASSERT_EQ(pattern->lhs.dims[2].axes.size(), 2u);
  EXPECT_EQ(pattern->lhs.dims[2].axes[0].name, "h");
  EXPECT_EQ(pattern->lhs.dims[2].axes[0].column, 5u);
  EXPECT_EQ(pattern->lhs.dims[2].axes[1].name, "d");
  EXPECT_EQ(pattern->rhs.dims.size(), 4u);
  EXPECT_EQ(pattern->rhs.dims[3].axes[0].column, 19u);
  EXPECT_FALSE(pattern->lhs.ellipsisDim);
}

TEST(EinopsParse, EllipsisAndUnits) {
  PatternError error;
  auto pattern = parseRearrangePattern("b ... 1 () -> b (...)", error);
  ASSERT_TRUE(pattern) << error.message;
  EXPECT_EQ(pattern->lhs.ellipsisDim, 1u);
  EXPECT_EQ(pattern->lhs.dims[1].axes[0].kind, EinopsAxis::Kind::Ellipsis);
  EXPECT_EQ(pattern->lhs.dims[2].axes[0].kind, EinopsAxis::Kind::Unit);
  EXPECT_TRUE(pattern->lhs.dims[3].isGroup);
  EXPECT_TRUE(pattern->lhs.dims[3].axes.empty());
  EXPECT_EQ(pattern->rhs.ellipsisDim, 1u);
  EXPECT_TRUE(pattern->rhs.dims[1].isGroup);
}

TEST(EinopsParse, LongIdentifiersAndWhitespace) {
  PatternError error;
  auto pattern =
      parseRearrangePattern("  batch  seq_len (head_1 d_2)->batch head_1 "
                            "seq_len d_2 ",
                            error);
  ASSERT_TRUE(pattern) << error.message;
  EXPECT_EQ(pattern->lhs.dims[2].axes[1].name, "d_2");
  // Python keywords are names too (einops only warns).
  EXPECT_TRUE(parseRearrangePattern("for class -> class for", error));
}

// einops 0.8.2's grammar, checked against the package itself (the
// differential tests do so on random patterns): what it rejects, we do.
TEST(EinopsParse, UnderscoresAtTheEnds) {
  const char *reason = "\naxis name should should not start or end with "
                       "underscore";
  expectParseError("x _ -> _ x",
                   std::string("Invalid axis identifier: _") + reason, 2);
  expectParseError("_pre a -> a _pre",
                   std::string("Invalid axis identifier: _pre") + reason, 0);
  expectParseError("endWithUnderscore_ -> endWithUnderscore_",
                   std::string("Invalid axis identifier: endWithUnderscore_") +
                       reason,
                   0);
  PatternError error;
  EXPECT_TRUE(parseRearrangePattern("in_dim -> in_dim", error));
}

TEST(EinopsParse, OnlySpacesSeparate) {
  expectParseError("a\tb -> a b", "Unknown character '\\x09'", 1);
  expectParseError("a\n-> a", "Unknown character '\\x0a'", 1);
}

TEST(EinopsParse, EllipsisGluedToAName) {
  expectParseError("...pre -> ...pre",
                   "Expression may contain dots only inside ellipsis (...)", 0);
  expectParseError("a... -> a...",
                   "Expression may contain dots only inside ellipsis (...)", 0);
}

TEST(EinopsParse, AsciiNamesOnly) {
  // einops accepts Unicode identifiers ("\xC3\xA9" is e-acute); we do not.
  expectParseError("\xC3\xA9 w -> w \xC3\xA9",
                   "Unknown character '\\xc3': axis names must be ASCII "
                   "identifiers (einops also accepts other Python identifiers)",
                   0);
}

TEST(EinopsParse, ZeroIsNoAxis) {
  const char *message = "Non-unitary anonymous axes are not supported in "
                        "rearrange (exception is length 1)";
  expectParseError("a 0 -> a", message, 2);
  expectParseError("a 00 -> a", message, 2);
}

TEST(EinopsParse, ScalarPattern) {
  PatternError error;
  auto pattern = parseRearrangePattern("->", error);
  ASSERT_TRUE(pattern) << error.message;
  EXPECT_TRUE(pattern->lhs.dims.empty());
  EXPECT_TRUE(pattern->rhs.dims.empty());
}

TEST(EinopsParse, IdentifiersOnOneSide) {
  expectParseError("a b -> a",
                   "Identifiers only on one side of expression (should be on "
                   "both): {'b'}",
                   2);
  expectParseError("a -> a x y",
                   "Identifiers only on one side of expression (should be on "
                   "both): {'x', 'y'}",
                   7);
  expectParseError("a ... -> a",
                   "Identifiers only on one side of expression (should be on "
                   "both): {'\xE2\x80\xA6'}",
                   2);
}

TEST(EinopsParse, NonUnitaryAnonymousAxes) {
  const char *message = "Non-unitary anonymous axes are not supported in "
                        "rearrange (exception is length 1)";
  expectParseError("a 2 -> a", message, 2);
  expectParseError("(h 2) -> h", message, 3);
  expectParseError("h -> h 0", message, 7);
}

TEST(EinopsParse, EllipsisInParenthesisOnLeft) {
  expectParseError("(b ...) -> b ...",
                   "Ellipsis inside parenthesis in the left side is not "
                   "allowed",
                   3);
}

TEST(EinopsParse, EllipsisOnlyOnRight) {
  expectParseError("a -> a ...",
                   "Ellipsis found in right side, but not left side of a "
                   "pattern",
                   7);
}

TEST(EinopsParse, DuplicateDimension) {
  expectParseError("h h -> h",
                   "Indexing expression contains duplicate dimension \"h\"", 2);
  expectParseError("h w -> (h w) h",
                   "Indexing expression contains duplicate dimension \"h\"",
                   13);
}

TEST(EinopsParse, TwoEllipses) {
  expectParseError("... a ... -> a ...",
                   "Unexpected ellipsis ...; only one ellipsis for tensor", 6);
}

TEST(EinopsParse, BadDots) {
  expectParseError("a .. -> a",
                   "Expression may contain dots only inside ellipsis (...)", 2);
  expectParseError("a.b -> a",
                   "Expression may contain dots only inside ellipsis (...)", 0);
}

TEST(EinopsParse, UnknownCharacter) {
  expectParseError("a+b -> a", "Unknown character '+'", 1);
  expectParseError("a - b -> a", "Unknown character '-'", 2);
  expectParseError("a -> a\x01", "Unknown character '\\x01'", 6);
}

TEST(EinopsParse, Brackets) {
  expectParseError("((a) b) -> a b",
                   "Axis composition is one-level (brackets inside brackets "
                   "not allowed)",
                   1);
  expectParseError("a) -> a", "Brackets are not balanced", 1);
  expectParseError("a -> (a", "Imbalanced parentheses in expression: \" (a\"",
                   5);
}

TEST(EinopsParse, Arrow) {
  expectParseError("a b", "Pattern must contain '->'", 3);
  expectParseError("a -> a -> a", "Pattern must contain '->' only once", 7);
}

TEST(EinopsParse, InvalidIdentifier) {
  expectParseError("1a -> 1a",
                   "Invalid axis identifier: 1a\nnot a valid python identifier",
                   0);
}

TEST(EinopsParse, ZeroPaddedOneIsUnit) {
  PatternError error;
  auto pattern = parseRearrangePattern("a 01 -> a", error);
  ASSERT_TRUE(pattern) << error.message;
  EXPECT_EQ(pattern->lhs.dims[1].axes[0].kind, EinopsAxis::Kind::Unit);
}

//===----------------------------------------------------------------------===//
// Solving
//===----------------------------------------------------------------------===//

TEST(EinopsSolve, SplitHeads) {
  RearrangePlan plan = solveOk("b n (h d) -> b h n d", {2, 3, 8}, {{"h", 2}});
  EXPECT_EQ(plan.elementaryNames,
            (std::vector<std::string>{"b", "n", "h", "d"}));
  EXPECT_EQ(plan.elementarySizes, (Shape{2, 3, 2, 4}));
  EXPECT_EQ(plan.inputGroups,
            (std::vector<std::vector<int64_t>>{{0}, {1}, {2, 3}}));
  EXPECT_EQ(plan.outputGroups,
            (std::vector<std::vector<int64_t>>{{0}, {2}, {1}, {3}}));
  EXPECT_EQ(plan.outputShape, (Shape{2, 2, 3, 4}));
  EXPECT_EQ(plan.outputAxisOrder(), (std::vector<int64_t>{0, 2, 1, 3}));
  EXPECT_FALSE(plan.isReshapeOnly());
  // out[b][h][n][d] = in[b][n][h * 4 + d].
  std::vector<int> out = applyPlan(plan, iota({2, 3, 8}));
  for (int b = 0; b < 2; ++b)
    for (int h = 0; h < 2; ++h)
      for (int n = 0; n < 3; ++n)
        for (int d = 0; d < 4; ++d)
          EXPECT_EQ(out[((b * 2 + h) * 3 + n) * 4 + d],
                    (b * 3 + n) * 8 + h * 4 + d);
}

TEST(EinopsSolve, MergeHeads) {
  RearrangePlan plan = solveOk("b h n d -> b n (h d)", {2, 4, 3, 5});
  EXPECT_EQ(plan.outputShape, (Shape{2, 3, 20}));
  EXPECT_EQ(plan.outputGroups,
            (std::vector<std::vector<int64_t>>{{0}, {2}, {1, 3}}));
  RearrangePlan split =
      solveOk("b n (h d) -> b h n d", {2, 3, 20}, {{"h", 4}});
  std::vector<int> data = iota({2, 4, 3, 5});
  EXPECT_EQ(applyPlan(split, applyPlan(plan, data)), data);
}

TEST(EinopsSolve, SplitHeadsWithExtraDim) {
  RearrangePlan plan =
      solveOk("b p n (h d) -> b p h n d", {2, 3, 5, 12}, {{"d", 4}});
  EXPECT_EQ(plan.elementarySizes, (Shape{2, 3, 5, 3, 4}));
  EXPECT_EQ(plan.outputShape, (Shape{2, 3, 3, 5, 4}));
}

TEST(EinopsSolve, EllipsisMovesToEnd) {
  RearrangePlan plan = solveOk("b ... d -> b d ...", {2, 3, 4, 5});
  EXPECT_EQ(plan.elementaryNames,
            (std::vector<std::string>{"b", kE0, kE1, "d"}));
  EXPECT_EQ(plan.outputShape, (Shape{2, 5, 3, 4}));
  EXPECT_EQ(plan.outputGroups,
            (std::vector<std::vector<int64_t>>{{0}, {3}, {1}, {2}}));
}

TEST(EinopsSolve, EllipsisOfRankZero) {
  RearrangePlan plan = solveOk("b ... d -> b d ...", {2, 3});
  EXPECT_EQ(plan.outputShape, (Shape{2, 3}));
  EXPECT_EQ(plan.elementarySizes.size(), 2u);
  EXPECT_TRUE(plan.isIdentity({2, 3}));
  RearrangePlan flat = solveOk("b ... -> b (...)", {7});
  EXPECT_EQ(flat.outputShape, (Shape{7, 1}));
  EXPECT_EQ(flat.outputGroups[1].size(), 0u);
}

TEST(EinopsSolve, EllipsisInsideRightGroup) {
  RearrangePlan plan = solveOk("b ... -> b (...)", {2, 3, 4});
  EXPECT_EQ(plan.outputShape, (Shape{2, 12}));
  EXPECT_TRUE(plan.isReshapeOnly());
  RearrangePlan swapped = solveOk("b ... h -> (h ...) b", {2, 3, 4, 5});
  EXPECT_EQ(swapped.outputShape, (Shape{60, 2}));
  EXPECT_EQ(swapped.outputGroups[0], (std::vector<int64_t>{3, 1, 2}));
}

TEST(EinopsSolve, LeftUnit) {
  RearrangePlan plan = solveOk("b 1 n -> b n", {2, 1, 3});
  EXPECT_EQ(plan.elementaryNames, (std::vector<std::string>{"b", "", "n"}));
  EXPECT_EQ(plan.inputGroups,
            (std::vector<std::vector<int64_t>>{{0}, {1}, {2}}));
  EXPECT_EQ(plan.outputGroups, (std::vector<std::vector<int64_t>>{{0}, {2}}));
  EXPECT_EQ(plan.outputShape, (Shape{2, 3}));
  EXPECT_TRUE(plan.isReshapeOnly());
  expectSolveError("b 1 n -> b n", {2, 4, 3}, {}, "Shape mismatch, 4 != 1");
}

TEST(EinopsSolve, LeftEmptyGroup) {
  RearrangePlan plan = solveOk("b () n -> n b", {2, 1, 3});
  EXPECT_EQ(plan.inputGroups[1].size(), 1u);
  EXPECT_EQ(plan.elementaryNames[1], "");
  EXPECT_EQ(plan.outputShape, (Shape{3, 2}));
  expectSolveError("b () n -> n b", {2, 2, 3}, {}, "Shape mismatch, 2 != 1");
}

TEST(EinopsSolve, LeftUnitInsideGroup) {
  RearrangePlan plan = solveOk("(1 h) w -> w h", {3, 4});
  EXPECT_EQ(plan.inputGroups,
            (std::vector<std::vector<int64_t>>{{0, 1}, {2}}));
  EXPECT_EQ(plan.elementarySizes, (Shape{1, 3, 4}));
  EXPECT_EQ(plan.outputShape, (Shape{4, 3}));
}

TEST(EinopsSolve, RightUnits) {
  RearrangePlan plan = solveOk("b n -> b 1 n ()", {2, 3});
  EXPECT_EQ(plan.outputShape, (Shape{2, 1, 3, 1}));
  EXPECT_TRUE(plan.outputGroups[1].empty());
  EXPECT_TRUE(plan.outputGroups[3].empty());
  EXPECT_TRUE(plan.isReshapeOnly());
  RearrangePlan grouped = solveOk("b n -> b (1 n)", {2, 3});
  EXPECT_EQ(grouped.outputGroups,
            (std::vector<std::vector<int64_t>>{{0}, {1}}));
  EXPECT_TRUE(grouped.isIdentity({2, 3}));
}

TEST(EinopsSolve, IdentityAndReshape) {
  EXPECT_TRUE(solveOk("a b -> a b", {2, 3}).isIdentity({2, 3}));
  EXPECT_FALSE(solveOk("a b -> b a", {2, 3}).isReshapeOnly());
  EXPECT_TRUE(solveOk("a b -> b a", {2, 1}).isReshapeOnly());
  EXPECT_FALSE(solveOk("a b -> b a", {2, 2}).isIdentity({2, 2}));
  RearrangePlan split = solveOk("(a b) -> a b", {6}, {{"a", 2}});
  EXPECT_TRUE(split.isReshapeOnly());
  EXPECT_FALSE(split.isIdentity({6}));
}

TEST(EinopsSolve, CannotDivide) {
  expectSolveError("(a b) -> a b", {10}, {{"a", 3}},
                   "Shape mismatch, can't divide axis of length 10 in chunks "
                   "of 3");
}

TEST(EinopsSolve, CouldNotInfer) {
  expectSolveError("(a b) -> a b", {10}, {},
                   "Could not infer sizes for {'a', 'b'}");
}

TEST(EinopsSolve, RankMismatch) {
  expectSolveError("a b c -> c b a", {2, 3}, {}, "Expected 3 dimensions, got 2");
  expectSolveError("a ... b c -> c b a ...", {2, 3}, {},
                   "Expected at least 3 dimensions, got 2");
}

TEST(EinopsSolve, UnknownAxisSize) {
  expectSolveError("a b -> b a", {2, 3}, {{"c", 4}},
                   "Axis c is not used in transform");
}

TEST(EinopsSolve, GivenSizeMustMatchUngroupedDim) {
  expectSolveError("a b -> b a", {3, 2}, {{"a", 4}}, "Shape mismatch, 3 != 4");
  RearrangePlan plan = solveOk("a b -> b a", {3, 2}, {{"a", 3}});
  EXPECT_EQ(plan.outputShape, (Shape{2, 3}));
}

TEST(EinopsSolve, FullyKnownGroupMustMatch) {
  expectSolveError("(a b) -> a b", {10}, {{"a", 2}, {"b", 4}},
                   "Shape mismatch, 10 != 8");
}

TEST(EinopsSolve, ZeroSizes) {
  RearrangePlan plan = solveOk("(a b) c -> c b a", {0, 3}, {{"a", 2}});
  EXPECT_EQ(plan.outputShape, (Shape{3, 0, 2}));
  expectSolveError("(a b) -> a b", {6}, {{"a", 0}},
                   "Shape mismatch, can't divide axis of length 6 in chunks "
                   "of 0");
}

TEST(EinopsSolve, NegativeSizeRejected) {
  PatternError error;
  EXPECT_FALSE(solve("(a b) -> a b", {6}, {{"a", -2}}, error));
  EXPECT_FALSE(solve("a -> a", {-1}, {}, error));
}

TEST(EinopsSolve, OverflowRejected) {
  PatternError error;
  int64_t big = int64_t(1) << 40;
  EXPECT_FALSE(solve("(a b c) -> a b c", {8},
                     {{"a", big}, {"b", big}}, error));
  EXPECT_EQ(error.message, "Axis sizes overflow");
}

TEST(EinopsSolve, Scalar) {
  RearrangePlan plan = solveOk("-> 1 ()", {});
  EXPECT_EQ(plan.outputShape, (Shape{1, 1}));
  RearrangePlan back = solveOk("1 () ->", {1, 1});
  EXPECT_TRUE(back.outputShape.empty());
  EXPECT_EQ(back.elementarySizes, (Shape{1, 1}));
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

TEST(EinopsPrint, SplitHeads) {
  RearrangePlan plan = solveOk("b n (h d) -> b h n d", {2, 3, 8}, {{"h", 2}});
  Sizes sizes;
  EXPECT_EQ(printRearrangePlan(plan, sizes), "b n (h d) -> b h n d");
  EXPECT_EQ(sizes, (Sizes{{"d", 4}, {"h", 2}}));
  expectRoundTrip(plan);
}

TEST(EinopsPrint, EllipsisGetsFreshNames) {
  RearrangePlan plan = solveOk("b ... d -> b d ...", {2, 3, 4, 5});
  Sizes sizes;
  EXPECT_EQ(printRearrangePlan(plan, sizes), "b e0 e1 d -> b d e0 e1");
  EXPECT_TRUE(sizes.empty());
  expectRoundTrip(plan);
}

TEST(EinopsPrint, FreshNamesAvoidCollisions) {
  RearrangePlan plan = solveOk("e0 ... -> (...) e0", {2, 3});
  Sizes sizes;
  EXPECT_EQ(printRearrangePlan(plan, sizes), "e0 e1 -> e1 e0");
  expectRoundTrip(plan);
}

TEST(EinopsPrint, Units) {
  RearrangePlan plan = solveOk("b 1 (1 n) -> (n 1) () b", {2, 1, 3});
  Sizes sizes;
  EXPECT_EQ(printRearrangePlan(plan, sizes), "b 1 (1 n) -> n 1 b");
  expectRoundTrip(plan);
}

TEST(EinopsPrint, RoundTripMany) {
  struct Case {
    const char *pattern;
    Shape shape;
    Sizes sizes;
  };
  std::vector<Case> cases = {
      {"b n (h d) -> b h n d", {2, 3, 8}, {{"h", 2}}},
      {"b h n d -> b n (h d)", {2, 4, 3, 5}, {}},
      {"b p n (h d) -> b p h n d", {1, 2, 3, 6}, {{"h", 3}}},
      {"b ... d -> b d ...", {2, 3, 4, 5}, {}},
      {"b ... -> b (...)", {2, 3, 4}, {}},
      {"(a b c) -> (c a) b", {24}, {{"a", 2}, {"b", 3}}},
      {"a b -> (b a)", {3, 4}, {}},
      {"... -> ...", {}, {}},
      {"(a 1 b) c -> c (b a) 1", {6, 5}, {{"a", 3}}},
      {"x ... -> (... x)", {2, 3, 4}, {}},
  };
  for (const Case &c : cases)
    expectRoundTrip(solveOk(c.pattern, c.shape, c.sizes));
}

//===----------------------------------------------------------------------===//
// Composition
//===----------------------------------------------------------------------===//

struct ComposeCase {
  const char *first;
  Sizes firstSizes;
  Shape shape;
  const char *second;
  Sizes secondSizes;
  bool composable;
};

void checkCompose(const ComposeCase &c) {
  SCOPED_TRACE(std::string(c.first) + " then " + c.second);
  RearrangePlan p1 = solveOk(c.first, c.shape, c.firstSizes);
  RearrangePlan p2 = solveOk(c.second, p1.outputShape, c.secondSizes);
  auto composed = composeRearranges(p1, p2, c.shape);
  ASSERT_EQ(composed.has_value(), c.composable);
  if (!composed)
    return;
  EXPECT_EQ(inputShapeOf(*composed), c.shape);
  EXPECT_EQ(composed->outputShape, p2.outputShape);
  std::vector<int> data = iota(c.shape);
  EXPECT_EQ(applyPlan(*composed, data), applyPlan(p2, applyPlan(p1, data)));
  expectRoundTrip(*composed);
}

TEST(EinopsCompose, SplitThenMergeIsIdentity) {
  RearrangePlan p1 = solveOk("b n (h d) -> b h n d", {2, 3, 8}, {{"h", 2}});
  RearrangePlan p2 = solveOk("b h n d -> b n (h d)", p1.outputShape);
  auto composed = composeRearranges(p1, p2, {2, 3, 8});
  ASSERT_TRUE(composed);
  EXPECT_TRUE(composed->isIdentity({2, 3, 8}));
}

TEST(EinopsCompose, StraddlingSplitFails) {
  // (a b) -> (b a) reorders the factors 2 and 3; splitting the result as
  // 2 x 3 cuts across both.
  RearrangePlan p1 = solveOk("(a b) -> (b a)", {6}, {{"a", 2}});
  RearrangePlan p2 = solveOk("(x y) -> y x", {6}, {{"x", 2}});
  EXPECT_FALSE(composeRearranges(p1, p2, {6}));
}

TEST(EinopsCompose, MismatchedShapesFail) {
  RearrangePlan p1 = solveOk("a b -> b a", {2, 3});
  RearrangePlan p2 = solveOk("a b -> b a", {2, 3});
  EXPECT_FALSE(composeRearranges(p1, p2, {2, 3}));
  EXPECT_FALSE(composeRearranges(p1, p1, {3, 2}));
}

TEST(EinopsCompose, ManyPairs) {
  std::vector<ComposeCase> cases = {
      {"b n (h d) -> b h n d", {{"h", 2}}, {2, 3, 8},
       "b h n d -> b n (h d)", {}, true},
      {"b h n d -> b n (h d)", {}, {2, 2, 3, 4},
       "b n (h d) -> b h n d", {{"h", 4}}, true},
      {"b h n d -> b n (h d)", {}, {2, 2, 3, 4},
       "b n (h d) -> b h n d", {{"h", 2}}, true},
      {"a b -> b a", {}, {2, 3}, "b a -> a b", {}, true},
      {"a b c -> c a b", {}, {2, 3, 4}, "c a b -> b c a", {}, true},
      {"(a b) -> b a", {{"a", 2}}, {6}, "b a -> (a b)", {}, true},
      {"(a b) -> (b a)", {{"a", 2}}, {6}, "(x y) -> y x", {{"x", 3}}, true},
      {"(a b) -> (b a)", {{"a", 2}}, {6}, "(x y) -> y x", {{"x", 2}}, false},
      {"(a b) -> (b a)", {{"a", 4}}, {12}, "(x y) -> y x", {{"x", 6}}, true},
      {"(a b) -> (b a)", {{"a", 4}}, {12}, "(x y) -> y x", {{"x", 2}}, false},
      {"a (b c) -> (c a) b", {{"b", 2}}, {4, 12},
       "(x y) b -> b (y x)", {{"x", 3}}, true},
      {"a (b c) -> (c a) b", {{"b", 2}}, {4, 12},
       "(x y) b -> b y x", {{"x", 12}}, true},
      {"a (b c) -> (c a) b", {{"b", 2}}, {4, 12},
       "(x y) b -> b y x", {{"x", 8}}, false},
      {"(a b) c -> c (a b)", {{"a", 2}}, {12, 5},
       "c (x y z) -> z c y x", {{"x", 4}, {"y", 3}}, true},
      {"b ... d -> b d ...", {}, {2, 3, 4, 5}, "b d ... -> b ... d", {},
       true},
      {"b ... -> b (...)", {}, {2, 3, 4}, "b (x y) -> y b x", {{"x", 3}},
       true},
      {"b ... -> b (...)", {}, {2, 3, 4}, "b (x y) -> y b x", {{"x", 2}},
       false},
      {"b 1 n -> b n", {}, {2, 1, 3}, "b n -> n 1 b", {}, true},
      {"b n -> b 1 n", {}, {2, 3}, "b 1 n -> n b", {}, true},
      {"b n -> b () n", {}, {2, 3}, "b () n -> (n b)", {}, true},
      {"(a b) -> b a", {{"a", 1}}, {5}, "b a -> a b", {}, true},
      {"a b -> (b a)", {}, {1, 6}, "(x y) -> y x", {{"x", 2}}, true},
      {"a b -> (b 1 a)", {}, {3, 1}, "(x y) -> y x", {{"y", 1}}, true},
      {"(a b c) -> (c b a)", {{"a", 2}, {"b", 2}}, {8},
       "(x y) -> y x", {{"x", 4}}, true},
      {"(a b c) -> (c b a)", {{"a", 2}, {"b", 3}}, {12},
       "(x y) -> y x", {{"x", 4}}, false},
      {"(a b c) -> (c b a)", {{"a", 2}, {"b", 3}}, {12},
       "(x y) -> y x", {{"x", 6}}, true},
      {"a b c -> (a b c)", {}, {2, 3, 4}, "(x y) -> y x", {{"x", 6}}, true},
      {"a b c -> (a b c)", {}, {2, 3, 4}, "(x y) -> y x", {{"x", 4}}, false},
      {"-> 1", {}, {}, "1 ->", {}, true},
  };
  for (const ComposeCase &c : cases)
    checkCompose(c);
}

TEST(EinopsCompose, ExhaustiveSplitsOfTwelve) {
  // Every ordered pair of two-factor splits of 12 (via a transpose), checked
  // by brute force against sequential application.
  std::vector<int64_t> divisors = {1, 2, 3, 4, 6, 12};
  for (int64_t a : divisors)
    for (int64_t x : divisors) {
      ComposeCase c{"(a b) -> (b a)", {{"a", a}}, {12}, "(x y) -> y x",
                    {{"x", x}}, true};
      RearrangePlan p1 = solveOk(c.first, c.shape, c.firstSizes);
      RearrangePlan p2 = solveOk(c.second, p1.outputShape, c.secondSizes);
      auto composed = composeRearranges(p1, p2, c.shape);
      // b = 12 / a is outermost after the first step: boundaries {b} and {x}
      // must divide one another.
      int64_t b = 12 / a;
      bool expected = b % x == 0 || x % b == 0;
      EXPECT_EQ(composed.has_value(), expected) << a << " " << x;
      if (composed) {
        std::vector<int> data = iota({12});
        EXPECT_EQ(applyPlan(*composed, data),
                  applyPlan(p2, applyPlan(p1, data)));
      }
    }
}

} // namespace
