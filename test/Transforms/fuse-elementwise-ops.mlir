// RUN: attn-opt %s --attn-fuse-elementwise-ops --split-input-file | FileCheck %s
// attn-fuse-elementwise-ops: upstream's elementwise fusion, except where it
// would change the result: a producer that reads its own outs is not fused
// into a consumer that visits each of its elements more than once.

#id2 = affine_map<(d0, d1) -> (d0, d1)>
// A read-modify-write producer (`out + a * b` over a zero fill, the form of
// an outer product lowered as a contraction) feeding a contraction that sums
// over d2 and broadcasts over d1: fused, the kept init would be updated once
// per d1 and the consumer would read the running sum. Both ops stay.
// CHECK-LABEL: func.func @producer_reads_init
// CHECK:         %[[P:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK:           arith.addf %{{.*}}, %{{.*}} : f32
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%{{.*}}, %[[P]] : tensor<5x40x3xf32>, tensor<5x3xf32>)
func.func @producer_reads_init(%a: tensor<5x3xf32>, %b: tensor<5x3xf32>,
                               %x: tensor<5x40x3xf32>) -> tensor<5x40xf32> {
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<5x3xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<5x3xf32>) -> tensor<5x3xf32>
  %p = linalg.generic {indexing_maps = [#id2, #id2, #id2],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<5x3xf32>, tensor<5x3xf32>) outs(%z : tensor<5x3xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %m = arith.mulf %i, %j : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<5x3xf32>
  %e2 = tensor.empty() : tensor<5x40xf32>
  %z2 = linalg.fill ins(%cst : f32) outs(%e2 : tensor<5x40xf32>) -> tensor<5x40xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>,
                                        affine_map<(d0, d1, d2) -> (d0, d2)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %p : tensor<5x40x3xf32>, tensor<5x3xf32>) outs(%z2 : tensor<5x40xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %m = arith.mulf %i, %j : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<5x40xf32>
  return %r : tensor<5x40xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
// The same producer read through a permutation of all the consumer's loops:
// each element is visited once, so fusing is exact and happens.
// CHECK-LABEL: func.func @producer_reads_init_visited_once
// CHECK:         linalg.generic
// CHECK-NOT:     linalg.generic
func.func @producer_reads_init_visited_once(%a: tensor<5x3xf32>,
    %b: tensor<5x3xf32>, %c: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %p = linalg.generic {indexing_maps = [#id2, #id2],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<5x3xf32>) outs(%b : tensor<5x3xf32>) {
  ^bb0(%i: f32, %o: f32):
    %s = arith.addf %o, %i : f32
    linalg.yield %s : f32
  } -> tensor<5x3xf32>
  %e = tensor.empty() : tensor<3x5xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, #id2, #id2],
                       iterator_types = ["parallel", "parallel"]}
      ins(%p, %c : tensor<5x3xf32>, tensor<3x5xf32>) outs(%e : tensor<3x5xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %m = arith.mulf %i, %j : f32
    linalg.yield %m : f32
  } -> tensor<3x5xf32>
  return %r : tensor<3x5xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
// A producer that ignores its outs fuses into a reduction as upstream's
// fusion does: the product is recomputed inside the contraction.
// CHECK-LABEL: func.func @pure_producer
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<5x40x3xf32>, tensor<5x3xf32>, tensor<5x3xf32>)
// CHECK-NOT:     linalg.generic
func.func @pure_producer(%a: tensor<5x3xf32>, %b: tensor<5x3xf32>,
                         %x: tensor<5x40x3xf32>) -> tensor<5x40xf32> {
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<5x3xf32>
  %p = linalg.generic {indexing_maps = [#id2, #id2, #id2],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<5x3xf32>, tensor<5x3xf32>) outs(%e : tensor<5x3xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %m = arith.mulf %i, %j : f32
    linalg.yield %m : f32
  } -> tensor<5x3xf32>
  %e2 = tensor.empty() : tensor<5x40xf32>
  %z2 = linalg.fill ins(%cst : f32) outs(%e2 : tensor<5x40xf32>) -> tensor<5x40xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>,
                                        affine_map<(d0, d1, d2) -> (d0, d2)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %p : tensor<5x40x3xf32>, tensor<5x3xf32>) outs(%z2 : tensor<5x40xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %m = arith.mulf %i, %j : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<5x40xf32>
  return %r : tensor<5x40xf32>
}
