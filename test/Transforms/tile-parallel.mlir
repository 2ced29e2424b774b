// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-tile-parallel))' | FileCheck %s
// attn-tile-parallel: an op with a parallel level in its lowering config is
// tiled with scf.forall by those sizes; the tile keeps the other levels.

// 20 x 80 in tiles of 16 x 64: partial edge tiles have affine.min sizes.
// CHECK-DAG:   #[[M:.*]] = affine_map<(d0) -> (-d0 + 20, 16)>
// CHECK-DAG:   #[[N:.*]] = affine_map<(d0) -> (-d0 + 80, 64)>
// CHECK-LABEL: func.func @matmul(
// CHECK-SAME:    %[[A:.*]]: memref<20x16xf32>, %[[B:.*]]: memref<16x80xf32>, %[[C:.*]]: memref<20x80xf32>)
// CHECK:         scf.forall (%[[I:.*]], %[[J:.*]]) = (0, 0) to (20, 80) step (16, 64) {
// CHECK-DAG:       %[[TM:.*]] = affine.min #[[M]](%[[I]])
// CHECK-DAG:       %[[TN:.*]] = affine.min #[[N]](%[[J]])
// CHECK:           %[[AT:.*]] = memref.subview %[[A]][%[[I]], 0] [%[[TM]], 16] [1, 1]
// CHECK:           %[[BT:.*]] = memref.subview %[[B]][0, %[[J]]] [16, %[[TN]]] [1, 1]
// CHECK:           %[[CT:.*]] = memref.subview %[[C]][%[[I]], %[[J]]] [%[[TM]], %[[TN]]] [1, 1]
// CHECK:           linalg.matmul {attn.lowering_config = #attn.lowering_config<reduction = [0, 0, 8], registers = [8, 32, 1]>} ins(%[[AT]], %[[BT]] : {{.*}}) outs(%[[CT]] : {{.*}})
// CHECK-NOT:     linalg.matmul
func.func @matmul(%a: memref<20x16xf32>, %b: memref<16x80xf32>, %c: memref<20x80xf32>) {
  linalg.matmul {attn.lowering_config = #attn.lowering_config<parallel = [16, 64, 0], reduction = [0, 0, 8], registers = [8, 32, 1]>}
      ins(%a, %b : memref<20x16xf32>, memref<16x80xf32>) outs(%c : memref<20x80xf32>)
  return
}

// -----

// No parallel level (an op in a flash nest): untouched.
// CHECK-LABEL: func.func @no_level(
// CHECK-NEXT:    linalg.matmul {attn.lowering_config = #attn.lowering_config<registers = [8, 32, 1]>}
// CHECK-NEXT:    return
func.func @no_level(%a: memref<20x16xf32>, %b: memref<16x80xf32>, %c: memref<20x80xf32>) {
  linalg.matmul {attn.lowering_config = #attn.lowering_config<registers = [8, 32, 1]>}
      ins(%a, %b : memref<20x16xf32>, memref<16x80xf32>) outs(%c : memref<20x80xf32>)
  return
}
