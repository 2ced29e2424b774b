// RUN: attn-opt %s --attn-gpu-pipeline --mlir-print-ir-after=gpu-kernel-outlining -o /dev/null 2>&1 | FileCheck %s
// RUN: attn-opt %s --attn-gpu-pipeline | FileCheck %s --check-prefix=PTX
// A whole model graph maps: the attention that does not fuse (additive
// score), the bias add and the matmuls each become kernels; no linalg op is
// left to run on the host.

// CHECK-LABEL: func.func @graph(
// CHECK-NOT: linalg.
// CHECK: gpu.launch_func
// CHECK-NOT: linalg.
// CHECK: gpu.launch_func
// CHECK-NOT: linalg.
// CHECK: return
// CHECK: gpu.module
// CHECK: gpu.func
// CHECK-SAME: kernel

// PTX-COUNT-2: .visible .entry
func.func @graph(%x: tensor<16x32xf32>, %w: tensor<32x32xf32>,
                 %b: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %init = tensor.empty() : tensor<16x32xf32>
  %zero = arith.constant 0.0 : f32
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<16x32xf32>) -> tensor<16x32xf32>
  %y = linalg.matmul ins(%x, %w : tensor<16x32xf32>, tensor<32x32xf32>)
                     outs(%acc : tensor<16x32xf32>) -> tensor<16x32xf32>
  %z = arith.addf %y, %b : tensor<16x32xf32>
  %g = math.tanh %z : tensor<16x32xf32>
  return %g : tensor<16x32xf32>
}
