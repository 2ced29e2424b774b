//===- Nesting.h - bound the nesting depth of textual IR --------*- C++ -*-===//
//
// MLIR's parser is recursive descent: a file nested a few thousand levels deep
// (regions, arrays, types) overflows the stack instead of failing cleanly. The
// tools scan their input with this first and reject such files with a located
// error.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SUPPORT_NESTING_H
#define ATTN_SUPPORT_NESTING_H

#include <cstddef>
#include <optional>
#include <string_view>

namespace attn {

/// The deepest nesting the tools accept; real attention graphs nest a few
/// dozen levels at most.
inline constexpr size_t kMaxNestingDepth = 512;

/// Returns the byte offset of the first `{`, `[`, `(` or `<` that opens a
/// level deeper than `maxDepth`, or std::nullopt if there is none. Brackets
/// inside string literals and `//` comments do not count; `->` is not a
/// closing `>`.
std::optional<size_t> findExcessiveNesting(std::string_view text,
                                           size_t maxDepth = kMaxNestingDepth);

} // namespace attn

#endif // ATTN_SUPPORT_NESTING_H
