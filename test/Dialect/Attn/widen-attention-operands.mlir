// RUN: attn-opt %s --attn-widen-attention-operands --split-input-file | FileCheck %s
// attn-widen-attention-operands: bf16/f16 keys and values of a dot score
// are widened to f32 once (the queries per block, by attn-tile-attention).

// CHECK-LABEL: func.func @bf16
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x8x4xbf16>, %[[K:.*]]: tensor<2x6x4xbf16>, %[[V:.*]]: tensor<2x6x3xbf16>)
//       CHECK: %[[KW:.*]] = linalg.generic {{.*}} ins(%[[K]] : tensor<2x6x4xbf16>) outs(%{{.*}} : tensor<2x6x4xf32>)
//       CHECK:   arith.extf %{{.*}} : bf16 to f32
//       CHECK: %[[VW:.*]] = linalg.generic {{.*}} ins(%[[V]] : tensor<2x6x3xbf16>) outs(%{{.*}} : tensor<2x6x3xf32>)
//       CHECK: attn.attention ins(%[[Q]], %[[KW]], %[[VW]] : tensor<2x8x4xbf16>, tensor<2x6x4xf32>, tensor<2x6x3xf32>) outs(%{{.*}} : tensor<2x8x3xbf16>)
func.func @bf16(%q: tensor<2x8x4xbf16>, %k: tensor<2x6x4xbf16>, %v: tensor<2x6x3xbf16>) -> tensor<2x8x3xbf16> {
  %init = tensor.empty() : tensor<2x8x3xbf16>
  %o = attn.attention ins(%q, %k, %v : tensor<2x8x4xbf16>, tensor<2x6x4xbf16>, tensor<2x6x3xbf16>)
      outs(%init : tensor<2x8x3xbf16>) scale(0.5) -> tensor<2x8x3xbf16>
  return %o : tensor<2x8x3xbf16>
}

// -----

// f32 needs nothing.
// CHECK-LABEL: func.func @f32
//   CHECK-NOT: linalg.generic
func.func @f32(%q: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %init = tensor.empty() : tensor<8x4xf32>
  %o = attn.attention ins(%q, %q, %q : tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>)
      outs(%init : tensor<8x4xf32>) scale(0.5) -> tensor<8x4xf32>
  return %o : tensor<8x4xf32>
}
