// RUN: attn-opt %s --attn-cpu-pipeline \
// RUN: | env OMP_NUM_THREADS=2 mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs \
// RUN: | FileCheck %s
// RUN: attn-opt %s --attn-cpu-pipeline="openmp=false" \
// RUN: | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs \
// RUN: | FileCheck %s
// Numeric smoke test of the CPU pipeline under the JIT. The expected values
// were computed independently with numpy (float64), e.g. for @attention:
//   s = 0.5 * q @ k.T; s[~mask] = -inf; s[j > i] = -inf
//   m = s.max(-1) (0 where -inf); e = exp(s - m); p = e / e.sum(-1) (0 where
//   the sum is 0); out = p @ v
// and are matched to the 4 or more significant digits printMemrefF32 shows.

func.func private @printMemrefF32(tensor<*xf32>)

// Row 0 keeps only key 0 (causal and mask): out = v[0] = [1, 2]. Row 1 has
// every key masked: out = 0, not NaN. Row 2 keeps keys 0 and 2 with scores
// 0.5 * [3, -1.5], p = [0.904651, 0.095349], out = [0.904651, 2.190699].
// CHECK: sizes = [1, 3, 2]
// CHECK-NEXT: {{\[\[\[}}1, 2],
// CHECK-NEXT: [0, 0],
// CHECK-NEXT: [0.90465{{[0-9]*}}, 2.1907{{[0-9]*}}]]]
func.func @attention(%q: tensor<1x3x2xf32>, %k: tensor<1x4x2xf32>, %v: tensor<1x4x2xf32>, %m: tensor<1x3x4xi1>) -> tensor<1x3x2xf32> {
  %init_0 = tensor.empty() : tensor<1x3x2xf32>
  %0 = attn.attention ins(%q, %k, %v : tensor<1x3x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>) mask(%m : tensor<1x3x4xi1>)
      outs(%init_0 : tensor<1x3x2xf32>) scale(0.5) causal -> tensor<1x3x2xf32>
  return %0 : tensor<1x3x2xf32>
}

// ViT-style heads (h = 2, d = 2) through rearrange, einsum with scale 0.7,
// softmax, einsum and the inverse rearrange. numpy:
//   h = x.reshape(1, 2, 2, 2).transpose(0, 2, 1, 3)
//   p = softmax(0.7 * einsum('bhid,bhjd->bhij', h, h))
//   einsum('bhij,bhjd->bhid', p, h).transpose(0, 2, 1, 3).reshape(1, 2, 4)
//   = [[0.542126, -0.143876, 0.020302, 1.331788],
//      [0.735207, -0.29405, 0.201509, 1.858936]]
// CHECK: sizes = [1, 2, 4]
// CHECK-NEXT: {{\[\[\[}}0.5421{{[0-9]*}}, -0.1438{{[0-9]*}}, 0.0203{{[0-9]*}}, 1.3317{{[0-9]*}}],
// CHECK-NEXT: [0.7352{{[0-9]*}}, -0.2940{{[0-9]*}}, 0.2015{{[0-9]*}}, 1.8589{{[0-9]*}}]]]
func.func @heads(%x: tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
  %h = attn.rearrange %x "b n (h d) -> b h n d" {h = 2} : tensor<1x2x4xf32> -> tensor<1x2x2x2xf32>
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%h, %h) scale(0.7) : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %p = attn.softmax %s axis(-1) : tensor<1x2x2x2xf32>
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %h) : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %r = attn.rearrange %o "b h n d -> b n (h d)" : tensor<1x2x2x2xf32> -> tensor<1x2x4xf32>
  return %r : tensor<1x2x4xf32>
}

// Three operands contracted pairwise, scaled by 2:
// 2 * einsum('ij,jk,k->i', a, b, c) = 2 * ([[3, 3], [5, 1]] @ [3, -2]) = [6, 26].
// CHECK: sizes = [2]
// CHECK-NEXT: [6, 26]
func.func @chain(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>, %c: tensor<2xf32>) -> tensor<2xf32> {
  %0 = attn.einsum "ij,jk,k->i" (%a, %b, %c) scale(2.0) : (tensor<2x3xf32>, tensor<3x2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

func.func @main() {
  %q = arith.constant dense<[[[1.0, 0.0], [0.5, -1.0], [2.0, 1.0]]]> : tensor<1x3x2xf32>
  %k = arith.constant dense<[[[1.0, 1.0], [0.0, 1.0], [-1.0, 0.5], [2.0, -2.0]]]> : tensor<1x4x2xf32>
  %v = arith.constant dense<[[[1.0, 2.0], [3.0, -1.0], [0.0, 4.0], [5.0, 5.0]]]> : tensor<1x4x2xf32>
  %m = arith.constant dense<[[[true, true, false, true], [false, false, false, false], [true, false, true, true]]]> : tensor<1x3x4xi1>
  %o1 = call @attention(%q, %k, %v, %m) : (tensor<1x3x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>, tensor<1x3x4xi1>) -> tensor<1x3x2xf32>
  %u1 = tensor.cast %o1 : tensor<1x3x2xf32> to tensor<*xf32>
  call @printMemrefF32(%u1) : (tensor<*xf32>) -> ()

  %x = arith.constant dense<[[[0.1, 0.2, -0.3, 0.4], [1.0, -0.5, 0.25, 2.0]]]> : tensor<1x2x4xf32>
  %o2 = call @heads(%x) : (tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  %u2 = tensor.cast %o2 : tensor<1x2x4xf32> to tensor<*xf32>
  call @printMemrefF32(%u2) : (tensor<*xf32>) -> ()

  %a = arith.constant dense<[[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]]> : tensor<2x3xf32>
  %b = arith.constant dense<[[1.0, -1.0], [0.5, 2.0], [2.0, 0.0]]> : tensor<3x2xf32>
  %c = arith.constant dense<[3.0, -2.0]> : tensor<2xf32>
  %o3 = call @chain(%a, %b, %c) : (tensor<2x3xf32>, tensor<3x2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %u3 = tensor.cast %o3 : tensor<2xf32> to tensor<*xf32>
  call @printMemrefF32(%u3) : (tensor<*xf32>) -> ()
  return
}
