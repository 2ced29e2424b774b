//===- ParserCrashes.h - inputs that crash MLIR 22's parser ----*- C++ -*-===//
//
// Textual checks for the inputs on which MLIR 22's own parser crashes
// instead of reporting an error (upstream mlir-opt crashes on them too). The
// tools run them before parsing and report a located error instead; the
// crash guard (CrashGuard.h) covers what no check anticipates.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SUPPORT_PARSERCRASHES_H
#define ATTN_SUPPORT_PARSERCRASHES_H

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace attn {

/// A spot in the input that MLIR's parser would crash on.
struct ParserCrashSite {
  size_t offset;
  std::string message;
};

/// The custom parsers of `linalg.broadcast`, `linalg.transpose` and
/// `linalg.reduce` store a null attribute, and then dereference it, when the
/// text after `dimensions =` / `permutation =` is not a bracketed list of
/// 64-bit integers (`dimensions = [1`, `permutation = [0, x]`). Returns the
/// first such list in the custom form of those ops, if any. Strings and `//`
/// comments are skipped; the generic form (`"linalg.transpose"(...)`,
/// attributes as `array<i64: ...>`) is not affected and not looked at.
std::optional<ParserCrashSite>
findMalformedLinalgDimensionList(std::string_view text);

} // namespace attn

#endif // ATTN_SUPPORT_PARSERCRASHES_H
