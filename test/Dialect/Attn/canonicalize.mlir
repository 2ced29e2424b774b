// RUN: attn-opt %s -split-input-file -canonicalize | FileCheck %s
// Folds and canonicalisation patterns of the attn ops.

// CHECK-LABEL: func @identity_rearrange
// CHECK-SAME: (%[[X:.*]]: tensor<2x6xf32>)
// CHECK-NOT: attn.rearrange
// CHECK: return %[[X]], %[[X]]
func.func @identity_rearrange(%x: tensor<2x6xf32>) -> (tensor<2x6xf32>, tensor<2x6xf32>) {
  %0 = attn.rearrange %x "a b -> a b" : tensor<2x6xf32> -> tensor<2x6xf32>
  %1 = attn.rearrange %x "a (b c) -> a (b c)" {b = 2} : tensor<2x6xf32> -> tensor<2x6xf32>
  return %0, %1 : tensor<2x6xf32>, tensor<2x6xf32>
}

// -----

// Splitting heads and merging them back is the identity.
// CHECK-LABEL: func @split_merge_heads
// CHECK-SAME: (%[[X:.*]]: tensor<7x257x512xf32>)
// CHECK-NOT: attn.rearrange
// CHECK: return %[[X]]
func.func @split_merge_heads(%x: tensor<7x257x512xf32>) -> tensor<7x257x512xf32> {
  %0 = attn.rearrange %x "b n (h d) -> b h n d" {h = 8} : tensor<7x257x512xf32> -> tensor<7x8x257x64xf32>
  %1 = attn.rearrange %0 "b h n d -> b n (h d)" : tensor<7x8x257x64xf32> -> tensor<7x257x512xf32>
  return %1 : tensor<7x257x512xf32>
}

// -----

// A permutation followed by a merge is one rearrange.
// CHECK-LABEL: func @compose_permute_merge
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[R:.*]] = attn.rearrange %[[X]] "a b c -> (c b) a" : tensor<2x3x4xf32> -> tensor<12x2xf32>
// CHECK-NEXT: return %[[R]]
func.func @compose_permute_merge(%x: tensor<2x3x4xf32>) -> tensor<12x2xf32> {
  %0 = attn.rearrange %x "a b c -> c b a" : tensor<2x3x4xf32> -> tensor<4x3x2xf32>
  %1 = attn.rearrange %0 "x y z -> (x y) z" : tensor<4x3x2xf32> -> tensor<12x2xf32>
  return %1 : tensor<12x2xf32>
}

// -----

// The inner rearrange stays when something else uses it.
// CHECK-LABEL: func @compose_keeps_shared_producer
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-DAG: %[[T:.*]] = attn.rearrange %[[X]] "a b -> b a" : tensor<2x3xf32> -> tensor<3x2xf32>
// CHECK-DAG: %[[F:.*]] = attn.rearrange %[[X]] "a b -> (a b)" : tensor<2x3xf32> -> tensor<6xf32>
// CHECK: return %[[T]], %[[F]]
func.func @compose_keeps_shared_producer(%x: tensor<2x3xf32>) -> (tensor<3x2xf32>, tensor<6xf32>) {
  %0 = attn.rearrange %x "a b -> b a" : tensor<2x3xf32> -> tensor<3x2xf32>
  %1 = attn.rearrange %0 "b a -> (a b)" : tensor<3x2xf32> -> tensor<6xf32>
  return %0, %1 : tensor<3x2xf32>, tensor<6xf32>
}

// -----

// (b a) merged, then split as 2 x 3: the factor boundaries 3|6 and 2|6 do not
// nest, so no single pattern expresses both and nothing changes.
// CHECK-LABEL: func @no_compose_straddling_split
// CHECK: %[[A:.*]] = attn.rearrange %{{.*}} "a b -> (b a)"
// CHECK: attn.rearrange %[[A]] "(x y) -> y x" {x = 2}
func.func @no_compose_straddling_split(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = attn.rearrange %x "a b -> (b a)" : tensor<2x3xf32> -> tensor<6xf32>
  %1 = attn.rearrange %0 "(x y) -> y x" {x = 2} : tensor<6xf32> -> tensor<3x2xf32>
  return %1 : tensor<3x2xf32>
}

// -----

// k.transpose(-1, -2) feeding the score einsum disappears into the equation.
// CHECK-LABEL: func @fold_transpose_into_einsum
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x5x8xf32>, %[[K:.*]]: tensor<1x2x6x8xf32>)
// CHECK-NOT: attn.rearrange
// CHECK: attn.einsum "b h i d, b h j d -> b h i j" (%[[Q]], %[[K]])
func.func @fold_transpose_into_einsum(%q: tensor<1x2x5x8xf32>, %k: tensor<1x2x6x8xf32>) -> tensor<1x2x5x6xf32> {
  %kt = attn.rearrange %k "b h n d -> b h d n" : tensor<1x2x6x8xf32> -> tensor<1x2x8x6xf32>
  %0 = attn.einsum "b h i d, b h d j -> b h i j" (%q, %kt) : (tensor<1x2x5x8xf32>, tensor<1x2x8x6xf32>) -> tensor<1x2x5x6xf32>
  return %0 : tensor<1x2x5x6xf32>
}

// -----

// Compact spelling: the labels are permuted letter by letter.
// CHECK-LABEL: func @fold_transpose_compact
// CHECK-SAME: (%[[A:.*]]: tensor<3x2xf32>, %[[B:.*]]: tensor<3x4xf32>)
// CHECK: attn.einsum "ji,jk->ik" (%[[A]], %[[B]])
func.func @fold_transpose_compact(%a: tensor<3x2xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %at = attn.rearrange %a "x y -> y x" : tensor<3x2xf32> -> tensor<2x3xf32>
  %0 = attn.einsum "ij,jk->ik" (%at, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// Splitting heads with a transpose keeps only the split; the permutation
// moves into the equation, so no transposed copy of q is ever made.
// CHECK-LABEL: func @fold_split_permute_into_einsum
// CHECK-SAME: (%[[X:.*]]: tensor<2x5x16xf32>, %[[K:.*]]: tensor<2x4x5x4xf32>)
// CHECK: %[[S:.*]] = attn.rearrange %[[X]] "b n (h d) -> b n h d" {d = 4, h = 4} : tensor<2x5x16xf32> -> tensor<2x5x4x4xf32>
// CHECK: attn.einsum "b i h d, b h j d -> b h i j" (%[[S]], %[[K]])
func.func @fold_split_permute_into_einsum(%x: tensor<2x5x16xf32>, %k: tensor<2x4x5x4xf32>) -> tensor<2x4x5x5xf32> {
  %q = attn.rearrange %x "b n (h d) -> b h n d" {h = 4} : tensor<2x5x16xf32> -> tensor<2x4x5x4xf32>
  %0 = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) : (tensor<2x4x5x4xf32>, tensor<2x4x5x4xf32>) -> tensor<2x4x5x5xf32>
  return %0 : tensor<2x4x5x5xf32>
}

// -----

// matmul(q, k.transpose(-1, -2)) written with an ellipsis: the ellipsis gets
// explicit labels so the transpose can fold.
// CHECK-LABEL: func @fold_transpose_through_ellipsis
// CHECK-SAME: (%[[Q:.*]]: tensor<2x3x5x8xf32>, %[[K:.*]]: tensor<2x3x6x8xf32>)
// CHECK-NOT: attn.rearrange
// CHECK: attn.einsum "abik,abjk->abij" (%[[Q]], %[[K]])
func.func @fold_transpose_through_ellipsis(%q: tensor<2x3x5x8xf32>, %k: tensor<2x3x6x8xf32>) -> tensor<2x3x5x6xf32> {
  %kt = attn.rearrange %k "b h n d -> b h d n" : tensor<2x3x6x8xf32> -> tensor<2x3x8x6xf32>
  %0 = attn.einsum "...ik,...kj->...ij" (%q, %kt) : (tensor<2x3x5x8xf32>, tensor<2x3x8x6xf32>) -> tensor<2x3x5x6xf32>
  return %0 : tensor<2x3x5x6xf32>
}

// -----

// Unit axes, as the Python frontend writes a batch of one, permute like
// named ones: LeViT's `v @ attn.transpose(-2, -1)` reads the probabilities
// in place, so the attention stays recognisable.
// CHECK-LABEL: func @fold_transpose_with_units
// CHECK-SAME: (%[[P:.*]]: tensor<1x4x7x7xf32>, %[[V:.*]]: tensor<1x4x3x7xf32>)
// CHECK-NOT: attn.rearrange
// CHECK: attn.einsum "b h i k, b h j k -> b h i j" (%[[V]], %[[P]])
func.func @fold_transpose_with_units(%p: tensor<1x4x7x7xf32>, %v: tensor<1x4x3x7xf32>) -> tensor<1x4x3x7xf32> {
  %pt = attn.rearrange %p "1 h n d -> 1 h d n" : tensor<1x4x7x7xf32> -> tensor<1x4x7x7xf32>
  %0 = attn.einsum "b h i k, b h k j -> b h i j" (%v, %pt) : (tensor<1x4x3x7xf32>, tensor<1x4x7x7xf32>) -> tensor<1x4x3x7xf32>
  return %0 : tensor<1x4x3x7xf32>
}

// -----

// Units that move and a split: not a plain permutation of the input's
// dimensions, so the rearrange stays.
// CHECK-LABEL: func @no_fold_units_with_split
// CHECK: %[[R:.*]] = attn.rearrange %{{.*}} "1 n (h d) -> h n d 1"
// CHECK: attn.einsum "h i d u, h j d -> h i j" (%[[R]], %{{.*}})
func.func @no_fold_units_with_split(%x: tensor<1x5x8xf32>, %k: tensor<2x6x4xf32>) -> tensor<2x5x6xf32> {
  %r = attn.rearrange %x "1 n (h d) -> h n d 1" {h = 2} : tensor<1x5x8xf32> -> tensor<2x5x4x1xf32>
  %0 = attn.einsum "h i d u, h j d -> h i j" (%r, %k) : (tensor<2x5x4x1xf32>, tensor<2x6x4xf32>) -> tensor<2x5x6xf32>
  return %0 : tensor<2x5x6xf32>
}

// -----

// A broadcasting ellipsis cannot become explicit labels: nothing folds.
// CHECK-LABEL: func @no_fold_broadcast_ellipsis
// CHECK: %[[T:.*]] = attn.rearrange
// CHECK: attn.einsum "...ik,...kj->...ij" (%{{.*}}, %[[T]])
func.func @no_fold_broadcast_ellipsis(%q: tensor<2x3x5x8xf32>, %k: tensor<1x3x6x8xf32>) -> tensor<2x3x5x6xf32> {
  %kt = attn.rearrange %k "b h n d -> b h d n" : tensor<1x3x6x8xf32> -> tensor<1x3x8x6xf32>
  %0 = attn.einsum "...ik,...kj->...ij" (%q, %kt) : (tensor<2x3x5x8xf32>, tensor<1x3x8x6xf32>) -> tensor<2x3x5x6xf32>
  return %0 : tensor<2x3x5x6xf32>
}

// -----

// A merge is not a permutation: it stays.
// CHECK-LABEL: func @no_fold_merge_into_einsum
// CHECK: %[[M:.*]] = attn.rearrange %{{.*}} "a b c -> a (b c)"
// CHECK: attn.einsum "ij,jk->ik" (%[[M]], %{{.*}})
func.func @no_fold_merge_into_einsum(%a: tensor<2x3x4xf32>, %b: tensor<12x5xf32>) -> tensor<2x5xf32> {
  %m = attn.rearrange %a "a b c -> a (b c)" : tensor<2x3x4xf32> -> tensor<2x12xf32>
  %0 = attn.einsum "ij,jk->ik" (%m, %b) : (tensor<2x12xf32>, tensor<12x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// einsum(...) * d**-0.5 becomes the einsum's scale.
// CHECK-LABEL: func @fold_mul_scale
// CHECK-NOT: arith.mulf
// CHECK: %[[E:.*]] = attn.einsum "b h i d, b h j d -> b h i j" (%{{.*}}, %{{.*}}) scale(1.250000e-01)
// CHECK-NOT: arith.mulf
// CHECK: return %[[E]]
func.func @fold_mul_scale(%q: tensor<1x2x5x64xf32>, %k: tensor<1x2x5x64xf32>) -> tensor<1x2x5x5xf32> {
  %0 = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) : (tensor<1x2x5x64xf32>, tensor<1x2x5x64xf32>) -> tensor<1x2x5x5xf32>
  %c = arith.constant dense<0.125> : tensor<1x2x5x5xf32>
  %1 = arith.mulf %0, %c : tensor<1x2x5x5xf32>
  return %1 : tensor<1x2x5x5xf32>
}

// -----

// The constant on the left, then a division: scales multiply.
// CHECK-LABEL: func @fold_mul_div_scale
// CHECK-NOT: arith.
// CHECK: %[[E:.*]] = attn.einsum "ij,jk->ik" (%{{.*}}, %{{.*}}) scale(5.000000e-01)
// CHECK-NOT: arith.
// CHECK: return %[[E]]
func.func @fold_mul_div_scale(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %0 = attn.einsum "ij,jk->ik" (%a, %b) scale(2.0) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %c3 = arith.constant dense<3.0> : tensor<2x4xf32>
  %1 = arith.mulf %c3, %0 : tensor<2x4xf32>
  %c12 = arith.constant dense<12.0> : tensor<2x4xf32>
  %2 = arith.divf %1, %c12 : tensor<2x4xf32>
  return %2 : tensor<2x4xf32>
}

// -----

// Not folded: the unscaled einsum has another user.
// CHECK-LABEL: func @no_fold_shared_einsum
// CHECK: %[[E:.*]] = attn.einsum "ij,jk->ik" (%{{.*}}, %{{.*}}) :
// CHECK: %[[M:.*]] = arith.mulf %[[E]], %{{.*}}
// CHECK: return %[[E]], %[[M]]
func.func @no_fold_shared_einsum(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %0 = attn.einsum "ij,jk->ik" (%a, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %c = arith.constant dense<3.0> : tensor<2x4xf32>
  %1 = arith.mulf %0, %c : tensor<2x4xf32>
  return %0, %1 : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// Not folded: a non-uniform constant, a division of a constant by the einsum,
// and a zero factor.
// CHECK-LABEL: func @no_fold_non_scalar
// CHECK: arith.mulf
// CHECK: arith.divf
// CHECK: arith.mulf
func.func @no_fold_non_scalar(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>) {
  %0 = attn.einsum "ij,jk->ik" (%a, %b) : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %1 = arith.mulf %0, %c : tensor<2x2xf32>
  %2 = attn.einsum "ij,jk->ik" (%a, %b) : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c2 = arith.constant dense<2.0> : tensor<2x2xf32>
  %3 = arith.divf %c2, %2 : tensor<2x2xf32>
  %4 = attn.einsum "ij,jk->ik" (%a, %b) : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %c0 = arith.constant dense<0.0> : tensor<2x2xf32>
  %5 = arith.mulf %4, %c0 : tensor<2x2xf32>
  return %1, %3, %5 : tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

// q / sqrt(d) before the score (nn.MultiheadAttention's form) and a factor on
// k both move into the scale: the einsum is linear in each operand.
// CHECK-LABEL: func @fold_operand_scale
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x5x4xf32>, %[[K:.*]]: tensor<1x2x6x4xf32>)
// CHECK-NOT: arith.
// CHECK: %[[E:.*]] = attn.einsum "b h i d, b h j d -> b h i j" (%[[Q]], %[[K]]) scale(1.500000e+00)
// CHECK-NEXT: return %[[E]]
func.func @fold_operand_scale(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x6x4xf32>) -> tensor<1x2x5x6xf32> {
  %c2 = arith.constant dense<2.0> : tensor<1x2x5x4xf32>
  %qs = arith.divf %q, %c2 : tensor<1x2x5x4xf32>
  %c3 = arith.constant dense<3.0> : tensor<1x2x6x4xf32>
  %ks = arith.mulf %c3, %k : tensor<1x2x6x4xf32>
  %0 = attn.einsum "b h i d, b h j d -> b h i j" (%qs, %ks) : (tensor<1x2x5x4xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x5x6xf32>
  return %0 : tensor<1x2x5x6xf32>
}

// -----

// Not folded: the scaled q is also returned, so the multiplication stays.
// CHECK-LABEL: func @no_fold_shared_operand_scale
// CHECK: %[[QS:.*]] = arith.mulf
// CHECK: attn.einsum "ij,jk->ik" (%[[QS]], %{{.*}}) :
func.func @no_fold_shared_operand_scale(%q: tensor<2x3xf32>, %k: tensor<3x4xf32>) -> (tensor<2x4xf32>, tensor<2x3xf32>) {
  %c = arith.constant dense<0.5> : tensor<2x3xf32>
  %qs = arith.mulf %q, %c : tensor<2x3xf32>
  %0 = attn.einsum "ij,jk->ik" (%qs, %k) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0, %qs : tensor<2x4xf32>, tensor<2x3xf32>
}

// -----

// Not folded: (q * 1e30) . (k * 1e30) is finite for small q and k, but a
// scale of 1e60 overflows f32; and dividing by a tiny splat is no scale
// either (1 / 1e-40 = 1e40).
// CHECK-LABEL: func @no_fold_overflowing_scale
// CHECK-COUNT-2: arith.mulf
// CHECK: %[[E:.*]] = attn.einsum "ij,jk->ik" (%{{.*}}, %{{.*}}) :
// CHECK: arith.divf %[[E]]
func.func @no_fold_overflowing_scale(%q: tensor<2x3xf32>, %k: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %c = arith.constant dense<1.0e30> : tensor<2x3xf32>
  %d = arith.constant dense<1.0e30> : tensor<3x4xf32>
  %t = arith.constant dense<1.0e-40> : tensor<2x4xf32>
  %qs = arith.mulf %q, %c : tensor<2x3xf32>
  %ks = arith.mulf %k, %d : tensor<3x4xf32>
  %0 = attn.einsum "ij,jk->ik" (%qs, %ks) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %1 = arith.divf %0, %t : tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}

// -----

// A constant causal mask (torch.triu(ones, 1) applied with masked_fill, as
// the fuser hands it over: negated and broadcast over batch and heads)
// becomes the causal flag: no mask tensor at run time.
// CHECK-LABEL: func @causal_from_triu
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x3x8xf32>, %[[K:.*]]: tensor<2x4x3x8xf32>, %[[V:.*]]: tensor<2x4x3x8xf32>)
// CHECK-NEXT: %[[INIT:.*]] = tensor.empty() : tensor<2x4x3x8xf32>
// CHECK-NEXT: %[[O:.*]] = attn.attention ins(%[[Q]], %[[K]], %[[V]] : tensor<2x4x3x8xf32>, tensor<2x4x3x8xf32>, tensor<2x4x3x8xf32>) outs(%[[INIT]] : tensor<2x4x3x8xf32>) scale(1.250000e-01) causal -> tensor<2x4x3x8xf32>
// CHECK-NEXT: return %[[O]]
func.func @causal_from_triu(%q: tensor<2x4x3x8xf32>, %k: tensor<2x4x3x8xf32>, %v: tensor<2x4x3x8xf32>) -> tensor<2x4x3x8xf32> {
  %triu = arith.constant dense<[[false, true, true], [false, false, true], [false, false, false]]> : tensor<3x3xi1>
  %e = tensor.empty() : tensor<2x4x3x3xi1>
  %b = linalg.broadcast ins(%triu : tensor<3x3xi1>) outs(%e : tensor<2x4x3x3xi1>) dimensions = [0, 1]
  %true = arith.constant dense<true> : tensor<2x4x3x3xi1>
  %keep = arith.xori %b, %true : tensor<2x4x3x3xi1>
  %o_init = tensor.empty() : tensor<2x4x3x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x4x3x8xf32>, tensor<2x4x3x8xf32>, tensor<2x4x3x8xf32>) mask(%keep : tensor<2x4x3x3xi1>)
      outs(%o_init : tensor<2x4x3x8xf32>) scale(0.125) -> tensor<2x4x3x8xf32>
  return %o : tensor<2x4x3x8xf32>
}

// -----

// Additive causal masks (0 / -inf, or 0 / -1e9, the fill is never seen in a
// causal row) with fewer queries than keys: aligned top-left, j <= i kept.
// CHECK-LABEL: func @causal_additive
// CHECK-NOT: arith.constant
// CHECK: attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : {{.*}}) outs(%{{.*}} : {{.*}}) scale(1.000000e+00) causal
// CHECK: attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : {{.*}}) outs(%{{.*}} : {{.*}}) scale(1.000000e+00) causal
func.func @causal_additive(%q: tensor<2x4xf32>, %k: tensor<3x4xf32>, %v: tensor<3x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %m = arith.constant dense<[[0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000]]> : tensor<2x3xf32>
  %o_init = tensor.empty() : tensor<2x4xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) mask(%m : tensor<2x3xf32>)
      outs(%o_init : tensor<2x4xf32>) scale(1.0) -> tensor<2x4xf32>
  %m2 = arith.constant dense<[[0.0, -1.0e9, -1.0e9], [0.0, 0.0, -1.0e9]]> : tensor<2x3xf32>
  %o2_init = tensor.empty() : tensor<2x4xf32>
  %o2 = attn.attention ins(%q, %k, %v : tensor<2x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) mask(%m2 : tensor<2x3xf32>)
      outs(%o2_init : tensor<2x4xf32>) scale(1.0) -> tensor<2x4xf32>
  return %o, %o2 : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// A constant mask that keeps every key goes; the op keeps its causal flag.
// CHECK-LABEL: func @keep_all_mask
// CHECK-NOT: arith.constant
// CHECK: attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : {{.*}}) outs(%{{.*}} : {{.*}}) scale(1.000000e+00) causal ->
// CHECK-NOT: mask
// CHECK: return
func.func @keep_all_mask(%q: tensor<2x4xf32>, %k: tensor<3x4xf32>, %v: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %m = arith.constant dense<true> : tensor<1x1xi1>
  %o_init = tensor.empty() : tensor<2x4xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) mask(%m : tensor<1x1xi1>)
      outs(%o_init : tensor<2x4xf32>) scale(1.0) causal -> tensor<2x4xf32>
  return %o : tensor<2x4xf32>
}

// -----

// Near misses stay masks: triu(ones) with the diagonal masked too (row 0
// keeps nothing), a -1e8 fill (a score can exceed it) and a mask whose
// batch slices differ. A positive boolean mask of the other orientation
// (j >= i kept) is the band window(0, 2).
// CHECK-LABEL: func @not_causal
// CHECK-COUNT-3: attn.attention {{.*}} mask(
// CHECK-NOT: causal
// CHECK: attn.attention ins({{.*}}) outs({{.*}}) scale(1.000000e+00) window([0, 2]) ->
// CHECK-NOT: causal
func.func @not_causal(%q: tensor<2x3x4xf32>, %k: tensor<2x3x4xf32>, %v: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  %strict = arith.constant dense<[[[false, false, false], [true, false, false], [true, true, false]], [[false, false, false], [true, false, false], [true, true, false]]]> : tensor<2x3x3xi1>
  %o1_init = tensor.empty() : tensor<2x3x4xf32>
  %o1 = attn.attention ins(%q, %k, %v : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) mask(%strict : tensor<2x3x3xi1>)
      outs(%o1_init : tensor<2x3x4xf32>) scale(1.0) -> tensor<2x3x4xf32>
  %small = arith.constant dense<[[0.0, -1.0e8, -1.0e8], [0.0, 0.0, -1.0e8], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %e = tensor.empty() : tensor<2x3x3xf32>
  %b = linalg.broadcast ins(%small : tensor<3x3xf32>) outs(%e : tensor<2x3x3xf32>) dimensions = [0]
  %o2_init = tensor.empty() : tensor<2x3x4xf32>
  %o2 = attn.attention ins(%q, %k, %v : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) mask(%b : tensor<2x3x3xf32>)
      outs(%o2_init : tensor<2x3x4xf32>) scale(1.0) -> tensor<2x3x4xf32>
  %mixed = arith.constant dense<[[[true, false, false], [true, true, false], [true, true, true]], [[true, true, true], [true, true, true], [true, true, true]]]> : tensor<2x3x3xi1>
  %o3_init = tensor.empty() : tensor<2x3x4xf32>
  %o3 = attn.attention ins(%q, %k, %v : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) mask(%mixed : tensor<2x3x3xi1>)
      outs(%o3_init : tensor<2x3x4xf32>) scale(1.0) -> tensor<2x3x4xf32>
  %upper = arith.constant dense<[[[true, true, true], [false, true, true], [false, false, true]], [[true, true, true], [false, true, true], [false, false, true]]]> : tensor<2x3x3xi1>
  %o4_init = tensor.empty() : tensor<2x3x4xf32>
  %o4 = attn.attention ins(%q, %k, %v : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) mask(%upper : tensor<2x3x3xi1>)
      outs(%o4_init : tensor<2x3x4xf32>) scale(1.0) -> tensor<2x3x4xf32>
  return %o1, %o2, %o3, %o4 : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>
}

// -----

// A constant band (Mistral's sliding window: keys i - 2 .. i, as
// tril(ones) - tril(ones, -3) or its 0 / -inf form) becomes window(2, 0),
// so the flash nest visits only the key blocks of the band; a two-sided
// band (|i - j| <= 1) window(1, 1); a band on a causal op keeps its left
// side. A band with a hole, or a row that keeps nothing, stays a mask.
// CHECK-LABEL: func @window_from_band
// CHECK-NOT: arith.constant {{.*}} tensor<5x5xf32>
// CHECK: attn.attention ins({{.*}}) outs({{.*}}) scale(1.000000e+00) window([2, 0]) ->
// CHECK: attn.attention ins({{.*}}) outs({{.*}}) scale(1.000000e+00) window([1, 1]) ->
// CHECK: attn.attention ins({{.*}}) outs({{.*}}) scale(1.000000e+00) causal window([1, 0]) ->
// CHECK: attn.attention ins({{.*}}) mask({{.*}}) outs({{.*}}) scale(1.000000e+00) ->
// CHECK: attn.attention ins({{.*}}) mask({{.*}}) outs({{.*}}) scale(1.000000e+00) ->
func.func @window_from_band(%q: tensor<5x4xf32>, %k: tensor<5x4xf32>, %v: tensor<5x4xf32>) -> (tensor<5x4xf32>, tensor<5x4xf32>, tensor<5x4xf32>, tensor<5x4xf32>, tensor<5x4xf32>) {
  %w = arith.constant dense<[[true, false, false, false, false], [true, true, false, false, false], [true, true, true, false, false], [false, true, true, true, false], [false, false, true, true, true]]> : tensor<5x5xi1>
  %i1 = tensor.empty() : tensor<5x4xf32>
  %o1 = attn.attention ins(%q, %k, %v : tensor<5x4xf32>, tensor<5x4xf32>, tensor<5x4xf32>) mask(%w : tensor<5x5xi1>)
      outs(%i1 : tensor<5x4xf32>) scale(1.0) -> tensor<5x4xf32>
  %t = arith.constant dense<[[0.0, 0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000, 0xFF800000], [0xFF800000, 0.0, 0.0, 0.0, 0xFF800000], [0xFF800000, 0xFF800000, 0.0, 0.0, 0.0], [0xFF800000, 0xFF800000, 0xFF800000, 0.0, 0.0]]> : tensor<5x5xf32>
  %i2 = tensor.empty() : tensor<5x4xf32>
  %o2 = attn.attention ins(%q, %k, %v : tensor<5x4xf32>, tensor<5x4xf32>, tensor<5x4xf32>) mask(%t : tensor<5x5xf32>)
      outs(%i2 : tensor<5x4xf32>) scale(1.0) -> tensor<5x4xf32>
  %i3 = tensor.empty() : tensor<5x4xf32>
  %o3 = attn.attention ins(%q, %k, %v : tensor<5x4xf32>, tensor<5x4xf32>, tensor<5x4xf32>) mask(%t : tensor<5x5xf32>)
      outs(%i3 : tensor<5x4xf32>) scale(1.0) causal -> tensor<5x4xf32>
  %hole = arith.constant dense<[[true, false, false, false, false], [true, true, false, false, false], [true, false, true, false, false], [false, true, true, true, false], [false, false, true, true, true]]> : tensor<5x5xi1>
  %i4 = tensor.empty() : tensor<5x4xf32>
  %o4 = attn.attention ins(%q, %k, %v : tensor<5x4xf32>, tensor<5x4xf32>, tensor<5x4xf32>) mask(%hole : tensor<5x5xi1>)
      outs(%i4 : tensor<5x4xf32>) scale(1.0) -> tensor<5x4xf32>
  %empty = arith.constant dense<[[false, false, false, false, false], [true, true, false, false, false], [true, true, true, false, false], [false, true, true, true, false], [false, false, true, true, true]]> : tensor<5x5xi1>
  %i5 = tensor.empty() : tensor<5x4xf32>
  %o5 = attn.attention ins(%q, %k, %v : tensor<5x4xf32>, tensor<5x4xf32>, tensor<5x4xf32>) mask(%empty : tensor<5x5xi1>)
      outs(%i5 : tensor<5x4xf32>) scale(1.0) -> tensor<5x4xf32>
  return %o1, %o2, %o3, %o4, %o5 : tensor<5x4xf32>, tensor<5x4xf32>, tensor<5x4xf32>, tensor<5x4xf32>, tensor<5x4xf32>
}

// -----

// A causal constant combined with another mask is split off: added to an
// additive mask, and-ed with a boolean one, or the value a masked_fill
// (select(c, -inf, causal)) fills into. The other mask stays, the op
// becomes causal.
// CHECK-LABEL: func @causal_split_off
// CHECK-SAME: (%[[Q:.*]]: tensor<2x3x4xf32>, %[[K:.*]]: tensor<2x3x4xf32>, %[[V:.*]]: tensor<2x3x4xf32>, %[[PAD:.*]]: tensor<2x3x3xf32>, %[[KEEP:.*]]: tensor<2x3x3xi1>, %[[DROP:.*]]: tensor<2x3x3xi1>)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<2x3x3xf32>
// CHECK-DAG: %[[NINF:.*]] = arith.constant dense<0xFF800000> : tensor<2x3x3xf32>
// CHECK-DAG: attn.attention ins(%[[Q]], %[[K]], %[[V]] : {{.*}}) mask(%[[PAD]] : {{.*}}) outs(%{{.*}} : {{.*}}) scale(1.000000e+00) causal
// CHECK-DAG: attn.attention ins(%[[Q]], %[[K]], %[[V]] : {{.*}}) mask(%[[KEEP]] : {{.*}}) outs(%{{.*}} : {{.*}}) scale(1.000000e+00) causal
// CHECK-DAG: %[[FILLED:.*]] = arith.select %[[DROP]], %[[NINF]], %[[ZERO]] : tensor<2x3x3xi1>, tensor<2x3x3xf32>
// CHECK-DAG: attn.attention ins(%[[Q]], %[[K]], %[[V]] : {{.*}}) mask(%[[FILLED]] : {{.*}}) outs(%{{.*}} : {{.*}}) scale(1.000000e+00) causal
func.func @causal_split_off(%q: tensor<2x3x4xf32>, %k: tensor<2x3x4xf32>, %v: tensor<2x3x4xf32>, %pad: tensor<2x3x3xf32>, %keep: tensor<2x3x3xi1>, %drop: tensor<2x3x3xi1>) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  %add = arith.constant dense<[[0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %e = tensor.empty() : tensor<2x3x3xf32>
  %addb = linalg.broadcast ins(%add : tensor<3x3xf32>) outs(%e : tensor<2x3x3xf32>) dimensions = [0]
  %m1 = arith.addf %pad, %addb : tensor<2x3x3xf32>
  %o1_init = tensor.empty() : tensor<2x3x4xf32>
  %o1 = attn.attention ins(%q, %k, %v : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) mask(%m1 : tensor<2x3x3xf32>)
      outs(%o1_init : tensor<2x3x4xf32>) scale(1.0) -> tensor<2x3x4xf32>
  %tril = arith.constant dense<[[true, false, false], [true, true, false], [true, true, true]]> : tensor<3x3xi1>
  %eb = tensor.empty() : tensor<2x3x3xi1>
  %trilb = linalg.broadcast ins(%tril : tensor<3x3xi1>) outs(%eb : tensor<2x3x3xi1>) dimensions = [0]
  %m2 = arith.andi %trilb, %keep : tensor<2x3x3xi1>
  %o2_init = tensor.empty() : tensor<2x3x4xf32>
  %o2 = attn.attention ins(%q, %k, %v : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) mask(%m2 : tensor<2x3x3xi1>)
      outs(%o2_init : tensor<2x3x4xf32>) scale(1.0) -> tensor<2x3x4xf32>
  %ninf = arith.constant dense<0xFF800000> : tensor<2x3x3xf32>
  %m3 = arith.select %drop, %ninf, %addb : tensor<2x3x3xi1>, tensor<2x3x3xf32>
  %o3_init = tensor.empty() : tensor<2x3x4xf32>
  %o3 = attn.attention ins(%q, %k, %v : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) mask(%m3 : tensor<2x3x3xf32>)
      outs(%o3_init : tensor<2x3x4xf32>) scale(1.0) -> tensor<2x3x4xf32>
  return %o1, %o2, %o3 : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>
}

// -----

// Not split: the other operand of the add is not causal (j >= i kept).
// CHECK-LABEL: func @causal_not_split
// CHECK: attn.attention {{.*}} mask(
// CHECK-NOT: causal
func.func @causal_not_split(%q: tensor<2x3x4xf32>, %k: tensor<2x3x4xf32>, %v: tensor<2x3x4xf32>, %pad: tensor<2x3x3xf32>) -> tensor<2x3x4xf32> {
  %upper = arith.constant dense<[[0.0, 0.0, 0.0], [0xFF800000, 0.0, 0.0], [0xFF800000, 0xFF800000, 0.0]]> : tensor<3x3xf32>
  %e = tensor.empty() : tensor<2x3x3xf32>
  %b = linalg.broadcast ins(%upper : tensor<3x3xf32>) outs(%e : tensor<2x3x3xf32>) dimensions = [0]
  %m = arith.addf %pad, %b : tensor<2x3x3xf32>
  %o_init = tensor.empty() : tensor<2x3x4xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) mask(%m : tensor<2x3x3xf32>)
      outs(%o_init : tensor<2x3x4xf32>) scale(1.0) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}

// -----

// A one-operand einsum that keeps every label in place is the identity.
// CHECK-LABEL: func @fold_identity_einsum
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<5x4x3xf32>)
// CHECK-NEXT: return %[[A]], %[[B]]
func.func @fold_identity_einsum(%a: tensor<2x3xf32>, %b: tensor<5x4x3xf32>) -> (tensor<2x3xf32>, tensor<5x4x3xf32>) {
  %0 = attn.einsum "ij->ij" (%a) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = attn.einsum "... -> ..." (%b) : (tensor<5x4x3xf32>) -> tensor<5x4x3xf32>
  return %0, %1 : tensor<2x3xf32>, tensor<5x4x3xf32>
}

// -----

// Not the identity: a transpose, a scale, a diagonal.
// CHECK-LABEL: func @no_fold_one_operand_einsum
// CHECK-COUNT-3: attn.einsum
func.func @no_fold_one_operand_einsum(%a: tensor<3x3xf32>) -> (tensor<3x3xf32>, tensor<3x3xf32>, tensor<3xf32>) {
  %0 = attn.einsum "ij->ji" (%a) : (tensor<3x3xf32>) -> tensor<3x3xf32>
  %1 = attn.einsum "ij->ij" (%a) scale(2.0) : (tensor<3x3xf32>) -> tensor<3x3xf32>
  %2 = attn.einsum "ii->i" (%a) : (tensor<3x3xf32>) -> tensor<3xf32>
  return %0, %1, %2 : tensor<3x3xf32>, tensor<3x3xf32>, tensor<3xf32>
}
