//===- einsum_fuzzer.cpp - libFuzzer target for the einsum parser ---------===//
//
// Parses the input as an einsum equation. When it parses, prints it back and
// re-parses it, solves it against operand shapes built to be consistent with
// the equation (so solving must succeed), checks the plan, and permutes
// operands back and forth. Any inconsistency aborts so that libFuzzer reports
// it.
//
//===----------------------------------------------------------------------===//

#include "attn/Support/Einsum.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>

using namespace attn;

namespace {

[[noreturn]] void fatal(const char *what, const std::string &detail) {
  std::fprintf(stderr, "einsum_fuzzer: %s: %s\n", what, detail.c_str());
  std::abort();
}

struct Rng {
  uint64_t state;
  uint64_t next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % n); }
};

uint64_t hashBytes(const uint8_t *data, size_t size) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i)
    h = (h ^ data[i]) * 1099511628211ull;
  return h | 1;
}

bool isEllipsis(const std::string &label) { return label == kEinsumEllipsis; }

void checkPrintRoundTrip(const EinsumEquation &eq, const std::string &text) {
  std::string printed = printEinsum(eq);
  PatternError error;
  auto again = parseEinsum(printed, error);
  if (!again)
    fatal("printed equation does not parse", printed + ": " + error.message);
  // A spaced equation whose terms all hold at most one label reads back as
  // compact, where a word is several labels: the spelling cannot say it.
  auto multi = [](const std::vector<std::string> &term) {
    return term.size() > 1;
  };
  // Only the spaced spelling prints blanks.
  bool printedSpaced = printed.find(' ') != std::string::npos;
  bool ambiguous = printedSpaced &&
                   !std::any_of(eq.inputs.begin(), eq.inputs.end(), multi) &&
                   !multi(eq.output);
  if (ambiguous)
    return;
  if (again->inputs != eq.inputs || again->output != eq.output ||
      !again->explicitOutput)
    fatal("printed equation differs", text + " vs " + printed);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 512)
    return 0;
  std::string text(reinterpret_cast<const char *>(data), size);
  PatternError error;
  auto eq = parseEinsum(text, error);
  if (!eq) {
    if (!error.hasColumn || error.column > size || error.message.empty())
      fatal("parse error without a valid column", text);
    return 0;
  }
  if (eq->inputs.empty())
    fatal("no operands", text);
  // An empty term is a 0-d operand.
  for (const auto &term : eq->inputs)
    if (std::count_if(term.begin(), term.end(), isEllipsis) > 1)
      fatal("bad input term", text);
  checkPrintRoundTrip(*eq, text);

  Rng rng{hashBytes(data, size)};
  for (int trial = 0; trial < 3; ++trial) {
    // One size per label (so repeated labels agree) and a broadcast shape
    // that every operand's ellipsis takes a right-aligned, maybe-1 slice of.
    std::map<std::string, int64_t> labelSizes;
    for (const auto &term : eq->inputs)
      for (const auto &label : term)
        if (!isEllipsis(label) && !labelSizes.count(label))
          labelSizes[label] = trial == 2 ? rng.below(3) : 1 + rng.below(4);
    std::vector<int64_t> broadcast(rng.below(3));
    for (int64_t &dim : broadcast)
      dim = 1 + rng.below(3);
    std::vector<std::vector<int64_t>> shapes;
    for (const auto &term : eq->inputs) {
      std::vector<int64_t> shape;
      for (const auto &label : term) {
        if (!isEllipsis(label)) {
          shape.push_back(labelSizes[label]);
          continue;
        }
        size_t rank = rng.below(broadcast.size() + 1);
        for (size_t k = broadcast.size() - rank; k < broadcast.size(); ++k)
          shape.push_back(rng.below(3) == 0 ? 1 : broadcast[k]);
      }
      shapes.push_back(std::move(shape));
    }

    auto plan = solveEinsum(*eq, shapes, error);
    if (!plan)
      fatal("consistent shapes do not solve", text + ": " + error.message);
    if (plan->inputs.size() != shapes.size())
      fatal("plan has the wrong operand count", text);
    for (size_t t = 0; t < shapes.size(); ++t) {
      if (plan->inputs[t].size() != shapes[t].size())
        fatal("expanded term has the wrong rank", text);
      for (size_t d = 0; d < shapes[t].size(); ++d) {
        auto it = plan->sizes.find(plan->inputs[t][d]);
        if (it == plan->sizes.end())
          fatal("label without a size", text);
        if (it->second != shapes[t][d] && shapes[t][d] != 1)
          fatal("label size disagrees with operand", text);
      }
    }
    for (size_t t = 0; t < shapes.size(); ++t) {
      const auto &term = eq->inputs[t];
      if (std::none_of(term.begin(), term.end(), isEllipsis) &&
          plan->inputs[t] != term)
        fatal("term changed without an ellipsis", text);
    }
    if (plan->output.size() != plan->outputShape.size())
      fatal("output shape rank", text);
    for (size_t d = 0; d < plan->output.size(); ++d) {
      if (plan->sizes.at(plan->output[d]) != plan->outputShape[d])
        fatal("output shape disagrees with sizes", text);
      if (std::count(plan->output.begin(), plan->output.end(),
                     plan->output[d]) != 1)
        fatal("output label repeated", text);
    }
    for (const auto &label : plan->reductionLabels())
      if (std::count(plan->output.begin(), plan->output.end(), label))
        fatal("reduction label in output", text);

    // Wrong operand count and a perturbed shape must fail cleanly or solve.
    auto extra = shapes;
    extra.push_back({1});
    if (solveEinsum(*eq, extra, error))
      fatal("extra operand accepted", text);
    auto perturbed = shapes;
    size_t victim = rng.below(perturbed.size());
    if (rng.below(2) && !perturbed[victim].empty())
      perturbed[victim][rng.below(perturbed[victim].size())] = rng.below(6);
    else
      perturbed[victim].push_back(2);
    (void)solveEinsum(*eq, perturbed, error);
  }

  // Permuting an operand by p and then by its inverse restores the equation.
  for (size_t t = 0; t < eq->inputs.size(); ++t) {
    const auto &term = eq->inputs[t];
    std::vector<int64_t> perm(term.size());
    std::iota(perm.begin(), perm.end(), 0);
    for (size_t i = perm.size(); i > 1; --i)
      std::swap(perm[i - 1], perm[rng.below(i)]);
    auto permuted = permuteEinsumOperand(*eq, t, perm);
    bool hasEllipsis = std::any_of(term.begin(), term.end(), isEllipsis);
    if (permuted.has_value() == hasEllipsis)
      fatal("permute accepted an ellipsis or rejected a permutation", text);
    if (!permuted)
      continue;
    for (size_t i = 0; i < perm.size(); ++i)
      if (permuted->inputs[t][perm[i]] != term[i])
        fatal("permute does not follow its doc", text);
    std::vector<int64_t> inverse(perm.size());
    for (size_t i = 0; i < perm.size(); ++i)
      inverse[perm[i]] = static_cast<int64_t>(i);
    auto restored = permuteEinsumOperand(*permuted, t, inverse);
    if (!restored || restored->inputs != eq->inputs)
      fatal("permute then inverse does not restore the term", text);
  }
  return 0;
}
