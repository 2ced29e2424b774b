// A pre-norm Transformer MLP block as the Python frontend writes it
// (LayerNorm from linalg.reduce/linalg.broadcast and tensor arithmetic,
// Linear with bias, erf GELU, Linear with bias, residual), run through the
// CPU pipeline and checked against the f64 reference: with the runtime
// micro-kernel and with the generated kernels, and on one thread. The
// LayerNorm's broadcasts fuse away, the variance takes its square, each
// Linear starts from its bias (the second from bias + residual), and the
// GELU reads the first Linear's result directly.
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=mlp_block --check | FileCheck %s --check-prefix=CHECKED
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=mlp_block --check | FileCheck %s --check-prefix=CHECKED
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=mlp_block --check --cpu-pipeline=ukernels=0 | FileCheck %s --check-prefix=CHECKED
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=mlp_block --check --cpu-pipeline=fuse-elementwise=0 | FileCheck %s --check-prefix=CHECKED
// RUN: attn-opt %s --attn-cpu-pipeline --mlir-print-ir-after=attn-fold-addends-into-contractions --mlir-disable-threading 2>&1 >/dev/null | FileCheck %s --check-prefix=FOLDED
// CHECKED: output 0: max abs error {{.*}}: OK

// FOLDED-LABEL: func.func @mlp_block(
// FOLDED-SAME:    %[[X:.*]]: tensor<1x50x64xf32>, %[[G:.*]]: tensor<64xf32>, %[[BE:.*]]: tensor<64xf32>, %[[W1:.*]]: tensor<64x128xf32>, %[[B1:.*]]: tensor<128xf32>, %[[W2:.*]]: tensor<128x64xf32>, %[[B2:.*]]: tensor<64xf32>)
// FOLDED-NOT:     linalg.broadcast
// FOLDED:         %[[INIT1:.*]] = linalg.generic {{.*}} ins(%[[B1]] : tensor<128xf32>)
// FOLDED:         %[[H:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %[[W1]] : tensor<1x50x64xf32>, tensor<64x128xf32>) outs(%[[INIT1]] : tensor<1x50x128xf32>)
// FOLDED:         %[[A:.*]] = linalg.generic {{.*}} ins(%[[H]] : tensor<1x50x128xf32>)
// FOLDED:           math.erf
// FOLDED:         %[[INIT2:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[B2]] : tensor<1x50x64xf32>, tensor<64xf32>)
// FOLDED:           arith.addf
// FOLDED:         %[[Y:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[A]], %[[W2]] : tensor<1x50x128xf32>, tensor<128x64xf32>) outs(%[[INIT2]] : tensor<1x50x64xf32>)
// FOLDED-NEXT:    ^bb0(
// FOLDED-NEXT:      arith.mulf
// FOLDED-NEXT:      arith.addf
// FOLDED-NEXT:      linalg.yield
// The residual's generic is left an identity, which canonicalisation erases.
// FOLDED:         %[[R:.*]] = linalg.generic {{.*}} ins(%[[Y]] : tensor<1x50x64xf32>)
// FOLDED-NEXT:    ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// FOLDED-NEXT:      linalg.yield %[[IN]] : f32
// FOLDED:         return %[[R]]
func.func @mlp_block(%x: tensor<1x50x64xf32>, %g: tensor<64xf32>, %be: tensor<64xf32>,
                     %w1: tensor<64x128xf32>, %b1: tensor<128xf32>,
                     %w2: tensor<128x64xf32>, %b2: tensor<64xf32>) -> tensor<1x50x64xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<1x50xf32>
  %z = linalg.fill ins(%zero : f32) outs(%es : tensor<1x50xf32>) -> tensor<1x50xf32>
  %sum = linalg.reduce ins(%x : tensor<1x50x64xf32>) outs(%z : tensor<1x50xf32>) dimensions = [2]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  %inv = arith.constant dense<1.5625e-02> : tensor<1x50xf32>
  %mean = arith.mulf %sum, %inv : tensor<1x50xf32>
  %e = tensor.empty() : tensor<1x50x64xf32>
  %mb = linalg.broadcast ins(%mean : tensor<1x50xf32>) outs(%e : tensor<1x50x64xf32>) dimensions = [2]
  %c = arith.subf %x, %mb : tensor<1x50x64xf32>
  %sq = arith.mulf %c, %c : tensor<1x50x64xf32>
  %ss = linalg.reduce ins(%sq : tensor<1x50x64xf32>) outs(%z : tensor<1x50xf32>) dimensions = [2]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  %var = arith.mulf %ss, %inv : tensor<1x50xf32>
  %eps = arith.constant dense<1.0e-6> : tensor<1x50xf32>
  %ve = arith.addf %var, %eps : tensor<1x50xf32>
  %rstd = math.rsqrt %ve : tensor<1x50xf32>
  %rb = linalg.broadcast ins(%rstd : tensor<1x50xf32>) outs(%e : tensor<1x50x64xf32>) dimensions = [2]
  %n = arith.mulf %c, %rb : tensor<1x50x64xf32>
  %gb = linalg.broadcast ins(%g : tensor<64xf32>) outs(%e : tensor<1x50x64xf32>) dimensions = [0, 1]
  %ng = arith.mulf %n, %gb : tensor<1x50x64xf32>
  %bb = linalg.broadcast ins(%be : tensor<64xf32>) outs(%e : tensor<1x50x64xf32>) dimensions = [0, 1]
  %ln = arith.addf %ng, %bb : tensor<1x50x64xf32>
  %h = attn.einsum "b n i, i o -> b n o" (%ln, %w1)
      : (tensor<1x50x64xf32>, tensor<64x128xf32>) -> tensor<1x50x128xf32>
  %eh = tensor.empty() : tensor<1x50x128xf32>
  %b1b = linalg.broadcast ins(%b1 : tensor<128xf32>) outs(%eh : tensor<1x50x128xf32>) dimensions = [0, 1]
  %hb = arith.addf %h, %b1b : tensor<1x50x128xf32>
  %half = arith.constant dense<0.5> : tensor<1x50x128xf32>
  %rsqrt2 = arith.constant dense<0.707106769> : tensor<1x50x128xf32>
  %one = arith.constant dense<1.0> : tensor<1x50x128xf32>
  %hh = arith.mulf %hb, %half : tensor<1x50x128xf32>
  %hs = arith.mulf %hb, %rsqrt2 : tensor<1x50x128xf32>
  %er = math.erf %hs : tensor<1x50x128xf32>
  %ep = arith.addf %er, %one : tensor<1x50x128xf32>
  %act = arith.mulf %hh, %ep : tensor<1x50x128xf32>
  %o = attn.einsum "b n i, i o -> b n o" (%act, %w2)
      : (tensor<1x50x128xf32>, tensor<128x64xf32>) -> tensor<1x50x64xf32>
  %b2b = linalg.broadcast ins(%b2 : tensor<64xf32>) outs(%e : tensor<1x50x64xf32>) dimensions = [0, 1]
  %ob = arith.addf %o, %b2b : tensor<1x50x64xf32>
  %y = arith.addf %x, %ob : tensor<1x50x64xf32>
  return %y : tensor<1x50x64xf32>
}
