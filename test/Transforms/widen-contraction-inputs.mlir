// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-widen-contraction-inputs))' | FileCheck %s
// attn-widen-contraction-inputs: the f16/bf16 inputs of a contraction into
// f32 are widened into f32 buffers, and the contraction reads those.

// Only the narrow input is widened; the f32 one is read as it is.
// CHECK-DAG:   #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG:   #[[B:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG:   #[[C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @bf16_lhs(
// CHECK-SAME:    %[[LHS:.*]]: memref<64x32xbf16>, %[[RHS:.*]]: memref<32x16xf32>, %[[OUT:.*]]: memref<64x16xf32>)
// CHECK:         %[[WIDE:.*]] = memref.alloc() {alignment = 64 : i64} : memref<64x32xf32>
// CHECK:         linalg.generic {indexing_maps = [#[[ID]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[LHS]] : memref<64x32xbf16>) outs(%[[WIDE]] : memref<64x32xf32>)
// CHECK:           arith.extf %{{.*}} : bf16 to f32
// CHECK:         linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[WIDE]], %[[RHS]] : memref<64x32xf32>, memref<32x16xf32>) outs(%[[OUT]] : memref<64x16xf32>)
// CHECK:         memref.dealloc %[[WIDE]] : memref<64x32xf32>
func.func @bf16_lhs(%a: memref<64x32xbf16>, %b: memref<32x16xf32>, %c: memref<64x16xf32>) {
  linalg.matmul ins(%a, %b : memref<64x32xbf16>, memref<32x16xf32>) outs(%c : memref<64x16xf32>)
  return
}

// -----

// Inside a flash nest the lowering widened its operands already: untouched.
// CHECK-LABEL: func.func @in_flash_nest(
// CHECK-NOT:     memref.alloc
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : memref<8x4xbf16, strided<[4, 1], offset: ?>>, memref<4x32xbf16>)
func.func @in_flash_nest(%a: memref<2x8x4xbf16>, %b: memref<4x32xbf16>, %c: memref<2x8x32xf32>) {
  scf.forall (%i) in (2) {
    %sa = memref.subview %a[%i, 0, 0] [1, 8, 4] [1, 1, 1] : memref<2x8x4xbf16> to memref<8x4xbf16, strided<[4, 1], offset: ?>>
    %sc = memref.subview %c[%i, 0, 0] [1, 8, 32] [1, 1, 1] : memref<2x8x32xf32> to memref<8x32xf32, strided<[32, 1], offset: ?>>
    linalg.matmul ins(%sa, %b : memref<8x4xbf16, strided<[4, 1], offset: ?>>, memref<4x32xbf16>) outs(%sc : memref<8x32xf32, strided<[32, 1], offset: ?>>)
  } {mapping = [#attn.flash_nest<0>]}
  return
}

// -----

// All operands f32: nothing to widen.
// CHECK-LABEL: func.func @f32(
// CHECK-NEXT:    linalg.matmul
func.func @f32(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}
