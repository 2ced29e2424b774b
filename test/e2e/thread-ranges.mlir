// attn-omp-thread-ranges end to end: every parallel loop's iterations are
// split by the threads themselves, statically (thread id, team size) or, for
// the flash nest's generated micro-kernels (flash-ukernels=0), from a shared
// counter reset before each entry of the region. Team sizes that divide
// nothing (3, 5 threads on this 2-core machine), more threads than
// iterations (2 query blocks, 5 threads) and a region entered again and
// again (--bench: the counter is reset before each call) must each compute
// every element once: checked against the f64 reference.
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=attention --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=3 attn-run %s --entry=attention --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=5 attn-run %s --entry=attention --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=3 attn-run %s --entry=attention --check --cpu-pipeline=flash-ukernels=0 | FileCheck %s
// RUN: env OMP_NUM_THREADS=5 attn-run %s --entry=attention --check --cpu-pipeline=flash-ukernels=0 | FileCheck %s
// RUN: env OMP_NUM_THREADS=3 attn-run %s --entry=mlp --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=5 attn-run %s --entry=mlp --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=3 attn-run %s --entry=attention --bench=3 --check --cpu-pipeline=flash-ukernels=0 | FileCheck %s
// CHECK: output 0: max abs error {{.*}}: OK

func.func @attention(%q: tensor<3x2x100x16xf32>, %k: tensor<3x2x77x16xf32>,
                     %v: tensor<3x2x77x16xf32>) -> tensor<3x2x100x16xf32> {
  %init = tensor.empty() : tensor<3x2x100x16xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<3x2x100x16xf32>, tensor<3x2x77x16xf32>, tensor<3x2x77x16xf32>)
      outs(%init : tensor<3x2x100x16xf32>) scale(0.25) causal -> tensor<3x2x100x16xf32>
  return %o : tensor<3x2x100x16xf32>
}

// A Linear over 197 tokens (the micro-kernel's partial last tiles), tanh
// (an elementwise loop of its own) and a second Linear.
func.func @mlp(%x: tensor<1x197x40xf32>, %w1: tensor<40x136xf32>,
               %w2: tensor<136x24xf32>) -> tensor<1x197x24xf32> {
  %h = attn.einsum "b n i, i o -> b n o" (%x, %w1)
      : (tensor<1x197x40xf32>, tensor<40x136xf32>) -> tensor<1x197x136xf32>
  %g = math.tanh %h : tensor<1x197x136xf32>
  %y = attn.einsum "b n i, i o -> b n o" (%g, %w2)
      : (tensor<1x197x136xf32>, tensor<136x24xf32>) -> tensor<1x197x24xf32>
  return %y : tensor<1x197x24xf32>
}
