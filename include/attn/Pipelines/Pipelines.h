//===- Pipelines.h - named attn-opt pass pipelines --------------*- C++ -*-===//
//
// Pass pipelines that take attn-dialect IR all the way to the LLVM dialect,
// for embedding in other compilers and for attn-opt/attn-run.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PIPELINES_PIPELINES_H
#define ATTN_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::attn {

/// Options of `attn-tile-and-vectorize`, the CPU tiling and vectorisation
/// passes on buffers (the options of attn-cpu-strategy plus which optional
/// steps run).
struct TileAndVectorizeOptions
    : public PassPipelineOptions<TileAndVectorizeOptions> {
  PassOptions::Option<int64_t> parallelTileM{
      *this, "parallel-tile-m",
      llvm::cl::desc("Rows of the innermost M dimension per scf.forall "
                     "iteration"),
      llvm::cl::init(64)};
  PassOptions::Option<int64_t> parallelTileN{
      *this, "parallel-tile-n",
      llvm::cl::desc("Columns of N per scf.forall iteration"),
      llvm::cl::init(256)};
  PassOptions::Option<int64_t> minParallelTiles{
      *this, "min-parallel-tiles",
      llvm::cl::desc("Narrow, then shorten the parallel tiles of a "
                     "contraction until it has at least this many"),
      llvm::cl::init(8)};
  PassOptions::Option<int64_t> registerTileM{
      *this, "register-tile-m",
      llvm::cl::desc("Rows of the micro-kernel's accumulator tile"),
      llvm::cl::init(8)};
  PassOptions::Option<int64_t> registerTileN{
      *this, "register-tile-n",
      llvm::cl::desc("Columns of the micro-kernel's accumulator tile"),
      llvm::cl::init(32)};
  PassOptions::Option<int64_t> reductionTile{
      *this, "reduction-tile",
      llvm::cl::desc("Reduction steps per block inside an output tile (0: "
                     "the whole reduction)"),
      llvm::cl::init(128)};
  PassOptions::Option<bool> packRhs{
      *this, "pack-rhs",
      llvm::cl::desc("Run attn-pack-rhs (padded rhs blocks when the rhs row "
                     "stride is a multiple of 4 KiB)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> transposeRhs{
      *this, "transpose-rhs",
      llvm::cl::desc("Run attn-make-rhs-row-major (N-innermost copies of "
                     "reduction-innermost rhs operands)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> lowerVectors{
      *this, "lower-vectors",
      llvm::cl::desc("Run attn-lower-vectors (vector.contract to FMAs, "
                     "transfers to 1-D loads/stores)"),
      llvm::cl::init(true)};
};

/// The CPU tiling and vectorisation passes, in order, on a func.func pass
/// manager (bufferized IR): row and transpose vectorisation, the strategy,
/// tiling by its config, register-tile vectorisation, accumulator hoisting
/// and vector lowering.
void buildTileAndVectorizePipeline(OpPassManager &pm,
                                   const TileAndVectorizeOptions &options);

/// Registers `attn-tile-and-vectorize` with the global pass pipeline
/// registry.
void registerTileAndVectorizePipeline();

/// Options of the CPU pipeline (`attn-opt --attn-cpu-pipeline="..."`).
struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<bool> openmp{
      *this, "openmp",
      llvm::cl::desc("Run parallel loops on LLVM's OpenMP runtime"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> vectorize{
      *this, "vectorize",
      llvm::cl::desc("Vectorise linalg ops before lowering to loops"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> approximateMath{
      *this, "approximate-math",
      llvm::cl::desc("Inline polynomial exp/tanh/erf instead of libm calls "
                     "(attn-approximate-math)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> x86Avx512{
      *this, "x86-avx512",
      llvm::cl::desc("The code may use AVX-512F instructions: exp of the "
                     "flash nest's rows scales by 2^k with vscalefps "
                     "(attn-approximate-math x86-avx512). attn-run turns it "
                     "on where the host has AVX-512F unless the options set "
                     "it"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> amxBf16{
      *this, "amx-bf16",
      llvm::cl::desc("The code runs where a fast bf16 unit is: bf16 "
                     "attention keeps its keys and values bf16, so the flash "
                     "nest's block products run on the bf16 micro-kernel "
                     "(AMX tiles, or VDPBF16PS where it issues at the FMA's "
                     "rate; P rounded to bf16 for P V) instead of widened to "
                     "f32. attn-run turns it on where the host is an AMD Zen 4 "
                     "or later with AVX512-BF16 unless the options set it; "
                     "otherwise off (not yet timed on an AMX host)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> emitCInterface{
      *this, "c-interface",
      llvm::cl::desc("Give every function a _mlir_ciface_ wrapper so it can "
                     "be called from C and the JIT"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> qTile{
      *this, "q-tile",
      llvm::cl::desc("Queries per flash-attention block (convert-attn-to-linalg "
                     "q-tile)"),
      llvm::cl::init(64)};
  PassOptions::Option<int64_t> kvTile{
      *this, "kv-tile",
      llvm::cl::desc("Keys per flash-attention block (convert-attn-to-linalg "
                     "kv-tile)"),
      llvm::cl::init(128)};
  PassOptions::Option<bool> ukernels{
      *this, "ukernels",
      llvm::cl::desc("Run f32 matrix products on the runtime's micro-kernel "
                     "(attn-contractions-to-ukernels); the JIT and "
                     "ahead-of-time libraries link libattn_ukernels"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> flashUkernels{
      *this, "flash-ukernels",
      llvm::cl::desc("With ukernels, also the flash-attention nest's block "
                     "products (Q Kᵀ and P V) become micro-kernel calls "
                     "(attn-contractions-to-ukernels in-loops)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fuseElementwise{
      *this, "fuse-elementwise",
      llvm::cl::desc("Fuse elementwise linalg ops on tensors "
                     "(attn-fuse-elementwise-ops); off, every op is its own "
                     "loop nest (the baseline that fusion must not lose to)"),
      llvm::cl::init(true)};
};

/// attn (tensors) -> linalg -> one-shot bufferization -> parallel loops ->
/// vectors -> OpenMP -> LLVM dialect. Runs on a builtin.module.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Registers `attn-cpu-pipeline` with the global pass pipeline registry.
void registerCpuPipeline();

/// Options of the NVIDIA GPU pipeline (`attn-opt --attn-gpu-pipeline="..."`).
struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("NVIDIA architecture to compile for"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features, e.g. +ptx80 (the PTX ISA version)"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<int64_t> qTile{
      *this, "q-tile",
      llvm::cl::desc("Query rows per thread block in flash attention"),
      llvm::cl::init(32)};
  PassOptions::Option<int64_t> kvTile{
      *this, "kv-tile",
      llvm::cl::desc("Key rows per step of the flash attention loop"),
      llvm::cl::init(32)};
  PassOptions::Option<int64_t> threads{
      *this, "threads",
      llvm::cl::desc("Threads per block of the kernels without tensor cores"),
      llvm::cl::init(128)};
  PassOptions::Option<bool> tensorCores{
      *this, "tensor-cores",
      llvm::cl::desc("Supported attentions become tensor-core flash-attention "
                     "kernels (convert-attn-to-gpu; sm_80 or later)"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> warps{
      *this, "warps",
      llvm::cl::desc("Warps per CTA of the tensor-core attention kernels"),
      llvm::cl::init(4)};
  PassOptions::Option<int64_t> stages{
      *this, "stages",
      llvm::cl::desc("Key/value blocks in flight in the tensor-core "
                     "attention kernels"),
      llvm::cl::init(2)};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("What gpu-module-to-binary embeds: isa (PTX text, "
                     "JIT-compiled by the driver), bin or fatbin (need "
                     "ptxas from a CUDA toolkit), llvm or offload"),
      llvm::cl::init("isa")};
  PassOptions::Option<bool> emitCInterface{
      *this, "c-interface",
      llvm::cl::desc("Give every function a _mlir_ciface_ wrapper"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> deviceMemory{
      *this, "device-memory",
      llvm::cl::desc(
          "Arguments are the caller's device (or managed) buffers, used in "
          "place; results become trailing out-parameters the caller "
          "allocates; temporaries are device memory; all work goes on one "
          "stream per call (attnCudaSetStream) with one wait at the end. "
          "Without it, inputs are copied to managed memory at every call and "
          "results are managed buffers the callee allocates"),
      llvm::cl::init(false)};
};

/// attn (tensors) -> flash-tiled linalg -> one-shot bufferization -> one
/// gpu.launch per parallel loop nest (flash blocks with their tiles in shared
/// memory, every other linalg op its own kernel) -> NVVM -> PTX embedded in
/// the host module, which calls the mgpu* runtime functions.
void buildGpuPipeline(OpPassManager &pm, const GpuPipelineOptions &options);

/// Registers `attn-gpu-pipeline` with the global pass pipeline registry.
void registerGpuPipeline();

} // namespace mlir::attn

#endif // ATTN_PIPELINES_PIPELINES_H
