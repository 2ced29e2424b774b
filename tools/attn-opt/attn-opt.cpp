//===- attn-opt.cpp - mlir-opt with the attn dialect and passes -----------===//
//
// The optimizer driver: parses IR, runs the requested passes and prints the
// result, like mlir-opt, with the attn dialect, its passes and the upstream
// dialects and passes our pipelines use. Unlike mlir-opt it never dies of a
// signal: input that MLIR's parser is known to crash on (absurd nesting,
// which overflows its recursive descent; malformed linalg dimension lists)
// is rejected up front with a located error, and the work runs under a
// crash guard that turns any other crash into `error: internal compiler
// error`, a saved reproducer and exit code 1.
//
//===----------------------------------------------------------------------===//

#include "attn/InitAttn.h"
#include "attn/Support/CrashGuard.h"
#include "attn/Support/Nesting.h"
#include "attn/Support/ParserCrashes.h"
#include "attn/Version.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <thread>

using namespace mlir;

/// Deliberate crashes, to test the crash guard from lit (like clang's
/// `#pragma clang __debug crash`); not listed in --help.
static llvm::cl::opt<std::string> debugCrash(
    "attn-debug-crash", llvm::cl::Hidden,
    llvm::cl::desc("Crash on purpose: segv, abort, thread or stack-overflow"));

/// Recurses until the stack overflows (the volatile keeps it a real call).
static int overflowStack(volatile int depth) {
  if (depth < 0)
    return 0; // never: keeps the compiler from proving the recursion endless
  volatile char frame[1024];
  frame[0] = char(depth);
  return overflowStack(depth + 1) + frame[0];
}

static void crashOnPurpose(llvm::StringRef kind) {
  if (kind == "segv")
    *static_cast<volatile int *>(nullptr) = 0;
  else if (kind == "abort")
    llvm::report_fatal_error("deliberate fatal error (--attn-debug-crash)");
  else if (kind == "thread")
    std::thread([] { *static_cast<volatile int *>(nullptr) = 0; }).join();
  else if (kind == "stack-overflow")
    (void)overflowStack(0);
}

/// Prints `message` as an error at byte `offset` of `file`.
static void printErrorAt(const llvm::MemoryBuffer &file, size_t offset,
                         const llvm::Twine &message) {
  llvm::SourceMgr sourceMgr;
  unsigned id = sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBuffer(file.getBuffer(),
                                       file.getBufferIdentifier(),
                                       /*RequiresNullTerminator=*/false),
      llvm::SMLoc());
  sourceMgr.PrintMessage(
      llvm::errs(),
      llvm::SMLoc::getFromPointer(
          sourceMgr.getMemoryBuffer(id)->getBufferStart() + offset),
      llvm::SourceMgr::DK_Error, message);
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  llvm::setBugReportMsg("attn-opt crashed; the stack below belongs in the "
                        "report.\n");
  std::string commandLine;
  for (int i = 0; i < argc; ++i)
    commandLine += (i ? " " : "") + std::string(argv[i]);
  llvm::cl::AddExtraVersionPrinter([](llvm::raw_ostream &os) {
    os << "attn-opt " ATTN_VERSION_STRING "\n";
  });
  registerAllPasses();
  mlir::attn::registerAttnPasses();

  DialectRegistry registry;
  mlir::attn::registerAttnDialect(registry);
  registerAllDialects(registry);
  registerAllExtensions(registry);

  auto [inputFilename, outputFilename] = registerAndParseCLIOptions(
      argc, argv, "attn-opt: attention graph optimizer\n", registry);

  MlirOptMainConfig config = MlirOptMainConfig::createFromCLOptions();
  // These print and exit without reading any input.
  if (config.shouldShowDialects() || config.shouldListPasses())
    return asMainReturnCode(
        MlirOptMain(argc, argv, inputFilename, outputFilename, registry));

  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> file =
      openInputFile(inputFilename, &errorMessage);
  if (!file) {
    llvm::WithColor::error(llvm::errs(), "attn-opt") << errorMessage << "\n";
    return EXIT_FAILURE;
  }

  if (std::optional<size_t> offset =
          ::attn::findExcessiveNesting(file->getBuffer())) {
    printErrorAt(*file, *offset,
                 "input is nested more than " +
                     llvm::Twine(::attn::kMaxNestingDepth) +
                     " levels deep; attn-opt refuses it rather than overflow "
                     "the stack");
    return EXIT_FAILURE;
  }
  if (std::optional<::attn::ParserCrashSite> site =
          ::attn::findMalformedLinalgDimensionList(file->getBuffer())) {
    printErrorAt(*file, site->offset, site->message);
    return EXIT_FAILURE;
  }

  // From here on a crash of any thread is reported, not suffered. Nothing
  // has started a thread yet.
  ::attn::CrashGuardInfo guard;
  guard.toolName = "attn-opt";
  guard.commandLine = commandLine;
  guard.input = file->getBuffer();
  if (std::optional<int> exitCode = ::attn::runUnderCrashGuard(guard))
    return *exitCode;

  if (!debugCrash.empty())
    crashOnPurpose(debugCrash);

  auto output = openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::WithColor::error(llvm::errs(), "attn-opt") << errorMessage << "\n";
    return EXIT_FAILURE;
  }
  if (failed(MlirOptMain(output->os(), std::move(file), registry, config)))
    return EXIT_FAILURE;
  output->keep();
  return EXIT_SUCCESS;
}
