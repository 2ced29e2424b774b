// RUN: attn-opt %s -split-input-file --attn-lower-forall-bodies-to-loops | FileCheck %s
// attn-lower-forall-bodies-to-loops: linalg ops inside an scf.forall become
// sequential scf.for loops (the forall is the parallel loop); others stay.

// CHECK-LABEL: func.func @body(
// CHECK:         scf.forall (%{{.*}}) in (2) {
// CHECK:           scf.for %{{.*}} = %{{.*}} to %c4 step %{{.*}} {
// CHECK:             scf.for %{{.*}} = %{{.*}} to %c8 step %{{.*}} {
// CHECK:               %[[X:.*]] = memref.load %{{.*}} : memref<4x8xf32>
// CHECK:               memref.store %[[X]], %{{.*}} : memref<4x8xf32>
// CHECK-NOT:       linalg.copy
// CHECK:         linalg.copy ins(%{{.*}} : memref<4x8xf32>) outs(%{{.*}} : memref<4x8xf32>)
func.func @body(%x: memref<4x8xf32>, %y: memref<4x8xf32>) {
  scf.forall (%i) in (2) {
    linalg.copy ins(%x : memref<4x8xf32>) outs(%y : memref<4x8xf32>)
  }
  linalg.copy ins(%x : memref<4x8xf32>) outs(%y : memref<4x8xf32>)
  return
}
