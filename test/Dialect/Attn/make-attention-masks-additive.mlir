// RUN: attn-opt %s --attn-make-attention-masks-additive --split-input-file | FileCheck %s
// attn-make-attention-masks-additive: a boolean mask becomes 0 / -inf in the
// compute type once, read through the same map; the op is marked
// keep_or_drop, so -inf replaces a score instead of being added to it.

// CHECK-LABEL: func.func @bool_mask
//  CHECK-SAME: %[[M:[^:]*]]: tensor<2x1x6xi1>)
//       CHECK: %[[ADD:.*]] = linalg.generic {{.*}} ins(%[[M]] : tensor<2x1x6xi1>) outs(%{{.*}} : tensor<2x1x6xf32>)
//  CHECK-NEXT: ^bb0(%[[KEEP:.*]]: i1, %{{.*}}: f32):
//   CHECK-DAG:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
//   CHECK-DAG:   %[[NINF:.*]] = arith.constant 0xFF800000 : f32
//       CHECK:   arith.select %[[KEEP]], %[[ZERO]], %[[NINF]] : f32
//       CHECK: attn.attention {{.*}} mask(%[[ADD]] : tensor<2x1x6xf32>) keep_or_drop outs(
func.func @bool_mask(%q: tensor<2x8x4xbf16>, %k: tensor<2x6x4xbf16>, %m: tensor<2x1x6xi1>) -> tensor<2x8x4xbf16> {
  %init = tensor.empty() : tensor<2x8x4xbf16>
  %o = attn.attention ins(%q, %k, %k : tensor<2x8x4xbf16>, tensor<2x6x4xbf16>, tensor<2x6x4xbf16>) mask(%m : tensor<2x1x6xi1>)
      outs(%init : tensor<2x8x4xbf16>) scale(0.5) -> tensor<2x8x4xbf16>
  return %o : tensor<2x8x4xbf16>
}

// -----

// A float mask is additive already.
// CHECK-LABEL: func.func @float_mask
//   CHECK-NOT: linalg.generic
//   CHECK-NOT: keep_or_drop
func.func @float_mask(%q: tensor<8x4xf32>, %m: tensor<8x8xf32>) -> tensor<8x4xf32> {
  %init = tensor.empty() : tensor<8x4xf32>
  %o = attn.attention ins(%q, %q, %q : tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>) mask(%m : tensor<8x8xf32>)
      outs(%init : tensor<8x4xf32>) scale(0.5) -> tensor<8x4xf32>
  return %o : tensor<8x4xf32>
}
