// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-lower-vectors))' | FileCheck %s
// attn-lower-vectors: vector.contract to FMAs, transfers to 1-D (masked)
// loads and stores, 16 x 16 transposes to shuffles.

// -----

// A 4 x 16 register tile with one reduction step: four FMAs of one rhs row.
// CHECK-LABEL: func.func @register_tile(
// CHECK-COUNT-4: vector.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK-NOT:     vector.contract
func.func @register_tile(%l: vector<4x1xf32>, %r: vector<1x16xf32>, %acc: vector<4x16xf32>) -> vector<4x16xf32> {
  %s = vector.contract {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %l, %r, %acc : vector<4x1xf32>, vector<1x16xf32> into vector<4x16xf32>
  return %s : vector<4x16xf32>
}

// -----

// A write out of bounds along the columns: one masked store per row, the
// mask from the buffer's dynamic size.
// CHECK-LABEL: func.func @partial_columns(
// CHECK:         %[[DIM:.*]] = memref.dim %{{.*}}, %c1 : memref<8x?xf32>
// CHECK:         arith.index_cast %[[DIM]] : index to i32
// CHECK:         arith.cmpi sgt
// CHECK-COUNT-8: vector.maskedstore %{{.*}} : memref<8x?xf32>, vector<16xi1>, vector<16xf32>
// CHECK-NOT:     vector.transfer_write
func.func @partial_columns(%m: memref<8x?xf32>, %v: vector<8x16xf32>) {
  %c0 = arith.constant 0 : index
  vector.transfer_write %v, %m[%c0, %c0] {in_bounds = [true, false]} : vector<8x16xf32>, memref<8x?xf32>
  return
}

// -----

// A 16 x 16 transpose becomes shuffles (AVX-512 unpack/permute sequences),
// not element moves.
// CHECK-LABEL: func.func @block_transpose(
// CHECK:         vector.shuffle
// CHECK-NOT:     vector.transpose
func.func @block_transpose(%v: vector<16x16xf32>) -> vector<16x16xf32> {
  %t = vector.transpose %v, [1, 0] : vector<16x16xf32> to vector<16x16xf32>
  return %t : vector<16x16xf32>
}
