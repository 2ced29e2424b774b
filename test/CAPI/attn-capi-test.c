//===- attn-capi-test.c - exercise the attn C API from C ------------------===//
//
// A C program (no C++) that registers attn through the C API, parses, prints,
// canonicalizes and lowers a module; test/CAPI/capi.test checks its output.
//
//===----------------------------------------------------------------------===//

#include "attn-c/Dialects.h"
#include "attn-c/Pipelines.h"

#include "mlir-c/IR.h"
#include "mlir-c/Pass.h"
#include "mlir-c/Support.h"

#include <stdio.h>
#include <stdlib.h>

static void printToStdout(MlirStringRef str, void *userData) {
  (void)userData;
  fwrite(str.data, 1, str.length, stdout);
}

static void printModule(MlirModule module) {
  mlirOperationPrint(mlirModuleGetOperation(module), printToStdout, NULL);
  fputc('\n', stdout);
  fflush(stdout);
}

// Split the heads and merge them back: the canonicalizer folds both away.
static const char *kModule =
    "func.func @split_merge(%x: tensor<2x3x8xf32>) -> tensor<2x3x8xf32> {\n"
    "  %0 = attn.rearrange %x \"b n (h d) -> b h n d\" {h = 2}\n"
    "      : tensor<2x3x8xf32> -> tensor<2x2x3x4xf32>\n"
    "  %1 = attn.rearrange %0 \"b h n d -> b n (h d)\"\n"
    "      : tensor<2x2x3x4xf32> -> tensor<2x3x8xf32>\n"
    "  return %1 : tensor<2x3x8xf32>\n"
    "}\n"
    "func.func @transpose(%x: tensor<4x8xf32>) -> tensor<8x4xf32> {\n"
    "  %0 = attn.rearrange %x \"a b -> b a\" : tensor<4x8xf32> -> "
    "tensor<8x4xf32>\n"
    "  return %0 : tensor<8x4xf32>\n"
    "}\n";

int main(void) {
  // Keep stdout in order with the diagnostics MLIR prints to stderr.
  setvbuf(stdout, NULL, _IONBF, 0);

  MlirDialectHandle handle = mlirGetDialectHandle__attn__();
  MlirStringRef ns = mlirDialectHandleGetNamespace(handle);
  printf("dialect namespace: %.*s\n", (int)ns.length, ns.data);

  MlirDialectRegistry registry = mlirDialectRegistryCreate();
  mlirDialectHandleInsertDialect(handle, registry);
  attnRegisterAllDialects(registry);
  MlirContext ctx = mlirContextCreateWithRegistry(registry,
                                                  /*threadingEnabled=*/false);
  mlirDialectRegistryDestroy(registry);
  attnRegisterPasses();
  attnRegisterPasses(); // A second call must be harmless.

  MlirModule module =
      mlirModuleCreateParse(ctx, mlirStringRefCreateFromCString(kModule));
  if (mlirModuleIsNull(module)) {
    fprintf(stderr, "failed to parse the module\n");
    return EXIT_FAILURE;
  }
  printf("// parsed\n");
  printModule(module);

  if (mlirLogicalResultIsFailure(attnRunCanonicalize(module))) {
    fprintf(stderr, "canonicalize failed\n");
    return EXIT_FAILURE;
  }
  printf("// canonicalized\n");
  printModule(module);

  // Registered pipelines are reachable by name through MLIR's own C API.
  MlirPassManager pm = mlirPassManagerCreate(ctx);
  MlirOpPassManager opm = mlirPassManagerGetAsOpPassManager(pm);
  MlirLogicalResult parsed = mlirOpPassManagerAddPipeline(
      opm, mlirStringRefCreateFromCString("attn-cpu-pipeline{openmp=0}"),
      printToStdout, NULL);
  printf("// named pipeline parses: %d\n", mlirLogicalResultIsSuccess(parsed));
  mlirPassManagerDestroy(pm);

  MlirLogicalResult bad = attnRunCpuPipeline(
      module, mlirStringRefCreateFromCString("no-such-option=1"));
  printf("// bad options rejected: %d\n", mlirLogicalResultIsFailure(bad));

  if (mlirLogicalResultIsFailure(attnRunCpuPipeline(
          module, mlirStringRefCreateFromCString("openmp=0 vectorize=0")))) {
    fprintf(stderr, "attn-cpu-pipeline failed\n");
    return EXIT_FAILURE;
  }
  printf("// lowered\n");
  printModule(module);

  mlirModuleDestroy(module);
  mlirContextDestroy(ctx);
  printf("// done\n");
  return EXIT_SUCCESS;
}
