// RUN: attn-opt %s | FileCheck %s
// RUN: attn-opt %s | attn-opt | FileCheck %s
// RUN: attn-opt %s --mlir-print-op-generic | attn-opt | FileCheck %s
// Round trip of every op form of the attn dialect.

// The maps of @attention_maps (printed as aliases at the top).
// CHECK-DAG: #[[Q:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d2, d1, d3)>
// CHECK-DAG: #[[K:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d4, d1, d3)>
// CHECK-DAG: #[[V:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d4, d1, d5)>
// CHECK-DAG: #[[O:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5)>

// CHECK-LABEL: func @rearrange_split_heads
// CHECK: attn.rearrange %{{.*}} "b n (h d) -> b h n d" {h = 8} : tensor<7x257x512xf32> -> tensor<7x8x257x64xf32>
func.func @rearrange_split_heads(%x: tensor<7x257x512xf32>) -> tensor<7x8x257x64xf32> {
  %0 = attn.rearrange %x "b n (h d) -> b h n d" {h = 8} : tensor<7x257x512xf32> -> tensor<7x8x257x64xf32>
  return %0 : tensor<7x8x257x64xf32>
}

// CHECK-LABEL: func @rearrange_merge_heads
// CHECK: attn.rearrange %{{.*}} "b h n d -> b n (h d)" : tensor<7x8x257x64xf32> -> tensor<7x257x512xf32>
func.func @rearrange_merge_heads(%x: tensor<7x8x257x64xf32>) -> tensor<7x257x512xf32> {
  %0 = attn.rearrange %x "b h n d -> b n (h d)" : tensor<7x8x257x64xf32> -> tensor<7x257x512xf32>
  return %0 : tensor<7x257x512xf32>
}

// CHECK-LABEL: func @rearrange_five_d
// CHECK: attn.rearrange %{{.*}} "b p n (h d) -> b p h n d" {d = 32, h = 8} : tensor<2x4x50x256xf32> -> tensor<2x4x8x50x32xf32>
func.func @rearrange_five_d(%x: tensor<2x4x50x256xf32>) -> tensor<2x4x8x50x32xf32> {
  %0 = attn.rearrange %x "b p n (h d) -> b p h n d" {h = 8, d = 32} : tensor<2x4x50x256xf32> -> tensor<2x4x8x50x32xf32>
  return %0 : tensor<2x4x8x50x32xf32>
}

// CHECK-LABEL: func @rearrange_ellipsis
// CHECK: attn.rearrange %{{.*}} "b ... d -> b d ..." : tensor<2x3x4x5xf16> -> tensor<2x5x3x4xf16>
func.func @rearrange_ellipsis(%x: tensor<2x3x4x5xf16>) -> tensor<2x5x3x4xf16> {
  %0 = attn.rearrange %x "b ... d -> b d ..." : tensor<2x3x4x5xf16> -> tensor<2x5x3x4xf16>
  return %0 : tensor<2x5x3x4xf16>
}

// CHECK-LABEL: func @rearrange_flatten_ellipsis
// CHECK: attn.rearrange %{{.*}} "b ... -> b (...)" : tensor<2x3x4xbf16> -> tensor<2x12xbf16>
func.func @rearrange_flatten_ellipsis(%x: tensor<2x3x4xbf16>) -> tensor<2x12xbf16> {
  %0 = attn.rearrange %x "b ... -> b (...)" : tensor<2x3x4xbf16> -> tensor<2x12xbf16>
  return %0 : tensor<2x12xbf16>
}

// CHECK-LABEL: func @rearrange_units
// CHECK: attn.rearrange %{{.*}} "b 1 n () -> () n 1 b" : tensor<3x1x5x1xf32> -> tensor<1x5x1x3xf32>
func.func @rearrange_units(%x: tensor<3x1x5x1xf32>) -> tensor<1x5x1x3xf32> {
  %0 = attn.rearrange %x "b 1 n () -> () n 1 b" : tensor<3x1x5x1xf32> -> tensor<1x5x1x3xf32>
  return %0 : tensor<1x5x1x3xf32>
}

// CHECK-LABEL: func @rearrange_attr_dict
// CHECK: attn.rearrange %{{.*}} "a b -> b a" attributes {note = "kept"} : tensor<2x3xf32> -> tensor<3x2xf32>
func.func @rearrange_attr_dict(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = attn.rearrange %x "a b -> b a" attributes {note = "kept"} : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// CHECK-LABEL: func @einsum_spaced
// CHECK: attn.einsum "b h i d, b h j d -> b h i j" (%{{.*}}, %{{.*}}) : (tensor<7x8x257x64xf32>, tensor<7x8x257x64xf32>) -> tensor<7x8x257x257xf32>
func.func @einsum_spaced(%q: tensor<7x8x257x64xf32>, %k: tensor<7x8x257x64xf32>) -> tensor<7x8x257x257xf32> {
  %0 = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) : (tensor<7x8x257x64xf32>, tensor<7x8x257x64xf32>) -> tensor<7x8x257x257xf32>
  return %0 : tensor<7x8x257x257xf32>
}

// CHECK-LABEL: func @einsum_compact_scaled
// CHECK: attn.einsum "bhij,bhjd->bhid" (%{{.*}}, %{{.*}}) scale(1.250000e-01) : (tensor<1x2x3x4xf32>, tensor<1x2x4x5xf32>) -> tensor<1x2x3x5xf32>
func.func @einsum_compact_scaled(%p: tensor<1x2x3x4xf32>, %v: tensor<1x2x4x5xf32>) -> tensor<1x2x3x5xf32> {
  %0 = attn.einsum "bhij,bhjd->bhid" (%p, %v) scale(0.125) : (tensor<1x2x3x4xf32>, tensor<1x2x4x5xf32>) -> tensor<1x2x3x5xf32>
  return %0 : tensor<1x2x3x5xf32>
}

// One operand, 0-d operands and results, and einops' one-word terms
// (`index ->` has one label when the operand has rank 1).
// CHECK-LABEL: func @einsum_one_operand
// CHECK: attn.einsum "ii->" (%{{.*}}) : (tensor<5x5xf32>) -> tensor<f32>
// CHECK: attn.einsum ",ij->ji" (%{{.*}}, %{{.*}}) : (tensor<f32>, tensor<2x3xf32>) -> tensor<3x2xf32>
// CHECK: attn.einsum "index ->" (%{{.*}}) : (tensor<10xf32>) -> tensor<f32>
func.func @einsum_one_operand(%a: tensor<5x5xf32>, %s: tensor<f32>, %b: tensor<2x3xf32>, %c: tensor<10xf32>) -> (tensor<f32>, tensor<3x2xf32>, tensor<f32>) {
  %0 = attn.einsum "ii->" (%a) : (tensor<5x5xf32>) -> tensor<f32>
  %1 = attn.einsum ",ij->ji" (%s, %b) : (tensor<f32>, tensor<2x3xf32>) -> tensor<3x2xf32>
  %2 = attn.einsum "index ->" (%c) : (tensor<10xf32>) -> tensor<f32>
  return %0, %1, %2 : tensor<f32>, tensor<3x2xf32>, tensor<f32>
}

// CHECK-LABEL: func @einsum_implicit
// CHECK: attn.einsum "ij,jk" (%{{.*}}, %{{.*}}) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
func.func @einsum_implicit(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %0 = attn.einsum "ij,jk" (%a, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// CHECK-LABEL: func @einsum_ellipsis_broadcast
// CHECK: attn.einsum "...ij,...jk->...ik" (%{{.*}}, %{{.*}}) : (tensor<5x1x2x3xf32>, tensor<4x3x6xf32>) -> tensor<5x4x2x6xf32>
func.func @einsum_ellipsis_broadcast(%a: tensor<5x1x2x3xf32>, %b: tensor<4x3x6xf32>) -> tensor<5x4x2x6xf32> {
  %0 = attn.einsum "...ij,...jk->...ik" (%a, %b) : (tensor<5x1x2x3xf32>, tensor<4x3x6xf32>) -> tensor<5x4x2x6xf32>
  return %0 : tensor<5x4x2x6xf32>
}

// CHECK-LABEL: func @einsum_three_operands
// CHECK: attn.einsum "ab,bc,cd->ad" (%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<2x3xf16>, tensor<3x4xf16>, tensor<4x5xf16>) -> tensor<2x5xf16>
func.func @einsum_three_operands(%a: tensor<2x3xf16>, %b: tensor<3x4xf16>, %c: tensor<4x5xf16>) -> tensor<2x5xf16> {
  %0 = attn.einsum "ab,bc,cd->ad" (%a, %b, %c) : (tensor<2x3xf16>, tensor<3x4xf16>, tensor<4x5xf16>) -> tensor<2x5xf16>
  return %0 : tensor<2x5xf16>
}

// CHECK-LABEL: func @softmax
// CHECK: attn.softmax %{{.*}} axis(-1) : tensor<7x8x257x257xf32>
// CHECK: attn.softmax %{{.*}} axis(0) : tensor<7x8x257x257xf32>
func.func @softmax(%s: tensor<7x8x257x257xf32>) -> tensor<7x8x257x257xf32> {
  %0 = attn.softmax %s axis(-1) : tensor<7x8x257x257xf32>
  %1 = attn.softmax %0 axis(0) : tensor<7x8x257x257xf32>
  return %1 : tensor<7x8x257x257xf32>
}

// CHECK-LABEL: func @attention_dot
// CHECK: attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>) outs(%{{.*}} : tensor<1x8x128x64xf32>) scale(1.250000e-01) -> tensor<1x8x128x64xf32>
func.func @attention_dot(%q: tensor<1x8x128x64xf32>, %k: tensor<1x8x128x64xf32>, %v: tensor<1x8x128x64xf32>) -> tensor<1x8x128x64xf32> {
  %init_0 = tensor.empty() : tensor<1x8x128x64xf32>
  %0 = attn.attention ins(%q, %k, %v : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>)
      outs(%init_0 : tensor<1x8x128x64xf32>) scale(0.125) -> tensor<1x8x128x64xf32>
  return %0 : tensor<1x8x128x64xf32>
}

// CHECK-LABEL: func @attention_causal_cross
// CHECK: attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x10x16xbf16>, tensor<2x12x16xbf16>, tensor<2x12x8xbf16>) outs(%{{.*}} : tensor<2x10x8xbf16>) scale(1.000000e+00) causal -> tensor<2x10x8xbf16>
func.func @attention_causal_cross(%q: tensor<2x10x16xbf16>, %k: tensor<2x12x16xbf16>, %v: tensor<2x12x8xbf16>) -> tensor<2x10x8xbf16> {
  %init_0 = tensor.empty() : tensor<2x10x8xbf16>
  %0 = attn.attention ins(%q, %k, %v : tensor<2x10x16xbf16>, tensor<2x12x16xbf16>, tensor<2x12x8xbf16>)
      outs(%init_0 : tensor<2x10x8xbf16>) scale(1.0) causal -> tensor<2x10x8xbf16>
  return %0 : tensor<2x10x8xbf16>
}

// CHECK-LABEL: func @attention_bool_mask
// CHECK: attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x4x6x8xf32>, tensor<2x4x7x8xf32>, tensor<2x4x7x8xf32>) mask(%{{.*}} : tensor<2x1x1x7xi1>) outs(%{{.*}} : tensor<2x4x6x8xf32>) scale(5.000000e-01) -> tensor<2x4x6x8xf32>
func.func @attention_bool_mask(%q: tensor<2x4x6x8xf32>, %k: tensor<2x4x7x8xf32>, %v: tensor<2x4x7x8xf32>, %m: tensor<2x1x1x7xi1>) -> tensor<2x4x6x8xf32> {
  %init_0 = tensor.empty() : tensor<2x4x6x8xf32>
  %0 = attn.attention ins(%q, %k, %v : tensor<2x4x6x8xf32>, tensor<2x4x7x8xf32>, tensor<2x4x7x8xf32>) mask(%m : tensor<2x1x1x7xi1>)
      outs(%init_0 : tensor<2x4x6x8xf32>) scale(0.5) -> tensor<2x4x6x8xf32>
  return %0 : tensor<2x4x6x8xf32>
}

// CHECK-LABEL: func @attention_additive_mask
// CHECK: attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<3x5x4xf32>, tensor<3x6x4xf32>, tensor<3x6x2xf32>) mask(%{{.*}} : tensor<3x5x6xf32>) outs(%{{.*}} : tensor<3x5x2xf32>) scale(1.000000e+00) -> tensor<3x5x2xf32>
func.func @attention_additive_mask(%q: tensor<3x5x4xf32>, %k: tensor<3x6x4xf32>, %v: tensor<3x6x2xf32>, %m: tensor<3x5x6xf32>) -> tensor<3x5x2xf32> {
  %init_0 = tensor.empty() : tensor<3x5x2xf32>
  %0 = attn.attention ins(%q, %k, %v : tensor<3x5x4xf32>, tensor<3x6x4xf32>, tensor<3x6x2xf32>) mask(%m : tensor<3x5x6xf32>)
      outs(%init_0 : tensor<3x5x2xf32>) scale(1.0) -> tensor<3x5x2xf32>
  return %0 : tensor<3x5x2xf32>
}

// CHECK-LABEL: func @attention_additive_score
// CHECK: attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x5x8xf32>, tensor<2x6x8xf32>, tensor<2x6x3xf32>) mask(%{{.*}} : tensor<2x1x6xi1>) weight(%{{.*}} : tensor<8xf32>) outs(%{{.*}} : tensor<2x5x3xf32>) scale(1.000000e+00) score(additive) -> tensor<2x5x3xf32>
func.func @attention_additive_score(%q: tensor<2x5x8xf32>, %k: tensor<2x6x8xf32>, %v: tensor<2x6x3xf32>, %m: tensor<2x1x6xi1>, %w: tensor<8xf32>) -> tensor<2x5x3xf32> {
  %init_0 = tensor.empty() : tensor<2x5x3xf32>
  %0 = attn.attention ins(%q, %k, %v : tensor<2x5x8xf32>, tensor<2x6x8xf32>, tensor<2x6x3xf32>) mask(%m : tensor<2x1x6xi1>) weight(%w : tensor<8xf32>)
      outs(%init_0 : tensor<2x5x3xf32>) scale(1.0) score(additive) -> tensor<2x5x3xf32>
  return %0 : tensor<2x5x3xf32>
}

// CHECK-LABEL: func @attention_gaussian_score
// CHECK: attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<50x1xf32>, tensor<50x1xf32>, tensor<50x1xf32>) outs(%{{.*}} : tensor<50x1xf32>) scale(1.000000e+00) score(gaussian) -> tensor<50x1xf32>
// CHECK: attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<50x1xf32>, tensor<50x1xf32>, tensor<50x1xf32>) weight(%{{.*}} : tensor<1xf32>) outs(%{{.*}} : tensor<50x1xf32>) scale(1.000000e+00) score(gaussian) -> tensor<50x1xf32>
func.func @attention_gaussian_score(%x: tensor<50x1xf32>, %xs: tensor<50x1xf32>, %ys: tensor<50x1xf32>, %w: tensor<1xf32>) -> (tensor<50x1xf32>, tensor<50x1xf32>) {
  %init_0 = tensor.empty() : tensor<50x1xf32>
  %0 = attn.attention ins(%x, %xs, %ys : tensor<50x1xf32>, tensor<50x1xf32>, tensor<50x1xf32>)
      outs(%init_0 : tensor<50x1xf32>) scale(1.0) score(gaussian) -> tensor<50x1xf32>
  %init_1 = tensor.empty() : tensor<50x1xf32>
  %1 = attn.attention ins(%x, %xs, %ys : tensor<50x1xf32>, tensor<50x1xf32>, tensor<50x1xf32>) weight(%w : tensor<1xf32>)
      outs(%init_1 : tensor<50x1xf32>) scale(1.0) score(gaussian) -> tensor<50x1xf32>
  return %0, %1 : tensor<50x1xf32>, tensor<50x1xf32>
}

// The default score is not printed.
// CHECK-LABEL: func @attention_explicit_dot
// CHECK: outs(%{{.*}} : tensor<4x8xf32>) scale(2.000000e+00) -> tensor<4x8xf32>
func.func @attention_explicit_dot(%q: tensor<4x8xf32>, %k: tensor<4x8xf32>, %v: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %init_0 = tensor.empty() : tensor<4x8xf32>
  %0 = attn.attention ins(%q, %k, %v : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>)
      outs(%init_0 : tensor<4x8xf32>) scale(2.0) score(dot) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// Any layout through indexing maps: "b n h d" operands read in place (no
// permutes), the output written "b h n d"; the maps are printed because they
// are not the defaults.
// CHECK-LABEL: func @attention_maps
// CHECK: attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x10x4x8xf32>, tensor<2x12x4x8xf32>, tensor<2x12x4x6xf32>) outs(%{{.*}} : tensor<2x4x10x6xf32>) scale(1.250000e-01) {indexing_maps = [#[[Q]], #[[K]], #[[V]], #[[O]]]} -> tensor<2x4x10x6xf32>
func.func @attention_maps(%q: tensor<2x10x4x8xf32>, %k: tensor<2x12x4x8xf32>, %v: tensor<2x12x4x6xf32>) -> tensor<2x4x10x6xf32> {
  %init = tensor.empty() : tensor<2x4x10x6xf32>
  %0 = attn.attention ins(%q, %k, %v : tensor<2x10x4x8xf32>, tensor<2x12x4x8xf32>, tensor<2x12x4x6xf32>)
      outs(%init : tensor<2x4x10x6xf32>) scale(0.125) {indexing_maps = [
        affine_map<(b, h, m, k1, k2, n) -> (b, m, h, k1)>,
        affine_map<(b, h, m, k1, k2, n) -> (b, k2, h, k1)>,
        affine_map<(b, h, m, k1, k2, n) -> (b, k2, h, n)>,
        affine_map<(b, h, m, k1, k2, n) -> (b, h, m, n)>]} -> tensor<2x4x10x6xf32>
  return %0 : tensor<2x4x10x6xf32>
}

// GQA: 8 query heads as 2 key heads x 4 groups; the keys and values do not
// read the group dimension, so each key head serves 4 query heads in place.
// CHECK-LABEL: func @attention_gqa
// CHECK: attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<1x2x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) outs(%{{.*}} : tensor<1x2x4x16x8xf32>) scale(1.000000e+00) causal {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}, #{{.*}}]}
func.func @attention_gqa(%q: tensor<1x2x4x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<1x2x4x16x8xf32> {
  %init = tensor.empty() : tensor<1x2x4x16x8xf32>
  %0 = attn.attention ins(%q, %k, %v : tensor<1x2x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
      outs(%init : tensor<1x2x4x16x8xf32>) scale(1.0) causal {indexing_maps = [
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, g, m, k1)>,
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, k2, k1)>,
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, k2, n)>,
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, g, m, n)>]} -> tensor<1x2x4x16x8xf32>
  return %0 : tensor<1x2x4x16x8xf32>
}

// A score region: softcap 30 tanh(s / 30) and ALiBi -slope[h] |i - j| with
// the slopes read from a tensor; the region sees the score and the batch,
// head, query and key indices.
// CHECK-LABEL: func @attention_score_mod
// CHECK: attn.attention ins({{.*}}) outs(%{{.*}} : tensor<1x2x8x4xf32>) scale(5.000000e-01) score_mod {
// CHECK-NEXT: ^bb0(%[[S:.*]]: f32, %[[B:.*]]: index, %[[H:.*]]: index, %[[I:.*]]: index, %[[J:.*]]: index):
// CHECK:        math.tanh
// CHECK:        tensor.extract %{{.*}}[%[[H]]] : tensor<2xf32>
// CHECK:        attn.yield %{{.*}} : f32
// CHECK-NEXT: } -> tensor<1x2x8x4xf32>
func.func @attention_score_mod(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %slopes: tensor<2xf32>) -> tensor<1x2x8x4xf32> {
  %init = tensor.empty() : tensor<1x2x8x4xf32>
  %0 = attn.attention ins(%q, %k, %v : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
      outs(%init : tensor<1x2x8x4xf32>) scale(0.5) score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %c = arith.constant 30.0 : f32
    %d = arith.divf %s, %c : f32
    %t = math.tanh %d : f32
    %capped = arith.mulf %t, %c : f32
    %slope = tensor.extract %slopes[%h] : tensor<2xf32>
    %diff = arith.subi %i, %j : index
    %ii = arith.index_cast %diff : index to i64
    %fd = arith.sitofp %ii : i64 to f32
    %dist = math.absf %fd : f32
    %bias = arith.mulf %slope, %dist : f32
    %r = arith.subf %capped, %bias : f32
    attn.yield %r : f32
  } -> tensor<1x2x8x4xf32>
  return %0 : tensor<1x2x8x4xf32>
}

// Structured masks: a sliding window (keys i - 3 .. i), key lengths per
// batch element, and a block-sparse mask over blocks of 4 x 4; and the
// log-sum-exp as a second result.
// CHECK-LABEL: func @attention_structured_masks
// CHECK: attn.attention ins({{.*}}) key_lengths(%{{.*}} : tensor<2xi32>) block_mask(%{{.*}} : tensor<2x2x2xi1>) outs(%{{.*}} : tensor<2x8x4xf32>) lse(%{{.*}} : tensor<2x8xf32>) scale(1.000000e+00) causal window([3, 0]) block_sizes([4, 4]) -> tensor<2x8x4xf32>, tensor<2x8xf32>
func.func @attention_structured_masks(%q: tensor<2x8x4xf32>, %len: tensor<2xi32>, %blocks: tensor<2x2x2xi1>) -> (tensor<2x8x4xf32>, tensor<2x8xf32>) {
  %init = tensor.empty() : tensor<2x8x4xf32>
  %lse = tensor.empty() : tensor<2x8xf32>
  %0:2 = attn.attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>)
      key_lengths(%len : tensor<2xi32>) block_mask(%blocks : tensor<2x2x2xi1>)
      outs(%init : tensor<2x8x4xf32>) lse(%lse : tensor<2x8xf32>) scale(1.0) causal
      window([3, 0]) block_sizes([4, 4]) -> tensor<2x8x4xf32>, tensor<2x8xf32>
  return %0#0, %0#1 : tensor<2x8x4xf32>, tensor<2x8xf32>
}

// A boolean mask in its 0 / -inf form (keep_or_drop).
// CHECK-LABEL: func @attention_keep_or_drop
// CHECK: attn.attention ins({{.*}}) mask(%{{.*}} : tensor<1x8x8xf32>) keep_or_drop outs(%{{.*}} : tensor<2x8x4xf32>) scale(1.000000e+00) -> tensor<2x8x4xf32>
func.func @attention_keep_or_drop(%q: tensor<2x8x4xf32>, %m: tensor<1x8x8xf32>) -> tensor<2x8x4xf32> {
  %init = tensor.empty() : tensor<2x8x4xf32>
  %0 = attn.attention ins(%q, %q, %q : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>)
      mask(%m : tensor<1x8x8xf32>) keep_or_drop outs(%init : tensor<2x8x4xf32>) scale(1.0) -> tensor<2x8x4xf32>
  return %0 : tensor<2x8x4xf32>
}

// The online form: one block of keys updating running output, max and sum,
// at the global positions of a tile (query 16, key 32).
// CHECK-LABEL: func @online_attention
// CHECK: attn.online_attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>) outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<8x4xf32>, tensor<8xf32>, tensor<8xf32>) scale(1.000000e+00) causal offsets(%{{.*}}, %{{.*}}) -> tensor<8x4xf32>, tensor<8xf32>, tensor<8xf32>
func.func @online_attention(%q: tensor<8x4xf32>, %acc: tensor<8x4xf32>, %m: tensor<8xf32>, %l: tensor<8xf32>) -> (tensor<8x4xf32>, tensor<8xf32>, tensor<8xf32>) {
  %i0 = arith.constant 16 : index
  %j0 = arith.constant 32 : index
  %0:3 = attn.online_attention ins(%q, %q, %q : tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>)
      outs(%acc, %m, %l : tensor<8x4xf32>, tensor<8xf32>, tensor<8xf32>) scale(1.0) causal offsets(%i0, %j0)
      -> tensor<8x4xf32>, tensor<8xf32>, tensor<8xf32>
  return %0#0, %0#1, %0#2 : tensor<8x4xf32>, tensor<8xf32>, tensor<8xf32>
}

// Code generation attributes: the flash nest's mapping and a strategy's
// lowering config.
// CHECK-LABEL: func @codegen_attributes
// CHECK:         linalg.matmul {attn.lowering_config = #attn.lowering_config<parallel = [64, 256, 0], reduction = [0, 0, 128], registers = [8, 32, 1]>}
// CHECK:         linalg.matmul {attn.lowering_config = #attn.lowering_config<vector = [8, 32, 1]>}
// CHECK:         } {mapping = [#attn.flash_nest<0>, #attn.flash_nest<1>]}
func.func @codegen_attributes(%a: memref<8x4xf32>, %b: memref<4x32xf32>, %c: memref<8x32xf32>) {
  linalg.matmul {attn.lowering_config = #attn.lowering_config<parallel = [64, 256, 0], reduction = [0, 0, 128], registers = [8, 32, 1]>}
      ins(%a, %b : memref<8x4xf32>, memref<4x32xf32>) outs(%c : memref<8x32xf32>)
  scf.forall (%i, %j) in (2, 3) {
    linalg.matmul {attn.lowering_config = #attn.lowering_config<vector = [8, 32, 1]>}
        ins(%a, %b : memref<8x4xf32>, memref<4x32xf32>) outs(%c : memref<8x32xf32>)
  } {mapping = [#attn.flash_nest<0>, #attn.flash_nest<1>]}
  return
}
