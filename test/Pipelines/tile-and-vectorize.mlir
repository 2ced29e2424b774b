// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-tile-and-vectorize{parallel-tile-m=16 parallel-tile-n=64 min-parallel-tiles=1 lower-vectors=false}))' | FileCheck %s
// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-tile-and-vectorize{parallel-tile-m=16 parallel-tile-n=64}))' | FileCheck %s --check-prefix=FMA
// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-tile-and-vectorize{parallel-tile-m=16 parallel-tile-n=64 min-parallel-tiles=1 reduction-tile=128 lower-vectors=false}))' | FileCheck %s --check-prefix=KBLOCK
// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-tile-and-vectorize{lower-vectors=false}))' | FileCheck %s --check-prefix=SMALL
// attn-tile-and-vectorize on buffers: scf.forall output tiles, peeled 8x32
// register tiles with the accumulator carried through the reduction loop,
// and vector.contract lowered to FMAs.

// A matmul whose sizes are not multiples of the tiles: full tiles are
// vectorised; the peeled remainders are vectorised as whole register tiles
// whose transfers are out of bounds along the partial dimension.
// CHECK-LABEL: func.func @matmul(
// CHECK-SAME:    %[[A:.*]]: memref<20x16xf32>, %[[B:.*]]: memref<16x80xf32>, %[[C:.*]]: memref<20x80xf32>)
// CHECK:         scf.forall (%[[I:.*]], %[[J:.*]]) = (0, 0) to (20, 80) step (16, 64) {
// The rhs rows (stride 80 floats) are read in place: no packing.
// CHECK-NOT:       memref.alloc
// CHECK:           scf.for %{{.*}} = %c0 to %{{.*}} step %c8 {
// CHECK:             scf.for %{{.*}} = %c0 to %{{.*}} step %c32 {
// CHECK:               %[[CT:.*]] = memref.subview %{{.*}} [8, 32] [1, 1] : memref<?x?xf32, strided<[80, 1], offset: ?>> to memref<8x32xf32, strided<[80, 1], offset: ?>>
// CHECK:               %[[ACC:.*]] = vector.transfer_read %[[CT]][%c0, %c0], %{{.*}} {in_bounds = [true, true]} : memref<8x32xf32, strided<[80, 1], offset: ?>>, vector<8x32xf32>
// CHECK:               %[[RES:.*]] = scf.for %[[K:.*]] = %c0 to %c16 step %c1 iter_args(%[[ARG:.*]] = %[[ACC]]) -> (vector<8x32xf32>) {
// CHECK:                 %[[LHS:.*]] = vector.transfer_read %{{.*}} : memref<8x1xf32, strided<[16, 1], offset: ?>>, vector<8x1xf32>
// CHECK:                 %[[ROW:.*]] = vector.transfer_read %{{.*}} : memref<1x32xf32, strided<[80, 1], offset: ?>>, vector<32xf32>
// CHECK:                 %[[RHS:.*]] = vector.broadcast %[[ROW]] : vector<32xf32> to vector<1x32xf32>
// CHECK:                 %[[SUM:.*]] = vector.contract {{.*}} %[[LHS]], %[[RHS]], %[[ARG]] : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK:                 scf.yield %[[SUM]] : vector<8x32xf32>
// CHECK:               }
// CHECK:               vector.transfer_write %[[RES]], %[[CT]][%c0, %c0] {in_bounds = [true, true]} : vector<8x32xf32>, memref<8x32xf32, strided<[80, 1], offset: ?>>
// N remainder: columns out of bounds, the accumulator still hoisted.
// CHECK:             scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c32 {
// CHECK:               vector.transfer_read %{{.*}} {in_bounds = [true, false]} : memref<8x?xf32, strided<[80, 1], offset: ?>>, vector<8x32xf32>
// CHECK:               scf.for %{{.*}} = %c0 to %c16 step %c1 iter_args(%{{.*}}) -> (vector<8x32xf32>) {
// CHECK:                 vector.transfer_read %{{.*}} : memref<1x?xf32, strided<[80, 1], offset: ?>>, vector<32xf32>
// CHECK:                 vector.contract
// CHECK:               vector.transfer_write %{{.*}} {in_bounds = [true, false]} : vector<8x32xf32>, memref<8x?xf32, strided<[80, 1], offset: ?>>
// M remainder: rows out of bounds.
// CHECK:           scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c8 {
// CHECK:               vector.transfer_read %{{.*}} {in_bounds = [false, true]} : memref<?x32xf32, strided<[80, 1], offset: ?>>, vector<8x32xf32>
// CHECK:                 vector.transfer_read %{{.*}} {in_bounds = [false, true]} : memref<?x1xf32, strided<[16, 1], offset: ?>>, vector<8x1xf32>
// CHECK:                 vector.contract
// CHECK:               vector.transfer_write %{{.*}} {in_bounds = [false, true]} : vector<8x32xf32>, memref<?x32xf32, strided<[80, 1], offset: ?>>
// Both remainders.
// CHECK:               vector.transfer_read %{{.*}} : memref<?x?xf32, strided<[80, 1], offset: ?>>, vector<8x32xf32>
// CHECK:                 vector.contract
// CHECK:               vector.transfer_write %{{.*}} : vector<8x32xf32>, memref<?x?xf32, strided<[80, 1], offset: ?>>
// CHECK-NOT:     linalg.matmul

// FMA-LABEL: func.func @matmul(
// FMA:         scf.forall
// FMA:           scf.for %{{.*}} = %c0 to %c16 step %c1 iter_args(%{{.*}} = %{{.*}}) -> (vector<8x32xf32>) {
// FMA-COUNT-8:     vector.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<32xf32>
// FMA-NOT:         vector.contract
// FMA:             scf.yield %{{.*}} : vector<8x32xf32>
// Partial tiles: masked loads along N, guarded rows along M.
// FMA:         vector.maskedload
// FMA-NOT:     linalg.matmul
func.func @matmul(%a: memref<20x16xf32>, %b: memref<16x80xf32>, %c: memref<20x80xf32>) {
  linalg.matmul ins(%a, %b : memref<20x16xf32>, memref<16x80xf32>)
                outs(%c : memref<20x80xf32>)
  return
}

// -----

// nn.Linear's weight is [out, in]: the reduction is innermost in the rhs, so
// it is first transposed into a temporary with N innermost. (Its single
// forall tile folds away.)
// CHECK-LABEL: func.func @linear(
// CHECK-SAME:    %[[X:.*]]: memref<4x16xf32>, %[[W:.*]]: memref<64x16xf32>, %[[Y:.*]]: memref<4x64xf32>)
// CHECK:         %[[WT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x64xf32>
// CHECK:         linalg.transpose ins(%[[W]] : memref<64x16xf32>) outs(%[[WT]] : memref<16x64xf32>) permutation = [1, 0]
// CHECK:         scf.for %[[N:.*]] = %c0 to %c64 step %c32 {
// CHECK:           %[[YT:.*]] = memref.subview %[[Y]][0, %[[N]]] [4, 32] [1, 1]
// CHECK:           vector.transfer_read %[[YT]][%c0, %c0], {{.*}} : memref<4x32xf32, strided<[64, 1], offset: ?>>, vector<4x32xf32>
// CHECK:           scf.for %[[K:.*]] = %c0 to %c16 step %c1 iter_args(%{{.*}}) -> (vector<4x32xf32>) {
// CHECK:             memref.subview %[[X]][0, %[[K]]] [4, 1] [1, 1]
// CHECK:             memref.subview %[[WT]][%[[K]], %[[N]]] [1, 32] [1, 1]
// CHECK:             vector.contract {{.*}} : vector<4x1xf32>, vector<1x32xf32> into vector<4x32xf32>
// CHECK:         memref.dealloc %[[WT]] : memref<16x64xf32>
func.func @linear(%x: memref<4x16xf32>, %w: memref<64x16xf32>, %y: memref<4x64xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : memref<4x16xf32>, memref<64x16xf32>)
      outs(%y : memref<4x64xf32>)
  return
}

// -----

// Inside a flash-attention nest (an scf.forall mapped with #attn.flash_nest)
// no second forall is created: the tile is register-tiled in place.
// CHECK-LABEL: func.func @in_forall(
// CHECK:         scf.forall (%[[B:.*]]) in (2) {
// CHECK-NOT:       scf.forall
// CHECK:           %[[CT:.*]] = memref.subview %{{.*}}[%[[B]], 0, 0] [1, 8, 32] [1, 1, 1]
// CHECK:           %[[ACC:.*]] = vector.transfer_read %[[CT]][%c0, %c0], {{.*}} : memref<8x32xf32, strided<[32, 1], offset: ?>>, vector<8x32xf32>
// CHECK:           scf.for %{{.*}} = %c0 to %c4 step %c1 iter_args(%{{.*}} = %[[ACC]]) -> (vector<8x32xf32>) {
// CHECK:             vector.contract {{.*}} : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
func.func @in_forall(%a: memref<2x8x4xf32>, %b: memref<2x4x32xf32>, %c: memref<2x8x32xf32>) {
  scf.forall (%i) in (2) {
    %sa = memref.subview %a[%i, 0, 0] [1, 8, 4] [1, 1, 1] : memref<2x8x4xf32> to memref<8x4xf32, strided<[4, 1], offset: ?>>
    %sb = memref.subview %b[%i, 0, 0] [1, 4, 32] [1, 1, 1] : memref<2x4x32xf32> to memref<4x32xf32, strided<[32, 1], offset: ?>>
    %sc = memref.subview %c[%i, 0, 0] [1, 8, 32] [1, 1, 1] : memref<2x8x32xf32> to memref<8x32xf32, strided<[32, 1], offset: ?>>
    linalg.matmul ins(%sa, %sb : memref<8x4xf32, strided<[4, 1], offset: ?>>, memref<4x32xf32, strided<[32, 1], offset: ?>>)
                  outs(%sc : memref<8x32xf32, strided<[32, 1], offset: ?>>)
  } {mapping = [#attn.flash_nest<0>]}
  return
}

// -----

// Not a contraction: left alone.
// CHECK-LABEL: func.func @elementwise(
// CHECK-NOT:     scf.forall
// CHECK:         linalg.add
func.func @elementwise(%a: memref<8x32xf32>, %b: memref<8x32xf32>) {
  linalg.add ins(%a, %a : memref<8x32xf32>, memref<8x32xf32>) outs(%b : memref<8x32xf32>)
  return
}

// -----

// nn.Linear on [b, 1, c] (PyTorch's MHA in_proj after its batch-first
// transpose): the innermost M dimension has size 1, so the register tile's
// rows come from the next one (b) instead of every tile being one row.
// CHECK-LABEL: func.func @unit_inner_m(
// CHECK:         linalg.transpose
// CHECK:         scf.for %{{.*}} = %c0 to %c16 step %c8 {
// CHECK:           scf.for %{{.*}} = %c0 to %c64 step %c32 {
// CHECK:             vector.transfer_read {{.*}} : memref<8x1x32xf32, {{.*}}>, vector<8x1x32xf32>
// CHECK:             scf.for {{.*}} iter_args(%{{.*}}) -> (vector<8x1x32xf32>) {
// CHECK:               vector.contract {{.*}} : vector<8x1x1xf32>, vector<1x32xf32> into vector<8x1x32xf32>
func.func @unit_inner_m(%x: memref<16x1x8xf32>, %w: memref<64x8xf32>, %y: memref<16x1x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(b, n, o, c) -> (b, n, c)>,
                                   affine_map<(b, n, o, c) -> (o, c)>,
                                   affine_map<(b, n, o, c) -> (b, n, o)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<16x1x8xf32>, memref<64x8xf32>) outs(%y : memref<16x1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// An elementwise producer fused into the contraction (a LayerNorm's scale
// times x, then x Wᵀ) is computed into a temporary first, so the
// contraction is a plain two-input one and gets vectorised. The temporary's
// generic is itself vectorised one row per forall iteration.
// CHECK-LABEL: func.func @fused_factor(
// CHECK-SAME:    %[[X:.*]]: memref<16x8xf32>, %[[G:.*]]: memref<8xf32>, %[[W:.*]]: memref<8x64xf32>, %[[Y:.*]]: memref<16x64xf32>)
// CHECK:         %[[T:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x8xf32>
// CHECK:         scf.forall (%[[R:.*]]) in (16) {
// CHECK:           %[[XR:.*]] = memref.subview %[[X]][%[[R]], 0] [1, 8] [1, 1]
// CHECK:           %[[TR:.*]] = memref.subview %[[T]][%[[R]], 0] [1, 8] [1, 1]
// CHECK:           %[[GV:.*]] = vector.transfer_read %[[G]][%c0], {{.*}} : memref<8xf32>, vector<8xf32>
// CHECK:           %[[XV:.*]] = vector.transfer_read %[[XR]][%c0, %c0], {{.*}} vector<8xf32>
// CHECK:           %[[P:.*]] = arith.mulf %[[XV]], %[[GV]] : vector<8xf32>
// CHECK:           vector.transfer_write %[[P]], %[[TR]][%c0, %c0]
// CHECK:         scf.for
// CHECK:           scf.for {{.*}} iter_args(%{{.*}}) -> (vector<8x32xf32>) {
// CHECK:             memref.subview %[[T]]
// CHECK:             vector.contract {{.*}} : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK:         memref.dealloc %[[T]] : memref<16x8xf32>
// CHECK-NOT:     linalg.generic
func.func @fused_factor(%x: memref<16x8xf32>, %g: memref<8xf32>, %w: memref<8x64xf32>, %y: memref<16x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (k)>,
                                   affine_map<(m, n, k) -> (k, n)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %g, %w : memref<16x8xf32>, memref<8xf32>, memref<8x64xf32>) outs(%y : memref<16x64xf32>) {
  ^bb0(%a: f32, %s: f32, %b: f32, %acc: f32):
    %xs = arith.mulf %a, %s : f32
    %p = arith.mulf %xs, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A factor that mixes both operands would need a temporary of the whole
// iteration space: left alone.
// CHECK-LABEL: func.func @mixed_factor(
// CHECK-NOT:     memref.alloc
// CHECK:         linalg.generic
// CHECK-NOT:     vector.contract
func.func @mixed_factor(%x: memref<16x8xf32>, %g: memref<8xf32>, %w: memref<8x64xf32>, %y: memref<16x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (k)>,
                                   affine_map<(m, n, k) -> (k, n)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %g, %w : memref<16x8xf32>, memref<8xf32>, memref<8x64xf32>) outs(%y : memref<16x64xf32>) {
  ^bb0(%a: f32, %s: f32, %b: f32, %acc: f32):
    %xw = arith.mulf %a, %b : f32
    %p = arith.mulf %xw, %s : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A transpose that keeps the innermost dimension (attention's head split
// "b n (h d) -> b h n d") copies whole rows: one forall iteration per row,
// one vector load and store each.
// CHECK-LABEL: func.func @head_split(
// CHECK-SAME:    %[[X:.*]]: memref<2x5x4x16xf32>, %[[Y:.*]]: memref<2x4x5x16xf32>)
// CHECK:         scf.forall (%[[B:.*]], %[[H:.*]], %[[N:.*]]) in (2, 4, 5) {
// CHECK:           %[[SRC:.*]] = memref.subview %[[X]][%[[B]], %[[N]], %[[H]], 0] [1, 1, 1, 16]
// CHECK:           %[[DST:.*]] = memref.subview %[[Y]][%[[B]], %[[H]], %[[N]], 0] [1, 1, 1, 16]
// CHECK:           %[[ROW:.*]] = vector.transfer_read %[[SRC]]{{.*}} {in_bounds = [true]} : memref<1x1x1x16xf32, {{.*}}>, vector<16xf32>
// CHECK:           vector.transfer_write %[[ROW]], %[[DST]]{{.*}} {in_bounds = [true]} : vector<16xf32>, memref<1x1x1x16xf32, {{.*}}>
// CHECK-NOT:     linalg.transpose

// FMA-LABEL: func.func @head_split(
// FMA:         scf.forall
// FMA:           vector.load {{.*}} vector<16xf32>
// FMA:           vector.store {{.*}} vector<16xf32>
func.func @head_split(%x: memref<2x5x4x16xf32>, %y: memref<2x4x5x16xf32>) {
  linalg.transpose ins(%x : memref<2x5x4x16xf32>) outs(%y : memref<2x4x5x16xf32>) permutation = [0, 2, 1, 3]
  return
}

// -----

// A bias broadcast and an elementwise add: one vector per operand row.
// i1 buffers (masks) are left alone: a vector<Nxi1> load reads bits.
// CHECK-LABEL: func.func @bias_add(
// CHECK:         scf.forall (%{{.*}}, %{{.*}}) in (3, 5) {
// CHECK:           vector.transfer_read %{{.*}} : memref<32xf32>, vector<32xf32>
// CHECK:           vector.transfer_write
// CHECK:         scf.forall (%{{.*}}, %{{.*}}) in (3, 5) {
// CHECK:           vector.transfer_read
// CHECK:           vector.transfer_read
// CHECK:           arith.addf %{{.*}}, %{{.*}} : vector<32xf32>
// CHECK:           vector.transfer_write
// CHECK:         linalg.generic
// CHECK:           arith.select
// CHECK-NOT:     scf.forall
func.func @bias_add(%y: memref<3x5x32xf32>, %b: memref<32xf32>, %t: memref<3x5x32xf32>, %out: memref<3x5x32xf32>, %m: memref<3x5x32xi1>) {
  linalg.broadcast ins(%b : memref<32xf32>) outs(%t : memref<3x5x32xf32>) dimensions = [0, 1]
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>,
                                   affine_map<(d0, d1, d2) -> (d0, d1, d2)>,
                                   affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y, %t : memref<3x5x32xf32>, memref<3x5x32xf32>) outs(%out : memref<3x5x32xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>,
                                   affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%m : memref<3x5x32xi1>) outs(%out : memref<3x5x32xf32>) {
  ^bb0(%k: i1, %o: f32):
    %z = arith.constant 0.0 : f32
    %s = arith.select %k, %o, %z : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Inside a flash-attention nest, static elementwise and
// row-reduction generics are vectorised one row at a time: a per-row operand
// (the running max) is a broadcast scalar, the row max one horizontal
// reduction. A generic reading an i1 buffer keeps its loops (a vector of i1
// would read bits, not the buffer's bytes).
// CHECK-LABEL: func.func @softmax_steps(
// CHECK:         scf.forall (%{{.*}}) in (4) {
// CHECK:           scf.for %[[R:.*]] = %c0 to %c64 step %c1 {
// CHECK:             %[[ROW:.*]] = vector.transfer_read %{{.*}} {in_bounds = [true]} : memref<1x64xf32, strided<[64, 1], offset: ?>>, vector<64xf32>
// CHECK:             vector.multi_reduction <maximumf>, %{{.*}} [1] : vector<1x64xf32> to vector<1xf32>
// CHECK:           scf.for %{{.*}} = %c0 to %c64 step %c1 {
// CHECK:             %[[X:.*]] = vector.transfer_read %{{.*}} : memref<1x64xf32, strided<[64, 1], offset: ?>>, vector<64xf32>
// CHECK:             %[[M:.*]] = vector.transfer_read %{{.*}} {in_bounds = [true], permutation_map = #{{.*}}} : memref<1xf32, strided<[1], offset: ?>>, vector<64xf32>
// CHECK:             %[[D:.*]] = arith.subf %[[X]], %[[M]] : vector<64xf32>
// CHECK:             %[[E:.*]] = math.exp %[[D]] : vector<64xf32>
// CHECK:             vector.transfer_write %[[E]]
// CHECK:           linalg.generic
// CHECK-SAME:        memref<64x64xi1, strided<[64, 1], offset: ?>>
// FMA-LABEL: func.func @softmax_steps(
// FMA:         vector.reduction <maximumf>, %{{.*}} : vector<64xf32> into f32
// FMA:         math.exp %{{.*}} : vector<64xf32>

#ij = affine_map<(i, j) -> (i, j)>
#i = affine_map<(i, j) -> (i)>
func.func @softmax_steps(%s: memref<4x64x64xf32>, %m: memref<4x64xf32>, %p: memref<4x64x64xf32>, %mask: memref<4x64x64xi1>, %o: memref<4x64x64xf32>) {
  scf.forall (%b) in (4) {
    %sb = memref.subview %s[%b, 0, 0] [1, 64, 64] [1, 1, 1] : memref<4x64x64xf32> to memref<64x64xf32, strided<[64, 1], offset: ?>>
    %mb = memref.subview %m[%b, 0] [1, 64] [1, 1] : memref<4x64xf32> to memref<64xf32, strided<[1], offset: ?>>
    %pb = memref.subview %p[%b, 0, 0] [1, 64, 64] [1, 1, 1] : memref<4x64x64xf32> to memref<64x64xf32, strided<[64, 1], offset: ?>>
    %kb = memref.subview %mask[%b, 0, 0] [1, 64, 64] [1, 1, 1] : memref<4x64x64xi1> to memref<64x64xi1, strided<[64, 1], offset: ?>>
    %ob = memref.subview %o[%b, 0, 0] [1, 64, 64] [1, 1, 1] : memref<4x64x64xf32> to memref<64x64xf32, strided<[64, 1], offset: ?>>
    // Row max.
    linalg.generic {indexing_maps = [#ij, #i], iterator_types = ["parallel", "reduction"]}
        ins(%sb : memref<64x64xf32, strided<[64, 1], offset: ?>>) outs(%mb : memref<64xf32, strided<[1], offset: ?>>) {
    ^bb0(%x: f32, %acc: f32):
      %r = arith.maximumf %x, %acc : f32
      linalg.yield %r : f32
    }
    // exp(s - m[i]): a per-row operand.
    linalg.generic {indexing_maps = [#ij, #i, #ij], iterator_types = ["parallel", "parallel"]}
        ins(%sb, %mb : memref<64x64xf32, strided<[64, 1], offset: ?>>, memref<64xf32, strided<[1], offset: ?>>) outs(%pb : memref<64x64xf32, strided<[64, 1], offset: ?>>) {
    ^bb0(%x: f32, %mx: f32, %out: f32):
      %d = arith.subf %x, %mx : f32
      %e = math.exp %d : f32
      linalg.yield %e : f32
    }
    // An i1 operand: left for the loop lowering.
    linalg.generic {indexing_maps = [#ij, #ij, #ij], iterator_types = ["parallel", "parallel"]}
        ins(%sb, %kb : memref<64x64xf32, strided<[64, 1], offset: ?>>, memref<64x64xi1, strided<[64, 1], offset: ?>>) outs(%ob : memref<64x64xf32, strided<[64, 1], offset: ?>>) {
    ^bb0(%x: f32, %k: i1, %out: f32):
      %z = arith.constant 0.0 : f32
      %r = arith.select %k, %x, %z : f32
      linalg.yield %r : f32
    }
  } {mapping = [#attn.flash_nest<0>]}
  return
}

// -----

// A reduction longer than reduction-tile is blocked inside the output tile
// (blocks of 128 and a remainder of 44 steps); the register tiles and the
// hoisted accumulator are inside each block. The other cases' reductions
// are shorter than the default reduction-tile (128), so they are not blocked.
// KBLOCK-LABEL: func.func @long_reduction(
// KBLOCK:         scf.for %[[K0:.*]] = %c0 to %c300 step %c128 {
// KBLOCK:           %[[KSZ:.*]] = affine.min #{{.*}}(%[[K0]])
// KBLOCK:           memref.subview %{{.*}}[0, %[[K0]]] [16, %[[KSZ]]] [1, 1] : memref<16x300xf32> to memref<16x?xf32, strided<[300, 1], offset: ?>>
// KBLOCK:           memref.subview %{{.*}}[%[[K0]], 0] [%[[KSZ]], 64] [1, 1] : memref<300x64xf32> to memref<?x64xf32, strided<[64, 1], offset: ?>>
// KBLOCK:           scf.for %{{.*}} = %c0 to %c16 step %c8 {
// KBLOCK:             scf.for %{{.*}} = %c0 to %c64 step %c32 {
// KBLOCK:               %[[ACC:.*]] = vector.transfer_read {{.*}} vector<8x32xf32>
// KBLOCK:               scf.for %{{.*}} = %c0 to %[[KSZ]] step %c1 iter_args(%{{.*}} = %[[ACC]]) -> (vector<8x32xf32>) {
// KBLOCK:                 vector.contract
func.func @long_reduction(%a: memref<16x300xf32>, %b: memref<300x64xf32>, %c: memref<16x64xf32>) {
  linalg.matmul ins(%a, %b : memref<16x300xf32>, memref<300x64xf32>) outs(%c : memref<16x64xf32>)
  return
}

// -----

// A reduction of each row of one input (LayerNorm's mean): one forall
// iteration per row, the row one horizontal reduction.
// CHECK-LABEL: func.func @row_sum(
// CHECK:         scf.forall (%[[R:.*]]) in (4) {
// CHECK:           %[[ROW:.*]] = vector.transfer_read {{.*}} : memref<1x96xf32, strided<[96, 1], offset: ?>>, vector<96xf32>
// CHECK:           vector.reduction <add>, %[[ROW]], %{{.*}} : vector<96xf32> into f32
// FMA-LABEL: func.func @row_sum(
// FMA:         vector.reduction <add>, %{{.*}} : vector<96xf32> into f32
func.func @row_sum(%x: memref<4x96xf32>, %s: memref<4xf32>) {
  linalg.reduce ins(%x : memref<4x96xf32>) outs(%s : memref<4xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %0 = arith.addf %in, %acc : f32
      linalg.yield %0 : f32
    }
  return
}

// -----

// An rhs whose rows are 1024 floats (4 KiB) apart would put every row a
// register tile streams into one L1 set: each output tile's block (32 rows
// of 64 columns with these RUN lines' parallel-tile-n) is packed, one vector
// row per step, into a buffer whose rows are 16 floats longer, which the
// register tiles read instead.
// CHECK-LABEL: func.func @pack_rhs(
// CHECK:         scf.forall (%[[J:.*]]) = (0) to (1024) step (64) {
// CHECK:           %[[PACK:.*]] = memref.alloc() {alignment = 64 : i64} : memref<32x80xf32>
// CHECK:           %[[PV:.*]] = memref.subview %[[PACK]][0, 0] [32, 64] [1, 1] : memref<32x80xf32> to memref<32x64xf32, strided<[80, 1]>>
// CHECK:           scf.for %[[R:.*]] = %c0 to %c32 step %c1 {
// CHECK:             %[[ROW:.*]] = vector.transfer_read %{{.*}}[%[[R]], %c0], %{{.*}} {in_bounds = [true]} : memref<32x64xf32, strided<[1024, 1], offset: ?>>, vector<64xf32>
// CHECK:             vector.transfer_write %[[ROW]], %[[PV]][%[[R]], %c0] {in_bounds = [true]}
// CHECK:           scf.for
// CHECK:             scf.for
// CHECK:               memref.subview %[[PV]]
// CHECK:           memref.dealloc %[[PACK]] : memref<32x80xf32>
func.func @pack_rhs(%a: memref<16x32xf32>, %b: memref<32x1024xf32>, %c: memref<16x1024xf32>) {
  linalg.matmul ins(%a, %b : memref<16x32xf32>, memref<32x1024xf32>) outs(%c : memref<16x1024xf32>)
  return
}

// -----

// Rows longer than 1024 elements (ViT's 3072-wide MLP activations: bias add
// and GELU) are split into equal chunks, one vector each: of 64 elements
// when the body has a math function (here erf), of at most 1024 otherwise.
// CHECK-LABEL: func.func @long_rows(
// CHECK:         scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (4, 3072) step (1, 64) {
// CHECK:           math.erf %{{.*}} : vector<64xf32>
func.func @long_rows(%x: memref<4x3072xf32>, %y: memref<4x3072xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x3072xf32>) outs(%y : memref<4x3072xf32>) {
  ^bb0(%a: f32, %out: f32):
    %e = math.erf %a : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// Two reduction dimensions that both operands store contiguously (the head
// merge "b n (h d)" folded into an out-projection) are collapsed into one
// before tiling, so the register tile has one reduction loop.
// CHECK-LABEL: func.func @two_reductions(
// CHECK-DAG:     memref.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : memref<16x4x8xf32> into memref<16x32xf32>
// CHECK-DAG:     memref.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : memref<64x4x8xf32> into memref<64x32xf32>
// CHECK:         scf.for %{{.*}} = %c0 to %c32 step %c1 iter_args(%{{.*}}) -> (vector<8x32xf32>) {
// CHECK:           vector.contract
// CHECK-NOT:     scf.for %{{.*}} = %c0 to %c4 step %c1
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

// linalg.fill (every GEMM's zero initialisation) is vectorised one row at a
// time (rows of 1536 in chunks of 512), the scalar broadcast into a vector.
// CHECK-LABEL: func.func @fill_rows(
// CHECK:         %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<512xf32>
// CHECK:         scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (7, 1536) step (1, 512) {
// CHECK:           vector.transfer_write %[[ZERO]], %{{.*}}[%c0, %c0] {in_bounds = [true]} : vector<512xf32>, memref<1x512xf32, strided<[1536, 1], offset: ?>>
// CHECK-NOT:     linalg.fill
func.func @fill_rows(%y: memref<7x1536xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<7x1536xf32>)
  return
}

// -----

// A transpose that moves the innermost dimension (the flash lowering's Kᵀ)
// becomes 16 x 16 blocks in parallel: 16 source rows read as one vector
// block, transposed in registers, written as 16 result rows; the edge blocks
// (49 = 3 x 16 + 1) are masked by the transfers (in_bounds false along the
// dimension of 49), and the transpose lowers to shuffles, not scalars.
// CHECK-LABEL: func.func @keys_transposed
//  CHECK-SAME: (%[[K:.*]]: memref<2x3x49x32xf32>, %[[KT:.*]]: memref<2x3x32x49xf32>)
//       CHECK: scf.forall (%[[B:.*]], %[[H:.*]], %[[D:.*]], %[[N:.*]]) = (0, 0, 0, 0) to (2, 3, 32, 49) step (1, 1, 16, 16)
//       CHECK:   %[[ROWS:.*]] = affine.min
//       CHECK:   %[[SRC:.*]] = memref.subview %[[K]][%[[B]], %[[H]], %[[N]], %[[D]]] [1, 1, %[[ROWS]], 16]
//       CHECK:   %[[DST:.*]] = memref.subview %[[KT]][%[[B]], %[[H]], %[[D]], %[[N]]] [1, 1, 16, %[[ROWS]]]
//       CHECK:   %[[SRC2:.*]] = memref.subview %[[SRC]]{{.*}} to memref<?x16xf32, strided<[32, 1], offset: ?>>
//       CHECK:   %[[DST2:.*]] = memref.subview %[[DST]]{{.*}} to memref<16x?xf32, strided<[49, 1], offset: ?>>
//       CHECK:   %[[BLOCK:.*]] = vector.transfer_read %[[SRC2]]{{.*}} {in_bounds = [false, true]} : memref<?x16xf32, strided<[32, 1], offset: ?>>, vector<16x16xf32>
//       CHECK:   %[[T:.*]] = vector.transpose %[[BLOCK]], [1, 0] : vector<16x16xf32> to vector<16x16xf32>
//       CHECK:   vector.transfer_write %[[T]], %[[DST2]]{{.*}} {in_bounds = [true, false]}
//   CHECK-NOT: linalg.transpose
// FMA-LABEL: func.func @keys_transposed
//   FMA-NOT: memref.load
//       FMA: vector.shuffle
//   FMA-NOT: memref.load
//       FMA: return
func.func @keys_transposed(%k: memref<2x3x49x32xf32>, %kt: memref<2x3x32x49xf32>) {
  linalg.transpose ins(%k : memref<2x3x49x32xf32>) outs(%kt : memref<2x3x32x49xf32>) permutation = [0, 1, 3, 2]
  return
}

// -----

// A bf16 x bf16 -> f32 matmul: both inputs are widened into f32 buffers by
// row-vectorised copies, the contraction reads them (an f32 generic) and is
// register-tiled like any f32 one; the buffers are freed after it.
// CHECK-LABEL: func.func @bf16_matmul
//  CHECK-SAME: (%[[A:.*]]: memref<64x64xbf16>, %[[B:.*]]: memref<64x64xbf16>, %[[C:.*]]: memref<64x64xf32>)
//       CHECK: %[[AW:.*]] = memref.alloc() {alignment = 64 : i64} : memref<64x64xf32>
//       CHECK: scf.forall
//       CHECK:   %[[AROW:.*]] = memref.subview %[[A]]
//       CHECK:   vector.transfer_read %[[AROW]]{{.*}} : memref<1x64xbf16, strided<[64, 1], offset: ?>>, vector<64xbf16>
//       CHECK:   arith.extf %{{.*}} : vector<64xbf16> to vector<64xf32>
//       CHECK: %[[BW:.*]] = memref.alloc() {alignment = 64 : i64} : memref<64x64xf32>
//       CHECK: scf.forall
//       CHECK:   arith.extf %{{.*}} : vector<64xbf16> to vector<64xf32>
//       CHECK: scf.forall
//       CHECK:   vector.contract {{.*}} : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
//       CHECK: memref.dealloc %[[AW]]
//       CHECK: memref.dealloc %[[BW]]
func.func @bf16_matmul(%a: memref<64x64xbf16>, %b: memref<64x64xbf16>, %c: memref<64x64xf32>) {
  linalg.matmul ins(%a, %b : memref<64x64xbf16>, memref<64x64xbf16>) outs(%c : memref<64x64xf32>)
  return
}

// -----

// A small GEMM (24 x 128) gets at least min-parallel-tiles = 8 parallel
// tiles: the default 64 x 256 tile is narrowed to 64 columns (two register
// tiles), then shortened to 8 rows: 3 x 2 = 6 tiles, the most it can have.
// SMALL-LABEL: func.func @small_gemm
//       SMALL: scf.forall ({{.*}}) = (0, 0) to (24, 128) step (8, 64)
func.func @small_gemm(%a: memref<24x64xf32>, %b: memref<64x128xf32>, %c: memref<24x128xf32>) {
  linalg.matmul ins(%a, %b : memref<24x64xf32>, memref<64x128xf32>) outs(%c : memref<24x128xf32>)
  return
}

// -----

// Inside the flash nest, 49 columns (Swin's 49-token windows) are split at
// 48 before register tiling, so no register tile is 17 wide (LLVM builds a
// vector<17xf32> element by element through the stack): 32 + 16 + 1 columns,
// each with its accumulator carried through its own reduction loop. The
// row reduction after it is split the same way, 48 + 1, the second piece
// continuing from the first's maxima.
// CHECK-LABEL: func.func @odd_columns
//       CHECK: scf.forall
//       CHECK:   scf.for {{.*}} -> (vector<8x32xf32>)
//       CHECK:   scf.for {{.*}} -> (vector<8x16xf32>)
//       CHECK:   scf.for {{.*}} -> (vector<8x1xf32>)
//   CHECK-NOT:   vector<8x17xf32>
//       CHECK:   vector.transfer_read {{.*}} : memref<1x48xf32, {{.*}}>, vector<48xf32>
//       CHECK:   vector.multi_reduction <maximumf>
//       CHECK:   vector.transfer_read {{.*}} : memref<1x1xf32, {{.*}}>, vector<1xf32>
//   CHECK-NOT: vector<49xf32>
func.func @odd_columns(%q: memref<49x32xf32>, %kt: memref<32x49xf32>, %s: memref<49x49xf32>, %m: memref<49xf32>) {
  scf.forall (%i) in (2) {
    linalg.matmul ins(%q, %kt : memref<49x32xf32>, memref<32x49xf32>) outs(%s : memref<49x49xf32>)
    linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%s : memref<49x49xf32>) outs(%m : memref<49xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.maximumf %in, %out : f32
      linalg.yield %0 : f32
    }
  } {mapping = [#attn.flash_nest<0>]}
  return
}

// -----

// A reduction that runs along one input only ("ab,cd->bd" sums a in the lhs
// and c in the rhs) is no matrix product for the micro-kernel: the register
// tile would hold a scalar lhs, which vector.contract rejects. It is left to
// the loop lowering.
// CHECK-LABEL: func.func @private_reductions
// CHECK-NOT:     vector.contract
// CHECK:         linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction", "reduction"]
// FMA-LABEL: func.func @private_reductions
// FMA-NOT:     vector.fma
// FMA:         return
func.func @private_reductions(%a: memref<2x3xf32>, %b: memref<4x5xf32>, %c: memref<3x5xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d2, d0)>,
                                   affine_map<(d0, d1, d2, d3) -> (d3, d1)>,
                                   affine_map<(d0, d1, d2, d3) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%a, %b : memref<2x3xf32>, memref<4x5xf32>) outs(%c : memref<3x5xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  }
  return
}
