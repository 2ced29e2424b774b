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
    %s2 = arith.select %mask, %s, <splat -inf>   (optional boolean mask)
       or arith.addf %s, %m                      (optional additive mask)
    %p = attn.softmax %s2 axis(<key axis>)
    %o = attn.einsum "<p>, <v> -> <o>" (%p, %v)
    ```

    into one `attn.attention %q', %k', %v' [mask(%mask')] scale(c)`, where
    the score einsum is a batched `Q Kᵀ` (batch labels shared by q, k and the
    scores, one query label, one key label, one contracted label) and the
    second einsum contracts exactly the softmax axis against v. Operand and
    result layouts may be any permutation: `attn.rearrange` ops (pure
    permutations, which canonicalisation folds into neighbouring
    rearranges) bring q, k, v and the mask to attn.attention's
    `[B..., S, D]` form and the result back to the einsum's layout.

    The Bahdanau form (`einsum(tanh(bcast q + bcast k), w_v)` over the
    feature axis) and the Nadaraya-Watson form (`((bcast q - bcast k) * w)^2`
    times a negative splat) of the scores fuse likewise, into
    `score(additive)` and `score(gaussian)` with the weight operand; a
    finite fill below -1e4 in the mask's select (d2l's -1e6) becomes an
    additive mask.

    The chain fuses only when the scores, the masked scores and the
    probabilities have no other users. With `remarks`, every fusion and
    every near miss (softmax over a non-key axis, scores or probabilities
    used elsewhere, a mask form that is not recognised) is reported as an
    optimisation remark.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for every fused attention and every near miss">
  ];
}

#endif // ATTN_DIALECT_ATTN_TRANSFORMS_PASSES_TD
