// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-make-rhs-row-major))' | FileCheck %s
// attn-make-rhs-row-major: a configured contraction whose rhs is stored with
// a reduction dimension innermost reads an N-innermost copy of it.

// -----

// nn.Linear's weight is [out, in]: the reduction is innermost in the rhs, so
// it is copied into a temporary with N innermost, and the (generalised)
// contraction keeps its config.
// CHECK-DAG:   #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG:   #[[B:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG:   #[[C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @linear(
// CHECK-SAME:    %[[X:.*]]: memref<4x16xf32>, %[[W:.*]]: memref<64x16xf32>, %[[Y:.*]]: memref<4x64xf32>)
// CHECK:         %[[WT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x64xf32>
// CHECK:         linalg.transpose ins(%[[W]] : memref<64x16xf32>) outs(%[[WT]] : memref<16x64xf32>) permutation = [1, 0]
// CHECK:         linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %[[WT]] : memref<4x16xf32>, memref<16x64xf32>) outs(%[[Y]] : memref<4x64xf32>) attrs =  {attn.lowering_config = #attn.lowering_config<registers = [8, 32, 1]>}
// CHECK:         memref.dealloc %[[WT]] : memref<16x64xf32>
func.func @linear(%x: memref<4x16xf32>, %w: memref<64x16xf32>, %y: memref<4x64xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : memref<4x16xf32>, memref<64x16xf32>)
      outs(%y : memref<4x64xf32>) {attn.lowering_config = #attn.lowering_config<registers = [8, 32, 1]>}
  return
}

// -----

// Without a lowering config (the strategy did not choose it): untouched.
// CHECK-LABEL: func.func @unconfigured(
// CHECK-NEXT:    linalg.matmul
// CHECK-NEXT:    return
func.func @unconfigured(%x: memref<4x16xf32>, %w: memref<64x16xf32>, %y: memref<4x64xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : memref<4x16xf32>, memref<64x16xf32>)
      outs(%y : memref<4x64xf32>)
  return
}

// -----

// A dynamic number of keys (a partial flash block): the copy's size comes
// from the rhs, before the copy.
// CHECK-LABEL: func.func @dynamic_keys(
// CHECK-SAME:    %[[Q:.*]]: memref<8x8xf32>, %[[K:.*]]: memref<?x8xf32>, %[[S:.*]]: memref<8x?xf32>)
// CHECK:         %[[N:.*]] = memref.dim %[[K]], %c0 : memref<?x8xf32>
// CHECK:         %[[KT:.*]] = memref.alloc(%[[N]]) {alignment = 64 : i64} : memref<8x?xf32>
// CHECK:         linalg.transpose ins(%[[K]] : memref<?x8xf32>) outs(%[[KT]] : memref<8x?xf32>) permutation = [1, 0]
// CHECK:         linalg.generic {{.*}} ins(%[[Q]], %[[KT]] : memref<8x8xf32>, memref<8x?xf32>) outs(%[[S]] : memref<8x?xf32>)
// CHECK:         memref.dealloc %[[KT]] : memref<8x?xf32>
func.func @dynamic_keys(%q: memref<8x8xf32>, %k: memref<?x8xf32>, %s: memref<8x?xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
      ins(%q, %k : memref<8x8xf32>, memref<?x8xf32>)
      outs(%s : memref<8x?xf32>) {attn.lowering_config = #attn.lowering_config<registers = [8, 32, 1]>}
  return
}
