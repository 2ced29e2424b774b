//===- InitAttn.h - register everything attn provides -----------*- C++ -*-===//
//
// One place that registers the attn dialect, its passes and pipelines, so
// tools and embedding compilers do not have to know the list.
//
// An embedding compiler (linking AttnOpt::AttnInit from find_package(AttnOpt))
// registers everything once at start-up and then builds the CPU pipeline into
// its own pass manager with typed options:
//
//   #include "attn/InitAttn.h"
//   #include "attn/Pipelines/Pipelines.h"
//
//   mlir::DialectRegistry registry;
//   mlir::attn::registerAttnDialect(registry);   // plus the dialects you use
//   mlir::MLIRContext context(registry);
//   mlir::attn::registerAttnPasses();            // global registries; call
//                                                // once, before parsing
//                                                // pipeline strings
//
//   mlir::PassManager pm(&context);              // anchored on builtin.module
//   mlir::attn::CpuPipelineOptions options;
//   options.openmp = false;
//   options.vectorize = true;
//   mlir::attn::buildCpuPipeline(pm, options);
//   if (mlir::failed(pm.run(module)))            // module: mlir::ModuleOp
//     ...;
//
// Options can also come from a string in pass-pipeline syntax:
// `CpuPipelineOptions::createFromString("openmp=1 vectorize=0")` returns null
// when it does not parse. TUs that define CpuPipelineOptions objects must be
// compiled with -fno-rtti, like the packaged LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_INITATTN_H
#define ATTN_INITATTN_H

namespace mlir {
class DialectRegistry;
namespace attn {

/// Adds the attn dialect to `registry`.
void registerAttnDialect(DialectRegistry &registry);

/// Registers every attn pass and named pipeline with the global registries
/// (what `attn-opt --help` lists).
void registerAttnPasses();

} // namespace attn
} // namespace mlir

#endif // ATTN_INITATTN_H
