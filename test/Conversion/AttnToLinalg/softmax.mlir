// RUN: attn-opt %s --convert-attn-to-linalg --split-input-file | FileCheck %s
// attn.softmax becomes max-reduce, exp(x - m) (as x + (-m), marked
// attn.nonpositive_argument), sum-reduce and a guarded divide, so a slice
// that is all -inf gives 0 rather than NaN.

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[RED:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func @middle_axis
// CHECK-SAME: (%[[X:.*]]: tensor<2x5x3xf32>)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[MINIT:.*]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.*}} : tensor<2x3xf32>)
// CHECK: %[[MAX:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[RED]]], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[X]] : tensor<2x5x3xf32>) outs(%[[MINIT]] : tensor<2x3xf32>)
// CHECK-NEXT: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32):
// CHECK-NEXT: %[[M:.*]] = arith.maximumf %[[A]], %[[B]] : f32
// CHECK-NEXT: linalg.yield %[[M]]
// CHECK: %[[EXP:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[RED]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[X]], %[[MAX]] : tensor<2x5x3xf32>, tensor<2x3xf32>)
// CHECK-NEXT: ^bb0(%[[XI:.*]]: f32, %[[MI:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[ISINF:.*]] = arith.cmpf oeq, %[[MI]], %[[NEGINF]] : f32
// CHECK-NEXT: %[[NEG:.*]] = arith.negf %[[MI]] : f32
// CHECK-NEXT: %[[SHIFT:.*]] = arith.select %[[ISINF]], %[[ZERO]], %[[NEG]] : f32
// CHECK-NEXT: %[[SUB:.*]] = arith.addf %[[XI]], %[[SHIFT]] : f32
// CHECK-NEXT: %[[E:.*]] = math.exp %[[SUB]] {attn.nonpositive_argument} : f32
// CHECK-NEXT: linalg.yield %[[E]]
// CHECK: %[[SINIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<2x3xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[RED]]], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[EXP]] : tensor<2x5x3xf32>) outs(%[[SINIT]] : tensor<2x3xf32>)
// CHECK: arith.addf
// CHECK: %[[DIV:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[RED]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[EXP]], %[[SUM]] : tensor<2x5x3xf32>, tensor<2x3xf32>)
// CHECK-NEXT: ^bb0(%[[EI:.*]]: f32, %[[SI:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[ISZERO:.*]] = arith.cmpf oeq, %[[SI]], %[[ZERO]] : f32
// CHECK-NEXT: %[[Q:.*]] = arith.divf %[[EI]], %[[SI]] : f32
// CHECK-NEXT: %[[R:.*]] = arith.select %[[ISZERO]], %[[ZERO]], %[[Q]] : f32
// CHECK-NEXT: linalg.yield %[[R]]
// CHECK: return %[[DIV]]
func.func @middle_axis(%x: tensor<2x5x3xf32>) -> tensor<2x5x3xf32> {
  %0 = attn.softmax %x axis(-2) : tensor<2x5x3xf32>
  return %0 : tensor<2x5x3xf32>
}

// -----

// bf16 is extended to f32 inside the reductions and rounded at the end.
// CHECK-LABEL: func @bf16
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2x5xbf16>) outs(%{{.*}} : tensor<2xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: bf16, %[[ACC:.*]]: f32):
// CHECK-NEXT: %[[EXT:.*]] = arith.extf %[[IN]] : bf16 to f32
// CHECK-NEXT: arith.maximumf %[[EXT]], %[[ACC]] : f32
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<2x5xf32>) outs(%{{.*}} : tensor<2x5xbf16>)
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: return %[[R]] : tensor<2x5xbf16>
func.func @bf16(%x: tensor<2x5xbf16>) -> tensor<2x5xbf16> {
  %0 = attn.softmax %x axis(1) : tensor<2x5xbf16>
  return %0 : tensor<2x5xbf16>
}
