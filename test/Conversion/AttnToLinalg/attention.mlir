// RUN: attn-opt %s --convert-attn-to-linalg="q-tile=32 kv-tile=16" --split-input-file | FileCheck %s
// RUN: attn-opt %s --convert-attn-to-linalg="flash=false" --split-input-file | FileCheck %s --check-prefix=UNFUSED
// RUN: attn-opt %s --convert-attn-to-linalg="q-tile=32 kv-tile=16 transpose-keys=true additive-masks=true" --split-input-file | FileCheck %s --check-prefix=CPU
// convert-attn-to-linalg on attn.attention: with flash (the default)
// attn-tile-attention then attn-decompose-attention (see their tests), with
// the CPU's operand layouts when transpose-keys / additive-masks are set;
// with flash=false the unfused decomposition. No attn op is left either way.
// CHECK-NOT: attn.
// UNFUSED-NOT: attn.

// The flash nest never holds the 256 x 256 scores; the unfused form does.
// CHECK-LABEL: func.func @causal_f16
//   CHECK-NOT: 256x256
//       CHECK: scf.forall {{.*}} in (1, 2, 8)
//       CHECK:   scf.for
//       CHECK:     linalg.matmul {{.*}} outs(%{{.*}} : tensor<32x16xf32>)
//       CHECK:     linalg.matmul {{.*}} outs(%{{.*}} : tensor<32x64xf32>)
//       CHECK: {mapping = [#attn.flash_nest<0>, #attn.flash_nest<1>, #attn.flash_nest<2>]}
// UNFUSED-LABEL: func.func @causal_f16
//   UNFUSED-NOT: scf.forall
//       UNFUSED: tensor<1x2x256x256xf32>
// With the CPU layouts, f16 keys and values are widened to f32 and Kᵀ built
// once, so the block products read f32 [64, 16] key tiles in place.
// CPU-LABEL: func.func @causal_f16
//       CPU: linalg.transpose {{.*}} outs(%{{.*}} : tensor<1x2x64x256xf32>) permutation = [0, 1, 3, 2]
//       CPU: scf.forall
//       CPU:   scf.for
//       CPU:     linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x64xf32>, tensor<64x16xf32>)
func.func @causal_f16(%q: tensor<1x2x256x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x64xf16>) -> tensor<1x2x256x64xf16> {
  %init = tensor.empty() : tensor<1x2x256x64xf16>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>)
      outs(%init : tensor<1x2x256x64xf16>) scale(0.125) causal -> tensor<1x2x256x64xf16>
  return %o : tensor<1x2x256x64xf16>
}

// -----

// A boolean mask: selected per block in the flash nest, or made additive
// once (CPU).
// CHECK-LABEL: func.func @masked
//       CHECK: scf.forall
//       CHECK:   arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CPU-LABEL: func.func @masked
//       CPU: linalg.generic {{.*}} ins(%{{.*}} : tensor<3x1x50xi1>) outs(%{{.*}} : tensor<3x1x50xf32>)
//       CPU: scf.forall
//       CPU:   arith.addf %{{.*}}, %{{.*}} : f32
func.func @masked(%q: tensor<3x70x16xf32>, %k: tensor<3x50x16xf32>, %v: tensor<3x50x8xf32>, %m: tensor<3x1x50xi1>) -> tensor<3x70x8xf32> {
  %init = tensor.empty() : tensor<3x70x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<3x70x16xf32>, tensor<3x50x16xf32>, tensor<3x50x8xf32>) mask(%m : tensor<3x1x50xi1>)
      outs(%init : tensor<3x70x8xf32>) scale(0.25) -> tensor<3x70x8xf32>
  return %o : tensor<3x70x8xf32>
}

// -----

// Bahdanau scores: a reduction over the feature axis per block.
// CHECK-LABEL: func.func @additive
//       CHECK: scf.forall
//       CHECK:   linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
//       CHECK:     math.tanh
func.func @additive(%q: tensor<2x96x64xf16>, %k: tensor<2x80x64xf16>, %v: tensor<2x80x32xf16>, %w: tensor<64xf16>) -> tensor<2x96x32xf16> {
  %init = tensor.empty() : tensor<2x96x32xf16>
  %o = attn.attention ins(%q, %k, %v : tensor<2x96x64xf16>, tensor<2x80x64xf16>, tensor<2x80x32xf16>) weight(%w : tensor<64xf16>)
      outs(%init : tensor<2x96x32xf16>) scale(0.5) score(additive) -> tensor<2x96x32xf16>
  return %o : tensor<2x96x32xf16>
}
