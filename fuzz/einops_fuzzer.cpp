//===- einops_fuzzer.cpp - libFuzzer target for the rearrange parser ------===//
//
// Parses the input as a rearrange pattern. When it parses, solves it against
// small shapes built to be consistent with the pattern (so solving must
// succeed), checks the plan's invariants, prints it back and re-solves the
// printed pattern, and composes the plan with its inverse. Any inconsistency
// aborts so that libFuzzer reports it.
//
//===----------------------------------------------------------------------===//

#include "attn/Support/Einops.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>

using namespace attn;

namespace {

[[noreturn]] void fatal(const char *what, const std::string &detail) {
  std::fprintf(stderr, "einops_fuzzer: %s: %s\n", what, detail.c_str());
  std::abort();
}

/// Small deterministic generator seeded from the input bytes.
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

/// Applies `plan` to row-major `input` (see EinopsTest.cpp).
std::vector<int> applyPlan(const RearrangePlan &plan,
                           const std::vector<int> &input) {
  std::vector<int64_t> strides(plan.elementarySizes.size(), 0);
  int64_t stride = 1;
  for (auto group = plan.inputGroups.rbegin(); group != plan.inputGroups.rend();
       ++group)
    for (auto axis = group->rbegin(); axis != group->rend(); ++axis) {
      strides[*axis] = stride;
      stride *= plan.elementarySizes[*axis];
    }
  std::vector<int64_t> order = plan.outputAxisOrder();
  int64_t total = 1;
  for (int64_t size : plan.outputShape)
    total *= size;
  std::vector<int> output;
  std::vector<int64_t> index(order.size(), 0);
  for (int64_t n = 0; n < total; ++n) {
    int64_t offset = 0;
    for (size_t k = 0; k < order.size(); ++k)
      offset += index[k] * strides[order[k]];
    output.push_back(input.at(offset));
    for (size_t k = order.size(); k-- > 0;) {
      if (++index[k] < plan.elementarySizes[order[k]])
        break;
      index[k] = 0;
    }
  }
  return output;
}

/// Checks what the RearrangePlan doc promises; returns the element count.
int64_t checkPlan(const RearrangePlan &plan, const std::vector<int64_t> &shape,
                  const std::string &pattern) {
  size_t numAxes = plan.elementarySizes.size();
  if (plan.elementaryNames.size() != numAxes ||
      plan.inputGroups.size() != shape.size() ||
      plan.outputGroups.size() != plan.outputShape.size())
    fatal("plan sizes inconsistent", pattern);
  std::vector<int> inputUses(numAxes), outputUses(numAxes);
  int64_t next = 0;
  int64_t total = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (plan.inputGroups[i].empty())
      fatal("empty input group", pattern);
    int64_t product = 1;
    for (int64_t axis : plan.inputGroups[i]) {
      // Elementary axes are numbered in input order.
      if (axis != next++)
        fatal("input groups out of order", pattern);
      ++inputUses[axis];
      product *= plan.elementarySizes[axis];
    }
    if (product != shape[i])
      fatal("input group does not match shape", pattern);
    if (__builtin_mul_overflow(total, shape[i], &total))
      total = INT64_MAX;
  }
  if (static_cast<size_t>(next) != numAxes)
    fatal("unused elementary axis", pattern);
  for (size_t j = 0; j < plan.outputGroups.size(); ++j) {
    int64_t product = 1;
    for (int64_t axis : plan.outputGroups[j]) {
      if (axis < 0 || static_cast<size_t>(axis) >= numAxes)
        fatal("output axis out of range", pattern);
      ++outputUses[axis];
      product *= plan.elementarySizes[axis];
    }
    if (product != plan.outputShape[j])
      fatal("output group does not match output shape", pattern);
  }
  for (size_t a = 0; a < numAxes; ++a) {
    bool unit = plan.elementaryNames[a].empty();
    if (outputUses[a] != (unit ? 0 : 1))
      fatal("axis not used exactly once in the output", pattern);
    if (unit && plan.elementarySizes[a] != 1)
      fatal("unit axis with size != 1", pattern);
  }
  return total;
}

void checkRoundTripAndCompose(const RearrangePlan &plan,
                              const std::vector<int64_t> &shape,
                              int64_t total, const std::string &pattern) {
  std::map<std::string, int64_t> sizes;
  std::string printed = printRearrangePlan(plan, sizes);
  PatternError error;
  auto parsed = parseRearrangePattern(printed, error);
  if (!parsed)
    fatal("printed pattern does not parse", printed + ": " + error.message);
  auto again = solveRearrange(*parsed, shape, sizes, error);
  if (!again)
    fatal("printed pattern does not solve", printed + ": " + error.message);
  if (again->elementarySizes != plan.elementarySizes ||
      again->inputGroups != plan.inputGroups ||
      again->outputShape != plan.outputShape ||
      again->outputAxisOrder() != plan.outputAxisOrder())
    fatal("printed pattern differs", pattern + " vs " + printed);

  bool small = total <= 4096;
  std::vector<int> data;
  if (small) {
    data.resize(total);
    for (int64_t i = 0; i < total; ++i)
      data[i] = static_cast<int>(i);
  }

  // The inverse rearrange: swap the printed sides and give every size.
  size_t arrow = printed.find("->");
  std::string inverseText =
      printed.substr(arrow + 2) + " -> " + printed.substr(0, arrow);
  std::map<std::string, int64_t> allSizes;
  for (size_t a = 0; a < again->elementaryNames.size(); ++a)
    if (!again->elementaryNames[a].empty())
      allSizes[again->elementaryNames[a]] = again->elementarySizes[a];
  auto inversePattern = parseRearrangePattern(inverseText, error);
  if (!inversePattern)
    fatal("inverse does not parse", inverseText + ": " + error.message);
  auto inverse =
      solveRearrange(*inversePattern, plan.outputShape, allSizes, error);
  if (!inverse)
    fatal("inverse does not solve", inverseText + ": " + error.message);

  bool hasZero = false;
  for (int64_t size : plan.elementarySizes)
    hasZero |= size == 0;
  if (hasZero)
    return;
  auto identity = composeRearranges(plan, *inverse, shape);
  if (!identity)
    fatal("plan does not compose with its inverse", pattern);
  if (!identity->isIdentity(shape))
    fatal("plan composed with its inverse is not the identity", pattern);
  auto back = composeRearranges(*inverse, plan, plan.outputShape);
  if (!back)
    fatal("inverse does not compose with plan", pattern);
  if (small) {
    if (applyPlan(*identity, data) != data)
      fatal("composed identity moves data", pattern);
    std::vector<int> out = applyPlan(plan, data);
    if (applyPlan(*back, out) != out)
      fatal("inverse then plan moves data", pattern);
    if (applyPlan(*again, data) != out)
      fatal("printed plan moves data differently", pattern);
  }

  // Compose with a plan that flattens the result and splits it in two.
  int64_t outTotal = 1;
  for (int64_t size : plan.outputShape)
    outTotal *= size;
  std::string flatText = "-> (";
  std::string lhs;
  for (size_t j = 0; j < plan.outputShape.size(); ++j) {
    lhs += " d" + std::to_string(j);
    flatText += " d" + std::to_string(j);
  }
  flatText = lhs + " " + flatText + ")";
  auto flatPattern = parseRearrangePattern(flatText, error);
  if (!flatPattern)
    fatal("flatten pattern does not parse", flatText);
  auto flat = solveRearrange(*flatPattern, plan.outputShape, {}, error);
  if (!flat)
    fatal("flatten pattern does not solve", flatText + ": " + error.message);
  auto flattened = composeRearranges(plan, *flat, shape);
  if (!flattened)
    fatal("plan does not compose with a flatten", pattern);
  for (int64_t x = 1; x <= outTotal && x <= 64; ++x) {
    if (outTotal % x)
      continue;
    auto splitPattern = parseRearrangePattern("(x y) -> y x", error);
    auto split =
        solveRearrange(*splitPattern, {outTotal}, {{"x", x}}, error);
    if (!split)
      fatal("split does not solve", error.message);
    auto composed = composeRearranges(*flattened, *split, shape);
    if (composed && small) {
      std::vector<int> expected = applyPlan(*split, applyPlan(*flattened, data));
      if (applyPlan(*composed, data) != expected)
        fatal("composed split moves data differently", pattern);
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 512)
    return 0;
  std::string pattern(reinterpret_cast<const char *>(data), size);
  PatternError error;
  auto parsed = parseRearrangePattern(pattern, error);
  if (!parsed) {
    if (!error.hasColumn || error.column > size || error.message.empty())
      fatal("parse error without a valid column", pattern);
    return 0;
  }

  Rng rng{hashBytes(data, size)};
  for (int trial = 0; trial < 4; ++trial) {
    // Sizes 1..3, and occasionally 0, for every named axis.
    std::map<std::string, int64_t> axisSizes;
    for (const EinopsDim &dim : parsed->lhs.dims)
      for (const EinopsAxis &axis : dim.axes)
        if (axis.kind == EinopsAxis::Kind::Named)
          axisSizes[axis.name] = trial == 3 ? rng.below(3) : 1 + rng.below(3);

    std::vector<int64_t> shape;
    std::map<std::string, int64_t> given;
    int64_t nonZeroProduct = 1;
    bool overflow = false;
    for (size_t d = 0; d < parsed->lhs.dims.size(); ++d) {
      const EinopsDim &dim = parsed->lhs.dims[d];
      if (parsed->lhs.ellipsisDim && *parsed->lhs.ellipsisDim == d) {
        int64_t rank = rng.below(3);
        for (int64_t k = 0; k < rank; ++k)
          shape.push_back(1 + rng.below(3));
        continue;
      }
      std::vector<std::string> names;
      int64_t product = 1;
      for (const EinopsAxis &axis : dim.axes)
        if (axis.kind == EinopsAxis::Kind::Named) {
          names.push_back(axis.name);
          product *= axisSizes[axis.name];
        }
      // Give every size of a group but (usually) one; sometimes also the
      // size of a bare axis, which must then match.
      size_t leaveOut = names.empty() ? 0 : rng.below(names.size() + 1);
      for (size_t k = 0; k < names.size(); ++k)
        if (k != leaveOut || rng.below(4) == 0)
          given[names[k]] = axisSizes[names[k]];
      if (names.size() > 1 && leaveOut == names.size())
        given.erase(names[0]);
      shape.push_back(product);
    }
    for (int64_t s : shape)
      if (s != 0 && __builtin_mul_overflow(nonZeroProduct, s, &nonZeroProduct))
        overflow = true;
    if (overflow)
      continue;

    auto plan = solveRearrange(*parsed, shape, given, error);
    if (!plan) {
      // A group of all-unknown zero-or-more axes can legitimately fail to
      // divide when a given size is 0.
      bool zeroGiven = false;
      for (auto &entry : given)
        zeroGiven |= entry.second == 0;
      if (!zeroGiven)
        fatal("consistent shape does not solve", pattern + ": " +
                                                     error.message);
      continue;
    }
    int64_t total = checkPlan(*plan, shape, pattern);
    checkRoundTripAndCompose(*plan, shape, total, pattern);

    // A random shape of the right rank must not crash the solver.
    std::vector<int64_t> randomShape = shape;
    if (!randomShape.empty())
      randomShape[rng.below(randomShape.size())] = rng.below(13);
    auto randomPlan = solveRearrange(*parsed, randomShape, given, error);
    if (randomPlan)
      checkPlan(*randomPlan, randomShape, pattern);
  }
  return 0;
}
