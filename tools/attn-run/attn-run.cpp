//===- attn-run.cpp - compile, run and check attn graphs on the CPU -------===//
//
// The driver: parses an attn-dialect function, makes or reads its inputs,
// lowers it with the CPU pipeline, JIT-executes it, and optionally checks it
// against the f64 reference evaluator, times it, or emits it ahead of time.
//
//===----------------------------------------------------------------------===//

#include "Aot.h"

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/InitAttn.h"
#include "attn/Reference/Evaluator.h"
#include "attn/Runtime/Cuda.h"
#include "attn/Runtime/Npy.h"
#include "attn/Support/CrashGuard.h"
#include "attn/Support/Nesting.h"
#include "attn/Support/ParserCrashes.h"
#ifdef ATTN_HAVE_PIPELINES
#include "attn/Pipelines/Pipelines.h"
#endif

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <dlfcn.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <cstring>
#include <random>
#include <set>

using namespace mlir;
using ::attn::runtime::DType;
using ::attn::runtime::NpyArray;

namespace cl = llvm::cl;

static cl::OptionCategory category("attn-run options");

static cl::opt<std::string> inputFilename(cl::Positional,
                                          cl::desc("<input .mlir file>"),
                                          cl::Required, cl::cat(category));
static cl::opt<std::string>
    entryName("entry",
              cl::desc("Function to run (default: the only function)"),
              cl::value_desc("name"), cl::cat(category));
static cl::list<std::string>
    inputFiles("input",
               cl::desc(".npy file for each argument, in order (repeat or "
                        "comma-separate); random inputs when absent"),
               cl::value_desc("file.npy"), cl::CommaSeparated,
               cl::cat(category));
static cl::opt<uint64_t> seed("seed", cl::desc("Seed of the random inputs"),
                              cl::init(0), cl::cat(category));
static cl::opt<std::string>
    outputPrefix("output", cl::desc("Write result N to PREFIX.N.npy"),
                 cl::value_desc("prefix"), cl::cat(category));
static cl::opt<std::string> referencePrefix(
    "output-reference",
    cl::desc("Write reference result N to PREFIX.N.npy (f64; NaN outside "
             "the sampled rows of a sampled reference); implies the "
             "reference is evaluated"),
    cl::value_desc("prefix"), cl::cat(category));
static cl::opt<bool> check("check",
                           cl::desc("Compare the results with the f64 "
                                    "reference evaluator; exit 1 on mismatch"),
                           cl::cat(category));
static cl::opt<std::string> referenceMemoryLimit(
    "reference-memory-limit",
    cl::desc("Memory the f64 reference may use, in bytes with an optional "
             "K/M/G suffix (default: half of the available memory); beyond "
             "it, sampled rows are checked"),
    cl::value_desc("size"), cl::cat(category));
static cl::opt<unsigned> referenceSampleRows(
    "reference-sample-rows",
    cl::desc("Rows of each result the reference computes when the whole "
             "evaluation does not fit (0: fail instead)"),
    cl::init(16), cl::value_desc("N"), cl::cat(category));
static cl::opt<double>
    atolOpt("atol", cl::desc("Absolute tolerance (default: by element type)"),
            cl::init(-1), cl::cat(category));
static cl::opt<double> rtolOpt(
    "rtol",
    cl::desc("Tolerance relative to the largest reference magnitude "
             "(default: by element type)"),
    cl::init(-1), cl::cat(category));
static cl::alias toleranceAlias("tolerance", cl::desc("Alias for --rtol"),
                                cl::aliasopt(rtolOpt), cl::cat(category));
static cl::opt<unsigned>
    benchRuns("bench",
              cl::desc("Time N runs after one warm-up and report the median"),
              cl::init(0), cl::value_desc("N"), cl::cat(category));
enum class EmitKind { None, Obj, So };
static cl::opt<EmitKind> emitKind(
    "emit", cl::desc("Emit ahead-of-time output instead of only running"),
    cl::values(clEnumValN(EmitKind::Obj, "obj", "an object file"),
               clEnumValN(EmitKind::So, "so", "a shared library")),
    cl::init(EmitKind::None), cl::cat(category));
static cl::opt<std::string> outputFile("o",
                                       cl::desc("Output file for --emit"),
                                       cl::value_desc("file"),
                                       cl::cat(category));
static cl::opt<std::string>
    headerFile("header", cl::desc("Write a C header for the entry function"),
               cl::value_desc("file.h"), cl::cat(category));
enum class TargetKind { Cpu, Cuda };
static cl::opt<TargetKind> target(
    "target", cl::desc("Where the compiled graph runs"),
    cl::values(clEnumValN(TargetKind::Cpu, "cpu", "the host CPU (default)"),
               clEnumValN(TargetKind::Cuda, "cuda",
                          "an NVIDIA GPU: PTX through the CUDA driver, "
                          "loaded at run time")),
    cl::init(TargetKind::Cpu), cl::cat(category));
static cl::opt<std::string> gpuChip(
    "gpu-chip", cl::desc("NVIDIA architecture for --target=cuda"),
    cl::init("sm_90"), cl::cat(category));
static cl::opt<std::string> gpuPipelineOptions(
    "gpu-pipeline",
    cl::desc("Options of the GPU pipeline as --attn-gpu-pipeline takes them, "
             "e.g. \"warps=8 stages=3 device-memory=1\"; runs (--check, "
             "--bench) default to device-memory=1 unless a library is "
             "emitted"),
    cl::value_desc("options"), cl::cat(category));
static cl::opt<std::string> cpuPipelineOptions(
    "cpu-pipeline",
    cl::desc("Options of the CPU pipeline, as for attn-opt "
             "--attn-cpu-pipeline=\"...\" (e.g. \"fuse-elementwise=0\")"),
    cl::value_desc("options"), cl::init(""), cl::cat(category));
static cl::opt<bool> printIRAfterAll("print-ir-after-all",
                                     cl::desc("Print the IR after each pass"),
                                     cl::cat(category));
/// A deliberate crash after parsing, to test the crash guard from lit.
static cl::opt<bool> debugCrash("attn-debug-crash", cl::Hidden,
                                cl::desc("Crash on purpose after parsing"));

namespace {
/// CPU seconds this process has used, all threads together.
double processCpuSeconds() {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}


using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void progress(const llvm::Twine &message) {
  llvm::errs() << "attn-run: " << message << "\n";
}

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "attn-run") << message << "\n";
  return 1;
}

std::optional<DType> getDType(Type type) {
  if (type.isF16())
    return DType::F16;
  if (type.isBF16())
    return DType::BF16;
  if (type.isF32())
    return DType::F32;
  if (type.isF64())
    return DType::F64;
  if (type.isInteger(1))
    return DType::Bool;
  if (type.isInteger(64))
    return DType::I64;
  return std::nullopt;
}

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (auto [i, dim] : llvm::enumerate(shape))
    text += (i ? "x" : "") + std::to_string(dim);
  return text + "]";
}

/// Deterministic uniform doubles in [-1, 1) from a 64-bit generator, so the
/// same seed gives the same inputs with every standard library.
double uniform(std::mt19937_64 &rng) {
  return double(rng() >> 11) * 0x1.0p-53 * 2.0 - 1.0;
}

/// A tensor argument or result type the runtime can carry.
struct TensorSpec {
  DType dtype;
  std::vector<int64_t> shape;
};

FailureOr<TensorSpec> getTensorSpec(Type type, const llvm::Twine &what) {
  auto tensorType = dyn_cast<RankedTensorType>(type);
  std::string typeText;
  llvm::raw_string_ostream os(typeText);
  os << type;
  if (!tensorType || !tensorType.hasStaticShape()) {
    fail(what + " has type " + typeText +
         "; only statically shaped tensors are supported");
    return failure();
  }
  std::optional<DType> dtype = getDType(tensorType.getElementType());
  if (!dtype) {
    fail(what + " has unsupported element type in " + typeText +
         " (supported: f16, bf16, f32, f64, i1, i64)");
    return failure();
  }
  return TensorSpec{*dtype, std::vector<int64_t>(tensorType.getShape().begin(),
                                                 tensorType.getShape().end())};
}

/// The memref descriptor MLIR's LLVM lowering passes through the C
/// interface: {allocated, aligned, offset, sizes[rank], strides[rank]}, all
/// 8-byte words, so a run of them also lays out a struct of results.
struct Descriptor {
  static size_t getNumWords(size_t rank) { return 3 + 2 * rank; }
};

/// One JIT-compiled entry point called through its `_mlir_ciface_` wrapper.
struct Invocation {
  void (*packed)(void **) = nullptr;
  std::vector<TensorSpec> argSpecs, resultSpecs;
  std::vector<std::vector<int64_t>> argDescriptors;
  std::vector<int64_t> resultWords;
  std::vector<size_t> resultOffsets;
  std::set<void *> inputPointers;

  /// GPU code compiled with device-memory=1 takes every buffer, outputs
  /// included (as trailing arguments), from the caller: they are allocated
  /// here once in CUDA managed memory through the runtime's mgpuMemAlloc,
  /// so a timed call does no host transfer and no allocation.
  void *(*allocManaged)(uint64_t, void *, bool) = nullptr;
  void (*synchronize)() = nullptr;
  std::vector<void *> deviceBuffers;
  bool outParams() const { return allocManaged != nullptr; }

  static void setDense(std::vector<int64_t> &words, void *pointer,
                       ArrayRef<int64_t> shape) {
    size_t rank = shape.size();
    words.assign(Descriptor::getNumWords(rank), 0);
    words[0] = words[1] = int64_t(reinterpret_cast<intptr_t>(pointer));
    int64_t stride = 1;
    for (int64_t d = int64_t(rank) - 1; d >= 0; --d) {
      words[3 + d] = shape[d];
      words[3 + rank + d] = stride;
      stride *= shape[d];
    }
  }

  void setDeviceInputs(std::vector<NpyArray> &inputs) {
    argDescriptors.clear();
    for (NpyArray &array : inputs) {
      void *buffer = allocManaged(array.data.size(), nullptr, true);
      std::memcpy(buffer, array.data.data(), array.data.size());
      deviceBuffers.push_back(buffer);
      argDescriptors.emplace_back();
      setDense(argDescriptors.back(), buffer, array.shape);
    }
    for (const TensorSpec &spec : resultSpecs) {
      NpyArray shapeOnly = NpyArray::zeros(spec.dtype, spec.shape);
      void *buffer = allocManaged(shapeOnly.data.size(), nullptr, true);
      deviceBuffers.push_back(buffer);
      argDescriptors.emplace_back();
      setDense(argDescriptors.back(), buffer, spec.shape);
    }
  }

  void setInputs(std::vector<NpyArray> &inputs) {
    if (outParams())
      return setDeviceInputs(inputs);
    argDescriptors.clear();
    inputPointers.clear();
    for (NpyArray &array : inputs) {
      size_t rank = array.shape.size();
      std::vector<int64_t> words(Descriptor::getNumWords(rank), 0);
      int64_t pointer = int64_t(reinterpret_cast<intptr_t>(array.data.data()));
      inputPointers.insert(array.data.data());
      words[0] = words[1] = pointer;
      int64_t stride = 1;
      for (int64_t d = int64_t(rank) - 1; d >= 0; --d) {
        words[3 + d] = array.shape[d];
        words[3 + rank + d] = stride;
        stride *= array.shape[d];
      }
      argDescriptors.push_back(std::move(words));
    }
    resultWords.clear();
    resultOffsets.clear();
    for (const TensorSpec &spec : resultSpecs) {
      resultOffsets.push_back(resultWords.size());
      resultWords.resize(resultWords.size() +
                         Descriptor::getNumWords(spec.shape.size()));
    }
  }

  /// Calls the function once; results stay owned by the callee until
  /// collectResults or releaseResults.
  void call() {
    // The packed wrapper takes a pointer to each argument of the ciface
    // function; those arguments are themselves pointers to descriptors.
    std::vector<void *> pointers;
    void *resultPointer = resultWords.data();
    if (!resultSpecs.empty() && !outParams())
      pointers.push_back(&resultPointer);
    std::vector<void *> argPointers;
    argPointers.reserve(argDescriptors.size());
    for (std::vector<int64_t> &words : argDescriptors)
      argPointers.push_back(words.data());
    for (void *&p : argPointers)
      pointers.push_back(&p);
    packed(pointers.data());
  }

  /// Copies the results into dense arrays (any strides the callee chose).
  LogicalResult collectResults(std::vector<NpyArray> &results) {
    if (outParams()) {
      synchronize();
      size_t first = argDescriptors.size() - resultSpecs.size();
      for (auto [i, spec] : llvm::enumerate(resultSpecs)) {
        NpyArray array = NpyArray::zeros(spec.dtype, spec.shape);
        std::memcpy(array.data.data(), deviceBuffers[first + i],
                    array.data.size());
        results.push_back(std::move(array));
      }
      return success();
    }
    for (auto [i, spec] : llvm::enumerate(resultSpecs)) {
      const int64_t *words = resultWords.data() + resultOffsets[i];
      size_t rank = spec.shape.size();
      std::vector<int64_t> sizes(words + 3, words + 3 + rank);
      if (sizes != spec.shape) {
        fail("result " + llvm::Twine(i) + " came back with shape " +
             formatShape(sizes) + ", expected " + formatShape(spec.shape));
        return failure();
      }
      NpyArray array = NpyArray::zeros(spec.dtype, spec.shape);
      size_t elementSize = ::attn::runtime::getDTypeSize(spec.dtype);
      const uint8_t *base = reinterpret_cast<const uint8_t *>(
                                static_cast<intptr_t>(words[1])) +
                            words[2] * elementSize;
      int64_t count = array.getNumElements();
      std::vector<int64_t> index(rank, 0);
      for (int64_t e = 0; e < count; ++e) {
        int64_t offset = 0;
        for (size_t d = 0; d < rank; ++d)
          offset += index[d] * words[3 + rank + d];
        std::memcpy(array.data.data() + e * elementSize,
                    base + offset * elementSize, elementSize);
        for (int64_t d = int64_t(rank) - 1; d >= 0; --d) {
          if (++index[d] < sizes[d])
            break;
          index[d] = 0;
        }
      }
      results.push_back(std::move(array));
    }
    return success();
  }

  /// Frees result buffers with this instead of free() when set: GPU results
  /// live in CUDA managed memory.
  void (*freeBuffer)(void *, void *) = nullptr;

  /// Frees the result buffers the callee malloc'ed, skipping results that
  /// alias an input or a constant global (MLIR marks those with 0xdeadbeef)
  /// and results that share a buffer.
  void releaseResults() {
    if (outParams())
      return; // the caller's buffers, reused by the next call
    std::set<void *> freed;
    for (size_t offset : resultOffsets) {
      void *allocated = reinterpret_cast<void *>(
          static_cast<intptr_t>(resultWords[offset]));
      if (!allocated || allocated == reinterpret_cast<void *>(0xdeadbeef) ||
          inputPointers.count(allocated) || freed.count(allocated))
        continue;
      freed.insert(allocated);
      if (freeBuffer)
        freeBuffer(allocated, nullptr);
      else
        std::free(allocated);
    }
  }
};

/// The op-level FLOP count of the original graph: einsums contract their
/// operands pairwise left to right (2 x the product of the labels involved
/// in each contraction), attention is 4*B*Sq*Sk*D (halved when causal).
struct FlopCount {
  double einsum = 0, attention = 0;
  double total() const { return einsum + attention; }
};

FlopCount countFlops(func::FuncOp func) {
  FlopCount count;
  func.walk([&](Operation *op) {
    if (auto einsum = dyn_cast<mlir::attn::EinsumOp>(op)) {
      std::optional<::attn::EinsumPlan> plan = einsum.getPlan();
      if (!plan || plan->inputs.empty())
        return;
      std::set<std::string> current(plan->inputs[0].begin(),
                                    plan->inputs[0].end());
      for (size_t i = 1; i < plan->inputs.size(); ++i) {
        std::set<std::string> involved = current;
        involved.insert(plan->inputs[i].begin(), plan->inputs[i].end());
        double product = 2;
        for (const std::string &label : involved)
          product *= double(plan->sizes.at(label));
        count.einsum += product;
        // Keep the labels still needed by a later operand or the output.
        std::set<std::string> needed(plan->output.begin(), plan->output.end());
        for (size_t j = i + 1; j < plan->inputs.size(); ++j)
          needed.insert(plan->inputs[j].begin(), plan->inputs[j].end());
        current.clear();
        for (const std::string &label : involved)
          if (needed.count(label))
            current.insert(label);
      }
      return;
    }
    if (auto attention = dyn_cast<mlir::attn::AttentionOp>(op)) {
      SmallVector<int64_t> ranges = attention.getStaticLoopRanges();
      if (llvm::any_of(ranges, ShapedType::isDynamic))
        return;
      int64_t nb = attention.getNumBatchDims();
      double batch = 1;
      for (int64_t d = 0; d < nb; ++d)
        batch *= double(ranges[d]);
      double flops = 2 * batch * double(ranges[nb]) * double(ranges[nb + 2]) *
                     double(ranges[nb + 1] + ranges[nb + 3]);
      count.attention += attention.getCausal() ? flops / 2 : flops;
    }
  });
  return count;
}

/// Default tolerances by element type, relative to the largest reference
/// magnitude. The compiled code rounds every intermediate to the element
/// type while the reference is exact, so the bound is a few hundred ulps of
/// the type, enough for softmax and reductions over a few thousand terms:
/// f32 (ulp 1.2e-7) -> 1e-4; f16 (ulp 9.8e-4) -> 1e-2; bf16 (ulp 7.8e-3,
/// 8-bit mantissa) -> 4e-2; f64 -> 1e-9. The absolute part only matters
/// when the reference is (nearly) all zeros, e.g. fully masked rows.
std::pair<double, double> getDefaultTolerance(DType dtype) {
  switch (dtype) {
  case DType::F64:
    return {1e-12, 1e-9};
  case DType::F32:
    return {1e-6, 1e-4};
  case DType::F16:
    return {1e-4, 1e-2};
  case DType::BF16:
    return {4e-4, 4e-2};
  case DType::Bool:
  case DType::I64:
    return {0, 0};
  }
  return {0, 0};
}

/// Compares one result with its reference (all of it, or the sampled rows
/// the reference holds); prints the verdict line.
bool checkResult(size_t index, const NpyArray &actual,
                 const mlir::attn::ReferenceResult &expected) {
  auto [defaultAtol, defaultRtol] = getDefaultTolerance(actual.dtype);
  double atol = atolOpt >= 0 ? double(atolOpt) : defaultAtol;
  double rtol = rtolOpt >= 0 ? double(rtolOpt) : defaultRtol;
  double maxAbsError = 0, maxReference = 0;
  bool sizeMismatch = expected.shape != actual.shape;
  int64_t rowLength = expected.rowLength;
  int64_t numRows =
      rowLength ? actual.getNumElements() / rowLength : 0;
  std::vector<int64_t> rows = expected.rows;
  if (!expected.isSampled())
    for (int64_t r = 0; r < numRows; ++r)
      rows.push_back(r);
  if (!sizeMismatch &&
      int64_t(expected.data.size()) != int64_t(rows.size()) * rowLength)
    sizeMismatch = true;
  if (!sizeMismatch) {
    for (auto [k, row] : llvm::enumerate(rows)) {
      for (int64_t c = 0; c < rowLength; ++c) {
        double a = actual.getAsDouble(row * rowLength + c);
        double r = expected.data[k * rowLength + c];
        if (std::isfinite(r))
          maxReference = std::max(maxReference, std::fabs(r));
        double error;
        if ((std::isnan(a) && std::isnan(r)) ||
            (std::isinf(a) && std::isinf(r) && (a > 0) == (r > 0)))
          error = 0;
        else if (!std::isfinite(a) || !std::isfinite(r))
          error = INFINITY;
        else
          error = std::fabs(a - r);
        maxAbsError = std::max(maxAbsError, error);
      }
    }
  }
  double maxRelError =
      maxReference > 0 ? maxAbsError / maxReference
                       : (maxAbsError > 0 ? INFINITY : 0.0);
  bool ok = !sizeMismatch && maxAbsError <= atol + rtol * maxReference;
  llvm::outs() << "output " << index << ": ";
  if (expected.isSampled())
    llvm::outs() << "sampled " << rows.size() << " of " << numRows
                 << " rows, ";
  if (sizeMismatch)
    llvm::outs() << "shape " << formatShape(actual.shape)
                 << " differs from the reference "
                 << formatShape(expected.shape);
  else
    llvm::outs() << llvm::format("max abs error %.3e, max rel error %.3e",
                                 maxAbsError, maxRelError);
  llvm::outs() << llvm::format(" (tolerance %.1e): ", rtol)
               << (ok ? "OK" : "FAIL") << "\n";
  return ok;
}

/// Lowers `module` to the LLVM dialect with the CPU or GPU pipeline.
LogicalResult lowerModule(ModuleOp module, bool &deviceMemory) {
  PassManager pm(module.getContext());
  if (printIRAfterAll) {
    module.getContext()->disableMultithreading();
    pm.enableIRPrinting();
  }
#ifdef ATTN_HAVE_PIPELINES
  if (target == TargetKind::Cuda) {
    mlir::attn::GpuPipelineOptions options;
    options.chip = gpuChip;
    // attn-run's own runs pass device buffers (see Invocation); an emitted
    // library keeps the pipeline's default ABI unless the options say.
    options.deviceMemory = emitKind == EmitKind::None;
    if (failed(options.parseFromString(gpuPipelineOptions))) {
      fail("invalid --gpu-pipeline options '" + gpuPipelineOptions + "'");
      return failure();
    }
    deviceMemory = options.deviceMemory;
    mlir::attn::buildGpuPipeline(pm, options);
    return pm.run(module);
  }
  // Validated in main before anything was parsed.
  std::unique_ptr<mlir::attn::CpuPipelineOptions> options =
      mlir::attn::CpuPipelineOptions::createFromString(cpuPipelineOptions);
  if (!options)
    return failure();
  // The JIT and --emit both compile for this machine (Aot.cpp tunes for the
  // host CPU), so the pipeline may use what it has unless told otherwise.
  llvm::StringMap<bool> host = llvm::sys::getHostCPUFeatures();
  if (!options->x86Avx512.hasValue())
    options->x86Avx512 = host.lookup("avx512f");
  // bf16 flash products on the bf16 micro-kernel where it runs them on
  // VDPBF16PS at the FMA's rate (AMD Zen 4 and later: the runtime picks
  // that path by itself there, see attn_uk_bf16_path); h8 n1024 d64 bf16,
  // one thread: 110 GFLOP/s against 80 widened to f32.
  if (!options->amxBf16.hasValue())
    options->amxBf16 = host.lookup("avx512bf16") &&
                       llvm::sys::getHostCPUName().starts_with("znver");
  mlir::attn::buildCpuPipeline(pm, *options);
#else
  // Until the attn CPU pipeline library is built, lower linalg-level IR with
  // a fixed upstream pipeline (attn ops are then rejected by legalization).
  const char *pipeline =
      "builtin.module(one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      "func.func(convert-linalg-to-loops),expand-strided-metadata,"
      "lower-affine,convert-scf-to-cf,finalize-memref-to-llvm,"
      "convert-math-to-llvm,convert-math-to-libm,convert-arith-to-llvm,"
      "convert-cf-to-llvm,convert-func-to-llvm,convert-to-llvm,"
      "reconcile-unrealized-casts)";
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    return failure();
#endif
  return pm.run(module);
}

int runMain(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  llvm::setBugReportMsg("attn-run crashed; the stack below belongs in the "
                        "report.\n");
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  registerAllPasses();
  mlir::attn::registerAttnPasses();
  // libLLVM already registers a global `-threads` option, so ours is taken
  // out of argv by hand before llvm::cl sees the rest.
  std::vector<char *> args;
  std::string threads;
  for (int i = 0; i < argc; ++i) {
    llvm::StringRef arg(argv[i]);
    if (i > 0 && (arg.consume_front("--threads") ||
                  arg.consume_front("-threads"))) {
      if (arg.consume_front("=")) {
        threads = arg.str();
        continue;
      }
      if (arg.empty() && i + 1 < argc) {
        threads = argv[++i];
        continue;
      }
    }
    args.push_back(argv[i]);
  }
  unsigned threadCount = 0;
  if (!threads.empty() &&
      (llvm::StringRef(threads).getAsInteger(10, threadCount) ||
       threadCount == 0))
    return fail("--threads expects a positive integer, got '" + threads + "'");
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      int(args.size()), args.data(),
      "attn-run: compile an attn graph for the CPU or an NVIDIA GPU, run, "
      "check and time it\n\n"
      "  --threads=N  OpenMP threads (sets OMP_NUM_THREADS unless set)\n");

  if (threadCount > 0)
    setenv("OMP_NUM_THREADS", threads.c_str(), /*overwrite=*/0);
  if (emitKind != EmitKind::None && outputFile.empty())
    return fail("--emit needs -o <file>");
#ifdef ATTN_HAVE_PIPELINES
  // The options parser names the bad option on stderr itself.
  if (!mlir::attn::CpuPipelineOptions::createFromString(cpuPipelineOptions))
    return fail("invalid --cpu-pipeline options '" + cpuPipelineOptions + "'");
#endif

  auto compileStart = Clock::now();
  progress("parsing " + inputFilename);
  std::string openError;
  std::unique_ptr<llvm::MemoryBuffer> file =
      openInputFile(inputFilename, &openError);
  if (!file)
    return fail(openError);
  // Input MLIR's parser would crash on is refused with a located error.
  auto printErrorAt = [&](size_t offset, const llvm::Twine &message) {
    llvm::SourceMgr errorSourceMgr;
    errorSourceMgr.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBuffer(file->getBuffer(),
                                         file->getBufferIdentifier(),
                                         /*RequiresNullTerminator=*/false),
        llvm::SMLoc());
    errorSourceMgr.PrintMessage(
        llvm::errs(),
        llvm::SMLoc::getFromPointer(
            errorSourceMgr.getMemoryBuffer(1)->getBufferStart() + offset),
        llvm::SourceMgr::DK_Error, message);
    return 1;
  };
  if (std::optional<size_t> offset =
          ::attn::findExcessiveNesting(file->getBuffer()))
    return printErrorAt(*offset, "input is nested more than " +
                                     llvm::Twine(::attn::kMaxNestingDepth) +
                                     " levels deep; attn-run refuses it "
                                     "rather than overflow the stack");
  if (std::optional<::attn::ParserCrashSite> site =
          ::attn::findMalformedLinalgDimensionList(file->getBuffer()))
    return printErrorAt(site->offset, site->message);

  // Any crash from here on, on any thread (compiler, JIT, compiled code),
  // becomes `error: internal compiler error` and exit code 1. No thread has
  // been started yet.
  ::attn::CrashGuardInfo guard;
  guard.toolName = "attn-run";
  for (int i = 0; i < argc; ++i)
    guard.commandLine += (i ? " " : "") + std::string(argv[i]);
  guard.input = file->getBuffer();
  if (std::optional<int> exitCode = ::attn::runUnderCrashGuard(guard))
    return *exitCode;

  DialectRegistry registry;
  mlir::attn::registerAttnDialect(registry);
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  // Diagnostics from here on are printed with their source locations.
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnosticHandler(sourceMgr, &context);

  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return fail("could not parse '" + inputFilename + "'");
  if (debugCrash)
    *static_cast<volatile int *>(nullptr) = 0;
  double parseSeconds = secondsSince(compileStart);

  // Find the entry point.
  SmallVector<func::FuncOp> functions;
  module->walk([&](func::FuncOp f) {
    if (!f.isExternal())
      functions.push_back(f);
  });
  std::string available;
  for (func::FuncOp f : functions)
    available += (available.empty() ? "@" : ", @") + f.getSymName().str();
  if (available.empty())
    available = "none";
  func::FuncOp entry;
  if (entryName.empty()) {
    if (functions.size() != 1)
      return fail("no --entry given and the module has " +
                  llvm::Twine(functions.size()) +
                  " functions; available functions: " + available);
    entry = functions.front();
  } else {
    for (func::FuncOp f : functions)
      if (f.getSymName() == entryName)
        entry = f;
    if (!entry)
      return fail("no function @" + entryName + " in '" + inputFilename +
                  "'; available functions: " + available);
  }
  std::string name = entry.getSymName().str();
  FunctionType funcType = entry.getFunctionType();

  Invocation invocation;
  for (auto [i, type] : llvm::enumerate(funcType.getInputs())) {
    FailureOr<TensorSpec> spec =
        getTensorSpec(type, "argument #" + llvm::Twine(i) + " of @" + name);
    if (failed(spec))
      return 1;
    invocation.argSpecs.push_back(*spec);
  }
  for (auto [i, type] : llvm::enumerate(funcType.getResults())) {
    FailureOr<TensorSpec> spec =
        getTensorSpec(type, "result #" + llvm::Twine(i) + " of @" + name);
    if (failed(spec))
      return 1;
    invocation.resultSpecs.push_back(*spec);
  }

  // Inputs: from .npy files, or seeded random ones.
  std::vector<NpyArray> inputs;
  if (!inputFiles.empty() && inputFiles.size() != invocation.argSpecs.size())
    return fail("@" + name + " takes " +
                llvm::Twine(invocation.argSpecs.size()) + " arguments but " +
                llvm::Twine(inputFiles.size()) + " --input files were given");
  std::mt19937_64 rng(seed);
  for (auto [i, spec] : llvm::enumerate(invocation.argSpecs)) {
    if (inputFiles.empty()) {
      NpyArray array = NpyArray::zeros(spec.dtype, spec.shape);
      for (int64_t e = 0, n = array.getNumElements(); e < n; ++e) {
        if (spec.dtype == DType::Bool)
          array.setFromDouble(e, double(rng() & 1));
        else if (spec.dtype == DType::I64)
          array.setFromDouble(e, double(rng() % 16));
        else
          array.setFromDouble(e, uniform(rng)); // rounds to f16/bf16/f32
      }
      inputs.push_back(std::move(array));
      continue;
    }
    NpyArray array;
    std::string error;
    if (!::attn::runtime::readNpy(inputFiles[i], array, error))
      return fail("argument #" + llvm::Twine(i) + " of @" + name + ": " +
                  error);
    // numpy has no bf16: accept f32 data for a bf16 argument and round it.
    if (spec.dtype == DType::BF16 && array.dtype == DType::F32) {
      NpyArray rounded = NpyArray::zeros(DType::BF16, array.shape);
      for (int64_t e = 0, n = array.getNumElements(); e < n; ++e)
        rounded.setFromDouble(e, array.getAsDouble(e));
      array = std::move(rounded);
    }
    if (array.dtype != spec.dtype || array.shape != spec.shape)
      return fail("argument #" + llvm::Twine(i) + " of @" + name +
                  " expects " + ::attn::runtime::getDTypeName(spec.dtype) +
                  " " + formatShape(spec.shape) + " but '" + inputFiles[i] +
                  "' holds " + ::attn::runtime::getDTypeName(array.dtype) + " " +
                  formatShape(array.shape));
    inputs.push_back(std::move(array));
  }

  FlopCount flops = countFlops(entry);

  // A GPU run needs the driver and a device; say so before computing the
  // reference or compiling. Emitting a library alone does not: it only
  // loads the driver when used; nor does writing the reference alone.
  bool referenceOnly = !referencePrefix.empty() && !check && benchRuns == 0 &&
                       outputPrefix.empty() && emitKind == EmitKind::None &&
                       headerFile.empty();
  bool willRun = !referenceOnly && (emitKind == EmitKind::None || check ||
                                    benchRuns > 0 || !outputPrefix.empty());
  if (target == TargetKind::Cuda) {
#ifndef ATTN_HAVE_PIPELINES
    return fail("--target=cuda needs the attn pipeline library");
#endif
    std::string reason;
    if (willRun && !::attn::runtime::cuda::isAvailable(reason))
      return fail("CUDA unavailable: " + reason);
    if (willRun)
      progress("device: " + ::attn::runtime::cuda::describeDevice());
  }

  // The reference runs on a clone so that nothing the pipeline does to the
  // module can leak into what it is compared with. It reads the inputs in
  // place, as doubles, only where it needs them.
  std::vector<mlir::attn::ReferenceResult> reference;
  if (check || !referencePrefix.empty()) {
    progress("reference");
    auto refStart = Clock::now();
    OwningOpRef<ModuleOp> refModule(cast<ModuleOp>((*module)->clone()));
    func::FuncOp refEntry = refModule->lookupSymbol<func::FuncOp>(name);
    std::vector<mlir::attn::ReferenceInput> refInputs;
    for (const NpyArray &array : inputs) {
      mlir::attn::ReferenceInput input;
      input.shape = array.shape;
      const NpyArray *source = &array;
      input.read = [source](int64_t begin, int64_t count, double *out) {
        for (int64_t e = 0; e < count; ++e)
          out[e] = source->getAsDouble(begin + e);
      };
      refInputs.push_back(std::move(input));
    }
    mlir::attn::ReferenceOptions options;
    if (!referenceMemoryLimit.empty()) {
      llvm::StringRef text(referenceMemoryLimit);
      uint64_t unit = 1;
      if (text.consume_back("K") || text.consume_back("k"))
        unit = 1 << 10;
      else if (text.consume_back("M") || text.consume_back("m"))
        unit = 1 << 20;
      else if (text.consume_back("G") || text.consume_back("g"))
        unit = 1 << 30;
      uint64_t count = 0;
      if (text.getAsInteger(10, count) || count == 0)
        return fail("--reference-memory-limit expects a positive size such "
                    "as 512M, got '" + referenceMemoryLimit + "'");
      options.memoryLimitBytes = count * unit;
    }
    options.sampleRows = referenceSampleRows;
    options.seed = seed;
    mlir::attn::ReferenceReport report;
    if (!refEntry || failed(mlir::attn::evaluateReference(
                         refEntry, refInputs, options, reference, &report)))
      return fail("reference evaluation failed");
    if (report.sampled)
      progress(llvm::formatv(
                   "the whole reference would need {0:f1} MiB, more than "
                   "its {1:f1} MiB limit: checking {2} sampled rows of each "
                   "output, each computed exactly from what it depends on "
                   "(at most {3:f1} MiB)",
                   double(report.fullEvaluationBytes) / (1 << 20),
                   double(report.memoryLimitBytes) / (1 << 20),
                   unsigned(referenceSampleRows),
                   double(report.sampledRowBytes) / (1 << 20))
                   .str());
    progress(llvm::formatv("reference done in {0:f3} s", secondsSince(refStart))
                 .str());
    for (auto [i, t] : llvm::enumerate(reference)) {
      if (referencePrefix.empty())
        break;
      // A sampled reference has its rows, NaN elsewhere.
      NpyArray array = NpyArray::zeros(DType::F64, t.shape);
      if (t.isSampled()) {
        for (int64_t e = 0, n = array.getNumElements(); e < n; ++e)
          array.setFromDouble(e, NAN);
        for (auto [k, row] : llvm::enumerate(t.rows))
          std::memcpy(array.data.data() + row * t.rowLength * 8,
                      t.data.data() + k * t.rowLength, t.rowLength * 8);
      } else {
        std::memcpy(array.data.data(), t.data.data(), t.data.size() * 8);
      }
      std::string path = referencePrefix + "." + std::to_string(i) + ".npy";
      std::string error;
      if (!::attn::runtime::writeNpy(path, array, error))
        return fail(error);
    }
  }

  // Writing the reference alone (to validate the evaluator against other
  // frameworks) needs no compilation.
  if (!referencePrefix.empty() && !check && benchRuns == 0 &&
      outputPrefix.empty() && emitKind == EmitKind::None && headerFile.empty())
    return 0;


  // Lowering. Every function gets the C interface the JIT and the header
  // rely on, whatever the pipeline's defaults.
  // Only the entry and what it calls are compiled: other functions in the
  // file cost compile time and could fail to lower for unrelated reasons.
  for (bool erased = true; erased;) {
    erased = false;
    for (func::FuncOp f :
         llvm::make_early_inc_range(module->getOps<func::FuncOp>())) {
      if (f != entry && SymbolTable::symbolKnownUseEmpty(f, *module)) {
        f.erase();
        erased = true;
      }
    }
  }
  progress("lowering");
  auto lowerStart = Clock::now();
  entry->setAttr("llvm.emit_c_interface", UnitAttr::get(&context));
  bool deviceMemory = false;
  if (failed(lowerModule(*module, deviceMemory)))
    return fail("lowering '" + inputFilename + "' failed");
  double lowerSeconds = secondsSince(lowerStart);

  if (!headerFile.empty()) {
    progress("writing header " + headerFile);
    std::string error;
    if (failed(deviceMemory
                   ? attn_run::writeCudaDeviceHeader(headerFile, name,
                                                     funcType, error)
                   : attn_run::writeCHeader(headerFile, name, funcType, error,
                                            target == TargetKind::Cuda)))
      return fail(error);
  }
  if (emitKind != EmitKind::None) {
    std::string error;
    std::string objectPath = outputFile;
    llvm::SmallString<128> tempObject;
    if (emitKind == EmitKind::So) {
      if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
              "attn-run", "o", tempObject))
        return fail("cannot create a temporary object file: " + ec.message());
      objectPath = tempObject.str().str();
    }
    progress("emitting object " + objectPath);
    if (failed(attn_run::emitObjectFile(*module, objectPath, error)))
      return fail(error);
    if (emitKind == EmitKind::So) {
      progress("linking " + outputFile);
      // The micro-kernels, linked in only if the code calls them (an
      // archive member is pulled in by an undefined symbol).
      std::vector<std::string> extraArgs = {ATTN_UKERNELS_STATIC};
      if (target == TargetKind::Cuda)
        extraArgs.insert(extraArgs.end(),
                         {"-L" ATTN_CUDA_RUNTIME_DIR, "-rpath",
                          ATTN_CUDA_RUNTIME_DIR, "-lattn_cuda_runtime"});
      LogicalResult linked = attn_run::linkSharedLibrary(
          objectPath, outputFile, error, extraArgs);
      llvm::sys::fs::remove(objectPath);
      if (failed(linked))
        return fail(error);
    }
    // Emitting is the whole job unless a run was asked for as well.
    if (!check && benchRuns == 0 && outputPrefix.empty())
      return 0;
  }

  progress("jit");
  auto jitStart = Clock::now();
  auto hostBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!hostBuilder)
    return fail("cannot detect the host: " +
                llvm::toString(hostBuilder.takeError()));
  hostBuilder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  auto targetMachine = hostBuilder->createTargetMachine();
  if (!targetMachine)
    return fail("cannot create a target machine: " +
                llvm::toString(targetMachine.takeError()));
  auto transformer = makeOptimizingTransformer(3, 0, targetMachine->get());
  std::string runnerUtils =
      std::string(ATTN_LLVM_LIB_DIR) + "/libmlir_c_runner_utils.so";
  std::string ompLib = std::string(ATTN_LLVM_LIB_DIR) + "/libomp.so";
  std::string cudaRuntime =
      std::string(ATTN_CUDA_RUNTIME_DIR) + "/libattn_cuda_runtime.so";
  std::string ukernels = ATTN_UKERNELS_SHARED;
  SmallVector<StringRef> sharedLibs;
  for (const std::string *lib : {&runnerUtils, &ompLib, &ukernels})
    if (llvm::sys::fs::exists(*lib))
      sharedLibs.push_back(*lib);
  if (target == TargetKind::Cuda) {
    if (!llvm::sys::fs::exists(cudaRuntime))
      return fail("cannot find the GPU runtime library " + cudaRuntime);
    sharedLibs.push_back(cudaRuntime);
    // The JIT loads the same library; this handle is for freeing results.
    void *handle = dlopen(cudaRuntime.c_str(), RTLD_NOW | RTLD_GLOBAL);
    void *memFree = handle ? dlsym(handle, "mgpuMemFree") : nullptr;
    if (!memFree)
      return fail("cannot load " + cudaRuntime);
    invocation.freeBuffer = reinterpret_cast<void (*)(void *, void *)>(memFree);
    if (deviceMemory) {
      invocation.allocManaged = reinterpret_cast<void *(*)(uint64_t, void *,
                                                           bool)>(
          dlsym(handle, "mgpuMemAlloc"));
      invocation.synchronize =
          reinterpret_cast<void (*)()>(dlsym(handle, "mgpuSynchronize"));
      if (!invocation.allocManaged || !invocation.synchronize)
        return fail("cannot load " + cudaRuntime);
    }
  }
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  engineOptions.sharedLibPaths = sharedLibs;
  auto engine = ExecutionEngine::create(*module, engineOptions,
                                        std::move(*targetMachine));
  if (!engine)
    return fail("JIT compilation failed: " +
                llvm::toString(engine.takeError()));
  auto packed = (*engine)->lookupPacked("_mlir_ciface_" + name);
  if (!packed)
    return fail("the compiled module has no _mlir_ciface_" + name + ": " +
                llvm::toString(packed.takeError()));
  invocation.packed = *packed;
  double jitSeconds = secondsSince(jitStart);

  progress("running");
  invocation.setInputs(inputs);
  invocation.call();
  std::vector<NpyArray> results;
  LogicalResult collected = invocation.collectResults(results);
  invocation.releaseResults();
  if (failed(collected))
    return 1;

  if (!outputPrefix.empty()) {
    for (auto [i, array] : llvm::enumerate(results)) {
      std::string path = outputPrefix + "." + std::to_string(i) + ".npy";
      std::string error;
      if (!::attn::runtime::writeNpy(path, array, error))
        return fail(error);
    }
  }

  bool allOk = true;
  if (check) {
    if (reference.size() != results.size())
      return fail("the reference has " + llvm::Twine(reference.size()) +
                  " results, the compiled function " +
                  llvm::Twine(results.size()));
    for (size_t i = 0; i < results.size(); ++i)
      allOk &= checkResult(i, results[i], reference[i]);
  }

  if (benchRuns > 0) {
    progress("benchmarking");
    invocation.call(); // warm-up
    invocation.releaseResults();
    std::vector<double> times, cpuTimes;
    for (unsigned r = 0; r < benchRuns; ++r) {
      double cpuStart = processCpuSeconds();
      auto start = Clock::now();
      invocation.call();
      times.push_back(secondsSince(start));
      cpuTimes.push_back(processCpuSeconds() - cpuStart);
      invocation.releaseResults();
    }
    std::sort(cpuTimes.begin(), cpuTimes.end());
    std::sort(times.begin(), times.end());
    double median = times.size() % 2
                        ? times[times.size() / 2]
                        : (times[times.size() / 2 - 1] + times[times.size() / 2]) / 2;
    double compileSeconds = parseSeconds + lowerSeconds + jitSeconds;
    const char *ompThreads = std::getenv("OMP_NUM_THREADS");
    llvm::outs() << llvm::format(
        "compile time: %.3f s (parse %.3f s, pipeline %.3f s, jit %.3f s)\n",
        compileSeconds, parseSeconds, lowerSeconds, jitSeconds);
    llvm::outs() << llvm::format("run time: median %.3f ms over %u runs "
                                 "(min %.3f ms, max %.3f ms), threads %s\n",
                                 median * 1e3, unsigned(benchRuns), times.front() * 1e3,
                                 times.back() * 1e3,
                                 ompThreads ? ompThreads : "default");
    // CPU time of all threads, spinning included: with one thread, a time
    // that other processes on a shared machine barely disturb.
    llvm::outs() << llvm::format("cpu time: min %.3f ms per run\n",
                                 cpuTimes.front() * 1e3);
    llvm::outs() << llvm::format("flops: %.0f (einsum %.0f, attention %.0f)\n",
                                 flops.total(), flops.einsum,
                                 flops.attention);
    if (flops.total() > 0 && median > 0)
      llvm::outs() << llvm::format("throughput: %.2f GFLOP/s\n",
                                   flops.total() / median * 1e-9);
  }
  llvm::outs().flush();
  return allOk ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  // Compiled code mallocs its intermediate buffers on every call. glibc
  // serves blocks above its mmap threshold with fresh mmaps and returns
  // freed memory at the top of the heap to the kernel, so each call would
  // page-fault (and zero) megabytes anew: about a tenth of G1's time. Keep
  // blocks up to 32 MiB (glibc's maximum threshold) in the heap and the
  // heap's free memory mapped: never trimmed (-1), since every call reaches
  // the same peak again (a 512 MiB threshold re-faulted GPT-2 prefill's
  // ~800 MB of intermediates on every call).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, -1);
  return runMain(argc, argv);
}
