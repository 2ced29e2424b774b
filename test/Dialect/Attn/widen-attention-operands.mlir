// RUN: attn-opt %s --attn-widen-attention-operands --split-input-file | FileCheck %s
// RUN: attn-opt %s --attn-widen-attention-operands=keep-bf16=1 --split-input-file | FileCheck %s --check-prefix=KEEP
// attn-widen-attention-operands: bf16/f16 keys and values of a dot score
// are widened to f32 once (the queries per block, by attn-tile-attention).

// CHECK-LABEL: func.func @bf16
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x8x4xbf16>, %[[K:.*]]: tensor<2x6x4xbf16>, %[[V:.*]]: tensor<2x6x3xbf16>)
//       CHECK: %[[KW:.*]] = linalg.generic {{.*}} ins(%[[K]] : tensor<2x6x4xbf16>) outs(%{{.*}} : tensor<2x6x4xf32>)
//       CHECK:   arith.extf %{{.*}} : bf16 to f32
//       CHECK: %[[VW:.*]] = linalg.generic {{.*}} ins(%[[V]] : tensor<2x6x3xbf16>) outs(%{{.*}} : tensor<2x6x3xf32>)
//       CHECK: attn.attention ins(%[[Q]], %[[KW]], %[[VW]] : tensor<2x8x4xbf16>, tensor<2x6x4xf32>, tensor<2x6x3xf32>) outs(%{{.*}} : tensor<2x8x3xbf16>)
// With keep-bf16 the attention is left as it is (its products go to AMX).
// KEEP-LABEL: func.func @bf16
//   KEEP-NOT: linalg.generic
//       KEEP: attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x8x4xbf16>, tensor<2x6x4xbf16>, tensor<2x6x3xbf16>)
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

// -----

// f16 is widened with keep-bf16 too: no f16 micro-kernel.
// CHECK-LABEL: func.func @f16
//       CHECK: arith.extf %{{.*}} : f16 to f32
// KEEP-LABEL: func.func @f16
//       KEEP: %[[KW:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<6x4xf32>)
//       KEEP:   arith.extf %{{.*}} : f16 to f32
//       KEEP: %[[VW:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<6x3xf32>)
//       KEEP: attn.attention ins(%{{.*}}, %[[KW]], %[[VW]] : tensor<8x4xf16>, tensor<6x4xf32>, tensor<6x3xf32>)
func.func @f16(%q: tensor<8x4xf16>, %k: tensor<6x4xf16>, %v: tensor<6x3xf16>) -> tensor<8x3xf16> {
  %init = tensor.empty() : tensor<8x3xf16>
  %o = attn.attention ins(%q, %k, %v : tensor<8x4xf16>, tensor<6x4xf16>, tensor<6x3xf16>)
      outs(%init : tensor<8x3xf16>) scale(0.5) -> tensor<8x3xf16>
  return %o : tensor<8x3xf16>
}
