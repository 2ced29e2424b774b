// RUN: attn-opt %s --canonicalize --attn-fuse-attention --split-input-file | FileCheck %s
// RUN: attn-opt %s --canonicalize --attn-fuse-attention="remarks=true" --split-input-file -o /dev/null 2>&1 \
// RUN: | FileCheck %s --check-prefix=REMARK
// attn-fuse-attention turns einsum -> [score_mod] -> [mask] -> softmax(key
// axis) -> einsum, in any layout, into attn.attention, which reads every
// operand in its own layout through its indexing maps (no permutes); the
// elementwise steps between the scores and the masks become its score_mod
// region; near misses stay as they are and say why with remarks=true.

// G1 as written (rearrange, einsum * d**-0.5, softmax, einsum, rearrange).
// Canonicalisation leaves q, k and v in "b n h d" and folds the transposes
// into the equations; the attention reads them there: the domain is
// (b, h, i, d, j, e), q/k/v map to (b, n, h, d) positions, the output is
// "b h n d".
// CHECK-DAG:   #[[QM:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d2, d1, d3)>
// CHECK-DAG:   #[[KM:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d4, d1, d3)>
// CHECK-DAG:   #[[VM:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d4, d1, d5)>
// CHECK-DAG:   #[[OM:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5)>
// CHECK-LABEL: func.func @vit
//  CHECK-SAME: (%[[X:.*]]: tensor<2x5x16xf32>)
//       CHECK: %[[Q:.*]] = attn.rearrange %[[X]] "b n (h d) -> b n h d"
//       CHECK: %[[K:.*]] = attn.rearrange %[[X]] "b n (h d) -> b n h d"
//       CHECK: %[[V:.*]] = attn.rearrange %[[X]] "b n (h d) -> b n h d"
//   CHECK-NOT: attn.rearrange
//       CHECK: %[[INIT:.*]] = tensor.empty() : tensor<2x2x5x8xf32>
//       CHECK: %[[O:.*]] = attn.attention ins(%[[Q]], %[[K]], %[[V]] : tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>) outs(%[[INIT]] : tensor<2x2x5x8xf32>) scale(0.3535533{{[0-9]*}}) {indexing_maps = [#[[QM]], #[[KM]], #[[VM]], #[[OM]]]} -> tensor<2x2x5x8xf32>
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

// Compact equations in the default layout: no indexing maps printed.
// CHECK-LABEL: func.func @compact
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x4x8x16xf32>, %[[K:.*]]: tensor<2x4x8x16xf32>, %[[V:.*]]: tensor<2x4x8x16xf32>)
//  CHECK-NEXT: %[[INIT:.*]] = tensor.empty() : tensor<2x4x8x16xf32>
//  CHECK-NEXT: %[[O:.*]] = attn.attention ins(%[[Q]], %[[K]], %[[V]] : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) outs(%[[INIT]] : tensor<2x4x8x16xf32>) scale(2.500000e-01) -> tensor<2x4x8x16xf32>
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
//       CHECK: %[[O:.*]] = attn.attention ins(%[[Q]], %[[K]], %[[V]] : tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>) mask(%[[M]] : tensor<2x8x8xi1>) outs(%{{.*}} : tensor<2x8x16xf32>) scale(1.250000e-01) -> tensor<2x8x16xf32>
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

// PyTorch's masked_fill(c, -inf): select(c, -inf, s) keeps the scores where
// c does *not* hold, so the fused (keep) mask is the negated condition.
// CHECK-LABEL: func.func @masked_fill_form
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x8x16xf32>, %[[K:.*]]: tensor<2x8x16xf32>, %[[V:.*]]: tensor<2x8x16xf32>, %[[C:.*]]: tensor<2x8x8xi1>)
//       CHECK: %[[TRUE:.*]] = arith.constant dense<true> : tensor<2x8x8xi1>
//       CHECK: %[[KEEP:.*]] = arith.xori %[[C]], %[[TRUE]] : tensor<2x8x8xi1>
//  CHECK-NEXT: %[[INIT:.*]] = tensor.empty()
//  CHECK-NEXT: %[[O:.*]] = attn.attention ins(%[[Q]], %[[K]], %[[V]] : {{.*}}) mask(%[[KEEP]] : tensor<2x8x8xi1>) outs(%[[INIT]] : {{.*}}) scale(1.250000e-01)
//  CHECK-NEXT: return %[[O]]
func.func @masked_fill_form(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %c: tensor<2x8x8xi1>) -> tensor<2x8x16xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) scale(0.125) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x8xf32>
  %ninf = arith.constant dense<0xFF800000> : tensor<2x8x8xf32>
  %sm = arith.select %c, %ninf, %s : tensor<2x8x8xi1>, tensor<2x8x8xf32>
  %p = attn.softmax %sm axis(-1) : tensor<2x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: 'b i d, b j d -> b i j' scale 0.125, boolean mask (masked_fill form), softmax over key axis 'j', 'b i j, b j d -> b i d'
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<2x8x8xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o : tensor<2x8x16xf32>
}

// -----

// masked_fill(mask == 0, -1e9) (the Annotated Transformer's form): a finite
// fill becomes an additive mask, 0 where kept and the fill elsewhere.
// CHECK-LABEL: func.func @finite_fill
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x8x16xf32>, %[[K:.*]]: tensor<2x8x16xf32>, %[[V:.*]]: tensor<2x8x16xf32>, %[[C:.*]]: tensor<2x8x8xi1>)
//       CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<2x8x8xf32>
//  CHECK-NEXT: %[[FILL:.*]] = arith.constant dense<-1.000000e+09> : tensor<2x8x8xf32>
//  CHECK-NEXT: %[[ADD:.*]] = arith.select %[[C]], %[[FILL]], %[[ZERO]] : tensor<2x8x8xi1>, tensor<2x8x8xf32>
//  CHECK-NEXT: %[[INIT:.*]] = tensor.empty()
//  CHECK-NEXT: %[[O:.*]] = attn.attention ins(%[[Q]], %[[K]], %[[V]] : {{.*}}) mask(%[[ADD]] : tensor<2x8x8xf32>) outs(%[[INIT]] : tensor<2x8x16xf32>) scale(1.250000e-01) -> tensor<2x8x16xf32>
func.func @finite_fill(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %c: tensor<2x8x8xi1>) -> tensor<2x8x16xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) scale(0.125) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x8xf32>
  %fill = arith.constant dense<-1.0e9> : tensor<2x8x8xf32>
  %sm = arith.select %c, %fill, %s : tensor<2x8x8xi1>, tensor<2x8x8xf32>
  %p = attn.softmax %sm axis(-1) : tensor<2x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: 'b i d, b j d -> b i j' scale 0.125, boolean mask with a finite fill (additive) (masked_fill form), softmax
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<2x8x8xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o : tensor<2x8x16xf32>
}

// -----

// A bias added and then a boolean mask applied: one additive mask, the bias
// where kept and -inf elsewhere.
// CHECK-LABEL: func.func @bias_then_select
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x8x16xf32>, %[[K:.*]]: tensor<2x8x16xf32>, %[[V:.*]]: tensor<2x8x16xf32>, %[[B:.*]]: tensor<2x8x8xf32>, %[[M:.*]]: tensor<2x8x8xi1>)
//       CHECK: %[[NINF:.*]] = arith.constant dense<0xFF800000> : tensor<2x8x8xf32>
//       CHECK: %[[ADD:.*]] = arith.select %[[M]], %[[B]], %[[NINF]]
//  CHECK-NEXT: %[[INIT:.*]] = tensor.empty()
//  CHECK-NEXT: attn.attention ins(%[[Q]], %[[K]], %[[V]] : {{.*}}) mask(%[[ADD]] : tensor<2x8x8xf32>)
func.func @bias_then_select(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %b: tensor<2x8x8xf32>, %m: tensor<2x8x8xi1>) -> tensor<2x8x16xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) scale(0.125) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x8xf32>
  %sb = arith.addf %s, %b : tensor<2x8x8xf32>
  %ninf = arith.constant dense<0xFF800000> : tensor<2x8x8xf32>
  %sm = arith.select %m, %sb, %ninf : tensor<2x8x8xi1>, tensor<2x8x8xf32>
  %p = attn.softmax %sm axis(-1) : tensor<2x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: 'b i d, b j d -> b i j' scale 0.125, boolean mask, additive mask, softmax
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<2x8x8xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o : tensor<2x8x16xf32>
}

// -----

// A fill of -100 is no mask (exp(-100 - max) need not vanish): the select
// goes into the score region as it is, reading the condition in place.
// CHECK-LABEL: func.func @small_fill
//  CHECK-SAME: %[[C:[^:]*]]: tensor<2x8x8xi1>)
//       CHECK: attn.attention ins({{.*}}) outs(%{{.*}} : tensor<2x8x16xf32>) scale(1.250000e-01) score_mod {
//  CHECK-NEXT: ^bb0(%[[S:.*]]: f32, %[[B:.*]]: index, %[[I:.*]]: index, %[[J:.*]]: index):
//  CHECK-NEXT:   %[[DROP:.*]] = tensor.extract %[[C]][%[[B]], %[[I]], %[[J]]] : tensor<2x8x8xi1>
//  CHECK-NEXT:   %[[FILL:.*]] = arith.constant -1.000000e+02 : f32
//  CHECK-NEXT:   %[[R:.*]] = arith.select %[[DROP]], %[[FILL]], %[[S]] : f32
//  CHECK-NEXT:   attn.yield %[[R]] : f32
//   CHECK-NOT: attn.softmax
func.func @small_fill(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %c: tensor<2x8x8xi1>) -> tensor<2x8x16xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) scale(0.125) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x8xf32>
  %fill = arith.constant dense<-100.0> : tensor<2x8x8xf32>
  %sm = arith.select %c, %fill, %s : tensor<2x8x8xi1>, tensor<2x8x8xf32>
  %p = attn.softmax %sm axis(-1) : tensor<2x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: 'b i d, b j d -> b i j' scale 0.125, score_mod (arith.select), softmax over key axis 'j', 'b i j, b j d -> b i d'
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<2x8x8xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o : tensor<2x8x16xf32>
}

// -----

// Additive mask, added on either side, with the scores laid out [b, j, i]:
// the mask is read like the scores, through the map (b, j, i).
// CHECK-DAG:   #[[MM:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d1)>
// CHECK-LABEL: func.func @additive_mask_transposed_scores
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x8x16xf32>, %[[K:.*]]: tensor<2x6x16xf32>, %[[V:.*]]: tensor<2x6x4xf32>, %[[M:.*]]: tensor<2x6x8xf32>)
//  CHECK-NEXT: %[[INIT:.*]] = tensor.empty() : tensor<2x8x4xf32>
//  CHECK-NEXT: %[[O:.*]] = attn.attention ins(%[[Q]], %[[K]], %[[V]] : tensor<2x8x16xf32>, tensor<2x6x16xf32>, tensor<2x6x4xf32>) mask(%[[M]] : tensor<2x6x8xf32>) outs(%[[INIT]] : tensor<2x8x4xf32>) scale(1.000000e+00) {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}, #[[MM]], #{{.*}}]} -> tensor<2x8x4xf32>
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

// Two additive masks in a row (Swin: relative position bias, then the
// shifted-window mask): one fused mask, their sum in the order they were
// added.
// CHECK-LABEL: func.func @two_additive_masks
//  CHECK-SAME: (%[[Q:.*]]: tensor<4x3x7x8xf32>, %[[K:.*]]: tensor<4x3x7x8xf32>, %[[V:.*]]: tensor<4x3x7x8xf32>, %[[BIAS:.*]]: tensor<4x3x7x7xf32>, %[[SHIFT:.*]]: tensor<4x3x7x7xf32>)
//  CHECK-NEXT: %[[SUM:.*]] = arith.addf %[[BIAS]], %[[SHIFT]] : tensor<4x3x7x7xf32>
//  CHECK-NEXT: %[[INIT:.*]] = tensor.empty()
//  CHECK-NEXT: %[[O:.*]] = attn.attention ins(%[[Q]], %[[K]], %[[V]] : {{.*}}) mask(%[[SUM]] : tensor<4x3x7x7xf32>) outs(%[[INIT]] : {{.*}}) scale(2.500000e-01)
//  CHECK-NEXT: return %[[O]]
func.func @two_additive_masks(%q: tensor<4x3x7x8xf32>, %k: tensor<4x3x7x8xf32>, %v: tensor<4x3x7x8xf32>, %bias: tensor<4x3x7x7xf32>, %shift: tensor<4x3x7x7xf32>) -> tensor<4x3x7x8xf32> {
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) scale(0.25) : (tensor<4x3x7x8xf32>, tensor<4x3x7x8xf32>) -> tensor<4x3x7x7xf32>
  %sb = arith.addf %s, %bias : tensor<4x3x7x7xf32>
  %sm = arith.addf %shift, %sb : tensor<4x3x7x7xf32>
  %p = attn.softmax %sm axis(-1) : tensor<4x3x7x7xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: 'b h i d, b h j d -> b h i j' scale 0.25, 2 additive masks (summed), softmax over key axis 'j', 'b h i j, b h j d -> b h i d'
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %v) : (tensor<4x3x7x7xf32>, tensor<4x3x7x8xf32>) -> tensor<4x3x7x8xf32>
  return %o : tensor<4x3x7x8xf32>
}

// -----

// The biased scores used elsewhere too: not fused.
// CHECK-LABEL: func.func @masked_scores_used_twice
//   CHECK-NOT: attn.attention
//       CHECK: attn.softmax
func.func @masked_scores_used_twice(%q: tensor<4x7x8xf32>, %k: tensor<4x7x8xf32>, %v: tensor<4x7x8xf32>, %bias: tensor<4x7x7xf32>, %shift: tensor<4x7x7xf32>) -> (tensor<4x7x8xf32>, tensor<4x7x7xf32>) {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) : (tensor<4x7x8xf32>, tensor<4x7x8xf32>) -> tensor<4x7x7xf32>
  %sb = arith.addf %s, %bias : tensor<4x7x7xf32>
  %sm = arith.addf %sb, %shift : tensor<4x7x7xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: the masked scores are used elsewhere
  %p = attn.softmax %sm axis(-1) : tensor<4x7x7xf32>
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<4x7x7xf32>, tensor<4x7x8xf32>) -> tensor<4x7x8xf32>
  return %o, %sb : tensor<4x7x8xf32>, tensor<4x7x7xf32>
}

// -----

// Cross-attention (Sq = 8, Sk = 12, Dv = 32), v given as [b, h, e, j] and
// the result wanted as [b, i, h, e]: both read and written in place through
// their maps (domain b, h, i, d, j, e).
// CHECK-DAG:   #[[VM:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d5, d4)>
// CHECK-DAG:   #[[OM:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d2, d1, d5)>
// CHECK-LABEL: func.func @cross
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x4x8x16xf32>, %[[K:.*]]: tensor<2x4x12x16xf32>, %[[V:.*]]: tensor<2x4x32x12xf32>)
//  CHECK-NEXT: %[[INIT:.*]] = tensor.empty() : tensor<2x8x4x32xf32>
//  CHECK-NEXT: %[[O:.*]] = attn.attention ins(%[[Q]], %[[K]], %[[V]] : tensor<2x4x8x16xf32>, tensor<2x4x12x16xf32>, tensor<2x4x32x12xf32>) outs(%[[INIT]] : tensor<2x8x4x32xf32>) scale(5.000000e-01) {indexing_maps = [#{{.*}}, #{{.*}}, #[[VM]], #[[OM]]]} -> tensor<2x8x4x32xf32>
//  CHECK-NEXT: return %[[O]]
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
// equations and q/k/v are "b p n h d", read there through the maps.
// CHECK-LABEL: func.func @g2
//       CHECK: %[[O:.*]] = attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x3x5x2x4xf32>, tensor<2x3x5x2x4xf32>, tensor<2x3x5x2x4xf32>) outs(%{{.*}} : tensor<2x3x2x5x4xf32>) scale(5.000000e-01) {indexing_maps = [{{.*}}]} -> tensor<2x3x2x5x4xf32>
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

// A multiplicative mask is no mask, but an elementwise function of the
// score: the score region, reading the factor in place.
// CHECK-LABEL: func.func @multiplicative_mask
//  CHECK-SAME: %[[M:[^:]*]]: tensor<2x8x8xf32>)
//       CHECK: attn.attention ins({{.*}}) outs({{.*}}) scale(1.000000e+00) score_mod {
//  CHECK-NEXT: ^bb0(%[[S:.*]]: f32, %[[B:.*]]: index, %[[I:.*]]: index, %[[J:.*]]: index):
//  CHECK-NEXT:   %[[F:.*]] = tensor.extract %[[M]][%[[B]], %[[I]], %[[J]]] : tensor<2x8x8xf32>
//  CHECK-NEXT:   %[[R:.*]] = arith.mulf %[[S]], %[[F]] : f32
//  CHECK-NEXT:   attn.yield %[[R]] : f32
//   CHECK-NOT: attn.softmax
func.func @multiplicative_mask(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %m: tensor<2x8x8xf32>) -> tensor<2x8x16xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x8xf32>
  %sm = arith.mulf %s, %m : tensor<2x8x8xf32>
  %p = attn.softmax %sm axis(-1) : tensor<2x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: 'b i d, b j d -> b i j' scale 1, score_mod (arith.mulf), softmax
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<2x8x8xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o : tensor<2x8x16xf32>
}

// -----

// select with 0 instead of -inf does not mask the key: it is an elementwise
// function of the score (the zero a scalar constant in the region).
// CHECK-LABEL: func.func @select_zero
//       CHECK: attn.attention ins({{.*}}) outs({{.*}}) scale(1.000000e+00) score_mod {
//       CHECK:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
//       CHECK:   arith.select %{{.*}}, %{{.*}}, %[[ZERO]] : f32
//   CHECK-NOT: attn.softmax
func.func @select_zero(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %m: tensor<2x8x8xi1>) -> tensor<2x8x16xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x8xf32>
  %zero = arith.constant dense<0.0> : tensor<2x8x8xf32>
  %sm = arith.select %m, %s, %zero : tensor<2x8x8xi1>, tensor<2x8x8xf32>
  %p = attn.softmax %sm axis(-1) : tensor<2x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: 'b i d, b j d -> b i j' scale 1, score_mod (arith.select), softmax
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<2x8x8xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o : tensor<2x8x16xf32>
}

// -----

// G7 as the frontend writes it (d2l's AdditiveAttention): projected queries
// and keys broadcast against each other, tanh, weighted by w_v over the
// feature axis into a unit axis that a rearrange drops, masked with -1e6
// (kept as an additive mask: exact wherever a row keeps a key), softmax,
// bmm with the values.
// CHECK-LABEL: func.func @additive_g7
//  CHECK-SAME: (%[[Q:[^:]*]]: tensor<2x3x8xf32>, %[[K:[^:]*]]: tensor<2x6x8xf32>, %[[V:[^:]*]]: tensor<2x6x4xf32>, %[[M:[^:]*]]: tensor<2x3x6xi1>, %[[W:[^:]*]]: tensor<1x8xf32>)
//   CHECK-DAG: %[[FILL:.*]] = arith.constant dense<-1.000000e+06> : tensor<2x3x6xf32>
//   CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<2x3x6xf32>
//   CHECK-DAG: %[[WV:.*]] = attn.rearrange %[[W]] "1 a0 -> a0" : tensor<1x8xf32> -> tensor<8xf32>
//   CHECK-DAG: %[[AM:.*]] = arith.select %[[M]], %[[ZERO]], %[[FILL]] : tensor<2x3x6xi1>, tensor<2x3x6xf32>
//       CHECK: %[[O:.*]] = attn.attention ins(%[[Q]], %[[K]], %[[V]] : {{.*}}) mask(%[[AM]] : tensor<2x3x6xf32>) weight(%[[WV]] : tensor<8xf32>) outs(%{{.*}} : tensor<2x3x4xf32>) scale(1.000000e+00) score(additive)
//   CHECK-NOT: math.tanh
//   CHECK-NOT: attn.softmax
//       CHECK: return %[[O]]
func.func @additive_g7(%q: tensor<2x3x8xf32>, %k: tensor<2x6x8xf32>, %v: tensor<2x6x4xf32>, %m: tensor<2x3x6xi1>, %w: tensor<1x8xf32>) -> tensor<2x3x4xf32> {
  %e0 = tensor.empty() : tensor<2x3x6x8xf32>
  %bq = linalg.broadcast ins(%q : tensor<2x3x8xf32>) outs(%e0 : tensor<2x3x6x8xf32>) dimensions = [2]
  %e1 = tensor.empty() : tensor<2x3x6x8xf32>
  %bk = linalg.broadcast ins(%k : tensor<2x6x8xf32>) outs(%e1 : tensor<2x3x6x8xf32>) dimensions = [1]
  %t = arith.addf %bq, %bk : tensor<2x3x6x8xf32>
  %f = math.tanh %t : tensor<2x3x6x8xf32>
  %sw = attn.einsum "b p n i, o i -> b p n o" (%f, %w) : (tensor<2x3x6x8xf32>, tensor<1x8xf32>) -> tensor<2x3x6x1xf32>
  %s = attn.rearrange %sw "b h n 1 -> b h n" : tensor<2x3x6x1xf32> -> tensor<2x3x6xf32>
  %fill = arith.constant dense<-1.0e6> : tensor<2x3x6xf32>
  %sm = arith.select %m, %s, %fill : tensor<2x3x6xi1>, tensor<2x3x6xf32>
  %p = attn.softmax %sm axis(-1) : tensor<2x3x6xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: additive score scale 1, weight, boolean mask with a finite fill (additive), softmax over the key axis, 'b i k, b k j -> b i j'
  %o = attn.einsum "b i k, b k j -> b i j" (%p, %v) : (tensor<2x3x6xf32>, tensor<2x6x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}

// -----

// G8 with its learnt width (Nadaraya-Watson): softmax(-((x - x_i) w)^2 / 2)
// over the keys, then sum_i alpha_i y_i. Scalars per query and key: D = 1
// and no value axis, so q, k and v gain a unit axis and the result loses
// it; the splat w becomes a one-element weight.
// CHECK-LABEL: func.func @gaussian_g8
//  CHECK-SAME: (%[[X:[^:]*]]: tensor<5xf32>, %[[XI:[^:]*]]: tensor<7xf32>, %[[Y:[^:]*]]: tensor<7xf32>)
//   CHECK-DAG: %[[W:.*]] = arith.constant dense<5.000000e-01> : tensor<1xf32>
//   CHECK-DAG: %[[Q:.*]] = attn.rearrange %[[X]] "a0 -> a0 1" : tensor<5xf32> -> tensor<5x1xf32>
//   CHECK-DAG: %[[K:.*]] = attn.rearrange %[[XI]] "a0 -> a0 1" : tensor<7xf32> -> tensor<7x1xf32>
//   CHECK-DAG: %[[V:.*]] = attn.rearrange %[[Y]] "a0 -> a0 1" : tensor<7xf32> -> tensor<7x1xf32>
//       CHECK: %[[O:.*]] = attn.attention ins(%[[Q]], %[[K]], %[[V]] : tensor<5x1xf32>, tensor<7x1xf32>, tensor<7x1xf32>) weight(%[[W]] : tensor<1xf32>) outs(%{{.*}} : tensor<5x1xf32>) scale(1.000000e+00) score(gaussian) -> tensor<5x1xf32>
//       CHECK: %[[R:.*]] = attn.rearrange %[[O]] "a0 1 -> a0" : tensor<5x1xf32> -> tensor<5xf32>
//   CHECK-NOT: attn.softmax
//       CHECK: return %[[R]]
func.func @gaussian_g8(%x: tensor<5xf32>, %xi: tensor<7xf32>, %y: tensor<7xf32>) -> tensor<5xf32> {
  %e0 = tensor.empty() : tensor<5x7xf32>
  %bq = linalg.broadcast ins(%x : tensor<5xf32>) outs(%e0 : tensor<5x7xf32>) dimensions = [1]
  %e1 = tensor.empty() : tensor<5x7xf32>
  %bk = linalg.broadcast ins(%xi : tensor<7xf32>) outs(%e1 : tensor<5x7xf32>) dimensions = [0]
  %d = arith.subf %bq, %bk : tensor<5x7xf32>
  %w = arith.constant dense<0.5> : tensor<5x7xf32>
  %dw = arith.mulf %d, %w : tensor<5x7xf32>
  %d2 = arith.mulf %dw, %dw : tensor<5x7xf32>
  %n = arith.negf %d2 : tensor<5x7xf32>
  %two = arith.constant dense<2.0> : tensor<5x7xf32>
  %s = arith.divf %n, %two : tensor<5x7xf32>
  %p = attn.softmax %s axis(1) : tensor<5x7xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: gaussian score scale 1, weight, softmax over the key axis, 'i k, k -> i'
  %o = attn.einsum "i k, k -> i" (%p, %y) : (tensor<5x7xf32>, tensor<7xf32>) -> tensor<5xf32>
  return %o : tensor<5xf32>
}

// -----

// Gaussian without a weight, batched, a -inf boolean mask, and the factor
// written as one multiply by -0.25 (= -scale / 2 with scale 0.5).
// CHECK-LABEL: func.func @gaussian_batched_masked
//  CHECK-SAME: %[[M:[^:]*]]: tensor<2x5x7xi1>
//       CHECK: %[[O:.*]] = attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x5x1xf32>, tensor<2x7x1xf32>, tensor<2x7x3xf32>) mask(%{{.*}} : tensor<2x5x7xi1>) outs(%{{.*}} : tensor<2x5x3xf32>) scale(5.000000e-01) score(gaussian) -> tensor<2x5x3xf32>
//       CHECK: return %[[O]]
func.func @gaussian_batched_masked(%x: tensor<2x5xf32>, %xi: tensor<2x7xf32>, %y: tensor<2x7x3xf32>, %m: tensor<2x5x7xi1>) -> tensor<2x5x3xf32> {
  %e0 = tensor.empty() : tensor<2x5x7xf32>
  %bq = linalg.broadcast ins(%x : tensor<2x5xf32>) outs(%e0 : tensor<2x5x7xf32>) dimensions = [2]
  %e1 = tensor.empty() : tensor<2x5x7xf32>
  %bk = linalg.broadcast ins(%xi : tensor<2x7xf32>) outs(%e1 : tensor<2x5x7xf32>) dimensions = [1]
  %d = arith.subf %bq, %bk : tensor<2x5x7xf32>
  %d2 = arith.mulf %d, %d : tensor<2x5x7xf32>
  %c = arith.constant dense<-0.25> : tensor<2x5x7xf32>
  %s = arith.mulf %d2, %c : tensor<2x5x7xf32>
  %ninf = arith.constant dense<0xFF800000> : tensor<2x5x7xf32>
  %sm = arith.select %m, %s, %ninf : tensor<2x5x7xi1>, tensor<2x5x7xf32>
  %p = attn.softmax %sm axis(2) : tensor<2x5x7xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: gaussian score scale 0.5, boolean mask, softmax over the key axis, 'b i j, b j e -> b i e'
  %o = attn.einsum "b i j, b j e -> b i e" (%p, %y) : (tensor<2x5x7xf32>, tensor<2x7x3xf32>) -> tensor<2x5x3xf32>
  return %o : tensor<2x5x3xf32>
}

// -----

// A learnt scalar width (a parameter, passed at run time as a 0-d tensor and
// broadcast) is the op's one-element weight.
// CHECK-LABEL: func.func @gaussian_scalar_parameter
//  CHECK-SAME: %[[WS:[^:]*]]: tensor<f32>
//       CHECK: %[[W:.*]] = tensor.expand_shape %[[WS]] [] output_shape [1] : tensor<f32> into tensor<1xf32>
//       CHECK: attn.attention ins({{.*}}) weight(%[[W]] : tensor<1xf32>) outs({{.*}}) scale(1.000000e+00) score(gaussian)
//   CHECK-NOT: attn.softmax
func.func @gaussian_scalar_parameter(%x: tensor<5xf32>, %xi: tensor<7xf32>, %y: tensor<7xf32>, %ws: tensor<f32>) -> tensor<5xf32> {
  %e0 = tensor.empty() : tensor<5x7xf32>
  %bq = linalg.broadcast ins(%x : tensor<5xf32>) outs(%e0 : tensor<5x7xf32>) dimensions = [1]
  %e1 = tensor.empty() : tensor<5x7xf32>
  %bk = linalg.broadcast ins(%xi : tensor<7xf32>) outs(%e1 : tensor<5x7xf32>) dimensions = [0]
  %d = arith.subf %bq, %bk : tensor<5x7xf32>
  %e2 = tensor.empty() : tensor<5x7xf32>
  %w = linalg.broadcast ins(%ws : tensor<f32>) outs(%e2 : tensor<5x7xf32>) dimensions = [0, 1]
  %dw = arith.mulf %w, %d : tensor<5x7xf32>
  %d2 = arith.mulf %dw, %dw : tensor<5x7xf32>
  %n = arith.negf %d2 : tensor<5x7xf32>
  %two = arith.constant dense<2.0> : tensor<5x7xf32>
  %s = arith.divf %n, %two : tensor<5x7xf32>
  %p = attn.softmax %s axis(1) : tensor<5x7xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: gaussian score scale 1, weight, softmax over the key axis, 'i k, k -> i'
  %o = attn.einsum "i k, k -> i" (%p, %y) : (tensor<5x7xf32>, tensor<7xf32>) -> tensor<5xf32>
  return %o : tensor<5xf32>
}

// -----

// d2l 0.17's NWKernelRegression: every query (a row of S) has its own keys
// and values (S = [q, j], keys and values [q, j]); P·V reads P through a
// unit query axis (bmm(P.unsqueeze(1), V.unsqueeze(-1))). The rows are the
// attention's batch, each with one query: q [q, 1, 1], k [q, j, 1]. The
// mask gets the same unit axis.
// CHECK-LABEL: func.func @gaussian_row_queries
//  CHECK-SAME: (%[[X:[^:]*]]: tensor<6xf32>, %[[XI:[^:]*]]: tensor<6x9xf32>, %[[Y:[^:]*]]: tensor<6x9xf32>, %[[M:[^:]*]]: tensor<6x9xi1>)
//   CHECK-DAG: %[[Q1:.*]] = attn.rearrange %[[X]] "a0 -> a0 1" : tensor<6xf32> -> tensor<6x1xf32>
//   CHECK-DAG: %[[Q:.*]] = attn.rearrange %[[Q1]] "a0 a1 -> a0 a1 1" : tensor<6x1xf32> -> tensor<6x1x1xf32>
//   CHECK-DAG: %[[K:.*]] = attn.rearrange %[[XI]] "a0 a1 -> a0 a1 1" : tensor<6x9xf32> -> tensor<6x9x1xf32>
//   CHECK-DAG: %[[V:.*]] = attn.rearrange %[[Y]] "n d -> n d 1" : tensor<6x9xf32> -> tensor<6x9x1xf32>
//   CHECK-DAG: %[[MU:.*]] = attn.rearrange %[[M]] "n d -> n 1 d" : tensor<6x9xi1> -> tensor<6x1x9xi1>
//       CHECK: %[[O:.*]] = attn.attention ins(%[[Q]], %[[K]], %[[V]] : tensor<6x1x1xf32>, tensor<6x9x1xf32>, tensor<6x9x1xf32>) mask(%[[MU]] : tensor<6x1x9xi1>) outs(%{{.*}} : tensor<6x1x1xf32>) scale(5.000000e-01) score(gaussian) -> tensor<6x1x1xf32>
//       CHECK: attn.rearrange %[[O]] "b 1 1 -> b" : tensor<6x1x1xf32> -> tensor<6xf32>
//   CHECK-NOT: attn.softmax
func.func @gaussian_row_queries(%x: tensor<6xf32>, %xi: tensor<6x9xf32>, %y: tensor<6x9xf32>, %m: tensor<6x9xi1>) -> tensor<6xf32> {
  %e0 = tensor.empty() : tensor<6x9xf32>
  %bq = linalg.broadcast ins(%x : tensor<6xf32>) outs(%e0 : tensor<6x9xf32>) dimensions = [1]
  %d = arith.subf %xi, %bq : tensor<6x9xf32>
  %d2 = arith.mulf %d, %d : tensor<6x9xf32>
  %c = arith.constant dense<-0.25> : tensor<6x9xf32>
  %s = arith.mulf %d2, %c : tensor<6x9xf32>
  %ninf = arith.constant dense<0xFF800000> : tensor<6x9xf32>
  %sm = arith.select %m, %s, %ninf : tensor<6x9xi1>, tensor<6x9xf32>
  %p = attn.softmax %sm axis(1) : tensor<6x9xf32>
  %pu = attn.rearrange %p "n d -> n 1 d" : tensor<6x9xf32> -> tensor<6x1x9xf32>
  %yu = attn.rearrange %y "n d -> n d 1" : tensor<6x9xf32> -> tensor<6x9x1xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: gaussian score scale 0.5, boolean mask, softmax over the key axis, 'b i k, b k j -> b i j'
  %o = attn.einsum "b i k, b k j -> b i j" (%pu, %yu) : (tensor<6x1x9xf32>, tensor<6x9x1xf32>) -> tensor<6x1x1xf32>
  %r = attn.rearrange %o "b 1 1 -> b" : tensor<6x1x1xf32> -> tensor<6xf32>
  return %r : tensor<6xf32>
}

// -----

// Not per-row queries: the unit axis goes after the key axis, so P·V does
// not read P as [rows, 1, keys]; nothing fuses and the remark says why.
// CHECK-LABEL: func.func @gaussian_row_queries_wrong_axis
//       CHECK: attn.softmax
//   CHECK-NOT: attn.attention
func.func @gaussian_row_queries_wrong_axis(%x: tensor<6xf32>, %xi: tensor<6x9xf32>, %y: tensor<6x1x3xf32>) -> tensor<6x9x3xf32> {
  %e0 = tensor.empty() : tensor<6x9xf32>
  %bq = linalg.broadcast ins(%x : tensor<6xf32>) outs(%e0 : tensor<6x9xf32>) dimensions = [1]
  %d = arith.subf %bq, %xi : tensor<6x9xf32>
  %d2 = arith.mulf %d, %d : tensor<6x9xf32>
  %n = arith.negf %d2 : tensor<6x9xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: the probabilities are not used by exactly one two-operand einsum (P V)
  %p = attn.softmax %n axis(1) : tensor<6x9xf32>
  %pu = attn.rearrange %p "n d -> n d 1" : tensor<6x9xf32> -> tensor<6x9x1xf32>
  %o = attn.einsum "b i k, b k j -> b i j" (%pu, %y) : (tensor<6x9x1xf32>, tensor<6x1x3xf32>) -> tensor<6x9x3xf32>
  return %o : tensor<6x9x3xf32>
}

// -----

// Near miss: a per-element width is not the one weight per feature that
// score(gaussian) has.
// CHECK-LABEL: func.func @gaussian_tensor_width
//   CHECK-NOT: attn.attention
//       CHECK: attn.softmax
func.func @gaussian_tensor_width(%x: tensor<5xf32>, %xi: tensor<7xf32>, %y: tensor<7xf32>, %w: tensor<5x7xf32>) -> tensor<5xf32> {
  %e0 = tensor.empty() : tensor<5x7xf32>
  %bq = linalg.broadcast ins(%x : tensor<5xf32>) outs(%e0 : tensor<5x7xf32>) dimensions = [1]
  %e1 = tensor.empty() : tensor<5x7xf32>
  %bk = linalg.broadcast ins(%xi : tensor<7xf32>) outs(%e1 : tensor<5x7xf32>) dimensions = [0]
  %d = arith.subf %bq, %bk : tensor<5x7xf32>
  %dw = arith.mulf %d, %w : tensor<5x7xf32>
  %d2 = arith.mulf %dw, %dw : tensor<5x7xf32>
  %s = arith.negf %d2 : tensor<5x7xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: the Gaussian score's weight is neither a splat constant nor a broadcast scalar
  %p = attn.softmax %s axis(1) : tensor<5x7xf32>
  %o = attn.einsum "i k, k -> i" (%p, %y) : (tensor<5x7xf32>, tensor<7xf32>) -> tensor<5xf32>
  return %o : tensor<5xf32>
}

// -----

// Near miss: both operands broadcast over the key axis, so the score does
// not depend on the key.
// CHECK-LABEL: func.func @gaussian_no_key
//   CHECK-NOT: attn.attention
//       CHECK: attn.softmax
func.func @gaussian_no_key(%x: tensor<5xf32>, %xi: tensor<5xf32>, %y: tensor<7xf32>) -> tensor<5xf32> {
  %e0 = tensor.empty() : tensor<5x7xf32>
  %bq = linalg.broadcast ins(%x : tensor<5xf32>) outs(%e0 : tensor<5x7xf32>) dimensions = [1]
  %e1 = tensor.empty() : tensor<5x7xf32>
  %bk = linalg.broadcast ins(%xi : tensor<5xf32>) outs(%e1 : tensor<5x7xf32>) dimensions = [1]
  %d = arith.subf %bq, %bk : tensor<5x7xf32>
  %d2 = arith.mulf %d, %d : tensor<5x7xf32>
  %s = arith.negf %d2 : tensor<5x7xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: the score's operands do not broadcast the query over the key axis and the key over the query axis
  %p = attn.softmax %s axis(1) : tensor<5x7xf32>
  %o = attn.einsum "i k, k -> i" (%p, %y) : (tensor<5x7xf32>, tensor<7xf32>) -> tensor<5xf32>
  return %o : tensor<5xf32>
}

// -----

// Near miss: tanh of a product is not the additive score.
// CHECK-LABEL: func.func @additive_tanh_of_product
//   CHECK-NOT: attn.attention
//       CHECK: math.tanh
func.func @additive_tanh_of_product(%q: tensor<3x8xf32>, %k: tensor<6x8xf32>, %v: tensor<6x4xf32>, %w: tensor<8xf32>) -> tensor<3x4xf32> {
  %e0 = tensor.empty() : tensor<3x6x8xf32>
  %bq = linalg.broadcast ins(%q : tensor<3x8xf32>) outs(%e0 : tensor<3x6x8xf32>) dimensions = [1]
  %e1 = tensor.empty() : tensor<3x6x8xf32>
  %bk = linalg.broadcast ins(%k : tensor<6x8xf32>) outs(%e1 : tensor<3x6x8xf32>) dimensions = [0]
  %t = arith.mulf %bq, %bk : tensor<3x6x8xf32>
  %f = math.tanh %t : tensor<3x6x8xf32>
  %s = attn.einsum "i j h, h -> i j" (%f, %w) : (tensor<3x6x8xf32>, tensor<8xf32>) -> tensor<3x6xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: the additive score's tanh is not of a sum
  %p = attn.softmax %s axis(-1) : tensor<3x6xf32>
  %o = attn.einsum "i j, j e -> i e" (%p, %v) : (tensor<3x6xf32>, tensor<6x4xf32>) -> tensor<3x4xf32>
  return %o : tensor<3x4xf32>
}

// -----

// Not attention at all (a softmax nobody contracts): no remark.
// CHECK-LABEL: func.func @plain_softmax
//       CHECK: attn.softmax
func.func @plain_softmax(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %p = attn.softmax %x axis(-1) : tensor<4x8xf32>
  return %p : tensor<4x8xf32>
}

// -----

// Every softmax gets a remark: one whose probabilities are not mixed by a
// P V einsum (a classifier head, CCT's sequence pooling weights) says so.
// CHECK-LABEL: func.func @softmax_not_attention
//       CHECK: attn.softmax
func.func @softmax_not_attention(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: the probabilities are not used by exactly one two-operand einsum (P V)
  %p = attn.softmax %x axis(1) : tensor<2x5xf32>
  return %p : tensor<2x5xf32>
}

// -----

// Gemma-style softcapping, 50 tanh(s / 50): canonicalisation folds the
// division into the score einsum's scale (0.25 / 50), the rest is the score
// region.
// CHECK-LABEL: func.func @softcap
//       CHECK: attn.attention ins({{.*}}) outs({{.*}}) scale(5.000000e-03) score_mod {
//  CHECK-NEXT: ^bb0(%[[S:.*]]: f32, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index):
//  CHECK-NEXT:   %[[T:.*]] = math.tanh %[[S]] : f32
//  CHECK-NEXT:   %[[C:.*]] = arith.constant 5.000000e+01 : f32
//  CHECK-NEXT:   %[[R:.*]] = arith.mulf %[[T]], %[[C]] : f32
//  CHECK-NEXT:   attn.yield %[[R]] : f32
//   CHECK-NOT: attn.softmax
func.func @softcap(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) scale(0.25) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x8xf32>
  %c = arith.constant dense<50.0> : tensor<2x8x8xf32>
  %d = arith.divf %s, %c : tensor<2x8x8xf32>
  %t = math.tanh %d : tensor<2x8x8xf32>
  %capped = arith.mulf %t, %c : tensor<2x8x8xf32>
  %p = attn.softmax %capped axis(-1) : tensor<2x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: 'b i d, b j d -> b i j' scale 0.005, score_mod (math.tanh, arith.mulf), softmax over key axis 'j'
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<2x8x8xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o : tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @softmax_of_data
//       CHECK: attn.softmax
func.func @softmax_of_data(%x: tensor<2x5xf32>, %v: tensor<5x3xf32>) -> tensor<2x3xf32> {
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: the softmax's input is not a score einsum (Q Kᵀ, or an additive or Gaussian score) followed only by elementwise ops and masks
  %p = attn.softmax %x axis(1) : tensor<2x5xf32>
  %o = attn.einsum "i j, j d -> i d" (%p, %v) : (tensor<2x5xf32>, tensor<5x3xf32>) -> tensor<2x3xf32>
  return %o : tensor<2x3xf32>
}

// -----

// ALiBi (s - slope[h] * |i - j|, the distances a [Sq, Sk] table), then a
// softcap: the bias is computed per score from the slopes and the table in
// place, never as a [b, h, Sq, Sk] tensor.
// CHECK-LABEL: func.func @alibi
//  CHECK-SAME: %[[SLOPES:[^:]*]]: tensor<2xf32>, %[[DIST:[^:]*]]: tensor<8x8xf32>)
//       CHECK: attn.attention ins({{.*}}) outs({{.*}}) scale(1.000000e+00) score_mod {
//  CHECK-NEXT: ^bb0(%[[S:.*]]: f32, %[[B:.*]]: index, %[[H:.*]]: index, %[[I:.*]]: index, %[[J:.*]]: index):
//  CHECK-NEXT:   %[[SLOPE:.*]] = tensor.extract %[[SLOPES]][%[[H]]] : tensor<2xf32>
//  CHECK-NEXT:   %[[D:.*]] = tensor.extract %[[DIST]][%[[I]], %[[J]]] : tensor<8x8xf32>
//  CHECK-NEXT:   %[[BIAS:.*]] = arith.mulf %[[SLOPE]], %[[D]] : f32
//  CHECK-NEXT:   arith.subf %[[S]], %[[BIAS]] : f32
//       CHECK:   math.tanh
//       CHECK:   attn.yield
//   CHECK-NOT: linalg.broadcast
func.func @alibi(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>, %slopes: tensor<2xf32>, %dist: tensor<8x8xf32>) -> tensor<1x2x8x16xf32> {
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x8xf32>
  %e0 = tensor.empty() : tensor<1x2x8x8xf32>
  %m = linalg.broadcast ins(%slopes : tensor<2xf32>) outs(%e0 : tensor<1x2x8x8xf32>) dimensions = [0, 2, 3]
  %e1 = tensor.empty() : tensor<1x2x8x8xf32>
  %dd = linalg.broadcast ins(%dist : tensor<8x8xf32>) outs(%e1 : tensor<1x2x8x8xf32>) dimensions = [0, 1]
  %bias = arith.mulf %m, %dd : tensor<1x2x8x8xf32>
  %sb = arith.subf %s, %bias : tensor<1x2x8x8xf32>
  %c = arith.constant dense<30.0> : tensor<1x2x8x8xf32>
  %x = arith.divf %sb, %c : tensor<1x2x8x8xf32>
  %t = math.tanh %x : tensor<1x2x8x8xf32>
  %y = arith.mulf %t, %c : tensor<1x2x8x8xf32>
  %p = attn.softmax %y axis(-1) : tensor<1x2x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: 'b h i d, b h j d -> b h i j' scale 1, score_mod (arith.subf, arith.divf, math.tanh, arith.mulf), softmax
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %v) : (tensor<1x2x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// -----

// GQA written with grouped query heads (b h g i d against b h j d): g is a
// batch dimension the keys and values do not read, so each key head serves
// its 4 query heads in place.
// CHECK-DAG:   #[[QM:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3, d4)>
// CHECK-DAG:   #[[KM:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d5, d4)>
// CHECK-DAG:   #[[VM:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d5, d6)>
// CHECK-DAG:   #[[OM:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3, d6)>
// CHECK-LABEL: func.func @gqa
//       CHECK: attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<1x2x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) outs(%{{.*}} : tensor<1x2x4x8x16xf32>) scale(2.500000e-01) {indexing_maps = [#[[QM]], #[[KM]], #[[VM]], #[[OM]]]} -> tensor<1x2x4x8x16xf32>
func.func @gqa(%q: tensor<1x2x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x2x4x8x16xf32> {
  %s = attn.einsum "b h g i d, b h j d -> b h g i j" (%q, %k) scale(0.25) : (tensor<1x2x4x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x4x8x8xf32>
  %p = attn.softmax %s axis(-1) : tensor<1x2x4x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention: 'b h g i d, b h j d -> b h g i j' scale 0.25, softmax over key axis 'j', 'b h g i j, b h j d -> b h g i d'
  %o = attn.einsum "b h g i j, b h j d -> b h g i d" (%p, %v) : (tensor<1x2x4x8x8xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x4x8x16xf32>
  return %o : tensor<1x2x4x8x16xf32>
}

// -----

// Near miss: a linalg.generic between the scores and the softmax is not
// moved into the score region.
// CHECK-LABEL: func.func @generic_between
//   CHECK-NOT: attn.attention
//       CHECK: attn.softmax
func.func @generic_between(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x8xf32>
  %e = tensor.empty() : tensor<2x8x8xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<2x8x8xf32>) outs(%e : tensor<2x8x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = math.exp %x : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: unsupported op 'linalg.generic' between the scores and the softmax (only elementwise arith and math ops are moved into the score region)
  %p = attn.softmax %g axis(-1) : tensor<2x8x8xf32>
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<2x8x8xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o : tensor<2x8x16xf32>
}

// -----

// Talking heads (vit-pytorch's CaiT): the scores are mixed across heads by a
// square matrix before the softmax, and the probabilities after it. No flash
// loop computes them; the chain becomes the row-block nest whose form
// fuse-talking-heads.mlir checks.
// CHECK-LABEL: func.func @talking_heads
//   CHECK-NOT: attn.softmax
//       CHECK: scf.forall
//   CHECK-NOT: attn.attention
func.func @talking_heads(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>, %v: tensor<1x4x16x8xf32>, %w1: tensor<4x4xf32>, %w2: tensor<4x4xf32>) -> tensor<1x4x16x8xf32> {
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) scale(0.35) : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x16xf32>
  %m = attn.einsum "b h i j, h g -> b g i j" (%s, %w1) : (tensor<1x4x16x16xf32>, tensor<4x4xf32>) -> tensor<1x4x16x16xf32>
  %p = attn.softmax %m axis(3) : tensor<1x4x16x16xf32>
  %pm = attn.einsum "b h i j, h g -> b g i j" (%p, %w2) : (tensor<1x4x16x16xf32>, tensor<4x4xf32>) -> tensor<1x4x16x16xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention (talking heads, row blocks): 'b h i d, b h j d -> b h i j' scale 0.35
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%pm, %v) : (tensor<1x4x16x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  return %o : tensor<1x4x16x8xf32>
}

// -----

// timm's form: the mix is a Linear over the head axis with a bias, added as
// a broadcast, behind views of the scores, which the row-block nest does not
// follow: the remark names the mix.
// CHECK-LABEL: func.func @talking_heads_bias
//       CHECK: attn.softmax
//   CHECK-NOT: attn.attention
func.func @talking_heads_bias(%q: tensor<1x4x16x8xf32>, %kt: tensor<1x4x8x16xf32>, %v: tensor<1x4x16x8xf32>, %w: tensor<4x4xf32>, %bias: tensor<1x4xf32>) -> tensor<1x4x16x8xf32> {
  %s = attn.einsum "b h i k, b h k j -> b h i j" (%q, %kt) : (tensor<1x4x16x8xf32>, tensor<1x4x8x16xf32>) -> tensor<1x4x16x16xf32>
  %sv = attn.rearrange %s "b h i j -> b h (i j)" : tensor<1x4x16x16xf32> -> tensor<1x4x256xf32>
  %m = attn.einsum "abc,bz->azc" (%sv, %w) : (tensor<1x4x256xf32>, tensor<4x4xf32>) -> tensor<1x4x256xf32>
  %mv = attn.rearrange %m "b h (i j) -> b h i j" {i = 16} : tensor<1x4x256xf32> -> tensor<1x4x16x16xf32>
  %e = tensor.empty() : tensor<1x4x16x16xf32>
  %bb = linalg.broadcast ins(%bias : tensor<1x4xf32>) outs(%e : tensor<1x4x16x16xf32>) dimensions = [2, 3]
  %t = arith.addf %mv, %bb : tensor<1x4x16x16xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: talking heads: the scores are mixed across heads by 'abc,bz->azc' before the softmax, through views or ops the row-block nest does not take
  %p = attn.softmax %t axis(-1) : tensor<1x4x16x16xf32>
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %v) : (tensor<1x4x16x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  return %o : tensor<1x4x16x8xf32>
}

// -----

// Not talking heads: the softmax's input is a Q Kᵀ of a square K whose
// queries come from a projection by a square matrix, but the axis the
// scores sum is no batch axis of that projection; it is the softmax over
// the query axis that stops the fusion, and the remark says so.
// CHECK-LABEL: func.func @projected_queries_wrong_axis
//   CHECK-NOT: attn.attention
func.func @projected_queries_wrong_axis(%x: tensor<6x8xf32>, %wq: tensor<8x8xf32>, %k: tensor<8x8xf32>, %v: tensor<8x8xf32>) -> tensor<6x8xf32> {
  %q = attn.einsum "n c, c d -> n d" (%x, %wq) : (tensor<6x8xf32>, tensor<8x8xf32>) -> tensor<6x8xf32>
  %s = attn.einsum "i d, j d -> i j" (%q, %k) : (tensor<6x8xf32>, tensor<8x8xf32>) -> tensor<6x8xf32>
  // REMARK: fuse-attention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: softmax over a non-key axis
  %p = attn.softmax %s axis(0) : tensor<6x8xf32>
  %o = attn.einsum "i j, j e -> i e" (%p, %v) : (tensor<6x8xf32>, tensor<8x8xf32>) -> tensor<6x8xf32>
  return %o : tensor<6x8xf32>
}
