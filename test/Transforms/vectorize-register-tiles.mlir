// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-vectorize-register-tiles))' | FileCheck %s
// attn-vectorize-register-tiles: ops with a `vector` level in their lowering
// config (attn-tile-registers' tiles) become one vector.contract between
// transfers.

// -----

// A full 8 x 32 tile: three in-bounds reads, one vector.contract with the
// matmul's indexing maps, one write.
// CHECK-DAG:   #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG:   #[[B:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG:   #[[C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @full_tile(
// CHECK-SAME:    %[[LHS:.*]]: memref<8x1xf32, {{.*}}>, %[[RHS:.*]]: memref<1x32xf32, {{.*}}>, %[[OUT:.*]]: memref<8x32xf32, {{.*}}>)
// CHECK:         %[[L:.*]] = vector.transfer_read %[[LHS]]{{.*}} {in_bounds = [true, true]} : {{.*}}, vector<8x1xf32>
// CHECK:         %[[R:.*]] = vector.transfer_read %[[RHS]]{{.*}} {in_bounds = [true, true]} : {{.*}}, vector<1x32xf32>
// CHECK:         %[[ACC:.*]] = vector.transfer_read %[[OUT]]{{.*}} {in_bounds = [true, true]} : {{.*}}, vector<8x32xf32>
// CHECK:         %[[S:.*]] = vector.contract {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %[[L]], %[[R]], %[[ACC]] : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK:         vector.transfer_write %[[S]], %[[OUT]]{{.*}} {in_bounds = [true, true]} : vector<8x32xf32>
// CHECK-NOT:     linalg.matmul
func.func @full_tile(%a: memref<8x1xf32, strided<[4, 1], offset: ?>>, %b: memref<1x32xf32, strided<[40, 1], offset: ?>>, %c: memref<8x32xf32, strided<[40, 1], offset: ?>>) {
  linalg.matmul {attn.lowering_config = #attn.lowering_config<vector = [8, 32, 1]>}
      ins(%a, %b : memref<8x1xf32, strided<[4, 1], offset: ?>>, memref<1x32xf32, strided<[40, 1], offset: ?>>) outs(%c : memref<8x32xf32, strided<[40, 1], offset: ?>>)
  return
}

// -----

// A peeled partial tile (fewer than 8 rows) is computed as a whole register
// tile whose transfers are out of bounds along M.
// CHECK-LABEL: func.func @partial_tile(
// CHECK:         vector.transfer_read {{.*}} {in_bounds = [false, true]} : memref<?x1xf32>, vector<8x1xf32>
// CHECK:         vector.transfer_read {{.*}} {in_bounds = [true, true]} : memref<1x32xf32>, vector<1x32xf32>
// CHECK:         vector.transfer_read {{.*}} {in_bounds = [false, true]} : memref<?x32xf32>, vector<8x32xf32>
// CHECK:         vector.contract
// CHECK:         vector.transfer_write {{.*}} {in_bounds = [false, true]} : vector<8x32xf32>, memref<?x32xf32>
func.func @partial_tile(%a: memref<?x1xf32>, %b: memref<1x32xf32>, %c: memref<?x32xf32>) {
  linalg.matmul {attn.lowering_config = #attn.lowering_config<vector = [8, 32, 1]>}
      ins(%a, %b : memref<?x1xf32>, memref<1x32xf32>) outs(%c : memref<?x32xf32>)
  return
}

// -----

// No vector level: not a register tile, left for the loop lowering.
// CHECK-LABEL: func.func @not_a_tile(
// CHECK-NEXT:    linalg.matmul
func.func @not_a_tile(%a: memref<8x1xf32>, %b: memref<1x32xf32>, %c: memref<8x32xf32>) {
  linalg.matmul ins(%a, %b : memref<8x1xf32>, memref<1x32xf32>) outs(%c : memref<8x32xf32>)
  return
}
