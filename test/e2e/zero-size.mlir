// Zero-size dimensions through every op and the whole CPU pipeline, checked
// against the reference: empty batches, sequences, feature axes, sums over
// an empty axis (zeros), softmax over no keys (0, as for fully masked rows).
// A rearrange of an empty tensor once recursed forever in the lowering.
// RUN: attn-run %s --entry=rearrange_merge --check | FileCheck %s
// RUN: attn-run %s --entry=rearrange_split --check | FileCheck %s
// RUN: attn-run %s --entry=rearrange_permute --check | FileCheck %s
// RUN: attn-run %s --entry=rearrange_heads --check | FileCheck %s
// RUN: attn-run %s --entry=einsum_empty_sum --check | FileCheck %s
// RUN: attn-run %s --entry=einsum_empty_out --check | FileCheck %s
// RUN: attn-run %s --entry=einsum_batch0 --check | FileCheck %s
// RUN: attn-run %s --entry=einsum_three --check | FileCheck %s
// RUN: attn-run %s --entry=softmax_rows0 --check | FileCheck %s
// RUN: attn-run %s --entry=softmax_axis0 --check | FileCheck %s
// RUN: attn-run %s --entry=attention_sq0 --check | FileCheck %s
// RUN: attn-run %s --entry=attention_sk0 --check | FileCheck %s
// RUN: attn-run %s --entry=attention_d0 --check | FileCheck %s
// RUN: attn-run %s --entry=attention_dv0 --check | FileCheck %s
// RUN: attn-run %s --entry=attention_b0 --check | FileCheck %s
// RUN: attn-run %s --entry=attention_sk0_mask --check | FileCheck %s
// RUN: attn-run %s --entry=additive_d0 --check | FileCheck %s
// RUN: attn-run %s --entry=unfused_attention_sk0 --check | FileCheck %s
// RUN: attn-opt %s --attn-gpu-pipeline -o /dev/null
// CHECK: output 0: max abs error {{.*}}: OK

func.func @rearrange_merge(%x: tensor<0x3x4xf32>) -> tensor<0xf32> {
  %r = attn.rearrange %x "a b c -> (a b c)" : tensor<0x3x4xf32> -> tensor<0xf32>
  return %r : tensor<0xf32>
}
func.func @rearrange_split(%x: tensor<0xf32>) -> tensor<0x3x4xf32> {
  %r = attn.rearrange %x "(a b c) -> a b c" {b = 3, c = 4} : tensor<0xf32> -> tensor<0x3x4xf32>
  return %r : tensor<0x3x4xf32>
}
func.func @rearrange_permute(%x: tensor<2x0x4xf32>) -> tensor<4x2x0xf32> {
  %r = attn.rearrange %x "a b c -> c a b" : tensor<2x0x4xf32> -> tensor<4x2x0xf32>
  return %r : tensor<4x2x0xf32>
}
func.func @rearrange_heads(%x: tensor<2x0x12xf32>) -> tensor<2x3x0x4xf32> {
  %r = attn.rearrange %x "b n (h d) -> b h n d" {h = 3} : tensor<2x0x12xf32> -> tensor<2x3x0x4xf32>
  return %r : tensor<2x3x0x4xf32>
}
func.func @einsum_empty_sum(%a: tensor<3x0xf32>, %b: tensor<0x4xf32>) -> tensor<3x4xf32> {
  %r = attn.einsum "ik,kj->ij" (%a, %b) : (tensor<3x0xf32>, tensor<0x4xf32>) -> tensor<3x4xf32>
  return %r : tensor<3x4xf32>
}
func.func @einsum_empty_out(%a: tensor<0x5xf32>, %b: tensor<5x4xf32>) -> tensor<0x4xf32> {
  %r = attn.einsum "ik,kj->ij" (%a, %b) : (tensor<0x5xf32>, tensor<5x4xf32>) -> tensor<0x4xf32>
  return %r : tensor<0x4xf32>
}
func.func @einsum_batch0(%a: tensor<0x3x5xf32>, %b: tensor<0x5x4xf32>) -> tensor<0x3x4xf32> {
  %r = attn.einsum "bik,bkj->bij" (%a, %b) scale(0.5) : (tensor<0x3x5xf32>, tensor<0x5x4xf32>) -> tensor<0x3x4xf32>
  return %r : tensor<0x3x4xf32>
}
func.func @einsum_three(%a: tensor<2x0xf32>, %b: tensor<0x3xf32>, %c: tensor<3x2xf32>) -> tensor<2x2xf32> {
  %r = attn.einsum "ij,jk,kl->il" (%a, %b, %c) : (tensor<2x0xf32>, tensor<0x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}
func.func @softmax_rows0(%x: tensor<0x5xf32>) -> tensor<0x5xf32> {
  %r = attn.softmax %x axis(-1) : tensor<0x5xf32>
  return %r : tensor<0x5xf32>
}
func.func @softmax_axis0(%x: tensor<3x0xf32>) -> tensor<3x0xf32> {
  %r = attn.softmax %x axis(-1) : tensor<3x0xf32>
  return %r : tensor<3x0xf32>
}
func.func @attention_sq0(%q: tensor<2x0x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x3xf32>) -> tensor<2x0x3xf32> {
  %o_init = tensor.empty() : tensor<2x0x3xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x0x4xf32>, tensor<2x5x4xf32>, tensor<2x5x3xf32>)
      outs(%o_init : tensor<2x0x3xf32>) scale(0.5) -> tensor<2x0x3xf32>
  return %o : tensor<2x0x3xf32>
}
func.func @attention_sk0(%q: tensor<2x3x4xf32>, %k: tensor<2x0x4xf32>, %v: tensor<2x0x3xf32>) -> tensor<2x3x3xf32> {
  %o_init = tensor.empty() : tensor<2x3x3xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x3x4xf32>, tensor<2x0x4xf32>, tensor<2x0x3xf32>)
      outs(%o_init : tensor<2x3x3xf32>) scale(0.5) -> tensor<2x3x3xf32>
  return %o : tensor<2x3x3xf32>
}
func.func @attention_d0(%q: tensor<2x3x0xf32>, %k: tensor<2x5x0xf32>, %v: tensor<2x5x3xf32>) -> tensor<2x3x3xf32> {
  %o_init = tensor.empty() : tensor<2x3x3xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x3x0xf32>, tensor<2x5x0xf32>, tensor<2x5x3xf32>)
      outs(%o_init : tensor<2x3x3xf32>) scale(0.5) causal -> tensor<2x3x3xf32>
  return %o : tensor<2x3x3xf32>
}
func.func @attention_dv0(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x0xf32>) -> tensor<2x3x0xf32> {
  %o_init = tensor.empty() : tensor<2x3x0xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x5x0xf32>)
      outs(%o_init : tensor<2x3x0xf32>) scale(0.5) -> tensor<2x3x0xf32>
  return %o : tensor<2x3x0xf32>
}
func.func @attention_b0(%q: tensor<0x3x4xf32>, %k: tensor<0x5x4xf32>, %v: tensor<0x5x3xf32>, %m: tensor<0x3x5xi1>) -> tensor<0x3x3xf32> {
  %o_init = tensor.empty() : tensor<0x3x3xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<0x3x4xf32>, tensor<0x5x4xf32>, tensor<0x5x3xf32>) mask(%m : tensor<0x3x5xi1>)
      outs(%o_init : tensor<0x3x3xf32>) scale(0.5) -> tensor<0x3x3xf32>
  return %o : tensor<0x3x3xf32>
}
func.func @attention_sk0_mask(%q: tensor<2x3x4xf32>, %k: tensor<2x0x4xf32>, %v: tensor<2x0x3xf32>, %m: tensor<2x3x0xi1>) -> tensor<2x3x3xf32> {
  %o_init = tensor.empty() : tensor<2x3x3xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x3x4xf32>, tensor<2x0x4xf32>, tensor<2x0x3xf32>) mask(%m : tensor<2x3x0xi1>)
      outs(%o_init : tensor<2x3x3xf32>) scale(0.5) causal -> tensor<2x3x3xf32>
  return %o : tensor<2x3x3xf32>
}
func.func @additive_d0(%q: tensor<2x3x0xf32>, %k: tensor<2x5x0xf32>, %v: tensor<2x5x3xf32>, %w: tensor<0xf32>) -> tensor<2x3x3xf32> {
  %o_init = tensor.empty() : tensor<2x3x3xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x3x0xf32>, tensor<2x5x0xf32>, tensor<2x5x3xf32>) weight(%w : tensor<0xf32>)
      outs(%o_init : tensor<2x3x3xf32>) scale(1.0) score(additive) -> tensor<2x3x3xf32>
  return %o : tensor<2x3x3xf32>
}
func.func @unfused_attention_sk0(%q: tensor<2x3x4xf32>, %k: tensor<2x0x4xf32>, %v: tensor<2x0x3xf32>) -> tensor<2x3x3xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) scale(0.5) : (tensor<2x3x4xf32>, tensor<2x0x4xf32>) -> tensor<2x3x0xf32>
  %p = attn.softmax %s axis(-1) : tensor<2x3x0xf32>
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<2x3x0xf32>, tensor<2x0x3xf32>) -> tensor<2x3x3xf32>
  return %o : tensor<2x3x3xf32>
}
