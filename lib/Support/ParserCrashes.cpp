//===- ParserCrashes.cpp - inputs that crash MLIR 22's parser -------------===//
//
// A linear scan for the custom forms of linalg.broadcast/transpose/reduce
// and the integer lists after their `dimensions =` / `permutation =`.
//
//===----------------------------------------------------------------------===//

#include "attn/Support/ParserCrashes.h"

#include <cctype>
#include <cstdint>

using namespace attn;

namespace {

bool isWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
         c == '$';
}

bool startsWordAt(std::string_view text, size_t i, std::string_view word) {
  if (text.substr(i, word.size()) != word)
    return false;
  if (i > 0 && (isWordChar(text[i - 1]) || text[i - 1] == '"'))
    return false;
  size_t end = i + word.size();
  return end >= text.size() || !isWordChar(text[end]);
}

/// Skips whitespace and `//` comments from `i`.
size_t skipSpace(std::string_view text, size_t i) {
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    } else if (text.substr(i, 2) == "//") {
      while (i < text.size() && text[i] != '\n')
        ++i;
    } else {
      break;
    }
  }
  return i;
}

/// True if `text[i...]` is `[` (int64 (`,` int64)*)? `]`, the only thing
/// DenseI64ArrayAttr::parse accepts there; integers are decimal or hex with
/// an optional minus sign.
bool isIntegerList(std::string_view text, size_t i) {
  if (i >= text.size() || text[i] != '[')
    return false;
  i = skipSpace(text, i + 1);
  if (i < text.size() && text[i] == ']')
    return true;
  for (;;) {
    bool negative = i < text.size() && text[i] == '-';
    if (negative)
      i = skipSpace(text, i + 1);
    bool hex = text.substr(i, 2) == "0x" || text.substr(i, 2) == "0X";
    if (hex)
      i += 2;
    size_t start = i;
    uint64_t value = 0;
    bool overflow = false;
    while (i < text.size() &&
           (hex ? std::isxdigit(static_cast<unsigned char>(text[i]))
                : std::isdigit(static_cast<unsigned char>(text[i])))) {
      unsigned digit = std::isdigit(static_cast<unsigned char>(text[i]))
                           ? unsigned(text[i] - '0')
                           : unsigned(std::tolower(text[i]) - 'a' + 10);
      uint64_t next = value * (hex ? 16 : 10) + digit;
      overflow |= next / (hex ? 16 : 10) != value || next > (uint64_t(1) << 63);
      value = next;
      ++i;
    }
    if (i == start || overflow ||
        (!negative && value == (uint64_t(1) << 63)))
      return false;
    if (i < text.size() && isWordChar(text[i]))
      return false; // `1x`, `1.5`
    i = skipSpace(text, i);
    if (i < text.size() && text[i] == ']')
      return true;
    if (i >= text.size() || text[i] != ',')
      return false;
    i = skipSpace(text, i + 1);
  }
}

} // namespace

std::optional<ParserCrashSite>
attn::findMalformedLinalgDimensionList(std::string_view text) {
  static constexpr std::string_view ops[] = {
      "linalg.broadcast", "linalg.transpose", "linalg.reduce"};
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (c == '"') {
      for (++i; i < e && text[i] != '"' && text[i] != '\n'; ++i)
        if (text[i] == '\\')
          ++i;
      continue;
    }
    if (text.substr(i, 2) == "//") {
      while (i < e && text[i] != '\n')
        ++i;
      continue;
    }
    std::string_view op;
    for (std::string_view candidate : ops)
      if (startsWordAt(text, i, candidate))
        op = candidate;
    if (op.empty())
      continue;
    // The keyword belongs to this op if it comes before anything that ends
    // the op's custom form outside brackets: a region, the next op's `=`.
    // (Its ins(...) and outs(...) may span lines.)
    size_t depth = 0;
    size_t j = skipSpace(text, i + op.size());
    if (op == "linalg.reduce" && j < e && text[j] == '{') {
      // The payload op `{ arith.addf }` of the short form.
      while (j < e && text[j] != '}' && text[j] != '\n')
        ++j;
      ++j;
    }
    for (; j < e; ++j) {
      char d = text[j];
      if (d == '"') {
        for (++j; j < e && text[j] != '"' && text[j] != '\n'; ++j)
          if (text[j] == '\\')
            ++j;
        continue;
      }
      if (text.substr(j, 2) == "//") {
        while (j + 1 < e && text[j + 1] != '\n')
          ++j;
        continue;
      }
      if (d == '(' || d == '[' || d == '<')
        ++depth;
      else if ((d == ')' || d == ']' || (d == '>' && text[j - 1] != '-')) &&
               depth > 0)
        --depth;
      else if ((d == '=' || d == '{' || d == '}') && depth == 0)
        break;
      std::string_view keyword;
      if (startsWordAt(text, j, "dimensions"))
        keyword = "dimensions";
      else if (startsWordAt(text, j, "permutation"))
        keyword = "permutation";
      if (keyword.empty() || depth != 0)
        continue;
      size_t eq = skipSpace(text, j + keyword.size());
      if (eq >= e || text[eq] != '=')
        break; // the parser reports a missing `=` itself
      size_t list = skipSpace(text, eq + 1);
      if (!isIntegerList(text, list))
        return ParserCrashSite{
            list, "expected a list of integers such as [0, 1] after '" +
                      std::string(keyword) + " =' of '" + std::string(op) +
                      "' (MLIR 22's parser would crash on this)"};
      break;
    }
  }
  return std::nullopt;
}
