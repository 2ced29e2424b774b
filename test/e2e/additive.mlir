// G7: additive (Bahdanau) attention through attn.attention, with a random
// boolean mask and an additive float mask.
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=additive_bool_mask --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=additive_bool_mask --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=additive_float_mask --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=additive_float_mask --check | FileCheck %s
// CHECK: output 0: max abs error {{.*}}: OK

func.func @additive_bool_mask(%q: tensor<3x5x8xf32>, %k: tensor<3x10x8xf32>,
                              %v: tensor<3x10x6xf32>, %m: tensor<3x5x10xi1>,
                              %w: tensor<8xf32>) -> tensor<3x5x6xf32> {
  %o_init = tensor.empty() : tensor<3x5x6xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<3x5x8xf32>, tensor<3x10x8xf32>, tensor<3x10x6xf32>) mask(%m : tensor<3x5x10xi1>) weight(%w : tensor<8xf32>)
      outs(%o_init : tensor<3x5x6xf32>) scale(1.0) score(additive) -> tensor<3x5x6xf32>
  return %o : tensor<3x5x6xf32>
}

func.func @additive_float_mask(%q: tensor<3x5x8xf32>, %k: tensor<3x10x8xf32>,
                               %v: tensor<3x10x6xf32>, %m: tensor<3x1x10xf32>,
                               %w: tensor<8xf32>) -> tensor<3x5x6xf32> {
  %o_init = tensor.empty() : tensor<3x5x6xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<3x5x8xf32>, tensor<3x10x8xf32>, tensor<3x10x6xf32>) mask(%m : tensor<3x1x10xf32>) weight(%w : tensor<8xf32>)
      outs(%o_init : tensor<3x5x6xf32>) scale(0.5) score(additive) -> tensor<3x5x6xf32>
  return %o : tensor<3x5x6xf32>
}
