//===- StridedMatrix.h - strided test matrices for the micro-kernels ------===//

#ifndef ATTN_UNITTESTS_RUNTIME_STRIDEDMATRIX_H
#define ATTN_UNITTESTS_RUNTIME_STRIDEDMATRIX_H

#include <cstdint>
#include <random>
#include <vector>

namespace attn_test {

/// A rows x cols matrix of T in a buffer with padding between rows (and
/// after the last), or stored column-major (transposed) when `transposed`,
/// filled with `make(u)` of uniform u in [-1, 1] (the padding too, so that
/// a kernel writing outside the matrix is caught).
template <typename T> struct StridedMatrix {
  std::vector<T> data;
  int64_t rows, cols, rs, cs;
  template <typename Make>
  StridedMatrix(int64_t rows, int64_t cols, bool transposed, std::mt19937 &gen,
                Make make)
      : rows(rows), cols(cols) {
    int64_t pad = 3;
    rs = transposed ? 1 : cols + pad;
    cs = transposed ? rows + pad : 1;
    data.resize((transposed ? cols * cs : rows * rs) + pad);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (T &x : data)
      x = make(dist(gen));
  }
  T &at(int64_t i, int64_t j) { return data[i * rs + j * cs]; }
  const T &at(int64_t i, int64_t j) const { return data[i * rs + j * cs]; }
};

} // namespace attn_test

#endif // ATTN_UNITTESTS_RUNTIME_STRIDEDMATRIX_H
