// RUN: attn-opt %s --convert-attn-to-linalg | FileCheck %s
// The einsum forms of nn.Linear and attention become linalg.matmul /
// linalg.batch_matmul (which attn-tile-and-vectorize turns into the
// vectorised micro-kernel), not generic contractions: size-1 labels that
// are not batch labels are dropped, and contiguous label groups (b n -> M,
// h d -> K) are collapsed into one dimension.

// CHECK-LABEL: func.func @linear_2d(
// CHECK:         linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%arg0, %arg1 : tensor<6x8xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<6x16xf32>)

// CHECK-LABEL: func.func @linear_3d(
// CHECK:         %[[C:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<3x5x8xf32> into tensor<15x8xf32>
// CHECK:         %[[M:.*]] = linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%[[C]], %arg1 : tensor<15x8xf32>, tensor<16x8xf32>)
// CHECK:         tensor.expand_shape %[[M]] {{\[\[}}0, 1], [2]] output_shape [3, 5, 16]

// CHECK-LABEL: func.func @linear_unit_b(
// CHECK:         tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<1x5x8xf32> into tensor<5x8xf32>
// CHECK:         linalg.matmul {{.*}} : tensor<5x8xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<5x16xf32>)
// CHECK-NOT:     linalg.generic

// CHECK-LABEL: func.func @linear_unit_n(
// CHECK:         tensor.collapse_shape %arg0 {{\[\[}}0], [1, 2]] : tensor<5x1x8xf32> into tensor<5x8xf32>
// CHECK:         linalg.matmul {{.*}} : tensor<5x8xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<5x16xf32>)
// CHECK-NOT:     linalg.generic

// CHECK-LABEL: func.func @matmul_3d(
// CHECK:         linalg.matmul ins(%{{.*}}, %arg1 : tensor<15x8xf32>, tensor<8x16xf32>) outs(%{{.*}} : tensor<15x16xf32>)

// CHECK-LABEL: func.func @merged_heads(
// CHECK-DAG:     tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2, 3]] : tensor<3x5x2x4xf32> into tensor<15x8xf32>
// CHECK-DAG:     tensor.collapse_shape %arg1 {{\[\[}}0], [1, 2]] : tensor<16x2x4xf32> into tensor<16x8xf32>
// CHECK:         linalg.matmul {{.*}} : tensor<15x8xf32>, tensor<16x8xf32>) outs(%{{.*}} : tensor<15x16xf32>)

// A size-1 batch label stays a batch dimension.
// CHECK-LABEL: func.func @batched(
// CHECK:         linalg.batch_matmul {{.*}} : tensor<2x5x4xf32>, tensor<2x6x4xf32>) outs(%{{.*}} : tensor<2x5x6xf32>)

func.func @linear_2d(%x: tensor<6x8xf32>, %w: tensor<16x8xf32>) -> tensor<6x16xf32> {
  %y = attn.einsum "n c, o c -> n o" (%x, %w) : (tensor<6x8xf32>, tensor<16x8xf32>) -> tensor<6x16xf32>
  return %y : tensor<6x16xf32>
}
func.func @linear_3d(%x: tensor<3x5x8xf32>, %w: tensor<16x8xf32>) -> tensor<3x5x16xf32> {
  %y = attn.einsum "b n c, o c -> b n o" (%x, %w) : (tensor<3x5x8xf32>, tensor<16x8xf32>) -> tensor<3x5x16xf32>
  return %y : tensor<3x5x16xf32>
}
func.func @linear_unit_b(%x: tensor<1x5x8xf32>, %w: tensor<16x8xf32>) -> tensor<1x5x16xf32> {
  %y = attn.einsum "b n c, o c -> b n o" (%x, %w) : (tensor<1x5x8xf32>, tensor<16x8xf32>) -> tensor<1x5x16xf32>
  return %y : tensor<1x5x16xf32>
}
func.func @linear_unit_n(%x: tensor<5x1x8xf32>, %w: tensor<16x8xf32>) -> tensor<5x1x16xf32> {
  %y = attn.einsum "b n c, o c -> b n o" (%x, %w) : (tensor<5x1x8xf32>, tensor<16x8xf32>) -> tensor<5x1x16xf32>
  return %y : tensor<5x1x16xf32>
}
func.func @matmul_3d(%x: tensor<3x5x8xf32>, %w: tensor<8x16xf32>) -> tensor<3x5x16xf32> {
  %y = attn.einsum "b n c, c o -> b n o" (%x, %w) : (tensor<3x5x8xf32>, tensor<8x16xf32>) -> tensor<3x5x16xf32>
  return %y : tensor<3x5x16xf32>
}
func.func @merged_heads(%x: tensor<3x5x2x4xf32>, %w: tensor<16x2x4xf32>) -> tensor<3x5x16xf32> {
  %y = attn.einsum "b n h d, o h d -> b n o" (%x, %w) : (tensor<3x5x2x4xf32>, tensor<16x2x4xf32>) -> tensor<3x5x16xf32>
  return %y : tensor<3x5x16xf32>
}
func.func @batched(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x6x4xf32>) -> tensor<1x2x5x6xf32> {
  %y = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) : (tensor<1x2x5x4xf32>, tensor<1x2x6x4xf32>) -> tensor<1x2x5x6xf32>
  return %y : tensor<1x2x5x6xf32>
}

// A constant nn.Linear weight is transposed at compile time: the matmul
// reads it [in, out], with no transposed copy per call.
// CHECK-LABEL: func.func @constant_weight(
// CHECK:         %[[WT:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK:         linalg.matmul ins(%arg0, %[[WT]] : tensor<5x3xf32>, tensor<3x2xf32>) outs(%{{.*}} : tensor<5x2xf32>)
func.func @constant_weight(%x: tensor<5x3xf32>) -> tensor<5x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %y = attn.einsum "n c, o c -> n o" (%x, %w) : (tensor<5x3xf32>, tensor<2x3xf32>) -> tensor<5x2xf32>
  return %y : tensor<5x2xf32>
}

// A splat weight stays a splat.
// CHECK-LABEL: func.func @splat_weight(
// CHECK:         %[[WT:.*]] = arith.constant dense<5.000000e-01> : tensor<3x2xf32>
// CHECK:         linalg.matmul ins(%arg0, %[[WT]] : tensor<5x3xf32>, tensor<3x2xf32>)
func.func @splat_weight(%x: tensor<5x3xf32>) -> tensor<5x2xf32> {
  %w = arith.constant dense<0.5> : tensor<2x3xf32>
  %y = attn.einsum "n c, o c -> n o" (%x, %w) : (tensor<5x3xf32>, tensor<2x3xf32>) -> tensor<5x2xf32>
  return %y : tensor<5x2xf32>
}
