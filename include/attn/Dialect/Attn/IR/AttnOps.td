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
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

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
// AttentionOp
//===----------------------------------------------------------------------===//

def Attn_AttentionOp : Attn_Op<"attention", [Pure, AttrSizedOperandSegments]> {
  let summary = "fused attention: softmax(score(q, k) + mask) @ v";
  let description = [{
    Computes, for every batch index `B...` (the leading dimensions shared by
    all operands):

    ```
    s[i, j]   = score(q[B, i, :], k[B, j, :])
    s[i, j]   = -inf  where mask[B, i, j] is false (boolean mask)
    s[i, j]  += mask[B, i, j]                      (floating-point mask)
    s[i, j]   = -inf  where causal and j > i
    p[i, :]   = softmax(s[i, :])   (0 for a row whose keys are all masked)
    out[B, i, :] = sum_j p[i, j] * v[B, j, :]
    ```

    The score function is chosen by `score` (default `dot`):
    - `dot`:      `scale * sum_d q[i, d] * k[j, d]`
    - `additive`: `scale * sum_d w[d] * tanh(q[i, d] + k[j, d])` (Bahdanau)
    - `gaussian`: `-scale / 2 * sum_d ((q[i, d] - k[j, d]) * w[d])^2`
      (Nadaraya–Watson; `w` = 1 when `weight` is absent)

    The op never needs the `Sq x Sk` score matrix in memory: it is the unit
    that flash tiling works on. The causal mask is aligned top-left
    (`j <= i` is kept), as PyTorch's `is_causal`.

    Non-finite values: a key masked by a boolean mask or by `causal` gets
    probability 0 whatever its score (a NaN or infinite key is ignored, as
    with PyTorch's `masked_fill`); an additive mask is added (NaN + -inf is
    NaN, as in PyTorch). The sum over keys is IEEE arithmetic over all of
    them, as the unfused `softmax(s) @ v` computes it: a NaN or infinite
    value of a masked key makes the row NaN (0 * NaN), also in a row whose
    keys are all masked, which is 0 otherwise. One exception: the lowering
    skips blocks of keys that `causal` masks for every query of a block,
    so values there are never read.

    Constraints:
    1. `query : [B..., Sq, D]`, `key : [B..., Sk, D]`, `value : [B..., Sk,
       Dv]`, all of the same rank >= 2 with equal batch dimensions `B...`.
    2. `result : [B..., Sq, Dv]`.
    3. query, key, value and result share one floating-point element type.
    4. `mask`, if present, has the rank of `query` and dimensions equal to
       `[B..., Sq, Sk]` or 1 (broadcast); its element type is `i1` (true
       keeps the key) or the query's element type (added to the score).
    5. `weight` is a 1-D tensor of `D` elements of the query's element type;
       it is required for `additive`, optional for `gaussian` and not allowed
       for `dot`.
    6. `scale` is finite and representable in the element type.

    Example:
    ```mlir
    %o = attn.attention %q, %k, %v scale(0.125) causal
        : (tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>,
           tensor<1x8x4096x64xf32>) -> tensor<1x8x4096x64xf32>
    ```
  }];

  let arguments = (ins AnyRankedTensor:$query, AnyRankedTensor:$key,
                       AnyRankedTensor:$value,
                       Optional<AnyRankedTensor>:$mask,
                       Optional<AnyRankedTensor>:$weight,
                       F64Attr:$scale, UnitAttr:$causal,
                       DefaultValuedAttr<Attn_ScoreKindAttr,
                                         "::mlir::attn::ScoreKind::Dot">:$score);
  let results = (outs AnyRankedTensor:$result);

  let assemblyFormat = [{
    $query `,` $key `,` $value (`mask` `(` $mask^ `)`)?
    (`weight` `(` $weight^ `)`)? `scale` `(` $scale `)` (`causal` $causal^)?
    (`score` `(` $score^ `)`)? attr-dict
    `:` functional-type(operands, $result)
  }];

  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

#endif // ATTN_DIALECT_ATTN_IR_ATTNOPS_TD
