// An elementwise producer whose only user is a Linear on a 3-D tensor (x + c,
// a GELU, torch.cat as the Python frontend writes it): the CPU pipeline computes it once into a buffer, and the Linear
// stays a plain contraction that gets the register-tiled micro-kernel,
// instead of recomputing the producer in the contraction's inner loop (which
// ran 40-200x slower).
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=add_linear --check | FileCheck %s --check-prefix=CHECKED
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=gelu_linear --check | FileCheck %s --check-prefix=CHECKED
// RUN: rm -rf %t && env OMP_NUM_THREADS=2 %torch_python %S/Inputs/cat_linear_vs_numpy.py attn-run %s %t | FileCheck %s --check-prefix=NUMPY
// NUMPY: OK cat_linear
// RUN: attn-opt %s --attn-cpu-pipeline --mlir-print-ir-after=attn-fuse-elementwise-ops 2>&1 >/dev/null | FileCheck %s --check-prefix=FUSED
// RUN: attn-opt %s --attn-cpu-pipeline=ukernels=0 --mlir-print-ir-after=attn-lower-vectors --mlir-disable-threading 2>&1 >/dev/null | FileCheck %s --check-prefix=KERNEL
// RUN: attn-opt %s --attn-cpu-pipeline --mlir-print-ir-after=attn-contractions-to-ukernels 2>&1 >/dev/null | FileCheck %s --check-prefix=UKERNEL
// CHECKED: output 0: max abs error {{.*}}: OK

// FUSED-LABEL: func.func @add_linear
// FUSED:         %[[SUM:.*]] = linalg.generic
// FUSED:           arith.addf
// FUSED:         linalg.generic
// FUSED-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// FUSED-SAME:      ins(%[[SUM]],
// FUSED-NEXT:    ^bb0(
// FUSED-NEXT:      arith.mulf
// FUSED-NEXT:      arith.addf
// FUSED-NEXT:      linalg.yield
// KERNEL-LABEL: func.func @add_linear
// KERNEL:         vector.fma {{.*}} : vector<32xf32>
// UKERNEL-LABEL: func.func @add_linear
// UKERNEL:         func.call @attn_uk_matmul_f32
// UKERNEL-NOT:     "reduction"
// UKERNEL:         return
func.func @add_linear(%x: tensor<2x37x96xf32>, %c: tensor<2x37x96xf32>,
                      %w: tensor<96x160xf32>) -> tensor<2x37x160xf32> {
  %y = arith.addf %x, %c : tensor<2x37x96xf32>
  %o = attn.einsum "b n i, i o -> b n o" (%y, %w)
      : (tensor<2x37x96xf32>, tensor<96x160xf32>) -> tensor<2x37x160xf32>
  return %o : tensor<2x37x160xf32>
}

// GELU (erf form) between two Linears, as in a Transformer MLP.
// FUSED-LABEL: func.func @gelu_linear
// FUSED:         math.erf
// FUSED:         linalg.generic
// FUSED-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// FUSED-NEXT:    ^bb0(
// FUSED-NEXT:      arith.mulf
// FUSED-NEXT:      arith.addf
// FUSED-NEXT:      linalg.yield
// KERNEL-LABEL: func.func @gelu_linear
// KERNEL:         vector.fma {{.*}} : vector<32xf32>
// UKERNEL-LABEL: func.func @gelu_linear
// UKERNEL:         func.call @attn_uk_matmul_f32
// UKERNEL:         math.erf
// UKERNEL:         func.call @attn_uk_matmul_f32
// UKERNEL-NOT:     "reduction"
// UKERNEL:         return
func.func @gelu_linear(%x: tensor<1x50x64xf32>, %w1: tensor<64x128xf32>,
                       %w2: tensor<128x64xf32>) -> tensor<1x50x64xf32> {
  %h = attn.einsum "b n i, i o -> b n o" (%x, %w1)
      : (tensor<1x50x64xf32>, tensor<64x128xf32>) -> tensor<1x50x128xf32>
  %half = arith.constant dense<0.5> : tensor<1x50x128xf32>
  %one = arith.constant dense<1.0> : tensor<1x50x128xf32>
  %rsqrt2 = arith.constant dense<0.70710678> : tensor<1x50x128xf32>
  %s = arith.mulf %h, %rsqrt2 : tensor<1x50x128xf32>
  %e = math.erf %s : tensor<1x50x128xf32>
  %p = arith.addf %e, %one : tensor<1x50x128xf32>
  %q = arith.mulf %h, %p : tensor<1x50x128xf32>
  %g = arith.mulf %q, %half : tensor<1x50x128xf32>
  %o = attn.einsum "b n i, i o -> b n o" (%g, %w2)
      : (tensor<1x50x128xf32>, tensor<128x64xf32>) -> tensor<1x50x64xf32>
  return %o : tensor<1x50x64xf32>
}

// torch.cat([cls, x], dim=1) as the Python frontend writes it (one generic
// reading each element from the operand that covers its index); fused, it ran
// at 0.17 GFLOP/s on 197x768x3072.
// FUSED-LABEL: func.func @cat_linear
// FUSED:         %[[CAT:.*]] = linalg.generic
// FUSED:           tensor.extract
// FUSED:         linalg.generic
// FUSED-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// FUSED-SAME:      ins(%[[CAT]],
// FUSED-NEXT:    ^bb0(
// FUSED-NEXT:      arith.mulf
// FUSED-NEXT:      arith.addf
// FUSED-NEXT:      linalg.yield
// KERNEL-LABEL: func.func @cat_linear
// KERNEL:         vector.fma {{.*}} : vector<32xf32>
// UKERNEL-LABEL: func.func @cat_linear
// UKERNEL:         func.call @attn_uk_matmul_f32
// UKERNEL-NOT:     "reduction"
// UKERNEL:         return
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @cat_linear(%cls: tensor<1x1x96xf32>, %x: tensor<1x36x96xf32>,
                      %w: tensor<96x64xf32>) -> tensor<1x37x64xf32> {
  %e = tensor.empty() : tensor<1x37x96xf32>
  %cat = linalg.generic {indexing_maps = [#id],
                         iterator_types = ["parallel", "parallel", "parallel"]}
      outs(%e : tensor<1x37x96xf32>) {
  ^bb0(%o: f32):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c35 = arith.constant 35 : index
    %a = tensor.extract %cls[%i0, %c0, %i2] : tensor<1x1x96xf32>
    %rel = arith.subi %i1, %c1 : index
    %lo = arith.maxsi %rel, %c0 : index
    %j = arith.minsi %lo, %c35 : index
    %b = tensor.extract %x[%i0, %j, %i2] : tensor<1x36x96xf32>
    %second = arith.cmpi sge, %i1, %c1 : index
    %v = arith.select %second, %b, %a : f32
    linalg.yield %v : f32
  } -> tensor<1x37x96xf32>
  %o = attn.einsum "b n i, i o -> b n o" (%cat, %w)
      : (tensor<1x37x96xf32>, tensor<96x64xf32>) -> tensor<1x37x64xf32>
  return %o : tensor<1x37x64xf32>
}
