//===- Evaluator.cpp - f64 reference evaluator for attn graphs ------------===//
//
// Interprets tensor-level IR op by op with naive double-precision loops that
// follow the op specifications in AttnOps.td and upstream's documentation;
// deliberately shares no code with the lowering it is used to check.
//
// Every value is computed over a window (a box of indices) rather than
// whole: a backward pass derives, from the windows of the results wanted,
// the window of each value that they depend on, op by op (an einsum row
// needs one row of its lhs and all of its rhs; a softmax needs its whole
// axis). The forward pass then computes exactly those windows, frees each
// value after its last use and keeps splats as one element. With whole
// results wanted this is the plain evaluation; with one result row wanted it
// is the exact computation of that row, which is how graphs too large for
// memory are checked.
//
//===----------------------------------------------------------------------===//

#include "attn/Reference/Evaluator.h"

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>

using namespace mlir;
using namespace mlir::attn;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<int64_t> getStrides(ArrayRef<int64_t> shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

int64_t getProduct(ArrayRef<int64_t> values) {
  int64_t product = 1;
  for (int64_t v : values)
    product *= v;
  return product;
}

/// Copies the strided view (`sizes`, `strides`, `offset`) of `src` into a
/// contiguous C-ordered `dst`: the one loop nest behind rearrange, transpose
/// and slicing.
void gatherStrided(const double *src, ArrayRef<int64_t> sizes,
                   ArrayRef<int64_t> strides, int64_t offset, double *dst) {
  int64_t total = getProduct(sizes);
  if (total == 0)
    return;
  size_t rank = sizes.size();
  if (rank == 0) {
    dst[0] = src[offset];
    return;
  }
  std::vector<int64_t> index(rank, 0);
  int64_t inner = sizes[rank - 1], innerStride = strides[rank - 1];
  int64_t pos = offset;
  for (int64_t out = 0; out < total; out += inner) {
    for (int64_t k = 0; k < inner; ++k)
      dst[out + k] = src[pos + k * innerStride];
    for (int64_t d = int64_t(rank) - 2; d >= 0; --d) {
      pos += strides[d];
      if (++index[d] < sizes[d])
        break;
      pos -= strides[d] * sizes[d];
      index[d] = 0;
    }
  }
}

/// Evaluates a scalar arith/math op; the same code serves elementwise ops on
/// tensors and the bodies of linalg ops.
FailureOr<double> evalScalar(Operation *op, ArrayRef<double> args) {
  auto arg = [&](unsigned i) { return args[i]; };
  std::optional<double> result =
      llvm::TypeSwitch<Operation *, std::optional<double>>(op)
          .Case([&](arith::AddFOp) { return arg(0) + arg(1); })
          .Case([&](arith::SubFOp) { return arg(0) - arg(1); })
          .Case([&](arith::MulFOp) { return arg(0) * arg(1); })
          .Case([&](arith::DivFOp) { return arg(0) / arg(1); })
          .Case([&](arith::RemFOp) { return std::fmod(arg(0), arg(1)); })
          .Case([&](arith::NegFOp) { return -arg(0); })
          .Case([&](arith::MaximumFOp) -> double {
            if (std::isnan(arg(0)) || std::isnan(arg(1)))
              return std::nan("");
            return std::max(arg(0), arg(1));
          })
          .Case([&](arith::MinimumFOp) -> double {
            if (std::isnan(arg(0)) || std::isnan(arg(1)))
              return std::nan("");
            return std::min(arg(0), arg(1));
          })
          .Case([&](arith::MaxNumFOp) { return std::fmax(arg(0), arg(1)); })
          .Case([&](arith::MinNumFOp) { return std::fmin(arg(0), arg(1)); })
          .Case([&](arith::SelectOp) { return arg(0) != 0 ? arg(1) : arg(2); })
          // Precision changes are exact in the reference: it models the
          // infinitely precise computation on the given inputs.
          .Case<arith::ExtFOp, arith::TruncFOp, arith::SIToFPOp,
                arith::UIToFPOp, arith::IndexCastOp>(
              [&](Operation *) { return arg(0); })
          .Case([&](arith::AndIOp) -> double {
            return double(int64_t(arg(0)) & int64_t(arg(1)));
          })
          .Case([&](arith::OrIOp) -> double {
            return double(int64_t(arg(0)) | int64_t(arg(1)));
          })
          .Case([&](arith::XOrIOp) -> double {
            return double(int64_t(arg(0)) ^ int64_t(arg(1)));
          })
          .Case<arith::FPToSIOp, arith::FPToUIOp>(
              [&](Operation *) { return std::trunc(arg(0)); })
          .Case<arith::MinSIOp, arith::MinUIOp>(
              [&](Operation *) { return std::min(arg(0), arg(1)); })
          .Case<arith::MaxSIOp, arith::MaxUIOp>(
              [&](Operation *) { return std::max(arg(0), arg(1)); })
          .Case<arith::DivSIOp, arith::DivUIOp>([&](Operation *) -> double {
            return double(int64_t(arg(0)) / int64_t(arg(1)));
          })
          .Case<arith::RemSIOp, arith::RemUIOp>([&](Operation *) -> double {
            return double(int64_t(arg(0)) % int64_t(arg(1)));
          })
          .Case([&](math::AbsIOp) { return std::fabs(arg(0)); })
          .Case([&](math::FloorOp) { return std::floor(arg(0)); })
          .Case([&](math::CeilOp) { return std::ceil(arg(0)); })
          .Case([&](math::Log2Op) { return std::log2(arg(0)); })
          .Case([&](arith::AddIOp) { return arg(0) + arg(1); })
          .Case([&](arith::SubIOp) { return arg(0) - arg(1); })
          .Case([&](arith::MulIOp) { return arg(0) * arg(1); })
          .Case([&](arith::CmpIOp cmp) -> double {
            int64_t a = int64_t(arg(0)), b = int64_t(arg(1));
            switch (cmp.getPredicate()) {
            case arith::CmpIPredicate::eq:
              return a == b;
            case arith::CmpIPredicate::ne:
              return a != b;
            case arith::CmpIPredicate::slt:
            case arith::CmpIPredicate::ult:
              return a < b;
            case arith::CmpIPredicate::sle:
            case arith::CmpIPredicate::ule:
              return a <= b;
            case arith::CmpIPredicate::sgt:
            case arith::CmpIPredicate::ugt:
              return a > b;
            case arith::CmpIPredicate::sge:
            case arith::CmpIPredicate::uge:
              return a >= b;
            }
            return 0.0;
          })
          .Case([&](arith::CmpFOp cmp) -> double {
            double a = arg(0), b = arg(1);
            bool unordered = std::isnan(a) || std::isnan(b);
            using P = arith::CmpFPredicate;
            switch (cmp.getPredicate()) {
            case P::AlwaysFalse:
              return 0;
            case P::AlwaysTrue:
              return 1;
            case P::OEQ:
              return !unordered && a == b;
            case P::OGT:
              return !unordered && a > b;
            case P::OGE:
              return !unordered && a >= b;
            case P::OLT:
              return !unordered && a < b;
            case P::OLE:
              return !unordered && a <= b;
            case P::ONE:
              return !unordered && a != b;
            case P::ORD:
              return !unordered;
            case P::UEQ:
              return unordered || a == b;
            case P::UGT:
              return unordered || a > b;
            case P::UGE:
              return unordered || a >= b;
            case P::ULT:
              return unordered || a < b;
            case P::ULE:
              return unordered || a <= b;
            case P::UNE:
              return unordered || a != b;
            case P::UNO:
              return unordered;
            }
            return 0.0;
          })
          .Case([&](math::ExpOp) { return std::exp(arg(0)); })
          .Case([&](math::Exp2Op) { return std::exp2(arg(0)); })
          .Case([&](math::LogOp) { return std::log(arg(0)); })
          .Case([&](math::TanhOp) { return std::tanh(arg(0)); })
          .Case([&](math::SqrtOp) { return std::sqrt(arg(0)); })
          .Case([&](math::RsqrtOp) { return 1.0 / std::sqrt(arg(0)); })
          .Case([&](math::ErfOp) { return std::erf(arg(0)); })
          .Case([&](math::AbsFOp) { return std::fabs(arg(0)); })
          .Case([&](math::PowFOp) { return std::pow(arg(0), arg(1)); })
          .Default([](Operation *) { return std::nullopt; });
  if (!result)
    return failure();
  return *result;
}

/// Reads element values out of a dense constant; booleans become 0/1.
//===----------------------------------------------------------------------===//
// Windows and windowed tensors
//===----------------------------------------------------------------------===//

/// An index range [lo, lo + size) of one dimension.
struct IndexRange {
  int64_t lo = 0, size = 0;
  int64_t hi() const { return lo + size; }
  bool operator==(const IndexRange &other) const {
    return lo == other.lo && size == other.size;
  }
  bool operator!=(const IndexRange &other) const { return !(*this == other); }
};

/// A box of a tensor's indices, one range per dimension.
struct Window {
  std::vector<IndexRange> dims;

  static Window full(ArrayRef<int64_t> shape) {
    Window w;
    for (int64_t size : shape)
      w.dims.push_back({0, size});
    return w;
  }
  std::vector<int64_t> sizes() const {
    std::vector<int64_t> result;
    for (const IndexRange &r : dims)
      result.push_back(r.size);
    return result;
  }
  std::vector<int64_t> origin() const {
    std::vector<int64_t> result;
    for (const IndexRange &r : dims)
      result.push_back(r.lo);
    return result;
  }
  int64_t getNumElements() const { return getProduct(sizes()); }
  bool operator==(const Window &other) const { return dims == other.dims; }
  bool operator!=(const Window &other) const { return !(*this == other); }
};

/// Grows `into` to the smallest window that holds both it and `w`.
void unite(std::optional<Window> &into, const Window &w) {
  if (!into) {
    into = w;
    return;
  }
  for (auto [a, b] : llvm::zip(into->dims, w.dims)) {
    if (b.size == 0)
      continue;
    if (a.size == 0) {
      a = b;
      continue;
    }
    int64_t lo = std::min(a.lo, b.lo), hi = std::max(a.hi(), b.hi());
    a = {lo, hi - lo};
  }
}

/// The values of one window of a tensor value: C-ordered elements widened
/// to double, or a single element when every element is the same (splat).
struct Tensor {
  std::vector<int64_t> shape;  // the window's extents
  std::vector<int64_t> origin; // the window's first index in the value
  std::vector<double> data;
  bool splat = false;

  int64_t getNumElements() const { return getProduct(shape); }
  double at(int64_t i) const { return splat ? data[0] : data[i]; }
  uint64_t getBytes() const {
    return splat ? sizeof(double) : uint64_t(getNumElements()) * sizeof(double);
  }
  Window getWindow() const {
    Window w;
    for (auto [lo, size] : llvm::zip(origin, shape))
      w.dims.push_back({lo, size});
    return w;
  }
  /// Writes out a splat so the elements can be written one by one.
  void materialize() {
    if (!splat)
      return;
    double value = data.empty() ? 0.0 : data[0];
    data.assign(getNumElements(), value);
    splat = false;
  }
  static Tensor makeSplat(const Window &w, double value) {
    Tensor t;
    t.shape = w.sizes();
    t.origin = w.origin();
    t.data = {value};
    t.splat = true;
    return t;
  }
  static Tensor makeDense(const Window &w, double fill = 0.0) {
    Tensor t;
    t.shape = w.sizes();
    t.origin = w.origin();
    t.data.assign(w.getNumElements(), fill);
    return t;
  }
};

/// The part `w` (in the value's coordinates) of `t`, which holds it.
Tensor crop(const Tensor &t, const Window &w) {
  if (t.splat) {
    Tensor out = Tensor::makeSplat(w, t.data.empty() ? 0.0 : t.data[0]);
    return out;
  }
  Tensor out = Tensor::makeDense(w);
  std::vector<int64_t> strides = getStrides(t.shape);
  int64_t offset = 0;
  for (size_t d = 0; d < w.dims.size(); ++d)
    offset += (w.dims[d].lo - t.origin[d]) * strides[d];
  gatherStrided(t.data.data(), out.shape, strides, offset, out.data.data());
  return out;
}

/// Axes grouped into dimensions in row-major order (einops groups,
/// reassociation groups). A dimension's window is a box of its axes only
/// when it is aligned: every axis after the first one spanning more than
/// one index is whole. The helpers below keep windows aligned, widening
/// axes where needed (more is computed, never less).
struct AxisGroups {
  std::vector<int64_t> axisSizes;
  std::vector<std::vector<int64_t>> groups;

  int64_t getDimSize(size_t dim) const {
    int64_t size = 1;
    for (int64_t a : groups[dim])
      size *= axisSizes[a];
    return size;
  }

  /// The axis ranges that dimension `dim`'s range `r` covers, as the
  /// smallest aligned box.
  void split(size_t dim, IndexRange r, std::vector<std::optional<IndexRange>> &axes) const {
    const std::vector<int64_t> &group = groups[dim];
    if (r.size == 0 || getDimSize(dim) == 0) {
      for (int64_t a : group)
        axes[a] = IndexRange{0, axisSizes[a]};
      return;
    }
    std::vector<int64_t> inner(group.size(), 1);
    for (int64_t t = int64_t(group.size()) - 2; t >= 0; --t)
      inner[t] = inner[t + 1] * axisSizes[group[t + 1]];
    int64_t first = r.lo, last = r.hi() - 1;
    bool spread = false;
    for (size_t t = 0; t < group.size(); ++t) {
      int64_t a = group[t];
      if (spread) {
        axes[a] = IndexRange{0, axisSizes[a]};
        continue;
      }
      int64_t lo = first / inner[t] % axisSizes[a];
      int64_t hi = last / inner[t] % axisSizes[a];
      if (first / inner[t] != last / inner[t]) {
        // Spans several indices of this axis: the rest is whole.
        lo = first / inner[t] % axisSizes[a];
        hi = last / inner[t] % axisSizes[a];
        if (last / inner[t] - first / inner[t] >= axisSizes[a] || hi < lo)
          axes[a] = IndexRange{0, axisSizes[a]};
        else
          axes[a] = IndexRange{lo, hi - lo + 1};
        spread = true;
        continue;
      }
      axes[a] = IndexRange{lo, 1};
    }
  }

  /// Widens the axes of every group to aligned boxes; true if any changed.
  bool align(std::vector<std::optional<IndexRange>> &axes) const {
    bool changed = false;
    for (const std::vector<int64_t> &group : groups) {
      bool spread = false;
      for (int64_t a : group) {
        if (!axes[a])
          axes[a] = IndexRange{0, axisSizes[a]};
        if (spread && *axes[a] != IndexRange{0, axisSizes[a]}) {
          axes[a] = IndexRange{0, axisSizes[a]};
          changed = true;
        }
        if (axes[a]->size != 1)
          spread = true;
      }
    }
    return changed;
  }

  /// The range of dimension `dim` covered by (aligned) axis ranges.
  IndexRange join(size_t dim, const std::vector<std::optional<IndexRange>> &axes) const {
    const std::vector<int64_t> &group = groups[dim];
    int64_t dimSize = getDimSize(dim);
    if (dimSize == 0)
      return {0, 0};
    int64_t lo = 0, size = 1, inner = dimSize;
    bool spread = false;
    for (int64_t a : group) {
      inner /= axisSizes[a];
      IndexRange r = axes[a].value_or(IndexRange{0, axisSizes[a]});
      lo += r.lo * inner;
      if (!spread && r.size != 1) {
        size = r.size * inner;
        spread = true;
      }
    }
    return {lo, size};
  }
};

/// Reads element values out of a dense constant within `w`; booleans become
/// 0/1; a splat stays one element.
LogicalResult readDenseAttr(Operation *op, Attribute attr, const Window &w,
                            Tensor &out) {
  if (auto floatAttr = dyn_cast<FloatAttr>(attr)) {
    out = Tensor::makeSplat(w, floatAttr.getValueAsDouble());
    return success();
  }
  if (auto intAttr = dyn_cast<IntegerAttr>(attr)) {
    out = Tensor::makeSplat(w, intAttr.getType().isInteger(1)
                                   ? double(intAttr.getValue().getZExtValue())
                                   : double(intAttr.getValue().getSExtValue()));
    return success();
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return op->emitError("reference evaluator: unsupported constant "
                         "attribute (only dense and scalar values)");
  auto type = cast<ShapedType>(dense.getType());
  Type elementType = type.getElementType();
  auto toDouble = [&](const APInt &v) {
    return elementType.isInteger(1) ? double(v.getZExtValue())
                                    : double(v.getSExtValue());
  };
  if (dense.isSplat()) {
    double value = isa<FloatType>(elementType)
                       ? dense.getSplatValue<APFloat>().convertToDouble()
                       : toDouble(dense.getSplatValue<APInt>());
    out = Tensor::makeSplat(w, value);
    return success();
  }
  std::vector<double> all;
  int64_t count = type.getNumElements();
  all.reserve(count);
  if (isa<FloatType>(elementType)) {
    for (APFloat v : dense.getValues<APFloat>())
      all.push_back(v.convertToDouble());
  } else {
    for (APInt v : dense.getValues<APInt>())
      all.push_back(toDouble(v));
  }
  Tensor whole;
  whole.shape.assign(type.getShape().begin(), type.getShape().end());
  whole.origin.assign(whole.shape.size(), 0);
  whole.data = std::move(all);
  out = w == whole.getWindow() ? std::move(whole) : crop(whole, w);
  return success();
}

//===----------------------------------------------------------------------===//
// The evaluator
//===----------------------------------------------------------------------===//

struct AttentionInputs;

class Evaluator {
public:
  Evaluator(func::FuncOp func, ArrayRef<ReferenceInput> inputs)
      : func(func), inputs(inputs) {}

  /// Checks the function and its inputs; call once first.
  LogicalResult verify();
  /// The backward pass: the window of every value that the results need,
  /// `demands[i]` being the window wanted of result i (nullopt: not wanted).
  LogicalResult plan(ArrayRef<std::optional<Window>> demands);
  /// Peak bytes the forward pass of the current plan holds, by its count.
  uint64_t estimatePeakBytes();
  /// The forward pass of the current plan; `results[i]` is the demanded
  /// window of result i (empty for results not wanted).
  LogicalResult run(std::vector<Tensor> &results);

  size_t getNumResults() { return returnOp.getNumOperands(); }
  Value getResult(size_t i) { return returnOp.getOperand(i); }

private:
  /// The static shape of a tensor value (or scalar), or failure with an
  /// error at `op`.
  FailureOr<std::vector<int64_t>> getStaticShape(Operation *op, Value value);
  std::vector<int64_t> shapeOf(Value value) {
    if (auto type = dyn_cast<ShapedType>(value.getType()))
      return std::vector<int64_t>(type.getShape().begin(),
                                  type.getShape().end());
    return {};
  }

  /// Derives the windows of `op`'s operands from those of its results,
  /// widening the results' windows where the op computes more than asked.
  LogicalResult derive(Operation *op,
                       SmallVectorImpl<std::optional<Window>> &resultWindows,
                       SmallVectorImpl<std::optional<Window>> &operandWindows);
  /// Whether `op`'s results are splats whenever its operands are, as the
  /// forward pass keeps them (used by the memory estimate).
  bool keepsSplats(Operation *op);

  /// Operand `i` of `op`, cropped to the window `op` reads.
  const Tensor &getOperand(Operation *op, unsigned i);
  /// Operand `i` by value, moved out when this is its last use.
  Tensor takeOperand(Operation *op, unsigned i);

  LogicalResult evalOp(Operation *op, ArrayRef<Window> resultWindows,
                       SmallVectorImpl<Tensor> &results);
  LogicalResult evalElementwise(Operation *op, const Window &w, Tensor &out);
  LogicalResult evalRearrange(RearrangeOp op, const Window &w, Tensor &out);
  LogicalResult evalEinsum(EinsumOp op, const Window &w, Tensor &out);
  LogicalResult evalSoftmax(SoftmaxOp op, const Window &w, Tensor &out);
  LogicalResult evalAttention(AttentionOp op, ArrayRef<Window> resultWindows,
                              SmallVectorImpl<Tensor> &results);
  LogicalResult evalOnlineAttention(OnlineAttentionOp op,
                                    ArrayRef<Window> resultWindows,
                                    SmallVectorImpl<Tensor> &results);
  template <typename OpTy>
  LogicalResult evalScoreRow(OpTy op, ArrayRef<int64_t> batch, int64_t i,
                             std::vector<double> &row);
  FailureOr<double> evalRegion(Block &block, ArrayRef<double> args);
  LogicalResult evalExtractSlice(tensor::ExtractSliceOp op, const Window &w,
                                 Tensor &out);
  LogicalResult evalConcat(tensor::ConcatOp op, const Window &w, Tensor &out);
  LogicalResult evalInsertSlice(tensor::InsertSliceOp op, const Window &w,
                                Tensor &out);
  LogicalResult evalLinalg(linalg::LinalgOp op, ArrayRef<Window> resultWindows,
                           SmallVectorImpl<Tensor> &results);

  func::FuncOp func;
  ArrayRef<ReferenceInput> inputs;
  func::ReturnOp returnOp;

  // The plan.
  llvm::DenseMap<Value, Window> windows;
  llvm::DenseMap<Operation *, SmallVector<std::optional<Window>>> reads;
  std::vector<Operation *> schedule;
  llvm::DenseMap<Value, size_t> lastUse;

  // The forward pass.
  llvm::DenseMap<Value, Tensor> values;
  /// Crops of operands for the op being evaluated.
  std::vector<std::unique_ptr<Tensor>> scratch;
  /// The inputs of the attention op being evaluated (evalScoreRow).
  const AttentionInputs *currentAttention = nullptr;
  size_t current = 0;
};

} // namespace

FailureOr<std::vector<int64_t>> Evaluator::getStaticShape(Operation *op,
                                                          Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type) {
    if (value.getType().isIntOrIndexOrFloat())
      return std::vector<int64_t>{};
    op->emitError("reference evaluator: expected a ranked tensor or scalar, "
                  "got ")
        << value.getType();
    return failure();
  }
  if (!type.hasStaticShape()) {
    op->emitError("reference evaluator: dynamic shapes are not supported: ")
        << type;
    return failure();
  }
  return std::vector<int64_t>(type.getShape().begin(), type.getShape().end());
}

LogicalResult Evaluator::verify() {
  if (func.isExternal())
    return mlir::emitError(func.getLoc(), "reference evaluator: function has no body");
  if (func.getBody().getBlocks().size() != 1)
    return mlir::emitError(func.getLoc(), "reference evaluator: only single-block functions "
                          "are supported");
  Block &entry = func.getBody().front();
  if (entry.getNumArguments() != inputs.size())
    return mlir::emitError(func.getLoc(), "reference evaluator: expected ")
           << entry.getNumArguments() << " inputs, got " << inputs.size();
  for (auto [arg, input] : llvm::zip(entry.getArguments(), inputs)) {
    FailureOr<std::vector<int64_t>> shape = getStaticShape(func, arg);
    if (failed(shape))
      return failure();
    if (*shape != input.shape || !input.read)
      return mlir::emitError(func.getLoc(), "reference evaluator: input ")
             << arg.getArgNumber() << " does not match its type "
             << arg.getType();
  }
  returnOp = dyn_cast<func::ReturnOp>(entry.getTerminator());
  if (!returnOp)
    return mlir::emitError(func.getLoc(), "reference evaluator: function has no func.return");
  for (Operation &op : entry.without_terminator()) {
    for (Value operand : op.getOperands()) {
      if (operand.getParentBlock() != &entry)
        return op.emitError("reference evaluator: operand defined outside "
                            "the evaluated function body");
    }
    for (Value result : op.getResults())
      if (failed(getStaticShape(&op, result)))
        return failure();
  }
  return success();
}

LogicalResult Evaluator::plan(ArrayRef<std::optional<Window>> demands) {
  windows.clear();
  reads.clear();
  schedule.clear();
  lastUse.clear();
  Block &entry = func.getBody().front();
  llvm::DenseMap<Value, std::optional<Window>> need;
  for (auto [value, demand] : llvm::zip(returnOp.getOperands(), demands))
    if (demand)
      unite(need[value], *demand);

  for (Operation &op : llvm::reverse(entry.without_terminator())) {
    SmallVector<std::optional<Window>> resultWindows;
    bool needed = false;
    for (Value result : op.getResults()) {
      auto it = need.find(result);
      resultWindows.push_back(it == need.end() ? std::nullopt : it->second);
      needed |= resultWindows.back().has_value();
    }
    if (!needed)
      continue;
    SmallVector<std::optional<Window>> operandWindows(op.getNumOperands());
    if (failed(derive(&op, resultWindows, operandWindows)))
      return failure();
    for (auto [result, w] : llvm::zip(op.getResults(), resultWindows))
      windows[result] = w ? *w : Window::full(shapeOf(result));
    for (auto [operand, w] : llvm::zip(op.getOperands(), operandWindows))
      if (w)
        unite(need[operand], *w);
    // Values captured by a region (a scalar used in a linalg body) are read
    // whole.
    op.walk([&](Operation *nested) {
      if (nested == &op)
        return;
      for (Value operand : nested->getOperands())
        if (operand.getParentBlock() == &entry)
          unite(need[operand], Window::full(shapeOf(operand)));
    });
    reads[&op] = std::move(operandWindows);
    schedule.push_back(&op);
  }
  std::reverse(schedule.begin(), schedule.end());
  for (BlockArgument arg : entry.getArguments())
    if (auto it = need.find(arg); it != need.end() && it->second)
      windows[arg] = *it->second;

  // Last uses, for freeing; results live to the end.
  for (size_t index = 0; index < schedule.size(); ++index) {
    Operation *op = schedule[index];
    for (Value operand : op->getOperands())
      lastUse[operand] = index;
    op->walk([&](Operation *nested) {
      for (Value operand : nested->getOperands())
        if (operand.getParentBlock() == &entry)
          lastUse[operand] = std::max(lastUse.lookup(operand), index);
    });
  }
  for (Value result : returnOp.getOperands())
    lastUse[result] = std::numeric_limits<size_t>::max();
  return success();
}

bool Evaluator::keepsSplats(Operation *op) {
  if (isa<tensor::EmptyOp, linalg::FillOp, tensor::ExpandShapeOp,
          tensor::CollapseShapeOp, RearrangeOp, tensor::ExtractSliceOp>(op))
    return true;
  if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
    auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
    return !dense || dense.isSplat();
  }
  return op->getNumResults() == 1 &&
         (isa<arith::ArithDialect, math::MathDialect>(op->getDialect()));
}

uint64_t Evaluator::estimatePeakBytes() {
  // Splat-ness as the forward pass will find it.
  llvm::DenseSet<Value> splats;
  auto bytesOf = [&](Value v) -> uint64_t {
    if (splats.count(v))
      return sizeof(double);
    auto it = windows.find(v);
    if (it == windows.end())
      return 0;
    return uint64_t(it->second.getNumElements()) * sizeof(double);
  };
  uint64_t live = 0;
  Block &entry = func.getBody().front();
  for (BlockArgument arg : entry.getArguments())
    live += bytesOf(arg);
  uint64_t peak = live;
  for (auto [index, op] : llvm::enumerate(schedule)) {
    bool allSplat = true;
    uint64_t crops = 0;
    for (auto [operand, w] : llvm::zip(op->getOperands(), reads[op])) {
      if (!w)
        continue;
      allSplat &= splats.count(operand) > 0 ||
                  (isa<arith::ConstantOp>(op) ? true : false);
      if (!splats.count(operand) && windows.lookup(operand) != *w)
        crops += uint64_t(w->getNumElements()) * sizeof(double);
    }
    if (keepsSplats(op) && (allSplat || isa<arith::ConstantOp,
                                            tensor::EmptyOp, linalg::FillOp>(
                                               op))) {
      bool splat = true;
      if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
        auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
        splat = !dense || dense.isSplat();
      }
      if (splat)
        for (Value result : op->getResults())
          splats.insert(result);
    }
    uint64_t produced = 0;
    for (Value result : op->getResults())
      produced += bytesOf(result);
    // Elementwise ops and softmax take over the storage of a dense operand
    // that dies with them (evalElementwise, takeOperand).
    Value reused;
    if (op->getNumResults() == 1 && !splats.count(op->getResult(0)) &&
        (isa<SoftmaxOp>(op) ||
         isa<arith::ArithDialect, math::MathDialect>(op->getDialect())))
      for (auto [operand, w] : llvm::zip(op->getOperands(), reads[op]))
        if (w && lastUse.lookup(operand) == index && !splats.count(operand) &&
            windows.lookup(operand) == windows.lookup(op->getResult(0)) &&
            llvm::count(op->getOperands(), operand) == 1) {
          reused = operand;
          break;
        }
    if (reused)
      produced -= std::min(produced, bytesOf(reused));
    peak = std::max(peak, live + crops + produced);
    live += produced;
    for (Value operand : op->getOperands())
      if (lastUse.lookup(operand) == index && operand != reused)
        live -= std::min(live, bytesOf(operand));
  }
  return peak;
}

const Tensor &Evaluator::getOperand(Operation *op, unsigned i) {
  Value operand = op->getOperand(i);
  const Tensor &stored = values.find(operand)->second;
  const std::optional<Window> &w = reads[op][i];
  if (!w || stored.getWindow() == *w)
    return stored;
  scratch.push_back(std::make_unique<Tensor>(crop(stored, *w)));
  return *scratch.back();
}

Tensor Evaluator::takeOperand(Operation *op, unsigned i) {
  Value operand = op->getOperand(i);
  auto it = values.find(operand);
  const std::optional<Window> &w = reads[op][i];
  bool dies = lastUse.lookup(operand) == current &&
              llvm::count(op->getOperands(), operand) == 1;
  if (w && it->second.getWindow() != *w)
    return crop(it->second, *w);
  if (dies) {
    Tensor moved = std::move(it->second);
    values.erase(it);
    return moved;
  }
  return it->second;
}

LogicalResult Evaluator::run(std::vector<Tensor> &results) {
  values.clear();
  Block &entry = func.getBody().front();
  for (auto [arg, input] : llvm::zip(entry.getArguments(), inputs)) {
    auto it = windows.find(arg);
    if (it == windows.end())
      continue;
    const Window &w = it->second;
    Tensor t = Tensor::makeDense(w);
    // Copy the window row by row through the reader.
    size_t rank = w.dims.size();
    if (rank == 0) {
      input.read(0, 1, t.data.data());
    } else if (t.getNumElements() > 0) {
      std::vector<int64_t> strides = getStrides(input.shape);
      int64_t inner = w.dims[rank - 1].size;
      std::vector<int64_t> index(rank, 0);
      for (int64_t out = 0, n = t.getNumElements(); out < n; out += inner) {
        int64_t begin = 0;
        for (size_t d = 0; d < rank; ++d)
          begin += (w.dims[d].lo + index[d]) * strides[d];
        input.read(begin, inner, t.data.data() + out);
        for (int64_t d = int64_t(rank) - 2; d >= 0; --d) {
          if (++index[d] < w.dims[d].size)
            break;
          index[d] = 0;
        }
      }
    }
    values[arg] = std::move(t);
  }

  for (auto [index, op] : llvm::enumerate(schedule)) {
    current = index;
    SmallVector<Window> resultWindows;
    for (Value result : op->getResults())
      resultWindows.push_back(windows.find(result)->second);
    SmallVector<Tensor> produced;
    LogicalResult status = evalOp(op, resultWindows, produced);
    scratch.clear();
    if (failed(status))
      return failure();
    for (Value operand : op->getOperands())
      if (lastUse.lookup(operand) == index)
        values.erase(operand);
    for (auto [result, t] : llvm::zip(op->getResults(), produced))
      values[result] = std::move(t);
  }
  results.clear();
  for (Value v : returnOp.getOperands()) {
    auto it = values.find(v);
    results.push_back(it == values.end() ? Tensor() : it->second);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Windows each op reads
//===----------------------------------------------------------------------===//

/// The axis ranges of a rearrange plan for the result window `w`, aligned.
static std::vector<std::optional<IndexRange>>
rearrangeAxes(const ::attn::RearrangePlan &plan, const Window &w) {
  AxisGroups in{plan.elementarySizes, plan.inputGroups};
  AxisGroups out{plan.elementarySizes, plan.outputGroups};
  std::vector<std::optional<IndexRange>> axes(plan.elementarySizes.size());
  for (size_t j = 0; j < plan.outputGroups.size(); ++j)
    if (!plan.outputGroups[j].empty())
      out.split(j, w.dims[j], axes);
  // Aligning one side can unalign the other; both only ever widen.
  for (bool changed = true; changed;) {
    bool inChanged = in.align(axes);
    bool outChanged = out.align(axes);
    changed = inChanged || outChanged;
  }
  return axes;
}

/// The reassociation of an expand/collapse as axis groups: the axes are the
/// dims of the larger-rank side.
static AxisGroups reshapeGroups(Operation *op) {
  AxisGroups groups;
  SmallVector<ReassociationIndices> reassociation;
  ShapedType axesType;
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    reassociation = expand.getReassociationIndices();
    axesType = expand.getResultType();
  } else {
    auto collapse = cast<tensor::CollapseShapeOp>(op);
    reassociation = collapse.getReassociationIndices();
    axesType = collapse.getSrcType();
  }
  groups.axisSizes.assign(axesType.getShape().begin(),
                          axesType.getShape().end());
  for (const ReassociationIndices &group : reassociation)
    groups.groups.emplace_back(group.begin(), group.end());
  return groups;
}

/// The box of an attention op's iteration domain that its result windows
/// cover: batch dimensions, queries and value features from the
/// destinations' maps, the feature and key dimensions whole (every score
/// reads all of them).
template <typename OpTy>
static FailureOr<std::vector<IndexRange>>
getAttentionDomain(OpTy op, ArrayRef<std::optional<Window>> resultWindows) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return op.emitError("reference evaluator: dynamic attention shape");
  std::vector<std::optional<IndexRange>> domain(ranges.size());
  for (auto [init, w] : llvm::zip(op.getDpsInitsMutable(), resultWindows)) {
    if (!w)
      continue;
    AffineMap map = op.getMatchingIndexingMap(&init);
    for (auto [r, expr] : llvm::enumerate(map.getResults()))
      if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
        std::optional<Window> into;
        if (domain[dim.getPosition()])
          into = Window{{*domain[dim.getPosition()]}};
        unite(into, Window{{w->dims[r]}});
        domain[dim.getPosition()] = into->dims[0];
      }
  }
  std::vector<IndexRange> result;
  for (auto [d, range] : llvm::enumerate(domain)) {
    bool whole = !range || int64_t(d) == op.getHeadDim() ||
                 int64_t(d) == op.getKeyDim();
    result.push_back(whole ? IndexRange{0, ranges[d]} : *range);
  }
  return result;
}

/// The window of an attention operand read through `map` over `domain`
/// (constant-0 results read index 0).
static Window getMappedWindow(AffineMap map, ArrayRef<IndexRange> domain) {
  Window w;
  for (AffineExpr expr : map.getResults()) {
    if (auto dim = dyn_cast<AffineDimExpr>(expr))
      w.dims.push_back(domain[dim.getPosition()]);
    else
      w.dims.push_back({0, 1});
  }
  return w;
}

template <typename OpTy>
static LogicalResult
deriveAttentionWindows(OpTy op,
                       SmallVectorImpl<std::optional<Window>> &resultWindows,
                       SmallVectorImpl<std::optional<Window>> &operandWindows) {
  FailureOr<std::vector<IndexRange>> domain =
      getAttentionDomain(op, resultWindows);
  if (failed(domain))
    return failure();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  for (auto [map, entry] : llvm::zip(maps, getAttentionOperands(op))) {
    auto [role, operand] = entry;
    // The block mask counts blocks, not queries and keys: read whole.
    operandWindows[operand->getOperandNumber()] =
        role == AttentionRole::BlockMask
            ? Window::full(cast<ShapedType>(operand->get().getType())
                               .getShape())
            : getMappedWindow(map, *domain);
  }
  unsigned firstOffset = op.getOffsets().getBeginOperandIndex();
  for (unsigned i = 0; i < op.getOffsets().size(); ++i)
    operandWindows[firstOffset + i] = Window();
  for (auto [r, init] : llvm::enumerate(op.getDpsInitsMutable()))
    resultWindows[r] = operandWindows[init.getOperandNumber()];
  return success();
}

LogicalResult
Evaluator::derive(Operation *op,
                  SmallVectorImpl<std::optional<Window>> &resultWindows,
                  SmallVectorImpl<std::optional<Window>> &operandWindows) {
  auto fullOf = [&](Value v) { return Window::full(shapeOf(v)); };
  for (auto [result, w] : llvm::zip(op->getResults(), resultWindows))
    if (!w && op->getNumResults() > 1)
      w = fullOf(result); // multi-result ops compute every result
  if (op->getNumResults() == 1 && !resultWindows[0])
    resultWindows[0] = fullOf(op->getResult(0));

  if (isa<arith::ConstantOp, tensor::EmptyOp>(op))
    return success();

  if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(op)) {
    AxisGroups groups = reshapeGroups(op);
    std::vector<std::optional<IndexRange>> axes(groups.axisSizes.size());
    Window &w = *resultWindows[0];
    bool expand = isa<tensor::ExpandShapeOp>(op);
    if (expand) {
      for (size_t a = 0; a < axes.size(); ++a)
        axes[a] = w.dims[a];
    } else {
      for (size_t j = 0; j < groups.groups.size(); ++j)
        groups.split(j, w.dims[j], axes);
    }
    groups.align(axes);
    Window grouped, flat;
    for (size_t j = 0; j < groups.groups.size(); ++j)
      grouped.dims.push_back(groups.join(j, axes));
    for (const std::optional<IndexRange> &r : axes)
      flat.dims.push_back(*r);
    resultWindows[0] = expand ? flat : grouped;
    operandWindows[0] = expand ? grouped : flat;
    return success();
  }

  if (auto rearrange = dyn_cast<RearrangeOp>(op)) {
    std::optional<::attn::RearrangePlan> plan = rearrange.getPlan();
    if (!plan)
      return op->emitError("reference evaluator: rearrange pattern does not "
                           "solve for the input shape");
    std::vector<std::optional<IndexRange>> axes =
        rearrangeAxes(*plan, *resultWindows[0]);
    AxisGroups in{plan->elementarySizes, plan->inputGroups};
    AxisGroups out{plan->elementarySizes, plan->outputGroups};
    Window input, result;
    for (size_t i = 0; i < plan->inputGroups.size(); ++i)
      input.dims.push_back(in.join(i, axes));
    for (size_t j = 0; j < plan->outputGroups.size(); ++j)
      result.dims.push_back(out.join(j, axes));
    resultWindows[0] = result;
    operandWindows[0] = input;
    return success();
  }

  if (auto einsum = dyn_cast<EinsumOp>(op)) {
    std::optional<::attn::EinsumPlan> plan = einsum.getPlan();
    if (!plan)
      return op->emitError("reference evaluator: einsum equation does not "
                           "solve for the operand shapes");
    std::map<std::string, IndexRange> labels;
    for (const auto &[label, size] : plan->sizes)
      labels[label] = {0, size};
    const Window &w = *resultWindows[0];
    for (auto [d, label] : llvm::enumerate(plan->output))
      labels[label] = w.dims[d];
    for (auto [t, input] : llvm::enumerate(einsum.getInputs())) {
      std::vector<int64_t> shape = shapeOf(input);
      Window in;
      for (auto [d, label] : llvm::enumerate(plan->inputs[t]))
        in.dims.push_back(shape[d] == 1 && plan->sizes.at(label) != 1
                              ? IndexRange{0, 1}
                              : labels.at(label));
      operandWindows[t] = in;
    }
    return success();
  }

  if (auto softmax = dyn_cast<SoftmaxOp>(op)) {
    Window &w = *resultWindows[0];
    int64_t axis = softmax.getNormalizedAxis();
    w.dims[axis] = {0, shapeOf(softmax.getResult())[axis]};
    operandWindows[0] = w;
    return success();
  }

  if (auto attention = dyn_cast<AttentionOp>(op))
    return deriveAttentionWindows(attention, resultWindows, operandWindows);
  if (auto online = dyn_cast<OnlineAttentionOp>(op))
    return deriveAttentionWindows(online, resultWindows, operandWindows);

  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    ArrayRef<int64_t> offsets = slice.getStaticOffsets();
    ArrayRef<int64_t> sizes = slice.getStaticSizes();
    ArrayRef<int64_t> steps = slice.getStaticStrides();
    for (ArrayRef<int64_t> list : {offsets, sizes, steps})
      for (int64_t value : list)
        if (ShapedType::isDynamic(value))
          return op->emitError("reference evaluator: dynamic slice "
                               "parameters are not supported");
    llvm::SmallBitVector dropped = slice.getDroppedDims();
    const Window &w = *resultWindows[0];
    Window source;
    size_t r = 0;
    for (size_t s = 0; s < offsets.size(); ++s) {
      if (dropped.test(s)) {
        source.dims.push_back({offsets[s], 1});
        continue;
      }
      IndexRange res = w.dims[r++];
      if (res.size == 0)
        source.dims.push_back({offsets[s], 0});
      else
        source.dims.push_back({offsets[s] + res.lo * steps[s],
                               (res.size - 1) * steps[s] + 1});
    }
    operandWindows[0] = source;
    return success();
  }

  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
    ArrayRef<int64_t> offsets = insert.getStaticOffsets();
    ArrayRef<int64_t> sizes = insert.getStaticSizes();
    if (ShapedType::isDynamicShape(offsets) ||
        ShapedType::isDynamicShape(sizes) ||
        llvm::any_of(insert.getStaticStrides(),
                     [](int64_t s) { return s != 1; }) ||
        insert.getSourceType().getRank() != insert.getDestType().getRank())
      return op->emitError("reference evaluator: only static, unit-stride, "
                           "not rank-reducing tensor.insert_slice is "
                           "supported");
    // The destination where the window is; the source where the window
    // meets the slice (not at all when they are disjoint).
    const Window &w = *resultWindows[0];
    operandWindows[1] = w;
    Window source;
    bool meets = true;
    for (auto [range, offset, size] : llvm::zip(w.dims, offsets, sizes)) {
      int64_t lo = std::max(range.lo, offset);
      int64_t hi = std::min(range.hi(), offset + size);
      meets = meets && hi > lo;
      source.dims.push_back({lo - offset, std::max<int64_t>(hi - lo, 0)});
    }
    if (meets)
      operandWindows[0] = source;
    return success();
  }

  if (auto concat = dyn_cast<tensor::ConcatOp>(op)) {
    int64_t dim = concat.getDim();
    const Window &w = *resultWindows[0];
    int64_t start = 0;
    for (auto [t, input] : llvm::enumerate(concat.getInputs())) {
      int64_t size = shapeOf(input)[dim];
      int64_t lo = std::max(w.dims[dim].lo, start);
      int64_t hi = std::min(w.dims[dim].hi(), start + size);
      if (hi > lo) {
        Window in = w;
        in.dims[dim] = {lo - start, hi - lo};
        operandWindows[t] = in;
      }
      start += size;
    }
    return success();
  }

  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
    if (!linalgOp.hasPureTensorSemantics())
      return op->emitError("reference evaluator: linalg op on buffers");
    SmallVector<int64_t> loopSizes = linalgOp.getStaticLoopRanges();
    for (int64_t size : loopSizes)
      if (ShapedType::isDynamic(size))
        return op->emitError("reference evaluator: dynamic loop range");
    SmallVector<AffineMap> maps = linalgOp.getIndexingMapsArray();
    unsigned numInputs = linalgOp.getNumDpsInputs();
    std::vector<std::optional<IndexRange>> loops(loopSizes.size());
    for (auto [r, w] : llvm::enumerate(resultWindows)) {
      AffineMap map = maps[numInputs + r];
      for (unsigned i = 0; i < map.getNumResults(); ++i) {
        auto dimExpr = dyn_cast<AffineDimExpr>(map.getResult(i));
        if (!dimExpr)
          continue;
        std::optional<Window> one = Window{{w->dims[i]}};
        std::optional<Window> into =
            loops[dimExpr.getPosition()]
                ? std::optional<Window>(Window{{*loops[dimExpr.getPosition()]}})
                : std::nullopt;
        unite(into, *one);
        loops[dimExpr.getPosition()] = into->dims[0];
      }
    }
    for (auto [l, r] : llvm::enumerate(loops))
      if (!r)
        r = IndexRange{0, loopSizes[l]};
    auto windowOf = [&](AffineMap map) -> FailureOr<Window> {
      Window out;
      for (AffineExpr expr : map.getResults()) {
        if (auto dimExpr = dyn_cast<AffineDimExpr>(expr)) {
          out.dims.push_back(*loops[dimExpr.getPosition()]);
          continue;
        }
        auto constant = dyn_cast<AffineConstantExpr>(expr);
        if (!constant || constant.getValue() != 0)
          return op->emitError("reference evaluator: unsupported indexing "
                               "map ")
                 << AffineMapAttr::get(map);
        out.dims.push_back({0, 1});
      }
      return out;
    };
    for (unsigned n = 0; n < op->getNumOperands(); ++n) {
      FailureOr<Window> w = windowOf(maps[n]);
      if (failed(w))
        return failure();
      if (w->dims.size() != shapeOf(op->getOperand(n)).size())
        return op->emitError("reference evaluator: indexing map rank "
                             "mismatch");
      operandWindows[n] = *w;
    }
    for (unsigned r = 0; r < op->getNumResults(); ++r)
      resultWindows[r] = operandWindows[numInputs + r];
    return success();
  }

  if (op->getNumResults() == 1 &&
      isa<arith::ArithDialect, math::MathDialect>(op->getDialect())) {
    const Window &w = *resultWindows[0];
    for (auto [n, operand] : llvm::enumerate(op->getOperands())) {
      std::vector<int64_t> shape = shapeOf(operand);
      operandWindows[n] = shape.empty() ? Window() : w;
    }
    return success();
  }
  return op->emitError("reference evaluator does not support '")
         << op->getName() << "'";
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

LogicalResult Evaluator::evalOp(Operation *op, ArrayRef<Window> resultWindows,
                                SmallVectorImpl<Tensor> &results) {
  if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
    results.emplace_back();
    return readDenseAttr(op, constant.getValue(), resultWindows[0],
                         results.back());
  }
  if (isa<tensor::EmptyOp>(op)) {
    results.push_back(Tensor::makeSplat(resultWindows[0], 0.0));
    return success();
  }
  if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(op)) {
    // Aligned windows hold the same elements in the same order.
    Tensor t = takeOperand(op, 0);
    t.shape = resultWindows[0].sizes();
    t.origin = resultWindows[0].origin();
    results.push_back(std::move(t));
    return success();
  }
  if (auto fill = dyn_cast<linalg::FillOp>(op)) {
    const Tensor &value = getOperand(op, 0);
    results.push_back(Tensor::makeSplat(resultWindows[0], value.at(0)));
    return success();
  }
  if (auto attention = dyn_cast<AttentionOp>(op))
    return evalAttention(attention, resultWindows, results);
  if (auto online = dyn_cast<OnlineAttentionOp>(op))
    return evalOnlineAttention(online, resultWindows, results);
  results.emplace_back();
  if (auto rearrange = dyn_cast<RearrangeOp>(op))
    return evalRearrange(rearrange, resultWindows[0], results.back());
  if (auto einsum = dyn_cast<EinsumOp>(op))
    return evalEinsum(einsum, resultWindows[0], results.back());
  if (auto softmax = dyn_cast<SoftmaxOp>(op))
    return evalSoftmax(softmax, resultWindows[0], results.back());
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op))
    return evalExtractSlice(slice, resultWindows[0], results.back());
  if (auto concat = dyn_cast<tensor::ConcatOp>(op))
    return evalConcat(concat, resultWindows[0], results.back());
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op))
    return evalInsertSlice(insert, resultWindows[0], results.back());
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
    results.clear();
    return evalLinalg(linalgOp, resultWindows, results);
  }
  if (op->getNumResults() == 1 &&
      isa<arith::ArithDialect, math::MathDialect>(op->getDialect()))
    return evalElementwise(op, resultWindows[0], results.back());
  return op->emitError("reference evaluator does not support '")
         << op->getName() << "'";
}

LogicalResult Evaluator::evalElementwise(Operation *op, const Window &w,
                                         Tensor &out) {
  int64_t count = w.getNumElements();
  SmallVector<const Tensor *> operands;
  bool allSplat = true;
  // The result may take the storage of an operand that dies here.
  std::optional<unsigned> reuse;
  for (unsigned i = 0; i < op->getNumOperands(); ++i) {
    Value operand = op->getOperand(i);
    std::vector<int64_t> shape = shapeOf(operand);
    // A scalar operand (arith.select's condition) applies to every element.
    if (!shape.empty() && shape != shapeOf(op->getResult(0)))
      return op->emitError("reference evaluator: operand shapes differ");
    const Tensor &t = getOperand(op, i);
    allSplat &= t.splat || shape.empty();
    if (!reuse && !t.splat && !shape.empty() &&
        lastUse.lookup(operand) == current &&
        llvm::count(op->getOperands(), operand) == 1 &&
        &t == &values.find(operand)->second)
      reuse = i;
    operands.push_back(&t);
  }
  SmallVector<double, 4> args(operands.size());
  if (allSplat) {
    for (auto [k, t] : llvm::enumerate(operands))
      args[k] = t->at(0);
    FailureOr<double> v = evalScalar(op, args);
    if (failed(v))
      return op->emitError("reference evaluator does not support '")
             << op->getName() << "'";
    out = Tensor::makeSplat(w, *v);
    return success();
  }
  Tensor result;
  if (reuse) {
    // In place: element i of the operand is read before it is written.
    Tensor &dying = values.find(op->getOperand(*reuse))->second;
    result = std::move(dying);
    operands[*reuse] = &result;
  } else {
    result = Tensor::makeDense(w);
  }
  for (int64_t i = 0; i < count; ++i) {
    for (auto [k, t] : llvm::enumerate(operands))
      args[k] = t->shape.empty() ? t->at(0) : t->at(i);
    FailureOr<double> v = evalScalar(op, args);
    if (failed(v))
      return op->emitError("reference evaluator does not support '")
             << op->getName() << "'";
    result.data[i] = *v;
  }
  result.shape = w.sizes();
  result.origin = w.origin();
  out = std::move(result);
  return success();
}

LogicalResult Evaluator::evalRearrange(RearrangeOp op, const Window &w,
                                       Tensor &out) {
  std::optional<::attn::RearrangePlan> plan = op.getPlan();
  if (!plan)
    return op.emitError("reference evaluator: rearrange pattern does not "
                        "solve for the input shape");
  const Tensor &input = getOperand(op, 0);
  if (input.splat) {
    out = Tensor::makeSplat(w, input.at(0));
    return success();
  }
  std::vector<std::optional<IndexRange>> axes = rearrangeAxes(*plan, w);
  // Stride of every elementary axis in the input window: each input
  // dimension is split row-major into its group of axes.
  std::vector<int64_t> inputStrides = getStrides(input.shape);
  std::vector<int64_t> axisStrides(plan->elementarySizes.size(), 0);
  for (size_t dim = 0; dim < plan->inputGroups.size(); ++dim) {
    int64_t stride = inputStrides[dim];
    const std::vector<int64_t> &group = plan->inputGroups[dim];
    for (auto it = group.rbegin(); it != group.rend(); ++it) {
      axisStrides[*it] = stride;
      stride *= axes[*it]->size;
    }
  }
  // The output is the elementary axes in output order, read row-major; the
  // regrouping on the right is a free reshape.
  std::vector<int64_t> sizes, strides;
  for (int64_t axis : plan->outputAxisOrder()) {
    sizes.push_back(axes[axis]->size);
    strides.push_back(axisStrides[axis]);
  }
  out = Tensor::makeDense(w);
  if (getProduct(sizes) != out.getNumElements())
    return op.emitError("reference evaluator: inconsistent rearrange plan");
  gatherStrided(input.data.data(), sizes, strides, 0, out.data.data());
  return success();
}

LogicalResult Evaluator::evalEinsum(EinsumOp op, const Window &w,
                                    Tensor &out) {
  std::optional<::attn::EinsumPlan> plan = op.getPlan();
  if (!plan)
    return op.emitError("reference evaluator: einsum equation does not solve "
                        "for the operand shapes");
  size_t numInputs = plan->inputs.size();
  // Loop order: output labels, then summed labels innermost so each output
  // element accumulates in place.
  std::vector<std::string> labels = plan->output;
  for (const std::string &label : plan->reductionLabels())
    labels.push_back(label);
  if (labels.empty())
    labels.push_back(""); // all-scalar einsum: one trip
  size_t numLabels = labels.size();
  // Sizes within the window: the output's window for output labels, the
  // whole label for summed ones.
  std::vector<int64_t> sizes;
  for (const std::string &label : labels) {
    auto pos = llvm::find(plan->output, label);
    if (pos != plan->output.end())
      sizes.push_back(w.dims[pos - plan->output.begin()].size);
    else
      sizes.push_back(label.empty() ? 1 : plan->sizes.at(label));
  }

  // strides[o][l]: step in operand o (the output is o == numInputs) when
  // label l advances. A repeated label (diagonal) adds its dims' strides; a
  // broadcast dim of size 1 has stride 0.
  std::vector<std::vector<int64_t>> strides(
      numInputs + 1, std::vector<int64_t>(numLabels, 0));
  auto addStrides = [&](size_t o, const std::vector<std::string> &term,
                        const std::vector<int64_t> &fullShape,
                        const std::vector<int64_t> &shape) {
    std::vector<int64_t> dimStrides = getStrides(shape);
    for (size_t d = 0; d < term.size(); ++d) {
      auto it = llvm::find(labels, term[d]);
      if (it == labels.end())
        continue;
      if (fullShape[d] == 1 && plan->sizes.at(term[d]) != 1)
        continue;
      strides[o][it - labels.begin()] += dimStrides[d];
    }
  };
  std::vector<const Tensor *> inputs;
  for (size_t o = 0; o < numInputs; ++o) {
    inputs.push_back(&getOperand(op, o));
    if (inputs.back()->shape.size() != plan->inputs[o].size())
      return op.emitError("reference evaluator: einsum plan rank mismatch");
    if (inputs.back()->splat)
      const_cast<Tensor *>(inputs.back())->materialize();
    addStrides(o, plan->inputs[o], shapeOf(op.getInputs()[o]),
               inputs.back()->shape);
  }
  out = Tensor::makeDense(w);
  addStrides(numInputs, plan->output, plan->outputShape, out.shape);

  if (getProduct(sizes) != 0) {
    std::vector<int64_t> index(numLabels, 0);
    std::vector<int64_t> offsets(numInputs + 1, 0);
    int64_t inner = sizes[numLabels - 1];
    int64_t total = getProduct(sizes);
    std::vector<const double *> data;
    std::vector<int64_t> innerStrides;
    for (size_t o = 0; o < numInputs; ++o) {
      data.push_back(inputs[o]->data.data());
      innerStrides.push_back(strides[o][numLabels - 1]);
    }
    int64_t outInner = strides[numInputs][numLabels - 1];
    double *outData = out.data.data();
    for (int64_t done = 0; done < total; done += inner) {
      if (numInputs == 2) {
        const double *a = data[0] + offsets[0], *b = data[1] + offsets[1];
        int64_t sa = innerStrides[0], sb = innerStrides[1];
        if (outInner == 0) {
          double acc = 0;
          for (int64_t k = 0; k < inner; ++k)
            acc += a[k * sa] * b[k * sb];
          outData[offsets[numInputs]] += acc;
        } else {
          for (int64_t k = 0; k < inner; ++k)
            outData[offsets[numInputs] + k * outInner] += a[k * sa] * b[k * sb];
        }
      } else {
        for (int64_t k = 0; k < inner; ++k) {
          double product = 1;
          for (size_t o = 0; o < numInputs; ++o)
            product *= data[o][offsets[o] + k * innerStrides[o]];
          outData[offsets[numInputs] + k * outInner] += product;
        }
      }
      for (int64_t l = int64_t(numLabels) - 2; l >= 0; --l) {
        for (size_t o = 0; o <= numInputs; ++o)
          offsets[o] += strides[o][l];
        if (++index[l] < sizes[l])
          break;
        for (size_t o = 0; o <= numInputs; ++o)
          offsets[o] -= strides[o][l] * sizes[l];
        index[l] = 0;
      }
    }
  }
  double scale = op.getScaleValue();
  if (scale != 1.0)
    for (double &v : out.data)
      v *= scale;
  return success();
}

/// Softmax of `count` elements at `data[i * stride]`, in place; a slice whose
/// maximum is -inf (every key masked) becomes 0, as the op specifies, and a
/// slice holding a NaN becomes NaN, as torch.softmax gives (std::max would
/// skip a NaN after the first element and make an all-NaN slice zeros).
static void softmaxSlice(double *data, int64_t count, int64_t stride) {
  double maxValue = -kInf;
  for (int64_t i = 0; i < count; ++i) {
    double x = data[i * stride];
    if (std::isnan(x)) {
      for (int64_t j = 0; j < count; ++j)
        data[j * stride] = std::nan("");
      return;
    }
    maxValue = std::max(maxValue, x);
  }
  if (maxValue == -kInf) {
    for (int64_t i = 0; i < count; ++i)
      data[i * stride] = 0;
    return;
  }
  double sum = 0;
  for (int64_t i = 0; i < count; ++i) {
    double e = std::exp(data[i * stride] - maxValue);
    data[i * stride] = e;
    sum += e;
  }
  for (int64_t i = 0; i < count; ++i)
    data[i * stride] /= sum;
}

LogicalResult Evaluator::evalSoftmax(SoftmaxOp op, const Window &w,
                                     Tensor &out) {
  out = takeOperand(op, 0);
  out.materialize();
  int64_t axis = op.getNormalizedAxis();
  if (axis < 0 || axis >= int64_t(out.shape.size()))
    return op.emitError("reference evaluator: softmax axis out of range");
  int64_t size = out.shape[axis];
  int64_t inner = getProduct(ArrayRef<int64_t>(out.shape).drop_front(axis + 1));
  int64_t outer = getProduct(ArrayRef<int64_t>(out.shape).take_front(axis));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i)
      softmaxSlice(out.data.data() + o * size * inner + i, size, inner);
  return success();
}

namespace {
/// An attention operand's window read at points of the iteration domain
/// (global coordinates) through the operand's indexing map.
struct MappedOperand {
  const Tensor *tensor = nullptr;
  /// Per domain dimension, the step in the window's data.
  std::vector<int64_t> strides;
  /// The data offset of domain point 0 (the window's origin subtracted).
  int64_t base = 0;

  MappedOperand() = default;
  MappedOperand(const Tensor &t, AffineMap map) : tensor(&t) {
    strides.assign(map.getNumDims(), 0);
    if (t.splat)
      return;
    std::vector<int64_t> dimStrides = getStrides(t.shape);
    for (unsigned r = 0; r < map.getNumResults(); ++r)
      if (auto dim = dyn_cast<AffineDimExpr>(map.getResult(r))) {
        strides[dim.getPosition()] += dimStrides[r];
        base -= t.origin[r] * dimStrides[r];
      }
  }
  int64_t offsetOf(ArrayRef<int64_t> point) const {
    int64_t offset = base;
    for (size_t d = 0; d < strides.size(); ++d)
      offset += point[d] * strides[d];
    return offset;
  }
  double at(ArrayRef<int64_t> point) const {
    return tensor->at(offsetOf(point));
  }
};

/// The inputs of an attention op for the window being evaluated.
struct AttentionInputs {
  MappedOperand q, k, v;
  std::optional<MappedOperand> mask, weight, lengths, blocks;
  /// The destinations as inputs (attn.online_attention's running values).
  std::optional<MappedOperand> accIn, maxIn, sumIn;
  std::vector<int64_t> offsets;
};
} // namespace

/// The ops of a score_mod region on one score: block arguments bound to
/// `args`, tensors defined outside (read whole, see plan()) read with
/// tensor.extract.
FailureOr<double> Evaluator::evalRegion(Block &block, ArrayRef<double> args) {
  llvm::DenseMap<Value, double> scalars;
  for (auto [arg, value] : llvm::zip(block.getArguments(), args))
    scalars[arg] = value;
  for (Operation &inner : block) {
    if (auto yield = dyn_cast<YieldOp>(inner))
      return scalars.lookup(yield.getValues()[0]);
    if (auto constant = dyn_cast<arith::ConstantOp>(inner)) {
      Tensor c;
      if (failed(readDenseAttr(&inner, constant.getValue(), Window(), c)) ||
          c.data.size() != 1)
        return inner.emitError("reference evaluator: unsupported constant");
      scalars[constant.getResult()] = c.data[0];
      continue;
    }
    auto scalarOf = [&](Value v) -> std::optional<double> {
      auto it = scalars.find(v);
      if (it != scalars.end())
        return it->second;
      auto outer = values.find(v);
      if (outer != values.end() && outer->second.getNumElements() == 1)
        return outer->second.at(0);
      return std::nullopt;
    };
    if (auto extract = dyn_cast<tensor::ExtractOp>(inner)) {
      auto outer = values.find(extract.getTensor());
      if (outer == values.end())
        return inner.emitError("reference evaluator: score_mod reads a "
                               "tensor it cannot see");
      const Tensor &t = outer->second;
      std::vector<int64_t> strides = getStrides(t.shape);
      int64_t offset = 0;
      for (auto [d, index] : llvm::enumerate(extract.getIndices())) {
        std::optional<double> i = scalarOf(index);
        int64_t local = i ? int64_t(*i) - t.origin[d] : -1;
        if (!i || local < 0 || local >= t.shape[d])
          return inner.emitError("reference evaluator: tensor.extract index "
                                 "out of bounds in score_mod");
        offset += local * strides[d];
      }
      scalars[extract.getResult()] = t.at(offset);
      continue;
    }
    SmallVector<double, 4> operands;
    for (Value v : inner.getOperands()) {
      std::optional<double> value = scalarOf(v);
      if (!value)
        return inner.emitError("reference evaluator: unsupported value in "
                               "score_mod");
      operands.push_back(*value);
    }
    FailureOr<double> result = evalScalar(&inner, operands);
    if (failed(result) || inner.getNumResults() != 1)
      return inner.emitError("reference evaluator does not support '")
             << inner.getName() << "' in score_mod";
    scalars[inner.getResult(0)] = *result;
  }
  return block.getParentOp()->emitError(
      "reference evaluator: score_mod has no attn.yield");
}

/// Reads the inputs of an attention op (its operands cropped to the
/// windows plan() chose) through their maps.
template <typename OpTy>
static AttentionInputs
readAttentionInputs(OpTy op,
                    function_ref<const Tensor &(unsigned)> getOperand) {
  AttentionInputs in;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  for (auto [map, entry] : llvm::zip(maps, getAttentionOperands(op))) {
    auto [role, operand] = entry;
    MappedOperand mapped(getOperand(operand->getOperandNumber()), map);
    switch (role) {
    case AttentionRole::Query:
      in.q = mapped;
      break;
    case AttentionRole::Key:
      in.k = mapped;
      break;
    case AttentionRole::Value:
      in.v = mapped;
      break;
    case AttentionRole::Mask:
      in.mask = mapped;
      break;
    case AttentionRole::Weight:
      in.weight = mapped;
      break;
    case AttentionRole::KeyLengths:
      in.lengths = mapped;
      break;
    case AttentionRole::BlockMask:
      in.blocks = mapped;
      break;
    case AttentionRole::Acc:
      in.accIn = mapped;
      break;
    case AttentionRole::Max:
      in.maxIn = mapped;
      break;
    case AttentionRole::Sum:
      in.sumIn = mapped;
      break;
    default:
      break;
    }
  }
  unsigned firstOffset = op.getOffsets().getBeginOperandIndex();
  for (unsigned i = 0; i < op.getOffsets().size(); ++i)
    in.offsets.push_back(int64_t(getOperand(firstOffset + i).at(0)));
  return in;
}

/// The masked scores of one query row of an attention op, straight from its
/// specification in AttnOps.td: `batch` and `i` are domain coordinates.
template <typename OpTy>
LogicalResult Evaluator::evalScoreRow(OpTy op, ArrayRef<int64_t> batch,
                                      int64_t i, std::vector<double> &row) {
  const AttentionInputs &in = *currentAttention;
  int64_t nb = op.getNumBatchDims();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t d = ranges[nb + 1], sk = ranges[nb + 2];
  bool boolMask = op.getMask() && cast<ShapedType>(op.getMask().getType())
                                      .getElementType()
                                      .isInteger(1);
  bool keepOrDrop = op.getKeepOrDrop();
  // Global positions: the offsets, when the op is a tile.
  const std::vector<int64_t> &offsets = in.offsets;
  int64_t positions = offsets.empty() ? nb : int64_t(offsets.size()) - 2;
  int64_t outer = positions - nb;
  auto globalOf = [&](int64_t p) -> int64_t {
    return offsets.empty() ? 0 : offsets[p];
  };
  std::vector<double> regionArgs(positions + 3);
  for (int64_t p = 0; p < positions; ++p)
    regionArgs[1 + p] =
        p < outer ? globalOf(p) : globalOf(p) + batch[p - outer];
  int64_t gi = globalOf(positions) + i;
  regionArgs[1 + positions] = gi;
  std::vector<int64_t> point(nb + 4, 0);
  for (int64_t b = 0; b < nb; ++b)
    point[b] = batch[b];
  point[nb] = i;
  double scale = op.getScale().convertToDouble();
  ScoreKind kind = op.getScore();
  std::optional<std::pair<int64_t, int64_t>> window = op.getWindowBounds();
  row.assign(sk, 0);
  for (int64_t j = 0; j < sk; ++j) {
    point[nb + 2] = j;
    int64_t gj = globalOf(positions + 1) + j;
    double s = 0;
    for (int64_t c = 0; c < d; ++c) {
      point[nb + 1] = c;
      double x = in.q.at(point), y = in.k.at(point);
      double w = in.weight ? in.weight->at(point) : 1.0;
      switch (kind) {
      case ScoreKind::Dot:
        s += x * y;
        break;
      case ScoreKind::Additive:
        s += w * std::tanh(x + y);
        break;
      case ScoreKind::Gaussian: {
        double t = (x - y) * w;
        s += t * t;
        break;
      }
      }
    }
    point[nb + 1] = 0;
    s = kind == ScoreKind::Gaussian ? -scale / 2 * s : scale * s;
    if (op.hasScoreMod()) {
      regionArgs[0] = s;
      regionArgs[2 + positions] = double(gj);
      FailureOr<double> modified =
          evalRegion(op.getScoreMod().front(), regionArgs);
      if (failed(modified))
        return failure();
      s = *modified;
    }
    if (in.mask) {
      double m = in.mask->at(point);
      // A boolean mask (or its 0 / -inf form) replaces the score: a masked
      // key is ignored whatever its score; an additive one is added.
      if (boolMask)
        s = m != 0 ? s : -kInf;
      else if (keepOrDrop)
        s = m == -kInf ? -kInf : s;
      else
        s += m;
    }
    if (op.getCausal() && gj > gi)
      s = -kInf;
    if (window && (gj < gi - window->first || gj > gi + window->second))
      s = -kInf;
    if (in.lengths && gj >= int64_t(in.lengths->at(point)))
      s = -kInf;
    if (in.blocks) {
      ArrayRef<int64_t> sizes = *op.getBlockSizes();
      // The block mask's M and K2 dimensions count blocks.
      std::vector<int64_t> blockPoint(point);
      blockPoint[nb] = gi / sizes[0];
      blockPoint[nb + 2] = gj / sizes[1];
      if (in.blocks->at(blockPoint) == 0)
        s = -kInf;
    }
    row[j] = s;
  }
  return success();
}

/// Calls `fn(batch)` for every batch index (domain coordinates) of the
/// first `nb` ranges.
static void forEachBatch(ArrayRef<IndexRange> ranges, int64_t nb,
                         function_ref<void(ArrayRef<int64_t>)> fn) {
  std::vector<int64_t> batch(nb, 0);
  int64_t count = 1;
  for (int64_t b = 0; b < nb; ++b) {
    batch[b] = ranges[b].lo;
    count *= ranges[b].size;
  }
  for (int64_t n = 0; n < count; ++n) {
    fn(batch);
    for (int64_t b = nb - 1; b >= 0; --b) {
      if (++batch[b] < ranges[b].hi())
        break;
      batch[b] = ranges[b].lo;
    }
  }
}

/// The maximum of `row`, NaN if it holds one (as arith.maximumf gives).
static double rowMaximum(ArrayRef<double> row, double start) {
  double maxValue = start;
  for (double s : row) {
    if (std::isnan(s))
      return s;
    maxValue = std::max(maxValue, s);
  }
  return maxValue;
}

LogicalResult Evaluator::evalAttention(AttentionOp op,
                                       ArrayRef<Window> resultWindows,
                                       SmallVectorImpl<Tensor> &results) {
  SmallVector<std::optional<Window>> wanted(resultWindows.begin(),
                                            resultWindows.end());
  FailureOr<std::vector<IndexRange>> domain = getAttentionDomain(op, wanted);
  if (failed(domain))
    return failure();
  int64_t nb = op.getNumBatchDims();
  IndexRange rows = (*domain)[nb], features = (*domain)[nb + 3];
  int64_t sk = (*domain)[nb + 2].size;
  AttentionInputs in = readAttentionInputs(
      op, [&](unsigned i) -> const Tensor & { return getOperand(op, i); });
  currentAttention = &in;
  Tensor out = Tensor::makeDense(resultWindows[0]);
  MappedOperand outAt(out, op.getMatchingIndexingMap(&op.getOutputMutable()));
  std::optional<Tensor> lse;
  MappedOperand lseAt;
  if (op.getLse()) {
    lse = Tensor::makeDense(resultWindows[1]);
    lseAt = MappedOperand(*lse, op.getMatchingIndexingMap(
                                    &op.getLseMutable()[0]));
  }
  std::vector<double> row;
  LogicalResult status = success();
  forEachBatch(*domain, nb, [&](ArrayRef<int64_t> batch) {
    std::vector<int64_t> point(batch.begin(), batch.end());
    point.resize(nb + 4, 0);
    for (int64_t i = rows.lo; i < rows.hi() && succeeded(status); ++i) {
      status = evalScoreRow(op, batch, i, row);
      point[nb] = i;
      if (lse) {
        double maxValue = rowMaximum(row, -kInf), sum = 0;
        for (double s : row)
          sum += maxValue == -kInf ? 0 : std::exp(s - maxValue);
        lse->data[lseAt.offsetOf(point)] =
            maxValue == -kInf ? -kInf : maxValue + std::log(sum);
      }
      softmaxSlice(row.data(), sk, 1);
      // Every key contributes p * v, masked ones too (0 * v): a NaN or
      // infinite value of a masked key makes the row NaN, exactly as in the
      // unfused softmax(s) @ v of the same graph, so --check gives one
      // answer for both forms.
      for (int64_t n = features.lo; n < features.hi(); ++n) {
        point[nb + 3] = n;
        double acc = 0;
        for (int64_t j = 0; j < sk; ++j) {
          point[nb + 2] = j;
          acc += row[j] * in.v.at(point);
        }
        point[nb + 2] = 0;
        out.data[outAt.offsetOf(point)] = acc;
      }
      point[nb + 3] = 0;
    }
  });
  currentAttention = nullptr;
  if (failed(status))
    return failure();
  results.push_back(std::move(out));
  if (lse)
    results.push_back(std::move(*lse));
  return success();
}

LogicalResult Evaluator::evalOnlineAttention(OnlineAttentionOp op,
                                             ArrayRef<Window> resultWindows,
                                             SmallVectorImpl<Tensor> &results) {
  SmallVector<std::optional<Window>> wanted(resultWindows.begin(),
                                            resultWindows.end());
  FailureOr<std::vector<IndexRange>> domain = getAttentionDomain(op, wanted);
  if (failed(domain))
    return failure();
  int64_t nb = op.getNumBatchDims();
  IndexRange rows = (*domain)[nb], features = (*domain)[nb + 3];
  int64_t sk = (*domain)[nb + 2].size;
  AttentionInputs in = readAttentionInputs(
      op, [&](unsigned i) -> const Tensor & { return getOperand(op, i); });
  currentAttention = &in;
  Tensor acc = Tensor::makeDense(resultWindows[0]);
  Tensor max = Tensor::makeDense(resultWindows[1]);
  Tensor sum = Tensor::makeDense(resultWindows[2]);
  MappedOperand accAt(acc, op.getMatchingIndexingMap(&op.getAccMutable()));
  MappedOperand maxAt(max, op.getMatchingIndexingMap(&op.getMaxMutable()));
  MappedOperand sumAt(sum, op.getMatchingIndexingMap(&op.getSumMutable()));
  std::vector<double> row;
  LogicalResult status = success();
  forEachBatch(*domain, nb, [&](ArrayRef<int64_t> batch) {
    std::vector<int64_t> point(batch.begin(), batch.end());
    point.resize(nb + 4, 0);
    for (int64_t i = rows.lo; i < rows.hi() && succeeded(status); ++i) {
      status = evalScoreRow(op, batch, i, row);
      point[nb] = i;
      double m = in.maxIn->at(point);
      double mNew = rowMaximum(row, m);
      double alpha = m == -kInf ? 0 : std::exp(m - mNew);
      double l = alpha * in.sumIn->at(point);
      for (double &s : row) {
        s = mNew == -kInf ? 0 : std::exp(s - mNew);
        l += s;
      }
      max.data[maxAt.offsetOf(point)] = mNew;
      sum.data[sumAt.offsetOf(point)] = l;
      for (int64_t n = features.lo; n < features.hi(); ++n) {
        point[nb + 3] = n;
        double value = alpha * in.accIn->at(point);
        for (int64_t j = 0; j < sk; ++j) {
          point[nb + 2] = j;
          value += row[j] * in.v.at(point);
        }
        point[nb + 2] = 0;
        acc.data[accAt.offsetOf(point)] = value;
      }
      point[nb + 3] = 0;
    }
  });
  currentAttention = nullptr;
  if (failed(status))
    return failure();
  results.push_back(std::move(acc));
  results.push_back(std::move(max));
  results.push_back(std::move(sum));
  return success();
}

LogicalResult Evaluator::evalExtractSlice(tensor::ExtractSliceOp op,
                                          const Window &w, Tensor &out) {
  const Tensor &input = getOperand(op, 0);
  if (input.splat) {
    out = Tensor::makeSplat(w, input.at(0));
    return success();
  }
  ArrayRef<int64_t> steps = op.getStaticStrides();
  llvm::SmallBitVector dropped = op.getDroppedDims();
  std::vector<int64_t> inputStrides = getStrides(input.shape);
  std::vector<int64_t> sizes, strides;
  size_t r = 0;
  for (size_t s = 0; s < input.shape.size(); ++s) {
    sizes.push_back(dropped.test(s) ? 1 : w.dims[r++].size);
    strides.push_back(steps[s] * inputStrides[s]);
  }
  out = Tensor::makeDense(w); // rank-reduced when unit dims are dropped
  gatherStrided(input.data.data(), sizes, strides, 0, out.data.data());
  return success();
}

LogicalResult Evaluator::evalInsertSlice(tensor::InsertSliceOp op,
                                         const Window &w, Tensor &out) {
  out = takeOperand(op, 1); // the destination over the window
  out.materialize();
  if (!reads[op][0])
    return success(); // the window does not meet the slice
  const Tensor &source = getOperand(op, 0);
  ArrayRef<int64_t> offsets = op.getStaticOffsets();
  size_t rank = out.shape.size();
  std::vector<int64_t> outStrides = getStrides(out.shape);
  // Element k of the source window, at source index origin + (its digits),
  // lands at that index + offset in the result.
  std::vector<int64_t> digits(rank, 0);
  for (int64_t k = 0, n = source.getNumElements(); k < n; ++k) {
    int64_t at = 0;
    for (size_t d = 0; d < rank; ++d)
      at += (source.origin[d] + digits[d] + offsets[d] - out.origin[d]) *
            outStrides[d];
    out.data[at] = source.at(k);
    for (size_t d = rank; d-- > 0;) {
      if (++digits[d] < source.shape[d])
        break;
      digits[d] = 0;
    }
  }
  return success();
}

LogicalResult Evaluator::evalConcat(tensor::ConcatOp op, const Window &w,
                                    Tensor &out) {
  int64_t dim = op.getDim();
  out = Tensor::makeDense(w);
  std::vector<const Tensor *> pieces;
  for (unsigned t = 0; t < op->getNumOperands(); ++t) {
    if (!reads[op][t])
      continue;
    const Tensor &piece = getOperand(op, t);
    const_cast<Tensor &>(piece).materialize();
    pieces.push_back(&piece);
  }
  int64_t outer = getProduct(ArrayRef<int64_t>(out.shape).take_front(dim));
  double *dst = out.data.data();
  for (int64_t o = 0; o < outer; ++o) {
    for (const Tensor *t : pieces) {
      int64_t block = getProduct(ArrayRef<int64_t>(t->shape).drop_front(dim));
      std::copy(t->data.begin() + o * block, t->data.begin() + (o + 1) * block,
                dst);
      dst += block;
    }
  }
  return success();
}

LogicalResult Evaluator::evalLinalg(linalg::LinalgOp op,
                                    ArrayRef<Window> resultWindows,
                                    SmallVectorImpl<Tensor> &results) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  size_t numOperands = op->getNumOperands();
  unsigned numInputs = op.getNumDpsInputs();
  // The loops' window: each loop's range is the one of the operand dims it
  // indexes (derive() made them agree).
  SmallVector<int64_t> loopSizes = op.getStaticLoopRanges();
  size_t numLoops = loopSizes.size();
  std::vector<int64_t> loopOrigin(numLoops, 0), loopSize(loopSizes.begin(),
                                                         loopSizes.end());
  for (unsigned n = 0; n < numOperands; ++n) {
    const Window &w = *reads[op][n];
    for (unsigned r = 0; r < maps[n].getNumResults(); ++r)
      if (auto dimExpr = dyn_cast<AffineDimExpr>(maps[n].getResult(r))) {
        loopOrigin[dimExpr.getPosition()] = w.dims[r].lo;
        loopSize[dimExpr.getPosition()] = w.dims[r].size;
      }
  }
  // Every operand is addressed by a per-loop stride within its window.
  std::vector<std::vector<int64_t>> strides(numOperands,
                                            std::vector<int64_t>(numLoops, 0));
  std::vector<const Tensor *> operands;
  for (unsigned n = 0; n < numOperands; ++n) {
    const Tensor &t = getOperand(op, n);
    operands.push_back(&t);
    std::vector<int64_t> dimStrides = getStrides(t.shape);
    for (unsigned r = 0; r < maps[n].getNumResults(); ++r)
      if (auto dimExpr = dyn_cast<AffineDimExpr>(maps[n].getResult(r)))
        if (!t.splat)
          strides[n][dimExpr.getPosition()] += dimStrides[r];
  }
  std::vector<Tensor> outputs;
  for (unsigned r = 0; r < op.getNumDpsInits(); ++r) {
    outputs.push_back(takeOperand(op, numInputs + r));
    outputs.back().materialize();
    for (unsigned l = 0; l < numLoops; ++l)
      if (outputs.back().getNumElements() == 1)
        strides[numInputs + r][l] = strides[numInputs + r][l];
  }
  // Outputs were materialized: recompute their strides.
  for (unsigned r = 0; r < op.getNumDpsInits(); ++r) {
    unsigned n = numInputs + r;
    std::fill(strides[n].begin(), strides[n].end(), 0);
    std::vector<int64_t> dimStrides = getStrides(outputs[r].shape);
    for (unsigned i = 0; i < maps[n].getNumResults(); ++i)
      if (auto dimExpr = dyn_cast<AffineDimExpr>(maps[n].getResult(i)))
        strides[n][dimExpr.getPosition()] += dimStrides[i];
  }
  Block *body = op.getBlock();
  if (!body)
    return op.emitError("reference evaluator: linalg op without a body");

  int64_t total = getProduct(loopSize);
  std::vector<int64_t> index(numLoops, 0);
  std::vector<int64_t> offsets(numOperands, 0);
  llvm::DenseMap<Value, double> scalars;
  for (int64_t iter = 0; iter < total; ++iter) {
    scalars.clear();
    for (unsigned n = 0; n < numOperands; ++n) {
      double value = n < numInputs ? operands[n]->at(offsets[n])
                                   : outputs[n - numInputs].data[offsets[n]];
      scalars[body->getArgument(n)] = value;
    }
    for (Operation &inner : *body) {
      if (auto yield = dyn_cast<linalg::YieldOp>(inner)) {
        for (auto [k, v] : llvm::enumerate(yield.getValues()))
          outputs[k].data[offsets[numInputs + k]] = scalars.lookup(v);
        break;
      }
      if (auto indexOp = dyn_cast<linalg::IndexOp>(inner)) {
        scalars[indexOp.getResult()] =
            double(loopOrigin[indexOp.getDim()] + index[indexOp.getDim()]);
        continue;
      }
      if (auto constant = dyn_cast<arith::ConstantOp>(inner)) {
        Tensor c;
        if (failed(readDenseAttr(&inner, constant.getValue(), Window(), c)) ||
            c.data.size() != 1)
          return inner.emitError("reference evaluator: unsupported constant");
        scalars[constant.getResult()] = c.data[0];
        continue;
      }
      SmallVector<double, 4> args;
      for (Value v : inner.getOperands()) {
        auto it = scalars.find(v);
        if (it != scalars.end()) {
          args.push_back(it->second);
          continue;
        }
        auto outer = values.find(v);
        if (outer == values.end() || outer->second.getNumElements() != 1)
          return inner.emitError("reference evaluator: unsupported value "
                                 "captured by a linalg body");
        args.push_back(outer->second.at(0));
      }
      FailureOr<double> result = evalScalar(&inner, args);
      if (failed(result) || inner.getNumResults() != 1)
        return inner.emitError("reference evaluator does not support '")
               << inner.getName() << "' in a linalg body";
      scalars[inner.getResult(0)] = *result;
    }
    for (int64_t l = int64_t(numLoops) - 1; l >= 0; --l) {
      for (unsigned n = 0; n < numOperands; ++n)
        offsets[n] += strides[n][l];
      if (++index[l] < loopSize[l])
        break;
      for (unsigned n = 0; n < numOperands; ++n)
        offsets[n] -= strides[n][l] * loopSize[l];
      index[l] = 0;
    }
  }
  for (auto [w, output] : llvm::zip(resultWindows, outputs)) {
    output.shape = w.sizes();
    output.origin = w.origin();
    results.push_back(std::move(output));
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

/// Half of MemAvailable, or 4 GiB when it cannot be read.
static uint64_t getDefaultMemoryLimit() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    std::istringstream fields(line);
    std::string key;
    uint64_t kib = 0;
    if (fields >> key >> kib && key == "MemAvailable:")
      return kib * 1024 / 2;
  }
  return uint64_t(4) << 30;
}

/// `count` distinct row indices out of `numRows`, the first and last always
/// among them, ascending.
static std::vector<int64_t> chooseRows(int64_t numRows, unsigned count,
                                       uint64_t seed) {
  if (numRows <= int64_t(count)) {
    std::vector<int64_t> all(numRows);
    for (int64_t i = 0; i < numRows; ++i)
      all[i] = i;
    return all;
  }
  std::set<int64_t> rows = {0, numRows - 1};
  std::mt19937_64 rng(seed);
  while (rows.size() < count)
    rows.insert(int64_t(rng() % uint64_t(numRows)));
  return std::vector<int64_t>(rows.begin(), rows.end());
}

/// The window of row `row` (a flat index over all dims but the last) of a
/// value of `shape`.
static Window rowWindow(ArrayRef<int64_t> shape, int64_t row) {
  Window w = Window::full(shape);
  if (shape.empty())
    return w;
  size_t fixed = shape.size() == 1 ? 1 : shape.size() - 1;
  for (int64_t d = int64_t(fixed) - 1; d >= 0; --d) {
    w.dims[d] = {row % shape[d], 1};
    row /= shape[d];
  }
  return w;
}

/// `bytes` for messages: GiB, MiB or KiB with one or two decimals.
static std::string formatBytes(uint64_t bytes) {
  char text[32];
  if (bytes >= (uint64_t(1) << 30))
    std::snprintf(text, sizeof(text), "%.2f GiB", double(bytes) / (1 << 30));
  else if (bytes >= (uint64_t(1) << 20))
    std::snprintf(text, sizeof(text), "%.1f MiB", double(bytes) / (1 << 20));
  else
    std::snprintf(text, sizeof(text), "%.1f KiB", double(bytes) / (1 << 10));
  return text;
}

LogicalResult mlir::attn::evaluateReference(func::FuncOp func,
                                            ArrayRef<ReferenceInput> inputs,
                                            const ReferenceOptions &options,
                                            std::vector<ReferenceResult> &results,
                                            ReferenceReport *report) {
  Evaluator evaluator(func, inputs);
  if (failed(evaluator.verify()))
    return failure();
  uint64_t limit = options.memoryLimitBytes ? options.memoryLimitBytes
                                            : getDefaultMemoryLimit();
  size_t numResults = evaluator.getNumResults();
  std::vector<std::vector<int64_t>> shapes;
  for (size_t i = 0; i < numResults; ++i) {
    auto type = dyn_cast<ShapedType>(evaluator.getResult(i).getType());
    shapes.push_back(type ? std::vector<int64_t>(type.getShape().begin(),
                                                 type.getShape().end())
                          : std::vector<int64_t>());
  }
  std::vector<std::optional<Window>> whole;
  for (const std::vector<int64_t> &shape : shapes)
    whole.push_back(Window::full(shape));
  if (failed(evaluator.plan(whole)))
    return failure();
  uint64_t fullBytes = evaluator.estimatePeakBytes();
  ReferenceReport localReport;
  ReferenceReport &r = report ? *report : localReport;
  r.fullEvaluationBytes = fullBytes;
  r.memoryLimitBytes = limit;
  r.sampled = false;

  auto rowLengthOf = [](ArrayRef<int64_t> shape) -> int64_t {
    return shape.size() >= 2 ? shape.back() : 1;
  };
  if (fullBytes <= limit) {
    std::vector<Tensor> values;
    if (failed(evaluator.run(values)))
      return failure();
    for (auto [shape, t] : llvm::zip(shapes, values)) {
      ReferenceResult result;
      result.shape = shape;
      result.rowLength = rowLengthOf(shape);
      t.materialize();
      result.data = std::move(t.data);
      results.push_back(std::move(result));
    }
    return success();
  }
  if (options.sampleRows == 0)
    return mlir::emitError(func.getLoc(),
                           "reference evaluator: evaluating the function "
                           "needs ")
           << formatBytes(fullBytes) << ", more than its "
           << formatBytes(limit) << " limit";

  // Row by row: each sampled row of each result from just what it needs.
  r.sampled = true;
  for (size_t i = 0; i < numResults; ++i) {
    ReferenceResult result;
    result.shape = shapes[i];
    result.rowLength = rowLengthOf(shapes[i]);
    result.sampled = true;
    int64_t numRows = result.rowLength ? getProduct(shapes[i]) / result.rowLength
                                       : 0;
    if (shapes[i].size() >= 2 && result.rowLength == 0)
      numRows = getProduct(ArrayRef<int64_t>(shapes[i]).drop_back());
    for (int64_t row : chooseRows(numRows, options.sampleRows,
                                  options.seed + i)) {
      std::vector<std::optional<Window>> demands(numResults);
      demands[i] = rowWindow(shapes[i], row);
      if (failed(evaluator.plan(demands)))
        return failure();
      uint64_t rowBytes = evaluator.estimatePeakBytes();
      r.sampledRowBytes = std::max(r.sampledRowBytes, rowBytes);
      if (rowBytes > limit)
        return mlir::emitError(func.getLoc(),
                               "reference evaluator: even one row of "
                               "result ")
               << i << " needs " << formatBytes(rowBytes) << ", more than "
               << "its " << formatBytes(limit) << " limit";
      std::vector<Tensor> values;
      if (failed(evaluator.run(values)))
        return failure();
      Tensor &t = values[i];
      t.materialize();
      result.rows.push_back(row);
      result.data.insert(result.data.end(), t.data.begin(), t.data.end());
    }
    results.push_back(std::move(result));
  }
  return success();
}

LogicalResult mlir::attn::evaluateReference(func::FuncOp func,
                                            ArrayRef<RefTensor> inputs,
                                            std::vector<RefTensor> &results) {
  std::vector<ReferenceInput> readers;
  for (const RefTensor &t : inputs) {
    ReferenceInput input;
    input.shape = t.shape;
    const std::vector<double> *data = &t.data;
    input.read = [data](int64_t begin, int64_t count, double *out) {
      std::copy(data->begin() + begin, data->begin() + begin + count, out);
    };
    readers.push_back(std::move(input));
  }
  ReferenceOptions options;
  options.memoryLimitBytes = std::numeric_limits<uint64_t>::max();
  std::vector<ReferenceResult> evaluated;
  if (failed(evaluateReference(func, readers, options, evaluated)))
    return failure();
  for (ReferenceResult &result : evaluated)
    results.push_back(RefTensor{result.shape, std::move(result.data)});
  return success();
}
