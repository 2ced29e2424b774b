//===- Evaluator.cpp - f64 reference evaluator for attn graphs ------------===//
//
// Interprets tensor-level IR op by op with naive double-precision loops that
// follow the op specifications in AttnOps.td and upstream's documentation;
// deliberately shares no code with the lowering it is used to check.
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
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>

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
LogicalResult readDenseAttr(Operation *op, Attribute attr, RefTensor &out) {
  if (auto floatAttr = dyn_cast<FloatAttr>(attr)) {
    out.data = {floatAttr.getValueAsDouble()};
    return success();
  }
  if (auto intAttr = dyn_cast<IntegerAttr>(attr)) {
    out.data = {intAttr.getType().isInteger(1)
                    ? double(intAttr.getValue().getZExtValue())
                    : double(intAttr.getValue().getSExtValue())};
    return success();
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return op->emitError("reference evaluator: unsupported constant "
                         "attribute (only dense and scalar values)");
  auto type = cast<ShapedType>(dense.getType());
  out.shape.assign(type.getShape().begin(), type.getShape().end());
  int64_t count = getProduct(out.shape);
  Type elementType = type.getElementType();
  auto toDouble = [&](const APInt &v) {
    return elementType.isInteger(1) ? double(v.getZExtValue())
                                    : double(v.getSExtValue());
  };
  if (dense.isSplat()) {
    double value = isa<FloatType>(elementType)
                       ? dense.getSplatValue<APFloat>().convertToDouble()
                       : toDouble(dense.getSplatValue<APInt>());
    out.data.assign(count, value);
    return success();
  }
  out.data.reserve(count);
  if (isa<FloatType>(elementType)) {
    for (APFloat v : dense.getValues<APFloat>())
      out.data.push_back(v.convertToDouble());
  } else {
    for (APInt v : dense.getValues<APInt>())
      out.data.push_back(toDouble(v));
  }
  return success();
}

class Evaluator {
public:
  LogicalResult run(func::FuncOp func, ArrayRef<RefTensor> inputs,
                    std::vector<RefTensor> &results);

private:
  /// The static shape of a tensor value, or failure with an error at `op`.
  FailureOr<std::vector<int64_t>> getStaticShape(Operation *op, Value value);
  const RefTensor &get(Value value) { return values.find(value)->second; }

  LogicalResult evalOp(Operation *op);
  LogicalResult evalElementwise(Operation *op);
  LogicalResult evalRearrange(RearrangeOp op);
  LogicalResult evalEinsum(EinsumOp op);
  LogicalResult evalSoftmax(SoftmaxOp op);
  LogicalResult evalAttention(AttentionOp op);
  LogicalResult evalExtractSlice(tensor::ExtractSliceOp op);
  LogicalResult evalConcat(tensor::ConcatOp op);
  LogicalResult evalLinalg(linalg::LinalgOp op);

  llvm::DenseMap<Value, RefTensor> values;
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

LogicalResult Evaluator::run(func::FuncOp func, ArrayRef<RefTensor> inputs,
                             std::vector<RefTensor> &results) {
  if (func.isExternal())
    return func.emitError("reference evaluator: function has no body");
  Block &entry = func.getBody().front();
  if (entry.getNumArguments() != inputs.size())
    return func.emitError("reference evaluator: expected ")
           << entry.getNumArguments() << " inputs, got " << inputs.size();
  for (auto [arg, input] : llvm::zip(entry.getArguments(), inputs)) {
    FailureOr<std::vector<int64_t>> shape = getStaticShape(func, arg);
    if (failed(shape))
      return failure();
    if (*shape != input.shape ||
        int64_t(input.data.size()) != input.getNumElements())
      return func.emitError("reference evaluator: input ")
             << arg.getArgNumber() << " does not match its type "
             << arg.getType();
    values[arg] = input;
  }
  if (func.getBody().getBlocks().size() != 1)
    return func.emitError("reference evaluator: only single-block functions "
                          "are supported");
  for (Operation &op : entry) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (Value v : ret.getOperands())
        results.push_back(get(v));
      return success();
    }
    if (failed(evalOp(&op)))
      return failure();
  }
  return func.emitError("reference evaluator: function has no func.return");
}

LogicalResult Evaluator::evalOp(Operation *op) {
  for (Value operand : op->getOperands())
    if (!values.count(operand))
      return op->emitError("reference evaluator: operand defined outside the "
                           "evaluated function body");
  if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
    RefTensor out;
    if (failed(readDenseAttr(op, constant.getValue(), out)))
      return failure();
    values[constant.getResult()] = std::move(out);
    return success();
  }
  if (auto empty = dyn_cast<tensor::EmptyOp>(op)) {
    FailureOr<std::vector<int64_t>> shape = getStaticShape(op, empty);
    if (failed(shape))
      return failure();
    RefTensor out;
    out.shape = *shape;
    out.data.assign(getProduct(*shape), 0.0);
    values[empty.getResult()] = std::move(out);
    return success();
  }
  // Reshapes keep the C-order element sequence; only the shape changes.
  if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(op)) {
    FailureOr<std::vector<int64_t>> shape =
        getStaticShape(op, op->getResult(0));
    if (failed(shape))
      return failure();
    RefTensor out = get(op->getOperand(0));
    out.shape = *shape;
    values[op->getResult(0)] = std::move(out);
    return success();
  }
  if (auto rearrange = dyn_cast<RearrangeOp>(op))
    return evalRearrange(rearrange);
  if (auto einsum = dyn_cast<EinsumOp>(op))
    return evalEinsum(einsum);
  if (auto softmax = dyn_cast<SoftmaxOp>(op))
    return evalSoftmax(softmax);
  if (auto attention = dyn_cast<AttentionOp>(op))
    return evalAttention(attention);
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op))
    return evalExtractSlice(slice);
  if (auto concat = dyn_cast<tensor::ConcatOp>(op))
    return evalConcat(concat);
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return evalLinalg(linalgOp);
  if (op->getNumResults() == 1 &&
      (op->getDialect() == op->getContext()->getLoadedDialect("arith") ||
       op->getDialect() == op->getContext()->getLoadedDialect("math")))
    return evalElementwise(op);
  return op->emitError("reference evaluator does not support '")
         << op->getName() << "'";
}

LogicalResult Evaluator::evalElementwise(Operation *op) {
  FailureOr<std::vector<int64_t>> shape = getStaticShape(op, op->getResult(0));
  if (failed(shape))
    return failure();
  int64_t count = getProduct(*shape);
  SmallVector<const RefTensor *> operands;
  for (Value operand : op->getOperands()) {
    const RefTensor &t = get(operand);
    // A scalar operand (arith.select's condition) applies to every element.
    if (t.shape != *shape && !t.shape.empty())
      return op->emitError("reference evaluator: operand shapes differ");
    operands.push_back(&t);
  }
  RefTensor out;
  out.shape = *shape;
  out.data.resize(count);
  SmallVector<double, 4> args(operands.size());
  for (int64_t i = 0; i < count; ++i) {
    for (auto [k, t] : llvm::enumerate(operands))
      args[k] = t->shape.empty() ? t->data[0] : t->data[i];
    FailureOr<double> v = evalScalar(op, args);
    if (failed(v))
      return op->emitError("reference evaluator does not support '")
             << op->getName() << "'";
    out.data[i] = *v;
  }
  values[op->getResult(0)] = std::move(out);
  return success();
}

LogicalResult Evaluator::evalRearrange(RearrangeOp op) {
  std::optional<::attn::RearrangePlan> plan = op.getPlan();
  if (!plan)
    return op.emitError("reference evaluator: rearrange pattern does not "
                        "solve for the input shape");
  const RefTensor &input = get(op.getInput());
  // Stride of every elementary axis in the input: each input dimension is
  // split row-major into its group of axes.
  std::vector<int64_t> inputStrides = getStrides(input.shape);
  std::vector<int64_t> axisStrides(plan->elementarySizes.size(), 0);
  for (size_t dim = 0; dim < plan->inputGroups.size(); ++dim) {
    int64_t stride = inputStrides[dim];
    const std::vector<int64_t> &group = plan->inputGroups[dim];
    for (auto it = group.rbegin(); it != group.rend(); ++it) {
      axisStrides[*it] = stride;
      stride *= plan->elementarySizes[*it];
    }
  }
  // The output is the elementary axes in output order, read row-major; the
  // regrouping on the right is a free reshape.
  std::vector<int64_t> sizes, strides;
  for (int64_t axis : plan->outputAxisOrder()) {
    sizes.push_back(plan->elementarySizes[axis]);
    strides.push_back(axisStrides[axis]);
  }
  RefTensor out;
  out.shape = plan->outputShape;
  out.data.resize(getProduct(out.shape));
  if (getProduct(sizes) != int64_t(out.data.size()))
    return op.emitError("reference evaluator: inconsistent rearrange plan");
  gatherStrided(input.data.data(), sizes, strides, 0, out.data.data());
  values[op.getResult()] = std::move(out);
  return success();
}

LogicalResult Evaluator::evalEinsum(EinsumOp op) {
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
  std::vector<int64_t> sizes;
  for (const std::string &label : labels)
    sizes.push_back(label.empty() ? 1 : plan->sizes.at(label));

  // strides[o][l]: step in operand o (the output is o == numInputs) when
  // label l advances. A repeated label (diagonal) adds its dims' strides; a
  // broadcast ellipsis dim of size 1 has stride 0.
  std::vector<std::vector<int64_t>> strides(
      numInputs + 1, std::vector<int64_t>(numLabels, 0));
  auto addStrides = [&](size_t o, const std::vector<std::string> &term,
                        const std::vector<int64_t> &shape) {
    std::vector<int64_t> dimStrides = getStrides(shape);
    for (size_t d = 0; d < term.size(); ++d) {
      auto it = llvm::find(labels, term[d]);
      if (it == labels.end())
        continue;
      size_t l = it - labels.begin();
      if (shape[d] == 1 && sizes[l] != 1)
        continue;
      strides[o][l] += dimStrides[d];
    }
  };
  std::vector<const RefTensor *> inputs;
  for (size_t o = 0; o < numInputs; ++o) {
    inputs.push_back(&get(op.getInputs()[o]));
    if (inputs.back()->shape.size() != plan->inputs[o].size())
      return op.emitError("reference evaluator: einsum plan rank mismatch");
    addStrides(o, plan->inputs[o], inputs.back()->shape);
  }
  RefTensor out;
  out.shape = plan->outputShape;
  out.data.assign(getProduct(out.shape), 0.0);
  addStrides(numInputs, plan->output, out.shape);

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
  values[op.getResult()] = std::move(out);
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

LogicalResult Evaluator::evalSoftmax(SoftmaxOp op) {
  RefTensor out = get(op.getInput());
  int64_t axis = op.getNormalizedAxis();
  if (axis < 0 || axis >= int64_t(out.shape.size()))
    return op.emitError("reference evaluator: softmax axis out of range");
  int64_t size = out.shape[axis];
  int64_t inner = getProduct(ArrayRef<int64_t>(out.shape).drop_front(axis + 1));
  int64_t outer = getProduct(ArrayRef<int64_t>(out.shape).take_front(axis));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i)
      softmaxSlice(out.data.data() + o * size * inner + i, size, inner);
  values[op.getResult()] = std::move(out);
  return success();
}

LogicalResult Evaluator::evalAttention(AttentionOp op) {
  const RefTensor &q = get(op.getQuery());
  const RefTensor &k = get(op.getKey());
  const RefTensor &v = get(op.getValue());
  size_t rank = q.shape.size();
  if (rank < 2 || k.shape.size() != rank || v.shape.size() != rank)
    return op.emitError("reference evaluator: attention operand ranks differ");
  ArrayRef<int64_t> batchShape = ArrayRef<int64_t>(q.shape).drop_back(2);
  int64_t batch = getProduct(batchShape);
  int64_t sq = q.shape[rank - 2], d = q.shape[rank - 1];
  int64_t sk = k.shape[rank - 2], dv = v.shape[rank - 1];
  if (k.shape[rank - 1] != d || v.shape[rank - 2] != sk)
    return op.emitError("reference evaluator: attention shapes disagree");

  const RefTensor *mask = op.getMask() ? &get(op.getMask()) : nullptr;
  bool boolMask = op.getMask() && cast<ShapedType>(op.getMask().getType())
                                      .getElementType()
                                      .isInteger(1);
  std::vector<int64_t> maskStrides;
  if (mask) {
    if (mask->shape.size() != rank)
      return op.emitError("reference evaluator: mask rank differs");
    maskStrides = getStrides(mask->shape);
    // Size-1 mask dims broadcast.
    for (size_t i = 0; i < rank; ++i)
      if (mask->shape[i] == 1)
        maskStrides[i] = 0;
  }
  std::vector<double> weight(d, 1.0);
  if (op.getWeight()) {
    const RefTensor &w = get(op.getWeight());
    if (int64_t(w.data.size()) != d)
      return op.emitError("reference evaluator: weight size differs from D");
    weight = w.data;
  }
  double scale = op.getScale().convertToDouble();
  ScoreKind kind = op.getScore();
  bool causal = op.getCausal();

  RefTensor out;
  out.shape = q.shape;
  out.shape[rank - 1] = dv;
  out.data.assign(getProduct(out.shape), 0.0);
  std::vector<int64_t> batchIndex(batchShape.size(), 0);
  std::vector<double> row(sk);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t maskBase = 0;
    for (size_t i = 0; i < batchIndex.size(); ++i)
      maskBase += batchIndex[i] * (mask ? maskStrides[i] : 0);
    const double *qb = q.data.data() + b * sq * d;
    const double *kb = k.data.data() + b * sk * d;
    const double *vb = v.data.data() + b * sk * dv;
    double *ob = out.data.data() + b * sq * dv;
    for (int64_t i = 0; i < sq; ++i) {
      for (int64_t j = 0; j < sk; ++j) {
        double s = 0;
        for (int64_t c = 0; c < d; ++c) {
          double x = qb[i * d + c], y = kb[j * d + c];
          switch (kind) {
          case ScoreKind::Dot:
            s += x * y;
            break;
          case ScoreKind::Additive:
            s += weight[c] * std::tanh(x + y);
            break;
          case ScoreKind::Gaussian: {
            double t = (x - y) * weight[c];
            s += t * t;
            break;
          }
          }
        }
        s = kind == ScoreKind::Gaussian ? -scale / 2 * s : scale * s;
        if (mask) {
          double m = mask->data[maskBase + i * maskStrides[rank - 2] +
                                j * maskStrides[rank - 1]];
          if (boolMask)
            s = m != 0 ? s : -kInf;
          else
            s += m;
        }
        if (causal && j > i)
          s = -kInf;
        row[j] = s;
      }
      softmaxSlice(row.data(), sk, 1);
      // Every key contributes p * v, masked ones too (0 * v): a NaN or
      // infinite value of a masked key makes the row NaN, exactly as in the
      // unfused softmax(s) @ v of the same graph, so --check gives one
      // answer for both forms.
      for (int64_t j = 0; j < sk; ++j)
        for (int64_t c = 0; c < dv; ++c)
          ob[i * dv + c] += row[j] * vb[j * dv + c];
    }
    for (int64_t i = int64_t(batchIndex.size()) - 1; i >= 0; --i) {
      if (++batchIndex[i] < batchShape[i])
        break;
      batchIndex[i] = 0;
    }
  }
  values[op.getResult()] = std::move(out);
  return success();
}

LogicalResult Evaluator::evalExtractSlice(tensor::ExtractSliceOp op) {
  const RefTensor &input = get(op.getSource());
  ArrayRef<int64_t> offsets = op.getStaticOffsets();
  ArrayRef<int64_t> sizes = op.getStaticSizes();
  ArrayRef<int64_t> steps = op.getStaticStrides();
  for (ArrayRef<int64_t> list : {offsets, sizes, steps})
    for (int64_t value : list)
      if (ShapedType::isDynamic(value))
        return op.emitError("reference evaluator: dynamic slice parameters "
                            "are not supported");
  if (offsets.size() != input.shape.size())
    return op.emitError("reference evaluator: slice rank mismatch");
  std::vector<int64_t> inputStrides = getStrides(input.shape);
  std::vector<int64_t> strides;
  int64_t base = 0;
  for (size_t i = 0; i < offsets.size(); ++i) {
    base += offsets[i] * inputStrides[i];
    strides.push_back(steps[i] * inputStrides[i]);
  }
  FailureOr<std::vector<int64_t>> shape = getStaticShape(op, op.getResult());
  if (failed(shape))
    return failure();
  RefTensor out;
  out.shape = *shape; // rank-reduced when unit dims are dropped
  out.data.resize(getProduct(sizes));
  gatherStrided(input.data.data(), sizes, strides, base, out.data.data());
  values[op.getResult()] = std::move(out);
  return success();
}

LogicalResult Evaluator::evalConcat(tensor::ConcatOp op) {
  FailureOr<std::vector<int64_t>> shape = getStaticShape(op, op.getResult());
  if (failed(shape))
    return failure();
  int64_t dim = op.getDim();
  RefTensor out;
  out.shape = *shape;
  out.data.reserve(getProduct(*shape));
  int64_t outer = getProduct(ArrayRef<int64_t>(*shape).take_front(dim));
  for (int64_t o = 0; o < outer; ++o) {
    for (Value input : op.getInputs()) {
      const RefTensor &t = get(input);
      int64_t block = getProduct(ArrayRef<int64_t>(t.shape).drop_front(dim));
      out.data.insert(out.data.end(), t.data.begin() + o * block,
                      t.data.begin() + (o + 1) * block);
    }
  }
  values[op.getResult()] = std::move(out);
  return success();
}

LogicalResult Evaluator::evalLinalg(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics())
    return op.emitError("reference evaluator: linalg op on buffers");
  SmallVector<int64_t> loopSizes = op.getStaticLoopRanges();
  for (int64_t size : loopSizes)
    if (ShapedType::isDynamic(size))
      return op.emitError("reference evaluator: dynamic loop range");
  size_t numLoops = loopSizes.size();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  size_t numOperands = op->getNumOperands();
  // Every operand is addressed by a per-loop stride; only projected
  // permutations (and constant-0 broadcasts) are needed by the ops we model.
  std::vector<std::vector<int64_t>> strides(numOperands,
                                            std::vector<int64_t>(numLoops, 0));
  std::vector<const RefTensor *> operands;
  std::vector<RefTensor> outputs;
  for (OpOperand &operand : op->getOpOperands()) {
    const RefTensor &t = get(operand.get());
    operands.push_back(&t);
    unsigned n = operand.getOperandNumber();
    AffineMap map = maps[n];
    if (map.getNumResults() != t.shape.size())
      return op.emitError("reference evaluator: indexing map rank mismatch");
    std::vector<int64_t> dimStrides = getStrides(t.shape);
    for (unsigned r = 0; r < map.getNumResults(); ++r) {
      AffineExpr expr = map.getResult(r);
      if (auto dimExpr = dyn_cast<AffineDimExpr>(expr)) {
        strides[n][dimExpr.getPosition()] += dimStrides[r];
        continue;
      }
      auto constant = dyn_cast<AffineConstantExpr>(expr);
      if (!constant || constant.getValue() != 0)
        return op.emitError("reference evaluator: unsupported indexing map ")
               << AffineMapAttr::get(map);
    }
  }
  unsigned numInputs = op.getNumDpsInputs();
  for (OpOperand &init : op.getDpsInitsMutable())
    outputs.push_back(get(init.get()));
  Block *body = op.getBlock();
  if (!body)
    return op.emitError("reference evaluator: linalg op without a body");

  int64_t total = getProduct(loopSizes);
  std::vector<int64_t> index(numLoops, 0);
  std::vector<int64_t> offsets(numOperands, 0);
  llvm::DenseMap<Value, double> scalars;
  for (int64_t iter = 0; iter < total; ++iter) {
    scalars.clear();
    for (unsigned n = 0; n < numOperands; ++n) {
      double value = n < numInputs ? operands[n]->data[offsets[n]]
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
        scalars[indexOp.getResult()] = double(index[indexOp.getDim()]);
        continue;
      }
      if (auto constant = dyn_cast<arith::ConstantOp>(inner)) {
        RefTensor c;
        if (failed(readDenseAttr(&inner, constant.getValue(), c)) ||
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
        if (outer == values.end() || outer->second.data.size() != 1)
          return inner.emitError("reference evaluator: unsupported value "
                                 "captured by a linalg body");
        args.push_back(outer->second.data[0]);
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
      if (++index[l] < loopSizes[l])
        break;
      for (unsigned n = 0; n < numOperands; ++n)
        offsets[n] -= strides[n][l] * loopSizes[l];
      index[l] = 0;
    }
  }
  for (auto [result, output] : llvm::zip(op->getResults(), outputs))
    values[result] = std::move(output);
  return success();
}

LogicalResult mlir::attn::evaluateReference(func::FuncOp func,
                                            ArrayRef<RefTensor> inputs,
                                            std::vector<RefTensor> &results) {
  Evaluator evaluator;
  return evaluator.run(func, inputs, results);
}
