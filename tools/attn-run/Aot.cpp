//===- Aot.cpp - ahead-of-time output of attn-run -------------------------===//
//
// Turns the lowered module into an O3 object for the host CPU, links it into
// a shared library that needs only libc, libm and libomp, and writes a C
// header so plain C programs can call the compiled graph.
//
//===----------------------------------------------------------------------===//

#include "Aot.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <memory>
#include <set>

using namespace mlir;

LogicalResult attn_run::emitObjectFile(ModuleOp module, llvm::StringRef path,
                                       std::string &error) {
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "attn-run");
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return failure();
  }

  // Tune for this machine: the library is built where it will run.
  llvm::Triple triple(llvm::sys::getProcessTriple());
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return failure();
  std::string features;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    features += (feature.second ? "+" : "-") + feature.first().str() + ",";
  if (!features.empty())
    features.pop_back();
  // Constructors in .init_array, which the dynamic loader runs for shared
  // libraries; .ctors would need crtbegin.o, which ld.lld does not add. GPU
  // modules load their kernels from such a constructor.
  llvm::TargetOptions targetOptions;
  targetOptions.UseInitArray = true;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, llvm::sys::getHostCPUName(), features, targetOptions,
      llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine) {
    error = "cannot create a target machine for " + triple.str();
    return failure();
  }
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(machine->createDataLayout());

  auto optimize = makeOptimizingTransformer(3, 0, machine.get());
  if (llvm::Error err = optimize(llvmModule.get())) {
    error = "LLVM optimisation failed: " + llvm::toString(std::move(err));
    return failure();
  }

  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = "cannot write '" + path.str() + "': " + ec.message();
    return failure();
  }
  llvm::legacy::PassManager codegen;
  if (machine->addPassesToEmitFile(codegen, out.os(), nullptr,
                                   llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return failure();
  }
  codegen.run(*llvmModule);
  out.keep();
  return success();
}

LogicalResult
attn_run::linkSharedLibrary(llvm::StringRef objectPath, llvm::StringRef soPath,
                            std::string &error,
                            const std::vector<std::string> &extraLinkerArgs) {
  // Debian's multiarch library directory, e.g. /usr/lib/x86_64-linux-gnu:
  // ld.lld has no built-in search path.
  llvm::Triple triple(llvm::sys::getProcessTriple());
  std::string multiarch = triple.getArchName().str() + "-linux-gnu";
  std::string libDir = ATTN_LLVM_LIB_DIR;
  std::vector<std::string> args;
  llvm::ErrorOr<std::string> linker = llvm::sys::findProgramByName("ld.lld-22");
  if (!linker)
    linker = llvm::sys::findProgramByName("ld.lld");
  if (linker) {
    args = {*linker, "-shared", "-o", soPath.str(), objectPath.str(),
            // Catch references to MLIR's runner libraries at link time
            // rather than when the user loads the library.
            "--no-undefined", "--as-needed", "-L" + libDir,
            "-L/usr/lib/" + multiarch, "-L/lib/" + multiarch, "-rpath",
            libDir, "-lomp", "-lm", "-lc"};
    args.insert(args.end() - 3, extraLinkerArgs.begin(),
                extraLinkerArgs.end());
  } else {
    llvm::ErrorOr<std::string> clang = llvm::sys::findProgramByName("clang-22");
    if (!clang)
      clang = llvm::sys::findProgramByName("clang");
    if (!clang) {
      error = "cannot link a shared library: neither ld.lld-22, ld.lld, "
              "clang-22 nor clang is on PATH";
      return failure();
    }
    linker = clang;
    args = {*clang, "-shared",  "-o", soPath.str(), objectPath.str(),
            "-Wl,--no-undefined", "-Wl,--as-needed", "-L" + libDir,
            "-Wl,-rpath," + libDir, "-lomp", "-lm"};
    // The extra arguments are ld.lld's: pass the non-library ones through.
    for (const std::string &arg : extraLinkerArgs)
      args.insert(args.end() - 2, llvm::StringRef(arg).starts_with("-l") ||
                                          llvm::StringRef(arg).starts_with("-L")
                                      ? arg
                                      : "-Wl," + arg);
  }
  std::vector<llvm::StringRef> argRefs(args.begin(), args.end());
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*linker, argRefs, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0) {
    error = "linking '" + soPath.str() + "' with " + *linker + " failed" +
            (message.empty() ? "" : ": " + message) +
            " (see the linker's messages above)";
    return failure();
  }
  return success();
}

namespace {
/// The C type of a memref element in the generated header.
std::optional<std::string> getCType(Type type) {
  if (type.isF32())
    return "float";
  if (type.isF64())
    return "double";
  if (type.isF16() || type.isBF16())
    return "uint16_t"; // raw IEEE half / bfloat16 bits
  if (type.isInteger(1))
    return "uint8_t"; // MLIR stores i1 memrefs one byte per element
  if (type.isInteger(64))
    return "int64_t";
  return std::nullopt;
}

std::string getDescriptorName(int64_t rank) {
  return "attn_memref_" + std::to_string(rank) + "d";
}
} // namespace

LogicalResult attn_run::writeCHeader(llvm::StringRef path,
                                     llvm::StringRef entry,
                                     FunctionType funcType,
                                     std::string &error, bool gpu) {
  struct Param {
    std::string cType;
    std::vector<int64_t> shape;
  };
  std::vector<Param> args, results;
  for (auto [list, types] : {std::make_pair(&args, funcType.getInputs()),
                             std::make_pair(&results, funcType.getResults())}) {
    for (Type type : types) {
      auto tensor = dyn_cast<RankedTensorType>(type);
      std::optional<std::string> cType =
          tensor ? getCType(tensor.getElementType()) : std::nullopt;
      if (!tensor || !tensor.hasStaticShape() || !cType) {
        error = "cannot write a C header for @" + entry.str() +
                ": unsupported argument or result type";
        return failure();
      }
      list->push_back(
          {*cType, std::vector<int64_t>(tensor.getShape().begin(),
                                        tensor.getShape().end())});
    }
  }

  std::string guard = "ATTN_GENERATED_" + entry.upper() + "_H";
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "/* C interface of @" << entry
     << ", generated by attn-run. Link with the shared library attn-run\n"
        "   --emit=so produced for the same function. */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include <stdint.h>\n#include <stdlib.h>\n#include <string.h>\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  if (gpu)
    os << "/* From libattn_cuda_runtime.so: results live in CUDA managed "
          "memory. */\nvoid mgpuMemFree(void *ptr, void *stream);\n"
          "int attnCudaAvailable(char *reason, size_t reason_size);\n\n";

  std::set<int64_t> ranks;
  for (const Param &p : args)
    ranks.insert(p.shape.size());
  for (const Param &p : results)
    ranks.insert(p.shape.size());
  for (int64_t rank : ranks) {
    std::string nameUpper = "ATTN_MEMREF_" + std::to_string(rank) + "D_DEFINED";
    os << "#ifndef " << nameUpper << "\n#define " << nameUpper << "\n"
       << "/* MLIR's strided memref descriptor of rank " << rank
       << "; element pointers are untyped. */\n"
       << "typedef struct {\n  void *allocated;\n  void *aligned;\n"
       << "  int64_t offset;\n";
    if (rank > 0)
      os << "  int64_t sizes[" << rank << "];\n  int64_t strides[" << rank
         << "];\n";
    os << "} " << getDescriptorName(rank) << ";\n#endif\n\n";
  }
  os << "#ifndef ATTN_COPY_STRIDED_DEFINED\n#define ATTN_COPY_STRIDED_DEFINED\n"
     << "/* Copies a strided view into a dense C-ordered buffer. */\n"
     << "static inline void attn_copy_strided(const char *base, size_t "
        "elem_size,\n    int rank, const int64_t *sizes, const int64_t "
        "*strides, char *dst) {\n"
     << "  int64_t index[16] = {0};\n  int64_t count = 1;\n"
     << "  for (int d = 0; d < rank; ++d) count *= sizes[d];\n"
     << "  for (int64_t e = 0; e < count; ++e) {\n"
     << "    int64_t offset = 0;\n"
     << "    for (int d = 0; d < rank; ++d) offset += index[d] * strides[d];\n"
     << "    memcpy(dst + e * elem_size, base + offset * elem_size, "
        "elem_size);\n"
     << "    for (int d = rank - 1; d >= 0; --d) {\n"
     << "      if (++index[d] < sizes[d]) break;\n      index[d] = 0;\n    }\n"
     << "  }\n}\n#endif\n\n";

  // With several results the C interface returns a struct of descriptors.
  std::string resultType;
  if (results.size() == 1) {
    resultType = getDescriptorName(results[0].shape.size());
  } else if (results.size() > 1) {
    resultType = entry.str() + "_results";
    os << "typedef struct {\n";
    for (auto [i, r] : llvm::enumerate(results))
      os << "  " << getDescriptorName(r.shape.size()) << " r" << i << ";\n";
    os << "} " << resultType << ";\n\n";
  }

  os << "/* The compiled function: results are written to *result and are\n"
        "   owned by the caller (free their 'allocated' pointer). */\n"
     << "void _mlir_ciface_" << entry << "(";
  bool first = true;
  if (!resultType.empty()) {
    os << resultType << " *result";
    first = false;
  }
  for (auto [i, a] : llvm::enumerate(args)) {
    os << (first ? "" : ", ") << getDescriptorName(a.shape.size()) << " *arg"
       << i;
    first = false;
  }
  if (first)
    os << "void";
  os << ");\n\n";

  // The convenience wrapper: dense inputs in, dense outputs copied to caller
  // buffers.
  os << "/* Runs @" << entry
     << " on dense C-ordered buffers: inputs are read, each output buffer\n"
        "   must hold its result's element count. */\n"
     << "static inline void " << entry << "_run(";
  first = true;
  for (auto [i, a] : llvm::enumerate(args)) {
    os << (first ? "" : ", ") << "const " << a.cType << " *in" << i;
    first = false;
  }
  for (auto [i, r] : llvm::enumerate(results)) {
    os << (first ? "" : ", ") << r.cType << " *out" << i;
    first = false;
  }
  if (first)
    os << "void";
  os << ") {\n";
  for (auto [i, a] : llvm::enumerate(args)) {
    size_t rank = a.shape.size();
    os << "  " << getDescriptorName(rank) << " arg" << i << ";\n"
       << "  arg" << i << ".allocated = arg" << i << ".aligned = (void *)in"
       << i << ";\n  arg" << i << ".offset = 0;\n";
    int64_t stride = 1;
    for (int64_t d = int64_t(rank) - 1; d >= 0; --d) {
      os << "  arg" << i << ".sizes[" << d << "] = " << a.shape[d] << ";\n"
         << "  arg" << i << ".strides[" << d << "] = " << stride << ";\n";
      stride *= a.shape[d];
    }
  }
  if (!resultType.empty())
    os << "  " << resultType << " result;\n";
  os << "  _mlir_ciface_" << entry << "(";
  first = true;
  if (!resultType.empty()) {
    os << "&result";
    first = false;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    os << (first ? "" : ", ") << "&arg" << i;
    first = false;
  }
  os << ");\n";
  for (auto [i, r] : llvm::enumerate(results)) {
    std::string desc =
        results.size() == 1 ? "result" : "result.r" + std::to_string(i);
    size_t rank = r.shape.size();
    os << "  attn_copy_strided((const char *)" << desc << ".aligned + " << desc
       << ".offset * sizeof(" << r.cType << "), sizeof(" << r.cType << "), "
       << rank << ", " << (rank ? desc + ".sizes" : "0") << ", "
       << (rank ? desc + ".strides" : "0") << ", (char *)out" << i << ");\n";
  }
  // Free each distinct callee allocation once; results may alias an input
  // or a constant global (MLIR's 0xdeadbeef marker), which are not ours.
  for (auto [i, r] : llvm::enumerate(results)) {
    std::string desc =
        results.size() == 1 ? "result" : "result.r" + std::to_string(i);
    os << "  if (" << desc << ".allocated != (void *)0xdeadbeef";
    for (size_t a = 0; a < args.size(); ++a)
      os << " && " << desc << ".allocated != (const void *)in" << a;
    for (size_t j = 0; j < i; ++j)
      os << " && " << desc << ".allocated != result.r" << j << ".allocated";
    if (gpu)
      os << ")\n    mgpuMemFree(" << desc << ".allocated, 0);\n";
    else
      os << ")\n    free(" << desc << ".allocated);\n";
  }
  os << "}\n\n#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard
     << " */\n";

  return writeTextFile(path, text, error);
}

LogicalResult attn_run::writeTextFile(StringRef path, StringRef text,
                                      std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream file(path, ec);
  if (ec) {
    error = "cannot write '" + path.str() + "': " + ec.message();
    return failure();
  }
  file << text;
  return success();
}
