// An outer product feeding a contraction (einops' functional einsum case
// "b c h w, b w, b c -> b h", and the same as two einsums): elementwise
// fusion once folded the outer product's `out + a * b` into the contraction,
// so column h came out h + 1 times too large.
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=three_operands --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=three_operands --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=two_einsums --check | FileCheck %s
// CHECK: output 0: max abs error {{.*}}: OK

func.func @three_operands(%a: tensor<2x3x40x5xf32>, %b: tensor<2x5xf32>,
                          %c: tensor<2x3xf32>) -> tensor<2x40xf32> {
  %r = attn.einsum "b c h w, b w, b c -> b h" (%a, %b, %c)
      : (tensor<2x3x40x5xf32>, tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<2x40xf32>
  return %r : tensor<2x40xf32>
}

func.func @two_einsums(%a: tensor<2x3x40x5xf32>, %b: tensor<2x5xf32>,
                       %c: tensor<2x3xf32>) -> tensor<2x40xf32> {
  %t = attn.einsum "b w, b c -> b w c" (%b, %c)
      : (tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<2x5x3xf32>
  %r = attn.einsum "b c h w, b w c -> b h" (%a, %t)
      : (tensor<2x3x40x5xf32>, tensor<2x5x3xf32>) -> tensor<2x40xf32>
  return %r : tensor<2x40xf32>
}
