// G6: a padding mask from valid lengths [5, 0] over 7 keys; the second batch
// has every key masked, so its rows must be 0 (never NaN), fused and unfused.
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=fused --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=fused --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=unfused --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=unfused --check | FileCheck %s
// CHECK: output 0: max abs error {{.*}}: OK

func.func @fused(%q: tensor<2x6x8xf32>, %k: tensor<2x7x8xf32>,
                 %v: tensor<2x7x4xf32>) -> tensor<2x6x4xf32> {
  %valid = arith.constant dense<[[[true, true, true, true, true, false, false]], [[false, false, false, false, false, false, false]]]> : tensor<2x1x7xi1>
  %o_init = tensor.empty() : tensor<2x6x4xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x6x8xf32>, tensor<2x7x8xf32>, tensor<2x7x4xf32>) mask(%valid : tensor<2x1x7xi1>)
      outs(%o_init : tensor<2x6x4xf32>) scale(0.35355339) -> tensor<2x6x4xf32>
  return %o : tensor<2x6x4xf32>
}

func.func @unfused(%q: tensor<2x6x8xf32>, %k: tensor<2x7x8xf32>,
                   %v: tensor<2x7x4xf32>) -> tensor<2x6x4xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) scale(0.35355339)
      : (tensor<2x6x8xf32>, tensor<2x7x8xf32>) -> tensor<2x6x7xf32>
  %valid = arith.constant dense<[[[true, true, true, true, true, false, false], [true, true, true, true, true, false, false], [true, true, true, true, true, false, false], [true, true, true, true, true, false, false], [true, true, true, true, true, false, false], [true, true, true, true, true, false, false]], [[false, false, false, false, false, false, false], [false, false, false, false, false, false, false], [false, false, false, false, false, false, false], [false, false, false, false, false, false, false], [false, false, false, false, false, false, false], [false, false, false, false, false, false, false]]]> : tensor<2x6x7xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<2x6x7xf32>
  %masked = arith.select %valid, %s, %ninf : tensor<2x6x7xi1>, tensor<2x6x7xf32>
  %p = attn.softmax %masked axis(2) : tensor<2x6x7xf32>
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v)
      : (tensor<2x6x7xf32>, tensor<2x7x4xf32>) -> tensor<2x6x4xf32>
  return %o : tensor<2x6x4xf32>
}
