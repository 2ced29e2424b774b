// RUN: attn-opt %s --attn-fuse-elementwise-ops --split-input-file | FileCheck %s
// attn-fuse-elementwise-ops: upstream's elementwise fusion, except where it
// would change the result (a producer that reads its own outs is not fused
// into a consumer that visits each of its elements more than once) or cost
// the contraction its micro-kernel (a computing producer is not fused into a
// consumer that re-reads its elements while reducing).

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
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// A producer that ignores its outs fuses into a consumer that visits each of
// its elements many times (here a broadcast over d1) as upstream's fusion
// does: the product is recomputed per visit, which is exact. (Into a
// contraction it is not fused, for speed: @add_into_linear below.)
// CHECK-LABEL: func.func @pure_producer
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME:      ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<5x40x3xf32>, tensor<5x3xf32>, tensor<5x3xf32>)
// CHECK-NOT:     linalg.generic
func.func @pure_producer(%a: tensor<5x3xf32>, %b: tensor<5x3xf32>,
                         %x: tensor<5x40x3xf32>) -> tensor<5x40x3xf32> {
  %e = tensor.empty() : tensor<5x3xf32>
  %p = linalg.generic {indexing_maps = [#id2, #id2, #id2],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<5x3xf32>, tensor<5x3xf32>) outs(%e : tensor<5x3xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %m = arith.mulf %i, %j : f32
    linalg.yield %m : f32
  } -> tensor<5x3xf32>
  %e2 = tensor.empty() : tensor<5x40x3xf32>
  %r = linalg.generic {indexing_maps = [#id3, affine_map<(d0, d1, d2) -> (d0, d2)>, #id3],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %p : tensor<5x40x3xf32>, tensor<5x3xf32>) outs(%e2 : tensor<5x40x3xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %m = arith.mulf %i, %j : f32
    linalg.yield %m : f32
  } -> tensor<5x40x3xf32>
  return %r : tensor<5x40x3xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#lhs = affine_map<(b, n, o, i) -> (b, n, i)>
#rhs = affine_map<(b, n, o, i) -> (i, o)>
#res = affine_map<(b, n, o, i) -> (b, n, o)>

// x + c feeding a Linear on a 3-D tensor: the add stays its own op and the
// contraction's body is exactly mulf + addf.
// CHECK-LABEL: func.func @add_into_linear
// CHECK:         %[[SUM:.*]] = linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME:      ins(%arg0, %arg1 :
// CHECK:           arith.addf
// CHECK:         linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[SUM]], %arg2 :
// CHECK-NEXT:    ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT:      %[[P:.*]] = arith.mulf %[[A]], %[[B]] : f32
// CHECK-NEXT:      %[[S:.*]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK-NEXT:      linalg.yield %[[S]] : f32
func.func @add_into_linear(%x: tensor<2x197x768xf32>, %c: tensor<2x197x768xf32>,
                           %w: tensor<768x64xf32>) -> tensor<2x197x64xf32> {
  %e = tensor.empty() : tensor<2x197x768xf32>
  %sum = linalg.generic {indexing_maps = [#id3, #id3, #id3],
                         iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %c : tensor<2x197x768xf32>, tensor<2x197x768xf32>) outs(%e : tensor<2x197x768xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x197x768xf32>
  %zero = arith.constant 0.0 : f32
  %init = tensor.empty() : tensor<2x197x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<2x197x64xf32>) -> tensor<2x197x64xf32>
  %r = linalg.generic {indexing_maps = [#lhs, #rhs, #res],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%sum, %w : tensor<2x197x768xf32>, tensor<768x64xf32>) outs(%acc : tensor<2x197x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x197x64xf32>
  return %r : tensor<2x197x64xf32>
}

// -----

// torch.cat as the Python frontend writes it (linalg.index, tensor.extract,
// select) feeding a matrix product: not fused either.
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @cat_into_matmul
// CHECK:         %[[CAT:.*]] = linalg.generic
// CHECK:           linalg.index
// CHECK:           tensor.extract
// CHECK:         linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%[[CAT]], %arg2 :
// CHECK-NOT:       tensor.extract
func.func @cat_into_matmul(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>,
                           %w: tensor<16x32xf32>) -> tensor<4x32xf32> {
  %e = tensor.empty() : tensor<4x16xf32>
  %cat = linalg.generic {indexing_maps = [#id2], iterator_types = ["parallel", "parallel"]}
      outs(%e : tensor<4x16xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %c8 = arith.constant 8 : index
    %c7 = arith.constant 7 : index
    %c0 = arith.constant 0 : index
    %lo = arith.minsi %j, %c7 : index
    %rel = arith.subi %j, %c8 : index
    %relc = arith.maxsi %rel, %c0 : index
    %va = tensor.extract %a[%i, %lo] : tensor<4x8xf32>
    %vb = tensor.extract %b[%i, %relc] : tensor<4x8xf32>
    %second = arith.cmpi sge, %j, %c8 : index
    %v = arith.select %second, %vb, %va : f32
    linalg.yield %v : f32
  } -> tensor<4x16xf32>
  %zero = arith.constant 0.0 : f32
  %init = tensor.empty() : tensor<4x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<4x32xf32>) -> tensor<4x32xf32>
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%cat, %w : tensor<4x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<4x32xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x32xf32>
  return %r : tensor<4x32xf32>
}

// -----

// A widening cast feeding a contraction moves data only: it fuses (the
// contraction's body reads bf16 and extends it, which the tiling pass widens
// into an f32 buffer once).
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @extf_into_contraction
// CHECK:         linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:      ins(%arg0, %arg1 : tensor<8x16xbf16>, tensor<16x32xf32>)
// CHECK:           arith.extf
// CHECK:           arith.mulf
// CHECK-NOT:     linalg.generic
func.func @extf_into_contraction(%x: tensor<8x16xbf16>, %w: tensor<16x32xf32>) -> tensor<8x32xf32> {
  %e = tensor.empty() : tensor<8x16xf32>
  %wide = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x16xbf16>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%a: bf16, %o: f32):
    %f = arith.extf %a : bf16 to f32
    linalg.yield %f : f32
  } -> tensor<8x16xf32>
  %zero = arith.constant 0.0 : f32
  %init = tensor.empty() : tensor<8x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<8x32xf32>) -> tensor<8x32xf32>
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%wide, %w : tensor<8x16xf32>, tensor<16x32xf32>) outs(%acc : tensor<8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  return %r : tensor<8x32xf32>
}

// -----

// Into elementwise consumers and into a reduction that reads each element
// once (a row sum, LayerNorm's mean), fusion is upstream's: one op left.
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @add_into_row_sum
// CHECK:         linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "reduction"]
// CHECK-SAME:      ins(%arg0, %arg1 :
// CHECK:           arith.addf
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK-NOT:     linalg.generic
func.func @add_into_row_sum(%x: tensor<8x64xf32>, %c: tensor<8x64xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8x64xf32>
  %sum = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %c : tensor<8x64xf32>, tensor<8x64xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<8x64xf32>
  %e2 = tensor.empty() : tensor<8x64xf32>
  %sq = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%sum : tensor<8x64xf32>) outs(%e2 : tensor<8x64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  } -> tensor<8x64xf32>
  %zero = arith.constant 0.0 : f32
  %init = tensor.empty() : tensor<8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<8xf32>) -> tensor<8xf32>
  %r = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%sq : tensor<8x64xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// -----

// LayerNorm as the frontend writes it: named linalg.reduce and
// linalg.broadcast ops, generalised so that they fuse. The centred values
// have two users and stay; the square fuses into the variance's reduction;
// the mean's scaling, every broadcast (mean, rstd, weight, bias) and the
// final scale-and-shift become one op whose maps read the row statistics
// and the weights in place. Nothing is broadcast into a buffer.
// CHECK-DAG:   #[[ROW:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[STAT:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG:   #[[COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @layer_norm(
// CHECK-SAME:    %[[X:.*]]: tensor<197x192xf32>, %[[W:.*]]: tensor<192xf32>, %[[B:.*]]: tensor<192xf32>)
// CHECK-NOT:     linalg.broadcast
// CHECK-NOT:     linalg.reduce
// CHECK:         %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ROW]], #[[STAT]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<197x192xf32>)
// CHECK:         %[[C:.*]] = linalg.generic {indexing_maps = [#[[ROW]], #[[STAT]], #[[ROW]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[SUM]] : tensor<197x192xf32>, tensor<197xf32>)
// CHECK:           arith.mulf
// CHECK:           arith.subf
// CHECK:         %[[SQ:.*]] = linalg.generic {indexing_maps = [#[[ROW]], #[[STAT]]], iterator_types = ["parallel", "reduction"]} ins(%[[C]] : tensor<197x192xf32>)
// CHECK:           %[[P:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK:           arith.addf %[[P]], %{{.*}} : f32
// CHECK:         %[[Y:.*]] = linalg.generic {indexing_maps = [#[[ROW]], #[[STAT]], #[[COL]], #[[COL]], #[[ROW]]], iterator_types = ["parallel", "parallel"]} ins(%[[C]], %[[SQ]], %[[W]], %[[B]] : tensor<197x192xf32>, tensor<197xf32>, tensor<192xf32>, tensor<192xf32>)
// CHECK:           math.rsqrt
// CHECK:         return %[[Y]]
func.func @layer_norm(%x: tensor<197x192xf32>, %w: tensor<192xf32>, %b: tensor<192xf32>) -> tensor<197x192xf32> {
  %zero = arith.constant 0.0 : f32
  %inv = arith.constant 5.2083333e-03 : f32
  %eps = arith.constant 1.0e-6 : f32
  %es = tensor.empty() : tensor<197xf32>
  %z = linalg.fill ins(%zero : f32) outs(%es : tensor<197xf32>) -> tensor<197xf32>
  %sum = linalg.reduce ins(%x : tensor<197x192xf32>) outs(%z : tensor<197xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  %mean = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                          iterator_types = ["parallel"]} ins(%sum : tensor<197xf32>) outs(%es : tensor<197xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %inv : f32
    linalg.yield %m : f32
  } -> tensor<197xf32>
  %e = tensor.empty() : tensor<197x192xf32>
  %mb = linalg.broadcast ins(%mean : tensor<197xf32>) outs(%e : tensor<197x192xf32>) dimensions = [1]
  %c = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]} ins(%x, %mb : tensor<197x192xf32>, tensor<197x192xf32>) outs(%e : tensor<197x192xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %d = arith.subf %in, %m : f32
    linalg.yield %d : f32
  } -> tensor<197x192xf32>
  %sq = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                        iterator_types = ["parallel", "parallel"]} ins(%c : tensor<197x192xf32>) outs(%e : tensor<197x192xf32>) {
  ^bb0(%in: f32, %out: f32):
    %p = arith.mulf %in, %in : f32
    linalg.yield %p : f32
  } -> tensor<197x192xf32>
  %ss = linalg.reduce ins(%sq : tensor<197x192xf32>) outs(%z : tensor<197xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  %rstd = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                          iterator_types = ["parallel"]} ins(%ss : tensor<197xf32>) outs(%es : tensor<197xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = arith.mulf %in, %inv : f32
    %ve = arith.addf %v, %eps : f32
    %r = math.rsqrt %ve : f32
    linalg.yield %r : f32
  } -> tensor<197xf32>
  %rb = linalg.broadcast ins(%rstd : tensor<197xf32>) outs(%e : tensor<197x192xf32>) dimensions = [1]
  %wb = linalg.broadcast ins(%w : tensor<192xf32>) outs(%e : tensor<197x192xf32>) dimensions = [0]
  %bb = linalg.broadcast ins(%b : tensor<192xf32>) outs(%e : tensor<197x192xf32>) dimensions = [0]
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>,
                                        affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%c, %rb, %wb, %bb : tensor<197x192xf32>, tensor<197x192xf32>, tensor<197x192xf32>, tensor<197x192xf32>) outs(%e : tensor<197x192xf32>) {
  ^bb0(%in: f32, %r: f32, %ww: f32, %bi: f32, %out: f32):
    %n = arith.mulf %in, %r : f32
    %s = arith.mulf %n, %ww : f32
    %t = arith.addf %s, %bi : f32
    linalg.yield %t : f32
  } -> tensor<197x192xf32>
  return %y : tensor<197x192xf32>
}

// -----

// Inside a flash nest the named ops stay named (attn-vectorize-flash-steps
// reads them).
// CHECK-LABEL: func.func @broadcast_in_flash_nest(
// CHECK:         scf.forall
// CHECK:           linalg.broadcast
func.func @broadcast_in_flash_nest(%x: tensor<4xf32>, %y: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %r = scf.forall (%i) in (2) shared_outs(%o = %y) -> (tensor<2x4x8xf32>) {
    %e = tensor.empty() : tensor<4x8xf32>
    %b = linalg.broadcast ins(%x : tensor<4xf32>) outs(%e : tensor<4x8xf32>) dimensions = [1]
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %b into %o[%i, 0, 0] [1, 4, 8] [1, 1, 1] : tensor<4x8xf32> into tensor<2x4x8xf32>
    }
  } {mapping = [#attn.flash_nest<0>]}
  return %r : tensor<2x4x8xf32>
}

// -----

// A weight broadcast over the batch as the frontend writes it (a named
// linalg.broadcast), read by a batched contraction: generalised, the
// broadcast becomes the contraction's indexing map, so the weight is read
// in place and never copied per batch; the body stays the plain
// multiply-add that attn-contractions-to-ukernels takes.
// CHECK-DAG:   #[[X:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG:   #[[W:.*]] = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
// CHECK-LABEL: func.func @broadcast_into_contraction(
// CHECK-SAME:    %[[XA:.*]]: tensor<4x8x16xf32>, %[[WA:.*]]: tensor<16x32xf32>)
// CHECK-NOT:     linalg.broadcast
// CHECK:         %[[F:.*]] = linalg.fill
// CHECK-NEXT:    %[[R:.*]] = linalg.generic {indexing_maps = [#[[X]], #[[W]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[XA]], %[[WA]] : tensor<4x8x16xf32>, tensor<16x32xf32>) outs(%[[F]] : tensor<4x8x32xf32>)
// CHECK-NEXT:    ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT:      %[[P:.*]] = arith.mulf %[[A]], %[[B]] : f32
// CHECK-NEXT:      %[[S:.*]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK-NEXT:      linalg.yield %[[S]] : f32
// CHECK:         return %[[R]]
func.func @broadcast_into_contraction(%x: tensor<4x8x16xf32>, %w: tensor<16x32xf32>) -> tensor<4x8x32xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16x32xf32>
  %wb = linalg.broadcast ins(%w : tensor<16x32xf32>) outs(%e : tensor<4x16x32xf32>) dimensions = [0]
  %eo = tensor.empty() : tensor<4x8x32xf32>
  %f = linalg.fill ins(%z : f32) outs(%eo : tensor<4x8x32xf32>) -> tensor<4x8x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %wb : tensor<4x8x16xf32>, tensor<4x16x32xf32>) outs(%f : tensor<4x8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x8x32xf32>
  return %r : tensor<4x8x32xf32>
}

// -----

// A computing producer (`w + c`) behind that broadcast: it is not fused into
// the broadcast (which would then compute the sum once per batch, at
// 4x16x32, and, no longer a pure data movement, be materialised there), nor
// into the contraction's inner loop (keepsContraction). The broadcast fuses
// into the contraction as a map; the sum is computed once, at 16x32, and the
// contraction reads it in place.
// CHECK-DAG:   #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[W:.*]] = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
// CHECK-LABEL: func.func @add_behind_broadcast_into_contraction(
// CHECK-SAME:    %[[XA:.*]]: tensor<4x8x16xf32>, %[[WA:.*]]: tensor<16x32xf32>, %[[CA:.*]]: tensor<16x32xf32>)
// CHECK-NOT:     tensor<4x16x32xf32>
// CHECK:         %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ID]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[WA]], %[[CA]] : tensor<16x32xf32>, tensor<16x32xf32>) outs(%{{.*}} : tensor<16x32xf32>)
// CHECK:           arith.addf
// CHECK-NOT:     tensor<4x16x32xf32>
// CHECK:         %[[R:.*]] = linalg.generic {indexing_maps = [{{.*}}, #[[W]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[XA]], %[[SUM]] : tensor<4x8x16xf32>, tensor<16x32xf32>)
// CHECK-NEXT:    ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT:      %[[P:.*]] = arith.mulf %[[A]], %[[B]] : f32
// CHECK-NEXT:      %[[S:.*]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK-NEXT:      linalg.yield %[[S]] : f32
// CHECK:         return %[[R]]
func.func @add_behind_broadcast_into_contraction(%x: tensor<4x8x16xf32>, %w: tensor<16x32xf32>, %c: tensor<16x32xf32>) -> tensor<4x8x32xf32> {
  %z = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<16x32xf32>
  %ws = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%w, %c : tensor<16x32xf32>, tensor<16x32xf32>) outs(%e2 : tensor<16x32xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<16x32xf32>
  %e = tensor.empty() : tensor<4x16x32xf32>
  %wb = linalg.broadcast ins(%ws : tensor<16x32xf32>) outs(%e : tensor<4x16x32xf32>) dimensions = [0]
  %eo = tensor.empty() : tensor<4x8x32xf32>
  %f = linalg.fill ins(%z : f32) outs(%eo : tensor<4x8x32xf32>) -> tensor<4x8x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %wb : tensor<4x8x16xf32>, tensor<4x16x32xf32>) outs(%f : tensor<4x8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %cc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %cc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x8x32xf32>
  return %r : tensor<4x8x32xf32>
}

// -----

// The same sum behind a broadcast into an elementwise consumer: the
// broadcast and then the sum fuse into it (one loop, no buffer of either).
// CHECK-LABEL: func.func @add_behind_broadcast_into_elementwise(
// CHECK-SAME:    %[[XA:.*]]: tensor<4x16x32xf32>, %[[WA:.*]]: tensor<16x32xf32>, %[[CA:.*]]: tensor<16x32xf32>)
// CHECK:         %[[R:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[XA]], %[[WA]], %[[CA]] : tensor<4x16x32xf32>, tensor<16x32xf32>, tensor<16x32xf32>)
// CHECK:           arith.addf
// CHECK:           arith.mulf
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[R]]
func.func @add_behind_broadcast_into_elementwise(%x: tensor<4x16x32xf32>, %w: tensor<16x32xf32>, %c: tensor<16x32xf32>) -> tensor<4x16x32xf32> {
  %e2 = tensor.empty() : tensor<16x32xf32>
  %ws = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%w, %c : tensor<16x32xf32>, tensor<16x32xf32>) outs(%e2 : tensor<16x32xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<16x32xf32>
  %e = tensor.empty() : tensor<4x16x32xf32>
  %wb = linalg.broadcast ins(%ws : tensor<16x32xf32>) outs(%e : tensor<4x16x32xf32>) dimensions = [0]
  %r = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %wb : tensor<4x16x32xf32>, tensor<4x16x32xf32>) outs(%e : tensor<4x16x32xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  } -> tensor<4x16x32xf32>
  return %r : tensor<4x16x32xf32>
}
