// RUN: attn-opt %s --attn-omp-thread-ranges --split-input-file | FileCheck %s
// attn-omp-thread-ranges: an omp.parallel whose only work is one omp.wsloop
// computes each thread's iterations itself (static: a range from the thread
// id and team size; dynamic: a shared counter), so the LLVM translation emits
// no __kmpc_for_static_init / __kmpc_dispatch_* calls. Regions with anything
// else, and loops with clauses the rewrite does not reproduce, are left as
// they are.

// CHECK-DAG: func.func private @omp_get_thread_num() -> i32
// CHECK-DAG: func.func private @omp_get_num_threads() -> i32
// CHECK-LABEL: func.func @ranges(
// CHECK-SAME:      %[[OUT:.*]]: memref<?x?xf32>, %[[N:.*]]: index, %[[M:.*]]: index)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK:         omp.parallel {
// CHECK-NOT:       omp.wsloop
// The trip counts: max(n - 0, 0) / 1 and ceil(max(m - 1, 0) / 4).
// CHECK:           %[[SPAN0:.*]] = arith.subi %[[N]], %[[C0]]
// CHECK:           %[[POS0:.*]] = arith.maxsi %[[SPAN0]]
// CHECK:           %[[TRIP0:.*]] = arith.ceildivsi %[[POS0]], %[[C1]]
// CHECK:           %[[SPAN1:.*]] = arith.subi %[[M]], %[[C1]]
// CHECK:           %[[POS1:.*]] = arith.maxsi %[[SPAN1]]
// CHECK:           %[[TRIP1:.*]] = arith.ceildivsi %[[POS1]], %[[C4]]
// CHECK:           %[[TOTAL:.*]] = arith.muli %{{.*}}, %[[TRIP1]]
// Thread t of T: [total·t/T, total·(t+1)/T).
// CHECK:           %[[T32:.*]] = func.call @omp_get_thread_num() : () -> i32
// CHECK:           %[[NT32:.*]] = func.call @omp_get_num_threads() : () -> i32
// CHECK:           %[[T:.*]] = arith.index_cast %[[T32]] : i32 to index
// CHECK:           %[[NT:.*]] = arith.index_cast %[[NT32]] : i32 to index
// CHECK:           %[[NEXT:.*]] = arith.addi %[[T]],
// CHECK:           %[[LOPROD:.*]] = arith.muli %[[TOTAL]], %[[T]]
// CHECK:           %[[LO:.*]] = arith.divui %[[LOPROD]], %[[NT]]
// CHECK:           %[[HIPROD:.*]] = arith.muli %[[TOTAL]], %[[NEXT]]
// CHECK:           %[[HI:.*]] = arith.divui %[[HIPROD]], %[[NT]]
// CHECK:           scf.for %[[L:.*]] = %[[LO]] to %[[HI]] step
// The last loop varies fastest: j = 1 + (l mod trip1)·4, i = 0 + (l / trip1)·1.
// CHECK:             %[[JIDX:.*]] = arith.remui %[[L]], %[[TRIP1]]
// CHECK:             %[[IIDX:.*]] = arith.divui %[[L]], %[[TRIP1]]
// CHECK:             %[[JOFF:.*]] = arith.muli %[[JIDX]], %[[C4]]
// CHECK:             %[[J:.*]] = arith.addi %[[C1]], %[[JOFF]]
// CHECK:             %[[IOFF:.*]] = arith.muli %[[IIDX]], %[[C1]]
// CHECK:             %[[I:.*]] = arith.addi %[[C0]], %[[IOFF]]
// CHECK:             scf.execute_region {
// CHECK:               memref.store %{{.*}}, %[[OUT]][%[[I]], %[[J]]]
// CHECK:               scf.yield
// CHECK:           omp.terminator
func.func @ranges(%out: memref<?x?xf32>, %n: index, %m: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %f = arith.constant 1.0 : f32
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i, %j) : index = (%c0, %c1) to (%n, %m) step (%c1, %c4) {
        memref.store %f, %out[%i, %j] : memref<?x?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// -----

// A dynamic schedule: one counter in the function's frame (allocated at its
// entry, not in the loop around the region), reset before each entry; each
// thread takes iterations from it until the nest's count is reached.
// CHECK-LABEL: func.func @dynamic(
// CHECK:         %[[CTR:.*]] = memref.alloca() : memref<i64>
// CHECK:         scf.for
// CHECK:           %[[ZERO:.*]] = arith.constant 0 : i64
// CHECK:           memref.store %[[ZERO]], %[[CTR]][] : memref<i64>
// CHECK:           omp.parallel {
// CHECK-NOT:         omp.wsloop
// CHECK-NOT:         func.call
// CHECK:             %[[TOTAL:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK:             %[[ONE:.*]] = arith.constant 1 : i64
// CHECK:             scf.while : () -> i64 {
// CHECK:               %[[TAKEN:.*]] = memref.atomic_rmw addi %[[ONE]], %[[CTR]][] : (i64, memref<i64>) -> i64
// CHECK:               %[[MORE:.*]] = arith.cmpi slt, %[[TAKEN]], %[[TOTAL]] : i64
// CHECK:               scf.condition(%[[MORE]]) %[[TAKEN]] : i64
// CHECK:             } do {
// CHECK:             ^bb0(%[[IT:.*]]: i64):
// CHECK:               %[[L:.*]] = arith.index_cast %[[IT]] : i64 to index
// CHECK:               %[[OFF:.*]] = arith.muli %[[L]], %{{.*}}
// CHECK:               %[[I:.*]] = arith.addi %{{.*}}, %[[OFF]]
// CHECK:               scf.execute_region {
// CHECK:                 memref.store %{{.*}}, %{{.*}}[%[[I]]] : memref<8xf32>
func.func @dynamic(%out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  %f = arith.constant 1.0 : f32
  scf.for %r = %c0 to %c3 step %c1 {
    omp.parallel {
      omp.wsloop schedule(dynamic) {
        omp.loop_nest (%i) : index = (%c0) to (%c8) step (%c1) {
          memref.store %f, %out[%i] : memref<8xf32>
          omp.yield
        }
      }
      omp.terminator
    }
  }
  return
}

// -----

// Left alone: a chunked or guided schedule, a reduction, and a region with
// more than the loop in it (two loops: the barrier between them matters).
// CHECK-LABEL: func.func @kept(
// CHECK-NOT:     omp_get_thread_num
// CHECK:         omp.wsloop schedule(static = %{{.*}} : i64)
// CHECK:         omp.wsloop schedule(guided)
// CHECK:         omp.wsloop reduction(@add_f32
// CHECK:         omp.parallel {
// CHECK-NEXT:      omp.wsloop {
// CHECK:           omp.wsloop {
omp.declare_reduction @add_f32 : f32
init {
^bb0(%arg: f32):
  %0 = arith.constant 0.0 : f32
  omp.yield (%0 : f32)
}
combiner {
^bb1(%arg0: f32, %arg1: f32):
  %1 = arith.addf %arg0, %arg1 : f32
  omp.yield (%1 : f32)
}
func.func @kept(%out: memref<8xf32>, %sum: !llvm.ptr) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %chunk = arith.constant 2 : i64
  %f = arith.constant 1.0 : f32
  omp.parallel {
    omp.wsloop schedule(static = %chunk : i64) {
      omp.loop_nest (%i) : index = (%c0) to (%c8) step (%c1) {
        memref.store %f, %out[%i] : memref<8xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  omp.parallel {
    omp.wsloop schedule(guided) {
      omp.loop_nest (%i) : index = (%c0) to (%c8) step (%c1) {
        memref.store %f, %out[%i] : memref<8xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  omp.parallel {
    omp.wsloop reduction(@add_f32 %sum -> %acc : !llvm.ptr) {
      omp.loop_nest (%i) : index = (%c0) to (%c8) step (%c1) {
        %x = llvm.load %acc : !llvm.ptr -> f32
        %y = arith.addf %x, %f : f32
        llvm.store %y, %acc : f32, !llvm.ptr
        omp.yield
      }
    }
    omp.terminator
  }
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%c8) step (%c1) {
        memref.store %f, %out[%i] : memref<8xf32>
        omp.yield
      }
    }
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%c8) step (%c1) {
        memref.store %f, %out[%i] : memref<8xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// -----

// A region nested in another (its threads would share one counter in the
// function's frame) keeps its work-sharing loop; the outer one has more than
// a loop in it.
// CHECK-LABEL: func.func @nested(
// CHECK:         omp.parallel {
// CHECK:           omp.parallel {
// CHECK-NEXT:        omp.wsloop schedule(dynamic) {
func.func @nested(%out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %f = arith.constant 1.0 : f32
  omp.parallel {
    omp.parallel {
      omp.wsloop schedule(dynamic) {
        omp.loop_nest (%i) : index = (%c0) to (%c8) step (%c1) {
          memref.store %f, %out[%i] : memref<8xf32>
          omp.yield
        }
      }
      omp.terminator
    }
    omp.terminator
  }
  return
}

// -----

// The module has its own `omp_get_thread_num` of another type: the rewrite
// would call it, so nothing changes (no declaration is added either).
// CHECK-NOT: omp_get_num_threads
// CHECK-LABEL: func.func @taken_name(
// CHECK:         omp.wsloop {
func.func private @omp_get_thread_num() -> i64
func.func @taken_name(%out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %f = arith.constant 1.0 : f32
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%c8) step (%c1) {
        memref.store %f, %out[%i] : memref<8xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}
