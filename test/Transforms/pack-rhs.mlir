// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-pack-rhs))' | FileCheck %s
// attn-pack-rhs: inside an output tile, a configured contraction's rhs block
// whose rows are a multiple of 4 KiB apart is copied into a buffer with
// padded rows.

// -----

// Rows 1024 floats (4 KiB) apart: the output tile's rhs block (32 x 64) is
// copied row by row into a buffer whose rows are 16 floats longer, which the
// contraction reads instead; the buffer lives as long as the tile.
// CHECK-LABEL: func.func @pack_rhs(
// CHECK-SAME:    %[[A:.*]]: memref<16x32xf32>, %[[B:.*]]: memref<32x1024xf32>, %[[C:.*]]: memref<16x1024xf32>)
// CHECK:         scf.forall (%[[J:.*]]) = (0) to (1024) step (64) {
// CHECK:           %[[BT:.*]] = memref.subview %[[B]][0, %[[J]]] [32, 64] [1, 1]
// CHECK:           %[[CT:.*]] = memref.subview %[[C]][0, %[[J]]] [16, 64] [1, 1]
// CHECK:           %[[PACK:.*]] = memref.alloc() {alignment = 64 : i64} : memref<32x80xf32>
// CHECK:           %[[ROWS:.*]] = memref.dim %[[BT]], %{{.*}}
// CHECK:           %[[COLS:.*]] = memref.dim %[[BT]], %{{.*}}
// CHECK:           %[[PV:.*]] = memref.subview %[[PACK]][0, 0] [%[[ROWS]], %[[COLS]]] [1, 1] : memref<32x80xf32> to memref<?x?xf32, strided<[80, 1]>>
// CHECK:           scf.for %[[R:.*]] = %{{.*}} to %[[ROWS]] step %{{.*}} {
// CHECK:             %[[ROW:.*]] = vector.transfer_read %[[BT]][%[[R]], %{{.*}}], %{{.*}} {in_bounds = [true]} : memref<32x64xf32, strided<[1024, 1], offset: ?>>, vector<64xf32>
// CHECK:             vector.transfer_write %[[ROW]], %[[PV]][%[[R]], %{{.*}}] {in_bounds = [true]} : vector<64xf32>, memref<?x?xf32, strided<[80, 1]>>
// CHECK:           }
// CHECK:           linalg.matmul {{.*}} ins(%[[A]], %[[PV]] : memref<16x32xf32>, memref<?x?xf32, strided<[80, 1]>>) outs(%[[CT]] : {{.*}})
// CHECK:           memref.dealloc %[[PACK]] : memref<32x80xf32>
func.func @pack_rhs(%a: memref<16x32xf32>, %b: memref<32x1024xf32>, %c: memref<16x1024xf32>) {
  scf.forall (%j) = (0) to (1024) step (64) {
    %bt = memref.subview %b[0, %j] [32, 64] [1, 1] : memref<32x1024xf32> to memref<32x64xf32, strided<[1024, 1], offset: ?>>
    %ct = memref.subview %c[0, %j] [16, 64] [1, 1] : memref<16x1024xf32> to memref<16x64xf32, strided<[1024, 1], offset: ?>>
    linalg.matmul {attn.lowering_config = #attn.lowering_config<registers = [8, 32, 1]>}
        ins(%a, %bt : memref<16x32xf32>, memref<32x64xf32, strided<[1024, 1], offset: ?>>) outs(%ct : memref<16x64xf32, strided<[1024, 1], offset: ?>>)
  }
  return
}

// -----

// With reduction blocks, the buffer is allocated once per output tile,
// around the block loop, and each block packs its rows into it.
// CHECK-LABEL: func.func @reduction_blocks(
// CHECK:         scf.forall
// CHECK:           %[[PACK:.*]] = memref.alloc() {alignment = 64 : i64} : memref<128x80xf32>
// CHECK:           scf.for
// CHECK:             %[[PV:.*]] = memref.subview %[[PACK]]
// CHECK:             scf.for
// CHECK:               vector.transfer_write %{{.*}}, %[[PV]]
// CHECK:             linalg.matmul {{.*}} ins(%{{.*}}, %[[PV]] :
// CHECK:           }
// CHECK:           memref.dealloc %[[PACK]] : memref<128x80xf32>
func.func @reduction_blocks(%a: memref<16x256xf32>, %b: memref<256x1024xf32>, %c: memref<16x1024xf32>) {
  scf.forall (%j) = (0) to (1024) step (64) {
    %ct = memref.subview %c[0, %j] [16, 64] [1, 1] : memref<16x1024xf32> to memref<16x64xf32, strided<[1024, 1], offset: ?>>
    %c0 = arith.constant 0 : index
    %c128 = arith.constant 128 : index
    %c256 = arith.constant 256 : index
    scf.for %k = %c0 to %c256 step %c128 {
      %at = memref.subview %a[0, %k] [16, 128] [1, 1] : memref<16x256xf32> to memref<16x128xf32, strided<[256, 1], offset: ?>>
      %bt = memref.subview %b[%k, %j] [128, 64] [1, 1] : memref<256x1024xf32> to memref<128x64xf32, strided<[1024, 1], offset: ?>>
      linalg.matmul {attn.lowering_config = #attn.lowering_config<registers = [8, 32, 1]>}
          ins(%at, %bt : memref<16x128xf32, strided<[256, 1], offset: ?>>, memref<128x64xf32, strided<[1024, 1], offset: ?>>) outs(%ct : memref<16x64xf32, strided<[1024, 1], offset: ?>>)
    }
  }
  return
}

// -----

// Rows 768 floats apart spread over the L1 sets: no copy.
// CHECK-LABEL: func.func @other_stride(
// CHECK-NOT:     memref.alloc
func.func @other_stride(%a: memref<16x32xf32>, %b: memref<32x768xf32>, %c: memref<16x768xf32>) {
  scf.forall (%j) = (0) to (768) step (64) {
    %bt = memref.subview %b[0, %j] [32, 64] [1, 1] : memref<32x768xf32> to memref<32x64xf32, strided<[768, 1], offset: ?>>
    %ct = memref.subview %c[0, %j] [16, 64] [1, 1] : memref<16x768xf32> to memref<16x64xf32, strided<[768, 1], offset: ?>>
    linalg.matmul {attn.lowering_config = #attn.lowering_config<registers = [8, 32, 1]>}
        ins(%a, %bt : memref<16x32xf32>, memref<32x64xf32, strided<[768, 1], offset: ?>>) outs(%ct : memref<16x64xf32, strided<[768, 1], offset: ?>>)
  }
  return
}

// -----

// The flash nest is no output tile: nothing is packed.
// CHECK-LABEL: func.func @in_flash_nest(
// CHECK-NOT:     memref.alloc
func.func @in_flash_nest(%a: memref<16x32xf32>, %b: memref<32x1024xf32>, %c: memref<16x1024xf32>) {
  scf.forall (%j) in (16) {
    %bt = memref.subview %b[0, 0] [32, 64] [1, 1] : memref<32x1024xf32> to memref<32x64xf32, strided<[1024, 1]>>
    %ct = memref.subview %c[0, 0] [16, 64] [1, 1] : memref<16x1024xf32> to memref<16x64xf32, strided<[1024, 1]>>
    linalg.matmul {attn.lowering_config = #attn.lowering_config<registers = [8, 32, 1]>}
        ins(%a, %bt : memref<16x32xf32>, memref<32x64xf32, strided<[1024, 1]>>) outs(%ct : memref<16x64xf32, strided<[1024, 1]>>)
  } {mapping = [#attn.flash_nest<0>]}
  return
}
