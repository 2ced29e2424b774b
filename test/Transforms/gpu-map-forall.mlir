// RUN: attn-opt %s --split-input-file --verify-diagnostics --pass-pipeline="builtin.module(func.func(attn-gpu-map-forall{threads=64}),canonicalize,cse)" | FileCheck %s

// A bufferized flash nest becomes one block per iteration of 64 threads: the
// tile it allocates and the two global operands of its contraction live in
// shared memory (the operands staged where their views are made), and every
// linalg op is a loop over its parallel iterations, round-robin over the
// threads, followed by a barrier; the reduction of the matmul stays
// sequential in each thread.
// CHECK-LABEL: func.func @flash_nest(
// CHECK-SAME: %[[A:[^:]*]]: memref<2x8x4xf32>, %[[B:[^:]*]]: memref<4x8xf32>, %[[OUT:[^:]*]]: memref<2x8x8xf32>)
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-NOT: scf.forall
// CHECK: gpu.launch blocks(%[[BX:[^,]*]], %{{[^,]*}}, %{{[^)]*}}) in (%{{[^ ]*}} = %[[C2]], %{{[^ ]*}} = %{{[^,]*}}, %{{[^ ]*}} = %{{[^)]*}}) threads(%[[TX:[^,]*]], %{{[^,]*}}, %{{[^)]*}}) in (%{{[^ ]*}} = %[[C64]], {{.*}}) workgroup(%[[TILE:[^ ]*]] : memref<8x8xf32, #gpu.address_space<workgroup>>, %[[SA:[^ ]*]] : memref<8x4xf32, #gpu.address_space<workgroup>>, %[[SB:[^ ]*]] : memref<4x8xf32, #gpu.address_space<workgroup>>)
// CHECK-NOT: memref.alloc
// The fill of the tile.
// CHECK: %[[T:.*]] = memref.memory_space_cast %[[TILE]]
// CHECK: scf.for %[[I:.*]] = %[[TX]] to %[[C64]] step %[[C64]]
// CHECK: affine.delinearize_index %[[I]] into (8, 8)
// CHECK: memref.store {{.*}}, %[[T]]
// CHECK: gpu.barrier
// The forall's induction variable is the block index.
// CHECK: %[[VA:.*]] = memref.subview %[[A]][%[[BX]], 0, 0] [1, 8, 4]
// CHECK: %[[CA:.*]] = memref.memory_space_cast %[[SA]]
// CHECK: scf.for
// CHECK: memref.load %[[VA]]
// CHECK: memref.store {{.*}}, %[[CA]]
// CHECK: gpu.barrier
// CHECK: %[[CB:.*]] = memref.memory_space_cast %[[SB]]
// CHECK: scf.for
// CHECK: memref.load %[[B]]
// CHECK: memref.store {{.*}}, %[[CB]]
// CHECK: gpu.barrier
// The matmul reads both operands from shared memory.
// CHECK: scf.for %{{.*}} = %[[TX]] to %[[C64]] step %[[C64]]
// CHECK: scf.for
// CHECK-DAG: memref.load %[[CA]]
// CHECK-DAG: memref.load %[[CB]]
// CHECK: gpu.barrier
// The copy out of the tile.
// CHECK: %[[VO:.*]] = memref.subview %[[OUT]][%[[BX]], 0, 0]
// CHECK: scf.for
// CHECK: memref.load %[[T]]
// CHECK: memref.store {{.*}}, %[[VO]]
// CHECK: gpu.barrier
// CHECK: gpu.terminator
func.func @flash_nest(%a: memref<2x8x4xf32>, %b: memref<4x8xf32>, %out: memref<2x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  scf.forall (%i) in (2) {
    %tile = memref.alloc() : memref<8x8xf32>
    linalg.fill ins(%zero : f32) outs(%tile : memref<8x8xf32>)
    %sa = memref.subview %a[%i, 0, 0] [1, 8, 4] [1, 1, 1] : memref<2x8x4xf32> to memref<8x4xf32, strided<[4, 1], offset: ?>>
    linalg.matmul ins(%sa, %b : memref<8x4xf32, strided<[4, 1], offset: ?>>, memref<4x8xf32>) outs(%tile : memref<8x8xf32>)
    %so = memref.subview %out[%i, 0, 0] [1, 8, 8] [1, 1, 1] : memref<2x8x8xf32> to memref<8x8xf32, strided<[8, 1], offset: ?>>
    memref.copy %tile, %so : memref<8x8xf32> to memref<8x8xf32, strided<[8, 1], offset: ?>>
  } {mapping = [#attn.flash_nest<0>]}
  return
}

// -----

// A nest still on tensors is an error.
func.func @tensors(%t: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{must be bufferized before GPU mapping}}
  %r = scf.forall (%i) in (4) shared_outs(%o = %t) -> tensor<4xf32> {
    scf.forall.in_parallel {
    }
  }
  return %r : tensor<4xf32>
}
