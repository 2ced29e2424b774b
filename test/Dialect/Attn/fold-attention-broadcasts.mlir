// RUN: attn-opt %s --attn-fold-attention-broadcasts --split-input-file -mlir-print-local-scope | FileCheck %s
// attn-fold-attention-broadcasts: keys, values and masks that repeat heads
// (linalg.broadcast, merged into the head dimension by attn.rearrange) are
// read in place through attn.attention's maps.

// HF repeat_kv: b h g s d -> b (h g) s d. The head dimension splits into
// (kv head, group); q and the output are viewed split, k and v read in
// place without the group; the [B, 1, Sq, Sk] mask keeps its constant 0.
// CHECK-LABEL: func.func @repeat_kv
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x8x16x4xf32>, %[[K:.*]]: tensor<2x2x16x4xf32>, %[[V:.*]]: tensor<2x2x16x4xf32>, %[[M:.*]]: tensor<2x1x16x16xf32>)
//   CHECK-NOT: linalg.broadcast
//       CHECK: %[[QS:.*]] = attn.rearrange %[[Q]] "a0 (s0 s1) a2 a3 -> a0 s0 s1 a2 a3" {s0 = 2, s1 = 4} : tensor<2x8x16x4xf32> -> tensor<2x2x4x16x4xf32>
//       CHECK: %[[OS:.*]] = attn.rearrange %{{.*}} "a0 (s0 s1) a2 a3 -> a0 s0 s1 a2 a3" {s0 = 2, s1 = 4} : tensor<2x8x16x4xf32> -> tensor<2x2x4x16x4xf32>
//       CHECK: %[[O:.*]] = attn.attention ins(%[[QS]], %[[K]], %[[V]] : tensor<2x2x4x16x4xf32>, tensor<2x2x16x4xf32>, tensor<2x2x16x4xf32>) mask(%[[M]] : tensor<2x1x16x16xf32>) outs(%[[OS]] : tensor<2x2x4x16x4xf32>)
//  CHECK-SAME: affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3, d4)>
//  CHECK-SAME: affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d5, d4)>
//  CHECK-SAME: affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d5, d6)>
//  CHECK-SAME: affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, 0, d3, d5)>
//  CHECK-SAME: affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3, d6)>
//       CHECK: %[[R:.*]] = attn.rearrange %[[O]] "a0 s0 s1 a2 a3 -> a0 (s0 s1) a2 a3" {s0 = 2, s1 = 4} : tensor<2x2x4x16x4xf32> -> tensor<2x8x16x4xf32>
//       CHECK: return %[[R]]
func.func @repeat_kv(%q: tensor<2x8x16x4xf32>, %k: tensor<2x2x16x4xf32>, %v: tensor<2x2x16x4xf32>, %m: tensor<2x1x16x16xf32>) -> tensor<2x8x16x4xf32> {
  %e = tensor.empty() : tensor<2x2x4x16x4xf32>
  %bk = linalg.broadcast ins(%k : tensor<2x2x16x4xf32>) outs(%e : tensor<2x2x4x16x4xf32>) dimensions = [2]
  %bv = linalg.broadcast ins(%v : tensor<2x2x16x4xf32>) outs(%e : tensor<2x2x4x16x4xf32>) dimensions = [2]
  %rk = attn.rearrange %bk "b h g n d -> b (h g) n d" : tensor<2x2x4x16x4xf32> -> tensor<2x8x16x4xf32>
  %rv = attn.rearrange %bv "b h g n d -> b (h g) n d" : tensor<2x2x4x16x4xf32> -> tensor<2x8x16x4xf32>
  %init = tensor.empty() : tensor<2x8x16x4xf32>
  %o = attn.attention ins(%q, %rk, %rv : tensor<2x8x16x4xf32>, tensor<2x8x16x4xf32>, tensor<2x8x16x4xf32>)
      mask(%m : tensor<2x1x16x16xf32>) outs(%init : tensor<2x8x16x4xf32>) scale(0.5) -> tensor<2x8x16x4xf32>
  return %o : tensor<2x8x16x4xf32>
}

// -----

// k.repeat(1, 3, 1, 1) as the frontend writes it: size-1 dimensions around a
// broadcast, merged (g h). The kv head is the inner factor; a mask with
// every head is viewed split like q.
// CHECK-LABEL: func.func @repeat_tiles
//  CHECK-SAME: (%[[Q:.*]]: tensor<1x6x8x4xf32>, %[[K:.*]]: tensor<1x2x8x4xf32>, %[[M:.*]]: tensor<1x6x8x8xi1>)
//   CHECK-NOT: linalg.broadcast
//       CHECK: %[[QS:.*]] = attn.rearrange %[[Q]] "a0 (s0 s1) a2 a3 -> a0 s0 s1 a2 a3" {s0 = 3, s1 = 2}
//       CHECK: %[[MS:.*]] = attn.rearrange %[[M]] "a0 (s0 s1) a2 a3 -> a0 s0 s1 a2 a3" {s0 = 3, s1 = 2}
//       CHECK: attn.attention ins(%[[QS]], %[[K]], %[[K]] : tensor<1x3x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) mask(%[[MS]] : tensor<1x3x2x8x8xi1>)
//  CHECK-SAME: affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d2, d5, d4)>
//  CHECK-SAME: affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (0, d2, d5, d6)>
//  CHECK-SAME: affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (0, d1, d2, d3, d5)>
func.func @repeat_tiles(%q: tensor<1x6x8x4xf32>, %k: tensor<1x2x8x4xf32>, %m: tensor<1x6x8x8xi1>) -> tensor<1x6x8x4xf32> {
  %r = attn.rearrange %k "b h n d -> 1 b h 1 n 1 d" : tensor<1x2x8x4xf32> -> tensor<1x1x2x1x8x1x4xf32>
  %e = tensor.empty() : tensor<1x1x3x2x1x8x1x4xf32>
  %b = linalg.broadcast ins(%r : tensor<1x1x2x1x8x1x4xf32>) outs(%e : tensor<1x1x3x2x1x8x1x4xf32>) dimensions = [2]
  %rk = attn.rearrange %b "1 a1 a2 a3 1 a5 1 a7 -> a1 (a2 a3) a5 a7" : tensor<1x1x3x2x1x8x1x4xf32> -> tensor<1x6x8x4xf32>
  %init = tensor.empty() : tensor<1x6x8x4xf32>
  %o = attn.attention ins(%q, %rk, %rk : tensor<1x6x8x4xf32>, tensor<1x6x8x4xf32>, tensor<1x6x8x4xf32>)
      mask(%m : tensor<1x6x8x8xi1>) outs(%init : tensor<1x6x8x4xf32>) scale(0.5) -> tensor<1x6x8x4xf32>
  return %o : tensor<1x6x8x4xf32>
}

// -----

// MQA: one key/value head expanded over the heads; the maps leave the head
// dimension out. The mask broadcast over heads is read in place too.
// CHECK-LABEL: func.func @mqa
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x4x8x4xf32>, %[[K:.*]]: tensor<2x8x4xf32>, %[[V:.*]]: tensor<2x8x4xf32>, %[[M:.*]]: tensor<2x8x8xf32>)
//   CHECK-NOT: linalg.broadcast
//       CHECK: attn.attention ins(%[[Q]], %[[K]], %[[V]] : tensor<2x4x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>) mask(%[[M]] : tensor<2x8x8xf32>)
//  CHECK-SAME: affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d4, d3)>
//  CHECK-SAME: affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d4, d5)>
//  CHECK-SAME: affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d2, d4)>
func.func @mqa(%q: tensor<2x4x8x4xf32>, %k: tensor<2x8x4xf32>, %v: tensor<2x8x4xf32>, %m: tensor<2x8x8xf32>) -> tensor<2x4x8x4xf32> {
  %e = tensor.empty() : tensor<2x4x8x4xf32>
  %bk = linalg.broadcast ins(%k : tensor<2x8x4xf32>) outs(%e : tensor<2x4x8x4xf32>) dimensions = [1]
  %bv = linalg.broadcast ins(%v : tensor<2x8x4xf32>) outs(%e : tensor<2x4x8x4xf32>) dimensions = [1]
  %em = tensor.empty() : tensor<2x4x8x8xf32>
  %bm = linalg.broadcast ins(%m : tensor<2x8x8xf32>) outs(%em : tensor<2x4x8x8xf32>) dimensions = [1]
  %o = attn.attention ins(%q, %bk, %bv : tensor<2x4x8x4xf32>, tensor<2x4x8x4xf32>, tensor<2x4x8x4xf32>)
      mask(%bm : tensor<2x4x8x8xf32>) outs(%e : tensor<2x4x8x4xf32>) scale(0.5) -> tensor<2x4x8x4xf32>
  return %o : tensor<2x4x8x4xf32>
}

// -----

// A score_mod reading the head index: after the split it recomputes the
// merged head h * 2 + g from the two factors (ALiBi's slope per head).
// CHECK-LABEL: func.func @score_mod_head
//       CHECK: %[[C2:.*]] = arith.constant 2 : index
//       CHECK: attn.attention
//  CHECK-SAME: score_mod {
//       CHECK: ^bb0(%[[S:.*]]: f32, %[[B:.*]]: index, %[[H:.*]]: index, %[[G:.*]]: index, %[[I:.*]]: index, %[[J:.*]]: index):
//       CHECK:   %[[HM:.*]] = arith.muli %[[H]], %[[C2]] : index
//       CHECK:   %[[HEAD:.*]] = arith.addi %[[HM]], %[[G]] : index
//       CHECK:   arith.index_cast %[[HEAD]] : index to i64
func.func @score_mod_head(%q: tensor<1x4x8x4xf32>, %k: tensor<1x2x8x4xf32>) -> tensor<1x4x8x4xf32> {
  %e = tensor.empty() : tensor<1x2x2x8x4xf32>
  %bk = linalg.broadcast ins(%k : tensor<1x2x8x4xf32>) outs(%e : tensor<1x2x2x8x4xf32>) dimensions = [2]
  %rk = attn.rearrange %bk "b h g n d -> b (h g) n d" : tensor<1x2x2x8x4xf32> -> tensor<1x4x8x4xf32>
  %init = tensor.empty() : tensor<1x4x8x4xf32>
  %o = attn.attention ins(%q, %rk, %rk : tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>)
      outs(%init : tensor<1x4x8x4xf32>) scale(0.5) score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %hi = arith.index_cast %h : index to i64
    %hf = arith.sitofp %hi : i64 to f32
    %r = arith.addf %s, %hf : f32
    attn.yield %r : f32
  } -> tensor<1x4x8x4xf32>
  return %o : tensor<1x4x8x4xf32>
}

// -----

// Not folded: keys broadcast along the key sequence (the key map must read
// K2) and a merge that is not of a broadcast (nothing to read in place).
// CHECK-LABEL: func.func @negative
//       CHECK: %[[BK:.*]] = linalg.broadcast
//       CHECK: %[[RV:.*]] = attn.rearrange %{{.*}} "b h g n d -> b (h g) n d"
//       CHECK: attn.attention ins(%{{.*}}, %[[BK]], %[[RV]] : tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>)
//   CHECK-NOT: indexing_maps
func.func @negative(%q: tensor<1x4x8x4xf32>, %k: tensor<1x4x4xf32>, %v: tensor<1x2x2x8x4xf32>) -> tensor<1x4x8x4xf32> {
  %e = tensor.empty() : tensor<1x4x8x4xf32>
  %bk = linalg.broadcast ins(%k : tensor<1x4x4xf32>) outs(%e : tensor<1x4x8x4xf32>) dimensions = [2]
  %rv = attn.rearrange %v "b h g n d -> b (h g) n d" : tensor<1x2x2x8x4xf32> -> tensor<1x4x8x4xf32>
  %o = attn.attention ins(%q, %bk, %rv : tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>)
      outs(%e : tensor<1x4x8x4xf32>) scale(0.5) -> tensor<1x4x8x4xf32>
  return %o : tensor<1x4x8x4xf32>
}

// -----

// A view of a broadcast that also moves elements folds too: the merge in
// the other order, (g h) of a [b, h, g] broadcast, and eager Llama's
// transposed keys (k.transpose(2, 3) after repeat_kv).
// CHECK-LABEL: func.func @transposed_views
//  CHECK-SAME: (%[[Q:.*]]: tensor<1x4x8x4xf32>, %[[K:.*]]: tensor<1x2x8x4xf32>, %[[V:.*]]: tensor<1x2x8x4xf32>)
//   CHECK-NOT: linalg.broadcast
//       CHECK: attn.attention ins(%{{.*}}, %[[K]], %[[V]] : tensor<1x2x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
//  CHECK-SAME: affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d2, d5, d4)>
//  CHECK-SAME: affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (0, d2, d5, d6)>
func.func @transposed_views(%q: tensor<1x4x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x4x8x4xf32> {
  %e = tensor.empty() : tensor<1x2x2x8x4xf32>
  %bk = linalg.broadcast ins(%k : tensor<1x2x8x4xf32>) outs(%e : tensor<1x2x2x8x4xf32>) dimensions = [2]
  %kt = attn.rearrange %bk "b h g n d -> b (g h) d n" : tensor<1x2x2x8x4xf32> -> tensor<1x4x4x8xf32>
  %bv = linalg.broadcast ins(%v : tensor<1x2x8x4xf32>) outs(%e : tensor<1x2x2x8x4xf32>) dimensions = [2]
  %rv = attn.rearrange %bv "b h g n d -> b (g h) n d" : tensor<1x2x2x8x4xf32> -> tensor<1x4x8x4xf32>
  %init = tensor.empty() : tensor<1x4x8x4xf32>
  %o = attn.attention ins(%q, %kt, %rv : tensor<1x4x8x4xf32>, tensor<1x4x4x8xf32>, tensor<1x4x8x4xf32>)
      outs(%init : tensor<1x4x8x4xf32>) scale(0.5) {indexing_maps = [
        affine_map<(b, h, m, k1, k2, n) -> (b, h, m, k1)>,
        affine_map<(b, h, m, k1, k2, n) -> (b, h, k1, k2)>,
        affine_map<(b, h, m, k1, k2, n) -> (b, h, k2, n)>,
        affine_map<(b, h, m, k1, k2, n) -> (b, h, m, n)>]} -> tensor<1x4x8x4xf32>
  return %o : tensor<1x4x8x4xf32>
}

// -----

// Not folded: a transposing view of an ordinary operand (its layout is not
// this pass's choice).
// CHECK-LABEL: func.func @transposed_operand
//       CHECK: %[[KT:.*]] = attn.rearrange %{{.*}} "b n h d -> b h n d"
//       CHECK: attn.attention ins(%{{.*}}, %[[KT]], %[[KT]] :
//   CHECK-NOT: indexing_maps
func.func @transposed_operand(%q: tensor<1x4x8x4xf32>, %k: tensor<1x8x4x4xf32>) -> tensor<1x4x8x4xf32> {
  %kt = attn.rearrange %k "b n h d -> b h n d" : tensor<1x8x4x4xf32> -> tensor<1x4x8x4xf32>
  %init = tensor.empty() : tensor<1x4x8x4xf32>
  %o = attn.attention ins(%q, %kt, %kt : tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>)
      outs(%init : tensor<1x4x8x4xf32>) scale(0.5) -> tensor<1x4x8x4xf32>
  return %o : tensor<1x4x8x4xf32>
}
