// RUN: attn-opt %s --attn-serialize-nested-parallel-loops --split-input-file | FileCheck %s
// attn-serialize-nested-parallel-loops: an scf.parallel inside another
// becomes scf.for loops (outermost dimension first); the outermost stays the
// parallel loop, and so does a loop nested under a sequential one only.

// CHECK-LABEL: func.func @nested
//       CHECK: scf.parallel (%[[H:.*]]) = (%c0) to (%c8) step (%c1) {
//       CHECK:   scf.for %[[T:.*]] = %c0 to %c3137 step %c1 {
//  CHECK-NEXT:     scf.for %[[I:.*]] = %c0 to %c8 step %c1 {
//  CHECK-NEXT:       scf.for %[[J:.*]] = %c0 to %c4 step %c2 {
//  CHECK-NEXT:         %[[X:.*]] = memref.load %{{.*}}[%[[H]], %[[T]], %[[I]], %[[J]]]
//  CHECK-NEXT:         memref.store %[[X]], %{{.*}}[%[[H]], %[[I]], %[[J]]]
//  CHECK-NEXT:       }
//  CHECK-NEXT:     }
//  CHECK-NEXT:   }
//   CHECK-NOT: scf.parallel
//       CHECK: return
func.func @nested(%a: memref<8x3137x8x4xf32>, %b: memref<8x8x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c3137 = arith.constant 3137 : index
  scf.parallel (%h) = (%c0) to (%c8) step (%c1) {
    scf.for %t = %c0 to %c3137 step %c1 {
      scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c4) step (%c1, %c2) {
        %x = memref.load %a[%h, %t, %i, %j] : memref<8x3137x8x4xf32>
        memref.store %x, %b[%h, %i, %j] : memref<8x8x4xf32>
        scf.reduce
      }
    }
    scf.reduce
  }
  return
}

// -----

// Three levels: both inner loops become sequential.
// CHECK-LABEL: func.func @three_levels
//       CHECK: scf.parallel
//       CHECK:   scf.for
//       CHECK:     scf.for
//   CHECK-NOT: scf.parallel
func.func @three_levels(%b: memref<4x4x4xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.parallel (%j) = (%c0) to (%c4) step (%c1) {
      scf.parallel (%k) = (%c0) to (%c4) step (%c1) {
        memref.store %v, %b[%i, %j, %k] : memref<4x4x4xf32>
        scf.reduce
      }
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

// A parallel loop under a sequential one only, and a nested one with a
// reduction, stay parallel.
// CHECK-LABEL: func.func @kept
//       CHECK: scf.for
//       CHECK:   scf.parallel
//       CHECK:     scf.parallel {{.*}} init
//       CHECK:       scf.reduce
func.func @kept(%b: memref<4x4xf32>, %v: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  scf.for %t = %c0 to %c4 step %c1 {
    scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
      %s = scf.parallel (%j) = (%c0) to (%c4) step (%c1) init (%zero) -> f32 {
        %x = memref.load %b[%i, %j] : memref<4x4xf32>
        scf.reduce(%x : f32) {
        ^bb0(%l: f32, %r: f32):
          %sum = arith.addf %l, %r : f32
          scf.reduce.return %sum : f32
        }
      }
      memref.store %s, %b[%i, %c0] : memref<4x4xf32>
      scf.reduce
    }
  }
  return %zero : f32
}
