// A bf16 LayerNorm as the Python frontend emits it (statistics and affine
// part in f32, one rounding to bf16 at the end, as PyTorch's CPU kernel):
// the row sums reach LLVM as reassociable reductions of 768 f32 lanes (no
// bf16 accumulation), checked against the f64 reference at bf16 tolerance.
// RUN: env OMP_NUM_THREADS=2 attn-run %s --check | FileCheck %s
// RUN: attn-opt %s --attn-cpu-pipeline | FileCheck %s --check-prefix=IR
// CHECK: output 0: max abs error {{.*}}: OK
// IR-COUNT-2: "llvm.intr.vector.reduce.fadd"(%{{.*}}, %{{.*}}) <{fastmathFlags = #llvm.fastmath<reassoc>}> : (f32, vector<768xf32>) -> f32
// IR-NOT: llvm.intr.vector.reduce.fadd

func.func @layer_norm(%x: tensor<197x768xbf16>, %w: tensor<768xbf16>, %b: tensor<768xbf16>) -> tensor<197x768xbf16> {
  %xf = arith.extf %x : tensor<197x768xbf16> to tensor<197x768xf32>
  %zero = arith.constant 0.0 : f32
  %init = tensor.empty() : tensor<197xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<197xf32>) -> tensor<197xf32>
  %sum = linalg.reduce ins(%xf : tensor<197x768xf32>) outs(%fill : tensor<197xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  %inv = arith.constant dense<1.302083333e-03> : tensor<197xf32>
  %mean = arith.mulf %sum, %inv : tensor<197xf32>
  %full = tensor.empty() : tensor<197x768xf32>
  %meanb = linalg.broadcast ins(%mean : tensor<197xf32>) outs(%full : tensor<197x768xf32>) dimensions = [1]
  %c = arith.subf %xf, %meanb : tensor<197x768xf32>
  %sq = arith.mulf %c, %c : tensor<197x768xf32>
  %fill2 = linalg.fill ins(%zero : f32) outs(%init : tensor<197xf32>) -> tensor<197xf32>
  %ssq = linalg.reduce ins(%sq : tensor<197x768xf32>) outs(%fill2 : tensor<197xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  %var = arith.mulf %ssq, %inv : tensor<197xf32>
  %eps = arith.constant dense<1.0e-06> : tensor<197xf32>
  %ve = arith.addf %var, %eps : tensor<197xf32>
  %rstd = math.rsqrt %ve : tensor<197xf32>
  %rstdb = linalg.broadcast ins(%rstd : tensor<197xf32>) outs(%full : tensor<197x768xf32>) dimensions = [1]
  %n = arith.mulf %c, %rstdb : tensor<197x768xf32>
  %wf = arith.extf %w : tensor<768xbf16> to tensor<768xf32>
  %wb = linalg.broadcast ins(%wf : tensor<768xf32>) outs(%full : tensor<197x768xf32>) dimensions = [0]
  %bf = arith.extf %b : tensor<768xbf16> to tensor<768xf32>
  %bb = linalg.broadcast ins(%bf : tensor<768xf32>) outs(%full : tensor<197x768xf32>) dimensions = [0]
  %nw = arith.mulf %n, %wb : tensor<197x768xf32>
  %y = arith.addf %nw, %bb : tensor<197x768xf32>
  %yb = arith.truncf %y : tensor<197x768xf32> to tensor<197x768xbf16>
  return %yb : tensor<197x768xbf16>
}
