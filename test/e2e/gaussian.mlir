// G8: Nadaraya-Watson kernel regression through attn.attention with the
// Gaussian score, non-parametric (w = 1) and parametric (learned w).
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=nonparametric --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=nonparametric --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=parametric --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=parametric --check | FileCheck %s
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
