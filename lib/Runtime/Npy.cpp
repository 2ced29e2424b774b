//===- Npy.cpp - NumPy .npy array files -----------------------------------===//
//
// Implements .npy reading and writing without LLVM so the runtime library
// stays dependency-free; the header dictionary is parsed by hand because it
// is a tiny, fixed subset of Python literal syntax.
//
//===----------------------------------------------------------------------===//

#include "attn/Runtime/Npy.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

using namespace attn::runtime;

size_t attn::runtime::getDTypeSize(DType type) {
  switch (type) {
  case DType::F16:
  case DType::BF16:
    return 2;
  case DType::F32:
    return 4;
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::Bool:
    return 1;
  }
  return 1;
}

const char *attn::runtime::getDTypeName(DType type) {
  switch (type) {
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::F32:
    return "f32";
  case DType::F64:
    return "f64";
  case DType::Bool:
    return "i1";
  case DType::I64:
    return "i64";
  }
  return "?";
}

float attn::runtime::halfToFloat(uint16_t bits) {
  uint32_t sign = uint32_t(bits & 0x8000) << 16;
  uint32_t exponent = (bits >> 10) & 0x1f;
  uint32_t mantissa = bits & 0x3ff;
  uint32_t result;
  if (exponent == 0) {
    if (mantissa == 0) {
      result = sign;
    } else {
      // Subnormal half: renormalise into a normal float.
      int shift = 0;
      while (!(mantissa & 0x400)) {
        mantissa <<= 1;
        ++shift;
      }
      mantissa &= 0x3ff;
      result = sign | uint32_t(127 - 15 + 1 - shift) << 23 | mantissa << 13;
    }
  } else if (exponent == 0x1f) {
    result = sign | 0x7f800000u | mantissa << 13;
  } else {
    result = sign | (exponent + 127 - 15) << 23 | mantissa << 13;
  }
  float value;
  std::memcpy(&value, &result, 4);
  return value;
}

uint16_t attn::runtime::floatToHalf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  uint16_t sign = (bits >> 16) & 0x8000;
  uint32_t absBits = bits & 0x7fffffff;
  if (absBits > 0x7f800000)
    return sign | 0x7e00; // NaN
  if (absBits >= 0x477ff000)
    return sign | 0x7c00; // overflows to infinity after rounding
  if (absBits < 0x38800000) {
    // Result is subnormal or zero: scale so rounding happens at the half's
    // subnormal quantum (2^-24), using the FPU's round-to-nearest-even.
    float scaled = std::fabs(value) * 16777216.0f; // 2^24
    return sign | uint16_t(std::nearbyint(scaled));
  }
  uint32_t mantissa = absBits & 0x7fffff;
  uint32_t exponent = (absBits >> 23) - 127 + 15;
  uint32_t half = exponent << 10 | mantissa >> 13;
  uint32_t rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
    ++half; // a carry into the exponent is the correct rounding
  return sign | uint16_t(half);
}

float attn::runtime::bf16ToFloat(uint16_t bits) {
  uint32_t wide = uint32_t(bits) << 16;
  float value;
  std::memcpy(&value, &wide, 4);
  return value;
}

uint16_t attn::runtime::floatToBF16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if ((bits & 0x7fffffff) > 0x7f800000)
    return uint16_t(bits >> 16) | 0x40;
  uint32_t rounding = 0x7fff + ((bits >> 16) & 1);
  return uint16_t((bits + rounding) >> 16);
}

int64_t NpyArray::getNumElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

double NpyArray::getAsDouble(int64_t i) const {
  const uint8_t *p = data.data() + i * getDTypeSize(dtype);
  switch (dtype) {
  case DType::F16: {
    uint16_t bits;
    std::memcpy(&bits, p, 2);
    return halfToFloat(bits);
  }
  case DType::BF16: {
    uint16_t bits;
    std::memcpy(&bits, p, 2);
    return bf16ToFloat(bits);
  }
  case DType::F32: {
    float value;
    std::memcpy(&value, p, 4);
    return value;
  }
  case DType::F64: {
    double value;
    std::memcpy(&value, p, 8);
    return value;
  }
  case DType::I64: {
    int64_t value;
    std::memcpy(&value, p, 8);
    return double(value);
  }
  case DType::Bool:
    return *p ? 1.0 : 0.0;
  }
  return 0.0;
}

void NpyArray::setFromDouble(int64_t i, double value) {
  uint8_t *p = data.data() + i * getDTypeSize(dtype);
  switch (dtype) {
  case DType::F16: {
    uint16_t bits = floatToHalf(float(value));
    std::memcpy(p, &bits, 2);
    return;
  }
  case DType::BF16: {
    uint16_t bits = floatToBF16(float(value));
    std::memcpy(p, &bits, 2);
    return;
  }
  case DType::F32: {
    float narrow = float(value);
    std::memcpy(p, &narrow, 4);
    return;
  }
  case DType::F64:
    std::memcpy(p, &value, 8);
    return;
  case DType::I64: {
    int64_t integer = int64_t(value);
    std::memcpy(p, &integer, 8);
    return;
  }
  case DType::Bool:
    *p = value != 0.0;
    return;
  }
}

NpyArray NpyArray::zeros(DType type, const std::vector<int64_t> &shape) {
  NpyArray array;
  array.dtype = type;
  array.shape = shape;
  array.data.assign(size_t(array.getNumElements()) * getDTypeSize(type), 0);
  return array;
}

namespace {
struct FileCloser {
  void operator()(FILE *file) const { std::fclose(file); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

/// A cursor over the header dictionary text.
struct HeaderParser {
  const std::string &text;
  size_t pos = 0;

  void skipSpace() {
    while (pos < text.size() && std::isspace((unsigned char)text[pos]))
      ++pos;
  }
  bool consume(char c) {
    skipSpace();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  bool parseString(std::string &out) {
    skipSpace();
    if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
      return false;
    char quote = text[pos++];
    size_t end = text.find(quote, pos);
    if (end == std::string::npos)
      return false;
    out = text.substr(pos, end - pos);
    pos = end + 1;
    return true;
  }
  bool parseWord(std::string &out) {
    skipSpace();
    size_t start = pos;
    while (pos < text.size() && std::isalnum((unsigned char)text[pos]))
      ++pos;
    out = text.substr(start, pos - start);
    return !out.empty();
  }
  bool parseShape(std::vector<int64_t> &shape) {
    if (!consume('('))
      return false;
    while (!consume(')')) {
      skipSpace();
      size_t start = pos;
      while (pos < text.size() && std::isdigit((unsigned char)text[pos]))
        ++pos;
      if (start == pos || pos - start > 15)
        return false;
      shape.push_back(std::stoll(text.substr(start, pos - start)));
      if (!consume(',')) {
        if (!consume(')'))
          return false;
        break;
      }
    }
    return true;
  }
};

bool parseDescr(const std::string &descr, DType &type) {
  if (descr.size() < 3)
    return false;
  char order = descr[0];
  std::string code = descr.substr(1);
  // Multi-byte types must be little-endian ('<', or '=' on our little-endian
  // hosts); single-byte types use '|'.
  bool little = order == '<' || order == '=';
  if (code == "b1" && (order == '|' || little)) {
    type = DType::Bool;
    return true;
  }
  if (!little)
    return false;
  if (code == "f2")
    type = DType::F16;
  else if (code == "f4")
    type = DType::F32;
  else if (code == "f8")
    type = DType::F64;
  else if (code == "i8")
    type = DType::I64;
  else
    return false;
  return true;
}
} // namespace

bool attn::runtime::readNpy(const std::string &path, NpyArray &array,
                            std::string &error) {
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  unsigned char preamble[10];
  if (std::fread(preamble, 1, 8, file.get()) != 8 ||
      std::memcmp(preamble, "\x93NUMPY", 6) != 0) {
    error = "'" + path + "' is not a .npy file (bad magic string)";
    return false;
  }
  int major = preamble[6];
  uint32_t headerLength;
  if (major == 1) {
    unsigned char len[2];
    if (std::fread(len, 1, 2, file.get()) != 2) {
      error = "'" + path + "' is truncated in its header";
      return false;
    }
    headerLength = len[0] | uint32_t(len[1]) << 8;
  } else if (major == 2 || major == 3) {
    unsigned char len[4];
    if (std::fread(len, 1, 4, file.get()) != 4) {
      error = "'" + path + "' is truncated in its header";
      return false;
    }
    headerLength = len[0] | uint32_t(len[1]) << 8 | uint32_t(len[2]) << 16 |
                   uint32_t(len[3]) << 24;
  } else {
    error = "'" + path + "' has unsupported .npy format version " +
            std::to_string(major);
    return false;
  }
  if (headerLength > (1u << 20)) {
    error = "'" + path + "' has an implausibly large header";
    return false;
  }
  std::string header(headerLength, '\0');
  if (std::fread(header.data(), 1, headerLength, file.get()) != headerLength) {
    error = "'" + path + "' is truncated in its header";
    return false;
  }

  HeaderParser parser{header};
  std::string descr;
  bool haveDescr = false, haveOrder = false, haveShape = false;
  bool fortran = false;
  std::vector<int64_t> shape;
  if (!parser.consume('{')) {
    error = "'" + path + "' has a malformed header";
    return false;
  }
  while (!parser.consume('}')) {
    std::string key;
    if (!parser.parseString(key) || !parser.consume(':')) {
      error = "'" + path + "' has a malformed header";
      return false;
    }
    bool ok = true;
    if (key == "descr") {
      ok = parser.parseString(descr);
      haveDescr = ok;
    } else if (key == "fortran_order") {
      std::string word;
      ok = parser.parseWord(word) && (word == "True" || word == "False");
      fortran = word == "True";
      haveOrder = ok;
    } else if (key == "shape") {
      ok = parser.parseShape(shape);
      haveShape = ok;
    } else {
      ok = false;
    }
    if (!ok) {
      error = "'" + path + "' has a malformed header (key '" + key + "')";
      return false;
    }
    if (!parser.consume(',')) {
      if (!parser.consume('}')) {
        error = "'" + path + "' has a malformed header";
        return false;
      }
      break;
    }
  }
  if (!haveDescr || !haveOrder || !haveShape) {
    error = "'" + path + "' has a header without descr, fortran_order or shape";
    return false;
  }
  if (fortran) {
    error = "'" + path + "' is in Fortran order; only C order is supported";
    return false;
  }
  DType type;
  if (!parseDescr(descr, type)) {
    error = "'" + path + "' has unsupported dtype '" + descr +
            "' (supported: little-endian f2, f4, f8, i8, b1)";
    return false;
  }

  array.dtype = type;
  array.shape = shape;
  // Guard the byte count against overflow from absurd shapes.
  uint64_t count = 1;
  for (int64_t dim : shape) {
    if (dim != 0 && count > (uint64_t(1) << 40) / uint64_t(dim)) {
      error = "'" + path + "' has an implausibly large shape";
      return false;
    }
    count *= uint64_t(dim);
  }
  size_t bytes = size_t(count) * getDTypeSize(type);
  array.data.assign(bytes, 0);
  if (std::fread(array.data.data(), 1, bytes, file.get()) != bytes) {
    error = "'" + path + "' is truncated: expected " + std::to_string(bytes) +
            " bytes of data";
    return false;
  }
  return true;
}

bool attn::runtime::writeNpy(const std::string &path, const NpyArray &array,
                             std::string &error) {
  // bf16 has no NumPy dtype: widen to f32, which represents it exactly.
  const NpyArray *source = &array;
  NpyArray widened;
  if (array.dtype == DType::BF16) {
    widened = NpyArray::zeros(DType::F32, array.shape);
    for (int64_t i = 0, e = array.getNumElements(); i < e; ++i)
      widened.setFromDouble(i, array.getAsDouble(i));
    source = &widened;
  }
  const char *descr = "<f4";
  switch (source->dtype) {
  case DType::F16:
    descr = "<f2";
    break;
  case DType::F64:
    descr = "<f8";
    break;
  case DType::I64:
    descr = "<i8";
    break;
  case DType::Bool:
    descr = "|b1";
    break;
  default:
    break;
  }
  // Python tuple syntax: "()", "(n,)", "(a, b)".
  std::string shape = "(";
  for (size_t i = 0; i < source->shape.size(); ++i)
    shape += (i ? ", " : "") + std::to_string(source->shape[i]);
  shape += source->shape.size() == 1 ? ",)" : ")";
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so the data starts on a 64-byte boundary, then '\n'.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';

  FilePtr file(std::fopen(path.c_str(), "wb"));
  if (!file) {
    error = "cannot write '" + path + "': " + std::strerror(errno);
    return false;
  }
  unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                (unsigned char)(header.size() & 0xff),
                                (unsigned char)(header.size() >> 8)};
  bool ok = std::fwrite(preamble, 1, 10, file.get()) == 10 &&
            std::fwrite(header.data(), 1, header.size(), file.get()) ==
                header.size() &&
            std::fwrite(source->data.data(), 1, source->data.size(),
                        file.get()) == source->data.size();
  if (!ok) {
    error = "error writing '" + path + "'";
    return false;
  }
  return true;
}
