// RUN: attn-opt %s -split-input-file --attn-lower-strided-copies | FileCheck %s
// attn-lower-strided-copies: copies between non-identity layouts become
// linalg.copy (loops); contiguous ones stay memref.copy (llvm.memcpy).

// CHECK-LABEL: func.func @strided(
// CHECK-SAME:    %[[SRC:.*]]: memref<4x8xf32, strided<[16, 1]>>, %[[DST:.*]]: memref<4x8xf32>)
// CHECK-NEXT:    linalg.copy ins(%[[SRC]] : memref<4x8xf32, strided<[16, 1]>>) outs(%[[DST]] : memref<4x8xf32>)
// CHECK-NEXT:    return
func.func @strided(%src: memref<4x8xf32, strided<[16, 1]>>, %dst: memref<4x8xf32>) {
  memref.copy %src, %dst : memref<4x8xf32, strided<[16, 1]>> to memref<4x8xf32>
  return
}

// -----

// CHECK-LABEL: func.func @contiguous(
// CHECK-NEXT:    memref.copy %{{.*}}, %{{.*}} : memref<4x8xf32> to memref<4x8xf32>
func.func @contiguous(%src: memref<4x8xf32>, %dst: memref<4x8xf32>) {
  memref.copy %src, %dst : memref<4x8xf32> to memref<4x8xf32>
  return
}
