// RUN: attn-opt %s --pass-pipeline='builtin.module(func.func(attn-drop-vector-unit-dims))' | FileCheck %s
// attn-drop-vector-unit-dims: unit dimensions leave the vectors, so a
// register tile's accumulator is a plain [M x N] vector.

// A batch_matmul register tile (batch 1): the contraction becomes a 2-D one
// on an 8 x 32 accumulator, the rhs row one vector<32> (broadcast).
// CHECK-DAG:   #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG:   #[[B:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG:   #[[C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @unit_batch(
// CHECK:         %[[L:.*]] = vector.transfer_read {{.*}} {in_bounds = [true, true]} : memref<1x8x1xf32>, vector<8x1xf32>
// CHECK:         %[[ROW:.*]] = vector.transfer_read {{.*}} {in_bounds = [true]} : memref<1x1x32xf32>, vector<32xf32>
// CHECK:         %[[ACC:.*]] = vector.transfer_read {{.*}} {in_bounds = [true, true]} : memref<1x8x32xf32>, vector<8x32xf32>
// CHECK:         %[[R:.*]] = vector.broadcast %[[ROW]] : vector<32xf32> to vector<1x32xf32>
// CHECK:         %[[S:.*]] = vector.contract {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %[[L]], %[[R]], %[[ACC]] : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK:         vector.transfer_write %[[S]], {{.*}} {in_bounds = [true, true]} : vector<8x32xf32>, memref<1x8x32xf32>
func.func @unit_batch(%a: memref<1x8x1xf32>, %b: memref<1x1x32xf32>, %c: memref<1x8x32xf32>) {
  %c0 = arith.constant 0 : index
  %z = arith.constant 0.0 : f32
  %0 = vector.transfer_read %a[%c0, %c0, %c0], %z {in_bounds = [true, true, true]} : memref<1x8x1xf32>, vector<1x8x1xf32>
  %1 = vector.transfer_read %b[%c0, %c0, %c0], %z {in_bounds = [true, true, true]} : memref<1x1x32xf32>, vector<1x1x32xf32>
  %2 = vector.transfer_read %c[%c0, %c0, %c0], %z {in_bounds = [true, true, true]} : memref<1x8x32xf32>, vector<1x8x32xf32>
  %3 = vector.contract {indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"], kind = #vector.kind<add>} %0, %1, %2 : vector<1x8x1xf32>, vector<1x1x32xf32> into vector<1x8x32xf32>
  vector.transfer_write %3, %c[%c0, %c0, %c0] {in_bounds = [true, true, true]} : vector<1x8x32xf32>, memref<1x8x32xf32>
  return
}
