// The CPU pipeline with ukernels=1: contractions run on the runtime's
// micro-kernel (JIT and ahead of time), checked against the f64 reference,
// on every ISA the CPU has (ATTN_UKERNEL_ISA narrows the choice).
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=linear --cpu-pipeline=ukernels=1 --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=heads --cpu-pipeline=ukernels=1 --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=out_projection --cpu-pipeline=ukernels=1 --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=transposed --cpu-pipeline=ukernels=1 --check | FileCheck %s
// RUN: env ATTN_UKERNEL_ISA=avx2 attn-run %s --entry=linear --cpu-pipeline=ukernels=1 --check | FileCheck %s
// RUN: env ATTN_UKERNEL_ISA=generic attn-run %s --entry=heads --cpu-pipeline=ukernels=1 --check | FileCheck %s
// CHECK: output 0: max abs error {{.*}}: OK
// The library links the micro-kernels in and still needs nothing else.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attn-run %s --entry=linear --cpu-pipeline=ukernels=1 --emit=so -o %t/liblinear.so
// RUN: readelf -dW %t/liblinear.so | FileCheck %s --check-prefix=DEPS
// RUN: readelf -sW %t/liblinear.so | FileCheck %s --check-prefix=SYMS
// DEPS-NOT: attn_ukernels
// DEPS-NOT: libstdc++
// DEPS: (NEEDED)
// DEPS-NOT: attn_ukernels
// DEPS-NOT: libstdc++
// SYMS: _mlir_ciface_attn_uk_matmul_f32

// A Linear on [b, n, c] with odd sizes (partial register tiles and panels).
func.func @linear(%x: tensor<2x37x70xf32>, %w: tensor<70x131xf32>) -> tensor<2x37x131xf32> {
  %y = attn.einsum "b n i, i o -> b n o" (%x, %w)
      : (tensor<2x37x70xf32>, tensor<70x131xf32>) -> tensor<2x37x131xf32>
  return %y : tensor<2x37x131xf32>
}

// Per-head scores, a batch of products with K = 64 and a transposed rhs.
func.func @heads(%q: tensor<3x4x50x64xf32>, %k: tensor<3x4x45x64xf32>) -> tensor<3x4x50x45xf32> {
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k)
      : (tensor<3x4x50x64xf32>, tensor<3x4x45x64xf32>) -> tensor<3x4x50x45xf32>
  return %s : tensor<3x4x50x45xf32>
}

// Two reduction loops collapsed into one ("b n h d, o h d -> b n o"), with a
// reduction longer than one 256-step block.
func.func @out_projection(%x: tensor<1x19x8x40xf32>, %w: tensor<96x8x40xf32>) -> tensor<1x19x96xf32> {
  %y = attn.einsum "b n h d, o h d -> b n o" (%x, %w)
      : (tensor<1x19x8x40xf32>, tensor<96x8x40xf32>) -> tensor<1x19x96xf32>
  return %y : tensor<1x19x96xf32>
}

// An output stored transposed: the operands swap roles.
func.func @transposed(%a: tensor<33x20xf32>, %b: tensor<20x17xf32>) -> tensor<17x33xf32> {
  %y = attn.einsum "i k, k j -> j i" (%a, %b)
      : (tensor<33x20xf32>, tensor<20x17xf32>) -> tensor<17x33xf32>
  return %y : tensor<17x33xf32>
}
