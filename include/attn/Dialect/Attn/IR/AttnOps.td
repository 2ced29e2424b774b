//===- AttnOps.td - attn dialect operations ----------------*- tablegen -*-===//
//
// Operations of the attn dialect. Each op's description is its
// specification; every numbered constraint is checked by the verifier and has
// a negative test in test/Dialect/Attn/invalid.mlir.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_IR_ATTNOPS_TD
#define ATTN_DIALECT_ATTN_IR_ATTNOPS_TD

include "attn/Dialect/Attn/IR/AttnDialect.td"
include "mlir/Dialect/Linalg/IR/LinalgInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/TilingInterface.td"

//===----------------------------------------------------------------------===//
// RearrangeOp
//===----------------------------------------------------------------------===//

def Attn_RearrangeOp : Attn_Op<"rearrange", [Pure]> {
  let summary = "einops rearrange: split, merge and permute axes";
  let description = [{
    Reorders the elements of `input` as einops' `rearrange(input, pattern,
    **sizes)` does. The pattern is `lhs -> rhs`; each side lists dimensions,
    each a named axis (`h`), a parenthesised group of axes (`(h d)`, the
    product of its axes in row-major order), a unit dimension (`1` or `()`),
    or an ellipsis `...` standing for any number of unnamed axes. Axis sizes
    that cannot be inferred from the input shape are given in `sizes`.

    The result is the input decomposed into its elementary axes, transposed to
    the order those axes appear on the right, and regrouped by the right-hand
    parentheses.

    Constraints:
    1. The pattern parses: an identifier appears at most once per side, every
       identifier appears on both sides, at most one ellipsis per side, no
       ellipsis inside parentheses on the left, no anonymous axis other than 1.
    2. The input is statically shaped and has as many dimensions as the left
       side names (an ellipsis matches any number).
    3. Each left-hand group has at most one axis of unknown size, and the
       input dimension is divisible by the product of the known sizes; a size
       in `sizes` must agree with the input.
    4. Every key of `sizes` is an axis of the pattern, with a non-negative
       integer value (0 where the input has no elements, as einops allows).
    5. The result type is the solved shape with the input's element type.

    Example:
    ```mlir
    %q = attn.rearrange %x "b n (h d) -> b h n d" {h = 8}
        : tensor<7x257x512xf32> -> tensor<7x8x257x64xf32>
    ```
  }];

  let arguments = (ins AnyRankedTensor:$input, StrAttr:$pattern,
                       OptionalAttr<DictionaryAttr>:$sizes);
  let results = (outs AnyRankedTensor:$result);

  let assemblyFormat = [{
    $input custom<PatternAndSizes>($pattern, $sizes) attr-dict-with-keyword
    `:` type($input) `->` type($result)
  }];

  let builders = [
    // Builds the op with its result type solved from the pattern; the caller
    // must have checked that the pattern solves (see solveRearrange).
    OpBuilder<(ins "::mlir::Value":$input, "::llvm::StringRef":$pattern,
                   "::mlir::DictionaryAttr":$sizes)>
  ];

  let extraClassDeclaration = [{
    /// Solves the pattern for the input type; emits nothing.
    std::optional<::attn::RearrangePlan> getPlan();
    /// The `sizes` attribute as a map (empty when absent).
    std::map<std::string, int64_t> getSizesMap();
  }];

  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// EinsumOp
//===----------------------------------------------------------------------===//

def Attn_EinsumOp : Attn_Op<"einsum", [Pure]> {
  let summary = "Einstein summation over one or more operands";
  let description = [{
    Computes `scale * torch.einsum(equation, *inputs)` for one or more
    inputs: with one, a trace (`ii->`), diagonal (`ii->i`), sum (`ij->`),
    transpose (`ij->ji`) or identity; an empty term is a 0-d input. The
    equation is
    written either in torch's compact spelling (`bhid,bhjd->bhij`, one letter
    per axis) or einops' spaced spelling (`b h i d, b h j d -> b h i j`, one
    word per axis). Without `->` the output is implicit: the ellipsis, then
    every label used once, sorted. Labels that appear in an input but not in
    the output are summed over. An ellipsis broadcasts as in numpy. `scale`
    (default 1) multiplies the result; canonicalisation folds a scalar
    multiplication of the result into it.

    Constraints:
    1. The equation parses (valid labels, at most one ellipsis per term,
       output labels appear in some input and at most once).
    2. There is at least one input, one per equation term.
    3. Every input's rank matches its term; a label has one size everywhere
       except where it is 1, which broadcasts (ellipsis dimensions too, as
       in torch); a label repeated in one input has one size there.
    4. All inputs and the result have the same floating-point element type.
    5. The result type has the solved output shape.
    6. `scale` is finite and representable in the element type (as an
       `arith.constant` of that type must be: `scale(3.5e38)` on f32 would
       round to +inf).

    Example:
    ```mlir
    %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) scale(0.125)
        : (tensor<7x8x257x64xf32>, tensor<7x8x257x64xf32>)
        -> tensor<7x8x257x257xf32>
    ```
  }];

  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, StrAttr:$equation,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs AnyRankedTensor:$result);

  let assemblyFormat = [{
    $equation ` ` `(` $inputs `)` (`scale` `(` $scale^ `)`)? attr-dict
    `:` functional-type($inputs, $result)
  }];

  let extraClassDeclaration = [{
    /// Parses and solves the equation for the operand types; emits nothing.
    std::optional<::attn::EinsumPlan> getPlan();
    /// The equation as read for the operand types (the spelling of an
    /// ambiguous equation such as `index ->` depends on them), or as
    /// written when they are not static; emits nothing.
    std::optional<::attn::EinsumEquation> getParsedEquation();
    /// getPlan() when no operand broadcasts a size-1 dimension against a
    /// larger one (every label has one size in every operand), else nullopt.
    std::optional<::attn::EinsumPlan> getPlanWithoutBroadcast();
    /// The scale as a double (1 when absent).
    double getScaleValue() {
      return getScale() ? getScale()->convertToDouble() : 1.0;
    }
  }];

  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// SoftmaxOp
//===----------------------------------------------------------------------===//

def Attn_SoftmaxOp : Attn_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "numerically stable softmax along one axis";
  let description = [{
    Computes `exp(x - m) / sum(exp(x - m))` along `axis`, where `m` is the
    maximum of `x` along that axis: subtracting it changes nothing
    mathematically but keeps `exp` from overflowing. A negative axis counts
    from the end, as in PyTorch. A slice whose every element is `-inf` (all
    keys masked) produces 0 there rather than NaN.

    Constraints:
    1. The input has a floating-point element type and rank >= 1.
    2. `-rank <= axis < rank`.

    Example:
    ```mlir
    %p = attn.softmax %s axis(-1) : tensor<7x8x257x257xf32>
    ```
  }];

  let arguments = (ins AnyRankedTensor:$input, I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);

  let assemblyFormat = [{
    $input `axis` `(` $axis `)` attr-dict `:` type($result)
  }];

  let extraClassDeclaration = [{
    /// The axis as a non-negative dimension index.
    int64_t getNormalizedAxis() {
      int64_t axis = getAxis();
      return axis < 0 ? axis + getInput().getType().getRank() : axis;
    }
  }];

  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// AttentionOp and OnlineAttentionOp
//===----------------------------------------------------------------------===//

// What attn.attention and attn.online_attention share: the inputs, the
// structured masks, the score function and its region, the positions of a
// tile, and the iteration domain read through indexing maps. They differ in
// their destinations (the normalised output and an optional log-sum-exp,
// or the running accumulator, maximum and sum).
class Attn_AttentionBase<string mnemonic, list<Trait> traits = []>
    : Attn_Op<mnemonic, traits # [Pure, AttrSizedOperandSegments,
        DestinationStyleOpInterface,
        DeclareOpInterfaceMethods<TilingInterface,
          ["getLoopIteratorTypes", "getIterationDomain",
           "getTiledImplementation", "getResultTilePosition",
           "generateResultTileValue"]>,
        DeclareOpInterfaceMethods<AggregatedOpInterface,
          ["decomposeOperation"]>,
]> {
  code commonExtraClassDeclaration = [{
    /// The number of batch dimensions B... of the iteration domain
    /// (B..., M, K1, K2, N).
    int64_t getNumBatchDims();
    /// Positions of M, K1, K2 and N in the iteration domain.
    int64_t getQueryDim() { return getNumBatchDims(); }
    int64_t getHeadDim() { return getNumBatchDims() + 1; }
    int64_t getKeyDim() { return getNumBatchDims() + 2; }
    int64_t getValueDim() { return getNumBatchDims() + 3; }
    /// One map per tensor operand, in operand order: the `indexing_maps`
    /// attribute, or the default maps when it is absent.
    ::llvm::SmallVector<::mlir::AffineMap> getIndexingMapsArray();
    /// The map of one tensor operand of this op.
    ::mlir::AffineMap getMatchingIndexingMap(::mlir::OpOperand *operand);
    /// The static extent of every domain dimension (dynamic where the
    /// operand that defines it is dynamic).
    ::llvm::SmallVector<int64_t> getStaticLoopRanges();
    /// The type scores, maxima and sums are computed in: f32 for f16/bf16
    /// outputs, the output's type otherwise.
    ::mlir::Type getComputeType();
    /// Whether the score region is present.
    bool hasScoreMod() { return !getScoreMod().empty(); }
    /// The global position of domain dimension `dim` (a batch dimension,
    /// M or K2) of this op's first element: its offset, or 0.
    ::mlir::OpFoldResult getPosition(::mlir::OpBuilder &b, int64_t dim);
    /// The (left, right) of the sliding window, if any.
    std::optional<std::pair<int64_t, int64_t>> getWindowBounds();
  }];
  let hasVerifier = 1;
}

def Attn_AttentionOp : Attn_AttentionBase<"attention"> {
  let summary = "structured attention: softmax(score_mod(score(q, k)) + "
                "masks) @ v";
  let description = [{
    Computes attention over the iteration domain `(B..., M, K1, K2, N)`:
    batch dimensions `B...` (zero or more), queries `M`, the feature axis
    `K1` that scores reduce, keys `K2` that the softmax reduces, and value
    features `N`. Every tensor operand is read through its indexing map from
    that domain, so any layout is legal without permutes, and a dimension
    an operand's map does not use is broadcast: keys and values with fewer
    heads than the queries (GQA/MQA) are read in place.

    ```
    s[B, i, j]   = scale * sum_d q[B, i, d] * k[B, j, d]       (score: dot)
    s[B, i, j]   = score_mod(s[B, i, j], B..., i, j)            (if present)
    s[B, i, j]   = -inf  where mask[B, i, j] is false           (i1 mask)
    s[B, i, j]  += mask[B, i, j]                   (float mask, additive)
    s[B, i, j]   = -inf  where mask[B, i, j] = -inf    (float, keep_or_drop)
    s[B, i, j]   = -inf  where causal and j > i
    s[B, i, j]   = -inf  where window(l, r) and not i - l <= j <= i + r
    s[B, i, j]   = -inf  where j >= key_lengths[B]
    s[B, i, j]   = -inf  where not block_mask[B, i / bq, j / bk]
    p[B, i, :]   = softmax(s[B, i, :])        (0 if every key is masked)
    out[B, i, n] = sum_j p[B, i, j] * v[B, j, n]   (over all keys)
    lse[B, i]    = log(sum_j exp(s[B, i, j]))  (-inf if every key is masked)
    ```

    The other score kinds replace the first line: `additive` is
    `scale * sum_d w[d] * tanh(q + k)` (Bahdanau), `gaussian` is
    `-scale / 2 * sum_d ((q - k) * w[d])^2` (Nadaraya–Watson, `w` = 1
    without `weight`). The `score_mod` region is any elementwise function of
    the scaled score and of the global batch, query and key indices (its
    block arguments, in that order); it may read tensors defined above it
    (`tensor.extract`), which is how relative position biases and ALiBi
    slopes enter. `i` and `j` are global positions: `offsets`, when given,
    are the positions of the op's first batch element, query and key (a
    tile of a larger attention); they are 0 otherwise. Masks are applied
    after `score_mod`, so a row whose keys are all masked gives 0 (not NaN)
    whatever the region computes. `keep_or_drop` marks a float mask that
    holds a boolean one as 0 (keep) / -inf (drop), as
    `attn-make-attention-masks-additive` makes it: -inf replaces the score
    instead of being added to it. Scores, maxima and sums are computed in
    f32 for f16/bf16 outputs; the output is rounded once.

    Default indexing maps (when `indexing_maps` is absent): `q (B, M, K1)`,
    `k (B, K2, K1)`, `v (B, K2, N)`, `mask (B, M, K2)` with a constant 0 for
    each mask dimension of size 1 that broadcasts, `weight (K1)`,
    `key_lengths (B)`, `block_mask` like the mask, `output (B, M, N)`,
    `lse (B, M)`.

    Non-finite values: a key masked by a boolean mask (or a `keep_or_drop`
    one) or by a structured mask (`causal`, `window`, `key_lengths`,
    `block_mask`) gets probability 0 whatever its score (a NaN or infinite
    key is ignored, as with PyTorch's `masked_fill`); an additive mask is
    added (NaN + -inf is NaN, as in PyTorch). The sum over keys is IEEE
    arithmetic over all of them, as the unfused `softmax(s) @ v` computes
    it: a NaN or infinite value of a masked key makes the row NaN
    (0 * NaN), also in a row whose keys are all masked, which is 0
    otherwise. One exception: the flash tiling skips blocks of keys that
    the structured masks mask for every query of a block, so values there
    are never read.

    Constraints:
    1. The iteration domain has rank `nb + 4 >= 4`. `indexing_maps`, when
       present, has one map per tensor operand (in operand order), each with
       `nb + 4` dimensions and no symbols.
    2. Every map is a projected permutation; `key`, `value`, `mask`,
       `key_lengths` and `block_mask` maps may also have constant-0 results,
       for operand dimensions of size 1. The query map uses exactly all of
       `B...`, `M` and `K1`; the key map `K2`, `K1` and some of `B...`; the
       value map `K2`, `N` and some of `B...`; the mask and block mask maps
       some of `B...`, `M` and `K2`; the weight map exactly `K1`; the key
       lengths map some of `B...`; the output map exactly all of `B...`, `M`
       and `N`; the lse map exactly all of `B...` and `M`.
    3. Every operand's rank is its map's number of results, and each of its
       dimensions has the extent of the domain dimension it reads (`B...`,
       `M`, `K1` from the query, `K2` from the key, `N` from the value).
    4. `query`, `key`, `value`, `weight`, `output` and `lse` have float
       element types; `mask` is i1 or float, and float when `keep_or_drop`
       is set; `key_lengths` is an integer or index; `block_mask` is i1.
    5. `weight` is required for the `additive` score, optional for
       `gaussian` and not allowed for `dot`.
    6. `scale` is finite and representable in the query's element type
       (as an `arith.constant` of it must be: `scale(3.5e38)` on f32 would
       round to +inf); `window` has two non-negative entries;
       `block_sizes` has two positive entries and is given exactly when
       `block_mask` is.
    7. `offsets` is empty or has `nb + 2` entries.
    8. The `score_mod` region is empty or has one block with arguments
       `(compute type, index x (nb + 2))` and yields one value of the
       compute type.
    9. There is one result per destination (`output`, `lse`), of its type.

    Example:
    ```mlir
    %o = attn.attention ins(%q, %k, %v : tensor<1x8x4096x64xf32>,
             tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>)
         outs(%init : tensor<1x8x4096x64xf32>) scale(0.125) causal
         -> tensor<1x8x4096x64xf32>
    ```
  }];

  let arguments = (ins AnyRankedTensor:$query, AnyRankedTensor:$key,
                       AnyRankedTensor:$value,
                       Optional<AnyRankedTensor>:$mask,
                       Optional<AnyRankedTensor>:$weight,
                       Optional<AnyRankedTensor>:$key_lengths,
                       Optional<AnyRankedTensor>:$block_mask,
                       Variadic<Index>:$offsets,
                       AnyRankedTensor:$output,
                       Optional<AnyRankedTensor>:$lse,
                       F64Attr:$scale, UnitAttr:$causal,
                       UnitAttr:$keep_or_drop,
                       OptionalAttr<DenseI64ArrayAttr>:$window,
                       OptionalAttr<DenseI64ArrayAttr>:$block_sizes,
                       DefaultValuedAttr<Attn_ScoreKindAttr,
                                         "::mlir::attn::ScoreKind::Dot">:$score,
                       OptionalAttr<AffineMapArrayAttr>:$indexing_maps);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region AnyRegion:$score_mod);

  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `:` type($query) `,` type($key) `,`
        type($value) `)`
    (`mask` `(` $mask^ `:` type($mask) `)`)? (`keep_or_drop` $keep_or_drop^)?
    (`weight` `(` $weight^ `:` type($weight) `)`)?
    (`key_lengths` `(` $key_lengths^ `:` type($key_lengths) `)`)?
    (`block_mask` `(` $block_mask^ `:` type($block_mask) `)`)?
    `outs` `(` $output `:` type($output) `)`
    (`lse` `(` $lse^ `:` type($lse) `)`)?
    `scale` `(` $scale `)` (`score` `(` $score^ `)`)? (`causal` $causal^)?
    (`window` `(` $window^ `)`)? (`block_sizes` `(` $block_sizes^ `)`)?
    (`offsets` `(` $offsets^ `)`)?
    (`score_mod` $score_mod^)? attr-dict `->` type($results)
  }];

  let extraClassDeclaration = commonExtraClassDeclaration # [{
    ::mlir::MutableOperandRange getDpsInitsMutable();
    /// The normalised output (result 0).
    ::mlir::Value getResult() { return getResults().front(); }
  }];
  let hasCanonicalizer = 1;
}

def Attn_OnlineAttentionOp : Attn_AttentionBase<"online_attention"> {
  let summary = "one step of flash attention: running max, sum and "
                "unnormalised output updated with a block of keys";
  let description = [{
    The partial form of `attn.attention` that flash tiling reduces over key
    blocks, as FlashAttention-2 writes it. With the scores `s` of its keys
    computed and masked exactly as `attn.attention` does (same operands,
    attributes, `score_mod` region and positions), it updates the running
    maximum `m`, sum `l` and unnormalised output `acc` of every row:

    ```
    m_new[B, i]   = max(m[B, i], max_j s[B, i, j])
    alpha         = exp(m[B, i] - m_new[B, i])       (0 while m is -inf)
    l_new[B, i]   = alpha * l[B, i] + sum_j exp(s[B, i, j] - m_new[B, i])
    acc_new[B, i, n] = alpha * acc[B, i, n]
                     + sum_j exp(s[B, i, j] - m_new[B, i]) * v[B, j, n]
    ```

    Starting from `m = -inf`, `l = 0`, `acc = 0`, any partition of the keys
    into steps gives `acc / l = out` and `m + log(l) = lse` of
    `attn.attention` (rows with `l = 0` give 0): the update is associative,
    so its key dimension tiles as a reduction. Its destinations are
    `acc (B, M, N)`, `max (B, M)` and `sum (B, M)`, all of the compute
    type, with those default maps.

    Constraints: those of `attn.attention`, with `acc`, `max` and `sum` in
    place of `output` and `lse` (maps: `acc` like the output, `max` and
    `sum` like the lse), and:
    10. `acc`, `max` and `sum` have the compute type as element type.

    Example:
    ```mlir
    %r:3 = attn.online_attention ins(%q, %k, %v : tensor<64x64xf32>,
               tensor<64x64xf32>, tensor<64x64xf32>)
           outs(%acc, %m, %l : tensor<64x64xf32>, tensor<64xf32>,
               tensor<64xf32>) scale(0.125) causal offsets(%i0, %j0)
           -> tensor<64x64xf32>, tensor<64xf32>, tensor<64xf32>
    ```
  }];

  let arguments = (ins AnyRankedTensor:$query, AnyRankedTensor:$key,
                       AnyRankedTensor:$value,
                       Optional<AnyRankedTensor>:$mask,
                       Optional<AnyRankedTensor>:$weight,
                       Optional<AnyRankedTensor>:$key_lengths,
                       Optional<AnyRankedTensor>:$block_mask,
                       Variadic<Index>:$offsets,
                       AnyRankedTensor:$acc, AnyRankedTensor:$max,
                       AnyRankedTensor:$sum,
                       F64Attr:$scale, UnitAttr:$causal,
                       UnitAttr:$keep_or_drop,
                       OptionalAttr<DenseI64ArrayAttr>:$window,
                       OptionalAttr<DenseI64ArrayAttr>:$block_sizes,
                       DefaultValuedAttr<Attn_ScoreKindAttr,
                                         "::mlir::attn::ScoreKind::Dot">:$score,
                       OptionalAttr<AffineMapArrayAttr>:$indexing_maps);
  let results = (outs AnyRankedTensor:$acc_result,
                      AnyRankedTensor:$max_result,
                      AnyRankedTensor:$sum_result);
  let regions = (region AnyRegion:$score_mod);

  let assemblyFormat = [{
    `ins` `(` $query `,` $key `,` $value `:` type($query) `,` type($key) `,`
        type($value) `)`
    (`mask` `(` $mask^ `:` type($mask) `)`)? (`keep_or_drop` $keep_or_drop^)?
    (`weight` `(` $weight^ `:` type($weight) `)`)?
    (`key_lengths` `(` $key_lengths^ `:` type($key_lengths) `)`)?
    (`block_mask` `(` $block_mask^ `:` type($block_mask) `)`)?
    `outs` `(` $acc `,` $max `,` $sum `:` type($acc) `,` type($max) `,`
        type($sum) `)`
    `scale` `(` $scale `)` (`score` `(` $score^ `)`)? (`causal` $causal^)?
    (`window` `(` $window^ `)`)? (`block_sizes` `(` $block_sizes^ `)`)?
    (`offsets` `(` $offsets^ `)`)?
    (`score_mod` $score_mod^)? attr-dict
    `->` type($acc_result) `,` type($max_result) `,` type($sum_result)
  }];

  let extraClassDeclaration = commonExtraClassDeclaration # [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(),
          getODSOperandIndexAndLength(8).first, 3);
    }
    /// The output type rounding would give (the compute type).
    ::mlir::Type getOutputElementType() {
      return getAcc().getType().getElementType();
    }
  }];
}

def Attn_YieldOp : Attn_Op<"yield", [Pure, ReturnLike, Terminator,
    ParentOneOf<["AttentionOp", "OnlineAttentionOp"]>]> {
  let summary = "yields the modified score of a score_mod region";
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "$values attr-dict `:` type($values)";
}

#endif // ATTN_DIALECT_ATTN_IR_ATTNOPS_TD
