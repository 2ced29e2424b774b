//===- ParserCrashesTest.cpp - Tests for the upstream-parser crash checks -===//

#include "attn/Support/ParserCrashes.h"

#include "gtest/gtest.h"

using namespace attn;

namespace {

std::optional<size_t> findSite(std::string_view text) {
  auto site = findMalformedLinalgDimensionList(text);
  return site ? std::optional<size_t>(site->offset) : std::nullopt;
}

TEST(ParserCrashes, AcceptsIntegerLists) {
  for (std::string_view text : {
           "linalg.transpose ins(%a : t) outs(%b : t) permutation = [1, 0]",
           "linalg.broadcast ins(%a : t) outs(%b : t) dimensions = []",
           "linalg.broadcast ins(%a : t) outs(%b : t) dimensions = [ -1 ,0x2 ]",
           "linalg.reduce { arith.addf } ins(%a : t) outs(%b : t) "
           "dimensions = [1]",
           "linalg.reduce ins(%a : t)\n outs(%b : t) dimensions = [1]\n"
           "  (%x: f32, %y: f32) { linalg.yield %x : f32 }",
           "linalg.broadcast ins(%a : tensor<4xf32>)\n"
           "    outs(%b : tensor<4x5xf32>)\n    dimensions = [1]",
           "linalg.transpose ins(%a : t) outs(%b : t) permutation = "
           "[9223372036854775807, -9223372036854775808]",
       })
    EXPECT_EQ(findSite(text), std::nullopt) << text;
}

TEST(ParserCrashes, FindsMalformedLists) {
  struct Case {
    std::string_view text;
    size_t offset;
  };
  for (Case c : {
           Case{"linalg.broadcast ins(%a : t) outs(%b : t) dimensions = [1", 55},
           Case{"linalg.transpose ins(%a : t) outs(%b : t) permutation = [1, x]",
                56},
           Case{"linalg.reduce { arith.addf } ins(%a : t) outs(%b : t) "
                "dimensions = 1",
                67},
           Case{"linalg.transpose ins(%a : t) outs(%b : t) permutation = [1.5]",
                56},
           Case{"linalg.transpose ins(%a : t) outs(%b : t) permutation = "
                "[9223372036854775808]",
                56},
           Case{"linalg.broadcast ins(%a : t) outs(%b : t) dimensions = "
                "array<i64: 1>",
                55},
           Case{"linalg.broadcast ins(%a : t) outs(%b : t) dimensions =", 54},
           // Found by fuzz/mutate_ir.py: the list on the op's second line.
           Case{"linalg.broadcast ins(%a : t)\n    outs(%b : t) dimensions = "
                "[0, 1.0e-45, 2]\n%c = arith.addf",
                59},
       })
    EXPECT_EQ(findSite(c.text), c.offset) << c.text;
}

TEST(ParserCrashes, IgnoresOtherForms) {
  for (std::string_view text : {
           // The generic form and attribute dictionaries.
           "\"linalg.transpose\"(%a, %b) <{permutation = array<i64: 1, 0>}>",
           "%0 = vector.transpose %v, [1, 0] : vector<2x3xf32> to "
           "vector<3x2xf32> {permutation = 3}",
           // A string or comment mentioning the ops.
           "// linalg.broadcast dimensions = [\n",
           "\"linalg.broadcast dimensions = [\"",
           // The keyword missing: the parser reports it, without crashing.
           "linalg.broadcast ins(%a : t) outs(%b : t) [1]\n"
           "foo {dimensions = 7}",
           // The next op's keyword is not this op's list.
           "linalg.broadcast ins(%a : t) outs(%b : t) dimensions = [0]\n"
           "%1 = foo {dimensions = 1.5}",
           "%0 = linalg.broadcast ins(%a : t) outs(%b : t) [0]\n"
           "%1 = foo {dimensions = 1.5}",
           // A keyword inside the op's parentheses is not the list.
           "linalg.broadcast ins(%dimensions : t) outs(%b : t) dimensions = "
           "[0]",
       })
    EXPECT_EQ(findSite(text), std::nullopt) << text;
}

} // namespace
