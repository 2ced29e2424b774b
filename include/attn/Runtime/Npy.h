//===- Npy.h - NumPy .npy array files ---------------------------*- C++ -*-===//
//
// Reads and writes NumPy .npy files (format versions 1.0 and 2.0, C order,
// little-endian) in plain C++ so that the runtime needs neither LLVM nor MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_NPY_H
#define ATTN_RUNTIME_NPY_H

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

namespace attn::runtime {

/// Element types the runtime moves around. BF16 has no NumPy spelling: it is
/// written to .npy as f32 (exactly representable) and read from f32 files by
/// rounding.
enum class DType { F16, BF16, F32, F64, Bool, I64 };

/// Size in bytes of one element of `type` in memory (Bool is one byte, as
/// NumPy and MLIR's i1 memrefs store it).
size_t getDTypeSize(DType type);

/// A short name for messages: "f16", "bf16", "f32", "f64", "i1", "i64".
const char *getDTypeName(DType type);

/// Allocates on 64-byte (cache-line, AVX-512 vector) boundaries. Compiled
/// kernels load whole vectors from their arguments: with malloc's 16-byte
/// alignment every 64-byte load straddles two cache lines, which costs a
/// contraction reading its operands in place about a third of its speed.
template <typename T>
struct CacheAlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  CacheAlignedAllocator() = default;
  template <typename U>
  CacheAlignedAllocator(const CacheAlignedAllocator<U> &) {}
  T *allocate(size_t n) {
    return static_cast<T *>(::operator new(n * sizeof(T), kAlignment));
  }
  void deallocate(T *p, size_t) { ::operator delete(p, kAlignment); }
  bool operator==(const CacheAlignedAllocator &) const { return true; }
  bool operator!=(const CacheAlignedAllocator &) const { return false; }
};

/// A dense, C-ordered array with its bytes in host (little-endian) order.
struct NpyArray {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t, CacheAlignedAllocator<uint8_t>> data;

  /// The number of elements (1 for a 0-d array).
  int64_t getNumElements() const;
  /// Element `i` converted to double.
  double getAsDouble(int64_t i) const;
  /// Stores `value` into element `i`, rounding to the element type.
  void setFromDouble(int64_t i, double value);
  /// Allocates zeroed storage for `shape`.
  static NpyArray zeros(DType type, const std::vector<int64_t> &shape);
};

/// Reads `path`. On failure returns false and sets `error` to a message that
/// names the file and says what was wrong (unreadable, truncated, bad magic,
/// unsupported dtype, Fortran order, ...).
bool readNpy(const std::string &path, NpyArray &array, std::string &error);

/// Writes `array` to `path` (format 1.0; BF16 is written as f32). On failure
/// returns false and sets `error`.
bool writeNpy(const std::string &path, const NpyArray &array,
              std::string &error);

/// IEEE half and bfloat16 conversions, round-to-nearest-even.
float halfToFloat(uint16_t bits);
uint16_t floatToHalf(float value);
float bf16ToFloat(uint16_t bits);
uint16_t floatToBF16(float value);

} // namespace attn::runtime

#endif // ATTN_RUNTIME_NPY_H
