//===- Einsum.h - einsum equation parser and solver -------------*- C++ -*-===//
//
// Parses einsum equations in both spellings people use: torch's compact
// `bhid,bhjd->bhij` (one letter per axis) and einops' spaced
// `b h i d, b h j d -> b h i j` (one word per axis). Plain C++, no MLIR types.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SUPPORT_EINSUM_H
#define ATTN_SUPPORT_EINSUM_H

#include "attn/Support/Einops.h" // PatternError

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

/// The label used for an ellipsis in `EinsumEquation` term lists.
inline constexpr const char *kEinsumEllipsis = "...";

/// A parsed einsum equation. Each term is a list of axis labels; `...` appears
/// as the label kEinsumEllipsis. In compact spelling every letter is a label;
/// in spaced spelling (chosen when any term contains whitespace between
/// labels) every word is. When the equation has no `->`, `output` is the
/// implicit torch/numpy output: the ellipsis (if any) followed by the labels
/// that appear exactly once, in alphabetical order, and `explicitOutput` is
/// false.
struct EinsumEquation {
  std::vector<std::vector<std::string>> inputs;
  std::vector<std::string> output;
  bool explicitOutput = true;
  bool spaced = false;

  /// Number of operands the equation expects.
  size_t getNumInputs() const { return inputs.size(); }
};

/// Parses `equation`, checking what can be checked without shapes: valid
/// labels (an empty term is a 0-d operand), at most one ellipsis per term,
/// output
/// labels that appear in some input and not twice in the output, an output
/// ellipsis only if an input has one. Errors carry a column.
/// How the labels of an equation are spelled. `Auto` picks spaced when some
/// term has whitespace between two labels, compact otherwise.
enum class EinsumSpelling { Auto, Compact, Spaced };

std::optional<EinsumEquation>
parseEinsum(std::string_view equation, PatternError &error,
            EinsumSpelling spelling = EinsumSpelling::Auto);

/// An equation solved against operand shapes. Ellipses are expanded into
/// fresh labels ("...0", "...1", ... numbered from the left of the broadcast
/// ellipsis dims), so every term lists exactly one label per dimension.
struct EinsumPlan {
  std::vector<std::vector<std::string>> inputs;
  std::vector<std::string> output;
  std::map<std::string, int64_t> sizes;
  std::vector<int64_t> outputShape;

  /// Labels that appear in some input but not in the output, in order of
  /// first appearance: the axes that are summed over.
  std::vector<std::string> reductionLabels() const;
};

/// Solves `equation` for the operand shapes. Fails on an operand count or
/// rank mismatch, on a label bound to two sizes that do not broadcast, and
/// on ellipsis dims that do not broadcast: as in torch and numpy, a size of
/// 1 in one operand broadcasts against any size in another (ellipsis dims
/// aligned from the right); the plan has the broadcast size. A label
/// repeated inside one term (a diagonal, `ii->i`) needs equal sizes there.
/// Errors name the operand and the label.
std::optional<EinsumPlan>
solveEinsum(const EinsumEquation &equation,
            const std::vector<std::vector<int64_t>> &shapes,
            PatternError &error);

/// An equation read and solved for given operand shapes.
struct SolvedEinsum {
  EinsumEquation equation;
  EinsumPlan plan;
};

/// Parses `equation` and solves it for `shapes`. Without whitespace inside
/// any term the spelling is ambiguous when the equation has whitespace
/// elsewhere: einops writes a one-word term as `index ->`, torch reads that
/// as five labels. Such an equation is read as compact first and, when that
/// does not solve for the shapes, as spaced; the error reported is the
/// compact reading's.
std::optional<SolvedEinsum>
parseAndSolveEinsum(std::string_view equation,
                    const std::vector<std::vector<int64_t>> &shapes,
                    PatternError &error);

/// Prints an equation in canonical form: compact spelling if every label is a
/// single letter and the input was compact, spaced spelling otherwise; always
/// with an explicit `->`.
std::string printEinsum(const EinsumEquation &equation);

/// Returns `equation` with operand `operand`'s term permuted so that the
/// einsum computes the same result when that operand is transposed first:
/// if `x` is transposed by `permutation` (result dim i = x dim
/// permutation[i]) and fed as operand `operand`, the new term for the
/// untransposed `x` is term'[permutation[i]] = term[i]. Fails (nullopt) if
/// the term contains an ellipsis or the permutation has the wrong size.
std::optional<EinsumEquation>
permuteEinsumOperand(const EinsumEquation &equation, size_t operand,
                     const std::vector<int64_t> &permutation);

} // namespace attn

#endif // ATTN_SUPPORT_EINSUM_H
