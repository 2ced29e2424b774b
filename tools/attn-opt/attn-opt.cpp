//===- attn-opt.cpp - mlir-opt with the attn dialect and passes -----------===//
//
// The optimizer driver: parses IR, runs the requested passes and prints the
// result, like mlir-opt, with the attn dialect, its passes and the upstream
// dialects and passes our pipelines use. Unlike mlir-opt it rejects absurdly
// nested input up front, because MLIR's recursive parser would overflow the
// stack on it instead of reporting an error.
//
//===----------------------------------------------------------------------===//

#include "attn/InitAttn.h"
#include "attn/Support/Nesting.h"
#include "attn/Version.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;

int main(int argc, char **argv) {
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
    llvm::SourceMgr sourceMgr;
    StringRef bufferName = file->getBufferIdentifier();
    const char *start = file->getBufferStart();
    unsigned id = sourceMgr.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBuffer(file->getBuffer(), bufferName,
                                         /*RequiresNullTerminator=*/false),
        llvm::SMLoc());
    (void)id;
    sourceMgr.PrintMessage(
        llvm::errs(), llvm::SMLoc::getFromPointer(
                          sourceMgr.getMemoryBuffer(id)->getBufferStart() +
                          (start + *offset - file->getBufferStart())),
        llvm::SourceMgr::DK_Error,
        "input is nested more than " +
            llvm::Twine(::attn::kMaxNestingDepth) +
            " levels deep; attn-opt refuses it rather than overflow the stack");
    return EXIT_FAILURE;
  }

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
