//===- Passes.td - code generation passes on upstream dialects -*- tablegen -*-===//
//
// Declares the attn passes that optimise upstream linalg/vector IR: CPU
// tiling and vectorisation, math, OpenMP schedules and pipeline steps.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TRANSFORMS_PASSES_TD
#define ATTN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ContractionsToUkernelsPass
    : Pass<"attn-contractions-to-ukernels", "::mlir::ModuleOp"> {
  let summary = "Turn f32 contractions on buffers into calls of the runtime's "
                "matrix-product micro-kernel";
  let description = [{
    Every linalg contraction on f32 buffers (`linalg.matmul`,
    `linalg.batch_matmul`, a `linalg.generic` accepted by
    `linalg::isaContractionOpInterface`) whose indexing maps permute its
    operands' dimensions, with one N loop that is the output's innermost
    dimension and one or more K loops, becomes calls of `attn_uk_matmul_f32`
    (`lib/Runtime/Ukernels.cpp`, C interface): C[M, N] += A[M, K] · B[K, N]
    on rank-2 strided views (`memref.subview`, `memref.transpose` when an
    operand stores the two dimensions the other way round, `memref.cast` to
    the fully dynamic layout). M is the output's innermost M loop with the
    M loops before it that A and C both store consecutively and
    contiguously (a Linear on windows, "b x y w1 w2 i, i o -> b x y w1 w2
    o": all x·y·w1·w2 rows), collapsed into one dimension and tiled after
    the collapse; batch loops and other M loops are iterated around the
    calls. Several K loops (an out-projection with the head merge folded
    in, "b n h d, o h d -> b n o") must be stored consecutively, in the
    same order, and contiguously in both inputs: they are collapsed into
    one dimension (`memref.collapse_shape`).

    A product narrower than a vector (N < 16 columns) whose other N loops
    both B and C store consecutively and contiguously (a 1x1 convolution
    on a batch of 2 x 2 windows, "g c h w, o c -> g o h w") calls
    `attn_uk_matmul_f32_groups` (or its overwrite form) with rank-3 views
    of B [G, K, N] and C [G, M, N]: the runtime gathers the groups' columns
    side by side into one product of G·N columns and scatters C back, the
    same sums as a call per group without 12 of 16 lanes idle.

    The micro-kernel packs B into 64-column panels and runs 6 x 64 register
    tiles (AVX-512; 6 x 16 with AVX2, portable C otherwise, chosen at run
    time), summing over K in order with fused multiply-adds from C's value:
    exactly the loop nest the contraction means.

    A contraction right after a `linalg.fill` of +0.0 into the same buffer
    (its C) calls `attn_uk_matmul_f32_overwrite` instead, which starts the
    sums from +0 without reading C, and the fill is erased: the same values
    bit for bit, one pass over C fewer (the flash nest zeroes each 64 x 128
    score block before Q Kᵀ: 1.4% of h8 n4096 d64's samples). The calls
    cover all of C, so none of the fill's zeros survive it anyway.

    By default only contractions outside any `scf.forall` are rewritten;
    `in-loops` includes those inside one (the flash-attention nest's block
    products), which `attn-cpu-pipeline` sets (`flash-ukernels`): with
    128-key blocks the calls run Q Kᵀ (64 x 128 x d) and P V (64 x d x 128)
    faster than the generated 8 x 32 register tiles.

    A contraction not already inside an `scf.forall` gets one over its outer
    loops and output tiles
    of up to `parallel-tile-m` rows by `parallel-tile-n` columns, narrowed
    (to 64 columns) and then shortened (to 48 rows) until there are
    `min-parallel-tiles` tiles, so every thread has work; inside a forall,
    the outer loops are sequential `scf.for`s and each call takes the whole
    M x N.

    Other contractions (other element types, non-permutation maps such as
    convolutions', K loops stored in different orders or not collapsible)
    are left alone.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
  let options = [
    Option<"parallelTileM", "parallel-tile-m", "int64_t", /*default=*/"512",
           "Rows per parallel output tile">,
    Option<"parallelTileN", "parallel-tile-n", "int64_t", /*default=*/"512",
           "Columns per parallel output tile">,
    Option<"minParallelTiles", "min-parallel-tiles", "int64_t",
           /*default=*/"8",
           "Narrow, then shorten the tiles until there are this many">,
    Option<"inLoops", "in-loops", "bool", /*default=*/"false",
           "Also contractions already inside an scf.forall (the flash "
           "nest's block products)">,
  ];
}

//===----------------------------------------------------------------------===//
// CPU code generation on buffers. `attn-tile-and-vectorize` (a pipeline,
// lib/Pipelines/TileAndVectorizePipeline.cpp) runs them in this order.
//===----------------------------------------------------------------------===//

def SplitFusedFactorsPass
    : Pass<"attn-split-fused-factors", "::mlir::func::FuncOp"> {
  let summary = "Compute the fused factors of a contraction into temporaries";
  let description = [{
    A `linalg.generic` on buffers whose body is `out + f(args...) *
    g(args...)` with more than two inputs (linalg elementwise fusion merges
    a LayerNorm's scale, or any other producer, into the matmul that reads
    it: `out + (x * g) * w`) is no contraction for
    `linalg::isaContractionOpInterface`, so it would run as scalar loops.
    Each factor that is not a plain input is computed into a temporary over
    the loop dimensions its inputs use, by an all-parallel generic, and the
    contraction reads the temporaries: the same values in the same order of
    summation. Factors that would need a temporary larger than the largest
    input (`(x * w) * s` mixing both sides) are left alone.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def WidenContractionInputsPass
    : Pass<"attn-widen-contraction-inputs", "::mlir::func::FuncOp"> {
  let summary = "Widen the f16/bf16 inputs of an f32 contraction into f32 "
                "buffers";
  let description = [{
    A contraction of f16/bf16 operands into an f32 result (what an
    `attn.einsum` on bf16 tensors lowers to) has no vector micro-kernel: its
    body extends every element as it goes, and it ran as scalar loops (a
    bf16 512^3 matmul: 3.3 against 194 GFLOP/s in f32). Its narrow inputs
    are widened into f32 buffers first, O(inputs) work that
    `attn-vectorize-rows` turns into vector loads and extensions, and the
    contraction, now on f32 operands, takes the register-tiled path. The
    widening is exact, and the products and sums were done in f32 before
    too. Contractions inside a flash nest are left alone (the flash
    lowering widens its operands itself).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def CollapseReductionDimsPass
    : Pass<"attn-collapse-reduction-dims", "::mlir::func::FuncOp"> {
  let summary = "Collapse consecutive, contiguous reduction dimensions of a "
                "contraction into one";
  let description = [{
    An out-projection with the head merge "b n (h d)" folded in is
    "b n h d, o h d -> b n o": two reduction loops, which would become two
    nested loops around the register tile with the accumulator going
    through memory in between. When every operand stores the reduction
    dimensions contiguously they are collapsed into one
    (`linalg::collapseOpIterationDims`).
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def CollapseParallelDimsPass
    : Pass<"attn-collapse-parallel-dims", "::mlir::func::FuncOp"> {
  let summary = "Collapse consecutive, contiguous row or column dimensions "
                "of a contraction into one";
  let description = [{
    A Linear applied to Swin's windows is "a b c d i, i o -> a b c d o"
    (8 x 8 windows of 7 x 7 tokens): four M loops. The tiling passes and
    `attn-contractions-to-ukernels` take the innermost M loop as the
    product's rows and iterate the others around it, so such a Linear became
    448 products of 7 rows, each re-reading the weight. When every operand
    stores a run of consecutive M loops (those of the first input and the
    result) or of N loops (the second input's and the result's)
    consecutively, in loop order, and contiguously, the run is collapsed into
    one loop (`linalg::collapseOpIterationDims`, `memref.collapse_shape` of
    the operands): one 3136-row product. Batch and reduction loops are left
    alone (`attn-collapse-reduction-dims` handles the latter), and so are
    contractions inside an `scf.forall` (the flash nest's block products,
    sized by their own tiling).
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def VectorizeRowsPass : Pass<"attn-vectorize-rows", "::mlir::func::FuncOp"> {
  let summary = "Vectorise row-wise linalg ops on buffers one row at a time";
  let description = [{
    All-parallel `linalg.transpose`, `linalg.broadcast`, `linalg.fill` and
    `linalg.generic` ops outside a flash nest whose operands keep the
    innermost loop dimension innermost and contiguous (attention's head
    split/merge, bias broadcasts and adds; rows of at least 8 elements, no
    i1 buffers), and reductions of each row whose inputs are each read at
    every loop or at none of the reduced ones (LayerNorm's statistics, the
    centring fused into the variance), become an `scf.forall` over rows,
    each row one vector per operand (rows longer than 1024 elements in
    equal chunks of at most 1024; a body with a math function or more than
    8 operations, such as GELU's, in chunks of 64 where the row divides,
    since LLVM spills a long vector of every intermediate). A row's
    reduction is emitted as a 1-D `vector.reduction` at once, so that
    `attn-drop-vector-unit-dims` does not take a sum of squares for a dot
    product.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def VectorizeTransposesPass
    : Pass<"attn-vectorize-transposes", "::mlir::func::FuncOp"> {
  let summary = "Transpose the innermost dimension in 16 x 16 register "
                "blocks";
  let description = [{
    A transpose that moves the innermost dimension (the flash lowering's
    Kᵀ, a "b n h d -> b h d n" layout change) is a strided gather element by
    element. It becomes 16 x 16 blocks instead (an `scf.forall` over them,
    an `scf.for` inside a flash nest): 16 rows of the source read as
    vectors, transposed in registers (`vector.transpose`, lowered to
    AVX-512 shuffles by `attn-lower-vectors`) and written as 16 rows of the
    result. Edge blocks use masked transfers (Swin's window attention: 25
    -> 34 GFLOP/s).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def CpuStrategyPass : Pass<"attn-cpu-strategy", "::mlir::func::FuncOp"> {
  let summary = "Choose the CPU tile sizes of every contraction and record "
                "them as attn.lowering_config";
  let description = [{
    Every linalg op on buffers that is a contraction (`linalg.matmul`,
    `linalg.batch_matmul`, or a `linalg.generic` accepted by
    `linalg::isaContractionOpInterface`) with the same float element type
    everywhere, whose result's innermost dimension is a parallel dimension
    of one operand (the "rhs", N), gets an `attn.lowering_config` with
    three levels, per loop dimension:

    - `parallel` (absent inside a flash nest, which distributes its own
      work): `parallel-tile-m` rows of the innermost M dimension by
      `parallel-tile-n` columns of N, 1 along every other parallel
      dimension; narrowed (down to two register tiles) and then shortened
      (down to one) while the op has fewer than `min-parallel-tiles` tiles,
      so that small GEMMs still feed every thread (Swin's 49-row GEMMs:
      49x1536x768 90-141 -> 177-190 GFLOP/s).
    - `reduction`: `reduction-tile` for each static reduction longer than
      that, so the rhs rows a register tile streams stay in L1/L2 whatever K
      is (a 2048^3 matmul: 67 -> 120 GFLOP/s).
    - `registers`: `register-tile-m` x `register-tile-n`, 1 along every
      other dimension. The register tile's rows come from the innermost M
      dimension of size > 1 (nn.Linear on [b, 1, c]).

    The passes that follow read the config and contain no heuristics.
  }];
  let options = [
    Option<"parallelTileM", "parallel-tile-m", "int64_t", /*default=*/"64",
           "Rows of the innermost M dimension per scf.forall iteration">,
    Option<"parallelTileN", "parallel-tile-n", "int64_t", /*default=*/"256",
           "Columns of N per scf.forall iteration">,
    Option<"minParallelTiles", "min-parallel-tiles", "int64_t",
           /*default=*/"8",
           "Narrow (down to 2 register tiles), then shorten the parallel "
           "tiles of a contraction until it has at least this many, so "
           "small GEMMs still feed every thread">,
    Option<"registerTileM", "register-tile-m", "int64_t", /*default=*/"8",
           "Rows of the micro-kernel's accumulator tile">,
    Option<"registerTileN", "register-tile-n", "int64_t", /*default=*/"32",
           "Columns of the micro-kernel's accumulator tile (a multiple of "
           "the SIMD width)">,
    Option<"reductionTile", "reduction-tile", "int64_t", /*default=*/"128",
           "Reduction steps per block inside an output tile (0: the whole "
           "reduction); only reductions longer than this are blocked">,
  ];
  let dependentDialects = ["::mlir::attn::AttnDialect"];
}

def MakeRhsRowMajorPass
    : Pass<"attn-make-rhs-row-major", "::mlir::func::FuncOp"> {
  let summary = "Copy a configured contraction's reduction-innermost rhs "
                "into an N-innermost temporary";
  let description = [{
    When the rhs of a contraction with an `attn.lowering_config` is stored
    with a reduction dimension innermost (`Q Kᵀ`, `x Wᵀ` with nn.Linear
    weights), it is copied into a temporary buffer with N innermost
    (`linalg.transpose`), so that every step of the micro-kernel loads
    contiguous rhs rows; named ops are generalised to carry the new
    indexing map.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def TileParallelPass : Pass<"attn-tile-parallel", "::mlir::func::FuncOp"> {
  let summary = "Tile ops with scf.forall by their lowering config's "
                "parallel level";
  let description = [{
    Each op whose `attn.lowering_config` has a `parallel` level is tiled
    with `scf.forall` by those sizes; the forall becomes one OpenMP
    work-sharing loop. The tiled op keeps the config without that level.
  }];
  let dependentDialects = ["::mlir::attn::AttnDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::scf::SCFDialect"];
}

def TileReductionPass : Pass<"attn-tile-reduction", "::mlir::func::FuncOp"> {
  let summary = "Block reductions with scf.for by their lowering config's "
                "reduction level";
  let description = [{
    Each op whose `attn.lowering_config` has a `reduction` level gets its
    reduction dimensions blocked by `scf.for` loops of those sizes (inside
    its output tile when `attn-tile-parallel` ran first). The tiled op
    keeps the config without that level.
  }];
  let dependentDialects = ["::mlir::attn::AttnDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::scf::SCFDialect"];
}

def PackRhsPass : Pass<"attn-pack-rhs", "::mlir::func::FuncOp"> {
  let summary = "Copy each output tile's rhs block into a buffer with padded "
                "rows when its rows share one L1 set";
  let description = [{
    For a configured contraction inside an output tile (an `scf.forall`
    that is not a flash nest), when its 2-D rhs rows are a multiple of 4 KiB
    apart (1024, 2048, 3072 f32 columns: all rows a register tile streams
    map to one L1 set, and every register tile misses L1), the tile's rhs
    block is copied, one vector row per step (masked for partial blocks),
    into a buffer whose rows are 16 elements longer, allocated once per
    output tile, and the contraction reads it instead (2048^3: 120 -> 145
    GFLOP/s). Other strides spread over the sets, and the copy, repeated
    for every output tile that shares the block, costs more than it saves
    (no gain at 512, 768 or 1536 columns).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def TileRegistersPass : Pass<"attn-tile-registers", "::mlir::func::FuncOp"> {
  let summary = "Tile configured contractions into peeled register tiles";
  let description = [{
    Each contraction whose `attn.lowering_config` has a `registers` level is
    tiled again with `scf.for` into register tiles of those sizes,
    reductions innermost. The N and then the M loop are peeled so that all
    but the last tile have static shapes; all register tiles, full and
    partial, get the config `<vector = registers>` that
    `attn-vectorize-register-tiles` reads. An N range longer than 16 but no
    multiple of 16 (a flash block of 49 keys) is split at the multiple (48
    + 1) first, because LLVM builds a `vector<17xf32>` element by element
    through the stack; each piece gets its own register tiles.
  }];
  let dependentDialects = ["::mlir::attn::AttnDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def VectorizeRegisterTilesPass
    : Pass<"attn-vectorize-register-tiles", "::mlir::func::FuncOp"> {
  let summary = "Rewrite register tiles as one vector.contract between "
                "transfers";
  let description = [{
    Each op with a `vector` level in its `attn.lowering_config` (the
    register tiles of `attn-tile-registers`) becomes transfer_reads of its
    whole operands, one `vector.contract` with the op's own indexing maps,
    and a transfer_write (`linalg::vectorize` only emits vector.contract for
    named ops; for generic contractions with unit reduction steps it emits
    mulf/addf, which LLVM may not fuse into FMAs without fast-math flags).
    A partial tile (the peeled remainder of the M or N loop, of dynamic
    size at most the register tile's) is computed as a whole register tile:
    its transfers are out of bounds along that dimension, reading zeros and
    writing only the rows and columns that exist. Run canonicalisation
    first, so the full tiles' sizes are static.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect"];
}

def VectorizeFlashStepsPass
    : Pass<"attn-vectorize-flash-steps", "::mlir::func::FuncOp"> {
  let summary = "Vectorise the softmax steps of a flash nest row by row";
  let description = [{
    Static elementwise and row-reduction linalg ops (at most 2-D, float
    operands read row-contiguously) inside a flash nest (an `scf.forall`
    mapped with `#attn.flash_nest`): the scale/mask, row max, exp, row sum
    and rescaling steps, are vectorised one row per `scf.for` iteration: a
    per-row operand is a broadcast scalar, a row reduction one horizontal
    `vector.reduction`. Rows longer than 16 but no multiple of 16 are split
    at the multiple first. Dynamic ones keep their loops.

    A row's NaN-ignoring max (`maxnumf`, the decomposition's row max) whose
    length is a multiple of 16 becomes a running `select(x > r, x, r)` over
    16-lane pieces from -inf (one `vmaxps` each; it never holds a NaN), then
    one `nnan` horizontal reduction and the row's incoming max: LLVM's
    generic expansion fixes up NaN at every step.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def DropVectorUnitDimsPass
    : Pass<"attn-drop-vector-unit-dims", "::mlir::func::FuncOp"> {
  let summary = "Drop unit dimensions from vectors and canonicalise";
  let description = [{
    Unit dimensions (batch, the reduction step of a register tile) leave the
    vectors (upstream's cast-away-leading-one-dim, reduction-to-contract and
    drop-unit-dim-with-shape-cast patterns, with canonicalisation), so each
    register tile's accumulator is a plain [M x N] vector that
    `attn-hoist-accumulators` can carry through its reduction loop.
  }];
  let dependentDialects = ["::mlir::vector::VectorDialect"];
}

def HoistAccumulatorsPass
    : Pass<"attn-hoist-accumulators", "::mlir::func::FuncOp"> {
  let summary = "Carry register tile accumulators through their reduction "
                "loop in vectors";
  let description = [{
    A loop that holds exactly one transfer_write, a transfer_read of the
    same memref at the same loop-invariant indices with the same type and
    map, and nothing else that touches memory except reads of other
    buffers, gets the pair hoisted: the accumulator becomes a loop-carried
    vector (registers). Upstream `linalg::hoistRedundantVectorTransfers`
    gives up as soon as the memref has any view user anywhere (the partial
    tiles' subviews), so the register tiles, whose operands never alias the
    accumulator, are matched here directly. Hoisting compares index
    values: run `cse` and `loop-invariant-code-motion` first.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def LowerVectorsPass : Pass<"attn-lower-vectors", "::mlir::func::FuncOp"> {
  let summary = "Lower vector.contract to FMAs and transfers to 1-D loads "
                "and stores";
  let description = [{
    `vector.contract` becomes outer products and then `vector.fma`,
    multi-dimensional transfers 1-D loads and stores (masked where out of
    bounds), 16 x 16 transposes AVX-512 shuffle sequences, all unrolled.
    No canonicalisation here: it would fold the accumulator's row inserts
    into a from_elements of every scalar. The result is numerically the
    same sum in the same order.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

//===----------------------------------------------------------------------===//
// Steps of the CPU and GPU pipelines.
//===----------------------------------------------------------------------===//

def DuplicateSharedFillsPass
    : Pass<"attn-duplicate-shared-fills", "::mlir::func::FuncOp"> {
  let summary = "Give each op that writes into a shared tensor linalg.fill "
                "its own fill";
  let description = [{
    CSE merges the identical zero fills of every contraction's accumulator
    in a model (ViT's 12 layers share one per Linear shape), and one-shot
    bufferization then fills one buffer and copies it into a new one for
    every contraction: a read and a write of the accumulator per Linear
    where one write would do. Each destination-style user that writes into
    a fill with several uses gets a clone of the fill (and of its
    `tensor.empty`) just before it; if every use is such a write, the first
    keeps the original. Fills only read elsewhere stay shared.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LowerStridedCopiesPass
    : Pass<"attn-lower-strided-copies", "::mlir::ModuleOp"> {
  let summary = "Rewrite memref.copy of non-identity layouts into "
                "linalg.copy";
  let description = [{
    memref-to-llvm turns a copy between strided layouts (a head split of a
    sliced qkv projection, a partial flash tile) into a call to MLIR's
    `memrefCopy` runtime function, which ahead-of-time libraries must not
    depend on (only libc, libm and libomp). Such copies become `linalg.copy`,
    which becomes loops; contiguous copies stay `memref.copy`, which becomes
    `llvm.memcpy`.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def LowerForallBodiesToLoopsPass
    : Pass<"attn-lower-forall-bodies-to-loops", "::mlir::ModuleOp"> {
  let summary = "Lower linalg ops inside scf.forall to sequential scf.for "
                "loops";
  let description = [{
    The per-tile work of every `scf.forall` (the flash nest's steps, the
    partial tiles of GEMM output tiles) becomes sequential loops. The forall
    is the parallel loop: lowering its body to `scf.parallel` as well would
    give nested OpenMP regions, each a fork/join that nested-off OpenMP
    runs serially.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def SerializeNestedParallelLoopsPass
    : Pass<"attn-serialize-nested-parallel-loops", "::mlir::ModuleOp"> {
  let summary = "Turn every scf.parallel nested in another into scf.for "
                "loops";
  let description = [{
    Only the outermost `scf.parallel` of a nest becomes an OpenMP region
    (`convert-scf-to-openmp`, which runs next). A nested one would become a
    nested region that OpenMP runs serially anyway (one active level), but
    every entry still forks, initialises a static schedule and, in Debian's
    libomp (built with `KMP_DEBUG`), formats the schedule's debug trace
    strings: a loop over 3137 tokens around an 8-wide inner parallel loop
    (CoaT-Lite's factorised attention, `k.softmax(dim=2).transpose(-1, -2) @
    v` with 8 channels a head) entered ~54 000 nested regions a forward.
    Loops with reductions are left as they are.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def EmitCInterfacePass : Pass<"attn-emit-c-interface", "::mlir::ModuleOp"> {
  let summary = "Mark public functions with llvm.emit_c_interface";
  let description = [{
    func-to-llvm then also emits a `_mlir_ciface_` wrapper for every public
    function definition, taking memref descriptors by pointer: the ABI of C
    callers, the JIT and mlir-runner.
  }];
}

def ApproximateMathPass : Pass<"attn-approximate-math"> {
  let summary = "Replace f32 math.exp, math.tanh and math.erf with inline "
                "polynomial approximations";
  let description = [{
    Softmax (its exponentials), GELU (erf or tanh) and additive attention
    (tanh) otherwise become one libm call per element: the call is scalar,
    so the loop around it cannot be vectorised, and libm's slow path for
    the very negative arguments softmax produces (exp of masked or
    far-below-max scores) sets errno. Upstream MLIR's polynomial
    approximations (range reduction plus a minimax polynomial, accurate to
    a few ulp in f32 and saturating to 0 / +inf outside the representable
    range) are plain arithmetic that works on scalars and vectors alike.
    f16 and bf16 operations are computed in f32 and truncated.

    With `x86-avx512`, an f32 `math.exp` on a vector of a multiple of 16
    elements (the flash nest's rows) is computed as `p(r) * 2^k` instead:
    the argument clamped above at 88.8 (NaN passes), `k = roundeven(x
    log2(e))`, `r = x - k ln2` (two FMAs, ln2 split in two floats), `p` a
    degree-6 polynomial (six FMAs; at most ~1 ulp from exp over the normal
    range), and the scaling by `2^k` one AVX-512 `vscalefps` per 16 lanes
    (`llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"`), which
    rounds once and overflows to +inf itself; its zeroing mask (`x >= ln
    FLT_MIN` or unordered) makes exp(-inf) and every result below the
    smallest normal float exactly 0, as the portable expansion flushes
    them (vscalefps would take a microcode assist for each subnormal or
    underflowing result). exp(+inf) is +inf, exp(NaN) NaN. That is 13
    instructions per 16 lanes where the portable expansion needs ~22. The
    code then needs AVX-512F to run. An exp marked
    `attn.nonpositive_argument` (softmax's exp(x - max), whose argument is
    <= 0 or NaN) cannot overflow and goes without the clamp.
  }];
  let options = [
    Option<"x86Avx512", "x86-avx512", "bool", /*default=*/"false",
           "Use AVX-512's vscalefps in exp of f32 vectors of 16k elements "
           "(the code then needs AVX-512F)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect",
    "::mlir::LLVM::LLVMDialect",
  ];
}

def FuseElementwiseOpsPass : Pass<"attn-fuse-elementwise-ops"> {
  let summary = "Fuse elementwise linalg.generic producers into their "
                "consumers, refusing fusions that would change the result or "
                "recompute a producer inside a contraction";
  let description = [{
    Upstream's elementwise fusion (`linalg::populateElementwiseOpsFusionPatterns`
    with reshape folding by expansion, as `linalg-fuse-elementwise-ops`,
    which upstream marks as a test pass) with a control function of our
    own: a producer is fused into its only user unless fusing would change
    the result.

    Upstream's fusion is wrong for an all-parallel producer whose body
    reads its own `outs` value (`out + a * b` over a filled init, or any
    read-modify-write) when the consumer visits each of the producer's
    elements more than once: the consumer has loops that do not index the
    fused operand (a reduction over another axis, or a broadcast). The
    fused op keeps the producer's init as one of its own outputs and
    updates it on every visit, so the value the consumer reads accumulates:
    `einsum("b c h w, b w, b c -> b h")` came out `h + 1` times too large
    in column `h`. Such a fusion is refused: only producers whose body
    ignores its `outs`, or whose fused operand the consumer indexes with a
    permutation of all its loops (each element visited once), are fused.

    Upstream's fusion is also slow in a way that loses the micro-kernels: a
    single-use producer that computes something (an add, a GELU, a `cat`
    built from `linalg.index` and `tensor.extract`) is not fused into a
    consumer that has a reduction and whose indexing map for it leaves out
    one of the consumer's loops, i.e. that reads each of its elements
    several times. That is every contraction: a Linear's input is indexed
    by (b, n, i) and re-read for each output column o. Fused there, the
    producer is recomputed once per column, and the consumer is no longer a
    contraction, so it gets neither `attn-contractions-to-ukernels` nor
    `attn-tile-and-vectorize`'s register tiles (an `addf` feeding
    "b n i, i o -> b n o" ran at 2.7 instead of 120 GFLOP/s). It stays
    materialised instead: one pass over its result, O(M·K) against the
    contraction's O(M·N·K). Producers that only move or convert data (a
    broadcast, a transpose, one `extf`/`truncf`/`sitofp`/`uitofp`) still
    fuse into contractions: they add no arithmetic per multiply-add and the
    consumer stays a contraction. Fusion into all-parallel consumers, and
    into reductions that read every element once (LayerNorm's row
    statistics), is unchanged.

    Upstream's fusion only fuses `linalg.generic` ops, so the pass first
    generalises named `linalg.broadcast` and `linalg.reduce` ops outside the
    flash nest: a broadcast becomes an indexing map of its consumer instead
    of a buffer of the consumer's size, and a reduction takes the
    elementwise producer of its input (LayerNorm's `(x - mean)^2`). A ViT
    LayerNorm goes from 10 loops over the activations to 4. Transposes and
    ops inside the flash nest keep their named form, which the vectorisers
    read. A computing producer is not fused into a broadcast whose only user
    is a contraction reading it as an input: the broadcast then fuses into
    the contraction as an indexing map and the contraction reads the
    producer's result in place, computed once at its own size, instead of
    recomputed per broadcast element into a buffer of the broadcast's size
    (the computing broadcast could no longer fuse into the contraction).
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def FoldAddendsIntoContractionsPass
    : Pass<"attn-fold-addends-into-contractions"> {
  let summary = "Start a contraction from the values added to its result "
                "(a Linear's bias, a residual) instead of zero";
  let description = [{
    A contraction accumulates into its init (`out + a * b`), which for a
    Linear is a zero fill; the bias add (and the residual add after it)
    is then a second pass over the result, often an elementwise op and a
    parallel loop of its own. On tensors, for an all-parallel
    `linalg.generic` reading the result `r` of a contraction (its only
    use, through a permutation of all the generic's loops) whose body adds
    `r` to values computed from its other inputs (`r + b`, `(r + b) + x`,
    the chain of `arith.addf` that starts at `r`), the contraction's init
    becomes a new all-parallel generic computing that sum of addends
    (indexed by the contraction's output dimensions), and the chain's end
    becomes `r`: the generic is left with what follows the adds (a GELU)
    or nothing, which canonicalisation erases. Only contractions whose
    init is a fill of +0.0 and whose body yields `out + ...` are changed,
    outside the flash nest. The sum is reassociated (`r + (b + x)`
    instead of `(r + b) + x`, the products summed onto `b + x`): the
    rounding of a few additions changes, no error grows with the
    reduction length.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def OmpDynamicSchedulePass : Pass<"attn-omp-dynamic-schedule"> {
  let summary = "Give omp.wsloop ops over a few thousand tiles or fewer a "
                "dynamic schedule";
  let description = [{
    `convert-scf-to-openmp` leaves work-sharing loops without a schedule,
    which the OpenMP runtime runs statically: each thread gets one
    contiguous chunk of iterations. The parallel tiles our pipelines create
    are not equal in cost: the last row of GEMM output tiles is partial
    (ViT's 197 tokens are three tiles of 64 and one of 5, so with two
    threads one of them gets all the small tiles and half the work), and
    causal attention's query blocks see more keys the later they are. With
    a dynamic schedule (chunks of one iteration) a thread takes the next
    tile when it finishes one; each tile is tens of microseconds of work, so
    the runtime's per-chunk cost is noise. Only loops whose constant trip
    count is at most 4096 and whose body holds a `vector.fma` (a lowered
    micro-kernel of attn-tile-and-vectorize) change: a loop over rows or
    elements of an elementwise op, or with unknown bounds, keeps the static
    schedule, which costs nothing per iteration (a dynamic dispatch is an
    atomic add on a shared counter once `attn-omp-thread-ranges` has run,
    a runtime call that formats a string in Debian's libomp otherwise).
    Loops with an explicit schedule are left alone. Run it after
    `convert-scf-to-openmp` and before vector ops are lowered.
  }];
  let dependentDialects = ["::mlir::omp::OpenMPDialect",
                           "::mlir::vector::VectorDialect"];
}

def OmpThreadRangesPass : Pass<"attn-omp-thread-ranges", "::mlir::ModuleOp"> {
  let summary = "Schedule the iterations of single-loop OpenMP regions "
                "without the runtime's loop-scheduling calls";
  let description = [{
    `convert-scf-to-openmp` makes each parallel loop an `omp.parallel`
    around one `omp.wsloop`, which the LLVM translation lowers to
    `__kmpc_for_static_init` (static) or `__kmpc_dispatch_init/next`
    (dynamic) calls in every thread. Debian's libomp is built with
    `KMP_DEBUG`, and those entry points format their trace strings with
    `vsnprintf` on every call whether tracing is on or not: a region of 64
    trivial iterations costs 1.9-3.9 us with the static schedule and 28-31
    us with the dynamic one against 1.1 us with ranges computed in the
    region (a C loop of 20 000 regions on two threads), and on two threads
    vit-pytorch's CvT (~2000 forks a forward) spent 15% of its samples in
    glibc's printf internals. Where a region (not nested in another) holds
    nothing but one work-sharing loop without reductions, private or linear
    variables, ordering or chunk, the loop becomes sequential code in the
    region: with no schedule or a static one, thread t of T walks the
    iterations [N·t/T, N·(t+1)/T) of the nest's N (in the loops' order,
    collapsed loops linearised, the last varying fastest), with its id and
    the team size from `omp_get_thread_num` / `omp_get_num_threads`; with a
    dynamic one each thread takes the next iteration from a counter in the
    enclosing function's frame (`memref.atomic_rmw addi`, reset before the
    region) until none are left. The loop's implicit barrier was followed
    directly by the region's own, which remains. Run it after
    `attn-omp-dynamic-schedule`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::omp::OpenMPDialect",
                           "::mlir::scf::SCFDialect"];
}

//===----------------------------------------------------------------------===//
// GPU mapping (attn-gpu-pipeline, the kernels without tensor cores)
//===----------------------------------------------------------------------===//

def GpuMapForallToBlocksPass
    : Pass<"attn-gpu-map-forall", "::mlir::func::FuncOp"> {
  let summary = "Map bufferized flash nests (scf.forall) to GPU blocks";
  let description = [{
    Every top-level `scf.forall` (after bufferization: the flash nests of
    `attn-tile-attention`, mapped `#attn.flash_nest`) becomes a
    `gpu.launch` with one block per iteration (all on grid x, delinearised
    into the forall's induction variables) and `threads` threads. In the
    body, `memref.copy` becomes `linalg.copy`; every allocation is a tile
    shared by the block's threads and becomes a workgroup attribution
    (static shared memory, the constant bound of a partial tile's dynamic
    size); statically shaped global-memory operands of contractions (the
    Q, K and V tiles) are staged into shared memory where the operand's
    view is made, while the 48 KiB of static shared memory allow (a remark
    says which are not). Each linalg op then becomes loops whose parallel
    iterations are distributed round-robin over the threads, separated by
    barriers; a loop nest with no parallel dimension runs on thread 0.
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"128",
           "Threads per block">
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def GpuMapHostLoopsPass
    : Pass<"attn-gpu-map-host-loops", "::mlir::func::FuncOp"> {
  let summary = "Turn linalg ops outside GPU launches into kernels; move "
                "host buffers to managed memory";
  let description = [{
    What is left of the graph after the flash nests are launches (unfused
    matmuls, bias adds, LayerNorm parts) goes on the GPU: every linalg op
    outside a launch becomes its own `gpu.launch` over its parallel
    iteration space, one thread per iteration. Host allocations become
    CUDA managed memory (`gpu.alloc host_shared`), which kernels and the C
    caller can both address, and the arguments and constants the kernels
    read are copied into it at entry; managed buffers that do not escape
    are freed before each return. With `device-memory`, arguments are the
    caller's device buffers used in place and temporaries are device
    memory.
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"128",
           "Threads per block">,
    Option<"deviceMemory", "device-memory", "bool", /*default=*/"false",
           "Use arguments in place; allocate temporaries and constant "
           "copies in device memory">
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def GpuLowerMathPass : Pass<"attn-gpu-lower-math", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Lower math ops in GPU kernels to ex2.approx and polynomials";
  let description = [{
    convert-gpu-to-nvvm turns math ops into `__nv_*` calls that only
    libdevice.bc (from a CUDA toolkit) defines, and PTX with unresolved
    calls does not load. f32 `math.exp` becomes the hardware
    `ex2.approx.ftz` of `x log2 e` (softmax arguments are <= 0, where its
    2-ulp error is far below bf16/f16 rounding); the rest become upstream's
    polynomial approximations in plain arithmetic.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect"
  ];
}

#endif // ATTN_TRANSFORMS_PASSES_TD
