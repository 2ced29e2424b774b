// The reference evaluator names an op it cannot evaluate, with its location.
// RUN: not attn-run %s --check 2>&1 | FileCheck %s
// CHECK: reference-unsupported.mlir:[[# @LINE + 3]]:8: error: reference evaluator does not support 'tensor.pad'
func.func @pad(%x: tensor<4xf32>) -> tensor<6xf32> {
  %c = arith.constant 0.0 : f32
  %y = tensor.pad %x low[1] high[1] {
  ^bb0(%i: index):
    tensor.yield %c : f32
  } : tensor<4xf32> to tensor<6xf32>
  return %y : tensor<6xf32>
}
// CHECK: error: reference evaluation failed
