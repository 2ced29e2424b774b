// RUN: attn-opt %s --attn-transpose-attention-keys --split-input-file | FileCheck %s
// attn-transpose-attention-keys: dot-score keys in any layout are copied
// once to (batch..., K1, K2), which the key map then reads.

// [b, h, Sk, d] -> [b, h, d, Sk].
// CHECK-DAG:   #[[KT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d3, d4)>
// CHECK-LABEL: func.func @canonical
//  CHECK-SAME: (%[[Q:.*]]: tensor<1x2x8x4xf32>, %[[K:.*]]: tensor<1x2x6x4xf32>, %[[V:.*]]: tensor<1x2x6x4xf32>)
//       CHECK: %[[E:.*]] = tensor.empty() : tensor<1x2x4x6xf32>
//       CHECK: %[[T:.*]] = linalg.transpose ins(%[[K]] : tensor<1x2x6x4xf32>) outs(%[[E]] : tensor<1x2x4x6xf32>) permutation = [0, 1, 3, 2]
//       CHECK: attn.attention ins(%[[Q]], %[[T]], %[[V]] : tensor<1x2x8x4xf32>, tensor<1x2x4x6xf32>, tensor<1x2x6x4xf32>) outs(%{{.*}}) scale(5.000000e-01) {indexing_maps = [#{{.*}}, #[[KT]], #{{.*}}, #{{.*}}]}
func.func @canonical(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x6x4xf32>, %v: tensor<1x2x6x4xf32>) -> tensor<1x2x8x4xf32> {
  %init = tensor.empty() : tensor<1x2x8x4xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x8x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>)
      outs(%init : tensor<1x2x8x4xf32>) scale(0.5) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// A head split read in place ("b n h d"): one copy to "b h d n", no
// intermediate "b h n d".
// CHECK-LABEL: func.func @head_split
//       CHECK: linalg.transpose ins(%{{.*}} : tensor<2x6x3x4xf32>) outs(%{{.*}} : tensor<2x3x4x6xf32>) permutation = [0, 2, 3, 1]
//   CHECK-NOT: linalg.transpose
func.func @head_split(%q: tensor<2x5x3x4xf32>, %k: tensor<2x6x3x4xf32>) -> tensor<2x3x5x4xf32> {
  %init = tensor.empty() : tensor<2x3x5x4xf32>
  %o = attn.attention ins(%q, %k, %k : tensor<2x5x3x4xf32>, tensor<2x6x3x4xf32>, tensor<2x6x3x4xf32>)
      outs(%init : tensor<2x3x5x4xf32>) scale(0.5)
      {indexing_maps = [affine_map<(b, h, m, k1, k2, n) -> (b, m, h, k1)>,
                        affine_map<(b, h, m, k1, k2, n) -> (b, k2, h, k1)>,
                        affine_map<(b, h, m, k1, k2, n) -> (b, k2, h, n)>,
                        affine_map<(b, h, m, k1, k2, n) -> (b, h, m, n)>]}
      -> tensor<2x3x5x4xf32>
  return %o : tensor<2x3x5x4xf32>
}

// -----

// Already (K1, K2), or another score kind: nothing to do.
// CHECK-LABEL: func.func @untouched
//   CHECK-NOT: linalg.transpose
func.func @untouched(%q: tensor<8x4xf32>, %kt: tensor<4x6xf32>, %v: tensor<6x4xf32>, %w: tensor<4xf32>) -> (tensor<8x4xf32>, tensor<8x4xf32>) {
  %init = tensor.empty() : tensor<8x4xf32>
  %o = attn.attention ins(%q, %kt, %v : tensor<8x4xf32>, tensor<4x6xf32>, tensor<6x4xf32>)
      outs(%init : tensor<8x4xf32>) scale(0.5)
      {indexing_maps = [affine_map<(m, k1, k2, n) -> (m, k1)>, affine_map<(m, k1, k2, n) -> (k1, k2)>,
                        affine_map<(m, k1, k2, n) -> (k2, n)>, affine_map<(m, k1, k2, n) -> (m, n)>]}
      -> tensor<8x4xf32>
  %a = attn.attention ins(%q, %v, %v : tensor<8x4xf32>, tensor<6x4xf32>, tensor<6x4xf32>) weight(%w : tensor<4xf32>)
      outs(%init : tensor<8x4xf32>) scale(0.5) score(additive) -> tensor<8x4xf32>
  return %o, %a : tensor<8x4xf32>, tensor<8x4xf32>
}
