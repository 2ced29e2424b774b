// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-tile-registers,canonicalize))' | FileCheck %s
// attn-tile-registers: a configured contraction becomes register tiles (the
// reduction innermost), with the M and N loops peeled; every tile, full or
// partial, carries the register sizes as its `vector` level. (Canonicalized
// so that the peeled loops' sizes are folded.)

// 20 x 40 in 8 x 32 tiles: 40 columns are first split at 32 (+ 8), then
// rows 0-15 are full tiles and 16-19 the peeled partial ones.
// CHECK-LABEL: func.func @matmul(
// CHECK-SAME:    %[[A:.*]]: memref<20x4xf32>, %[[B:.*]]: memref<4x40xf32>, %[[C:.*]]: memref<20x40xf32>)
// CHECK:         %[[B32:.*]] = memref.subview %[[B]][0, 0] [4, 32] [1, 1]
// CHECK:         %[[C32:.*]] = memref.subview %[[C]][0, 0] [20, 32] [1, 1]
// CHECK:         scf.for %[[I:.*]] = %c0 to %c16 step %c8 {
// CHECK:           scf.for %[[K:.*]] = %c0 to %c4 step %c1 {
// CHECK:             memref.subview %[[A]][%[[I]], %[[K]]] [8, 1] [1, 1]
// CHECK:             memref.subview %[[B32]][%[[K]], 0] [1, 32] [1, 1]
// CHECK:             memref.subview %[[C32]][%[[I]], 0] [8, 32] [1, 1]
// CHECK:             linalg.matmul {attn.lowering_config = #attn.lowering_config<vector = [8, 32, 1]>} ins({{.*}} : memref<8x1xf32, {{.*}}>, memref<1x32xf32, {{.*}}>) outs({{.*}} : memref<8x32xf32, {{.*}}>)
// CHECK:         scf.for %[[K2:.*]] = %c0 to %c4 step %c1 {
// CHECK:           linalg.matmul {attn.lowering_config = #attn.lowering_config<vector = [8, 32, 1]>} ins({{.*}} : memref<4x1xf32, {{.*}}>, memref<1x32xf32, {{.*}}>) outs({{.*}} : memref<4x32xf32, {{.*}}>)
// CHECK:         memref.subview %[[B]][0, 32] [4, 8] [1, 1]
// CHECK:         memref.subview %[[C]][0, 32] [20, 8] [1, 1]
// CHECK:         linalg.matmul {attn.lowering_config = #attn.lowering_config<vector = [8, 32, 1]>} ins({{.*}} : memref<8x1xf32, {{.*}}>, memref<1x8xf32, {{.*}}>) outs({{.*}} : memref<8x8xf32, {{.*}}>)
// CHECK:         linalg.matmul {attn.lowering_config = #attn.lowering_config<vector = [8, 32, 1]>} ins({{.*}} : memref<4x1xf32, {{.*}}>, memref<1x8xf32, {{.*}}>) outs({{.*}} : memref<4x8xf32, {{.*}}>)
// CHECK-NOT:     linalg.matmul
func.func @matmul(%a: memref<20x4xf32>, %b: memref<4x40xf32>, %c: memref<20x40xf32>) {
  linalg.matmul {attn.lowering_config = #attn.lowering_config<registers = [8, 32, 1]>}
      ins(%a, %b : memref<20x4xf32>, memref<4x40xf32>) outs(%c : memref<20x40xf32>)
  return
}

// -----

// 49 columns (Swin's windows) are split at 48 before register tiling, so no
// register tile is 17 wide: 32 + 16 + 1 columns, each with its own
// reduction loop.
// CHECK-LABEL: func.func @odd_columns(
// CHECK:         scf.for
// CHECK:           linalg.matmul {{.*}} outs({{.*}} : memref<8x32xf32, {{.*}}>)
// CHECK:         scf.for
// CHECK:           linalg.matmul {{.*}} outs({{.*}} : memref<8x16xf32, {{.*}}>)
// CHECK:         scf.for
// CHECK:           linalg.matmul {{.*}} outs({{.*}} : memref<8x1xf32, {{.*}}>)
// CHECK-NOT:     memref<8x17xf32
func.func @odd_columns(%q: memref<8x4xf32>, %kt: memref<4x49xf32>, %s: memref<8x49xf32>) {
  linalg.matmul {attn.lowering_config = #attn.lowering_config<registers = [8, 32, 1]>}
      ins(%q, %kt : memref<8x4xf32>, memref<4x49xf32>) outs(%s : memref<8x49xf32>)
  return
}
