// RUN: attn-opt %s --attn-tile-attention="q-tile=32 kv-tile=16" --canonicalize --split-input-file | FileCheck %s
// attn-tile-attention: an scf.forall over (batch..., query blocks), mapped
// #attn.flash_nest, whose iterations are tiles of the attention (unit batch
// dimensions dropped); each tile reduces its keys with one
// attn.online_attention per block of keys and writes acc / l into its slice
// of the output. No Sq x Sk tensor exists.
// CHECK-NOT: {{256x256|70x50|64x64xf32}}

// Causal f16, Sq = Sk = 256: 8 query blocks of 32, key blocks of 16 up to
// the block's last query; the steps see global positions through offsets
// (batch b, head h, query block start, key block start).
// CHECK-LABEL: func.func @causal_f16
//  CHECK-SAME: (%[[Q:.*]]: tensor<1x2x256x64xf16>, %[[K:.*]]: tensor<1x2x256x64xf16>, %[[V:.*]]: tensor<1x2x256x64xf16>)
//   CHECK-DAG: %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
//   CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
//   CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
//   CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
//       CHECK: %[[INIT:.*]] = tensor.empty() : tensor<1x2x256x64xf16>
//       CHECK: %[[RES:.*]] = scf.forall (%[[B:.*]], %[[H:.*]], %[[QB:.*]]) in (1, 2, 8) shared_outs(%[[OUT:.*]] = %[[INIT]]) -> (tensor<1x2x256x64xf16>)
//       CHECK:   %[[QS:.*]] = arith.muli %[[QB]], %[[C32]] : index
//       CHECK:   %[[QT:.*]] = tensor.extract_slice %[[Q]][0, %[[H]], %[[QS]], 0] [1, 1, 32, 64] [1, 1, 1, 1] : tensor<1x2x256x64xf16> to tensor<32x64xf16>
//       CHECK:   %[[KH:.*]] = tensor.extract_slice %[[K]][0, %[[H]], 0, 0] [1, 1, 256, 64] [1, 1, 1, 1] : tensor<1x2x256x64xf16> to tensor<256x64xf16>
//       CHECK:   %[[VH:.*]] = tensor.extract_slice %[[V]][0, %[[H]], 0, 0] [1, 1, 256, 64] [1, 1, 1, 1] : tensor<1x2x256x64xf16> to tensor<256x64xf16>
//       CHECK:   %[[OT:.*]] = tensor.extract_slice %[[OUT]][0, %[[H]], %[[QS]], 0] [1, 1, 32, 64] [1, 1, 1, 1] : tensor<1x2x256x64xf16> to tensor<32x64xf16>
//       CHECK:   %[[M0:.*]] = linalg.fill ins(%[[NEG_INF]] : f32) outs(%{{.*}} : tensor<32xf32>)
//       CHECK:   %[[L0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<32xf32>)
//       CHECK:   %[[A0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<32x64xf32>)
// The causal bound: keys j < min(Sk, qs + 32), a multiple of the key tile.
//       CHECK:   %[[QE:.*]] = arith.addi %[[QS]], %[[C32]] : index
//       CHECK:   %[[KEND:.*]] = arith.minsi %[[QE]], %[[C256]] : index
//       CHECK:   %[[LOOP:.*]]:3 = scf.for %[[KS:.*]] = %{{.*}} to %[[KEND]] step %[[C16]] iter_args(%[[M:.*]] = %[[M0]], %[[L:.*]] = %[[L0]], %[[ACC:.*]] = %[[A0]]) -> (tensor<32xf32>, tensor<32xf32>, tensor<32x64xf32>)
//       CHECK:     %[[KT:.*]] = tensor.extract_slice %[[KH]][%[[KS]], 0] [16, 64] [1, 1] : tensor<256x64xf16> to tensor<16x64xf16>
//       CHECK:     %[[VT:.*]] = tensor.extract_slice %[[VH]][%[[KS]], 0] [16, 64] [1, 1] : tensor<256x64xf16> to tensor<16x64xf16>
//       CHECK:     %[[A:.*]], %[[MX:.*]], %[[S:.*]] = attn.online_attention ins(%[[QT]], %[[KT]], %[[VT]] : tensor<32x64xf16>, tensor<16x64xf16>, tensor<16x64xf16>) outs(%[[ACC]], %[[M]], %[[L]] : tensor<32x64xf32>, tensor<32xf32>, tensor<32xf32>) scale(1.250000e-01) causal offsets(%{{.*}}, %[[H]], %[[QS]], %[[KS]])
//       CHECK:     scf.yield %[[MX]], %[[S]], %[[A]] : tensor<32xf32>, tensor<32xf32>, tensor<32x64xf32>
// out = acc / l, 0 where l == 0, rounded to f16 once, into the tile's slice.
//       CHECK:   %[[O:.*]] = linalg.generic {{.*}} ins(%[[LOOP]]#2, %[[LOOP]]#1 : tensor<32x64xf32>, tensor<32xf32>) outs(%[[OT]] : tensor<32x64xf16>)
//       CHECK:     arith.cmpf oeq
//       CHECK:     arith.divf
//       CHECK:     arith.select
//       CHECK:     arith.truncf %{{.*}} : f32 to f16
//       CHECK:   scf.forall.in_parallel
//       CHECK:     tensor.parallel_insert_slice %[[O]] into %[[OUT]][0, %[[H]], %[[QS]], 0] [1, 1, 32, 64] [1, 1, 1, 1] : tensor<32x64xf16> into tensor<1x2x256x64xf16>
//       CHECK: } {mapping = [#attn.flash_nest<0>, #attn.flash_nest<1>, #attn.flash_nest<2>]}
//       CHECK: return %[[RES]]
func.func @causal_f16(%q: tensor<1x2x256x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x64xf16>) -> tensor<1x2x256x64xf16> {
  %init = tensor.empty() : tensor<1x2x256x64xf16>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>)
      outs(%init : tensor<1x2x256x64xf16>) scale(0.125) causal -> tensor<1x2x256x64xf16>
  return %o : tensor<1x2x256x64xf16>
}

// -----

// Odd sizes (Sq = 70, Sk = 50): the two full query blocks of 32 and the
// partial one of 6 are separate nests, and in each the full key blocks (up
// to 48) are a loop and the partial one of 2 one step after it, so every
// tile has a static shape. f32 queries are scaled once per query block (the
// steps then have scale 1). A broadcast [B, 1, Sk] boolean mask is sliced
// per key block, its size-1 query dimension dropped like the batch one.
// CHECK-LABEL: func.func @odd_masked
//  CHECK-SAME: (%[[Q:.*]]: tensor<3x70x16xf32>, %[[K:.*]]: tensor<3x50x16xf32>, %[[V:.*]]: tensor<3x50x8xf32>, %[[MASK:.*]]: tensor<3x1x50xi1>)
//   CHECK-DAG: %[[SCALE:.*]] = arith.constant 2.500000e-01 : f32
//   CHECK-DAG: %[[C48:.*]] = arith.constant 48 : index
//       CHECK: %[[FULL:.*]] = scf.forall (%[[B:.*]], %[[QB:.*]]) in (3, 2) shared_outs
//       CHECK:   %[[QT:.*]] = tensor.extract_slice %[[Q]][%[[B]], %{{.*}}, 0] [1, 32, 16] [1, 1, 1] : tensor<3x70x16xf32> to tensor<32x16xf32>
//       CHECK:   %[[MB:.*]] = tensor.extract_slice %[[MASK]][%[[B]], 0, 0] [1, 1, 50] [1, 1, 1] : tensor<3x1x50xi1> to tensor<50xi1>
//       CHECK:   %[[QSC:.*]] = linalg.generic {{.*}} ins(%[[QT]] : tensor<32x16xf32>) outs(%{{.*}} : tensor<32x16xf32>)
//       CHECK:     arith.mulf %{{.*}}, %[[SCALE]] : f32
//       CHECK:   %[[LOOP:.*]]:3 = scf.for %[[KS:.*]] = %{{.*}} to %[[C48]] step %{{.*}} iter_args
//       CHECK:     %[[MT:.*]] = tensor.extract_slice %[[MB]][%[[KS]]] [16] [1] : tensor<50xi1> to tensor<16xi1>
//       CHECK:     attn.online_attention ins(%[[QSC]], %{{.*}}, %{{.*}} : tensor<32x16xf32>, tensor<16x16xf32>, tensor<16x8xf32>) mask(%[[MT]] : tensor<16xi1>) outs({{.*}}) scale(1.000000e+00) {indexing_maps = {{.*}}} ->
//       CHECK:   attn.online_attention ins(%[[QSC]], %{{.*}}, %{{.*}} : tensor<32x16xf32>, tensor<2x16xf32>, tensor<2x8xf32>) mask(%{{.*}} : tensor<2xi1>) outs(%[[LOOP]]#2, %[[LOOP]]#0, %[[LOOP]]#1 : {{.*}}) scale(1.000000e+00) {indexing_maps = {{.*}}} ->
//       CHECK: } {mapping = [#attn.flash_nest<0>, #attn.flash_nest<1>]}
//       CHECK: scf.forall (%{{.*}}, %{{.*}}) in (3, 1) shared_outs(%{{.*}} = %[[FULL]])
//       CHECK:   tensor.extract_slice %[[Q]][%{{.*}}, 64, 0] [1, 6, 16] [1, 1, 1] : tensor<3x70x16xf32> to tensor<6x16xf32>
//       CHECK:   attn.online_attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<6x16xf32>, tensor<2x16xf32>, tensor<2x8xf32>)
func.func @odd_masked(%q: tensor<3x70x16xf32>, %k: tensor<3x50x16xf32>, %v: tensor<3x50x8xf32>, %m: tensor<3x1x50xi1>) -> tensor<3x70x8xf32> {
  %init = tensor.empty() : tensor<3x70x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<3x70x16xf32>, tensor<3x50x16xf32>, tensor<3x50x8xf32>) mask(%m : tensor<3x1x50xi1>)
      outs(%init : tensor<3x70x8xf32>) scale(0.25) -> tensor<3x70x8xf32>
  return %o : tensor<3x70x8xf32>
}

// -----

// A single key block (Sk = 16): one step on the initial running values
// (which the decomposition recognises: nothing to rescale).
// CHECK-LABEL: func.func @one_key_block
//   CHECK-NOT: scf.for {{.*}} iter_args
//       CHECK: %[[M0:.*]] = linalg.fill
//       CHECK: %[[L0:.*]] = linalg.fill
//       CHECK: %[[A0:.*]] = linalg.fill
//       CHECK: attn.online_attention {{.*}} outs(%[[A0]], %[[M0]], %[[L0]] :
func.func @one_key_block(%q: tensor<4x32x8xf32>, %k: tensor<4x16x8xf32>, %v: tensor<4x16x8xf32>) -> tensor<4x32x8xf32> {
  %init = tensor.empty() : tensor<4x32x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<4x32x8xf32>, tensor<4x16x8xf32>, tensor<4x16x8xf32>)
      outs(%init : tensor<4x32x8xf32>) scale(1.0) -> tensor<4x32x8xf32>
  return %o : tensor<4x32x8xf32>
}

// -----

// A causal sliding window and key lengths bound each query block's keys by
// values known per block: from the first key block of the window of the
// block's first query to the least of Sk, the causal limit and the length
// (read once per batch element); full blocks in one loop, the rest in a
// second. The lse is normalised next to the output.
// CHECK-LABEL: func.func @window_lengths_lse
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x64x16xf32>, %[[LEN:.*]]: tensor<2xi32>)
//   CHECK-DAG: %[[C20:.*]] = arith.constant 20 : index
//   CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
//       CHECK: scf.forall (%[[B:.*]], %[[QB:.*]]) in (2, 2) shared_outs(%[[OUT:.*]] = %{{.*}}, %[[LSE:.*]] = %{{.*}})
//       CHECK:   %[[QS:.*]] = arith.muli %[[QB]]
//       CHECK:   %[[LB:.*]] = tensor.extract_slice %[[LEN]][%[[B]]] [1] [1] : tensor<2xi32> to tensor<i32>
//       CHECK:   %[[LT:.*]] = tensor.extract_slice %[[LSE]][%[[B]], %[[QS]]] [1, 32] [1, 1] : tensor<2x64xf32> to tensor<32xf32>
//       CHECK:   %[[FIRST:.*]] = arith.subi %[[QS]], %[[C20]] : index
//       CHECK:   %[[FIRST0:.*]] = arith.maxsi %[[FIRST]], %{{.*}} : index
//       CHECK:   %[[BLK:.*]] = arith.divui %[[FIRST0]], %[[C16]] : index
//       CHECK:   %[[BEGIN:.*]] = arith.muli %[[BLK]], %[[C16]] : index
//       CHECK:   %[[L:.*]] = tensor.extract %[[LB]][] : tensor<i32>
//       CHECK:   %[[LI:.*]] = arith.index_cast %[[L]] : i32 to index
//       CHECK:   %[[END0:.*]] = arith.minsi %{{.*}}, %[[LI]] : index
//       CHECK:   %[[END:.*]] = arith.maxsi %[[END0]], %[[BEGIN]] : index
//       CHECK:   %[[FULLEND:.*]] = arith.addi %[[BEGIN]], %{{.*}} : index
//       CHECK:   %[[R1:.*]]:3 = scf.for %[[KS:.*]] = %[[BEGIN]] to %[[FULLEND]] step %[[C16]]
//       CHECK:     attn.online_attention {{.*}} key_lengths(%[[LB]] : tensor<i32>) outs({{.*}}) scale(1.000000e+00) causal window([20, 0]) offsets(%[[B]], %[[QS]], %[[KS]])
//       CHECK:   %[[R2:.*]]:3 = scf.for %[[KS2:.*]] = %[[FULLEND]] to %[[END]] step %[[C16]]
//       CHECK:     arith.minsi
//       CHECK:     attn.online_attention ins({{.*}} : tensor<32x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>)
// lse = m + log(l), -inf for a row that kept no key (l = 0).
//       CHECK:   linalg.generic {{.*}} ins(%[[R2]]#0, %[[R2]]#1 : tensor<32xf32>, tensor<32xf32>) outs(%[[LT]] : tensor<32xf32>)
//       CHECK:     math.log
//       CHECK:     arith.addf
//       CHECK:   scf.forall.in_parallel
//       CHECK:     tensor.parallel_insert_slice
//       CHECK:     tensor.parallel_insert_slice %{{.*}} into %[[LSE]][%[[B]], %[[QS]]] [1, 32] [1, 1] : tensor<32xf32> into tensor<2x64xf32>
func.func @window_lengths_lse(%q: tensor<2x64x16xf32>, %len: tensor<2xi32>) -> (tensor<2x64x16xf32>, tensor<2x64xf32>) {
  %init = tensor.empty() : tensor<2x64x16xf32>
  %lse = tensor.empty() : tensor<2x64xf32>
  %o:2 = attn.attention ins(%q, %q, %q : tensor<2x64x16xf32>, tensor<2x64x16xf32>, tensor<2x64x16xf32>)
      key_lengths(%len : tensor<2xi32>)
      outs(%init : tensor<2x64x16xf32>) lse(%lse : tensor<2x64xf32>) scale(1.0) causal window([20, 0])
      -> tensor<2x64x16xf32>, tensor<2x64xf32>
  return %o#0, %o#1 : tensor<2x64x16xf32>, tensor<2x64xf32>
}

// -----

// Block-sparse with blocks of 32 x 32 (tiles 32 x 16 lie within one block):
// a key block is computed only where the block mask keeps its block.
// CHECK-LABEL: func.func @block_sparse
//  CHECK-SAME: %[[BM:[^:]*]]: tensor<2x3xi1>)
//       CHECK: scf.for %[[KS:.*]] = {{.*}} iter_args(%[[M:.*]] = %{{.*}}, %[[L:.*]] = %{{.*}}, %[[ACC:.*]] = %{{.*}})
//       CHECK:   %[[BI:.*]] = arith.divui %{{.*}}, %c32 : index
//       CHECK:   %[[BJ:.*]] = arith.divui %[[KS]], %c32 : index
//       CHECK:   %[[KEEP:.*]] = tensor.extract %[[BM]][%[[BI]], %[[BJ]]] : tensor<2x3xi1>
//       CHECK:   %[[R:.*]]:3 = scf.if %[[KEEP]]
//       CHECK:     attn.online_attention {{.*}} block_mask(%[[BM]] : tensor<2x3xi1>)
//       CHECK:   } else {
//       CHECK:     scf.yield %[[M]], %[[L]], %[[ACC]]
func.func @block_sparse(%q: tensor<64x16xf32>, %k: tensor<96x16xf32>, %blocks: tensor<2x3xi1>) -> tensor<64x16xf32> {
  %init = tensor.empty() : tensor<64x16xf32>
  %o = attn.attention ins(%q, %k, %k : tensor<64x16xf32>, tensor<96x16xf32>, tensor<96x16xf32>)
      block_mask(%blocks : tensor<2x3xi1>) outs(%init : tensor<64x16xf32>) scale(1.0) block_sizes([32, 32])
      -> tensor<64x16xf32>
  return %o : tensor<64x16xf32>
}

// -----

// GQA through the maps: the keys and values have no group dimension, so the
// tile of (b, h, g) reads key head h in place, for every g.
// CHECK-LABEL: func.func @gqa
//  CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x32x8xf32>, %[[K:.*]]: tensor<1x2x32x8xf32>, %{{.*}}: tensor<1x2x32x8xf32>)
//       CHECK: scf.forall (%[[B:.*]], %[[H:.*]], %[[G:.*]], %{{.*}}) in (1, 2, 4, 1)
//       CHECK:   tensor.extract_slice %[[Q]][0, %[[H]], %[[G]], 0, 0] [1, 1, 1, 32, 8] [1, 1, 1, 1, 1] : tensor<1x2x4x32x8xf32> to tensor<32x8xf32>
//       CHECK:   tensor.extract_slice %[[K]][0, %[[H]], 0, 0] [1, 1, 32, 8] [1, 1, 1, 1] : tensor<1x2x32x8xf32> to tensor<32x8xf32>
func.func @gqa(%q: tensor<1x2x4x32x8xf32>, %k: tensor<1x2x32x8xf32>, %v: tensor<1x2x32x8xf32>) -> tensor<1x2x4x32x8xf32> {
  %init = tensor.empty() : tensor<1x2x4x32x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x4x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>)
      outs(%init : tensor<1x2x4x32x8xf32>) scale(1.0) {indexing_maps = [
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, g, m, k1)>,
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, k2, k1)>,
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, k2, n)>,
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, g, m, n)>]} -> tensor<1x2x4x32x8xf32>
  return %o : tensor<1x2x4x32x8xf32>
}

// -----

// GQA with a mask broadcast over batch and heads (read at constant 0s): the
// tile's mask slice drops those size-1 dimensions with the unit batch ones,
// so its map has no more results than the tile has dimensions.
// CHECK-LABEL: func.func @gqa_broadcast_mask
//  CHECK-SAME: %[[M:[^:]*]]: tensor<1x1x1x32x32xf32>)
//       CHECK: scf.forall (%{{.*}}, %[[H:.*]], %[[G:.*]], %{{.*}}) in (1, 2, 2, 1)
//       CHECK:   %[[MT:.*]] = tensor.extract_slice %[[M]][0, 0, 0, 0, 0] [1, 1, 1, 32, 32] [1, 1, 1, 1, 1] : tensor<1x1x1x32x32xf32> to tensor<32x32xf32>
//       CHECK:   tensor.extract_slice %[[MT]][0, %{{.*}}] [32, 16] [1, 1] : tensor<32x32xf32> to tensor<32x16xf32>
//       CHECK:   attn.online_attention ins({{.*}} : tensor<32x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>) mask(%{{.*}} : tensor<32x16xf32>)
func.func @gqa_broadcast_mask(%q: tensor<1x2x2x32x8xf32>, %k: tensor<1x2x32x8xf32>, %v: tensor<1x2x32x8xf32>, %m: tensor<1x1x1x32x32xf32>) -> tensor<1x2x2x32x8xf32> {
  %init = tensor.empty() : tensor<1x2x2x32x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>)
      mask(%m : tensor<1x1x1x32x32xf32>)
      outs(%init : tensor<1x2x2x32x8xf32>) scale(1.0) {indexing_maps = [
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, g, m, k1)>,
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, k2, k1)>,
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, k2, n)>,
        affine_map<(b, hk, g, m, k1, k2, n) -> (0, 0, 0, m, k2)>,
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, g, m, n)>]} -> tensor<1x2x2x32x8xf32>
  return %o : tensor<1x2x2x32x8xf32>
}
