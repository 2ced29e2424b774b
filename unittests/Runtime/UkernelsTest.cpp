//===- UkernelsTest.cpp - the matrix-product micro-kernels against loops --===//

#include "attn/Runtime/Ukernels.h"

#include "StridedMatrix.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

/// An f32 test matrix (see StridedMatrix.h).
struct Strided : attn_test::StridedMatrix<float> {
  Strided(int64_t rows, int64_t cols, bool transposed, std::mt19937 &gen)
      : StridedMatrix(rows, cols, transposed, gen, [](float x) { return x; }) {}
};

/// C += A · B as the loop nest linalg.matmul means: k in order, fused
/// multiply-adds. The micro-kernels must give exactly this.
void reference(Strided &a, Strided &b, Strided &c) {
  for (int64_t i = 0; i < c.rows; ++i)
    for (int64_t j = 0; j < c.cols; ++j) {
      float acc = c.at(i, j);
      for (int64_t p = 0; p < a.cols; ++p)
        acc = std::fma(a.at(i, p), b.at(p, j), acc);
      c.at(i, j) = acc;
    }
}

using Case = std::tuple<const char *, int64_t, int64_t, int64_t, bool, bool>;

class UkernelMatmul : public ::testing::TestWithParam<Case> {};

TEST_P(UkernelMatmul, MatchesLoopNestExactly) {
  auto [isa, m, n, k, transposeA, transposeB] = GetParam();
  if (!attn_uk_force_isa(isa))
    GTEST_SKIP() << "this CPU cannot run the " << isa << " micro-kernels";
  std::mt19937 gen(unsigned(m * 131 + n * 7 + k));
  Strided a(m, k, transposeA, gen), b(k, n, transposeB, gen),
      c(m, n, false, gen);
  Strided want = c;
  reference(a, b, want);
  attn_uk_matmul_f32(m, n, k, a.data.data(), a.rs, a.cs, b.data.data(), b.rs,
                     b.cs, c.data.data(), c.rs, c.cs);
  // Bit-identical, and the padding between rows untouched.
  for (size_t i = 0; i < c.data.size(); ++i)
    ASSERT_EQ(c.data[i], want.data[i]) << "element " << i << " with " << isa;
  EXPECT_STREQ(attn_uk_isa(), isa);
}

TEST_P(UkernelMatmul, OverwriteIsZeroFillThenAccumulate) {
  auto [isa, m, n, k, transposeA, transposeB] = GetParam();
  if (!attn_uk_force_isa(isa))
    GTEST_SKIP() << "this CPU cannot run the " << isa << " micro-kernels";
  std::mt19937 gen(unsigned(m * 131 + n * 7 + k));
  Strided a(m, k, transposeA, gen), b(k, n, transposeB, gen),
      c(m, n, false, gen);
  Strided want = c;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      want.at(i, j) = 0.0f;
      // Never read: a NaN in C would propagate through any sum from it.
      c.at(i, j) = std::nanf("");
    }
  reference(a, b, want);
  attn_uk_matmul_f32_overwrite(m, n, k, a.data.data(), a.rs, a.cs,
                               b.data.data(), b.rs, b.cs, c.data.data(), c.rs,
                               c.cs);
  // Bit-identical (also the sign of zeros), and the padding untouched.
  for (size_t i = 0; i < c.data.size(); ++i)
    ASSERT_EQ(std::signbit(c.data[i]), std::signbit(want.data[i]))
        << "element " << i << " with " << isa;
  for (size_t i = 0; i < c.data.size(); ++i)
    ASSERT_EQ(c.data[i], want.data[i]) << "element " << i << " with " << isa;
}

std::string caseName(const ::testing::TestParamInfo<Case> &info) {
  const auto &[isa, m, n, k, ta, tb] = info.param;
  return std::string(isa) + "_" + std::to_string(m) + "x" + std::to_string(n) +
         "x" + std::to_string(k) + (ta ? "_At" : "") + (tb ? "_Bt" : "");
}

// Shapes around every blocking boundary: the 6-row tile and the even split of
// A into slices of at most 6 rows (7 rows as 4 + 3, 49 as 4 x 6 + 5 x 5),
// 8/16-lane vectors, B read in place (up to 256 rows of A) or packed (301
// rows; a transposed B), 16/64-column panels, the 256-step reduction block
// and 512-column block.
INSTANTIATE_TEST_SUITE_P(
    Shapes, UkernelMatmul,
    ::testing::Combine(::testing::Values("avx512", "avx2", "generic"),
                       ::testing::Values(1, 5, 6, 7, 13, 49, 197, 301),
                       ::testing::Values(1, 15, 17, 64, 100, 520),
                       ::testing::Values(1, 64, 257), ::testing::Bool(),
                       ::testing::Bool()),
    caseName);

TEST(UkernelEdgeCases, NonUnitColumnStrideOfC) {
  std::mt19937 gen(1);
  Strided a(7, 9, false, gen), b(9, 11, false, gen), c(7, 11, true, gen);
  Strided want = c;
  reference(a, b, want);
  attn_uk_matmul_f32(7, 11, 9, a.data.data(), a.rs, a.cs, b.data.data(), b.rs,
                     b.cs, c.data.data(), c.rs, c.cs);
  for (size_t i = 0; i < c.data.size(); ++i)
    ASSERT_EQ(c.data[i], want.data[i]);
}

TEST(UkernelEdgeCases, EmptyDimensionsLeaveCUnchanged) {
  std::mt19937 gen(2);
  Strided a(4, 1, false, gen), b(1, 4, false, gen), c(4, 4, false, gen);
  Strided before = c;
  attn_uk_matmul_f32(4, 4, 0, a.data.data(), a.rs, a.cs, b.data.data(), b.rs,
                     b.cs, c.data.data(), c.rs, c.cs);
  EXPECT_EQ(c.data, before.data);
}

TEST(UkernelEdgeCases, OverwriteWithNonUnitColumnStrideOfC) {
  std::mt19937 gen(3);
  Strided a(7, 9, false, gen), b(9, 11, false, gen), c(7, 11, true, gen);
  Strided want = c;
  for (int64_t i = 0; i < 7; ++i)
    for (int64_t j = 0; j < 11; ++j) {
      want.at(i, j) = 0.0f;
      c.at(i, j) = std::nanf("");
    }
  reference(a, b, want);
  attn_uk_matmul_f32_overwrite(7, 11, 9, a.data.data(), a.rs, a.cs,
                               b.data.data(), b.rs, b.cs, c.data.data(), c.rs,
                               c.cs);
  for (size_t i = 0; i < c.data.size(); ++i)
    ASSERT_EQ(c.data[i], want.data[i]);
}

TEST(UkernelEdgeCases, OverwriteOfAnEmptySumIsZero) {
  std::mt19937 gen(4);
  Strided a(4, 1, false, gen), b(1, 4, false, gen), c(4, 4, false, gen);
  Strided want = c;
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 4; ++j)
      want.at(i, j) = 0.0f;
  attn_uk_matmul_f32_overwrite(4, 4, 0, a.data.data(), a.rs, a.cs,
                               b.data.data(), b.rs, b.cs, c.data.data(), c.rs,
                               c.cs);
  EXPECT_EQ(c.data, want.data);
}

using GroupCase = std::tuple<const char *, int64_t, int64_t, int64_t, bool>;

class UkernelMatmulGroups : public ::testing::TestWithParam<GroupCase> {};

// C[g] (+)= A · B[g] with the groups interleaved as a 1x1 convolution on
// windows stores them (B: G x K x N with N innermost and groups K·N + 3
// apart; C: G x M x N likewise): bit for bit a call per group, and the
// padding between groups untouched.
TEST_P(UkernelMatmulGroups, MatchesOneCallPerGroup) {
  auto [isa, groups, m, n, overwrite] = GetParam();
  if (!attn_uk_force_isa(isa))
    GTEST_SKIP() << "this CPU cannot run the " << isa << " micro-kernels";
  int64_t k = 37;
  std::mt19937 gen(unsigned(groups * 31 + m * 7 + n));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> a(m * k), b(groups * (k * n + 3)), c(groups * (m * n + 3));
  for (auto *v : {&a, &b, &c})
    for (float &x : *v)
      x = dist(gen);
  std::vector<float> want = c;
  for (int64_t g = 0; g < groups; ++g) {
    float *cg = want.data() + g * (m * n + 3);
    const float *bg = b.data() + g * (k * n + 3);
    (overwrite ? attn_uk_matmul_f32_overwrite : attn_uk_matmul_f32)(
        m, n, k, a.data(), k, 1, bg, n, 1, cg, n, 1);
  }
  if (overwrite)
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t e = 0; e < m * n; ++e)
        c[g * (m * n + 3) + e] = std::nanf(""); // never read
  attn_uk_matmul_f32_groups(groups, m, n, k, a.data(), k, 1, b.data(),
                            k * n + 3, n, 1, c.data(), m * n + 3, n, 1,
                            overwrite);
  for (size_t i = 0; i < c.size(); ++i)
    ASSERT_EQ(c[i], want[i]) << "element " << i << " with " << isa;
}

// One group, N of a whole vector (no gather), N = 4 (CrossFormer's 2 x 2
// windows) and 1, in one chunk of groups (49) and in several (200 x 4 > 512
// columns).
INSTANTIATE_TEST_SUITE_P(
    Shapes, UkernelMatmulGroups,
    ::testing::Combine(::testing::Values("avx512", "avx2", "generic"),
                       ::testing::Values(1, 49, 200),
                       ::testing::Values(1, 13), ::testing::Values(1, 4, 16),
                       ::testing::Bool()));

TEST(UkernelEdgeCases, UnknownIsaIsRefused) {
  EXPECT_EQ(attn_uk_force_isa("sse9"), 0);
}

} // namespace
