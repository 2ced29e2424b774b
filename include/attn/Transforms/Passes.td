//===- Passes.td - code generation passes on upstream dialects -*- tablegen -*-===//
//
// Declares the attn passes that optimise upstream linalg/vector IR for CPUs.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TRANSFORMS_PASSES_TD
#define ATTN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def TileAndVectorizePass
    : Pass<"attn-tile-and-vectorize", "::mlir::func::FuncOp"> {
  let summary = "Tile matmul-like linalg ops on buffers and vectorise their "
                "register tiles into FMAs";
  let description = [{
    Runs after one-shot bufferization. First, two preparatory rewrites:
    a `linalg.generic` into which linalg elementwise fusion merged a
    producer (`out + (x * g) * w`, a LayerNorm scale feeding a linear) has
    each non-trivial factor computed into a temporary first, which makes it
    a plain contraction again; and all-parallel `linalg.transpose`,
    `linalg.broadcast`, `linalg.fill` and `linalg.generic` ops outside an
    `scf.forall`
    whose operands keep the innermost loop dimension innermost and
    contiguous (attention's head split/merge, bias broadcasts and adds;
    rows of at least 8 elements, no i1 buffers), and reductions of each row
    of one input (LayerNorm's statistics), become an `scf.forall` over
    rows, each row one vector per operand (rows longer than 1024 elements
    in equal chunks of at most 1024).

    Contractions with several consecutive reduction dimensions that every
    operand stores contiguously (an out-projection with the head merge
    "b n (h d)" folded in: "b n h d, o h d -> b n o") have them collapsed
    into one (`linalg::collapseOpIterationDims`), so the register tile has a
    single reduction loop.

    Every linalg op on buffers that is a
    contraction (`linalg.matmul`, `linalg.batch_matmul`, or a
    `linalg.generic` accepted by `linalg::isaContractionOpInterface`) with
    the same float element type everywhere, whose result's innermost
    dimension is a parallel dimension of one operand (the "rhs", N), is
    rewritten as a BLIS-like loop nest:

    1. When the rhs is stored with a reduction dimension innermost (`Q Kᵀ`,
       `x Wᵀ` with nn.Linear weights), it is first copied into a temporary
       buffer with N innermost (`linalg.transpose`), so that every step of
       the micro-kernel loads contiguous rhs rows.
    2. Ops that are not already inside an `scf.forall` (the flash-attention
       loop nest supplies its own) are tiled with `scf.forall` over the
       parallel dimensions: `parallel-tile-m` rows of the innermost M
       dimension by `parallel-tile-n` columns of N, 1 along every other
       parallel dimension. The forall becomes one OpenMP work-sharing loop.
    3. A reduction longer than `reduction-tile` is blocked by an `scf.for`
       inside each output tile, so the rhs rows a register tile streams stay
       in L1/L2 whatever K is (a 2048^3 matmul: 67 -> 120 GFLOP/s on the
       2-core development machine). With `pack-rhs`, when the rhs rows are
       a multiple of 4 KiB apart (so that all rows a register tile streams
       map to one L1 set), each output tile's block of the rhs is copied,
       one vector row per step, into a buffer with rows 16 elements longer,
       which the register tiles read instead (2048^3: -> 145 GFLOP/s).
    4. Each tile is tiled again with `scf.for` into register tiles of
       `register-tile-m` x `register-tile-n` (1 along other parallel
       dimensions) and 1 along every reduction dimension, reductions
       innermost. The M and N loops are peeled so that all but the last
       tile have static shapes. The register tile's rows come from the
       innermost M dimension of size > 1 (nn.Linear on [b, 1, c]).
    5. Static register tiles become transfer_reads, one `vector.contract`
       with the op's indexing maps and a transfer_write; the accumulator's
       transfer_read/transfer_write
       pair is hoisted out of the reduction loop, so it lives in registers.
       With `lower-vectors`, the contractions are lowered to outer products
       and FMAs and the transfers to 1-D loads and stores. Partial tiles
       (the peeled remainders) are vectorised as whole register tiles whose
       transfers are out of bounds along the partial dimension: zero-padded
       reads, guarded rows and masked column loads/stores.

    Last, static elementwise and row-reduction linalg ops (at most 2-D,
    float operands read row-contiguously) inside an `scf.forall` — the
    flash-attention nest's scale/mask, row max, exp, row sum and rescaling
    steps — are vectorised one row per `scf.for` iteration: a per-row
    operand is a broadcast scalar, a row reduction one horizontal
    `vector.reduction`. Dynamic ones keep their loops.

    Other ops are left alone. The result is numerically the same sum in
    the same order (reduction dimensions are visited in order).
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
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
    Option<"packRhs", "pack-rhs", "bool", /*default=*/"true",
           "Copy each output tile's rhs block into a contiguous buffer with "
           "padded rows before the register tiles read it, when the rhs "
           "row stride is a multiple of 4 KiB">,
    Option<"transposeRhs", "transpose-rhs", "bool", /*default=*/"true",
           "Copy an rhs stored reduction-innermost into an N-innermost "
           "temporary first">,
    Option<"lowerVectors", "lower-vectors", "bool", /*default=*/"true",
           "Lower vector.contract to FMAs and transfers to 1-D loads/stores">,
  ];
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
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def FuseElementwiseOpsPass : Pass<"attn-fuse-elementwise-ops"> {
  let summary = "Fuse elementwise linalg.generic producers into their "
                "consumers, refusing fusions that would change the result";
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
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::tensor::TensorDialect",
  ];
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
    schedule, which costs nothing per iteration (a dynamic dispatch costs a
    runtime call; Debian's libomp formats a string in it). Loops with an
    explicit schedule are left alone. Run it after `convert-scf-to-openmp`
    and before vector ops are lowered.
  }];
  let dependentDialects = ["::mlir::omp::OpenMPDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // ATTN_TRANSFORMS_PASSES_TD
