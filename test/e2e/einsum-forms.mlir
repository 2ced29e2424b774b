// einsum forms beyond matrix products, as einops' functional einsum tests and
// numpy's use them: one operand (trace, diagonal, sums, transpose, identity),
// 0-d operands and results, labels summed in one operand only, diagonals with
// an ellipsis, and the elementwise product of three tensors.
// RUN: attn-run %s --entry=trace --check | FileCheck %s
// RUN: attn-run %s --entry=diagonal --check | FileCheck %s
// RUN: attn-run %s --entry=sum_all --check | FileCheck %s
// RUN: attn-run %s --entry=sum_rows --check | FileCheck %s
// RUN: attn-run %s --entry=transpose --check | FileCheck %s
// RUN: attn-run %s --entry=identity --check | FileCheck %s
// RUN: attn-run %s --entry=implicit_trace --check | FileCheck %s
// RUN: attn-run %s --entry=scalar_operand --check | FileCheck %s
// RUN: attn-run %s --entry=scalars --check | FileCheck %s
// RUN: attn-run %s --entry=scalar_operand_spaced --check | FileCheck %s
// RUN: attn-run %s --entry=label_broadcast --check | FileCheck %s
// RUN: attn-run %s --entry=label_broadcast_matmul --check | FileCheck %s
// RUN: attn-run %s --entry=private_labels --check | FileCheck %s
// RUN: attn-run %s --entry=private_labels_bf16 --check | FileCheck %s
// RUN: attn-run %s --entry=ellipsis_diagonal --check | FileCheck %s
// RUN: attn-run %s --entry=triple_diagonal --check | FileCheck %s
// RUN: attn-run %s --entry=elementwise_three --check | FileCheck %s
// CHECK: output 0: max abs error {{.*}}: OK

func.func @trace(%a: tensor<5x5xf32>) -> tensor<f32> {
  %r = attn.einsum "i i -> " (%a) : (tensor<5x5xf32>) -> tensor<f32>
  return %r : tensor<f32>
}
func.func @diagonal(%a: tensor<5x5xf32>) -> tensor<5xf32> {
  %r = attn.einsum "ii->i" (%a) : (tensor<5x5xf32>) -> tensor<5xf32>
  return %r : tensor<5xf32>
}
func.func @sum_all(%a: tensor<10xf32>) -> tensor<f32> {
  %r = attn.einsum "index ->" (%a) scale(0.5) : (tensor<10xf32>) -> tensor<f32>
  return %r : tensor<f32>
}
func.func @sum_rows(%a: tensor<5x4xf32>) -> tensor<5xf32> {
  %r = attn.einsum "first_tensor second_tensor -> first_tensor" (%a) : (tensor<5x4xf32>) -> tensor<5xf32>
  return %r : tensor<5xf32>
}
func.func @transpose(%a: tensor<1x2x3xf32>) -> tensor<2x1x3xf32> {
  %r = attn.einsum "i j k -> j i k" (%a) : (tensor<1x2x3xf32>) -> tensor<2x1x3xf32>
  return %r : tensor<2x1x3xf32>
}
func.func @identity(%a: tensor<5x4x3x2x1xf32>) -> tensor<5x4x3x2x1xf32> {
  %r = attn.einsum "... -> ..." (%a) : (tensor<5x4x3x2x1xf32>) -> tensor<5x4x3x2x1xf32>
  return %r : tensor<5x4x3x2x1xf32>
}
func.func @implicit_trace(%a: tensor<4x4xf32>) -> tensor<f32> {
  %r = attn.einsum "ii" (%a) : (tensor<4x4xf32>) -> tensor<f32>
  return %r : tensor<f32>
}
func.func @scalar_operand(%s: tensor<f32>, %a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %r = attn.einsum ",ij->ji" (%s, %a) : (tensor<f32>, tensor<2x3xf32>) -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}
func.func @scalars(%s: tensor<f32>, %t: tensor<f32>) -> tensor<f32> {
  %r = attn.einsum ",->" (%s, %t) : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %r : tensor<f32>
}
// Found by test/differential: no whitespace inside any term, and '_' is no
// letter of the compact spelling, so this is einops' spaced one.
func.func @scalar_operand_spaced(%s: tensor<f32>, %a: tensor<0xf32>) -> tensor<0xf32> {
  %r = attn.einsum ", first_tensor -> first_tensor" (%s, %a) : (tensor<f32>, tensor<0xf32>) -> tensor<0xf32>
  return %r : tensor<0xf32>
}
// Found by test/differential: as in torch.einsum, a labelled dim of size 1
// broadcasts against the same label's size in another operand (k is 1 in
// the first operand and 5 in the third, head 2 and 1).
func.func @label_broadcast(%a: tensor<5x5x1x2xf32>, %b: tensor<5x5xf32>, %c: tensor<5x1xf32>) -> tensor<5x2x5x5xf32> {
  %r = attn.einsum "n ... k head, ... n n, k head ... -> ... head n k" (%a, %b, %c) : (tensor<5x5x1x2xf32>, tensor<5x5xf32>, tensor<5x1xf32>) -> tensor<5x2x5x5xf32>
  return %r : tensor<5x2x5x5xf32>
}
func.func @label_broadcast_matmul(%a: tensor<2x1xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %r = attn.einsum "ij,jk->ik" (%a, %b) : (tensor<2x1xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %r : tensor<2x4xf32>
}
func.func @private_labels(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<3x5xf32> {
  %r = attn.einsum " one  two  ,  three four->two  four  " (%a, %b) : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>
  return %r : tensor<3x5xf32>
}
func.func @private_labels_bf16(%a: tensor<2x3xbf16>, %b: tensor<4x5xbf16>) -> tensor<bf16> {
  %r = attn.einsum "ab,cd->" (%a, %b) : (tensor<2x3xbf16>, tensor<4x5xbf16>) -> tensor<bf16>
  return %r : tensor<bf16>
}
func.func @ellipsis_diagonal(%a: tensor<5x3x2x1x4x5xf32>) -> tensor<5x3x2x1x4xf32> {
  %r = attn.einsum "i ... i -> i ..." (%a) : (tensor<5x3x2x1x4x5xf32>) -> tensor<5x3x2x1x4xf32>
  return %r : tensor<5x3x2x1x4xf32>
}
func.func @triple_diagonal(%a: tensor<5x5x5xf32>) -> tensor<5xf32> {
  %r = attn.einsum "one one one -> one" (%a) : (tensor<5x5x5xf32>) -> tensor<5xf32>
  return %r : tensor<5xf32>
}
func.func @elementwise_three(%a: tensor<3x2xf32>, %b: tensor<3x2xf32>, %c: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %r = attn.einsum "..., ..., ... -> ..." (%a, %b, %c) : (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}
