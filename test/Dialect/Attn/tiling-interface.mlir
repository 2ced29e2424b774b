// RUN: attn-opt %s --transform-interpreter --canonicalize --split-input-file | FileCheck %s
// The TilingInterface of the attention ops, driven by upstream's transform
// dialect tiling: attn.attention along its parallel dimensions (batch and
// queries, scf.forall), attn.online_attention along its keys as a
// reduction (scf.for carrying the running output, max and sum). Tiles read
// global positions through `offsets` when their scores depend on them.

// CHECK-DAG:   #[[ROWS:.*]] = affine_map<(d0) -> (d0 * 32)>
// CHECK-LABEL: func.func @tile_parallel
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x64x16xf32>, %[[K:.*]]: tensor<2x48x16xf32>, %[[V:.*]]: tensor<2x48x8xf32>)
//       CHECK: scf.forall (%[[B:.*]], %[[I:.*]]) in (2, 2) shared_outs(%[[OUT:.*]] = %{{.*}})
//       CHECK:   %[[I0:.*]] = affine.apply #[[ROWS]](%[[I]])
//       CHECK:   %[[QT:.*]] = tensor.extract_slice %[[Q]][%[[B]], %[[I0]], 0] [1, 32, 16] [1, 1, 1] : tensor<2x64x16xf32> to tensor<1x32x16xf32>
//       CHECK:   %[[KT:.*]] = tensor.extract_slice %[[K]][%[[B]], 0, 0] [1, 48, 16] [1, 1, 1] : tensor<2x48x16xf32> to tensor<1x48x16xf32>
//       CHECK:   %[[VT:.*]] = tensor.extract_slice %[[V]][%[[B]], 0, 0] [1, 48, 8] [1, 1, 1] : tensor<2x48x8xf32> to tensor<1x48x8xf32>
//       CHECK:   %[[OT:.*]] = tensor.extract_slice %[[OUT]][%[[B]], %[[I0]], 0] [1, 32, 8] [1, 1, 1]
//       CHECK:   %[[R:.*]] = attn.attention ins(%[[QT]], %[[KT]], %[[VT]] : tensor<1x32x16xf32>, tensor<1x48x16xf32>, tensor<1x48x8xf32>) outs(%[[OT]] : tensor<1x32x8xf32>) scale(5.000000e-01) causal offsets(%[[B]], %[[I0]], %{{.*}}) -> tensor<1x32x8xf32>
//       CHECK:   tensor.parallel_insert_slice %[[R]] into %[[OUT]][%[[B]], %[[I0]], 0] [1, 32, 8] [1, 1, 1]
func.func @tile_parallel(%q: tensor<2x64x16xf32>, %k: tensor<2x48x16xf32>, %v: tensor<2x48x8xf32>) -> tensor<2x64x8xf32> {
  %init = tensor.empty() : tensor<2x64x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x64x16xf32>, tensor<2x48x16xf32>, tensor<2x48x8xf32>)
      outs(%init : tensor<2x64x8xf32>) scale(0.5) causal -> tensor<2x64x8xf32>
  return %o : tensor<2x64x8xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["attn.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    %t, %l = transform.structured.tile_using_forall %a tile_sizes [1, 32, 0, 0, 0] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// The keys of the online form as a reduction: each step reads 16 keys and
// updates the carried running values; the key position is the loop's.
// CHECK-LABEL: func.func @tile_keys
//  CHECK-SAME: (%[[Q:.*]]: tensor<32x16xf32>, %[[K:.*]]: tensor<48x16xf32>, %[[V:.*]]: tensor<48x8xf32>, %[[ACC:.*]]: tensor<32x8xf32>, %[[M:.*]]: tensor<32xf32>, %[[L:.*]]: tensor<32xf32>)
//       CHECK: scf.for %[[J:.*]] = %{{.*}} to %c48 step %c16 iter_args(%[[A:.*]] = %[[ACC]], %[[MX:.*]] = %[[M]], %[[S:.*]] = %[[L]])
//       CHECK:   %[[KT:.*]] = tensor.extract_slice %[[K]][%[[J]], 0] [16, 16] [1, 1]
//       CHECK:   %[[VT:.*]] = tensor.extract_slice %[[V]][%[[J]], 0] [16, 8] [1, 1]
//       CHECK:   %[[RA:.*]], %[[RM:.*]], %[[RS:.*]] = attn.online_attention ins(%[[Q]], %[[KT]], %[[VT]] : tensor<32x16xf32>, tensor<16x16xf32>, tensor<16x8xf32>) outs(%[[A]], %[[MX]], %[[S]] : {{.*}}) scale(5.000000e-01) causal offsets(%{{.*}}, %[[J]])
//       CHECK:   scf.yield %[[RA]], %[[RM]], %[[RS]]
func.func @tile_keys(%q: tensor<32x16xf32>, %k: tensor<48x16xf32>, %v: tensor<48x8xf32>, %acc: tensor<32x8xf32>, %m: tensor<32xf32>, %l: tensor<32xf32>) -> (tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>) {
  %r:3 = attn.online_attention ins(%q, %k, %v : tensor<32x16xf32>, tensor<48x16xf32>, tensor<48x8xf32>)
      outs(%acc, %m, %l : tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>) scale(0.5) causal
      -> tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>
  return %r#0, %r#1, %r#2 : tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["attn.online_attention"]} in %root : (!transform.any_op) -> !transform.any_op
    %t, %l = transform.structured.tile_using_for %a tile_sizes [0, 0, 16, 0] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}
