// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-collapse-parallel-dims))' | FileCheck %s
// attn-collapse-parallel-dims: consecutive M (or N) loops of a contraction
// that every operand stores contiguously become one.

// A Linear on Swin-style windows, "a b c d i, i o -> a b c d o": the four
// row loops become one of 2 x 2 x 7 x 7 = 196 rows.
// CHECK-DAG:   #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG:   #[[W:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG:   #[[Y:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @windows(
// CHECK-SAME:    %[[XA:.*]]: memref<2x2x7x7x96xf32>, %[[WA:.*]]: memref<96x288xf32>, %[[YA:.*]]: memref<2x2x7x7x288xf32>)
// CHECK-DAG:     %[[XC:.*]] = memref.collapse_shape %[[XA]] {{\[}}[0, 1, 2, 3], [4]] : memref<2x2x7x7x96xf32> into memref<196x96xf32>
// CHECK-DAG:     %[[YC:.*]] = memref.collapse_shape %[[YA]] {{\[}}[0, 1, 2, 3], [4]] : memref<2x2x7x7x288xf32> into memref<196x288xf32>
// CHECK:         linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[XC]], %[[WA]] : memref<196x96xf32>, memref<96x288xf32>) outs(%[[YC]] : memref<196x288xf32>)
// CHECK-NOT:     linalg.generic
func.func @windows(%x: memref<2x2x7x7x96xf32>, %w: memref<96x288xf32>, %y: memref<2x2x7x7x288xf32>) {
  linalg.generic {indexing_maps = [affine_map<(a, b, c, d, o, i) -> (a, b, c, d, i)>,
                                   affine_map<(a, b, c, d, o, i) -> (i, o)>,
                                   affine_map<(a, b, c, d, o, i) -> (a, b, c, d, o)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<2x2x7x7x96xf32>, memref<96x288xf32>) outs(%y : memref<2x2x7x7x288xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The head split folded into the weight, "n i, i h d -> n h d": the column
// loops (h, d) become one of 64; the batch-free row loop stays.
// CHECK-LABEL: func.func @head_split_weight(
// CHECK-SAME:    %[[XA:.*]]: memref<16x32xf32>, %[[WA:.*]]: memref<32x4x16xf32>, %[[YA:.*]]: memref<16x4x16xf32>)
// CHECK-DAG:     %[[WC:.*]] = memref.collapse_shape %[[WA]] {{\[}}[0], [1, 2]] : memref<32x4x16xf32> into memref<32x64xf32>
// CHECK-DAG:     %[[YC:.*]] = memref.collapse_shape %[[YA]] {{\[}}[0], [1, 2]] : memref<16x4x16xf32> into memref<16x64xf32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[XA]], %[[WC]] : memref<16x32xf32>, memref<32x64xf32>) outs(%[[YC]] : memref<16x64xf32>)
func.func @head_split_weight(%x: memref<16x32xf32>, %w: memref<32x4x16xf32>, %y: memref<16x4x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(n, h, d, i) -> (n, i)>,
                                   affine_map<(n, h, d, i) -> (i, h, d)>,
                                   affine_map<(n, h, d, i) -> (n, h, d)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<16x32xf32>, memref<32x4x16xf32>) outs(%y : memref<16x4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The rows come from a strided view (every other window row): they are not
// one contiguous range, so nothing collapses.
// CHECK-LABEL: func.func @strided_rows(
// CHECK-NOT:     memref.collapse_shape
// CHECK:         iterator_types = ["parallel", "parallel", "parallel", "reduction"]
func.func @strided_rows(%x: memref<4x7x96xf32, strided<[1344, 96, 1]>>, %w: memref<96x64xf32>, %y: memref<4x7x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(a, b, o, i) -> (a, b, i)>,
                                   affine_map<(a, b, o, i) -> (i, o)>,
                                   affine_map<(a, b, o, i) -> (a, b, o)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<4x7x96xf32, strided<[1344, 96, 1]>>, memref<96x64xf32>) outs(%y : memref<4x7x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The output stores the rows the other way round ("a b i -> b a o"): not
// consecutive in loop order there, so they stay two loops.
// CHECK-LABEL: func.func @transposed_rows(
// CHECK-NOT:     memref.collapse_shape
// CHECK:         iterator_types = ["parallel", "parallel", "parallel", "reduction"]
func.func @transposed_rows(%x: memref<4x7x96xf32>, %w: memref<96x64xf32>, %y: memref<7x4x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(a, b, o, i) -> (a, b, i)>,
                                   affine_map<(a, b, o, i) -> (i, o)>,
                                   affine_map<(a, b, o, i) -> (b, a, o)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<4x7x96xf32>, memref<96x64xf32>) outs(%y : memref<7x4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Batch loops (in every operand) are left alone, and so are the block
// products inside a flash nest's scf.forall.
// CHECK-LABEL: func.func @batch_and_nested(
// CHECK-NOT:     memref.collapse_shape
func.func @batch_and_nested(%x: memref<2x3x8x16xf32>, %w: memref<2x3x16x8xf32>, %y: memref<2x3x8x8xf32>,
                            %p: memref<2x7x16xf32>, %v: memref<16x32xf32>, %o: memref<2x7x32xf32>) {
  linalg.generic {indexing_maps = [affine_map<(a, b, m, n, k) -> (a, b, m, k)>,
                                   affine_map<(a, b, m, n, k) -> (a, b, k, n)>,
                                   affine_map<(a, b, m, n, k) -> (a, b, m, n)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<2x3x8x16xf32>, memref<2x3x16x8xf32>) outs(%y : memref<2x3x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %q = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %q : f32
    linalg.yield %s : f32
  }
  scf.forall (%i) in (2) {
    linalg.generic {indexing_maps = [affine_map<(a, b, o, i) -> (a, b, i)>,
                                     affine_map<(a, b, o, i) -> (i, o)>,
                                     affine_map<(a, b, o, i) -> (a, b, o)>],
                    iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
        ins(%p, %v : memref<2x7x16xf32>, memref<16x32xf32>) outs(%o : memref<2x7x32xf32>) {
    ^bb0(%a: f32, %b: f32, %acc: f32):
      %q = arith.mulf %a, %b : f32
      %s = arith.addf %acc, %q : f32
      linalg.yield %s : f32
    }
  }
  return
}
