// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-collapse-reduction-dims))' | FileCheck %s
// attn-collapse-reduction-dims: consecutive reduction dimensions that every
// operand stores contiguously become one.

// The head merge "b n (h d)" folded into an out-projection: (h, d) is one
// reduction of 32 in both operands.
// CHECK-DAG:   #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG:   #[[W:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG:   #[[Y:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @two_reductions(
// CHECK-SAME:    %[[XA:.*]]: memref<16x4x8xf32>, %[[WA:.*]]: memref<64x4x8xf32>, %[[YA:.*]]: memref<16x64xf32>)
// CHECK:         %[[XC:.*]] = memref.collapse_shape %[[XA]] {{\[}}[0], [1, 2]] : memref<16x4x8xf32> into memref<16x32xf32>
// CHECK:         %[[WC:.*]] = memref.collapse_shape %[[WA]] {{\[}}[0], [1, 2]] : memref<64x4x8xf32> into memref<64x32xf32>
// CHECK:         linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[XC]], %[[WC]] : memref<16x32xf32>, memref<64x32xf32>) outs(%[[YA]] : memref<16x64xf32>)
func.func @two_reductions(%x: memref<16x4x8xf32>, %w: memref<64x4x8xf32>, %y: memref<16x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(n, o, h, d) -> (n, h, d)>,
                                   affine_map<(n, o, h, d) -> (o, h, d)>,
                                   affine_map<(n, o, h, d) -> (n, o)>],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : memref<16x4x8xf32>, memref<64x4x8xf32>) outs(%y : memref<16x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// One operand stores the reductions in the other order (d, h): they are not
// one contiguous range there, so nothing collapses.
// CHECK-LABEL: func.func @permuted(
// CHECK-NOT:     memref.collapse_shape
// CHECK:         iterator_types = ["parallel", "parallel", "reduction", "reduction"]
func.func @permuted(%x: memref<16x8x4xf32>, %w: memref<64x4x8xf32>, %y: memref<16x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(n, o, h, d) -> (n, d, h)>,
                                   affine_map<(n, o, h, d) -> (o, h, d)>,
                                   affine_map<(n, o, h, d) -> (n, o)>],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : memref<16x8x4xf32>, memref<64x4x8xf32>) outs(%y : memref<16x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
