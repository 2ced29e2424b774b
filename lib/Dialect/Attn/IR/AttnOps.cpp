//===- AttnOps.cpp - attn dialect operations ------------------------------===//
//
// Verifiers, folders and custom assembly of the attn ops. Pattern and
// equation semantics live in attn/Support so the reference evaluator and the
// fuzzers share them; this file turns their errors into diagnostics.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpImplementation.h"

#include "llvm/ADT/STLExtras.h"

#include <cctype>
#include <cmath>

using namespace mlir;
using namespace mlir::attn;

#include "attn/Dialect/Attn/IR/AttnEnums.cpp.inc"

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Appends a pattern error to a diagnostic, quoting the text and pointing at
/// the column so the user can find the offending token.
static InFlightDiagnostic &appendPatternError(InFlightDiagnostic &diag,
                                              StringRef what, StringRef text,
                                              const ::attn::PatternError &err) {
  diag << what << " \"" << text << "\"";
  if (err.hasColumn)
    diag << " at column " << err.column;
  diag << ": " << err.message;
  return diag;
}

static std::vector<int64_t> toVector(ArrayRef<int64_t> shape) {
  return std::vector<int64_t>(shape.begin(), shape.end());
}

/// Formats a shape as `AxBxC` for diagnostics.
static std::string formatShape(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  llvm::interleave(shape, os, "x");
  return s;
}

bool mlir::attn::isRepresentableScale(double scale, Type elementType) {
  if (!std::isfinite(scale))
    return false;
  auto floatType = dyn_cast<FloatType>(elementType);
  if (!floatType)
    return true; // the verifier rejects the element type itself
  APFloat value(scale);
  bool losesInfo = false;
  APFloat::opStatus status = value.convert(
      floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven, &losesInfo);
  return !(status & APFloat::opOverflow) && value.isFinite();
}

/// The message for a scale that isRepresentableScale rejects.
static InFlightDiagnostic emitScaleError(Operation *op, double scale,
                                         Type elementType) {
  InFlightDiagnostic diag = op->emitOpError();
  if (!std::isfinite(scale))
    return std::move(diag << "scale must be finite");
  return std::move(diag << "scale " << scale << " overflows " << elementType
                        << " (largest finite value "
                        << APFloat::getLargest(
                               cast<FloatType>(elementType).getFloatSemantics())
                               .convertToDouble()
                        << ")");
}

//===----------------------------------------------------------------------===//
// Custom directive: pattern and axis sizes `"b n (h d) -> b h n d" {h = 8}`
//===----------------------------------------------------------------------===//

// The sizes print right after the pattern, without a keyword, so IR reads like
// the einops call `rearrange(x, "b n (h d) -> b h n d", h=8)`.
static ParseResult parsePatternAndSizes(OpAsmParser &parser,
                                        StringAttr &pattern,
                                        DictionaryAttr &sizes) {
  // With a type given, the parser does not take a following `: type` as the
  // string's own type.
  if (parser.parseAttribute(pattern, parser.getBuilder().getNoneType()))
    return failure();
  if (failed(parser.parseOptionalLBrace()))
    return success();
  NamedAttrList entries;
  Builder &b = parser.getBuilder();
  if (failed(parser.parseOptionalRBrace())) {
    auto parseEntry = [&]() -> ParseResult {
      std::string name;
      int64_t value;
      if (parser.parseKeywordOrString(&name) || parser.parseEqual() ||
          parser.parseInteger(value))
        return failure();
      entries.append(b.getStringAttr(name), b.getI64IntegerAttr(value));
      return success();
    };
    if (parser.parseCommaSeparatedList(parseEntry) || parser.parseRBrace())
      return failure();
  }
  sizes = b.getDictionaryAttr(entries);
  return success();
}

static void printPatternAndSizes(OpAsmPrinter &printer, Operation *,
                                 StringAttr pattern, DictionaryAttr sizes) {
  printer.printAttributeWithoutType(pattern);
  if (!sizes || sizes.empty())
    return;
  printer << " {";
  llvm::interleaveComma(sizes, printer, [&](NamedAttribute entry) {
    printer.printKeywordOrString(entry.getName().getValue());
    printer << " = ";
    if (auto intAttr = dyn_cast<IntegerAttr>(entry.getValue()))
      printer << intAttr.getInt();
    else
      printer.printAttribute(entry.getValue());
  });
  printer << "}";
}

//===----------------------------------------------------------------------===//
// RearrangeOp
//===----------------------------------------------------------------------===//

std::map<std::string, int64_t> RearrangeOp::getSizesMap() {
  std::map<std::string, int64_t> result;
  DictionaryAttr sizes = getSizesAttr();
  if (!sizes)
    return result;
  for (NamedAttribute entry : sizes)
    if (auto intAttr = dyn_cast<IntegerAttr>(entry.getValue()))
      result[entry.getName().str()] = intAttr.getInt();
  return result;
}

std::optional<::attn::RearrangePlan> RearrangeOp::getPlan() {
  ::attn::PatternError err;
  auto pattern = ::attn::parseRearrangePattern(getPattern(), err);
  if (!pattern || !getInput().getType().hasStaticShape())
    return std::nullopt;
  return ::attn::solveRearrange(
      *pattern, toVector(getInput().getType().getShape()), getSizesMap(), err);
}

void RearrangeOp::build(OpBuilder &builder, OperationState &state, Value input,
                        StringRef pattern, DictionaryAttr sizes) {
  auto inputType = cast<RankedTensorType>(input.getType());
  std::map<std::string, int64_t> sizeMap;
  if (sizes)
    for (NamedAttribute entry : sizes)
      if (auto intAttr = dyn_cast<IntegerAttr>(entry.getValue()))
        sizeMap[entry.getName().str()] = intAttr.getInt();
  ::attn::PatternError err;
  std::vector<int64_t> shape;
  if (auto parsed = ::attn::parseRearrangePattern(pattern, err))
    if (auto plan = ::attn::solveRearrange(
            *parsed, toVector(inputType.getShape()), sizeMap, err))
      shape = plan->outputShape;
  build(builder, state,
        RankedTensorType::get(shape, inputType.getElementType()), input,
        builder.getStringAttr(pattern),
        sizes && !sizes.empty() ? sizes : DictionaryAttr());
}

LogicalResult RearrangeOp::verify() {
  ::attn::PatternError err;
  auto pattern = ::attn::parseRearrangePattern(getPattern(), err);
  if (!pattern) {
    InFlightDiagnostic diag = emitOpError();
    appendPatternError(diag, "invalid pattern", getPattern(), err);
    return diag;
  }

  std::map<std::string, int64_t> sizes;
  if (DictionaryAttr sizesAttr = getSizesAttr()) {
    for (NamedAttribute entry : sizesAttr) {
      auto intAttr = dyn_cast<IntegerAttr>(entry.getValue());
      if (!intAttr)
        return emitOpError() << "size of axis '" << entry.getName().getValue()
                             << "' must be an integer";
      // 0 is a size (einops accepts it where it is consistent).
      if (intAttr.getInt() < 0)
        return emitOpError() << "size of axis '" << entry.getName().getValue()
                             << "' must not be negative, got "
                             << intAttr.getInt();
      sizes[entry.getName().str()] = intAttr.getInt();
    }
  }

  RankedTensorType inputType = getInput().getType();
  if (!inputType.hasStaticShape())
    return emitOpError() << "requires a statically shaped input, got "
                         << inputType;

  auto plan = ::attn::solveRearrange(*pattern, toVector(inputType.getShape()),
                                     sizes, err);
  if (!plan) {
    InFlightDiagnostic diag = emitOpError();
    appendPatternError(diag, "pattern", getPattern(), err);
    diag << " (input shape " << formatShape(inputType.getShape()) << ")";
    return diag;
  }

  RankedTensorType resultType = getResult().getType();
  if (resultType.getElementType() != inputType.getElementType())
    return emitOpError() << "result element type "
                         << resultType.getElementType()
                         << " differs from input element type "
                         << inputType.getElementType();
  if (resultType.getShape() != ArrayRef<int64_t>(plan->outputShape))
    return emitOpError() << "result shape "
                         << formatShape(resultType.getShape())
                         << " does not match the shape "
                         << formatShape(plan->outputShape)
                         << " that the pattern produces";
  return success();
}

OpFoldResult RearrangeOp::fold(FoldAdaptor) {
  if (getInput().getType() != getResult().getType())
    return {};
  auto plan = getPlan();
  if (plan && plan->isIdentity(toVector(getInput().getType().getShape())))
    return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// EinsumOp
//===----------------------------------------------------------------------===//

/// The static operand shapes of `op`, or nullopt if one is dynamic.
static std::optional<std::vector<std::vector<int64_t>>>
getStaticShapes(ValueRange inputs) {
  std::vector<std::vector<int64_t>> shapes;
  for (Value input : inputs) {
    auto type = cast<RankedTensorType>(input.getType());
    if (!type.hasStaticShape())
      return std::nullopt;
    shapes.push_back(toVector(type.getShape()));
  }
  return shapes;
}

std::optional<::attn::EinsumPlan> EinsumOp::getPlan() {
  ::attn::PatternError err;
  auto shapes = getStaticShapes(getInputs());
  if (!shapes)
    return std::nullopt;
  auto solved = ::attn::parseAndSolveEinsum(getEquation(), *shapes, err);
  if (!solved)
    return std::nullopt;
  return std::move(solved->plan);
}

std::optional<::attn::EinsumEquation> EinsumOp::getParsedEquation() {
  ::attn::PatternError err;
  if (auto shapes = getStaticShapes(getInputs()))
    if (auto solved = ::attn::parseAndSolveEinsum(getEquation(), *shapes, err))
      return std::move(solved->equation);
  return ::attn::parseEinsum(getEquation(), err);
}

std::optional<::attn::EinsumPlan> EinsumOp::getPlanWithoutBroadcast() {
  auto plan = getPlan();
  if (!plan)
    return std::nullopt;
  for (auto [input, labels] : llvm::zip(getInputs(), plan->inputs)) {
    ArrayRef<int64_t> shape =
        cast<RankedTensorType>(input.getType()).getShape();
    for (auto [size, label] : llvm::zip(shape, labels))
      if (size != plan->sizes[label])
        return std::nullopt;
  }
  return plan;
}

OpFoldResult EinsumOp::fold(FoldAdaptor) {
  // One operand, unscaled, every label kept in place ("ij->ij", "...->..."):
  // the identity.
  if (getInputs().size() != 1 || getScaleValue() != 1.0 ||
      getInputs()[0].getType() != getType())
    return {};
  std::optional<::attn::EinsumPlan> plan = getPlan();
  if (!plan || plan->inputs[0] != plan->output)
    return {};
  return getInputs()[0];
}

LogicalResult EinsumOp::verify() {
  ::attn::PatternError err;
  auto equation = ::attn::parseEinsum(getEquation(), err);
  // An equation that does not parse in the spelling its whitespace suggests
  // may parse in the other one (`index ->`, `, first_tensor -> x`): the
  // solver below tries both.
  ::attn::PatternError spacedErr;
  if (!equation &&
      llvm::any_of(getEquation(), [](char c) { return std::isspace(c); }))
    equation = ::attn::parseEinsum(getEquation(), spacedErr,
                                   ::attn::EinsumSpelling::Spaced);
  if (!equation) {
    InFlightDiagnostic diag = emitOpError();
    appendPatternError(diag, "invalid equation", getEquation(), err);
    return diag;
  }
  if (getInputs().empty())
    return emitOpError() << "requires at least one input";

  Type elementType = getResult().getType().getElementType();
  if (!isa<FloatType>(elementType))
    return emitOpError() << "requires a floating-point element type, got "
                         << elementType;
  std::vector<std::vector<int64_t>> shapes;
  for (auto [index, input] : llvm::enumerate(getInputs())) {
    auto type = cast<RankedTensorType>(input.getType());
    if (type.getElementType() != elementType)
      return emitOpError() << "input " << index << " has element type "
                           << type.getElementType() << " but the result has "
                           << elementType;
    if (!type.hasStaticShape())
      return emitOpError() << "input " << index
                           << " must be statically shaped, got " << type;
    shapes.push_back(toVector(type.getShape()));
  }

  auto solved = ::attn::parseAndSolveEinsum(getEquation(), shapes, err);
  std::optional<::attn::EinsumPlan> plan;
  if (solved)
    plan = std::move(solved->plan);
  if (!plan) {
    InFlightDiagnostic diag = emitOpError();
    appendPatternError(diag, "equation", getEquation(), err);
    return diag;
  }
  if (getResult().getType().getShape() != ArrayRef<int64_t>(plan->outputShape))
    return emitOpError() << "result shape "
                         << formatShape(getResult().getType().getShape())
                         << " does not match the shape "
                         << formatShape(plan->outputShape)
                         << " that the equation produces";
  if (!isRepresentableScale(getScaleValue(), elementType))
    return emitScaleError(*this, getScaleValue(), elementType);
  return success();
}

//===----------------------------------------------------------------------===//
// SoftmaxOp
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxOp::verify() {
  RankedTensorType type = getInput().getType();
  if (!isa<FloatType>(type.getElementType()))
    return emitOpError() << "requires a floating-point element type, got "
                         << type.getElementType();
  int64_t rank = type.getRank();
  if (rank < 1)
    return emitOpError() << "requires an input of rank >= 1";
  int64_t axis = getAxis();
  if (axis < -rank || axis >= rank)
    return emitOpError() << "axis " << axis << " is out of range for rank "
                         << rank << " (expected -" << rank << " <= axis < "
                         << rank << ")";
  return success();
}

#define GET_OP_CLASSES
#include "attn/Dialect/Attn/IR/AttnOps.cpp.inc"
