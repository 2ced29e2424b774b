// f16 inputs, fused and unfused, against the f64 reference computed from the
// same rounded inputs (default f16 tolerance).
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=fused --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=fused --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=unfused --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=unfused --check | FileCheck %s
// CHECK: output 0: max abs error {{.*}}: OK

func.func @fused(%q: tensor<2x4x33x16xf16>, %k: tensor<2x4x33x16xf16>,
                 %v: tensor<2x4x33x16xf16>) -> tensor<2x4x33x16xf16> {
  %o_init = tensor.empty() : tensor<2x4x33x16xf16>
  %o = attn.attention ins(%q, %k, %v : tensor<2x4x33x16xf16>, tensor<2x4x33x16xf16>, tensor<2x4x33x16xf16>)
      outs(%o_init : tensor<2x4x33x16xf16>) scale(0.25) -> tensor<2x4x33x16xf16>
  return %o : tensor<2x4x33x16xf16>
}

func.func @unfused(%q: tensor<2x4x33x16xf16>, %k: tensor<2x4x33x16xf16>,
                   %v: tensor<2x4x33x16xf16>) -> tensor<2x4x33x16xf16> {
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) scale(0.25)
      : (tensor<2x4x33x16xf16>, tensor<2x4x33x16xf16>) -> tensor<2x4x33x33xf16>
  %p = attn.softmax %s axis(-1) : tensor<2x4x33x33xf16>
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %v)
      : (tensor<2x4x33x33xf16>, tensor<2x4x33x16xf16>) -> tensor<2x4x33x16xf16>
  return %o : tensor<2x4x33x16xf16>
}
