//===- ParseUtils.h - helpers shared by the pattern parsers -----*- C++ -*-===//
//
// Character classes and error helpers used by both the einops and the einsum
// parser, so their diagnostics read alike.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_SUPPORT_PARSEUTILS_H
#define ATTN_LIB_SUPPORT_PARSEUTILS_H

#include "attn/Support/Einops.h" // PatternError

#include <cctype>
#include <optional>
#include <string>

namespace attn::detail {

/// Letters, digits and `_`: the characters of an identifier after the first.
inline bool isIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

/// Quotes a character for a message, escaping unprintable bytes as `\xNN`.
inline std::string quoteChar(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (std::isprint(u))
    return std::string("'") + c + "'";
  static const char *hex = "0123456789abcdef";
  return std::string("'\\x") + hex[u >> 4] + hex[u & 15] + "'";
}

/// Records an error that concerns the whole pattern rather than a column.
inline std::nullopt_t failNoColumn(PatternError &error, std::string message) {
  error.hasColumn = false;
  error.column = 0;
  error.message = std::move(message);
  return std::nullopt;
}

} // namespace attn::detail

#endif // ATTN_LIB_SUPPORT_PARSEUTILS_H
