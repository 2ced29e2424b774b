// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-hoist-accumulators))' | FileCheck %s
// attn-hoist-accumulators: a register tile's accumulator is carried through
// its reduction loop as a vector.

// -----

// The accumulator's read and write, loop-invariant around the reduction,
// become the loop's iter_arg: read once before, written once after.
// CHECK-LABEL: func.func @register_tile(
// CHECK-SAME:    %[[A:.*]]: memref<8x16xf32>, %[[B:.*]]: memref<16x32xf32>, %[[C:.*]]: memref<8x32xf32>)
// CHECK:         %[[INIT:.*]] = vector.transfer_read %[[C]][%c0, %c0]{{.*}} : memref<8x32xf32>, vector<8x32xf32>
// CHECK:         %[[RES:.*]] = scf.for %{{.*}} = %c0 to %c16 step %c1 iter_args(%[[ACC:.*]] = %[[INIT]]) -> (vector<8x32xf32>) {
// CHECK:           %[[S:.*]] = vector.contract {{.*}}, %[[ACC]] : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK:           scf.yield %[[S]] : vector<8x32xf32>
// CHECK:         }
// CHECK:         vector.transfer_write %[[RES]], %[[C]][%c0, %c0]{{.*}} : vector<8x32xf32>, memref<8x32xf32>
func.func @register_tile(%a: memref<8x16xf32>, %b: memref<16x32xf32>, %c: memref<8x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %z = arith.constant 0.0 : f32
  scf.for %k = %c0 to %c16 step %c1 {
    %l = vector.transfer_read %a[%c0, %k], %z {in_bounds = [true, true]} : memref<8x16xf32>, vector<8x1xf32>
    %r = vector.transfer_read %b[%k, %c0], %z {in_bounds = [true, true]} : memref<16x32xf32>, vector<1x32xf32>
    %acc = vector.transfer_read %c[%c0, %c0], %z {in_bounds = [true, true]} : memref<8x32xf32>, vector<8x32xf32>
    %s = vector.contract {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %l, %r, %acc : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
    vector.transfer_write %s, %c[%c0, %c0] {in_bounds = [true, true]} : vector<8x32xf32>, memref<8x32xf32>
  }
  return
}

// -----

// A second read of the accumulator's buffer would see stale memory: kept.
// CHECK-LABEL: func.func @aliasing_read(
// CHECK:         scf.for
// CHECK-NOT:       iter_args
// CHECK:           vector.transfer_read
// CHECK:           vector.transfer_read
// CHECK:           vector.transfer_write
func.func @aliasing_read(%a: memref<8x16xf32>, %c: memref<8x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %z = arith.constant 0.0 : f32
  scf.for %k = %c0 to %c16 step %c1 {
    %acc = vector.transfer_read %c[%c0, %c0], %z {in_bounds = [true, true]} : memref<8x32xf32>, vector<8x32xf32>
    %other = vector.transfer_read %c[%c0, %k], %z {in_bounds = [true, true]} : memref<8x32xf32>, vector<8x1xf32>
    %b = vector.broadcast %other : vector<8x1xf32> to vector<8x1xf32>
    vector.transfer_write %acc, %c[%c0, %c0] {in_bounds = [true, true]} : vector<8x32xf32>, memref<8x32xf32>
  }
  return
}
