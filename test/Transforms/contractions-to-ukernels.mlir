// RUN: attn-opt %s --split-input-file --attn-contractions-to-ukernels | FileCheck %s
// RUN: attn-opt %s --split-input-file --attn-contractions-to-ukernels=in-loops=true | FileCheck %s --check-prefix=LOOPS
// attn-contractions-to-ukernels: f32 contractions on buffers become calls of
// attn_uk_matmul_f32 (bf16 ones into f32: attn_uk_matmul_bf16) on rank-2 strided views, under an scf.forall over output
// tiles at the top level.

// A Linear's matmul: whole rows (197 <= 512), 3072 columns in tiles of 256
// so that there are at least 8 tiles (12).
// CHECK-DAG: #[[ROWS:.*]] = affine_map<(d0) -> (197, -d0 + 197)>
// CHECK-DAG: #[[COLS:.*]] = affine_map<(d0) -> (256, -d0 + 3072)>
// CHECK-LABEL: func.func @matmul
// CHECK-SAME:    (%[[A:.*]]: memref<197x768xf32>, %[[B:.*]]: memref<768x3072xf32>, %[[C:.*]]: memref<197x3072xf32>)
// CHECK:         scf.forall (%[[I:.*]], %[[J:.*]]) = (0, 0) to (197, 3072) step (197, 256) {
// CHECK:           %[[M:.*]] = affine.min #[[ROWS]](%[[I]])
// CHECK:           %[[N:.*]] = affine.min #[[COLS]](%[[J]])
// CHECK:           %[[AV:.*]] = memref.subview %[[A]][%[[I]], 0] [%[[M]], 768] [1, 1]
// CHECK:           %[[AC:.*]] = memref.cast %[[AV]] {{.*}} to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK:           %[[BV:.*]] = memref.subview %[[B]][0, %[[J]]] [768, %[[N]]] [1, 1]
// CHECK:           %[[BC:.*]] = memref.cast %[[BV]]
// CHECK:           %[[CV:.*]] = memref.subview %[[C]][%[[I]], %[[J]]] [%[[M]], %[[N]]] [1, 1]
// CHECK:           %[[CC:.*]] = memref.cast %[[CV]]
// CHECK:           func.call @attn_uk_matmul_f32(%[[AC]], %[[BC]], %[[CC]])
// CHECK-NOT:     linalg.matmul
// CHECK:       func.func private @attn_uk_matmul_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
func.func @matmul(%a: memref<197x768xf32>, %b: memref<768x3072xf32>, %c: memref<197x3072xf32>) {
  linalg.matmul ins(%a, %b : memref<197x768xf32>, memref<768x3072xf32>)
                outs(%c : memref<197x3072xf32>)
  return
}

// -----

// "b n i, o i -> b n o" (nn.Linear's [out, in] weight): b and n, stored
// consecutively and contiguously in x and y, are one M of 2·7 = 14 rows,
// tiled as one dimension after the collapse, and the weight's view is
// transposed into [K, N] order (strides [1, 32]) instead of being copied.
#x = affine_map<(b, n, o, i) -> (b, n, i)>
#w = affine_map<(b, n, o, i) -> (o, i)>
#y = affine_map<(b, n, o, i) -> (b, n, o)>
// CHECK-DAG: #[[ROWS:.*]] = affine_map<(d0) -> (14, -d0 + 14)>
// CHECK-LABEL: func.func @linear_transposed_weight
// CHECK:         scf.forall (%[[I:.*]], %[[J:.*]]) = (0, 0) to (14, 48) step (14, 48) {
// CHECK:           %[[M:.*]] = affine.min #[[ROWS]](%[[I]])
// CHECK:           %[[X:.*]] = memref.subview %arg0[0, 0, 0] [2, 7, 32] [1, 1, 1]
// CHECK:           %[[XC:.*]] = memref.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : memref<2x7x32xf32, strided<[224, 32, 1]>> into memref<14x32xf32, strided<[32, 1]>>
// CHECK:           memref.subview %[[XC]][%[[I]], 0] [%[[M]], 32] [1, 1] : memref<14x32xf32, strided<[32, 1]>> to memref<?x32xf32, strided<[32, 1], offset: ?>>
// CHECK:           %[[W:.*]] = memref.subview %arg1[%[[J]], 0] [%{{.*}}, 32] [1, 1]
// CHECK:           memref.transpose %[[W]] (d0, d1) -> (d1, d0) : memref<?x32xf32, strided<[32, 1], offset: ?>> to memref<32x?xf32, strided<[1, 32], offset: ?>>
// CHECK:           %[[Y:.*]] = memref.subview %arg2[0, 0, %[[J]]] [2, 7, %{{.*}}] [1, 1, 1]
// CHECK:           %[[YC:.*]] = memref.collapse_shape %[[Y]] {{\[}}[0, 1], [2]] {{.*}} into memref<14x?xf32, strided<[48, 1], offset: ?>>
// CHECK:           memref.subview %[[YC]][%[[I]], 0] [%[[M]], %{{.*}}] [1, 1]
// CHECK:           func.call @attn_uk_matmul_f32
func.func @linear_transposed_weight(%x: memref<2x7x32xf32>, %w: memref<48x32xf32>,
                                    %y: memref<2x7x48xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<2x7x32xf32>, memref<48x32xf32>) outs(%y : memref<2x7x48xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// ViT's fused qkv projection "b n i, i s o -> b n s o" with s = 1: the unit
// loop is iterated (once) like a batch loop.
#x = affine_map<(b, n, s, o, i) -> (b, n, i)>
#w = affine_map<(b, n, s, o, i) -> (i, s, o)>
#y = affine_map<(b, n, s, o, i) -> (b, n, s, o)>
// CHECK-LABEL: func.func @unit_dimension
// CHECK:         scf.forall (%{{.*}}, %[[S:.*]], %{{.*}}, %[[J:.*]]) = (0, 0, 0, 0) to (1, 1, 197, 2304)
// CHECK:           memref.subview %arg1[0, %[[S]], %[[J]]] [768, 1, %{{.*}}] [1, 1, 1] : memref<768x1x2304xf32> to memref<768x?xf32
// CHECK:           func.call @attn_uk_matmul_f32
func.func @unit_dimension(%x: memref<1x197x768xf32>, %w: memref<768x1x2304xf32>,
                          %y: memref<1x197x1x2304xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x197x768xf32>, memref<768x1x2304xf32>) outs(%y : memref<1x197x1x2304xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// An out-projection with the head merge folded in, "b n h d, o h d -> b n o":
// the two K loops are collapsed into one dimension of 512 in both views.
#x = affine_map<(b, n, o, h, d) -> (b, n, h, d)>
#w = affine_map<(b, n, o, h, d) -> (o, h, d)>
#y = affine_map<(b, n, o, h, d) -> (b, n, o)>
// CHECK-LABEL: func.func @two_reduction_loops
// CHECK:         %[[X:.*]] = memref.subview %arg0{{.*}} : memref<1x197x8x64xf32> to memref<?x8x64xf32, strided<[512, 64, 1], offset: ?>>
// CHECK:         memref.collapse_shape %[[X]] {{\[}}[0], [1, 2]] : memref<?x8x64xf32, strided<[512, 64, 1], offset: ?>> into memref<?x512xf32, strided<[512, 1], offset: ?>>
// CHECK:         %[[W:.*]] = memref.subview %arg1{{.*}} : memref<512x8x64xf32> to memref<?x8x64xf32
// CHECK:         %[[WC:.*]] = memref.collapse_shape %[[W]] {{\[}}[0], [1, 2]]
// CHECK:         memref.transpose %[[WC]] (d0, d1) -> (d1, d0)
// CHECK:         func.call @attn_uk_matmul_f32
func.func @two_reduction_loops(%x: memref<1x197x8x64xf32>, %w: memref<512x8x64xf32>,
                               %y: memref<1x197x512xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : memref<1x197x8x64xf32>, memref<512x8x64xf32>) outs(%y : memref<1x197x512xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A convolution after im2col, "b c p q h w, o c p q -> b o h w": the output
// rows and columns (contiguous in the patches and in the output) are one N
// of 7·7 = 49 positions, not 7, and only M (the output channels) is tiled.
#patches = affine_map<(b, o, h, w, c, p, q) -> (b, c, p, q, h, w)>
#filter = affine_map<(b, o, h, w, c, p, q) -> (o, c, p, q)>
#image = affine_map<(b, o, h, w, c, p, q) -> (b, o, h, w)>
// CHECK-LABEL: func.func @collapsed_n_loops
// CHECK:         scf.forall (%[[B0:.*]], %{{.*}}) = (0, 0) to (1, 256) step (1, 48)
// CHECK:           memref.collapse_shape %{{.*}} {{\[}}[0], [1, 2, 3]] : memref<?x16x3x3xf32, strided<[144, 9, 3, 1], offset: ?>> into memref<?x144xf32
// CHECK:           %[[B:.*]] = memref.subview %arg0[%[[B0]], 0, 0, 0, 0, 0] [1, 16, 3, 3, 7, 7] [1, 1, 1, 1, 1, 1] : memref<1x16x3x3x7x7xf32> to memref<16x3x3x7x7xf32
// CHECK:           memref.collapse_shape %[[B]] {{\[}}[0, 1, 2], [3, 4]] : memref<16x3x3x7x7xf32, strided<[441, 147, 49, 7, 1], offset: ?>> into memref<144x49xf32
// CHECK:           memref.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : memref<?x7x7xf32, strided<[49, 7, 1], offset: ?>> into memref<?x49xf32
// CHECK:           func.call @attn_uk_matmul_f32
func.func @collapsed_n_loops(%x: memref<1x16x3x3x7x7xf32>, %w: memref<256x16x3x3xf32>,
                             %y: memref<1x256x7x7xf32>) {
  linalg.generic {indexing_maps = [#patches, #filter, #image],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<1x16x3x3x7x7xf32>, memref<256x16x3x3xf32>) outs(%y : memref<1x256x7x7xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The same product with the output's rows and columns stored the other way
// round in B ("... w h"): they are not consecutive in the same order, so N
// is the columns alone (7, narrower than a vector) and the rows are the
// grouped kernel's groups: B as [h, K, w] (strides [1, 49, 7]), C as
// [h, o, w].
#patches_t = affine_map<(b, o, h, w, c, p, q) -> (b, c, p, q, w, h)>
#filter = affine_map<(b, o, h, w, c, p, q) -> (o, c, p, q)>
#image = affine_map<(b, o, h, w, c, p, q) -> (b, o, h, w)>
// CHECK-LABEL: func.func @n_loops_not_collapsible
// CHECK:         scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (1, 256) step (1, 48)
// CHECK-NOT:       into memref<?x49xf32
// CHECK:           memref.transpose %{{.*}} (d0, d1, d2) -> (d2, d0, d1) : memref<144x7x7xf32, strided<[49, 7, 1], offset: ?>> to memref<7x144x7xf32, strided<[1, 49, 7], offset: ?>>
// CHECK:           memref.transpose %{{.*}} (d0, d1, d2) -> (d1, d0, d2) : memref<?x7x7xf32, strided<[49, 7, 1], offset: ?>> to memref<7x?x7xf32, strided<[7, 49, 1], offset: ?>>
// CHECK:           func.call @attn_uk_matmul_f32_groups
func.func @n_loops_not_collapsible(%x: memref<1x16x3x3x7x7xf32>, %w: memref<256x16x3x3xf32>,
                                   %y: memref<1x256x7x7xf32>) {
  linalg.generic {indexing_maps = [#patches_t, #filter, #image],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<1x16x3x3x7x7xf32>, memref<256x16x3x3xf32>) outs(%y : memref<1x256x7x7xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// CrossFormer's qkv projection, a 1x1 convolution on 7 x 7 windows of 2 x 2
// positions ("g1 g2 c p q h w, o c p q -> g1 g2 o h w"): N (h w) is 4
// columns, a quarter of a vector; the windows g1 g2 (consecutive and
// contiguous in the image and the output) are the groups of one call of
// attn_uk_matmul_f32_groups per tile of output channels (the unit filter
// loops p q iterated once), B as [49, 256, 4] and C as [49, o, 4], instead
// of 49 calls of 4 columns each.
#image = affine_map<(g1, g2, o, h, w, c, p, q) -> (g1, g2, c, p, q, h, w)>
#filter = affine_map<(g1, g2, o, h, w, c, p, q) -> (o, c, p, q)>
#out = affine_map<(g1, g2, o, h, w, c, p, q) -> (g1, g2, o, h, w)>
// CHECK-DAG: #[[ROWS:.*]] = affine_map<(d0) -> (66, -d0 + 768)>
// CHECK-LABEL: func.func @window_groups
// CHECK:         scf.forall (%[[P:.*]], %[[Q:.*]], %[[I:.*]]) = (0, 0, 0) to (1, 1, 768) step (1, 1, 66) {
// CHECK:           %[[M:.*]] = affine.min #[[ROWS]](%[[I]])
// CHECK:           memref.subview %arg1[%[[I]], 0, %[[P]], %[[Q]]] [%[[M]], 256, 1, 1] [1, 1, 1, 1] : memref<768x256x1x1xf32> to memref<?x256xf32, strided<[256, 1], offset: ?>>
// CHECK:           %[[X:.*]] = memref.subview %arg0[0, 0, 0, %[[P]], %[[Q]], 0, 0] [7, 7, 256, 1, 1, 2, 2]
// CHECK:           memref.collapse_shape %[[X]] {{\[}}[0, 1], [2], [3, 4]] : memref<7x7x256x2x2xf32, strided<[7168, 1024, 4, 2, 1], offset: ?>> into memref<49x256x4xf32, strided<[1024, 4, 1], offset: ?>>
// CHECK:           %[[Y:.*]] = memref.subview %arg2[0, 0, %[[I]], 0, 0] [7, 7, %[[M]], 2, 2]
// CHECK:           memref.collapse_shape %[[Y]] {{\[}}[0, 1], [2], [3, 4]] {{.*}} into memref<49x?x4xf32, strided<[3072, 4, 1], offset: ?>>
// CHECK:           func.call @attn_uk_matmul_f32_groups(%{{.*}}, %{{.*}}, %{{.*}}) : (memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>) -> ()
// CHECK:       func.func private @attn_uk_matmul_f32_groups(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
func.func @window_groups(%x: memref<7x7x256x1x1x2x2xf32>, %w: memref<768x256x1x1xf32>,
                         %y: memref<7x7x768x2x2xf32>) {
  linalg.generic {indexing_maps = [#image, #filter, #out],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<7x7x256x1x1x2x2xf32>, memref<768x256x1x1xf32>) outs(%y : memref<7x7x768x2x2xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Operands in the other order (B first) and a batch_matmul.
#b = affine_map<(m, n, k) -> (k, n)>
#a = affine_map<(m, n, k) -> (m, k)>
#c = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @swapped_operands
// CHECK:         %[[AV:.*]] = memref.subview %arg1[
// CHECK:         %[[AC:.*]] = memref.cast %[[AV]]
// CHECK:         %[[BV:.*]] = memref.subview %arg0[
// CHECK:         %[[BC:.*]] = memref.cast %[[BV]]
// CHECK:         func.call @attn_uk_matmul_f32(%[[AC]], %[[BC]],
func.func @swapped_operands(%b: memref<16x64xf32>, %a: memref<8x16xf32>, %c: memref<8x64xf32>) {
  linalg.generic {indexing_maps = [#b, #a, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%b, %a : memref<16x64xf32>, memref<8x16xf32>) outs(%c : memref<8x64xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %q, %p : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}
// CHECK-LABEL: func.func @batch
// CHECK:         scf.forall (%[[H:.*]], %{{.*}}, %{{.*}}) = (0, 0, 0) to (8, 64, 64) step (1, 64, 64)
// CHECK:           memref.subview %arg0[%[[H]], %{{.*}}, 0] [1, %{{.*}}, 32] [1, 1, 1] : memref<8x64x32xf32> to memref<?x32xf32
// CHECK:           func.call @attn_uk_matmul_f32
func.func @batch(%a: memref<8x64x32xf32>, %b: memref<8x32x64xf32>, %c: memref<8x64x64xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<8x64x32xf32>, memref<8x32x64xf32>)
                      outs(%c : memref<8x64x64xf32>)
  return
}

// -----

// Inside an scf.forall (the flash nest) only with in-loops: then no forall
// of its own, one call on the whole block.
// CHECK-LABEL: func.func @in_forall
// CHECK:         linalg.matmul
// CHECK-NOT:     func.call
// LOOPS-LABEL: func.func @in_forall
// LOOPS:         scf.forall (%{{.*}}) in (4) {
// LOOPS-NOT:       scf.forall
// LOOPS:           %[[AV:.*]] = memref.subview %arg0[0, 0] [64, 64] [1, 1]
// LOOPS:           %[[A:.*]] = memref.cast %[[AV]]
// LOOPS:           %[[BV:.*]] = memref.subview %arg1[0, 0] [64, 64] [1, 1]
// LOOPS:           %[[B:.*]] = memref.cast %[[BV]]
// LOOPS:           %[[CV:.*]] = memref.subview %arg2[0, 0] [64, 64] [1, 1]
// LOOPS:           %[[C:.*]] = memref.cast %[[CV]]
// LOOPS:           func.call @attn_uk_matmul_f32(%[[A]], %[[B]], %[[C]])
// LOOPS-NOT:     linalg.matmul
// LOOPS:         return
func.func @in_forall(%a: memref<64x64xf32>, %b: memref<64x64xf32>, %c: memref<64x64xf32>) {
  scf.forall (%i) in (4) {
    linalg.matmul ins(%a, %b : memref<64x64xf32>, memref<64x64xf32>)
                  outs(%c : memref<64x64xf32>)
  }
  return
}

// -----

// An output stored transposed ([n, m]): the roles swap, C^T += y^T · x^T,
// both read through transposed views.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#ct = affine_map<(m, n, k) -> (n, m)>
// CHECK-LABEL: func.func @transposed_output
// CHECK:         scf.forall (%[[I:.*]], %[[J:.*]]) = (0, 0) to (32, 8)
// CHECK:           %[[Y:.*]] = memref.subview %arg1[0, %[[I]]]
// CHECK:           memref.transpose %[[Y]] (d0, d1) -> (d1, d0)
// CHECK:           %[[X:.*]] = memref.subview %arg0[%[[J]], 0]
// CHECK:           memref.transpose %[[X]] (d0, d1) -> (d1, d0)
// CHECK:           memref.subview %arg2[%[[I]], %[[J]]]
// CHECK:           func.call @attn_uk_matmul_f32
func.func @transposed_output(%x: memref<8x16xf32>, %y: memref<16x32xf32>, %t: memref<32x8xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #ct], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %y : memref<8x16xf32>, memref<16x32xf32>) outs(%t : memref<32x8xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A Linear whose weight is prepared as column panels [P, in, 64]
// ("b n i, p i c -> b n p c"): the panel loop p is a second N loop, iterated
// around the calls like a batch loop; each call reads one contiguous panel
// ([768, 64], strides [64, 1]) into a 64-column slice of C.
#x = affine_map<(b, n, p, c, i) -> (b, n, i)>
#w = affine_map<(b, n, p, c, i) -> (p, i, c)>
#y = affine_map<(b, n, p, c, i) -> (b, n, p, c)>
// CHECK-LABEL: func.func @linear_weight_panels
// CHECK:         scf.forall (%[[B:.*]], %[[P:.*]], %[[I:.*]], %[[J:.*]]) = (0, 0, 0, 0) to (1, 36, 197, 64) step (1, 1, 197, 64) {
// CHECK:           %[[BV:.*]] = memref.subview %{{.*}}[%[[P]], 0, %[[J]]] [1, 768, %{{.*}}] [1, 1, 1] : memref<36x768x64xf32> to memref<768x?xf32, strided<[64, 1], offset: ?>>
// CHECK:           %[[CV:.*]] = memref.subview %{{.*}}[%[[B]], %[[I]], %[[P]], %[[J]]] [1, %{{.*}}, 1, %{{.*}}] [1, 1, 1, 1] : memref<1x197x36x64xf32> to memref<?x?xf32, strided<[2304, 1], offset: ?>>
// CHECK:           func.call @attn_uk_matmul_f32
// CHECK-NOT:     linalg.generic
func.func @linear_weight_panels(%x: memref<1x197x768xf32>, %w: memref<36x768x64xf32>, %y: memref<1x197x36x64xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x197x768xf32>, memref<36x768x64xf32>) outs(%y : memref<1x197x36x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// MaxViT's window Linear on weight panels, "b x y w1 w2 i, p i c -> b x y w1
// w2 p c": the window loops x y w1 w2 sit consecutively and contiguously in
// the input and the output, so each call takes all 2·2·7·7 = 196 rows of a
// panel (rows 1152 apart in C) instead of the 7 of w2 (MaxViT's 1536-column
// MLP ran at 33 of the kernel's 64 flops a cycle on 7-row calls).
#x = affine_map<(b, x, y, w1, w2, p, c, i) -> (b, x, y, w1, w2, i)>
#w = affine_map<(b, x, y, w1, w2, p, c, i) -> (p, i, c)>
#y = affine_map<(b, x, y, w1, w2, p, c, i) -> (b, x, y, w1, w2, p, c)>
// CHECK-LABEL: func.func @window_rows_collapsed
// CHECK:         scf.forall (%[[B:.*]], %[[P:.*]], %[[I:.*]], %[[J:.*]]) = (0, 0, 0, 0) to (1, 18, 196, 64) step (1, 1, 196, 64) {
// CHECK:           %[[X:.*]] = memref.subview %arg0[%[[B]], 0, 0, 0, 0, 0] [1, 2, 2, 7, 7, 384] [1, 1, 1, 1, 1, 1] : memref<1x2x2x7x7x384xf32> to memref<2x2x7x7x384xf32, strided<[37632, 18816, 2688, 384, 1], offset: ?>>
// CHECK:           %[[XC:.*]] = memref.collapse_shape %[[X]] {{\[}}[0, 1, 2, 3], [4]] {{.*}} into memref<196x384xf32, strided<[384, 1], offset: ?>>
// CHECK:           memref.subview %[[XC]][%[[I]], 0] [%{{.*}}, 384] [1, 1]
// CHECK:           memref.subview %arg1[%[[P]], 0, %[[J]]] [1, 384, %{{.*}}] [1, 1, 1] : memref<18x384x64xf32> to memref<384x?xf32, strided<[64, 1], offset: ?>>
// CHECK:           %[[Y:.*]] = memref.subview %arg2[%[[B]], 0, 0, 0, 0, %[[P]], %[[J]]] [1, 2, 2, 7, 7, 1, %{{.*}}]
// CHECK:           %[[YC:.*]] = memref.collapse_shape %[[Y]] {{\[}}[0, 1, 2, 3], [4]] {{.*}} into memref<196x?xf32, strided<[1152, 1], offset: ?>>
// CHECK:           memref.subview %[[YC]][%[[I]], 0]
// CHECK:           func.call @attn_uk_matmul_f32
func.func @window_rows_collapsed(%x: memref<1x2x2x7x7x384xf32>, %w: memref<18x384x64xf32>,
                                 %y: memref<1x2x2x7x7x18x64xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x2x2x7x7x384xf32>, memref<18x384x64xf32>) outs(%y : memref<1x2x2x7x7x18x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The same rows read from a window view of the image (x and w1 interleaved:
// "b (x w1) (y w2) i" seen as "b x y w1 w2 i"): w1 and w2 are not stored
// consecutively in the input, so only w2 (7 rows) is M and x, y, w1 are
// iterated around the calls.
#x = affine_map<(b, x, y, w1, w2, o, i) -> (b, x, y, w1, w2, i)>
#w = affine_map<(b, x, y, w1, w2, o, i) -> (i, o)>
#y = affine_map<(b, x, y, w1, w2, o, i) -> (b, x, y, w1, w2, o)>
// CHECK-LABEL: func.func @window_rows_not_collapsible
// CHECK:         scf.forall (%[[B:.*]], %[[X:.*]], %[[Y:.*]], %[[W1:.*]], %[[I:.*]], %[[J:.*]]) = (0, 0, 0, 0, 0, 0) to (1, 2, 2, 7, 7, 64) step (1, 1, 1, 1, 7, 64) {
// CHECK:           memref.subview %arg0[%[[B]], %[[X]], %[[Y]], %[[W1]], %[[I]], 0] [1, 1, 1, 1, %{{.*}}, 32] [1, 1, 1, 1, 1, 1] : memref<1x2x2x7x7x32xf32, strided<[6272, 3136, 224, 448, 32, 1]>> to memref<?x32xf32, strided<[32, 1], offset: ?>>
// CHECK-NOT:       memref.collapse_shape
// CHECK:           func.call @attn_uk_matmul_f32
func.func @window_rows_not_collapsible(%x: memref<1x2x2x7x7x32xf32, strided<[6272, 3136, 224, 448, 32, 1]>>,
                                       %w: memref<32x64xf32>, %y: memref<1x2x2x7x7x64xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x2x2x7x7x32xf32, strided<[6272, 3136, 224, 448, 32, 1]>>, memref<32x64xf32>) outs(%y : memref<1x2x2x7x7x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// bf16 operands into an f32 output: attn_uk_matmul_bf16 (AMX where the CPU
// has it), with bf16 views of the inputs and an f32 view of the output.
// CHECK-LABEL: func.func @matmul_bf16
// CHECK:         scf.forall
// CHECK:           %[[AC:.*]] = memref.cast %{{.*}} : memref<{{.*}}bf16{{.*}}> to memref<?x?xbf16, strided<[?, ?], offset: ?>>
// CHECK:           %[[BC:.*]] = memref.cast %{{.*}} : memref<{{.*}}bf16{{.*}}> to memref<?x?xbf16, strided<[?, ?], offset: ?>>
// CHECK:           %[[CC:.*]] = memref.cast %{{.*}} : memref<{{.*}}f32{{.*}}> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK:           func.call @attn_uk_matmul_bf16(%[[AC]], %[[BC]], %[[CC]])
// CHECK-NOT:     linalg.matmul
// CHECK:       func.func private @attn_uk_matmul_bf16(memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
// CHECK-NOT:   func.func private @attn_uk_matmul_f32
func.func @matmul_bf16(%a: memref<197x768xbf16>, %b: memref<768x256xbf16>, %c: memref<197x256xf32>) {
  linalg.matmul ins(%a, %b : memref<197x768xbf16>, memref<768x256xbf16>)
                outs(%c : memref<197x256xf32>)
  return
}

// -----

// A flash nest's last blocks at n = 257 in blocks of 128: one key (the
// scores' N = 1, then P·V's K = 1) and one query (M = 1). bf16 products keep
// their one unit M, N or K loop as a micro-kernel dimension of size 1 (a
// mixed-type product has no register tiling: it would be a scalar loop
// nest); f32 ones stay linalg for attn-tile-registers.
// LOOPS-LABEL: func.func @flash_tails_bf16
// LOOPS:         scf.forall
// LOOPS:           %[[Q:.*]] = memref.cast %{{.*}} : memref<64x64xbf16, strided<[64, 1]>> to memref<?x?xbf16
// LOOPS:           %[[K:.*]] = memref.cast %{{.*}} : memref<64x1xbf16, strided<[257, 1], offset: 256>> to memref<?x?xbf16
// LOOPS:           %[[S:.*]] = memref.cast %{{.*}} : memref<64x1xf32, strided<[1, 1]>> to memref<?x?xf32
// LOOPS:           func.call @attn_uk_matmul_bf16(%[[Q]], %[[K]], %[[S]])
// LOOPS:           %[[P:.*]] = memref.cast %{{.*}} : memref<64x1xbf16, strided<[1, 1]>> to memref<?x?xbf16
// LOOPS:           %[[V:.*]] = memref.cast %{{.*}} : memref<1x64xbf16, strided<[64, 1], offset: 16384>> to memref<?x?xbf16
// LOOPS:           %[[O:.*]] = memref.cast %{{.*}} : memref<64x64xf32, strided<[64, 1]>> to memref<?x?xf32
// LOOPS:           func.call @attn_uk_matmul_bf16(%[[P]], %[[V]], %[[O]])
// LOOPS:           %[[Q1:.*]] = memref.cast %{{.*}} : memref<1x64xbf16, strided<[64, 1]>> to memref<?x?xbf16
// LOOPS:           %[[KB:.*]] = memref.cast %{{.*}} : memref<64x128xbf16, strided<[257, 1]>> to memref<?x?xbf16
// LOOPS:           %[[S1:.*]] = memref.cast %{{.*}} : memref<1x128xf32, strided<[128, 1]>> to memref<?x?xf32
// LOOPS:           func.call @attn_uk_matmul_bf16(%[[Q1]], %[[KB]], %[[S1]])
// LOOPS-NOT:     linalg.matmul
// LOOPS-LABEL: func.func @unit_n_f32
// LOOPS:         linalg.matmul
// LOOPS-NOT:     func.call
// LOOPS:         return
func.func @flash_tails_bf16(%q: memref<64x64xbf16>, %kt: memref<64x257xbf16>, %v: memref<257x64xbf16>,
                            %s: memref<64x1xf32>, %p: memref<64x1xbf16>, %o: memref<64x64xf32>,
                            %q1: memref<1x64xbf16>, %s1: memref<1x128xf32>) {
  %kl = memref.subview %kt[0, 256] [64, 1] [1, 1] : memref<64x257xbf16> to memref<64x1xbf16, strided<[257, 1], offset: 256>>
  %vl = memref.subview %v[256, 0] [1, 64] [1, 1] : memref<257x64xbf16> to memref<1x64xbf16, strided<[64, 1], offset: 16384>>
  %kb = memref.subview %kt[0, 0] [64, 128] [1, 1] : memref<64x257xbf16> to memref<64x128xbf16, strided<[257, 1]>>
  scf.forall (%i) in (2) {
    linalg.matmul ins(%q, %kl : memref<64x64xbf16>, memref<64x1xbf16, strided<[257, 1], offset: 256>>)
                  outs(%s : memref<64x1xf32>)
    linalg.matmul ins(%p, %vl : memref<64x1xbf16>, memref<1x64xbf16, strided<[64, 1], offset: 16384>>)
                  outs(%o : memref<64x64xf32>)
    linalg.matmul ins(%q1, %kb : memref<1x64xbf16>, memref<64x128xbf16, strided<[257, 1]>>)
                  outs(%s1 : memref<1x128xf32>)
  }
  return
}

func.func @unit_n_f32(%a: memref<64x64xf32>, %b: memref<64x1xf32>, %c: memref<64x1xf32>) {
  scf.forall (%i) in (2) {
    linalg.matmul ins(%a, %b : memref<64x64xf32>, memref<64x1xf32>) outs(%c : memref<64x1xf32>)
  }
  return
}

// -----

// A bf16 weight prepared as panels of row pairs (VNNI form, "n i e, p i c e
// -> n p c", e = 2): attn_uk_matmul_bf16_pairs, with A's (i, e) collapsed
// into K = 768 and each panel's (c, e) into 128 columns of pairs, so AMX
// loads B's tiles where they are. Each parallel iteration calls a group of
// 6 consecutive panels in turn (48 panels, 8 = min-parallel-tiles groups).
// CHECK-DAG:   #[[GROUP:.*]] = affine_map<(d0) -> (d0 + 6, 48)>
// CHECK-LABEL: func.func @linear_bf16_pairs
// CHECK-SAME:    (%[[A:.*]]: memref<197x384x2xbf16>, %[[B:.*]]: memref<48x384x64x2xbf16>, %[[C:.*]]: memref<197x48x64xf32>)
// CHECK:         scf.forall (%[[G:.*]], %[[I:.*]], %[[J:.*]]) = (0, 0, 0) to (48, 197, 64) step (6, 197, 64)
// CHECK:           %[[M:.*]] = affine.min
// CHECK:           %[[N:.*]] = affine.min
// CHECK:           %[[END:.*]] = affine.min #[[GROUP]](%[[G]])
// CHECK:           scf.for %[[P:.*]] = %[[G]] to %[[END]] step %{{.*}} {
// CHECK:           %[[AV:.*]] = memref.subview %[[A]][%[[I]], 0, 0] [%[[M]], 384, 2] [1, 1, 1]
// CHECK:           %[[AK:.*]] = memref.collapse_shape %[[AV]] {{\[}}[0], [1, 2]] : memref<?x384x2xbf16, strided<[768, 2, 1], offset: ?>> into memref<?x768xbf16, strided<[768, 1], offset: ?>>
// CHECK:           %[[AC:.*]] = memref.cast %[[AK]]
// CHECK:           %[[BV:.*]] = memref.subview %[[B]][%[[P]], 0, %[[J]], 0] [1, 384, %[[N]], 2] [1, 1, 1, 1] : memref<48x384x64x2xbf16> to memref<384x?x2xbf16, strided<[128, 2, 1], offset: ?>>
// CHECK:           %[[BP:.*]] = memref.collapse_shape %[[BV]] {{\[}}[0], [1, 2]] : memref<384x?x2xbf16, strided<[128, 2, 1], offset: ?>> into memref<384x?xbf16, strided<[128, 1], offset: ?>>
// CHECK:           %[[BC:.*]] = memref.cast %[[BP]]
// CHECK:           %[[CV:.*]] = memref.subview %[[C]][%[[I]], %[[P]], %[[J]]] [%[[M]], 1, %[[N]]] [1, 1, 1] : memref<197x48x64xf32> to memref<?x?xf32, strided<[3072, 1], offset: ?>>
// CHECK:           %[[CC:.*]] = memref.cast %[[CV]]
// CHECK:           func.call @attn_uk_matmul_bf16_pairs(%[[AC]], %[[BC]], %[[CC]])
// CHECK-NOT:     linalg.generic
// CHECK:       func.func private @attn_uk_matmul_bf16_pairs(memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
#pa = affine_map<(n, p, c, i, e) -> (n, i, e)>
#pb = affine_map<(n, p, c, i, e) -> (p, i, c, e)>
#pc = affine_map<(n, p, c, i, e) -> (n, p, c)>
func.func @linear_bf16_pairs(%a: memref<197x384x2xbf16>, %b: memref<48x384x64x2xbf16>, %c: memref<197x48x64xf32>) {
  linalg.generic {indexing_maps = [#pa, #pb, #pc], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%a, %b : memref<197x384x2xbf16>, memref<48x384x64x2xbf16>) outs(%c : memref<197x48x64xf32>) {
  ^bb0(%x: bf16, %w: bf16, %acc: f32):
    %0 = arith.extf %x : bf16 to f32
    %1 = arith.extf %w : bf16 to f32
    %2 = arith.mulf %0, %1 : f32
    %3 = arith.addf %acc, %2 : f32
    linalg.yield %3 : f32
  }
  return
}

// -----

// bf16 products right after a zero fill of their f32 C (how a bf16 Linear's
// accumulator arrives): the fills go and the calls overwrite C, plain B
// (attn_uk_matmul_bf16_overwrite) and pairs of rows
// (attn_uk_matmul_bf16_pairs_overwrite) alike; the accumulating forms are
// not declared.
// CHECK-LABEL: func.func @zero_fill_then_bf16
// CHECK-SAME:    (%[[A:.*]]: memref<197x768xbf16>, %[[B:.*]]: memref<768x256xbf16>, %[[C:.*]]: memref<197x256xf32>, %[[PA:.*]]: memref<197x384x2xbf16>, %[[PB:.*]]: memref<4x384x64x2xbf16>, %[[PC:.*]]: memref<197x4x64xf32>)
// CHECK-NOT:     linalg.fill
// CHECK:         scf.forall
// CHECK:           %[[CV:.*]] = memref.subview %[[C]]
// CHECK:           %[[CC:.*]] = memref.cast %[[CV]]
// CHECK:           func.call @attn_uk_matmul_bf16_overwrite(%{{.*}}, %{{.*}}, %[[CC]])
// CHECK-NOT:     linalg.fill
// CHECK:         scf.forall
// CHECK:           %[[PCV:.*]] = memref.subview %[[PC]]
// CHECK:           %[[PCC:.*]] = memref.cast %[[PCV]]
// CHECK:           func.call @attn_uk_matmul_bf16_pairs_overwrite(%{{.*}}, %{{.*}}, %[[PCC]])
// CHECK-NOT:     linalg.fill
// CHECK:         return
// CHECK-DAG:   func.func private @attn_uk_matmul_bf16_overwrite(memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
// CHECK-DAG:   func.func private @attn_uk_matmul_bf16_pairs_overwrite(memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
// CHECK-NOT:   func.func private @attn_uk_matmul_bf16(
// CHECK-NOT:   func.func private @attn_uk_matmul_bf16_pairs(
#qa = affine_map<(n, p, c, i, e) -> (n, i, e)>
#qb = affine_map<(n, p, c, i, e) -> (p, i, c, e)>
#qc = affine_map<(n, p, c, i, e) -> (n, p, c)>
func.func @zero_fill_then_bf16(%a: memref<197x768xbf16>, %b: memref<768x256xbf16>, %c: memref<197x256xf32>,
                               %pa: memref<197x384x2xbf16>, %pb: memref<4x384x64x2xbf16>, %pc: memref<197x4x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<197x256xf32>)
  linalg.matmul ins(%a, %b : memref<197x768xbf16>, memref<768x256xbf16>)
                outs(%c : memref<197x256xf32>)
  linalg.fill ins(%zero : f32) outs(%pc : memref<197x4x64xf32>)
  linalg.generic {indexing_maps = [#qa, #qb, #qc], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%pa, %pb : memref<197x384x2xbf16>, memref<4x384x64x2xbf16>) outs(%pc : memref<197x4x64xf32>) {
  ^bb0(%x: bf16, %w: bf16, %acc: f32):
    %0 = arith.extf %x : bf16 to f32
    %1 = arith.extf %w : bf16 to f32
    %2 = arith.mulf %0, %1 : f32
    %3 = arith.addf %acc, %2 : f32
    linalg.yield %3 : f32
  }
  return
}

// -----

// The fill, then a collapse of the filled buffer (and of A) before the
// product into the collapsed view, as attn-collapse-parallel-dims leaves a
// batched Linear: the reshapes touch no memory and view all of the buffer,
// so the fill still goes and the call overwrites C.
// CHECK-LABEL: func.func @zero_fill_collapse_then_bf16
// CHECK-NOT:     linalg.fill
// CHECK:         memref.collapse_shape
// CHECK:         memref.collapse_shape
// CHECK:         scf.forall
// CHECK:           func.call @attn_uk_matmul_bf16_pairs_overwrite(
// CHECK-NOT:     linalg.fill
// CHECK:         return
#ra = affine_map<(n, p, c, i, e) -> (n, i, e)>
#rb = affine_map<(n, p, c, i, e) -> (p, i, c, e)>
#rc = affine_map<(n, p, c, i, e) -> (n, p, c)>
func.func @zero_fill_collapse_then_bf16(%a: memref<2x45x35x2xbf16>, %b: memref<2x35x64x2xbf16>, %c: memref<2x45x2x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<2x45x2x64xf32>)
  %a2 = memref.collapse_shape %a [[0, 1], [2], [3]] : memref<2x45x35x2xbf16> into memref<90x35x2xbf16>
  %c2 = memref.collapse_shape %c [[0, 1], [2], [3]] : memref<2x45x2x64xf32> into memref<90x2x64xf32>
  linalg.generic {indexing_maps = [#ra, #rb, #rc], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%a2, %b : memref<90x35x2xbf16>, memref<2x35x64x2xbf16>) outs(%c2 : memref<90x2x64xf32>) {
  ^bb0(%x: bf16, %w: bf16, %acc: f32):
    %0 = arith.extf %x : bf16 to f32
    %1 = arith.extf %w : bf16 to f32
    %2 = arith.mulf %0, %1 : f32
    %3 = arith.addf %acc, %2 : f32
    linalg.yield %3 : f32
  }
  return
}

// -----

// Not pairs: the same maps on f32 (the f32 kernel has no pairs form), and
// bf16 with an inner K loop of 4 (AMX pairs are 2 deep). Both are left as
// they are: their K loops are not consecutive in B.
// CHECK-LABEL: func.func @not_pairs
// CHECK-NOT:     call @attn_uk
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT:     call @attn_uk
#qa = affine_map<(n, p, c, i, e) -> (n, i, e)>
#qb = affine_map<(n, p, c, i, e) -> (p, i, c, e)>
#qc = affine_map<(n, p, c, i, e) -> (n, p, c)>
func.func @not_pairs(%a: memref<8x16x2xf32>, %b: memref<2x16x64x2xf32>, %c: memref<8x2x64xf32>,
                     %a4: memref<8x16x4xbf16>, %b4: memref<2x16x64x4xbf16>) {
  linalg.generic {indexing_maps = [#qa, #qb, #qc], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%a, %b : memref<8x16x2xf32>, memref<2x16x64x2xf32>) outs(%c : memref<8x2x64xf32>) {
  ^bb0(%x: f32, %w: f32, %acc: f32):
    %0 = arith.mulf %x, %w : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  linalg.generic {indexing_maps = [#qa, #qb, #qc], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%a4, %b4 : memref<8x16x4xbf16>, memref<2x16x64x4xbf16>) outs(%c : memref<8x2x64xf32>) {
  ^bb0(%x: bf16, %w: bf16, %acc: f32):
    %0 = arith.extf %x : bf16 to f32
    %1 = arith.extf %w : bf16 to f32
    %2 = arith.mulf %0, %1 : f32
    %3 = arith.addf %acc, %2 : f32
    linalg.yield %3 : f32
  }
  return
}

// -----

// Left alone: f16 operands, bf16 operands into a bf16 output, mixed bf16 and
// f32 operands, a product that is not a contraction (max-plus), and a
// convolution-like map.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#shifted = affine_map<(m, n, k) -> (m + k, n)>
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT:     func.call
// CHECK:         linalg.matmul
// CHECK:         linalg.matmul
// CHECK:         linalg.matmul
// CHECK:         linalg.generic
// CHECK:           arith.maximumf
// CHECK:         linalg.generic
// CHECK-NOT:     func.func private @attn_uk_matmul
func.func @left_alone(%a: memref<8x16xf16>, %b: memref<16x32xf16>, %c: memref<8x32xf32>,
                      %x: memref<8x16xf32>, %y: memref<16x32xf32>, %z: memref<8x32xf32>,
                      %w: memref<24x32xf32>, %ab: memref<8x16xbf16>, %bb: memref<16x32xbf16>,
                      %cb: memref<8x32xbf16>) {
  linalg.matmul ins(%a, %b : memref<8x16xf16>, memref<16x32xf16>) outs(%c : memref<8x32xf32>)
  linalg.matmul ins(%ab, %bb : memref<8x16xbf16>, memref<16x32xbf16>) outs(%cb : memref<8x32xbf16>)
  linalg.matmul ins(%ab, %y : memref<8x16xbf16>, memref<16x32xf32>) outs(%c : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %y : memref<8x16xf32>, memref<16x32xf32>) outs(%z : memref<8x32xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.addf %p, %q : f32
    %s = arith.maximumf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#a, #shifted, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x16xf32>, memref<24x32xf32>) outs(%z : memref<8x32xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Left alone: two K loops the inputs store in different orders ((h, d)
// against (d, h)), and two K loops whose dimensions are not contiguous (a
// padded view): neither can be collapsed into one strided dimension.
#x = affine_map<(n, o, h, d) -> (n, h, d)>
#w = affine_map<(n, o, h, d) -> (o, h, d)>
#wswap = affine_map<(n, o, h, d) -> (o, d, h)>
#y = affine_map<(n, o, h, d) -> (n, o)>
// CHECK-LABEL: func.func @k_loops_not_collapsible
// CHECK-NOT:     func.call
// CHECK:         linalg.generic
// CHECK:         linalg.generic
// CHECK-NOT:     func.call
// CHECK-NOT:     func.func private @attn_uk_matmul_f32
func.func @k_loops_not_collapsible(%x: memref<5x4x8xf32>, %w: memref<6x8x4xf32>,
                                   %y: memref<5x6xf32>,
                                   %xp: memref<5x4x8xf32, strided<[64, 16, 1]>>,
                                   %w2: memref<6x4x8xf32>) {
  linalg.generic {indexing_maps = [#x, #wswap, #y],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : memref<5x4x8xf32>, memref<6x8x4xf32>) outs(%y : memref<5x6xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%xp, %w2 : memref<5x4x8xf32, strided<[64, 16, 1]>>, memref<6x4x8xf32>) outs(%y : memref<5x6xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A zero fill right before the product into its C: the fill goes and the
// calls overwrite C (attn_uk_matmul_f32_overwrite: sums from +0, C not read),
// the flash nest's score block (in-loops), and a top-level product alike.
// CHECK-LABEL: func.func @zero_fill_then_matmul
// CHECK-SAME:    (%[[A:.*]]: memref<64x32xf32>, %[[B:.*]]: memref<32x128xf32>, %[[C:.*]]: memref<64x128xf32>)
// CHECK-NOT:     linalg.fill
// CHECK:         scf.forall
// CHECK:           %[[CV:.*]] = memref.subview %[[C]]
// CHECK:           %[[CC:.*]] = memref.cast %[[CV]]
// CHECK:           func.call @attn_uk_matmul_f32_overwrite(%{{.*}}, %{{.*}}, %[[CC]])
// CHECK-NOT:     linalg.fill
// CHECK:         return
// CHECK:       func.func private @attn_uk_matmul_f32_overwrite(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
// CHECK-NOT:   func.func private @attn_uk_matmul_f32(
func.func @zero_fill_then_matmul(%a: memref<64x32xf32>, %b: memref<32x128xf32>,
                                 %c: memref<64x128xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<64x128xf32>)
  linalg.matmul ins(%a, %b : memref<64x32xf32>, memref<32x128xf32>)
                outs(%c : memref<64x128xf32>)
  return
}

// -----

// The flash nest's block: inside the forall (in-loops), one call of the
// whole block, the fill erased.
// LOOPS-LABEL: func.func @zero_fill_in_forall
// LOOPS:         scf.forall (%{{.*}}) in (4) {
// LOOPS-NEXT:      %[[S:.*]] = memref.alloc() : memref<64x128xf32>
// LOOPS-NOT:       linalg.fill
// LOOPS:           %[[SV:.*]] = memref.subview %[[S]][0, 0] [64, 128] [1, 1]
// LOOPS-NEXT:      %[[SC:.*]] = memref.cast %[[SV]]
// LOOPS-NEXT:      func.call @attn_uk_matmul_f32_overwrite(%{{.*}}, %{{.*}}, %[[SC]])
// LOOPS-NEXT:      memref.dealloc %[[S]]
// Without in-loops, the block product and its fill stay.
// CHECK-LABEL: func.func @zero_fill_in_forall
// CHECK:         linalg.fill
// CHECK-NEXT:    linalg.matmul
func.func @zero_fill_in_forall(%q: memref<64x16xf32>, %kt: memref<16x128xf32>) {
  %zero = arith.constant 0.0 : f32
  scf.forall (%i) in (4) {
    %s = memref.alloc() : memref<64x128xf32>
    linalg.fill ins(%zero : f32) outs(%s : memref<64x128xf32>)
    linalg.matmul ins(%q, %kt : memref<64x16xf32>, memref<16x128xf32>)
                  outs(%s : memref<64x128xf32>)
    memref.dealloc %s : memref<64x128xf32>
  }
  return
}

// -----

// Fills that are not dead: a nonzero value, -0.0 (a -0 result would differ
// from the sum from +0), another buffer, an op in between, or the product
// accumulating into a subview of the filled buffer; each keeps its fill and
// the accumulating call.
// CHECK-LABEL: func.func @fills_kept
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%arg2
// CHECK:         func.call @attn_uk_matmul_f32(
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%arg2
// CHECK:         func.call @attn_uk_matmul_f32(
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%arg3
// CHECK:         func.call @attn_uk_matmul_f32(
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%arg2
// CHECK:         memref.store
// CHECK:         func.call @attn_uk_matmul_f32(
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%arg2
// CHECK:         func.call @attn_uk_matmul_f32(
// CHECK-NOT:     attn_uk_matmul_f32_overwrite
func.func @fills_kept(%a: memref<8x4xf32>, %b: memref<4x16xf32>,
                      %c: memref<8x16xf32>, %d: memref<8x16xf32>) {
  %one = arith.constant 1.0 : f32
  %negzero = arith.constant -0.0 : f32
  %zero = arith.constant 0.0 : f32
  %i0 = arith.constant 0 : index
  linalg.fill ins(%one : f32) outs(%c : memref<8x16xf32>)
  linalg.matmul ins(%a, %b : memref<8x4xf32>, memref<4x16xf32>)
                outs(%c : memref<8x16xf32>)
  linalg.fill ins(%negzero : f32) outs(%c : memref<8x16xf32>)
  linalg.matmul ins(%a, %b : memref<8x4xf32>, memref<4x16xf32>)
                outs(%c : memref<8x16xf32>)
  linalg.fill ins(%zero : f32) outs(%d : memref<8x16xf32>)
  linalg.matmul ins(%a, %b : memref<8x4xf32>, memref<4x16xf32>)
                outs(%c : memref<8x16xf32>)
  linalg.fill ins(%zero : f32) outs(%c : memref<8x16xf32>)
  memref.store %one, %c[%i0, %i0] : memref<8x16xf32>
  linalg.matmul ins(%a, %b : memref<8x4xf32>, memref<4x16xf32>)
                outs(%c : memref<8x16xf32>)
  %half = memref.subview %c[0, 0] [8, 8] [1, 1] : memref<8x16xf32> to memref<8x8xf32, strided<[16, 1]>>
  %b8 = memref.subview %b[0, 0] [4, 8] [1, 1] : memref<4x16xf32> to memref<4x8xf32, strided<[16, 1]>>
  linalg.fill ins(%zero : f32) outs(%c : memref<8x16xf32>)
  linalg.matmul ins(%a, %b8 : memref<8x4xf32>, memref<4x8xf32, strided<[16, 1]>>)
                outs(%half : memref<8x8xf32, strided<[16, 1]>>)
  return
}
