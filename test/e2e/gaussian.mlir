// G8: Nadaraya-Watson kernel regression through attn.attention with the
// Gaussian score, non-parametric (w = 1) and parametric (learned w).
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=nonparametric --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=nonparametric --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=parametric --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=parametric --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=row_queries --check | FileCheck %s
// RUN: attn-opt %s --attn-fuse-attention | FileCheck %s --check-prefix=FUSED
// CHECK: output 0: max abs error {{.*}}: OK

func.func @nonparametric(%x: tensor<50x1xf32>, %xi: tensor<40x1xf32>,
                         %yi: tensor<40x1xf32>) -> tensor<50x1xf32> {
  %o_init = tensor.empty() : tensor<50x1xf32>
  %o = attn.attention ins(%x, %xi, %yi : tensor<50x1xf32>, tensor<40x1xf32>, tensor<40x1xf32>)
      outs(%o_init : tensor<50x1xf32>) scale(1.0) score(gaussian) -> tensor<50x1xf32>
  return %o : tensor<50x1xf32>
}

func.func @parametric(%x: tensor<2x50x1xf32>, %xi: tensor<2x40x1xf32>,
                      %yi: tensor<2x40x1xf32>, %w: tensor<1xf32>)
    -> tensor<2x50x1xf32> {
  %o_init = tensor.empty() : tensor<2x50x1xf32>
  %o = attn.attention ins(%x, %xi, %yi : tensor<2x50x1xf32>, tensor<2x40x1xf32>, tensor<2x40x1xf32>) weight(%w : tensor<1xf32>)
      outs(%o_init : tensor<2x50x1xf32>) scale(1.0) score(gaussian) -> tensor<2x50x1xf32>
  return %o : tensor<2x50x1xf32>
}

// d2l 0.17's NWKernelRegression as the frontend emits it: every query has its
// own keys and values (rows of S), P·V is bmm(P.unsqueeze(1),
// V.unsqueeze(-1)); the recogniser makes the rows the batch, one query each.
// FUSED-LABEL: func.func @row_queries
//       FUSED: attn.attention {{.*}} score(gaussian)
//   FUSED-NOT: attn.softmax
func.func @row_queries(%x: tensor<50xf32>, %xi: tensor<50x40xf32>,
                       %yi: tensor<50x40xf32>, %w: tensor<1xf32>) -> tensor<50xf32> {
  %e0 = tensor.empty() : tensor<50x40xf32>
  %bq = linalg.broadcast ins(%x : tensor<50xf32>) outs(%e0 : tensor<50x40xf32>) dimensions = [1]
  %d = arith.subf %bq, %xi : tensor<50x40xf32>
  %ws = attn.rearrange %w "1 -> " : tensor<1xf32> -> tensor<f32>
  %e1 = tensor.empty() : tensor<50x40xf32>
  %wb = linalg.broadcast ins(%ws : tensor<f32>) outs(%e1 : tensor<50x40xf32>) dimensions = [0, 1]
  %dw = arith.mulf %d, %wb : tensor<50x40xf32>
  %d2 = arith.mulf %dw, %dw : tensor<50x40xf32>
  %n = arith.negf %d2 : tensor<50x40xf32>
  %two = arith.constant dense<2.0> : tensor<50x40xf32>
  %s = arith.divf %n, %two : tensor<50x40xf32>
  %p = attn.softmax %s axis(1) : tensor<50x40xf32>
  %pu = attn.rearrange %p "n d -> n 1 d" : tensor<50x40xf32> -> tensor<50x1x40xf32>
  %yu = attn.rearrange %yi "n d -> n d 1" : tensor<50x40xf32> -> tensor<50x40x1xf32>
  %o = attn.einsum "b i k, b k j -> b i j" (%pu, %yu) : (tensor<50x1x40xf32>, tensor<50x40x1xf32>) -> tensor<50x1x1xf32>
  %r = attn.rearrange %o "b 1 1 -> b" : tensor<50x1x1xf32> -> tensor<50xf32>
  return %r : tensor<50xf32>
}
