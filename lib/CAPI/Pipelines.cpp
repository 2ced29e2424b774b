//===- Pipelines.cpp - C API for attn passes and pipelines ----------------===//
//
// Implements attn-c/Pipelines.h on top of the C++ pipeline builders.
//
//===----------------------------------------------------------------------===//

#include "attn-c/Pipelines.h"

#include "attn/InitAttn.h"
#include "attn/Pipelines/Pipelines.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Pass.h"
#include "mlir/CAPI/Support.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void attnRegisterPasses(void) {
  // The global registries are not thread-safe to write; registering under a
  // function-local static makes concurrent and repeated calls safe.
  static const bool registered = [] {
    attn::registerAttnPasses();
    return true;
  }();
  (void)registered;
}

/// Parses CPU pipeline options, or emits an error at `loc` and returns null.
static std::unique_ptr<attn::CpuPipelineOptions>
parseCpuOptions(StringRef options, Location loc) {
  std::unique_ptr<attn::CpuPipelineOptions> parsed =
      attn::CpuPipelineOptions::createFromString(options);
  if (!parsed)
    emitError(loc) << "invalid attn-cpu-pipeline options '" << options << "'";
  return parsed;
}

MlirLogicalResult attnAddCpuPipeline(MlirOpPassManager passManager,
                                     MlirStringRef options) {
  std::unique_ptr<attn::CpuPipelineOptions> parsed =
      attn::CpuPipelineOptions::createFromString(unwrap(options));
  if (!parsed)
    return mlirLogicalResultFailure();
  attn::buildCpuPipeline(*unwrap(passManager), *parsed);
  return mlirLogicalResultSuccess();
}

MlirLogicalResult attnRunCpuPipeline(MlirModule module, MlirStringRef options) {
  ModuleOp moduleOp = unwrap(module);
  std::unique_ptr<attn::CpuPipelineOptions> parsed =
      parseCpuOptions(unwrap(options), moduleOp.getLoc());
  if (!parsed)
    return mlirLogicalResultFailure();
  PassManager pm(moduleOp->getName());
  attn::buildCpuPipeline(pm, *parsed);
  return wrap(pm.run(moduleOp));
}

MlirLogicalResult attnRunCanonicalize(MlirModule module) {
  ModuleOp moduleOp = unwrap(module);
  PassManager pm(moduleOp->getName());
  pm.addPass(createCanonicalizerPass());
  return wrap(pm.run(moduleOp));
}
