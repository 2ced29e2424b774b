//===- Dialects.h - C API for the attn dialect --------------------*- C -*-===//
//
// C entry points that make the attn dialect (and the upstream dialects attn IR
// is written with) available in an MlirContext, for C and FFI embedders.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_C_DIALECTS_H
#define ATTN_C_DIALECTS_H

#include "mlir-c/IR.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Declares `mlirGetDialectHandle__attn__()`: insert it into a registry with
/// `mlirDialectHandleInsertDialect` or load it with
/// `mlirDialectHandleLoadDialect`.
MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(Attn, attn);

/// Adds the attn dialect and every upstream dialect and dialect extension that
/// attn-opt registers (func, arith, tensor, linalg, ... and the LLVM dialect
/// the pipelines end in) to `registry`, so a context built from it parses any
/// input attn-opt parses.
MLIR_CAPI_EXPORTED void attnRegisterAllDialects(MlirDialectRegistry registry);

#ifdef __cplusplus
}
#endif

#endif // ATTN_C_DIALECTS_H
