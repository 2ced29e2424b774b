// RUN: attn-opt %s --canonicalize --attn-fuse-attention --split-input-file | FileCheck %s
// RUN: attn-opt %s --canonicalize --attn-fuse-attention="remarks=true" --split-input-file -o /dev/null 2>&1 \
// RUN: | FileCheck %s --check-prefix=REMARK
// attn-fuse-attention turns einsum -> [mask] -> softmax(key axis) -> einsum,
// in any layout, into attn.attention, with attn.rearrange permutations where
// the operands or the result are not in [B..., S, D] form; near misses stay
// as they are and say why with remarks=true.

// G1 as written (rearrange, einsum * d**-0.5, softmax, einsum, rearrange).
// Canonicalisation leaves q, k and v in "b n h d" and folds the transposes
// into the equations; fusion permutes them back to "b h n d".
// CHECK-LABEL: func.func @vit
//  CHECK-SAME: (%[[X:.*]]: tensor<2x5x16xf32>)
//       CHECK: %[[Q:.*]] = attn.rearrange %[[X]] "b n (h d) -> b n h d"
//       CHECK: %[[K:.*]] = attn.rearrange %[[X]] "b n (h d) -> b n h d"
//       CHECK: %[[V:.*]] = attn.rearrange %[[X]] "b n (h d) -> b n h d"
//       CHECK: %[[QP:.*]] = attn.rearrange %[[Q]] "a0 a1 a2 a3 -> a0 a2 a1 a3" : tensor<2x5x2x8xf32> -> tensor<2x2x5x8xf32>
//       CHECK: %[[KP:.*]] = attn.rearrange %[[K]] "a0 a1 a2 a3 -> a0 a2 a1 a3"
//       CHECK: %[[VP:.*]] = attn.rearrange %[[V]] "a0 a1 a2 a3 -> a0 a2 a1 a3"
//       CHECK: %[[O:.*]] = attn.attention %[[QP]], %[[KP]], %[[VP]] scale(0.3535533{{[0-9]*}}) : (tensor<2x2x5x8xf32>, tensor<2x2x5x8xf32>, tensor<2x2x5x8xf32>) -> tensor<2x2x5x8xf32>
//       CHECK: %[[R:.*]] = attn.rearrange %[[O]] "b h n d -> b n (h d)"
//       CHECK: return %[[R]]
//   CHECK-NOT: attn.softmax
//   CHECK-NOT: attn.einsum
func.func @vit(%x: tensor<2x5x16xf32>) -> tensor<2x5x16xf32> {
  %h = attn.rearrange %x "b n (h d) -> b h n d" {h = 2} : tensor<2x5x16xf32> -> tensor<2x2x5x8xf32>
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%h, %h) : (tensor<2x2x5x8xf32>, tensor<2x2x5x8xf32>) -> tensor<2x2x5x5xf32>
  %c = arith.constant dense<0.35355339059327373> : tensor<2x2x5x5xf32>
  %sc = arith.mulf %s, %c : tensor<2x2x5x5xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+2]]:{{[0-9]+}}: remark: fused attention: 'b i h d, b j h d -> b h i j' scale 0.353553, softmax over key axis 'j', 'b h i j, b j h d -> b h i d'
  %p = attn.softmax %sc axis(-1) : tensor<2x2x5x5xf32>
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %h) : (tensor<2x2x5x5xf32>, tensor<2x2x5x8xf32>) -> tensor<2x2x5x8xf32>
  %r = attn.rearrange %o "b h n d -> b n (h d)" : tensor<2x2x5x8xf32> -> tensor<2x5x16xf32>
  return %r : tensor<2x5x16xf32>
}

// -----

// Compact equations already in attn.attention's layout: no rearrange.
// CHECK-LABEL: func.func @compact
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x4x8x16xf32>, %[[K:.*]]: tensor<2x4x8x16xf32>, %[[V:.*]]: tensor<2x4x8x16xf32>)
//  CHECK-NEXT: %[[O:.*]] = attn.attention %[[Q]], %[[K]], %[[V]] scale(2.500000e-01) : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
//  CHECK-NEXT: return %[[O]]
func.func @compact(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  %s = attn.einsum "bhid,bhjd->bhij" (%q, %k) scale(0.25) : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x8xf32>
  %p = attn.softmax %s axis(3) : tensor<2x4x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: 'bhid,bhjd->bhij' scale 0.25, softmax over key axis 'j', 'bhij,bhjd->bhid'
  %o = attn.einsum "bhij,bhjd->bhid" (%p, %v) : (tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

// Boolean mask: select(mask, s, -inf) becomes the attention's i1 mask.
// CHECK-LABEL: func.func @bool_mask
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x8x16xf32>, %[[K:.*]]: tensor<2x8x16xf32>, %[[V:.*]]: tensor<2x8x16xf32>, %[[M:.*]]: tensor<2x8x8xi1>)
//       CHECK: %[[O:.*]] = attn.attention %[[Q]], %[[K]], %[[V]] mask(%[[M]]) scale(1.250000e-01) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x8xi1>) -> tensor<2x8x16xf32>
//  CHECK-NEXT: return %[[O]]
func.func @bool_mask(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %m: tensor<2x8x8xi1>) -> tensor<2x8x16xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) scale(0.125) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x8xf32>
  %ninf = arith.constant dense<0xFF800000> : tensor<2x8x8xf32>
  %sm = arith.select %m, %s, %ninf : tensor<2x8x8xi1>, tensor<2x8x8xf32>
  %p = attn.softmax %sm axis(-1) : tensor<2x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: 'b i d, b j d -> b i j' scale 0.125, boolean mask, softmax over key axis 'j', 'b i j, b j d -> b i d'
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<2x8x8xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o : tensor<2x8x16xf32>
}

// -----

// Additive mask, added on either side, with the scores laid out [b, j, i]:
// the mask is permuted like the scores.
// CHECK-LABEL: func.func @additive_mask_transposed_scores
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x8x16xf32>, %[[K:.*]]: tensor<2x6x16xf32>, %[[V:.*]]: tensor<2x6x4xf32>, %[[M:.*]]: tensor<2x6x8xf32>)
//  CHECK-NEXT: %[[MP:.*]] = attn.rearrange %[[M]] "a0 a1 a2 -> a0 a2 a1" : tensor<2x6x8xf32> -> tensor<2x8x6xf32>
//  CHECK-NEXT: %[[O:.*]] = attn.attention %[[Q]], %[[K]], %[[V]] mask(%[[MP]]) scale(1.000000e+00) : (tensor<2x8x16xf32>, tensor<2x6x16xf32>, tensor<2x6x4xf32>, tensor<2x8x6xf32>) -> tensor<2x8x4xf32>
//  CHECK-NEXT: return %[[O]]
func.func @additive_mask_transposed_scores(%q: tensor<2x8x16xf32>, %k: tensor<2x6x16xf32>, %v: tensor<2x6x4xf32>, %m: tensor<2x6x8xf32>) -> tensor<2x8x4xf32> {
  %s = attn.einsum "b i d, b j d -> b j i" (%q, %k) : (tensor<2x8x16xf32>, tensor<2x6x16xf32>) -> tensor<2x6x8xf32>
  %sm = arith.addf %m, %s : tensor<2x6x8xf32>
  %p = attn.softmax %sm axis(1) : tensor<2x6x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: 'b i d, b j d -> b j i' scale 1, additive mask, softmax over key axis 'j', 'b j i, b j e -> b i e'
  %o = attn.einsum "b j i, b j e -> b i e" (%p, %v) : (tensor<2x6x8xf32>, tensor<2x6x4xf32>) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}

// -----

// Cross-attention (Sq = 8, Sk = 12, Dv = 32), v given as [b, h, e, j] and
// the result wanted as [b, i, h, e]: v and the result are permuted.
// CHECK-LABEL: func.func @cross
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x4x8x16xf32>, %[[K:.*]]: tensor<2x4x12x16xf32>, %[[V:.*]]: tensor<2x4x32x12xf32>)
//  CHECK-NEXT: %[[VP:.*]] = attn.rearrange %[[V]] "a0 a1 a2 a3 -> a0 a1 a3 a2" : tensor<2x4x32x12xf32> -> tensor<2x4x12x32xf32>
//  CHECK-NEXT: %[[O:.*]] = attn.attention %[[Q]], %[[K]], %[[VP]] scale(5.000000e-01) : (tensor<2x4x8x16xf32>, tensor<2x4x12x16xf32>, tensor<2x4x12x32xf32>) -> tensor<2x4x8x32xf32>
//  CHECK-NEXT: %[[R:.*]] = attn.rearrange %[[O]] "a0 a1 a2 a3 -> a0 a2 a1 a3" : tensor<2x4x8x32xf32> -> tensor<2x8x4x32xf32>
//  CHECK-NEXT: return %[[R]]
func.func @cross(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x12x16xf32>, %v: tensor<2x4x32x12xf32>) -> tensor<2x8x4x32xf32> {
  %s = attn.einsum "bhid,bhjd->bhij" (%q, %k) scale(0.5) : (tensor<2x4x8x16xf32>, tensor<2x4x12x16xf32>) -> tensor<2x4x8x12xf32>
  %p = attn.softmax %s axis(-1) : tensor<2x4x8x12xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention
  %o = attn.einsum "bhij,bhej->bihe" (%p, %v) : (tensor<2x4x8x12xf32>, tensor<2x4x32x12xf32>) -> tensor<2x8x4x32xf32>
  return %o : tensor<2x8x4x32xf32>
}

// -----

// G2: a leading patch axis, 5-D heads from 'b p n (h d) -> b p h n d', and
// scores as matmul(q, k.transpose(-1, -2)), i.e. an ellipsis einsum over
// explicitly transposed k. After canonicalisation the transposes are in the
// equations and q/k/v are "b p n h d"; fusion brings them to [b p h n d].
// CHECK-LABEL: func.func @g2
//   CHECK-DAG: attn.rearrange %{{.*}} "a0 a1 a2 a3 a4 -> a0 a1 a3 a2 a4" : tensor<2x3x5x2x4xf32> -> tensor<2x3x2x5x4xf32>
//       CHECK: %[[O:.*]] = attn.attention %{{.*}}, %{{.*}}, %{{.*}} scale(5.000000e-01) : (tensor<2x3x2x5x4xf32>, tensor<2x3x2x5x4xf32>, tensor<2x3x2x5x4xf32>) -> tensor<2x3x2x5x4xf32>
//       CHECK: attn.rearrange %[[O]] "b p h n d -> b p n (h d)"
//   CHECK-NOT: attn.softmax
func.func @g2(%x: tensor<2x3x5x8xf32>) -> tensor<2x3x5x8xf32> {
  %q = attn.rearrange %x "b p n (h d) -> b p h n d" {h = 2} : tensor<2x3x5x8xf32> -> tensor<2x3x2x5x4xf32>
  %kt = attn.rearrange %x "b p n (h d) -> b p h d n" {h = 2} : tensor<2x3x5x8xf32> -> tensor<2x3x2x4x5xf32>
  %s = attn.einsum "...ij,...jk->...ik" (%q, %kt) scale(0.5) : (tensor<2x3x2x5x4xf32>, tensor<2x3x2x4x5xf32>) -> tensor<2x3x2x5x5xf32>
  %p = attn.softmax %s axis(-1) : tensor<2x3x2x5x5xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention
  %o = attn.einsum "...ij,...jd->...id" (%p, %q) : (tensor<2x3x2x5x5xf32>, tensor<2x3x2x5x4xf32>) -> tensor<2x3x2x5x4xf32>
  %r = attn.rearrange %o "b p h n d -> b p n (h d)" : tensor<2x3x2x5x4xf32> -> tensor<2x3x5x8xf32>
  return %r : tensor<2x3x5x8xf32>
}

// -----

// Near miss: softmax over the query axis.
// CHECK-LABEL: func.func @softmax_over_queries
//   CHECK-NOT: attn.attention
//       CHECK: attn.softmax %{{.*}} axis(1)
func.func @softmax_over_queries(%q: tensor<2x8x16xf32>, %k: tensor<2x6x16xf32>, %v: tensor<2x8x4xf32>) -> tensor<2x6x4xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) : (tensor<2x8x16xf32>, tensor<2x6x16xf32>) -> tensor<2x8x6xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: softmax over a non-key axis: 'i' instead of the key axis 'j'
  %p = attn.softmax %s axis(1) : tensor<2x8x6xf32>
  %o = attn.einsum "b i j, b i e -> b j e" (%p, %v) : (tensor<2x8x6xf32>, tensor<2x8x4xf32>) -> tensor<2x6x4xf32>
  return %o : tensor<2x6x4xf32>
}

// -----

// Near miss: the scores are also returned.
// CHECK-LABEL: func.func @scores_used_elsewhere
//   CHECK-NOT: attn.attention
//       CHECK: attn.softmax
func.func @scores_used_elsewhere(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x8xf32>) {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: the scores are used elsewhere
  %p = attn.softmax %s axis(-1) : tensor<2x8x8xf32>
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<2x8x8xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o, %s : tensor<2x8x16xf32>, tensor<2x8x8xf32>
}

// -----

// Near miss: the probabilities are also returned.
// CHECK-LABEL: func.func @probs_used_elsewhere
//   CHECK-NOT: attn.attention
//       CHECK: attn.softmax
func.func @probs_used_elsewhere(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x8xf32>) {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: the probabilities are used elsewhere
  %p = attn.softmax %s axis(-1) : tensor<2x8x8xf32>
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<2x8x8xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o, %p : tensor<2x8x16xf32>, tensor<2x8x8xf32>
}

// -----

// Near miss: a multiplicative mask is not a mask attn.attention knows.
// CHECK-LABEL: func.func @multiplicative_mask
//   CHECK-NOT: attn.attention
//       CHECK: arith.mulf
//       CHECK: attn.softmax
func.func @multiplicative_mask(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %m: tensor<2x8x8xf32>) -> tensor<2x8x16xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x8xf32>
  %sm = arith.mulf %s, %m : tensor<2x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: unsupported mask form: 'arith.mulf' between the scores and the softmax
  %p = attn.softmax %sm axis(-1) : tensor<2x8x8xf32>
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<2x8x8xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o : tensor<2x8x16xf32>
}

// -----

// Near miss: select with 0 instead of -inf does not mask the key.
// CHECK-LABEL: func.func @select_zero
//   CHECK-NOT: attn.attention
//       CHECK: arith.select
//       CHECK: attn.softmax
func.func @select_zero(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %m: tensor<2x8x8xi1>) -> tensor<2x8x16xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x8xf32>
  %zero = arith.constant dense<0.0> : tensor<2x8x8xf32>
  %sm = arith.select %m, %s, %zero : tensor<2x8x8xi1>, tensor<2x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: unsupported mask form: arith.select must pick the scores where a boolean tensor is true and a splat -inf elsewhere
  %p = attn.softmax %sm axis(-1) : tensor<2x8x8xf32>
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<2x8x8xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o : tensor<2x8x16xf32>
}

// -----

// Not attention at all (a softmax nobody contracts): no remark.
// CHECK-LABEL: func.func @plain_softmax
//       CHECK: attn.softmax
func.func @plain_softmax(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %p = attn.softmax %x axis(-1) : tensor<4x8xf32>
  return %p : tensor<4x8xf32>
}
