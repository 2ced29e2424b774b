//===- Einsum.cpp - einsum equation parser and solver ---------------------===//
//
// Implements torch.einsum equation semantics in the compact (one letter per
// label) and the spaced (one word per label) spelling.
//
//===----------------------------------------------------------------------===//

#include "attn/Support/Einsum.h"

#include "ParseUtils.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

using namespace attn;
using namespace attn::detail;

namespace {

bool isSpace(char c) { return std::isspace(static_cast<unsigned char>(c)); }
bool isLetter(char c) { return std::isalpha(static_cast<unsigned char>(c)); }

std::nullopt_t fail(PatternError &error, size_t column, std::string message) {
  error.hasColumn = true;
  error.column = column;
  error.message = std::move(message);
  return std::nullopt;
}

/// A term of the equation as written: its text and where it starts.
struct TermText {
  std::string_view text;
  size_t offset;
};

/// True if the term has whitespace between two non-space characters, which
/// selects the spaced spelling.
bool hasInnerSpace(std::string_view text) {
  size_t first = 0, last = text.size();
  while (first < last && isSpace(text[first]))
    ++first;
  while (last > first && isSpace(text[last - 1]))
    --last;
  for (size_t i = first; i < last; ++i)
    if (isSpace(text[i]))
      return true;
  return false;
}

struct Label {
  std::string name;
  size_t column;
};

/// Splits one term into labels. `what` names the term in messages.
std::optional<std::vector<Label>> tokenizeTerm(const TermText &term,
                                               bool spaced,
                                               const std::string &what,
                                               PatternError &error) {
  std::vector<Label> labels;
  bool sawEllipsis = false;
  std::string_view text = term.text;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    size_t column = term.offset + i;
    if (isSpace(c)) {
      ++i;
      continue;
    }
    if (c == '.') {
      if (text.substr(i, 3) != "...")
        return fail(error, column,
                    "'.' may only appear as part of an ellipsis '...'");
      if (sawEllipsis)
        return fail(error, column, "more than one ellipsis in " + what);
      sawEllipsis = true;
      labels.push_back({kEinsumEllipsis, column});
      i += 3;
      continue;
    }
    if (!spaced) {
      if (!isLetter(c))
        return fail(error, column,
                    "invalid character " + quoteChar(c) +
                        " in equation: labels must be letters [a-zA-Z]");
      labels.push_back({std::string(1, c), column});
      ++i;
      continue;
    }
    if (!isIdentifierChar(c))
      return fail(error, column, "invalid character " + quoteChar(c) +
                                     " in equation");
    size_t start = i;
    while (i < text.size() && isIdentifierChar(text[i]))
      ++i;
    std::string word(text.substr(start, i - start));
    if (!isLetter(word[0]) && word[0] != '_')
      return fail(error, column,
                  "invalid label '" + word +
                      "': labels must be identifiers [A-Za-z_][A-Za-z0-9_]*");
    labels.push_back({std::move(word), column});
  }
  return labels;
}

std::string termToString(const std::vector<std::string> &term, bool spaced) {
  std::string result;
  for (size_t i = 0; i < term.size(); ++i) {
    if (spaced && i)
      result += ' ';
    result += term[i];
  }
  return result;
}

bool isEllipsis(const std::string &label) { return label == kEinsumEllipsis; }

} // namespace

std::optional<EinsumEquation> attn::parseEinsum(std::string_view equation,
                                                PatternError &error,
                                                EinsumSpelling spelling) {
  size_t arrow = equation.find("->");
  if (arrow != std::string_view::npos) {
    size_t second = equation.find("->", arrow + 2);
    if (second != std::string_view::npos)
      return fail(error, second, "'->' appears more than once in the equation");
  }
  std::string_view lhs = equation.substr(0, arrow);

  std::vector<TermText> inputTerms;
  size_t start = 0;
  for (size_t i = 0; i <= lhs.size(); ++i) {
    if (i == lhs.size() || lhs[i] == ',') {
      inputTerms.push_back({lhs.substr(start, i - start), start});
      start = i + 1;
    }
  }
  std::optional<TermText> outputTerm;
  if (arrow != std::string_view::npos) {
    outputTerm = TermText{equation.substr(arrow + 2), arrow + 2};
    size_t comma = outputTerm->text.find(',');
    if (comma != std::string_view::npos)
      return fail(error, outputTerm->offset + comma,
                  "the output of an einsum must be a single term");
  }

  EinsumEquation result;
  for (const TermText &term : inputTerms)
    result.spaced |= hasInnerSpace(term.text);
  if (outputTerm)
    result.spaced |= hasInnerSpace(outputTerm->text);
  if (spelling != EinsumSpelling::Auto)
    result.spaced = spelling == EinsumSpelling::Spaced;

  bool inputHasEllipsis = false;
  std::map<std::string, int> labelCount;
  for (size_t t = 0; t < inputTerms.size(); ++t) {
    std::string what = "the term of operand " + std::to_string(t);
    auto labels = tokenizeTerm(inputTerms[t], result.spaced, what, error);
    if (!labels)
      return std::nullopt;
    // An empty term is a 0-d operand, as in torch and numpy (",ij->ij").
    std::vector<std::string> term;
    for (Label &label : *labels) {
      if (isEllipsis(label.name))
        inputHasEllipsis = true;
      else
        ++labelCount[label.name];
      term.push_back(std::move(label.name));
    }
    result.inputs.push_back(std::move(term));
  }

  if (!outputTerm) {
    // torch/numpy implicit output: broadcast dims, then the labels seen once
    // in alphabetical (ASCII, so upper case first) order.
    result.explicitOutput = false;
    if (inputHasEllipsis)
      result.output.push_back(kEinsumEllipsis);
    for (const auto &entry : labelCount)
      if (entry.second == 1)
        result.output.push_back(entry.first);
    return result;
  }

  auto labels =
      tokenizeTerm(*outputTerm, result.spaced, "the output term", error);
  if (!labels)
    return std::nullopt;
  std::set<std::string> seen;
  for (Label &label : *labels) {
    if (isEllipsis(label.name)) {
      if (!inputHasEllipsis)
        return fail(error, label.column,
                    "ellipsis in the output but in no input term");
    } else {
      if (!labelCount.count(label.name))
        return fail(error, label.column,
                    "output label '" + label.name +
                        "' does not appear in any input term");
      if (!seen.insert(label.name).second)
        return fail(error, label.column,
                    "output label '" + label.name +
                        "' appears more than once in the output");
    }
    result.output.push_back(std::move(label.name));
  }
  return result;
}

std::vector<std::string> EinsumPlan::reductionLabels() const {
  std::set<std::string> kept(output.begin(), output.end());
  std::vector<std::string> result;
  for (const auto &term : inputs)
    for (const auto &label : term)
      if (!kept.count(label) &&
          std::find(result.begin(), result.end(), label) == result.end())
        result.push_back(label);
  return result;
}

std::optional<EinsumPlan>
attn::solveEinsum(const EinsumEquation &equation,
                  const std::vector<std::vector<int64_t>> &shapes,
                  PatternError &error) {
  size_t numInputs = equation.inputs.size();
  if (shapes.size() != numInputs)
    return failNoColumn(error, "einsum expects " + std::to_string(numInputs) +
                                   " operands but got " +
                                   std::to_string(shapes.size()));

  // First pass: rank checks and the broadcast ellipsis shape, aligned from
  // the right like numpy broadcasting.
  std::vector<size_t> ellipsisRanks(numInputs, 0);
  std::vector<int64_t> broadcast; // right-aligned: broadcast[0] is innermost
  std::vector<size_t> broadcastSource;
  for (size_t t = 0; t < numInputs; ++t) {
    const auto &term = equation.inputs[t];
    const auto &shape = shapes[t];
    for (int64_t size : shape)
      if (size < 0)
        return failNoColumn(error, "operand " + std::to_string(t) +
                                       " has a negative dimension size");
    size_t numEllipses = std::count_if(term.begin(), term.end(), isEllipsis);
    size_t numLabels = term.size() - numEllipses;
    std::string termText = termToString(term, equation.spaced);
    if (numEllipses == 0 && shape.size() != numLabels)
      return failNoColumn(error, "operand " + std::to_string(t) +
                                     " has rank " +
                                     std::to_string(shape.size()) +
                                     " but its term '" + termText +
                                     "' names " + std::to_string(numLabels) +
                                     " axes");
    if (numEllipses > 1)
      return failNoColumn(error, "more than one ellipsis in the term of "
                                 "operand " +
                                     std::to_string(t));
    if (numEllipses == 1 && shape.size() < numLabels)
      return failNoColumn(error, "operand " + std::to_string(t) +
                                     " has rank " +
                                     std::to_string(shape.size()) +
                                     " but its term '" + termText +
                                     "' names at least " +
                                     std::to_string(numLabels) + " axes");
    if (numEllipses == 0)
      continue;
    size_t rank = shape.size() - numLabels;
    ellipsisRanks[t] = rank;
    size_t ellipsisPos = std::find_if(term.begin(), term.end(), isEllipsis) -
                         term.begin();
    for (size_t k = 0; k < rank; ++k) {
      // k counts from the innermost ellipsis dim.
      int64_t size = shape[ellipsisPos + rank - 1 - k];
      if (k == broadcast.size()) {
        broadcast.push_back(size);
        broadcastSource.push_back(t);
        continue;
      }
      if (size == broadcast[k] || size == 1)
        continue;
      if (broadcast[k] != 1)
        return failNoColumn(
            error, "ellipsis dimensions of operand " + std::to_string(t) +
                       " do not broadcast: size " + std::to_string(size) +
                       " against size " + std::to_string(broadcast[k]) +
                       " in operand " + std::to_string(broadcastSource[k]));
      broadcast[k] = size;
      broadcastSource[k] = t;
    }
  }
  size_t broadcastRank = broadcast.size();
  auto ellipsisLabel = [](size_t k) { return "..." + std::to_string(k); };

  EinsumPlan plan;
  for (size_t k = 0; k < broadcastRank; ++k)
    plan.sizes[ellipsisLabel(k)] = broadcast[broadcastRank - 1 - k];

  std::map<std::string, size_t> sizeSource;
  for (size_t t = 0; t < numInputs; ++t) {
    const auto &term = equation.inputs[t];
    const auto &shape = shapes[t];
    std::vector<std::string> expanded;
    std::map<std::string, int64_t> sizesHere;
    size_t dim = 0;
    for (const std::string &label : term) {
      if (isEllipsis(label)) {
        // An operand with fewer ellipsis dims lines up with the innermost
        // broadcast dims.
        for (size_t k = broadcastRank - ellipsisRanks[t]; k < broadcastRank;
             ++k) {
          expanded.push_back(ellipsisLabel(k));
          ++dim;
        }
        continue;
      }
      int64_t size = shape[dim++];
      // A repeated label (a diagonal) needs one size within its operand.
      auto [here, first] = sizesHere.try_emplace(label, size);
      if (!first && here->second != size)
        return failNoColumn(error, "label '" + label +
                                       "' is repeated in operand " +
                                       std::to_string(t) + " with sizes " +
                                       std::to_string(here->second) + " and " +
                                       std::to_string(size));
      // Across operands a size of 1 broadcasts, as in torch and numpy.
      auto it = plan.sizes.find(label);
      if (it == plan.sizes.end() || (it->second == 1 && size != 1)) {
        plan.sizes[label] = size;
        sizeSource[label] = t;
      } else if (it->second != size && size != 1) {
        return failNoColumn(error, "label '" + label + "' is " +
                                       std::to_string(it->second) +
                                       " in operand " +
                                       std::to_string(sizeSource[label]) +
                                       " but " + std::to_string(size) +
                                       " in operand " + std::to_string(t));
      }
      expanded.push_back(label);
    }
    plan.inputs.push_back(std::move(expanded));
  }

  for (const std::string &label : equation.output) {
    if (isEllipsis(label)) {
      for (size_t k = 0; k < broadcastRank; ++k) {
        plan.output.push_back(ellipsisLabel(k));
        plan.outputShape.push_back(plan.sizes[ellipsisLabel(k)]);
      }
      continue;
    }
    auto it = plan.sizes.find(label);
    if (it == plan.sizes.end())
      return failNoColumn(error, "output label '" + label +
                                     "' does not appear in any input term");
    plan.output.push_back(label);
    plan.outputShape.push_back(it->second);
  }
  return plan;
}

std::optional<SolvedEinsum>
attn::parseAndSolveEinsum(std::string_view equation,
                          const std::vector<std::vector<int64_t>> &shapes,
                          PatternError &error) {
  bool hasSpace = std::any_of(equation.begin(), equation.end(), isSpace);
  std::optional<EinsumEquation> parsed = parseEinsum(equation, error);
  if (!parsed) {
    // A compact reading that does not even parse (`, first_tensor ->
    // first_tensor`: '_' is no letter) may still be einops' spelling.
    PatternError spacedError;
    if (!hasSpace)
      return std::nullopt;
    parsed = parseEinsum(equation, spacedError, EinsumSpelling::Spaced);
    if (!parsed)
      return std::nullopt;
    error = spacedError;
  }
  if (std::optional<EinsumPlan> plan = solveEinsum(*parsed, shapes, error))
    return SolvedEinsum{std::move(*parsed), std::move(*plan)};
  if (parsed->spaced || !hasSpace)
    return std::nullopt;
  PatternError spacedError;
  std::optional<EinsumEquation> spaced =
      parseEinsum(equation, spacedError, EinsumSpelling::Spaced);
  if (!spaced)
    return std::nullopt;
  if (std::optional<EinsumPlan> plan = solveEinsum(*spaced, shapes,
                                                   spacedError))
    return SolvedEinsum{std::move(*spaced), std::move(*plan)};
  return std::nullopt;
}

std::string attn::printEinsum(const EinsumEquation &equation) {
  bool compact = !equation.spaced;
  auto check = [&](const std::vector<std::string> &term) {
    for (const std::string &label : term)
      if (!isEllipsis(label) && (label.size() != 1 || !isLetter(label[0])))
        compact = false;
  };
  for (const auto &term : equation.inputs)
    check(term);
  check(equation.output);

  std::string result;
  for (size_t t = 0; t < equation.inputs.size(); ++t) {
    if (t)
      result += compact ? "," : ", ";
    result += termToString(equation.inputs[t], !compact);
  }
  result += compact ? "->" : " ->";
  if (!compact && !equation.output.empty())
    result += ' ';
  result += termToString(equation.output, !compact);
  return result;
}

std::optional<EinsumEquation>
attn::permuteEinsumOperand(const EinsumEquation &equation, size_t operand,
                           const std::vector<int64_t> &permutation) {
  if (operand >= equation.inputs.size())
    return std::nullopt;
  const auto &term = equation.inputs[operand];
  if (std::any_of(term.begin(), term.end(), isEllipsis) ||
      permutation.size() != term.size())
    return std::nullopt;
  std::vector<std::string> permuted(term.size());
  std::vector<bool> hit(term.size(), false);
  for (size_t i = 0; i < permutation.size(); ++i) {
    int64_t p = permutation[i];
    if (p < 0 || static_cast<size_t>(p) >= term.size() || hit[p])
      return std::nullopt;
    hit[p] = true;
    permuted[p] = term[i];
  }
  EinsumEquation result = equation;
  result.inputs[operand] = std::move(permuted);
  return result;
}
