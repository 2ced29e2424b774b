//===- Passes.td - attn conversion passes ------------------*- tablegen -*-===//
//
// Declares the passes that lower the attn dialect to upstream dialects.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CONVERSION_PASSES_TD
#define ATTN_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertAttnToLinalgPass : Pass<"convert-attn-to-linalg"> {
  let summary = "Lower attn ops to linalg, tensor, arith and math on tensors";
  let description = [{
    Rewrites every attn op into upstream ops with tensor semantics:
    - `attn.rearrange` becomes `tensor.expand_shape` to the elementary axes,
      a `linalg.transpose` when elements move, and a reshape to the result.
    - `attn.einsum` becomes `linalg.matmul`/`linalg.batch_matmul` (operand
      transposes folded into `indexing_maps`) when the equation is a
      (batched) matrix product, a `linalg.generic` otherwise; three or more
      operands are contracted pairwise in a greedy order that keeps each
      intermediate result smallest.
    - `attn.softmax` becomes max-reduce, exp, sum-reduce and divide
      `linalg.generic`s that give 0, not NaN, on fully masked slices.
    - `attn.attention`, with `flash` (the default), is tiled into the flash
      nest (what `attn-tile-attention` does, after
      `attn-widen-attention-operands` and `attn-transpose-attention-keys`
      with `transpose-keys`, and `attn-make-attention-masks-additive` with
      `additive-masks`), and every `attn.online_attention` step and every
      attention left (with `flash=false`: the unfused computation, which
      materialises the Sq x Sk scores) is decomposed into linalg as
      `attn-decompose-attention` does. The pipelines run those passes
      themselves; this keeps `convert-attn-to-linalg` a one-pass lowering.
    f16 and bf16 are computed in f32 and rounded once at the end. Dynamic
    shapes are rejected with a diagnostic.
  }];
  let options = [
    Option<"flash", "flash", "bool", /*default=*/"true",
           "Lower attention with flash tiling (online softmax) "
           "instead of materialising the Sq x Sk scores">,
    Option<"qTile", "q-tile", "int64_t", /*default=*/"64",
           "Queries per block of the flash lowering">,
    Option<"kvTile", "kv-tile", "int64_t", /*default=*/"64",
           "Keys per block of the flash lowering">,
    Option<"transposeKeys", "transpose-keys", "bool", /*default=*/"false",
           "Flash, dot score: transpose the keys once ([..., d, Sk]) before "
           "the loop nest, so each block's Q Kᵀ reads Kᵀ rows in place "
           "(the CPU pipeline sets it; GPU tiles are staged in shared "
           "memory instead)">,
    Option<"additiveMasks", "additive-masks", "bool", /*default=*/"false",
           "Flash: turn a boolean mask into an additive one (0 / -inf, in "
           "the accumulation type) once, before the loop nest, so each "
           "block's masking is a vectorisable add rather than a select on "
           "i1 (the CPU pipeline sets it)">,
    Option<"keepBf16", "keep-bf16", "bool", /*default=*/"false",
           "Flash, with transpose-keys: leave bf16 keys and values bf16 "
           "(attn-widen-attention-operands keep-bf16), so the block "
           "products are bf16 contractions for AMX (the CPU pipeline's "
           "amx-bf16 sets it)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def ConvertAttnToGPUPass : Pass<"convert-attn-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Replace attn.attention by tensor-core flash-attention "
                "kernels for NVIDIA GPUs";
  let description = [{
    Rewrites every `attn.attention` that the tensor-core kernel supports into
    a launch of a generated kernel (a `gpu.func` in `gpu.module
    @attn_kernels`, written directly in the NVVM dialect), on tensors:
    `bufferization.to_buffer` of the operands, a fresh output buffer, one
    `gpu.launch_func` with its dynamic shared memory size, and
    `bufferization.to_tensor` of the output. What is supported: the `dot`
    score, f16 or bf16 operands of one type (f32 accumulation), `D = Dv` of
    64 or 128, any batch dimensions (up to 65535 entries), any lengths,
    `causal`, and boolean or additive masks with broadcasting. Other
    attentions are left for `convert-attn-to-linalg` (with `remarks`, each
    says why).

    The sm_80 kernel (`chip` sm_80 or later) is FlashAttention-2's forward
    pass: a CTA per (block of 16 x `warps` queries, batch entry), each warp
    16 query rows; Q is loaded once into registers as mma A fragments; K and
    V blocks of 64 keys are copied by `cp.async` `stages` blocks ahead into
    shared memory whose 16-byte chunks are XOR-swizzled by row, so neither
    the copies nor `ldmatrix` conflict on banks; S = Q Kᵀ and O += P V are
    `mma.sync` m16n8k16 with f32 accumulators; S and P never leave
    registers (the accumulator layout of S is the A-operand layout of P);
    row maxima and sums use quad shuffles; one barrier per key block. Blocks
    above the causal diagonal are never visited and only the blocks that
    need it are masked. Indexing is 32-bit inside a batch entry; the kernel
    arguments are `noalias` and the inputs `readonly`.

    With `chip=sm_90a` the products are warpgroup MMA instead
    (`wgmma.mma_async` from 128-byte-swizzle shared-memory descriptors, the
    tiles stored in 64-column planes): S = Q Kᵀ per warpgroup of 64 rows,
    P through a per-warpgroup shared tile, O += P V with V read N-major.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_80\"",
           "Target architecture (sm_80 or later)">,
    Option<"warps", "warps", "int64_t", /*default=*/"4",
           "Warps per CTA (4 or 8), 16 query rows each">,
    Option<"stages", "stages", "int64_t", /*default=*/"2",
           "Key/value blocks in flight in shared memory (2-4)">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Remark on every attention converted or left alone, and why">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def ConvertEinsumToGPUPass : Pass<"convert-einsum-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Replace matrix-product attn.einsum ops by tensor-core GEMM "
                "kernels for NVIDIA GPUs";
  let description = [{
    Rewrites every two-operand `attn.einsum` of f16 or bf16 tensors that is a
    (batched) matrix product of contiguous operands into a launch of a
    generated GEMM kernel in `gpu.module @attn_kernels` (like
    `convert-attn-to-gpu`, on tensors). The labels must group as
    `A = [batch..., M..., K...]`, `B = [batch..., N..., K...]` (nn.Linear
    weights, `"b n c, o c -> b n o"`) or `[batch..., K..., N...]`
    (`"b n i, i o -> b n o"`), result `[batch..., M..., N...]`; labels of
    one group are flattened; an operand without the batch labels is shared
    by every batch entry. K and N must be multiples of 8; M, N and K need
    not divide the tiles. Accumulation is f32; the einsum's scale is applied
    once per output before it is rounded. Others are left for
    `convert-attn-to-linalg` (with `remarks`, each says why).

    The sm_80 kernel: CTA tiles of 128 x 128 of C, 4 warps of 64 x 64, K in
    steps of 64 copied by `cp.async` `stages` steps ahead into XOR-swizzled
    shared memory, `ldmatrix` (`.trans` for `[K, N]` B) and `mma.sync`
    m16n8k16 with the 128 f32 accumulators of a thread in registers, one
    barrier per K step. With `chip=sm_90a` and `[N, K]` weights, one
    warpgroup issues `wgmma.mma_async` m64n128k16 from shared-memory
    descriptors instead.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_80\"",
           "Target architecture (sm_80 or later)">,
    Option<"stages", "stages", "int64_t", /*default=*/"3",
           "K steps in flight in shared memory (2-4)">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Remark on every einsum converted or left alone, and why">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect"
  ];
}

#endif // ATTN_CONVERSION_PASSES_TD
