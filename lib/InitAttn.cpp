//===- InitAttn.cpp - register everything attn provides -------------------===//
//
// Implements the registration entry points declared in attn/InitAttn.h.
//
//===----------------------------------------------------------------------===//

#include "attn/InitAttn.h"

#include "attn/Conversion/Passes.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Pipelines/Pipelines.h"
#include "attn/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"

void mlir::attn::registerAttnDialect(DialectRegistry &registry) {
  registry.insert<AttnDialect>();
}

void mlir::attn::registerAttnPasses() {
  registerAttnConversionPasses();
  registerAttnTransformsPasses();
  registerAttnCodegenPasses();
  registerTileAndVectorizePipeline();
  registerCpuPipeline();
  registerGpuPipeline();
}
