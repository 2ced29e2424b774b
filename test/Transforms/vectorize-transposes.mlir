// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-vectorize-transposes))' | FileCheck %s
// attn-vectorize-transposes: a transpose that moves the innermost dimension
// becomes 16 x 16 blocks, each read as one vector block, transposed in
// registers and written back.

// Kᵀ of 49 keys: blocks in parallel, the edge blocks (49 = 3 x 16 + 1)
// masked by transfers out of bounds along the dimension of 49.
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
func.func @keys_transposed(%k: memref<2x3x49x32xf32>, %kt: memref<2x3x32x49xf32>) {
  linalg.transpose ins(%k : memref<2x3x49x32xf32>) outs(%kt : memref<2x3x32x49xf32>) permutation = [0, 1, 3, 2]
  return
}

// -----

// Inside a flash nest the blocks are sequential loops: the nest is the
// parallel loop.
// CHECK-LABEL: func.func @in_flash_nest
//       CHECK: scf.forall
//   CHECK-NOT:   scf.forall
//       CHECK:   scf.for
//       CHECK:     scf.for
//       CHECK:       vector.transfer_read {{.*}} {in_bounds = [true, true]} : memref<16x16xf32, strided<[16, 1], offset: ?>>, vector<16x16xf32>
//       CHECK:       vector.transpose {{.*}} [1, 0] : vector<16x16xf32> to vector<16x16xf32>
//       CHECK: } {mapping = [#attn.flash_nest<0>]}
func.func @in_flash_nest(%k: memref<32x16xf32>, %kt: memref<16x32xf32>) {
  scf.forall (%i) in (2) {
    linalg.transpose ins(%k : memref<32x16xf32>) outs(%kt : memref<16x32xf32>) permutation = [1, 0]
  } {mapping = [#attn.flash_nest<0>]}
  return
}

// -----

// The innermost dimension stays innermost: rows, not blocks (that is
// attn-vectorize-rows).
// CHECK-LABEL: func.func @rows_kept
//  CHECK-NEXT: linalg.transpose
func.func @rows_kept(%x: memref<4x5x16xf32>, %y: memref<5x4x16xf32>) {
  linalg.transpose ins(%x : memref<4x5x16xf32>) outs(%y : memref<5x4x16xf32>) permutation = [1, 0, 2]
  return
}
