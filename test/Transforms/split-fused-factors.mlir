// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-split-fused-factors))' | FileCheck %s
// attn-split-fused-factors: a contraction into which an elementwise producer
// was fused is split back into the producer (into a temporary) and a plain
// two-input contraction.

// A LayerNorm scale g fused into x Wᵀ: (x * g) is computed over (m, k), the
// loop dimensions its inputs use, and the contraction reads it.
// CHECK-DAG:   #[[K:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG:   #[[MK:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG:   #[[B:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG:   #[[C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @fused_factor(
// CHECK-SAME:    %[[X:.*]]: memref<16x8xf32>, %[[G:.*]]: memref<8xf32>, %[[W:.*]]: memref<8x64xf32>, %[[Y:.*]]: memref<16x64xf32>)
// CHECK:         %[[T:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x8xf32>
// CHECK:         linalg.generic {indexing_maps = [#[[K]], #[[MK]], #[[MK]]], iterator_types = ["parallel", "parallel"]} ins(%[[G]], %[[X]] : memref<8xf32>, memref<16x8xf32>) outs(%[[T]] : memref<16x8xf32>)
// CHECK:           %[[P:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK:           linalg.yield %[[P]] : f32
// CHECK:         linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[T]], %[[W]] : memref<16x8xf32>, memref<8x64xf32>) outs(%[[Y]] : memref<16x64xf32>)
// CHECK:           %[[M:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK:           %[[S:.*]] = arith.addf %{{.*}}, %[[M]] : f32
// CHECK:           linalg.yield %[[S]] : f32
// CHECK:         memref.dealloc %[[T]] : memref<16x8xf32>
func.func @fused_factor(%x: memref<16x8xf32>, %g: memref<8xf32>, %w: memref<8x64xf32>, %y: memref<16x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (k)>,
                                   affine_map<(m, n, k) -> (k, n)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %g, %w : memref<16x8xf32>, memref<8xf32>, memref<8x64xf32>) outs(%y : memref<16x64xf32>) {
  ^bb0(%a: f32, %s: f32, %b: f32, %acc: f32):
    %xs = arith.mulf %a, %s : f32
    %p = arith.mulf %xs, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A factor that mixes both operands ((x * w) * g) would need a temporary of
// the whole iteration space: left alone.
// CHECK-LABEL: func.func @mixed_factor(
// CHECK-NOT:     memref.alloc
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%{{.*}}, %{{.*}}, %{{.*}} : memref<16x8xf32>, memref<8xf32>, memref<8x64xf32>)
// CHECK-NOT:     linalg.generic
func.func @mixed_factor(%x: memref<16x8xf32>, %g: memref<8xf32>, %w: memref<8x64xf32>, %y: memref<16x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (k)>,
                                   affine_map<(m, n, k) -> (k, n)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %g, %w : memref<16x8xf32>, memref<8xf32>, memref<8x64xf32>) outs(%y : memref<16x64xf32>) {
  ^bb0(%a: f32, %s: f32, %b: f32, %acc: f32):
    %xw = arith.mulf %a, %b : f32
    %p = arith.mulf %xw, %s : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A plain contraction is no fused one: untouched.
// CHECK-LABEL: func.func @plain(
// CHECK-NEXT:    linalg.matmul
// CHECK-NEXT:    return
func.func @plain(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}
