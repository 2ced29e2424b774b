//===- consumer-opt.cpp - an embedder's opt tool with attn registered -----===//
//
// What another compiler writes to embed attn: register the dialect and passes
// into its own registry and run MlirOptMain; built by test/Install/install.test
// against an installed attn-opt.
//
//===----------------------------------------------------------------------===//

#include "attn/InitAttn.h"
#include "attn/Pipelines/Pipelines.h"
#include "attn/Version.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  static_assert(ATTN_VERSION_MAJOR == 0, "unexpected attn-opt version");

  mlir::registerCanonicalizerPass();
  mlir::attn::registerAttnPasses();

  mlir::DialectRegistry registry;
  registry.insert<mlir::func::FuncDialect>();
  mlir::attn::registerAttnDialect(registry);

  // The pipeline builder is reachable directly too, with typed options.
  mlir::attn::CpuPipelineOptions options;
  options.openmp = false;
  (void)options;

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "consumer-opt: an embedder's optimizer with attn\n",
      registry));
}
