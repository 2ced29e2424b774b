// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-vectorize-flash-steps,canonicalize))' | FileCheck %s
// attn-vectorize-flash-steps: static elementwise and row-reduction steps
// inside a flash nest become vector ops, one row per iteration.
// (Canonicalized to fold the row loops' constants.)

// The softmax steps of a flash nest, one row per scf.for iteration: the row
// max one horizontal reduction, exp(s - m[i]) with the row's maximum
// broadcast; a generic reading an i1 buffer keeps its loops.
// CHECK-LABEL: func.func @softmax_steps(
// CHECK:         scf.forall (%{{.*}}) in (4) {
// CHECK:           scf.for %[[R:.*]] = %c0 to %c64 step %c1 {
// CHECK:             %[[ROW:.*]] = vector.transfer_read %{{.*}} {in_bounds = [true, true]} : memref<1x64xf32, strided<[64, 1], offset: ?>>, vector<1x64xf32>
// CHECK:             %[[MAX:.*]] = vector.transfer_read %{{.*}} {in_bounds = [true]} : memref<1xf32, strided<[1], offset: ?>>, vector<1xf32>
// CHECK:             vector.multi_reduction <maximumf>, %[[ROW]], %[[MAX]] [1] : vector<1x64xf32> to vector<1xf32>
// CHECK:           scf.for %{{.*}} = %c0 to %c64 step %c1 {
// CHECK:             %[[X:.*]] = vector.transfer_read %{{.*}} : memref<1x64xf32, strided<[64, 1], offset: ?>>, vector<1x64xf32>
// CHECK:             %[[M:.*]] = vector.transfer_read %{{.*}} {in_bounds = [true, true], permutation_map = #{{.*}}} : memref<1xf32, strided<[1], offset: ?>>, vector<1x64xf32>
// CHECK:             %[[D:.*]] = arith.subf %[[X]], %[[M]] : vector<1x64xf32>
// CHECK:             %[[E:.*]] = math.exp %[[D]] : vector<1x64xf32>
// CHECK:             vector.transfer_write %[[E]]
// CHECK:           linalg.generic
// CHECK-SAME:        memref<64x64xi1, strided<[64, 1], offset: ?>>
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

// A row of 49 is split at 48: one reduction of 48, then the last element
// continues from the first piece's maximum.
// CHECK-LABEL: func.func @odd_row(
// CHECK:         scf.for
// CHECK:           vector.transfer_read {{.*}} : memref<1x48xf32, {{.*}}>, vector<1x48xf32>
// CHECK:           vector.multi_reduction <maximumf>, {{.*}} [1] : vector<1x48xf32> to vector<1xf32>
// CHECK:           vector.transfer_write
// CHECK:           vector.transfer_read {{.*}} : memref<1x1xf32, {{.*}}>, vector<1x1xf32>
// CHECK:           arith.maximumf {{.*}} : vector<1xf32>
// CHECK-NOT:     vector<1x49xf32>
func.func @odd_row(%s: memref<2x8x49xf32>, %m: memref<2x8xf32>) {
  scf.forall (%b) in (2) {
    %sb = memref.subview %s[%b, 0, 0] [1, 8, 49] [1, 1, 1] : memref<2x8x49xf32> to memref<8x49xf32, strided<[49, 1], offset: ?>>
    %mb = memref.subview %m[%b, 0] [1, 8] [1, 1] : memref<2x8xf32> to memref<8xf32, strided<[1], offset: ?>>
    linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]}
        ins(%sb : memref<8x49xf32, strided<[49, 1], offset: ?>>) outs(%mb : memref<8xf32, strided<[1], offset: ?>>) {
    ^bb0(%x: f32, %acc: f32):
      %r = arith.maximumf %x, %acc : f32
      linalg.yield %r : f32
    }
  } {mapping = [#attn.flash_nest<0>]}
  return
}

// -----

// An scf.forall that is no flash nest (no #attn.flash_nest mapping): left
// alone.
// CHECK-LABEL: func.func @outside(
// CHECK:         scf.forall
// CHECK-NEXT:      linalg.copy
func.func @outside(%x: memref<8x64xf32>, %y: memref<8x64xf32>) {
  scf.forall (%b) in (2) {
    linalg.copy ins(%x : memref<8x64xf32>) outs(%y : memref<8x64xf32>)
  }
  return
}

// -----

// A NaN-ignoring row max (maxnumf, what attn-decompose-attention emits)
// over 32 keys: a running select(x > r, x, r) over 16-lane pieces from
// -inf, which never holds a NaN, so the horizontal reduction is nnan; the
// row's incoming max joins last.
// CHECK-LABEL: func.func @row_maxnumf(
// CHECK-DAG:     %[[NEG:.*]] = arith.constant dense<0xFF800000> : vector<16xf32>
// CHECK:         scf.for
// CHECK:           %[[ROW:.*]] = vector.transfer_read {{.*}} : memref<1x32xf32, {{.*}}>, vector<1x32xf32>
// CHECK:           %[[ACC:.*]] = vector.transfer_read {{.*}} : memref<1xf32, {{.*}}>, vector<1xf32>
// CHECK:           %[[FLAT:.*]] = vector.shape_cast %[[ROW]] : vector<1x32xf32> to vector<32xf32>
// CHECK:           %[[X0:.*]] = vector.extract_strided_slice %[[FLAT]] {offsets = [0], sizes = [16], strides = [1]}
// CHECK:           %[[G0:.*]] = arith.cmpf ogt, %[[X0]], %[[NEG]] : vector<16xf32>
// CHECK:           %[[R0:.*]] = arith.select %[[G0]], %[[X0]], %[[NEG]]
// CHECK:           %[[X1:.*]] = vector.extract_strided_slice %[[FLAT]] {offsets = [16], sizes = [16], strides = [1]}
// CHECK:           %[[G1:.*]] = arith.cmpf ogt, %[[X1]], %[[R0]] : vector<16xf32>
// CHECK:           %[[R1:.*]] = arith.select %[[G1]], %[[X1]], %[[R0]]
// CHECK:           %[[H:.*]] = vector.reduction <maxnumf>, %[[R1]] fastmath<nnan> : vector<16xf32> into f32
// CHECK:           %[[A:.*]] = vector.extract %[[ACC]][0] : f32 from vector<1xf32>
// CHECK:           %[[M:.*]] = arith.maxnumf %[[H]], %[[A]] : f32
// CHECK:           %[[B:.*]] = vector.broadcast %[[M]] : f32 to vector<1xf32>
// CHECK:           vector.transfer_write %[[B]]
// CHECK-NOT:     vector.multi_reduction
func.func @row_maxnumf(%s: memref<2x8x32xf32>, %m: memref<2x8xf32>) {
  scf.forall (%b) in (2) {
    %sb = memref.subview %s[%b, 0, 0] [1, 8, 32] [1, 1, 1] : memref<2x8x32xf32> to memref<8x32xf32, strided<[32, 1], offset: ?>>
    %mb = memref.subview %m[%b, 0] [1, 8] [1, 1] : memref<2x8xf32> to memref<8xf32, strided<[1], offset: ?>>
    linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]}
        ins(%sb : memref<8x32xf32, strided<[32, 1], offset: ?>>) outs(%mb : memref<8xf32, strided<[1], offset: ?>>) {
    ^bb0(%x: f32, %acc: f32):
      %r = arith.maxnumf %x, %acc : f32
      linalg.yield %r : f32
    }
  } {mapping = [#attn.flash_nest<0>]}
  return
}
