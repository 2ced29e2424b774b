//===- Pipelines.h - C API for attn passes and pipelines ----------*- C -*-===//
//
// C entry points that register the attn passes and run or append the attn
// pass pipelines, for C and FFI embedders.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_C_PIPELINES_H
#define ATTN_C_PIPELINES_H

#include "mlir-c/IR.h"
#include "mlir-c/Pass.h"
#include "mlir-c/Support.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Registers every attn pass and named pipeline (`attn-cpu-pipeline`, ...)
/// with MLIR's global registries, so `mlirParsePassPipeline` and
/// `mlirOpPassManagerAddPipeline` accept them. Safe to call more than once and
/// from several threads.
MLIR_CAPI_EXPORTED void attnRegisterPasses(void);

/// Appends the CPU pipeline (attn on tensors -> LLVM dialect) to `passManager`,
/// which must be anchored on builtin.module. `options` uses the pass-pipeline
/// option syntax, e.g. "openmp=1 vectorize=0"; an empty string means the
/// defaults. Fails, appending nothing, when `options` does not parse.
MLIR_CAPI_EXPORTED MlirLogicalResult
attnAddCpuPipeline(MlirOpPassManager passManager, MlirStringRef options);

/// Runs the CPU pipeline on `module` in place. Fails when `options` does not
/// parse (reported as an error diagnostic on the module) or a pass fails
/// (reported through the context's diagnostic handlers).
MLIR_CAPI_EXPORTED MlirLogicalResult attnRunCpuPipeline(MlirModule module,
                                                        MlirStringRef options);

/// Runs the canonicalizer (which folds attn.rearrange chains, identity
/// rearranges, ...) on `module` in place.
MLIR_CAPI_EXPORTED MlirLogicalResult attnRunCanonicalize(MlirModule module);

#ifdef __cplusplus
}
#endif

#endif // ATTN_C_PIPELINES_H
