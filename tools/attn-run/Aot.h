//===- Aot.h - ahead-of-time output of attn-run -----------------*- C++ -*-===//
//
// Declares attn-run's ahead-of-time paths (object, shared library, C header)
// so the driver in attn-run.cpp stays about running and checking.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TOOLS_ATTN_RUN_AOT_H
#define ATTN_TOOLS_ATTN_RUN_AOT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace attn_run {

/// Translates the LLVM-dialect `module` to LLVM IR, optimises it at O3 for
/// the host CPU and writes an object file to `path`.
mlir::LogicalResult emitObjectFile(mlir::ModuleOp module, llvm::StringRef path,
                                   std::string &error);

/// Links the object `objectPath` into a shared library `soPath` that needs
/// only libc, libm and libomp at run time (ld.lld, else clang), plus what
/// `extraLinkerArgs` (ld.lld syntax) add, e.g. the CUDA runtime wrappers.
mlir::LogicalResult
linkSharedLibrary(llvm::StringRef objectPath, llvm::StringRef soPath,
                  std::string &error,
                  const std::vector<std::string> &extraLinkerArgs = {});

/// Writes a C header declaring the memref descriptors, the `_mlir_ciface_`
/// entry point for `funcType` and a plain-pointer convenience wrapper. With
/// `gpu`, results are CUDA managed memory, freed with mgpuMemFree.
mlir::LogicalResult writeCHeader(llvm::StringRef path, llvm::StringRef entry,
                                 mlir::FunctionType funcType,
                                 std::string &error, bool gpu = false);

/// Writes the C header of a --target=cuda library compiled with the GPU
/// pipeline's device-memory=1 (tools/attn-run/CudaHeader.cpp): inputs and
/// then results as memref descriptors of caller-owned device buffers, and a
/// wrapper on plain device pointers.
mlir::LogicalResult writeCudaDeviceHeader(llvm::StringRef path,
                                          llvm::StringRef entry,
                                          mlir::FunctionType funcType,
                                          std::string &error);

/// Writes `text` to `path`, replacing it; on failure `error` says why.
mlir::LogicalResult writeTextFile(llvm::StringRef path, llvm::StringRef text,
                                  std::string &error);

} // namespace attn_run

#endif // ATTN_TOOLS_ATTN_RUN_AOT_H
