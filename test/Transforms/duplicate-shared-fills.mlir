// RUN: attn-opt %s -split-input-file --attn-duplicate-shared-fills | FileCheck %s
// RUN: attn-opt %s -split-input-file --attn-duplicate-shared-fills --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s --check-prefix=BUF

// Two contractions accumulate into one CSE'd zero fill: each gets its own
// fill (and tensor.empty) right before it, so bufferization fills each
// accumulator in place instead of filling one and copying it.
// CHECK-LABEL: func.func @two_linears(
// CHECK-SAME:    %[[A:.*]]: tensor<8x4xf32>, %[[B:.*]]: tensor<4x16xf32>, %[[C:.*]]: tensor<4x16xf32>)
// CHECK:         %[[E0:.*]] = tensor.empty() : tensor<8x16xf32>
// CHECK:         %[[F0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E0]] : tensor<8x16xf32>)
// CHECK:         %[[E1:.*]] = tensor.empty() : tensor<8x16xf32>
// CHECK:         %[[F1:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E1]] : tensor<8x16xf32>)
// CHECK:         linalg.matmul ins(%[[A]], %[[B]] : tensor<8x4xf32>, tensor<4x16xf32>) outs(%[[F1]] : tensor<8x16xf32>)
// CHECK:         linalg.matmul ins(%[[A]], %[[C]] : tensor<8x4xf32>, tensor<4x16xf32>) outs(%[[F0]] : tensor<8x16xf32>)
// BUF-LABEL: func.func @two_linears(
// BUF-NOT:     memref.copy
// BUF:         return
func.func @two_linears(%a: tensor<8x4xf32>, %b: tensor<4x16xf32>, %c: tensor<4x16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %x = linalg.matmul ins(%a, %b : tensor<8x4xf32>, tensor<4x16xf32>) outs(%f : tensor<8x16xf32>) -> tensor<8x16xf32>
  %y = linalg.matmul ins(%a, %c : tensor<8x4xf32>, tensor<4x16xf32>) outs(%f : tensor<8x16xf32>) -> tensor<8x16xf32>
  return %x, %y : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// A fill that is also read (an input of the add) stays for the reader; the
// one writer gets its own copy.
// CHECK-LABEL: func.func @read_and_written(
// CHECK:         %[[F:.*]] = linalg.fill
// CHECK:         %[[F2:.*]] = linalg.fill
// CHECK:         %[[M:.*]] = linalg.matmul {{.*}} outs(%[[F2]] : tensor<8x16xf32>)
// CHECK:         linalg.add ins(%[[M]], %[[F]] : tensor<8x16xf32>, tensor<8x16xf32>)
// CHECK-NOT:     linalg.fill
// CHECK:         return
func.func @read_and_written(%a: tensor<8x4xf32>, %b: tensor<4x16xf32>) -> tensor<8x16xf32> {
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %f = linalg.fill ins(%one : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %m = linalg.matmul ins(%a, %b : tensor<8x4xf32>, tensor<4x16xf32>) outs(%f : tensor<8x16xf32>) -> tensor<8x16xf32>
  %e2 = tensor.empty() : tensor<8x16xf32>
  %s = linalg.add ins(%m, %f : tensor<8x16xf32>, tensor<8x16xf32>) outs(%e2 : tensor<8x16xf32>) -> tensor<8x16xf32>
  return %s : tensor<8x16xf32>
}

// -----

// A fill with one user is left alone.
// CHECK-LABEL: func.func @single_use(
// CHECK-COUNT-1: linalg.fill
// CHECK-NOT:     linalg.fill
func.func @single_use(%a: tensor<8x4xf32>, %b: tensor<4x16xf32>) -> tensor<8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %m = linalg.matmul ins(%a, %b : tensor<8x4xf32>, tensor<4x16xf32>) outs(%f : tensor<8x16xf32>) -> tensor<8x16xf32>
  return %m : tensor<8x16xf32>
}
