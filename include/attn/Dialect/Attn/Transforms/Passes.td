//===- Passes.td - attn dialect transformation passes ------*- tablegen -*-===//
//
// Declares the passes that transform attn programs within the attn dialect.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD
#define ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FuseAttentionPass : Pass<"attn-fuse-attention"> {
  let summary = "Recognise einsum -> mask -> softmax -> einsum as attn.attention";
  let description = [{
    Rewrites the unfused attention chain, in its canonical form (run
    `canonicalize` first so transposes live in einsum equations and a scalar
    factor in the einsum's `scale`):

    ```
    %s = attn.einsum "<q>, <k> -> <s>" (%q, %k) scale(c)
    %s1 = <elementwise arith/math ops of %s>     (optional: the score_mod)
    %s2 = arith.select %mask, %s1, <splat -inf>  (optional boolean mask)
       or arith.addf %s1, %m                     (optional additive masks)
    %p = attn.softmax %s2 axis(<key axis>)
    %o = attn.einsum "<p>, <v> -> <o>" (%p, %v)
    ```

    into one destination-style `attn.attention`, where the score einsum is
    a batched `Q Kᵀ` (batch labels shared by q, k and the scores, one query
    label, one key label, one contracted label) and the second einsum
    contracts exactly the softmax axis against v. Operand and result
    layouts may be any permutation: they become the op's indexing maps, no
    permute is inserted. Labels that only the queries carry (grouped-query
    attention written `b h g i d, b h j d`) become batch dimensions the
    key and value maps do not use, so keys and values are read in place.

    Elementwise `arith`/`math` ops between the scaled scores and the masks
    (softcapping `c * tanh(s / c)`, ALiBi and relative-position biases,
    bias tables read through broadcasts or gathers) move into the op's
    `score_mod` region: the score becomes the region's argument, a splat
    operand a scalar, a broadcast operand (or an elementwise function of
    broadcasts) a `tensor.extract` of its source at the iteration indices,
    any other tensor a `tensor.extract` of itself.

    The Bahdanau form (`einsum(tanh(bcast q + bcast k), w_v)` over the
    feature axis) and the Nadaraya-Watson form (`((bcast q - bcast k) * w)^2`
    times a negative splat) of the scores fuse likewise, into
    `score(additive)` and `score(gaussian)` with the weight operand; a
    finite fill below -1e4 in the mask's select (d2l's -1e6) becomes an
    additive mask.

    Re-attention (DeepViT: the probabilities mixed across heads by a
    learnt `[H, H]` matrix, through any views, then optionally a LayerNorm
    over the heads, then P·V) has no single-pass online form; with
    `reattention` it becomes its exact two-pass form: an `attn.attention`
    whose `lse` result gives each row's log-sum-exp, and a nest (an
    `scf.forall` mapped `#attn.flash_nest` over batch and blocks of
    `reattention-q-tile` queries, an `scf.for` over blocks of
    `reattention-kv-tile` keys) that recomputes a block of scores for all
    heads, `exp(s - lse)`, the mix, the LayerNorm and accumulates P'·V,
    built as linalg ops tiled by upstream tile-and-fuse. Only f32 with
    static shapes; a near miss names its reason.

    Talking heads (CaiT: the scores mixed across heads by a learnt `[H, H]`
    matrix before the softmax and the probabilities by another after it,
    each optionally plus a broadcast per-head bias, then P·V) has neither a
    single-pass nor that two-pass form; with `talking-heads` it becomes a
    row-block nest: an `scf.forall` mapped `#attn.flash_nest` over batch
    and blocks of `talking-heads-q-tile` queries that computes the block's
    scores of all heads against every key, the first mix, an exact softmax
    over the key row, the second mix and P·V, as tile-and-fused linalg
    ops. The `[.., H, N, N]` scores are never materialised; a block holds
    `H x q-tile x N` of them. Only f32 with static shapes and no views
    inside the chain; a near miss names its reason.

    The chain fuses only when the scores, the masked scores and the
    probabilities have no other users. With `remarks`, every fusion (with
    the ops moved into `score_mod`) and every near miss (softmax over a
    non-key axis, scores or probabilities used elsewhere, a mask form that
    is not recognised, an op between the scores and the softmax that is
    not elementwise) is reported as an optimisation remark.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for every fused attention and every near miss">,
    Option<"reattention", "reattention", "bool", /*default=*/"true",
           "Rewrite re-attention (probabilities mixed across heads, then a "
           "LayerNorm over the heads) into its two-pass form">,
    Option<"reattentionQTile", "reattention-q-tile", "int64_t",
           /*default=*/"32", "Queries per block of the re-attention nest">,
    Option<"reattentionKvTile", "reattention-kv-tile", "int64_t",
           /*default=*/"32", "Keys per block of the re-attention nest">,
    Option<"talkingHeads", "talking-heads", "bool", /*default=*/"true",
           "Rewrite talking heads (scores and probabilities mixed across "
           "heads) into a row-block nest">,
    Option<"talkingHeadsQTile", "talking-heads-q-tile", "int64_t",
           /*default=*/"32", "Queries per block of the talking-heads nest">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def FoldAttentionBroadcastsPass : Pass<"attn-fold-attention-broadcasts"> {
  let summary = "Read broadcast keys, values and masks of attn.attention in "
                "place";
  let description = [{
    GQA/MQA written by hand repeats the key/value heads: HF's `repeat_kv`
    (`x[:, :, None].expand(...).reshape(b, h * g, s, d)`),
    `repeat_interleave(k, g, dim=1)`, einops' `repeat(k, "b h n d -> b (h g)
    n d")`, `k.repeat(1, g, 1, 1)` (head order `(g h)`) and `k.expand(b, h,
    s, d)` of one head reach attn.attention as a `linalg.broadcast`, often
    behind an `attn.rearrange` that merges the broadcast factor into the head
    dimension. This pass reads such operands (keys, values, masks) in place:

    1. An operand defined by `linalg.broadcast` is replaced by the
       broadcast's source, read through the operand's map without the added
       dimensions (a key or value may leave out batch dimensions, a mask any
       dimension).
    2. An operand defined by an `attn.rearrange` of a broadcast (any view:
       the maps absorb a transposition such as eager Llama's
       `k.transpose(2, 3)` after `repeat_kv`) is replaced by the view's
       input. A dimension that merges axes of a broadcast
       (`b h g s d -> b (h g) s d`, or `(g h)`) splits the domain dimension
       it reads into the merged factors: every other operand reading that
       dimension (the queries, a mask, the output and log-sum-exp) is viewed
       split by an `attn.rearrange` (no copy), the results are merged back,
       and a `score_mod` region gets the merged index recomputed from the
       factors. Then (1) drops the broadcast factor. A rearrange of any
       other operand folds only if it just adds or drops size-1 dimensions
       read at constant 0 (the layout an ordinary operand is read in is
       left to the other passes).

    Every fold reads the same elements as before, so results never change;
    an operand whose map needs a dimension the broadcast adds (the keys' K1
    or K2) is left as it is. Tiles (ops with `offsets`) are left alone.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def FoldSliceUpdatesPass : Pass<"attn-fold-slice-updates"> {
  let summary = "Rewrite in-place updates of a slice as full-size "
                "elementwise ops on zero-padded operands";
  let description = [{
    Python code that adds a term to part of a tensor in place, as MViTv2's
    relative position terms do to the scores of all but the class token
    (`attn[:, :, 1:, 1:] = attn[:, :, 1:, 1:] + rel_h + rel_w`), reaches the
    IR as a `tensor.insert_slice` of `x[slice] + d` back into `x`. Softmax
    then reads a tensor that no elementwise chain produces, so attention
    recognition stops there. This pass rewrites

        insert_slice(x[slice] + d1 - d2 ..., into x[slice])

    into `x + pad(d1) - pad(d2) ...`: each `arith.addf` (either operand on
    the path to the slice) and `arith.subf` (the slice on the left) becomes
    the same op on the whole of `x`, its other operand zero-padded with
    `tensor.pad`. The result is exact: outside the slice every element is
    `x + 0`, which is `x` (only the sign of a zero may change). The slice
    read must be the one written (same source, offsets and sizes, unit
    strides); nested updates (`[1:, 1:]` as two slices) fold from the inside
    out. `attn-fuse-attention` then sees the padded terms as additive masks.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def TileAttentionPass : Pass<"attn-tile-attention"> {
  let summary = "Tile attn.attention into the flash nest of "
                "attn.online_attention steps";
  let description = [{
    Every statically shaped `attn.attention` (not already a tile) becomes
    FlashAttention-2's forward loop order on tensors: an `scf.forall`
    (mapped `#attn.flash_nest`) over the batch dimensions and blocks of
    `q-tile` queries, whose iterations are tiles of the op (through its
    slicing: unit batch dimensions dropped, positions in `offsets`); each
    tile keeps a running maximum, sum and unnormalised output in the compute
    type and updates them with one `attn.online_attention` per block of
    `kv-tile` keys (an `scf.for`), then normalises into its slice of the
    output (0 for rows whose keys are all masked) and of the log-sum-exp.
    Memory stays O(Sq + Sk).

    Full query blocks and the last partial one are separate nests, full key
    blocks and the last partial one separate steps, so every tile has a
    static shape; a key range of one block is a single step with nothing to
    rescale. With `causal`, key blocks past a query block's last query are
    never visited. For the dot score, f32 queries (and f16/bf16 ones whose
    keys `attn-widen-attention-operands` widened) are widened and scaled
    once per query block instead of scaling every block of scores.
  }];
  let options = [
    Option<"qTile", "q-tile", "int64_t", /*default=*/"64",
           "Queries per block">,
    Option<"kvTile", "kv-tile", "int64_t", /*default=*/"64",
           "Keys per block">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def DecomposeAttentionPass : Pass<"attn-decompose-attention"> {
  let summary = "Decompose attention ops into linalg on tensors";
  let description = [{
    Every `attn.online_attention` becomes one flash step in linalg: the
    block of scores (a matmul for the dot score in any layout, a reduction
    over the feature axis for `additive` and `gaussian`), one elementwise
    op for the scale, the `score_mod` region and every mask, the row
    maximum, `exp(s - m)`, and the rescaled row sums and P V (no rescaling
    when the running values are still the initial fills). Every
    `attn.attention` left (dynamic shapes, or no tiling wanted) becomes the
    unfused computation, which materialises the Sq x Sk scores. Both come
    from the ops' `AggregatedOpInterface`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def TransposeAttentionKeysPass : Pass<"attn-transpose-attention-keys"> {
  let summary = "Read dot-score keys of attn.attention as Kᵀ";
  let description = [{
    The keys of a dot-score attention stored (..., K2, K1) are transposed
    once (`linalg.transpose`, O(Sk d)) and read through the key map
    (..., K1, K2): every block product of the flash nest then reads rows of
    Kᵀ in place, with the key axis innermost, instead of a transposed copy
    per block (the CPU pipeline runs it; GPU tiles are staged in shared
    memory instead).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def WidenAttentionOperandsPass : Pass<"attn-widen-attention-operands"> {
  let summary = "Widen f16/bf16 keys and values of dot-score attention to "
                "f32 once";
  let description = [{
    So that every block product of the flash nest is an f32 matmul, which
    the CPU micro-kernel vectorises (bf16 h8 n1024 d64: 2.6 -> 135 GFLOP/s,
    f32 145); attn-tile-attention then widens each query block once. The
    widening is exact and the products were computed in f32 anyway.

    With `keep-bf16`, bf16 keys and values stay bf16: the block products are
    then bf16 x bf16 -> f32 contractions, which the micro-kernel runs on AMX
    tiles (`attn_uk_matmul_bf16`), and the decomposed steps round P to bf16
    for P V (see `attn.online_attention`). The CPU pipeline sets it with
    `amx-bf16`; f16 operands are widened either way.
  }];
  let options = [
    Option<"keepBf16", "keep-bf16", "bool", /*default=*/"false",
           "Leave bf16 keys and values bf16 (block products on AMX)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def MakeAttentionMasksAdditivePass
    : Pass<"attn-make-attention-masks-additive"> {
  let summary = "Turn boolean attention masks into 0 / -inf once";
  let description = [{
    A boolean mask becomes a 0 / -inf one in the compute type once, before
    the loop nest, so that each block's masking is a vectorisable compare
    and select on floats rather than a select on i1 (a padded h8 n512
    attention: 21 -> 17 ms). The op is marked `keep_or_drop`: -inf replaces
    the score instead of being added to it, since NaN + -inf is NaN and a
    masked key must be ignored whatever it holds.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD
