// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-vectorize-rows))' | FileCheck %s
// attn-vectorize-rows: row-wise linalg ops on buffers outside a flash nest
// become an scf.forall over rows, each row one vector per operand.

// -----

// A transpose that keeps the innermost dimension (attention's head split
// "b n (h d) -> b h n d") copies whole rows: one forall iteration per row.
// CHECK-LABEL: func.func @head_split(
// CHECK-SAME:    %[[X:.*]]: memref<2x5x4x16xf32>, %[[Y:.*]]: memref<2x4x5x16xf32>)
// CHECK:         scf.forall (%[[B:.*]], %[[H:.*]], %[[N:.*]]) in (2, 4, 5) {
// CHECK:           %[[SRC:.*]] = memref.subview %[[X]][%[[B]], %[[N]], %[[H]], 0] [1, 1, 1, 16] [1, 1, 1, 1]
// CHECK:           %[[DST:.*]] = memref.subview %[[Y]][%[[B]], %[[H]], %[[N]], 0] [1, 1, 1, 16] [1, 1, 1, 1]
// CHECK:           %[[ROW:.*]] = vector.transfer_read %[[SRC]]{{.*}} : memref<1x1x1x16xf32, {{.*}}>, vector<1x1x1x16xf32>
// CHECK:           vector.transfer_write %[[ROW]], %[[DST]]{{.*}} : vector<1x1x1x16xf32>, memref<1x1x1x16xf32, {{.*}}>
// CHECK-NOT:     linalg.transpose
func.func @head_split(%x: memref<2x5x4x16xf32>, %y: memref<2x4x5x16xf32>) {
  linalg.transpose ins(%x : memref<2x5x4x16xf32>) outs(%y : memref<2x4x5x16xf32>) permutation = [0, 2, 1, 3]
  return
}

// -----

// A reduction of each row of one input (LayerNorm's mean): one horizontal
// reduction per row, a 1-D vector.reduction from the start.
// CHECK-LABEL: func.func @row_sum(
// CHECK:         scf.forall (%{{.*}}) in (4) {
// CHECK:           %[[ROW:.*]] = vector.transfer_read {{.*}} : memref<1x96xf32, strided<[96, 1], offset: ?>>, vector<1x96xf32>
// CHECK:           %[[ACC:.*]] = vector.transfer_read {{.*}} : memref<1xf32, strided<[1], offset: ?>>, vector<1xf32>
// CHECK:           %[[R:.*]] = vector.extract %[[ROW]][0] : vector<96xf32> from vector<1x96xf32>
// CHECK:           %[[A:.*]] = vector.extract %[[ACC]][0] : f32 from vector<1xf32>
// CHECK:           vector.reduction <add>, %[[R]], %[[A]] : vector<96xf32> into f32
// CHECK-NOT:     vector.multi_reduction
// CHECK-NOT:     linalg.reduce
func.func @row_sum(%x: memref<4x96xf32>, %s: memref<4xf32>) {
  linalg.reduce ins(%x : memref<4x96xf32>) outs(%s : memref<4xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %0 = arith.addf %in, %acc : f32
      linalg.yield %0 : f32
    }
  return
}

// -----

// A sum of squares with the centring fused into it (LayerNorm's variance:
// two inputs, the row and its broadcast mean): one vector.reduction per row.
// Left a multi_reduction of a product, attn-drop-vector-unit-dims would make
// it a vector.contract, unrolled into one scalar FMA per element.
// CHECK-LABEL: func.func @row_sum_of_squares(
// CHECK:         scf.forall (%{{.*}}) in (4) {
// CHECK:           %[[ROW:.*]] = vector.transfer_read {{.*}} : memref<1x96xf32, strided<[96, 1], offset: ?>>, vector<1x96xf32>
// CHECK:           %[[MEAN:.*]] = vector.transfer_read {{.*}} : memref<1xf32, strided<[1], offset: ?>>, vector<1x96xf32>
// CHECK:           %[[D:.*]] = arith.subf %[[ROW]], %[[MEAN]] : vector<1x96xf32>
// CHECK:           %[[SQ:.*]] = arith.mulf %[[D]], %[[D]] : vector<1x96xf32>
// CHECK:           %[[V:.*]] = vector.extract %[[SQ]][0] : vector<96xf32> from vector<1x96xf32>
// CHECK:           vector.reduction <add>, %[[V]], %{{.*}} : vector<96xf32> into f32
// CHECK-NOT:     vector.multi_reduction
func.func @row_sum_of_squares(%x: memref<4x96xf32>, %mean: memref<4xf32>, %s: memref<4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>,
                                   affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x, %mean : memref<4x96xf32>, memref<4xf32>) outs(%s : memref<4xf32>) {
  ^bb0(%a: f32, %m: f32, %acc: f32):
    %d = arith.subf %a, %m : f32
    %sq = arith.mulf %d, %d : f32
    %sum = arith.addf %sq, %acc : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

// Rows longer than 1024 elements (ViT's 3072-wide MLP activations) in equal
// chunks of at most 1024, one vector each.
// CHECK-LABEL: func.func @long_rows(
// CHECK:         scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (4, 3072) step (1, 1024) {
// CHECK:           arith.addf %{{.*}} : vector<1x1024xf32>
func.func @long_rows(%x: memref<4x3072xf32>, %y: memref<4x3072xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x3072xf32>) outs(%y : memref<4x3072xf32>) {
  ^bb0(%a: f32, %out: f32):
    %e = arith.addf %a, %a : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// A body with a math function (GELU's erf, a polynomial of dozens of ops
// once approximated) in chunks of 64 elements, even on rows that would fit
// one vector: a vector<768xf32> of every intermediate would be spilled.
// CHECK-LABEL: func.func @gelu_rows(
// CHECK:         scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (197, 768) step (1, 64) {
// CHECK:           math.erf %{{.*}} : vector<1x64xf32>
func.func @gelu_rows(%x: memref<197x768xf32>, %y: memref<197x768xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<197x768xf32>) outs(%y : memref<197x768xf32>) {
  ^bb0(%a: f32, %out: f32):
    %half = arith.constant 0.5 : f32
    %rsqrt2 = arith.constant 0.707106769 : f32
    %one = arith.constant 1.0 : f32
    %h = arith.mulf %a, %half : f32
    %s = arith.mulf %a, %rsqrt2 : f32
    %e = math.erf %s : f32
    %p = arith.addf %e, %one : f32
    %g = arith.mulf %h, %p : f32
    linalg.yield %g : f32
  }
  return
}

// -----

// A long body whose row length has no divisor of 64 or less that is a
// multiple of 16 keeps whole rows (49 keys of a Swin window).
// CHECK-LABEL: func.func @erf_odd_rows(
// CHECK:         scf.forall (%{{.*}}) in (8) {
// CHECK:           math.erf %{{.*}} : vector<1x49xf32>
func.func @erf_odd_rows(%x: memref<8x49xf32>, %y: memref<8x49xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<8x49xf32>) outs(%y : memref<8x49xf32>) {
  ^bb0(%a: f32, %out: f32):
    %e = math.erf %a : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// A fill: the scalar broadcast into each row chunk (1536 = 3 x 512).
// CHECK-LABEL: func.func @fill_rows(
// CHECK:         scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (7, 1536) step (1, 512) {
// CHECK:           %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<1x512xf32>
// CHECK:           vector.transfer_write %[[ZERO]], %{{.*}} : vector<1x512xf32>, memref<1x512xf32, strided<[1536, 1], offset: ?>>
// CHECK-NOT:     linalg.fill
func.func @fill_rows(%y: memref<7x1536xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<7x1536xf32>)
  return
}

// -----

// An i1 buffer keeps its loops: a vector<Nxi1> load reads bits, not the
// buffer's bytes.
// CHECK-LABEL: func.func @mask(
// CHECK-NOT:     scf.forall
// CHECK:         linalg.generic
func.func @mask(%m: memref<3x5x32xi1>, %out: memref<3x5x32xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>,
                                   affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%m : memref<3x5x32xi1>) outs(%out : memref<3x5x32xf32>) {
  ^bb0(%k: i1, %o: f32):
    %z = arith.constant 0.0 : f32
    %s = arith.select %k, %o, %z : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Inside a flash nest rows are attn-vectorize-flash-steps' business.
// CHECK-LABEL: func.func @in_flash_nest(
// CHECK:         scf.forall
// CHECK-NEXT:      linalg.copy
func.func @in_flash_nest(%x: memref<2x64xf32>, %y: memref<2x64xf32>) {
  scf.forall (%i) in (2) {
    linalg.copy ins(%x : memref<2x64xf32>) outs(%y : memref<2x64xf32>)
  } {mapping = [#attn.flash_nest<0>]}
  return
}

// -----

// bf16 rows of 8k + 1 elements (a Swin window's 49) are never one vector:
// LLVM 22's x86 backend aborts on such bf16 vectors when the target
// converts bf16 natively. A row of 49 runs as 48 and 1 (splitAtVectorMultiple);
// a row of 9 has no multiple of 16 and stays a loop. The same rows in f32,
// and bf16 rows of 48, are vectorised whole.
// CHECK-LABEL: func.func @bf16_rows_of_49
// CHECK-NOT:     vector<1x49xbf16>
// CHECK:         scf.forall
// CHECK-COUNT-3:   vector.transfer_read {{.*}} : memref<1x48xbf16, strided<[49, 1], offset: ?>>, vector<1x48xbf16>
// CHECK:           arith.addf {{.*}} : vector<1x48xbf16>
// CHECK:           vector.transfer_write {{.*}} : vector<1x48xbf16>, memref<1x48xbf16, strided<[49, 1], offset: ?>>
// CHECK-COUNT-3:   vector.transfer_read {{.*}} : memref<1x1xbf16, strided<[49, 1], offset: ?>>, vector<1x1xbf16>
// CHECK:           arith.addf {{.*}} : vector<1x1xbf16>
// CHECK:           vector.transfer_write {{.*}} : vector<1x1xbf16>, memref<1x1xbf16, strided<[49, 1], offset: ?>>
// CHECK-NOT:     vector<1x49xbf16>
// CHECK-NOT:     linalg.generic
// CHECK-LABEL: func.func @bf16_rows_of_9
// CHECK-NOT:     vector<
// CHECK:         linalg.generic
// CHECK-NOT:     vector<
// CHECK-LABEL: func.func @f32_rows_of_49
// CHECK:         vector.transfer_read {{.*}} vector<1x49xf32>
// CHECK-NOT:     linalg.generic
// CHECK-LABEL: func.func @bf16_rows_of_48
// CHECK:         vector.transfer_read {{.*}} vector<1x48xbf16>
// CHECK-NOT:     linalg.generic
#id = affine_map<(i, j) -> (i, j)>
func.func @bf16_rows_of_49(%a: memref<64x49xbf16>, %b: memref<64x49xbf16>, %c: memref<64x49xbf16>) {
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : memref<64x49xbf16>, memref<64x49xbf16>) outs(%c : memref<64x49xbf16>) {
  ^bb0(%x: bf16, %y: bf16, %o: bf16):
    %s = arith.addf %x, %y : bf16
    linalg.yield %s : bf16
  }
  return
}
func.func @bf16_rows_of_9(%a: memref<64x9xbf16>, %b: memref<64x9xbf16>, %c: memref<64x9xbf16>) {
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : memref<64x9xbf16>, memref<64x9xbf16>) outs(%c : memref<64x9xbf16>) {
  ^bb0(%x: bf16, %y: bf16, %o: bf16):
    %s = arith.addf %x, %y : bf16
    linalg.yield %s : bf16
  }
  return
}
func.func @f32_rows_of_49(%a: memref<64x49xf32>, %b: memref<64x49xf32>, %c: memref<64x49xf32>) {
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : memref<64x49xf32>, memref<64x49xf32>) outs(%c : memref<64x49xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  return
}
func.func @bf16_rows_of_48(%a: memref<64x48xbf16>, %b: memref<64x48xbf16>, %c: memref<64x48xbf16>) {
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : memref<64x48xbf16>, memref<64x48xbf16>) outs(%c : memref<64x48xbf16>) {
  ^bb0(%x: bf16, %y: bf16, %o: bf16):
    %s = arith.addf %x, %y : bf16
    linalg.yield %s : bf16
  }
  return
}

// -----

// A copy into a strided view (a padded input's interior, after
// attn-lower-strided-copies turned the memref.copy into linalg.copy): one
// vector per row, not one scalar load and store per element.
// CHECK-LABEL: func.func @copy_into_padding(
// CHECK-SAME:    %[[X:.*]]: memref<1x4x6x16xf32>, %[[P:.*]]: memref<1x4x9x18xf32>)
// CHECK:         %[[IN:.*]] = memref.subview %[[P]][0, 0, 1, 1] [1, 4, 6, 16] [1, 1, 1, 1]
// CHECK:         scf.forall (%[[N:.*]], %[[C:.*]], %[[H:.*]]) in (1, 4, 6) {
// CHECK:           %[[SRC:.*]] = memref.subview %[[X]][%[[N]], %[[C]], %[[H]], 0] [1, 1, 1, 16] [1, 1, 1, 1]
// CHECK:           %[[DST:.*]] = memref.subview %[[IN]][%[[N]], %[[C]], %[[H]], 0] [1, 1, 1, 16] [1, 1, 1, 1]
// CHECK:           %[[ROW:.*]] = vector.transfer_read %[[SRC]]{{.*}} vector<1x1x1x16xf32>
// CHECK:           vector.transfer_write %[[ROW]], %[[DST]]
// CHECK-NOT:     linalg.copy
func.func @copy_into_padding(%x: memref<1x4x6x16xf32>, %p: memref<1x4x9x18xf32>) {
  %in = memref.subview %p[0, 0, 1, 1] [1, 4, 6, 16] [1, 1, 1, 1] : memref<1x4x9x18xf32> to memref<1x4x6x16xf32, strided<[648, 162, 18, 1], offset: 19>>
  linalg.copy ins(%x : memref<1x4x6x16xf32>) outs(%in : memref<1x4x6x16xf32, strided<[648, 162, 18, 1], offset: 19>>)
  return
}

// -----

// Rows shorter than a vector (a bias broadcast over 7x7 windows, the init
// attn-fold-addends-into-contractions gives a 1x1 convolution's product)
// merge with the dimension before them first: rows of 49, one forall
// iteration per (window, channel).
#bias = affine_map<(d0, d1, d2, d3) -> (d1)>
#all = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @short_rows(
// CHECK-SAME:    %[[B:.*]]: memref<6xf32>, %[[Y:.*]]: memref<4x6x7x7xf32>)
// CHECK:         %[[YC:.*]] = memref.collapse_shape %[[Y]] {{\[}}[0], [1], [2, 3]] : memref<4x6x7x7xf32> into memref<4x6x49xf32>
// CHECK:         scf.forall (%[[W:.*]], %[[C:.*]]) in (4, 6) {
// CHECK:           %[[BC:.*]] = memref.subview %[[B]][%[[C]]] [1] [1]
// CHECK:           %[[ROW:.*]] = memref.subview %[[YC]][%[[W]], %[[C]], 0] [1, 1, 49] [1, 1, 1]
// CHECK:           %[[V:.*]] = vector.transfer_read %[[BC]]{{.*}} : memref<1xf32, {{.*}}>, vector<1x1x49xf32>
// CHECK:           vector.transfer_write %[[V]], %[[ROW]]{{.*}} : vector<1x1x49xf32>, memref<1x1x49xf32, {{.*}}>
// CHECK-NOT:     linalg.generic
func.func @short_rows(%b: memref<6xf32>, %y: memref<4x6x7x7xf32>) {
  linalg.generic {indexing_maps = [#bias, #all], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%b : memref<6xf32>) outs(%y : memref<4x6x7x7xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  return
}

// -----

// The same rows in a strided view (7 of every 8 columns) cannot merge:
// they stay short, and scalar.
#bias = affine_map<(d0, d1, d2, d3) -> (d1)>
#all = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @short_strided_rows(
// CHECK-NOT:     memref.collapse_shape
// CHECK-NOT:     scf.forall
// CHECK:         linalg.generic
func.func @short_strided_rows(%b: memref<6xf32>, %y: memref<4x6x7x8xf32>) {
  %v = memref.subview %y[0, 0, 0, 0] [4, 6, 7, 7] [1, 1, 1, 1] : memref<4x6x7x8xf32> to memref<4x6x7x7xf32, strided<[336, 56, 8, 1]>>
  linalg.generic {indexing_maps = [#bias, #all], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%b : memref<6xf32>) outs(%v : memref<4x6x7x7xf32, strided<[336, 56, 8, 1]>>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  return
}

// -----

// A transpose that keeps its two innermost dimensions in place, the second
// short: bf16 heads merged into the row pairs of a prepared weight ("b h n
// (d e) -> b n h d e", e = 2). It merges them like a generic: one row of 64
// per (batch, token, head), not 32 scalar copies of 2.
// CHECK-LABEL: func.func @head_merge_into_pairs(
// CHECK-SAME:    %[[X:.*]]: memref<2x8x5x32x2xbf16>, %[[Y:.*]]: memref<2x5x8x32x2xbf16>)
// CHECK-DAG:     %[[XC:.*]] = memref.collapse_shape %[[X]] {{\[}}[0], [1], [2], [3, 4]] : memref<2x8x5x32x2xbf16> into memref<2x8x5x64xbf16>
// CHECK-DAG:     %[[YC:.*]] = memref.collapse_shape %[[Y]] {{\[}}[0], [1], [2], [3, 4]] : memref<2x5x8x32x2xbf16> into memref<2x5x8x64xbf16>
// CHECK:         scf.forall (%[[B:.*]], %[[N:.*]], %[[H:.*]]) in (2, 5, 8) {
// CHECK:           %[[SRC:.*]] = memref.subview %[[XC]][%[[B]], %[[H]], %[[N]], 0] [1, 1, 1, 64] [1, 1, 1, 1]
// CHECK:           %[[DST:.*]] = memref.subview %[[YC]][%[[B]], %[[N]], %[[H]], 0] [1, 1, 1, 64] [1, 1, 1, 1]
// CHECK:           %[[ROW:.*]] = vector.transfer_read %[[SRC]]{{.*}} : memref<1x1x1x64xbf16, {{.*}}>, vector<1x1x1x64xbf16>
// CHECK:           vector.transfer_write %[[ROW]], %[[DST]]{{.*}} : vector<1x1x1x64xbf16>, memref<1x1x1x64xbf16, {{.*}}>
// CHECK-NOT:     linalg.transpose
// CHECK-NOT:     linalg.generic
func.func @head_merge_into_pairs(%x: memref<2x8x5x32x2xbf16>, %y: memref<2x5x8x32x2xbf16>) {
  linalg.transpose ins(%x : memref<2x8x5x32x2xbf16>) outs(%y : memref<2x5x8x32x2xbf16>) permutation = [0, 2, 1, 3, 4]
  return
}

// -----

// The same transpose moving the short innermost dimension is not a row
// copy: it stays a transpose (attn-vectorize-transposes' business).
// CHECK-LABEL: func.func @pairs_swapped(
// CHECK-NOT:     scf.forall
// CHECK:         linalg.transpose
func.func @pairs_swapped(%x: memref<2x8x5x32x2xbf16>, %y: memref<2x5x8x2x32xbf16>) {
  linalg.transpose ins(%x : memref<2x8x5x32x2xbf16>) outs(%y : memref<2x5x8x2x32xbf16>) permutation = [0, 2, 1, 4, 3]
  return
}
