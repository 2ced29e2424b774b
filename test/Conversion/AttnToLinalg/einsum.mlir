// RUN: attn-opt %s --convert-attn-to-linalg --split-input-file | FileCheck %s
// attn.einsum becomes linalg.matmul/batch_matmul when it is a (batched)
// matrix product, linalg.generic otherwise, then one op for scale/rounding.

// CHECK-DAG: #[[QMAP:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[KMAP:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[SMAP:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func @scores
// CHECK-SAME: (%[[Q:.*]]: tensor<2x3x5x4xf32>, %[[K:.*]]: tensor<2x3x6x4xf32>)
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[QC:.*]] = tensor.collapse_shape %[[Q]] {{\[\[}}0, 1], [2], [3]] : tensor<2x3x5x4xf32> into tensor<6x5x4xf32>
// CHECK: %[[KC:.*]] = tensor.collapse_shape %[[K]] {{\[\[}}0, 1], [2], [3]] : tensor<2x3x6x4xf32> into tensor<6x6x4xf32>
// CHECK: %[[FILL:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<6x5x6xf32>)
// CHECK: %[[MM:.*]] = linalg.batch_matmul indexing_maps = [#[[QMAP]], #[[KMAP]], #[[SMAP]]] ins(%[[QC]], %[[KC]] : tensor<6x5x4xf32>, tensor<6x6x4xf32>) outs(%[[FILL]] : tensor<6x5x6xf32>)
// CHECK: %[[E:.*]] = tensor.expand_shape %[[MM]] {{\[\[}}0, 1], [2], [3]] output_shape [2, 3, 5, 6]
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[E]] : tensor<2x3x5x6xf32>)
// CHECK: arith.mulf %{{.*}}, %[[SCALE]] : f32
// CHECK: return %[[R]]
func.func @scores(%q: tensor<2x3x5x4xf32>, %k: tensor<2x3x6x4xf32>) -> tensor<2x3x5x6xf32> {
  %0 = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) scale(0.5) : (tensor<2x3x5x4xf32>, tensor<2x3x6x4xf32>) -> tensor<2x3x5x6xf32>
  return %0 : tensor<2x3x5x6xf32>
}

// -----

// f16 accumulates in f32 (matmul extends its operands to the accumulator
// type) and is rounded once at the end.
// CHECK-LABEL: func @matmul_f16
// CHECK-SAME: (%[[A:.*]]: tensor<5x4xf16>, %[[B:.*]]: tensor<4x6xf16>)
// CHECK: %[[FILL:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<5x6xf32>)
// CHECK: %[[MM:.*]] = linalg.matmul ins(%[[A]], %[[B]] : tensor<5x4xf16>, tensor<4x6xf16>) outs(%[[FILL]] : tensor<5x6xf32>)
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[MM]] : tensor<5x6xf32>) outs(%{{.*}} : tensor<5x6xf16>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f16):
// CHECK-NEXT: %[[T:.*]] = arith.truncf %[[IN]] : f32 to f16
// CHECK-NEXT: linalg.yield %[[T]]
// CHECK: return %[[R]]
func.func @matmul_f16(%a: tensor<5x4xf16>, %b: tensor<4x6xf16>) -> tensor<5x6xf16> {
  %0 = attn.einsum "ik,kj->ij" (%a, %b) : (tensor<5x4xf16>, tensor<4x6xf16>) -> tensor<5x6xf16>
  return %0 : tensor<5x6xf16>
}

// -----

// A result laid out [n, m] is the product with the operands swapped; the
// transposed lhs is folded into the indexing maps.
// CHECK-DAG: #[[AMAP:.*]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// CHECK-DAG: #[[BMAP:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[CMAP:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @swapped
// CHECK-SAME: (%[[A:.*]]: tensor<5x4xf32>, %[[B:.*]]: tensor<4x6xf32>)
// CHECK: %[[MM:.*]] = linalg.matmul indexing_maps = [#[[AMAP]], #[[BMAP]], #[[CMAP]]] ins(%[[B]], %[[A]] : tensor<4x6xf32>, tensor<5x4xf32>) outs(%{{.*}} : tensor<6x5xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[MM]]
func.func @swapped(%a: tensor<5x4xf32>, %b: tensor<4x6xf32>) -> tensor<6x5xf32> {
  %0 = attn.einsum "ik,kj->ji" (%a, %b) : (tensor<5x4xf32>, tensor<4x6xf32>) -> tensor<6x5xf32>
  return %0 : tensor<6x5xf32>
}

// -----

// Three operands: the greedy order contracts (a, b) first (a 2x4
// intermediate) rather than (b, c) (3x5).
// CHECK-LABEL: func @chain
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<3x4xf32>, %[[C:.*]]: tensor<4x5xf32>)
// CHECK: %[[AB:.*]] = linalg.matmul ins(%[[A]], %[[B]] : tensor<2x3xf32>, tensor<3x4xf32>) outs(%{{.*}} : tensor<2x4xf32>)
// CHECK: %[[ABC:.*]] = linalg.matmul ins(%[[AB]], %[[C]] : tensor<2x4xf32>, tensor<4x5xf32>) outs(%{{.*}} : tensor<2x5xf32>)
// CHECK: return %[[ABC]]
func.func @chain(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %c: tensor<4x5xf32>) -> tensor<2x5xf32> {
  %0 = attn.einsum "ij,jk,kl->il" (%a, %b, %c) : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// The same chain with other sizes: contracting (b, c) first gives the
// smaller intermediate (7x2 rather than 9x8), so greedy picks it.
// CHECK-LABEL: func @chain_right
// CHECK-SAME: (%[[A:.*]]: tensor<9x7xf32>, %[[B:.*]]: tensor<7x8xf32>, %[[C:.*]]: tensor<8x2xf32>)
// CHECK: %[[BC:.*]] = linalg.matmul ins(%[[B]], %[[C]] : tensor<7x8xf32>, tensor<8x2xf32>) outs(%{{.*}} : tensor<7x2xf32>)
// CHECK: %[[ABC:.*]] = linalg.matmul ins(%[[A]], %[[BC]] : tensor<9x7xf32>, tensor<7x2xf32>) outs(%{{.*}} : tensor<9x2xf32>)
// CHECK: return %[[ABC]]
func.func @chain_right(%a: tensor<9x7xf32>, %b: tensor<7x8xf32>, %c: tensor<8x2xf32>) -> tensor<9x2xf32> {
  %0 = attn.einsum "ij,jk,kl->il" (%a, %b, %c) : (tensor<9x7xf32>, tensor<7x8xf32>, tensor<8x2xf32>) -> tensor<9x2xf32>
  return %0 : tensor<9x2xf32>
}

// -----

// A diagonal indexes the operand twice with one loop; nothing is summed, so
// the body is the product alone.
// CHECK-DAG: #[[DIAG:.*]] = affine_map<(d0) -> (d0, d0)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func @diagonal
// CHECK: linalg.generic {indexing_maps = [#[[DIAG]], #[[ID]], #[[ID]]], iterator_types = ["parallel"]}
// CHECK: %[[P:.*]] = arith.mulf
// CHECK-NEXT: linalg.yield %[[P]]
func.func @diagonal(%a: tensor<3x3xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  %0 = attn.einsum "ii,i->i" (%a, %b) : (tensor<3x3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// Ellipsis broadcasting: the size-1 ellipsis dim of %a is dropped, so %a
// does not depend on that loop.
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d4)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d4, d3)>
// CHECK-DAG: #[[O:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func @broadcast
// CHECK: %[[AC:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2], [3]] : tensor<2x1x3x4xf32> into tensor<2x3x4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[O]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[AC]], %{{.*}} : tensor<2x3x4xf32>, tensor<5x4x6xf32>) outs(%{{.*}} : tensor<2x5x3x6xf32>)
func.func @broadcast(%a: tensor<2x1x3x4xf32>, %b: tensor<5x4x6xf32>) -> tensor<2x5x3x6xf32> {
  %0 = attn.einsum "...ij,...jk->...ik" (%a, %b) : (tensor<2x1x3x4xf32>, tensor<5x4x6xf32>) -> tensor<2x5x3x6xf32>
  return %0 : tensor<2x5x3x6xf32>
}

// -----

// An outer product has no summed label: a generic, not a matmul.
// CHECK-LABEL: func @outer
// CHECK-NOT: linalg.matmul
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
func.func @outer(%a: tensor<3xf32>, %b: tensor<4xf32>) -> tensor<3x4xf32> {
  %0 = attn.einsum "i,j->ij" (%a, %b) : (tensor<3xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// An outer product sums over nothing: every output element is one product,
// so the generic is elementwise (no zero fill, no read of its init) and
// elementwise fusion cannot mistake it for an accumulation.
// CHECK-LABEL: func @outer_product
// CHECK-SAME: (%[[A:.*]]: tensor<2x5xf32>, %[[B:.*]]: tensor<2x3xf32>)
// CHECK-NOT: linalg.fill
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x5x3xf32>
// CHECK: %[[R:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[A]], %[[B]] : tensor<2x5xf32>, tensor<2x3xf32>) outs(%[[E]] : tensor<2x5x3xf32>)
// CHECK-NEXT: ^bb0(%[[X:.*]]: f32, %[[Y:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[M:.*]] = arith.mulf %[[X]], %[[Y]] : f32
// CHECK-NEXT: linalg.yield %[[M]] : f32
// CHECK: return %[[R]]
func.func @outer_product(%a: tensor<2x5xf32>, %b: tensor<2x3xf32>) -> tensor<2x5x3xf32> {
  %0 = attn.einsum "b w, b c -> b w c" (%a, %b) : (tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<2x5x3xf32>
  return %0 : tensor<2x5x3xf32>
}

// -----

// A label summed in one operand only is summed there first (as torch does):
// "ab,cd->bd" is two row sums and an outer product, a*b + c*d + b*d work
// instead of a*b*c*d, and no contraction with a reduction that runs along
// one operand only reaches attn-tile-and-vectorize.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[SUMMED:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @private_labels
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<4x5xf32>)
// CHECK: %[[SA:.*]] = linalg.generic {indexing_maps = [#[[IN]], #[[SUMMED]]], iterator_types = ["reduction", "parallel"]} ins(%[[A]] : tensor<2x3xf32>) outs(%{{.*}} : tensor<3xf32>)
// CHECK: %[[SB:.*]] = linalg.generic {indexing_maps = [#[[IN]], #[[SUMMED]]], iterator_types = ["reduction", "parallel"]} ins(%[[B]] : tensor<4x5xf32>) outs(%{{.*}} : tensor<5xf32>)
// CHECK: %[[R:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[SA]], %[[SB]] : tensor<3xf32>, tensor<5xf32>) outs(%{{.*}} : tensor<3x5xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.mulf
// CHECK-NEXT: linalg.yield
// CHECK: return %[[R]]
func.func @private_labels(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<3x5xf32> {
  %0 = attn.einsum "ab,cd->bd" (%a, %b) : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

// One operand: a trace is a reduction of the diagonal into a 0-d tensor.
// CHECK-DAG: #[[DIAG:.*]] = affine_map<(d0) -> (d0, d0)>
// CHECK-DAG: #[[SCALAR:.*]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func @trace
// CHECK: %[[FILL:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<f32>)
// CHECK: linalg.generic {indexing_maps = [#[[DIAG]], #[[SCALAR]]], iterator_types = ["reduction"]} ins(%{{.*}} : tensor<5x5xf32>) outs(%[[FILL]] : tensor<f32>)
func.func @trace(%a: tensor<5x5xf32>) -> tensor<f32> {
  %0 = attn.einsum "ii->" (%a) : (tensor<5x5xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
