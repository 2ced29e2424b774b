// RUN: attn-opt %s --pass-pipeline="builtin.module(func.func(attn-gpu-map-host-loops{threads=16}),canonicalize,cse)" | FileCheck %s
// RUN: attn-opt %s --pass-pipeline="builtin.module(func.func(attn-gpu-map-host-loops{threads=16 device-memory=1}),canonicalize,cse)" | FileCheck %s --check-prefix=DEVICE

// A linalg op outside any launch becomes a kernel of one thread per
// iteration (32 iterations: 2 blocks of 16, the last threads guarded); the
// argument it reads is copied into managed memory at entry and freed before
// the return, the allocation it writes is managed memory the caller owns.
// CHECK-LABEL: func.func @elementwise(
// CHECK-SAME: %[[X:.*]]: memref<4x8xf32>)
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK: %[[IN:.*]] = gpu.alloc host_shared () : memref<4x8xf32>
// CHECK: %[[W:.*]] = gpu.wait async
// CHECK: %[[CP:.*]] = gpu.memcpy async [%[[W]]] %[[IN]], %[[X]]
// CHECK: gpu.wait [%[[CP]]]
// CHECK: %[[OUT:.*]] = gpu.alloc host_shared () : memref<4x8xf32>
// CHECK-NOT: memref.alloc
// CHECK: gpu.launch blocks(%[[BX:[^,]*]], %{{[^,]*}}, %{{[^)]*}}) in (%{{[^ ]*}} = %[[C2]], {{.*}}) threads(%[[TX:[^,]*]], %{{[^,]*}}, %{{[^)]*}}) in (%{{[^ ]*}} = %[[C16]],
// CHECK: %[[BASE:.*]] = arith.muli %[[BX]], %[[C16]]
// CHECK: %[[LIN:.*]] = arith.addi %[[BASE]], %[[TX]]
// CHECK: %[[IN_RANGE:.*]] = arith.cmpi slt, %[[LIN]], %[[C32]]
// CHECK: scf.if %[[IN_RANGE]]
// CHECK: %[[IJ:.*]]:2 = affine.delinearize_index %[[LIN]] into (4, 8)
// CHECK: %[[V:.*]] = memref.load %[[IN]][%[[IJ]]#0, %[[IJ]]#1]
// CHECK: %[[E:.*]] = math.exp %[[V]]
// CHECK: memref.store %[[E]], %[[OUT]][%[[IJ]]#0, %[[IJ]]#1]
// CHECK: gpu.terminator
// CHECK: gpu.dealloc async [%{{.*}}] %[[IN]]
// CHECK-NOT: gpu.dealloc
// CHECK: return %[[OUT]]

// With device-memory the argument is read in place and the result is a
// device allocation.
// DEVICE-LABEL: func.func @elementwise(
// DEVICE-SAME: %[[X:.*]]: memref<4x8xf32>)
// DEVICE-NOT: gpu.memcpy
// DEVICE: %[[OUT:.*]] = gpu.alloc () : memref<4x8xf32>
// DEVICE: gpu.launch
// DEVICE: memref.load %[[X]]
// DEVICE: memref.store {{.*}}, %[[OUT]]
// DEVICE-NOT: gpu.dealloc
// DEVICE: return %[[OUT]]
func.func @elementwise(%x: memref<4x8xf32>) -> memref<4x8xf32> {
  %buf = memref.alloc() : memref<4x8xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x8xf32>) outs(%buf : memref<4x8xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  return %buf : memref<4x8xf32>
}
