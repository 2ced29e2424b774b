// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-tile-reduction))' | FileCheck %s
// attn-tile-reduction: an op with a reduction level in its lowering config
// gets its reductions blocked by scf.for; the block keeps the other levels.

// A reduction of 300 in blocks of 128: two full blocks and one of 44.
// CHECK-DAG:   #[[K:.*]] = affine_map<(d0) -> (-d0 + 300, 128)>
// CHECK-LABEL: func.func @long_reduction(
// CHECK-SAME:    %[[A:.*]]: memref<16x300xf32>, %[[B:.*]]: memref<300x64xf32>, %[[C:.*]]: memref<16x64xf32>)
// CHECK:         scf.for %[[K0:.*]] = %c0 to %c300 step %c128 {
// CHECK:           %[[KSZ:.*]] = affine.min #[[K]](%[[K0]])
// CHECK:           %[[AT:.*]] = memref.subview %[[A]][0, %[[K0]]] [16, %[[KSZ]]] [1, 1] : memref<16x300xf32> to memref<16x?xf32, strided<[300, 1], offset: ?>>
// CHECK:           %[[BT:.*]] = memref.subview %[[B]][%[[K0]], 0] [%[[KSZ]], 64] [1, 1] : memref<300x64xf32> to memref<?x64xf32, strided<[64, 1], offset: ?>>
// CHECK:           %[[CT:.*]] = memref.subview %[[C]][0, 0] [16, 64] [1, 1]
// CHECK:           linalg.matmul {attn.lowering_config = #attn.lowering_config<parallel = [8, 64, 0], registers = [8, 32, 1]>} ins(%[[AT]], %[[BT]] : {{.*}}) outs(%[[CT]] : {{.*}})
func.func @long_reduction(%a: memref<16x300xf32>, %b: memref<300x64xf32>, %c: memref<16x64xf32>) {
  linalg.matmul {attn.lowering_config = #attn.lowering_config<parallel = [8, 64, 0], reduction = [0, 0, 128], registers = [8, 32, 1]>}
      ins(%a, %b : memref<16x300xf32>, memref<300x64xf32>) outs(%c : memref<16x64xf32>)
  return
}

// -----

// No reduction level: untouched.
// CHECK-LABEL: func.func @no_level(
// CHECK-NEXT:    linalg.matmul {attn.lowering_config = #attn.lowering_config<registers = [8, 32, 1]>}
// CHECK-NEXT:    return
func.func @no_level(%a: memref<20x16xf32>, %b: memref<16x80xf32>, %c: memref<20x80xf32>) {
  linalg.matmul {attn.lowering_config = #attn.lowering_config<registers = [8, 32, 1]>}
      ins(%a, %b : memref<20x16xf32>, memref<16x80xf32>) outs(%c : memref<20x80xf32>)
  return
}
