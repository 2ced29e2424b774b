// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-cpu-strategy))' | FileCheck %s
// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-cpu-strategy{parallel-tile-m=128 parallel-tile-n=512 min-parallel-tiles=1 register-tile-m=4 register-tile-n=16 reduction-tile=0}))' | FileCheck %s --check-prefix=BIG
// RUN: not attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-cpu-strategy{register-tile-n=0}))' 2>&1 | FileCheck %s --check-prefix=BAD
// attn-cpu-strategy: every contraction the micro-kernel computes gets an
// attn.lowering_config with its parallel, reduction and register tile sizes
// per loop dimension.
// BAD: error: attn-cpu-strategy: tile sizes must be positive

// -----

// Default sizes, 20 x 80 output: 64 x 256 would be one tile, so N narrows to
// 64 (two register tiles) and M shortens to 8 (3 x 2 tiles, the most there
// are with 8 x 32 register tiles); the 300-step reduction is blocked by 128.
// CHECK-LABEL: func.func @matmul(
// CHECK:         linalg.matmul {attn.lowering_config = #attn.lowering_config<parallel = [8, 64, 0], reduction = [0, 0, 128], registers = [8, 32, 1]>}
func.func @matmul(%a: memref<20x300xf32>, %b: memref<300x80xf32>, %c: memref<20x80xf32>) {
  linalg.matmul ins(%a, %b : memref<20x300xf32>, memref<300x80xf32>) outs(%c : memref<20x80xf32>)
  return
}

// -----

// A reduction of 64 is not blocked.
// CHECK-LABEL: func.func @small_gemm(
// CHECK:         linalg.matmul {attn.lowering_config = #attn.lowering_config<parallel = [8, 64, 0], registers = [8, 32, 1]>}
// BIG-LABEL: func.func @small_gemm(
// BIG:         linalg.matmul {attn.lowering_config = #attn.lowering_config<parallel = [128, 512, 0], registers = [4, 16, 1]>}
func.func @small_gemm(%a: memref<24x64xf32>, %b: memref<64x128xf32>, %c: memref<24x128xf32>) {
  linalg.matmul ins(%a, %b : memref<24x64xf32>, memref<64x128xf32>) outs(%c : memref<24x128xf32>)
  return
}

// -----

// nn.Linear on [b, 1, c]: the innermost M dimension has size 1, so the
// register tile's rows come from b.
// CHECK-LABEL: func.func @unit_inner_m(
// CHECK:         attrs = {attn.lowering_config = #attn.lowering_config<parallel = [8, 1, 64, 0], registers = [8, 1, 32, 1]>}
func.func @unit_inner_m(%x: memref<16x1x8xf32>, %w: memref<64x8xf32>, %y: memref<16x1x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(b, n, o, c) -> (b, n, c)>,
                                   affine_map<(b, n, o, c) -> (o, c)>,
                                   affine_map<(b, n, o, c) -> (b, n, o)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<16x1x8xf32>, memref<64x8xf32>) outs(%y : memref<16x1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Inside a flash nest: no parallel level (the nest distributes the work).
// CHECK-LABEL: func.func @in_flash_nest(
// CHECK:         linalg.matmul {attn.lowering_config = #attn.lowering_config<registers = [8, 32, 1]>}
func.func @in_flash_nest(%a: memref<2x8x4xf32>, %b: memref<2x4x32xf32>, %c: memref<2x8x32xf32>) {
  scf.forall (%i) in (2) {
    %sa = memref.subview %a[%i, 0, 0] [1, 8, 4] [1, 1, 1] : memref<2x8x4xf32> to memref<8x4xf32, strided<[4, 1], offset: ?>>
    %sb = memref.subview %b[%i, 0, 0] [1, 4, 32] [1, 1, 1] : memref<2x4x32xf32> to memref<4x32xf32, strided<[32, 1], offset: ?>>
    %sc = memref.subview %c[%i, 0, 0] [1, 8, 32] [1, 1, 1] : memref<2x8x32xf32> to memref<8x32xf32, strided<[32, 1], offset: ?>>
    linalg.matmul ins(%sa, %sb : memref<8x4xf32, strided<[4, 1], offset: ?>>, memref<4x32xf32, strided<[32, 1], offset: ?>>)
                  outs(%sc : memref<8x32xf32, strided<[32, 1], offset: ?>>)
  } {mapping = [#attn.flash_nest<0>]}
  return
}

// -----

// Not a contraction: no config.
// CHECK-LABEL: func.func @elementwise(
// CHECK-NOT:     attn.lowering_config
func.func @elementwise(%a: memref<8x32xf32>, %b: memref<8x32xf32>) {
  linalg.add ins(%a, %a : memref<8x32xf32>, memref<8x32xf32>) outs(%b : memref<8x32xf32>)
  return
}
