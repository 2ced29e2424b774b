// Sizes that do not divide any tile or vector width: 1, 7 and 257, through
// the fused op and the unfused einsum/softmax form.
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=fused --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=fused --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=unfused --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=unfused --check | FileCheck %s
// CHECK: output 0: max abs error {{.*}}: OK

func.func @fused(%q: tensor<1x7x7xf32>, %k: tensor<1x257x7xf32>,
                 %v: tensor<1x257x1xf32>) -> tensor<1x7x1xf32> {
  %o_init = tensor.empty() : tensor<1x7x1xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x7x7xf32>, tensor<1x257x7xf32>, tensor<1x257x1xf32>)
      outs(%o_init : tensor<1x7x1xf32>) scale(0.378) causal -> tensor<1x7x1xf32>
  return %o : tensor<1x7x1xf32>
}

func.func @unfused(%q: tensor<7x1x7xf32>, %k: tensor<7x257x7xf32>,
                   %v: tensor<7x257x7xf32>) -> tensor<7x1x7xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) scale(0.378)
      : (tensor<7x1x7xf32>, tensor<7x257x7xf32>) -> tensor<7x1x257xf32>
  %p = attn.softmax %s axis(-1) : tensor<7x1x257xf32>
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v)
      : (tensor<7x1x257xf32>, tensor<7x257x7xf32>) -> tensor<7x1x7xf32>
  return %o : tensor<7x1x7xf32>
}
