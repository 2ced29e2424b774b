// RUN: attn-opt %s --attn-omp-dynamic-schedule | FileCheck %s
// attn-omp-dynamic-schedule: work-sharing loops over a few tiles that hold a
// micro-kernel (vector.fma) get schedule(dynamic); loops over many
// iterations, loops without a micro-kernel and loops with a schedule keep
// theirs.

// CHECK-LABEL: func.func @tiles
// CHECK:         omp.wsloop schedule(dynamic) {
// CHECK-NEXT:      omp.loop_nest (%{{.*}}, %{{.*}}) : index = (%c0, %c0) to (%c197, %c768) step (%c64, %c256)
func.func @tiles(%v: vector<32xf32>, %out: memref<4x32xf32>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %c197 = arith.constant 197 : index
  %c256 = arith.constant 256 : index
  %c768 = arith.constant 768 : index
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i, %j) : index = (%c0, %c0) to (%c197, %c768) step (%c64, %c256) {
        %f = vector.fma %v, %v, %v : vector<32xf32>
        vector.store %f, %out[%c0, %c0] : memref<4x32xf32>, vector<32xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// A row loop of an elementwise op: no micro-kernel, static.
// CHECK-LABEL: func.func @rows
// CHECK:         omp.wsloop {
func.func @rows(%v: vector<32xf32>, %out: memref<197x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c197 = arith.constant 197 : index
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%c197) step (%c1) {
        %e = arith.addf %v, %v : vector<32xf32>
        vector.store %e, %out[%i, %c0] : memref<197x32xf32>, vector<32xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// More than 4096 iterations, or bounds that are not constants: static.
// CHECK-LABEL: func.func @many_or_unknown
// CHECK:         omp.wsloop {
// CHECK:         omp.wsloop {
func.func @many_or_unknown(%v: vector<32xf32>, %out: memref<4x32xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5000 = arith.constant 5000 : index
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%c5000) step (%c1) {
        %f = vector.fma %v, %v, %v : vector<32xf32>
        vector.store %f, %out[%c0, %c0] : memref<4x32xf32>, vector<32xf32>
        omp.yield
      }
    }
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %f = vector.fma %v, %v, %v : vector<32xf32>
        vector.store %f, %out[%c0, %c0] : memref<4x32xf32>, vector<32xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// An explicit schedule is kept.
// CHECK-LABEL: func.func @explicit
// CHECK:         omp.wsloop schedule(static) {
func.func @explicit(%v: vector<32xf32>, %out: memref<4x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  omp.parallel {
    omp.wsloop schedule(static) {
      omp.loop_nest (%i) : index = (%c0) to (%c4) step (%c1) {
        %f = vector.fma %v, %v, %v : vector<32xf32>
        vector.store %f, %out[%c0, %c0] : memref<4x32xf32>, vector<32xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}
