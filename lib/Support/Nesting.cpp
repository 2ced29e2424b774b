//===- Nesting.cpp - bound the nesting depth of textual IR ----------------===//
//
// A linear scan that tracks bracket depth, skipping strings and comments.
//
//===----------------------------------------------------------------------===//

#include "attn/Support/Nesting.h"

std::optional<size_t> attn::findExcessiveNesting(std::string_view text,
                                                 size_t maxDepth) {
  size_t depth = 0;
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (c == '"') {
      // Skip a string literal, honouring backslash escapes.
      for (++i; i < e && text[i] != '"'; ++i)
        if (text[i] == '\\')
          ++i;
      continue;
    }
    if (c == '/' && i + 1 < e && text[i + 1] == '/') {
      while (i < e && text[i] != '\n')
        ++i;
      continue;
    }
    switch (c) {
    case '{':
    case '[':
    case '(':
    case '<':
      if (++depth > maxDepth)
        return i;
      break;
    case '>':
      // `->` is an arrow, not a closing angle bracket.
      if (i > 0 && text[i - 1] == '-')
        break;
      [[fallthrough]];
    case '}':
    case ']':
    case ')':
      // Unbalanced closers (and comparisons such as `>=` in integer sets)
      // only make the count smaller, never reject a file wrongly.
      if (depth > 0)
        --depth;
      break;
    default:
      break;
    }
  }
  return std::nullopt;
}
