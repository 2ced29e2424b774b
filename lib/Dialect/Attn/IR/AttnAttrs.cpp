//===- AttnAttrs.cpp - attn dialect attributes ----------------------------===//
//
// Implements the attn attributes and the queries declared in AttnAttrs.h.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::attn;

#define GET_ATTRDEF_CLASSES
#include "attn/Dialect/Attn/IR/AttnAttrs.cpp.inc"

void AttnDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "attn/Dialect/Attn/IR/AttnAttrs.cpp.inc"
      >();
}

// A flash nest is no hardware mapping: the ids only tell its loops apart.
int64_t FlashNestAttr::getMappingId() const { return getDim(); }
bool FlashNestAttr::isLinearMapping() const { return false; }
int64_t FlashNestAttr::getRelativeIndex() const { return getDim(); }

ArrayAttr mlir::attn::getFlashNestMapping(MLIRContext *ctx, int64_t rank) {
  SmallVector<Attribute> dims;
  for (int64_t dim = 0; dim < rank; ++dim)
    dims.push_back(FlashNestAttr::get(ctx, dim));
  return ArrayAttr::get(ctx, dims);
}

bool mlir::attn::isFlashNest(scf::ForallOp forall) {
  std::optional<ArrayAttr> mapping = forall.getMapping();
  return mapping && !mapping->empty() &&
         llvm::all_of(*mapping, llvm::IsaPred<FlashNestAttr>);
}

scf::ForallOp mlir::attn::getFlashNest(Operation *op) {
  for (auto forall = op->getParentOfType<scf::ForallOp>(); forall;
       forall = forall->getParentOfType<scf::ForallOp>())
    if (isFlashNest(forall))
      return forall;
  return {};
}

LoweringConfigAttr mlir::attn::getLoweringConfig(Operation *op) {
  return op->getAttrOfType<LoweringConfigAttr>(
      LoweringConfigAttr::getAttrName());
}

void mlir::attn::setLoweringConfig(Operation *op, LoweringConfigAttr config) {
  if (config)
    op->setAttr(LoweringConfigAttr::getAttrName(), config);
  else
    op->removeAttr(LoweringConfigAttr::getAttrName());
}
