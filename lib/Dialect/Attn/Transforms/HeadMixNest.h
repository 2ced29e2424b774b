//===- HeadMixNest.h - loop nests of head-mixed attention -------*- C++ -*-===//
//
// Attention whose heads are mixed by a learnt matrix (DeepViT's re-attention,
// CaiT's talking heads) has no single-pass flash form. attn-fuse-attention
// builds it as linalg ops over whole tensors, named by the score einsum's
// labels, and tiles them with upstream tile-and-fuse into an scf.forall over
// (batch, query block) so that only one block of scores of all heads lives
// at a time. These are the pieces both forms share.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_LIB_DIALECT_ATTN_TRANSFORMS_HEADMIXNEST_H
#define ATTN_LIB_DIALECT_ATTN_TRANSFORMS_HEADMIXNEST_H

#include "MatchUtils.h"

#include "attn/Support/Einsum.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <map>
#include <optional>
#include <string>

namespace mlir::attn {

using Labels = SmallVector<std::string, 6>;

/// Builds linalg ops over label domains (every label's size in `sizes`).
struct NestBuilder {
  OpBuilder &b;
  Location loc;
  const std::map<std::string, int64_t> &sizes;
  Type f32;

  SmallVector<int64_t> shapeOf(ArrayRef<std::string> term) const {
    SmallVector<int64_t> shape;
    for (const std::string &l : term)
      shape.push_back(sizes.at(l));
    return shape;
  }
  Value empty(ArrayRef<std::string> term) const {
    return tensor::EmptyOp::create(b, loc, shapeOf(term), f32);
  }
  Value filled(ArrayRef<std::string> term, double value) const {
    Value c = arith::ConstantOp::create(b, loc, b.getFloatAttr(f32, value));
    return linalg::FillOp::create(b, loc, c, empty(term)).getResult(0);
  }
  /// A linalg.generic over `domain` reducing the `reduced` labels.
  linalg::GenericOp
  generic(ArrayRef<std::string> domain, ArrayRef<std::string> reduced,
          ArrayRef<std::pair<Value, Labels>> inputs, Value init,
          ArrayRef<std::string> outTerm,
          function_ref<Value(OpBuilder &, Location, ValueRange)> body) const {
    MLIRContext *ctx = b.getContext();
    SmallVector<Value> operands;
    SmallVector<AffineMap> maps;
    for (const auto &[value, term] : inputs) {
      operands.push_back(value);
      maps.push_back(getTermMap(ctx, domain, term));
    }
    maps.push_back(getTermMap(ctx, domain, outTerm));
    SmallVector<utils::IteratorType> iterators;
    for (const std::string &l : domain)
      iterators.push_back(llvm::is_contained(reduced, l)
                              ? utils::IteratorType::reduction
                              : utils::IteratorType::parallel);
    return linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, operands, ValueRange{init}, maps,
        iterators, [&](OpBuilder &gb, Location gl, ValueRange args) {
          linalg::YieldOp::create(gb, gl, body(gb, gl, args));
        });
  }
};

/// `name`, with underscores appended until no term of `taken` holds it.
std::string freshLabel(std::string name, ArrayRef<Labels> taken);

/// The P·V einsum of a head-mixed chain in the score einsum's naming.
struct ValueTerms {
  std::string valueLabel; // the one value axis, a fresh label
  int64_t valueSize = 0;
  Labels vTerm, oTerm;    // the values' and the output's terms
};

/// Translates the P·V einsum `plan` (the probabilities its operand
/// `probIndex`) into the score labels: `rename` maps each label of the
/// probabilities' term to a score label, every other label is the value
/// axis. Nullopt unless it is a batched P V over `keyLabel` with one value
/// axis, every probability axis but the keys in the output and no query
/// axis in the values.
std::optional<ValueTerms>
translateValueEinsum(const ::attn::EinsumPlan &plan, unsigned probIndex,
                     const std::map<std::string, std::string> &rename,
                     ArrayRef<std::string> sTerm, StringRef queryLabel,
                     StringRef keyLabel, ArrayRef<Labels> taken);

/// Tiles `consumer` with `sizes` (one per loop, 0: not tiled) and fuses its
/// producers into the loops, except attention ops (pass 1 runs once, outside
/// the nest) and the ops of `keepOutside`: the accumulator's fill of a loop
/// over a reduction (fused into that loop it would reset the sum at every
/// step), or a value every block reads whole (a scaled mixing matrix).
/// Returns the tiled consumer.
FailureOr<Operation *> tileAndFuse(RewriterBase &rewriter, Operation *consumer,
                                   ArrayRef<int64_t> sizes, bool forall,
                                   ArrayRef<Operation *> keepOutside);

/// Erases the ops of `ops` that nothing uses, then the pure producers that
/// this leaves unused (their fills and empties), until none is left.
void eraseDead(RewriterBase &rewriter, ArrayRef<Operation *> ops);

/// Every op nested in `root`, innermost and last first.
SmallVector<Operation *> nestedOps(Operation *root);

/// After tile-and-fuse of a nest: one copy of each producer that fusion
/// recomputed per use, and slices of tensor.empty folded so that
/// bufferization allocates blocks, not the whole [.., H, N, N] destinations.
void simplifyNest(RewriterBase &rewriter, Operation *nest);

} // namespace mlir::attn

#endif // ATTN_LIB_DIALECT_ATTN_TRANSFORMS_HEADMIXNEST_H
