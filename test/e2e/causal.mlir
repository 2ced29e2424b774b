// G5: causal self-attention, fused (attn.attention causal) and written out
// (a constant lower-triangular i1 mask applied with arith.select and -inf).
// The written-out form is fused and its constant mask becomes the causal
// flag (IR lines), so the --check runs compare that rewrite, end to end,
// with the f64 reference of the graph as written.
// RUN: attn-opt %s --canonicalize --attn-fuse-attention --canonicalize | FileCheck %s --check-prefix=IR
// IR-COUNT-2: attn.attention ins(%{{.*}}, %{{.*}}, %{{.*}} : {{.*}}) outs(%{{.*}} : tensor<2x9x16xf32>) scale(2.500000e-01) causal ->
// IR-NOT: attn.softmax
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=fused --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=fused --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=unfused --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=unfused --check | FileCheck %s
// CHECK: output 0: max abs error {{.*}}: OK

func.func @fused(%q: tensor<2x9x16xf32>, %k: tensor<2x9x16xf32>,
                 %v: tensor<2x9x16xf32>) -> tensor<2x9x16xf32> {
  %o_init = tensor.empty() : tensor<2x9x16xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x9x16xf32>, tensor<2x9x16xf32>, tensor<2x9x16xf32>)
      outs(%o_init : tensor<2x9x16xf32>) scale(0.25) causal -> tensor<2x9x16xf32>
  return %o : tensor<2x9x16xf32>
}

func.func @unfused(%q: tensor<2x9x16xf32>, %k: tensor<2x9x16xf32>,
                   %v: tensor<2x9x16xf32>) -> tensor<2x9x16xf32> {
  %s = attn.einsum "h i d, h j d -> h i j" (%q, %k) scale(0.25)
      : (tensor<2x9x16xf32>, tensor<2x9x16xf32>) -> tensor<2x9x9xf32>
  %keep = arith.constant dense<[[[true, false, false, false, false, false, false, false, false], [true, true, false, false, false, false, false, false, false], [true, true, true, false, false, false, false, false, false], [true, true, true, true, false, false, false, false, false], [true, true, true, true, true, false, false, false, false], [true, true, true, true, true, true, false, false, false], [true, true, true, true, true, true, true, false, false], [true, true, true, true, true, true, true, true, false], [true, true, true, true, true, true, true, true, true]], [[true, false, false, false, false, false, false, false, false], [true, true, false, false, false, false, false, false, false], [true, true, true, false, false, false, false, false, false], [true, true, true, true, false, false, false, false, false], [true, true, true, true, true, false, false, false, false], [true, true, true, true, true, true, false, false, false], [true, true, true, true, true, true, true, false, false], [true, true, true, true, true, true, true, true, false], [true, true, true, true, true, true, true, true, true]]]> : tensor<2x9x9xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<2x9x9xf32>
  %masked = arith.select %keep, %s, %ninf : tensor<2x9x9xi1>, tensor<2x9x9xf32>
  %p = attn.softmax %masked axis(-1) : tensor<2x9x9xf32>
  %o = attn.einsum "h i j, h j d -> h i d" (%p, %v)
      : (tensor<2x9x9xf32>, tensor<2x9x16xf32>) -> tensor<2x9x16xf32>
  return %o : tensor<2x9x16xf32>
}
