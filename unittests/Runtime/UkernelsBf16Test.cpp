//===- UkernelsBf16Test.cpp - the bf16 micro-kernel against a loop nest ---===//

#include "attn/Runtime/Ukernels.h"

#include "StridedMatrix.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

uint16_t toBf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  return uint16_t((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

float fromBf16(uint16_t x) {
  uint32_t bits = uint32_t(x) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// A bf16 test matrix (see StridedMatrix.h), read as floats by at().
struct Bf16Matrix : attn_test::StridedMatrix<uint16_t> {
  Bf16Matrix(int64_t rows, int64_t cols, bool transposed, std::mt19937 &gen)
      : StridedMatrix(rows, cols, transposed, gen, toBf16) {}
  float at(int64_t i, int64_t j) const {
    return fromBf16(StridedMatrix::at(i, j));
  }
};

using Case = std::tuple<const char *, int64_t, int64_t, int64_t, bool, bool, bool>;

class UkernelBf16 : public ::testing::TestWithParam<Case> {};

/// Checks C = before + A · B against an f64 loop nest over a.at and bAt(p,
/// j): the bf16 products are exact in f32, so the sums differ from the f64
/// result by f32 rounding only, |error| <= k * 2^-23 * sum |a b| (plus C's
/// own); every element of C outside the m x n view must be unchanged.
template <typename BAt>
void expectProduct(const char *path, int64_t m, int64_t n, int64_t k,
                   const Bf16Matrix &a, BAt bAt,
                   const std::vector<float> &before,
                   const std::vector<float> &c, int64_t crs, int64_t ccs) {
  std::vector<bool> written(c.size(), false);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double want = before[i * crs + j * ccs], magnitude = std::fabs(want);
      for (int64_t p = 0; p < k; ++p) {
        double prod = double(a.at(i, p)) * double(bAt(p, j));
        want += prod;
        magnitude += std::fabs(prod);
      }
      double got = c[i * crs + j * ccs];
      ASSERT_LE(std::fabs(got - want), (k + 1) * 0x1p-23 * magnitude + 1e-30)
          << "C[" << i << "][" << j << "] with " << path;
      written[i * crs + j * ccs] = true;
    }
  for (size_t i = 0; i < c.size(); ++i)
    if (!written[i])
      ASSERT_EQ(c[i], before[i]) << "padding element " << i << " changed";
}

/// A C of m x n with a row pad, or (strided) column stride 2, filled with
/// values in [-1, 1]: the padding must stay.
std::vector<float> makeC(int64_t m, int64_t n, bool strided, int64_t &crs,
                         int64_t &ccs, std::mt19937 &gen) {
  ccs = strided ? 2 : 1;
  crs = n * ccs + 5;
  std::vector<float> c(m * crs + 7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float &x : c)
    x = dist(gen);
  return c;
}

TEST_P(UkernelBf16, MatchesF64LoopNest) {
  auto [path, m, n, k, transposeA, transposeB, stridedC] = GetParam();
  if (!attn_uk_force_bf16_path(path))
    GTEST_SKIP() << "this machine cannot run the " << path
                 << " bf16 path (no AMX-BF16, or the OS refuses the tile state)";
  EXPECT_STREQ(attn_uk_bf16_path(), path);
  std::mt19937 gen(unsigned(m * 131 + n * 7 + k));
  Bf16Matrix a(m, k, transposeA, gen), b(k, n, transposeB, gen);
  int64_t crs, ccs;
  std::vector<float> c = makeC(m, n, stridedC, crs, ccs, gen);
  std::vector<float> before = c;
  attn_uk_matmul_bf16(m, n, k, a.data.data(), a.rs, a.cs, b.data.data(), b.rs,
                      b.cs, c.data(), crs, ccs);
  expectProduct(
      path, m, n, k, a, [&](int64_t p, int64_t j) { return b.at(p, j); },
      before, c, crs, ccs);
}

/// C's m x n view set to NaN (the overwrite forms must not read it), and the
/// values the product starts from: zero there, C elsewhere.
std::vector<float> poisonView(std::vector<float> &c, int64_t m, int64_t n,
                              int64_t crs, int64_t ccs) {
  std::vector<float> start = c;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      c[i * crs + j * ccs] = NAN;
      start[i * crs + j * ccs] = 0.0f;
    }
  return start;
}

class UkernelBf16Overwrite : public ::testing::TestWithParam<Case> {};

// C = A · B: the same sums from zero, C's old values never read (NaN there
// would show in every element).
TEST_P(UkernelBf16Overwrite, MatchesF64LoopNestFromZero) {
  auto [path, m, n, k, transposeA, transposeB, stridedC] = GetParam();
  if (!attn_uk_force_bf16_path(path))
    GTEST_SKIP() << "this machine cannot run the " << path
                 << " bf16 path (no AMX-BF16, or the OS refuses the tile state)";
  std::mt19937 gen(unsigned(m * 131 + n * 7 + k + 2));
  Bf16Matrix a(m, k, transposeA, gen), b(k, n, transposeB, gen);
  int64_t crs, ccs;
  std::vector<float> c = makeC(m, n, stridedC, crs, ccs, gen);
  std::vector<float> start = poisonView(c, m, n, crs, ccs);
  attn_uk_matmul_bf16_overwrite(m, n, k, a.data.data(), a.rs, a.cs,
                                b.data.data(), b.rs, b.cs, c.data(), crs, ccs);
  expectProduct(
      path, m, n, k, a, [&](int64_t p, int64_t j) { return b.at(p, j); },
      start, c, crs, ccs);
}

/// (path, m, n, k, pairs stored transposed, C strided): B in VNNI form.
using PairsCase = std::tuple<const char *, int64_t, int64_t, int64_t, bool, bool>;

class UkernelBf16Pairs : public ::testing::TestWithParam<PairsCase> {};

// B given as (k / 2) x (2 n) pairs, B[p][j] = pairs[p / 2][2 j + p % 2]:
// unit element stride with a row pad (AMX loads its tiles in place; a last
// partial 32-column block and k not a multiple of 32 take copies), or
// stored transposed (unpacked first).
TEST_P(UkernelBf16Pairs, MatchesF64LoopNest) {
  auto [path, m, n, k, transposedPairs, stridedC] = GetParam();
  if (!attn_uk_force_bf16_path(path))
    GTEST_SKIP() << "this machine cannot run the " << path
                 << " bf16 path (no AMX-BF16, or the OS refuses the tile state)";
  std::mt19937 gen(unsigned(m * 131 + n * 7 + k + 1));
  Bf16Matrix a(m, k, false, gen), pairs(k / 2, 2 * n, transposedPairs, gen);
  int64_t crs, ccs;
  std::vector<float> c = makeC(m, n, stridedC, crs, ccs, gen);
  std::vector<float> before = c;
  attn_uk_matmul_bf16_pairs(m, n, k, a.data.data(), a.rs, a.cs,
                            pairs.data.data(), pairs.rs, pairs.cs, c.data(),
                            crs, ccs);
  expectProduct(
      path, m, n, k, a,
      [&](int64_t p, int64_t j) { return pairs.at(p / 2, 2 * j + p % 2); },
      before, c, crs, ccs);
}

class UkernelBf16PairsOverwrite : public ::testing::TestWithParam<PairsCase> {
};

TEST_P(UkernelBf16PairsOverwrite, MatchesF64LoopNestFromZero) {
  auto [path, m, n, k, transposedPairs, stridedC] = GetParam();
  if (!attn_uk_force_bf16_path(path))
    GTEST_SKIP() << "this machine cannot run the " << path
                 << " bf16 path (no AMX-BF16, or the OS refuses the tile state)";
  std::mt19937 gen(unsigned(m * 131 + n * 7 + k + 3));
  Bf16Matrix a(m, k, false, gen), pairs(k / 2, 2 * n, transposedPairs, gen);
  int64_t crs, ccs;
  std::vector<float> c = makeC(m, n, stridedC, crs, ccs, gen);
  std::vector<float> start = poisonView(c, m, n, crs, ccs);
  attn_uk_matmul_bf16_pairs_overwrite(m, n, k, a.data.data(), a.rs, a.cs,
                                      pairs.data.data(), pairs.rs, pairs.cs,
                                      c.data(), crs, ccs);
  expectProduct(
      path, m, n, k, a,
      [&](int64_t p, int64_t j) { return pairs.at(p / 2, 2 * j + p % 2); },
      start, c, crs, ccs);
}

std::string pairsCaseName(const ::testing::TestParamInfo<PairsCase> &info) {
  const auto &[path, m, n, k, tp, sc] = info.param;
  return std::string(path) + "_" + std::to_string(m) + "x" + std::to_string(n) +
         "x" + std::to_string(k) + (tp ? "_Pt" : "") + (sc ? "_Cs" : "");
}

// Rows: one, fewer than a tile (5), one tile (16), a block and a tile (48),
// a partial bottom half (31), ViT's 197 (6 blocks and 5 rows); columns the
// same around 16 and 32; k a multiple of 32 or not (34: unpacked first).
INSTANTIATE_TEST_SUITE_P(
    Shapes, UkernelBf16Pairs,
    ::testing::Combine(::testing::Values("amx", "avx512bf16", "widen"),
                       ::testing::Values(1, 5, 16, 31, 32, 48, 197),
                       ::testing::Values(1, 17, 48, 64, 100),
                       ::testing::Values(2, 34, 64, 768),
                       ::testing::Bool(), ::testing::Bool()),
    pairsCaseName);

INSTANTIATE_TEST_SUITE_P(
    Shapes, UkernelBf16PairsOverwrite,
    ::testing::Combine(::testing::Values("amx", "avx512bf16", "widen"),
                       ::testing::Values(1, 5, 31, 48, 197),
                       ::testing::Values(1, 17, 64, 100),
                       ::testing::Values(2, 34, 768), ::testing::Bool(),
                       ::testing::Bool()),
    pairsCaseName);

std::string caseName(const ::testing::TestParamInfo<Case> &info) {
  const auto &[path, m, n, k, ta, tb, sc] = info.param;
  return std::string(path) + "_" + std::to_string(m) + "x" + std::to_string(n) +
         "x" + std::to_string(k) + (ta ? "_At" : "") + (tb ? "_Bt" : "") +
         (sc ? "_Cs" : "");
}

// Shapes around the AMX blocking: 16-row/column tiles, 32 x 32 C blocks
// (edge blocks with a partial or missing bottom half: 5, 20, 31, 48 rows),
// 32-step k blocks (k = 31/33: zero padding), a ViT-sized 197-row slice.
INSTANTIATE_TEST_SUITE_P(
    Shapes, UkernelBf16,
    ::testing::Combine(::testing::Values("amx", "avx512bf16", "widen"),
                       ::testing::Values(1, 5, 16, 20, 31, 32, 48, 197),
                       ::testing::Values(1, 17, 32, 64, 100),
                       ::testing::Values(1, 31, 33, 256),
                       ::testing::Bool(), ::testing::Bool(),
                       ::testing::Values(false)),
    caseName);

INSTANTIATE_TEST_SUITE_P(
    Shapes, UkernelBf16Overwrite,
    ::testing::Combine(::testing::Values("amx", "avx512bf16", "widen"),
                       ::testing::Values(1, 20, 197),
                       ::testing::Values(1, 17, 64, 100),
                       ::testing::Values(1, 33, 256), ::testing::Bool(),
                       ::testing::Bool(), ::testing::Bool()),
    caseName);

// A C with column stride 2 (no direct tile stores) and transposed inputs.
INSTANTIATE_TEST_SUITE_P(
    StridedC, UkernelBf16,
    ::testing::Combine(::testing::Values("amx", "avx512bf16", "widen"),
                       ::testing::Values(32, 45), ::testing::Values(32, 40),
                       ::testing::Values(64), ::testing::Values(true),
                       ::testing::Values(true), ::testing::Values(true)),
    caseName);

TEST(UkernelBf16Path, UnknownNameIsRefused) {
  EXPECT_EQ(attn_uk_force_bf16_path("avx9000"), 0);
}

} // namespace
