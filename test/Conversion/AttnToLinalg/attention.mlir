// RUN: attn-opt %s --convert-attn-to-linalg="flash=false" --split-input-file | FileCheck %s
// attn.attention becomes the unfused reference: scores, one op for scale,
// mask and causal mask, the softmax generics, then P*V.

// CHECK-DAG: #[[Q:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[K:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[S:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[MASK:.*]] = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// CHECK-LABEL: func @dot_masked_causal
// CHECK-SAME: (%[[QV:.*]]: tensor<2x5x4xf32>, %[[KV:.*]]: tensor<2x6x4xf32>, %[[VV:.*]]: tensor<2x6x3xf32>, %[[MV:.*]]: tensor<2x1x6xi1>)
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[SC:.*]] = linalg.batch_matmul indexing_maps = [#[[Q]], #[[K]], #[[S]]] ins(%[[QV]], %[[KV]] : tensor<2x5x4xf32>, tensor<2x6x4xf32>) outs(%{{.*}} : tensor<2x5x6xf32>)
// CHECK: %[[MASKED:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[MASK]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[SC]], %[[MV]] : tensor<2x5x6xf32>, tensor<2x1x6xi1>)
// CHECK-NEXT: ^bb0(%[[SI:.*]]: f32, %[[MI:.*]]: i1, %{{.*}}: f32):
// CHECK-NEXT: %[[SS:.*]] = arith.mulf %[[SI]], %[[SCALE]] : f32
// CHECK-NEXT: %[[SM:.*]] = arith.select %[[MI]], %[[SS]], %[[NEGINF]] : f32
// CHECK-NEXT: %[[I:.*]] = linalg.index 1 : index
// CHECK-NEXT: %[[J:.*]] = linalg.index 2 : index
// CHECK-NEXT: %[[FUT:.*]] = arith.cmpi ugt, %[[J]], %[[I]] : index
// CHECK-NEXT: %[[SR:.*]] = arith.select %[[FUT]], %[[NEGINF]], %[[SM]] : f32
// CHECK-NEXT: linalg.yield %[[SR]]
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: %[[P:.*]] = linalg.generic
// CHECK: arith.divf
// CHECK: %[[O:.*]] = linalg.batch_matmul ins(%[[P]], %[[VV]] : tensor<2x5x6xf32>, tensor<2x6x3xf32>) outs(%{{.*}} : tensor<2x5x3xf32>)
// CHECK: return %[[O]]
func.func @dot_masked_causal(%q: tensor<2x5x4xf32>, %k: tensor<2x6x4xf32>, %v: tensor<2x6x3xf32>, %m: tensor<2x1x6xi1>) -> tensor<2x5x3xf32> {
  %0 = attn.attention %q, %k, %v mask(%m) scale(0.5) causal : (tensor<2x5x4xf32>, tensor<2x6x4xf32>, tensor<2x6x3xf32>, tensor<2x1x6xi1>) -> tensor<2x5x3xf32>
  return %0 : tensor<2x5x3xf32>
}

// -----

// Bahdanau scores: sum_d w[d] * tanh(q + k); a float mask is added.
// CHECK-DAG: #[[QM:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[KM:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[WM:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-DAG: #[[SM:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @additive
// CHECK-SAME: (%[[QV:.*]]: tensor<5x4xf32>, %[[KV:.*]]: tensor<6x4xf32>, %[[VV:.*]]: tensor<6x3xf32>, %[[MV:.*]]: tensor<5x6xf32>, %[[WV:.*]]: tensor<4xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[QM]], #[[KM]], #[[WM]], #[[SM]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[QV]], %[[KV]], %[[WV]] : tensor<5x4xf32>, tensor<6x4xf32>, tensor<4xf32>)
// CHECK-NEXT: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[W:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT: %[[SUM:.*]] = arith.addf %[[A]], %[[B]] : f32
// CHECK-NEXT: %[[T:.*]] = math.tanh %[[SUM]] : f32
// CHECK-NEXT: %[[WT:.*]] = arith.mulf %[[W]], %[[T]] : f32
// CHECK-NEXT: %[[NEW:.*]] = arith.addf %[[ACC]], %[[WT]] : f32
// CHECK-NEXT: linalg.yield %[[NEW]]
// CHECK: ins(%{{.*}}, %[[MV]] : tensor<5x6xf32>, tensor<5x6xf32>)
// CHECK-NEXT: ^bb0(%[[S:.*]]: f32, %[[M:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[SS:.*]] = arith.mulf %[[S]], %{{.*}} : f32
// CHECK-NEXT: %[[ADDED:.*]] = arith.addf %[[SS]], %[[M]] : f32
// CHECK-NEXT: linalg.yield %[[ADDED]]
// CHECK: linalg.matmul
func.func @additive(%q: tensor<5x4xf32>, %k: tensor<6x4xf32>, %v: tensor<6x3xf32>, %m: tensor<5x6xf32>, %w: tensor<4xf32>) -> tensor<5x3xf32> {
  %0 = attn.attention %q, %k, %v mask(%m) weight(%w) scale(2.0) score(additive) : (tensor<5x4xf32>, tensor<6x4xf32>, tensor<6x3xf32>, tensor<5x6xf32>, tensor<4xf32>) -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

// Gaussian kernel: -scale/2 * sum_d (q - k)^2, here with scale 1 and no
// weight, so the factor is -0.5.
// CHECK-LABEL: func @gaussian
// CHECK-DAG: %[[HALF:.*]] = arith.constant -5.000000e-01 : f32
// CHECK: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT: %[[D:.*]] = arith.subf %[[A]], %[[B]] : f32
// CHECK-NEXT: %[[SQ:.*]] = arith.mulf %[[D]], %[[D]] : f32
// CHECK-NEXT: %[[NEW:.*]] = arith.addf %[[ACC]], %[[SQ]] : f32
// CHECK-NEXT: linalg.yield %[[NEW]]
// CHECK: arith.mulf %{{.*}}, %[[HALF]] : f32
func.func @gaussian(%q: tensor<5x1xf32>, %k: tensor<6x1xf32>, %v: tensor<6x1xf32>) -> tensor<5x1xf32> {
  %0 = attn.attention %q, %k, %v scale(1.0) score(gaussian) : (tensor<5x1xf32>, tensor<6x1xf32>, tensor<6x1xf32>) -> tensor<5x1xf32>
  return %0 : tensor<5x1xf32>
}

// -----

// f16: scores, softmax and P*V in f32, one truncation at the end.
// CHECK-LABEL: func @half
// CHECK: linalg.batch_matmul {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x4x8xf16>, tensor<1x4x8xf16>) outs(%{{.*}} : tensor<1x4x4xf32>)
// CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<1x4x4xf32>, tensor<1x4x8xf16>) outs(%{{.*}} : tensor<1x4x8xf32>)
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: return %{{.*}} : tensor<1x4x8xf16>
func.func @half(%q: tensor<1x4x8xf16>, %k: tensor<1x4x8xf16>, %v: tensor<1x4x8xf16>) -> tensor<1x4x8xf16> {
  %0 = attn.attention %q, %k, %v scale(0.35) : (tensor<1x4x8xf16>, tensor<1x4x8xf16>, tensor<1x4x8xf16>) -> tensor<1x4x8xf16>
  return %0 : tensor<1x4x8xf16>
}
