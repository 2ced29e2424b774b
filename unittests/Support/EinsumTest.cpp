//===- EinsumTest.cpp - Tests for the einsum equation parser --------------===//

#include "attn/Support/Einsum.h"

#include "gtest/gtest.h"

using namespace attn;

namespace {

using Terms = std::vector<std::vector<std::string>>;
using Labels = std::vector<std::string>;
using Shape = std::vector<int64_t>;

EinsumEquation parseOk(std::string_view equation) {
  PatternError error;
  auto parsed = parseEinsum(equation, error);
  EXPECT_TRUE(parsed.has_value()) << equation << ": " << error.message;
  return parsed ? *parsed : EinsumEquation();
}

void expectParseError(std::string_view equation, const std::string &message,
                      size_t column) {
  PatternError error;
  auto parsed = parseEinsum(equation, error);
  EXPECT_FALSE(parsed.has_value()) << equation;
  EXPECT_EQ(error.message, message) << equation;
  EXPECT_TRUE(error.hasColumn) << equation;
  EXPECT_EQ(error.column, column) << equation;
}

EinsumPlan solveOk(std::string_view equation,
                   const std::vector<Shape> &shapes) {
  PatternError error;
  auto plan = solveEinsum(parseOk(equation), shapes, error);
  EXPECT_TRUE(plan.has_value()) << equation << ": " << error.message;
  return plan ? *plan : EinsumPlan();
}

void expectSolveError(std::string_view equation,
                      const std::vector<Shape> &shapes,
                      const std::string &message) {
  PatternError error;
  auto plan = solveEinsum(parseOk(equation), shapes, error);
  EXPECT_FALSE(plan.has_value()) << equation;
  EXPECT_EQ(error.message, message) << equation;
  EXPECT_FALSE(error.hasColumn) << equation;
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

TEST(EinsumParse, SpacedAttentionScores) {
  EinsumEquation eq = parseOk("b h i d, b h j d -> b h i j");
  EXPECT_TRUE(eq.spaced);
  EXPECT_TRUE(eq.explicitOutput);
  EXPECT_EQ(eq.inputs,
            (Terms{{"b", "h", "i", "d"}, {"b", "h", "j", "d"}}));
  EXPECT_EQ(eq.output, (Labels{"b", "h", "i", "j"}));
  EXPECT_EQ(eq.getNumInputs(), 2u);
}

TEST(EinsumParse, CompactAttentionScores) {
  EinsumEquation eq = parseOk("bhid,bhjd->bhij");
  EXPECT_FALSE(eq.spaced);
  EXPECT_EQ(eq.inputs,
            (Terms{{"b", "h", "i", "d"}, {"b", "h", "j", "d"}}));
  EXPECT_EQ(eq.output, (Labels{"b", "h", "i", "j"}));
}

TEST(EinsumParse, CompactAttentionValues) {
  EinsumEquation eq = parseOk("bhij,bhjd->bhid");
  EXPECT_EQ(eq.inputs[1], (Labels{"b", "h", "j", "d"}));
  EXPECT_EQ(eq.output, (Labels{"b", "h", "i", "d"}));
}

TEST(EinsumParse, WhitespaceAroundCompactTerms) {
  EinsumEquation eq = parseOk("  ij , jk->  ik ");
  EXPECT_FALSE(eq.spaced);
  EXPECT_EQ(eq.inputs, (Terms{{"i", "j"}, {"j", "k"}}));
  EXPECT_EQ(eq.output, (Labels{"i", "k"}));
}

TEST(EinsumParse, SpacedWords) {
  EinsumEquation eq =
      parseOk("batch head q dim, batch head k dim -> batch head q k");
  EXPECT_TRUE(eq.spaced);
  EXPECT_EQ(eq.inputs[0], (Labels{"batch", "head", "q", "dim"}));
  EXPECT_EQ(eq.output, (Labels{"batch", "head", "q", "k"}));
}

TEST(EinsumParse, SpacedModeAppliesToAllTerms) {
  // One spaced term switches the whole equation: `ij` is a single label.
  EinsumEquation eq = parseOk("ij, a b -> ij b");
  EXPECT_EQ(eq.inputs, (Terms{{"ij"}, {"a", "b"}}));
}

TEST(EinsumParse, SpacedEllipsis) {
  EinsumEquation eq = parseOk("b ... d, d e -> b ... e");
  EXPECT_EQ(eq.inputs[0], (Labels{"b", "...", "d"}));
  EXPECT_EQ(eq.output, (Labels{"b", "...", "e"}));
}

TEST(EinsumParse, CompactEllipsis) {
  EinsumEquation eq = parseOk("...ij,...jk->...ik");
  EXPECT_EQ(eq.inputs[0], (Labels{"...", "i", "j"}));
  EXPECT_EQ(eq.output, (Labels{"...", "i", "k"}));
  EXPECT_EQ(parseOk("i...j->ij").inputs[0], (Labels{"i", "...", "j"}));
}

TEST(EinsumParse, ImplicitMatmul) {
  EinsumEquation eq = parseOk("ij,jk");
  EXPECT_FALSE(eq.explicitOutput);
  EXPECT_EQ(eq.output, (Labels{"i", "k"}));
}

TEST(EinsumParse, ImplicitIsSorted) {
  EXPECT_EQ(parseOk("ba").output, (Labels{"a", "b"}));
  EXPECT_EQ(parseOk("bA").output, (Labels{"A", "b"}));
  EXPECT_EQ(parseOk("ii").output, (Labels{}));
  EXPECT_EQ(parseOk("iij").output, (Labels{"j"}));
}

TEST(EinsumParse, ImplicitEllipsisFirst) {
  EinsumEquation eq = parseOk("...ij,...jk");
  EXPECT_EQ(eq.output, (Labels{"...", "i", "k"}));
  EXPECT_EQ(parseOk("zi,i...").output, (Labels{"...", "z"}));
}

TEST(EinsumParse, ImplicitSpaced) {
  EinsumEquation eq = parseOk("row k, k col");
  EXPECT_EQ(eq.output, (Labels{"col", "row"}));
}

TEST(EinsumParse, ThreeOperands) {
  EinsumEquation eq = parseOk("ij,jk,kl->il");
  EXPECT_EQ(eq.getNumInputs(), 3u);
}

TEST(EinsumParse, ScalarOutput) {
  EinsumEquation eq = parseOk("ij,ij->");
  EXPECT_TRUE(eq.explicitOutput);
  EXPECT_TRUE(eq.output.empty());
}

TEST(EinsumParse, EmptyTermIsScalarOperand) {
  // As in torch and numpy: an empty term is a 0-d operand.
  EinsumEquation eq = parseOk("");
  EXPECT_EQ(eq.inputs, Terms({{}}));
  EXPECT_FALSE(eq.explicitOutput);
  EXPECT_TRUE(eq.output.empty());
  eq = parseOk(",ij->i");
  EXPECT_EQ(eq.inputs, Terms({{}, {"i", "j"}}));
  eq = parseOk("ij,,jk->ik");
  EXPECT_EQ(eq.inputs, Terms({{"i", "j"}, {}, {"j", "k"}}));
  eq = parseOk("ij,  ->i");
  EXPECT_EQ(eq.inputs, Terms({{"i", "j"}, {}}));
  eq = parseOk("->");
  EXPECT_EQ(eq.inputs, Terms({{}}));
  EXPECT_TRUE(eq.explicitOutput);
  eq = parseOk("a b, -> b");
  EXPECT_TRUE(eq.spaced);
  EXPECT_EQ(eq.inputs, Terms({{"a", "b"}, {}}));

  PatternError error;
  std::optional<EinsumPlan> plan = solveEinsum(parseOk(",ij->ij"),
                                               {{}, {2, 3}}, error);
  ASSERT_TRUE(plan.has_value()) << error.message;
  EXPECT_EQ(plan->outputShape, Shape({2, 3}));
  plan = solveEinsum(parseOk("->"), {{}}, error);
  ASSERT_TRUE(plan.has_value()) << error.message;
  EXPECT_TRUE(plan->outputShape.empty());
  EXPECT_FALSE(solveEinsum(parseOk(",ij->ij"), {{1}, {2, 3}}, error));
}

TEST(EinsumSolve, OneOperand) {
  PatternError error;
  struct Case {
    std::string_view equation;
    Shape shape, output;
  };
  for (Case c : {Case{"ii->", {5, 5}, {}}, Case{"ii->i", {5, 5}, {5}},
                 Case{"ij->", {2, 3}, {}}, Case{"ij->ji", {2, 3}, {3, 2}},
                 Case{"...->...", {5, 4, 3}, {5, 4, 3}},
                 Case{"i ... i -> i ...", {5, 3, 2, 5}, {5, 3, 2}},
                 Case{"ii", {4, 4}, {}}, Case{"ij", {2, 3}, {2, 3}}}) {
    auto plan = solveEinsum(parseOk(c.equation), {c.shape}, error);
    ASSERT_TRUE(plan.has_value()) << c.equation << ": " << error.message;
    EXPECT_EQ(plan->outputShape, c.output) << c.equation;
  }
  EXPECT_FALSE(solveEinsum(parseOk("ii->i"), {{2, 3}}, error));
}

TEST(EinsumParse, InvalidCharacter) {
  expectParseError("i1,j->ij",
                   "invalid character '1' in equation: labels must be letters "
                   "[a-zA-Z]",
                   1);
  expectParseError("ij->i-j",
                   "invalid character '-' in equation: labels must be letters "
                   "[a-zA-Z]",
                   5);
  expectParseError("a b, c+d -> a", "invalid character '+' in equation", 6);
  expectParseError("i>j",
                   "invalid character '>' in equation: labels must be letters "
                   "[a-zA-Z]",
                   1);
}

TEST(EinsumParse, InvalidSpacedLabel) {
  expectParseError("a 1b -> a",
                   "invalid label '1b': labels must be identifiers "
                   "[A-Za-z_][A-Za-z0-9_]*",
                   2);
}

TEST(EinsumParse, ArrowTwice) {
  expectParseError("i->i->i", "'->' appears more than once in the equation", 4);
}

TEST(EinsumParse, OutputLabelNotInInputs) {
  expectParseError("ij->k", "output label 'k' does not appear in any input term",
                   4);
  expectParseError("a b, b c -> a d",
                   "output label 'd' does not appear in any input term", 14);
}

TEST(EinsumParse, OutputLabelRepeated) {
  expectParseError("ij->ii", "output label 'i' appears more than once in the "
                             "output",
                   5);
}

TEST(EinsumParse, OutputEllipsisWithoutInput) {
  expectParseError("ij->...ij", "ellipsis in the output but in no input term",
                   4);
}

TEST(EinsumParse, MoreThanOneEllipsis) {
  expectParseError("...i...->i",
                   "more than one ellipsis in the term of operand 0", 4);
  expectParseError("...i->......",
                   "more than one ellipsis in the output term", 9);
  expectParseError("a ... b ... -> a",
                   "more than one ellipsis in the term of operand 0", 8);
}

TEST(EinsumParse, StrayDot) {
  expectParseError("i.j->ij", "'.' may only appear as part of an ellipsis '...'",
                   1);
  expectParseError("....i->i",
                   "'.' may only appear as part of an ellipsis '...'", 3);
}

TEST(EinsumParse, CommaInOutput) {
  expectParseError("i,j->i,j", "the output of an einsum must be a single term",
                   6);
}

//===----------------------------------------------------------------------===//
// Solving
//===----------------------------------------------------------------------===//

TEST(EinsumSolve, AttentionScores) {
  EinsumPlan plan =
      solveOk("b h i d, b h j d -> b h i j", {{2, 4, 8, 64}, {2, 4, 16, 64}});
  EXPECT_EQ(plan.outputShape, (Shape{2, 4, 8, 16}));
  EXPECT_EQ(plan.sizes.at("d"), 64);
  EXPECT_EQ(plan.reductionLabels(), (Labels{"d"}));
  EXPECT_EQ(plan.inputs[1], (Labels{"b", "h", "j", "d"}));
}

TEST(EinsumSolve, AttentionValues) {
  EinsumPlan plan = solveOk("bhij,bhjd->bhid", {{2, 4, 8, 16}, {2, 4, 16, 32}});
  EXPECT_EQ(plan.outputShape, (Shape{2, 4, 8, 32}));
  EXPECT_EQ(plan.reductionLabels(), (Labels{"j"}));
}

TEST(EinsumSolve, ImplicitMatmul) {
  EinsumPlan plan = solveOk("ij,jk", {{2, 3}, {3, 5}});
  EXPECT_EQ(plan.output, (Labels{"i", "k"}));
  EXPECT_EQ(plan.outputShape, (Shape{2, 5}));
}

TEST(EinsumSolve, BroadcastEllipsis) {
  EinsumPlan plan = solveOk("...ij,...jk->...ik", {{2, 1, 3, 4}, {5, 4, 6}});
  EXPECT_EQ(plan.inputs[0], (Labels{"...0", "...1", "i", "j"}));
  EXPECT_EQ(plan.inputs[1], (Labels{"...1", "j", "k"}));
  EXPECT_EQ(plan.output, (Labels{"...0", "...1", "i", "k"}));
  EXPECT_EQ(plan.outputShape, (Shape{2, 5, 3, 6}));
  EXPECT_EQ(plan.sizes.at("...0"), 2);
  EXPECT_EQ(plan.sizes.at("...1"), 5);
}

TEST(EinsumSolve, EllipsisOfRankZero) {
  EinsumPlan plan = solveOk("...ij,...jk->...ik", {{3, 4}, {4, 6}});
  EXPECT_EQ(plan.output, (Labels{"i", "k"}));
  EXPECT_EQ(plan.outputShape, (Shape{3, 6}));
}

TEST(EinsumSolve, EllipsisInMiddle) {
  EinsumPlan plan = solveOk("b ... d, d e -> b ... e", {{2, 3, 4, 5}, {5, 7}});
  EXPECT_EQ(plan.inputs[0], (Labels{"b", "...0", "...1", "d"}));
  EXPECT_EQ(plan.outputShape, (Shape{2, 3, 4, 7}));
}

TEST(EinsumSolve, EllipsisSummedWhenNotInOutput) {
  EinsumPlan plan = solveOk("...i->i", {{2, 3, 4}});
  EXPECT_EQ(plan.outputShape, (Shape{4}));
  EXPECT_EQ(plan.reductionLabels(), (Labels{"...0", "...1"}));
}

TEST(EinsumSolve, BroadcastFailure) {
  expectSolveError("...i,...i->...i", {{2, 3, 4}, {5, 4}},
                   "ellipsis dimensions of operand 1 do not broadcast: size 5 "
                   "against size 3 in operand 0");
}

TEST(EinsumSolve, ThreeOperands) {
  EinsumPlan plan = solveOk("ij,jk,kl->il", {{2, 3}, {3, 4}, {4, 5}});
  EXPECT_EQ(plan.outputShape, (Shape{2, 5}));
  EXPECT_EQ(plan.reductionLabels(), (Labels{"j", "k"}));
}

TEST(EinsumSolve, OperandCount) {
  expectSolveError("ij,jk->ik", {{2, 3}, {3, 4}, {4, 5}},
                   "einsum expects 2 operands but got 3");
}

TEST(EinsumSolve, RankMismatch) {
  expectSolveError("b h i d, b h j d -> b h i j", {{2, 4, 8, 64}, {2, 16, 64}},
                   "operand 1 has rank 3 but its term 'b h j d' names 4 axes");
  expectSolveError("ij,jk", {{2, 3}, {3}},
                   "operand 1 has rank 1 but its term 'jk' names 2 axes");
  expectSolveError("...ij->ij", {{3}},
                   "operand 0 has rank 1 but its term '...ij' names at least 2 "
                   "axes");
}

TEST(EinsumSolve, ConflictingSizes) {
  expectSolveError("b h i d, b h j d -> b h i j",
                   {{2, 4, 8, 64}, {2, 4, 16, 32}},
                   "label 'd' is 64 in operand 0 but 32 in operand 1");
}

TEST(EinsumSolve, Diagonal) {
  EinsumPlan plan = solveOk("ii->i", {{3, 3}});
  EXPECT_EQ(plan.outputShape, (Shape{3}));
  expectSolveError("ii->i", {{3, 4}},
                   "label 'i' is repeated in operand 0 with sizes 3 and 4");
  // A diagonal does not broadcast within its operand (torch and numpy).
  expectSolveError("ii->i", {{1, 3}},
                   "label 'i' is repeated in operand 0 with sizes 1 and 3");
}

TEST(EinsumSolve, SizeOneLabelsBroadcast) {
  // As in torch.einsum and numpy.einsum: across operands, a labelled dim of
  // size 1 broadcasts against any size (0 included).
  EinsumPlan plan = solveOk("ij,jk->ik", {{2, 1}, {3, 4}});
  EXPECT_EQ(plan.sizes.at("j"), 3);
  EXPECT_EQ(plan.outputShape, (Shape{2, 4}));
  plan = solveOk("ij,ij->ij", {{2, 1}, {1, 3}});
  EXPECT_EQ(plan.outputShape, (Shape{2, 3}));
  plan = solveOk("i,i->i", {{1}, {0}});
  EXPECT_EQ(plan.outputShape, (Shape{0}));
  plan = solveOk("n ... k head, ... n n, k head ... -> ... head n k",
                 {{5, 5, 1, 2}, {5, 5}, {5, 1}});
  EXPECT_EQ(plan.outputShape, (Shape{5, 2, 5, 5}));
  expectSolveError("i,i->i", {{2}, {3}},
                   "label 'i' is 2 in operand 0 but 3 in operand 1");
}

TEST(EinsumSolve, NoReduction) {
  EinsumPlan plan = solveOk("ij->ji", {{2, 3}});
  EXPECT_TRUE(plan.reductionLabels().empty());
  EXPECT_EQ(plan.outputShape, (Shape{3, 2}));
}

TEST(EinsumSolve, ScalarOutput) {
  EinsumPlan plan = solveOk("ij,ij->", {{2, 3}, {2, 3}});
  EXPECT_TRUE(plan.outputShape.empty());
  EXPECT_EQ(plan.reductionLabels(), (Labels{"i", "j"}));
}

//===----------------------------------------------------------------------===//
// Printing and permuting
//===----------------------------------------------------------------------===//

TEST(EinsumPrint, Compact) {
  EXPECT_EQ(printEinsum(parseOk("bhid, bhjd -> bhij")), "bhid,bhjd->bhij");
  EXPECT_EQ(printEinsum(parseOk("ij,jk")), "ij,jk->ik");
  EXPECT_EQ(printEinsum(parseOk("...ij,...jk")), "...ij,...jk->...ik");
  EXPECT_EQ(printEinsum(parseOk("ij->")), "ij->");
}

TEST(EinsumPrint, Spaced) {
  EXPECT_EQ(printEinsum(parseOk("b h i d,b  h j d->b h i j")),
            "b h i d, b h j d -> b h i j");
  EXPECT_EQ(printEinsum(parseOk("b ... d, d e -> b ... e")),
            "b ... d, d e -> b ... e");
  EXPECT_EQ(printEinsum(parseOk("a b, a b ->")), "a b, a b ->");
}

TEST(EinsumPrint, RoundTrip) {
  for (const char *text :
       {"bhid,bhjd->bhij", "b h i d, b h j d -> b h i j", "ij,jk",
        "...ij,...jk->...ik", "batch q, batch k -> q k", "ii->i"}) {
    EinsumEquation eq = parseOk(text);
    EinsumEquation again = parseOk(printEinsum(eq));
    EXPECT_EQ(again.inputs, eq.inputs) << text;
    EXPECT_EQ(again.output, eq.output) << text;
    EXPECT_TRUE(again.explicitOutput);
  }
}

TEST(EinsumPermute, TransposedOperand) {
  // x is [b, h, d, j]; transposing by (0, 1, 3, 2) gives the [b, h, j, d]
  // operand of "bhid,bhjd->bhij", so x itself is labelled "bhdj".
  EinsumEquation eq = parseOk("bhid,bhjd->bhij");
  auto permuted = permuteEinsumOperand(eq, 1, {0, 1, 3, 2});
  ASSERT_TRUE(permuted);
  EXPECT_EQ(permuted->inputs[1], (Labels{"b", "h", "d", "j"}));
  EXPECT_EQ(permuted->inputs[0], eq.inputs[0]);
  EXPECT_EQ(permuted->output, eq.output);
}

TEST(EinsumPermute, NonInvolution) {
  // term = [a, b, c], permutation (2, 0, 1): term'[2] = a, term'[0] = b,
  // term'[1] = c.
  EinsumEquation eq = parseOk("abc->abc");
  auto permuted = permuteEinsumOperand(eq, 0, {2, 0, 1});
  ASSERT_TRUE(permuted);
  EXPECT_EQ(permuted->inputs[0], (Labels{"b", "c", "a"}));
}

TEST(EinsumPermute, Failures) {
  EinsumEquation eq = parseOk("ab,...b->a");
  EXPECT_FALSE(permuteEinsumOperand(eq, 1, {0, 1}));
  EXPECT_FALSE(permuteEinsumOperand(eq, 0, {0}));
  EXPECT_FALSE(permuteEinsumOperand(eq, 0, {0, 0}));
  EXPECT_FALSE(permuteEinsumOperand(eq, 0, {0, 2}));
  EXPECT_FALSE(permuteEinsumOperand(eq, 2, {0, 1}));
  EXPECT_TRUE(permuteEinsumOperand(eq, 0, {1, 0}));
}

TEST(EinsumSolve, AmbiguousSpelling) {
  // No whitespace inside a term, but some elsewhere: compact if that solves,
  // else einops' spaced reading with one word per label.
  PatternError error;
  auto solved = parseAndSolveEinsum("index ->", {{10}}, error);
  ASSERT_TRUE(solved.has_value()) << error.message;
  EXPECT_TRUE(solved->equation.spaced);
  EXPECT_EQ(solved->plan.inputs, Terms({{"index"}}));
  solved = parseAndSolveEinsum("index ->", {{1, 2, 3, 4, 5}}, error);
  ASSERT_TRUE(solved.has_value()) << error.message;
  EXPECT_FALSE(solved->equation.spaced);
  solved = parseAndSolveEinsum("ij, jk -> ik", {{2, 3}, {3, 4}}, error);
  ASSERT_TRUE(solved.has_value()) << error.message;
  EXPECT_FALSE(solved->equation.spaced);
  solved = parseAndSolveEinsum("one two, two three -> one three",
                               {{2, 3}, {3, 4}}, error);
  ASSERT_TRUE(solved.has_value()) << error.message;
  EXPECT_TRUE(solved->equation.spaced);
  // Neither reading solves: the compact reading's error.
  EXPECT_FALSE(parseAndSolveEinsum("ab ->", {{2, 3, 4}}, error));
  EXPECT_EQ(error.message,
            "operand 0 has rank 3 but its term 'ab' names 2 axes");
  // The compact reading does not even parse ('_' is no letter).
  solved = parseAndSolveEinsum(", first_tensor -> first_tensor", {{}, {0}},
                               error);
  ASSERT_TRUE(solved.has_value()) << error.message;
  EXPECT_TRUE(solved->equation.spaced);
  // Without any whitespace there is nothing to reinterpret.
  EXPECT_FALSE(parseAndSolveEinsum("ab->", {{6}}, error));
}

} // namespace
